/**
 * The Aptos devnet's chain: accounts (sequence number, authentication key,
 * APT balance), delegation pools on their stake pools, a ledger of versions
 * in blocks with epochs, the checks a transaction passes before it is
 * committed, and its execution (gas charged whether it succeeds or aborts).
 *
 * - Submit: the mempool's sequence-number filter
 *   (mempool/src/shared_mempool/tasks.rs), then VM validation
 *   (aptos-move/aptos-vm: signature, gas bounds, then the prologue of
 *   aptos-framework/sources/transaction_validation.move: expiry, chain id,
 *   account and auth key, sequence number, balance for max gas); a future
 *   sequence number is accepted and parked, as the mempool does.
 * - Execution: in blocks; a transaction whose prologue fails by then (e.g.
 *   expired while parked) is discarded, never committed, no fee. The mempool
 *   forgets a transaction 600 s (real time) after it took it
 *   (`system_transaction_timeout_secs`, config/src/config/mempool_config.rs).
 * - Epochs: block.move `block_prologue` reconfigures when the block's time is
 *   `epoch_interval` past the last reconfiguration; stake.move `on_new_epoch`
 *   pays rewards (stake.ts). Reconfiguration is synchronous, as with
 *   randomness off; mainnet runs it asynchronously (DKG), with a window in
 *   which stake operations abort ERECONFIGURATION_IN_PROGRESS: not modelled.
 *
 * Gas used per function is a fixed figure of the devnet (the real schedule
 * is not reproduced; each figure is of the order a node charges, unconfirmed).
 *
 * The clock, block production, the mempool's faults and the ground truth
 * come from the devnet kit (adapters/devnet/).
 */
import { BlockProducer } from '../../devnet/blocks.js';
import { type ClockMode, DevnetClock } from '../../devnet/clock.js';
import { GroundTruthLedger } from '../../devnet/groundTruth.js';
import { Mempool } from '../../devnet/mempool.js';
import { findFunction } from './abi.js';
import * as dp from './delegationPool.js';
import type { DelegationPool, PoolContext } from './delegationPool.js';
import { AptosApiError, aborts, Discarded, MoveAbort } from './errors.js';
import { type ChainEvent, type Outcome, pendingJson, userTransactionJson } from './json.js';
import { ValidatorState, type StakingConfig, type ValidatorSetTotals, onNewEpoch, nextEpochVotingPower } from './stake.js';
import { ArgumentError, decodeArgs, decodeTransaction, longAddress, type DecodedTransaction } from './transactions.js';

/** Octas per APT. */
export const OCTAS_PER_APT = 100_000_000n;
/** `aptos_global_constants::GAS_UNIT_PRICE`, the minimum gas unit price (gas schedule `min_price_per_gas_unit`). */
export const MIN_GAS_UNIT_PRICE = 100n;
/** Gas schedule `maximum_number_of_gas_units`. */
export const MAX_GAS_AMOUNT = 2_000_000n;
/** Gas schedule `min_transaction_gas_units` in external units (2 760 000 internal / 1 000 000 scaling, rounded up: unconfirmed). */
export const MIN_TRANSACTION_GAS_UNITS = 3n;
/** Mempool `capacity_per_user`. */
export const CAPACITY_PER_USER = 100;
/** Mempool `system_transaction_timeout_secs`, real ms. */
export const SYSTEM_TRANSACTION_TIMEOUT_MS = 600_000;

/** Gas units a committed call uses (a devnet figure, see the module comment). */
export const GAS_USED: Record<string, bigint> = {
  '0x1::delegation_pool::add_stake': 1_800n,
  '0x1::delegation_pool::unlock': 1_700n,
  '0x1::delegation_pool::reactivate_stake': 1_700n,
  '0x1::delegation_pool::withdraw': 1_300n,
  '0x1::delegation_pool::synchronize_delegation_pool': 700n,
  '0x1::aptos_account::transfer': 600n,
};
const GAS_UNKNOWN = 20n;

export interface Account {
  address: string;
  sequenceNumber: bigint;
  /** Long-form address the auth key derives (sha3(pubkey ‖ scheme)). */
  authKey: string;
  balance: bigint;
}

export interface ChainState {
  accounts: Map<string, Account>;
  pools: Map<string, DelegationPool>;
  validatorSet: ValidatorSetTotals;
  epoch: bigint;
  lastReconfigurationUs: bigint;
  /** When the running (DKG) reconfiguration started, µs; null when none runs. */
  reconfigurationStartUs: bigint | null;
}

/** A committed user transaction. */
export interface CommittedTx {
  tx: DecodedTransaction;
  version: bigint;
  timestampUs: bigint;
  outcome: Outcome;
  json: Record<string, unknown>;
}

/** What `onIncluded` hooks receive. */
export interface IncludedTx {
  hash: string;
  sender: string;
  sequenceNumber: bigint;
  version: bigint;
  success: boolean;
}

/** Options of {@link AptosChain}. */
export interface AptosChainOptions {
  /** Chain id; the SDK's `Network.LOCAL` assumes 4 without asking. @defaultValue 4 */
  chainId?: number;
  /** @defaultValue 'frozen' */
  clock?: ClockMode;
  /** Chain time at genesis, ms. @defaultValue Date.now() */
  start?: number;
  /** @defaultValue 1 */
  speedup?: number;
  /** Chain ms between blocks the clock makes. @defaultValue 1000 */
  blockMs?: number;
  /** `block::BlockResource.epoch_interval`, seconds. @defaultValue 7200 (mainnet's 2 h) */
  epochIntervalSecs?: bigint;
  /** StakingConfig; see {@link DEFAULT_STAKING_CONFIG}. */
  staking?: Partial<StakingConfig>;
  /** Real ms between a transaction's acceptance and its block. @defaultValue 20 */
  inclusionDelayMs?: number;
  /**
   * Chain ms an epoch change takes with randomness on: block.move starts it
   * (`reconfiguration_with_dkg::try_start`), DKG runs, and the first block
   * after that finishes it; meanwhile every stake operation aborts
   * ERECONFIGURATION_IN_PROGRESS (stake.move). 0: synchronous, as with
   * randomness off. How long DKG takes on mainnet is unconfirmed (seconds).
   * @defaultValue 2000
   */
  reconfigurationMs?: number;
  /**
   * Versions of history a read may ask for (the ledger pruner's
   * `prune_window`, config/src/config/storage_config.rs); older reads answer
   * 410 version_pruned. Fullnodes keep tens of millions of versions by
   * default (exact figure unconfirmed). @defaultValue 50 000 000
   */
  pruneWindow?: bigint;
}

/**
 * The devnet's StakingConfig. Mainnet's values are read from chain by the
 * adapter; the note docs/chains/aptos.md lists which are confirmed. Lockup
 * 14 days (AIP-94, enactment unconfirmed from source); rewards ≈ 7 % a
 * year over 2 h epochs (a devnet figure); minimum 1 M APT and maximum
 * 50 M APT, limit 20 % (unconfirmed).
 */
export const DEFAULT_STAKING_CONFIG: StakingConfig = {
  minimumStake: 1_000_000n * OCTAS_PER_APT,
  maximumStake: 50_000_000n * OCTAS_PER_APT,
  recurringLockupDurationSecs: 14n * 86_400n,
  rewardsRate: 1_598n,
  rewardsRateDenominator: 100_000_000n,
  votingPowerIncreaseLimit: 20n,
};

/** A pool the devnet starts with. */
export interface PoolSetup {
  /** Seed of the pool's (resource account) address. */
  name: string;
  /** Stake its owner adds at genesis, octas. @defaultValue 2 000 000 APT */
  initialStake?: bigint;
  /** Hundredths of a percent. @defaultValue 1000 (10 %) */
  commissionBps?: bigint;
  /** Proposals per epoch (the validator's performance). @defaultValue [100, 0] */
  proposals?: [successful: bigint, failed: bigint];
}

interface Snapshot {
  version: bigint;
  timestampUs: bigint;
  epoch: bigint;
  state: ChainState;
}

interface Held {
  tx: DecodedTransaction;
  fail: boolean;
  acceptedAt: number;
}

interface Mark {
  value: bigint;
  added: bigint;
  withdrawn: bigint;
}

class OutOfGas extends Error {}

/** The chain state machine, without HTTP. */
export class AptosChain {
  readonly chainId: number;
  readonly clock: DevnetClock;
  readonly config: StakingConfig;
  /** `block::BlockResource.epoch_interval`, µs; governance may change it ({@link AptosChain.setEpochInterval}). */
  epochIntervalUs: bigint;
  readonly reconfigurationUs: bigint;
  readonly pruneWindow: bigint;
  /** Accepted transactions not yet in a block, with the kit's transaction faults. */
  readonly mempool: Mempool<DecodedTransaction, IncludedTx>;
  /** Ground truth of what the pools paid each delegator (kit convention). */
  readonly truth = new GroundTruthLedger();
  state: ChainState;
  /** Latest committed version. */
  version = 0n;
  height = 0n;
  headTimeMs: number;
  private readonly producer: BlockProducer;
  /** Accepted, taken from the kit's queue, waiting for their sequence number. */
  private readonly parked = new Map<string, Held>();
  /** Every transaction the mempool holds (queued or parked), by hash. */
  private readonly pending = new Map<string, Held>();
  private readonly committed = new Map<string, CommittedTx>();
  private readonly byAccount = new Map<string, CommittedTx[]>();
  /** Committed, but not shown until the `onIncluded` hook has run. */
  private readonly hidden = new Set<string>();
  private readonly snapshots: Snapshot[] = [];
  /** Each block still (partly) kept: its height, first version and time. */
  private readonly blockStarts: { height: bigint; firstVersion: bigint; timeUs: bigint }[] = [];
  private readonly marks = new Map<string, Mark>();

  constructor(options: AptosChainOptions = {}) {
    this.chainId = options.chainId ?? 4;
    this.clock = new DevnetClock({ name: 'aptos devnet', mode: options.clock ?? 'frozen', speedup: options.speedup ?? 1, ...(options.start === undefined ? {} : { start: options.start }) });
    this.config = { ...DEFAULT_STAKING_CONFIG, ...options.staking };
    this.epochIntervalUs = (options.epochIntervalSecs ?? 7_200n) * 1_000_000n;
    const reconfigurationMs = options.reconfigurationMs ?? 2_000;
    if (!Number.isSafeInteger(reconfigurationMs) || reconfigurationMs < 0) throw new RangeError(`aptos devnet: reconfigurationMs must be an integer ≥ 0, got ${reconfigurationMs}`);
    this.reconfigurationUs = BigInt(reconfigurationMs) * 1000n;
    this.pruneWindow = options.pruneWindow ?? 50_000_000n;
    if (this.pruneWindow < 1n) throw new RangeError(`aptos devnet: pruneWindow must be ≥ 1, got ${this.pruneWindow}`);
    this.headTimeMs = this.clock.start;
    const genesisUs = BigInt(this.headTimeMs) * 1000n;
    this.state = { accounts: new Map(), pools: new Map(), validatorSet: { totalVotingPower: 0n, totalJoiningPower: 0n }, epoch: 1n, lastReconfigurationUs: genesisUs, reconfigurationStartUs: null };
    // The framework's account, holder of the 0x1 resources (StakingConfig, BlockResource, Configuration).
    const framework = longAddress('0x1');
    this.state.accounts.set(framework, { address: framework, sequenceNumber: 0n, authKey: `0x${'0'.repeat(64)}`, balance: 0n });
    this.mempool = new Mempool({ inclusionDelayMs: options.inclusionDelayMs ?? 20, include: () => this.includeReady() });
    this.snapshot();
    this.producer = new BlockProducer({ clock: this.clock, blockMs: options.blockMs ?? 1000, headTime: () => this.headTimeMs, produce: (time) => this.produce(time) });
  }

  /** Latest block time, µs (the ledger timestamp). */
  get timestampUs(): bigint {
    return BigInt(this.headTimeMs) * 1000n;
  }

  /** `timestamp::now_seconds()`. */
  get nowSecs(): bigint {
    return this.timestampUs / 1_000_000n;
  }

  /** Makes the blocks chain time has passed. */
  catchUp(): void {
    this.producer.catchUp();
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Makes blocks until the next epoch has begun (its reconfiguration finished). */
  nextEpoch(): void {
    const epoch = this.state.epoch;
    for (let guard = 0; this.state.epoch === epoch; guard += 1) {
      if (guard > 4) throw new Error('aptos devnet: nextEpoch did not reach the next epoch (devnet bug)');
      const start = this.state.reconfigurationStartUs;
      const dueUs = start === null ? this.state.lastReconfigurationUs + this.epochIntervalUs : start + this.reconfigurationUs;
      const dueMs = Number((dueUs + 999n) / 1000n);
      if (dueMs > this.clock.now()) this.clock.advance(dueMs - this.clock.now());
      this.catchUp();
      if (this.state.epoch === epoch && this.state.reconfigurationStartUs === start) this.produce(Math.max(dueMs, this.headTimeMs + 1));
    }
  }

  /**
   * block.move `update_epoch_interval_microsecs` (a governance proposal):
   * the next epoch change comes `secs` after the last one.
   */
  setEpochInterval(secs: bigint): void {
    if (secs < 1n) throw new RangeError(`aptos devnet: epoch interval must be ≥ 1 s, got ${secs}`);
    this.catchUp();
    this.epochIntervalUs = secs * 1_000_000n;
  }

  close(): void {
    this.producer.stop();
    this.mempool.close();
  }

  // ---- accounts and pools (genesis and test controls)

  /** Creates (or tops up) an account whose auth key is `authKey` (a long address). */
  fund(address: string, authKey: string, amount: bigint): Account {
    const key = longAddress(address);
    const existing = this.state.accounts.get(key);
    if (existing !== undefined) existing.balance += amount;
    else this.state.accounts.set(key, { address: key, sequenceNumber: 0n, authKey: longAddress(authKey), balance: amount });
    this.snapshot();
    return this.state.accounts.get(key)!;
  }

  /** A delegation pool whose validator is in the active set, with `initialStake` from its owner. */
  createPool(address: string, operator: string, setup: PoolSetup): DelegationPool {
    const key = longAddress(address);
    const [successful, failed] = setup.proposals ?? [100n, 0n];
    const pool = dp.createDelegationPool(
      { address: key, active: 0n, inactive: 0n, pendingActive: 0n, pendingInactive: 0n, lockedUntilSecs: this.nowSecs + this.config.recurringLockupDurationSecs, operator: longAddress(operator), state: ValidatorState.ACTIVE, successfulProposals: successful, failedProposals: failed },
      setup.commissionBps ?? 1_000n,
    );
    this.state.pools.set(key, pool);
    if (!this.state.accounts.has(key)) this.state.accounts.set(key, { address: key, sequenceNumber: 0n, authKey: `0x${'0'.repeat(64)}`, balance: 0n });
    const owner = longAddress(operator);
    const initial = setup.initialStake ?? 2_000_000n * OCTAS_PER_APT;
    this.fund(owner, owner, initial);
    // Genesis stake: before the validator counts in the set's power, so no fee and no joining limit.
    pool.stake.state = ValidatorState.INACTIVE;
    dp.addStake(this.poolContext([]), pool, owner, initial);
    pool.stake.state = ValidatorState.ACTIVE;
    this.state.validatorSet.totalVotingPower += nextEpochVotingPower(pool.stake);
    this.snapshot();
    return pool;
  }

  /** The validator leaves the set at the next epoch (stake.move `leave_validator_set`). */
  leaveValidatorSet(pool: string): void {
    const p = this.pool(pool);
    if (p.stake.state === ValidatorState.ACTIVE) p.stake.state = ValidatorState.PENDING_INACTIVE;
    this.snapshot();
  }

  /** Sets a pool's proposals per epoch (its performance). */
  setProposals(pool: string, successful: bigint, failed: bigint): void {
    const p = this.pool(pool);
    p.stake.successfulProposals = successful;
    p.stake.failedProposals = failed;
  }

  pool(address: string): DelegationPool {
    const p = this.state.pools.get(longAddress(address));
    if (p === undefined) throw new RangeError(`aptos devnet: no delegation pool at ${address}`);
    return p;
  }

  // ---- ledger

  /** The oldest version a read may ask for. */
  get oldestVersion(): bigint {
    return this.version >= this.pruneWindow ? this.version - this.pruneWindow + 1n : 0n;
  }

  /** The oldest block whose versions are all still kept. */
  get oldestBlockHeight(): bigint {
    const oldest = this.oldestVersion;
    if (oldest === 0n) return 0n;
    const kept = this.blockStarts.find((b) => b.firstVersion >= oldest);
    return kept?.height ?? this.height;
  }

  private snapshot(): void {
    const last = this.snapshots[this.snapshots.length - 1];
    const snap: Snapshot = { version: this.version, timestampUs: this.timestampUs, epoch: this.state.epoch, state: structuredClone(this.state) };
    if (last?.version === this.version) this.snapshots[this.snapshots.length - 1] = snap;
    else this.snapshots.push(snap);
    // The pruner: keep the last state at or before the oldest version, drop what is older.
    const oldest = this.oldestVersion;
    let drop = 0;
    while (drop + 1 < this.snapshots.length && this.snapshots[drop + 1]!.version <= oldest) drop += 1;
    if (drop > 0) this.snapshots.splice(0, drop);
  }

  /**
   * A block by height or by a version in it: `{height, firstVersion,
   * lastVersion, timeUs}`; `undefined` beyond the head, `'pruned'` below the
   * window (api/src/blocks.rs answers 404 block_not_found / 410 block_pruned).
   */
  block(by: { height: bigint } | { version: bigint }): { height: bigint; firstVersion: bigint; lastVersion: bigint; timeUs: bigint } | 'pruned' | undefined {
    const list = this.blockStarts;
    const index =
      'height' in by
        ? list.findIndex((b) => b.height === by.height)
        : list.findLastIndex((b) => b.firstVersion <= by.version);
    const beyond = 'height' in by ? by.height > this.height : by.version > this.version;
    if (beyond) return undefined;
    const found = list[index];
    if (found === undefined || found.firstVersion < this.oldestVersion) return 'pruned';
    const next = list[index + 1];
    return { ...found, lastVersion: next === undefined ? this.version : next.firstVersion - 1n };
  }

  /** The state after `version`: 410 below the prune window, 404 above the ledger. */
  stateAt(version: bigint): { state: ChainState; timestampUs: bigint; epoch: bigint } {
    if (version > this.version) throw new AptosApiError(404, 'version_not_found', `Ledger version(${version}) not found`);
    // api/src/response.rs `version_pruned`.
    if (version < this.oldestVersion) throw new AptosApiError(410, 'version_pruned', `Ledger version(${version}) has been pruned`);
    let lo = 0;
    let hi = this.snapshots.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.snapshots[mid]!.version <= version) lo = mid;
      else hi = mid - 1;
    }
    const snap = this.snapshots[lo]!;
    return version === this.version ? { state: this.state, timestampUs: this.timestampUs, epoch: this.state.epoch } : snap;
  }

  /**
   * One block at `timeMs` (its block metadata transaction). block.move
   * `block_prologue`: once `epoch_interval` has passed since the last
   * reconfiguration it starts one; with DKG (`reconfigurationMs` > 0) the
   * first block at or after its end finishes it. Returns whether the epoch
   * changed in this block.
   */
  private produce(timeMs: number): boolean {
    this.headTimeMs = timeMs;
    this.height += 1n;
    this.version += 1n;
    this.blockStarts.push({ height: this.height, firstVersion: this.version, timeUs: BigInt(timeMs) * 1000n });
    const oldest = this.oldestVersion;
    let drop = 0;
    while (drop + 1 < this.blockStarts.length && this.blockStarts[drop + 1]!.firstVersion <= oldest) drop += 1;
    if (drop > 0) this.blockStarts.splice(0, drop);
    const nowUs = this.timestampUs;
    const start = this.state.reconfigurationStartUs;
    if (start === null) {
      if (nowUs - this.state.lastReconfigurationUs < this.epochIntervalUs) return false;
      if (this.reconfigurationUs > 0n) {
        this.state.reconfigurationStartUs = nowUs;
        this.snapshot();
        return false;
      }
      this.reconfigure(nowUs, nowUs);
      return true;
    }
    if (nowUs < start + this.reconfigurationUs) return false;
    this.reconfigure(start, nowUs);
    return true;
  }

  /**
   * reconfiguration.move `reconfigure` → stake.move `on_new_epoch`: lockups
   * are compared with the reconfiguration's start
   * (`get_reconfig_start_time_secs`), renewed from now.
   */
  private reconfigure(startUs: bigint, nowUs: bigint): void {
    const events: ChainEvent[] = [];
    onNewEpoch(
      [...this.state.pools.values()].map((p) => p.stake),
      this.config,
      this.state.validatorSet,
      startUs / 1_000_000n,
      nowUs / 1_000_000n,
      (type, data) => events.push({ type, data }),
    );
    this.state.epoch += 1n;
    this.state.lastReconfigurationUs = nowUs;
    this.state.reconfigurationStartUs = null;
    this.bookTruth();
    this.snapshot();
  }

  /** A block for transactions: now (frozen clock: 1 ms after the head), never one that changed the epoch. */
  private blockForTransactions(): void {
    this.catchUp();
    let time = Math.max(this.clock.now(), this.headTimeMs + 1);
    // After a reconfiguration the rest of its block is retried in the next one.
    if (this.produce(time)) {
      time += 1;
      this.produce(time);
    }
  }

  // ---- ground truth

  private markKey(pool: string, delegator: string): string {
    return `${pool}|${delegator}`;
  }

  private recordFlows(events: readonly ChainEvent[]): void {
    for (const e of events) {
      if (e.type !== '0x1::delegation_pool::AddStake' && e.type !== '0x1::delegation_pool::WithdrawStake') continue;
      const key = this.markKey(e.data.pool_address as string, e.data.delegator_address as string);
      const mark = this.marks.get(key) ?? { value: 0n, added: 0n, withdrawn: 0n };
      if (e.type === '0x1::delegation_pool::AddStake') mark.added += e.data.amount_added as bigint;
      else mark.withdrawn += e.data.amount_withdrawn as bigint;
      this.marks.set(key, mark);
    }
  }

  /**
   * Books, per pool and delegator, the growth of its stake (active +
   * inactive + pending_inactive, as `get_stake` shows it) since the last
   * epoch change that its own flows do not explain: an add_stake explains its
   * whole amount (the fee comes back at the epoch end; neither reward nor
   * loss), a withdrawal what it paid out. A rise is a 'reward', a fall a
   * 'slash' (Aptos does not slash; a fall comes from share rounding or a fee
   * that over-charges when proposals fail).
   */
  private bookTruth(): void {
    const epoch = this.state.epoch;
    for (const pool of this.state.pools.values()) {
      const holders = new Set<string>([...pool.activeShares.shares.keys(), ...pool.pendingWithdrawals.keys(), pool.stake.operator]);
      for (const key of this.marks.keys()) if (key.startsWith(`${pool.address}|`)) holders.add(key.slice(pool.address.length + 1));
      holders.delete(longAddress(dp.NULL_SHAREHOLDER));
      holders.delete(dp.NULL_SHAREHOLDER);
      for (const holder of holders) {
        const [active, inactive, pendingInactive] = dp.getStake(pool, holder);
        const value = active + inactive + pendingInactive;
        const key = this.markKey(pool.address, holder);
        const mark = this.marks.get(key) ?? { value: 0n, added: 0n, withdrawn: 0n };
        const delta = value - mark.value - mark.added + mark.withdrawn;
        const entry = { account: holder, at: Number(this.timestampUs / 1000n), height: this.height, ref: `epoch:${epoch}:${pool.address}` };
        if (delta > 0n) this.truth.record({ ...entry, kind: 'reward', amount: delta });
        if (delta < 0n) this.truth.record({ ...entry, kind: 'slash', amount: -delta });
        this.marks.set(key, { value, added: 0n, withdrawn: 0n });
      }
    }
  }

  // ---- transactions

  /** The pending JSON of an accepted transaction, whether or not the chain will see it (a dropped one is lost). */
  submit(bytes: Uint8Array): { json: Record<string, unknown>; loseResponse: boolean } {
    this.catchUp();
    const tx = decodeTransaction(bytes);
    const held = this.pending.get(tx.hash);
    if (held !== undefined) return { json: pendingJson(tx), loseResponse: false };
    const account = this.state.accounts.get(tx.sender);
    // mempool/src/shared_mempool/tasks.rs: a sequence number under the account's is refused before VM validation.
    if (account !== undefined && tx.sequenceNumber < account.sequenceNumber) throw new Discarded('SEQUENCE_NUMBER_TOO_OLD').toApiError();
    try {
      this.validate(tx, 'submit', this.timestampUs);
    } catch (error) {
      if (error instanceof Discarded) throw error.toApiError();
      throw error;
    }
    const mine = [...this.pending.values()].filter((h) => h.tx.sender === tx.sender);
    const conflict = mine.find((h) => h.tx.sequenceNumber === tx.sequenceNumber);
    if (conflict !== undefined) {
      // mempool/src/core_mempool/transaction_store.rs: the same (sender, seq) replaces only at a higher gas price (message unconfirmed).
      if (tx.gasUnitPrice <= conflict.tx.gasUnitPrice) throw new AptosApiError(400, 'invalid_transaction_update', `Failed to update gas price to ${tx.gasUnitPrice}`);
      this.forget(conflict.tx.hash);
    } else if (mine.length >= CAPACITY_PER_USER) {
      throw new AptosApiError(507, 'mempool_is_full', `Mempool over capacity for account. Number of seq number transactions from account: ${mine.length} Capacity per account: ${CAPACITY_PER_USER}`);
    }
    const entry = this.mempool.add(tx.hash, tx);
    if (entry !== undefined) this.pending.set(tx.hash, { tx, fail: entry.fail, acceptedAt: Date.now() });
    return { json: pendingJson(tx), loseResponse: entry?.loseResponse ?? false };
  }

  private forget(hash: string): void {
    this.pending.delete(hash);
    this.parked.delete(hash);
    this.mempool.remove(hash);
  }

  /**
   * VM validation: aptos-vm `validate_transaction` (signature first), the gas
   * bounds (aptos-vm gas.rs `check_gas`), then transaction_validation.move
   * `prologue_common` in its order. `submit` tolerates a future sequence
   * number (the mempool parks it); a simulation skips the signature and, with
   * no public key, the auth key (`skip_auth_key_check`).
   */
  private validate(tx: DecodedTransaction, mode: 'submit' | 'execute' | 'simulate', nowUs: bigint): void {
    if (mode !== 'simulate' && (tx.auth.kind !== 'ed25519' || !tx.auth.signatureValid)) throw new Discarded('INVALID_SIGNATURE');
    if (tx.maxGasAmount > MAX_GAS_AMOUNT) throw new Discarded('MAX_GAS_UNITS_EXCEEDS_MAX_GAS_UNITS_BOUND');
    if (tx.maxGasAmount < MIN_TRANSACTION_GAS_UNITS) throw new Discarded('MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS');
    if (tx.gasUnitPrice < MIN_GAS_UNIT_PRICE) throw new Discarded('GAS_UNIT_PRICE_BELOW_MIN_BOUND');
    // Strictly before: a transaction expiring at the block's second is expired.
    if (!(nowUs / 1_000_000n < tx.expirationTimestampSecs)) throw new Discarded('TRANSACTION_EXPIRED');
    if (tx.chainId !== this.chainId) throw new Discarded('BAD_CHAIN_ID');
    const account = this.state.accounts.get(tx.sender);
    if (account === undefined) throw new Discarded('SENDING_ACCOUNT_DOES_NOT_EXIST');
    if (tx.auth.kind === 'ed25519' && tx.auth.authKey !== account.authKey) throw new Discarded('INVALID_AUTH_KEY');
    if (tx.sequenceNumber < account.sequenceNumber) throw new Discarded('SEQUENCE_NUMBER_TOO_OLD');
    if (tx.sequenceNumber > account.sequenceNumber && mode !== 'submit') throw new Discarded('SEQUENCE_NUMBER_TOO_NEW');
    if (account.balance < tx.maxGasAmount * tx.gasUnitPrice) throw new Discarded('INSUFFICIENT_BALANCE_FOR_TRANSACTION_FEE');
  }

  /** The mempool's inclusion timer: every held transaction whose turn has come goes into one block. */
  private includeReady(): void {
    for (const entry of this.mempool.takeReady()) {
      const held = this.pending.get(entry.hash);
      if (held !== undefined) this.parked.set(entry.hash, held);
    }
    const now = Date.now();
    for (const [hash, held] of this.parked) if (now - held.acceptedAt > SYSTEM_TRANSACTION_TIMEOUT_MS) this.forget(hash);
    let blockMade = false;
    let progress = true;
    const included: CommittedTx[] = [];
    while (progress) {
      progress = false;
      const queue = [...this.parked.values()].sort((a, b) => (a.tx.sequenceNumber < b.tx.sequenceNumber ? -1 : a.tx.sequenceNumber > b.tx.sequenceNumber ? 1 : 0));
      for (const held of queue) {
        const account = this.state.accounts.get(held.tx.sender);
        if (account !== undefined && held.tx.sequenceNumber > account.sequenceNumber) continue;
        if (!blockMade) {
          this.blockForTransactions();
          blockMade = true;
        }
        this.forget(held.tx.hash);
        try {
          this.validate(held.tx, 'execute', this.timestampUs);
        } catch (error) {
          if (error instanceof Discarded) continue; // discarded: never committed, no fee
          throw error;
        }
        included.push(this.commit(held));
        progress = true;
      }
    }
    for (const c of included) {
      this.hidden.add(c.tx.hash);
      void this.mempool
        .notifyIncluded({ hash: c.tx.hash, sender: c.tx.sender, sequenceNumber: c.tx.sequenceNumber, version: c.version, success: c.outcome.success })
        .then(() => this.hidden.delete(c.tx.hash));
    }
  }

  private commit(held: Held): CommittedTx {
    const { tx } = held;
    const outcome = this.execute(tx, held.fail);
    this.version += 1n;
    const committed: CommittedTx = { tx, version: this.version, timestampUs: this.timestampUs, outcome, json: userTransactionJson(tx, outcome, this.version, this.timestampUs, false) };
    this.committed.set(tx.hash, committed);
    const list = this.byAccount.get(tx.sender) ?? [];
    list.push(committed);
    this.byAccount.set(tx.sender, list);
    if (outcome.success) this.recordFlows(outcome.events);
    this.snapshot();
    return committed;
  }

  private poolContext(events: ChainEvent[]): PoolContext {
    const accounts = this.state.accounts;
    return {
      config: this.config,
      validatorSet: this.state.validatorSet,
      nowSecs: this.nowSecs,
      reconfigurationInProgress: this.state.reconfigurationStartUs !== null,
      emit: (type, data) => events.push({ type, data }),
      debit: (account, amount) => {
        const a = accounts.get(account);
        if (a === undefined || a.balance < amount) throw aborts.insufficientBalance();
        a.balance -= amount;
      },
      credit: (account, amount) => {
        const a = accounts.get(account);
        if (a === undefined) accounts.set(account, { address: account, sequenceNumber: 0n, authKey: account, balance: amount });
        else a.balance += amount;
      },
    };
  }

  /**
   * Runs a validated transaction on the current state: the entry function,
   * then the epilogue (gas × price charged, sequence number + 1,
   * `0x1::transaction_fee::FeeStatement` last). An abort or running out of
   * gas rolls back everything but the fee and the sequence number.
   */
  private execute(tx: DecodedTransaction, injectedFailure: boolean): Outcome {
    const before = structuredClone(this.state);
    const events: ChainEvent[] = [];
    let success = true;
    let vmStatus = 'Executed successfully';
    let gasUsed = GAS_USED[tx.functionId] ?? GAS_UNKNOWN;
    try {
      if (injectedFailure) throw new OutOfGas();
      if (gasUsed > tx.maxGasAmount) throw new OutOfGas();
      this.runEntryFunction(tx, this.poolContext(events));
      const payer = this.state.accounts.get(tx.sender)!;
      // The fee is taken in the epilogue; a sender that spent it on the call fails there (abort form unconfirmed).
      if (payer.balance < gasUsed * tx.gasUnitPrice) throw aborts.insufficientBalance();
    } catch (error) {
      this.state = before;
      events.length = 0;
      success = false;
      if (error instanceof OutOfGas) {
        vmStatus = 'Out of gas';
        gasUsed = tx.maxGasAmount;
      } else if (error instanceof MoveAbort) {
        vmStatus = error.vmStatus;
      } else if (error instanceof ArgumentError) {
        vmStatus = 'FAILED_TO_DESERIALIZE_ARGUMENT';
      } else if (error instanceof UnknownFunction) {
        vmStatus = 'FUNCTION_RESOLUTION_FAILURE';
      } else {
        throw error;
      }
    }
    const payer = this.state.accounts.get(tx.sender)!;
    const fee = gasUsed * tx.gasUnitPrice;
    payer.balance -= fee < payer.balance ? fee : payer.balance;
    payer.sequenceNumber += 1n;
    const execution = gasUsed / 2n;
    events.push({
      type: '0x1::transaction_fee::FeeStatement',
      data: { total_charge_gas_units: gasUsed, execution_gas_units: execution, io_gas_units: gasUsed - execution, storage_fee_octas: 0n, storage_fee_refund_octas: 0n },
    });
    return { success, vmStatus, gasUsed, events };
  }

  private runEntryFunction(tx: DecodedTransaction, ctx: PoolContext): void {
    const [address, module, name] = tx.functionId.split('::') as [string, string, string];
    const abi = address === '0x1' ? findFunction(module, name) : undefined;
    if (abi === undefined || !abi.is_entry) throw new UnknownFunction();
    const args = decodeArgs(tx.args, abi.params.filter((p) => p !== '&signer' && p !== 'signer'));
    if (module === 'aptos_account') {
      const [to, amount] = args as [string, bigint];
      ctx.debit(tx.sender, amount);
      ctx.credit(to, amount);
      return;
    }
    if (name === 'synchronize_delegation_pool') {
      dp.synchronize(ctx, this.existingPool(args[0] as string));
      return;
    }
    const [poolAddress, amount] = args as [string, bigint];
    // Each entry function returns on 0 (withdraw aborts) before it looks the pool up.
    if (name === 'withdraw' && amount === 0n) throw aborts.withdrawZeroStake();
    if (amount === 0n) return;
    const pool = this.existingPool(poolAddress);
    if (name === 'add_stake') dp.addStake(ctx, pool, tx.sender, amount);
    else if (name === 'unlock') dp.unlock(ctx, pool, tx.sender, amount);
    else if (name === 'reactivate_stake') dp.reactivateStake(ctx, pool, tx.sender, amount);
    else dp.withdraw(ctx, pool, tx.sender, amount);
  }

  private existingPool(address: string): DelegationPool {
    const pool = this.state.pools.get(address);
    if (pool === undefined) throw aborts.delegationPoolDoesNotExist();
    return pool;
  }

  /**
   * `POST /transactions/simulate`: api/src/transactions.rs refuses a
   * signature that verifies; the prologue runs in simulation mode and a
   * failure is a 200 with `success: false`; nothing is committed.
   */
  simulate(bytes: Uint8Array, options: { estimateGasUnitPrice: boolean; estimateMaxGasAmount: boolean }): Record<string, unknown> {
    this.catchUp();
    let tx = decodeTransaction(bytes);
    if (tx.auth.kind === 'ed25519' && tx.auth.signatureValid) throw new AptosApiError(400, 'invalid_input', 'Simulated transactions must not have a valid signature');
    if (options.estimateGasUnitPrice) tx = { ...tx, gasUnitPrice: MIN_GAS_UNIT_PRICE };
    if (options.estimateMaxGasAmount) {
      // The node sets max gas from the sender's balance (exact formula unconfirmed).
      const balance = this.state.accounts.get(tx.sender)?.balance ?? 0n;
      const affordable = balance / tx.gasUnitPrice;
      tx = { ...tx, maxGasAmount: affordable < MAX_GAS_AMOUNT ? affordable : MAX_GAS_AMOUNT };
    }
    const saved = this.state;
    this.state = structuredClone(saved);
    try {
      this.validate(tx, 'simulate', this.timestampUs);
      const outcome = this.execute(tx, false);
      return userTransactionJson(tx, outcome, this.version, this.timestampUs, true);
    } catch (error) {
      if (!(error instanceof Discarded)) throw error;
      const outcome: Outcome = { success: false, vmStatus: `Transaction Executed and Committed with Error ${error.status}`, gasUsed: 0n, events: [] };
      return userTransactionJson(tx, outcome, this.version, this.timestampUs, true);
    } finally {
      this.state = saved;
    }
  }

  /** A committed transaction, or the pending one the mempool holds; `undefined` when neither. */
  lookup(hash: string): { committed: CommittedTx } | { pending: DecodedTransaction } | undefined {
    const key = hash.toLowerCase();
    const committed = this.committed.get(key);
    if (committed !== undefined && !this.hidden.has(key)) return { committed };
    const held = this.pending.get(key);
    if (held !== undefined) return { pending: held.tx };
    if (committed !== undefined) return { pending: committed.tx };
    return undefined;
  }

  /** The account's committed transactions from sequence number `start`. */
  accountTransactions(address: string, start: bigint, limit: number): CommittedTx[] {
    const list = this.byAccount.get(longAddress(address)) ?? [];
    // The ledger pruner drops the by-account index with the transactions
    // (storage/aptosdb/src/pruner/ledger_pruner/transaction_pruner.rs
    // `prune_transaction_by_account`), and the index iterator starts at the
    // first entry it finds at or after `start` without checking it is `start`
    // (storage/indexer_schemas/src/utils.rs `AccountOrderedTransactionsIter`,
    // `expected_next_seq_num: None`): a pruned start silently answers with
    // the account's first kept transaction, no 410.
    const oldest = this.oldestVersion;
    return list.filter((c) => c.tx.sequenceNumber >= start && c.version >= oldest && !this.hidden.has(c.tx.hash)).slice(0, limit);
  }
}

/** The entry function is not in the devnet's 0x1. */
class UnknownFunction extends Error {}
