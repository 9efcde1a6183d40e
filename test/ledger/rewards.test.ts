/**
 * Reward events written at the same moment by several writers (a harvest and
 * an operator's manual record, or two daemons) with the same id: each writer
 * waits for the first and then sees it, so the event is stored and booked
 * once and every writer gets an answer that tells the truth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LedgerInputError } from '../../src/errors.js';
import { insertRewardEvents, recordRewardEvent, type RewardEvent } from '../../src/ledger/rewards.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/wait.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const WRITERS = 7;

/** Holds `first` uncommitted while `WRITERS` others record `other`, then commits it. */
async function raceAgainstOpenInsert(first: RewardEvent, other: RewardEvent): Promise<PromiseSettledResult<unknown>[]> {
  const holder = await db.pool.connect();
  try {
    await holder.query('BEGIN');
    await insertRewardEvents(holder, [first]);
    // Settled from the start: a racer may reject the moment the holder commits.
    const racing = Promise.allSettled(Array.from({ length: WRITERS }, () => recordRewardEvent(db.pool, other)));
    // Every racer is blocked on the open insert of the same id.
    await until(async () => {
      const { rows } = await db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return Number(rows[0]!.n) === WRITERS;
    }, `${WRITERS} writers wait on the open insert`, 20_000, 50);
    await holder.query('COMMIT');
    return await racing;
  } finally {
    holder.release();
  }
}

async function booked(id: string): Promise<{ events: number; postings: number }> {
  const events = await db.pool.query('SELECT 1 FROM reward_events WHERE id = $1', [id]);
  const postings = await db.pool.query('SELECT 1 FROM postings WHERE entry = $1', [`reward:${id}`]);
  return { events: events.rowCount ?? 0, postings: postings.rowCount ?? 0 };
}

describe('concurrent reward events with one id', () => {
  it('the same event from 8 writers at once is stored once; the others are told it is a duplicate', async () => {
    const event: RewardEvent = { id: 'race-same', asset: 'ATOM', amount: 500n, at: Date.UTC(2025, 0, 1), source: 'manual' };
    const results = await raceAgainstOpenInsert(event, event);
    for (const r of results) expect(r).toEqual({ status: 'fulfilled', value: { recorded: 0, duplicates: 1 } });
    expect(await booked('race-same')).toEqual({ events: 1, postings: 2 });
  });

  it('the same id with other content is refused as a conflict for every later writer, naming the id', async () => {
    const first: RewardEvent = { id: 'race-other', asset: 'ATOM', amount: 500n, at: Date.UTC(2025, 0, 1), source: 'manual' };
    const results = await raceAgainstOpenInsert(first, { ...first, amount: 501n });
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const error = (r as PromiseRejectedResult).reason as unknown;
      expect(error).toBeInstanceOf(LedgerInputError);
      expect((error as LedgerInputError).problems).toEqual([expect.objectContaining({ id: 'race-other', kind: 'conflict' })]);
    }
    expect(await booked('race-other')).toEqual({ events: 1, postings: 2 });
    const stored = await db.pool.query<{ amount: string }>('SELECT amount FROM reward_events WHERE id = $1', ['race-other']);
    expect(stored.rows[0]!.amount).toBe('500');
  });
});
