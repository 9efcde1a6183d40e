/**
 * The rebalancer's arithmetic, pure: from the chain's position, its limits
 * and the users' balances to the stake actions that bring the liquidity
 * buffer back to its size. No I/O, so property tests can hammer it.
 *
 * It never plans what the chain would refuse: no delegation below the
 * chain's minimum stake, every amount a whole multiple of its step, no
 * undelegation that would open more unbonding entries than the chain
 * allows, and the reserve stays liquid.
 *
 * Stake the position reports `idle` (bonded, backing no target: TRON's
 * Tron Power not voted) is part of neither liquid nor any target: it is
 * assigned to validators with the liquid excess (or alone, once it reaches
 * `minMove`) as the `fromIdle` part of delegations, and unbonded first
 * when the buffer lacks. A plan's delegations take Σ(amount − fromIdle)
 * from liquid and Σ fromIdle ≤ idle: no amount counts twice.
 */
import type { ChainLimits, Position, StakeAction } from '../../adapters/types.js';
import type { StakePolicy, ValidatorConfig } from '../config/index.js';

/** Limits of a chain that refuses nothing beyond a positive amount. */
export const NO_LIMITS: ChainLimits = { minStake: 1n, step: 1n, reserve: 0n, typicalFee: 1n };

/**
 * Without a configured `minMove`, moves smaller than this many typical fees
 * (the adapter's `limits().typicalFee`) are skipped: a move then costs at
 * most 1% of itself in fees, and fee dust (the fees the buffer pays, rounding)
 * never triggers a transaction.
 */
export const DEFAULT_MIN_MOVE_FEES = 100n;

/** The smallest move the planner makes: the policy's `minMove`, else {@link DEFAULT_MIN_MOVE_FEES} typical fees; at least 1. */
export function minMoveOf(policy: Pick<StakePolicy, 'minMove'>, limits: Pick<ChainLimits, 'typicalFee'>): bigint {
  const chosen = policy.minMove ?? DEFAULT_MIN_MOVE_FEES * limits.typicalFee;
  return chosen > 0n ? chosen : 1n;
}

export interface RebalanceInput {
  position: Pick<Position, 'liquid' | 'delegations' | 'unbonding'> & Partial<Pick<Position, 'withdrawable' | 'idle'>>;
  /** Σ users' balances of the asset in the ledger, base units. */
  usersTotal: bigint;
  policy: StakePolicy;
  validators: readonly ValidatorConfig[];
  /** @defaultValue {@link NO_LIMITS} */
  limits?: ChainLimits;
}

type StakeMove = Extract<StakeAction, { kind: 'delegate' | 'undelegate' }>;

export interface RebalancePlan {
  /** The liquid amount the policy asks for: max(users × (1 − target ratio), minBuffer). */
  buffer: bigint;
  actions: StakeMove[];
  /** Why less was planned than the buffer asks for (a limit in the way), for the log. */
  held?: string;
}

function roundDown(amount: bigint, step: bigint): bigint {
  return amount - (amount % step);
}

function roundUp(amount: bigint, step: bigint): bigint {
  const rest = amount % step;
  return rest === 0n ? amount : amount + step - rest;
}

/**
 * Stakes whatever spendable liquid (liquid − reserve) exceeds the buffer,
 * split over validators by weight; unbonds what the buffer lacks (after
 * counting what is already unbonding or withdrawable), taken from
 * validators by weight and capped by their stake and their free unbonding
 * entries. Moves smaller than `minMove` (default: {@link DEFAULT_MIN_MOVE_FEES}
 * typical fees) are skipped. Idle stake is delegated with the excess, or
 * unbonded before any validator's stake when the buffer lacks.
 */
export function planRebalance(input: RebalanceInput): RebalancePlan {
  const plan = planMoves(input);
  return input.limits?.batchTargets === true ? { ...plan, actions: batched(plan.actions) } : plan;
}

/**
 * One delegate and one undelegate carrying every target (`also`), for
 * chains whose limits say `batchTargets`: undelegations first, as planned.
 */
function batched(actions: StakeMove[]): StakeMove[] {
  const out: StakeMove[] = [];
  for (const kind of ['undelegate', 'delegate'] as const) {
    const [first, ...rest] = actions.filter((a) => a.kind === kind);
    if (first === undefined) continue;
    out.push(rest.length === 0 ? first : { ...first, also: rest.map(({ validator, amount, fromIdle }) => ({ validator, amount, ...(fromIdle === undefined ? {} : { fromIdle }) })) });
  }
  return out;
}

function planMoves(input: RebalanceInput): RebalancePlan {
  const { position, usersTotal, policy, validators } = input;
  const limits = input.limits ?? NO_LIMITS;
  const step = limits.step > 0n ? limits.step : 1n;
  const minStake = limits.minStake > 0n ? limits.minStake : 1n;
  const targetStaked = (usersTotal * BigInt(policy.targetRatioBps)) / 10_000n;
  let buffer = usersTotal - targetStaked;
  if (buffer < policy.minBuffer) buffer = policy.minBuffer;
  const minMove = minMoveOf(policy, limits);

  const idle = roundDown(position.idle !== undefined && position.idle > 0n ? position.idle : 0n, step);
  // Idle stake alone is assigned only once it is worth a transaction's fee, like any move.
  const idleAlone = idle >= minMove && idle >= minStake ? idle : 0n;

  const spendable = position.liquid > limits.reserve ? position.liquid - limits.reserve : 0n;
  if (spendable > buffer) {
    const excess = roundDown(spendable - buffer, step);
    const fromLiquid = excess >= minMove && excess >= minStake ? excess : 0n;
    // With liquid to stake anyway, idle stake of any size rides along.
    const fromIdle = fromLiquid > 0n ? idle : idleAlone;
    return { buffer, actions: delegations(fromLiquid, fromIdle, validators, step, minStake) };
  }
  const returning = position.unbonding.reduce((sum, u) => sum + u.amount, 0n) + (position.withdrawable ?? 0n);
  const lacking = buffer - spendable - returning;
  if (lacking < minMove || lacking <= 0n) return { buffer, actions: delegations(0n, idleAlone, validators, step, minStake) };
  // Idle stake earns nothing: unbonded before any target gives up stake.
  const fullShortfall = roundUp(lacking, step);
  const unbondIdle = idle < fullShortfall ? idle : fullShortfall;
  const shortfall = fullShortfall - unbondIdle;

  // Targets whose unbonding entries are all taken cannot unbond now.
  const stakes = [...position.delegations];
  const entries = limits.maxUnbondingEntries;
  let held: string | undefined;
  let slots = Infinity;
  let open = stakes;
  if (entries?.per === 'target') {
    const count = new Map<string, number>();
    for (const u of position.unbonding) if (u.validator !== undefined) count.set(u.validator, (count.get(u.validator) ?? 0) + 1);
    open = stakes.filter((d) => (count.get(d.validator) ?? 0) < entries.count);
    if (open.length < stakes.length) held = `${stakes.length - open.length} validator(s) at ${entries.count} open unbonding entries`;
  } else if (entries?.per === 'account') {
    slots = entries.count - position.unbonding.length;
    if (slots <= 0) return { buffer, actions: [], held: `${position.unbonding.length} unbonding entries open, the chain allows ${entries.count}` };
  }
  if (limits.unbondingRestarts === 'target') open = sparingRelocks(open, position.unbonding, shortfall);
  let taken = shortfall > 0n ? takeByWeight(shortfall, open, validators) : [];
  // Batched, one undelegation opens one entry whatever its targets.
  if ((limits.batchTargets === true ? Math.min(taken.length, 1) : taken.length) > slots) {
    // Fewer, larger undelegations: from the largest stakes first.
    const largest = [...open].sort((a, b) => (a.amount === b.amount ? a.validator.localeCompare(b.validator) : a.amount > b.amount ? -1 : 1)).slice(0, slots);
    taken = takeByWeight(shortfall, largest, validators.filter((v) => largest.some((d) => d.validator === v.address)));
    held ??= `at most ${slots} more unbonding entries`;
  }
  const actions: StakeMove[] = [];
  for (const [validator, amount] of taken) {
    const whole = roundDown(amount, step);
    if (whole > 0n) actions.push({ kind: 'undelegate', validator, amount: whole });
  }
  if (unbondIdle > 0n) {
    // Rides on the first undelegation (no extra unbonding entry), else on its own, named by the heaviest validator.
    const first = actions[0];
    const heaviest = validators.reduce<ValidatorConfig | undefined>((best, v) => (best === undefined || v.weight > best.weight ? v : best), undefined);
    if (first !== undefined) actions[0] = { ...first, amount: first.amount + unbondIdle, fromIdle: unbondIdle };
    else if (heaviest !== undefined) actions.push({ kind: 'undelegate', validator: heaviest.address, amount: unbondIdle, fromIdle: unbondIdle });
  }
  const idleLeft = idle - unbondIdle;
  actions.push(...delegations(0n, idleLeft >= minMove && idleLeft >= minStake ? idleLeft : 0n, validators, step, minStake));
  return held === undefined ? { buffer, actions } : { buffer, actions, held };
}

/**
 * Delegations of `fromLiquid` new stake and `fromIdle` idle stake together,
 * split by weight and fitted to the chain's step and minimum; the idle
 * stake fills the parts in order (each part it covers needs no new bond),
 * so Σ(amount − fromIdle) ≤ fromLiquid and Σ fromIdle ≤ `fromIdle`.
 */
function delegations(fromLiquid: bigint, fromIdle: bigint, validators: readonly ValidatorConfig[], step: bigint, minStake: bigint): StakeMove[] {
  const total = fromLiquid + fromIdle;
  if (total < minStake || total <= 0n) return [];
  let idleLeft = fromIdle;
  return fitParts(splitByWeight(total, validators), validators, step, minStake).map(([validator, amount]): StakeMove => {
    const idle = idleLeft < amount ? idleLeft : amount;
    idleLeft -= idle;
    return idle > 0n ? { kind: 'delegate', validator, amount, fromIdle: idle } : { kind: 'delegate', validator, amount };
  });
}

/**
 * Where a new undelegation re-locks what already unbonds from the same
 * target: the targets with nothing unbonding when their stake covers the
 * shortfall, else those plus as few re-locked ones as cover it, the
 * latest-completing first (their wait grows the least).
 */
function sparingRelocks(stakes: Position['delegations'], unbonding: Position['unbonding'], shortfall: bigint): Position['delegations'] {
  const completes = new Map<string, number>();
  for (const u of unbonding) if (u.validator !== undefined) completes.set(u.validator, Math.max(completes.get(u.validator) ?? 0, u.completesAt));
  const free = stakes.filter((d) => !completes.has(d.validator));
  let covered = free.reduce((sum, d) => sum + d.amount, 0n);
  const chosen = [...free];
  const locked = stakes.filter((d) => completes.has(d.validator)).sort((a, b) => completes.get(b.validator)! - completes.get(a.validator)!);
  for (const d of locked) {
    if (covered >= shortfall) break;
    chosen.push(d);
    covered += d.amount;
  }
  return chosen;
}

/**
 * Makes every part a multiple of `step` and at least `minStake`: the
 * remainders, and parts too small to stand alone, go to the heaviest
 * validator (or are left liquid when even that is too small).
 */
function fitParts(parts: [string, bigint][], validators: readonly ValidatorConfig[], step: bigint, minStake: bigint): [string, bigint][] {
  if (parts.length === 0) return [];
  let spare = 0n;
  const fitted: [string, bigint][] = [];
  for (const [validator, amount] of parts) {
    const whole = roundDown(amount, step);
    spare += amount - whole;
    fitted.push([validator, whole]);
  }
  const heaviest = validators.find((v) => v.weight === Math.max(...validators.map((w) => w.weight)));
  const into = Math.max(0, fitted.findIndex(([v]) => v === heaviest?.address));
  for (let i = 0; i < fitted.length; i += 1) {
    if (i !== into && fitted[i]![1] < minStake) {
      spare += fitted[i]![1];
      fitted[i]![1] = 0n;
    }
  }
  fitted[into]![1] += roundDown(spare, step);
  return fitted.filter(([, amount]) => amount >= minStake && amount > 0n);
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
