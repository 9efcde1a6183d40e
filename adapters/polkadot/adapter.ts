/**
 * The Polkadot adapter: nomination pools or direct nomination, on
 * `@polkadot/api` over WebSocket with endpoint failover, addressing every
 * pallet, call, storage item, constant, event and runtime API by the
 * chain's metadata, so it works unchanged on Asset Hub (staking since the
 * 2025 migration) and on a relay chain. One file per concern:
 *
 * - client.ts: endpoints, failover, request counting, the finalized head,
 *   the custody address, the key (signing only);
 * - state.ts, payouts.ts, position.ts: the position, limits and what is due
 *   (unclaimed payouts before they expire, withdrawals), at one block;
 * - sign.ts: the staking and pool calls, mortal, refused before signing
 *   where the chain would refuse them or do less;
 * - blocks.ts, broadcast.ts: submit, find by nonce, receipts, status;
 * - events.ts, harvest.ts: the rewards and slashes the chain paid.
 *
 * Config: {@link PolkadotOptions}.
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
import { PolkadotClient, type RpcCounter } from './client.js';
import { harvest } from './harvest.js';
import { newPolkadotKey, polkadotAddressOf } from './keys.js';
import { optionsSchema, resolveOptions, type PolkadotOptions, type ResolvedPolkadotOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import { preflight } from './preflight.js';
import { signAction } from './sign.js';

export type { PolkadotOptions } from './options.js';

/** Options for tests: see each RPC method called. Not part of the config. */
export interface PolkadotAdapterInternals {
  onRpc?: RpcCounter;
}

class PolkadotAdapter implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly client: PolkadotClient;

  constructor(config: AdapterConfig<PolkadotOptions>, options: ResolvedPolkadotOptions, internals: PolkadotAdapterInternals = {}) {
    this.name = config.name;
    this.asset = config.asset;
    this.client = new PolkadotClient(config, options, internals.onRpc);
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

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Builds a Polkadot adapter with test internals (an RPC method callback). */
export function createPolkadotAdapter(config: AdapterConfig<PolkadotOptions>, internals: PolkadotAdapterInternals = {}): ChainAdapter {
  return new PolkadotAdapter(config, resolveOptions(config.options, config.validators), internals);
}

/** The Polkadot adapter module, as a daemon loads it. */
export const adapter: AdapterModule<PolkadotOptions> = {
  kind: 'polkadot',
  optionsSchema,
  create(config) {
    return createPolkadotAdapter(config);
  },
  newKey: newPolkadotKey,
  addressOf: polkadotAddressOf,
};
