/**
 * The devnet's state is what a Substrate node's is: storage, a map from
 * the keys the metadata's hashers make to SCALE values encoded with the
 * metadata's types. Pallet rules read and write it through the typed
 * accessors here, so what `state_getStorage` serves is exactly what the
 * rules wrote, and `@polkadot/api` (which decodes storage pedantically,
 * re-encoding each value and comparing bytes) reads it back unchanged.
 *
 * A dispatch works on a {@link Overlay} that is committed or dropped, as
 * FRAME's transactional storage layer rolls back a failed call.
 */
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

import { big, type Runtime } from './runtime.js';

/** `System.Account` (`frame_system::AccountInfo<u32, pallet_balances::AccountData<u128>>`). */
export interface AccountInfo {
  nonce: number;
  consumers: number;
  providers: number;
  sufficients: number;
  free: bigint;
  reserved: bigint;
  frozen: bigint;
  flags: bigint;
}

/** pallet_balances' "new logic" flag (`IS_NEW_LOGIC`, bit 127), set on every account since the holds migration. */
const NEW_LOGIC_FLAG = 1n << 127n;

/** Storage of one block, or a dispatch's overlay on it. */
export class Storage {
  constructor(
    readonly runtime: Runtime,
    private map: Map<string, string> = new Map(),
  ) {}

  /** A copy (the next block's starting state). */
  clone(): Storage {
    return new Storage(this.runtime, new Map(this.map));
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  set(key: string, value: string): void {
    this.map.set(key, value);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  /** Every key starting with `prefix`, sorted (the trie's order). */
  keys(prefix: string): string[] {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Every entry, for a state root. */
  entries(): [string, string][] {
    return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Replaces this storage's contents with `other`'s (commits an overlay). */
  replaceWith(other: Storage): void {
    this.map = new Map(other.map);
  }

  // ---- typed access through the metadata ----

  /** An item's value as JSON, `undefined` when absent (an `Option` item's `None`). */
  read(pallet: string, item: string, ...keys: unknown[]): unknown {
    const raw = this.map.get(this.runtime.key(pallet, item, ...keys));
    if (raw === undefined) return undefined;
    // Bytes, not the hex string: createType reads a hex string as a big-endian number for integer types.
    return this.runtime.registry.createType(this.runtime.innerType(pallet, item), hexToU8a(raw)).toJSON();
  }

  /** Writes an item's value (encoded with the metadata's type). An `Option` item takes the inner value. */
  write(pallet: string, item: string, keys: unknown[], value: unknown): void {
    // An Optional item is stored as its inner value (the key's absence is None).
    // toU8a, not toHex: an integer's toHex is big-endian.
    this.map.set(this.runtime.key(pallet, item, ...keys), u8aToHex(this.runtime.registry.createType(this.runtime.innerType(pallet, item), value).toU8a()));
  }

  /** Removes an item (ValueQuery items read back as their default). */
  remove(pallet: string, item: string, ...keys: unknown[]): void {
    this.map.delete(this.runtime.key(pallet, item, ...keys));
  }

  /** Raw bytes under an item's key. */
  writeRaw(pallet: string, item: string, keys: unknown[], bytes: Uint8Array): void {
    this.map.set(this.runtime.key(pallet, item, ...keys), u8aToHex(bytes));
  }

  /** `System.Account(who)`; an account that does not exist reads as zeros (ValueQuery). */
  account(who: string): AccountInfo {
    const raw = this.read('System', 'Account', who) as
      | { nonce: number; consumers: number; providers: number; sufficients: number; data: { free: unknown; reserved: unknown; frozen: unknown; flags: unknown } }
      | undefined;
    if (raw === undefined) return { nonce: 0, consumers: 0, providers: 0, sufficients: 0, free: 0n, reserved: 0n, frozen: 0n, flags: 0n };
    return {
      nonce: raw.nonce,
      consumers: raw.consumers,
      providers: raw.providers,
      sufficients: raw.sufficients,
      free: big(raw.data.free),
      reserved: big(raw.data.reserved),
      frozen: big(raw.data.frozen),
      flags: big(raw.data.flags),
    };
  }

  /** Writes `System.Account(who)`; an account with nothing left is removed (frame_system `on_killed_account`). */
  setAccount(who: string, a: AccountInfo): void {
    if (a.providers === 0 && a.sufficients === 0 && a.consumers === 0 && a.free === 0n && a.reserved === 0n && a.nonce === 0) {
      this.remove('System', 'Account', who);
      return;
    }
    this.write('System', 'Account', [who], {
      nonce: a.nonce,
      consumers: a.consumers,
      providers: a.providers,
      sufficients: a.sufficients,
      data: { free: a.free, reserved: a.reserved, frozen: a.frozen, flags: a.flags === 0n ? NEW_LOGIC_FLAG : a.flags },
    });
  }
}

/** One entry of `System.Events`: where it happened and the event's SCALE bytes. */
export interface EventEntry {
  phase: { applyExtrinsic: number } | 'finalization' | 'initialization';
  bytes: Uint8Array;
  /** For tests and ground truth: `Pallet.Name`. */
  name: string;
}

/** `Vec<EventRecord{phase, event, topics}>` with empty topics, as `System.Events` stores it. */
export function encodeEvents(runtime: Runtime, events: readonly EventEntry[]): Uint8Array {
  const records = events.map((e) => {
    // frame_system::Phase: ApplyExtrinsic(u32) = 0, Finalization = 1, Initialization = 2.
    const phase =
      typeof e.phase === 'object'
        ? u8aConcat(new Uint8Array([0]), runtime.registry.createType('u32', e.phase.applyExtrinsic).toU8a())
        : new Uint8Array([e.phase === 'finalization' ? 1 : 2]);
    return u8aConcat(phase, e.bytes, new Uint8Array([0]));
  });
  return runtime.vec(records);
}
