import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { LedgerInputError, type InputProblem } from '../errors.js';
import { LEDGER_WORK_MEM, toBigInt, toMillis, withTransaction, type Tx } from './db.js';
import { post } from './journal.js';
import { echo, idProblem, parseInputAmount, timeProblem, type LedgerWindow } from './inputRules.js';
import { formatInstant, parseInstant } from './time.js';

/** One signed change of a user's balance of one asset, in base units. */
export interface BalanceChange {
  /** The exchange's id for the change: a repeat with the same content is skipped. */
  id: string;
  user: string;
  asset: string;
  delta: bigint;
  /** Milliseconds; the change takes effect from this instant on. */
  at: number;
}

/** A record as read from a file or a request, before validation. */
export interface NumberedRecord {
  /** 1-based line (file) or position (API batch), for error messages. */
  line: number;
  /** The parsed object, or the reason it could not be parsed. */
  record: unknown;
}

export interface ImportResult {
  received: number;
  inserted: number;
  /** Ids stored before, or repeated in the input, with the same content. */
  duplicates: number;
}

export interface ImportOptions {
  /** Asset symbols the ledger keeps; others are refused. */
  assets: ReadonlySet<string>;
  /** The instants a change may carry (see `inputRules.ts`). @defaultValue now = Date.now(), 5 minutes of skew, no asset's first period */
  window?: LedgerWindow;
  /** Called now and then with the number of records read so far. */
  onProgress?: (records: number) => void;
}

/** At most this many problems are collected before the import stops reading. */
export const MAX_PROBLEMS = 1000;
/**
 * An import that inserts at least this many changes analyzes the tables it
 * grew before returning: until autovacuum gets to them, the planner would
 * otherwise take them for as small as they were, and the next import's id
 * join would scan the whole table (32–53 ms per 1,000 changes at 400,000
 * rows instead of 2 ms).
 */
export const ANALYZE_AFTER_ROWS = 10_000;
/**
 * Imports of at most this many records (every `/v1` batch) check and apply
 * them by index probes into the stored tables: at most a few probes per
 * record, never a pass over every balance. Larger files are left to the
 * planner, which hashes when that is cheaper.
 */
const INDEX_PROBE_BATCH = 20_000;
const FIELDS = ['id', 'user', 'asset', 'delta', 'at'] as const;
/** Most unexpected field names listed in one refusal. */
const MAX_LISTED_FIELDS = 5;

/** Checks one record's shape and fields; the ledger-state rules are checked in SQL. */
export function validateChangeRecord(record: unknown, assets: ReadonlySet<string>, window: LedgerWindow = { now: Date.now() }): BalanceChange | string {
  if (typeof record === 'string') return record;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'expected an object with id, user, asset, delta, at';
  const r = record as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const listed = unknown.slice(0, MAX_LISTED_FIELDS).map((k) => echo(k)).join(', ');
    return `unexpected field ${listed}${unknown.length > MAX_LISTED_FIELDS ? ` and ${unknown.length - MAX_LISTED_FIELDS} more` : ''}`;
  }
  for (const field of ['id', 'user'] as const) {
    const problem = idProblem(r[field]);
    if (problem !== undefined) return `${field}: ${problem}`;
  }
  if (typeof r.asset !== 'string' || !assets.has(r.asset)) {
    return `asset: unknown asset ${echo(r.asset)} (the ledger keeps ${[...assets].sort().join(', ')})`;
  }
  const delta = parseInputAmount(r.delta);
  if (typeof delta === 'string') return `delta: ${delta}`;
  const at = parseInstant(r.at);
  if (at === undefined) {
    return `at: expected an ISO-8601 UTC instant like "2026-01-01T00:00:00Z", got ${echo(r.at)}`;
  }
  const late = timeProblem(at, r.asset, window);
  if (late !== undefined) return `at: ${late}`;
  return { id: r.id as string, user: r.user as string, asset: r.asset, delta, at };
}

/** COPY text format: only the backslash needs escaping once control characters are refused. */
function copyField(text: string): string {
  return text.includes('\\') ? text.replaceAll('\\', '\\\\') : text;
}

/**
 * Applies a batch of balance changes all or nothing: either every new change
 * is stored and every balance updated, or, if any record breaks a rule, none
 * is and a `LedgerInputError` lists the lines and reasons.
 *
 * Rules: fields well formed; asset known; an id seen before must carry the
 * same content (then it is skipped); a user's changes of an asset in
 * non-decreasing `at`, none older than the user's last stored change nor than
 * the asset's last closed period end; no balance below 0 at any point.
 *
 * Records stream into PostgreSQL with COPY and are checked there, set-based,
 * so a million-line file neither loops per user nor sits in Node's memory.
 */
export async function applyBalanceChanges(
  pool: pg.Pool,
  records: AsyncIterable<NumberedRecord> | Iterable<NumberedRecord>,
  options: ImportOptions,
): Promise<ImportResult> {
  const window = options.window ?? { now: Date.now() };
  const result = await withTransaction(pool, async (tx) => {
    await tx.query(
      `CREATE TEMP TABLE staged (
         line integer NOT NULL, id text COLLATE "C" NOT NULL, user_id text COLLATE "C" NOT NULL,
         asset text COLLATE "C" NOT NULL, delta numeric(78, 0) NOT NULL, at bigint NOT NULL
       ) ON COMMIT DROP`,
    );
    const problems: InputProblem[] = [];
    let received = 0;
    const copy = tx.query(copyFrom('COPY staged (line, id, user_id, asset, delta, at) FROM STDIN'));
    async function* rows(): AsyncGenerator<string> {
      let chunk = '';
      for await (const { line, record } of records) {
        received += 1;
        const change = validateChangeRecord(record, options.assets, window);
        if (typeof change === 'string') {
          problems.push({ line, ...idOf(record), reason: change });
          if (problems.length >= MAX_PROBLEMS) break;
          continue;
        }
        if (problems.length > 0) continue;
        chunk += `${line}\t${copyField(change.id)}\t${copyField(change.user)}\t${change.asset}\t${change.delta}\t${change.at}\n`;
        if (chunk.length > 1 << 16) {
          yield chunk;
          chunk = '';
          options.onProgress?.(received);
        }
      }
      if (chunk) yield chunk;
      options.onProgress?.(received);
    }
    await pipeline(Readable.from(rows()), copy);
    if (problems.length > 0) throw refused(problems, received);

    await tx.query('ANALYZE staged');
    await tx.query(`SET LOCAL work_mem = '${LEDGER_WORK_MEM}'`);
    if (received <= INDEX_PROBE_BATCH) {
      // A batch this small meets the stored tables by index probes. Left to
      // itself the planner hashes all of `balances` or `balance_changes` for
      // a few hundred rows whenever those tables are of middling size (its
      // cost model puts building the hash far below what it costs): 270 ms
      // instead of 20 ms per 1,000 changes against 50,000 balances.
      await tx.query('SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off');
    }
    problems.push(...(await conflictingIds(tx)));

    // Which ids are stored already, and whether with the same content. Read
    // first without the lock, so concurrent requests overlap this work; a
    // stored row never changes, so a conflict found here is final.
    await tx.query(FRESH);
    problems.push(...(await storedConflicts(tx)));
    if (problems.length > 0) throw refused(problems, received);

    // Serialize with distributions and other imports of the same assets
    // (a batch stored whole already has nothing to wait for).
    await tx.query(
      `SELECT symbol FROM ledger_assets WHERE symbol IN (SELECT DISTINCT asset FROM fresh WHERE NOT stored) ORDER BY symbol FOR UPDATE`,
    );
    // What is stored is decided under the lock that applying takes: ids a
    // concurrent import stored while this one waited are read again. A client
    // retrying a batch that another request was applying then hears
    // "duplicates" (or a 409 for other content), not a rule break computed
    // from the state before that request committed.
    const raced = await tx.query('SELECT 1 FROM fresh f JOIN balance_changes c ON c.id = f.id WHERE NOT f.stored LIMIT 1');
    if ((raced.rowCount ?? 0) > 0) {
      await tx.query('DROP TABLE fresh');
      await tx.query(FRESH);
      problems.push(...(await storedConflicts(tx)));
      if (problems.length > 0) throw refused(problems, received);
    }
    await tx.query('DELETE FROM fresh WHERE stored');

    problems.push(...(await ruleBreaks(tx)));
    if (problems.length > 0) throw refused(problems, received);

    const inserted = await tx.query(
      'INSERT INTO balance_changes (id, asset, user_id, delta, at) SELECT id, asset, user_id, delta, at FROM fresh',
    );
    await tx.query(
      // The new balance, not the sum of deltas, is proposed: a withdrawal-only
      // batch has a negative sum, which the CHECK would refuse on the proposed
      // row before ON CONFLICT applies. The asset lock keeps b current.
      //
      // The row's moment (migration 006) counts from the asset's last closed
      // period end, or before the first distribution from the user's first
      // change; a moment that counts from an earlier period end belongs to a
      // closed period and starts again from this batch.
      `INSERT INTO balances (asset, user_id, amount, last_change_at, acc, acc_since)
       SELECT asset, user_id, amount, last_change_at,
              CASE WHEN kept_since IS NOT DISTINCT FROM since THEN kept ELSE 0 END + (moment - since * total), since
         FROM (SELECT f.asset, f.user_id, f.total, f.moment, coalesce(b.amount, 0) + f.total AS amount,
                      greatest(b.last_change_at, f.last_at) AS last_change_at, b.acc AS kept, b.acc_since AS kept_since,
                      coalesce(a.last_period_end, b.acc_since, f.first_at) AS since
                 FROM (SELECT asset, user_id, sum(delta) AS total, sum(delta * at) AS moment, min(at) AS first_at, max(at) AS last_at
                         FROM fresh GROUP BY asset, user_id) f
                 JOIN ledger_assets a ON a.symbol = f.asset
                 LEFT JOIN balances b ON b.asset = f.asset AND b.user_id = f.user_id) n
       ON CONFLICT (asset, user_id) DO UPDATE
         SET amount = excluded.amount, last_change_at = excluded.last_change_at, acc = excluded.acc, acc_since = excluded.acc_since`,
    );
    const sums = await tx.query<{ asset: string; total: string; at: string }>(
      'SELECT asset, sum(delta) AS total, max(at) AS at FROM fresh GROUP BY asset ORDER BY asset',
    );
    const entry = `import:${randomUUID()}`;
    for (const s of sums.rows) {
      const total = toBigInt(s.total);
      await post(tx, entry, s.asset, toMillis(s.at), [
        ['custody', total],
        ['users', -total],
      ]);
    }
    const count = inserted.rowCount ?? 0;
    return { received, inserted: count, duplicates: received - count };
  });
  if (result.inserted >= ANALYZE_AFTER_ROWS) await pool.query('ANALYZE balance_changes, balances');
  return result;
}

/** The first line of each staged id, and whether it is stored already (`stored`) with the same content (`same`). */
const FRESH = `CREATE TEMP TABLE fresh ON COMMIT DROP AS
  SELECT s.*, c.id IS NOT NULL AS stored,
         (c.asset, c.user_id, c.delta, c.at) IS NOT DISTINCT FROM (s.asset, s.user_id, s.delta, s.at) AS same
    FROM (SELECT DISTINCT ON (id) * FROM staged ORDER BY id, line) s
    LEFT JOIN balance_changes c ON c.id = s.id`;

/** Ids stored before with other content. */
async function storedConflicts(tx: Tx): Promise<InputProblem[]> {
  const changed = await tx.query<{ line: number; id: string; asset: string; user_id: string; delta: string; at: string }>(
    `SELECT f.line, f.id, c.asset, c.user_id, c.delta, c.at
       FROM fresh f JOIN balance_changes c ON c.id = f.id
      WHERE f.stored AND NOT f.same ORDER BY f.line LIMIT $1`,
    [MAX_PROBLEMS],
  );
  return changed.rows.map((c) => ({
    line: c.line,
    id: c.id,
    kind: 'conflict' as const,
    reason: `id already recorded with other content (${c.user_id} ${c.asset} ${c.delta} at ${formatInstant(toMillis(c.at))})`,
  }));
}

function idOf(record: unknown): { id?: string } {
  const id = (record as { id?: unknown } | null)?.id;
  return idProblem(id) === undefined ? { id: id as string } : {};
}

function refused(problems: InputProblem[], received: number): LedgerInputError {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const more = problems.length >= MAX_PROBLEMS ? ` (stopped after ${MAX_PROBLEMS} problems)` : '';
  return new LedgerInputError(
    `refused ${received} balance changes: ${problems.length} problem${problems.length === 1 ? '' : 's'}${more}; nothing was written`,
    sorted,
  );
}

/** The same id twice in one input with other content. */
async function conflictingIds(tx: Tx): Promise<InputProblem[]> {
  const { rows } = await tx.query<{ id: string; lines: number[] }>(
    `SELECT id, array_agg(line ORDER BY line) AS lines FROM staged GROUP BY id
     HAVING count(DISTINCT (asset, user_id, delta, at)) > 1 ORDER BY min(line) LIMIT $1`,
    [MAX_PROBLEMS],
  );
  return rows.map((r) => ({
    line: r.lines[1],
    id: r.id,
    kind: 'conflict' as const,
    reason: `the same id with other content on lines ${r.lines.join(', ')}`,
  }));
}

/** Ordering and balance rules, checked on the new changes against the stored state. */
async function ruleBreaks(tx: Tx): Promise<InputProblem[]> {
  const { rows } = await tx.query<{ line: number; id: string; reason: string }>(
    `SELECT line, id,
            CASE
              WHEN NOT known THEN 'asset: ' || asset || ' is not registered in the ledger (run softstake migrate)'
              WHEN closed IS NOT NULL AND at < closed
                THEN 'at ' || ledger_iso(at) || ' is before ' || asset || '''s last closed period end ' || ledger_iso(closed)
              WHEN prev_at IS NOT NULL AND at < prev_at
                THEN 'at ' || ledger_iso(at) || ' is older than the same user''s change on line ' || prev_line || ' (' || ledger_iso(prev_at) || ')'
              WHEN last_at IS NOT NULL AND at < last_at
                THEN 'at ' || ledger_iso(at) || ' is older than the user''s last recorded ' || asset || ' change (' || ledger_iso(last_at) || ')'
              ELSE 'would take ' || user_id || '''s ' || asset || ' balance below 0 (to ' || running || ')'
            END AS reason
       FROM (
         SELECT f.line, f.id, f.user_id, f.asset, f.at, a.last_period_end AS closed, a.symbol IS NOT NULL AS known,
                lag(f.at) OVER w AS prev_at, lag(f.line) OVER w AS prev_line,
                b.last_change_at AS last_at,
                coalesce(b.amount, 0) + sum(f.delta) OVER (w ROWS UNBOUNDED PRECEDING) AS running
           FROM fresh f
           LEFT JOIN ledger_assets a ON a.symbol = f.asset
           LEFT JOIN balances b ON b.asset = f.asset AND b.user_id = f.user_id
         WINDOW w AS (PARTITION BY f.asset, f.user_id ORDER BY f.line)
       ) x
      WHERE NOT known OR (closed IS NOT NULL AND at < closed) OR at < prev_at OR at < last_at OR running < 0
      ORDER BY line LIMIT $1`,
    [MAX_PROBLEMS],
  );
  return rows.map((r) => ({ line: r.line, id: r.id, reason: r.reason }));
}
