/**
 * The TRON adapter: Stake 2.0 (freeze for Tron Power, vote for Super
 * Representatives, claim once a day) for a custody account, over
 * java-tron's HTTP API with endpoint failover; transactions built and
 * signed locally by tronweb 6. One file per concern:
 *
 * - client.ts: endpoints (full and solidity), failover, request counting,
 *   int64 read exactly, the custody address, the key (signing only);
 * - position.ts: position, limits and what is due (a claim 24 h after the
 *   last, a withdrawal of expired unfreezes), read at one solidified block;
 * - sign.ts: the actions as freeze / vote / unfreeze / claim / withdraw
 *   transactions;
 * - broadcast.ts: send, java-tron's answer codes, finality, receipt, status;
 * - harvest.ts: what WithdrawBalance paid, by transaction;
 * - preflight.ts, keys.ts: the config checked against the chain; custody keys.
 *
 * Config: {@link TronOptions}; the signer secret is the account's hex
 * private key. Validators are SR addresses (`T…`).
 */
import type {
  AdapterConfig,
  AdapterModule,
  ChainAdapter,
  ChainLimits,
  DueAction,
  HarvestResult,
  Position,
  PreflightCheck,
  SignedTx,
  StakeAction,
  TxReceipt,
  TxStatus,
} from '../types.js';
import { send, txStatus } from './broadcast.js';
import { type RequestCounter, TronClient } from './client.js';
import { harvest } from './harvest.js';
import { newTronKey, tronAddressOf } from './keys.js';
import { optionsSchema, resolveOptions, type TronOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import { preflight } from './preflight.js';
import { signAction, stepsOf } from './sign.js';

export type { TronOptions } from './options.js';

/** Options for tests and benchmarks: see each request's path. Not part of the config. */
export interface TronAdapterInternals {
  onRequest?: RequestCounter;
}

class TronAdapter implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly client: TronClient;

  constructor(config: AdapterConfig<TronOptions>, internals: TronAdapterInternals) {
    this.name = config.name;
    this.asset = config.asset;
    this.client = new TronClient(config, resolveOptions(config.options), internals.onRequest);
  }

  rpcRequests(): number {
    return this.client.requests();
  }

  address(): Promise<string> {
    return this.client.address();
  }

  position(): Promise<Position> {
    return readPosition(this.client);
  }

  limits(): Promise<ChainLimits> {
    return readLimits(this.client);
  }

  due(checkpoint: string | null): Promise<DueAction[]> {
    return readDue(this.client, checkpoint);
  }

  steps(action: StakeAction): number {
    return stepsOf(action);
  }

  sign(action: StakeAction, step = 0): Promise<SignedTx> {
    return signAction(this.client, action, step);
  }

  broadcast(tx: SignedTx): Promise<TxReceipt> {
    return send(this.client, tx);
  }

  status(tx: SignedTx): Promise<TxStatus> {
    return txStatus(this.client, tx);
  }

  /**
   * Every step in order, each signed once the one before is final (bytes
   * signed a moment ago cannot have landed: sent without a lookup). The
   * receipt is the last step's, with the fees of all of them and all they moved.
   */
  private async run(action: StakeAction): Promise<TxReceipt> {
    let fee = 0n;
    const moved: TxReceipt['moved'] = [];
    let last: TxReceipt | undefined;
    for (let step = 0; step < stepsOf(action); step += 1) {
      last = await send(this.client, await this.sign(action, step), false);
      fee += last.fee;
      moved.push(...last.moved);
    }
    return { ...last!, fee, moved };
  }

  delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.run({ kind: 'delegate', validator, amount });
  }

  undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.run({ kind: 'undelegate', validator, amount });
  }

  harvest(checkpoint: string | null): Promise<HarvestResult> {
    return harvest(this.client, checkpoint);
  }

  preflight(checkpoint: string | null): Promise<PreflightCheck[]> {
    return preflight(this.client, checkpoint);
  }

  async close(): Promise<void> {
    // Nothing to release: requests use fetch's shared pool; no timer outlives a call.
  }
}

/** Builds a TRON adapter with test internals (a request callback). */
export function createTronAdapter(config: AdapterConfig<TronOptions>, internals: TronAdapterInternals = {}): ChainAdapter {
  return new TronAdapter(config, internals);
}

/** The TRON adapter module, as a daemon loads it. */
export const adapter: AdapterModule<TronOptions> = {
  kind: 'tron',
  optionsSchema,
  create(config) {
    return createTronAdapter(config);
  },
  newKey: newTronKey,
  addressOf: tronAddressOf,
};
