/**
 * The scheduler role: one BullMQ job scheduler per recurring job. Upserting
 * is idempotent, so every scheduler process (and every restart) may do it;
 * schedulers for chains or assets no longer in the config are removed.
 */
import type { Queue } from 'bullmq';

import type { SoftstakeConfig } from '../config/index.js';
import { CHAIN_JOBS, type Queues } from './queues.js';

/** `distribute:ATOM`, `poll:cosmoshub-devnet`: the scheduler ids, and so the job ids' stems. */
export function schedulerId(job: string, subject: string): string {
  return `${job}:${subject}`;
}

export async function upsertSchedulers(config: SoftstakeConfig, queues: Queues): Promise<void> {
  const wanted = new Set<string>();
  for (const asset of Object.values(config.assets)) {
    const id = schedulerId('distribute', asset.symbol);
    wanted.add(id);
    await queues.distribute.upsertJobScheduler(
      id,
      { pattern: asset.distribution.schedule, tz: asset.distribution.timezone },
      { name: 'distribute', data: { asset: asset.symbol } },
    );
  }
  await removeOthers(queues.distribute, wanted);

  for (const chain of Object.values(config.chains)) {
    const queue = queues.chains.get(chain.name)!;
    const every = { poll: chain.intervals.pollMs, harvest: chain.intervals.harvestMs, rebalance: chain.intervals.rebalanceMs };
    const ids = new Set<string>();
    for (const job of CHAIN_JOBS) {
      const id = schedulerId(job, chain.name);
      ids.add(id);
      // An `every` scheduler runs its first job at once: a fresh daemon
      // knows its position now, not in an hour.
      await queue.upsertJobScheduler(id, { every: every[job] }, { name: job, data: { chain: chain.name } });
    }
    await removeOthers(queue, ids);
  }
}

type SchedulerOwner = Pick<Queue, 'getJobSchedulers' | 'removeJobScheduler'>;

async function removeOthers(queue: SchedulerOwner, wanted: Set<string>): Promise<void> {
  for (const scheduler of await queue.getJobSchedulers()) {
    if (!wanted.has(scheduler.key)) await queue.removeJobScheduler(scheduler.key);
  }
}

/** How often the scheduler role looks for its schedulers in Redis. */
export const SCHEDULER_CHECK_MS = 10_000;

/**
 * Redis holds only queue state, so it may lose it all (a flush, a failover to
 * an empty replica): the scheduler role then finds its schedulers gone and
 * upserts them again, and sets the chain queues' global concurrency of 1
 * again, instead of waiting for a restart. Returns the function that stops
 * looking.
 */
export function keepSchedulers(config: SoftstakeConfig, queues: Queues, onRestored: (missing: string[]) => void, onError: (error: Error) => void, everyMs = SCHEDULER_CHECK_MS): () => void {
  let running: Promise<void> | undefined;
  const check = async () => {
    const missing: string[] = [];
    const have = new Set((await queues.distribute.getJobSchedulers()).map((s) => s.key));
    for (const asset of Object.keys(config.assets)) if (!have.has(schedulerId('distribute', asset))) missing.push(schedulerId('distribute', asset));
    for (const chain of Object.keys(config.chains)) {
      const queue = queues.chains.get(chain)!;
      const present = new Set((await queue.getJobSchedulers()).map((s) => s.key));
      for (const job of CHAIN_JOBS) if (!present.has(schedulerId(job, chain))) missing.push(schedulerId(job, chain));
    }
    if (missing.length === 0) return;
    for (const queue of queues.chains.values()) await queue.setGlobalConcurrency(1);
    await upsertSchedulers(config, queues);
    onRestored(missing);
  };
  const timer = setInterval(() => {
    running ??= check()
      .catch((error: unknown) => onError(error as Error))
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
