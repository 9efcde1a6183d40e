/**
 * The Cosmos SDK adapter (Cosmos Hub and chains like it): the ChainAdapter
 * for a custody account that delegates a staking denom, on the official
 * cosmjs clients over CometBFT JSON-RPC with protobuf ABCI queries, with
 * endpoint failover on every request. One file per concern:
 *
 * - client.ts: endpoints, failover, request counting, height-pinned
 *   queries, the custody address, the wallet (signing only);
 * - position.ts: position, limits (`max_entries`) and what is due (a
 *   withdraw-all-rewards claim), read at one height from the address;
 * - sign.ts: delegate, undelegate and claim messages, signed offline;
 * - broadcast.ts: send, wait, receipt, status;
 * - harvest.ts + slashing.ts: the rewards paid and the stake slashed since
 *   a checkpoint, read-only.
 *
 * Config (the chain block's `options`): see {@link CosmosOptions}. The
 * signer secret is a BIP-39 mnemonic; it goes to the wallet and nowhere else.
 */
import { chainAdapter } from '../chainAdapter.js';
import { TxExpiredError } from '../errors.js';
import type { AdapterConfig, AdapterModule, ChainAdapter, StakeAction, TxReceipt } from '../types.js';
import { send, txStatus } from './broadcast.js';
import { CosmosClient, sequenceMismatch } from './client.js';
import { harvest } from './harvest.js';
import { cosmosAddressOf, newCosmosKey } from './keys.js';
import { cosmosOptionsSchema, resolveCosmosOptions, type CosmosOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import { preflight } from './preflight.js';
import { messagesOf, signAction, signMessages } from './sign.js';

export type { CosmosGasLimits, CosmosOptions } from './options.js';

/** How often `delegate`/`undelegate` sign again for a fee market whose price rose. */
const FEE_ATTEMPTS = 3;

/** The Cosmos adapter: the ChainAdapter contract, nothing more. */
export type CosmosChainAdapter = ChainAdapter;

/**
 * Signs and sends in one call (no stored intent). A sequence mismatch means
 * another transaction took the sequence between reading and sending: sign
 * once more with the sequence the chain expects.
 */
async function signAndSend(client: CosmosClient, action: StakeAction): Promise<TxReceipt> {
  const { kind, messages } = await messagesOf(client, action);
  let minSequence: number | undefined;
  // Once for a sequence taken meanwhile, and a few times for a fee market's rising price
  // (each refusal teaches the client the chain's price; signing stops at maxGasPrice).
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await send(client, await signMessages(client, kind, messages, minSequence), false);
    } catch (error) {
      const mismatch = sequenceMismatch(error);
      if (mismatch !== undefined && minSequence === undefined) minSequence = mismatch.expected ?? 0;
      else if (!(error instanceof TxExpiredError) || attempt >= FEE_ATTEMPTS) throw error;
    }
  }
}

/** The Cosmos adapter module. */
export interface CosmosAdapterModule extends AdapterModule<CosmosOptions> {
  create(config: AdapterConfig<CosmosOptions>): CosmosChainAdapter;
}

/** The Cosmos adapter module, as the daemon loads it (kind `cosmos`). */
export const adapter: CosmosAdapterModule = {
  kind: 'cosmos',
  optionsSchema: cosmosOptionsSchema,
  create(config) {
    const options = resolveCosmosOptions(config.options);
    // Watch the validators the rebalancer stakes with, from the first poll on.
    options.validators = [...new Set([...(config.validators ?? []), ...options.validators])];
    const client = new CosmosClient(config, options);
    return chainAdapter(config, { client, readPosition, readLimits, readDue, signAction, send, txStatus, harvest, preflight, signAndSend });
  },
  newKey: newCosmosKey,
  addressOf: cosmosAddressOf,
};
