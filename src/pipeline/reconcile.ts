/**
 * Reconciliation: per asset, what the chain holds against what the ledger
 * owes. The chain must hold at least the ledger's liabilities; more is fine
 * (rewards earned, not yet claimed or distributed), less means money is
 * missing and an operator must look.
 */
import type pg from 'pg';

import type { ChainAdapter } from '../../adapters/types.js';
import { toBigInt } from '../ledger/db.js';
import { totals } from './positions.js';

export interface ReconcileRow {
  asset: string;
  chain: string;
  height: bigint;
  /** Liquid + staked + unbonding + claimable rewards. */
  onChain: { liquid: bigint; staked: bigint; unbonding: bigint; pendingRewards: bigint; total: bigint };
  /** The ledger's liabilities: users' balances, rewards not yet distributed, the operator's account. */
  ledger: { users: bigint; undistributed: bigint; operator: bigint; owed: bigint };
  /** onChain.total − ledger.owed; negative is a shortfall. */
  surplus: bigint;
  /** Σ balances differs from the journal's users account: the ledger itself is inconsistent. */
  journalMismatch: bigint;
}

export async function reconcile(pool: pg.Pool, adapters: Map<string, ChainAdapter>): Promise<ReconcileRow[]> {
  const rows: ReconcileRow[] = [];
  for (const adapter of adapters.values()) {
    // The ledger first: every reward it records was on chain before it was
    // recorded, so the chain read after it holds at least that. Read the
    // other way round, a harvest that books a reward accrued after the
    // chain was read shows as a shortfall it is not (seen in a loaded run).
    const { rows: sums } = await pool.query<{ users: string; rewards: string; operator: string; balances: string }>(
      `SELECT coalesce(-sum(amount) FILTER (WHERE account = 'users'), 0)    AS users,
              coalesce(-sum(amount) FILTER (WHERE account = 'rewards'), 0)  AS rewards,
              coalesce(-sum(amount) FILTER (WHERE account = 'operator'), 0) AS operator,
              (SELECT coalesce(sum(amount), 0) FROM balances WHERE asset = $1) AS balances
         FROM postings WHERE asset = $1`,
      [adapter.asset],
    );
    const position = await adapter.position();
    const { staked, unbonding, total } = totals(position);
    const s = sums[0]!;
    const users = toBigInt(s.users);
    const undistributed = toBigInt(s.rewards);
    const operator = toBigInt(s.operator);
    const owed = users + undistributed + operator;
    rows.push({
      asset: adapter.asset,
      chain: adapter.name,
      height: position.height,
      onChain: { liquid: position.liquid, staked, unbonding, pendingRewards: position.pendingRewards, total },
      ledger: { users, undistributed, operator, owed },
      surplus: total - owed,
      journalMismatch: toBigInt(s.balances) - users,
    });
  }
  return rows;
}
