/**
 * A claim the chain accepts only later (TRON: one WithdrawBalance per 24 h)
 * gets a harvest job of its own at that moment when the regular schedule
 * would come later; every worker that learns of it adds it once. Real Redis.
 */
import { randomBytes } from 'node:crypto';

import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';

import type { SoftstakeConfig } from '../../src/config/index.js';
import type { PipelineContext } from '../../src/pipeline/context.js';
import { redisConnection } from '../../src/pipeline/queues.js';
import { harvestWhenDue } from '../../src/pipeline/worker.js';

const NOW = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const prefix = `t${randomBytes(4).toString('hex')}`;
const queue = new Queue('chain-tron', { connection: redisConnection('redis://127.0.0.1:6379'), prefix });

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
});

const ctx = {
  config: { chains: { tron: { intervals: { harvestMs: HOUR } } } } as unknown as SoftstakeConfig,
  logger: pino({ level: 'silent' }),
  now: () => NOW,
} as PipelineContext;

describe('a claim due later', () => {
  it('before the next regular harvest: one delayed harvest at its time, however many workers add it', async () => {
    await harvestWhenDue(ctx, queue, 'tron', NOW + 20 * 60_000);
    await harvestWhenDue(ctx, queue, 'tron', NOW + 20 * 60_000);
    const delayed = await queue.getDelayed();
    expect(delayed.map((j) => [j.name, j.data, j.opts.delay])).toEqual([['harvest', { chain: 'tron' }, 20 * 60_000]]);
  });

  it('after the next regular harvest, or none due: nothing extra', async () => {
    await harvestWhenDue(ctx, queue, 'tron', NOW + 2 * HOUR);
    await harvestWhenDue(ctx, queue, 'tron', undefined);
    expect(await queue.getDelayedCount()).toBe(1);
  });
});
