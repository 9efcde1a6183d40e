/**
 * x/mint and x/distribution, simplified but by the SDK's rules:
 *
 * - Each block mints the provision for the chain time since the previous
 *   block (annual inflation × supply, or a fixed reward per `blockMs`) into
 *   the fee collector, next to the fees of the previous block's
 *   transactions. (The SDK mints a fixed amount per block from an assumed
 *   blocks-per-year; pro-rating by block time keeps rewards a function of
 *   chain time, so blocks made only to include a transaction earn nothing.)
 * - The collector is allocated at the start of the block: the community tax
 *   to the community pool, the rest to the bonded validators by consensus
 *   power (tokens / 10^6, truncated); of each validator's share the
 *   commission rate goes to its commission, the rest to its delegators by
 *   share (`AllocateTokensToValidator`). Truncation dust goes to the
 *   community pool, as in `AllocateTokens`.
 * - Delegators' rewards accrue as a per-share ratio (the F1 fee
 *   distribution's cumulative reward ratio, kept per share rather than per
 *   token so a slash needs no extra period: rewards earned before a slash
 *   stay earned). Pending rewards are DecCoins with 18 decimals.
 * - A payout (withdraw, or any change of the delegation, through the
 *   `BeforeDelegationSharesModified` hook) pays the truncated whole units
 *   and, like the SDK, sends the fraction to the community pool.
 */
import { type AbciEvent, type ChainState, coinString, DEC_ONE, type DelegationState, delegationKey, event, POWER_REDUCTION, RATIO_SCALE, YEAR_MS } from './state.js';

/** Module account addresses, for events. */
export interface ModuleAddresses {
  mint: string;
  feeCollector: string;
  distribution: string;
  bondedPool: string;
  notBondedPool: string;
}

/** What a state transition needs besides the state: the block it runs in and where its events go. */
export interface ModuleContext {
  state: ChainState;
  denom: string;
  height: bigint;
  time: number;
  unbondingMs: number;
  /** `max_entries` of the staking params: open unbonding (and redelegation) entries per pair. */
  maxEntries: number;
  modules: ModuleAddresses;
  events: AbciEvent[];
}

/** Minting and reward parameters. */
export interface RewardParams {
  /** Annual inflation, Dec; used when `blockReward` is undefined. */
  inflation: bigint;
  /** Fixed provision per `blockMs` of chain time, base units. */
  blockReward: bigint | undefined;
  blockMs: number;
  /** Dec. */
  communityTax: bigint;
}

/** The bank events of a transfer between two addresses (`SendCoins`). */
export function transferEvents(from: string, to: string, amount: bigint, denom: string): AbciEvent[] {
  const coins = coinString(amount, denom);
  return [
    event('coin_spent', [
      ['spender', from],
      ['amount', coins],
    ]),
    event('coin_received', [
      ['receiver', to],
      ['amount', coins],
    ]),
    event('transfer', [
      ['recipient', to],
      ['sender', from],
      ['amount', coins],
    ]),
    event('message', [['sender', from]]),
  ];
}

/** Rewards the delegation has earned since its last payout, Dec. */
export function pendingRewards(state: ChainState, delegation: DelegationState): bigint {
  const validator = state.validators.get(delegation.validator);
  if (validator === undefined) return 0n;
  return (delegation.shares * (validator.rewardRatio - delegation.startRatio)) / RATIO_SCALE;
}

/**
 * Pays the delegation's pending rewards to the delegator (`withdrawDelegationRewards`)
 * and restarts its accrual; emits the bank events (when > 0) and `withdraw_rewards`.
 * @returns the whole base units paid.
 */
export function withdrawRewards(ctx: ModuleContext, delegator: string, validatorAddress: string): bigint {
  const { state } = ctx;
  const delegation = state.delegations.get(delegationKey(delegator, validatorAddress));
  const validator = state.validators.get(validatorAddress);
  if (delegation === undefined || validator === undefined) return 0n;
  const pending = pendingRewards(state, delegation);
  const whole = pending / DEC_ONE;
  validator.outstanding -= pending;
  state.communityPool += pending - whole * DEC_ONE;
  delegation.startRatio = validator.rewardRatio;
  if (whole > 0n) {
    const account = state.accounts.get(delegator);
    if (account === undefined) throw new Error(`cosmos devnet: delegator ${delegator} has no account`);
    account.balance += whole;
    state.truth.push({ account: delegator, kind: 'reward', amount: whole });
    ctx.events.push(...transferEvents(ctx.modules.distribution, delegator, whole, ctx.denom));
  }
  ctx.events.push(
    event('withdraw_rewards', [
      ['amount', coinString(whole, ctx.denom)],
      ['validator', validatorAddress],
      ['delegator', delegator],
    ]),
  );
  return whole;
}

/**
 * BeginBlock of x/mint and x/distribution for a block `elapsedMs` after the previous one.
 * @returns the whole base units minted.
 */
export function mintAndAllocate(state: ChainState, params: RewardParams, elapsedMs: number): bigint {
  let minted = 0n;
  if (elapsedMs > 0) {
    const elapsed = BigInt(elapsedMs);
    const provision =
      params.blockReward !== undefined ? (params.blockReward * DEC_ONE * elapsed) / BigInt(params.blockMs) : (state.supply * params.inflation * elapsed) / YEAR_MS;
    const total = provision + state.mintCarry;
    minted = total / DEC_ONE;
    state.mintCarry = total - minted * DEC_ONE;
    state.supply += minted;
    state.feeCollector += minted;
  }
  if (state.feeCollector === 0n) return minted;

  const collected = state.feeCollector * DEC_ONE;
  state.feeCollector = 0n;
  let remaining = collected;
  let totalPower = 0n;
  for (const v of state.validators.values()) if (v.bonded) totalPower += v.tokens / POWER_REDUCTION;
  if (totalPower > 0n) {
    const forValidators = (collected * (DEC_ONE - params.communityTax)) / DEC_ONE;
    for (const v of state.validators.values()) {
      const power = v.tokens / POWER_REDUCTION;
      if (!v.bonded || power === 0n) continue;
      const reward = (forValidators * power) / totalPower;
      const commission = (reward * v.commissionRate) / DEC_ONE;
      const shared = reward - commission;
      v.commission += commission;
      v.outstanding += reward;
      remaining -= reward;
      if (v.shares > 0n) v.rewardRatio += (shared * RATIO_SCALE) / v.shares;
      else v.commission += shared;
    }
  }
  state.communityPool += remaining;
  return minted;
}
