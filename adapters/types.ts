/**
 * The chain adapter contract: what the pipeline needs from a chain, and
 * nothing more. Every amount is a `bigint` in the chain's base unit (uatom,
 * yoctoNEAR, …); every time is integer milliseconds since the epoch (UTC).
 *
 * Adapters keep no state between calls: the pipeline stores checkpoints,
 * reward events and signed transactions in PostgreSQL. Adapters know nothing
 * of the ledger or the queue.
 */
import type * as z from 'zod';

/** Stake held with one validator. */
export interface ValidatorStake {
  validator: string;
  amount: bigint;
}

/** Stake on its way back to liquid; usable once `completesAt` has passed. */
export interface Unbonding {
  validator: string;
  amount: bigint;
  /** When the chain releases it, milliseconds. */
  completesAt: number;
}

/** What the chain says about one configured validator, for alerts. */
export interface ValidatorHealth {
  validator: string;
  /** Jailed or tombstoned: it earns nothing and may have been slashed. */
  jailed: boolean;
  /** In the active set (producing blocks, earning rewards). */
  active: boolean;
  /** Its commission in basis points, where the chain has one. */
  commissionBps?: number;
}

/** The custody account's finalized view of the chain. */
export interface Position {
  /** Height (or epoch, on chains that count in epochs) the view was read at. */
  height: bigint;
  /** Block time at `height`, milliseconds. */
  at: number;
  /** Spendable balance of the custody account. */
  liquid: bigint;
  /** Active stake per validator (including auto-compounded rewards). */
  delegations: ValidatorStake[];
  /**
   * Rewards earned but not yet paid out (Cosmos pending rewards, truncated
   * to whole base units). Unrealized: never credited until `harvest` reports
   * them paid.
   */
  pendingRewards: bigint;
  unbonding: Unbonding[];
  /** Health of the configured validators; empty where the chain cannot tell. */
  validators: ValidatorHealth[];
}

/**
 * A reward the chain paid to the custody account, or a slash (negative).
 * `id` is deterministic (tx hash + event index, or pool + epoch), so a
 * harvest that reports it again is recognised as the same event.
 */
export interface RewardEvent {
  id: string;
  /** Base units; negative for a slash. Never 0. */
  amount: bigint;
  /** Block time it was paid at, milliseconds. */
  at: number;
  /** The validator it came from, where the chain says. */
  validator?: string;
}

/** What one harvest found since the checkpoint it was given. */
export interface HarvestResult {
  /** Every reward or slash since the checkpoint, oldest first. */
  events: RewardEvent[];
  /** Opaque to the pipeline; passed to the next `harvest`. */
  checkpoint: string;
  /** Claim transactions the harvest sent (their fees are the operator's). */
  receipts: TxReceipt[];
}

/** A transaction the chain included and finalized, and succeeded. */
export interface TxReceipt {
  hash: string;
  /** Fee paid by the custody account, base units. */
  fee: bigint;
  height: bigint;
  /** Block time, milliseconds. */
  at: number;
}

/** A change of stake the rebalancer asks for. */
export interface StakeAction {
  kind: 'delegate' | 'undelegate';
  validator: string;
  /** Base units, > 0. */
  amount: bigint;
}

/**
 * A signed, not necessarily broadcast, transaction. The pipeline stores it
 * before broadcasting, so a retry sends these same bytes and never signs a
 * second transaction for the same intent.
 */
export interface SignedTx {
  /** The hash the chain will know it by. */
  hash: string;
  /** The exact bytes to broadcast. */
  bytes: Uint8Array;
}

/** A chain, as the pipeline sees it. */
export interface ChainAdapter {
  /** The chain block's name in the config (e.g. `cosmoshub-devnet`). */
  readonly name: string;
  /** The ledger asset it stakes (e.g. `ATOM`). */
  readonly asset: string;

  /** The custody account's finalized position. */
  position(): Promise<Position>;

  /**
   * Signs a stake action with the next sequence number, without sending it.
   * @throws TxRejectedError when the chain would refuse it (unknown validator, too small).
   */
  sign(action: StakeAction): Promise<SignedTx>;

  /**
   * Sends signed bytes and waits for finality. Idempotent: bytes the chain
   * already included return that inclusion's receipt.
   * @throws TxRejectedError when the transaction failed or can never be included.
   * @throws ChainUnavailableError when no endpoint answered; retry later with the same bytes.
   */
  broadcast(tx: SignedTx): Promise<TxReceipt>;

  /** `sign` then `broadcast`, for callers that keep no intent. */
  delegate(validator: string, amount: bigint): Promise<TxReceipt>;
  undelegate(validator: string, amount: bigint): Promise<TxReceipt>;

  /**
   * Claims rewards where the chain needs a claim, and reports every reward
   * and slash since `checkpoint` (`null`: since the account's first stake).
   * Reports nothing from an unfinalized or failed transaction.
   */
  harvest(checkpoint: string | null): Promise<HarvestResult>;

  /** Releases sockets and timers. */
  close(): Promise<void>;
}

/** Where a chain's signing key comes from; the key itself never enters the config object. */
export type SignerSource = { file: string } | { env: string };

/** What an adapter is built from: the chain block of the config, resolved. */
export interface AdapterConfig<Options = unknown> {
  name: string;
  asset: string;
  /** The asset's decimals: base units per whole token as a power of ten. */
  decimals: number;
  /** RPC endpoints, tried in order; the next is used on timeouts, 429 and 5xx. */
  endpoints: string[];
  signer: SignerSource;
  /**
   * The validators the chain block lists (Cosmos operator addresses, NEAR
   * pool account ids), in config order: what the rebalancer stakes with, so
   * what the adapter should watch. @defaultValue []
   */
  validators?: string[];
  /** Per-request timeout before failing over, milliseconds. */
  requestTimeoutMs: number;
  /** The adapter's own options, validated by its `optionsSchema`. */
  options: Options;
}

/**
 * What an adapter module exports (as `adapter`): its kind, the schema of its
 * chain-specific options, and a factory.
 */
export interface AdapterModule<Options = unknown> {
  kind: string;
  optionsSchema: z.ZodType<Options>;
  create(config: AdapterConfig<Options>): ChainAdapter;
}
