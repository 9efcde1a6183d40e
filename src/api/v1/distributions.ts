/**
 * Distributions: the closed periods of an asset, newest first, and closing
 * one now. The same operation as `softstake distribute`: one transaction,
 * idempotent by `<asset>:<period end>`.
 */
import type { FastifyInstance } from 'fastify';
import * as z from 'zod';

import { distribute, listDistributions } from '../../ledger/distribute.js';
import { distributionJson } from '../../ledger/json.js';
import { formatInstant } from '../../ledger/time.js';
import type { ApiDeps } from '../deps.js';
import { parseRequest } from '../problems.js';
import { assetSymbol, instant, limit, strictObject } from './params.js';

/** Registers `GET /distributions` and `POST /distributions` (under `/v1`). */
export function registerDistributionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const now = deps.now ?? Date.now;
  const asset = assetSymbol(deps.config);
  const listQuery = strictObject({ asset, limit, before: instant.optional() }, 'query parameters asset, limit, before');
  const runBody = strictObject(
    {
      asset,
      periodEnd: instant.optional(),
      dryRun: z.boolean({ error: 'expected true or false' }).optional(),
    },
    'a JSON object {"asset", "periodEnd"?, "dryRun"?}',
  );

  app.get('/distributions', async (request) => {
    const query = parseRequest(listQuery, request.query, 'query');
    // One more than asked tells whether there is a next page; period ends are unique per asset.
    const rows = await listDistributions(deps.pool, query.asset.symbol, { limit: query.limit + 1, ...(query.before !== undefined ? { before: query.before } : {}) });
    const page = rows.slice(0, query.limit);
    const next = rows.length > query.limit ? formatInstant(page.at(-1)!.periodEnd) : null;
    return { asset: query.asset.symbol, distributions: page.map(distributionJson), next };
  });

  app.post('/distributions', async (request, reply) => {
    const input = parseRequest(runBody, request.body);
    const result = await distribute(deps.pool, { asset: input.asset, periodEnd: input.periodEnd ?? now(), dryRun: input.dryRun ?? false, now });
    if (!result.existing && !result.dryRun) {
      request.log.info({ distribution: result.id, distributed: result.distributed.toString(), creditedUsers: result.creditedUsers }, 'distributed');
    }
    return reply.code(result.existing || result.dryRun ? 200 : 201).send(distributionJson(result));
  });
}
