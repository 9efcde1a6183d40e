/**
 * NEAR JSON-RPC 2.0 over the devnet chain: the methods near-api-js 7 and
 * the adapter call, with nearcore's request and response shapes and its
 * error envelope (`HANDLER_ERROR` with a named cause).
 */
import { baseEncode } from 'near-api-js';
import { ResponseLost } from '../../devnet/faults.js';
import { JsonRpcError, type JsonRpcErrorBody, JsonRpcRouter } from '../../devnet/jsonRpc.js';
import { InvalidTx, TxParseError, GAS_PRICE, type AccountState, type Block, type IncludedTx, type NearChain } from './chain.js';
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

/** core/primitives/src/views.rs `AccessKeyPermissionView`: `"FullAccess"`, or `{ FunctionCall: { allowance, receiver_id, method_names } }` (allowance a decimal string or null). */
function permissionJson(account: AccountState, publicKey: string): unknown {
  const p = account.functionCallKeys?.get(publicKey);
  if (p === undefined) return 'FullAccess';
  return { FunctionCall: { allowance: p.allowance === null ? null : p.allowance.toString(), receiver_id: p.receiverId, method_names: [...p.methodNames] } };
}

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

/** The block a `block_id` (height, or hash) names, garbage collected or not; `undefined` if the chain never had it. */
function blockById(chain: NearChain, id: unknown): Block | undefined {
  return typeof id === 'number' || typeof id === 'string' ? chain.block(typeof id === 'string' && /^[0-9]+$/.test(id) ? Number(id) : id) : undefined;
}

/**
 * Resolves `finality` / `block_id` to a block. A garbage-collected block is
 * unknown to `block` and `EXPERIMENTAL_changes` (nearcore
 * chain/jsonrpc/src/lib.rs: its height index and data are gone, the answer
 * is UNKNOWN_BLOCK, "DB Not Found Error: BLOCK HEIGHT").
 */
function resolveBlock(chain: NearChain, params: Params, listener: number): Block {
  const id = params.block_id;
  if (id === undefined || id === null) return chain.head;
  const block = blockById(chain, id);
  if (block === undefined || chain.collected(block.height, listener)) throw handlerError('UNKNOWN_BLOCK', { block_reference: { block_id: id } });
  return block;
}

function query(chain: NearChain, params: Params, listener: number): unknown {
  // nearcore chain/jsonrpc-primitives/src/types/query.rs: a block the node saw whose state it has
  // garbage collected is GARBAGE_COLLECTED_BLOCK (an archival node has it).
  const id = params.block_id;
  const seen = id === undefined || id === null ? undefined : blockById(chain, id);
  if (seen !== undefined && chain.collected(seen.height, listener)) {
    throw handlerError('GARBAGE_COLLECTED_BLOCK', { block_height: seen.height, block_hash: seen.hash });
  }
  const block = resolveBlock(chain, params, listener);
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
      // chain/jsonrpc/src/lib.rs `process_query_response`: UnknownAccessKey is answered, for backward
      // compatibility, as a *result* holding the error text, not as a JSON-RPC error.
      if (nonce === undefined) return { error: `access key ${publicKey} does not exist while viewing`, logs: [], ...at };
      return { nonce: Number(nonce), permission: permissionJson(account, publicKey), ...at };
    }
    case 'view_access_key_list': {
      if (account === undefined) throw handlerError('UNKNOWN_ACCOUNT', { requested_account_id: accountId, ...at });
      return { keys: [...account.keys].map(([public_key, nonce]) => ({ public_key, access_key: { nonce: Number(nonce), permission: permissionJson(account, public_key) } })), ...at };
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

/**
 * The epoch a `validators` request names, as nearcore
 * chain/client/src/view_client_actor.rs (`GetValidatorInfo`) resolves it:
 * `[null]` / `{latest: null}` the current epoch; `{epoch_id}` that epoch
 * (the current one, or a finished one); a `block_id` only if that block is
 * the last of its epoch (its next block starts another), else
 * VALIDATOR_INFO_UNAVAILABLE; a block or epoch it does not have (or whose
 * next block it does not have yet) UNKNOWN_EPOCH.
 */
function validatorsEpoch(chain: NearChain, params: unknown, listener: number): number {
  const head = chain.head;
  let blockId: unknown;
  if (params === null || params === undefined) return head.epochHeight;
  if (Array.isArray(params)) {
    if (params[0] === null || params[0] === undefined) return head.epochHeight;
    blockId = params[0];
  } else {
    const p = params as Params;
    if ('latest' in p) return head.epochHeight;
    if (typeof p.epoch_id === 'string') {
      for (let e = head.epochHeight; e >= 1; e -= 1) {
        if (epochIdOf(chain, e) === p.epoch_id) {
          if (e < head.epochHeight && chain.collected(chain.epochStartHeight(e + 1) - 1, listener)) break;
          return e;
        }
      }
      throw handlerError('UNKNOWN_EPOCH', {});
    }
    if (!('block_id' in p)) throw requestError('PARSE_ERROR', { error_message: 'expected [null], {"latest": null}, {"epoch_id": …} or {"block_id": …}' });
    blockId = p.block_id;
  }
  const block = blockById(chain, blockId);
  const next = block === undefined ? undefined : chain.block(block.height + 1);
  if (block === undefined || next === undefined || chain.collected(block.height, listener)) throw handlerError('UNKNOWN_EPOCH', {});
  if (next.epochHeight === block.epochHeight) throw handlerError('VALIDATOR_INFO_UNAVAILABLE', {});
  return block.epochHeight;
}

function epochIdOf(chain: NearChain, epochHeight: number): string {
  return chain.block(chain.epochStartHeight(epochHeight))?.epochId ?? '';
}

function validators(chain: NearChain, params: unknown, listener: number): unknown {
  const head = chain.head;
  const epoch = validatorsEpoch(chain, params, listener);
  const start = chain.epochStartHeight(epoch);
  const last = epoch === head.epochHeight ? head.height : chain.epochStartHeight(epoch + 1) - 1;
  const state = chain.stateAt(last);
  const set = chain.validatorsOf(epoch);
  const list = set.validators.flatMap((id) => {
    const p = state.pools.get(id);
    if (p === undefined) return [];
    return [{
      account_id: p.id,
      public_key: 'ed25519:11111111111111111111111111111111',
      is_slashed: false,
      stake: p.totalStakedBalance.toString(),
      shards: [0],
      num_produced_blocks: last - start + 1,
      num_expected_blocks: last - start + 1,
      num_produced_chunks: last - start + 1,
      num_expected_chunks: last - start + 1,
    }];
  });
  return {
    current_validators: list,
    next_validators: list.map((v) => ({ account_id: v.account_id, public_key: v.public_key, stake: v.stake, shards: v.shards })),
    current_fishermen: [],
    next_fishermen: [],
    current_proposals: [],
    // nearcore core/primitives/src/views.rs ValidatorKickoutView: { account_id, reason }.
    prev_epoch_kickout: set.kickedOut.map((account_id) => ({ account_id, reason: { NotEnoughBlocks: { produced: 0, expected: chain.epochLength } } })),
    epoch_start_height: start,
    epoch_height: epoch,
  };
}

const WAIT_LEVELS = ['NONE', 'INCLUDED', 'EXECUTED_OPTIMISTIC', 'INCLUDED_FINAL', 'EXECUTED', 'FINAL'];

function txParams(params: unknown): { hash: string; sender: string; waitUntil: string } {
  if (Array.isArray(params)) return { hash: String(params[0]), sender: String(params[1]), waitUntil: 'EXECUTED_OPTIMISTIC' };
  const p = (params ?? {}) as Params;
  const waitUntil = p.wait_until === undefined ? 'EXECUTED_OPTIMISTIC' : String(p.wait_until);
  if (!WAIT_LEVELS.includes(waitUntil)) throw requestError('PARSE_ERROR', { error_message: `unknown variant \`${waitUntil}\`, expected one of ${WAIT_LEVELS.join(', ')}` });
  return { hash: String(p.tx_hash), sender: String(p.sender_account_id), waitUntil };
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

/**
 * `tx`: nearcore chain/jsonrpc/src/lib.rs (`tx_status_fetch`) answers at
 * once only with `wait_until: NONE` (an unseen transaction is then
 * UNKNOWN_TRANSACTION); with any other level (the default is
 * EXECUTED_OPTIMISTIC) it polls the view client until the transaction has
 * reached that level, and after the polling timeout answers TIMEOUT_ERROR
 * (chain/jsonrpc-primitives/src/types/transactions.rs: cause NOT_OBSERVED
 * for a transaction it never saw; near/nearcore PR 10789). A transaction of
 * a garbage-collected block is one it has not seen.
 */
async function txStatus(chain: NearChain, params: unknown, listener: number): Promise<unknown> {
  const { hash, sender, waitUntil } = txParams(params);
  const visible = (tx: IncludedTx | undefined): IncludedTx | undefined =>
    tx !== undefined && tx.signerId === sender && !chain.collected(tx.height, listener) ? tx : undefined;
  const known = visible(chain.included.get(hash));
  if (known !== undefined) return known.outcome;
  if (waitUntil === 'NONE') throw handlerError('UNKNOWN_TRANSACTION', { requested_transaction_hash: hash });
  const later = visible(await chain.whenIncluded(hash, chain.pollingTimeoutMs));
  if (later !== undefined) return later.outcome;
  throw handlerError('TIMEOUT_ERROR', { cause: 'NOT_OBSERVED' });
}

/** Handles one JSON-RPC call arriving at `listener` (which decides, with `archivalListeners`, what the node has kept). */
export async function dispatch(chain: NearChain, method: string, params: unknown, listener = 0): Promise<unknown> {
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
          // nearcore chain/client/src/client_actor.rs: the earliest block the node still has (after GC).
          earliest_block_height: chain.earliestHeight(listener),
          earliest_block_hash: chain.block(chain.earliestHeight(listener))!.hash,
        },
        genesis_hash: chain.blocks[0]!.hash,
      };
    }
    case 'block':
      return blockJson(chain, resolveBlock(chain, Array.isArray(params) ? { block_id: params[0] } : p, listener));
    case 'gas_price':
      return { gas_price: GAS_PRICE.toString() };
    case 'query':
      return query(chain, p, listener);
    case 'validators':
      return validators(chain, params, listener);
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
    case 'EXPERIMENTAL_tx_status':
      return txStatus(chain, params, listener);
    case 'EXPERIMENTAL_changes': {
      const block = resolveBlock(chain, p, listener);
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
  for (const name of METHODS) router.method(name, (params, call) => dispatch(chain, name, params, call.listener));
  return router;
}
