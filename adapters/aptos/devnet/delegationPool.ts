/**
 * `0x1::delegation_pool`'s rules, after
 * aptos-move/framework/aptos-framework/sources/delegation_pool.move: shares
 * for active (+ pending_active) stake and, per observed lockup cycle (OLC),
 * for pending_inactive / inactive stake; one pending withdrawal per
 * delegator; the add-stake fee bought for NULL_SHAREHOLDER and released to
 * every active share once the epoch ends; the 10 APT minimums and the
 * amount adjustments of `coins_to_transfer_to_ensure_min_stake`;
 * `synchronize_delegation_pool` at the start of every operation, with the
 * operator's commission on the rewards it finds; and the lazy views
 * (`get_stake`, `get_pending_withdrawal`) that see rewards at the epoch change
 * itself, with no sync.
 *
 * Not modelled: allowlists, partial governance voting, a beneficiary other
 * than the operator, `NextCommissionPercentage` (a commission change waiting
 * for the next lockup cycle).
 */
import { aborts } from './errors.js';
import { balanceOf, buyIn, createPool, redeemShares, sharesOf, sharesToAmountWithTotals, updateTotalCoins, amountToShares, type SharesPool, clonePool } from './shares.js';
import * as stake from './stake.js';
import type { StakeContext, StakePool } from './stake.js';

/** `MIN_COINS_ON_SHARES_POOL`: 10 APT in octas. */
export const MIN_COINS_ON_SHARES_POOL = 1_000_000_000n;
/** `MAX_FEE`: commission is in hundredths of a percent. */
export const MAX_FEE = 10_000n;
/** `NULL_SHAREHOLDER`: holds the add-stake fees until the epoch ends. */
export const NULL_SHAREHOLDER = '0x0';
/** `SHARES_SCALING_FACTOR`. */
export const SHARES_SCALING_FACTOR = 10_000_000_000_000_000n;
const MAX_U64 = (1n << 64n) - 1n;

/** `0x1::delegation_pool::DelegationPool` with its stake pool (the same address). */
export interface DelegationPool {
  address: string;
  activeShares: SharesPool;
  /** OLC index → shares pool; the current OLC's holds pending_inactive, older ones inactive. */
  inactiveShares: Map<bigint, SharesPool>;
  /** delegator → OLC index of its one withdrawal. */
  pendingWithdrawals: Map<string, bigint>;
  observedLockupCycle: bigint;
  totalCoinsInactive: bigint;
  /** Hundredths of a percent. */
  operatorCommissionPercentage: bigint;
  stake: StakePool;
}

/** A delegation pool and its stake pool, as the framework's `initialize_delegation_pool` leaves them (before any stake). */
export function createDelegationPool(stakePool: StakePool, commissionBps: bigint): DelegationPool {
  return {
    address: stakePool.address,
    activeShares: createPool(SHARES_SCALING_FACTOR),
    inactiveShares: new Map([[0n, createPool(SHARES_SCALING_FACTOR)]]),
    pendingWithdrawals: new Map(),
    observedLockupCycle: 0n,
    totalCoinsInactive: 0n,
    operatorCommissionPercentage: commissionBps,
    stake: stakePool,
  };
}

/** A deep copy (a failed transaction rolls back to it; past-version reads keep it). */
export function cloneDelegationPool(pool: DelegationPool): DelegationPool {
  return {
    ...pool,
    activeShares: clonePool(pool.activeShares),
    inactiveShares: new Map([...pool.inactiveShares].map(([olc, p]) => [olc, clonePool(p)])),
    pendingWithdrawals: new Map(pool.pendingWithdrawals),
    stake: { ...pool.stake },
  };
}

/** Moves APT between accounts for the pool's transfers; throws the transfer's abort when the payer is short. */
export interface CoinMover {
  debit(account: string, amount: bigint): void;
  credit(account: string, amount: bigint): void;
}

export type PoolContext = StakeContext & CoinMover;

function pendingInactivePool(pool: DelegationPool): SharesPool {
  return pool.inactiveShares.get(pool.observedLockupCycle)!;
}

/** `calculate_stake_pool_drift`: the rewards (and commission on them) the shares pools have not seen yet. */
export function drift(pool: DelegationPool): { lockupCycleEnded: boolean; active: bigint; pendingInactive: bigint; commissionActive: bigint; commissionPendingInactive: bigint } {
  const s = pool.stake;
  if (s.inactive < pool.totalCoinsInactive) throw aborts.slashedInactiveStakeOnPastOlc();
  const lockupCycleEnded = s.inactive > pool.totalCoinsInactive;
  const active = s.active + s.pendingActive;
  const pendingInactive = lockupCycleEnded ? s.inactive - pool.totalCoinsInactive : s.pendingInactive;
  const poolActive = pool.activeShares.totalCoins;
  const commissionActive = active > poolActive ? ((active - poolActive) * pool.operatorCommissionPercentage) / MAX_FEE : 0n;
  const poolPendingInactive = pendingInactivePool(pool).totalCoins;
  const commissionPendingInactive = pendingInactive > poolPendingInactive ? ((pendingInactive - poolPendingInactive) * pool.operatorCommissionPercentage) / MAX_FEE : 0n;
  return { lockupCycleEnded, active, pendingInactive, commissionActive, commissionPendingInactive };
}

/** `synchronize_delegation_pool`. */
export function synchronize(ctx: PoolContext, pool: DelegationPool): void {
  const d = drift(pool);
  // Zero pending_active: the epoch that charged the fees has ended, so NULL_SHAREHOLDER's shares are released.
  if (pool.stake.pendingActive === 0n) redeemActiveShares(pool, NULL_SHAREHOLDER, MAX_U64);
  updateTotalCoins(pool.activeShares, d.active - d.commissionActive);
  updateTotalCoins(pendingInactivePool(pool), d.pendingInactive - d.commissionPendingInactive);
  const operator = pool.stake.operator;
  buyIn(pool.activeShares, operator, d.commissionActive);
  buyInPendingInactiveShares(ctx, pool, operator, d.commissionPendingInactive);
  // Both the V1 handle event and the V2 module event, on every sync, zero amounts included.
  ctx.emit('0x1::delegation_pool::DistributeCommission', {
    pool_address: pool.address,
    operator,
    beneficiary: operator,
    commission_active: d.commissionActive,
    commission_pending_inactive: d.commissionPendingInactive,
  });
  if (d.lockupCycleEnded) {
    pool.totalCoinsInactive = pool.stake.inactive;
    pool.observedLockupCycle += 1n;
    pool.inactiveShares.set(pool.observedLockupCycle, createPool(SHARES_SCALING_FACTOR));
  }
}

/** `get_add_stake_fee`: what the pool keeps back until the epoch ends, 0 unless the validator is in this epoch's set. */
export function addStakeFee(pool: DelegationPool, amount: bigint, config: StakeContext['config']): bigint {
  if (!stake.isCurrentEpochValidator(pool.stake) || config.rewardsRateDenominator <= 0n) return 0n;
  const rate = config.rewardsRate * (MAX_FEE - pool.operatorCommissionPercentage);
  const denominator = config.rewardsRateDenominator * MAX_FEE;
  return (amount * rate) / (rate + denominator);
}

/** `add_stake`. */
export function addStake(ctx: PoolContext, pool: DelegationPool, delegator: string, amount: bigint): void {
  if (amount === 0n) return;
  synchronize(ctx, pool);
  const fee = addStakeFee(pool, amount, ctx.config);
  ctx.debit(delegator, amount);
  stake.addStake(ctx, pool.stake, amount);
  buyIn(pool.activeShares, delegator, amount - fee);
  if (balanceOf(pool.activeShares, delegator) < MIN_COINS_ON_SHARES_POOL) throw aborts.activeBalanceTooLow();
  buyIn(pool.activeShares, NULL_SHAREHOLDER, fee);
  ctx.emit('0x1::delegation_pool::AddStake', { pool_address: pool.address, delegator_address: delegator, amount_added: amount, add_stake_fee: fee });
}

/** `unlock`. */
export function unlock(ctx: PoolContext, pool: DelegationPool, delegator: string, requested: bigint): void {
  if (requested === 0n) return;
  synchronize(ctx, pool);
  if (delegator === NULL_SHAREHOLDER) throw aborts.cannotUnlockNullShareholder();
  if (requested > pool.stake.active) throw aborts.notEnoughActiveStakeToUnlock();
  let amount = coinsToTransferToEnsureMinStake(pool.activeShares, pendingInactivePool(pool), delegator, requested);
  amount = redeemActiveShares(pool, delegator, amount);
  stake.unlock(ctx, pool.stake, amount);
  buyInPendingInactiveShares(ctx, pool, delegator, amount);
  if (balanceOf(pendingInactivePool(pool), delegator) < MIN_COINS_ON_SHARES_POOL) throw aborts.pendingInactiveBalanceTooLow();
  ctx.emit('0x1::delegation_pool::UnlockStake', { pool_address: pool.address, delegator_address: delegator, amount_unlocked: amount });
}

/** `reactivate_stake`. */
export function reactivateStake(ctx: PoolContext, pool: DelegationPool, delegator: string, requested: bigint): void {
  if (requested === 0n) return;
  synchronize(ctx, pool);
  let amount = coinsToTransferToEnsureMinStake(pendingInactivePool(pool), pool.activeShares, delegator, requested);
  amount = redeemInactiveShares(pool, delegator, amount, pool.observedLockupCycle);
  stake.reactivate(ctx, pool.stake, amount);
  buyIn(pool.activeShares, delegator, amount);
  if (balanceOf(pool.activeShares, delegator) < MIN_COINS_ON_SHARES_POOL) throw aborts.activeBalanceTooLow();
  ctx.emit('0x1::delegation_pool::ReactivateStake', { pool_address: pool.address, delegator_address: delegator, amount_reactivated: amount });
}

/** `withdraw`: 0 aborts before the sync; nothing withdrawable returns silently (no event, no transfer). */
export function withdraw(ctx: PoolContext, pool: DelegationPool, delegator: string, amount: bigint): void {
  if (amount === 0n) throw aborts.withdrawZeroStake();
  synchronize(ctx, pool);
  withdrawInternal(ctx, pool, delegator, amount);
}

/** `can_withdraw_pending_inactive`: the validator left the set and its last lockup has passed. */
export function canWithdrawPendingInactive(pool: DelegationPool, nowSecs: bigint): boolean {
  return pool.stake.state === stake.ValidatorState.INACTIVE && nowSecs >= pool.stake.lockedUntilSecs;
}

function withdrawInternal(ctx: PoolContext, pool: DelegationPool, delegator: string, requested: bigint): void {
  if (requested === 0n) return;
  const olc = pool.pendingWithdrawals.get(delegator);
  if (olc === undefined || !(olc < pool.observedLockupCycle || canWithdrawPendingInactive(pool, ctx.nowSecs))) return;
  let amount = requested;
  if (olc === pool.observedLockupCycle) amount = coinsToRedeemToEnsureMinStake(pendingInactivePool(pool), delegator, amount);
  amount = redeemInactiveShares(pool, delegator, amount, olc);
  if (canWithdrawPendingInactive(pool, ctx.nowSecs)) {
    // Keep the other delegators' pending_inactive out of the inactivation stake::withdraw would do.
    let excess = pool.stake.pendingInactive;
    if (olc === pool.observedLockupCycle) excess -= amount;
    stake.reactivate(ctx, pool.stake, excess);
    stake.withdraw(ctx, pool.stake, amount);
    stake.unlock(ctx, pool.stake, excess);
  } else {
    stake.withdraw(ctx, pool.stake, amount);
  }
  ctx.credit(delegator, amount);
  pool.totalCoinsInactive = pool.stake.inactive;
  ctx.emit('0x1::delegation_pool::WithdrawStake', { pool_address: pool.address, delegator_address: delegator, amount_withdrawn: amount });
}

/** `buy_in_pending_inactive_shares`: executes an older, inactive withdrawal first, so there is only ever one. */
function buyInPendingInactiveShares(ctx: PoolContext, pool: DelegationPool, holder: string, coins: bigint): void {
  const newShares = buyIn(pendingInactivePool(pool), holder, coins);
  if (newShares === 0n) return;
  const olc = pool.pendingWithdrawals.get(holder);
  if (olc !== undefined && olc < pool.observedLockupCycle) withdrawInternal(ctx, pool, holder, MAX_U64);
  const after = pool.pendingWithdrawals.get(holder);
  if (after !== undefined && after !== pool.observedLockupCycle) throw new Error('delegation_pool: EPENDING_WITHDRAWAL_EXISTS (devnet bug)');
  pool.pendingWithdrawals.set(holder, pool.observedLockupCycle);
}

function amountToSharesToRedeem(shares: SharesPool, holder: string, coins: bigint): bigint {
  if (coins >= balanceOf(shares, holder)) return sharesOf(shares, holder);
  return amountToShares(shares, coins);
}

function redeemActiveShares(pool: DelegationPool, holder: string, coins: bigint): bigint {
  const shares = amountToSharesToRedeem(pool.activeShares, holder, coins);
  if (shares === 0n) return 0n;
  return redeemShares(pool.activeShares, holder, shares);
}

function redeemInactiveShares(pool: DelegationPool, holder: string, coins: bigint, olc: bigint): bigint {
  const inactive = pool.inactiveShares.get(olc)!;
  const shares = amountToSharesToRedeem(inactive, holder, coins);
  if (shares === 0n) return 0n;
  const redeemed = redeemShares(inactive, holder, shares);
  if (sharesOf(inactive, holder) === 0n) pool.pendingWithdrawals.delete(holder);
  if (olc < pool.observedLockupCycle && inactive.totalCoins === 0n) pool.inactiveShares.delete(olc);
  return redeemed;
}

function coinsToRedeemToEnsureMinStake(src: SharesPool, holder: string, amount: bigint): bigint {
  const redeemed = balanceAfter(src, holder, amount);
  const balance = balanceOf(src, holder);
  return balance - redeemed < MIN_COINS_ON_SHARES_POOL ? balance : amount;
}

function coinsToTransferToEnsureMinStake(src: SharesPool, dst: SharesPool, holder: string, requested: bigint): bigint {
  let amount = requested;
  const redeemed = balanceAfter(src, holder, amount);
  const dstBalance = balanceOf(dst, holder);
  // `redeemed` ≥ amount − 1, as a redeem loses at most one coin.
  if (dstBalance + redeemed < MIN_COINS_ON_SHARES_POOL) amount = MIN_COINS_ON_SHARES_POOL - dstBalance + 1n;
  return coinsToRedeemToEnsureMinStake(src, holder, amount);
}

/** The coins `amount` would redeem from `src` (`shares_to_amount(amount_to_shares_to_redeem(…))`). */
function balanceAfter(src: SharesPool, holder: string, amount: bigint): bigint {
  return sharesToAmountWithTotals(src, amountToSharesToRedeem(src, holder, amount), src.totalCoins, src.totalShares);
}

/** `get_pending_withdrawal` (lazy): `[is_inactive, amount]`. */
export function pendingWithdrawal(pool: DelegationPool, delegator: string): [boolean, bigint] {
  const d = drift(pool);
  const olc = pool.pendingWithdrawals.get(delegator);
  if (olc === undefined) return [false, 0n];
  const shares = pool.inactiveShares.get(olc)!;
  if (olc < pool.observedLockupCycle) return [true, balanceOf(shares, delegator)];
  return [d.lockupCycleEnded, sharesToAmountWithTotals(shares, sharesOf(shares, delegator), d.pendingInactive - d.commissionPendingInactive, shares.totalShares)];
}

/** `get_stake` (lazy): `[active, inactive, pending_inactive]`, rewards net of commission as of the last epoch change. */
export function getStake(pool: DelegationPool, delegator: string): [bigint, bigint, bigint] {
  const d = drift(pool);
  let totalActiveShares = pool.activeShares.totalShares;
  let delegatorShares = sharesOf(pool.activeShares, delegator);
  if (pool.stake.pendingActive === 0n) {
    // The fees' shares are released at the epoch change: they no longer count in the total.
    totalActiveShares -= sharesOf(pool.activeShares, NULL_SHAREHOLDER);
    if (delegator === NULL_SHAREHOLDER) delegatorShares = 0n;
  }
  let active = sharesToAmountWithTotals(pool.activeShares, delegatorShares, d.active - d.commissionActive, totalActiveShares);
  const [isInactive, amount] = pendingWithdrawal(pool, delegator);
  let inactive = isInactive ? amount : 0n;
  let pendingInactive = isInactive ? 0n : amount;
  if (delegator === pool.stake.operator) {
    active += d.commissionActive;
    if (d.lockupCycleEnded) inactive += d.commissionPendingInactive;
    else pendingInactive += d.commissionPendingInactive;
  }
  return [active, inactive, pendingInactive];
}
