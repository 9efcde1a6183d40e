import type pg from 'pg';

import { LedgerInputError, type InputProblem } from '../errors.js';
import { toBigInt, toMillis, withTransaction, type Tx } from './db.js';
import { post } from './journal.js';
import { formatInstant } from './time.js';

/** A reward the chain paid (positive) or a slash (negative), in base units. */
export interface RewardEvent {
  /** Deterministic: tx hash + event index, pool + epoch, or the operator's own id. */
  id: string;
  asset: string;
  amount: bigint;
  /** When it was observed, milliseconds. It counts in the first period ending at or after it. */
  at: number;
  /** Where it came from: a chain adapter's name, or "manual". */
  source: string;
}

export interface RecordResult {
  recorded: number;
  /** Events already stored with the same content: a repeated delivery. */
  duplicates: number;
}

/**
 * Stores reward events inside the caller's transaction. Idempotent by id: an
 * event stored before with the same content is skipped; the same id with
 * other content is refused, and so the whole transaction.
 */
export async function insertRewardEvents(tx: Tx, events: readonly RewardEvent[]): Promise<RecordResult> {
  const problems: InputProblem[] = [];
  const unique = new Map<string, RewardEvent>();
  for (const event of events) {
    const twin = unique.get(event.id);
    if (twin === undefined) unique.set(event.id, event);
    else if (!sameEvent(twin, event)) problems.push({ id: event.id, kind: 'conflict', reason: 'the same id twice in one batch with other content' });
  }
  if (problems.length > 0) throw new LedgerInputError('reward events refused; nothing was recorded', problems);

  // Insert first, skipping ids already there: a concurrent writer of the same
  // id is waited for (ON CONFLICT), never met as a unique violation. What was
  // skipped must then be stored with the same content.
  const candidates = [...unique.values()];
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO reward_events (id, asset, amount, at, source)
     SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::bigint[], $5::text[])
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      candidates.map((e) => e.id),
      candidates.map((e) => e.asset),
      candidates.map((e) => e.amount.toString()),
      candidates.map((e) => e.at),
      candidates.map((e) => e.source),
    ],
  );
  const insertedIds = new Set(inserted.rows.map((r) => r.id));
  const skipped = candidates.filter((e) => !insertedIds.has(e.id));
  if (skipped.length > 0) {
    const { rows } = await tx.query<StoredRow>(
      'SELECT id, asset, amount, at, source, distribution_id FROM reward_events WHERE id = ANY($1::text[])',
      [skipped.map((e) => e.id)],
    );
    for (const row of rows) {
      const stored = rowToEvent(row);
      if (!sameEvent(stored, unique.get(row.id)!)) problems.push({ id: row.id, kind: 'conflict', reason: `already recorded with other content (${describeRewardEvent(stored)})` });
    }
    if (problems.length > 0) throw new LedgerInputError('reward events refused; nothing was recorded', problems);
  }

  const fresh = candidates.filter((e) => insertedIds.has(e.id));
  for (const event of fresh) {
    await post(tx, `reward:${event.id}`, event.asset, event.at, [
      ['custody', event.amount],
      ['rewards', -event.amount],
    ]);
  }
  return { recorded: fresh.length, duplicates: events.length - fresh.length };
}

interface StoredRow {
  id: string;
  asset: string;
  amount: string;
  at: string;
  source: string;
  distribution_id: string | null;
}

function rowToEvent(r: StoredRow): RewardEvent {
  return { id: r.id, asset: r.asset, amount: toBigInt(r.amount), at: toMillis(r.at), source: r.source };
}

function sameEvent(a: RewardEvent, b: RewardEvent): boolean {
  return a.asset === b.asset && a.amount === b.amount && a.at === b.at && a.source === b.source;
}

/** Records one reward event in its own transaction (`softstake rewards record`). */
export async function recordRewardEvent(pool: pg.Pool, event: RewardEvent): Promise<RecordResult> {
  return withTransaction(pool, async (tx) => {
    const known = await tx.query('SELECT 1 FROM ledger_assets WHERE symbol = $1', [event.asset]);
    if (known.rowCount === 0) throw new LedgerInputError(`unknown asset ${event.asset}`);
    return insertRewardEvents(tx, [event]);
  });
}

/** A stored reward event with the distribution that allocated it, if any. */
export interface StoredRewardEvent extends RewardEvent {
  distributionId: string | null;
}

export async function listRewardEvents(db: Tx | pg.Pool, asset: string, limit = 100): Promise<StoredRewardEvent[]> {
  const { rows } = await db.query<StoredRow>(
    'SELECT id, asset, amount, at, source, distribution_id FROM reward_events WHERE asset = $1 ORDER BY at DESC, id LIMIT $2',
    [asset, limit],
  );
  return rows.map((r) => ({ ...rowToEvent(r), distributionId: r.distribution_id }));
}

export function describeRewardEvent(e: RewardEvent): string {
  return `${e.id} ${e.asset} ${e.amount} at ${formatInstant(e.at)}`;
}
