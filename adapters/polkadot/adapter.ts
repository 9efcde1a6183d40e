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
import { chainAdapter } from '../chainAdapter.js';
import type { AdapterConfig, AdapterModule, ChainAdapter } from '../types.js';
import { send, txStatus } from './broadcast.js';
import { PolkadotClient, type RpcCounter } from './client.js';
import { harvest } from './harvest.js';
import { newPolkadotKey, polkadotAddressOf } from './keys.js';
import { optionsSchema, resolveOptions, type PolkadotOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import { preflight } from './preflight.js';
import { signAction } from './sign.js';

export type { PolkadotOptions } from './options.js';

/** Options for tests: see each RPC method called. Not part of the config. */
export interface PolkadotAdapterInternals {
  onRpc?: RpcCounter;
}

/** Builds a Polkadot adapter with test internals (an RPC method callback). */
export function createPolkadotAdapter(config: AdapterConfig<PolkadotOptions>, internals: PolkadotAdapterInternals = {}): ChainAdapter {
  const client = new PolkadotClient(config, resolveOptions(config.options, config.validators), internals.onRpc);
  return chainAdapter(config, { client, readPosition, readLimits, readDue, signAction, send, txStatus, harvest, preflight });
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
