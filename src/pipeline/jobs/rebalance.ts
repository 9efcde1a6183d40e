/**
 * `rebalance`: keeps the liquidity buffer at its size. Unfinished actions
 * (an intent signed with its outcome unknown, or a multi-transaction action
 * stopped between two steps) are finished first; only then is the position
 * read again and new stake planned, within the chain's limits. So a crash
 * between broadcast and bookkeeping never leads to a second signature for
 * the same stake.
 *
 * All of it runs under the chain's signer lock in PostgreSQL (see
 * `signerLock.ts`): two workers, whatever Redis they take jobs from, never
 * plan from the same position. An open intent that is stuck (see
 * `finishActions`) stops the planning, not the chain's other jobs.
 */
import { toBigInt } from '../../ledger/db.js';
import type { PipelineContext } from '../context.js';
import { type ChainAdapter, targetsOf } from '../../../adapters/types.js';
import { amountOf, finishActions, runAction, type Signing, type StuckIntent, targetOf } from '../intents.js';
import { planRebalance } from '../plan.js';
import { withSignerLock } from '../signerLock.js';

export interface RebalanceSummary {
  resumed: number;
  /** The liquid amount the policy asks for; absent when nothing was planned because an intent is stuck. */
  buffer?: string;
  /** Open intents that could not be resolved: nothing was planned. */
  stuck?: StuckIntent[];
  actions: { kind: string; validator: string; amount: string; status: string; hash?: string }[];
  /** A limit that kept the plan from covering the whole buffer, where one did. */
  held?: string;
}

/**
 * @param jobKey - deterministic per job (its id): intent ids derive from it,
 *   so a retried job resumes its own intents rather than signing anew.
 */
export async function rebalance(ctx: PipelineContext, chainName: string, jobKey: string): Promise<RebalanceSummary> {
  const adapter = ctx.adapters.get(chainName)!;
  return withSignerLock(ctx.pool, chainName, (lock) => rebalanceLocked(ctx, { pool: ctx.pool, lock, now: ctx.now }, adapter, jobKey));
}

async function rebalanceLocked(ctx: PipelineContext, s: Signing, adapter: ChainAdapter, jobKey: string): Promise<RebalanceSummary> {
  const chainName = adapter.name;
  const chain = ctx.config.chains[chainName]!;

  const { finished: resumed, stuck } = await finishActions(s, adapter, ctx.logger);
  if (stuck.length > 0) return { resumed, stuck, actions: [] };

  const [position, limits] = await Promise.all([adapter.position(), adapter.limits()]);
  const users = await ctx.pool.query<{ total: string }>('SELECT coalesce(sum(amount), 0) AS total FROM balances WHERE asset = $1', [chain.asset]);
  const plan = planRebalance({
    position,
    usersTotal: toBigInt(users.rows[0]!.total),
    policy: chain.stake,
    validators: chain.validators,
    limits,
  });
  if (plan.held !== undefined) ctx.logger.info({ chain: chainName, held: plan.held }, 'rebalance held back by the chain limits');

  const actions: RebalanceSummary['actions'] = [];
  for (const [index, action] of plan.actions.entries()) {
    // Unique per plan: a retried job planning again at the same height makes
    // the same plan and resumes these intents; a new height is a new plan.
    const outcome = await runAction(s, adapter, `${chainName}:${jobKey}:${position.height}:${index}`, action);
    const status = outcome.status === 'already' ? outcome.intent.status : outcome.status;
    const hash = outcome.status === 'confirmed' ? outcome.receipt.hash : outcome.status === 'already' ? outcome.intent.txHash : outcome.error.hash;
    // A batched move (TRON: one freeze and one vote for every SR) is one line per target, each with the action's outcome.
    const lines = targetsOf(action).map((t) => ({ kind: action.kind, validator: t.validator, amount: t.amount.toString(), status, ...(hash ? { hash } : {}) }));
    actions.push(...lines);
    const log = { chain: chainName, ...lines[0], ...(lines.length > 1 ? { validator: targetOf(action), amount: amountOf(action)!.toString() } : {}) };
    if (status === 'failed' || status === 'rejected') {
      ctx.logger.error({ ...log, error: outcome.status !== 'confirmed' && outcome.status !== 'already' ? outcome.error.message : undefined }, `${action.kind} ${status}`);
    } else {
      ctx.logger.info(log, `${action.kind} ${status}`);
    }
  }
  return { resumed, buffer: plan.buffer.toString(), actions, ...(plan.held === undefined ? {} : { held: plan.held }) };
}
