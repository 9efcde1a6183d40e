/**
 * Retries that tell the truth: the same batch sent by several clients at
 * once is applied once and every client hears that it is stored (one
 * `inserted`, the others `duplicates`); batches reusing the same ids with
 * other content get exactly one 200 and a 409 naming the ids for the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { changeCount, post, startApi, type Api } from './harness.js';

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

const CLIENTS = 8;

/** A batch where each user has several changes in time order: a stale view of the ledger would call them older than the stored ones. */
function batch(tag: string, delta = '10') {
  const changes = [];
  for (let u = 0; u < 20; u += 1) {
    for (let k = 0; k < 3; k += 1) {
      changes.push({ id: `${tag}-${u}-${k}`, user: `${tag}-user-${u}`, asset: 'ATOM', delta, at: `2026-01-0${k + 1}T00:00:00Z` });
    }
  }
  return { changes };
}

describe('the same batch from 8 clients at once', () => {
  it('every client gets 200: one inserted everything, the others were told it is all there', async () => {
    const body = batch('same');
    const answers = await Promise.all(Array.from({ length: CLIENTS }, () => post(api, '/v1/balance-changes', body)));
    for (const res of answers) expect(res.statusCode, res.body).toBe(200);
    const results = answers.map((r) => r.json<{ received: number; inserted: number; duplicates: number }>());
    expect(results.filter((r) => r.inserted === 60 && r.duplicates === 0)).toHaveLength(1);
    expect(results.filter((r) => r.inserted === 0 && r.duplicates === 60)).toHaveLength(CLIENTS - 1);
    expect(await changeCount(db.pool)).toBe(60);
    const { rows } = await db.pool.query<{ n: number; total: string }>("SELECT count(*)::int AS n, sum(amount)::text AS total FROM balances WHERE user_id LIKE 'same-%'");
    expect(rows[0]).toEqual({ n: 20, total: '600' });
  });
});

describe('conflicting batches from 8 clients at once', () => {
  it('exactly one 200; every other client gets a 409 naming the ids', async () => {
    const before = await changeCount(db.pool);
    const bodies = Array.from({ length: CLIENTS }, (_, i) => batch('clash', String(i + 1)));
    const answers = await Promise.all(bodies.map((body) => post(api, '/v1/balance-changes', body)));
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, ...Array<number>(CLIENTS - 1).fill(409)]);
    for (const res of answers.filter((r) => r.statusCode === 409)) {
      const problem = res.json<{ ids: string[]; detail: string }>();
      expect(problem.ids).toHaveLength(60);
      expect(problem.ids).toContain('clash-0-0');
      expect(problem.detail).toMatch(/already used with other content/);
    }
    expect(await changeCount(db.pool)).toBe(before + 60);
  });
});
