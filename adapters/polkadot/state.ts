/**
 * The custody account's staking state at one finalized block, read in one
 * `state_queryStorageAt` (plus, in pool mode, the pool runtime API), by
 * names the metadata gives: the same reads work on Asset Hub
 * (`pallet-staking-async`, pools with delegated stake) and on a relay chain
 * (`pallet-staking`, pools that hold members' funds). Every other read of
 * the adapter (position, limits, due) starts from this snapshot.
 */
import type { ApiPromise } from '@polkadot/api';
import type { ApiDecoration } from '@polkadot/api/types';
import type { Codec } from '@polkadot/types/types';
import { u8aConcat, u8aToHex } from '@polkadot/util';

import { ChainProtocolError } from '../errors.js';
import type { Head, PolkadotClient } from './client.js';

/** A u128/u64/u32 from `toJSON()` (a number, or a hex or decimal string when large). */
export function big(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'string') return BigInt(value);
  throw new TypeError(`expected an integer, got ${JSON.stringify(value)}`);
}

/** A codec's JSON, `undefined` for an empty `Option`. */
export function json<T>(codec: Codec): T | undefined {
  const value = codec.toJSON();
  return (value === null ? undefined : value) as T | undefined;
}

/** `AccountId32` as it comes from `toJSON()` (SS58) → lower-case hex. */
export function idHex(codec: Codec): string {
  return codec.toHex().toLowerCase();
}

/** `System.Account(custody).data`. */
export interface Balances {
  nonce: number;
  free: bigint;
  reserved: bigint;
  frozen: bigint;
}

/** `Staking.Ledger(custody)`. */
export interface Ledger {
  total: bigint;
  active: bigint;
  unlocking: { value: bigint; era: number }[];
}

/** `NominationPools.PoolMembers(custody)` with its unbonding balances resolved through the sub-pools. */
export interface Membership {
  poolId: number;
  points: bigint;
  /** The active points' value, `NominationPoolsApi_points_to_balance`. */
  balance: bigint;
  /** Per unbonding era: the balance it will release (sub-pool points → balance). */
  unbonding: { era: number; points: bigint; balance: bigint }[];
  /** `NominationPoolsApi_pending_rewards`. */
  pending: bigint;
  /**
   * `NominationPoolsApi_member_pending_slash`: the pool's slash the
   * membership already lost (its points are worth less) that has not yet
   * been taken from the custody's held funds. 0 where the runtime has no
   * such API (pools that hold members' funds are slashed directly).
   */
  pendingSlash: bigint;
}

/** The pool of pool mode (the configured one). */
export interface PoolInfo {
  state: 'Open' | 'Blocked' | 'Destroying';
  points: bigint;
  /** The validators the pool's bonded account nominates (hex). */
  nominations: string[];
}

/** Everything the reads need, at one finalized block. */
export interface Snapshot {
  head: Head;
  /** `Timestamp.Now`, ms. */
  at: number;
  account: Balances;
  existentialDeposit: bigint;
  activeEra: { index: number; start: number };
  currentEra: number;
  ledger: Ledger | undefined;
  /** The custody's nominations (hex), nominate mode. */
  nominations: string[];
  minNominatorBond: bigint;
  member: Membership | undefined;
  pool: PoolInfo | undefined;
  minJoinBond: bigint;
}

/** The bonded ("stash") account of nomination pool `poolId`: `modl` ‖ PalletId ‖ 0 ‖ id LE, zero-padded (nomination-pools lib.rs `create_bonded_account`). */
export function poolBondedAccount(api: ApiPromise, poolId: number): string {
  const palletId = api.consts.nominationPools.palletId.toU8a();
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, poolId, true);
  const raw = u8aConcat(new TextEncoder().encode('modl'), palletId, new Uint8Array([0]), id);
  const padded = new Uint8Array(32);
  padded.set(raw.subarray(0, 32));
  return u8aToHex(padded);
}

/** Reads the snapshot at the finalized head. */
export async function readSnapshot(client: PolkadotClient): Promise<Snapshot> {
  const custody = await client.accountId();
  return client.call(async (api) => {
    const head = await client.head(api);
    const at = await client.atRecent(api, head.hash);
    return snapshotAt(client, api, at, head, custody);
  });
}

async function snapshotAt(client: PolkadotClient, api: ApiPromise, at: ApiDecoration<'promise'>, head: Head, custody: string): Promise<Snapshot> {
  const q = at.query;
  const poolId = client.options.poolId;
  const poolMode = client.options.mode === 'pool';
  if (poolMode && q.nominationPools === undefined) throw new ChainProtocolError(client.name, 'the chain has no NominationPools pallet');
  if (q.staking === undefined) throw new ChainProtocolError(client.name, 'the chain has no Staking pallet');
  // One state_queryStorageAt for every item.
  const items: [unknown, ...unknown[]][] = [
    [q.timestamp!.now!],
    [q.system!.account!, custody],
    [q.staking.activeEra!],
    [q.staking.currentEra!],
    [q.staking.ledger!, custody],
    [q.staking.nominators!, custody],
    [q.staking.minNominatorBond!],
  ];
  if (poolMode) {
    items.push([q.nominationPools!.poolMembers!, custody], [q.nominationPools!.bondedPools!, poolId], [q.nominationPools!.subPoolsStorage!, poolId]);
    items.push([q.staking.nominators!, poolBondedAccount(api, poolId!)], [q.nominationPools!.minJoinBond!]);
  }
  const values = (await at.queryMulti(items as never)) as unknown as Codec[];
  const [now, account, active, current, ledger, nominators, minNominatorBond] = values as [Codec, Codec, Codec, Codec, Codec, Codec, Codec];
  const accountJson = json<{ nonce: number; data: { free: unknown; reserved: unknown; frozen?: unknown; miscFrozen?: unknown } }>(account)!;
  const activeJson = json<{ index: number; start: number | null }>(active);
  const ledgerJson = json<{ total: unknown; active: unknown; unlocking: { value: unknown; era: number }[] }>(ledger);
  const snapshot: Snapshot = {
    head,
    at: Number(big(json(now) ?? 0)),
    account: {
      nonce: accountJson.nonce,
      free: big(accountJson.data.free),
      reserved: big(accountJson.data.reserved),
      frozen: big(accountJson.data.frozen ?? accountJson.data.miscFrozen ?? 0),
    },
    existentialDeposit: (api.consts.balances!.existentialDeposit as unknown as { toBigInt(): bigint }).toBigInt(),
    activeEra: { index: activeJson?.index ?? 0, start: activeJson?.start ?? 0 },
    currentEra: json<number>(current) ?? 0,
    ledger: ledgerJson && {
      total: big(ledgerJson.total),
      active: big(ledgerJson.active),
      unlocking: ledgerJson.unlocking.map((c) => ({ value: big(c.value), era: c.era })),
    },
    nominations: nominators.isEmpty ? [] : ((nominators as unknown as { unwrap(): { targets: Codec[] } }).unwrap().targets.map(idHex)),
    minNominatorBond: big(json(minNominatorBond) ?? 0),
    member: undefined,
    pool: undefined,
    minJoinBond: 0n,
  };
  if (poolMode) {
    const [member, bondedPool, subPools, poolNominators, minJoinBond] = values.slice(7) as [Codec, Codec, Codec, Codec, Codec];
    snapshot.minJoinBond = big(json(minJoinBond) ?? 0);
    const poolJson = json<{ points: unknown; state: string }>(bondedPool);
    if (poolJson !== undefined) {
      snapshot.pool = {
        state: (poolJson.state.charAt(0).toUpperCase() + poolJson.state.slice(1)) as PoolInfo['state'],
        points: big(poolJson.points),
        nominations: poolNominators.isEmpty ? [] : (poolNominators as unknown as { unwrap(): { targets: Codec[] } }).unwrap().targets.map(idHex),
      };
    }
    const memberJson = json<{ poolId: number; points: unknown; unbondingEras: Record<string, unknown> }>(member);
    if (memberJson !== undefined) {
      const subJson = json<{ noEra: { points: unknown; balance: unknown }; withEra: Record<string, { points: unknown; balance: unknown }> }>(subPools);
      const points = big(memberJson.points);
      const call = at.call.nominationPoolsApi!;
      const [balance, pending, pendingSlash] = await Promise.all([
        points === 0n ? Promise.resolve(0n) : call.pointsToBalance!(memberJson.poolId, points).then((c) => big(json(c) ?? 0)),
        call.pendingRewards!(custody).then((c) => big(json(c) ?? 0)),
        call.memberPendingSlash === undefined ? Promise.resolve(0n) : call.memberPendingSlash(custody).then((c) => big(json(c) ?? 0)),
      ]);
      snapshot.member = {
        poolId: memberJson.poolId,
        points,
        balance,
        pending,
        pendingSlash,
        unbonding: Object.entries(memberJson.unbondingEras).map(([era, p]) => {
          // An era's sub-pool, or the merged one once it left the window (nomination-pools lib.rs `UnbondPool::point_to_balance`).
          const sub = subJson?.withEra[era] ?? subJson?.noEra;
          const subPoints = big(sub?.points ?? 0);
          const unbondingPoints = big(p);
          return { era: Number(era), points: unbondingPoints, balance: subPoints === 0n ? 0n : (big(sub!.balance) * unbondingPoints) / subPoints };
        }),
      };
    }
  }
  return snapshot;
}

/** When era `era` starts, ms, estimated from the active era's start and the configured era duration. */
export function eraStart(client: PolkadotClient, snapshot: Snapshot, era: number): number {
  return snapshot.activeEra.start + (era - snapshot.activeEra.index) * client.options.eraDurationMs;
}
