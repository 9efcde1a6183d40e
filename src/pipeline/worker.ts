/**
 * The worker role: one BullMQ worker per chain queue and one for
 * distributions. Errors that a retry cannot fix (bad input, a rejected
 * transaction, an unknown chain) become `UnrecoverableError`, so BullMQ
 * fails the job at once instead of retrying it for hours; everything else is
 * retried with backoff.
 */
import { UnrecoverableError, Worker, type Job, type Processor, type Queue } from 'bullmq';

import { SoftstakeError } from '../errors.js';
import type { PipelineContext } from './context.js';
import { distributeAsset } from './jobs/distribute.js';
import { harvest } from './jobs/harvest.js';
import { poll } from './jobs/poll.js';
import { rebalance } from './jobs/rebalance.js';
import { DISTRIBUTE_QUEUE, chainQueueName, redisConnection, type ChainJobData, type DistributeJobData, type Queues } from './queues.js';

export interface Workers {
  workers: Worker[];
  /**
   * Stops taking jobs and waits for the active ones; after `timeoutMs` they
   * are released (their locks lapse and another worker takes them over).
   */
  close(timeoutMs: number): Promise<void>;
}

/** A job's failure, as BullMQ should treat it. */
export function asJobError(error: unknown): unknown {
  if (error instanceof SoftstakeError && !error.retryable) {
    return new UnrecoverableError(`${error.name}: ${error.message}`);
  }
  return error;
}

function guarded<D, R>(ctx: PipelineContext, run: (job: Job<D>) => Promise<R>): Processor<D, R> {
  return async (job) => {
    const started = performance.now();
    try {
      const result = await run(job);
      ctx.logger.debug({ queue: job.queueName, job: job.id, name: job.name, ms: Math.round(performance.now() - started) }, 'job done');
      return result;
    } catch (error) {
      const mapped = asJobError(error);
      ctx.logger.warn(
        { queue: job.queueName, job: job.id, name: job.name, attempt: job.attemptsMade + 1, retrying: !(mapped instanceof UnrecoverableError), err: (error as Error).message },
        'job failed',
      );
      throw mapped;
    }
  };
}

/**
 * A claim that had to wait (TRON's one WithdrawBalance per 24 h) gets a
 * harvest of its own at its time when the regular schedule would come
 * later; the job id is the moment, so every worker that sees it adds it once.
 */
export async function harvestWhenDue(ctx: PipelineContext, queue: Queue, chain: string, dueAt: number | undefined): Promise<void> {
  if (dueAt === undefined) return;
  const now = ctx.now();
  const interval = ctx.config.chains[chain]?.intervals.harvestMs ?? 0;
  if (dueAt >= now + interval) return;
  await queue.add('harvest', { chain }, { jobId: `harvest-due-${chain}-${dueAt}`, delay: Math.max(0, dueAt - now), removeOnComplete: true, removeOnFail: 100 });
}

export async function startWorkers(ctx: PipelineContext, queues: Queues): Promise<Workers> {
  const connection = redisConnection(ctx.config.redis.url);
  // A crashed worker's job counts against its chain's concurrency of 1
  // until it is found stalled: look as often as a lock lasts.
  const lockDuration = ctx.config.worker.lockDurationMs;
  const common = { connection, prefix: ctx.config.redis.prefix, concurrency: 1, lockDuration, stalledInterval: lockDuration, maxStalledCount: 2 };
  const workers: Worker[] = [];

  for (const [name, queue] of queues.chains) {
    // One job at a time per chain across every worker process: signing
    // needs the account's sequence number to itself.
    await queue.setGlobalConcurrency(1);
    const processor = guarded<ChainJobData, unknown>(ctx, async (job) => {
      const chain = job.data.chain;
      if (chain !== name || !ctx.adapters.has(chain)) throw new UnrecoverableError(`unknown chain ${JSON.stringify(chain)} on queue ${job.queueName}`);
      switch (job.name) {
        case 'poll':
          return poll(ctx, chain);
        case 'harvest': {
          const summary = await harvest(ctx, chain, job.id ?? `harvest:${job.timestamp}`);
          await harvestWhenDue(ctx, queue, chain, summary.nextDueAt);
          return summary;
        }
        case 'rebalance':
          return rebalance(ctx, chain, job.id ?? `rebalance:${job.timestamp}`);
        default:
          throw new UnrecoverableError(`unknown job ${JSON.stringify(job.name)} on queue ${job.queueName}`);
      }
    });
    workers.push(new Worker(chainQueueName(name), processor, common));
  }

  const distributeProcessor = guarded<DistributeJobData, unknown>(ctx, async (job) => {
    const asset = job.data.asset;
    if (ctx.config.assets[asset] === undefined) throw new UnrecoverableError(`asset ${JSON.stringify(asset)} is not in the config`);
    // A scheduled job's period end is its tick, whenever it runs.
    const periodEnd = job.data.periodEnd ?? job.opts.prevMillis ?? job.timestamp;
    return distributeAsset(ctx, asset, periodEnd);
  });
  workers.push(new Worker(DISTRIBUTE_QUEUE, distributeProcessor, common));

  for (const worker of workers) {
    worker.on('error', (error) => ctx.logger.error({ queue: worker.name, err: error.message }, 'worker error'));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    workers,
    close: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const graceful = Promise.all(workers.map((w) => w.close()));
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([graceful.then(() => 'done' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        ctx.logger.warn({ timeoutMs }, 'active jobs did not finish in time; releasing them to another worker');
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}
