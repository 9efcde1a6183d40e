/**
 * JSON request bodies are parsed once, strictly: invalid JSON, a repeated
 * key within an object, or a `__proto__` key is a 400 naming what is wrong
 * (see `strictJson.ts`).
 */
import type { FastifyInstance } from 'fastify';

import { JsonKeyError, parseStrictJson } from '../strictJson.js';
import { HttpProblem, INVALID_REQUEST } from './problems.js';

function invalidBody(detail: string): HttpProblem {
  return new HttpProblem({ status: 400, type: INVALID_REQUEST, title: 'Invalid request', detail, errors: [{ path: '(body)', message: detail }] });
}

/** Replaces Fastify's JSON parser on `app` (and every scope registered after). */
export function installStrictJson(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(invalidBody('the body is empty; expected a JSON document'), undefined);
    try {
      done(null, parseStrictJson(text));
    } catch (error) {
      done(invalidBody(error instanceof JsonKeyError ? `the body is refused: ${error.message}` : 'the body is not valid JSON'), undefined);
    }
  });
}
