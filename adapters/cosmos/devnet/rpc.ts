/**
 * CometBFT 0.38 JSON-RPC over HTTP, as cosmjs's `Comet38Client` speaks it:
 * POST with a JSON-RPC 2.0 body (single or batch) to `/`, and the URI form
 * `GET /<method>?arg=value` (strings quoted, bytes as `0x…` hex). Method
 * errors come back with HTTP 200 and a JSON-RPC error object, as CometBFT
 * sends them; only the injected faults use HTTP error statuses.
 */
import { toBase64 } from '@cosmjs/encoding';
import { ResponseLost } from '../../devnet/faults.js';
import { JsonRpcError, JsonRpcRouter } from '../../devnet/jsonRpc.js';
import type { ListenerFault } from '../../devnet/listeners.js';
import { RestRouter } from '../../devnet/rest.js';
import { type DevnetServer, startDevnetServer } from '../../devnet/server.js';
import { type BlockRecord, type Chain, type TxRecord, TxInCacheError } from './chain.js';
import { abciQuery } from './queries.js';
import { type AbciEvent, coinString, event, hexUpper, rfc3339, sha256Of } from './state.js';

/** A fault one listener can be told to show. */
export type RpcFault = ListenerFault;

/** A JSON-RPC error (CometBFT's `RPCError`: code, message, data string). */
const rpcError = (code: number, message: string, data: string): JsonRpcError => new JsonRpcError({ code, message, data });
const internal = (data: string): JsonRpcError => rpcError(-32603, 'Internal error', data);
const invalidParams = (data: string): JsonRpcError => rpcError(-32602, 'Invalid params', data);
const invalidRequest = (data: string): JsonRpcError => rpcError(-32600, 'Invalid Request', data);

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const NODE_ID = '0'.repeat(24) + 'de7e0000de7e0000';

type Params = Record<string, unknown>;

function stringParam(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw invalidParams(`${name} must be a string`);
}

function intParam(params: Params, name: string): bigint | undefined {
  const text = stringParam(params, name);
  if (text === undefined || text === '') return undefined;
  if (!/^-?\d{1,19}$/.test(text)) throw invalidParams(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

/** Bytes given as `0x`-hex (URI form) or in the method's JSON encoding. */
function bytesParam(params: Params, name: string, encoding: 'hex' | 'base64'): Uint8Array {
  const text = stringParam(params, name) ?? '';
  if (text.startsWith('0x') || text.startsWith('0X')) return new Uint8Array(Buffer.from(text.slice(2), 'hex'));
  if (encoding === 'hex') {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw invalidParams(`${name} must be hex`);
    return new Uint8Array(Buffer.from(text, 'hex'));
  }
  if (/^[0-9a-fA-F]{64}$/.test(text) && name === 'hash') return new Uint8Array(Buffer.from(text, 'hex'));
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function hex(bytes: Uint8Array): string {
  return hexUpper(bytes);
}

function blockIdJson(block: BlockRecord | undefined): unknown {
  if (block === undefined) return { hash: '', parts: { total: 0, hash: '' } };
  return { hash: hex(block.hash), parts: { total: 1, hash: hex(sha256Of('parts', block.hash)) } };
}

function proposer(chain: Chain): Uint8Array {
  const first = chain.state.validators.values().next().value;
  return first?.consensusAddress ?? sha256Of('proposer').slice(0, 20);
}

function headerJson(chain: Chain, block: BlockRecord): unknown {
  const previous = chain.block(block.height - 1n);
  return {
    version: { block: '11', app: '0' },
    chain_id: chain.config.chainId,
    height: block.height.toString(),
    time: rfc3339(block.time),
    last_block_id: blockIdJson(previous),
    last_commit_hash: previous === undefined ? '' : hex(sha256Of('commit', previous.hash)),
    data_hash: hex(block.dataHash),
    validators_hash: hex(sha256Of('validators', chain.config.chainId)),
    next_validators_hash: hex(sha256Of('validators', chain.config.chainId)),
    consensus_hash: hex(sha256Of('consensus', chain.config.chainId)),
    app_hash: hex(block.appHash),
    last_results_hash: previous === undefined ? '' : hex(sha256Of('results', previous.hash)),
    evidence_hash: '',
    proposer_address: hex(proposer(chain)),
  };
}

function commitJson(chain: Chain, block: BlockRecord | undefined, time: number): unknown {
  if (block === undefined) return { height: '0', round: 0, block_id: blockIdJson(undefined), signatures: [] };
  return {
    height: block.height.toString(),
    round: 0,
    block_id: blockIdJson(block),
    signatures: [...chain.state.validators.values()]
      .filter((v) => v.bonded)
      .map((v) => ({
        block_id_flag: 2,
        validator_address: hex(v.consensusAddress),
        timestamp: rfc3339(time),
        signature: toBase64(new Uint8Array([...sha256Of('sig', block.hash, v.consensusAddress), ...sha256Of('sig2', block.hash)])),
      })),
  };
}

function blockJson(chain: Chain, block: BlockRecord): unknown {
  return {
    block_id: blockIdJson(block),
    block: {
      header: headerJson(chain, block),
      data: { txs: block.txs.map((t) => toBase64(t.bytes)) },
      evidence: { evidence: [] },
      last_commit: commitJson(chain, chain.block(block.height - 1n), block.time),
    },
  };
}

function eventsJson(events: readonly AbciEvent[]): unknown {
  return events.map((e) => ({ type: e.type, attributes: e.attributes.map((a) => ({ key: a.key, value: a.value, index: a.index })) }));
}

function txResultJson(record: TxRecord): unknown {
  return {
    code: record.code,
    data: record.data.length > 0 ? toBase64(record.data) : null,
    log: record.log,
    info: '',
    gas_wanted: record.gasWanted.toString(),
    gas_used: record.gasUsed.toString(),
    events: eventsJson(record.events),
    codespace: record.codespace,
  };
}

function txJson(record: TxRecord): unknown {
  return { hash: record.hash, height: record.height.toString(), index: record.index, tx_result: txResultJson(record), tx: toBase64(record.bytes) };
}

function blockAt(chain: Chain, params: Params): BlockRecord {
  const height = intParam(params, 'height');
  const latest = chain.height;
  if (height === undefined || height === 0n) return chain.head;
  if (height < 0n) throw invalidRequest('height must be greater than zero');
  if (height > latest) throw internal(`height ${height} must be less than or equal to the current blockchain height ${latest}`);
  // cometbft rpc/core/blocks.go (getHeight): a height below the block store's base (pruned) is refused.
  const block = chain.block(height);
  if (block === undefined) throw internal(`height ${height} is not available, lowest height is ${chain.earliestHeight()}`);
  return block;
}

/** One condition of a CometBFT event query. */
interface Condition {
  key: string;
  op: '=' | '<' | '<=' | '>' | '>=' | 'CONTAINS' | 'EXISTS';
  value: string;
  numeric: boolean;
}

const CONDITION = /^\s*([A-Za-z0-9_.\-/]+)\s*(<=|>=|=|<|>|\bCONTAINS\b|\bEXISTS\b)\s*(?:'([^']*)'|(-?\d+(?:\.\d+)?))?\s*/y;

/** Parses `key op value [AND …]` (the subset of CometBFT's query language that matters for txs). */
export function parseQuery(query: string): Condition[] {
  const conditions: Condition[] = [];
  let rest = query.trim();
  while (rest.length > 0) {
    CONDITION.lastIndex = 0;
    const match = CONDITION.exec(rest);
    if (match === null) throw internal(`failed to parse query ${JSON.stringify(query)}: expected <key> <op> <value>`);
    const op = match[2] as Condition['op'];
    const value = match[3] ?? match[4];
    if (value === undefined && op !== 'EXISTS') throw internal(`failed to parse query ${JSON.stringify(query)}: missing value after ${match[1]} ${op}`);
    conditions.push({ key: match[1]!, op, value: value ?? '', numeric: match[4] !== undefined });
    rest = rest.slice(CONDITION.lastIndex);
    if (rest.length === 0) break;
    const and = /^AND\s+/i.exec(rest);
    if (and === null) throw internal(`failed to parse query ${JSON.stringify(query)}: expected AND at ${JSON.stringify(rest)}`);
    rest = rest.slice(and[0].length);
  }
  return conditions;
}

function compare(actual: string, c: Condition): boolean {
  if (c.op === 'EXISTS') return true;
  if (c.op === 'CONTAINS') return actual.includes(c.value);
  if (c.op === '=' && !c.numeric) return actual === c.value;
  if (!/^-?\d+(\.\d+)?$/.test(actual)) return c.op === '=' && actual === c.value;
  const a = Number(actual);
  const b = Number(c.value);
  switch (c.op) {
    case '=':
      return a === b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

function matches(record: TxRecord, conditions: readonly Condition[]): boolean {
  return conditions.every((c) => (record.index_.get(c.key) ?? []).some((v) => compare(v, c)));
}

/**
 * Whether a block's FinalizeBlock events match, as CometBFT 0.38's kv block
 * indexer does (cometbft state/indexer/block/kv/kv.go, Search): `block.height`
 * against the height, and the conditions on one event type all met by one
 * event of that type (0.38 matches within an event, not across a block's
 * events), on indexed attributes only.
 */
function blockMatches(height: bigint, events: readonly AbciEvent[], conditions: readonly Condition[]): boolean {
  const byType = new Map<string, Condition[]>();
  for (const c of conditions) {
    if (c.key === 'block.height') {
      if (!compare(height.toString(), c)) return false;
      continue;
    }
    const dot = c.key.lastIndexOf('.');
    const type = dot < 0 ? c.key : c.key.slice(0, dot);
    byType.set(type, [...(byType.get(type) ?? []), c]);
  }
  for (const [type, wanted] of byType) {
    const met = events.some(
      (e) => e.type === type && wanted.every((c) => e.attributes.some((a) => a.index && `${e.type}.${a.key}` === c.key && compare(a.value, c))),
    );
    if (!met) return false;
  }
  return true;
}

function pageOf<T>(items: readonly T[], params: Params): { items: T[]; total: number } {
  const perPage = Number(intParam(params, 'per_page') ?? 30n);
  const page = Number(intParam(params, 'page') ?? 1n);
  if (perPage <= 0) throw invalidRequest('zero or negative per_page');
  const size = Math.min(perPage, 100);
  const pages = Math.max(1, Math.ceil(items.length / size));
  if (page < 1 || page > pages) throw invalidRequest(`page should be within [1, ${pages}] range, given ${page}`);
  return { items: items.slice((page - 1) * size, page * size), total: items.length };
}

function checkTxJson(result: { code: number; codespace: string; log: string; gasWanted: bigint; gasUsed: bigint }): Record<string, unknown> {
  return { code: result.code, data: '', log: result.log, codespace: result.codespace, gas_wanted: result.gasWanted.toString(), gas_used: result.gasUsed.toString() };
}

function broadcastSync(chain: Chain, params: Params): ReturnType<Chain['checkTx']> {
  const bytes = bytesParam(params, 'tx', 'base64');
  if (bytes.length === 0) throw invalidParams('tx is empty');
  let result: ReturnType<Chain['checkTx']>;
  try {
    result = chain.checkTx(bytes);
  } catch (error) {
    if (error instanceof TxInCacheError) throw internal(`error on broadcastTxSync: ${error.message}`);
    throw error;
  }
  // The kit's loseNextResponse: the transaction is in the mempool, the client never hears so.
  if (result.loseResponse) throw new ResponseLost();
  return result;
}

/**
 * A node whose indexer is `null` answers `tx` and `tx_search` with this
 * (cometbft: rpc/core/tx.go, `Tx` and `TxSearch` on a `*null.TxIndex`).
 */
function requireTxIndex(chain: Chain): void {
  if (chain.config.txIndex === false) throw internal('transaction indexing is disabled');
}

function statusJson(chain: Chain): unknown {
  const head = chain.head;
  const first = chain.block(chain.earliestHeight())!;
  const validator = chain.state.validators.values().next().value;
  return {
    node_info: {
      protocol_version: { p2p: '8', block: '11', app: '0' },
      id: NODE_ID,
      listen_addr: 'tcp://127.0.0.1:26656',
      network: chain.config.chainId,
      version: '0.38.17',
      channels: '40202122233038606100',
      moniker: 'softstake-devnet',
      // cometbft: node/node.go reports "off" for a `null` indexer.
      other: { tx_index: chain.config.txIndex === false ? 'off' : 'on', rpc_address: 'tcp://127.0.0.1:26657' },
    },
    sync_info: {
      latest_block_hash: hex(head.hash),
      latest_app_hash: hex(head.appHash),
      latest_block_height: head.height.toString(),
      latest_block_time: rfc3339(head.time),
      earliest_block_hash: hex(first.hash),
      earliest_app_hash: hex(first.appHash),
      earliest_block_height: first.height.toString(),
      earliest_block_time: rfc3339(first.time),
      catching_up: false,
    },
    validator_info: {
      address: hex(validator?.consensusAddress ?? proposer(chain)),
      pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(validator?.consensusPubkey ?? sha256Of('node')) },
      voting_power: '0',
    },
  };
}

function validatorsJson(chain: Chain): unknown[] {
  return [...chain.state.validators.values()]
    .filter((v) => v.bonded)
    .map((v) => ({
      address: hex(v.consensusAddress),
      pub_key: { type: 'tendermint/PubKeyEd25519', value: toBase64(v.consensusPubkey) },
      voting_power: (v.tokens / 1_000_000n).toString(),
      proposer_priority: '0',
    }));
}

const METHODS: Record<string, (chain: Chain, params: Params) => unknown> = {
  health: () => ({}),
  status: (chain) => statusJson(chain),
  abci_info: (chain) => ({
    response: {
      data: 'softstake-devnet',
      version: '0.50.0',
      app_version: '0',
      last_block_height: chain.height.toString(),
      last_block_app_hash: toBase64(chain.head.appHash),
    },
  }),
  abci_query: (chain, params) => {
    const path = stringParam(params, 'path');
    if (path === undefined || path === '') throw invalidParams('path is required');
    const result = abciQuery(chain, path, bytesParam(params, 'data', 'hex'), intParam(params, 'height'));
    return {
      response: {
        code: result.code,
        log: result.log,
        info: '',
        index: '0',
        key: null,
        value: result.value.length > 0 ? toBase64(result.value) : null,
        proofOps: null,
        height: result.height.toString(),
        codespace: result.codespace,
      },
    };
  },
  broadcast_tx_sync: (chain, params) => {
    const result = broadcastSync(chain, params);
    return { ...checkTxJson(result), hash: result.hash };
  },
  broadcast_tx_async: (chain, params) => {
    const result = broadcastSync(chain, params);
    return { code: 0, data: '', log: '', codespace: '', hash: result.hash };
  },
  broadcast_tx_commit: (chain, params) => {
    const result = broadcastSync(chain, params);
    if (result.code !== 0) return { check_tx: checkTxJson(result), tx_result: {}, hash: result.hash, height: '0' };
    chain.includeNow();
    const record = chain.txs.get(result.hash);
    if (record === undefined) throw internal('timed out waiting for tx to be included in a block');
    return { check_tx: checkTxJson(result), tx_result: txResultJson(record), hash: result.hash, height: record.height.toString() };
  },
  num_unconfirmed_txs: () => ({ n_txs: '0', total: '0', total_bytes: '0', txs: null }),
  tx: (chain, params) => {
    requireTxIndex(chain);
    const hash = hexUpper(bytesParam(params, 'hash', 'base64'));
    const record = chain.txs.get(hash);
    if (record === undefined) throw internal(`tx (${hash}) not found`);
    return txJson(record);
  },
  tx_search: (chain, params) => {
    requireTxIndex(chain);
    const query = stringParam(params, 'query');
    if (query === undefined || query === '') throw invalidParams('query is required');
    const conditions = parseQuery(query);
    const byHash = conditions.find((c) => c.key === 'tx.hash' && c.op === '=');
    let found: TxRecord[];
    if (byHash !== undefined) {
      const record = chain.txs.get(byHash.value.toUpperCase());
      found = record !== undefined && matches(record, conditions.filter((c) => c !== byHash)) ? [record] : [];
    } else {
      found = chain.txList.filter((r) => matches(r, conditions));
    }
    const order = stringParam(params, 'order_by') ?? '';
    if (order === 'desc') found = [...found].reverse();
    else if (order !== '' && order !== 'asc') throw invalidRequest(`expected order_by to be either 'asc' or 'desc' or empty`);
    const page = pageOf(found, params);
    return { txs: page.items.map(txJson), total_count: String(page.total) };
  },
  /**
   * cometbft rpc/core/blocks.go (BlockSearch): the heights whose FinalizeBlock
   * events match, newest first unless `order_by` is `asc`, paged as
   * `tx_search`; each as `block` answers it, a pruned one left out while
   * `total_count` still counts it (LoadBlock returns nil). The mint events,
   * rendered per block from its minted amount, are not searchable here.
   */
  block_search: (chain, params) => {
    // A `null` indexer is both the tx and the block indexer (cometbft node/setup.go, createAndStartIndexerService).
    if (chain.config.txIndex === false) throw internal('block indexing is disabled');
    const query = stringParam(params, 'query');
    if (query === undefined || query === '') throw invalidParams('query is required');
    const conditions = parseQuery(query);
    let found = chain.eventHeights.filter((h) => blockMatches(h, chain.blocks.get(Number(h))!.events, conditions));
    const order = stringParam(params, 'order_by') ?? '';
    if (order === 'desc' || order === '') found = [...found].reverse();
    else if (order !== 'asc') throw internal('expected order_by to be either `asc` or `desc` or empty');
    const page = pageOf(found, params);
    const blocks = page.items.map((h) => chain.block(h)).filter((b): b is BlockRecord => b !== undefined);
    return { blocks: blocks.map((b) => blockJson(chain, b)), total_count: String(page.total) };
  },
  block: (chain, params) => blockJson(chain, blockAt(chain, params)),
  block_results: (chain, params) => {
    const block = blockAt(chain, params);
    const mint = block.minted > 0n ? [event('mint', [['amount', block.minted.toString()]]), event('coinbase', [['minter', chain.config.modules.mint], ['amount', coinString(block.minted, chain.config.denom)]])] : [];
    return {
      height: block.height.toString(),
      txs_results: block.txs.length > 0 ? block.txs.map(txResultJson) : null,
      finalize_block_events: eventsJson([...mint, ...block.events]),
      validator_updates: [],
      consensus_param_updates: null,
      app_hash: toBase64(block.appHash),
    };
  },
  blockchain: (chain, params) => {
    const latest = chain.height;
    let max = intParam(params, 'maxHeight') ?? latest;
    if (max === 0n || max > latest) max = latest;
    let min = intParam(params, 'minHeight') ?? 1n;
    // cometbft rpc/core/blocks.go (filterMinMax): never below the block store's base.
    if (min < chain.earliestHeight()) min = chain.earliestHeight();
    if (max - min >= 20n) min = max - 19n;
    if (min > max) throw invalidRequest(`min height ${min} can't be greater than max height ${max}`);
    const metas: unknown[] = [];
    for (let h = max; h >= min; h -= 1n) {
      const block = chain.block(h)!;
      metas.push({ block_id: blockIdJson(block), block_size: String(200 + block.txs.reduce((s, t) => s + t.bytes.length, 0)), header: headerJson(chain, block), num_txs: String(block.txs.length) });
    }
    return { last_height: latest.toString(), block_metas: metas };
  },
  commit: (chain, params) => {
    const block = blockAt(chain, params);
    return { signed_header: { header: headerJson(chain, block), commit: commitJson(chain, block, block.time) }, canonical: true };
  },
  validators: (chain) => {
    const list = validatorsJson(chain);
    return { block_height: chain.height.toString(), validators: list, count: String(list.length), total: String(list.length) };
  },
  genesis: (chain) => ({
    genesis: {
      genesis_time: rfc3339(chain.blocks.timeAt(1)),
      chain_id: chain.config.chainId,
      initial_height: '1',
      consensus_params: {
        block: { max_bytes: '22020096', max_gas: '-1' },
        evidence: { max_age_num_blocks: '100000', max_age_duration: '172800000000000', max_bytes: '1048576' },
        validator: { pub_key_types: ['ed25519'] },
        version: { app: '0' },
      },
      validators: validatorsJson(chain).map((v) => ({ ...(v as Record<string, unknown>), power: (v as Record<string, string>).voting_power, name: '' })),
      app_hash: '',
      app_state: { note: 'softstake devnet: state is built in-process, not from an app_state document' },
    },
  }),
};

/** The listeners of a devnet. */
export type RpcServers = DevnetServer;

/** The JSON-RPC router: CometBFT's methods, with its error words (`rpc/jsonrpc/server/http_json_handler.go`). */
export function cometRouter(chain: Chain): JsonRpcRouter {
  const router = new JsonRpcRouter({
    name: 'cosmos devnet',
    // CometBFT answers a request without an id too, with id -1 in the URI form.
    notifications: false,
    missingId: -1,
    errors: {
      methodNotFound: () => ({ code: -32601, message: 'Method not found', data: '' }),
    },
  });
  for (const [name, method] of Object.entries(METHODS)) {
    router.method(name, (params) => {
      const named = params === undefined || params === null ? {} : params;
      if (typeof named !== 'object' || Array.isArray(named)) throw invalidParams('params must be an object (named parameters)');
      if (name !== 'health' && name !== 'genesis') chain.catchUp();
      return method(chain, named as Params);
    });
  }
  return router;
}

/** URI-form arguments: `"quoted"` strings lose their quotes; everything else is kept as given. */
function uriParams(query: URLSearchParams): Params {
  const params: Params = {};
  for (const [key, raw] of query) params[key] = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  return params;
}

/**
 * Starts `count` listeners on 127.0.0.1 (ports chosen by the system), all
 * serving `chain`: JSON-RPC POSTed to `/`, the URI form `GET /<method>`, and
 * JSON-RPC over WebSocket at `/websocket` (CometBFT's path; its event
 * `subscribe` is not served).
 */
export async function startRpcServers(chain: Chain, count: number, ports?: readonly number[]): Promise<RpcServers> {
  const router = cometRouter(chain);
  const rest = new RestRouter()
    .route('GET', '/', () => ({ body: { methods: router.names() } }))
    .route('GET', '/:method', async (request) => ({
      body: await router.call({ jsonrpc: '2.0', id: -1, method: request.params.method, params: uriParams(request.query) }, { listener: request.listener, transport: 'http' }),
    }));
  return startDevnetServer({
    name: 'cosmos devnet',
    count,
    ...(ports === undefined ? {} : { ports }),
    jsonRpc: router,
    websocketPaths: ['/websocket'],
    rest,
    maxBodyBytes: MAX_BODY_BYTES,
    fallback: () => ({ status: 405, body: { error: 'use POST (JSON-RPC) or GET (URI form)' } }),
  });
}
