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
import { TxExpiredError } from '../errors.js';
import { send, txStatus } from './broadcast.js';
import { CosmosClient, sequenceMismatch } from './client.js';
import { harvest } from './harvest.js';
import { cosmosAddressOf, newCosmosKey } from './keys.js';
import { cosmosOptionsSchema, resolveCosmosOptions, type CosmosOptions, type ResolvedCosmosOptions } from './options.js';
import { readDue, readLimits, readPosition } from './position.js';
import { preflight } from './preflight.js';
import { messagesOf, signAction, signMessages } from './sign.js';

export type { CosmosGasLimits, CosmosOptions } from './options.js';

/** How often `delegate`/`undelegate` sign again for a fee market whose price rose. */
const FEE_ATTEMPTS = 3;

/** The Cosmos adapter: the ChainAdapter contract, nothing more. */
export type CosmosChainAdapter = ChainAdapter;

class CosmosAdapter implements CosmosChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly client: CosmosClient;

  constructor(config: AdapterConfig<CosmosOptions>, options: ResolvedCosmosOptions) {
    this.name = config.name;
    this.asset = config.asset;
    this.client = new CosmosClient(config, options);
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

  due(_checkpoint: string | null): Promise<DueAction[]> {
    return readDue(this.client);
  }

  steps(_action: StakeAction): number {
    return 1;
  }

  sign(action: StakeAction, step = 0): Promise<SignedTx> {
    return signAction(this.client, action, step);
  }

  broadcast(tx: SignedTx): Promise<TxReceipt> {
    return send(this.client, tx, true);
  }

  status(tx: SignedTx): Promise<TxStatus> {
    return txStatus(this.client, tx);
  }

  /**
   * Signs and sends in one call (no stored intent). A sequence mismatch means
   * another transaction took the sequence between reading and sending: sign
   * once more with the sequence the chain expects.
   */
  private async signAndSend(action: StakeAction): Promise<TxReceipt> {
    const { kind, messages } = await messagesOf(this.client, action);
    let minSequence: number | undefined;
    // Once for a sequence taken meanwhile, and a few times for a fee market's rising price
    // (each refusal teaches the client the chain's price; signing stops at maxGasPrice).
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await send(this.client, await signMessages(this.client, kind, messages, minSequence), false);
      } catch (error) {
        const mismatch = sequenceMismatch(error);
        if (mismatch !== undefined && minSequence === undefined) minSequence = mismatch.expected ?? 0;
        else if (!(error instanceof TxExpiredError) || attempt >= FEE_ATTEMPTS) throw error;
      }
    }
  }

  delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.signAndSend({ kind: 'delegate', validator, amount });
  }

  undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.signAndSend({ kind: 'undelegate', validator, amount });
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
    return new CosmosAdapter(config, options);
  },
  newKey: newCosmosKey,
  addressOf: cosmosAddressOf,
};
