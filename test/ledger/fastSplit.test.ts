import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AssetConfig } from '../../src/config/index.js';
import { SoftstakeError } from '../../src/errors.js';
import type { SplitOptions } from '../../src/ledger/allocate.js';
import { applyBalanceChanges, type NumberedRecord } from '../../src/ledger/balanceChanges.js';
import { distribute, type Distribution } from '../../src/ledger/distribute.js';
import { thresholds } from '../../src/ledger/fastSplit.js';
import { referenceAllocate, type ReferenceChange } from '../../src/ledger/reference.js';
import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { atom, freshDatabase, type TestDatabase } from '../helpers/db.js';

// The fast split (src/ledger/fastSplit.ts) at a size where its sample is a
// real sample: books of a few thousand users, the same book kept in several
// assets, each split a different way, all compared with the reference.

const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 1);
const USERS = 3_000;

/** A deterministic pseudo-random stream, so a failure can be replayed. */
function stream(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    x = (x ^ (x >>> 12)) >>> 0;
    return x / 2 ** 32;
  };
}

interface Book {
  /** Per asset, the changes the reference integrates (credits included, at each period end). */
  changes: Map<string, ReferenceChange[]>;
}

/**
 * One day of changes for USERS users: deposits of varied size (a few equal
 * ones, so remainders tie), some withdrawals, and changes stamped after the
 * day's end imported before it is distributed.
 */
function day(from: number, seed: number, prefix: string): { user: string; delta: bigint; at: number; id: string }[] {
  const random = stream(seed);
  const rows: { user: string; delta: bigint; at: number; id: string }[] = [];
  for (let u = 0; u < USERS; u += 1) {
    const user = `u${String(u).padStart(5, '0')}`;
    const n = 1 + Math.floor(random() * 3);
    // From an hour in: after the previous day's late changes.
    let at = from + HOUR + Math.floor(random() * HOUR);
    for (let k = 0; k < n; k += 1) {
      const delta = u % 97 === 0 ? 1_000_000n : BigInt(1 + Math.floor(random() * 5_000_000_000));
      rows.push({ user, delta, at, id: `${prefix}-${u}-${k}` });
      at += 1 + Math.floor(random() * 7 * HOUR);
    }
    // A tenth of the users withdraw a little late in the day, a twentieth after it.
    if (u % 10 === 3) rows.push({ user, delta: -1n, at: from + 23 * HOUR + u, id: `${prefix}-${u}-w` });
    if (u % 20 === 7) rows.push({ user, delta: 12_345n, at: from + 24 * HOUR + 1 + u, id: `${prefix}-${u}-late` });
  }
  return rows;
}

async function load(db: TestDatabase, book: Book, asset: string, rows: ReturnType<typeof day>): Promise<void> {
  const records: NumberedRecord[] = rows.map((r, i) => ({
    line: i + 1,
    record: { id: `${asset}:${r.id}`, user: r.user, asset, delta: r.delta.toString(), at: new Date(r.at).toISOString() },
  }));
  await applyBalanceChanges(db.pool, records, { assets: new Set([asset]) });
  const changes = book.changes.get(asset) ?? [];
  changes.push(...rows.map((r) => ({ user: r.user, delta: r.delta, at: r.at })));
  book.changes.set(asset, changes);
}

async function allocations(db: TestDatabase, id: string): Promise<[string, { amount: bigint; avgBalance: bigint }][]> {
  const { rows } = await db.pool.query<{ user_id: string; amount: string; avg_balance: string }>(
    'SELECT user_id, amount, avg_balance FROM allocations WHERE distribution_id = $1 ORDER BY user_id',
    [id],
  );
  return rows.map((r) => [r.user_id, { amount: BigInt(r.amount), avgBalance: BigInt(r.avg_balance) }]);
}

/** Distributes the period of `asset` the way `split` says and checks it against the reference; returns the distribution. */
async function distributeAndCheck(
  db: TestDatabase,
  book: Book,
  asset: AssetConfig,
  periodStart: number,
  periodEnd: number,
  reward: bigint,
  split: SplitOptions,
): Promise<Distribution> {
  const changes = book.changes.get(asset.symbol)!;
  const ref = referenceAllocate({
    periodStart,
    periodEnd,
    changes,
    reward,
    minHolding: asset.minHolding,
    cap: asset.cap,
    commissionBps: asset.commissionBps,
  });
  const d = await distribute(db.pool, { asset, periodEnd, split });
  expect(d).toMatchObject({ periodStart, gross: ref.gross, distributed: ref.distributed, eligibleUsers: ref.eligibleUsers });
  expect(d.creditedUsers).toBe(ref.allocations.size);
  expect(await allocations(db, d.id)).toEqual([...ref.allocations]);
  // The credits are the next period's changes at this period's end.
  for (const [user, a] of ref.allocations) changes.push({ user, delta: a.amount, at: periodEnd });
  return d;
}

describe('the fast split over a few thousand users', () => {
  // Five copies of one book, each distributed another way.
  const ways: [string, SplitOptions][] = [
    ['WHOLE', { split: 'fast', sampleMask: 0 }],
    ['EIGHTH', { split: 'fast', sampleMask: 7 }],
    ['SPARSE', { sampleMask: 63 }],
    ['NOBAND', { sampleMask: 7, bandRanks: -1 }],
    ['EXACT', { split: 'exact' }],
  ];
  const assets = Object.fromEntries(
    ways.map(([symbol]) => [symbol, atom({ symbol, minHolding: 2_000_000n, cap: 4_000_000_000n, commissionBps: 1_000 })]),
  );
  const book: Book = { changes: new Map() };
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase(assets);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('gives the reference shares in the first period and the next, however it is sampled', async () => {
    const first = day(START, 17, 'd1');
    const second = day(START + 24 * HOUR, 29, 'd2');
    const rewards = [43_200_123_457n, 1_600_000_001n];
    for (const [symbol] of ways) await load(db, book, symbol, first);
    for (const [symbol, split] of ways) {
      await recordRewardEvent(db.pool, { id: `${symbol}:r1`, asset: symbol, amount: rewards[0]!, at: START + 5 * HOUR, source: 'manual' });
      const { rows } = await db.pool.query<{ at: string }>('SELECT min(at) AS at FROM balance_changes WHERE asset = $1', [symbol]);
      await distributeAndCheck(db, book, assets[symbol]!, Number(rows[0]!.at), START + 24 * HOUR, rewards[0]!, split);
    }
    for (const [symbol] of ways) await load(db, book, symbol, second);
    for (const [symbol, split] of ways) {
      await recordRewardEvent(db.pool, { id: `${symbol}:r2`, asset: symbol, amount: rewards[1]!, at: START + 30 * HOUR, source: 'manual' });
      await distributeAndCheck(db, book, assets[symbol]!, START + 24 * HOUR, START + 48 * HOUR, rewards[1]!, split);
    }
    // Every copy holds the same balances.
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(DISTINCT (user_id, amount, acc, acc_since)) AS n FROM balances`,
    );
    expect(Number(rows[0]!.n)).toBe(USERS);
  }, 300_000);

  it('refuses to run fast where the float path cannot be exact, and the automatic split then runs exact', async () => {
    const big = 1n << 41n;
    await recordRewardEvent(db.pool, { id: 'WHOLE:r3', asset: 'WHOLE', amount: big, at: START + 50 * HOUR, source: 'manual' });
    await expect(distribute(db.pool, { asset: assets.WHOLE!, periodEnd: START + 72 * HOUR, split: { split: 'fast' } })).rejects.toThrow(SoftstakeError);
    await recordRewardEvent(db.pool, { id: 'EIGHTH:r3', asset: 'EIGHTH', amount: big, at: START + 50 * HOUR, source: 'manual' });
    await distributeAndCheck(db, book, assets.EIGHTH!, START + 48 * HOUR, START + 72 * HOUR, big, {});
  }, 120_000);

  it('the migration gives every stored balance the moment the imports keep', async () => {
    const before = await db.pool.query('SELECT asset, user_id, acc, acc_since FROM balances ORDER BY asset, user_id');
    const sql = await readFile(new URL('../../src/ledger/migrations/006_balance_moments.sql', import.meta.url), 'utf8');
    const from = sql.indexOf('UPDATE balances');
    const backfill = sql.slice(from, sql.indexOf(';', from));
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE balances SET acc = 0, acc_since = NULL');
      await client.query(backfill);
      const after = await client.query('SELECT asset, user_id, acc, acc_since FROM balances ORDER BY asset, user_id');
      await client.query('ROLLBACK');
      // A balance with no change since the last period end keeps no moment;
      // the imports left it one counting from an earlier period end, which
      // the distribution ignores as well.
      const { rows: closed } = await db.pool.query<{ symbol: string; last_period_end: string }>(
        'SELECT symbol, last_period_end FROM ledger_assets',
      );
      const end = new Map(closed.map((r) => [r.symbol, r.last_period_end]));
      const live = (r: { asset: string; acc_since: string | null }) => r.acc_since !== null && r.acc_since === end.get(r.asset);
      expect(after.rows.filter(live)).toEqual(before.rows.filter(live));
      expect(after.rows.filter((r) => !live(r)).every((r) => r.acc === '0' && r.acc_since === null)).toBe(true);
    } finally {
      client.release();
    }
  });
});

describe('thresholds', () => {
  const D = 10n;
  const W = 7n;

  it('from the whole book, mid is the L-th largest remainder and the band the users tied at it', () => {
    // Shares of 10 over weights 1, 2, 4: 10/7, 20/7, 40/7 → remainders 3, 6, 5; Σ base = 1 + 2 + 5 = 8, L = 2.
    expect(thresholds(D, W, [1n, 2n, 4n], true)).toEqual({ lo: 5n, mid: 5n, hi: 6n });
  });

  it('with no leftover, nobody is bumped', () => {
    expect(thresholds(14n, W, [1n, 2n, 4n], true)).toEqual({ lo: W, mid: W, hi: W });
  });

  it('from a part of the book, lo ≤ mid ≤ hi bracket the estimate', () => {
    const sample = Array.from({ length: 400 }, (_, i) => BigInt(1_000 + i * 37));
    const t = thresholds(1_000_003n, 9_876_543n, sample, false);
    expect(t.lo <= t.mid && t.mid <= t.hi).toBe(true);
    expect(thresholds(1_000_003n, 9_876_543n, sample, false, 0)).toEqual({ lo: t.mid, mid: t.mid, hi: t.mid + 1n });
  });
});
