/**
 * The NEAR adapter: delegation through staking-pool contracts
 * (`deposit_and_stake`, `unstake`, `withdraw_all`, `ping`), on near-api-js 7
 * over NEAR JSON-RPC with endpoint failover. One file per concern:
 *
 * - client.ts: endpoints, failover, request counting, blocks and views, the
 *   custody account id, the key (signing only);
 * - position.ts: position, limits (the storage reserve) and what is due
 *   (pings, withdrawals), read at one height from the account id;
 * - sign.ts: the pool calls, signed with an expiry height;
 * - broadcast.ts: send, lookup, receipt, status;
 * - harvest.ts: each epoch's growth the custody's own flows do not explain.
 *
 * Config: {@link NearOptions}.
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
import { NearClient } from './client.js';
import { harvest } from './harvest.js';
import { nearAddressOf, newNearKey } from './keys.js';
import { optionsSchema, resolveOptions, type NearOptions, type ResolvedNearOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import type { RpcCounter } from './rpc.js';
import { preflight } from './preflight.js';
import { signAction } from './sign.js';

export type { NearOptions } from './options.js';

/** Options for tests: see each RPC method called. Not part of the config. */
export interface NearAdapterInternals {
  onRpc?: RpcCounter;
}

class NearAdapter implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly client: NearClient;

  constructor(config: AdapterConfig<NearOptions>, options: ResolvedNearOptions, internals: NearAdapterInternals = {}) {
    this.name = config.name;
    this.asset = config.asset;
    this.client = new NearClient(config, options, internals.onRpc);
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

  steps(_action: StakeAction): number {
    return 1;
  }

  sign(action: StakeAction, step = 0): Promise<SignedTx> {
    return signAction(this.client, action, step);
  }

  async broadcast(tx: SignedTx): Promise<TxReceipt> {
    return (await send(this.client, tx)).receipt;
  }

  status(tx: SignedTx): Promise<TxStatus> {
    return txStatus(this.client, tx);
  }

  /** Bytes signed a moment ago cannot have landed: sent without looking them up first. */
  async delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return (await send(this.client, await this.sign({ kind: 'delegate', validator, amount }), false)).receipt;
  }

  async undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return (await send(this.client, await this.sign({ kind: 'undelegate', validator, amount }), false)).receipt;
  }

  harvest(checkpoint: string | null): Promise<HarvestResult> {
    return harvest(this.client, checkpoint);
  }

  preflight(checkpoint: string | null): Promise<PreflightCheck[]> {
    return preflight(this.client, checkpoint);
  }

  async close(): Promise<void> {
    // Nothing to release: near-api-js's providers use fetch's shared pool; no timers outlive a call.
  }
}

/** Builds a NEAR adapter with test internals (an RPC method callback). */
export function createNearAdapter(config: AdapterConfig<NearOptions>, internals: NearAdapterInternals = {}): ChainAdapter {
  return new NearAdapter(config, resolveOptions(config.options, config.validators), internals);
}

/** The NEAR adapter module, as a daemon loads it. */
export const adapter: AdapterModule<NearOptions> = {
  kind: 'near',
  optionsSchema,
  create(config) {
    return createNearAdapter(config);
  },
  newKey: newNearKey,
  addressOf: nearAddressOf,
};
