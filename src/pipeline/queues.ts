/**
 * The daemon's queues. Redis holds only queue state: every job's data names
 * a chain or an asset, never an amount to credit or a secret, so a job can
 * always be re-derived from PostgreSQL and the config.
 *
 * One queue per chain (`chain-<name>`) carries that chain's poll, harvest
 * and rebalance jobs with a global concurrency of 1, so signing work for one
 * chain never runs twice at once (nonces never collide), across every worker
 * process. One `distribute` queue carries every asset's distributions.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

import type { SoftstakeConfig, WorkerConfig } from '../config/index.js';

export const DISTRIBUTE_QUEUE = 'distribute';
/** Job names on a chain queue. */
export const CHAIN_JOBS = ['poll', 'harvest', 'rebalance'] as const;
export type ChainJobName = (typeof CHAIN_JOBS)[number];

export function chainQueueName(chain: string): string {
  return `chain-${chain}`;
}

/** Data of a job on a chain queue. */
export interface ChainJobData {
  chain: string;
}

/** Data of a distribute job. */
export interface DistributeJobData {
  asset: string;
  /**
   * The period end for a job added by hand (ms). Scheduled jobs leave it out:
   * their period end is the scheduler's tick.
   */
  periodEnd?: number;
}

/** Redis connection options for BullMQ; workers need `maxRetriesPerRequest: null`. */
export function redisConnection(url: string): ConnectionOptions {
  return { url, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

/**
 * Retries with exponential backoff; completed jobs are kept a while for the
 * dashboard, failed ones longer for the operator to read.
 */
export function jobOptions(worker: WorkerConfig): JobsOptions {
  return {
    attempts: worker.attempts,
    backoff: { type: 'exponential', delay: worker.backoffMs },
    removeOnComplete: { age: 7 * 86_400, count: 1_000 },
    removeOnFail: { age: 30 * 86_400, count: 5_000 },
  };
}

/** The queues of one config, opened on one Redis connection. */
export interface Queues {
  distribute: Queue<DistributeJobData>;
  /** By chain name. */
  chains: Map<string, Queue<ChainJobData>>;
  all(): Queue[];
  close(): Promise<void>;
}

export function openQueues(config: SoftstakeConfig): Queues {
  const connection = redisConnection(config.redis.url);
  const defaultJobOptions = jobOptions(config.worker);
  const prefix = config.redis.prefix;
  const distribute = new Queue<DistributeJobData>(DISTRIBUTE_QUEUE, { connection, prefix, defaultJobOptions });
  const chains = new Map<string, Queue<ChainJobData>>();
  for (const name of Object.keys(config.chains)) {
    chains.set(name, new Queue<ChainJobData>(chainQueueName(name), { connection, prefix, defaultJobOptions }));
  }
  const all = () => [distribute as Queue, ...chains.values()] as Queue[];
  return {
    distribute,
    chains,
    all,
    close: async () => {
      await Promise.all(all().map((q) => q.close()));
    },
  };
}
