/**
 * The TRON adapter's client: java-tron's HTTP API (`/wallet/*` on the full
 * nodes, `/walletsolidity/*` on the solidity nodes) with endpoint failover
 * and request counting, int64 read exactly, the answers' schemas, the
 * solidified head, the custody address and, for signing only, the key.
 * Every other file of the adapter (position, sign, broadcast, harvest) is a
 * function of this client.
 */
import { readFile } from 'node:fs/promises';

import { TronWeb } from 'tronweb';
import * as z from 'zod';

import { SoftstakeError } from '../../src/errors.js';
import { ChainProtocolError } from '../errors.js';
import { EndpointHttpError, fetchJson, withFailover } from '../failover.js';
import { readSigningSecret } from '../signer.js';
import type { AdapterConfig } from '../types.js';
import { parseTronKey } from './keys.js';
import type { ResolvedTronOptions, TronOptions } from './options.js';

/** sun per TRX (java-tron `Parameter.ChainConstant.TRX_PRECISION`). */
export const SUN_PER_TRX = 1_000_000n;
/** java-tron `ChainConstant.BLOCK_PRODUCED_INTERVAL`, ms. */
export const BLOCK_MS = 3000;
/** How long after the head block tronweb (and this adapter) lets signed bytes live, ms (AbstractTrx.getCurrentRefBlockParams). */
export const EXPIRATION_MS = 60_000;
/** WithdrawBalanceActuator: `witnessAllowanceFrozenTime` (1 day) between two claims, ms. */
export const CLAIM_INTERVAL_MS = 86_400_000;

/** Counts requests by path, for tests and benchmarks. */
export type RequestCounter = (path: string) => void;

/**
 * java-tron prints int64 as bare JSON numbers, even past 2^53 (JsonFormat):
 * every integer is read as a bigint from its source text.
 */
export function parseTronJson(text: string): unknown {
  return JSON.parse(text, function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
    if (typeof value === 'number' && Number.isInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)) return BigInt(context.source);
    return value;
  } as (key: string, value: unknown) => unknown);
}

const int = z.bigint();
/** A bigint that is a safe JS number (times, heights, counts). */
const num = z.bigint().transform((v, ctx) => {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < 0n) {
    ctx.addIssue({ code: 'custom', message: `${v} is out of range` });
    return z.NEVER;
  }
  return Number(v);
});

/** `wallet/getblock {detail:false}`: the header tronweb builds its reference block from. */
export const blockSchema = z.object({
  blockID: z.string().regex(/^[0-9a-f]{64}$/),
  block_header: z.object({ raw_data: z.object({ number: num.optional(), timestamp: num }).loose() }).loose(),
  transactions: z.array(z.unknown()).optional(),
});

/** `getaccount` (visible: false), the fields Stake 2.0 uses; a field at its proto default is absent. */
export const accountSchema = z
  .object({
    address: z.string().optional(),
    balance: int.optional(),
    votes: z.array(z.object({ vote_address: z.string(), vote_count: int.optional() }).loose()).optional(),
    allowance: int.optional(),
    latest_withdraw_time: num.optional(),
    frozenV2: z.array(z.object({ type: z.string().optional(), amount: int.optional() }).loose()).optional(),
    unfrozenV2: z.array(z.object({ type: z.string().optional(), unfreeze_amount: int.optional(), unfreeze_expire_time: num.optional() }).loose()).optional(),
  })
  .loose();
export type TronAccount = z.infer<typeof accountSchema>;

/** `gettransactioninfobyid` (TransactionUtil.buildTransactionInfoInstance); `{}` while not (solidly) in a block. */
export const infoSchema = z
  .object({
    id: z.string().optional(),
    fee: int.optional(),
    blockNumber: num.optional(),
    blockTimeStamp: num.optional(),
    result: z.string().optional(),
    resMessage: z.string().optional(),
    withdraw_amount: int.optional(),
    withdraw_expire_amount: int.optional(),
  })
  .loose();
export type TronTxInfo = z.infer<typeof infoSchema>;

/** A block header's number and time. */
export interface Head {
  number: bigint;
  at: number;
  id: string;
}

/** `T…` (base58check) or `41…` hex → `41…` lowercase hex; undefined when it is not a TRON address. */
export function toHexAddress(address: string): string | undefined {
  if (/^41[0-9a-fA-F]{40}$/.test(address)) return address.toLowerCase();
  if (!address.startsWith('T') || !TronWeb.isAddress(address)) return undefined;
  return TronWeb.address.toHex(address).toLowerCase();
}

/** `41…` hex → `T…`. */
export function toBase58(hex: string): string {
  return TronWeb.address.fromHex(hex);
}

/** One chain block's connection to java-tron's HTTP API. */
export class TronClient {
  readonly name: string;
  private calls = 0;
  private apiKey: Promise<Record<string, string>> | undefined;
  private key: Promise<{ privateKey: string; address: string }> | undefined;

  constructor(
    readonly config: AdapterConfig<TronOptions>,
    readonly options: ResolvedTronOptions,
    private readonly counter?: RequestCounter,
  ) {
    this.name = config.name;
    if (config.address !== undefined && toHexAddress(config.address) === undefined) {
      throw new ChainProtocolError(this.name, `address ${config.address} is not a TRON address (T… base58check)`);
    }
  }

  /** Requests sent so far, over every endpoint and failover attempt. */
  requests(): number {
    return this.calls;
  }

  private headers(): Promise<Record<string, string>> {
    const file = this.options.apiKeyFile;
    if (file === undefined) return Promise.resolve({});
    if (this.apiKey === undefined) {
      const pending = readFile(file, 'utf8').then(
        (text) => ({ 'TRON-PRO-API-KEY': text.trim() }),
        (error: unknown) => {
          throw new ChainProtocolError(this.name, `apiKeyFile: could not read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        },
      );
      pending.catch(() => {
        if (this.apiKey === pending) this.apiKey = undefined;
      });
      this.apiKey = pending;
    }
    return this.apiKey;
  }

  private async request(endpoints: readonly string[], path: string, body: unknown, check?: (endpoint: string, answer: unknown) => void): Promise<unknown> {
    const headers = await this.headers();
    const answer = await withFailover(this.name, endpoints, this.config.requestTimeoutMs, async (endpoint, signal) => {
      this.calls += 1;
      this.counter?.(path);
      const json = await fetchJson(endpoint, path, { method: 'POST', body: body ?? {}, signal, headers, parse: parseTronJson });
      check?.(endpoint, json);
      return json;
    });
    // java-tron's servlets answer an exception with HTTP 200 and {"Error": "<class> : <message>"} (Util.processError).
    if (answer !== null && typeof answer === 'object' && 'Error' in answer) {
      throw new ChainProtocolError(this.name, `${path}: ${String((answer as { Error: unknown }).Error).slice(0, 500)}`);
    }
    return answer;
  }

  /** A full node's `/wallet/<path>`: the head and the pending state. */
  full(path: string, body?: unknown): Promise<unknown> {
    return this.request(this.config.endpoints, `wallet/${path}`, body);
  }

  /**
   * `wallet/broadcasttransaction` with the signed JSON sent verbatim;
   * `check` sees each endpoint's answer and may throw a node fault so the
   * next endpoint is tried.
   */
  broadcast(json: string, check: (endpoint: string, answer: unknown) => void): Promise<unknown> {
    return this.request(this.config.endpoints, 'wallet/broadcasttransaction', json, check);
  }

  /** A solidity node's `/walletsolidity/<path>`: the solidified block, final. */
  solid(path: string, body?: unknown): Promise<unknown> {
    return this.request(this.options.solidityEndpoints ?? this.config.endpoints, `walletsolidity/${path}`, body);
  }

  /** `schema.parse(value)`, a malformed answer reported as the chain's fault. */
  parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ChainProtocolError(this.name, `malformed ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ').slice(0, 500)}`);
    return parsed.data;
  }

  /** A block header, from the full node (`wallet/getblock`) or the solidity node; the latest when `number` is absent. */
  async header(source: 'full' | 'solid', number?: bigint): Promise<Head> {
    const body = number === undefined ? { detail: false } : { id_or_num: number.toString(), detail: false };
    const json = source === 'full' ? await this.full('getblock', body) : await this.solid('getblock', body);
    if (json !== null && typeof json === 'object' && Object.keys(json).length === 0) throw new ChainProtocolError(this.name, `no block ${number ?? 'head'} on the ${source} node`);
    const block = this.parse(blockSchema, json, 'block');
    const raw = block.block_header.raw_data;
    return { number: BigInt(raw.number ?? 0), at: raw.timestamp, id: block.blockID };
  }

  /** The solidified block: what counts as final. */
  solidHead(): Promise<Head> {
    return this.header('solid');
  }

  /** An account as the solidity node (or full node) sees it; `undefined` when the chain has not seen it. */
  async account(source: 'full' | 'solid', hexAddress: string): Promise<TronAccount | undefined> {
    const body = { address: hexAddress, visible: false };
    const json = source === 'full' ? await this.full('getaccount', body) : await this.solid('getaccount', body);
    const account = this.parse(accountSchema, json, 'account');
    return account.address === undefined ? undefined : account;
  }

  /** A transaction's info from the solidity node; `undefined` until a solidified block has it. */
  async info(txid: string): Promise<TronTxInfo | undefined> {
    const info = this.parse(infoSchema, await this.solid('gettransactioninfobyid', { value: txid }), 'transaction info');
    return info.id === undefined ? undefined : info;
  }

  /**
   * The custody address (`T…`): the configured one, else derived from the
   * signer key (which reads the key: configure `address` where a role must
   * read without it).
   */
  async address(): Promise<string> {
    if (this.config.address !== undefined) return this.config.address;
    return (await this.signer()).address;
  }

  async hexAddress(): Promise<string> {
    return toHexAddress(await this.address())!;
  }

  /**
   * The hex private key, read once from the signer config; only signing
   * needs it. A key whose address is not the configured custody address is
   * refused. A failed read is not cached: the operator may fix the file.
   */
  signer(): Promise<{ privateKey: string; address: string }> {
    if (this.key === undefined) {
      const pending = (async () => {
        const { privateKey, address } = parseTronKey(this.name, await readSigningSecret(this.name, this.config.signer));
        if (this.config.address !== undefined && address !== this.config.address) {
          throw new ChainProtocolError(this.name, `signer: the key is for ${address}, the config's custody address is ${this.config.address}`);
        }
        return { privateKey, address };
      })();
      pending.catch(() => {
        if (this.key === pending) this.key = undefined;
      });
      this.key = pending;
    }
    return this.key;
  }
}

/** A node fault the broadcast reported in its answer (busy, not connected): another node may take it. */
export function nodeFault(endpointPath: string, code: string): SoftstakeError {
  return new EndpointHttpError(503, endpointPath, `the node answered ${code}`);
}

/** Σ of the account's frozen amounts that give Tron Power (BANDWIDTH and ENERGY; AccountCapsule.getTronPower), sun. */
export function frozenOf(account: TronAccount | undefined): bigint {
  return (account?.frozenV2 ?? []).filter((f) => f.type !== 'TRON_POWER').reduce((sum, f) => sum + (f.amount ?? 0n), 0n);
}

/** The account's frozen amount of one resource, sun (a BANDWIDTH entry prints no `type`: the enum default). */
export function frozenFor(account: TronAccount | undefined, resource: string): bigint {
  return (account?.frozenV2 ?? []).filter((f) => (f.type ?? 'BANDWIDTH') === resource).reduce((sum, f) => sum + (f.amount ?? 0n), 0n);
}

/** The account's votes as `T…` → whole TRX. */
export function votesOf(account: TronAccount | undefined): Map<string, bigint> {
  const votes = new Map<string, bigint>();
  for (const v of account?.votes ?? []) {
    const count = v.vote_count ?? 0n;
    if (count > 0n) votes.set(toBase58(v.vote_address), (votes.get(toBase58(v.vote_address)) ?? 0n) + count);
  }
  return votes;
}
