/**
 * The api role's HTTP server:
 *
 *   GET  /health                      the process answers
 *   GET  /ready                       Redis, PostgreSQL and every chain answer (503 naming what does not)
 *   GET  /metrics                     Prometheus text, read from Redis and PostgreSQL at scrape time
 *   /v1/…                             REST API behind a bearer token (only with `api.tokenFile`)
 *   /admin/queues                     BullMQ dashboard behind basic auth (only with `api.dashboard`)
 *
 * Errors are RFC 9457 problems everywhere (see `problems.ts`).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import { registerDashboard } from './dashboard.js';
import type { ApiDeps } from './deps.js';
import { registerHealthRoutes } from './health.js';
import { registerMetricsRoute } from './metrics.js';
import { installProblemHandlers, sendProblem } from './problems.js';
import { registerV1 } from './v1/index.js';

export type { ApiDeps } from './deps.js';

/** Longest path parameter (a user id of 256 characters, percent-encoded). */
const MAX_PARAM_LENGTH = 4096;
/** Queue connection errors are logged at most this often per queue. */
const QUEUE_ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * Builds the server with every route registered, not listening: the daemon
 * calls `listen({ host: config.api.host, port: config.api.port })`, tests
 * call `inject`. Closing it closes none of `deps`.
 */
export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const { api } = deps.config;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: api.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Requests the router cannot even parse (a malformed URL) answer as problems too.
    frameworkErrors: (error, _request, reply) => {
      sendProblem(reply, { status: error.statusCode ?? 400, detail: error.message });
    },
    // The daemon closes the server on SIGTERM: in-flight requests finish, new ones get 503.
    return503OnClosing: true,
  });
  installProblemHandlers(app, api.bodyLimitBytes);
  watchQueueErrors(deps);

  registerHealthRoutes(app, deps);
  registerMetricsRoute(app, deps);
  if (api.token !== null) await registerV1(app, deps, api.token);
  if (api.dashboard !== null) await registerDashboard(app, deps, api.dashboard);
  return app;
}

/**
 * A BullMQ queue re-emits its connection's errors; an `error` event nobody
 * listens to would crash the process when Redis goes away. The server only
 * reads through the queues, and `/ready` reports Redis down, so a note in
 * the log now and then is enough.
 */
function watchQueueErrors(deps: ApiDeps): void {
  for (const queue of deps.queues.all()) {
    if (queue.listenerCount('error') > 0) continue;
    let last = 0;
    queue.on('error', (error: Error) => {
      const now = Date.now();
      if (now - last < QUEUE_ERROR_LOG_INTERVAL_MS) return;
      last = now;
      deps.logger.warn({ queue: queue.name, err: error.message }, 'queue connection error');
    });
  }
}
