import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bpsPercent, ratioString } from '../../src/api/decimal.js';
import { realizedApr } from '../../src/api/v1/assets.js';
import type { AssetConfig } from '../../src/config/index.js';
import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';
import { chainConfig, get, startApi, type Api } from './harness.js';

const ATOM = atom({ commissionBps: 1_000, minHolding: 1_000_000n, cap: 50_000_000n });
const DOT: AssetConfig = { ...atom(), symbol: 'DOT', decimals: 10, commissionBps: 250 };
const NOW = ms('2026-02-01T00:00:00Z');
const DAY = 86_400_000;

let db: TestDatabase;
let api: Api;

/** A position snapshot row as the poll job writes it. */
async function snapshot(at: number, s: { staked: bigint; liquid?: bigint; unbonding?: bigint; pending?: bigint; height?: bigint }) {
  const detail = {
    delegations: [{ validator: 'val-1', amount: s.staked.toString() }],
    unbonding: [],
    validators: [{ validator: 'val-1', jailed: false, active: true, commissionBps: 500 }],
  };
  await db.pool.query(
    `INSERT INTO chain_positions (chain, asset, height, at, liquid, staked, unbonding, pending_rewards, detail)
     VALUES ('cosmos-test', 'ATOM', $1, $2, $3, $4, $5, $6, $7)`,
    [(s.height ?? 1n).toString(), at, (s.liquid ?? 0n).toString(), s.staked.toString(), (s.unbonding ?? 0n).toString(), (s.pending ?? 0n).toString(), JSON.stringify(detail)],
  );
}

beforeAll(async () => {
  db = await freshDatabase({ ATOM, DOT });
  api = await startApi(db, { assets: { ATOM, DOT }, chains: { 'cosmos-test': chainConfig('cosmos-test', 'ATOM') }, now: () => NOW });
  const at = new Date(NOW - 60 * DAY).toISOString();
  await applyBalanceChanges(
    db.pool,
    [
      { id: 'a', user: 'alice', asset: 'ATOM', delta: '3000000', at },
      { id: 'b', user: 'bob', asset: 'ATOM', delta: '1000000', at },
    ].map((record, i) => ({ line: i, record })),
    { assets: new Set(['ATOM', 'DOT']) },
  );
  // Outside the 30-day window: ignored.
  await snapshot(NOW - 40 * DAY, { staked: 100n });
  await recordRewardEvent(db.pool, { id: 'old', asset: 'ATOM', amount: 999_999n, at: NOW - 45 * DAY, source: 'test' });
  // Inside: three snapshots over 10 days, 7000 uatom of rewards (one slash).
  await snapshot(NOW - 10 * DAY, { staked: 3_000_000n });
  await snapshot(NOW - 5 * DAY, { staked: 3_500_000n });
  await snapshot(NOW - 3_600_000, { staked: 3_700_000n, liquid: 300_000n, unbonding: 50_000n, pending: 1_234n, height: 777n });
  await recordRewardEvent(db.pool, { id: 'r1', asset: 'ATOM', amount: 3_100n, at: NOW - 9 * DAY, source: 'test' });
  await recordRewardEvent(db.pool, { id: 's1', asset: 'ATOM', amount: -100n, at: NOW - 8 * DAY, source: 'test' });
  await recordRewardEvent(db.pool, { id: 'r2', asset: 'ATOM', amount: 4_000n, at: NOW - 2 * DAY, source: 'test' });
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

describe('GET /v1/assets', () => {
  it('reports each asset: rules, users, the latest position, staked ratio and realized APR', async () => {
    const res = await get(api, '/v1/assets');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      assets: [
        {
          symbol: 'ATOM',
          decimals: 6,
          chain: 'cosmos-test',
          position: {
            height: '777',
            at: '2026-01-31T23:00:00.000Z',
            liquid: '300000',
            staked: '3700000',
            unbonding: '50000',
            pendingRewards: '1234',
          },
          usersTotal: '4000000',
          // 3 700 000 / 4 000 000
          stakedRatio: '0.9250',
          // 7000 / avg(3.0M, 3.5M, 3.7M) = 7000 / 3.4M over 10 days, × 36.5 → 7.5147…%
          realizedApr: '7.51',
          minHolding: '1000000',
          cap: '50000000',
          commission: { bps: 1000, percent: '10%' },
        },
        {
          symbol: 'DOT',
          decimals: 10,
          chain: null,
          position: null,
          usersTotal: '0',
          stakedRatio: null,
          realizedApr: null,
          minHolding: '0',
          cap: null,
          commission: { bps: 250, percent: '2.5%' },
        },
      ],
    });
  });

  it('needs the token', async () => {
    expect((await get(api, '/v1/assets', {})).statusCode).toBe(401);
  });
});

describe('exact decimals', () => {
  it('rounds ratios half away from zero without floats', () => {
    expect(ratioString(1n, 3n, 4)).toBe('0.3333');
    expect(ratioString(2n, 3n, 4)).toBe('0.6667');
    expect(ratioString(-2n, 3n, 2)).toBe('-0.67');
    expect(ratioString(1n, 8n, 2)).toBe('0.13');
    expect(ratioString(-1n, 1000n, 2)).toBe('0.00');
    expect(ratioString(10n ** 77n, 3n, 2)).toBe(`${'3'.repeat(77)}.33`);
    expect(ratioString(5n, 1n, 0)).toBe('5');
  });

  it('prints basis points as a percentage', () => {
    expect([0, 25, 250, 1000, 1050, 10_000].map(bpsPercent)).toEqual(['0%', '0.25%', '2.5%', '10%', '10.5%', '100%']);
  });

  it('annualizes over the span actually covered, and reports nothing for less than a day', () => {
    const inputs = { rewards: 1_000n, stakedSum: 2_000_000n, snapshots: 2, since: NOW - 10 * DAY };
    // 1000 / 1M × 36.5 = 3.65%
    expect(realizedApr(inputs, NOW)).toBe('3.65');
    expect(realizedApr({ ...inputs, rewards: -1_000n }, NOW)).toBe('-3.65');
    expect(realizedApr({ ...inputs, since: NOW - DAY + 1 }, NOW)).toBeNull();
    expect(realizedApr({ ...inputs, stakedSum: 0n }, NOW)).toBeNull();
    expect(realizedApr(undefined, NOW)).toBeNull();
  });
});
