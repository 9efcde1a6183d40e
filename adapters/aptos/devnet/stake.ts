/**
 * The validator side of a delegation pool: `0x1::stake`'s StakePool with its
 * four buckets, the validator's state, its lockup, and what an epoch change
 * does to it. Follows aptos-move/framework/aptos-framework/sources/stake.move
 * (and doc/stake.md, which carries the current source): `add_stake_with_cap`,
 * `unlock_with_cap`, `reactivate_stake_with_cap`, `withdraw_with_cap`,
 * `on_new_epoch` / `update_stake_pool` / `calculate_rewards_amount`, and
 * staking_config.move for the parameters.
 *
 * Not modelled: validators joining (every pool starts in the set), consensus
 * keys, governance voting power, transaction-fee distribution to validators
 * (`is_distribute_transaction_fee_enabled`; mainnet state unconfirmed).
 */
import { aborts, MoveAbort } from './errors.js';

/** `stake.move` VALIDATOR_STATUS_*. */
export const ValidatorState = { PENDING_ACTIVE: 1, ACTIVE: 2, PENDING_INACTIVE: 3, INACTIVE: 4 } as const;
export type ValidatorStateCode = (typeof ValidatorState)[keyof typeof ValidatorState];

/** `0x1::staking_config::StakingConfig` (the fields the devnet uses). */
export interface StakingConfig {
  minimumStake: bigint;
  maximumStake: bigint;
  recurringLockupDurationSecs: bigint;
  /** Reward per epoch = stake × rewardsRate / rewardsRateDenominator × successful / total proposals. */
  rewardsRate: bigint;
  rewardsRateDenominator: bigint;
  /** % of the set's voting power that may join in one epoch (`voting_power_increase_limit`). */
  votingPowerIncreaseLimit: bigint;
}

/** `0x1::stake::StakePool` plus the validator's state and its proposals per epoch (`ValidatorPerformance`, a devnet setting). */
export interface StakePool {
  address: string;
  active: bigint;
  inactive: bigint;
  pendingActive: bigint;
  pendingInactive: bigint;
  lockedUntilSecs: bigint;
  operator: string;
  state: ValidatorStateCode;
  successfulProposals: bigint;
  failedProposals: bigint;
}

/** `0x1::stake::ValidatorSet`'s totals. */
export interface ValidatorSetTotals {
  totalVotingPower: bigint;
  totalJoiningPower: bigint;
}

/** What a stake operation needs from the chain around it. */
export interface StakeContext {
  config: StakingConfig;
  validatorSet: ValidatorSetTotals;
  /** `timestamp::now_seconds()`: the block's time. */
  nowSecs: bigint;
  /** `reconfiguration_state::is_in_progress()` (an async, DKG reconfiguration). */
  reconfigurationInProgress: boolean;
  /** Emits a module event (V2) into the running transaction. */
  emit(type: string, data: Record<string, unknown>): void;
}

const ERECONFIGURATION_IN_PROGRESS = () =>
  new MoveAbort('0x1::stake', 'ERECONFIGURATION_IN_PROGRESS', 0x3_0000 | 20, 'Validator set change temporarily disabled because of in-progress reconfiguration.');

/** stake.move `assert_reconfig_not_in_progress`. */
function assertReconfigNotInProgress(ctx: StakeContext): void {
  if (ctx.reconfigurationInProgress) throw ERECONFIGURATION_IN_PROGRESS();
}

/** `is_current_epoch_validator`: active or pending_inactive (still in this epoch's set). */
export function isCurrentEpochValidator(pool: StakePool): boolean {
  return pool.state === ValidatorState.ACTIVE || pool.state === ValidatorState.PENDING_INACTIVE;
}

/** `get_next_epoch_voting_power`: active + pending_active + pending_inactive. */
export function nextEpochVotingPower(pool: StakePool): bigint {
  return pool.active + pool.pendingActive + pool.pendingInactive;
}

/** stake.move `add_stake_with_cap`: pending_active while the validator is in this epoch's set, else straight to active. */
export function addStake(ctx: StakeContext, pool: StakePool, amount: bigint): void {
  if (amount === 0n) return;
  assertReconfigNotInProgress(ctx);
  if (isCurrentEpochValidator(pool)) {
    // update_voting_power_increase: joining power per epoch is capped at limit% of the set's power.
    ctx.validatorSet.totalJoiningPower += amount;
    const { totalVotingPower, totalJoiningPower } = ctx.validatorSet;
    if (totalVotingPower > 0n && totalJoiningPower > (totalVotingPower * ctx.config.votingPowerIncreaseLimit) / 100n) throw aborts.votingPowerIncreaseExceedsLimit();
    pool.pendingActive += amount;
  } else {
    pool.active += amount;
  }
  if (nextEpochVotingPower(pool) > ctx.config.maximumStake) throw aborts.stakeExceedsMax();
  ctx.emit('0x1::stake::AddStake', { pool_address: pool.address, amount_added: amount });
}

/** stake.move `unlock_with_cap`: active → pending_inactive, whatever the validator's state. */
export function unlock(ctx: StakeContext, pool: StakePool, amount: bigint): void {
  if (amount === 0n) return;
  assertReconfigNotInProgress(ctx);
  // coin::extract aborts on more than the bucket holds; delegation_pool checks first, so this is a devnet bug.
  if (amount > pool.active) throw new Error(`stake: unlock ${amount} > active ${pool.active} (devnet bug)`);
  pool.active -= amount;
  pool.pendingInactive += amount;
  ctx.emit('0x1::stake::UnlockStake', { pool_address: pool.address, amount_unlocked: amount });
}

/** stake.move `reactivate_stake_with_cap`: pending_inactive → active, capped at what is pending_inactive. */
export function reactivate(ctx: StakeContext, pool: StakePool, amount: bigint): void {
  assertReconfigNotInProgress(ctx);
  const moved = amount < pool.pendingInactive ? amount : pool.pendingInactive;
  pool.pendingInactive -= moved;
  pool.active += moved;
  ctx.emit('0x1::stake::ReactivateStake', { pool_address: pool.address, amount: moved });
}

/**
 * stake.move `withdraw_with_cap`: takes up to `amount` of inactive stake.
 * A validator that left the set keeps its last lockup forever; once that has
 * passed, its pending_inactive is inactivated here first.
 */
export function withdraw(ctx: StakeContext, pool: StakePool, amount: bigint): bigint {
  assertReconfigNotInProgress(ctx);
  if (pool.state === ValidatorState.INACTIVE && ctx.nowSecs >= pool.lockedUntilSecs) {
    pool.inactive += pool.pendingInactive;
    pool.pendingInactive = 0n;
  }
  const taken = amount < pool.inactive ? amount : pool.inactive;
  if (taken === 0n) return 0n;
  pool.inactive -= taken;
  ctx.emit('0x1::stake::WithdrawStake', { pool_address: pool.address, amount_withdrawn: taken });
  return taken;
}

/** stake.move `calculate_rewards_amount`: 0 without proposals. */
export function rewardsAmount(stake: bigint, successful: bigint, total: bigint, config: StakingConfig): bigint {
  const denominator = config.rewardsRateDenominator * total;
  if (denominator === 0n) return 0n;
  return (stake * config.rewardsRate * successful) / denominator;
}

/**
 * stake.move `update_stake_pool` for one validator of the ending epoch:
 * rewards into active and pending_inactive (by proposals), pending_active →
 * active, and pending_inactive → inactive once the reconfiguration starts at
 * or after the lockup's end. Returns the rewards minted.
 */
export function updateStakePool(pool: StakePool, config: StakingConfig, reconfigStartSecs: bigint, emit: StakeContext['emit']): bigint {
  const total = pool.successfulProposals + pool.failedProposals;
  const onActive = pool.active > 0n ? rewardsAmount(pool.active, pool.successfulProposals, total, config) : 0n;
  const onPendingInactive = pool.pendingInactive > 0n ? rewardsAmount(pool.pendingInactive, pool.successfulProposals, total, config) : 0n;
  pool.active += onActive;
  pool.pendingInactive += onPendingInactive;
  pool.active += pool.pendingActive;
  pool.pendingActive = 0n;
  if (reconfigStartSecs >= pool.lockedUntilSecs) {
    pool.inactive += pool.pendingInactive;
    pool.pendingInactive = 0n;
  }
  emit('0x1::stake::DistributeRewards', { pool_address: pool.address, rewards_amount: onActive + onPendingInactive });
  return onActive + onPendingInactive;
}

/**
 * stake.move `on_new_epoch` over the whole set: every current-epoch
 * validator is updated; those leaving (pending_inactive) drop out, as do
 * those whose next voting power is under the minimum; the set's voting power
 * is recounted; lockups are renewed only for validators still in the set
 * whose lockup has passed, to now + recurring_lockup_duration_secs (so cycles
 * drift to epoch boundaries).
 *
 * The chain counts proposals block by block (block.move `block_prologue`
 * → `stake::update_performance_statistics`) and resets them here; the devnet
 * makes no per-validator blocks, so each pool's proposals per epoch are a
 * setting (`successfulProposals` / `failedProposals`) that stays.
 */
export function onNewEpoch(pools: Iterable<StakePool>, config: StakingConfig, set: ValidatorSetTotals, reconfigStartSecs: bigint, nowSecs: bigint, emit: StakeContext['emit']): Map<string, bigint> {
  const rewards = new Map<string, bigint>();
  const all = [...pools];
  for (const pool of all) {
    if (!isCurrentEpochValidator(pool)) continue;
    rewards.set(pool.address, updateStakePool(pool, config, reconfigStartSecs, emit));
  }
  let totalVotingPower = 0n;
  for (const pool of all) {
    if (pool.state === ValidatorState.PENDING_INACTIVE) pool.state = ValidatorState.INACTIVE;
    if (pool.state !== ValidatorState.ACTIVE) continue;
    const power = nextEpochVotingPower(pool);
    if (power < config.minimumStake) {
      pool.state = ValidatorState.INACTIVE;
      continue;
    }
    totalVotingPower += power;
    if (pool.lockedUntilSecs <= reconfigStartSecs) pool.lockedUntilSecs = nowSecs + config.recurringLockupDurationSecs;
  }
  set.totalVotingPower = totalVotingPower;
  set.totalJoiningPower = 0n;
  return rewards;
}
