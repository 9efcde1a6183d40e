/**
 * `/metrics`: Prometheus text from a registry of the server's own (never
 * prom-client's global one). Everything is read at scrape time from Redis
 * and PostgreSQL, not counted in this process: the worker that runs the jobs
 * may be another process on another machine.
 *
 * Token amounts are exported in whole tokens as floats (Prometheus has no
 * other number type): approximate beyond 15–16 significant digits, fine for
 * graphs and alerts, never used for money. The exact figures are in `/v1`.
 */
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

import { toBigInt, toMillis } from '../ledger/db.js';
import { formatTokenAmount } from '../ledger/amount.js';
import { latestPositions } from '../pipeline/positions.js';
import type { ApiDeps } from './deps.js';
import { createIntentMetrics } from './intentMetrics.js';
import { PROBE_LOG_LEVEL } from './health.js';
import { withTimeout } from './timeout.js';

/** A scrape waits this long for each store before reporting it down. */
export const SCRAPE_TIMEOUT_MS = 5_000;

/** Base units as whole tokens, as a float (see the module comment). */
function tokens(amount: bigint, decimals: number): number {
  return Number(formatTokenAmount(amount, decimals));
}

/** What `/metrics` serves from. */
export interface ApiMetrics {
  registry: Registry;
  /** Reads Redis and PostgreSQL and renders the exposition text. Concurrent scrapes share one read. */
  scrape(): Promise<string>;
}

/** The server's metrics: a registry of its own and a scrape that reads the stores. */
export function createMetrics(deps: ApiDeps): ApiMetrics {
  const now = deps.now ?? Date.now;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers });

  const sourceUp = gauge('softstake_metrics_source_up', 'Whether the last scrape could read this store (1) or not (0).', ['source']);
  const queueJobs = gauge('softstake_queue_jobs', 'BullMQ jobs per queue and state.', ['queue', 'state']);

  const position = {
    liquid: gauge('softstake_position_liquid_tokens', 'Custody account liquid balance at the latest snapshot, whole tokens (float).', ['chain', 'asset']),
    staked: gauge('softstake_position_staked_tokens', 'Active stake at the latest snapshot, whole tokens (float).', ['chain', 'asset']),
    unbonding: gauge('softstake_position_unbonding_tokens', 'Stake unbonding at the latest snapshot, whole tokens (float).', ['chain', 'asset']),
    pending: gauge('softstake_position_pending_rewards_tokens', 'Rewards earned, not yet claimed, at the latest snapshot, whole tokens (float).', ['chain', 'asset']),
    age: gauge('softstake_position_snapshot_age_seconds', 'Age of the latest position snapshot (from its block time).', ['chain', 'asset']),
    height: gauge('softstake_position_height', 'Height (or epoch) of the latest position snapshot.', ['chain', 'asset']),
  };
  const validator = {
    jailed: gauge('softstake_validator_jailed', 'Validator jailed or tombstoned (1) at the latest snapshot.', ['chain', 'validator']),
    active: gauge('softstake_validator_active', 'Validator in the active set (1) at the latest snapshot.', ['chain', 'validator']),
    commission: gauge('softstake_validator_commission_ratio', "Validator's commission as a ratio (0.05 = 5%) at the latest snapshot.", ['chain', 'validator']),
  };
  const asset = {
    realized: gauge('softstake_rewards_realized_tokens', 'Σ of all reward events (slashes net), whole tokens (float).', ['asset']),
    undistributed: gauge('softstake_rewards_undistributed_tokens', 'Σ of reward events not yet allocated by a distribution, whole tokens (float).', ['asset']),
    lastDuration: gauge('softstake_distribution_last_duration_seconds', 'How long the newest distribution took (when the distribute job ran it).', ['asset']),
    lastUsers: gauge('softstake_distribution_last_credited_users', 'Users credited by the newest distribution.', ['asset']),
    lastAmount: gauge('softstake_distribution_last_distributed_tokens', 'Amount the newest distribution allocated to users, whole tokens (float).', ['asset']),
    lastEnd: gauge('softstake_distribution_last_period_end_timestamp_seconds', 'Period end of the newest distribution, Unix seconds.', ['asset']),
  };
  // A count read from PostgreSQL only grows, so it is exported as a counter.
  const distributions = new Counter({ name: 'softstake_distributions_total', help: 'Distributions stored (closed periods).', labelNames: ['asset'], registers });

  const intents = createIntentMetrics(registers);

  const resettable = [queueJobs, ...Object.values(position), ...Object.values(validator), ...Object.values(asset), distributions, ...intents.gauges];

  async function readRedis(): Promise<void> {
    const counts = await Promise.all(deps.queues.all().map(async (queue) => [queue.name, await queue.getJobCounts()] as const));
    for (const [queue, byState] of counts) {
      for (const [state, count] of Object.entries(byState)) queueJobs.set({ queue, state }, count);
    }
  }

  async function readPostgres(): Promise<void> {
    const symbols = Object.keys(deps.config.assets);
    const decimals = (symbol: string) => deps.config.assets[symbol]?.decimals ?? 0;
    const [snapshots, sums, newest] = await Promise.all([
      latestPositions(deps.pool),
      deps.pool.query<{ asset: string; realized: string; undistributed: string; distributions: string }>(
        `SELECT s.asset, r.realized, r.undistributed,
                (SELECT count(*) FROM distributions d WHERE d.asset = s.asset) AS distributions
           FROM unnest($1::text[]) AS s(asset),
                LATERAL (SELECT coalesce(sum(amount), 0) AS realized,
                                coalesce(sum(amount) FILTER (WHERE distribution_id IS NULL), 0) AS undistributed
                           FROM reward_events WHERE asset = s.asset) r`,
        [symbols],
      ),
      deps.pool.query<{ asset: string; period_end: string; distributed: string; duration_ms: number | null; credited: string }>(
        `SELECT DISTINCT ON (d.asset) d.asset, d.period_end, d.distributed, d.duration_ms,
                d.credited_users AS credited
           FROM distributions d WHERE d.asset = ANY($1::text[])
          ORDER BY d.asset, d.period_end DESC`,
        [symbols],
      ),
    ]);
    const at = now();
    for (const s of snapshots.values()) {
      const labels = { chain: s.chain, asset: s.asset };
      const d = decimals(s.asset);
      position.liquid.set(labels, tokens(s.liquid, d));
      position.staked.set(labels, tokens(s.staked, d));
      position.unbonding.set(labels, tokens(s.unbonding, d));
      position.pending.set(labels, tokens(s.pendingRewards, d));
      position.age.set(labels, Math.max(0, at - s.at) / 1000);
      position.height.set(labels, Number(s.height));
      for (const v of s.detail.validators ?? []) {
        const vl = { chain: s.chain, validator: v.validator };
        validator.jailed.set(vl, v.jailed ? 1 : 0);
        validator.active.set(vl, v.active ? 1 : 0);
        if (v.commissionBps !== undefined) validator.commission.set(vl, v.commissionBps / 10_000);
      }
    }
    for (const r of sums.rows) {
      const d = decimals(r.asset);
      asset.realized.set({ asset: r.asset }, tokens(toBigInt(r.realized), d));
      asset.undistributed.set({ asset: r.asset }, tokens(toBigInt(r.undistributed), d));
      distributions.inc({ asset: r.asset }, Number(r.distributions));
    }
    for (const r of newest.rows) {
      const labels = { asset: r.asset };
      if (r.duration_ms !== null) asset.lastDuration.set(labels, r.duration_ms / 1000);
      asset.lastUsers.set(labels, Number(r.credited));
      asset.lastAmount.set(labels, tokens(toBigInt(r.distributed), decimals(r.asset)));
      asset.lastEnd.set(labels, toMillis(r.period_end) / 1000);
    }
    await intents.read(deps.pool, Object.keys(deps.config.chains), at);
  }

  async function collect(): Promise<string> {
    for (const metric of resettable) metric.reset();
    const sources = [
      ['redis', readRedis],
      ['postgres', readPostgres],
    ] as const;
    await Promise.all(
      sources.map(async ([source, read]) => {
        try {
          await withTimeout(read(), SCRAPE_TIMEOUT_MS);
          sourceUp.set({ source }, 1);
        } catch (error) {
          sourceUp.set({ source }, 0);
          deps.logger.warn({ source, err: (error as Error).message }, 'metrics: could not read a store');
        }
      }),
    );
    return registry.metrics();
  }

  let running: Promise<string> | undefined;
  return {
    registry,
    scrape: () => {
      running ??= collect().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}

/** Registers `GET /metrics` with a registry of its own. */
export function registerMetricsRoute(app: FastifyInstance, deps: ApiDeps, options: { onRequest?: onRequestAsyncHookHandler } = {}): void {
  const metrics = createMetrics(deps);
  app.get('/metrics', { logLevel: PROBE_LOG_LEVEL, ...(options.onRequest ? { onRequest: options.onRequest } : {}) }, async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
