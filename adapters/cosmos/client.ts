/**
 * The Cosmos adapter's client: endpoints with failover, request counting,
 * ABCI queries pinned to a height, block times, the custody address and,
 * for signing only, the wallet. Every other file of the adapter (position,
 * sign, broadcast, harvest, slashing) is a function of this client.
 */
import { sha256, stringToPath } from '@cosmjs/crypto';
import { toHex } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet, Registry } from '@cosmjs/proto-signing';
import { accountFromAny, defaultRegistryTypes, SigningStargateClient, type Account } from '@cosmjs/stargate';
import { SoftstakeError } from '../../src/errors.js';
import { ChainProtocolError, safeUrl, TxRejectedError } from '../errors.js';
import { EndpointHttpError, withFailover } from '../failover.js';
import { readSigningSecret } from '../signer.js';
import type { AdapterConfig } from '../types.js';
import type { CosmosOptions, ResolvedCosmosOptions } from './options.js';
import { CometRpcError, connectEndpoint, withRequestSignal, type CosmosConnection, type RpcCounter } from './rpc.js';

/** The signing side: the wallet's account and an offline signing client. Never holds the mnemonic itself. */
export interface SignerState {
  address: string;
  pubkey: Uint8Array;
  client: SigningStargateClient;
}

/** Cosmos SDK error codes (codespace `sdk`) the adapter acts on. */
export const SDK_CODE = { UNAUTHORIZED: 4, INSUFFICIENT_FEE: 13, TX_IN_MEMPOOL_CACHE: 19, INVALID_HEIGHT: 26, WRONG_SEQUENCE: 32 } as const;

/** How long a gas price the chain asked for is trusted when signing, ms: a fee market's price moves every block. */
export const PRICE_HINT_MS = 10 * 60_000;

/** CometBFT's words for what a node lacks: its tx indexer (rpc/core/tx.go) or a pruned block (rpc/core/blocks.go). */
const NODE_LACKS = /transaction indexing is disabled|block indexing is disabled|is not available, lowest height is/;

/** At most this many pages of any paginated staking query: the account's validators, not the chain's. */
export const MAX_QUERY_PAGES = 100;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An ABCI query the node answered with a non-zero code (cosmjs: "Query failed with (code): log"). */
export function abciFailure(error: unknown): { code: number; log: string } | undefined {
  const match = /^Query failed with \((\d+)\): ([\s\S]*)$/.exec(messageOf(error));
  return match === null ? undefined : { code: Number(match[1]), log: match[2]!.slice(0, 1000) };
}

export function isNotFound(error: unknown): boolean {
  return /rpc error: code = NotFound|not found/i.test(messageOf(error));
}

/** A code as TxRejectedError carries it: the SDK's own codes bare, a module's prefixed with its codespace. */
export function codeOf(codespace: string | undefined, code: number): number | string {
  return codespace === undefined || codespace === '' || codespace === 'sdk' ? code : `${codespace}:${code}`;
}

/** The sequence the chain expects, from a sequence-mismatch rejection; `undefined` when `error` is not one. */
export function sequenceMismatch(error: unknown): { expected: number | undefined } | undefined {
  if (!(error instanceof TxRejectedError) || error.included || error.code !== SDK_CODE.WRONG_SEQUENCE) return undefined;
  const match = /expected (\d+), got (\d+)/.exec(error.log);
  return { expected: match === null ? undefined : Number(match[1]) };
}

export function hashOf(bytes: Uint8Array): string {
  return toHex(sha256(bytes)).toUpperCase();
}

/** The node no longer (or not yet) has the state of the height a read was pinned to. */
export class HeightMovedError extends Error {
  constructor(readonly height: bigint) {
    super(`the node cannot answer at height ${height}`);
  }
}

/** One chain block's connection to a Cosmos SDK chain. */
export class CosmosClient {
  readonly name: string;
  readonly registry = new Registry(defaultRegistryTypes);
  private readonly counter: RpcCounter = { calls: 0 };
  private readonly connections = new Map<string, Promise<CosmosConnection>>();
  private signer: Promise<SignerState> | undefined;
  /** Endpoints that answered 429, and until when (ms) they are asked only after the others. */
  private readonly cooling = new Map<string, number>();
  /** The gas price the chain last asked for (an `insufficient fee` refusal), Dec atomics, and when. */
  private priceHint: { price: bigint; at: number } | undefined;

  constructor(
    readonly config: AdapterConfig<CosmosOptions>,
    readonly options: ResolvedCosmosOptions,
  ) {
    this.name = config.name;
  }

  /**
   * The gas price a fee market asked for within the last {@link PRICE_HINT_MS},
   * Dec atomics; `undefined` when none (sign at the configured price).
   */
  chainGasPrice(): bigint | undefined {
    if (this.priceHint === undefined || Date.now() - this.priceHint.at > PRICE_HINT_MS) return undefined;
    return this.priceHint.price;
  }

  /** Remembers the gas price the chain asked for in a refusal. */
  learnGasPrice(price: bigint): void {
    this.priceHint = { price, at: Date.now() };
  }

  /** The endpoints in the order to try them: those rate limiting us (429) last. */
  endpoints(): string[] {
    const now = Date.now();
    const ready = this.config.endpoints.filter((e) => (this.cooling.get(e) ?? 0) <= now);
    return ready.length === this.config.endpoints.length ? [...this.config.endpoints] : [...ready, ...this.config.endpoints.filter((e) => !ready.includes(e))];
  }

  private readonly memo = new Map<string, { at: number; value: Promise<unknown> }>();

  /** `compute()`, computed again only after `ttlMs`; a failure is not kept. */
  cached<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
    const hit = this.memo.get(key);
    if (hit !== undefined && Date.now() - hit.at < ttlMs) return hit.value as Promise<T>;
    const value = compute();
    this.memo.set(key, { at: Date.now(), value });
    value.catch(() => {
      if (this.memo.get(key)?.value === value) this.memo.delete(key);
    });
    return value;
  }

  /** Requests sent so far, over every endpoint and failover attempt. */
  requests(): number {
    return this.counter.calls;
  }

  /**
   * The custody address: the configured one, else derived from the signer
   * mnemonic (which reads the key: configure `address` where a role must
   * read without it).
   */
  async address(): Promise<string> {
    if (this.config.address !== undefined) return this.config.address;
    return (await this.signerState()).address;
  }

  /**
   * The wallet, derived once from the signer mnemonic; only signing needs
   * it. A failed read is not cached: the operator may fix the file. A key
   * whose address is not the configured custody address is refused.
   */
  signerState(): Promise<SignerState> {
    if (this.signer === undefined) {
      const pending = (async (): Promise<SignerState> => {
        const secret = await readSigningSecret(this.name, this.config.signer);
        let wallet: DirectSecp256k1HdWallet;
        try {
          wallet = await DirectSecp256k1HdWallet.fromMnemonic(secret.split(/\s+/).join(' '), {
            hdPaths: [stringToPath(this.options.hdPath)],
            prefix: this.options.prefix,
          });
        } catch {
          // cosmjs names the offending word; the message must not carry any of the secret.
          throw new ChainProtocolError(this.name, 'signer: the secret is not a valid BIP-39 mnemonic');
        }
        const [account] = await wallet.getAccounts();
        if (account === undefined) throw new ChainProtocolError(this.name, 'signer: the wallet derived no account');
        if (this.config.address !== undefined && account.address !== this.config.address) {
          throw new ChainProtocolError(this.name, `signer: the key is for ${account.address}, the config's custody address is ${this.config.address}`);
        }
        const client = await SigningStargateClient.offline(wallet, { registry: this.registry });
        return { address: account.address, pubkey: account.pubkey, client };
      })();
      pending.catch(() => {
        if (this.signer === pending) this.signer = undefined;
      });
      this.signer = pending;
    }
    return this.signer;
  }

  /** The endpoint's clients, connected on first use; the node must serve the configured chain id. */
  private connection(endpoint: string): Promise<CosmosConnection> {
    let connection = this.connections.get(endpoint);
    if (connection === undefined) {
      const pending = connectEndpoint(endpoint, this.config.requestTimeoutMs, this.counter).then((connected) => {
        if (connected.network !== this.options.chainId) {
          throw new ChainProtocolError(this.name, `endpoint serves chain ${connected.network}, the config expects ${this.options.chainId}`);
        }
        return connected;
      });
      // A failed connection is retried with the next call (the node may be back).
      pending.catch(() => {
        if (this.connections.get(endpoint) === pending) this.connections.delete(endpoint);
      });
      this.connections.set(endpoint, pending);
      connection = pending;
    }
    return connection;
  }

  /**
   * One request with endpoint failover. `call` may throw a SoftstakeError to
   * say what the chain's answer means; anything else that is not an endpoint
   * fault (a JSON-RPC error, an answer cosmjs could not decode) becomes a
   * ChainProtocolError naming `what`.
   */
  async rpc<T>(what: string, call: (connection: CosmosConnection) => Promise<T>): Promise<T> {
    try {
      return await withFailover(this.name, this.endpoints(), this.config.requestTimeoutMs, (endpoint, signal) =>
        withRequestSignal(signal, async () => {
          try {
            return await call(await this.connection(endpoint));
          } catch (error) {
            // A rate limiter (HTTP 429): ask the others first for a while rather than hammer it
            // (each refused request counts against the budget and prolongs the ban).
            if (error instanceof EndpointHttpError && error.status === 429) this.cooling.set(endpoint, Date.now() + this.options.rateLimitCooldownMs);
            // A node that cannot serve this (tx indexer off, block pruned) may have a peer that can:
            // an endpoint fault, so failover asks the next (`/ready` says which node lacks what).
            if (error instanceof CometRpcError && NODE_LACKS.test(`${error.rpcMessage} ${error.data ?? ''}`)) {
              throw new EndpointHttpError(501, safeUrl(endpoint), `${error.rpcMessage}: ${error.data ?? ''}`.slice(0, 300));
            }
            throw error;
          }
        }),
      );
    } catch (error) {
      if (error instanceof SoftstakeError || error instanceof HeightMovedError) throw error;
      throw new ChainProtocolError(this.name, `${what}: ${messageOf(error).slice(0, 1000)}`, { cause: error });
    }
  }

  /**
   * One request to one endpoint (no failover): for asking each node about
   * itself. Endpoint faults and answers alike are thrown as they are.
   */
  async at<T>(endpoint: string, call: (connection: CosmosConnection) => Promise<T>): Promise<T> {
    return withFailover(this.name, [endpoint], this.config.requestTimeoutMs, (url, signal) => withRequestSignal(signal, async () => call(await this.connection(url))));
  }

  /**
   * A raw ABCI query, at `height` when given (the node's latest otherwise),
   * and the height it was answered at.
   * @throws HeightMovedError when the node cannot answer at `height` (pruned, or not there yet).
   */
  async query<T>(what: string, path: string, request: Uint8Array, decode: (bytes: Uint8Array) => T, height?: bigint): Promise<{ value: T; height: bigint }> {
    return this.rpc(what, async (c) => {
      let answer: { value: Uint8Array; height: number };
      try {
        answer = await c.query.queryAbci(path, request, height === undefined ? undefined : Number(height));
      } catch (error) {
        if (height !== undefined && abciFailure(error)?.code === SDK_CODE.INVALID_HEIGHT) throw new HeightMovedError(height);
        throw error;
      }
      const at = BigInt(answer.height);
      if (height !== undefined && at !== height) throw new ChainProtocolError(this.name, `${what}: asked at height ${height}, answered at ${at}`);
      return { value: this.parse(what, () => decode(answer.value)), height: at };
    });
  }

  /** `parse(value)`, with a malformed value reported as the chain's fault. */
  parse<T>(what: string, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      throw new ChainProtocolError(this.name, `malformed ${what}: ${messageOf(error)}`, { cause: error });
    }
  }

  async latestBlock(): Promise<{ height: bigint; at: number }> {
    const { block } = await this.rpc('block', (c) => c.comet.block());
    return { height: BigInt(block.header.height), at: block.header.time.getTime() };
  }

  /** Block time at `height`, ms; `cache` spares repeated heights within one call. */
  async blockTime(height: bigint, cache: Map<bigint, number>): Promise<number> {
    const known = cache.get(height);
    if (known !== undefined) return known;
    const { block } = await this.rpc(`block ${height}`, (c) => c.comet.block(Number(height)));
    if (BigInt(block.header.height) !== height) throw new ChainProtocolError(this.name, `asked for block ${height}, got ${block.header.height}`);
    const at = block.header.time.getTime();
    cache.set(height, at);
    return at;
  }

  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    for (const pending of connections) {
      const connection = await pending.catch(() => undefined);
      connection?.comet.disconnect();
    }
  }
}

/** The account at `address`, or `null` where the chain has not seen it (never funded). */
export function readAccount(client: CosmosClient, address: string): Promise<Account | null> {
  return client.rpc('auth account', async (c) => {
    try {
      const any = await c.query.auth.account(address);
      return any === null ? null : accountFromAny(any);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  });
}
