import type pg from 'pg';

import { toBigInt, toMillis, type Tx } from './db.js';

/** One credit in a user's distribution history. */
export interface HistoryEntry {
  distributionId: string;
  asset: string;
  amount: bigint;
  /** The user's average balance over the period: floor(I_u / T). */
  avgBalance: bigint;
  periodStart: number;
  periodEnd: number;
}

export interface HistoryQuery {
  user: string;
  asset?: string;
  /** @defaultValue 100 */
  limit?: number;
  /** Only periods ending strictly before this instant (keyset pagination). */
  before?: number;
}

/** A user's distribution history, newest period first. */
export async function userHistory(db: Tx | pg.Pool, query: HistoryQuery): Promise<HistoryEntry[]> {
  const { rows } = await db.query<{
    distribution_id: string;
    asset: string;
    amount: string;
    avg_balance: string;
    period_start: string;
    period_end: string;
  }>(
    `SELECT a.distribution_id, d.asset, a.amount, a.avg_balance, d.period_start, d.period_end
       FROM allocations a JOIN distributions d ON d.id = a.distribution_id
      WHERE a.user_id = $1 AND ($2::text IS NULL OR d.asset = $2)
        AND ($3::bigint IS NULL OR d.period_end < $3)
      ORDER BY d.period_end DESC, d.asset
      LIMIT $4`,
    [query.user, query.asset ?? null, query.before ?? null, query.limit ?? 100],
  );
  return rows.map((r) => ({
    distributionId: r.distribution_id,
    asset: r.asset,
    amount: toBigInt(r.amount),
    avgBalance: toBigInt(r.avg_balance),
    periodStart: toMillis(r.period_start),
    periodEnd: toMillis(r.period_end),
  }));
}

/** A user's current balances (imported changes plus credited rewards), by asset symbol. */
export async function userBalances(db: Tx | pg.Pool, user: string): Promise<Record<string, bigint>> {
  const { rows } = await db.query<{ asset: string; amount: string }>(
    'SELECT asset, amount FROM balances WHERE user_id = $1 ORDER BY asset',
    [user],
  );
  return Object.fromEntries(rows.map((r) => [r.asset, toBigInt(r.amount)]));
}
