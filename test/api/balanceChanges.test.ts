import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPool } from '../../src/ledger/db.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/wait.js';
import { auth, changeCount, post, startApi, TOKEN, type Api } from './harness.js';

let db: TestDatabase;
let api: Api;

beforeAll(async () => {
  db = await freshDatabase();
  api = await startApi(db, { api: { bodyLimitBytes: 64 * 1024 } });
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

const change = (id: string, user: string, delta: string, at = '2026-01-01T00:00:00Z') => ({ id, user, asset: 'ATOM', delta, at });

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path?: string; index?: number; id?: string; message: string }[];
  ids?: string[];
}

/** Posts, expects a problem with `status`, and checks nothing was written. */
async function expectProblem(body: unknown, status: number, headers: Record<string, string> = auth): Promise<ProblemBody> {
  const before = await changeCount(db.pool);
  const res = await post(api, '/v1/balance-changes', body, headers);
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(await changeCount(db.pool)).toBe(before);
  const problem = res.json<ProblemBody>();
  expect(problem.status).toBe(status);
  return problem;
}

describe('authentication', () => {
  it('refuses a request without a token with 401 and a Bearer challenge', async () => {
    const res = await post(api, '/v1/balance-changes', { changes: [change('a1', 'alice', '100')] }, {});
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="softstake"');
    expect(res.json()).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect(await changeCount(db.pool)).toBe(0);
  });

  it('refuses a wrong token, one of another length, and another scheme', async () => {
    for (const header of [`Bearer ${TOKEN.slice(0, -1)}x`, 'Bearer short', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN]) {
      const res = await post(api, '/v1/balance-changes', { changes: [change('a1', 'alice', '100')] }, { authorization: header });
      expect(res.statusCode, header).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="softstake"/);
    }
    expect(await changeCount(db.pool)).toBe(0);
  });

  it('asks for the token before telling whether a /v1 route exists', async () => {
    const res = await api.server.inject({ method: 'GET', url: '/v1/no-such-thing' });
    expect(res.statusCode).toBe(401);
    const known = await api.server.inject({ method: 'GET', url: '/v1/no-such-thing', headers: auth });
    expect(known.statusCode).toBe(404);
    expect(known.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('never logs the Authorization header or the body', async () => {
    await post(api, '/v1/balance-changes', { changes: [change('log-probe', 'secret-user', '1')] });
    const text = JSON.stringify(api.logs);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('secret-user');
    expect(api.logs.some((l) => l.msg === 'request completed' && l.level === 30)).toBe(true);
  });
});

describe('malformed requests', () => {
  it('400 naming `changes` when it is missing, empty or not a list', async () => {
    for (const body of [{}, { changes: [] }, { changes: 'x' }, { change: [] }]) {
      const problem = await expectProblem(body, 400);
      expect(problem.errors?.map((e) => e.path)).toContain(Object.keys(body)[0] === 'change' ? '(body)' : 'changes');
    }
  });

  it('400 naming the record index and field for a bad delta and a bad at', async () => {
    const problem = await expectProblem(
      {
        changes: [
          change('ok-1', 'alice', '100'),
          change('bad-delta', 'alice', '1.5'),
          change('bad-at', 'bob', '7', '2026-01-01 00:00'),
          { ...change('bad-num', 'carol', '1'), delta: 5 },
          'not an object',
        ],
      },
      400,
    );
    expect(problem.errors).toEqual([
      expect.objectContaining({ index: 1, id: 'bad-delta', path: 'changes.1.delta', message: expect.stringMatching(/^delta: /) }),
      expect.objectContaining({ index: 2, id: 'bad-at', path: 'changes.2.at', message: expect.stringMatching(/^at: /) }),
      expect.objectContaining({ index: 3, id: 'bad-num', path: 'changes.3.delta' }),
      expect.objectContaining({ index: 4, path: 'changes.4', message: 'expected an object with id, user, asset, delta, at' }),
    ]);
    expect(problem.detail).toMatch(/nothing was written/);
  });

  it('400 naming the limit for more than 10,000 changes', async () => {
    const changes = Array.from({ length: 10_001 }, (_, i) => change(`many-${i}`, 'alice', '1'));
    const before = await changeCount(db.pool);
    const big = await startApi(db, { api: { bodyLimitBytes: 4 * 1024 * 1024 } });
    try {
      const res = await post(big, '/v1/balance-changes', { changes });
      expect(res.statusCode).toBe(400);
      expect(res.json<ProblemBody>().errors).toEqual([{ path: 'changes', message: 'at most 10000 changes per request; split the batch' }]);
    } finally {
      await big.close({ obliterate: true });
    }
    expect(await changeCount(db.pool)).toBe(before);
  });

  it('400 for malformed JSON or a text body, 415 for another media type', async () => {
    const res = await api.server.inject({ method: 'POST', url: '/v1/balance-changes', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"changes": [' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const text = await api.server.inject({ method: 'POST', url: '/v1/balance-changes', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hi' });
    expect(text.statusCode).toBe(400);
    expect(text.json<ProblemBody>().errors).toEqual([{ path: '(body)', message: expect.stringMatching(/^expected a JSON object/) }]);
    const xml = await api.server.inject({ method: 'POST', url: '/v1/balance-changes', headers: { ...auth, 'content-type': 'application/xml' }, payload: '<x/>' });
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toMatchObject({ status: 415 });
  });

  it('413 for a body over the configured limit', async () => {
    const changes = Array.from({ length: 1_000 }, (_, i) => change(`limit-${i}`, 'alice', '1'));
    const problem = await expectProblem({ changes }, 413);
    expect(problem.detail).toContain('65536 bytes');
  });
});

describe('applying batches', () => {
  it('applies a good batch, then reports the same batch again as duplicates', async () => {
    const batch = { changes: [change('dep-1', 'alice', '1000'), change('dep-2', 'bob', '500'), change('wd-1', 'alice', '-200', '2026-01-01T01:00:00Z')] };
    const before = await changeCount(db.pool);
    const first = await post(api, '/v1/balance-changes', batch);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: 3, inserted: 3, duplicates: 0 });
    const again = await post(api, '/v1/balance-changes', batch);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ received: 3, inserted: 0, duplicates: 3 });
    expect(await changeCount(db.pool)).toBe(before + 3);
  });

  it('409 naming the ids reused with other content, stored or within the batch', async () => {
    const stored = await expectProblem({ changes: [change('dep-1', 'alice', '999'), change('fresh-1', 'carol', '5')] }, 409);
    expect(stored.ids).toEqual(['dep-1']);
    expect(stored.detail).toContain('"dep-1"');
    expect(stored.errors).toEqual([expect.objectContaining({ index: 0, id: 'dep-1', message: expect.stringMatching(/already recorded with other content/) })]);

    const twice = await expectProblem({ changes: [change('twin', 'carol', '5'), change('twin', 'carol', '6')] }, 409);
    expect(twice.ids).toEqual(['twin']);
    expect(twice.errors?.[0]).toMatchObject({ index: 1, id: 'twin' });
  });

  it('400 for a ledger rule break (a balance below 0), writing nothing', async () => {
    const problem = await expectProblem({ changes: [change('ok-2', 'dave', '10', '2026-01-02T00:00:00Z'), change('over', 'dave', '-11', '2026-01-02T00:00:00Z')] }, 400);
    expect(problem.type).toBe('urn:softstake:problem:ledger-refused');
    expect(problem.errors).toEqual([expect.objectContaining({ index: 1, id: 'over', path: 'changes.1', message: expect.stringMatching(/below 0/) })]);
  });

  it('400 naming each record, not 500, when its amount could overflow the ledger\'s 78-digit sums', async () => {
    const max = '9'.repeat(78);
    const problem = await expectProblem({ changes: [change('big-1', 'whale', max), change('big-2', 'whale', max)] }, 400);
    expect(problem.errors).toEqual([
      expect.objectContaining({ index: 0, path: 'changes.0.delta', message: expect.stringMatching(/at most 60 digits/) }),
      expect.objectContaining({ index: 1, path: 'changes.1.delta', message: expect.stringMatching(/at most 60 digits/) }),
    ]);
  });
});

describe('a concurrent writer of the same ids', () => {
  it('the request waits for the asset lock and then hears that the change is stored (200, a duplicate)', async () => {
    const record = change('race-1', 'frank', '42', '2026-01-03T00:00:00Z');
    const other = await db.pool.connect();
    try {
      // Another importer holds the asset lock and is about to store race-1.
      await other.query('BEGIN');
      await other.query("SELECT 1 FROM ledger_assets WHERE symbol = 'ATOM' FOR UPDATE");
      const pending = post(api, '/v1/balance-changes', { changes: [record] });
      await until(async () => {
        const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        return rows[0]!.n > 0;
      }, 'the request waits for the asset lock', 5_000, 20);
      await other.query("INSERT INTO balance_changes (id, asset, user_id, delta, at) VALUES ('race-1', 'ATOM', 'frank', 42, $1)", [Date.parse(record.at)]);
      await other.query("INSERT INTO balances (asset, user_id, amount, last_change_at) VALUES ('ATOM', 'frank', 42, $1)", [Date.parse(record.at)]);
      await other.query('COMMIT');
      const res = await pending;
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ received: 1, inserted: 0, duplicates: 1 });
    } finally {
      other.release();
    }
  });
});

describe('unexpected errors', () => {
  it('answers 500 without a stack or an internal message, and logs the stack', async () => {
    const dropped = createPool({ url: db.url, max: 1 });
    await dropped.end();
    const broken = await startApi(db, { pool: dropped });
    try {
      const res = await post(broken, '/v1/balance-changes', { changes: [change('x-1', 'eve', '1')] });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ type: 'about:blank', title: 'Internal Server Error', status: 500 });
      expect(res.body).not.toMatch(/pool|at .*\.ts/i);
      const logged = broken.logs.find((l) => l.msg === 'unexpected error' && l.level === 50) as { err?: { stack?: string } } | undefined;
      expect(logged?.err?.stack).toMatch(/pool/i);
    } finally {
      await broken.close({ obliterate: true });
    }
  });
});
