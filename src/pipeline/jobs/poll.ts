/**
 * `poll`: reads the custody account's position and stores a snapshot.
 * Validator trouble (jailed, out of the active set, commission changed since
 * the last poll) is logged as a warning; the metrics read it from the
 * snapshot.
 */
import type { ValidatorHealth } from '../../../adapters/types.js';
import type { PipelineContext } from '../context.js';
import { previousPosition, prunePositions, storePosition, totals } from '../positions.js';

export interface PollResult {
  height: string;
  liquid: string;
  staked: string;
  unbonding: string;
  withdrawable: string;
  pendingRewards: string;
}

export async function poll(ctx: PipelineContext, chain: string): Promise<PollResult> {
  const adapter = ctx.adapters.get(chain)!;
  const position = await adapter.position();
  const before = await previousPosition(ctx.pool, chain);
  await storePosition(ctx.pool, chain, adapter.asset, position);
  await prunePositions(ctx.pool, chain, ctx.now());

  const was = new Map((before?.detail.validators ?? []).map((v) => [v.validator, v]));
  for (const health of position.validators) {
    for (const problem of validatorProblems(health, was.get(health.validator))) {
      ctx.logger.warn({ chain, validator: health.validator, problem }, `validator ${health.validator}: ${problem}`);
    }
  }
  if (position.idle !== undefined && position.idle > 0n) {
    ctx.logger.warn({ chain, idle: position.idle.toString() }, `${position.idle} base units bonded but backing no validator (earning nothing) until the next rebalance assigns them`);
  }
  const { staked, unbonding } = totals(position);
  return {
    height: position.height.toString(),
    liquid: position.liquid.toString(),
    staked: staked.toString(),
    unbonding: unbonding.toString(),
    withdrawable: position.withdrawable.toString(),
    pendingRewards: position.pendingRewards.toString(),
  };
}

/** What an operator should hear about a validator, compared with the last poll. */
export function validatorProblems(now: ValidatorHealth, before: ValidatorHealth | undefined): string[] {
  const problems: string[] = [];
  if (now.jailed) problems.push('jailed');
  else if (!now.active) problems.push('not in the active set');
  if (before?.commissionBps !== undefined && now.commissionBps !== undefined && before.commissionBps !== now.commissionBps) {
    problems.push(`commission changed from ${before.commissionBps / 100}% to ${now.commissionBps / 100}%`);
  }
  return problems;
}
