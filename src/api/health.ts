/**
 * `/health`: the process answers (no I/O, for a liveness probe).
 * `/ready`: everything the daemon needs is there: Redis and PostgreSQL
 * answer, and each chain was read successfully not long ago. A chain is
 * judged by its last stored position snapshot (the poll job's), never by a
 * fresh round of RPC calls: an orchestrator probing every few seconds must
 * not spend a rate-limited endpoint's budget (public NEAR endpoints allow
 * about 20 requests a minute).
 *
 * Both are unauthenticated, so they say little: which dependency is down and
 * a short reason (a network error code, a timeout, the snapshot's age), never
 * an error's text, which can quote an endpoint's path or query (where API
 * keys live) or a key file's path. The full reason goes to the log.
 */
import type { FastifyInstance } from 'fastify';

import { toMillis } from '../ledger/db.js';
import type { ApiDeps } from './deps.js';
import { sendProblem } from './problems.js';
import { redactUrls } from '../redactUrls.js';
import { TimeoutError, withTimeout } from './timeout.js';

/** Deadline of the Redis and PostgreSQL checks: a local store slower than this is not serving. */
export const STORE_CHECK_TIMEOUT_MS = 2_000;
/** Without `api.readyMaxAge`, a chain's last read may be this many of its poll intervals old. */
export const READY_POLL_INTERVALS = 3;
/** Longest error text logged per check. */
const MAX_ERROR_LENGTH = 300;

/** One dependency's answer. */
export interface CheckResult {
  status: 'ok' | 'error';
  /** How long the check took, milliseconds. */
  ms: number;
  /** Why it failed, in a few words that quote nothing of the error's text. */
  error?: string;
  /** Chains: when the last successful read was stored (ISO), and its age in milliseconds. */
  lastReadAt?: string;
  ageMs?: number;
  /** Chains: the oldest a last read may be. */
  maxAgeMs?: number;
}

/** Only the Redis command the check needs; BullMQ's client interface does not declare it, its ioredis client has it. */
interface Pingable {
  ping(): Promise<unknown>;
}

/** A failure in words safe to show anyone: the error's code, never its message. */
export function publicReason(error: unknown): string {
  if (error instanceof TimeoutError) return `no answer within ${error.ms} ms`;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code)) return `failed (${code})`;
  return 'failed';
}

async function runCheck(work: () => Promise<unknown>, timeoutMs: number, log: (reason: string) => void): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(work(), timeoutMs);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (error) {
    log(redactUrls(error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH));
    return { status: 'error', ms: Math.round(performance.now() - started), error: publicReason(error) };
  }
}

/** Runs every readiness check; `checks` is keyed `redis`, `postgres`, `chain:<name>` (every configured chain). */
export async function readiness(deps: ApiDeps): Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
  const now = (deps.now ?? Date.now)();
  const chains = Object.values(deps.config.chains);
  const logFailure = (check: string) => (reason: string) => deps.logger.warn({ check, err: reason }, 'readiness check failed');
  let lastReads = new Map<string, number>();
  let problems = new Map<string, string[]>();
  const [redis, postgres] = await Promise.all([
    runCheck(
      async () => {
        // Every queue has its own connection; all of them must answer.
        await Promise.all(deps.queues.all().map(async (queue) => ((await queue.getBackend().client) as unknown as Pingable).ping()));
      },
      STORE_CHECK_TIMEOUT_MS,
      logFailure('redis'),
    ),
    runCheck(
      async () => {
        // The last successful read of each chain: the newest snapshot the poll job stored.
        const { rows } = await deps.pool.query<{ chain: string; recorded: string; problems: unknown }>(
          `SELECT DISTINCT ON (chain) chain, (extract(epoch FROM recorded_at) * 1000)::bigint AS recorded, detail->'problems' AS problems
             FROM chain_positions WHERE chain = ANY($1::text[]) ORDER BY chain, id DESC`,
          [chains.map((c) => c.name)],
        );
        lastReads = new Map(rows.map((r) => [r.chain, toMillis(r.recorded)]));
        // The adapter's own words about what its endpoints lack (they name endpoints by number, never by URL).
        problems = new Map(rows.map((r) => [r.chain, Array.isArray(r.problems) ? r.problems.filter((p): p is string => typeof p === 'string').map((p) => redactUrls(p).slice(0, 500)) : []]));
      },
      STORE_CHECK_TIMEOUT_MS,
      logFailure('postgres'),
    ),
  ]);
  const checks: Record<string, CheckResult> = { redis, postgres };
  for (const chain of chains) {
    const maxAgeMs = deps.config.api.readyMaxAgeMs ?? READY_POLL_INTERVALS * chain.intervals.pollMs;
    const last = lastReads.get(chain.name);
    if (postgres.status === 'error') {
      checks[`chain:${chain.name}`] = { status: 'error', ms: 0, error: 'unknown: PostgreSQL did not answer', maxAgeMs };
    } else if (last === undefined) {
      checks[`chain:${chain.name}`] = { status: 'error', ms: 0, error: 'no successful position read yet', maxAgeMs };
    } else {
      const ageMs = Math.max(0, now - last);
      const stale = ageMs > maxAgeMs;
      const lacking = problems.get(chain.name) ?? [];
      const errors = [...(stale ? [`last successful position read ${Math.round(ageMs / 1000)} s ago, more than ${Math.round(maxAgeMs / 1000)} s`] : []), ...lacking];
      checks[`chain:${chain.name}`] = {
        status: errors.length > 0 ? 'error' : 'ok',
        ms: 0,
        ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
        lastReadAt: new Date(last).toISOString(),
        ageMs,
        maxAgeMs,
      };
    }
  }
  return { ready: Object.values(checks).every((r) => r.status === 'ok'), checks };
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
