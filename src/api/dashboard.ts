/**
 * The BullMQ dashboard (bull-board) at `/admin/queues`, behind HTTP basic
 * auth. Read-only by default: an operator sees every queue, job, scheduler
 * and failure, and changes nothing. Harvest and distribute jobs move money,
 * and the one-signer-per-chain rule rests on each chain queue's global
 * concurrency of 1, so the server refuses every change the UI could send
 * (add or edit a job, run or edit a scheduler, set a concurrency or a rate
 * limit, pause, empty, clean, promote or obliterate), whatever sends it.
 * `api.dashboard.actions` turns on only what is listed:
 *   - `retry-failed-poll`: retry one failed `poll` job of a chain queue;
 *   - `retry-failed`: retry one failed job of any queue (a distribute job
 *     still runs only at a scheduled tick of its asset: the worker checks).
 * A completed job is never run again. Failed jobs show their error, without
 * the stack (file paths of the deployment) and with URLs cut to scheme,
 * host and port. Pages carry a Content-Security-Policy that allows only the
 * dashboard's own scripts and no framing.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { BeforeHook, ControllerHandlerReturnType, QueueAdapterOptions } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import fastifyBasicAuth from '@fastify/basic-auth';
import type { Job, Queue } from 'bullmq';
import type { FastifyInstance, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify';

import type { DashboardAction } from '../config/index.js';
import { redactUrls } from '../redactUrls.js';
import { REALM, refusalHeaders, sameSecret } from './auth.js';
import type { ApiDeps } from './deps.js';
import { sendProblem } from './problems.js';

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

/** Where the dashboard is served. */
export const DASHBOARD_PATH = '/admin/queues';

/** Refused by the server, whatever the UI shows. */
class CompletedRetryRefused extends Error {
  readonly statusCode = 405;
  constructor(job: string) {
    super(`job ${job} has completed; completed jobs are not run again from the dashboard`);
  }
}

/** The one change `actions` can allow: retrying one job. */
const RETRY_ROUTE = `${DASHBOARD_PATH}/api/queues/:queueName/:jobId/retry`;

/**
 * Sent on every dashboard response: the page runs only its own scripts, may
 * not be framed (clickjacking a logged-in operator), and sends no referrer.
 */
export const DASHBOARD_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * A queue as bull-board sees it: read-only unless an action allows retries
 * on it, retrying a completed job refused at the job itself (closing the
 * gap of a job completing between the route's check and the retry), and
 * every job shown without its stack.
 */
class MoneySafeAdapter extends BullMQAdapter {
  constructor(queue: Queue, retries: boolean) {
    // `allowCompletedRetries` is read by bull-board's base adapter, though the
    // BullMQ adapter's option type does not list it.
    const options: Partial<QueueAdapterOptions> & { allowCompletedRetries: boolean } = {
      readOnlyMode: !retries,
      allowRetries: retries,
      allowCompletedRetries: false,
      description: queue.name.startsWith('chain-') ? 'poll, harvest and rebalance jobs of one chain' : 'distributions',
    };
    super(queue, options);
  }

  override async getJob(id: string): Promise<Job | undefined> {
    return guard(await super.getJob(id));
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    return (await super.getJobs(...args)).map((job) => guard(job)!);
  }
}

function guard(job: Job | undefined): Job | undefined {
  if (job === undefined) return job;
  const retry = job.retry.bind(job);
  job.retry = async (...args: Parameters<Job['retry']>) => {
    if (args[0] === 'completed') throw new CompletedRetryRefused(String(job.id));
    return retry(...args);
  };
  const toJSON = job.toJSON.bind(job);
  job.toJSON = () => {
    const json = toJSON();
    return { ...json, stacktrace: [], failedReason: json.failedReason ? redactUrls(json.failedReason) : json.failedReason };
  };
  return job;
}

/** Whether `actions` allow retrying `job` (of `queue`) from the dashboard: only a failed one, and only of an allowed kind. */
async function retryAllowed(actions: readonly DashboardAction[], queue: Queue, job: Job): Promise<boolean> {
  if ((await job.getState()) !== 'failed') return false;
  if (actions.includes('retry-failed')) return true;
  return actions.includes('retry-failed-poll') && queue.name.startsWith('chain-') && job.name === 'poll';
}

/** Whether any of `actions` lets the dashboard retry jobs of `queue`. */
function retriesOn(actions: readonly DashboardAction[], queue: Queue): boolean {
  return actions.includes('retry-failed') || (actions.includes('retry-failed-poll') && queue.name.startsWith('chain-'));
}

/**
 * The server's side of "read-only": an onRequest hook (before any body is
 * read) letting through reads and, when `actions` allow it, a retry of one
 * failed job; every other method and route is a 403 problem.
 */
function refuseChanges(deps: ApiDeps, actions: readonly DashboardAction[]): onRequestAsyncHookHandler {
  const queues = new Map(deps.queues.all().map((q) => [q.name, q]));
  return async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const allowed = actions.length === 0 ? 'none (the dashboard is read-only)' : actions.join(', ');
    const refuse = (why: string) =>
      sendProblem(reply, { status: 403, title: 'Forbidden', detail: `${why}; api.dashboard.actions allows: ${allowed}` }, refusalHeaders(request));
    if (request.method !== 'PUT' || request.routeOptions.url !== RETRY_ROUTE) return refuse('this dashboard action is not allowed');
    const { queueName, jobId } = request.params as { queueName: string; jobId: string };
    const queue = queues.get(queueName);
    const job = queue === undefined ? undefined : await queue.getJob(jobId);
    if (queue === undefined || job === undefined) return refuse('no such job');
    if (!(await retryAllowed(actions, queue, job))) return refuse(`retrying this ${job.name} job (${await job.getState()}) is not allowed`);
  };
}

/** bull-board's hook before each API call: refuses retrying completed jobs with a 405. */
const refuseCompletedRetries: BeforeHook = async ({ method, route, request }) => {
  if (method !== 'put') return;
  const refuse = { allow: false, status: 405 as const, message: 'completed jobs are not run again from the dashboard' };
  if (route === '/api/queues/:queueName/retry/:queueStatus' && request.params.queueStatus === 'completed') return refuse;
  if (route === '/api/queues/:queueName/:jobId/retry') {
    const job = await request.queues.get(String(request.params.queueName))?.getJob(String(request.params.jobId));
    if (job && (await job.getState()) === 'completed') return refuse;
  }
};

/**
 * Registers the dashboard inside its own plugin scope, so the basic-auth hook
 * covers every one of its routes (page, static assets, JSON API) and nothing
 * else. bull-board's own error handler (which would send raw error messages)
 * is replaced by one that logs them and answers with a key only.
 */
export async function registerDashboard(
  app: FastifyInstance,
  deps: ApiDeps,
  credentials: { user: string; password: string; actions: readonly DashboardAction[] },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: deps.queues.all().map((queue) => new MoneySafeAdapter(queue, retriesOn(credentials.actions, queue))),
    // @bull-board/fastify pins its own copy of @bull-board/api (one patch
    // older); the two declare the same interface.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: 'softstake queues' }, handlerHooks: { before: refuseCompletedRetries } },
  });
  serverAdapter.setErrorHandler((error: Error & { statusCode?: number }): ControllerHandlerReturnType => {
    if (error instanceof CompletedRetryRefused) {
      return { status: 405, body: { error: { key: 'ERRORS.JOB_NOT_RETRIABLE' }, message: error.message } };
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) deps.logger.error({ err: error }, 'dashboard: unexpected error');
    return { status, body: { error: { key: 'ERRORS.INTERNAL_SERVER_ERROR' } } } as ControllerHandlerReturnType;
  });

  await app.register(async (scope) => {
    await scope.register(fastifyBasicAuth, {
      authenticate: { realm: REALM },
      validate: async (user, password) => {
        // Both compared, always: which one was wrong must not show in the timing.
        const userOk = sameSecret(user, credentials.user);
        const passwordOk = sameSecret(password, credentials.password);
        if (!(userOk && passwordOk)) return new Error('wrong user or password');
      },
    });
    const basicAuth = scope.basicAuth as onRequestHookHandler;
    scope.addHook('onRequest', (request, reply, done) => {
      basicAuth.call(scope, request, reply, (error?: Error) => {
        // Answered here, not thrown: bull-board's routes have their own error handler.
        if (error) {
          sendProblem(reply, { status: 401, title: 'Unauthorized', detail: 'the queue dashboard needs the operator\'s user and password' }, refusalHeaders(request));
          return;
        }
        done();
      });
    });
    scope.addHook('onRequest', refuseChanges(deps, credentials.actions));
    scope.addHook('onSend', async (_request, reply) => {
      reply.headers(DASHBOARD_HEADERS);
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
