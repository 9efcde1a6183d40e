/**
 * The rebalancer's arithmetic, pure: from the chain's position and the
 * users' balances to the stake actions that bring the liquidity buffer back
 * to its size. No I/O, so property tests can hammer it.
 */
import type { Position, StakeAction } from '../../adapters/types.js';
import type { StakePolicy, ValidatorConfig } from '../config/index.js';

export interface RebalanceInput {
  position: Pick<Position, 'liquid' | 'delegations' | 'unbonding'>;
  /** Σ users' balances of the asset in the ledger, base units. */
  usersTotal: bigint;
  policy: StakePolicy;
  validators: readonly ValidatorConfig[];
}

export interface RebalancePlan {
  /** The liquid amount the policy asks for: max(users × (1 − target ratio), minBuffer). */
  buffer: bigint;
  actions: StakeAction[];
}

/**
 * Stakes whatever liquid exceeds the buffer, split over validators by
 * weight; unbonds what the buffer lacks (after counting what is already
 * unbonding), taken from validators by weight and capped by their stake.
 * Moves smaller than `minMove` are skipped.
 */
export function planRebalance(input: RebalanceInput): RebalancePlan {
  const { position, usersTotal, policy, validators } = input;
  const targetStaked = (usersTotal * BigInt(policy.targetRatioBps)) / 10_000n;
  let buffer = usersTotal - targetStaked;
  if (buffer < policy.minBuffer) buffer = policy.minBuffer;
  const minMove = policy.minMove > 0n ? policy.minMove : 1n;

  const liquid = position.liquid;
  if (liquid > buffer) {
    const excess = liquid - buffer;
    if (excess < minMove) return { buffer, actions: [] };
    return { buffer, actions: splitByWeight(excess, validators).map(([validator, amount]) => ({ kind: 'delegate', validator, amount })) };
  }
  const returning = position.unbonding.reduce((sum, u) => sum + u.amount, 0n);
  const shortfall = buffer - liquid - returning;
  if (shortfall < minMove) return { buffer, actions: [] };
  return { buffer, actions: takeByWeight(shortfall, position.delegations, validators).map(([validator, amount]) => ({ kind: 'undelegate', validator, amount })) };
}

/** floor(amount × w / W) each; the remainder to the heaviest validator (first listed on ties). */
export function splitByWeight(amount: bigint, validators: readonly ValidatorConfig[]): [string, bigint][] {
  const total = BigInt(validators.reduce((sum, v) => sum + v.weight, 0));
  if (total === 0n || amount <= 0n) return [];
  const parts = validators.map((v): [string, bigint] => [v.address, (amount * BigInt(v.weight)) / total]);
  const rest = amount - parts.reduce((sum, [, a]) => sum + a, 0n);
  let heaviest = 0;
  validators.forEach((v, i) => {
    if (v.weight > validators[heaviest]!.weight) heaviest = i;
  });
  parts[heaviest]![1] += rest;
  return parts.filter(([, a]) => a > 0n);
}

/**
 * Takes `amount` out of the delegations: by weight over the configured
 * validators, each capped at its stake, the overflow from the others in
 * turn; then from delegations to validators no longer configured first.
 */
export function takeByWeight(
  amount: bigint,
  delegations: Position['delegations'],
  validators: readonly ValidatorConfig[],
): [string, bigint][] {
  const stake = new Map<string, bigint>();
  for (const d of delegations) stake.set(d.validator, (stake.get(d.validator) ?? 0n) + d.amount);
  const taken = new Map<string, bigint>();
  let left = amount;
  const take = (validator: string, want: bigint) => {
    const available = (stake.get(validator) ?? 0n) - (taken.get(validator) ?? 0n);
    const got = want < available ? want : available;
    if (got > 0n) {
      taken.set(validator, (taken.get(validator) ?? 0n) + got);
      left -= got;
    }
  };
  // Stake left with validators the operator removed from the config goes first.
  const configured = new Set(validators.map((v) => v.address));
  for (const validator of stake.keys()) if (!configured.has(validator) && left > 0n) take(validator, left);
  if (left > 0n) for (const [validator, share] of splitByWeight(left, validators)) take(validator, share);
  for (const v of validators) if (left > 0n) take(v.address, left);
  return [...taken.entries()].filter(([, a]) => a > 0n);
}
