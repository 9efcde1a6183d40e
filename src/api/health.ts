/**
 * `/health`: the process answers (no I/O, for a liveness probe).
 * `/ready`: everything the daemon needs answers: Redis, PostgreSQL, and each
 * chain's adapter. Checks run in parallel, each with its own deadline, so one
 * hung dependency neither hides the others nor hangs the probe.
 */
import type { FastifyInstance } from 'fastify';

import type { ApiDeps } from './deps.js';
import { sendProblem } from './problems.js';
import { redactUrls } from './redact.js';
import { withTimeout } from './timeout.js';

/** Deadline of the Redis and PostgreSQL checks: a local store slower than this is not serving. */
export const STORE_CHECK_TIMEOUT_MS = 2_000;
/** Deadline of each adapter's `position()`: it may fail over between RPC endpoints. */
export const CHAIN_CHECK_TIMEOUT_MS = 5_000;
/** Longest error text a check reports. */
const MAX_ERROR_LENGTH = 300;

/** One dependency's answer. */
export interface CheckResult {
  status: 'ok' | 'error';
  /** How long it took, milliseconds. */
  ms: number;
  /** Why it failed, URLs' credentials removed. */
  error?: string;
}

/** Only the Redis command the check needs; BullMQ's client interface does not declare it, its ioredis client has it. */
interface Pingable {
  ping(): Promise<unknown>;
}

async function runCheck(work: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(work(), timeoutMs);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (error) {
    const message = redactUrls(error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH);
    return { status: 'error', ms: Math.round(performance.now() - started), error: message || 'failed' };
  }
}

/** Runs every readiness check; `checks` is keyed `redis`, `postgres`, `chain:<name>`. */
export async function readiness(deps: ApiDeps): Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
  const checks: [string, Promise<CheckResult>][] = [
    [
      'redis',
      runCheck(async () => {
        // Every queue has its own connection; all of them must answer.
        await Promise.all(deps.queues.all().map(async (queue) => ((await queue.getBackend().client) as unknown as Pingable).ping()));
      }, STORE_CHECK_TIMEOUT_MS),
    ],
    ['postgres', runCheck(() => deps.pool.query('SELECT 1'), STORE_CHECK_TIMEOUT_MS)],
    ...[...deps.adapters].map(([name, adapter]): [string, Promise<CheckResult>] => [
      `chain:${name}`,
      runCheck(() => adapter.position(), CHAIN_CHECK_TIMEOUT_MS),
    ]),
  ];
  const results = await Promise.all(checks.map(async ([name, result]) => [name, await result] as const));
  return { ready: results.every(([, r]) => r.status === 'ok'), checks: Object.fromEntries(results) };
}

/**
 * Probes run every few seconds: their request lines are logged at warn
 * only (so, normally, not at all); a failed readiness check is logged.
 */
export const PROBE_LOG_LEVEL = 'warn';

/** Registers `GET /health` and `GET /ready`. */
export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/health', { logLevel: PROBE_LOG_LEVEL }, async () => ({ status: 'ok' }));

  app.get('/ready', { logLevel: PROBE_LOG_LEVEL }, async (request, reply) => {
    const { ready, checks } = await readiness(deps);
    if (ready) return { status: 'ready', checks };
    const failed = Object.entries(checks).filter(([, r]) => r.status === 'error');
    request.log.warn({ failed: Object.fromEntries(failed.map(([name, r]) => [name, r.error])) }, 'not ready');
    return sendProblem(reply, {
      status: 503,
      title: 'Not ready',
      detail: failed.map(([name, r]) => `${name}: ${r.error}`).join('; '),
      checks,
    });
  });
}
