/** The `worker` section: how jobs are locked, retried and stopped. */
import * as z from 'zod';
import { duration } from './fields.js';

/** Job processing. */
export interface WorkerConfig {
  /**
   * How long a job's lock lasts before another worker may take the job over
   * (after a crash). @defaultValue 30 000
   */
  lockDurationMs: number;
  /** Attempts per job before it is marked failed. @defaultValue 8 */
  attempts: number;
  /** First retry delay; it doubles each attempt. @defaultValue 5 000 */
  backoffMs: number;
  /** On SIGTERM, how long active jobs may take to finish before they are released. @defaultValue 30 000 */
  shutdownTimeoutMs: number;
}

export const DEFAULT_WORKER: WorkerConfig = { lockDurationMs: 30_000, attempts: 8, backoffMs: 5_000, shutdownTimeoutMs: 30_000 };

export const workerSchema = z
  .strictObject({
    lockDuration: duration(1_000, 600_000).prefault('30s'),
    attempts: z.number().int().min(1).max(100).default(DEFAULT_WORKER.attempts),
    backoff: duration(100, 3_600_000).prefault('5s'),
    shutdownTimeout: duration(0, 600_000).prefault('30s'),
  })
  .prefault({ lockDuration: '30s', attempts: DEFAULT_WORKER.attempts, backoff: '5s', shutdownTimeout: '30s' });

/** The worker section in milliseconds. */
export function resolveWorker(file: z.output<typeof workerSchema>): WorkerConfig {
  return {
    lockDurationMs: file.lockDuration,
    attempts: file.attempts,
    backoffMs: file.backoff,
    shutdownTimeoutMs: file.shutdownTimeout,
  };
}
