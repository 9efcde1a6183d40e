/**
 * Loads the operator's YAML config: parses it, validates it with the schema,
 * applies environment overrides and reads secrets from files. Every problem
 * of one file is reported in one `ConfigError`; no message carries a secret.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { originOf } from '../redactUrls.js';
import { resolveDaemonSections } from './daemon.js';
import {
  DATABASE_SCHEMES,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_REDIS_STARTUP_WAIT_MS,
  DEFAULT_REDIS_URL,
  REDIS_SCHEMES,
  configFileSchema,
  type SoftstakeConfig,
} from './schema.js';

/** Reads a secret file's content; the default reads UTF-8 from disk. */
export type ReadSecret = (absolutePath: string) => string;

const readSecretFile: ReadSecret = (file) => readFileSync(file, 'utf8');

/**
 * Reads and validates the config file at `file`.
 * @param env - where `SOFTSTAKE_DATABASE_URL` and `SOFTSTAKE_REDIS_URL` come from.
 * @throws ConfigError naming the file and each offending field.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<SoftstakeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ path: '', message: `could not read the file${code ? ` (${code})` : ''}` }]);
  }
  return parseConfig(text, file, env);
}

/**
 * Validates config text as if read from `file` (secret files are resolved
 * relative to its directory). No I/O beyond `readSecret`.
 * @throws ConfigError with every issue found.
 */
export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  readSecret: ReadSecret = readSecretFile,
): SoftstakeConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: '', message: `line ${line}, column ${col}: ${error.message.split('\n')[0]}` };
      }),
    );
  }
  const raw: unknown = doc.toJS();

  const parsed = configFileSchema.safeParse(raw, { error: friendlyMessage });
  const issues: ConfigIssue[] = parsed.success ? [] : parsed.error.issues.flatMap(toConfigIssues);

  // A file that is not a mapping at all has one problem, already reported.
  const root = isMapping(raw) ? raw : { database: null, redis: null };
  const secretDir = path.dirname(path.resolve(file));
  const database = resolveUrl(root.database, {
    section: 'database',
    envName: 'SOFTSTAKE_DATABASE_URL',
    envValue: env.SOFTSTAKE_DATABASE_URL,
    schemes: DATABASE_SCHEMES,
    fallback: undefined,
    secretDir,
    readSecret,
  });
  const redis = resolveUrl(root.redis, {
    section: 'redis',
    envName: 'SOFTSTAKE_REDIS_URL',
    envValue: env.SOFTSTAKE_REDIS_URL,
    schemes: REDIS_SCHEMES,
    fallback: DEFAULT_REDIS_URL,
    secretDir,
    readSecret,
  });
  issues.push(...database.issues, ...redis.issues);

  const daemon = parsed.success ? resolveDaemonSections(parsed.data, secretDir, readSecret) : undefined;
  if (daemon !== undefined) issues.push(...daemon.issues);

  if (!parsed.success || daemon === undefined || issues.length > 0 || database.url === undefined || redis.url === undefined) {
    throw new ConfigError(file, sortIssues(issues));
  }
  return {
    file,
    database: { url: database.url },
    redis: { url: redis.url, prefix: parsed.data.redis?.prefix ?? DEFAULT_REDIS_PREFIX, startupWaitMs: parsed.data.redis?.startupWait ?? DEFAULT_REDIS_STARTUP_WAIT_MS },
    assets: parsed.data.assets,
    chains: daemon.chains,
    ledger: { clockSkewMs: parsed.data.ledger.clockSkew },
    api: daemon.api,
    worker: daemon.worker,
  };
}

// ---------------------------------------------------------------------------
// Connections: environment overrides and password files.

interface UrlSource {
  section: 'database' | 'redis';
  envName: string;
  envValue: string | undefined;
  schemes: readonly string[];
  /** Used when neither the file nor the environment gives a URL; none = required. */
  fallback: string | undefined;
  secretDir: string;
  readSecret: ReadSecret;
}

/**
 * The URL a connection uses: the environment's if set (it may carry a
 * password, it is not a file anyone commits), else the file's, else the
 * default; then the password from `passwordFile` merged in, unless the URL
 * already has one. Problems the schema already reports are skipped here.
 */
function resolveUrl(section: unknown, source: UrlSource): { url?: string; issues: ConfigIssue[] } {
  const at = (field: string) => `${source.section}.${field}`;
  if (section === null || (section !== undefined && !isMapping(section))) return { issues: [] }; // the schema reports it
  const fields = isMapping(section) ? section : {};
  const envUrl = source.envValue === undefined || source.envValue === '' ? undefined : source.envValue;

  let url: URL;
  if (envUrl !== undefined) {
    const checked = checkUrl(envUrl, source.schemes);
    if (typeof checked === 'string') {
      return { issues: [{ path: at('url'), message: `${source.envName}, which replaces it, ${checked}` }] };
    }
    url = checked;
  } else if (typeof fields.url === 'string') {
    const checked = checkUrl(fields.url, source.schemes);
    if (typeof checked === 'string' || hasPassword(checked)) return { issues: [] }; // the schema reports it
    url = checked;
  } else if (fields.url !== undefined && fields.url !== null) {
    return { issues: [] }; // not a string: the schema reports it
  } else if (source.fallback !== undefined) {
    url = new URL(source.fallback);
  } else {
    return { issues: [{ path: at('url'), message: `required (or set ${source.envName})` }] };
  }

  const passwordFile = fields.passwordFile;
  if (typeof passwordFile !== 'string' || passwordFile === '' || url.password !== '') return { url: url.href, issues: [] };
  const secretPath = path.resolve(source.secretDir, passwordFile);
  let password: string;
  try {
    password = source.readSecret(secretPath).replace(/(\r?\n)+$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { issues: [{ path: at('passwordFile'), message: `could not read ${secretPath}${code ? ` (${code})` : ''}` }] };
  }
  if (password === '') return { issues: [{ path: at('passwordFile'), message: `${secretPath} is empty` }] };
  if (url.host === '') {
    return { issues: [{ path: at('passwordFile'), message: 'cannot be merged into a URL without a host' }] };
  }
  url.password = encodeURIComponent(password);
  return { url: url.href, issues: [] };
}

/** The parsed URL, or what is wrong with it (without echoing it: it may hold a password). */
function checkUrl(text: string, schemes: readonly string[]): URL | string {
  const expected = schemes.map((s) => `${s}//`).join(' or ');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `is not a valid URL; expected ${expected}…`;
  }
  return schemes.includes(url.protocol) ? url : `is not a ${expected} URL`;
}

function hasPassword(url: URL): boolean {
  return url.password !== '' || url.searchParams.has('password');
}

// ---------------------------------------------------------------------------
// Redaction.

const SECRET_KEY = /password|secret|token|mnemonic|privatekey|apikey/i;
/** Query parameters whose value is masked in any URL: passwords and API keys. */
const SECRET_QUERY = /password|secret|token|key|auth|signature/i;

/**
 * A JSON-safe view of the config for logs and `softstake config check`:
 * bigints as decimal strings, secret-named fields as "[redacted]", URL
 * passwords as "***", chain endpoints as scheme, host and port only.
 */
export function redactConfig(config: SoftstakeConfig): unknown {
  return redactValue(config, '');
}

function redactValue(value: unknown, key: string): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return SECRET_KEY.test(key) ? '[redacted]' : redactUrl(value);
  // A chain endpoint's path or query may hold an API key: scheme, host and port are enough to tell them apart.
  if (key === 'endpoints' && Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? originOf(item) : redactValue(item, '')));
  if (Array.isArray(value)) return value.map((item) => redactValue(item, ''));
  if (isMapping(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== null && v !== undefined ? '[redacted]' : redactValue(v, k)]),
    );
  }
  return value;
}

/** Replaces a URL's password (userinfo) and secret-looking query values (`?password=`, `?apikey=`) with "***"; other strings pass through. */
function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not parseable, but it may still hold "user:secret@": strip that part.
    return text.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
  }
  if (url.password !== '') url.password = '***';
  // RPC providers put API keys in the query (`?apikey=…`, `?token=…`).
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_QUERY.test(name)) url.searchParams.set(name, '***');
  }
  return url.href;
}

// ---------------------------------------------------------------------------
// Zod issues → config issues.

/** Readable defaults for zod's generic messages; never quotes the input. */
const friendlyMessage: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'required';
  return `expected ${describeExpected(issue.expected)}, got ${describeInput(issue.input)}`;
};

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

function describeInput(input: unknown): string {
  if (input === null) return 'nothing';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'boolean') return 'true/false';
  return `a ${typeof input}`;
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const at = joinPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    const hint = known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
    return issue.keys.map((key) => ({ path: joinPath([...issue.path, key]), message: `unknown key${hint}` }));
  }
  if (issue.code === 'invalid_key') return [{ path: at, message: issue.issues[0]?.message ?? issue.message }];
  return [{ path: at, message: issue.message }];
}

/** The keys the schema allows at `at`, to help spot a typo. */
function knownKeys(at: readonly PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = configFileSchema;
  for (const key of [...at, undefined]) {
    for (;;) {
      if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap() as z.ZodType;
      else if (schema instanceof z.ZodPipe) schema = schema.in as z.ZodType;
      else break;
    }
    if (key === undefined) break;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<PropertyKey, z.ZodType>)[key];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function joinPath(segments: readonly PropertyKey[]): string {
  return segments.map(String).join('.');
}

const SECTION_ORDER = ['', 'database', 'redis', 'assets', 'chains', 'ledger', 'api', 'worker'];

/**
 * Issues grouped by section, then by entry (one asset's problems together),
 * in the order they were found: checks in later passes join their group.
 */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const groups = new Map<string, ConfigIssue[]>();
  for (const issue of issues) {
    const group = issue.path.split('.').slice(0, 2).join('.');
    groups.set(group, [...(groups.get(group) ?? []), issue]);
  }
  const rank = (group: string) => {
    const index = SECTION_ORDER.indexOf(group.split('.')[0] ?? '');
    return Math.max(index, 0); // unknown top-level keys first, with whole-file problems
  };
  return [...groups.entries()]
    .map(([group, members], i) => ({ rank: rank(group), i, members }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .flatMap(({ members }) => members);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
