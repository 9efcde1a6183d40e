/**
 * The testchain adapter: the ChainAdapter for the local testchain devnet
 * (devnet.ts), talking to it only over HTTP with endpoint failover. It is
 * what the pipeline runs against until the real chains' adapters land, and
 * a daemon loads it by path (`import()` through tsx, `adapter` export).
 *
 * Config (the chain block's `options`): see {@link TestChainOptions}.
 */
import * as z from 'zod';
import { ChainProtocolError, TxNotIncludedError, TxRejectedError } from '../../adapters/errors.js';
import { EndpointHttpError, fetchJson, withFailover } from '../../adapters/failover.js';
import { readSigningSecret } from '../../adapters/signer.js';
import type {
  AdapterConfig,
  AdapterModule,
  ChainAdapter,
  ChainLimits,
  DueAction,
  HarvestResult,
  Position,
  RewardEvent,
  SignedTx,
  StakeAction,
  TxReceipt,
  TxStatus,
} from '../../adapters/types.js';
import { addressOf, decodeTxBody, decodeWireTx, publicKeyOf, signTx, type TxBody } from './keys.js';

/** The testchain adapter's options. */
export interface TestChainOptions {
  /**
   * The chain id the adapter expects; a node reporting another is refused
   * (the config points at the wrong chain). Unset: whatever the node reports.
   */
  chainId?: string;
  /**
   * How long `broadcast` waits for a transaction a node accepted to appear
   * in a block before giving up with a retryable TxNotIncludedError, ms.
   * @defaultValue 10000
   */
  inclusionTimeoutMs?: number;
  /**
   * How often `broadcast` asks whether an accepted transaction is in a block, ms.
   * @defaultValue 200
   */
  pollIntervalMs?: number;
  /**
   * Harvest reads at most this many pages of events; the rest comes with the next harvest.
   * @defaultValue 100
   */
  maxEventPages?: number;
}

/** {@link TestChainOptions} with the defaults filled in. */
type ResolvedOptions = Required<Omit<TestChainOptions, 'chainId'>> & Pick<TestChainOptions, 'chainId'>;

const optionsSchema = z.strictObject({
  chainId: z.string().min(1).max(64).optional(),
  inclusionTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  pollIntervalMs: z.number().int().min(1).max(60_000).optional(),
  maxEventPages: z.number().int().min(1).max(10_000).optional(),
});

function resolveOptions(options: TestChainOptions): ResolvedOptions {
  const parsed = optionsSchema.parse(options);
  return {
    chainId: parsed.chainId,
    inclusionTimeoutMs: parsed.inclusionTimeoutMs ?? 10_000,
    pollIntervalMs: parsed.pollIntervalMs ?? 200,
    maxEventPages: parsed.maxEventPages ?? 100,
  };
}

// ---- What the devnet answers, validated before it becomes money. ----

const amount = z
  .string()
  .regex(/^-?(0|[1-9][0-9]{0,77})$/)
  .transform((s) => BigInt(s));
const height = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/)
  .transform((s) => BigInt(s));
const ms = z.number().int().nonnegative();

const statusSchema = z.object({ chainId: z.string(), height, time: ms, minFee: amount });

const accountSchema = z.object({
  chainId: z.string(),
  height,
  time: ms,
  liquid: amount,
  nonce: height,
  pendingRewards: amount,
  delegations: z.array(z.object({ validator: z.string(), amount })),
  unbonding: z.array(z.object({ validator: z.string(), amount, completesAt: ms })),
  validators: z.array(z.object({ address: z.string(), jailed: z.boolean(), active: z.boolean(), commissionBps: z.number().int().optional() })),
});

const txResultSchema = z.object({
  hash: z.string(),
  code: z.number().int(),
  log: z.string(),
  included: z.boolean(),
  pending: z.boolean(),
  height: height.nullable(),
  time: ms.nullable(),
  fee: amount,
});

const eventsSchema = z.object({
  height,
  throughHeight: height,
  events: z.array(z.object({ id: z.string().min(1), kind: z.enum(['reward', 'slash']), height, time: ms, amount, validator: z.string() })),
});

type TxResultJson = z.infer<typeof txResultSchema>;

/** The nonce signed into wire bytes. */
function nonceOf(chain: string, tx: SignedTx): bigint {
  try {
    return decodeTxBody(decodeWireTx(tx.bytes).bodyBytes).nonce;
  } catch (error) {
    throw new ChainProtocolError(chain, `stored transaction ${tx.hash} does not decode: ${(error as Error).message}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

class TestChainAdapter implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private key: Promise<{ secretHex: string; address: string; pubkey: string }> | undefined;
  private requests = 0;

  constructor(
    private readonly config: AdapterConfig<TestChainOptions>,
    private readonly options: ResolvedOptions,
  ) {
    this.name = config.name;
    this.asset = config.asset;
  }

  /** The signing key, read once from the signer source; never logged or put in an error. */
  private signingKey(): Promise<{ secretHex: string; address: string; pubkey: string }> {
    this.key ??= readSigningSecret(this.name, this.config.signer).then((secret) => {
      const secretHex = secret.startsWith('0x') ? secret.slice(2) : secret;
      if (!/^[0-9a-fA-F]{64}$/.test(secretHex)) {
        throw new ChainProtocolError(this.name, 'signer: the key is not a 32-byte ed25519 seed in hex (64 hex characters)');
      }
      return { secretHex, address: addressOf(secretHex), pubkey: publicKeyOf(secretHex) };
    });
    // A failed read is not cached: the operator may fix the file and retry.
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  rpcRequests(): number {
    return this.requests;
  }

  /** The configured custody address, else the key's. */
  async address(): Promise<string> {
    return this.config.address ?? (await this.signingKey()).address;
  }

  /** One request with failover; the answer checked against `schema`. */
  private async request<S extends z.ZodType>(path: string, schema: S, init: { body?: Uint8Array } = {}): Promise<z.output<S>> {
    const json = await withFailover(this.name, this.config.endpoints, this.config.requestTimeoutMs, (endpoint, signal) => {
      this.requests += 1;
      return fetchJson(endpoint, path, { ...init, signal });
    });
    return this.parse(schema, json, path);
  }

  private parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ChainProtocolError(this.name, `unexpected answer to ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  private checkChainId(reported: string): void {
    if (this.options.chainId !== undefined && reported !== this.options.chainId) {
      throw new ChainProtocolError(this.name, `endpoint serves chain ${reported}, the config expects ${this.options.chainId}`);
    }
  }

  private async account(): Promise<z.output<typeof accountSchema>> {
    const address = await this.address();
    const view = await this.request(`/accounts/${encodeURIComponent(address)}`, accountSchema);
    this.checkChainId(view.chainId);
    return view;
  }

  async position(): Promise<Position> {
    const view = await this.account();
    return {
      height: view.height,
      at: view.time,
      liquid: view.liquid,
      bonded: view.delegations.reduce((sum, d) => sum + d.amount, 0n),
      withdrawable: 0n,
      delegations: view.delegations.map((d) => ({ validator: d.validator, amount: d.amount })),
      pendingRewards: view.pendingRewards,
      unbonding: view.unbonding.map((u) => ({ validator: u.validator, amount: u.amount, completesAt: u.completesAt })),
      validators: view.validators.map((v) => {
        const health: Position['validators'][number] = { validator: v.address, jailed: v.jailed, active: v.active };
        if (v.commissionBps !== undefined) health.commissionBps = v.commissionBps;
        return health;
      }),
    };
  }

  /** No minimum, any amount; the typical fee is the node's minimum fee, which every transaction pays. */
  async limits(): Promise<ChainLimits> {
    const status = await this.request('/status', statusSchema);
    return { minStake: 1n, step: 1n, reserve: 0n, typicalFee: status.minFee > 0n ? status.minFee : 1n };
  }

  /** One withdraw of all pending rewards once a whole unit is pending. */
  async due(): Promise<DueAction[]> {
    const view = await this.account();
    if (view.pendingRewards < 1n) return [];
    return [{ action: { kind: 'claim', validators: view.delegations.map((d) => d.validator).sort() }, amount: view.pendingRewards }];
  }

  steps(): number {
    return 1;
  }

  async sign(action: StakeAction, step = 0): Promise<SignedTx> {
    if (step !== 0) throw new TxRejectedError(this.name, undefined, 'invalid-step', `no step ${step}`, false);
    if (action.kind === 'claim') return this.signBody('withdraw');
    if (action.kind === 'withdraw') throw new TxRejectedError(this.name, undefined, 'unsupported', 'the testchain pays unbonded stake back by itself', false);
    if (action.amount <= 0n) throw new TxRejectedError(this.name, undefined, 'invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`, false);
    return this.signBody(action.kind, action.validator, action.amount);
  }

  /**
   * Whether the bytes are in a block. Testchain bytes carry no expiry, but
   * a nonce is used once: bytes not in a block whose nonce the account has
   * already used (another transaction took it) can never be included, and
   * are `expired`. The account is read before the bytes are looked up, so
   * a nonce these very bytes used is found as their inclusion. Blocks are
   * final once made.
   */
  async status(tx: SignedTx): Promise<TxStatus> {
    const nonce = (await this.account()).nonce;
    let result: TxResultJson | undefined;
    try {
      result = await this.request(`/txs/${tx.hash}`, txResultSchema);
    } catch (error) {
      if (!(error instanceof EndpointHttpError && error.status === 404)) throw error;
    }
    if (result === undefined || !result.included) return nonceOf(this.name, tx) < nonce ? { state: 'expired' } : { state: 'pending' };
    if (result.code !== 0) return { state: 'failed', hash: tx.hash, fee: result.fee, log: result.log };
    return { state: 'included', receipt: this.receipt(tx.hash, result) };
  }

  private async signBody(kind: TxBody['kind'], validator?: string, amount?: bigint): Promise<SignedTx> {
    const key = await this.signingKey();
    const status = await this.request('/status', statusSchema);
    this.checkChainId(status.chainId);
    const view = await this.account();
    if (validator !== undefined && !view.validators.some((v) => v.address === validator)) {
      throw new TxRejectedError(this.name, undefined, 'unknown-validator', `validator ${validator} does not exist on ${status.chainId}`, false);
    }
    const body: TxBody = { chain: status.chainId, from: key.address, pubkey: key.pubkey, nonce: view.nonce, fee: status.minFee, kind };
    if (validator !== undefined) body.validator = validator;
    if (amount !== undefined) body.amount = amount;
    return signTx(body, key.secretHex);
  }

  async broadcast(tx: SignedTx): Promise<TxReceipt> {
    let result = await this.request('/txs', txResultSchema, { body: tx.bytes });
    if (result.hash !== '' && result.hash !== tx.hash) {
      throw new ChainProtocolError(this.name, `broadcast of ${tx.hash} answered for ${result.hash}`);
    }
    if (result.pending) result = await this.awaitInclusion(tx.hash);
    return this.receipt(tx.hash, result);
  }

  /** Polls for a transaction a node accepted until it is in a block, or the wait is over. */
  private async awaitInclusion(hash: string): Promise<TxResultJson> {
    const started = Date.now();
    for (;;) {
      const waited = Date.now() - started;
      if (waited >= this.options.inclusionTimeoutMs) throw new TxNotIncludedError(this.name, hash, waited);
      await sleep(Math.min(this.options.pollIntervalMs, this.options.inclusionTimeoutMs - waited));
      try {
        return await this.request(`/txs/${hash}`, txResultSchema);
      } catch (error) {
        if (!(error instanceof EndpointHttpError && error.status === 404)) throw error;
      }
    }
  }

  private receipt(hash: string, result: TxResultJson): TxReceipt {
    if (result.included && result.height !== null && result.time !== null) {
      if (result.code !== 0) throw new TxRejectedError(this.name, hash, result.code, result.log, true, result.fee);
      return { hash, fee: result.fee, height: result.height, at: result.time, moved: [] };
    }
    if (!result.included && !result.pending && result.code !== 0) throw new TxRejectedError(this.name, hash, result.code, result.log, false);
    throw new ChainProtocolError(this.name, `transaction ${hash}: answer is neither included, pending nor rejected`);
  }

  async delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.broadcast(await this.sign({ kind: 'delegate', validator, amount }));
  }

  async undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.broadcast(await this.sign({ kind: 'undelegate', validator, amount }));
  }

  async harvest(checkpoint: string | null): Promise<HarvestResult> {
    if (checkpoint !== null && !/^(0|[1-9][0-9]{0,77})$/.test(checkpoint)) {
      throw new ChainProtocolError(this.name, `harvest checkpoint must be a block height, got ${JSON.stringify(checkpoint)}`);
    }
    const from = checkpoint === null ? 0n : BigInt(checkpoint);
    const view = await this.account();
    if (from > view.height) {
      throw new ChainProtocolError(this.name, `harvest checkpoint ${from} is above the chain's height ${view.height}: was the chain reset?`);
    }
    const address = await this.address();
    const events: RewardEvent[] = [];
    let after = from;
    for (let page = 0; page < this.options.maxEventPages; page += 1) {
      const answer = await this.request(`/accounts/${encodeURIComponent(address)}/events?after=${after}`, eventsSchema);
      for (const e of answer.events) {
        if (e.height <= after || e.height > answer.throughHeight || e.amount === 0n || (e.kind === 'slash') !== (e.amount < 0n)) {
          throw new ChainProtocolError(this.name, `event ${e.id} is out of range or has a bad amount`);
        }
        events.push({ id: e.id, amount: e.amount, at: e.time, validator: e.validator });
      }
      after = answer.throughHeight;
      if (answer.throughHeight >= answer.height) break;
    }
    return { events, checkpoint: after.toString() };
  }

  async close(): Promise<void> {
    // Nothing to release: requests use fetch's shared pool, and no timers outlive a call.
  }
}

/** The testchain adapter module, as a daemon loads it. */
export const adapter: AdapterModule<TestChainOptions> = {
  kind: 'testchain',
  optionsSchema,
  create(config) {
    return new TestChainAdapter(config, resolveOptions(config.options ?? {}));
  },
};
