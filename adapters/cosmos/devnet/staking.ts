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

/** `max_entries` of the staking params by default (the SDK's `DefaultMaxEntries`, and the Hub's). */
export const MAX_ENTRIES = 7;

/** `MsgUndelegate`: an unbonding entry that completes after the unbonding period. Emits `unbond`. */
export function undelegate(ctx: ModuleContext, delegator: string, validatorAddress: string, amount: bigint): { amount: bigint; completionTime: number } {
  const { state } = ctx;
  // cosmos-sdk x/staking/keeper/msg_server.go (Undelegate) → keeper/delegation.go (Undelegate):
  // HasMaxUnbondingDelegationEntries (len(entries) >= max_entries) refuses the message
  // before anything is unbonded, even when the new entry would merge into one of this height.
  const open = state.unbonding.filter((u) => u.delegator === delegator && u.validator === validatorAddress).length;
  if (open >= ctx.maxEntries) throw sdkError('maxUnbondingEntries');
  const released = unbond(ctx, delegator, validatorAddress, amount);
  const validator = validatorOf(state, validatorAddress);
  const completionTime = ctx.time + ctx.unbondingMs;
  if (released > 0n) {
    // cosmos-sdk x/staking/types/delegation.go (UnbondingDelegation.AddEntry): an entry of the
    // same creation height and completion time takes the new balance (two undelegations in one
    // block are one entry); otherwise a new entry is appended.
    const same = state.unbonding.find((u) => u.delegator === delegator && u.validator === validatorAddress && u.creationHeight === ctx.height && u.completionTime === completionTime);
    if (same !== undefined) {
      same.balance += released;
      same.initialBalance += released;
    } else {
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
    }
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
 * `MsgBeginRedelegate`: moves stake from one validator to another at once,
 * and keeps a redelegation entry until the unbonding period has passed:
 * while it is open the moved stake answers for the source's infractions
 * (see {@link slash}). cosmos-sdk x/staking/keeper/delegation.go
 * (BeginRedelegation): a source that is itself the destination of an open
 * redelegation is refused (transitive), and so is one more entry past
 * `max_entries` for the (delegator, source, destination) triple; entries of
 * one height merge (types/delegation.go, Redelegation.AddEntry).
 */
export function redelegate(ctx: ModuleContext, delegator: string, source: string, destination: string, amount: bigint): { amount: bigint; completionTime: number } {
  const { state } = ctx;
  if (source === destination) throw sdkError('selfRedelegation');
  const target = validatorOf(state, destination);
  if (state.redelegations.some((r) => r.delegator === delegator && r.destination === source)) throw sdkError('transitiveRedelegation');
  const open = state.redelegations.filter((r) => r.delegator === delegator && r.source === source && r.destination === destination).length;
  if (open >= ctx.maxEntries) throw sdkError('maxRedelegationEntries');
  const released = unbond(ctx, delegator, source, amount);
  if (released === 0n) throw sdkError('tinyRedelegation');
  const sharesDst = bond(ctx, delegator, target, released);
  const completionTime = ctx.time + ctx.unbondingMs;
  const same = state.redelegations.find(
    (r) => r.delegator === delegator && r.source === source && r.destination === destination && r.creationHeight === ctx.height && r.completionTime === completionTime,
  );
  if (same !== undefined) {
    same.initialBalance += released;
    same.sharesDst += sharesDst;
  } else {
    state.redelegations.push({ delegator, source, destination, creationHeight: ctx.height, completionTime, initialBalance: released, sharesDst });
  }
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

/**
 * EndBlock: pays out the unbonding entries that have completed by the block
 * time, and closes matured redelegation entries. cosmos-sdk
 * x/staking/keeper/val_state_change.go (BlockValidatorUpdates): the mature
 * (delegator, validator) pairs of the UBD queue each get one
 * CompleteUnbonding (x/staking/keeper/delegation.go: every mature entry of
 * the pair removed, a non-zero balance paid from the not-bonded pool) and
 * one `complete_unbonding` block event whose `amount` is the sum paid
 * (`Coins.String()`: empty when slashes took everything).
 */
export function matureUnbonding(ctx: ModuleContext): void {
  const { state } = ctx;
  // cosmos-sdk x/staking/keeper/val_state_change.go (BlockValidatorUpdates): CompleteRedelegation of the mature queue.
  state.redelegations = state.redelegations.filter((r) => r.completionTime > ctx.time);
  let done = 0;
  while (done < state.unbonding.length && state.unbonding[done]!.completionTime <= ctx.time) done += 1;
  if (done === 0) return;
  const pairs = new Map<string, (typeof state.unbonding)[number][]>();
  for (const entry of state.unbonding.splice(0, done)) {
    const key = `${entry.delegator}/${entry.validator}`;
    const entries = pairs.get(key);
    if (entries === undefined) pairs.set(key, [entry]);
    else entries.push(entry);
  }
  for (const entries of pairs.values()) {
    const { delegator, validator } = entries[0]!;
    const account = state.accounts.get(delegator);
    if (account === undefined) continue;
    let paid = 0n;
    for (const entry of entries) {
      if (entry.balance === 0n) continue;
      account.balance += entry.balance;
      paid += entry.balance;
      ctx.events.push(...transferEvents(ctx.modules.notBondedPool, delegator, entry.balance, ctx.denom));
    }
    ctx.events.push(
      event('complete_unbonding', [
        ['amount', paid === 0n ? '' : coinString(paid, ctx.denom)],
        ['validator', validator],
        ['delegator', delegator],
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
 * Slashes `bps` basis points of the stake the validator had at the
 * infraction, as cosmos-sdk x/staking/keeper/slash.go (Slash) does, with
 * the infraction taken to precede every open entry: each unbonding entry of
 * the validator loses `fraction × initial_balance` (at most its balance,
 * SlashUnbondingDelegation), each redelegation entry out of it unbonds
 * `fraction × shares_dst` of the destination delegation and burns those
 * tokens (SlashRedelegation), and the validator's own tokens lose what is
 * left of `fraction × tokens`. Pending rewards stay. Records what each
 * delegator lost (bonded, unbonding and redelegated stake).
 * @returns the slash event for the block and the tokens burned.
 */
export function slash(ctx: ModuleContext, validatorAddress: string, bps: number, power: bigint, consensusAddress: string): { burned: bigint; events: AbciEvent[] } {
  const { state } = ctx;
  const validator = state.validators.get(validatorAddress);
  if (validator === undefined) throw new RangeError(`cosmos devnet: unknown validator ${validatorAddress}`);
  const fraction = BigInt(bps);
  const lost = (account: string, amount: bigint): void => {
    if (amount > 0n) state.truth.push({ account, kind: 'slash', amount });
  };
  // The power at the infraction: it precedes every open entry, so the stake those entries
  // took away still counted then (Slash's `slashAmount = power × fraction`).
  let atInfraction = validator.tokens;
  for (const e of state.unbonding) if (e.validator === validatorAddress && e.completionTime > ctx.time) atInfraction += e.initialBalance;
  for (const r of state.redelegations) if (r.source === validatorAddress && r.completionTime > ctx.time) atInfraction += r.initialBalance;
  let remaining = (atInfraction * fraction) / 10_000n;
  let burned = 0n;
  for (const entry of state.unbonding) {
    if (entry.validator !== validatorAddress || entry.completionTime <= ctx.time) continue;
    const due = (entry.initialBalance * fraction) / 10_000n;
    remaining -= due;
    const part = due < entry.balance ? due : entry.balance;
    entry.balance -= part;
    burned += part;
    lost(entry.delegator, part);
  }
  for (const entry of state.redelegations) {
    if (entry.source !== validatorAddress || entry.completionTime <= ctx.time) continue;
    remaining -= (entry.initialBalance * fraction) / 10_000n;
    let shares = (entry.sharesDst * fraction) / 10_000n;
    const key = delegationKey(entry.delegator, entry.destination);
    const delegation = state.delegations.get(key);
    if (shares === 0n || delegation === undefined) continue;
    if (shares > delegation.shares) shares = delegation.shares;
    const destination = state.validators.get(entry.destination)!;
    const before = tokensFromShares(destination, delegation.shares);
    // Keeper.Unbond: the delegation's rewards are paid first (the distribution hook), then the shares leave.
    withdrawRewards(ctx, entry.delegator, entry.destination);
    const tokens = shares === destination.shares ? destination.tokens : tokensFromShares(destination, shares);
    delegation.shares -= shares;
    if (delegation.shares === 0n) state.delegations.delete(key);
    destination.tokens -= tokens;
    destination.shares -= shares;
    burned += tokens;
    const after = delegation.shares === 0n ? 0n : tokensFromShares(destination, delegation.shares);
    lost(entry.delegator, before - after);
  }
  const before = new Map<string, bigint>();
  for (const d of state.delegations.values()) if (d.validator === validatorAddress) before.set(d.delegator, (before.get(d.delegator) ?? 0n) + tokensFromShares(validator, d.shares));
  const cut = remaining <= 0n ? 0n : remaining < validator.tokens ? remaining : validator.tokens;
  validator.tokens -= cut;
  burned += cut;
  for (const [delegator, tokens] of before) {
    const d = state.delegations.get(delegationKey(delegator, validatorAddress));
    const after = d === undefined ? 0n : tokensFromShares(validator, d.shares);
    lost(delegator, tokens - after);
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
