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
import { chainAdapter } from '../chainAdapter.js';
import type { AdapterConfig, AdapterModule, ChainAdapter } from '../types.js';
import { send, txStatus } from './broadcast.js';
import { NearClient } from './client.js';
import { harvest } from './harvest.js';
import { nearAddressOf, newNearKey } from './keys.js';
import { optionsSchema, resolveOptions, type NearOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import type { RpcCounter } from './rpc.js';
import { preflight } from './preflight.js';
import { signAction } from './sign.js';

export type { NearOptions } from './options.js';

/** Options for tests: see each RPC method called. Not part of the config. */
export interface NearAdapterInternals {
  onRpc?: RpcCounter;
}

/** Builds a NEAR adapter with test internals (an RPC method callback). */
export function createNearAdapter(config: AdapterConfig<NearOptions>, internals: NearAdapterInternals = {}): ChainAdapter {
  const client = new NearClient(config, resolveOptions(config.options, config.validators), internals.onRpc);
  return chainAdapter(config, {
    client,
    readPosition,
    readLimits,
    readDue,
    signAction,
    // The contract answers with the receipt; the outcome beside it is not asked for.
    send: async (client, tx, lookFirst) => (await send(client, tx, lookFirst)).receipt,
    txStatus,
    harvest,
    preflight,
  });
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
