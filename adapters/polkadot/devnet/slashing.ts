/**
 * Slashing on Asset Hub, by `pallet-staking-async`'s rules:
 *
 * - an offence is queued for its era (`OffenceQueue`, `OffenceQueueEras`,
 *   `ValidatorSlashInEra`, event `OffenceReported`) as `on_new_offences`
 *   does in `substrate/frame/staking-async/src/pallet/impls.rs`; on Asset Hub
 *   the relay chain's offences pallet reports it through the rc-client, here
 *   a test does ({@link reportOffence});
 * - one offence page per block is computed from the offence era's exposure
 *   (`slashing.rs` `process_offence` → `compute_slash`: the validator's own
 *   stake and each nominator's exposed value times the fraction, less what
 *   a prior, smaller slash of the same era took) into
 *   `UnappliedSlashes(offence era + SlashDeferDuration, …)`, event
 *   `SlashComputed`;
 * - at the start of that era the unapplied slashes are applied, one per
 *   block (`slashing.rs` `apply_slash` → `do_slash`): the stash's ledger is
 *   slashed (`ledger.rs` `StakingLedger::slash`: the active bond and the
 *   unlocking chunks that were still at stake in the offence era,
 *   proportionally), the listeners told (nomination pools' `on_slash`,
 *   delegated staking's pending slash), the held funds of a direct staker
 *   slashed (`asset::slash`; a virtual staker's, a pool's, are left to the
 *   pool's members), and `Staking.Slashed{staker, amount}` emitted.
 *
 * Devnet simplifications: no reporters (so no reporter reward), the
 * slashed funds are burnt (the runtime hands them to its `Slash` handler),
 * the validator's own stake is slashed with page 0 only, and governance's
 * `cancel_deferred_slash` is not offered.
 */
import { hexToU8a } from '@polkadot/util';

import { type DispatchContext, existentialDeposit, slashHold } from './dispatch.js';
import { poolsOnSlash } from './pools.js';
import { big, type Runtime } from './runtime.js';
import { activeEra, hex, type Ledger, perbillOf, readLedger, writeLedger } from './staking.js';
import type { Storage } from './state.js';

/** An offence a test reports: `validator` (AccountId32 hex) misbehaved in `era`; `fraction` in parts per billion. */
export interface Offence {
  validator: string;
  era: number;
  fraction: number;
}

/** `UnappliedSlash` as the rules use it. */
interface Unapplied {
  validator: string;
  own: bigint;
  others: [string, bigint][];
  payout: bigint;
}

const QUINTILLION = 10n ** 18n;

function constant(runtime: Runtime, name: string): number {
  return Number(runtime.constant('Staking', name));
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * `StakingLedger::slash` (staking-async `ledger.rs`): takes up to `amount`
 * from the ledger, the active bond first. Where unlocking chunks that unlock
 * at `slashEra + BondingDuration` or later exist (funds unbonded after the
 * offence, so still at stake in it), active and those chunks are slashed in
 * proportion (`Perquintill` rounded up, each part rounded up), then older
 * chunks if need be; otherwise active, then the chunks from the newest. A
 * part left below `minimum` (the existential deposit) is slashed whole.
 * Returns what was slashed and each touched chunk's value after the slash.
 */
export function slashLedger(ledger: Ledger, amount: bigint, minimum: bigint, slashEra: number, bondingDuration: number): { slashed: bigint; unlocking: Map<number, bigint> } {
  const unlocking = new Map<number, bigint>();
  if (amount === 0n) return { slashed: 0n, unlocking };
  const before = ledger.total;
  let remaining = amount;
  const first = ledger.unlocking.findIndex((c) => c.era >= slashEra + bondingDuration);
  let ratio: bigint | undefined;
  let order: number[];
  if (first >= 0) {
    const affected = ledger.active + ledger.unlocking.slice(first).reduce((s, c) => s + c.value, 0n);
    // Perquintill::from_rational_with_rounding(amount, affected, Up); amount > affected is an error → one().
    ratio = affected === 0n || amount >= affected ? QUINTILLION : ceilDiv(amount * QUINTILLION, affected);
    order = [...ledger.unlocking.keys()].slice(first).concat([...ledger.unlocking.keys()].slice(0, first).reverse());
  } else {
    order = [...ledger.unlocking.keys()].reverse();
  }
  const slashOut = (target: bigint): bigint => {
    let take = ratio === undefined ? remaining : ceilDiv(ratio * target, QUINTILLION);
    if (take > target) take = target;
    if (take > remaining) take = remaining;
    let left = target - take;
    if (left < minimum) {
      take += left;
      left = 0n;
    }
    ledger.total -= take;
    remaining = remaining > take ? remaining - take : 0n;
    return left;
  };
  ledger.active = slashOut(ledger.active);
  for (const i of order) {
    if (remaining === 0n) break;
    const chunk = ledger.unlocking[i]!;
    chunk.value = slashOut(chunk.value);
    unlocking.set(chunk.era, chunk.value);
  }
  ledger.unlocking = ledger.unlocking.filter((c) => c.value !== 0n);
  return { slashed: before - ledger.total, unlocking };
}

/**
 * `on_new_offences` (impls.rs) for one offence: ignored when the validator
 * had no exposure in the era, when the era is too old for its slash to be
 * applied (`offence era + SlashDeferDuration` < active era), or when an
 * equal or larger slash of the same era is already known; otherwise queued.
 */
export function reportOffence(runtime: Runtime, storage: Storage, offence: Offence, emit: DispatchContext['emit']): void {
  const active = activeEra(storage).index;
  const defer = constant(runtime, 'SlashDeferDuration');
  if (offence.era + defer < active || offence.era > active) return;
  const overview = storage.read('Staking', 'ErasStakersOverview', offence.era, offence.validator) as { own: unknown; pageCount: number } | undefined;
  if (overview === undefined) return;
  const prior = storage.read('Staking', 'ValidatorSlashInEra', offence.era, offence.validator) as [number, unknown] | undefined;
  const priorFraction = prior?.[0] ?? 0;
  if (priorFraction >= offence.fraction) return;
  storage.write('Staking', 'ValidatorSlashInEra', [offence.era, offence.validator], [offence.fraction, perbillOf(BigInt(offence.fraction), big(overview.own))]);
  storage.write('Staking', 'OffenceQueue', [offence.era, offence.validator], {
    reporter: null,
    reportedEra: active,
    exposurePage: Math.max(1, overview.pageCount) - 1,
    slashFraction: offence.fraction,
    priorSlashFraction: priorFraction,
  });
  const eras = (storage.read('Staking', 'OffenceQueueEras') as number[] | undefined) ?? [];
  if (!eras.includes(offence.era)) storage.write('Staking', 'OffenceQueueEras', [], [...eras, offence.era].sort((a, b) => a - b));
  emit('Staking', 'OffenceReported', [offence.era, offence.validator, offence.fraction]);
}

type OffenceRecord = { exposurePage: number; slashFraction: number; priorSlashFraction: number; reportedEra: number; reporter: string | null };

/** `slashing.rs` `next_offence`: the page to process next (the last page first), updating the queue. */
function nextOffence(runtime: Runtime, storage: Storage): { era: number; offender: string; record: OffenceRecord } | undefined {
  const processing = storage.read('Staking', 'ProcessingOffence') as [number, string, OffenceRecord] | undefined;
  if (processing !== undefined) {
    const [era, offender, record] = processing;
    if (record.exposurePage === 0) storage.remove('Staking', 'ProcessingOffence');
    else storage.write('Staking', 'ProcessingOffence', [], [era, offender, { ...record, exposurePage: record.exposurePage - 1 }]);
    return { era, offender: hex(offender), record };
  }
  const eras = (storage.read('Staking', 'OffenceQueueEras') as number[] | undefined) ?? [];
  const oldest = eras[0];
  if (oldest === undefined) return undefined;
  const keys = storage.keys(runtime.prefix('Staking', 'OffenceQueue', oldest));
  const key = keys[0];
  let found: { era: number; offender: string; record: OffenceRecord } | undefined;
  if (key !== undefined) {
    const offender = `0x${key.slice(-64)}`;
    const record = storage.read('Staking', 'OffenceQueue', oldest, offender) as OffenceRecord;
    if (record.exposurePage > 0) storage.write('Staking', 'ProcessingOffence', [], [oldest, offender, { ...record, exposurePage: record.exposurePage - 1 }]);
    storage.remove('Staking', 'OffenceQueue', oldest, offender);
    found = { era: oldest, offender, record };
  }
  if (keys.length <= 1) {
    if (eras.length <= 1) storage.remove('Staking', 'OffenceQueueEras');
    else storage.write('Staking', 'OffenceQueueEras', [], eras.slice(1));
  }
  return found;
}

/** `slashing.rs` `process_offence`: computes one page of the next offence and defers (or applies) it. */
function processOffence(ctx: DispatchContext): void {
  const { runtime, storage } = ctx;
  const next = nextOffence(runtime, storage);
  if (next === undefined) return;
  const { era, offender, record } = next;
  const page = record.exposurePage;
  const overview = storage.read('Staking', 'ErasStakersOverview', era, offender) as { own: unknown } | undefined;
  const paged = storage.read('Staking', 'ErasStakersPaged', era, offender, page) as { others: { who: string; value: unknown }[] } | undefined;
  if (overview === undefined) return;
  const rewardFraction = BigInt((storage.read('Staking', 'SlashRewardFraction') as number | undefined) ?? 0);
  const slash = BigInt(record.slashFraction);
  const prior = BigInt(record.priorSlashFraction);
  // slash_validator: the new total slash of the own stake less the prior one (own stake with page 0, see the module comment).
  const ownStake = page === 0 ? big(overview.own) : 0n;
  const ownDue = perbillOf(slash, ownStake) - perbillOf(prior, ownStake);
  const own = ownDue > 0n ? ownDue : 0n;
  let payout = perbillOf(rewardFraction, own);
  // slash_nominators: each exposed value times the fraction, less the prior slash.
  const others: [string, bigint][] = [];
  for (const o of paged?.others ?? []) {
    const diff = perbillOf(slash, big(o.value)) - perbillOf(prior, big(o.value));
    if (diff <= 0n) continue;
    others.push([hex(o.who), diff]);
    payout += perbillOf(rewardFraction, diff);
  }
  if (own === 0n && others.length === 0) return;
  const defer = constant(runtime, 'SlashDeferDuration');
  const slashEra = era + defer;
  ctx.emit('Staking', 'SlashComputed', [era, slashEra, offender, page]);
  const unapplied: Unapplied = { validator: offender, own, others, payout };
  if (defer === 0) applySlash(ctx, unapplied, era);
  else storage.write('Staking', 'UnappliedSlashes', [slashEra, [offender, record.slashFraction, page]], { ...unapplied, reporter: record.reporter });
}

/** `slashing.rs` `do_slash`: slashes one stash's ledger and, for a direct staker, its held funds. */
function doSlash(ctx: DispatchContext, stash: string, value: bigint, offenceEra: number): void {
  const { runtime, storage } = ctx;
  const ledger = readLedger(storage, stash);
  if (ledger === undefined) return;
  const { slashed, unlocking } = slashLedger(ledger, value, existentialDeposit(runtime), offenceEra, constant(runtime, 'BondingDuration'));
  if (slashed === 0n) return;
  // ledger.slash tells the listeners (EventListeners = (NominationPools, DelegatedStaking)).
  poolsOnSlash(ctx, stash, ledger.active, unlocking, slashed);
  const virtual = storage.read('Staking', 'VirtualStakers', stash) !== undefined;
  if (!virtual) slashHold(ctx, stash, 'Staking', slashed);
  writeLedger(storage, ledger);
  ctx.emit('Staking', 'Slashed', [stash, slashed]);
  // A pool's members lose funds when their pending slash is applied (DelegatedStaking.Slashed), booked there.
  if (!virtual) ctx.onSlash?.(stash, slashed);
}

/** `slashing.rs` `apply_slash`: the validator's own slash, then each nominator's. */
function applySlash(ctx: DispatchContext, unapplied: Unapplied, offenceEra: number): void {
  if (unapplied.own > 0n) doSlash(ctx, unapplied.validator, unapplied.own, offenceEra);
  for (const [nominator, amount] of unapplied.others) if (amount > 0n) doSlash(ctx, nominator, amount, offenceEra);
}

/**
 * Per block, in `on_initialize`: queues the offences reported since the last
 * block, processes one offence page, and applies one of the active era's
 * unapplied slashes (offence era = active era − SlashDeferDuration).
 */
export function slashingOnInitialize(ctx: DispatchContext, reported: readonly Offence[]): void {
  const { runtime, storage } = ctx;
  for (const offence of reported) reportOffence(runtime, storage, offence, ctx.emit);
  processOffence(ctx);
  const active = activeEra(storage).index;
  const key = storage.keys(runtime.prefix('Staking', 'UnappliedSlashes', active))[0];
  if (key === undefined) return;
  const raw = runtime.registry.createType(runtime.innerType('Staking', 'UnappliedSlashes'), hexToU8a(storage.get(key)!)).toJSON() as {
    validator: string;
    own: unknown;
    others: [string, unknown][];
    payout: unknown;
  };
  storage.delete(key);
  const unapplied: Unapplied = { validator: hex(raw.validator), own: big(raw.own), others: raw.others.map(([who, v]) => [hex(who), big(v)]), payout: big(raw.payout) };
  applySlash(ctx, unapplied, active - constant(runtime, 'SlashDeferDuration'));
}
