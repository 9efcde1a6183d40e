import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect } from 'vitest';

import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { propertyRuns } from '../helpers/runs.js';
import { auth, chainConfig, DASHBOARD, post, startApi, TOKEN, type Api } from './harness.js';

// Bad input at every /v1 door: whatever path segment, query string or body a
// client sends to any route, the answer is never a 500, never carries a
// stack trace or a secret, and a refused request writes nothing.

let db: TestDatabase;
let api: Api;

beforeAll(async () => {
  db = await freshDatabase();
  api = await startApi(db, { chains: { 'cosmoshub-devnet': chainConfig('cosmoshub-devnet', 'ATOM') } });
  // Something for the reading routes to find.
  const at = new Date(Date.now() - 3_600_000).toISOString();
  expect((await post(api, '/v1/balance-changes', { changes: [{ id: 'seed-1', user: 'alice', asset: 'ATOM', delta: '1000000', at }] })).statusCode).toBe(200);
  expect((await post(api, '/v1/reward-events', { id: 'seed-r1', asset: 'ATOM', amount: '5000', at })).statusCode).toBe(201);
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

/** Everything a request could write, in one row. */
async function written(): Promise<string> {
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM balance_changes) AS changes, (SELECT count(*) FROM balances) AS balances,
            (SELECT count(*) FROM reward_events) AS rewards, (SELECT count(*) FROM distributions) AS distributions,
            (SELECT count(*) FROM allocations) AS allocations, (SELECT count(*) FROM postings) AS postings,
            (SELECT count(*) FROM tx_intents) AS intents, (SELECT string_agg(coalesce(last_period_end::text, '-'), ',') FROM ledger_assets) AS periods`,
  );
  return JSON.stringify(rows[0]);
}

const SECRETS = [TOKEN, DASHBOARD.password];
const STACK = /\n\s+at |\.ts:\d+|node_modules|Error: .*\n/;

const junk = fc.jsonValue({ maxDepth: 2 });
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
const instantText = fc.oneof(
  fc.date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') }).map((d) => d.toISOString()),
  fc.constantFrom('2026-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-01-01', 'now', '', '-1', '1e99'),
);

/** A path segment: usually encoded as a client would, sometimes raw or badly encoded. */
const segment = fc.oneof(
  { weight: 4, arbitrary: text.map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom('alice', 'x'.repeat(300), '%', '%zz', '%E0%A4%A', '%00', '..', '%2F', 'a%20b') },
);

const queryValue = fc.oneof(
  fc.constantFrom('ATOM', 'atom', 'DOT', '1', '0', '1000', '1001', '-1', '1.5', 'true', 'false', 'signed', 'stuck', 'cosmoshub-devnet', ''),
  instantText,
  text,
);
const queryKey = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('asset', 'limit', 'before', 'chain', 'status', 'stuck') }, { weight: 1, arbitrary: text });
/** A query string: known and unknown keys, repeated keys, values of every kind; now and then a raw, badly encoded one. */
const query = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')) },
  { weight: 2, arbitrary: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 2 }).map((pairs) => ['asset=ATOM', ...pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)].join('&')) },
  { weight: 1, arbitrary: fc.constantFrom('limit', '=', '&&', 'asset=%', 'limit=%FF', 'a[b]=1', 'asset[]=ATOM', 'limit=1&limit=2') },
);

const amountText = fc.oneof(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String), fc.constantFrom('0', '-0', '01', '1.5', '', ' 1', '9'.repeat(90)));
const idText = fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,16}$/), text);
/** A value that is usually of the field's kind and sometimes anything at all. */
const or = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: plausible as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: junk as fc.Arbitrary<unknown> });
const asset = fc.constantFrom('ATOM', 'atom', 'DOT', '');

const bodies = {
  'reward-events': fc.oneof(
    fc.record({ id: or(idText), asset: or(asset), amount: or(amountText), at: or(instantText), source: or(fc.constantFrom('manual', 'x', '', '../etc')) }, { requiredKeys: [] }),
    // An event the ledger takes, so refusals are not all the fuzzer sees (every field must be right at once).
    fc.record({ id: fc.uuid(), asset: fc.constant('ATOM'), amount: fc.bigInt({ min: 1n, max: 10n ** 9n }).map(String), at: fc.constant(null).map(() => new Date(Date.now() - 1_000).toISOString()) }),
  ),
  distributions: fc.record({ asset: or(asset), periodEnd: or(instantText), dryRun: or(fc.boolean()) }, { requiredKeys: [] }),
  'balance-changes': fc.oneof(
    fc.record({
      changes: or(fc.array(fc.record({ id: or(idText), user: or(idText), asset: or(asset), delta: or(amountText), at: or(instantText) }, { requiredKeys: [] }), { maxLength: 3 })),
    }),
    // A batch the ledger takes, so refusals are not all the fuzzer sees.
    fc.record({
      changes: fc.array(
        fc.record({ id: fc.uuid(), user: fc.constantFrom('alice', 'bob'), asset: fc.constant('ATOM'), delta: fc.bigInt({ min: 1n, max: 10n ** 9n }).map(String), at: fc.constant(null).map(() => new Date().toISOString()) }),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  ),
};
/** A body: the route's fields with extra keys now and then, any JSON at all, or text that is not JSON. */
const body = (route: keyof typeof bodies) =>
  fc.oneof(
    { weight: 6, arbitrary: bodies[route].map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.tuple(bodies[route], fc.dictionary(fc.string({ maxLength: 6 }), junk, { maxKeys: 2 })).map(([b, extra]) => JSON.stringify({ ...extra, ...b })) },
    { weight: 1, arbitrary: junk.map((j) => JSON.stringify(j)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  );
/** The token, mostly right; sometimes wrong or missing (a 401 must not leak either). */
const token = fc.oneof({ weight: 8, arbitrary: fc.constant(auth) }, { weight: 1, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.constant({ authorization: `Bearer ${TOKEN}x` }) });

const statuses = new Map<string, Set<number>>();

async function send(route: string, method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: string): Promise<void> {
  const before = await written();
  const res = await api.server.inject({ method, url, headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload }) });
  const after = await written();
  const what = `${method} ${url.slice(0, 200)} ${payload?.slice(0, 200) ?? ''} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, what).toBeLessThan(500);
  expect(STACK.test(res.body), `a stack trace in ${what}`).toBe(false);
  for (const secret of SECRETS) expect(res.body.includes(secret), `a secret in ${what}`).toBe(false);
  if (res.statusCode >= 400) expect(after, `a refused request wrote: ${what}`).toBe(before);
  const seen = statuses.get(route) ?? new Set<number>();
  seen.add(res.statusCode);
  statuses.set(route, seen);
}

const RUNS = 200;

describe('every /v1 route under fuzzing', () => {
  const runs = propertyRuns();

  for (const route of ['balances', 'rewards'] as const) {
    test.prop([segment, query, token], { numRuns: RUNS })(`GET /v1/users/:id/${route}`, runs.count(RUNS, async (id, q, headers) => {
      await send(`users/${route}`, 'GET', `/v1/users/${id}/${route}${q === '' ? '' : `?${q}`}`, headers);
    }));
  }

  for (const route of ['assets', 'intents', 'distributions'] as const) {
    test.prop([query, token], { numRuns: RUNS })(`GET /v1/${route}`, runs.count(RUNS, async (q, headers) => {
      await send(route, 'GET', `/v1/${route}${q === '' ? '' : `?${q}`}`, headers);
    }));
  }

  // Balance changes before distributions: a distribution closes the period, and changes stamped before its end are refused from then on.
  for (const route of ['reward-events', 'balance-changes', 'distributions'] as const) {
    test.prop([body(route), query, token], { numRuns: RUNS })(`POST /v1/${route}`, runs.count(RUNS, async (payload, q, headers) => {
      await send(`POST ${route}`, 'POST', `/v1/${route}${q === '' ? '' : `?${q}`}`, headers, payload);
    }));
  }

  test.prop([segment, fc.constantFrom('GET', 'POST'), token], { numRuns: RUNS })('an unknown path or a wrong method', runs.count(RUNS, async (seg, method, headers) => {
    await send('unknown', method as 'GET' | 'POST', `/v1/${seg}`, headers, method === 'POST' ? '{}' : undefined);
  }));

  test('the fuzzers reached accepted and refused requests on every route', () => {
    for (const route of ['users/balances', 'users/rewards', 'assets', 'intents', 'distributions', 'POST reward-events', 'POST distributions', 'POST balance-changes']) {
      const seen = [...(statuses.get(route) ?? [])];
      expect(seen.some((s) => s < 300), `${route} accepted some: ${seen.join(',')}`).toBe(true);
      expect(seen.some((s) => s >= 400), `${route} refused some: ${seen.join(',')}`).toBe(true);
    }
  });
});
