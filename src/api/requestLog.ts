/**
 * What a request log line says about the request: method, path and the
 * peer. Never the query string (a client may put a key there), never
 * headers or the body.
 */
import type { FastifyRequest } from 'fastify';

/** pino serializer for `req` in Fastify's request log lines. */
export function requestForLog(request: FastifyRequest): { method: string; path: string; remoteAddress: string | undefined } {
  return { method: request.method, path: pathOf(request.url), remoteAddress: request.ip };
}

/** A request URL without its query string, at most 200 characters. */
export function pathOf(url: string): string {
  return url.split('?', 1)[0]!.slice(0, 200);
}
