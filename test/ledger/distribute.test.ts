import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LedgerInputError } from '../../src/errors.js';
import { applyBalanceChanges, type NumberedRecord } from '../../src/ledger/balanceChanges.js';
import { distribute } from '../../src/ledger/distribute.js';
import { userBalances, userHistory } from '../../src/ledger/history.js';
import { referenceAllocate } from '../../src/ledger/reference.js';
import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';

const ASSETS = new Set(['ATOM']);
let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function changes(...rows: [id: string, user: string, delta: string, at: string][]): NumberedRecord[] {
  return rows.map(([id, user, delta, at], i) => ({ line: i + 1, record: { id, user, asset: 'ATOM', delta, at } }));
}

async function postingsBalance(entry: string): Promise<bigint> {
  const { rows } = await db.pool.query<{ s: string | null }>('SELECT sum(amount) AS s FROM postings WHERE entry = $1', [entry]);
  return BigInt(rows[0]?.s ?? '0');
}

describe('distribute', () => {
  it('splits by time-weighted balance, takes commission, credits at the period end, and is idempotent', async () => {
    // alice holds 100 for the whole day; bob 300 for the second half only.
    await applyBalanceChanges(
      db.pool,
      changes(['a1', 'alice', '100', '2025-01-01T00:00:00Z'], ['b1', 'bob', '300', '2025-01-01T12:00:00Z']),
      { assets: ASSETS },
    );
    await recordRewardEvent(db.pool, { id: 'r1', asset: 'ATOM', amount: 1001n, at: ms('2025-01-01T20:00:00Z'), source: 'manual' });
    // Stamped after the period end and imported before it is distributed: must not count.
    await applyBalanceChanges(db.pool, changes(['a2', 'alice', '1000000', '2025-01-02T06:00:00Z']), { assets: ASSETS });

    const asset = atom({ commissionBps: 1000 });
    const e = ms('2025-01-02T00:00:00Z');
    const d = await distribute(db.pool, { asset, periodEnd: e });
    // I_alice = 100·T, I_bob = 300·T/2 = 150·T; R = 1001, C = 100, D = 901.
    // alice: 901·100/250 = 360.4 → 360; bob: 540.6 → 540; leftover 1 to bob (.6 > .4).
    expect(d).toMatchObject({
      id: 'ATOM:2025-01-02T00:00:00.000Z',
      periodStart: ms('2025-01-01T00:00:00Z'),
      periodEnd: e,
      gross: 1001n,
      commission: 100n,
      distributed: 901n,
      carried: 0n,
      eligibleUsers: 2,
      creditedUsers: 2,
      existing: false,
    });
    expect(await userHistory(db.pool, { user: 'bob' })).toEqual([
      { distributionId: d.id, asset: 'ATOM', amount: 541n, avgBalance: 150n, periodStart: d.periodStart, periodEnd: e },
    ]);
    expect(await userBalances(db.pool, 'alice')).toEqual({ ATOM: 100n + 360n + 1_000_000n });
    expect(await userBalances(db.pool, 'bob')).toEqual({ ATOM: 300n + 541n });
    expect(await postingsBalance(d.id)).toBe(0n);

    const again = await distribute(db.pool, { asset, periodEnd: e });
    expect(again).toEqual({ ...d, existing: true });
    expect(await userBalances(db.pool, 'bob')).toEqual({ ATOM: 841n });

    // Next period: the credit counts from e on; alice's late change from 06:00.
    await recordRewardEvent(db.pool, { id: 'r2', asset: 'ATOM', amount: 0n, at: ms('2025-01-02T01:00:00Z'), source: 'manual' });
    const quiet = await distribute(db.pool, { asset, periodEnd: ms('2025-01-03T00:00:00Z') });
    expect(quiet).toMatchObject({ periodStart: e, gross: 0n, carried: 0n, creditedUsers: 0, eligibleUsers: 2 });
  });

  it('refuses a period end in the future or not after the last one, writing nothing', async () => {
    const asset = atom();
    await expect(distribute(db.pool, { asset, periodEnd: Date.now() + 3_600_000 })).rejects.toThrow(/in the future/);
    await expect(distribute(db.pool, { asset, periodEnd: ms('2025-01-02T12:00:00Z') })).rejects.toThrow(
      /not after the last distributed period end 2025-01-03T00:00:00.000Z/,
    );
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM distributions');
    expect(rows[0].n).toBe(2);
  });

  it('carries rewards forward when nobody is eligible, then allocates them later', async () => {
    const asset = atom({ minHolding: 10_000_000n });
    await recordRewardEvent(db.pool, { id: 'r3', asset: 'ATOM', amount: 500n, at: ms('2025-01-03T10:00:00Z'), source: 'manual' });
    const carried = await distribute(db.pool, { asset, periodEnd: ms('2025-01-04T00:00:00Z') });
    expect(carried).toMatchObject({ gross: 0n, carried: 500n, eligibleUsers: 0, creditedUsers: 0 });
    const later = await distribute(db.pool, { asset: atom(), periodEnd: ms('2025-01-05T00:00:00Z') });
    expect(later).toMatchObject({ gross: 500n, carried: 0n, distributed: 500n });
  });

  it('a dry run computes the result and writes nothing', async () => {
    await recordRewardEvent(db.pool, { id: 'r4', asset: 'ATOM', amount: 77n, at: ms('2025-01-05T10:00:00Z'), source: 'manual' });
    const before = await userBalances(db.pool, 'alice');
    const dry = await distribute(db.pool, { asset: atom(), periodEnd: ms('2025-01-06T00:00:00Z'), dryRun: true });
    expect(dry).toMatchObject({ gross: 77n, dryRun: true, existing: false });
    expect(await userBalances(db.pool, 'alice')).toEqual(before);
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM distributions WHERE id = 'ATOM:2025-01-06T00:00:00.000Z'");
    expect(rows[0].n).toBe(0);
  });

  it('refuses an asset without balance changes', async () => {
    const other = await freshDatabase();
    try {
      await expect(distribute(other.pool, { asset: atom(), periodEnd: ms('2025-01-01T00:00:00Z') })).rejects.toBeInstanceOf(LedgerInputError);
    } finally {
      await other.drop();
    }
  });
});

describe('distribute arithmetic', () => {
  it('weighs exactly when integrals pass 64 bits (24-decimal amounts), as the reference does', async () => {
    const near = atom({ symbol: 'NEAR', decimals: 24, commissionBps: 700, minHolding: 10n ** 20n });
    const other = await freshDatabase({ NEAR: near });
    try {
      const day = ms('2025-01-01T00:00:00Z');
      // 9 NEAR (9e24 yocto) held a day is 7.8e32 base-unit ms: far past 2^63.
      const rows: [string, string, bigint, number][] = [
        ['n1', 'whale', 9_000_000_000_000_000_000_000_000n, day],
        ['n2', 'minnow', 1_234_567n, day + 1],
        ['n3', 'middle', 3n * 10n ** 22n, day + 3_600_000],
        ['n4', 'whale', -(10n ** 24n), day + 7_200_000],
        ['n5', 'late', 5n * 10n ** 23n, day + 20 * 3_600_000],
      ];
      await applyBalanceChanges(
        other.pool,
        rows.map(([id, user, delta, at], i) => ({ line: i + 1, record: { id, user, asset: 'NEAR', delta: delta.toString(), at: new Date(at).toISOString() } })),
        { assets: new Set(['NEAR']) },
      );
      const reward = 123_456_789_012_345_678_901n;
      await recordRewardEvent(other.pool, { id: 'nr1', asset: 'NEAR', amount: reward, at: day + 3_600_000, source: 'manual' });
      const e = ms('2025-01-02T00:00:00Z');
      const d = await distribute(other.pool, { asset: near, periodEnd: e });
      const ref = referenceAllocate({
        periodStart: day,
        periodEnd: e,
        changes: rows.map(([, user, delta, at]) => ({ user, delta, at })),
        reward,
        minHolding: near.minHolding,
        cap: null,
        commissionBps: near.commissionBps,
      });
      expect(d).toMatchObject({ gross: ref.gross, commission: ref.commission, distributed: ref.distributed, eligibleUsers: ref.eligibleUsers });
      const { rows: stored } = await other.pool.query<{ user_id: string; amount: string; avg_balance: string }>(
        'SELECT user_id, amount::text, avg_balance::text FROM allocations WHERE distribution_id = $1 ORDER BY user_id',
        [d.id],
      );
      expect(stored.map((r) => [r.user_id, { amount: BigInt(r.amount), avgBalance: BigInt(r.avg_balance) }])).toEqual([...ref.allocations]);
      expect(ref.allocations.size).toBeGreaterThanOrEqual(3);
    } finally {
      await other.drop();
    }
  });
});
