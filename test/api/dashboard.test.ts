import { QueueEvents, Worker, type Job, type Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisConnection } from '../../src/pipeline/queues.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { chainConfig, DASHBOARD, REDIS_URL as REDIS, startApi, type Api } from './harness.js';

let db: TestDatabase;
let api: Api;

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const operator = basic(DASHBOARD.user, DASHBOARD.password);

beforeAll(async () => {
  db = await freshDatabase();
  api = await startApi(db, { chains: { 'cosmos-test': chainConfig('cosmos-test', 'ATOM') } });
});
afterAll(async () => {
  await api?.close({ obliterate: true });
  await db?.drop();
});

describe('basic auth', () => {
  const urls = ['/admin/queues', '/admin/queues/', '/admin/queues/queue/distribute', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png'];

  it('401 with a Basic challenge without credentials or with wrong ones, on every dashboard route', async () => {
    for (const url of urls) {
      for (const headers of [{}, basic(DASHBOARD.user, 'wrong'), basic('someone', DASHBOARD.password), basic(DASHBOARD.user, `${DASHBOARD.password}x`), { authorization: 'Bearer x' }]) {
        const res = await api.server.inject({ url, headers });
        expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm="softstake"/);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
    const put = await api.server.inject({ method: 'PUT', url: '/admin/queues/api/queues/distribute/empty' });
    expect(put.statusCode).toBe(401);
  });

  it('200 with the operator credentials: the page, its assets, and the JSON API listing every queue', async () => {
    for (const url of ['/admin/queues', '/admin/queues/static/favicon-32x32.png']) {
      const res = await api.server.inject({ url, headers: operator });
      expect(res.statusCode, url).toBe(200);
    }
    const page = await api.server.inject({ url: '/admin/queues', headers: operator });
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<base href="/admin/queues/" />');
    // The page's own script loads with the credentials, and only with them.
    const script = /src="(static\/js\/main[^"]+)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    expect((await api.server.inject({ url: `/admin/queues/${script}`, headers: operator })).statusCode).toBe(200);
    expect((await api.server.inject({ url: `/admin/queues/${script}` })).statusCode).toBe(401);

    const list = await api.server.inject({ url: '/admin/queues/api/queues', headers: operator });
    expect(list.statusCode).toBe(200);
    const queues = list.json<{ queues: { name: string; allowRetries: boolean; allowCompletedRetries: boolean; readOnlyMode: boolean }[] }>().queues;
    expect(queues.map((q) => q.name).sort()).toEqual(['chain-cosmos-test', 'distribute']);
    // Read-only by default: the UI offers no action at all.
    for (const q of queues) expect(q).toMatchObject({ readOnlyMode: true, allowRetries: false, allowCompletedRetries: false });
  });
});

/** Runs one job to completion (or failure) on `queue` with a worker of the test's own. */
async function runJob(queue: Queue, name: string, data: Record<string, unknown>, fail: boolean): Promise<Job> {
  const connection = redisConnection(REDIS);
  const prefix = queue.opts.prefix!;
  const events = new QueueEvents(queue.name, { connection, prefix });
  await events.waitUntilReady();
  const worker = new Worker(
    queue.name,
    async () => {
      // Where a real failure's stack would point: a file of the deployment.
      if (fail) throw new Error('GET https://rpc.example/v2/API-KEY-123 failed');
      return 'done';
    },
    { connection, prefix, concurrency: 1 },
  );
  try {
    const job = await queue.add(name, data, { attempts: 1 });
    await job.waitUntilFinished(events).catch(() => {});
    return job;
  } finally {
    await worker.close();
    await events.close();
  }
}

describe('read-only by default', () => {
  /** Every change bull-board's UI can send, with a body it would send. */
  const changes: [method: 'PUT' | 'POST' | 'PATCH', path: string, body?: unknown][] = [
    ['POST', '/api/queues/distribute/add', { name: 'distribute', data: { asset: 'ATOM', periodEnd: Date.now() } }],
    ['PUT', '/api/queues/distribute/job-schedulers/distribute:ATOM/run'],
    ['PATCH', '/api/queues/distribute/job-schedulers/distribute:ATOM', { pattern: '* * * * * *' }],
    ['PUT', '/api/queues/distribute/job-schedulers/distribute:ATOM/remove'],
    ['PUT', '/api/queues/chain-cosmos-test/concurrency', { concurrency: 50 }],
    ['PUT', '/api/queues/chain-cosmos-test/rate-limit', { max: 1, duration: 1000 }],
    ['PUT', '/api/queues/chain-cosmos-test/rate-limit/release'],
    ['PUT', '/api/queues/distribute/pause'],
    ['PUT', '/api/queues/distribute/resume'],
    ['PUT', '/api/queues/pause'],
    ['PUT', '/api/queues/resume'],
    ['PUT', '/api/queues/distribute/empty'],
    ['PUT', '/api/queues/distribute/obliterate', {}],
    ['PUT', '/api/queues/distribute/clean/failed'],
    ['PUT', '/api/queues/distribute/retry/failed'],
    ['PUT', '/api/queues/distribute/promote'],
    ['PUT', '/api/queues/distribute/JOB/retry'],
    ['PUT', '/api/queues/distribute/JOB/clean'],
    ['PUT', '/api/queues/distribute/JOB/promote'],
    ['PATCH', '/api/queues/distribute/JOB/update-data', { data: { asset: 'ATOM', periodEnd: 1 } }],
    ['PATCH', '/api/queues/distribute/JOB/delay', { delay: 0 }],
    ['PATCH', '/api/queues/distribute/JOB/priority', { priority: 1 }],
    ['PUT', '/api/queues/distribute/JOB/remove-unprocessed-children'],
  ];

  it('refuses every change the UI can send with a 403 problem, and nothing changes', async () => {
    const queue = api.queues.distribute;
    await queue.upsertJobScheduler('distribute:ATOM', { pattern: '0 0 * * *', tz: 'UTC' }, { name: 'distribute', data: { asset: 'ATOM' } });
    const failed = await runJob(queue, 'distribute', { asset: 'ATOM' }, true);
    const delayed = await queue.add('distribute', { asset: 'ATOM' }, { delay: 3_600_000 });
    const chain = api.queues.chains.get('cosmos-test')!;
    await chain.setGlobalConcurrency(1);
    const before = { counts: await queue.getJobCounts(), schedulers: await queue.getJobSchedulers(), concurrency: await chain.getGlobalConcurrency() };

    for (const [method, path, body] of changes) {
      for (const id of path.includes('JOB') ? [failed.id!, delayed.id!] : ['-']) {
        const url = `/admin/queues${path.replace('JOB', id)}`;
        const res = await api.server.inject({ method, url, headers: { ...operator, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) });
        expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json<{ detail: string }>().detail).toMatch(/allows: none \(the dashboard is read-only\)/);
      }
    }
    expect({ counts: await queue.getJobCounts(), schedulers: await queue.getJobSchedulers(), concurrency: await chain.getGlobalConcurrency() }).toEqual(before);
    expect(await queue.isPaused()).toBe(false);
    await queue.removeJobScheduler('distribute:ATOM');
    await delayed.remove();
  });

  it('shows a failed job\'s error without its stack, and endpoint URLs cut to scheme, host and port', async () => {
    const job = await runJob(api.queues.distribute, 'distribute', { asset: 'ATOM' }, true);
    const res = await api.server.inject({ url: '/admin/queues/api/queues?activeQueue=distribute&status=failed&page=1', headers: operator });
    expect(res.statusCode).toBe(200);
    const shown = res.json<{ queues: { name: string; jobs: { id: string; failedReason: string; stacktrace: string[] }[] }[] }>().queues.find((q) => q.name === 'distribute')!.jobs.find((j) => j.id === job.id)!;
    expect(shown.failedReason).toBe('GET https://rpc.example failed');
    expect(shown.stacktrace).toEqual([]);
    expect(res.body).not.toMatch(/API-KEY|\.ts:\d|\/test\/|node_modules/);
    const one = await api.server.inject({ url: `/admin/queues/api/queues/distribute/${job.id}`, headers: operator });
    expect(one.body).not.toMatch(/API-KEY|\.ts:\d|node_modules/);
  });

  it('sends a Content-Security-Policy that forbids framing', async () => {
    for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await api.server.inject({ url, headers: operator });
      expect(res.headers['content-security-policy'], url).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });
});

describe('actions an operator turns on', () => {
  it('retry-failed-poll: a failed poll may be retried; a failed distribution, a completed poll and bulk retries may not', async () => {
    const withPoll = await startApi(db, { chains: { 'cosmos-test': chainConfig('cosmos-test', 'ATOM') }, api: { dashboard: { ...DASHBOARD, actions: ['retry-failed-poll'] } } });
    try {
      const chain = withPoll.queues.chains.get('cosmos-test')!;
      const list = await withPoll.server.inject({ url: '/admin/queues/api/queues', headers: operator });
      const flags = Object.fromEntries(list.json<{ queues: { name: string; readOnlyMode: boolean }[] }>().queues.map((q) => [q.name, q.readOnlyMode]));
      expect(flags).toEqual({ 'chain-cosmos-test': false, distribute: true });

      const poll = await runJob(chain, 'poll', { chain: 'cosmos-test' }, true);
      const retried = await withPoll.server.inject({ method: 'PUT', url: `/admin/queues/api/queues/chain-cosmos-test/${poll.id}/retry`, headers: operator });
      expect(retried.statusCode, retried.body).toBe(204);
      expect(await chain.getJobState(poll.id!)).toBe('waiting');

      const harvest = await runJob(chain, 'harvest', { chain: 'cosmos-test' }, true);
      const distribution = await runJob(withPoll.queues.distribute, 'distribute', { asset: 'ATOM' }, true);
      const done = await runJob(chain, 'poll', { chain: 'cosmos-test' }, false);
      for (const [queue, job] of [['chain-cosmos-test', harvest], ['distribute', distribution], ['chain-cosmos-test', done]] as const) {
        const res = await withPoll.server.inject({ method: 'PUT', url: `/admin/queues/api/queues/${queue}/${job.id}/retry`, headers: operator });
        expect(res.statusCode, `${job.name}: ${res.body}`).toBe(403);
      }
      const bulk = await withPoll.server.inject({ method: 'PUT', url: '/admin/queues/api/queues/chain-cosmos-test/retry/failed', headers: operator });
      expect(bulk.statusCode).toBe(403);
      expect(await chain.getJobState(harvest.id!)).toBe('failed');
    } finally {
      await withPoll.close({ obliterate: true });
    }
  });

  it('retry-failed: any failed job may be retried, a completed one never', async () => {
    const withRetry = await startApi(db, { api: { dashboard: { ...DASHBOARD, actions: ['retry-failed'] } } });
    try {
      const queue = withRetry.queues.distribute;
      const failed = await runJob(queue, 'distribute', { asset: 'ATOM' }, true);
      const res = await withRetry.server.inject({ method: 'PUT', url: `/admin/queues/api/queues/distribute/${failed.id}/retry`, headers: operator });
      expect(res.statusCode, res.body).toBe(204);
      expect(await queue.getJobState(failed.id!)).toBe('waiting');

      const completed = await runJob(queue, 'distribute', { asset: 'ATOM' }, false);
      const again = await withRetry.server.inject({ method: 'PUT', url: `/admin/queues/api/queues/distribute/${completed.id}/retry`, headers: operator });
      expect(again.statusCode).toBe(403);
      const all = await withRetry.server.inject({ method: 'PUT', url: '/admin/queues/api/queues/distribute/retry/completed', headers: operator });
      expect(all.statusCode).toBe(403);
      expect(await queue.getJobState(completed.id!)).toBe('completed');
    } finally {
      await withRetry.close({ obliterate: true });
    }
  });
});
