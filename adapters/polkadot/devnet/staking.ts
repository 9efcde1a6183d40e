/**
 * Direct nomination on Asset Hub: `pallet-staking-async` (pallet 89 in the
 * served metadata). Calls follow `substrate/frame/staking-async/src/pallet/mod.rs`
 * and `pallet/impls.rs`; eras `session_rotation.rs`; the payout arithmetic
 * `impls.rs do_payout_stakers_by_page` (docs/chains/polkadot.md §4). Where
 * the sources are newer than spec 2000000 the metadata wins (`ClaimedRewards`,
 * no `LastValidatorEra`: every unbond waits the full `BondingDuration`).
 *
 * Staked funds are *held* (`RuntimeHoldReason::Staking`), not locked:
 * `reserved` grows by the bond and `Balances.Holds` lists it.
 *
 * Devnet simplifications, each said where it is made: eras follow the
 * devnet clock instead of relay session reports; the election gives every
 * elected validator its own bond plus an equal share of each nominator's
 * active stake (the real election is a multi-block sequential Phragmén);
 * validator reward points accrue 20 per block, round robin.
 */
import { decodeAddress } from '@polkadot/keyring';
import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';

import { type CallSpec, type DispatchContext, DispatchFailure, existentialDeposit, lookup, moduleError, reducible, setHold } from './dispatch.js';
import { big, type Runtime } from './runtime.js';
import type { Storage } from './state.js';

/** `Staking.Ledger` as the rules use it. */
export interface Ledger {
  stash: string;
  total: bigint;
  active: bigint;
  unlocking: { value: bigint; era: number }[];
}

/** The nominations quota: `StakingApi_nominations_quota`; Asset Hub sets `FixedNominationsQuota<16>` (polkadot-fellows `asset-hub-polkadot/src/staking/mod.rs`). */
export const NOMINATIONS_QUOTA = 16;

/** Points a validator earns per block it is credited with (the relay's `reward_by_ids([(author, 20)])`, `polkadot/runtime/parachains` [recalled]). */
const POINTS_PER_BLOCK = 20;

/** An AccountId32 as `toJSON()` gives it (SS58) → hex, the form the rules compare. */
export function hex(id: string): string {
  return id.startsWith('0x') ? id.toLowerCase() : u8aToHex(decodeAddress(id));
}

/** `Staking.ErasRewardPoints(era)` with hex keys. */
function readPoints(storage: Storage, era: number): { total: number; individual: Record<string, number> } {
  const raw = storage.read('Staking', 'ErasRewardPoints', era) as { total: number; individual: Record<string, number> };
  return { total: raw.total, individual: Object.fromEntries(Object.entries(raw.individual).map(([k, v]) => [hex(k), v])) };
}

function n(value: Codec): bigint {
  return (value as unknown as { toBigInt(): bigint }).toBigInt();
}

function num(value: Codec): number {
  return (value as unknown as { toNumber(): number }).toNumber();
}

export function readLedger(storage: Storage, stash: string): Ledger | undefined {
  const raw = storage.read('Staking', 'Ledger', stash) as { stash: string; total: unknown; active: unknown; unlocking: { value: unknown; era: number }[] } | undefined;
  if (raw === undefined) return undefined;
  return { stash: hex(raw.stash), total: big(raw.total), active: big(raw.active), unlocking: raw.unlocking.map((c) => ({ value: big(c.value), era: c.era })) };
}

export function writeLedger(storage: Storage, ledger: Ledger): void {
  storage.write('Staking', 'Ledger', [ledger.stash], ledger);
}

function constantNumber(runtime: Runtime, pallet: string, name: string): number {
  return Number(runtime.constant(pallet, name));
}

export function activeEra(storage: Storage): { index: number; start: number } {
  const raw = storage.read('Staking', 'ActiveEra') as { index: number; start: number | null } | undefined;
  return { index: raw?.index ?? 0, start: raw?.start ?? 0 };
}

export function currentEra(storage: Storage): number | undefined {
  return storage.read('Staking', 'CurrentEra') as number | undefined;
}

/** Sets the staking hold of `who` to `amount` (`RuntimeHoldReason::Staking`). */
function setStakingHold(ctx: DispatchContext, who: string, amount: bigint): void {
  setHold(ctx, who, 'Staking', 'Staking', amount);
}

/** `asset::free_to_stake`: what the stash can still put at stake, keeping the existential deposit [recalled, staking-async `asset.rs`]. */
function freeToStake(ctx: DispatchContext, who: string): bigint {
  return reducible(ctx.runtime, ctx.storage.account(who), true);
}

function minNominatorBond(storage: Storage): bigint {
  return big(storage.read('Staking', 'MinNominatorBond') ?? 0);
}

/** `min_chilled_bond`: max(min(MinNominatorBond, MinValidatorBond), ED) [recalled; function not located in the stored sources]. */
function minChilledBond(ctx: DispatchContext): bigint {
  const nominator = minNominatorBond(ctx.storage);
  const validator = big(ctx.storage.read('Staking', 'MinValidatorBond') ?? 0);
  const min = nominator < validator ? nominator : validator;
  const ed = existentialDeposit(ctx.runtime);
  return min > ed ? min : ed;
}

function ledgerOf(ctx: DispatchContext): Ledger {
  // staking-async resolves the caller as controller (= stash since controllers were deprecated): no ledger → NotController.
  const ledger = readLedger(ctx.storage, ctx.who);
  if (ledger === undefined) throw moduleError(ctx.runtime, 'Staking', 'NotController');
  return ledger;
}

function chill(ctx: DispatchContext, stash: string): void {
  if (ctx.storage.read('Staking', 'Nominators', stash) === undefined && ctx.storage.read('Staking', 'Validators', stash) === undefined) return;
  ctx.storage.remove('Staking', 'Nominators', stash);
  ctx.emit('Staking', 'Chilled', [stash]);
}

/** Removes unlocking chunks whose era ≤ CurrentEra; returns the amount released. */
function withdrawUnbonded(ctx: DispatchContext, ledger: Ledger): bigint {
  const current = currentEra(ctx.storage) ?? 0;
  const keep = ledger.unlocking.filter((c) => c.era > current);
  const released = ledger.unlocking.filter((c) => c.era <= current).reduce((s, c) => s + c.value, 0n);
  ledger.unlocking = keep;
  ledger.total -= released;
  return released;
}

function finishWithdraw(ctx: DispatchContext, ledger: Ledger, released: bigint): void {
  const ed = existentialDeposit(ctx.runtime);
  if (ledger.unlocking.length === 0 && ledger.active < ed) {
    // impls.rs `kill_stash`: the stash leaves staking, its hold released, Bonded/Ledger/Payee/Nominators removed.
    chill(ctx, ledger.stash);
    ctx.storage.remove('Staking', 'Bonded', ledger.stash);
    ctx.storage.remove('Staking', 'Ledger', ledger.stash);
    ctx.storage.remove('Staking', 'Payee', ledger.stash);
    setStakingHold(ctx, ledger.stash, 0n);
  } else {
    writeLedger(ctx.storage, ledger);
    setStakingHold(ctx, ledger.stash, ledger.total);
  }
  if (released > 0n) ctx.emit('Staking', 'Withdrawn', [ledger.stash, released]);
}

const calls: Record<string, CallSpec['run']> = {
  // mod.rs `bond`.
  bond(ctx, [value, payee]) {
    const stash = ctx.who;
    if (ctx.storage.read('Staking', 'Bonded', stash) !== undefined) throw moduleError(ctx.runtime, 'Staking', 'AlreadyBonded');
    if (readLedger(ctx.storage, stash) !== undefined) throw moduleError(ctx.runtime, 'Staking', 'AlreadyPaired');
    if (n(value!) < minChilledBond(ctx)) throw moduleError(ctx.runtime, 'Staking', 'InsufficientBond');
    // The value is clamped to what the stash can stake: bonding more than it has is not an error.
    const free = freeToStake(ctx, stash);
    const amount = n(value!) < free ? n(value!) : free;
    const payeeJson = payee!.toJSON() as Record<string, unknown> | string;
    if (payeeJson === 'Controller' || (typeof payeeJson === 'object' && 'controller' in payeeJson)) throw moduleError(ctx.runtime, 'Staking', 'ControllerDeprecated');
    ctx.storage.write('Staking', 'Bonded', [stash], stash);
    ctx.storage.write('Staking', 'Payee', [stash], payee);
    writeLedger(ctx.storage, { stash, total: amount, active: amount, unlocking: [] });
    setStakingHold(ctx, stash, amount);
    ctx.emit('Staking', 'Bonded', [stash, amount]);
  },
  // mod.rs `bond_extra`.
  bondExtra(ctx, [maxAdditional]) {
    const ledger = readLedger(ctx.storage, ctx.who);
    if (ledger === undefined) throw moduleError(ctx.runtime, 'Staking', 'NotStash');
    const free = freeToStake(ctx, ctx.who);
    const extra = n(maxAdditional!) < free ? n(maxAdditional!) : free;
    ledger.total += extra;
    ledger.active += extra;
    if (ledger.active < existentialDeposit(ctx.runtime)) throw moduleError(ctx.runtime, 'Staking', 'InsufficientBond');
    writeLedger(ctx.storage, ledger);
    setStakingHold(ctx, ctx.who, ledger.total);
    ctx.emit('Staking', 'Bonded', [ctx.who, extra]);
  },
  // mod.rs `unbond`.
  unbond(ctx, [valueArg]) {
    let ledger = ledgerOf(ctx);
    const maxChunks = constantNumber(ctx.runtime, 'Staking', 'MaxUnlockingChunks');
    if (ledger.unlocking.length >= maxChunks) {
      // A full ledger first withdraws what is due (do_withdraw_unbonded), then must have room.
      const released = withdrawUnbonded(ctx, ledger);
      finishWithdraw(ctx, ledger, released);
      ledger = ledgerOf(ctx);
    }
    let value = n(valueArg!) < ledger.active ? n(valueArg!) : ledger.active;
    // Unbonding everything chills first.
    if (value >= ledger.active) chill(ctx, ledger.stash);
    if (ledger.unlocking.length >= maxChunks) throw moduleError(ctx.runtime, 'Staking', 'NoMoreChunks');
    if (value === 0n) return;
    ledger.active -= value;
    const ed = existentialDeposit(ctx.runtime);
    if (ledger.active < ed) {
      value += ledger.active;
      ledger.active = 0n;
    }
    if (ctx.storage.read('Staking', 'Nominators', ledger.stash) !== undefined && ledger.active < minNominatorBond(ctx.storage)) {
      throw moduleError(ctx.runtime, 'Staking', 'InsufficientBond');
    }
    // The chunk unlocks BondingDuration eras after the active era (spec 2000000 has no fast unbond).
    const era = activeEra(ctx.storage).index + constantNumber(ctx.runtime, 'Staking', 'BondingDuration');
    const last = ledger.unlocking[ledger.unlocking.length - 1];
    if (last?.era === era) last.value += value;
    else ledger.unlocking.push({ value, era });
    writeLedger(ctx.storage, ledger);
    ctx.emit('Staking', 'Unbonded', [ledger.stash, value]);
  },
  // mod.rs `withdraw_unbonded`: the slashing-spans argument is deprecated and ignored; nothing due is not an error.
  withdrawUnbonded(ctx) {
    const ledger = ledgerOf(ctx);
    const released = withdrawUnbonded(ctx, ledger);
    finishWithdraw(ctx, ledger, released);
  },
  // mod.rs `nominate`.
  nominate(ctx, [targetsArg]) {
    const ledger = ledgerOf(ctx);
    if (ledger.active < minNominatorBond(ctx.storage)) throw moduleError(ctx.runtime, 'Staking', 'InsufficientBond');
    const targets = [...new Set((targetsArg as unknown as Codec[]).map((t) => lookup(t)))].sort();
    if (targets.length === 0) throw moduleError(ctx.runtime, 'Staking', 'EmptyTargets');
    if (targets.length > NOMINATIONS_QUOTA) throw moduleError(ctx.runtime, 'Staking', 'TooManyTargets');
    const old = ((ctx.storage.read('Staking', 'Nominators', ledger.stash) as { targets: string[] } | undefined)?.targets ?? []).map(hex);
    for (const t of targets) {
      const prefs = ctx.storage.read('Staking', 'Validators', t) as { blocked: boolean } | undefined;
      const ok = prefs !== undefined && (!prefs.blocked || old.includes(t));
      if (!ok && !old.includes(t)) throw moduleError(ctx.runtime, 'Staking', 'BadTarget');
    }
    ctx.storage.write('Staking', 'Nominators', [ledger.stash], { targets, submittedIn: currentEra(ctx.storage) ?? 0, suppressed: false });
  },
  // mod.rs `chill`.
  chill(ctx) {
    const ledger = ledgerOf(ctx);
    chill(ctx, ledger.stash);
  },
  // mod.rs `payout_stakers_by_page` → impls.rs `do_payout_stakers_by_page`.
  payoutStakersByPage(ctx, [validatorArg, eraArg, pageArg]) {
    payout(ctx, validatorArg!.toHex(), num(eraArg!), num(pageArg!));
  },
};

function payout(ctx: DispatchContext, validator: string, era: number, page: number): void {
  const { storage, runtime } = ctx;
  const current = currentEra(storage);
  const history = constantNumber(runtime, 'Staking', 'HistoryDepth');
  if (current === undefined || era > current || era < current - history) throw moduleError(runtime, 'Staking', 'InvalidEraToReward');
  const overview = storage.read('Staking', 'ErasStakersOverview', era, validator) as { total: unknown; own: unknown; nominatorCount: number; pageCount: number } | undefined;
  const pageCount = overview === undefined ? 1 : overview.pageCount === 0 && big(overview.own) > 0n ? 1 : Math.max(overview.pageCount, 1);
  if (page >= pageCount) throw moduleError(runtime, 'Staking', 'InvalidPage');
  const eraReward = storage.read('Staking', 'ErasValidatorReward', era);
  if (eraReward === undefined) throw moduleError(runtime, 'Staking', 'InvalidEraToReward');
  if (storage.read('Staking', 'Bonded', validator) === undefined) throw moduleError(runtime, 'Staking', 'NotStash');
  const claimed = (storage.read('Staking', 'ClaimedRewards', era, validator) as number[] | undefined) ?? [];
  if (claimed.includes(page)) throw moduleError(runtime, 'Staking', 'AlreadyClaimed');
  storage.write('Staking', 'ClaimedRewards', [era, validator], [...claimed, page]);
  const paged = storage.read('Staking', 'ErasStakersPaged', era, validator, page) as { pageTotal: unknown; others: { who: string; value: unknown }[] } | undefined;
  // An unelected validator has no exposure: the claim mark above is rolled back with the failed call.
  if (overview === undefined || paged === undefined) throw moduleError(runtime, 'Staking', 'InvalidEraToReward');
  const points = readPoints(storage, era);
  const mine = points.individual[validator] ?? 0;
  if (mine === 0 || points.total === 0) return;
  const total = big(overview.total);
  const totalV = perbillOf(fromRational(BigInt(mine), BigInt(points.total)), big(eraReward));
  const prefs = storage.read('Staking', 'ErasValidatorPrefs', era, validator) as { commission: number };
  const commission = perbillOf(BigInt(prefs.commission), totalV);
  const leftover = totalV - commission;
  const own = page === 0 ? big(overview.own) : 0n;
  const validatorPay = perbillOf(fromRational(own, total), leftover) + perbillOf(fromRational(big(paged.pageTotal), total), commission);
  const next = page + 1 < pageCount ? page + 1 : null;
  ctx.emit('Staking', 'PayoutStarted', [era, validator, page, next]);
  payTo(ctx, validator, validatorPay);
  for (const other of paged.others) payTo(ctx, hex(other.who), perbillOf(fromRational(big(other.value), total), leftover));
}

const BILLION = 1_000_000_000n;

/** `Perbill::from_rational(p, q)`, rounding down (per_things.rs). */
function fromRational(p: bigint, q: bigint): bigint {
  if (q === 0n) return BILLION;
  return p >= q ? BILLION : (p * BILLION) / q;
}

/** `Perbill * balance`, rounding to nearest, halves down (per_things.rs `NearestPrefDown`). */
export function perbillOf(parts: bigint, value: bigint): bigint {
  const product = parts * value;
  const q = product / BILLION;
  const r = product % BILLION;
  return r * 2n > BILLION ? q + 1n : q;
}

/** impls.rs `make_payout` by `Payee(stash)`: Staked compounds, Stash mints free, Account(a) mints to a, None pays nothing. */
function payTo(ctx: DispatchContext, stash: string, amount: bigint): void {
  if (amount === 0n) return;
  const raw = ctx.storage.read('Staking', 'Payee', stash) as string | Record<string, string | null> | undefined;
  if (raw === undefined) return;
  // RewardDestination as toJSON gives it: `{ staked: null }`, `{ account: <ss58> }`.
  const [kind, target] = typeof raw === 'string' ? [raw.toLowerCase(), null] : [Object.keys(raw)[0]!.toLowerCase(), Object.values(raw)[0] ?? null];
  if (kind === 'none') return;
  const mint = (who: string): void => {
    const a = ctx.storage.account(who);
    if (a.providers === 0) a.providers = 1;
    a.free += amount;
    ctx.storage.setAccount(who, a);
  };
  if (kind === 'staked') {
    mint(stash);
    const ledger = readLedger(ctx.storage, stash);
    if (ledger !== undefined) {
      ledger.total += amount;
      ledger.active += amount;
      writeLedger(ctx.storage, ledger);
      setStakingHold(ctx, stash, ledger.total);
    }
    ctx.emit('Staking', 'Rewarded', [stash, 'Staked', amount]);
  } else if (kind === 'account' && target !== null) {
    const dest = hex(target);
    mint(dest);
    ctx.emit('Staking', 'Rewarded', [stash, { Account: dest }, amount]);
  } else {
    mint(stash);
    ctx.emit('Staking', 'Rewarded', [stash, 'Stash', amount]);
  }
  // A pool's rewards are booked when members are paid (NominationPools.PaidOut), not here.
  if (ctx.storage.read('Staking', 'VirtualStakers', stash) === undefined) ctx.onReward?.(stash, amount);
}

/** The staking calls with the devnet's weights. */
export const stakingCalls: Record<string, CallSpec> = Object.fromEntries(
  Object.entries(calls).map(([name, run]) => [`staking.${name}`, { weight: { refTime: 300_000_000n, proofSize: 10_000n }, run }]),
);

/** What the devnet's eras are made of. */
export interface EraConfig {
  /** Chain time per era, ms (Asset Hub: 6 relay sessions of 4 h = 24 h). */
  eraMs: number;
  /** What an era pays the stakers in total (`validator_payout`); the treasury `remainder` is 15/85 of it (polkadot-fellows `asset-hub-polkadot/src/staking/mod.rs` `EraPayout`). */
  eraPayout: bigint;
  /** Validators left out of the next election (a test's "not elected" era). */
  unelected: ReadonlySet<string>;
}

/** Per-block staking work: reward points, planning (CurrentEra += 1 with exposures) and rotation (EraPaid, ActiveEra += 1), by `session_rotation.rs`. */
export function stakingOnInitialize(runtime: Runtime, storage: Storage, block: { number: number; time: number }, config: EraConfig, emit: DispatchContext['emit']): void {
  const active = activeEra(storage);
  const current = currentEra(storage) ?? 0;
  const elapsed = block.time - active.start;
  const sessionsPerEra = constantNumber(runtime, 'Staking', 'SessionsPerEra');
  const planningOffset = constantNumber(runtime, 'Staking', 'PlanningEraOffset');
  const sessionMs = config.eraMs / sessionsPerEra;
  // Reward points for the active era: one validator exposed in it per block, in turn.
  const validators = storage.keys(runtime.prefix('Staking', 'ErasStakersOverview', active.index)).map((k) => `0x${k.slice(-64)}`);
  if (validators.length > 0) {
    const author = validators[block.number % validators.length]!;
    const points = readPoints(storage, active.index);
    points.individual[author] = (points.individual[author] ?? 0) + POINTS_PER_BLOCK;
    points.total += POINTS_PER_BLOCK;
    storage.write('Staking', 'ErasRewardPoints', [active.index], points);
  }
  if (current === active.index && elapsed >= sessionMs * (sessionsPerEra - planningOffset)) {
    plan(runtime, storage, current + 1, config);
  }
  if (current === active.index + 1 && elapsed >= config.eraMs) {
    const remainder = (config.eraPayout * 15n) / 85n;
    emit('Staking', 'EraPaid', [active.index, config.eraPayout, remainder]);
    storage.write('Staking', 'ErasValidatorReward', [active.index], config.eraPayout);
    storage.write('Staking', 'ActiveEra', [], { index: current, start: block.time });
    const bonded = (storage.read('Staking', 'BondedEras') as [number, number][] | undefined) ?? [];
    storage.write('Staking', 'BondedEras', [], [...bonded, [current, current * sessionsPerEra]].slice(-(constantNumber(runtime, 'Staking', 'BondingDuration') + 1)));
    emit('Staking', 'SessionRotated', [current * sessionsPerEra, current, current]);
  }
}

/** Writes the exposures of `era` (the "election"): see the module comment for how stake is split. */
export function plan(runtime: Runtime, storage: Storage, era: number, config: EraConfig): void {
  storage.write('Staking', 'CurrentEra', [], era);
  const validatorPrefix = runtime.prefix('Staking', 'Validators');
  const validators = storage
    .keys(validatorPrefix)
    .map((k) => `0x${k.slice(-64)}`)
    .filter((v) => !config.unelected.has(v));
  const exposures = new Map<string, { own: bigint; others: { who: string; value: bigint }[] }>();
  for (const v of validators) {
    const prefs = storage.read('Staking', 'Validators', v) as { commission: number; blocked: boolean };
    exposures.set(v, { own: readLedger(storage, v)?.active ?? 0n, others: [] });
    storage.write('Staking', 'ErasValidatorPrefs', [era, v], prefs);
  }
  for (const key of storage.keys(runtime.prefix('Staking', 'Nominators'))) {
    const nominator = `0x${key.slice(-64)}`;
    const nominations = storage.read('Staking', 'Nominators', nominator) as { targets: string[] };
    const targets = nominations.targets.map(hex).filter((t) => exposures.has(t));
    const stake = readLedger(storage, nominator)?.active ?? 0n;
    if (targets.length === 0 || stake === 0n) continue;
    const share = stake / BigInt(targets.length);
    targets.forEach((t, i) => exposures.get(t)!.others.push({ who: nominator, value: i === 0 ? stake - share * BigInt(targets.length - 1) : share }));
  }
  const pageSize = constantNumber(runtime, 'Staking', 'MaxExposurePageSize');
  let totalStake = 0n;
  for (const [v, e] of exposures) {
    const total = e.own + e.others.reduce((s, o) => s + o.value, 0n);
    totalStake += total;
    const pages = Math.max(1, Math.ceil(e.others.length / pageSize));
    storage.write('Staking', 'ErasStakersOverview', [era, v], { total, own: e.own, nominatorCount: e.others.length, pageCount: pages });
    for (let p = 0; p < pages; p++) {
      const others = e.others.slice(p * pageSize, (p + 1) * pageSize);
      storage.write('Staking', 'ErasStakersPaged', [era, v, p], { pageTotal: others.reduce((s, o) => s + o.value, 0n), others });
    }
  }
  storage.write('Staking', 'ErasTotalStake', [era], totalStake);
  storage.write('Staking', 'ErasRewardPoints', [era], { total: 0, individual: {} });
}

/** Marks the failure type for callers that only need the class. */
export { DispatchFailure };
