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
import { chainAdapter } from '../chainAdapter.js';
import type { AdapterConfig, AdapterModule, ChainAdapter } from '../types.js';
import { send, txStatus } from './broadcast.js';
import { AptosClient, type RequestCounter } from './client.js';
import { harvest } from './harvest.js';
import { aptosAddressOf, newAptosKey } from './keys.js';
import { optionsSchema, resolveOptions, type AptosOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import { preflight } from './preflight.js';
import { signAction } from './sign.js';

export type { AptosOptions } from './options.js';

/** Options for tests and benchmarks: see each request by route. Not part of the config. */
export interface AptosAdapterInternals {
  onRequest?: RequestCounter;
}

/** Builds an Aptos adapter with test internals (a request callback). */
export function createAptosAdapter(config: AdapterConfig<AptosOptions>, internals: AptosAdapterInternals = {}): ChainAdapter {
  const client = new AptosClient(config, resolveOptions(config.options, config.validators), internals.onRequest);
  return chainAdapter(config, { client, readPosition, readLimits, readDue, signAction, send, txStatus, harvest, preflight });
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
