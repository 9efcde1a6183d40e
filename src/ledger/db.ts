import pg from 'pg';

import { ConflictError, LedgerInputError, RetryableError } from '../errors.js';

/**
 * Memory for the set-based statements of one distribution or import, set
 * per transaction: a million users aggregate and sort in memory instead of
 * spilling to disk. Hash tables may use twice this.
 */
export const LEDGER_WORK_MEM = '256MB';

/** Every query of a unit of work runs on this one client. */
export type Tx = pg.PoolClient;

export interface DbOptions {
  /** PostgreSQL connection URL. */
  url: string;
  /** Shown in pg_stat_activity, so an operator can tell softstake's sessions apart. @defaultValue "softstake" */
  applicationName?: string;
  /** @defaultValue 10 */
  max?: number;
  /**
   * Told when an idle pooled connection fails (the server restarted, an
   * operator ran `pg_terminate_backend`). The pool reconnects at the next
   * checkout; this only makes the failure visible.
   * @defaultValue one line on stderr
   */
  onIdleError?: (error: Error) => void;
}

export function createPool(options: DbOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    application_name: options.applicationName ?? 'softstake',
    max: options.max ?? 10,
  });
  // An idle client losing its connection must not crash the process (an
  // 'error' event without a listener would); the next checkout reconnects.
  pool.on('error', options.onIdleError ?? ((error) => process.stderr.write(`softstake: idle PostgreSQL connection failed: ${error.message}\n`)));
  return pool;
}

/** "numeric value out of range". */
const NUMERIC_OUT_OF_RANGE = '22003';

/** "unique_violation". */
const UNIQUE_VIOLATION = '23505';

/**
 * SQLSTATEs after which the same transaction may succeed when run again:
 * serialization failures, deadlocks, lock timeouts, dropped connections.
 * Not unique violations: every write that can meet a concurrent writer of
 * the same id is written to wait for it (`ON CONFLICT`, or a lock taken
 * first), so a unique violation is a bug or a real conflict, never luck.
 */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '55P03', '57P01', '08006', '08003', '08001']);

/**
 * Runs `work` in one transaction: committed if it returns, rolled back if it
 * throws. Serialization failures and dropped connections become
 * `RetryableError`s; a unique violation a `ConflictError`.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A connection lost while checked out (the server restarted, an operator
  // ran pg_terminate_backend) is also emitted as an 'error' event, which
  // would crash the process without a listener; the failing query already
  // tells the caller, so here it only retires the client.
  const lost = () => {
    broken = true;
  };
  client.on('error', lost);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_SQLSTATES.has(code)) {
      throw new RetryableError(`database: ${(error as Error).message}`, { cause: error });
    }
    if (code === UNIQUE_VIOLATION) {
      const constraint = (error as { constraint?: unknown }).constraint;
      throw new ConflictError(`database: ${(error as Error).message}`, typeof constraint === 'string' ? constraint : null, { cause: error });
    }
    if (code === NUMERIC_OUT_OF_RANGE) {
      // Each amount fits NUMERIC(78,0), but a sum (a balance, a batch's
      // custody posting) may not: refused input, not a crash.
      throw new LedgerInputError('refused; nothing was written: the amounts add up to more than 78 digits (a balance or a total would overflow)', [], { cause: error });
    }
    throw error;
  } finally {
    client.off('error', lost);
    client.release(broken);
  }
}

/** PostgreSQL returns NUMERIC and BIGINT as text; money must stay exact. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' || typeof value === 'number') return BigInt(value);
  throw new TypeError(`expected an integer from the database, got ${typeof value}`);
}

/** Millisecond timestamps fit a double exactly; BIGINT arrives as text. */
export function toMillis(value: unknown): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new TypeError(`expected integer milliseconds from the database, got ${String(value)}`);
  return n;
}
