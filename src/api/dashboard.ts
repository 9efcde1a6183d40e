/**
 * The BullMQ dashboard (bull-board) at `/admin/queues`, behind HTTP basic
 * auth. Every queue is shown; a failed job may be retried, but a completed
 * one may not be run again: harvest and distribute jobs move money, and
 * although the ledger would refuse to count them twice, "run it again" on a
 * finished money job is never what an operator should be offered. The UI
 * hides the button (`allowCompletedRetries: false`) and the server refuses
 * the request, whatever sends it.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { BeforeHook, ControllerHandlerReturnType, QueueAdapterOptions } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import fastifyBasicAuth from '@fastify/basic-auth';
import type { Job, Queue } from 'bullmq';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';

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

/**
 * A queue as bull-board sees it, with retrying a completed job refused at
 * the job itself: the check in `refuseCompletedRetries` answers nicely, this
 * one also closes the gap of a job completing between that check and the
 * retry.
 */
class MoneySafeAdapter extends BullMQAdapter {
  constructor(queue: Queue) {
    // `allowCompletedRetries` is read by bull-board's base adapter, though the
    // BullMQ adapter's option type does not list it.
    const options: Partial<QueueAdapterOptions> & { allowCompletedRetries: boolean } = {
      readOnlyMode: false,
      allowRetries: true,
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
  return job;
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
export async function registerDashboard(app: FastifyInstance, deps: ApiDeps, credentials: { user: string; password: string }): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: deps.queues.all().map((queue) => new MoneySafeAdapter(queue)),
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
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
