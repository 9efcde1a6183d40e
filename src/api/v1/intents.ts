/**
 * `GET /v1/intents`: the transactions the daemon signed, newest first, for
 * the operator: which are open, which are stuck (open, and resuming them
 * failed with an error no retry fixes: the chain signs nothing new until
 * they resolve or are abandoned with `softstake intents abandon`), and who
 * abandoned which. Read-only; abandoning asks the chain and needs the
 * worker's adapters, so it is a CLI command.
 */
import type { FastifyInstance } from 'fastify';
import * as z from 'zod';

import { intentJson } from '../../pipeline/intentJson.js';
import { INTENT_STATUSES, listIntents, type IntentFilter, type IntentStatus } from '../../pipeline/intents.js';
import type { ApiDeps } from '../deps.js';
import { parseRequest } from '../problems.js';
import { limit, strictObject } from './params.js';

/** Registers `GET /intents` (under `/v1`). */
export function registerIntentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const chains = Object.keys(deps.config.chains).sort();
  const query = strictObject(
    {
      chain: z.string({ error: 'expected a chain name, given once' }).refine((name) => chains.includes(name), {
        error: `unknown chain; the config lists ${chains.join(', ') || 'none'}`,
      }).optional(),
      status: z.enum(INTENT_STATUSES as [IntentStatus, ...IntentStatus[]], { error: `expected one of ${INTENT_STATUSES.join(', ')}` }).optional(),
      stuck: z.enum(['true', 'false'], { error: 'expected true or false' }).optional(),
      limit,
    },
    'query parameters chain, status, stuck, limit',
  );

  app.get('/intents', async (request) => {
    const q = parseRequest(query, request.query, 'query');
    const filter: IntentFilter = { limit: q.limit, stuck: q.stuck === 'true' };
    if (q.chain !== undefined) filter.chain = q.chain;
    if (q.status !== undefined) filter.status = q.status;
    const intents = await listIntents(deps.pool, filter);
    return { intents: intents.map(intentJson) };
  });
}
