/**
 * Every error response is an RFC 9457 problem (`application/problem+json`).
 * What a client may read is decided here, once: input problems say exactly
 * what to fix; anything unexpected becomes a bare 500, and its message and
 * stack go to the log only.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type * as z from 'zod';

import { LedgerInputError, SoftstakeError, type InputProblem } from '../errors.js';
import { pathOf } from './requestLog.js';

/** `type` of a request whose shape or fields are wrong (400). */
export const INVALID_REQUEST = 'urn:softstake:problem:invalid-request';
/** `type` of input the ledger refuses by its rules (400). */
export const LEDGER_REFUSED = 'urn:softstake:problem:ledger-refused';
/** `type` of an id reused with other content (409). */
export const ID_CONFLICT = 'urn:softstake:problem:id-conflict';

/** Seconds a client should wait before retrying a transient failure (503). */
export const RETRY_AFTER_SECONDS = 2;

/** One thing wrong with a request: where (a field path, or a record's index and id) and what. */
export interface ProblemItem {
  /** Dotted path of the field, e.g. `changes.3.delta` or `limit`. */
  path?: string;
  /** Position of the record in the request's array. */
  index?: number;
  id?: string;
  message: string;
}

/** An RFC 9457 problem. `title` defaults to the status's reason phrase, `type` to `about:blank`. */
export interface Problem {
  status: number;
  type?: string;
  title?: string;
  detail?: string;
  errors?: ProblemItem[];
  /** Extension members (e.g. `/ready`'s `checks`). */
  [extension: string]: unknown;
}

/** Thrown by handlers and hooks to answer with a problem. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    /** Response headers to add, e.g. `WWW-Authenticate`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title ?? STATUS_CODES[problem.status] ?? String(problem.status));
    this.name = 'HttpProblem';
  }
}

/** Sends a problem; returns the reply so an async hook can `return sendProblem(...)`. */
export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  const { status, type, title, ...rest } = problem;
  const body = { type: type ?? 'about:blank', title: title ?? STATUS_CODES[status] ?? 'Error', status, ...rest };
  return reply.code(status).headers(headers).type('application/problem+json').send(body);
}

/** A 400 naming each invalid field of a zod parse. `root` prefixes the paths (`query`, or none for a body). */
export function invalidRequest(issues: readonly z.core.$ZodIssue[], root?: string): HttpProblem {
  const errors = issues.map((issue) => {
    const path = [...(root ? [root] : []), ...issue.path.map(String)].join('.');
    return { path: path || '(body)', message: issue.message };
  });
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return new HttpProblem({ status: 400, type: INVALID_REQUEST, title: 'Invalid request', detail, errors });
}

/** A 400 naming one field of the body. */
export function invalidField(path: string, message: string): HttpProblem {
  return new HttpProblem({ status: 400, type: INVALID_REQUEST, title: 'Invalid request', detail: `${path}: ${message}`, errors: [{ path, message }] });
}

/** Parses `value` with `schema`, or throws a 400 naming the fields. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, root?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(result.error.issues, root);
  return result.data;
}

/** The first line of a ledger refusal: the summary, without the per-record list a problem carries as `errors`. */
export function summaryOf(error: LedgerInputError): string {
  return error.message.split('\n', 1)[0] ?? error.message;
}

/**
 * A ledger refusal as a problem. 409 when every problem is an id reused with
 * other content (already stored, or twice in one request): the request is
 * well formed, it conflicts with the ledger's state; 400 otherwise.
 * @param where - locates a problem with a `line` in the request, when the request had records.
 */
export function ledgerProblem(error: LedgerInputError, where?: (problem: InputProblem & { line: number }) => Pick<ProblemItem, 'index' | 'path'>): HttpProblem {
  const errors = error.problems.map((p) => ({
    ...(p.line !== undefined && where ? where({ ...p, line: p.line }) : {}),
    ...(p.id !== undefined ? { id: p.id } : {}),
    message: p.reason,
  }));
  if (error.problems.length > 0 && error.problems.every(isIdConflict)) {
    const ids = [...new Set(error.problems.map((p) => p.id ?? '?'))];
    return new HttpProblem({
      status: 409,
      type: ID_CONFLICT,
      title: 'Id reused with other content',
      detail: `${ids.length === 1 ? 'this id is' : 'these ids are'} already used with other content: ${ids.map((id) => JSON.stringify(id)).join(', ')}; nothing was written`,
      ids,
      errors,
    });
  }
  return new HttpProblem({ status: 400, type: LEDGER_REFUSED, title: 'Refused by the ledger', detail: summaryOf(error), ...(errors.length > 0 ? { errors } : {}) });
}

/** An id already used with other content: the ledger marks it `kind: 'conflict'`. */
export function isIdConflict(problem: InputProblem): boolean {
  return problem.kind === 'conflict';
}

/** Fastify's own client errors (a bad JSON body, too large, wrong media type): their messages are safe to show. */
function isFrameworkClientError(error: FastifyError): boolean {
  const status = error.statusCode ?? 0;
  return status >= 400 && status < 500 && (error.code?.startsWith('FST_') === true || error instanceof SyntaxError);
}

/** Turns any error into the problem a client may see, and logs what the client may not. */
export function problemOf(error: unknown, request: FastifyRequest, bodyLimit: number): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof HttpProblem) return { problem: error.problem, headers: error.headers };
  if (error instanceof LedgerInputError) {
    const p = ledgerProblem(error);
    return { problem: p.problem, headers: p.headers };
  }
  if (error instanceof SoftstakeError && error.retryable) {
    request.log.warn({ err: error }, 'transient failure; the client may retry');
    return {
      problem: { status: 503, title: 'Service Unavailable', detail: 'a transient failure (e.g. a database conflict or a dropped connection); retry the request' },
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError?.statusCode !== undefined && isFrameworkClientError(fastifyError)) {
    const status = fastifyError.statusCode;
    const detail = status === 413 ? `the request body is larger than the limit of ${bodyLimit} bytes` : fastifyError.message;
    return { problem: { status, detail }, headers: {} };
  }

  const status = fastifyError?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) return { problem: { status }, headers: {} };
  request.log.error({ err: error }, 'unexpected error');
  return { problem: { status: 500, title: 'Internal Server Error' }, headers: {} };
}

/** Installs the problem error handler, the 404 handler and the router's own errors on the root instance. */
export function installProblemHandlers(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error, request, reply) => {
    const { problem, headers } = problemOf(error, request, bodyLimit);
    return sendProblem(reply, problem, headers);
  });
  app.setNotFoundHandler(notFound);
}

/**
 * Errors Node reports before a request exists (Fastify's `clientErrorHandler`):
 * the request took too long (408), its headers are too large (431), or it
 * is not HTTP (400). Answered as problems like everything else, written to
 * the socket, which is then closed.
 */
export function writeClientErrorProblem(error: Error & { code?: string }, socket: Duplex, logger: Pick<Logger, 'debug'>): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'the request (headers and body) did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'the request headers are too large']
        : [400, 'the request is not valid HTTP'];
  logger.debug({ code: error.code, status }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status], status, detail });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** 404 as a problem naming the route asked for (without its query). */
export function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, { status: 404, detail: `no route ${request.method} ${pathOf(request.url)}` });
}
