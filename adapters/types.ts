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

/**
 * Stake bonded to one target (a Cosmos validator, a NEAR or Aptos pool, a
 * TRON Super Representative's votes, a Polkadot nomination or pool).
 */
export interface ValidatorStake {
  validator: string;
  amount: bigint;
}

/** Stake on its way back to liquid; withdrawable (or liquid) once `completesAt` has passed. */
export interface Unbonding {
  /** The target it left, where the chain keeps entries per target (Cosmos, NEAR, Aptos); absent where per account (TRON, Polkadot). */
  validator?: string;
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

/**
 * The custody account's finalized view of the chain, every field read at
 * the one `height`. Five staking models fit it:
 *
 * | chain    | bonded                        | delegations                     | unbonding          | withdrawable                |
 * | -------- | ----------------------------- | ------------------------------- | ------------------ | --------------------------- |
 * | Cosmos   | Σ delegations                 | per validator                   | per validator      | 0 (matured entries pay out) |
 * | NEAR     | Σ staked in pools             | per pool                        | per pool (locked)  | unlocked unstaked balance   |
 * | Aptos    | Σ active                      | active per pool                 | pending_inactive   | inactive                    |
 * | TRON     | frozen (Tron Power)           | votes per SR (need not sum up)  | pending unfreezes  | expired unfreezes           |
 * | Polkadot | the bond (or pool membership) | nominations (need not sum up)   | unlocking chunks   | unlocked chunks             |
 */
export interface Position {
  /** Height (or epoch, on chains that count in epochs) the view was read at. */
  height: bigint;
  /** Block time at `height`, milliseconds. */
  at: number;
  /** Spendable balance of the custody account. */
  liquid: bigint;
  /** Everything bonded and earning (including auto-compounded rewards), base units. */
  bonded: bigint;
  /**
   * The breakdown of `bonded` per target. Where stake is per target (Cosmos,
   * NEAR, Aptos) Σ amounts = `bonded`; where one bond backs several targets
   * (TRON votes, Polkadot nominations) each target carries what the chain
   * attributes to it and the sum need not be `bonded`. Empty where the chain
   * has no targets (a Polkadot pool membership lists the pool).
   */
  delegations: ValidatorStake[];
  /**
   * The part of `bonded` that backs no target, so earns nothing (TRON: Tron
   * Power frozen and not voted, whole TRX; VoteWitnessActuator counts votes
   * against it). Never part of `liquid`. The rebalancer assigns it to
   * targets without bonding anew (a delegate's `fromIdle`), or unbonds it
   * first when the buffer lacks. Absent: 0 (the chain has no such state).
   */
  idle?: bigint;
  /** Stake still locked on its way out. */
  unbonding: Unbonding[];
  /** Unlocked, not yet liquid: a `withdraw` action brings it back (NEAR, Aptos, TRON, Polkadot); 0 where the chain pays it out itself. */
  withdrawable: bigint;
  /**
   * Rewards earned but not yet paid out (Cosmos pending rewards, truncated
   * to whole base units). Unrealized: never credited until `harvest` reports
   * them paid.
   */
  pendingRewards: bigint;
  /** Health of the configured validators; empty where the chain cannot tell. */
  validators: ValidatorHealth[];
  /**
   * What the adapter depends on and the endpoints lack (a Cosmos node with
   * its tx indexer off, or pruning the blocks harvest reads), in words an
   * operator acts on; `/ready` fails while there are any. Absent or empty:
   * nothing missing.
   */
  problems?: string[];
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

/** What one harvest found since the checkpoint it was given. It signed nothing. */
export interface HarvestResult {
  /** Every reward or slash since the checkpoint, oldest first. */
  events: RewardEvent[];
  /** Opaque to the pipeline; passed to the next `harvest`. */
  checkpoint: string;
}

/**
 * Value a transaction moved besides its fee and its stated amount, which
 * the ledger must count as neither reward nor loss.
 *
 * - `refundable-fee`: charged now, returned by the chain later (Aptos's
 *   add-stake fee, returned at the end of the epoch);
 * - `unlocked`: unbonded funds returned to liquid (NEAR `withdraw_all`,
 *   expired unfreezes a TRON unfreeze credits in passing);
 * - `reward`: rewards the transaction paid out on the way (Cosmos pays a
 *   validator's pending rewards on every delegation change). `harvest`
 *   reports these as events: listed here only so the receipt is complete.
 */
export interface Movement {
  kind: 'refundable-fee' | 'unlocked' | 'reward';
  amount: bigint;
  validator?: string;
}

/** A transaction the chain included and finalized, and succeeded. */
export interface TxReceipt {
  hash: string;
  /** Fee paid by the custody account and gone for good, base units. */
  fee: bigint;
  height: bigint;
  /** Block time, milliseconds. */
  at: number;
  /** What else moved, see {@link Movement}; empty when nothing did. */
  moved: Movement[];
}

/**
 * What the pipeline asks a chain to do. One action may take several
 * transactions in order ({@link ChainAdapter.steps}); each is its own intent.
 *
 * - `delegate` / `undelegate`: bond to, or unbond from, a target.
 * - `claim`: have the chain pay out rewards (Cosmos withdraw-all, NEAR
 *   `ping`, TRON WithdrawBalance, Polkadot payouts). `validators` lists the
 *   targets one transaction claims from.
 * - `withdraw`: bring unlocked funds back to liquid (NEAR `withdraw_all`,
 *   TRON WithdrawExpireUnfreeze, Aptos `withdraw`, Polkadot
 *   `withdraw_unbonded`); `validator` where the chain keeps them per target.
 */
export type StakeAction =
  | (TargetMove & {
      kind: 'delegate' | 'undelegate';
      /**
       * More targets moved by the same transactions, where the chain's
       * limits say `batchTargets` (TRON: one freeze and one VoteWitness for
       * every SR). Absent: `validator` alone.
       */
      also?: TargetMove[];
    })
  | { kind: 'claim'; validators: string[] }
  | { kind: 'withdraw'; validator?: string };

/** What a delegate or undelegate moves for one target. */
export interface TargetMove {
  validator: string;
  /** Base units, > 0. */
  amount: bigint;
  /**
   * Of `amount`, the part that is the position's `idle` stake (bonded,
   * backing no target): a delegate assigns it to `validator` without
   * bonding it again (TRON: votes it, freezing only `amount − fromIdle`),
   * an undelegate unbonds it without taking it from `validator` (TRON:
   * unfreezes it, lowering the SR's votes only by `amount − fromIdle`).
   * Planned only where the position reports `idle`. @defaultValue 0
   */
  fromIdle?: bigint;
}

/** Every target a delegate or undelegate moves: its own, then `also`'s. */
export function targetsOf(action: Extract<StakeAction, { kind: 'delegate' | 'undelegate' }>): TargetMove[] {
  const own: TargetMove = { validator: action.validator, amount: action.amount, ...(action.fromIdle === undefined ? {} : { fromIdle: action.fromIdle }) };
  return [own, ...(action.also ?? [])];
}

/** The kinds of {@link StakeAction}. */
export type ActionKind = StakeAction['kind'];

/**
 * A signed, not necessarily broadcast, transaction. The pipeline stores it
 * before broadcasting, so a retry sends these same bytes and never signs a
 * second transaction for the same intent while these may still land.
 */
export interface SignedTx {
  /** The hash the chain will know it by. */
  hash: string;
  /** The exact bytes to broadcast. */
  bytes: Uint8Array;
  /**
   * After this the chain can never include these bytes: a block time in
   * milliseconds (TRON, Aptos) and/or a height (NEAR: the reference block's
   * height + `transaction_validity_period`; Polkadot: a mortal era's end).
   * Absent where bytes never expire (Cosmos: a sequence number is used once
   * but does not age).
   */
  expires?: { at?: number; height?: bigint };
}

/** Where signed bytes stand on chain; see {@link ChainAdapter.status}. */
export type TxStatus =
  | { state: 'included'; receipt: TxReceipt }
  /** Included and failed: the fee is gone, nothing else happened. */
  | { state: 'failed'; hash: string; fee: bigint; log: string }
  /** Not included, and may still be. */
  | { state: 'pending' }
  /**
   * Not included, and can never be: past `expires` at a finalized height,
   * or its nonce (sequence) used by another transaction at a finalized
   * height. Sign again; an operator may abandon a stuck intent on it.
   */
  | { state: 'expired' };

/**
 * A claim or withdrawal the chain has open for the custody account, and
 * when to send it. The pipeline runs these as intents before each harvest.
 */
export interface DueAction {
  action: Extract<StakeAction, { kind: 'claim' | 'withdraw' }>;
  /** The earliest the chain accepts it, ms (TRON: 24 h after the last WithdrawBalance); absent: now. */
  dueAt?: number;
  /** After this the rewards are lost, ms (Polkadot: the era's payout falls out of the history depth); absent: never. */
  deadline?: number;
  /** What it would pay or unlock, base units, where the chain says (for logs). */
  amount?: bigint;
}

/** What the chain refuses, so the planner never plans it. Amounts in base units. */
export interface ChainLimits {
  /**
   * The least one delegate transaction may add (Aptos 10 APT after the
   * add-stake fee; Polkadot's minimum bond or pool join bond; TRON 1 TRX):
   * the planner plans no delegation below it, and folds smaller shares into
   * the heaviest validator's.
   */
  minStake: bigint;
  /** Stake amounts are whole multiples of this (TRON votes count whole TRX); 1 where any amount goes. */
  step: bigint;
  /**
   * Unbonding entries that may be open at once, per delegator–target pair
   * (`per: 'target'`, Cosmos `max_entries`) or for the whole account
   * (`per: 'account'`, Polkadot's 32 unlocking chunks, TRON's 32 pending
   * unfreezes). Absent: no limit the planner must mind.
   */
  maxUnbondingEntries?: { count: number; per: 'target' | 'account' };
  /**
   * `'target'`: a new undelegation from a target restarts the lock of
   * everything still unbonding from it (NEAR: a pool keeps one unstaked
   * balance per account, locked until the last `unstake`'s epoch + 4,
   * core-contracts staking-pool/src/internal.rs). The planner then
   * undelegates from targets with nothing unbonding first, and from the
   * others only as far as needed, latest-completing first. Absent: each
   * undelegation unbonds on its own clock.
   */
  unbondingRestarts?: 'target';
  /** Liquid balance that must stay in the account (existential deposit, storage reserve); never staked. */
  reserve: bigint;
  /**
   * One delegate (or undelegate) may move several targets (`also`) in the
   * same transactions: the planner then plans at most one of each per
   * rebalance (TRON: one FreezeBalanceV2 and one VoteWitness carrying the
   * whole vote set, VoteWitnessActuator; one UnfreezeBalanceV2, a single
   * pending unfreeze). Absent: one target per action.
   */
  batchTargets?: true;
  /**
   * What one stake transaction (a delegation) typically costs in fees, as
   * the adapter estimates it (Cosmos: a delegation's gas at the configured
   * gas price; NEAR: the gas a pool call attaches at the chain's current gas
   * price, an upper bound). > 0. The planner's default `minMove` is a
   * multiple of it (`DEFAULT_MIN_MOVE_FEES` in `src/pipeline/plan.ts`), so
   * stake is never moved for amounts its fees would eat.
   */
  typicalFee: bigint;
}

/** How one preflight check came out. */
export type PreflightStatus =
  /** As the daemon needs it. */
  | 'ok'
  /** The daemon can run, but an operator should look (one endpoint of several down, a validator's high commission). */
  | 'warning'
  /** The daemon would fail at its first job (no endpoint serves the chain, the tx index is off, the custody cannot pay a fee): `start` refuses to run. */
  | 'failure';

/**
 * What a preflight check is about. Every chain reports each kind:
 *
 * - `endpoint`: one per configured endpoint, named by it without
 *   credentials (`safeUrl` in adapters/errors.ts): it answers and serves the configured
 *   chain id or network. A wrong chain is a failure; an endpoint down is a
 *   warning while another answers, a failure when none does.
 * - `dependency`: what the adapter needs of the nodes beyond the basic
 *   reads, named by one of these stable names: `tx-index` and
 *   `block-history` (Cosmos: `tx_search` and the blocks a harvest reads),
 *   `archival` (NEAR: blocks as old as the checkpoint), `solidity` (TRON:
 *   the `walletsolidity/*` API), `rest-api` (Aptos: the REST API version),
 *   `staking-pallets` (Polkadot: `staking`/`nominationPools` in the metadata).
 * - `custody`: one, named by the custody address: the account exists and
 *   its liquid balance pays the fees (a failure when it cannot pay one
 *   delegation's fee above the reserve), with a warning when what it holds
 *   is below the minimum stake. NEAR adds one named `access-key`: the
 *   signer file's key is a full-access key of the account (else failure).
 * - `validator`: one per configured validator or pool, named by its
 *   address: it exists (else failure), is active and not jailed (else
 *   warning), accepts delegations, and its commission (in `detail`).
 * - `limits`: one, named `limits`: the chain's limits the planner will obey
 *   ({@link ChainLimits}), in `detail`; a failure when they cannot be read.
 */
export type PreflightKind = 'endpoint' | 'dependency' | 'custody' | 'validator' | 'limits';

/** One line of `softstake preflight`: what was checked, how it came out, what to do. */
export interface PreflightCheck {
  kind: PreflightKind;
  /** What was checked: an endpoint (scheme://host:port), a dependency's stable name, the custody or a validator address, `limits`. */
  name: string;
  status: PreflightStatus;
  /** What the chain answered, for a person (chain id, balance, commission, limits); never a secret, never a URL's path or query. */
  detail: string;
  /** What to do about it; given for every warning and failure. */
  fix?: string;
}

/** A chain, as the pipeline sees it. Only `sign` needs the key; every read works from the custody address. */
export interface ChainAdapter {
  /** The chain block's name in the config (e.g. `cosmoshub-devnet`). */
  readonly name: string;
  /** The ledger asset it stakes (e.g. `ATOM`). */
  readonly asset: string;

  /** The custody account's address (configured, or derived from the key where the chain allows). */
  address(): Promise<string>;

  /** The custody account's finalized position, every part read at one height. */
  position(): Promise<Position>;

  /** The chain's limits for the planner; read from the chain where it publishes them (Cosmos `max_entries`). */
  limits(): Promise<ChainLimits>;

  /**
   * The claims and withdrawals the chain has open for the custody account,
   * with when they are due and, where rewards expire, by when. Read-only.
   * `checkpoint` is the last harvest's (NEAR: a pool already measured in
   * this epoch needs no `ping`).
   */
  due(checkpoint: string | null): Promise<DueAction[]>;

  /**
   * How many transactions `action` takes, in order (TRON delegate: freeze,
   * then the whole vote set). At least 1.
   */
  steps(action: StakeAction): number;

  /**
   * Signs transaction `step` (0-based) of `action` with the next sequence
   * number, without sending it. The pipeline signs step n + 1 only once
   * step n is confirmed, so a step may read the chain as the last one left it.
   * @throws TxRejectedError when the chain would refuse it (unknown validator, too small).
   */
  sign(action: StakeAction, step?: number): Promise<SignedTx>;

  /**
   * Sends signed bytes and waits for finality. Idempotent: bytes the chain
   * already included return that inclusion's receipt.
   * @throws TxRejectedError when the transaction failed or can never be included (`code: 'expired'` once past `expires`).
   * @throws ChainUnavailableError when no endpoint answered; retry later with the same bytes.
   */
  broadcast(tx: SignedTx): Promise<TxReceipt>;

  /**
   * Asks the chain, without sending, whether `tx` was included. `expired`
   * only once the chain's finalized head is past `tx.expires`, or its nonce
   * is used by another transaction, and the bytes are not in it: then, and
   * only then, the pipeline signs the intent again (or lets an operator
   * abandon it).
   */
  status(tx: SignedTx): Promise<TxStatus>;

  /** `sign` then `broadcast` of a one-transaction action, for callers that keep no intent (tests, benchmarks). */
  delegate(validator: string, amount: bigint): Promise<TxReceipt>;
  undelegate(validator: string, amount: bigint): Promise<TxReceipt>;

  /**
   * Only reads: every reward and slash the chain paid the custody account
   * since `checkpoint` (`null`: since the account's first stake). Signs
   * nothing; claims are actions the pipeline runs before it. Reports
   * nothing from an unfinalized or failed transaction, and no movement a
   * receipt listed as refundable or unlocked.
   */
  harvest(checkpoint: string | null): Promise<HarvestResult>;

  /**
   * Requests sent to the chain's endpoints so far (every endpoint and
   * failover attempt): the difference around a call is its cost.
   */
  rpcRequests(): number;

  /**
   * Checks the config against the chain before the daemon starts
   * (`softstake preflight`, `softstake start`): every endpoint, what the
   * adapter depends on, the custody account, each configured validator or
   * pool, the chain's limits; see {@link PreflightKind} for what each kind
   * covers. Read-only, from the custody address: no key (the key file is
   * checked by the caller through {@link AdapterModule.addressOf}).
   * `checkpoint` is the last harvest's (`null` before the first): a
   * dependency on history is checked against how far back the next harvest
   * reads. Never throws for what the chain answers or fails to answer:
   * that is a check with status `failure`.
   */
  preflight(checkpoint: string | null): Promise<PreflightCheck[]>;

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
  /** Where the key is; read only by `sign` (the worker role). */
  signer: SignerSource;
  /**
   * The custody account's address (the chain block's `address`): what
   * `position()`, `due()` and `harvest()` read, so the api role needs no
   * key. Absent: derived from the key on first use, where the chain allows.
   */
  address?: string;
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

/** A custody key made by {@link AdapterModule.newKey}. */
export interface NewKey {
  /**
   * The signer file's whole content, in the format the chain's own tools
   * write and the adapter's signer reads (a BIP-39 mnemonic; a near-cli
   * JSON key file; a hex private key). Secret: `softstake keys new` writes
   * it to the signer file with mode 0600 and never prints or logs it.
   */
  secret: string;
  /** The custody address the key controls (or, NEAR, the account it is for). */
  address: string;
  /** What `secret` is, for a person: `BIP-39 mnemonic, 24 words, HD path m/44'/118'/0'/0/0`. */
  format: string;
  /** The public key, where a person needs it to create or register the account (NEAR `ed25519:…`). */
  publicKey?: string;
  /** Where and how to fund the address, one instruction a line (the chain's faucet for its network, a transfer, an account to create). */
  funding: string[];
}

/**
 * What an adapter module exports (as `adapter`): its kind, the schema of its
 * chain-specific options, a factory, and its custody keys.
 */
export interface AdapterModule<Options = unknown> {
  kind: string;
  optionsSchema: z.ZodType<Options>;
  create(config: AdapterConfig<Options>): ChainAdapter;
  /**
   * Makes a new custody key for the chain block (`softstake keys new`),
   * offline: a fresh random secret, its address under the block's options
   * (address prefix, HD path; NEAR: `address`/`accountId` names the
   * account, else the key's implicit account) and where to fund it. Writes
   * nothing; the caller writes `secret` to the signer file.
   */
  newKey(config: AdapterConfig<Options>): Promise<NewKey>;
  /**
   * The address a signer file's content controls under the chain block's
   * options (`softstake keys show`, and the key check of `preflight`),
   * without signing or any network call.
   * @throws ChainProtocolError when `secret` is not a key of the chain's format; the message never quotes it.
   */
  addressOf(secret: string, config: AdapterConfig<Options>): Promise<string>;
}
