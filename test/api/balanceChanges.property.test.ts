import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect } from 'vitest';

import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { auth, changeCount, startApi, type Api } from './harness.js';

// Whatever a client sends to POST /v1/balance-changes, the server answers
// with a client error or applies the batch: never a 500, and a refusal
// never leaves a row behind.

let db: TestDatabase;
let api: Api;

beforeAll(async () => {
  db = await freshDatabase();
  api = await startApi(db);
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

const MAX = '9'.repeat(78);
const junk = fc.jsonValue({ maxDepth: 2 });

// Before the machine's clock (changes further than the clock skew into the future are refused).
const plausibleAt = fc.integer({ min: 0, max: 400_000 }).map((minutes) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString());

/** Field values: mostly plausible (so batches often pass), sometimes wrong in type or content. */
const field = {
  id: fc.oneof(
    { weight: 10, arbitrary: fc.stringMatching(/^[a-z0-9]{12}$/) },
    { weight: 2, arbitrary: fc.constantFrom('c1', 'c2', 'c3') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
    { weight: 1, arbitrary: junk },
  ),
  user: fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => `user-${n}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    { weight: 1, arbitrary: junk },
  ),
  asset: fc.oneof({ weight: 10, arbitrary: fc.constant('ATOM') }, { weight: 1, arbitrary: fc.constantFrom('DOT', 'atom', '') }, { weight: 1, arbitrary: junk }),
  delta: fc.oneof(
    { weight: 10, arbitrary: fc.bigInt({ min: -1_000n, max: 1_000_000n }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom(MAX, `-${MAX}`, `1${MAX}`, '-0', '01', '1.5', '1e3', ' 1', '') },
    { weight: 1, arbitrary: fc.integer().map((n) => n as unknown) },
    { weight: 1, arbitrary: junk },
  ),
  at: fc.oneof(
    { weight: 10, arbitrary: plausibleAt },
    { weight: 1, arbitrary: fc.date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') }).map((d) => d.toISOString()) },
    { weight: 1, arbitrary: fc.constantFrom('2026-02-30T00:00:00Z', '2026-01-01', '2026-01-01T00:00:00', 'yesterday') },
    { weight: 1, arbitrary: junk },
  ),
};

const record = fc.oneof(
  { weight: 12, arbitrary: fc.record(field) },
  { weight: 1, arbitrary: fc.record(field, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.tuple(fc.record(field), fc.dictionary(fc.string({ maxLength: 6 }), junk, { maxKeys: 2 })).map(([r, extra]) => ({ ...extra, ...r })) },
  { weight: 1, arbitrary: junk },
);

const body = fc.oneof(
  { weight: 6, arbitrary: fc.record({ changes: fc.array(record, { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ changes: junk }) },
  { weight: 1, arbitrary: fc.record({ changes: fc.array(record, { maxLength: 3 }), other: junk }) },
  { weight: 1, arbitrary: junk },
);

async function send(payload: string) {
  const before = await changeCount(db.pool);
  const res = await api.server.inject({ method: 'POST', url: '/v1/balance-changes', headers: { ...auth, 'content-type': 'application/json' }, payload });
  const after = await changeCount(db.pool);
  expect(res.statusCode, `${res.statusCode} ${res.body.slice(0, 300)}\nfor ${payload.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode === 200) {
    expect(after - before).toBe(res.json<{ inserted: number }>().inserted);
  } else {
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(after, 'a refused request wrote rows').toBe(before);
  }
  return res.statusCode;
}

describe('POST /v1/balance-changes under fuzzing', () => {
  const seen = new Set<number>();

  test.prop([body], { numRuns: 1000 })('answers every JSON body with a 2xx or a 4xx problem, and a refusal writes nothing', async (value) => {
    seen.add(await send(JSON.stringify(value)));
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 200 })], { numRuns: 50 })('refuses text that is not JSON with a 400', async (text) => {
    let json = true;
    try {
      JSON.parse(text);
    } catch {
      json = false;
    }
    const status = await send(text);
    if (!json) expect(status).toBe(400);
  });

  test('the fuzzer reached both outcomes', () => {
    // A generator that only ever produced refusals would prove little.
    expect(seen.has(200)).toBe(true);
    expect(seen.has(400)).toBe(true);
  });
});
