/**
 * Who may call what: a bearer token for `/v1`, basic auth for the queue
 * dashboard. Secrets are compared in constant time (SHA-256 digests of equal
 * length through `timingSafeEqual`), so neither their content nor their
 * length leaks through response times.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

import { HttpProblem } from './problems.js';

/** The realm named in `WWW-Authenticate` challenges. */
export const REALM = 'softstake';

/** Whether `given` equals `expected`, in time independent of both. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/**
 * Headers for a refusal sent before the request's body was read: when a body
 * is coming, the connection is closed after the answer, so an unauthenticated
 * client can neither make the server read 4 MiB nor hold the connection by
 * sending it a byte at a time.
 */
export function refusalHeaders(request: FastifyRequest): Record<string, string> {
  const length = Number(request.headers['content-length'] ?? 0);
  return length > 0 || request.headers['transfer-encoding'] !== undefined ? { connection: 'close' } : {};
}

/**
 * An onRequest hook refusing requests without `Authorization: Bearer <token>`
 * (401, with the RFC 6750 challenge). Runs before the body is read (see
 * `refusalHeaders`).
 */
export function bearerAuth(token: string): onRequestAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    if (match && sameSecret(match[1]!, token)) return;
    const challenge = match ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`;
    throw new HttpProblem(
      {
        status: 401,
        title: 'Unauthorized',
        detail: match ? 'the bearer token is not valid' : 'send the API token as `Authorization: Bearer <token>`',
      },
      { 'www-authenticate': challenge, ...refusalHeaders(request) },
    );
  };
}
