/**
 * `POST /v1/reward-events`: a reward (or, negative, a slash) the operator
 * records by hand, as `softstake rewards record` does. Idempotent by id: a
 * retry must send the same content, `at` included (when `at` is left out it
 * is the time of each request, so a retry would conflict).
 */
import type { FastifyInstance } from 'fastify';
import * as z from 'zod';

import { parseInputAmount, timeProblem, windowOf } from '../../ledger/inputRules.js';
import { recordRewardEvent } from '../../ledger/rewards.js';
import { formatInstant } from '../../ledger/time.js';
import type { ApiDeps } from '../deps.js';
import { invalidField, parseRequest } from '../problems.js';
import { assetSymbol, idString, instant, strictObject } from './params.js';

/** Where a hand-recorded event came from, unless the request says. */
export const DEFAULT_SOURCE = 'manual';

const amount = z.string({ error: 'expected a signed integer string of base units like "5000" or "-120"' }).transform((text, ctx) => {
  const value = parseInputAmount(text, '"5000" or "-120"');
  if (typeof value === 'string') {
    ctx.addIssue({ code: 'custom', message: value });
    return z.NEVER;
  }
  return value;
});

const source = z
  .string({ error: 'expected a short name like "manual"' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, { error: 'expected 1 to 64 letters, digits, ".", "_", ":" or "-"' });

/** Registers `POST /reward-events` (under `/v1`). */
export function registerRewardEventRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const now = deps.now ?? Date.now;
  const body = strictObject(
    { id: idString, asset: assetSymbol(deps.config), amount, at: instant.optional(), source: source.optional() },
    'a JSON object {"id", "asset", "amount", "at"?, "source"?}',
  );

  app.post('/reward-events', async (request, reply) => {
    const input = parseRequest(body, request.body);
    const at = now();
    const event = { id: input.id, asset: input.asset.symbol, amount: input.amount, at: input.at ?? at, source: input.source ?? DEFAULT_SOURCE };
    const late = timeProblem(event.at, event.asset, windowOf(deps.config, at));
    if (late !== undefined) throw invalidField('at', late);
    const result = await recordRewardEvent(deps.pool, event);
    return reply.code(result.recorded > 0 ? 201 : 200).send({
      id: event.id,
      asset: event.asset,
      amount: event.amount.toString(),
      at: formatInstant(event.at),
      source: event.source,
      recorded: result.recorded,
      duplicates: result.duplicates,
    });
  });
}
