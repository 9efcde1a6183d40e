/**
 * The NEAR adapter's client: endpoints with failover and request counting
 * (rpc.ts), the answers' schemas, the network check, blocks, pool and
 * account views, the custody account id and, for signing only, the key.
 * Every other file of the adapter (position, sign, broadcast, harvest) is a
 * function of this client.
 */
import * as z from 'zod';

import { ChainProtocolError } from '../errors.js';
import { uintString } from '../integers.js';
import { readSigningSecret } from '../signer.js';
import type { AdapterConfig } from '../types.js';
import { parseCustodyKey, type CustodyKey } from './key.js';
import type { NearOptions, ResolvedNearOptions } from './options.js';
import { NearRpc, type RpcCounter } from './rpc.js';

export const blockSchema = z.object({
  header: z.object({ height: z.number().int(), hash: z.string(), epoch_id: z.string(), timestamp_nanosec: uintString }).loose(),
});
export const accountSchema = z.object({ amount: uintString, block_height: z.number().int(), storage_usage: z.number().int().nonnegative() }).loose();
export const gasPriceSchema = z.object({ gas_price: uintString }).loose();
export const protocolConfigSchema = z.object({ transaction_validity_period: z.number().int().positive(), epoch_length: z.number().int().positive() }).loose();
export const accessKeyListSchema = z.object({ keys: z.array(z.object({ public_key: z.string(), access_key: z.object({ nonce: z.number().int().nonnegative() }).loose() })) }).loose();
export const accessKeySchema = z.object({ nonce: z.number().int().nonnegative(), block_hash: z.string(), block_height: z.number().int() }).loose();
export const poolAccountSchema = z.object({ unstaked_balance: uintString, staked_balance: uintString, can_withdraw: z.boolean() }).loose();
export const validatorsSchema = z.object({
  current_validators: z.array(z.object({ account_id: z.string(), is_slashed: z.boolean().optional() }).loose()),
  epoch_start_height: z.number().int(),
}).loose();
export const statusSchema = z.object({ chain_id: z.string(), sync_info: z.object({ earliest_block_height: z.number().int().optional() }).loose() }).loose();
export const changesSchema = z.object({
  changes: z.array(z.object({ cause: z.object({ type: z.string(), tx_hash: z.string().optional() }).loose(), change: z.object({ public_key: z.string().optional() }).loose() }).loose()),
});

export interface Head {
  height: number;
  hash: string;
  epochId: string;
  /** ms */
  at: number;
}

/** One chain block's connection to NEAR. */
export class NearClient {
  readonly name: string;
  readonly rpc: NearRpc;
  readonly poolSet: ReadonlySet<string>;
  private key: Promise<CustodyKey> | undefined;
  private checkedChain: Promise<void> | undefined;
  private protocol: Promise<z.output<typeof protocolConfigSchema>> | undefined;
  private sent = 0;

  constructor(
    readonly config: AdapterConfig<NearOptions>,
    readonly options: ResolvedNearOptions,
    onRpc?: RpcCounter,
  ) {
    this.name = config.name;
    this.rpc = new NearRpc(config.name, config.endpoints, config.requestTimeoutMs, (method) => {
      this.sent += 1;
      onRpc?.(method);
    });
    this.poolSet = new Set(options.pools);
  }

  /** Requests sent so far, over every endpoint and failover attempt. */
  requests(): number {
    return this.sent;
  }

  /**
   * The custody account id: `options.accountId` or the chain block's
   * `address`, else (reading the key) the key file's `account_id`.
   */
  async address(): Promise<string> {
    const configured = this.options.accountId ?? this.config.address;
    if (configured !== undefined) return configured;
    return (await this.custody()).accountId;
  }

  /** The signing key; only signing needs it. */
  custody(): Promise<CustodyKey> {
    this.key ??= readSigningSecret(this.name, this.config.signer).then((secret) => parseCustodyKey(this.name, secret, this.options.accountId ?? this.config.address));
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ChainProtocolError(this.name, `unexpected answer to ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  /** Refuses endpoints serving another network (once per adapter). */
  checkNetwork(): Promise<void> {
    if (this.options.networkId === undefined) return Promise.resolve();
    this.checkedChain ??= this.rpc.raw('status', []).then((json) => {
      const status = this.parse(statusSchema, json, 'status');
      if (status.chain_id !== this.options.networkId) {
        throw new ChainProtocolError(this.name, `endpoint serves chain ${status.chain_id}, the config expects ${this.options.networkId}`);
      }
    });
    this.checkedChain.catch(() => {
      this.checkedChain = undefined;
    });
    return this.checkedChain;
  }
  /** The final block, or the block of a height or hash. */
  async head(blockId?: number | string): Promise<Head> {
    await this.checkNetwork();
    const json = await this.rpc.raw('block', blockId === undefined ? { finality: 'final' } : { block_id: blockId });
    const { header } = this.parse(blockSchema, json, 'block');
    return { height: header.height, hash: header.hash, epochId: header.epoch_id, at: Number(header.timestamp_nanosec / 1_000_000n) };
  }
  /** The chain's current gas price, yoctoNEAR per gas (nearcore's `gas_price` RPC, latest block). */
  async gasPrice(): Promise<bigint> {
    await this.checkNetwork();
    return this.parse(gasPriceSchema, await this.rpc.raw('gas_price', [null]), 'gas_price').gas_price;
  }
  async poolAccount(pool: string, accountId: string, height: number): Promise<z.output<typeof poolAccountSchema>> {
    let json: unknown;
    try {
      json = await this.rpc.view(pool, 'get_account', { account_id: accountId }, height);
    } catch (error) {
      if (error instanceof SyntaxError) throw new ChainProtocolError(this.name, `${pool}.get_account: ${error.message}`);
      throw error;
    }
    return this.parse(poolAccountSchema, json, `${pool}.get_account`);
  }
  /** The custody account at a height: its liquid balance and the storage reserve it cannot spend. */
  async account(accountId: string, height: number): Promise<z.output<typeof accountSchema>> {
    return this.parse(accountSchema, await this.rpc.raw('query', { request_type: 'view_account', account_id: accountId, block_id: height }), 'view_account');
  }
  /** The node's protocol config, once: `transaction_validity_period` and `epoch_length` (blocks; 43,200 on mainnet and testnet). */
  protocolConfig(): Promise<z.output<typeof protocolConfigSchema>> {
    this.protocol ??= this.rpc.raw('EXPERIMENTAL_protocol_config', { finality: 'final' }).then((json) => this.parse(protocolConfigSchema, json, 'EXPERIMENTAL_protocol_config'));
    this.protocol.catch(() => {
      this.protocol = undefined;
    });
    return this.protocol;
  }

  /** `transaction_validity_period` (blocks), from the node's protocol config. */
  async transactionValidity(): Promise<number> {
    return (await this.protocolConfig()).transaction_validity_period;
  }
}
