import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AssetConfig } from '../../src/config/index.js';
import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { distribute, listDistributions } from '../../src/ledger/distribute.js';
import { userBalances, userHistory } from '../../src/ledger/history.js';
import { distributionJson, historyJson } from '../../src/ledger/json.js';
import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';
import { get, post, startApi, type Api } from './harness.js';

const ATOM = atom({ commissionBps: 1_000 });
const DOT: AssetConfig = { ...atom(), symbol: 'DOT', decimals: 10, commissionBps: 500 };
const NOW = ms('2026-02-01T00:00:00Z');
const DAY = 86_400_000;
const day = (n: number) => ms('2026-01-01T00:00:00Z') + n * DAY;

let db: TestDatabase;
let api: Api;

beforeAll(async () => {
  db = await freshDatabase({ ATOM, DOT });
  api = await startApi(db, { assets: { ATOM, DOT }, now: () => NOW });
  // alice holds both assets, bob only ATOM; three daily periods of each asset
  // close at the same instants, so alice's history has two entries per period end.
  const at = new Date(day(0)).toISOString();
  await applyBalanceChanges(
    db.pool,
    [
      { id: 'a-atom', user: 'alice', asset: 'ATOM', delta: '1000000', at },
      { id: 'b-atom', user: 'bob', asset: 'ATOM', delta: '3000000', at },
      { id: 'a-dot', user: 'alice', asset: 'DOT', delta: '5000000000', at },
    ].map((record, i) => ({ line: i, record })),
    { assets: new Set(['ATOM', 'DOT']) },
  );
  for (let d = 0; d < 3; d += 1) {
    await recordRewardEvent(db.pool, { id: `atom-r${d}`, asset: 'ATOM', amount: 1_000n, at: day(d) + DAY / 2, source: 'test' });
    await recordRewardEvent(db.pool, { id: `dot-r${d}`, asset: 'DOT', amount: 500n, at: day(d) + DAY / 2, source: 'test' });
    await distribute(db.pool, { asset: ATOM, periodEnd: day(d + 1) });
    await distribute(db.pool, { asset: DOT, periodEnd: day(d + 1) });
  }
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

describe('GET /v1/users/:id/balances', () => {
  it('returns the current balances as decimal strings, rewards credited', async () => {
    const res = await get(api, '/v1/users/alice/balances');
    expect(res.statusCode).toBe(200);
    const held = await userBalances(db.pool, 'alice');
    expect(res.json()).toEqual({ user: 'alice', balances: { ATOM: held.ATOM!.toString(), DOT: held.DOT!.toString() } });
    // Day 1: R = 1000, commission 100, alice holds a quarter of the weight: 225.
    expect(held.ATOM! > 1_000_000n + 225n).toBe(true);
  });

  it('returns no balances for an unknown user, and takes any user id the ledger takes', async () => {
    const res = await get(api, `/v1/users/${encodeURIComponent('nobody/with space')}/balances`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ user: 'nobody/with space', balances: {} });
    const long = await get(api, `/v1/users/${'u'.repeat(257)}/balances`);
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ errors: [{ path: 'params.id', message: 'longer than 256 characters' }] });
  });
});

describe('GET /v1/users/:id/rewards', () => {
  it("returns the user's history newest first, as the CLI prints it", async () => {
    const res = await get(api, '/v1/users/alice/rewards');
    expect(res.statusCode).toBe(200);
    const expected = (await userHistory(db.pool, { user: 'alice' })).map(historyJson);
    expect(expected).toHaveLength(6);
    expect(res.json()).toEqual({ user: 'alice', rewards: expected, next: null });
    expect(expected[0]).toMatchObject({ distributionId: 'ATOM:2026-01-04T00:00:00.000Z', periodEnd: '2026-01-04T00:00:00.000Z' });
    expect(expected.at(-1)).toMatchObject({ distributionId: 'DOT:2026-01-02T00:00:00.000Z', amount: '475', avgBalance: '5000000000' });
  });

  it('pages by keyset without losing or repeating entries that share a period end', async () => {
    const all = (await get(api, '/v1/users/alice/rewards')).json<{ rewards: { distributionId: string }[] }>().rewards.map((r) => r.distributionId);
    for (const limit of [1, 2, 3, 4, 5]) {
      const seen: string[] = [];
      let before: string | null = null;
      for (let pages = 0; pages < 10; pages += 1) {
        const url: string = `/v1/users/alice/rewards?limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ''}`;
        const page = (await get(api, url)).json<{ rewards: { distributionId: string }[]; next: string | null }>();
        seen.push(...page.rewards.map((r) => r.distributionId));
        expect(page.rewards.length).toBeGreaterThan(0);
        before = page.next;
        if (before === null) break;
      }
      expect(seen, `limit ${limit}`).toEqual(all);
    }
  });

  it('filters by asset and pages exactly by limit', async () => {
    const first = (await get(api, '/v1/users/alice/rewards?asset=atom&limit=2')).json<{ rewards: { periodEnd: string }[]; next: string }>();
    expect(first.rewards.map((r) => r.periodEnd)).toEqual(['2026-01-04T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    expect(first.next).toBe('2026-01-03T00:00:00.000Z');
    const second = (await get(api, `/v1/users/alice/rewards?asset=ATOM&limit=2&before=${first.next}`)).json<{ rewards: unknown[]; next: null }>();
    expect(second.rewards).toHaveLength(1);
    expect(second.next).toBeNull();
  });

  it('400 naming the query parameter that is wrong', async () => {
    for (const [query, path] of [
      ['limit=0', 'query.limit'],
      ['limit=1001', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['limit=1&limit=2', 'query.limit'],
      ['before=yesterday', 'query.before'],
      ['before=2026-01-01T00:00:00', 'query.before'],
      ['asset=XYZ', 'query.asset'],
      ['limt=5', 'query'],
    ] as const) {
      const res = await get(api, `/v1/users/alice/rewards?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path), query).toEqual([path]);
    }
  });
});

describe('GET /v1/distributions', () => {
  it('lists an asset newest first in the CLI shape, paginated', async () => {
    const first = await get(api, '/v1/distributions?asset=ATOM&limit=2');
    expect(first.statusCode).toBe(200);
    const stored = (await listDistributions(db.pool, 'ATOM')).map(distributionJson);
    expect(first.json()).toEqual({ asset: 'ATOM', distributions: stored.slice(0, 2), next: '2026-01-03T00:00:00.000Z' });
    expect(stored[2]).toMatchObject({ gross: '1000', commission: '100', distributed: '900', creditedUsers: 2 });
    const second = await get(api, '/v1/distributions?asset=ATOM&limit=2&before=2026-01-03T00:00:00.000Z');
    expect(second.json()).toEqual({ asset: 'ATOM', distributions: stored.slice(2), next: null });
  });

  it('400 without an asset', async () => {
    const res = await get(api, '/v1/distributions');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ errors: [{ path: 'query.asset', message: 'expected an asset symbol (one of ATOM, DOT)' }] });
  });
});

describe('POST /v1/distributions', () => {
  const count = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM distributions')).rows[0]!.n;

  it('dry-runs (200, nothing written), runs (201), and returns the stored one again (200)', async () => {
    await recordRewardEvent(db.pool, { id: 'atom-r3', asset: 'ATOM', amount: 2_000n, at: day(3) + 1, source: 'test' });
    const before = await count();
    const dry = await post(api, '/v1/distributions', { asset: 'ATOM', periodEnd: '2026-01-05T00:00:00Z', dryRun: true });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ id: 'ATOM:2026-01-05T00:00:00.000Z', gross: '2000', commission: '200', distributed: '1800', dryRun: true, existing: false });
    expect(await count()).toBe(before);

    const run = await post(api, '/v1/distributions', { asset: 'ATOM', periodEnd: '2026-01-05T00:00:00Z' });
    expect(run.statusCode).toBe(201);
    const body = run.json<Record<string, unknown>>();
    expect(body).toMatchObject({ id: 'ATOM:2026-01-05T00:00:00.000Z', periodStart: '2026-01-04T00:00:00.000Z', distributed: '1800', creditedUsers: 2, existing: false, dryRun: false });
    expect(await count()).toBe(before + 1);
    const { rows } = await db.pool.query<{ duration_ms: number | null }>('SELECT duration_ms FROM distributions WHERE id = $1', [body.id]);
    expect(rows[0]!.duration_ms).not.toBeNull();

    const again = await post(api, '/v1/distributions', { asset: 'ATOM', periodEnd: '2026-01-05T00:00:00.000Z' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...body, existing: true });
    expect(await count()).toBe(before + 1);
  });

  it('closes the period ending now when no period end is given', async () => {
    const res = await post(api, '/v1/distributions', { asset: 'DOT' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ id: 'DOT:2026-02-01T00:00:00.000Z', periodStart: '2026-01-04T00:00:00.000Z' });
  });

  it('400 for bad input and for a period the ledger refuses', async () => {
    for (const [body, path] of [
      [{}, 'asset'],
      [{ asset: 'NOPE' }, 'asset'],
      [{ asset: 'ATOM', periodEnd: 'soon' }, 'periodEnd'],
      [{ asset: 'ATOM', dryRun: 'yes' }, 'dryRun'],
      [{ asset: 'ATOM', extra: 1 }, '(body)'],
      [[1, 2], '(body)'],
    ] as const) {
      const res = await post(api, '/v1/distributions', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual([path]);
    }
    const future = await post(api, '/v1/distributions', { asset: 'ATOM', periodEnd: '2026-03-01T00:00:00Z' });
    expect(future.statusCode).toBe(400);
    expect(future.json()).toMatchObject({ type: 'urn:softstake:problem:ledger-refused', detail: expect.stringMatching(/in the future/) });
    const old = await post(api, '/v1/distributions', { asset: 'ATOM', periodEnd: '2026-01-04T12:00:00Z' });
    expect(old.statusCode).toBe(400);
    expect(old.json<{ detail: string }>().detail).toMatch(/not after the last distributed period end/);
  });
});

describe('POST /v1/reward-events', () => {
  const event = { id: 'manual-1', asset: 'ATOM', amount: '5000', at: '2026-01-20T06:00:00Z' };

  it('records (201), recognizes a repeat (200), and refuses the id with other content (409)', async () => {
    const first = await post(api, '/v1/reward-events', event);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ ...event, at: '2026-01-20T06:00:00.000Z', source: 'manual', recorded: 1, duplicates: 0 });
    const again = await post(api, '/v1/reward-events', event);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ recorded: 0, duplicates: 1 });
    const other = await post(api, '/v1/reward-events', { ...event, amount: '5001' });
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({ status: 409, ids: ['manual-1'], errors: [{ id: 'manual-1', message: expect.stringMatching(/already recorded with other content/) }] });
    const { rows } = await db.pool.query('SELECT amount::text, source FROM reward_events WHERE id = $1', ['manual-1']);
    expect(rows).toEqual([{ amount: '5000', source: 'manual' }]);
  });

  it('records a slash, stamped now when `at` is left out, with its source', async () => {
    const res = await post(api, '/v1/reward-events', { id: 'slash-1', asset: 'atom', amount: '-120', source: 'cosmos-hub' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ asset: 'ATOM', amount: '-120', at: '2026-02-01T00:00:00.000Z', source: 'cosmos-hub' });
  });

  it('400 naming the field', async () => {
    for (const [body, path] of [
      [{ ...event, id: 'z-1', amount: '0' }, 'amount'],
      [{ ...event, id: 'z-2', amount: 5000 }, 'amount'],
      [{ ...event, id: 'z-3', amount: '1.5' }, 'amount'],
      [{ ...event, id: '' }, 'id'],
      [{ ...event, id: 'a\u0000b' }, 'id'],
      [{ ...event, id: 'z-4', at: '2026-13-01T00:00:00Z' }, 'at'],
      [{ ...event, id: 'z-5', asset: 'BTC' }, 'asset'],
      [{ ...event, id: 'z-6', source: 'has space' }, 'source'],
    ] as const) {
      const res = await post(api, '/v1/reward-events', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual([path]);
    }
    const { rows } = await db.pool.query("SELECT id FROM reward_events WHERE id LIKE 'z-%'");
    expect(rows).toEqual([]);
  });
});
