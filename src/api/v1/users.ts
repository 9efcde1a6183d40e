/**
 * A user's view: current balances, and the history of rewards credited,
 * newest first. The same reads as `softstake balances show` and `history`.
 */
import type { FastifyInstance } from 'fastify';
import * as z from 'zod';

import { userBalances, userHistory, type HistoryEntry } from '../../ledger/history.js';
import { balancesJson, historyJson } from '../../ledger/json.js';
import { formatInstant } from '../../ledger/time.js';
import type { ApiDeps } from '../deps.js';
import { parseRequest } from '../problems.js';
import { assetSymbol, idString, instant, limit, strictObject } from './params.js';

const params = z.object({ id: idString });

/** Registers `GET /users/:id/balances` and `GET /users/:id/rewards` (under `/v1`). */
export function registerUserRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const rewardsQuery = strictObject({ asset: assetSymbol(deps.config).optional(), limit, before: instant.optional() }, 'query parameters asset, limit, before');

  app.get('/users/:id/balances', async (request) => {
    const { id } = parseRequest(params, request.params, 'params');
    const held = await userBalances(deps.pool, id);
    return { user: id, balances: balancesJson(held) };
  });

  app.get('/users/:id/rewards', async (request) => {
    const { id } = parseRequest(params, request.params, 'params');
    const query = parseRequest(rewardsQuery, request.query, 'query');
    const page = await historyPage(deps, { user: id, ...(query.asset ? { asset: query.asset.symbol } : {}), limit: query.limit, before: query.before });
    return { user: id, rewards: page.entries.map(historyJson), next: page.next === null ? null : formatInstant(page.next) };
  });
}

/**
 * One page of a user's history, keyset-paginated by period end: `next` is
 * the `before` of the following page. Entries of different assets can share
 * a period end, so a page never ends inside such a group (the next page would
 * skip the rest of it): the group moves to the next page whole, or, when it
 * alone is larger than `limit`, fills this page whole (at most one entry per
 * asset, so a page exceeds `limit` by fewer than the number of assets).
 */
export async function historyPage(
  deps: ApiDeps,
  query: { user: string; asset?: string; limit: number; before: number | undefined },
): Promise<{ entries: HistoryEntry[]; next: number | null }> {
  const base = { user: query.user, ...(query.asset ? { asset: query.asset } : {}), ...(query.before !== undefined ? { before: query.before } : {}) };
  const rows = await userHistory(deps.pool, { ...base, limit: query.limit + 1 });
  if (rows.length <= query.limit) return { entries: rows, next: null };
  const entries = rows.slice(0, query.limit);
  const boundary = entries.at(-1)!.periodEnd;
  if (rows[query.limit]!.periodEnd !== boundary) return { entries, next: boundary };
  const before = entries.filter((e) => e.periodEnd !== boundary);
  if (before.length > 0) return { entries: before, next: before.at(-1)!.periodEnd };
  // The group alone fills the page: return it whole, and look past it for a next page.
  // A user has at most one entry per asset and period end: the ledger's assets bound the group.
  const assets = await deps.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_assets');
  const group = await userHistory(deps.pool, { ...base, before: boundary + 1, limit: assets.rows[0]!.n + 1 });
  const whole = group.filter((e) => e.periodEnd === boundary);
  return { entries: whole, next: group.length > whole.length ? boundary : null };
}
