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
import { chainAdapter } from '../chainAdapter.js';
import type { AdapterConfig, AdapterModule, ChainAdapter } from '../types.js';
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

/** Builds a TRON adapter with test internals (a request callback). A delegate takes several steps (`stepsOf`: freeze, then the vote set). */
export function createTronAdapter(config: AdapterConfig<TronOptions>, internals: TronAdapterInternals = {}): ChainAdapter {
  const client = new TronClient(config, resolveOptions(config.options), internals.onRequest);
  return chainAdapter(config, { client, readPosition, readLimits, readDue, stepsOf, signAction, send, txStatus, harvest, preflight });
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
