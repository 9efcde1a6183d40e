/**
 * The daemon: one process running any of the three roles over one config.
 *   scheduler  upserts the job schedulers (idempotent; any number may run)
 *   worker     processes poll, harvest, rebalance and distribute jobs
 *   api        serves /health, /ready, /metrics, /v1 and the queue dashboard
 * SIGTERM or SIGINT: stop taking work, let active jobs finish (or release
 * them after `worker.shutdownTimeout`), close Redis and PostgreSQL, exit 0.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

import type { ChainAdapter } from '../../adapters/types.js';
import { buildMetricsServer, buildServer } from '../api/server.js';
import { redactConfig, type SoftstakeConfig } from '../config/index.js';
import { createAdapters } from '../pipeline/adapters.js';
import { preflightBeforeStart } from '../pipeline/preflight.js';
import { openQueues } from '../pipeline/queues.js';
import { keepSchedulers, upsertSchedulers } from '../pipeline/schedulers.js';
import { startWorkers, type Workers } from '../pipeline/worker.js';
import { openLedger, waitForRedis } from './startup.js';

export const ROLES = ['api', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];

export interface Daemon {
  /** Where the api role listens, when it runs. */
  address: string | null;
  /** Resolves once everything is closed. */
  stop(reason: string): Promise<void>;
}

export interface DaemonOptions {
  /**
   * Run the chains' preflight first, where the worker role runs (it alone
   * talks to the chains), and refuse to start on a failure
   * (PreflightFailedError). `softstake start` sets it unless
   * `--skip-preflight`; tests that start a daemon in-process leave it off.
   * @defaultValue false
   */
  preflight?: boolean;
}

export async function startDaemon(config: SoftstakeConfig, roles: ReadonlySet<Role>, logger: Logger, options: DaemonOptions = {}): Promise<Daemon> {
  const started = performance.now();
  logger.info({ roles: [...roles], config: redactConfig(config) }, 'starting');

  const pool = await openLedger(config, {
    applicationName: `softstake-${[...roles].join('+')}`,
    max: 10,
    onIdleError: (error) => logger.error({ err: error.message }, 'idle PostgreSQL connection failed'),
  });
  const closers: (() => Promise<void>)[] = [() => pool.end()];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'error while closing');
      }
    }
  };

  try {
    if (options.preflight === true && roles.has('worker') && Object.keys(config.chains).length > 0) await preflightBeforeStart(config, pool, logger);
    await waitForRedis(config, logger);

    // Only the worker talks to the chains: `/ready` reads the poll job's snapshots.
    const adapters: Map<string, ChainAdapter> = roles.has('worker') ? await createAdapters(config) : new Map();
    closers.push(async () => {
      await Promise.all([...adapters.values()].map((a) => a.close()));
    });
    const queues = openQueues(config);
    closers.push(() => queues.close());

    if (roles.has('scheduler')) {
      await upsertSchedulers(config, queues);
      const stopKeeping = keepSchedulers(
        config,
        queues,
        (missing) => logger.warn({ missing }, 'job schedulers were gone from Redis (flushed or replaced): upserted them again'),
        (error) => logger.warn({ err: error.message }, 'could not check the job schedulers'),
      );
      closers.push(async () => stopKeeping());
    }

    let workers: Workers | undefined;
    if (roles.has('worker')) {
      workers = await startWorkers({ config, pool, adapters, logger, now: Date.now }, queues);
      const w = workers;
      closers.push(() => w.close(config.worker.shutdownTimeoutMs));
    }

    let server: FastifyInstance | undefined;
    let address: string | null = null;
    let metricsAddress: string | null = null;
    if (roles.has('api')) {
      server = await buildServer({ config, pool, queues, logger });
      address = await server.listen({ host: config.api.host, port: config.api.port });
      const s = server;
      closers.push(() => s.close());
      const metricsAccess = config.api.metrics;
      if (metricsAccess.mode === 'listen') {
        const metricsServer = await buildMetricsServer({ config, pool, queues, logger });
        metricsAddress = await metricsServer.listen({ host: metricsAccess.host, port: metricsAccess.port });
        closers.push(() => metricsServer.close());
      }
    }

    logger.info(
      { roles: [...roles], address, ...(metricsAddress !== null ? { metricsAddress } : {}), chains: Object.keys(config.chains), startupMs: Math.round(performance.now() - started), rssBytes: process.memoryUsage.rss() },
      'softstake ready',
    );

    let stopping: Promise<void> | undefined;
    return {
      address,
      stop: (reason) => {
        stopping ??= (async () => {
          logger.info({ reason }, 'stopping: no new jobs or requests; waiting for active ones');
          await closeAll();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
