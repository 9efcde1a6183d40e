/**
 * NEAR RPC with endpoint failover: one near-api-js JsonRpcProvider per
 * endpoint, its own retries off (failover decides), and its HTTP faults
 * (429, 5xx) turned into {@link EndpointHttpError}s so {@link withFailover}
 * moves on. Errors the chain itself gives (unknown transaction, invalid
 * nonce) pass through unchanged: every node would say the same.
 */
import { JsonRpcProvider } from 'near-api-js';
import { GarbageCollectedBlockError, UnknownBlockError, UnknownTransactionError } from 'near-api-js/rpc-errors';
import { safeUrl } from '../errors.js';
import { EndpointHttpError, withFailover } from '../failover.js';

/** Counts RPC calls by method, for tests and metrics. */
export type RpcCounter = (method: string) => void;

/** A provider for one endpoint; credentials in the URL move into a Basic header (fetch refuses them in URLs). */
function providerFor(endpoint: string, counter?: RpcCounter): JsonRpcProvider {
  const url = new URL(endpoint);
  const headers: Record<string, string> = {};
  if (url.username !== '' || url.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const provider = new JsonRpcProvider({ url: url.href, headers }, { retries: 1, wait: 0, backoff: 1 });
  if (counter !== undefined) {
    const send = provider.sendJsonRpc.bind(provider);
    provider.sendJsonRpc = ((method: string, params: unknown) => {
      counter(method);
      return send(method as never, params as never);
    }) as typeof provider.sendJsonRpc;
  }
  return provider;
}

/** near-api-js's ProviderError: an Error whose `cause` is the HTTP status. */
function httpStatusOf(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const cause = (error as { cause?: unknown }).cause;
  return typeof cause === 'number' && cause >= 400 ? cause : undefined;
}

/** The NEAR RPC of one chain block: its endpoints in failover order. */
export class NearRpc {
  private readonly providers = new Map<string, JsonRpcProvider>();

  constructor(
    private readonly chain: string,
    private readonly endpoints: readonly string[],
    private readonly timeoutMs: number,
    private readonly counter?: RpcCounter,
  ) {}

  private provider(endpoint: string): JsonRpcProvider {
    let provider = this.providers.get(endpoint);
    if (provider === undefined) {
      try {
        provider = providerFor(endpoint, this.counter);
      } catch {
        throw new EndpointHttpError(400, safeUrl(endpoint), 'an RPC endpoint is not a valid URL');
      }
      this.providers.set(endpoint, provider);
    }
    return provider;
  }

  /**
   * Runs `call` on the first endpoint that answers. A block one node has
   * garbage collected (GARBAGE_COLLECTED_BLOCK) is asked of the endpoints
   * after it too: an archival node listed later still has it. With
   * `history` (a read of a past block: the harvest's), UNKNOWN_BLOCK and
   * UNKNOWN_TRANSACTION are asked on as well: a regular node answers them
   * for the blocks it has collected (nearcore chain/jsonrpc/src/lib.rs: its
   * height index and transaction outcomes are gone; near-api-js words it
   * "never been observed on the node or has been garbage collected").
   */
  async call<T>(call: (provider: JsonRpcProvider) => Promise<T>, history = false): Promise<T> {
    let endpoints = this.endpoints;
    for (;;) {
      let answered = -1;
      try {
        return await withFailover(this.chain, endpoints, this.timeoutMs, async (endpoint) => {
          try {
            return await call(this.provider(endpoint));
          } catch (error) {
            answered = endpoints.indexOf(endpoint);
            const status = httpStatusOf(error);
            if (status !== undefined) throw new EndpointHttpError(status, safeUrl(endpoint), (error as Error).message.slice(0, 200));
            if (error instanceof SyntaxError) throw new EndpointHttpError(502, safeUrl(endpoint), 'an answer that is not JSON');
            throw error;
          }
        });
      } catch (error) {
        const collected = error instanceof GarbageCollectedBlockError || (history && (error instanceof UnknownBlockError || error instanceof UnknownTransactionError));
        if (!collected || answered < 0 || answered + 1 >= endpoints.length) throw error;
        endpoints = endpoints.slice(answered + 1);
      }
    }
  }

  /** One JSON-RPC method call; the answer is checked by the caller. `history`: see {@link call}. */
  raw(method: string, params: unknown, history = false): Promise<unknown> {
    return this.call((p) => p.sendJsonRpc(method as never, params as never) as Promise<unknown>, history);
  }

  /** A view call's JSON result, at a height or the final block. */
  async view(contractId: string, method: string, args: object, blockId?: number): Promise<unknown> {
    const answer = (await this.raw('query', {
      request_type: 'call_function',
      account_id: contractId,
      method_name: method,
      args_base64: Buffer.from(JSON.stringify(args)).toString('base64'),
      ...(blockId === undefined ? { finality: 'final' } : { block_id: blockId }),
    })) as { result?: unknown };
    if (!Array.isArray(answer.result) || !answer.result.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) < 256)) {
      throw new SyntaxError(`${method}: call_function result is not a byte array`);
    }
    return JSON.parse(Buffer.from(answer.result as number[]).toString('utf8')) as unknown;
  }
}
