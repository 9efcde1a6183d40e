/**
 * Finding things in finalized blocks without an indexer: the custody's
 * `System.Account` entry at a block (its nonce rises with each of its
 * extrinsics, its balance with each payout), bisected over block numbers
 * to find the blocks where it changed; and a block's extrinsic hashes.
 * Each request is its own failover call, so a long search never runs into
 * one request's timeout.
 *
 * Past blocks' state needs a node that keeps it (an archive node, or
 * `--state-pruning` long enough to cover the harvest interval and the
 * signing window).
 */
import type { ApiPromise } from '@polkadot/api';
import { unwrapStorageType } from '@polkadot/types';
import type { Codec } from '@polkadot/types/types';
import { hexToU8a } from '@polkadot/util';

import type { PolkadotClient } from './client.js';
import { extrinsicHash } from './events.js';

/** The hash of finalized block `number`. */
export function hashAt(client: PolkadotClient, number: number): Promise<string> {
  return client.call(async (api) => (await api.rpc.chain.getBlockHash(number)).toHex());
}

/** `System.Account(who)` raw at a block, `''` when absent. */
export function accountRawAt(client: PolkadotClient, hash: string, who: string): Promise<string> {
  return client.call(async (api) => {
    const raw = (await api.rpc.state.getStorage(api.query.system!.account!.key(who), hash)) as unknown as Codec;
    return raw.isEmpty ? '' : raw.toHex();
  });
}

/** The nonce in a raw `System.Account` value (`frame_system::AccountInfo`, decoded with the metadata's type); 0 when absent. */
export function nonceOf(api: ApiPromise, raw: string): number {
  if (raw === '') return 0;
  const entry = api.query.system!.account!.creator;
  const type = unwrapStorageType(api.registry, entry.meta.type, entry.meta.modifier.isOptional);
  const info = api.registry.createType(type, hexToU8a(raw)) as unknown as { nonce: { toNumber(): number } };
  return info.nonce.toNumber();
}

/** The custody's nonce at block `number`. */
export async function nonceAt(client: PolkadotClient, number: number, who: string): Promise<number> {
  const raw = await accountRawAt(client, await hashAt(client, number), who);
  return client.call(async (api) => nonceOf(api, raw));
}

/**
 * Blocks in (lo, hi] where `System.Account(who)` changed: the value at
 * both ends of a range equal, nothing in it is looked at. About
 * 2·log2(hi − lo) requests per change. (A change undone within a range,
 * a payout and then a slash of exactly the same amount with no extrinsic
 * of the account between, would be missed.)
 */
export async function changedBlocks(client: PolkadotClient, who: string, lo: number, hi: number, rawLo: string, rawHi: string): Promise<number[]> {
  if (rawLo === rawHi || hi <= lo) return [];
  if (hi === lo + 1) return [hi];
  const mid = Math.floor((lo + hi) / 2);
  const rawMid = await accountRawAt(client, await hashAt(client, mid), who);
  return [...(await changedBlocks(client, who, lo, mid, rawLo, rawMid)), ...(await changedBlocks(client, who, mid, hi, rawMid, rawHi))];
}

/** The hashes of a block's extrinsics, in order (`chain_getBlock`). */
export function extrinsicHashes(client: PolkadotClient, hash: string): Promise<string[]> {
  return client.call(async (api) => {
    const block = await api.rpc.chain.getBlock(hash);
    return block.block.extrinsics.map((e) => extrinsicHash(e.toU8a()));
  });
}
