/**
 * The Polkadot adapter's client: one `@polkadot/api` ApiPromise per
 * WebSocket endpoint, opened on first use, with failover between them,
 * request counting, the finalized head, the custody address and, for
 * signing only, the key. Every other file of the adapter (position, sign,
 * broadcast, harvest) is a function of this client.
 *
 * Opening an endpoint is two limits: the socket must open within the
 * per-request timeout (a node that does not answer is skipped at once), the
 * metadata and runtime version then get `connectTimeoutMs`. A node's
 * "server is busy" (JSON-RPC -32009, the HTTP 429/503 of WebSocket) and a
 * dropped socket are endpoint faults; any other JSON-RPC error is the
 * chain's answer and is not retried elsewhere.
 */
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { ApiDecoration } from '@polkadot/api/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { HexString } from '@polkadot/util/types';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, decodeAddress } from '@polkadot/util-crypto';

import { ChainProtocolError, ChainUnavailableError, safeUrl, type EndpointFailure } from '../errors.js';
import { EndpointHttpError, endpointFaultReason, withFailover } from '../failover.js';
import { readSigningSecret } from '../signer.js';
import type { AdapterConfig } from '../types.js';
import type { PolkadotOptions, ResolvedPolkadotOptions } from './options.js';

/** Called with each JSON-RPC method sent (tests and benchmarks). */
export type RpcCounter = (method: string) => void;

/** A finalized block the adapter reads at. */
export interface Head {
  number: number;
  hash: string;
}

/** JSON-RPC "server is busy" (jsonrpsee's `SERVER_IS_BUSY_CODE`): what a node says over WebSocket when it would say 429/503 over HTTP. */
const SERVER_IS_BUSY = -32009;

/** Metadata already fetched, by `<genesis>-<specVersion>`, shared by every client in the process (it is the chain's, not the endpoint's). */
const knownMetadata: Record<string, HexString> = {};

/** An AccountId32 (SS58 or hex) as lower-case hex: the form the adapter compares accounts in. */
export function accountHex(address: string): string {
  return u8aToHex(decodeAddress(address));
}

/** One chain block's connection to Polkadot. */
export class PolkadotClient {
  readonly name: string;
  private readonly apis = new Map<string, Promise<ApiPromise>>();
  private readonly opened = new Set<ApiPromise>();
  private key: Promise<KeyringPair> | undefined;
  private derived: Promise<string> | undefined;
  private sent = 0;
  private closed = false;

  constructor(
    readonly config: AdapterConfig<PolkadotOptions>,
    readonly options: ResolvedPolkadotOptions,
    private readonly onRpc?: RpcCounter,
  ) {
    this.name = config.name;
  }

  /** Requests sent so far, over every endpoint and failover attempt. */
  requests(): number {
    return this.sent;
  }

  /**
   * Runs `fn` against the first endpoint that answers: endpoints in order,
   * moving on when one cannot be opened, is busy, drops its socket or does
   * not answer within the request timeout. `fn` should send few requests:
   * the timeout covers all of them.
   * @throws ChainUnavailableError (retryable) when no endpoint answered.
   */
  async call<T>(fn: (api: ApiPromise) => Promise<T>): Promise<T> {
    const failures: EndpointFailure[] = [];
    let last: unknown;
    for (const endpoint of this.config.endpoints) {
      let api: ApiPromise;
      try {
        api = await this.api(endpoint);
      } catch (error) {
        const reason = endpointFaultReason(error);
        if (reason === undefined) throw error;
        failures.push({ endpoint: safeUrl(endpoint), reason });
        last = error;
        continue;
      }
      try {
        return await withFailover(this.name, [endpoint], this.config.requestTimeoutMs, async () => {
          try {
            return await fn(api);
          } catch (error) {
            throw this.classify(endpoint, api, error);
          }
        });
      } catch (error) {
        if (!(error instanceof ChainUnavailableError)) throw error;
        // A request left unanswered stays pending in polkadot-js, and later identical calls wait on it
        // (rpc-core memoizes calls in flight): a node that timed out gets a fresh connection next time.
        if (error.failures.some((f) => f.reason.startsWith('timeout'))) this.drop(endpoint, api);
        failures.push(...error.failures);
        last = error.cause;
      }
    }
    throw new ChainUnavailableError(this.name, failures, { cause: last });
  }

  /** A busy node or a dead socket is the endpoint's fault (failover moves on); anything else is the chain's answer. */
  private classify(endpoint: string, api: ApiPromise, error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === SERVER_IS_BUSY) return new EndpointHttpError(503, safeUrl(endpoint), message);
    if (!api.isConnected || /WebSocket is not connected|disconnected from|Abnormal Closure/i.test(message)) {
      this.drop(endpoint, api);
      return new EndpointHttpError(503, safeUrl(endpoint), `connection lost: ${message.split('\n')[0]}`);
    }
    return error;
  }

  private drop(endpoint: string, api: ApiPromise): void {
    const current = this.apis.get(endpoint);
    void current?.then((a) => {
      if (a === api) this.apis.delete(endpoint);
    }, () => undefined);
    this.opened.delete(api);
    void api.disconnect().catch(() => undefined);
  }

  /** The endpoint's ApiPromise, opened on first use. */
  private api(endpoint: string): Promise<ApiPromise> {
    if (this.closed) return Promise.reject(new ChainProtocolError(this.name, 'the adapter is closed'));
    let opening = this.apis.get(endpoint);
    if (opening === undefined) {
      opening = this.open(endpoint);
      this.apis.set(endpoint, opening);
      const mine = opening;
      mine.catch(() => {
        if (this.apis.get(endpoint) === mine) this.apis.delete(endpoint);
      });
    }
    return opening;
  }

  private async open(endpoint: string): Promise<ApiPromise> {
    const shown = safeUrl(endpoint);
    // No reconnection of its own (failover is ours) and no response cache (every request reaches the node and is counted).
    const provider = new WsProvider(endpoint, false, {}, undefined, 0);
    const send = provider.send.bind(provider);
    provider.send = ((method: string, ...rest: unknown[]) => {
      this.sent += 1;
      this.onRpc?.(method);
      return (send as (m: string, ...r: unknown[]) => Promise<unknown>)(method, ...rest);
    }) as typeof provider.send;
    const fault = (reason: string): EndpointHttpError => new EndpointHttpError(503, shown, reason);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(fault(`no WebSocket within ${this.config.requestTimeoutMs} ms`)), this.config.requestTimeoutMs);
        const offConnected = provider.on('connected', () => {
          clearTimeout(timer);
          offConnected();
          offError();
          resolve();
        });
        const offError = provider.on('error', (error: unknown) => {
          clearTimeout(timer);
          offConnected();
          offError();
          reject(fault(`cannot open: ${error instanceof Error ? error.message : 'socket error'}`));
        });
        provider.connect().catch((error: unknown) => {
          clearTimeout(timer);
          reject(fault(`cannot open: ${error instanceof Error ? error.message : String(error)}`));
        });
      });
    } catch (error) {
      await provider.disconnect().catch(() => undefined);
      throw error;
    }
    let api: ApiPromise | undefined;
    try {
      api = new ApiPromise({ provider, noInitWarn: true, throwOnConnect: true, metadata: knownMetadata });
      const ready = api.isReadyOrError;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ready,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(fault(`not ready within ${this.options.connectTimeoutMs} ms`)), this.options.connectTimeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (error) {
      await (api ?? provider).disconnect().catch(() => undefined);
      throw error instanceof EndpointHttpError ? error : fault(`cannot initialise: ${error instanceof Error ? error.message : String(error)}`);
    }
    knownMetadata[`${api.genesisHash.toHex()}-${api.runtimeVersion.specVersion.toString()}`] ??= api.runtimeMetadata.toHex();
    // Decorating the API at a block is CPU work of its own (every pallet's storage, calls and runtime APIs): done
    // here, so the first read's request timeout measures the node and not this process.
    await api.at(api.genesisHash, api.runtimeVersion);
    const genesis = api.genesisHash.toHex();
    if (this.options.genesisHash !== undefined && genesis !== this.options.genesisHash) {
      await api.disconnect().catch(() => undefined);
      throw new ChainProtocolError(this.name, `${shown} serves the chain with genesis ${genesis}, the config expects ${this.options.genesisHash}`);
    }
    const connected = api;
    this.opened.add(connected);
    provider.on('disconnected', () => this.drop(endpoint, connected));
    if (this.closed) await connected.disconnect().catch(() => undefined);
    return connected;
  }

  /** The finalized head. */
  async head(api: ApiPromise): Promise<Head> {
    const hash = await api.rpc.chain.getFinalizedHead();
    const header = await api.rpc.chain.getHeader(hash);
    return { number: header.number.toNumber(), hash: hash.toHex() };
  }

  /**
   * The API decorated at a recent block. The registry is the connection's
   * current runtime (saves the two requests polkadot-js makes to find a
   * block's runtime); the finalized head lags the best block by a few
   * blocks, so only reads in the blocks of a runtime upgrade could decode
   * with the newer metadata, fail, and be retried.
   */
  atRecent(api: ApiPromise, hash: string): Promise<ApiDecoration<'promise'>> {
    return api.at(hash, api.runtimeVersion);
  }

  /**
   * The custody address (SS58): the chain block's `address`, else the
   * key's, in the chain's SS58 format.
   */
  address(): Promise<string> {
    if (this.config.address !== undefined) return Promise.resolve(this.config.address);
    this.derived ??= (async () => {
      const pair = await this.custody();
      const format = await this.call(async (api) => api.registry.chainSS58 ?? 42);
      return new Keyring({ type: pair.type, ss58Format: format }).encodeAddress(pair.publicKey);
    })();
    this.derived.catch(() => {
      this.derived = undefined;
    });
    return this.derived;
  }

  /** The custody account as hex (AccountId32). */
  async accountId(): Promise<string> {
    return accountHex(await this.address());
  }

  /** The signing key (a mnemonic, a `0x` seed or a secret URI); only signing needs it. */
  custody(): Promise<KeyringPair> {
    this.key ??= (async () => {
      const secret = await readSigningSecret(this.name, this.config.signer);
      await cryptoWaitReady();
      let pair: KeyringPair;
      try {
        pair = new Keyring({ type: this.options.keyType }).addFromUri(secret);
      } catch {
        throw new ChainProtocolError(this.name, 'signer: the key is neither a mnemonic nor a 0x seed nor a secret URI');
      }
      if (this.config.address !== undefined && accountHex(this.config.address) !== u8aToHex(pair.publicKey)) {
        throw new ChainProtocolError(this.name, `signer: the key is not the custody account ${this.config.address}'s`);
      }
      return pair;
    })();
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.apis.values()];
    this.apis.clear();
    for (const opening of pending) {
      const api = await opening.catch(() => undefined);
      if (api !== undefined) this.opened.add(api);
    }
    await Promise.all([...this.opened].map((api) => api.disconnect().catch(() => undefined)));
    this.opened.clear();
  }
}
