/**
 * The Aptos adapter: delegation pools (`0x1::delegation_pool`: `add_stake`,
 * `reactivate_stake`, `unlock`, `withdraw`), on @aptos-labs/ts-sdk 7 over
 * the node's REST API with endpoint failover. One file per concern:
 *
 * - client.ts: endpoints, failover, request counting, the ledger, views and
 *   account reads, the custody address, the key (signing only);
 * - position.ts: position, limits and what is due (withdrawals), read at
 *   one ledger version from the address;
 * - sign.ts: the pool calls, simulated, then signed with an expiry in chain time;
 * - broadcast.ts: send, lookup, wait, receipt, status;
 * - harvest.ts: each epoch's growth the custody's own flows (flows.ts) do not explain;
 * - preflight.ts, keys.ts: the config checked against the chain; new custody keys.
 *
 * Config: {@link AptosOptions}.
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
import { AptosClient, type RequestCounter } from './client.js';
import { harvest } from './harvest.js';
import { aptosAddressOf, newAptosKey } from './keys.js';
import { optionsSchema, resolveOptions, type AptosOptions, type ResolvedAptosOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import { preflight } from './preflight.js';
import { signAction } from './sign.js';

export type { AptosOptions } from './options.js';

/** Options for tests and benchmarks: see each request by route. Not part of the config. */
export interface AptosAdapterInternals {
  onRequest?: RequestCounter;
}

class AptosAdapter implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly client: AptosClient;

  constructor(config: AdapterConfig<AptosOptions>, options: ResolvedAptosOptions, internals: AptosAdapterInternals = {}) {
    this.name = config.name;
    this.asset = config.asset;
    this.client = new AptosClient(config, options, internals.onRequest);
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

  broadcast(tx: SignedTx): Promise<TxReceipt> {
    return send(this.client, tx);
  }

  status(tx: SignedTx): Promise<TxStatus> {
    return txStatus(this.client, tx);
  }

  /** Bytes signed a moment ago cannot have landed: sent without looking them up first. */
  async delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return send(this.client, await this.sign({ kind: 'delegate', validator, amount }), false);
  }

  async undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return send(this.client, await this.sign({ kind: 'undelegate', validator, amount }), false);
  }

  harvest(checkpoint: string | null): Promise<HarvestResult> {
    return harvest(this.client, checkpoint);
  }

  preflight(checkpoint: string | null): Promise<PreflightCheck[]> {
    return preflight(this.client, checkpoint);
  }

  async close(): Promise<void> {
    // Nothing to release: requests go through fetch's shared pool; no timers outlive a call.
  }
}

/** Builds an Aptos adapter with test internals (a request callback). */
export function createAptosAdapter(config: AdapterConfig<AptosOptions>, internals: AptosAdapterInternals = {}): ChainAdapter {
  return new AptosAdapter(config, resolveOptions(config.options, config.validators), internals);
}

/** The Aptos adapter module, as a daemon loads it. */
export const adapter: AdapterModule<AptosOptions> = {
  kind: 'aptos',
  optionsSchema,
  create(config) {
    return createAptosAdapter(config);
  },
  newKey: newAptosKey,
  addressOf: aptosAddressOf,
};
