/**
 * One signer per chain, enforced by PostgreSQL. Everything that signs for a
 * chain (a rebalance finishing open actions, reading the position, planning,
 * signing and storing; a harvest's claims; an operator abandoning an intent)
 * runs while holding a session-level advisory lock keyed by the chain's name,
 * on a connection of its own. BullMQ's per-queue concurrency of 1 is then an
 * optimization, not the guarantee: two daemons on different `redis.prefix`
 * values, or a Redis failover that hands a job to a second worker, still
 * take turns.
 *
 * Every statement that stores signed bytes (a new intent, a re-signed one)
 * runs on the lock's own connection and checks, in the same statement, that
 * this session still holds the lock ({@link LOCK_HELD}). So:
 *
 * - a crash releases the lock with the session (the OS closes the socket);
 * - a dropped connection makes the next store fail, so nothing signed after
 *   the drop is ever stored, and nothing unstored is ever broadcast; a
 *   worker that lost its lock stops at its next store;
 * - a peer that vanished without closing its socket (a dead machine) holds
 *   the lock until PostgreSQL's TCP keepalive gives up on it (set on the
 *   lock's session: about 25 s), not for the kernel default of two hours.
 *
 * Bytes stored before a connection dropped are committed: whoever takes the
 * lock next finishes them first (same bytes, never a second signature).
 */
import type pg from 'pg';

import { RetryableError } from '../errors.js';

/** The advisory lock space of signer locks (first key of the two-int4 form); the second is `hashtext(chain)`. */
export const SIGNER_LOCK_CLASS = 0x5349474e; // 'SIGN'

/**
 * SQL: whether this session holds the signer lock of the chain named by
 * parameter `$chain` (substitute the placeholder). Two names hashing alike
 * only serialize more than needed.
 */
export function lockHeld(chainParam: string): string {
  return `EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
    AND classid = ${SIGNER_LOCK_CLASS}::int4::oid AND objid = hashtext(${chainParam})::oid AND objsubid = 2)`;
}

/** A held signer lock: the connection that holds it, for the statements that must run under it. */
export interface SignerLock {
  readonly chain: string;
  /** The lock's own session; store signed bytes only through it, with {@link lockHeld} in the statement. */
  readonly client: pg.PoolClient;
}

/** Another process holds the chain's signer lock longer than we waited: retry later. */
export class SignerBusyError extends RetryableError {
  constructor(
    readonly chain: string,
    waitedMs: number,
  ) {
    super(`${chain}: another worker is signing for this chain (its signer lock was not free within ${waitedMs} ms); trying again later`);
  }
}

/** This session no longer holds the chain's signer lock (its connection dropped): nothing more is stored. */
export class SignerLockLostError extends RetryableError {
  constructor(readonly chain: string) {
    super(`${chain}: the signer lock was lost (its PostgreSQL connection dropped); nothing more is signed in this job`);
  }
}

export interface SignerLockOptions {
  /** How long to wait for the lock before giving up (retryably), ms. @defaultValue 30 000 */
  waitMs?: number;
}

/** @defaultValue of {@link SignerLockOptions.waitMs}. */
export const DEFAULT_SIGNER_LOCK_WAIT_MS = 30_000;

/**
 * Runs `work` holding the chain's signer lock; waits for it up to
 * `waitMs`. The lock is released when `work` ends, however it ends; a
 * connection that cannot say it released it is discarded (its session, and
 * so the lock, ends with it).
 * @throws SignerBusyError when the lock was not free in time (retryable).
 */
export async function withSignerLock<T>(pool: pg.Pool, chain: string, work: (lock: SignerLock) => Promise<T>, options: SignerLockOptions = {}): Promise<T> {
  const waitMs = options.waitMs ?? DEFAULT_SIGNER_LOCK_WAIT_MS;
  const client = await pool.connect();
  let broken = false;
  // A connection that dies while checked out emits 'error' (which would
  // crash the process without a listener); its next query fails, and that
  // failure is what stops the work.
  const onError = (): void => {
    broken = true;
  };
  client.on('error', onError);
  try {
    // A dead peer's session (and lock) ends after about 10 + 3 × 5 s of silence.
    await client.query("SELECT set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false), set_config('tcp_keepalives_count', '3', false)");
    await client.query("SELECT set_config('lock_timeout', $1, false)", [`${waitMs}ms`]);
    try {
      await client.query('SELECT pg_advisory_lock($1::int4, hashtext($2))', [SIGNER_LOCK_CLASS, chain]);
    } catch (error) {
      if ((error as { code?: unknown }).code === '55P03') throw new SignerBusyError(chain, waitMs);
      throw error;
    } finally {
      await client.query("SELECT set_config('lock_timeout', '0', false)").catch(() => (broken = true));
    }
  } catch (error) {
    client.off('error', onError);
    client.release(broken || !(error instanceof SignerBusyError));
    throw error;
  }
  try {
    return await work({ chain, client });
  } finally {
    try {
      const { rows } = await client.query<{ released: boolean }>('SELECT pg_advisory_unlock($1::int4, hashtext($2)) AS released', [SIGNER_LOCK_CLASS, chain]);
      if (rows[0]?.released !== true) broken = true;
    } catch {
      broken = true;
    }
    client.off('error', onError);
    client.release(broken);
  }
}
