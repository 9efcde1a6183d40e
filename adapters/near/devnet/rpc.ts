/**
 * NEAR JSON-RPC 2.0 over the devnet chain: the methods near-api-js 7 and
 * the adapter call, with nearcore's request and response shapes and its
 * error envelope (`HANDLER_ERROR` with a named cause).
 */
import { baseEncode } from 'near-api-js';
import { ResponseLost } from '../../devnet/faults.js';
import { JsonRpcError, type JsonRpcErrorBody, JsonRpcRouter } from '../../devnet/jsonRpc.js';
import { InvalidTx, TxParseError, GAS_PRICE, type Block, type IncludedTx, type NearChain } from './chain.js';
import * as pool from './pool.js';

/** A JSON-RPC error body, nearcore style (`chain/jsonrpc-primitives/src/errors.rs`: name, cause, code, message, data). */
export class RpcFailure extends JsonRpcError {
  constructor(body: JsonRpcErrorBody) {
    super(body);
  }
}

function handlerError(name: string, info: Record<string, unknown>, data?: unknown): RpcFailure {
  return new RpcFailure({ name: 'HANDLER_ERROR', cause: { name, info }, code: -32000, message: 'Server error', data: data ?? info });
}

function requestError(name: string, info: Record<string, unknown>): RpcFailure {
  return new RpcFailure({ name: 'REQUEST_VALIDATION_ERROR', cause: { name, info }, code: -32602, message: 'Invalid params', data: info });
}

type Params = Record<string, unknown>;

/** yoctoNEAR per byte of storage (nearcore `storage_amount_per_byte`). */
const STORAGE_AMOUNT_PER_BYTE = 10n ** 19n;

export function blockJson(chain: NearChain, block: Block): Record<string, unknown> {
  const nanos = BigInt(block.time) * 1_000_000n;
  const next = chain.epochOf(block.height) + 1;
  return {
    author: [...chain.state.pools.keys()][0] ?? 'devnet',
    header: {
      height: block.height,
      prev_height: block.height - 1,
      hash: block.hash,
      prev_hash: block.prevHash,
      epoch_id: block.epochId,
      next_epoch_id: baseEncode(new TextEncoder().encode(`${chain.chainId}:epoch:${next}`).slice(0, 32)),
      timestamp: Number(nanos),
      timestamp_nanosec: nanos.toString(),
      gas_price: GAS_PRICE.toString(),
      total_supply: '0',
      chunks_included: 1,
      latest_protocol_version: 73,
      chunk_mask: [true],
    },
    chunks: [{ chunk_hash: baseEncode(new TextEncoder().encode(`chunk${block.height}`)), shard_id: 0, height_created: block.height, height_included: block.height }],
  };
}

/** Resolves `finality` / `block_id` to a block. */
function resolveBlock(chain: NearChain, params: Params): Block {
  const id = params.block_id;
  if (id === undefined || id === null) return chain.head;
  const block = typeof id === 'number' || typeof id === 'string' ? chain.block(typeof id === 'string' && /^[0-9]+$/.test(id) ? Number(id) : id) : undefined;
  if (block === undefined) throw handlerError('UNKNOWN_BLOCK', { block_reference: { block_id: id } });
  // A regular node has garbage-collected older blocks (nearcore: the block is gone from its store).
  if (block.height < chain.earliestHeight()) throw handlerError('UNKNOWN_BLOCK', { block_reference: { block_id: id } });
  return block;
}

/**
 * A state query at a block a regular node garbage-collected: nearcore's
 * `GARBAGE_COLLECTED_BLOCK` with the block's height and hash
 * (chain/jsonrpc-primitives/src/types/query.rs; nearcore's gc sanity
 * pytests expect it for `view_account` at such a block).
 */
function resolveStateBlock(chain: NearChain, params: Params): Block {
  const id = params.block_id;
  if (id !== undefined && id !== null && (typeof id === 'number' || typeof id === 'string')) {
    const block = chain.block(typeof id === 'string' && /^[0-9]+$/.test(id) ? Number(id) : id);
    if (block !== undefined && block.height < chain.earliestHeight()) throw handlerError('GARBAGE_COLLECTED_BLOCK', { block_height: block.height, block_hash: block.hash });
  }
  return resolveBlock(chain, params);
}

function query(chain: NearChain, params: Params): unknown {
  const block = resolveStateBlock(chain, params);
  const state = chain.stateAt(block.height);
  const at = { block_height: block.height, block_hash: block.hash };
  const accountId = typeof params.account_id === 'string' ? params.account_id : '';
  const account = state.accounts.get(accountId);
  switch (params.request_type) {
    case 'view_account': {
      if (account === undefined) throw handlerError('UNKNOWN_ACCOUNT', { requested_account_id: accountId, ...at });
      const isPool = state.pools.has(accountId);
      return { amount: account.amount.toString(), locked: '0', code_hash: isPool ? 'J1arLz48fgXcGyCPVckFwLnewNH6j1uw79thsvwqGYTY' : '11111111111111111111111111111111', storage_usage: 182, storage_paid_at: 0, ...at };
    }
    case 'view_access_key': {
      if (account === undefined) throw handlerError('UNKNOWN_ACCOUNT', { requested_account_id: accountId, ...at });
      const publicKey = typeof params.public_key === 'string' ? params.public_key : '';
      const nonce = account.keys.get(publicKey);
      if (nonce === undefined) throw handlerError('UNKNOWN_ACCESS_KEY', { public_key: publicKey, ...at });
      return { nonce: Number(nonce), permission: 'FullAccess', ...at };
    }
    case 'view_access_key_list': {
      if (account === undefined) throw handlerError('UNKNOWN_ACCOUNT', { requested_account_id: accountId, ...at });
      return { keys: [...account.keys].map(([public_key, nonce]) => ({ public_key, access_key: { nonce: Number(nonce), permission: 'FullAccess' } })), ...at };
    }
    case 'call_function': {
      if (account === undefined) throw handlerError('UNKNOWN_ACCOUNT', { requested_account_id: accountId, ...at });
      const p = state.pools.get(accountId);
      if (p === undefined) throw handlerError('NO_CONTRACT_CODE', { contract_account_id: accountId, ...at });
      let args: Params = {};
      const raw = Buffer.from(typeof params.args_base64 === 'string' ? params.args_base64 : '', 'base64').toString('utf8');
      if (raw !== '') {
        try {
          args = JSON.parse(raw) as Params;
        } catch {
          throw handlerError('CONTRACT_EXECUTION_ERROR', { vm_error: 'Smart contract panicked: Failed to deserialize input from JSON.', ...at });
        }
      }
      const method = typeof params.method_name === 'string' ? params.method_name : '';
      let result: unknown;
      try {
        result = pool.view(p, method, args, BigInt(block.epochHeight));
      } catch (error) {
        if (error instanceof pool.ContractPanic) {
          throw handlerError('CONTRACT_EXECUTION_ERROR', { vm_error: `wasm execution failed with error: ${error.message}`, ...at });
        }
        throw error;
      }
      return { result: [...new TextEncoder().encode(JSON.stringify(result))], logs: [], ...at };
    }
    default:
      throw requestError('PARSE_ERROR', { error_message: `unsupported request_type ${String(params.request_type)}` });
  }
}

function validators(chain: NearChain): unknown {
  const head = chain.head;
  const list = [...chain.state.pools.values()].map((p) => ({
    account_id: p.id,
    public_key: 'ed25519:11111111111111111111111111111111',
    is_slashed: false,
    stake: p.totalStakedBalance.toString(),
    shards: [0],
    num_produced_blocks: head.height - chain.epochStartHeight(head.epochHeight),
    num_expected_blocks: head.height - chain.epochStartHeight(head.epochHeight),
    num_produced_chunks: 0,
    num_expected_chunks: 0,
  }));
  return {
    current_validators: list,
    next_validators: list.map((v) => ({ account_id: v.account_id, public_key: v.public_key, stake: v.stake, shards: v.shards })),
    current_fishermen: [],
    next_fishermen: [],
    current_proposals: [],
    prev_epoch_kickout: [],
    epoch_start_height: chain.epochStartHeight(head.epochHeight),
    epoch_height: head.epochHeight,
  };
}

function txParams(params: unknown): { hash: string; sender: string } {
  if (Array.isArray(params)) return { hash: String(params[0]), sender: String(params[1]) };
  const p = (params ?? {}) as Params;
  return { hash: String(p.tx_hash), sender: String(p.sender_account_id) };
}

async function sendTx(chain: NearChain, params: unknown): Promise<unknown> {
  const base64 = Array.isArray(params) ? params[0] : (params as Params | undefined)?.signed_tx_base64;
  if (typeof base64 !== 'string') throw requestError('PARSE_ERROR', { error_message: 'signed_tx_base64 missing' });
  let included: IncludedTx | undefined;
  try {
    included = await chain.submit(new Uint8Array(Buffer.from(base64, 'base64')));
  } catch (error) {
    if (error instanceof TxParseError) throw requestError('PARSE_ERROR', { error_message: error.message });
    if (error instanceof InvalidTx) {
      const data = { TxExecutionError: { InvalidTxError: error.error } };
      throw handlerError('INVALID_TRANSACTION', data, data);
    }
    throw error;
  }
  // Dropped: the node took it and it never reached a block; nearcore answers TIMEOUT_ERROR.
  if (included === undefined) throw handlerError('TIMEOUT_ERROR', {});
  await chain.mempool.notifyIncluded(included);
  if (included.loseResponse === true) throw new ResponseLost();
  return included.outcome;
}

/** Handles one JSON-RPC call. */
export async function dispatch(chain: NearChain, method: string, params: unknown): Promise<unknown> {
  const p = (params !== null && typeof params === 'object' && !Array.isArray(params) ? params : {}) as Params;
  switch (method) {
    case 'status': {
      const head = chain.head;
      return {
        chain_id: chain.chainId,
        version: { version: '2.6.0-devnet', build: 'softstake-devnet', rustc_version: '' },
        protocol_version: 73,
        latest_protocol_version: 73,
        rpc_addr: '127.0.0.1',
        validators: [...chain.state.pools.keys()].map((account_id) => ({ account_id })),
        sync_info: {
          latest_block_hash: head.hash,
          latest_block_height: head.height,
          latest_block_time: new Date(head.time).toISOString(),
          latest_state_root: head.hash,
          syncing: false,
          earliest_block_height: chain.earliestHeight(),
          earliest_block_hash: chain.block(chain.earliestHeight())!.hash,
        },
        genesis_hash: chain.blocks[0]!.hash,
      };
    }
    case 'block':
      return blockJson(chain, resolveBlock(chain, Array.isArray(params) ? { block_id: params[0] } : p));
    case 'gas_price':
      return { gas_price: GAS_PRICE.toString() };
    case 'query':
      return query(chain, p);
    case 'validators':
      return validators(chain);
    case 'EXPERIMENTAL_protocol_config':
      return {
        chain_id: chain.chainId,
        epoch_length: chain.epochLength,
        genesis_height: chain.genesisHeight,
        protocol_version: 73,
        transaction_validity_period: chain.txValidityBlocks,
        min_gas_price: GAS_PRICE.toString(),
        // Of nearcore's runtime_config only what near-api-js reads (Account.getState): the storage price,
        // 10^19 yoctoNEAR per byte (nearcore core/parameters/res/runtime_configs/parameters.yaml).
        runtime_config: { storage_amount_per_byte: STORAGE_AMOUNT_PER_BYTE.toString() },
      };
    case 'send_tx':
    case 'broadcast_tx_commit':
      return sendTx(chain, params);
    case 'tx':
    case 'EXPERIMENTAL_tx_status': {
      const { hash, sender } = txParams(params);
      const found = chain.included.get(hash);
      if (found === undefined || found.signerId !== sender) throw handlerError('UNKNOWN_TRANSACTION', { requested_transaction_hash: hash });
      return found.outcome;
    }
    case 'EXPERIMENTAL_changes': {
      const block = resolveStateBlock(chain, p);
      if (p.changes_type !== 'all_access_key_changes' && p.changes_type !== 'single_access_key_changes') {
        throw requestError('PARSE_ERROR', { error_message: `devnet: unsupported changes_type ${String(p.changes_type)}` });
      }
      const ids = new Set(Array.isArray(p.account_ids) ? p.account_ids.map(String) : []);
      if (Array.isArray(p.keys)) for (const k of p.keys as Params[]) ids.add(String(k.account_id));
      return {
        block_hash: block.hash,
        changes: block.keyChanges
          .filter((c) => ids.has(c.accountId))
          .map((c) => ({
            cause: { type: 'transaction_processing', tx_hash: c.txHash },
            type: 'access_key_update',
            change: { account_id: c.accountId, public_key: c.publicKey, access_key: { nonce: Number(c.nonce), permission: 'FullAccess' } },
          })),
      };
    }
    default:
      throw requestError('METHOD_NOT_FOUND', { method_name: method });
  }
}

/** The methods {@link dispatch} serves. */
export const METHODS = [
  'status',
  'block',
  'gas_price',
  'query',
  'validators',
  'EXPERIMENTAL_protocol_config',
  'send_tx',
  'broadcast_tx_commit',
  'tx',
  'EXPERIMENTAL_tx_status',
  'EXPERIMENTAL_changes',
] as const;

/** NEAR JSON-RPC on the kit's router, with nearcore's error envelopes. */
export function nearRouter(chain: NearChain): JsonRpcRouter {
  const router = new JsonRpcRouter({
    name: 'near devnet',
    notifications: false,
    batches: false,
    parseErrorStatus: 400,
    errors: {
      parse: () => ({ name: 'REQUEST_VALIDATION_ERROR', cause: { name: 'PARSE_ERROR', info: { error_message: 'invalid JSON' } }, code: -32700, message: 'Parse error' }),
      invalidRequest: () => requestError('METHOD_NOT_FOUND', { method_name: 'undefined' }).body,
      methodNotFound: (method) => requestError('METHOD_NOT_FOUND', { method_name: method }).body,
      internal: (error) => ({ name: 'INTERNAL_ERROR', cause: { name: 'INTERNAL_ERROR', info: { error_message: error instanceof Error ? error.message : String(error) } }, code: -32000, message: 'Server error' }),
    },
  });
  for (const name of METHODS) router.method(name, (params) => dispatch(chain, name, params));
  return router;
}
