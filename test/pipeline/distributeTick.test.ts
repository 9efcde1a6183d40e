/**
 * A distribute job closes a period only at a scheduled tick of its asset's
 * cron, however the job was added: by the scheduler, by hand with a
 * `periodEnd`, by "run now" on a scheduler (no scheduled time: its period
 * end would be the moment of the click), or with an asset name that only
 * exists on Object.prototype. Everything else fails at once, writing nothing.
 */
import { QueueEvents, type Job } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { openQueues, redisConnection, type Queues } from '../../src/pipeline/queues.js';
import { startWorkers, type Workers } from '../../src/pipeline/worker.js';
import { testConfig } from '../api/harness.js';
import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let queues: Queues;
let workers: Workers;
let events: QueueEvents;
const NOW = ms('2026-03-10T12:00:00Z');

beforeAll(async () => {
  db = await freshDatabase();
  const config = { ...testConfig(db), assets: { ATOM: atom({ distribution: { schedule: '0 0 * * *', timezone: 'UTC' } }) }, worker: { lockDurationMs: 30_000, attempts: 3, backoffMs: 100, shutdownTimeoutMs: 5_000 } };
  await applyBalanceChanges(db.pool, [{ line: 1, record: { id: 'd1', user: 'alice', asset: 'ATOM', delta: '1000', at: '2026-03-01T00:00:00Z' } }], { assets: new Set(['ATOM']), window: { now: NOW } });
  queues = openQueues(config);
  workers = await startWorkers({ config, pool: db.pool, adapters: new Map(), logger: pino({ level: 'silent' }), now: () => NOW }, queues);
  events = new QueueEvents(queues.distribute.name, { connection: redisConnection(config.redis.url), prefix: config.redis.prefix });
  await events.waitUntilReady();
});
afterAll(async () => {
  await workers?.close(5_000);
  await events?.close();
  if (queues) {
    await Promise.all(queues.all().map((q) => q.obliterate({ force: true })));
    await queues.close();
  }
  await db?.drop();
});

async function settle(job: Job): Promise<{ state: string; reason: string; attempts: number }> {
  await job.waitUntilFinished(events).catch(() => {});
  const fresh = (await queues.distribute.getJob(job.id!))!;
  return { state: await fresh.getState(), reason: fresh.failedReason ?? '', attempts: fresh.attemptsMade };
}

const distributions = async () => (await db.pool.query<{ id: string }>('SELECT id FROM distributions ORDER BY period_end')).rows.map((r) => r.id);

describe('distribute jobs', () => {
  it('refuses a period end that is not a tick of the schedule, at once and writing nothing', async () => {
    const job = await queues.distribute.add('distribute', { asset: 'ATOM', periodEnd: ms('2026-03-05T13:37:00Z') });
    const outcome = await settle(job);
    expect(outcome.state).toBe('failed');
    expect(outcome.attempts).toBe(1);
    expect(outcome.reason).toMatch(/2026-03-05T13:37:00\.000Z is not a scheduled tick of ATOM's distribution schedule \(0 0 \* \* \* UTC\)/);
    expect(await distributions()).toEqual([]);
  });

  it('refuses a job without a scheduled time (a scheduler "run now"): its period end would be the click', async () => {
    const job = await queues.distribute.add('distribute', { asset: 'ATOM' });
    const outcome = await settle(job);
    expect(outcome.state).toBe('failed');
    expect(outcome.reason).toMatch(/is not a scheduled tick/);
    expect(await distributions()).toEqual([]);
  });

  it('refuses an asset that only Object.prototype has', async () => {
    for (const asset of ['constructor', 'toString']) {
      const outcome = await settle(await queues.distribute.add('distribute', { asset, periodEnd: ms('2026-03-05T00:00:00Z') }));
      expect(outcome.state, asset).toBe('failed');
      expect(outcome.reason).toMatch(/not in the config/);
    }
  });

  it('a tick before the first balance change completes with nothing to do (seen in the soak: a tick run late after Redis was flushed)', async () => {
    const job = await queues.distribute.add('distribute', { asset: 'ATOM', periodEnd: ms('2026-02-28T00:00:00Z') });
    const outcome = await settle(job);
    expect(outcome.state, outcome.reason).toBe('completed');
    expect((await queues.distribute.getJob(job.id!))!.returnvalue).toMatchObject({ distributions: [], waiting: true });
    expect(await distributions()).toEqual([]);
  });

  it('closes the period at a tick', async () => {
    const outcome = await settle(await queues.distribute.add('distribute', { asset: 'ATOM', periodEnd: ms('2026-03-05T00:00:00Z') }));
    expect(outcome.state, outcome.reason).toBe('completed');
    expect(await distributions()).toEqual(['ATOM:2026-03-05T00:00:00.000Z']);
  });
});
