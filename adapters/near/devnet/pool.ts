/**
 * The staking-pool contract (near/core-contracts `staking-pool`), modelled
 * method for method in yoctoNEAR integer math: stake shares bought and sold
 * at `total_staked_balance / total_stake_shares`, with the contract's own
 * rounding (shares for a stake rounded down, shares for an unstake rounded
 * up, so the share price never falls through rounding), epoch rewards
 * distributed by `internal_ping` on the first call of an epoch, the owner's
 * `reward_fee_fraction` paid as shares at the new price, and unstaked
 * balances locked for 4 epochs.
 *
 * The state is plain data (structuredClone-able), so the chain can snapshot
 * it per block and roll a failed call back.
 */

/** Epochs an unstaked balance stays locked (the contract's `NUM_EPOCHS_TO_UNLOCK`). */
export const NUM_EPOCHS_TO_UNLOCK = 4n;

/** One delegator's record in the pool contract. */
export interface PoolAccount {
  unstaked: bigint;
  stakeShares: bigint;
  unstakedAvailableEpochHeight: bigint;
  /** Devnet bookkeeping (not contract state): Σ deposits, for the reward truth. */
  deposited: bigint;
  /** Devnet bookkeeping: Σ withdrawals. */
  withdrawn: bigint;
}

/** The contract state of one pool, plus the devnet's reward source. */
export interface PoolState {
  id: string;
  ownerId: string;
  lastEpochHeight: bigint;
  totalStakedBalance: bigint;
  totalStakeShares: bigint;
  rewardFeeNumerator: number;
  rewardFeeDenominator: number;
  /** Validator rewards the pool account has received and `ping` has not distributed yet. */
  undistributed: bigint;
  /** What the validator earns per epoch, parts per million of its total stake (devnet parameter). */
  rewardPpmPerEpoch: bigint;
  accounts: Map<string, PoolAccount>;
}

/** A contract panic: the receipt fails and its state changes roll back. */
export class ContractPanic extends Error {}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractPanic(message);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function account(pool: PoolState, accountId: string): PoolAccount {
  let found = pool.accounts.get(accountId);
  if (found === undefined) {
    found = { unstaked: 0n, stakeShares: 0n, unstakedAvailableEpochHeight: 0n, deposited: 0n, withdrawn: 0n };
    pool.accounts.set(accountId, found);
  }
  return found;
}

function peek(pool: PoolState, accountId: string): PoolAccount {
  return pool.accounts.get(accountId) ?? { unstaked: 0n, stakeShares: 0n, unstakedAvailableEpochHeight: 0n, deposited: 0n, withdrawn: 0n };
}

export function sharesRoundedDown(pool: PoolState, amount: bigint): bigint {
  assert(pool.totalStakedBalance > 0n, 'The total staked balance can\'t be 0');
  return (amount * pool.totalStakeShares) / pool.totalStakedBalance;
}

export function sharesRoundedUp(pool: PoolState, amount: bigint): bigint {
  assert(pool.totalStakedBalance > 0n, 'The total staked balance can\'t be 0');
  return ceilDiv(amount * pool.totalStakeShares, pool.totalStakedBalance);
}

export function amountRoundedDown(pool: PoolState, shares: bigint): bigint {
  if (pool.totalStakeShares === 0n) return 0n;
  return (shares * pool.totalStakedBalance) / pool.totalStakeShares;
}

export function amountRoundedUp(pool: PoolState, shares: bigint): bigint {
  if (pool.totalStakeShares === 0n) return 0n;
  return ceilDiv(shares * pool.totalStakedBalance, pool.totalStakeShares);
}

/** What a call returns: the JSON result and the contract's log lines. */
export interface CallResult {
  result: unknown;
  logs: string[];
  /** yoctoNEAR the pool transfers back to the caller (withdraw). */
  transfer: bigint;
  /**
   * Whether the call restakes: a stake action on the pool's own account,
   * then the `on_stake_action` callback with ON_STAKE_ACTION_GAS attached
   * (staking-pool/src/internal.rs `internal_restake`). Every stake and
   * unstake does; `ping`, `deposit` and `withdraw` only when their
   * `internal_ping` ran in a new epoch.
   */
  restake: boolean;
}

/** Gas the pool attaches to its `on_stake_action` callback (staking-pool/src/lib.rs `ON_STAKE_ACTION_GAS`). */
export const ON_STAKE_ACTION_GAS = 20_000_000_000_000n;

/** `internal_ping`: distributes the rewards received since the last epoch it ran in. */
export function internalPing(pool: PoolState, epochHeight: bigint, logs: string[]): boolean {
  if (pool.lastEpochHeight === epochHeight) return false;
  pool.lastEpochHeight = epochHeight;
  const totalReward = pool.undistributed;
  pool.undistributed = 0n;
  if (totalReward > 0n) {
    const ownersFee = (totalReward * BigInt(pool.rewardFeeNumerator)) / BigInt(pool.rewardFeeDenominator);
    pool.totalStakedBalance += totalReward - ownersFee;
    const numShares = sharesRoundedDown(pool, ownersFee);
    if (numShares > 0n) {
      account(pool, pool.ownerId).stakeShares += numShares;
      pool.totalStakeShares += numShares;
    }
    pool.totalStakedBalance += ownersFee;
    logs.push(
      `Epoch ${epochHeight}: Contract received total rewards of ${totalReward} tokens. New total staked balance is ${pool.totalStakedBalance}. Total number of shares ${pool.totalStakeShares}`,
    );
    if (numShares > 0n) logs.push(`Total rewards fee is ${numShares} stake shares.`);
  }
  return true;
}

function internalDeposit(pool: PoolState, accountId: string, amount: bigint, logs: string[]): void {
  const a = account(pool, accountId);
  a.unstaked += amount;
  a.deposited += amount;
  logs.push(`@${accountId} deposited ${amount}. New unstaked balance is ${a.unstaked}`);
}

function internalStake(pool: PoolState, accountId: string, amount: bigint, logs: string[]): void {
  assert(amount > 0n, 'Staking amount should be positive');
  const a = account(pool, accountId);
  const numShares = sharesRoundedDown(pool, amount);
  assert(numShares > 0n, 'The calculated number of "stake" shares received for staking should be positive');
  const chargeAmount = amountRoundedDown(pool, numShares);
  assert(chargeAmount > 0n, 'Invariant violation. Calculated staked amount must be positive, because "stake" share price should be at least 1');
  assert(a.unstaked >= chargeAmount, 'Not enough unstaked balance to stake');
  a.unstaked -= chargeAmount;
  a.stakeShares += numShares;
  const stakeAmount = amountRoundedUp(pool, numShares);
  pool.totalStakedBalance += stakeAmount;
  pool.totalStakeShares += numShares;
  logs.push(`@${accountId} staking ${chargeAmount}. Received ${numShares} new staking shares. Total ${a.unstaked} unstaked balance and ${a.stakeShares} staking shares`);
}

function internalUnstake(pool: PoolState, accountId: string, amount: bigint, epochHeight: bigint, logs: string[]): void {
  assert(amount > 0n, 'Unstaking amount should be positive');
  const a = account(pool, accountId);
  assert(pool.totalStakedBalance > 0n, 'The contract doesn\'t have staked balance');
  const numShares = sharesRoundedUp(pool, amount);
  assert(numShares > 0n, 'Invariant violation. The calculated number of "stake" shares for unstaking should be positive');
  assert(a.stakeShares >= numShares, 'Not enough staked balance to unstake');
  const receiveAmount = amountRoundedUp(pool, numShares);
  assert(receiveAmount > 0n, 'Invariant violation. Calculated staked amount must be positive, because "stake" share price should be at least 1');
  a.stakeShares -= numShares;
  a.unstaked += receiveAmount;
  a.unstakedAvailableEpochHeight = epochHeight + NUM_EPOCHS_TO_UNLOCK;
  const unstakeAmount = amountRoundedDown(pool, numShares);
  pool.totalStakedBalance -= unstakeAmount;
  pool.totalStakeShares -= numShares;
  logs.push(`@${accountId} unstaking ${receiveAmount}. Spent ${numShares} staking shares. Total ${a.unstaked} unstaked balance and ${a.stakeShares} staking shares`);
}

function internalWithdraw(pool: PoolState, accountId: string, amount: bigint, epochHeight: bigint, logs: string[]): bigint {
  assert(amount > 0n, 'Withdrawal amount should be positive');
  const a = account(pool, accountId);
  assert(a.unstaked >= amount, 'Not enough unstaked balance to withdraw');
  assert(a.unstakedAvailableEpochHeight <= epochHeight, 'The unstaked balance is not yet available due to unstaking delay');
  a.unstaked -= amount;
  a.withdrawn += amount;
  logs.push(`@${accountId} withdrawing ${amount}. New unstaked balance is ${a.unstaked}`);
  return amount;
}

function u128Arg(args: Record<string, unknown>, name: string): bigint {
  const value = args[name];
  assert(typeof value === 'string' && /^(0|[1-9][0-9]{0,38})$/.test(value), `Failed to deserialize input from JSON.: ${name} must be a u128 string`);
  return BigInt(value);
}

function accountIdArg(args: Record<string, unknown>): string {
  const value = args.account_id;
  assert(typeof value === 'string' && value.length > 1, 'Failed to deserialize input from JSON.: account_id');
  return value;
}

/** The view methods (no state change, no `internal_ping`). */
export function view(pool: PoolState, method: string, args: Record<string, unknown>, epochHeight: bigint): unknown {
  switch (method) {
    case 'get_account_staked_balance':
      return amountRoundedDown(pool, peek(pool, accountIdArg(args)).stakeShares).toString();
    case 'get_account_unstaked_balance':
      return peek(pool, accountIdArg(args)).unstaked.toString();
    case 'get_account_total_balance': {
      const a = peek(pool, accountIdArg(args));
      return (a.unstaked + amountRoundedDown(pool, a.stakeShares)).toString();
    }
    case 'is_account_unstaked_balance_available':
      return peek(pool, accountIdArg(args)).unstakedAvailableEpochHeight <= epochHeight;
    case 'get_account': {
      const accountId = accountIdArg(args);
      const a = peek(pool, accountId);
      return {
        account_id: accountId,
        unstaked_balance: a.unstaked.toString(),
        staked_balance: amountRoundedDown(pool, a.stakeShares).toString(),
        can_withdraw: a.unstakedAvailableEpochHeight <= epochHeight,
      };
    }
    case 'get_reward_fee_fraction':
      return { numerator: pool.rewardFeeNumerator, denominator: pool.rewardFeeDenominator };
    case 'get_total_staked_balance':
      return pool.totalStakedBalance.toString();
    case 'get_owner_id':
      return pool.ownerId;
    case 'get_number_of_accounts':
      return pool.accounts.size;
    case 'is_staking_paused':
      return false;
    default:
      throw new ContractPanic(`MethodResolveError(MethodNotFound)`);
  }
}

/** The change methods. `deposit` is the attached deposit; the pool is mutated in place (the caller snapshots). */
export function call(pool: PoolState, method: string, args: Record<string, unknown>, predecessor: string, deposit: bigint, epochHeight: bigint): CallResult {
  const logs: string[] = [];
  let transfer = 0n;
  let pinged: boolean;
  const payable = method === 'deposit' || method === 'deposit_and_stake';
  if (!payable) assert(deposit === 0n, `Method ${method} doesn't accept deposit`);
  switch (method) {
    case 'ping':
      pinged = internalPing(pool, epochHeight, logs);
      break;
    case 'deposit':
      pinged = internalPing(pool, epochHeight, logs);
      internalDeposit(pool, predecessor, deposit, logs);
      break;
    case 'deposit_and_stake':
      pinged = internalPing(pool, epochHeight, logs);
      internalDeposit(pool, predecessor, deposit, logs);
      internalStake(pool, predecessor, deposit, logs);
      break;
    case 'stake':
      pinged = internalPing(pool, epochHeight, logs);
      internalStake(pool, predecessor, u128Arg(args, 'amount'), logs);
      break;
    case 'stake_all': {
      pinged = internalPing(pool, epochHeight, logs);
      internalStake(pool, predecessor, account(pool, predecessor).unstaked, logs);
      break;
    }
    case 'unstake':
      pinged = internalPing(pool, epochHeight, logs);
      internalUnstake(pool, predecessor, u128Arg(args, 'amount'), epochHeight, logs);
      break;
    case 'unstake_all': {
      pinged = internalPing(pool, epochHeight, logs);
      const amount = amountRoundedDown(pool, account(pool, predecessor).stakeShares);
      internalUnstake(pool, predecessor, amount, epochHeight, logs);
      break;
    }
    case 'withdraw':
      pinged = internalPing(pool, epochHeight, logs);
      transfer = internalWithdraw(pool, predecessor, u128Arg(args, 'amount'), epochHeight, logs);
      break;
    case 'withdraw_all': {
      pinged = internalPing(pool, epochHeight, logs);
      transfer = internalWithdraw(pool, predecessor, account(pool, predecessor).unstaked, epochHeight, logs);
      break;
    }
    default:
      throw new ContractPanic('MethodResolveError(MethodNotFound)');
  }
  const stakes = method === 'deposit_and_stake' || method === 'stake' || method === 'stake_all' || method === 'unstake' || method === 'unstake_all';
  return { result: null, logs, transfer, restake: stakes || pinged };
}

/** The epoch switch: the validator's reward for the epoch lands on the pool account (distributed by the next ping). */
export function accrueEpochReward(pool: PoolState): bigint {
  const reward = (pool.totalStakedBalance * pool.rewardPpmPerEpoch) / 1_000_000n;
  pool.undistributed += reward;
  return reward;
}
