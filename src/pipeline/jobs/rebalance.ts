/**
 * `rebalance`: keeps the liquidity buffer at its size. Open intents (signed,
 * outcome unknown) are finished first, by re-broadcasting their stored
 * bytes; only then is the position read again and new stake planned. So a
 * crash between broadcast and bookkeeping never leads to a second signature
 * for the same stake.
 */
import { toBigInt } from '../../ledger/db.js';
import type { PipelineContext } from '../context.js';
import { executeIntent, openIntents, resumeIntent } from '../intents.js';
import { planRebalance } from '../plan.js';

export interface RebalanceSummary {
  resumed: number;
  buffer: string;
  actions: { kind: string; validator: string; amount: string; status: string; hash?: string }[];
}

/**
 * @param jobKey - deterministic per job (its id): intent ids derive from it,
 *   so a retried job resumes its own intents rather than signing anew.
 */
export async function rebalance(ctx: PipelineContext, chainName: string, jobKey: string): Promise<RebalanceSummary> {
  const adapter = ctx.adapters.get(chainName)!;
  const chain = ctx.config.chains[chainName]!;

  const open = await openIntents(ctx.pool, chainName);
  for (const intent of open) {
    const outcome = await resumeIntent(ctx.pool, adapter, intent);
    ctx.logger.info({ chain: chainName, intent: intent.id, hash: intent.txHash, outcome: outcome.status }, 'resumed an open transaction intent');
  }

  const position = await adapter.position();
  const users = await ctx.pool.query<{ total: string }>('SELECT coalesce(sum(amount), 0) AS total FROM balances WHERE asset = $1', [chain.asset]);
  const plan = planRebalance({
    position,
    usersTotal: toBigInt(users.rows[0]!.total),
    policy: chain.stake,
    validators: chain.validators,
  });

  const actions: RebalanceSummary['actions'] = [];
  for (const [index, action] of plan.actions.entries()) {
    // Unique per plan: a retried job planning again at the same height makes
    // the same plan and resumes these intents; a new height is a new plan.
    const outcome = await executeIntent(ctx.pool, adapter, `${chainName}:${jobKey}:${position.height}:${index}`, action);
    const status = outcome.status === 'already' ? outcome.intent.status : outcome.status;
    const hash = outcome.status === 'confirmed' ? outcome.receipt.hash : outcome.status === 'already' ? outcome.intent.txHash : outcome.error.hash;
    actions.push({ kind: action.kind, validator: action.validator, amount: action.amount.toString(), status, ...(hash ? { hash } : {}) });
    const log = { chain: chainName, ...actions.at(-1) };
    if (status === 'failed' || status === 'rejected') {
      ctx.logger.error({ ...log, error: outcome.status !== 'confirmed' && outcome.status !== 'already' ? outcome.error.message : undefined }, `${action.kind} ${status}`);
    } else {
      ctx.logger.info(log, `${action.kind} ${status}`);
    }
  }
  return { resumed: open.length, buffer: plan.buffer.toString(), actions };
}
