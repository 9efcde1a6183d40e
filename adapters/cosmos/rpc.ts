/**
 * The transport under cosmjs: one JSON-RPC client per CometBFT endpoint,
 * built on the shared `fetchJson`, so that
 *
 * - a node's HTTP 429/5xx surfaces as `EndpointHttpError` and a refused,
 *   reset or timed-out connection as the socket error, which `withFailover`
 *   classifies as endpoint faults (cosmjs's own HttpClient throws a bare
 *   `Error("Bad status on response: 503")` and has no abort signal);
 * - the failover attempt's abort signal reaches the socket (carried through
 *   cosmjs's call stack in an AsyncLocalStorage, because cosmjs's client
 *   API takes no signal);
 * - credentials in an endpoint URL go into a header, never into a message;
 * - every request is counted.
 *
 * On top of it sit the unmodified cosmjs clients: the CometBFT client the
 * node's version calls for (as `connectComet` picks it) and a QueryClient
 * with the bank, staking, distribution, auth and tx extensions.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  QueryClient,
  setupAuthExtension,
  setupBankExtension,
  setupDistributionExtension,
  setupStakingExtension,
  setupTxExtension,
  type AuthExtension,
  type BankExtension,
  type DistributionExtension,
  type StakingExtension,
  type TxExtension,
} from '@cosmjs/stargate';
import { Comet1Client, Comet38Client, Tendermint37Client, type CometClient, type RpcClient } from '@cosmjs/tendermint-rpc';
import { fetchJson } from '../failover.js';
import { safeUrl } from '../errors.js';

type JsonRpcRequest = Parameters<RpcClient['execute']>[0];
type JsonRpcSuccessResponse = Awaited<ReturnType<RpcClient['execute']>>;

/** The QueryClient the adapter reads the chain's state with. */
export type CosmosQueryClient = QueryClient & AuthExtension & BankExtension & DistributionExtension & StakingExtension & TxExtension;

/** One endpoint's cosmjs clients. */
export interface CosmosConnection {
  comet: CometClient;
  query: CosmosQueryClient;
  /** The chain id the node reports (`status` → `node_info.network`). */
  network: string;
  /** The node's CometBFT version. */
  version: string;
}

/**
 * The node answered the JSON-RPC request with an error object (an unknown
 * method, a bad query, "tx already exists in cache"). The same request would
 * fare the same on another node, so it is not an endpoint fault.
 */
export class CometRpcError extends Error {
  constructor(
    readonly code: number,
    readonly rpcMessage: string,
    readonly data: string | undefined,
  ) {
    super(`CometBFT RPC error ${code}: ${rpcMessage}${data ? `: ${data.slice(0, 500)}` : ''}`);
    this.name = 'CometRpcError';
  }
}

const requestSignal = new AsyncLocalStorage<AbortSignal>();

/** Runs `call` with `signal` as the abort signal of every RPC request it makes. */
export function withRequestSignal<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  return requestSignal.run(signal, call);
}

/** Counts requests; shared by all endpoints of one adapter. */
export interface RpcCounter {
  calls: number;
}

/**
 * A cosmjs RpcClient over `fetchJson`: POSTs each JSON-RPC request to the
 * endpoint and checks the envelope before cosmjs decodes the result.
 */
export class FetchRpcClient implements RpcClient {
  constructor(
    private readonly endpoint: string,
    /** Aborts a request made outside any failover attempt after this long, ms. */
    private readonly timeoutMs: number,
    private readonly counter: RpcCounter,
  ) {}

  readonly execute = async (request: JsonRpcRequest): Promise<JsonRpcSuccessResponse> => {
    this.counter.calls += 1;
    // Inside a failover attempt its signal already ends the request; a
    // timer of its own is needed only outside one (cosmjs's own connect).
    const signal = requestSignal.getStore() ?? AbortSignal.timeout(this.timeoutMs);
    const answer = await fetchJson(this.endpoint, '', { body: request, signal });
    if (typeof answer !== 'object' || answer === null) throw new Error(`${safeUrl(this.endpoint)}: a JSON-RPC answer that is not an object`);
    const envelope = answer as { jsonrpc?: unknown; id?: unknown; result?: unknown; error?: unknown };
    if (envelope.error !== undefined && envelope.error !== null) {
      const error = envelope.error as { code?: unknown; message?: unknown; data?: unknown };
      throw new CometRpcError(
        typeof error.code === 'number' ? error.code : 0,
        typeof error.message === 'string' ? error.message : 'unknown error',
        typeof error.data === 'string' ? error.data : error.data === undefined ? undefined : JSON.stringify(error.data),
      );
    }
    if (envelope.jsonrpc !== '2.0' || envelope.id !== request.id || !('result' in envelope)) {
      throw new Error(`${safeUrl(this.endpoint)}: not a JSON-RPC 2.0 answer to request ${String(request.id)}`);
    }
    return { jsonrpc: '2.0', id: request.id, result: envelope.result };
  };

  readonly disconnect = (): void => {
    // HTTP: nothing held open between requests.
  };
}

/**
 * Connects to one endpoint: asks its `status` once, picks the CometBFT
 * client for its version (0.37 → Tendermint37Client, 0.38 → Comet38Client,
 * 1.x → Comet1Client, as `connectComet` does), and builds the QueryClient.
 */
export async function connectEndpoint(endpoint: string, timeoutMs: number, counter: RpcCounter): Promise<CosmosConnection> {
  const rpc = new FetchRpcClient(endpoint, timeoutMs, counter);
  const probe = Tendermint37Client.create(rpc);
  const status = await probe.status();
  const version = status.nodeInfo.version;
  let comet: CometClient;
  if (version.startsWith('0.38.')) comet = Comet38Client.create(rpc);
  else if (version.startsWith('1.')) comet = Comet1Client.create(rpc);
  else comet = probe;
  const query = QueryClient.withExtensions(comet, setupAuthExtension, setupBankExtension, setupDistributionExtension, setupStakingExtension, setupTxExtension);
  return { comet, query, network: status.nodeInfo.network, version };
}
