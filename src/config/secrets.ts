/**
 * Secrets named by the config file (the API token, the dashboard password):
 * read from files beside the config, never written inline. A problem is
 * collected as a config issue naming the field, never thrown.
 */
import path from 'node:path';

/** One problem found while completing the config, located by its field path. */
export interface Issue {
  path: string;
  message: string;
}

/** A path from the config file, relative to the file's folder, made absolute. */
export function resolvePath(dir: string, file: string): string {
  return path.resolve(dir, file);
}

/** The secret in `file` without its trailing newlines; `undefined` (and an issue at `field`) when it cannot be read or is empty. */
export function readSecretField(file: string, field: string, readSecret: (p: string) => string, issues: Issue[]): string | undefined {
  let text: string;
  try {
    text = readSecret(file).replace(/(\r?\n)+$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    issues.push({ path: field, message: `could not read ${file}${code ? ` (${code})` : ''}` });
    return undefined;
  }
  if (text === '') {
    issues.push({ path: field, message: `${file} is empty` });
    return undefined;
  }
  return text;
}
