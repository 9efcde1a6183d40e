import { QueueEvents, Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisConnection } from '../../src/pipeline/queues.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { chainConfig, DASHBOARD, startApi, type Api } from './harness.js';

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
    for (const q of queues) expect(q).toMatchObject({ readOnlyMode: false, allowRetries: true, allowCompletedRetries: false });
  });
});

describe('money jobs', () => {
  /** Runs one job of the distribute queue to completion (or failure) with a worker of the test's own. */
  async function runJob(fail: boolean): Promise<Job> {
    const queue = api.queues.distribute;
    const connection = redisConnection(api.config.redis.url);
    const prefix = queue.opts.prefix!;
    const events = new QueueEvents(queue.name, { connection, prefix });
    await events.waitUntilReady();
    const worker = new Worker(
      queue.name,
      async () => {
        if (fail) throw new Error('boom');
        return 'done';
      },
      { connection, prefix, concurrency: 1 },
    );
    try {
      const job = await queue.add('distribute', { asset: 'ATOM' }, { attempts: 1 });
      await job.waitUntilFinished(events).catch(() => {});
      return job;
    } finally {
      await worker.close();
      await events.close();
    }
  }

  it('refuses to run a completed job again, one by one or all at once', async () => {
    const job = await runJob(false);
    expect(await job.getState()).toBe('completed');
    const one = await api.server.inject({ method: 'PUT', url: `/admin/queues/api/queues/distribute/${job.id}/retry`, headers: operator });
    expect(one.statusCode).toBe(405);
    const all = await api.server.inject({ method: 'PUT', url: '/admin/queues/api/queues/distribute/retry/completed', headers: operator });
    expect(all.statusCode).toBe(405);
    expect(await api.queues.distribute.getJobState(job.id!)).toBe('completed');
  });

  it('lets the operator retry a failed job', async () => {
    const job = await runJob(true);
    expect(await job.getState()).toBe('failed');
    const res = await api.server.inject({ method: 'PUT', url: `/admin/queues/api/queues/distribute/${job.id}/retry`, headers: operator });
    expect(res.statusCode, res.body).toBe(204);
    expect(await api.queues.distribute.getJobState(job.id!)).toBe('waiting');
  });
});
