/**
 * The Substrate JSON-RPC the devnet serves over WebSocket, in the shapes
 * and words of polkadot-sdk's RPC servers (docs/chains/polkadot.md §2):
 * `substrate/client/rpc-api/src/{chain,state,author,system}/mod.rs` for the
 * method names, aliases and notification names,
 * `substrate/client/rpc-api/src/{state,author}/error.rs` for the error
 * codes, `substrate/utils/frame/rpc/system/src/lib.rs` for
 * `system_accountNextIndex`. `rpc_methods` lists exactly the methods
 * served, every one of them a name the real Asset Hub node lists
 * (polkadot-js drops decorations for names missing there).
 */
import { decodeAddress } from '@polkadot/keyring';
import { compactAddLength, hexToU8a, isHex, u8aToHex } from '@polkadot/util';

import { ResponseLost } from '../../devnet/faults.js';
import { JsonRpcError, JsonRpcRouter, type JsonRpcSubscription } from '../../devnet/jsonRpc.js';
import type { Block, PolkadotChain, TxStatus } from './chain.js';
import { decodeExtrinsic, ExtrinsicDecodeError, PoolRefusal } from './extrinsic.js';
import { METADATA_AT_VERSION_15, OPAQUE_METADATA, REAL_RPC_METHODS, RUNTIME_VERSION, type ServedMetadata } from './runtime.js';
import { balanceToPoints, memberPendingSlash, pendingRewards, poolAccount, pointsToBalance } from './pools.js';
import { NOMINATIONS_QUOTA } from './staking.js';
import type { Storage } from './state.js';

/** The chain-spec name of Asset Hub Polkadot (`cumulus/parachains/chain-specs/asset-hub-polkadot.json`). */
export const CHAIN_NAME = 'Polkadot Asset Hub';

/** `system_properties` of Asset Hub Polkadot (same chain spec). */
export const PROPERTIES = { ss58Format: 0, tokenDecimals: 10, tokenSymbol: 'DOT' } as const;

/** `STORAGE_KEYS_PAGED_MAX_COUNT` (`substrate/client/rpc-api/src/state/error.rs`). */
const KEYS_PAGED_MAX = 1000;

function list(params: unknown): unknown[] {
  return Array.isArray(params) ? params : params === undefined || params === null ? [] : [params];
}

function invalidParams(detail: string): JsonRpcError {
  return new JsonRpcError({ code: -32602, message: 'Invalid params', data: detail });
}

/** State error 4003 (`state/error.rs` `Error::Client`): "Client error: …". */
function clientError(detail: string): JsonRpcError {
  return new JsonRpcError({ code: 4003, message: `Client error: ${detail}` });
}

function headerJson(block: Block): Block['header'] {
  return block.header;
}

/** Builds the router for one chain. */
export function polkadotRouter(chain: PolkadotChain, metadata: ServedMetadata = { opaque: OPAQUE_METADATA, atVersion15: hexToU8a(METADATA_AT_VERSION_15) }): JsonRpcRouter {
  const router = new JsonRpcRouter({ name: 'polkadot devnet' });

  const blockAt = (hash: unknown): Block => {
    if (hash === undefined || hash === null) return chain.head;
    if (typeof hash !== 'string' || !isHex(hash, 256)) throw invalidParams(`invalid block hash ${JSON.stringify(hash)}`);
    const block = chain.block(hash);
    // Wording of sp_blockchain::Error::UnknownBlock as the state RPC wraps it [unconfirmed exact text].
    if (block === undefined) throw clientError(`UnknownBlock: Header was not found in the database: ${hash}`);
    return block;
  };
  const stateAt = (hash: unknown): { block: Block; storage: Storage } => {
    const block = blockAt(hash);
    if (block.storage === undefined) throw clientError(`UnknownBlock: State already discarded for ${block.hash}`);
    return { block, storage: block.storage };
  };
  const alias = (names: string[], handler: Parameters<JsonRpcRouter['method']>[1]): void => {
    for (const name of names) router.method(name, handler);
  };
  const subscription = (names: [string, string][], notification: string, start: JsonRpcSubscription['start']): void => {
    for (const [subscribe, unsubscribe] of names) router.subscription({ subscribe, unsubscribe, notification, start });
  };

  router.method('rpc_methods', () => ({ methods: router.names() }));
  router.method('system_chain', () => CHAIN_NAME);
  router.method('system_name', () => 'Polkadot Parachain');
  router.method('system_version', () => '1.18.0-devnet');
  router.method('system_properties', () => PROPERTIES);
  // Shape [recalled]: sc-rpc-api system Health { peers, isSyncing, shouldHavePeers }.
  router.method('system_health', () => ({ peers: 1, isSyncing: false, shouldHavePeers: true }));
  alias(['system_accountNextIndex', 'account_nextIndex'], (params) => {
    const [address] = list(params);
    let who: string;
    try {
      who = u8aToHex(decodeAddress(address as string));
    } catch {
      throw invalidParams(`invalid account ${JSON.stringify(address)}`);
    }
    // rpc/system `adjust_nonce`: the runtime's nonce, moved past the sender's ready transactions in the pool.
    let nonce = chain.best.account(who).nonce;
    const pending = chain.mempool.entries().map((e) => e.tx.checked).filter((c) => c.signer === who);
    while (pending.some((c) => c.nonce === nonce)) nonce += 1;
    return nonce;
  });

  alias(['chain_getBlockHash', 'chain_getHead'], (params) => {
    const [n] = list(params);
    if (n === undefined || n === null) return chain.head.hash;
    const number = typeof n === 'string' ? Number.parseInt(n, n.startsWith('0x') ? 16 : 10) : Number(n);
    if (!Number.isSafeInteger(number) || number < 0) throw invalidParams(`invalid block number ${JSON.stringify(n)}`);
    return chain.block(number)?.hash ?? null;
  });
  router.method('chain_getHeader', (params) => {
    const [hash] = list(params);
    if (hash === undefined || hash === null) return headerJson(chain.head);
    const block = typeof hash === 'string' ? chain.block(hash) : undefined;
    return block === undefined ? null : headerJson(block);
  });
  router.method('chain_getBlock', (params) => {
    const [hash] = list(params);
    const block = hash === undefined || hash === null ? chain.head : typeof hash === 'string' ? chain.block(hash) : undefined;
    if (block === undefined) return null;
    return { block: { header: headerJson(block), extrinsics: block.extrinsics }, justifications: null };
  });
  alias(['chain_getFinalizedHead', 'chain_getFinalisedHead'], () => chain.finalized.hash);

  const heads = (on: (listener: (block: Block) => void) => () => void, first: () => Block): JsonRpcSubscription['start'] => {
    return (_params, sink) => {
      // sc-rpc chain subscriptions send the current head first, then each new one.
      sink.send(headerJson(first()));
      return on((block) => sink.send(headerJson(block)));
    };
  };
  subscription(
    [
      ['chain_subscribeNewHeads', 'chain_unsubscribeNewHeads'],
      ['chain_subscribeNewHead', 'chain_unsubscribeNewHead'],
      ['subscribe_newHead', 'unsubscribe_newHead'],
    ],
    'chain_newHead',
    heads((l) => chain.onHead(l), () => chain.head),
  );
  subscription([['chain_subscribeAllHeads', 'chain_unsubscribeAllHeads']], 'chain_allHead', heads((l) => chain.onHead(l), () => chain.head));
  subscription(
    [
      ['chain_subscribeFinalizedHeads', 'chain_unsubscribeFinalizedHeads'],
      ['chain_subscribeFinalisedHeads', 'chain_unsubscribeFinalisedHeads'],
    ],
    'chain_finalizedHead',
    heads((l) => chain.onFinalized(l), () => chain.finalized),
  );

  alias(['state_getRuntimeVersion', 'chain_getRuntimeVersion'], (params) => {
    const [hash] = list(params);
    stateAt(hash);
    return RUNTIME_VERSION;
  });
  subscription(
    [
      ['state_subscribeRuntimeVersion', 'state_unsubscribeRuntimeVersion'],
      ['chain_subscribeRuntimeVersion', 'chain_unsubscribeRuntimeVersion'],
    ],
    'state_runtimeVersion',
    (_params, sink) => {
      // The runtime never upgrades on the devnet: the current version, once.
      sink.send(RUNTIME_VERSION);
      return () => undefined;
    },
  );
  router.method('state_getMetadata', (params) => {
    stateAt(list(params)[0]);
    return u8aToHex(metadata.opaque);
  });

  alias(['state_getStorage', 'state_getStorageAt'], (params) => {
    const [key, hash] = list(params);
    if (typeof key !== 'string' || !isHex(key)) throw invalidParams(`invalid storage key ${JSON.stringify(key)}`);
    return stateAt(hash).storage.get(key.toLowerCase()) ?? null;
  });
  router.method('state_queryStorageAt', (params) => {
    const [keys, hash] = list(params);
    if (!Array.isArray(keys)) throw invalidParams('expected a list of storage keys');
    const { block, storage } = stateAt(hash);
    return [{ block: block.hash, changes: keys.map((k) => [k, storage.get(String(k).toLowerCase()) ?? null]) }];
  });
  alias(['state_getKeysPaged', 'state_getKeysPagedAt'], (params) => {
    const [prefix, count, startKey, hash] = list(params);
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw invalidParams(`invalid count ${JSON.stringify(count)}`);
    if (count > KEYS_PAGED_MAX) throw new JsonRpcError({ code: 4002, message: `count exceeds maximum value. value: ${count}, max: ${KEYS_PAGED_MAX}` });
    const { storage } = stateAt(hash);
    const start = typeof startKey === 'string' ? startKey.toLowerCase() : undefined;
    return storage
      .keys(typeof prefix === 'string' ? prefix.toLowerCase() : '0x')
      .filter((k) => start === undefined || k > start)
      .slice(0, count);
  });
  subscription([['state_subscribeStorage', 'state_unsubscribeStorage']], 'state_storage', (params, sink) => {
    const [keys] = list(params);
    if (!Array.isArray(keys)) throw invalidParams('expected a list of storage keys');
    const wanted = keys.map((k) => String(k).toLowerCase());
    // state_full.rs: the first item has every key at the best block; later ones only the keys a block changed.
    const best = chain.head;
    sink.send({ block: best.hash, changes: wanted.map((k) => [k, best.storage!.get(k) ?? null]) });
    let last = best;
    return chain.onHead((block) => {
      const before = last.storage;
      last = block;
      const changes = wanted.filter((k) => before?.get(k) !== block.storage!.get(k)).map((k) => [k, block.storage!.get(k) ?? null]);
      if (changes.length > 0) sink.send({ block: block.hash, changes });
    });
  });

  alias(['state_call', 'state_callAt'], (params) => {
    const [name, data, hash] = list(params);
    if (typeof name !== 'string' || typeof data !== 'string' || !isHex(data)) throw invalidParams('expected [method, hex data, block hash?]');
    const { storage } = stateAt(hash);
    return u8aToHex(runtimeApi(chain, storage, name, hexToU8a(data), metadata));
  });

  const submitStatus = (status: TxStatus): unknown => status;
  alias(['author_submitExtrinsic'], (params) => {
    const [hex] = list(params);
    if (typeof hex !== 'string' || !isHex(hex)) throw invalidParams('expected the extrinsic as hex');
    try {
      const { hash, loseResponse } = chain.submit(hexToU8a(hex));
      if (loseResponse) throw new ResponseLost();
      return hash;
    } catch (error) {
      // author/mod.rs: submit maps a decode failure to Error::Client (1040).
      if (error instanceof ExtrinsicDecodeError) throw new JsonRpcError({ code: 1040, message: `Client error: ${error.message}` });
      throw refusal(error);
    }
  });
  router.method('author_pendingExtrinsics', () => chain.mempool.entries().map((e) => u8aToHex(e.tx.checked.bytes)));
  subscription([['author_submitAndWatchExtrinsic', 'author_unwatchExtrinsic']], 'author_extrinsicUpdate', (params, sink) => {
    const [hex] = list(params);
    if (typeof hex !== 'string' || !isHex(hex)) throw invalidParams('expected the extrinsic as hex');
    let done = false;
    const watcher = (status: TxStatus): void => {
      if (done) return;
      sink.send(submitStatus(status));
      // Final statuses end the stream (transaction-pool/api lib.rs).
      if (status === 'invalid' || status === 'dropped' || (typeof status === 'object' && 'finalized' in status)) done = true;
    };
    try {
      // A refused extrinsic gets an error answer and no subscription (author/mod.rs `pending.reject`).
      const { status, loseResponse } = chain.submit(hexToU8a(hex), watcher);
      if (loseResponse) throw new ResponseLost();
      sink.send(status);
    } catch (error) {
      if (error instanceof ExtrinsicDecodeError) throw new JsonRpcError({ code: 1001, message: `Extrinsic has invalid format: ${error.message}` });
      throw refusal(error);
    }
    return () => {
      done = true;
    };
  });

  for (const name of router.names()) {
    if (!REAL_RPC_METHODS.includes(name)) throw new Error(`polkadot devnet: ${name} is not a method the real node serves`);
  }
  return router;
}

function refusal(error: unknown): unknown {
  if (error instanceof PoolRefusal) {
    return new JsonRpcError(error.data === undefined ? { code: error.code, message: error.rpcMessage } : { code: error.code, message: error.rpcMessage, data: error.data });
  }
  return error;
}

/** `state_call`: the runtime APIs the devnet answers, each result encoded with the metadata's output type. */
function runtimeApi(chain: PolkadotChain, storage: Storage, name: string, data: Uint8Array, metadata: ServedMetadata): Uint8Array {
  const { runtime } = chain;
  const [api, method] = [name.slice(0, name.indexOf('_')), name.slice(name.indexOf('_') + 1)];
  const out = (value: unknown): Uint8Array => runtime.encodeLookup(runtime.apiOutput(api, method), value);
  const registry = runtime.registry;
  switch (name) {
    case 'Metadata_metadata_versions':
      // v16 is not listed: the devnet has only the v15 bytes (and the real spec-2000000 node lists 14 and 15).
      return out([14, 15]);
    case 'Metadata_metadata_at_version': {
      const version = registry.createType('u32', data).toNumber();
      // The devnet holds only the v15 encoding; other versions answer None [a v14 request gets None here, unlike the node].
      return version === 15 ? metadata.atVersion15 : new Uint8Array([0]);
    }
    case 'Metadata_metadata':
      return compactAddLength(metadata.opaque);
    case 'AccountNonceApi_account_nonce':
      return out(storage.account(registry.createType('AccountId32', data.subarray(0, 32)).toHex()).nonce);
    case 'TransactionPaymentApi_query_info':
    case 'TransactionPaymentApi_query_fee_details': {
      let ext;
      try {
        ext = decodeExtrinsic(runtime, data, true);
      } catch (error) {
        throw clientErrorOf(name, error);
      }
      const len = registry.createType('u32', data.subarray(ext.encodedLength)).toNumber();
      // The runtime computes weight and length fees only: it does not check the signature (polkadot-js signs with a fake one here).
      const { fee, weight } = chain.feeOf(ext.method.section, ext.method.method, len);
      if (method === 'query_info') return out({ weight, class: 'Normal', partialFee: fee });
      const base = chain.fees.base;
      return out({ inclusionFee: { baseFee: base, lenFee: chain.fees.perByte * BigInt(len), adjustedWeightFee: fee - base - chain.fees.perByte * BigInt(len) }, tip: 0 });
    }
    case 'NominationPoolsApi_pending_rewards':
      return out(pendingRewards(runtime, storage, u8aToHex(data.subarray(0, 32))));
    // nomination-pools lib.rs `api_member_pending_slash`: the delegation less the member's balance in the pool while
    // the pool has a pending slash, else 0; 0 for an account that is not a member. Not capped at the existential
    // deposit: `apply_slash` refuses a smaller one (SlashTooLow), a withdrawal still takes it.
    case 'NominationPoolsApi_member_pending_slash':
      return out(memberPendingSlash(storage, u8aToHex(data.subarray(0, 32))));
    case 'NominationPoolsApi_points_to_balance':
    case 'NominationPoolsApi_balance_to_points': {
      const poolId = registry.createType('u32', data.subarray(0, 4)).toNumber();
      const value = registry.createType('u128', data.subarray(4, 20)).toBigInt();
      return out(method === 'points_to_balance' ? pointsToBalance(storage, poolId, value) : balanceToPoints(storage, poolId, value));
    }
    case 'NominationPoolsApi_pool_accounts': {
      const poolId = registry.createType('u32', data.subarray(0, 4)).toNumber();
      return out([poolAccount(poolId, 'bonded'), poolAccount(poolId, 'reward')]);
    }
    case 'StakingApi_nominations_quota':
      return out(NOMINATIONS_QUOTA);
    case 'StakingApi_eras_stakers_page_count': {
      const era = registry.createType('u32', data.subarray(0, 4)).toNumber();
      const who = u8aToHex(data.subarray(4, 36));
      const overview = storage.read('Staking', 'ErasStakersOverview', era, who) as { pageCount: number } | undefined;
      return out(overview?.pageCount ?? 0);
    }
    case 'StakingApi_pending_rewards': {
      const era = registry.createType('u32', data.subarray(0, 4)).toNumber();
      const who = u8aToHex(data.subarray(4, 36));
      const overview = storage.read('Staking', 'ErasStakersOverview', era, who) as { pageCount: number } | undefined;
      const claimed = (storage.read('Staking', 'ClaimedRewards', era, who) as number[] | undefined) ?? [];
      return out(overview !== undefined && claimed.length < Math.max(1, overview.pageCount));
    }
    default:
      // The node answers an API its runtime lacks with an execution error; the devnet says which it lacks.
      throw new JsonRpcError({ code: 4003, message: `Client error: Execution failed: Other: Exported method ${name} is not found (the devnet does not implement it)` });
  }
}

function clientErrorOf(name: string, error: unknown): JsonRpcError {
  const detail = error instanceof Error ? error.message : String(error);
  return new JsonRpcError({ code: 4003, message: `Client error: Execution failed: Execution aborted due to trap: ${name}: ${detail}` });
}
