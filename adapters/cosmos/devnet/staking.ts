/**
 * x/staking, simplified: delegations as shares of a validator's tokens,
 * undelegation into unbonding entries that mature after the unbonding
 * period, redelegation, the active set, slashing and jailing. Every change
 * of a delegation first pays its pending rewards, as x/distribution's
 * `BeforeDelegationSharesModified` / `BeforeDelegationCreated` hooks do.
 */
import { type ModuleContext, transferEvents, withdrawRewards } from './distribution.js';
import { sdkError } from './errors.js';
import { type AbciEvent, type ChainState, coinString, DEC_ONE, decString, delegationKey, event, tokensFromShares, type ValidatorState } from './state.js';

/** `time.RFC3339`, as the SDK prints `completion_time`: whole seconds. */
export function rfc3339Seconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function validatorOf(state: ChainState, address: string): ValidatorState {
  const validator = state.validators.get(address);
  if (validator === undefined) throw sdkError('noValidatorFound');
  return validator;
}

function poolOf(ctx: ModuleContext, validator: ValidatorState): string {
  return validator.bonded ? ctx.modules.bondedPool : ctx.modules.notBondedPool;
}

/** Shares issued for `amount` tokens (`SharesFromTokens`), Dec. */
function sharesFor(validator: ValidatorState, amount: bigint): bigint {
  if (validator.shares === 0n) return amount * DEC_ONE;
  if (validator.tokens === 0n) throw sdkError('delegatorShareExRateInvalid');
  return (amount * validator.shares) / validator.tokens;
}

/** Bonds `amount` new tokens to a delegation, paying its pending rewards first. @returns the shares issued. */
function bond(ctx: ModuleContext, delegator: string, validator: ValidatorState, amount: bigint): bigint {
  const key = delegationKey(delegator, validator.operator);
  const existing = ctx.state.delegations.get(key);
  if (existing !== undefined) withdrawRewards(ctx, delegator, validator.operator);
  const shares = sharesFor(validator, amount);
  validator.tokens += amount;
  validator.shares += shares;
  if (existing === undefined) ctx.state.delegations.set(key, { delegator, validator: validator.operator, shares, startRatio: validator.rewardRatio });
  else existing.shares += shares;
  return shares;
}

/** Moves `amount` from the delegator's balance into a delegation (`Keeper.Delegate`). Emits `delegate`. */
export function delegate(ctx: ModuleContext, delegator: string, validatorAddress: string, amount: bigint): bigint {
  if (amount <= 0n) throw sdkError('invalidRequest', 'invalid delegation amount');
  const validator = validatorOf(ctx.state, validatorAddress);
  const account = ctx.state.accounts.get(delegator);
  const balance = account?.balance ?? 0n;
  if (account === undefined || balance < amount) {
    throw sdkError('insufficientFunds', `spendable balance ${coinString(balance, ctx.denom)} is smaller than ${coinString(amount, ctx.denom)}`);
  }
  // The hook pays pending rewards before the coins move, as in the SDK.
  const shares = bond(ctx, delegator, validator, amount);
  account.balance -= amount;
  const coins = coinString(amount, ctx.denom);
  ctx.events.push(
    event('coin_spent', [
      ['spender', delegator],
      ['amount', coins],
    ]),
    event('coin_received', [
      ['receiver', poolOf(ctx, validator)],
      ['amount', coins],
    ]),
    event('delegate', [
      ['validator', validatorAddress],
      ['delegator', delegator],
      ['amount', coins],
      ['new_shares', decString(shares)],
    ]),
  );
  return shares;
}

/**
 * Removes `amount` tokens' worth of shares from a delegation (`ValidateUnbondAmount` + `Unbond`).
 * @returns the tokens actually released (truncated after a slash).
 */
function unbond(ctx: ModuleContext, delegator: string, validatorAddress: string, amount: bigint): bigint {
  const { state } = ctx;
  if (amount <= 0n) throw sdkError('invalidRequest', 'invalid shares amount');
  const validator = validatorOf(state, validatorAddress);
  const key = delegationKey(delegator, validatorAddress);
  const delegation = state.delegations.get(key);
  if (delegation === undefined) throw sdkError('noDelegation');
  if (validator.tokens === 0n) throw sdkError('delegatorShareExRateInvalid');
  let shares = (amount * validator.shares + validator.tokens - 1n) / validator.tokens;
  const truncated = (amount * validator.shares) / validator.tokens;
  if (truncated > delegation.shares) throw sdkError('invalidRequest', 'invalid shares amount');
  if (shares > delegation.shares) shares = delegation.shares;
  withdrawRewards(ctx, delegator, validatorAddress);
  delegation.shares -= shares;
  if (delegation.shares === 0n) state.delegations.delete(key);
  const released = shares === validator.shares ? validator.tokens : tokensFromShares(validator, shares);
  validator.tokens -= released;
  validator.shares -= shares;
  return released;
}

/**
 * `max_entries` of the staking params: unbonding entries one
 * (delegator, validator) pair may have open at once.
 */
export const MAX_ENTRIES = 7;

/** `MsgUndelegate`: an unbonding entry that completes after the unbonding period. Emits `unbond`. */
export function undelegate(ctx: ModuleContext, delegator: string, validatorAddress: string, amount: bigint): { amount: bigint; completionTime: number } {
  const { state } = ctx;
  // cosmos-sdk x/staking/keeper/delegation.go (Undelegate): HasMaxUnbondingDelegationEntries
  // (len(entries) >= max_entries) refuses the message before anything is unbonded.
  // Stricter than the node in one case: the SDK merges two entries of the same creation
  // height into one (UnbondingDelegation.AddEntry); this devnet keeps them apart.
  const open = state.unbonding.filter((u) => u.delegator === delegator && u.validator === validatorAddress).length;
  if (open >= MAX_ENTRIES) throw sdkError('maxUnbondingEntries');
  const released = unbond(ctx, delegator, validatorAddress, amount);
  const validator = validatorOf(state, validatorAddress);
  const completionTime = ctx.time + ctx.unbondingMs;
  if (released > 0n) {
    state.unbonding.push({
      id: state.nextUnbondingId,
      delegator,
      validator: validatorAddress,
      creationHeight: ctx.height,
      completionTime,
      initialBalance: released,
      balance: released,
    });
    state.nextUnbondingId += 1n;
    if (validator.bonded) ctx.events.push(...transferEvents(ctx.modules.bondedPool, ctx.modules.notBondedPool, released, ctx.denom));
  }
  ctx.events.push(
    event('unbond', [
      ['validator', validatorAddress],
      ['delegator', delegator],
      ['amount', coinString(released, ctx.denom)],
      ['completion_time', rfc3339Seconds(completionTime)],
    ]),
  );
  return { amount: released, completionTime };
}

/**
 * `MsgBeginRedelegate`: moves stake from one validator to another at once.
 * The redelegation entry itself is not tracked (no transitive-redelegation
 * check, no slashing of redelegated stake).
 */
export function redelegate(ctx: ModuleContext, delegator: string, source: string, destination: string, amount: bigint): { amount: bigint; completionTime: number } {
  if (source === destination) throw sdkError('selfRedelegation');
  const target = validatorOf(ctx.state, destination);
  const released = unbond(ctx, delegator, source, amount);
  if (released > 0n) bond(ctx, delegator, target, released);
  const completionTime = ctx.time + ctx.unbondingMs;
  ctx.events.push(
    event('redelegate', [
      ['source_validator', source],
      ['destination_validator', destination],
      ['amount', coinString(released, ctx.denom)],
      ['completion_time', rfc3339Seconds(completionTime)],
    ]),
  );
  return { amount: released, completionTime };
}

/** EndBlock: pays out the unbonding entries that have completed by the block time. */
export function matureUnbonding(ctx: ModuleContext): void {
  const { state } = ctx;
  let done = 0;
  while (done < state.unbonding.length && state.unbonding[done]!.completionTime <= ctx.time) done += 1;
  if (done === 0) return;
  for (const entry of state.unbonding.splice(0, done)) {
    const account = state.accounts.get(entry.delegator);
    if (account === undefined || entry.balance === 0n) continue;
    account.balance += entry.balance;
    ctx.events.push(
      ...transferEvents(ctx.modules.notBondedPool, entry.delegator, entry.balance, ctx.denom),
      event('complete_unbonding', [
        ['amount', coinString(entry.balance, ctx.denom)],
        ['validator', entry.validator],
        ['delegator', entry.delegator],
      ]),
    );
  }
}

/** EndBlock: the active set is the `maxValidators` unjailed validators with the most tokens (> 0). */
export function updateBondedSet(state: ChainState, maxValidators: number, height: bigint, time: number): void {
  const ranked = [...state.validators.values()].filter((v) => !v.jailed && v.tokens > 0n).sort((a, b) => (a.tokens === b.tokens ? 0 : a.tokens > b.tokens ? -1 : 1));
  const active = new Set(ranked.slice(0, maxValidators).map((v) => v.operator));
  for (const v of state.validators.values()) {
    const bonded = active.has(v.operator);
    if (v.bonded && !bonded) {
      v.unbondingHeight = height;
      v.unbondingTime = time;
    }
    v.bonded = bonded;
  }
}

/**
 * Burns `bps` basis points of the validator's tokens and of its unbonding
 * entries (as if the infraction preceded every entry), leaving pending
 * rewards untouched. Records what each delegator lost.
 * @returns the slash event for the block and the tokens burned.
 */
export function slash(state: ChainState, validatorAddress: string, bps: number, power: bigint, consensusAddress: string): { burned: bigint; events: AbciEvent[] } {
  const validator = state.validators.get(validatorAddress);
  if (validator === undefined) throw new RangeError(`cosmos devnet: unknown validator ${validatorAddress}`);
  const fraction = BigInt(bps);
  const before = new Map<string, bigint>();
  for (const d of state.delegations.values()) if (d.validator === validatorAddress) before.set(d.delegator, (before.get(d.delegator) ?? 0n) + tokensFromShares(validator, d.shares));
  const cut = (validator.tokens * fraction) / 10_000n;
  validator.tokens -= cut;
  let burned = cut;
  for (const [delegator, tokens] of before) {
    const d = state.delegations.get(delegationKey(delegator, validatorAddress));
    const after = d === undefined ? 0n : tokensFromShares(validator, d.shares);
    if (tokens > after) state.truth.push({ account: delegator, kind: 'slash', amount: tokens - after });
  }
  for (const entry of state.unbonding) {
    if (entry.validator !== validatorAddress) continue;
    const part = (entry.balance * fraction) / 10_000n;
    entry.balance -= part;
    burned += part;
    if (part > 0n) state.truth.push({ account: entry.delegator, kind: 'slash', amount: part });
  }
  state.supply -= burned;
  return {
    burned,
    events: [
      event('slash', [
        ['address', consensusAddress],
        ['power', power.toString()],
        ['reason', 'double_sign'],
        ['burned', burned.toString()],
      ]),
    ],
  };
}
