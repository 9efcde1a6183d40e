/**
 * What a call does once its extrinsic is in a block: the context a pallet
 * rule runs in, the failure it returns (`DispatchError`, encoded by the
 * metadata: `Module{index, error}` with the pallet's and the error's
 * indices, or a `Token` error), and the calls the devnet knows with their
 * declared weights. A call the devnet does not implement fails as the
 * runtime would never make it fail: `Other`, so a test notices at once.
 *
 * Balances rules follow `substrate/frame/balances/src/{lib.rs,impl_fungible.rs}`
 * (`transfer_allow_death`, `transfer_keep_alive` → `fungible::Mutate::transfer`).
 */
import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';

import type { Weight } from './extrinsic.js';
import type { Runtime } from './runtime.js';
import type { AccountInfo, EventEntry, Storage } from './state.js';

/** A failed dispatch: `error` is the `DispatchError` as `@polkadot/types` takes it. */
export class DispatchFailure extends Error {
  constructor(readonly error: unknown) {
    super(`dispatch failed: ${JSON.stringify(error, (_k, v: unknown) => (v instanceof Uint8Array ? u8aToHex(v) : v))}`);
  }
}

/** Where a call runs. */
export interface DispatchContext {
  runtime: Runtime;
  /** The overlay the call writes; dropped when it fails. */
  storage: Storage;
  /** The signer (AccountId32 hex). */
  who: string;
  /** Emits an event in the extrinsic's phase (dropped with the overlay when the call fails). */
  emit(pallet: string, name: string, args: unknown[]): void;
  /** The block being built. */
  block: { number: number; time: number };
  /** Books an era payout to the staker it rewards (the kit's ground truth). */
  onReward?(staker: string, amount: bigint): void;
  /** Books funds an account lost to a slash (the kit's ground truth). */
  onSlash?(who: string, amount: bigint): void;
}

/** A call the devnet carries out. */
export interface CallSpec {
  weight: Weight;
  run(ctx: DispatchContext, args: Codec[]): void;
}

/** `Balances.ExistentialDeposit` of the served metadata. */
export function existentialDeposit(runtime: Runtime): bigint {
  return BigInt(runtime.constant('Balances', 'ExistentialDeposit') as number | string);
}

/** A `DispatchError::Module` from the metadata. */
export function moduleError(runtime: Runtime, pallet: string, name: string): DispatchFailure {
  return new DispatchFailure(runtime.moduleError(pallet, name));
}

/** `DispatchError::Token(e)` (`sp_runtime::TokenError`). */
export function tokenError(name: 'FundsUnavailable' | 'BelowMinimum' | 'NotExpendable' | 'Frozen'): DispatchFailure {
  return new DispatchFailure({ Token: name });
}

/**
 * pallet-balances `reducible_balance` (impl_fungible.rs): free minus what
 * is untouchable, the frozen amount not covered by holds, and the
 * existential deposit when the account must stay alive (`Preserve`, or
 * consumers such as a hold depend on it) [recalled from the source; not re-read this session].
 */
export function reducible(runtime: Runtime, a: AccountInfo, keepAlive: boolean): bigint {
  const frozenOnFree = a.frozen > a.reserved ? a.frozen - a.reserved : 0n;
  const ed = existentialDeposit(runtime);
  const untouchable = keepAlive || a.consumers > 0 ? (frozenOnFree > ed ? frozenOnFree : ed) : frozenOnFree;
  return a.free > untouchable ? a.free - untouchable : 0n;
}

/** Credits `amount` to `who`, creating the account (NewAccount, Endowed) as pallet-balances does; below ED for a new account: BelowMinimum. */
export function deposit(ctx: DispatchContext, who: string, amount: bigint): void {
  const a = ctx.storage.account(who);
  const isNew = a.providers === 0 && a.sufficients === 0;
  if (isNew && amount < existentialDeposit(ctx.runtime)) throw tokenError('BelowMinimum');
  if (isNew) {
    a.providers = 1;
    ctx.emit('System', 'NewAccount', [who]);
    ctx.emit('Balances', 'Endowed', [who, amount]);
  }
  a.free += amount;
  ctx.storage.setAccount(who, a);
}

/** Debits `amount` from `who`; with `keepAlive` false and nothing depending on it, an account left below ED is reaped (DustLost, KilledAccount). */
export function withdraw(ctx: DispatchContext, who: string, amount: bigint, keepAlive: boolean): void {
  const a = ctx.storage.account(who);
  if (amount > reducible(ctx.runtime, a, keepAlive)) throw tokenError('FundsUnavailable');
  a.free -= amount;
  if (!keepAlive && a.consumers === 0 && a.reserved === 0n && a.free < existentialDeposit(ctx.runtime)) {
    if (a.free > 0n) ctx.emit('Balances', 'DustLost', [who, a.free]);
    ctx.emit('System', 'KilledAccount', [who]);
    ctx.storage.remove('System', 'Account', who);
    return;
  }
  ctx.storage.setAccount(who, a);
}

function accountId(arg: Codec): string {
  // MultiAddress::Id(AccountId32); other address forms have no lookup on Asset Hub (CannotLookup).
  const address = arg as unknown as { type: string; value: Codec };
  if (address.type !== 'Id') throw new DispatchFailure('CannotLookup');
  return address.value.toHex();
}

/** `MultiAddress` argument → AccountId32 hex. */
export const lookup = accountId;

function transfer(keepAlive: boolean): CallSpec['run'] {
  return (ctx, [dest, value]) => {
    const to = accountId(dest!);
    const amount = (value as unknown as { toBigInt(): bigint }).toBigInt();
    withdraw(ctx, ctx.who, amount, keepAlive);
    deposit(ctx, to, amount);
    ctx.emit('Balances', 'Transfer', [ctx.who, to, amount]);
  };
}

/** The Balances calls; weights are the devnet's, of the order of Asset Hub's benchmarks. */
export const balancesCalls: Record<string, CallSpec> = {
  'balances.transferAllowDeath': { weight: { refTime: 60_000_000n, proofSize: 3_593n }, run: transfer(false) },
  'balances.transferKeepAlive': { weight: { refTime: 47_000_000n, proofSize: 3_593n }, run: transfer(true) },
};

/**
 * Sets `who`'s hold for `reason` (`{pallet: variant}` of `RuntimeHoldReason`)
 * to `amount`: pallet-balances holds move funds from `free` to `reserved`,
 * list them in `Balances.Holds`, and the first hold adds a consumer
 * (`frame/balances/src/impl_fungible.rs` `set_balance_on_hold`).
 */
export function setHold(ctx: DispatchContext, who: string, pallet: 'Staking' | 'DelegatedStaking', variant: string, amount: bigint): void {
  const holds = ((ctx.storage.read('Balances', 'Holds', who) as { id: Record<string, unknown>; amount: unknown }[] | undefined) ?? []).map((h) => ({ id: h.id, amount: BigInt(h.amount as string) }));
  const key = pallet.charAt(0).toLowerCase() + pallet.slice(1);
  const index = holds.findIndex((h) => key in h.id || pallet in h.id);
  const before = index < 0 ? 0n : holds[index]!.amount;
  const a = ctx.storage.account(who);
  if (amount - before > reducible(ctx.runtime, a, true)) throw tokenError('FundsUnavailable');
  a.free -= amount - before;
  a.reserved += amount - before;
  const wasEmpty = holds.length === 0;
  if (index < 0 && amount > 0n) holds.push({ id: { [pallet]: variant }, amount });
  else if (index >= 0 && amount === 0n) holds.splice(index, 1);
  else if (index >= 0) holds[index]!.amount = amount;
  if (wasEmpty && holds.length > 0) a.consumers += 1;
  if (!wasEmpty && holds.length === 0) a.consumers -= 1;
  ctx.storage.setAccount(who, a);
  if (holds.length === 0) ctx.storage.remove('Balances', 'Holds', who);
  else ctx.storage.write('Balances', 'Holds', [who], holds);
}

/**
 * Slashes `amount` of `who`'s hold for `pallet` (`fungible::hold::Balanced::slash`,
 * `frame/balances/src/impl_fungible.rs`): the held funds leave the account
 * (`reserved` and the hold shrink; free is untouched), `Balances.Slashed`.
 * Returns what was slashed (at most what was held).
 */
export function slashHold(ctx: DispatchContext, who: string, pallet: 'Staking' | 'DelegatedStaking', amount: bigint): bigint {
  const holds = ((ctx.storage.read('Balances', 'Holds', who) as { id: Record<string, unknown>; amount: unknown }[] | undefined) ?? []).map((h) => ({ id: h.id, amount: BigInt(h.amount as string) }));
  const key = pallet.charAt(0).toLowerCase() + pallet.slice(1);
  const index = holds.findIndex((h) => key in h.id || pallet in h.id);
  if (index < 0 || amount === 0n) return 0n;
  const taken = amount < holds[index]!.amount ? amount : holds[index]!.amount;
  holds[index]!.amount -= taken;
  const a = ctx.storage.account(who);
  a.reserved -= taken;
  if (holds[index]!.amount === 0n) holds.splice(index, 1);
  if (holds.length === 0) a.consumers -= 1;
  ctx.storage.setAccount(who, a);
  if (holds.length === 0) ctx.storage.remove('Balances', 'Holds', who);
  else ctx.storage.write('Balances', 'Holds', [who], holds);
  ctx.emit('Balances', 'Slashed', [who, taken]);
  return taken;
}

/** Emits into a list, in the extrinsic's phase. */
export function eventCollector(runtime: Runtime, phase: EventEntry['phase'], into: EventEntry[]): DispatchContext['emit'] {
  return (pallet, name, args) => into.push({ phase, bytes: runtime.event(pallet, name, args), name: `${pallet}.${name}` });
}
