/**
 * The Aptos adapter's client: one @aptos-labs/ts-sdk `Aptos` per endpoint,
 * whose HTTP goes through a small fetch provider (request counting, the
 * failover attempt's abort signal, u64 numbers kept exact), endpoint
 * failover, the answers' schemas, the network check, the node's ledger
 * info, views and account reads, the custody address and, for signing only,
 * the key. Every other file of the adapter (position, sign, broadcast,
 * harvest) is a function of this client.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFile } from 'node:fs/promises';

import {
  Aptos,
  AptosApiError,
  AptosConfig,
  getAptosFullNode,
  Network,
  type Client,
  type ClientRequest,
  type ClientResponse,
  type Ed25519Account,
} from '@aptos-labs/ts-sdk';
import * as z from 'zod';

import { ChainProtocolError, safeUrl } from '../errors.js';
import { EndpointHttpError, withFailover } from '../failover.js';
import { uintString } from '../integers.js';
import { readSigningSecret } from '../signer.js';
import type { AdapterConfig } from '../types.js';
import { parseCustodyKey } from './key.js';
import { longAddress, type AptosOptions, type ResolvedAptosOptions } from './options.js';

/** Counts requests by route, for tests and benchmarks. */
export type RequestCounter = (route: string) => void;

/** `GET /v1` (api/types/src/index.rs `IndexResponse`). */
export const ledgerSchema = z
  .object({ chain_id: z.number().int(), epoch: uintString, ledger_version: uintString, oldest_ledger_version: uintString, ledger_timestamp: uintString, block_height: uintString })
  .loose();
export const accountSchema = z.object({ sequence_number: uintString, authentication_key: z.string() }).loose();
/** `0x1::reconfiguration::Configuration`: the epoch and when it began, µs. */
export const configurationSchema = z.object({ data: z.object({ epoch: uintString, last_reconfiguration_time: uintString }).loose() }).loose();
export const eventSchema = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) }).loose();
/** A committed user transaction (api/types/src/transaction.rs `UserTransaction`), as far as the adapter reads it. */
export const userTransactionSchema = z
  .object({
    type: z.literal('user_transaction'),
    version: uintString,
    hash: z.string(),
    sender: z.string(),
    sequence_number: uintString,
    success: z.boolean(),
    vm_status: z.string(),
    gas_used: uintString,
    gas_unit_price: uintString,
    timestamp: uintString,
    events: z.array(eventSchema),
  })
  .loose();
export type UserTransaction = z.output<typeof userTransactionSchema>;

/** The ledger as one answer saw it. */
export interface Ledger {
  chainId: number;
  epoch: bigint;
  version: bigint;
  /** `oldest_ledger_version`: the first version the node has not pruned. */
  oldestVersion: bigint;
  /** µs */
  timestampUs: bigint;
}

/** JSON with u64 numbers beyond 2^53 kept as their decimal text (the balance endpoint answers a bare number). */
function parseJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^\d+$/.test(context.source) ? context.source : value));
}

/** The attempt's abort signal, set by failover around each SDK call. */
const attemptSignal = new AsyncLocalStorage<AbortSignal>();

/** The SDK's HTTP client, on fetch: counts each request, aborts with the failover attempt, keeps u64 exact. */
function fetchClient(count: (route: string) => void, basicAuth: string | undefined): Client {
  return {
    async provider<Req, Res>(request: ClientRequest<Req>): Promise<ClientResponse<Res>> {
      const url = new URL(request.url);
      for (const [key, value] of Object.entries((request.params ?? {}) as Record<string, unknown>)) {
        if (value !== undefined) url.searchParams.append(key, String(value));
      }
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(request.headers ?? {})) if (value !== undefined) headers[key.toLowerCase()] = String(value);
      if (basicAuth !== undefined && headers.authorization === undefined) headers.authorization = basicAuth;
      let body: string | Uint8Array | undefined;
      if (request.body instanceof Uint8Array) body = request.body;
      else if (request.body !== undefined) body = JSON.stringify(request.body);
      count(`${request.method} ${url.pathname.replace(/\/0x[0-9a-fA-F]+/g, '/{id}').replace(/\/\d+$/, '/{n}')}`);
      const init: RequestInit = { method: request.method, headers };
      if (body !== undefined) init.body = body;
      const signal = attemptSignal.getStore();
      if (signal !== undefined) init.signal = signal;
      const response = await fetch(url, init);
      const text = await response.text();
      let data: unknown = null;
      if (text !== '') {
        try {
          data = parseJson(text);
        } catch {
          // A 2xx that is not JSON: a proxy answered in the node's place; another endpoint may do better.
          if (response.ok) throw new EndpointHttpError(502, safeUrl(request.url), `a ${response.status} answer that is not JSON`);
          data = text.slice(0, 500);
        }
      }
      return { status: response.status, statusText: response.statusText, data: data as Res, headers: Object.fromEntries(response.headers) };
    },
  };
}

/** The node's base URL with its `/v1` (a configured endpoint may name either). */
function fullnodeUrl(endpoint: string): { url: string; basicAuth: string | undefined } {
  const parsed = new URL(endpoint);
  let basicAuth: string | undefined;
  if (parsed.username !== '' || parsed.password !== '') {
    basicAuth = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  parsed.pathname = path.endsWith('/v1') ? path : `${path}/v1`;
  return { url: parsed.href.replace(/\/+$/, ''), basicAuth };
}

/** One chain block's connection to Aptos. */
export class AptosClient {
  readonly name: string;
  readonly poolSet: ReadonlySet<string>;
  private readonly clients = new Map<string, Aptos>();
  private key: Promise<Ed25519Account> | undefined;
  private apiKey: Promise<string | undefined> | undefined;
  private checkedChain: Promise<void> | undefined;
  private sent = 0;

  constructor(
    readonly config: AdapterConfig<AptosOptions>,
    readonly options: ResolvedAptosOptions,
    private readonly onRequest?: RequestCounter,
  ) {
    this.name = config.name;
    this.poolSet = new Set(options.pools);
  }

  /** A pool as the config spells it (validators are reported so; the planner matches them). */
  label(pool: string): string {
    return this.options.labels.get(pool) ?? pool;
  }

  /** Requests sent so far, over every endpoint and failover attempt. */
  requests(): number {
    return this.sent;
  }

  /** The custody address (long form): the configured one, else the key's. */
  async address(): Promise<string> {
    if (this.config.address !== undefined) return longAddress(this.config.address);
    return (await this.custody()).accountAddress.toStringLong();
  }

  /** The signing key; only signing needs it. */
  custody(): Promise<Ed25519Account> {
    this.key ??= readSigningSecret(this.name, this.config.signer).then((secret) => parseCustodyKey(this.name, secret, this.config.address));
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  private readApiKey(): Promise<string | undefined> {
    const file = this.options.apiKeyFile;
    if (file === undefined) return Promise.resolve(undefined);
    this.apiKey ??= readFile(file, 'utf8').then(
      (text) => text.trim(),
      (error: NodeJS.ErrnoException) => {
        this.apiKey = undefined;
        throw new ChainProtocolError(this.name, `could not read the API key file ${file}${error.code ? ` (${error.code})` : ''}`);
      },
    );
    return this.apiKey;
  }

  private aptosFor(endpoint: string, apiKey: string | undefined): Aptos {
    let aptos = this.clients.get(endpoint);
    if (aptos === undefined) {
      let target: ReturnType<typeof fullnodeUrl>;
      try {
        target = fullnodeUrl(endpoint);
      } catch {
        throw new EndpointHttpError(400, safeUrl(endpoint), 'an endpoint is not a valid URL');
      }
      const count = (route: string): void => {
        this.sent += 1;
        this.onRequest?.(route);
      };
      aptos = new Aptos(
        new AptosConfig({
          // The SDK never builds a transaction here (sign.ts does, with the chain id the node reports), so the
          // network only names the SDK's caches; CUSTOM would print a note on stdout for every client made.
          network: this.options.chainId === 1 ? Network.MAINNET : this.options.chainId === 2 ? Network.TESTNET : Network.LOCAL,
          fullnode: target.url,
          client: fetchClient(count, target.basicAuth),
          ...(apiKey === undefined ? {} : { clientConfig: { API_KEY: apiKey } }),
          // A pruned read fails over like any other answer; the SDK must not replay it to a node the answer names.
          archivalFallback: false,
        }),
      );
      this.clients.set(endpoint, aptos);
    }
    return aptos;
  }

  /**
   * Runs `call` with the SDK on the first endpoint that answers. The node's
   * 429 and 5xx move on to the next endpoint; its other answers (404, 400:
   * every node would say the same) reach the caller as the SDK's
   * `AptosApiError`.
   */
  async call<T>(call: (aptos: Aptos) => Promise<T>): Promise<T> {
    const apiKey = await this.readApiKey();
    return withFailover(this.name, this.config.endpoints, this.config.requestTimeoutMs, (endpoint, signal) =>
      attemptSignal.run(signal, async () => {
        try {
          return await call(this.aptosFor(endpoint, apiKey));
        } catch (error) {
          if (error instanceof AptosApiError && (error.status === 429 || error.status >= 500)) throw new EndpointHttpError(error.status, safeUrl(endpoint), error.data as unknown);
          throw error;
        }
      }),
    );
  }

  parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ChainProtocolError(this.name, `unexpected answer to ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  /** `GET /v1`: the ledger's version, epoch, time and chain id. */
  async ledger(): Promise<Ledger> {
    // Not the SDK's getLedgerInfo: it is memoised for 10 s process-wide, per network name, whatever the node.
    const response = await this.call((aptos) => getAptosFullNode<object, object>({ aptosConfig: aptos.config, originMethod: 'getLedgerInfo', path: '' }));
    const info = this.parse(ledgerSchema, response.data, 'GET /v1');
    if (this.options.chainId !== undefined && info.chain_id !== this.options.chainId) {
      throw new ChainProtocolError(this.name, `endpoint serves chain id ${info.chain_id}, the config expects ${this.options.chainId}`);
    }
    return { chainId: info.chain_id, epoch: info.epoch, version: info.ledger_version, oldestVersion: info.oldest_ledger_version, timestampUs: info.ledger_timestamp };
  }

  /** A `#[view]` function's values at `version`, posted as JSON (the SDK's BCS form would fetch the module ABI first). */
  async view(fn: string, args: string[], version: bigint): Promise<unknown[]> {
    return this.call((aptos) => aptos.viewJson({ payload: { function: fn as `${string}::${string}::${string}`, functionArguments: args }, options: { ledgerVersion: version } }));
  }

  /** A view returning u64s, as bigints. */
  async viewU64(fn: string, args: string[], version: bigint): Promise<bigint[]> {
    return this.parse(z.array(uintString), await this.view(fn, args, version), fn);
  }

  /** `delegation_pool::get_stake(pool, delegator)` at `version`: `[active, inactive, pending_inactive]`. */
  async stake(pool: string, delegator: string, version: bigint): Promise<[bigint, bigint, bigint]> {
    const [active = 0n, inactive = 0n, pendingInactive = 0n] = await this.viewU64('0x1::delegation_pool::get_stake', [pool, delegator], version);
    return [active, inactive, pendingInactive];
  }

  /** The account's sequence number at `version`; 0 for an account the chain does not know yet. */
  async sequenceNumber(address: string, version: bigint): Promise<bigint> {
    try {
      // The SDK's getAccountInfo reads only the latest version.
      const response = await this.call((aptos) => getAptosFullNode<object, object>({ aptosConfig: aptos.config, originMethod: 'getAccountInfo', path: `accounts/${address}`, params: { ledger_version: version.toString() } }));
      return this.parse(accountSchema, response.data, 'GET account').sequence_number;
    } catch (error) {
      if (error instanceof AptosApiError && error.status === 404) return 0n;
      throw error;
    }
  }

  /**
   * Liquid APT at `version`, octas. The node answers a bare JSON number
   * (api/src/accounts.rs `BasicResultWith404<u64>`); the provider keeps it
   * exact above 2^53, which the SDK's `getBalance` (parseInt) would not.
   */
  async balance(address: string, version: bigint): Promise<bigint> {
    try {
      const response = await this.call((aptos) =>
        getAptosFullNode<object, number | string>({ aptosConfig: aptos.config, originMethod: 'getBalance', path: `accounts/${address}/balance/0x1::aptos_coin::AptosCoin`, params: { ledger_version: version.toString() } }),
      );
      const value = response.data;
      if ((typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'string' && /^\d+$/.test(value))) return BigInt(value);
      throw new ChainProtocolError(this.name, `unexpected balance answer ${JSON.stringify(value)}`);
    } catch (error) {
      if (error instanceof AptosApiError && error.status === 404) return 0n;
      throw error;
    }
  }

  /** `0x1::reconfiguration::Configuration` at `version`: the epoch and its start, µs. */
  async configuration(version: bigint): Promise<{ epoch: bigint; startUs: bigint }> {
    const resource = await this.call((aptos) => aptos.getAccountResource({ accountAddress: '0x1', resourceType: '0x1::reconfiguration::Configuration', options: { ledgerVersion: version } }));
    // getAccountResource returns the resource's data.
    const data = this.parse(configurationSchema, { data: resource }, '0x1::reconfiguration::Configuration').data;
    return { epoch: data.epoch, startUs: data.last_reconfiguration_time };
  }

  /** The account's committed transactions from sequence number `start`, at most `limit` (the node caps pages at 100). */
  async accountTransactions(address: string, start: bigint, limit: number): Promise<UserTransaction[]> {
    try {
      const list = await this.call((aptos) => aptos.getAccountTransactions({ accountAddress: address, options: { offset: start, limit } }));
      return this.parse(z.array(userTransactionSchema), list, 'GET account transactions');
    } catch (error) {
      if (error instanceof AptosApiError && error.status === 404) return [];
      throw error;
    }
  }

  /** Refuses endpoints serving another chain (once per adapter); a no-op without `chainId`. */
  checkNetwork(): Promise<void> {
    if (this.options.chainId === undefined) return Promise.resolve();
    this.checkedChain ??= this.ledger().then(() => undefined);
    this.checkedChain.catch(() => {
      this.checkedChain = undefined;
    });
    return this.checkedChain;
  }
}
