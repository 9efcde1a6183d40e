/**
 * The api role's HTTP server:
 *
 *   GET  /health                      the process answers
 *   GET  /ready                       Redis and PostgreSQL answer, each chain was read recently (503 naming what is not)
 *   GET  /metrics                     Prometheus text, read from Redis and PostgreSQL at scrape time
 *                                     (public, behind the token, or on its own address: `api.metrics`)
 *   /v1/…                             REST API behind a bearer token (only with `api.tokenFile`)
 *   /admin/queues                     BullMQ dashboard behind basic auth (only with `api.dashboard`)
 *
 * Errors are RFC 9457 problems everywhere (see `problems.ts`).
 */
import { createServer } from 'node:http';

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import { bearerAuth, refusalHeaders } from './auth.js';
import { DASHBOARD_PATH, registerDashboard } from './dashboard.js';
import type { ApiDeps } from './deps.js';
import { registerHealthRoutes } from './health.js';
import { registerMetricsRoute } from './metrics.js';
import { installProblemHandlers, notFound, sendProblem, writeClientErrorProblem } from './problems.js';
import { pathOf, requestForLog } from './requestLog.js';
import { installStrictJson } from './strictJsonBody.js';
import { registerV1 } from './v1/index.js';

export type { ApiDeps } from './deps.js';

/** Longest path parameter (a user id of 256 characters, percent-encoded). */
const MAX_PARAM_LENGTH = 4096;
/** How often Node looks for requests past their headers or request timeout, milliseconds. */
const CONNECTION_CHECK_MS = 1_000;
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
    // Every request is bounded in time: its headers, the whole request with
    // its body, and an idle keep-alive connection. Node checks the first two
    // every CONNECTION_CHECK_MS.
    serverFactory: (handler) =>
      createServer(
        {
          headersTimeout: api.headersTimeoutMs,
          requestTimeout: api.requestTimeoutMs,
          keepAliveTimeout: api.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.min(CONNECTION_CHECK_MS, api.headersTimeoutMs, api.requestTimeoutMs),
        },
        handler,
      ),
    // Requests the router cannot even parse (a malformed URL) answer as problems too.
    frameworkErrors: (error, _request, reply) => {
      sendProblem(reply, { status: error.statusCode ?? 400, detail: error.message });
    },
    // Before a request exists (a timeout, headers too large): a problem written to the socket.
    clientErrorHandler: (error, socket) => writeClientErrorProblem(error, socket, deps.logger),
    // Request log lines name the path, never the query (it may carry anything a client put there).
    childLoggerFactory: (logger, bindings, options) => logger.child(bindings, { ...options, serializers: { ...options.serializers, req: requestForLog } }),
    // The daemon closes the server on SIGTERM: in-flight requests finish, new ones get 503.
    return503OnClosing: true,
  });
  installProblemHandlers(app, api.bodyLimitBytes);
  installStrictJson(app);
  refuseUnroutedBodies(app);
  watchQueueErrors(deps);

  registerHealthRoutes(app, deps);
  if (api.metrics.mode === 'public') registerMetricsRoute(app, deps);
  else if (api.metrics.mode === 'token' && api.token !== null) registerMetricsRoute(app, deps, { onRequest: bearerAuth(api.token) });
  if (api.token !== null) await registerV1(app, deps, api.token);
  if (api.dashboard !== null) await registerDashboard(app, deps, api.dashboard);
  return app;
}

/**
 * A request for no route is answered before its body is read, and its
 * connection closed: no one may make the server read a body for nothing.
 * `/v1` and the dashboard answer their own (after authentication, so that
 * a client without credentials cannot tell which of their routes exist).
 */
function refuseUnroutedBodies(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    const path = pathOf(request.url);
    if (path === '/v1' || path.startsWith('/v1/') || path.startsWith(DASHBOARD_PATH)) return;
    const headers = refusalHeaders(request);
    if (headers.connection === undefined) return;
    return notFound(request, reply.headers(headers));
  });
}

/**
 * The server of `/metrics` alone, for `api.metrics: "host:port"`: the
 * daemon listens on that address with it, and the main server has no
 * `/metrics`. Closing it closes none of `deps`.
 */
export async function buildMetricsServer(deps: ApiDeps): Promise<FastifyInstance> {
  const { api } = deps.config;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    serverFactory: (handler) => createServer({ headersTimeout: api.headersTimeoutMs, requestTimeout: api.requestTimeoutMs, keepAliveTimeout: api.keepAliveTimeoutMs }, handler),
    clientErrorHandler: (error, socket) => writeClientErrorProblem(error, socket, deps.logger),
    childLoggerFactory: (logger, bindings, options) => logger.child(bindings, { ...options, serializers: { ...options.serializers, req: requestForLog } }),
    return503OnClosing: true,
  });
  installProblemHandlers(app, api.bodyLimitBytes);
  registerMetricsRoute(app, deps);
  await app.ready();
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
