/**
 * The errors softstake throws. Each says whether retrying can help, so the
 * pipeline can turn a non-retryable one into BullMQ's `UnrecoverableError`
 * and a CLI can pick its exit code.
 */
import { redactUrls } from './redactUrls.js';

export class SoftstakeError extends Error {
  /** Whether running the same operation again may succeed. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A transient fault (a connection dropped, a lock timed out): try again. */
export class RetryableError extends SoftstakeError {
  override readonly retryable = true;
}

/**
 * A write met a stored row it did not expect (a unique violation): a bug,
 * or two writers that should have been serialized. Never retryable: a retry
 * would hide it, so it is surfaced with the constraint it broke.
 */
export class ConflictError extends SoftstakeError {
  constructor(
    message: string,
    /** The unique constraint or index that was violated, where PostgreSQL names it. */
    readonly constraint: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One problem in the operator's config file, located by its field path. */
export interface ConfigIssue {
  /** Dotted field path, e.g. `assets.ATOM.commission`; empty for the whole file. */
  path: string;
  message: string;
}

/** The config file is missing, unreadable or invalid. Never retryable. */
export class ConfigError extends SoftstakeError {
  /** Each issue as shown: a value echoed in a message keeps only a URL's scheme, host and port (an env variable may have put a database URL with its password there). */
  readonly issues: readonly ConfigIssue[];

  constructor(
    readonly file: string,
    issues: readonly ConfigIssue[],
  ) {
    const shown = issues.map((i) => ({ ...i, message: redactUrls(i.message) }));
    super(shown.map((i) => `${file}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'));
    this.issues = shown;
  }
}

/** One rejected input record: where it was (line, id) and why. */
export interface InputProblem {
  /** 1-based line in the input file, or the index in an API batch. */
  line?: number;
  id?: string;
  reason: string;
  /** `conflict`: the id is already used with other content (an API answers 409). */
  kind?: 'conflict';
}

/**
 * Input the ledger refuses (a malformed amount, a balance that would go
 * negative, an id reused with other content). Nothing of the batch was
 * written. Never retryable: the input must change.
 */
export class LedgerInputError extends SoftstakeError {
  constructor(
    message: string,
    readonly problems: readonly InputProblem[] = [],
    options?: { cause?: unknown },
  ) {
    super(problems.length === 0 ? message : `${message}\n${formatProblems(problems)}`, options);
  }
}

/** At most this many problems are spelled out in a message; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50;

export function formatProblems(problems: readonly InputProblem[]): string {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => {
    const where = [p.line !== undefined ? `line ${p.line}` : '', p.id !== undefined ? `id ${JSON.stringify(p.id)}` : '']
      .filter(Boolean)
      .join(', ');
    return `  ${where ? `${where}: ` : ''}${p.reason}`;
  });
  if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  return lines.join('\n');
}
