/**
 * The runtime the Polkadot devnet serves: the real Asset Hub Polkadot
 * metadata shipped in `@polkadot/types-support` (v15, `statemint` spec
 * 2000000, transaction version 15), its real `state_getRuntimeVersion`
 * answer, and the codecs every storage value, event, call and runtime-API
 * result is encoded with: `@polkadot/types` built from that metadata, so a
 * pallet, call, event, error or storage item is found by its name in the
 * metadata and never by a hand-written index or key.
 *
 * The hex in types-support is the raw `Metadata_metadata_at_version(15)`
 * result: `Option::Some` (0x01) ‖ compact length ‖ `meta` ‖ v15 ‖ …
 * (docs/chains/polkadot.md §1).
 */
import { Metadata, TypeRegistry, unwrapStorageType } from '@polkadot/types';
import { expandMetadata } from '@polkadot/types/metadata';
import type { DecoratedMeta } from '@polkadot/types/metadata/decorate/types';
import type { StorageEntry } from '@polkadot/types/primitive/types';
import metadataAtVersion15 from '@polkadot/types-support/metadata/v15/asset-hub-polkadot-hex';
import runtimeVersion from '@polkadot/types-support/metadata/v15/asset-hub-polkadot-ver';
import realRpcMethods from '@polkadot/types-support/metadata/v15/asset-hub-polkadot-rpc';
import { compactAddLength, compactStripLength, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

/** The real `state_getRuntimeVersion` answer of Asset Hub Polkadot at spec 2000000, served verbatim. */
export const RUNTIME_VERSION = runtimeVersion as {
  specName: string;
  implName: string;
  authoringVersion: number;
  specVersion: number;
  implVersion: number;
  apis: [string, number][];
  transactionVersion: number;
  systemVersion: number;
  stateVersion: number;
};

/** The real node's `rpc_methods` list (the devnet answers with the part of it that it serves). */
export const REAL_RPC_METHODS: readonly string[] = (realRpcMethods as { methods: string[] }).methods;

/** The raw `Metadata_metadata_at_version(15)` result: `Option<OpaqueMetadata>`, Some. */
export const METADATA_AT_VERSION_15: `0x${string}` = metadataAtVersion15 as `0x${string}`;

/** The opaque metadata bytes (`state_getMetadata`, `Metadata_metadata`): the option byte and compact length stripped. */
export const OPAQUE_METADATA: Uint8Array = compactStripLength(hexToU8a(METADATA_AT_VERSION_15).subarray(1))[1];

/** The metadata a devnet serves: the opaque bytes, and the `Metadata_metadata_at_version(15)` answer. */
export interface ServedMetadata {
  opaque: Uint8Array;
  atVersion15: Uint8Array;
}

/**
 * The real metadata with `pallets` taken out, everything else as is (the
 * other pallets keep their indices): what a runtime without them serves,
 * e.g. the Polkadot relay chain after the Asset Hub migration, whose
 * runtime has no `Staking` (polkadot-sdk polkadot/runtime; the pallets
 * moved to Asset Hub). The devnet still runs them; only clients cannot
 * see them.
 */
export function metadataWithout(pallets: readonly string[]): ServedMetadata {
  const registry = new TypeRegistry();
  const v15 = new Metadata(registry, OPAQUE_METADATA).asV15;
  const stripped = registry.createType('MetadataV15', {
    lookup: v15.lookup,
    pallets: v15.pallets.filter((p) => !pallets.includes(p.name.toString())),
    extrinsic: v15.extrinsic,
    type: v15.type,
    apis: v15.apis,
    outerEnums: v15.outerEnums,
    custom: v15.custom,
  });
  // `meta` ‖ version 15, then the v15 struct.
  const opaque = u8aConcat(OPAQUE_METADATA.subarray(0, 5), stripped.toU8a());
  return { opaque, atVersion15: u8aConcat(new Uint8Array([1]), compactAddLength(opaque)) };
}

/** One event or call argument: its value as `@polkadot/types` takes it. */
export type Arg = unknown;

/** The metadata's codecs and lookups; one per devnet. */
export class Runtime {
  readonly registry = new TypeRegistry();
  readonly metadata: Metadata;
  readonly decorated: DecoratedMeta;

  constructor() {
    this.metadata = new Metadata(this.registry, OPAQUE_METADATA);
    this.registry.setMetadata(this.metadata);
    this.decorated = expandMetadata(this.registry, this.metadata);
  }

  /** `query.<pallet>.<item>`, failing loudly when the metadata has no such item. */
  storage(pallet: string, item: string): StorageEntry {
    const entry = this.decorated.query[camel(pallet)]?.[camel(item)];
    if (entry === undefined) throw new Error(`polkadot devnet: the metadata has no storage ${pallet}.${item}`);
    return entry;
  }

  /** The storage key of an item (the hashers the metadata names), hex without the length prefix. */
  key(pallet: string, item: string, ...keys: Arg[]): string {
    const entry = this.storage(pallet, item);
    const raw = entry(...keys);
    return u8aToHex(compactStripLength(raw)[1]);
  }

  /** The key prefix of a map, or of the part of a double map under its first keys (`state_getKeysPaged` prefix). */
  prefix(pallet: string, item: string, ...partial: Arg[]): string {
    return u8aToHex(this.storage(pallet, item).keyPrefix(...partial));
  }

  /** The type name of an item's value. */
  valueType(pallet: string, item: string): string {
    const entry = this.storage(pallet, item);
    return unwrapStorageType(this.registry, entry.meta.type, entry.meta.modifier.isOptional);
  }

  /** The type of the bytes stored under an item's key (an `Option` item stores its inner value; absence is None). */
  innerType(pallet: string, item: string): string {
    const entry = this.storage(pallet, item);
    return unwrapStorageType(this.registry, entry.meta.type, false);
  }

  /** A pallet's index in the runtime (`DispatchError::Module.index`, the first byte of a call and an event). */
  palletIndex(pallet: string): number {
    const found = this.metadata.asLatest.pallets.find((p) => p.name.toString() === pallet);
    if (found === undefined) throw new Error(`polkadot devnet: the metadata has no pallet ${pallet}`);
    return found.index.toNumber();
  }

  /**
   * An event's SCALE bytes: pallet index, variant index, then each field
   * encoded with the type the metadata gives it. `args` are in field order.
   */
  event(pallet: string, name: string, args: Arg[]): Uint8Array {
    const section = camel(pallet);
    const meta = this.decorated.events[section]?.[name]?.meta;
    if (meta === undefined) throw new Error(`polkadot devnet: the metadata has no event ${pallet}.${name}`);
    if (meta.fields.length !== args.length) throw new Error(`polkadot devnet: event ${pallet}.${name} has ${meta.fields.length} fields, got ${args.length}`);
    const fields = meta.fields.map((f, i) => this.registry.createType(this.registry.createLookupType(f.type), args[i]).toU8a());
    return u8aConcat(new Uint8Array([this.palletIndex(pallet), meta.index.toNumber()]), ...fields);
  }

  /** `DispatchError::Module{index, error}` as JSON for `@polkadot/types`, the error's index taken from the metadata. */
  moduleError(pallet: string, name: string): { Module: { index: number; error: Uint8Array } } {
    const section = camel(pallet);
    const meta = this.decorated.errors[section]?.[name]?.meta;
    if (meta === undefined) throw new Error(`polkadot devnet: the metadata has no error ${pallet}.${name}`);
    return { Module: { index: this.palletIndex(pallet), error: new Uint8Array([meta.index.toNumber(), 0, 0, 0]) } };
  }

  /** A constant's JSON value. */
  constant(pallet: string, name: string): unknown {
    const section = camel(pallet);
    const value = this.decorated.consts[section]?.[camel(name)];
    if (value === undefined) throw new Error(`polkadot devnet: the metadata has no constant ${pallet}.${name}`);
    return value.toJSON();
  }

  /** SCALE of `value` as the metadata's type `id` (a runtime API's input or output, an event field). */
  encodeLookup(id: number, value: Arg): Uint8Array {
    return this.registry.createType(this.registry.createLookupType(id), value).toU8a();
  }

  /** A runtime API method's output type id, from the metadata's `apis`. */
  apiOutput(api: string, method: string): number {
    const found = this.metadata.asLatest.apis.find((a) => a.name.toString() === api)?.methods.find((m) => m.name.toString() === method);
    if (found === undefined) throw new Error(`polkadot devnet: the metadata has no runtime API ${api}_${method}`);
    return found.output.toNumber();
  }

  /** A Vec of already encoded items. */
  vec(items: readonly Uint8Array[]): Uint8Array {
    return u8aConcat(this.registry.createType('Compact<u32>', items.length).toU8a(), ...items);
  }

  /** Bytes with their compact length prefix (an extrinsic as `chain_getBlock` lists it). */
  withLength(bytes: Uint8Array): Uint8Array {
    return compactAddLength(bytes);
  }
}

/** A u128/u64 read from `toJSON()` (a number, or a hex or decimal string when large). */
export function big(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'string') return BigInt(value);
  throw new TypeError(`polkadot devnet: expected an integer, got ${JSON.stringify(value)}`);
}

/** `ErasStakersOverview` → `erasStakersOverview`, as `@polkadot/types` names sections and items. */
function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
