import type pg from 'pg';

import type { AssetConfig } from '../src/config/index.js';
import { toBigInt, toMillis, withTransaction } from '../src/ledger/db.js';
import { distributionId } from '../src/ledger/distribute.js';
import { post } from '../src/ledger/journal.js';
import { referenceAllocate } from '../src/ledger/reference.js';

export interface NaiveResult {
  id: string;
  distributed: bigint;
  creditedUsers: number;
}

/**
 * The baseline a set-based distribution is measured against: the way a
 * distribution is first written without thinking about scale. Every change
 * of the asset is read into Node, the integrals, weights and largest
 * remainder are computed there (`referenceAllocate`), then each user costs
 * one UPDATE of the balance and one INSERT of the allocation, in one
 * transaction. First distribution of the asset only; no dry run, no reruns.
 */
export async function naiveDistribute(pool: pg.Pool, options: { asset: AssetConfig; periodEnd: number }): Promise<NaiveResult> {
  const { asset, periodEnd: e } = options;
  const id = distributionId(asset.symbol, e);
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT 1 FROM ledger_assets WHERE symbol = $1 FOR UPDATE', [asset.symbol]);
    const changes = await tx.query<{ user_id: string; delta: string; at: string }>(
      'SELECT user_id, delta, at FROM balance_changes WHERE asset = $1',
      [asset.symbol],
    );
    const rewards = await tx.query<{ r: string }>(
      'SELECT coalesce(sum(amount), 0) AS r FROM reward_events WHERE asset = $1 AND distribution_id IS NULL AND at <= $2',
      [asset.symbol, e],
    );
    const s = changes.rows.reduce((min, c) => Math.min(min, toMillis(c.at)), Infinity);
    const result = referenceAllocate({
      periodStart: s,
      periodEnd: e,
      changes: changes.rows.map((c) => ({ user: c.user_id, delta: toBigInt(c.delta), at: toMillis(c.at) })),
      reward: toBigInt(rewards.rows[0]!.r),
      minHolding: asset.minHolding,
      cap: asset.cap,
      commissionBps: asset.commissionBps,
    });
    if (!result.allocated) throw new Error(`naive baseline: nothing to allocate for ${id}`);

    await tx.query(
      `INSERT INTO distributions (id, asset, period_start, period_end, gross, commission, distributed, carried,
                                  eligible_users, total_weight, commission_bps, min_holding, cap, credited_users)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13)`,
      [
        id,
        asset.symbol,
        s,
        e,
        result.gross.toString(),
        result.commission.toString(),
        result.distributed.toString(),
        result.eligibleUsers,
        result.totalWeight.toString(),
        asset.commissionBps,
        asset.minHolding.toString(),
        asset.cap?.toString() ?? null,
        result.allocations.size,
      ],
    );
    await tx.query('UPDATE ledger_assets SET last_period_end = $2 WHERE symbol = $1', [asset.symbol, e]);
    for (const [user, allocation] of result.allocations) {
      await tx.query('UPDATE balances SET amount = amount + $3 WHERE asset = $1 AND user_id = $2', [
        asset.symbol,
        user,
        allocation.amount.toString(),
      ]);
      await tx.query('INSERT INTO allocations (user_id, distribution_id, amount, avg_balance) VALUES ($1, $2, $3, $4)', [
        user,
        id,
        allocation.amount.toString(),
        allocation.avgBalance.toString(),
      ]);
    }
    await tx.query('UPDATE reward_events SET distribution_id = $2 WHERE asset = $1 AND distribution_id IS NULL AND at <= $3', [
      asset.symbol,
      id,
      e,
    ]);
    await post(tx, id, asset.symbol, e, [
      ['rewards', result.gross],
      ['operator', -result.commission],
      ['users', -result.distributed],
    ]);
    return { id, distributed: result.distributed, creditedUsers: result.allocations.size };
  });
}
