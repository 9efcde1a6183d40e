/**
 * Input that cannot poison the books: every value here was accepted once and
 * later blocked distributions, merged two users, or echoed a 4 MB value back.
 * Each is refused at the door with a 400 naming the field, and nothing is
 * written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';
import { auth, changeCount, get, post, startApi, type Api } from './harness.js';

const NOW = ms('2026-06-01T00:00:00Z');
let db: TestDatabase;
let api: Api;

beforeAll(async () => {
  db = await freshDatabase();
  api = await startApi(db, { now: () => NOW, assets: { ATOM: atom({ commissionBps: 1_000, since: ms('2026-01-01T00:00:00Z') }) } });
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

interface ProblemBody {
  status: number;
  detail?: string;
  errors?: { path?: string; message: string }[];
}

const change = (o: Record<string, unknown> = {}) => ({ id: 'c-1', user: 'alice', asset: 'ATOM', delta: '100', at: '2026-02-01T00:00:00Z', ...o });

/** Posts raw text, expects 400 problem+json, nothing written; returns the problem. */
async function refused(url: string, payload: string): Promise<ProblemBody> {
  const changes = await changeCount(db.pool);
  const rewards = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reward_events')).rows[0]!.n;
  const res = await api.server.inject({ method: 'POST', url, headers: { ...auth, 'content-type': 'application/json' }, payload });
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(await changeCount(db.pool)).toBe(changes);
  expect((await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reward_events')).rows[0]!.n).toBe(rewards);
  return res.json<ProblemBody>();
}

const changes = (...records: unknown[]) => JSON.stringify({ changes: records });
const messages = (p: ProblemBody) => (p.errors ?? []).map((e) => `${e.path}: ${e.message}`).join('\n') + (p.detail ?? '');

describe('amounts', () => {
  it('refuses delta "0": a change that changes nothing is a mistake upstream', async () => {
    expect(messages(await refused('/v1/balance-changes', changes(change({ delta: '0' }))))).toMatch(/changes\.0\.delta: .*not be 0/);
  });

  it('refuses amounts whose sums could overflow NUMERIC(78,0), at the record that carries them', async () => {
    const huge = '9'.repeat(61);
    expect(messages(await refused('/v1/balance-changes', changes(change({ delta: huge }))))).toMatch(/changes\.0\.delta: .*at most 60 digits/);
    expect(messages(await refused('/v1/reward-events', JSON.stringify({ id: 'r-1', asset: 'ATOM', amount: huge, at: '2026-02-01T00:00:00Z' })))).toMatch(/amount: .*at most 60 digits/);
  });
});

describe('timestamps', () => {
  it('refuses a change stamped far in the future (it would lock the user out of every later change)', async () => {
    for (const at of ['9999-12-31T00:00:00Z', '2026-06-01T00:05:01Z']) {
      expect(messages(await refused('/v1/balance-changes', changes(change({ at }))))).toMatch(/changes\.0\.at: .*in the future/);
    }
    expect(messages(await refused('/v1/reward-events', JSON.stringify({ id: 'r-2', asset: 'ATOM', amount: '5', at: '9999-12-31T00:00:00Z' })))).toMatch(/at: .*in the future/);
  });

  it('accepts a change within the clock skew', async () => {
    const res = await post(api, '/v1/balance-changes', { changes: [change({ id: 'skew-ok', user: 'skew', at: '2026-06-01T00:04:59Z' })] });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('refuses a change or reward before the asset\'s first period', async () => {
    for (const at of ['2025-12-31T23:59:59Z', '1970-01-01T00:00:00Z']) {
      expect(messages(await refused('/v1/balance-changes', changes(change({ at }))))).toMatch(/changes\.0\.at: .*before ATOM's first period/);
    }
    expect(messages(await refused('/v1/reward-events', JSON.stringify({ id: 'r-3', asset: 'ATOM', amount: '5', at: '2025-06-01T00:00:00Z' })))).toMatch(/at: .*before ATOM's first period/);
  });
});

describe('user and change ids', () => {
  it('refuses lone surrogates (they would merge two users into one), control and bidi override characters', async () => {
    for (const [field, raw] of [
      ['user', '"alice\\ud800"'],
      ['user', '"alice\\udfff"'],
      ['id', '"\\ud83dx"'],
      ['user', '"ali\\u202ece"'],
      ['user', '"a\\u2066b"'],
      ['id', '"a\\u0085b"'],
      ['user', '"a\\u0000b"'],
    ] as const) {
      const record = JSON.stringify(change()).replace(`"${field}":"${field === 'id' ? 'c-1' : 'alice'}"`, `"${field}":${raw}`);
      const problem = await refused('/v1/balance-changes', `{"changes":[${record}]}`);
      expect(messages(problem), raw).toMatch(new RegExp(`changes\\.0\\.${field}: `));
    }
  });

  it('refuses the same in a path parameter and a reward event id', async () => {
    const res = await get(api, '/v1/users/a%E2%80%AEb/balances');
    expect(res.statusCode).toBe(400);
    expect(messages(await refused('/v1/reward-events', '{"id":"r\\ud800","asset":"ATOM","amount":"5","at":"2026-02-01T00:00:00Z"}'))).toMatch(/^id: /);
  });

  it('refuses ids longer than 256 characters', async () => {
    expect(messages(await refused('/v1/balance-changes', changes(change({ user: 'u'.repeat(257) }))))).toMatch(/changes\.0\.user: .*longer than 256/);
  });
});

describe('asset names', () => {
  it('looks assets up among the configured ones only, never through the prototype chain', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const list = await get(api, `/v1/distributions?asset=${name}`);
      expect(list.statusCode, `${name}: ${list.body}`).toBe(400);
      expect(list.json<ProblemBody>().detail).toMatch(/unknown asset/);
      expect(messages(await refused('/v1/reward-events', JSON.stringify({ id: `r-${name}`, asset: name, amount: '5', at: '2026-02-01T00:00:00Z' })))).toMatch(/asset: unknown asset/);
      expect(messages(await refused('/v1/balance-changes', changes(change({ asset: name }))))).toMatch(/unknown asset/);
    }
  });
});

describe('JSON', () => {
  it('refuses duplicate keys, at the top and inside a record', async () => {
    const one = JSON.stringify(change());
    expect((await refused('/v1/balance-changes', `{"changes":[${one}],"changes":[]}`)).detail).toMatch(/duplicate key "changes"/);
    const twice = one.replace('"delta":"100"', '"delta":"1","delta":"100"');
    expect((await refused('/v1/balance-changes', `{"changes":[${twice}]}`)).detail).toMatch(/duplicate key "delta"/);
    expect((await refused('/v1/reward-events', '{"id":"r-9","id":"r-10","asset":"ATOM","amount":"5"}')).detail).toMatch(/duplicate key "id"/);
  });

  it('accepts the same key in sibling objects and a key spelled like one inside a string', async () => {
    const res = await post(api, '/v1/balance-changes', {
      changes: [change({ id: 'sib-1', user: 'bob "delta":' }), change({ id: 'sib-2', user: 'bob "delta":', at: '2026-02-02T00:00:00Z' })],
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('echoes a bad value truncated, never whole', async () => {
    const long = 'x'.repeat(100_000);
    for (const field of ['delta', 'at', 'asset']) {
      const problem = await refused('/v1/balance-changes', changes(change({ [field]: long })));
      expect(JSON.stringify(problem).length, field).toBeLessThan(2_000);
      expect(messages(problem)).toMatch(/x…/);
    }
    const named = await refused('/v1/balance-changes', changes({ ...change(), [long]: 1 }));
    expect(JSON.stringify(named).length).toBeLessThan(2_000);
  });
});
