/**
 * Reading a block's `System.Events` for the custody: what one of its
 * extrinsics cost and moved (a receipt), and the rewards and slashes the
 * chain paid it in that block whoever triggered them (a harvest).
 *
 * Events are matched by pallet and event *name* from the metadata, fields
 * by name, so the same code reads Asset Hub (`pallet-staking-async`,
 * `TransactionPayment.TransactionFeePaid` emitted by `ChargeAssetTxPayment`
 * for native fees: polkadot-sdk `substrate/frame/transaction-payment/asset-conversion-tx-payment/src/lib.rs`)
 * and a relay chain.
 *
 * - Nominate mode: `Staking.Rewarded{stash: custody}` (+), `Staking.Slashed{staker: custody}` (−;
 *   staking-async `slashing.rs` `do_slash`, emitted in the block that applies
 *   a deferred slash, outside any extrinsic).
 * - Pool mode: `NominationPools.PaidOut{member: custody}` (+),
 *   `DelegatedStaking.Slashed{delegator: custody}` (−). With delegated stake a
 *   pool's slash (`Staking.Slashed` of its bonded account, `PoolSlashed`,
 *   `UnbondingPoolSlashed`) moves no member's funds: it lowers what every
 *   member's points are worth and leaves a pending slash, which is taken from
 *   the member's held funds when anyone calls `apply_slash(member)` or the
 *   member withdraws (nomination-pools `lib.rs` `do_apply_slash`,
 *   delegated-staking `do_slash`). That event is the only one that names the
 *   member and the exact amount it lost, and it comes when the funds leave the
 *   custody account, so it is the slash reported. Until it comes the
 *   position's `bonded` (the points' worth) is already lower: the loss shows
 *   there first and in the reward events when it is taken. The adapter does
 *   not wait for others: once the custody's pending slash reaches the
 *   existential deposit, its next harvest job's claim applies it
 *   (position.ts `slashDue`); a smaller one waits for the custody's
 *   withdrawal. Reporting the custody's share of `PoolSlashed` instead
 *   would need the member's balance before and after, and would count again
 *   whatever `DelegatedStaking.Slashed` later takes (rounding included).
 */
import type { ApiPromise } from '@polkadot/api';
import type { ApiDecoration } from '@polkadot/api/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';

import type { Movement, RewardEvent } from '../types.js';
import { big, idHex } from './state.js';

/** An event's fields by name (the metadata names them). */
export function fields(record: EventRecord): Record<string, Codec> {
  const data = record.event.data as unknown as Codec[] & { names: string[] | null };
  const out: Record<string, Codec> = {};
  (data.names ?? []).forEach((name, i) => {
    out[name] = data[i]!;
  });
  return out;
}

function amountOf(codec: Codec | undefined): bigint {
  return codec === undefined ? 0n : big(codec.toJSON());
}

function is(record: EventRecord, section: string, method: string): boolean {
  return record.event.section === section && record.event.method === method;
}

/** The block's events and its time, read at `at` (one `state_queryStorageAt`). */
export async function eventsAt(at: ApiDecoration<'promise'>): Promise<{ records: EventRecord[]; time: number }> {
  const [events, now] = (await at.queryMulti([at.query.system!.events!, at.query.timestamp!.now!] as never)) as unknown as [EventRecord[], Codec];
  return { records: [...events], time: Number(big(now.toJSON() ?? 0)) };
}

/** The outcome of the extrinsic at `index` of a block. */
export interface ExtrinsicOutcome {
  success: boolean;
  /** The fee the custody paid (`actual_fee`, tip included). */
  fee: bigint;
  /** `Section.Name` of the dispatch error, when it failed. */
  error?: string;
  moved: Movement[];
}

/** What the extrinsic at `index` did, by its events (`ApplyExtrinsic(index)` phase). */
export function outcomeOf(api: ApiPromise, records: readonly EventRecord[], index: number, custody: string, mode: 'pool' | 'nominate'): ExtrinsicOutcome {
  const own = records.filter((r) => r.phase.isApplyExtrinsic && r.phase.asApplyExtrinsic.toNumber() === index);
  let fee = 0n;
  let success = false;
  let error: string | undefined;
  for (const record of own) {
    const f = fields(record);
    if (is(record, 'transactionPayment', 'TransactionFeePaid') && idHex(f.who!) === custody) fee += amountOf(f.actualFee);
    if (is(record, 'system', 'ExtrinsicSuccess')) success = true;
    if (is(record, 'system', 'ExtrinsicFailed')) {
      const dispatchError = f.dispatchError as unknown as { isModule: boolean; asModule: never; type: string; toString(): string };
      if (dispatchError.isModule) {
        const meta = api.registry.findMetaError(dispatchError.asModule);
        error = `${meta.section}.${meta.name}`;
      } else error = dispatchError.toString();
    }
  }
  const moved: Movement[] = [];
  for (const event of custodyEvents(own, custody, mode)) if (event.amount > 0n) moved.push({ kind: 'reward', amount: event.amount, ...(event.validator === undefined ? {} : { validator: event.validator }) });
  for (const record of own) {
    const f = fields(record);
    // Unbonded funds back to liquid: staking `Withdrawn{stash, amount}`, a pool's `Withdrawn{member, pool_id, balance, points}`.
    if (mode === 'nominate' && is(record, 'staking', 'Withdrawn') && idHex(f.stash!) === custody) moved.push({ kind: 'unlocked', amount: amountOf(f.amount) });
    if (mode === 'pool' && is(record, 'nominationPools', 'Withdrawn') && idHex(f.member!) === custody) moved.push({ kind: 'unlocked', amount: amountOf(f.balance) });
  }
  return { success, fee, ...(error === undefined ? {} : { error }), moved: moved.filter((m) => m.amount > 0n) };
}

/** A reward or slash of the custody in a list of events, with its index in the block's events. */
export interface CustodyEvent {
  index: number;
  phase: number | undefined;
  amount: bigint;
  validator?: string;
}

/** The rewards (+) and slashes (−) of the custody among `records`. */
export function custodyEvents(records: readonly EventRecord[], custody: string, mode: 'pool' | 'nominate', indices?: readonly number[]): CustodyEvent[] {
  const out: CustodyEvent[] = [];
  let validator: string | undefined;
  records.forEach((record, i) => {
    const f = fields(record);
    const index = indices?.[i] ?? i;
    const phase = record.phase.isApplyExtrinsic ? record.phase.asApplyExtrinsic.toNumber() : undefined;
    if (mode === 'nominate') {
      // PayoutStarted{era_index, validator_stash, …} precedes the Rewarded events of that page.
      if (is(record, 'staking', 'PayoutStarted')) validator = idHex(f.validatorStash!);
      if (is(record, 'staking', 'Rewarded') && idHex(f.stash!) === custody) out.push({ index, phase, amount: amountOf(f.amount), ...(validator === undefined ? {} : { validator }) });
      if (is(record, 'staking', 'Slashed') && idHex(f.staker!) === custody) out.push({ index, phase, amount: -amountOf(f.amount) });
    } else {
      if (is(record, 'nominationPools', 'PaidOut') && idHex(f.member!) === custody) out.push({ index, phase, amount: amountOf(f.payout) });
      if (is(record, 'delegatedStaking', 'Slashed') && idHex(f.delegator!) === custody) out.push({ index, phase, amount: -amountOf(f.amount) });
    }
  });
  return out.filter((e) => e.amount !== 0n);
}

/** The hash of an extrinsic as the chain lists it in a block (`chain_getBlock`): blake2-256 of its bytes, length prefix included. */
export function extrinsicHash(encoded: Uint8Array): string {
  return u8aToHex(blake2AsU8a(encoded, 256));
}

/** Reward events with deterministic ids: `<tx hash>:<event index>` (the block hash for events outside an extrinsic). */
export function rewardEvents(found: readonly CustodyEvent[], blockHash: string, txHashes: readonly string[], time: number, name: (stash: string) => string): RewardEvent[] {
  return found.map((e) => ({
    id: `${e.phase === undefined ? blockHash : txHashes[e.phase]!}:${e.index}`,
    amount: e.amount,
    at: time,
    ...(e.validator === undefined ? {} : { validator: name(e.validator) }),
  }));
}
