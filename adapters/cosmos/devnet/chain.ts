/**
 * The devnet's node: the mempool cache, CheckTx / FinalizeBlock, the block
 * and transaction store that the RPC serves. No HTTP here. Chain time, block
 * production, the mempool and its faults come from the devnet kit
 * (adapters/devnet/).
 *
 * Blocks: a block is made every `blockMs` of chain time, and with the frozen
 * clock one more at the exact new time after an `advance`, so all elapsed
 * time is in blocks (the kit's `BlockProducer` with `blockAtAdvance`).
 * Inclusion (`ChainConfig.inclusion`): with `nextBlock` (the wall clock's
 * default) accepted transactions wait for the next regular block and share
 * it, as a CometBFT proposer reaps its mempool once per block; with
 * `prompt` (the frozen clock's, where nothing else makes blocks) they are
 * included `inclusionDelayMs` later in a block at the current chain time,
 * which has the previous block's time (the real chain requires strictly
 * increasing times) and so mints nothing; what arrived within that delay
 * shares the block.
 */
import { toBech32 } from '@cosmjs/encoding';
import { BlockProducer } from '../../devnet/blocks.js';
import type { DevnetClock } from '../../devnet/clock.js';
import { GroundTruthLedger } from '../../devnet/groundTruth.js';
import { Mempool } from '../../devnet/mempool.js';
import { type ModuleAddresses, type ModuleContext, mintAndAllocate, type RewardParams } from './distribution.js';
import { SdkError, sdkError } from './errors.js';
import { matureUnbonding, slash, updateBondedSet } from './staking.js';
import { type AbciEvent, type ChainState, cloneState, DEC_ONE, decodeBech32, hexUpper, POWER_REDUCTION, sha256Of } from './state.js';
import { decodeTx, type DecodedTx, GasMeter, runAnte, runMsgs, type TxEnv } from './tx.js';

/** A transaction in a block, with its result: what `tx` and `tx_search` serve. */
export interface TxRecord {
  hash: string;
  height: bigint;
  /** Position in the block. */
  index: number;
  bytes: Uint8Array;
  code: number;
  codespace: string;
  log: string;
  /** Encoded `TxMsgData` (empty for a failed transaction). */
  data: Uint8Array;
  gasWanted: bigint;
  gasUsed: bigint;
  events: AbciEvent[];
  /** Block time, ms. */
  time: number;
  /** `type.key` → values of its events, plus `tx.hash` and `tx.height`: the tx indexer's view. */
  index_: Map<string, string[]>;
}

/** A committed block, as the RPC sees it (hashes derived on demand). */
export interface BlockRecord {
  height: bigint;
  /** ms. */
  time: number;
  /** Not a real block hash: sha256 of the chain id, height, time, data hash and app hash. */
  hash: Uint8Array;
  /** sha256 of the transaction hashes. */
  dataHash: Uint8Array;
  /** Not a Merkle root: a hash of the chain id and height, non-empty as cosmjs requires. */
  appHash: Uint8Array;
  txs: readonly TxRecord[];
  /** FinalizeBlock events (beyond the `mint` event, which is rendered from `minted`). */
  events: readonly AbciEvent[];
  minted: bigint;
}

const NO_TXS: readonly TxRecord[] = [];
const NO_EVENTS: readonly AbciEvent[] = [];
const MAX_U64 = 2n ** 64n - 1n;

/**
 * Blocks, column-wise: a time and a minted amount per height, and the
 * transactions and events only of the blocks that have any. An empty block
 * costs 16 bytes, so months of 5-second blocks fit in memory.
 */
class BlockStore {
  private times = new Float64Array(4096);
  private minted = new BigUint64Array(4096);
  private readonly extras = new Map<number, { txs: readonly TxRecord[]; events: readonly AbciEvent[]; minted?: bigint }>();
  /** Blocks stored; the latest height. */
  length = 0;

  constructor(private readonly chainId: string) {}

  push(time: number, minted: bigint, txs: readonly TxRecord[], events: readonly AbciEvent[]): void {
    if (this.length === this.times.length) {
      const times = new Float64Array(this.length * 2);
      times.set(this.times);
      this.times = times;
      const mintedColumn = new BigUint64Array(this.length * 2);
      mintedColumn.set(this.minted);
      this.minted = mintedColumn;
    }
    const big = minted > MAX_U64;
    this.times[this.length] = time;
    this.minted[this.length] = big ? 0n : minted;
    this.length += 1;
    if (txs.length > 0 || events.length > 0 || big) this.extras.set(this.length, big ? { txs, events, minted } : { txs, events });
  }

  timeAt(height: number): number {
    return this.times[height - 1]!;
  }

  get(height: number): BlockRecord | undefined {
    if (!Number.isSafeInteger(height) || height < 1 || height > this.length) return undefined;
    const extra = this.extras.get(height);
    const time = this.times[height - 1]!;
    const txs = extra?.txs ?? NO_TXS;
    const dataHash = sha256Of('data', ...txs.map((t) => t.hash));
    const appHash = sha256Of('app', this.chainId, String(height));
    return {
      height: BigInt(height),
      time,
      hash: sha256Of(this.chainId, String(height), String(time), dataHash, appHash),
      dataHash,
      appHash,
      txs,
      events: extra?.events ?? NO_EVENTS,
      minted: extra?.minted ?? this.minted[height - 1]!,
    };
  }
}

/** The answer to CheckTx (`broadcast_tx_sync`). */
export interface CheckTxResult {
  hash: string;
  code: number;
  codespace: string;
  log: string;
  gasWanted: bigint;
  gasUsed: bigint;
  /** The request that sent it is to lose its answer (the kit's `loseNextResponse`). */
  loseResponse: boolean;
}

/**
 * The fee market's parameters (skip-mev/feemarket x/feemarket/types/params.go,
 * the EIP-1559 defaults: one-block window, a fixed learning rate).
 */
export interface FeeMarketParams {
  /** The floor of the base gas price, Dec. */
  minBaseGasPrice: bigint;
  /** Gas a block may hold; the price moves toward keeping blocks half full. */
  maxBlockGas: bigint;
  /** How far one block moves the price, Dec (0.125: ±12.5 % for a full or empty block). */
  learningRate: bigint;
}

/** Everything the node is configured with. */
export interface ChainConfig extends TxEnv {
  blockMs: number;
  unbondingMs: number;
  /** `max_entries` of the staking params. */
  maxEntries: number;
  /** Present when the chain runs a fee market (see {@link TxEnv.feeMarket}). */
  feeMarketParams: FeeMarketParams | undefined;
  /** Blocks the node keeps (CometBFT block pruning, `min-retain-blocks`); older ones are gone. 0: all. */
  retainBlocks: number;
  /**
   * When an accepted transaction is included: `prompt`, in a block of its
   * own made `inclusionDelayMs` later (with a frozen clock nothing else makes
   * blocks), or `nextBlock`, in the next regular block with every other
   * transaction that arrived meanwhile (CometBFT: a proposer reaps the
   * mempool once per block).
   */
  inclusion: 'prompt' | 'nextBlock';
  rewards: RewardParams;
  maxValidators: number;
  inclusionDelayMs: number;
  modules: ModuleAddresses;
  /** CometBFT's `[tx_index] indexer`: `false` is `"null"` (`tx` and `tx_search` refused). @defaultValue true */
  txIndex?: boolean;
}

/** Thrown for a transaction already in the mempool cache (CometBFT's `ErrTxInCache`). */
export class TxInCacheError extends Error {
  constructor() {
    super('tx already exists in cache');
  }
}

/** What {@link Chain.includedHook} sees. */
export interface IncludedTx {
  hash: string;
  height: bigint;
  code: number;
  time: number;
}

/** The node: state, blocks, mempool. */
export class Chain {
  state: ChainState;
  readonly blocks: BlockStore;
  readonly txs = new Map<string, TxRecord>();
  /** Transactions in order of inclusion, for `tx_search`. */
  readonly txList: TxRecord[] = [];
  /** Heights whose FinalizeBlock events (beyond `mint`) are not empty, ascending: the block indexer's, for `block_search`. */
  readonly eventHeights: bigint[] = [];
  /** Accepted transactions not yet in a block, with the kit's transaction faults. */
  readonly mempool: Mempool<DecodedTx, IncludedTx>;
  /** What the chain paid and slashed, per account (the kit's convention). */
  readonly truth = new GroundTruthLedger();
  private readonly producer: BlockProducer;
  /** Hashes in the mempool or committed successfully: CometBFT's mempool cache. */
  private readonly cache = new Set<string>();
  /** CheckTx state: the committed state plus the mempool's ante effects; rebuilt lazily. */
  private checkState: ChainState | undefined;
  private stakingDirty = true;
  private pendingEvents: AbciEvent[] = [];

  constructor(
    readonly config: ChainConfig,
    genesis: ChainState,
    readonly devnetClock: DevnetClock,
  ) {
    this.state = genesis;
    updateBondedSet(this.state, config.maxValidators, 1n, devnetClock.start);
    this.stakingDirty = false;
    this.blocks = new BlockStore(config.chainId);
    this.blocks.push(devnetClock.start, 0n, NO_TXS, NO_EVENTS);
    this.state.baseGasPrice = config.feeMarketParams?.minBaseGasPrice ?? 0n;
    this.mempool = new Mempool(config.inclusion === 'prompt' ? { inclusionDelayMs: config.inclusionDelayMs, include: () => this.includeNow() } : {});
    this.producer = new BlockProducer({ clock: devnetClock, blockMs: config.blockMs, headTime: () => this.headTime, produce: (time) => this.produceBlock(time), blockAtAdvance: true });
  }

  /** The latest block. */
  get head(): BlockRecord {
    return this.blocks.get(this.blocks.length)!;
  }

  /** The latest height. */
  get height(): bigint {
    return BigInt(this.blocks.length);
  }

  /** The latest block's time, ms. */
  get headTime(): number {
    return this.blocks.timeAt(this.blocks.length);
  }

  /** The block at `height`, if the node has it (not pruned). */
  block(height: bigint): BlockRecord | undefined {
    if (height < this.earliestHeight()) return undefined;
    return this.blocks.get(Number(height));
  }

  /**
   * The lowest height whose block the node still has: 1, or with block
   * pruning the last `retainBlocks` (cometbft state/store.go PruneBlocks; the
   * RPC's `getHeight` refuses a height below the block store's base).
   */
  earliestHeight(): bigint {
    const { retainBlocks } = this.config;
    if (retainBlocks <= 0 || this.blocks.length <= retainBlocks) return 1n;
    return BigInt(this.blocks.length - retainBlocks + 1);
  }

  /** Chain time now, ms (never before the latest block). */
  clock(): number {
    return this.producer.now();
  }

  /** Makes the blocks chain time has passed (every `blockMs`). */
  catchUp(): void {
    this.producer.catchUp();
  }

  /** Moves chain time forward by `ms` and makes its blocks, the last one at the new time exactly (frozen clock). */
  advance(ms: number): void {
    this.devnetClock.advance(ms);
  }

  /** Books the branch's payouts and slashes, now committed, into the ground truth. */
  private book(height: bigint, time: number, ref: string): void {
    if (this.state.truth.length === 0) return;
    for (const e of this.state.truth) this.truth.record({ ...e, at: time, height, ref });
    this.state.truth = [];
  }

  private context(state: ChainState, height: bigint, time: number, events: AbciEvent[]): ModuleContext {
    return { state, denom: this.config.denom, height, time, unbondingMs: this.config.unbondingMs, maxEntries: this.config.maxEntries, modules: this.config.modules, events };
  }

  /** BeginBlock, the mempool's transactions, EndBlock, commit. */
  produceBlock(time: number): void {
    const height = this.height + 1n;
    // Sped up (`softstake devnet`), the chain's economy runs faster than its timestamps: see DevnetClock.accrual.
    const minted = mintAndAllocate(this.state, this.config.rewards, this.devnetClock.accrual(time - this.headTime));
    const included = this.mempool.takeReady();
    const records = included.map((entry, index) => this.deliver(entry.tx, height, index, time, entry.fail));
    const events = this.pendingEvents.length > 0 ? this.pendingEvents : [];
    if (events.length > 0) this.pendingEvents = [];
    matureUnbonding(this.context(this.state, height, time, events));
    this.updateFeeMarket(records.reduce((sum, r) => sum + r.gasUsed, 0n));
    if (this.stakingDirty || records.length > 0) {
      updateBondedSet(this.state, this.config.maxValidators, height, time);
      this.stakingDirty = false;
    }
    this.blocks.push(time, minted, records.length > 0 ? records : NO_TXS, events.length > 0 ? events : NO_EVENTS);
    if (events.length > 0) this.eventHeights.push(height);
    this.checkState = undefined;
    for (const record of records) {
      this.txs.set(record.hash, record);
      this.txList.push(record);
      if (record.code === 0) this.cache.add(record.hash);
      else this.cache.delete(record.hash);
    }
    for (const r of records) void this.mempool.notifyIncluded({ hash: r.hash, height, code: r.code, time });
  }

  /**
   * EndBlock of the fee market, skip-mev/feemarket x/feemarket/keeper/feemarket.go
   * (UpdateFeeMarket, EIP-1559 with a fixed learning rate): the base gas price
   * moves by `learningRate × (gas − target) / target`, target = half a block,
   * never below the floor.
   */
  private updateFeeMarket(gasUsed: bigint): void {
    const params = this.config.feeMarketParams;
    if (params === undefined) return;
    const target = params.maxBlockGas / 2n;
    const used = gasUsed > params.maxBlockGas ? params.maxBlockGas : gasUsed;
    const price = this.state.baseGasPrice;
    const next = price + (price * params.learningRate * (used - target)) / (DEC_ONE * target);
    this.state.baseGasPrice = next < params.minBaseGasPrice ? params.minBaseGasPrice : next;
  }

  /** Sets the fee market's base gas price (Dec) at once, as a run of full blocks would. */
  setBaseGasPrice(price: bigint): void {
    if (this.config.feeMarketParams === undefined) throw new RangeError('cosmos devnet: this devnet has no fee market (start it with feeMarket)');
    this.catchUp();
    this.state.baseGasPrice = price < this.config.feeMarketParams.minBaseGasPrice ? this.config.feeMarketParams.minBaseGasPrice : price;
    this.checkState = undefined;
  }

  private deliver(tx: DecodedTx, height: bigint, index: number, time: number, fail: boolean): TxRecord {
    const gas = new GasMeter(tx.authInfo.fee?.gasLimit ?? 0n);
    const base = { hash: tx.hash, height, index, bytes: tx.bytes, gasWanted: gas.limit ?? 0n, time };
    let events: AbciEvent[];
    try {
      events = runAnte(this.config, this.state, tx, 'deliver', height, gas, this.config.modules);
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      return this.record({ ...base, code: error.code, codespace: error.codespace, log: error.log, data: new Uint8Array(), gasUsed: gas.used, events: [] });
    }
    const branch = cloneState(this.state);
    try {
      if (fail) throw sdkError('injected', 'the transaction was included and failed');
      const out = runMsgs(this.context(branch, height, time, []), tx, gas, this.config.prefix);
      this.state = branch;
      this.book(height, time, tx.hash);
      this.stakingDirty = true;
      return this.record({ ...base, code: 0, codespace: '', log: '', data: out.data, gasUsed: gas.used, events: [...events, ...out.events] });
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      return this.record({ ...base, code: error.code, codespace: error.codespace, log: error.log, data: new Uint8Array(), gasUsed: gas.used, events });
    }
  }

  private record(partial: Omit<TxRecord, 'index_'>): TxRecord {
    const index = new Map<string, string[]>();
    const add = (key: string, value: string): void => {
      const list = index.get(key);
      if (list === undefined) index.set(key, [value]);
      else list.push(value);
    };
    add('tx.hash', partial.hash);
    add('tx.height', partial.height.toString());
    for (const e of partial.events) for (const a of e.attributes) if (a.index) add(`${e.type}.${a.key}`, a.value);
    return { ...partial, index_: index };
  }

  private ensureCheckState(): ChainState {
    if (this.checkState === undefined) {
      const state = cloneState(this.state);
      const height = this.height + 1n;
      for (const { tx } of this.mempool.entries()) {
        try {
          runAnte(this.config, state, tx, 'check', height, new GasMeter(tx.authInfo.fee?.gasLimit ?? 0n), this.config.modules);
        } catch {
          // Recheck: a transaction that no longer passes stays for FinalizeBlock to reject.
        }
      }
      this.checkState = state;
    }
    return this.checkState;
  }

  /**
   * CheckTx, then (unless this one is to be dropped) the mempool and a prompt block.
   * @throws TxInCacheError for bytes already in the mempool or committed successfully.
   */
  checkTx(bytes: Uint8Array): CheckTxResult {
    this.catchUp();
    let tx: DecodedTx;
    let hash = '';
    try {
      tx = decodeTx(bytes, this.config.prefix);
      hash = tx.hash;
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      return { hash: hash || hexUpper(sha256Of(bytes)), code: error.code, codespace: error.codespace, log: error.log, gasWanted: 0n, gasUsed: 0n, loseResponse: false };
    }
    if (this.cache.has(tx.hash)) throw new TxInCacheError();
    const gas = new GasMeter(tx.authInfo.fee?.gasLimit ?? 0n);
    try {
      runAnte(this.config, this.ensureCheckState(), tx, 'check', this.height + 1n, gas, this.config.modules);
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      return { hash: tx.hash, code: error.code, codespace: error.codespace, log: error.log, gasWanted: gas.limit ?? 0n, gasUsed: gas.used, loseResponse: false };
    }
    const entry = this.mempool.add(tx.hash, tx);
    // Dropped: accepted, then lost (as when a node restarts): nothing of it remains, not even in the cache.
    if (entry === undefined) this.checkState = undefined;
    else this.cache.add(tx.hash);
    return { hash: tx.hash, code: 0, codespace: '', log: '', gasWanted: gas.limit ?? 0n, gasUsed: gas.used, loseResponse: entry?.loseResponse ?? false };
  }

  /** Puts the mempool's ready transactions into a block at the current chain time, if there are any. */
  includeNow(): void {
    this.catchUp();
    const now = Date.now();
    if (this.mempool.entries().some((e) => e.readyAt <= now)) this.produceBlock(this.clock());
  }

  /** Runs a transaction on a branch without a signature check or fee (`Service/Simulate`). */
  simulate(bytes: Uint8Array): { gasUsed: bigint; log: string; data: Uint8Array; events: AbciEvent[] } {
    this.catchUp();
    const tx = decodeTx(bytes, this.config.prefix);
    const branch = cloneState(this.state);
    const gas = new GasMeter(undefined);
    const height = this.height + 1n;
    const ante = runAnte(this.config, branch, tx, 'simulate', height, gas, this.config.modules);
    const out = runMsgs(this.context(branch, height, this.clock(), []), tx, gas, this.config.prefix);
    return { gasUsed: gas.used, log: '', data: out.data, events: [...ante, ...out.events] };
  }

  /** Credits an account outside any transaction (genesis-style), creating it if needed. */
  fund(address: string, amount: bigint): void {
    if (amount <= 0n) throw new RangeError('cosmos devnet: fund amount must be > 0');
    const { prefix } = decodeBech32(address);
    if (prefix !== this.config.prefix) throw new RangeError(`cosmos devnet: fund(${address}): expected the ${this.config.prefix} prefix`);
    this.catchUp();
    let account = this.state.accounts.get(address);
    if (account === undefined) {
      account = { address, accountNumber: this.state.nextAccountNumber, sequence: 0n, pubkey: undefined, balance: 0n };
      this.state.nextAccountNumber += 1n;
      this.state.accounts.set(address, account);
    }
    account.balance += amount;
    this.state.supply += amount;
    this.checkState = undefined;
  }

  private validatorOrThrow(operator: string): NonNullable<ReturnType<ChainState['validators']['get']>> {
    const validator = this.state.validators.get(operator);
    if (validator === undefined) throw new RangeError(`cosmos devnet: unknown validator ${operator}`);
    return validator;
  }

  /** Slashes `bps` of the validator's stake in a new block (the `slash` event is in its finalize events). */
  slash(operator: string, bps: number): void {
    if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new RangeError(`cosmos devnet: slash bps must be an integer in 0..10000, got ${bps}`);
    const validator = this.validatorOrThrow(operator);
    this.catchUp();
    const consensus = toBech32(`${this.config.prefix}valcons`, validator.consensusAddress);
    const time0 = this.clock();
    const hookEvents: AbciEvent[] = [];
    const { events } = slash(this.context(this.state, this.height + 1n, time0, hookEvents), operator, bps, validator.tokens / POWER_REDUCTION, consensus);
    this.pendingEvents.push(...hookEvents, ...events);
    this.stakingDirty = true;
    // Booked before the block, so a transaction in it does not carry the slash off as its own.
    const time = this.clock();
    this.book(this.height + 1n, time, `slash:${operator}`);
    this.produceBlock(time);
  }

  /** Jails (or unjails) a validator in a new block: out of the active set, it earns nothing. */
  setJailed(operator: string, jailed: boolean): void {
    const validator = this.validatorOrThrow(operator);
    this.catchUp();
    validator.jailed = jailed;
    this.stakingDirty = true;
    this.produceBlock(this.clock());
  }

  /** Sets a validator's commission rate (Dec), from the next allocation on. */
  setCommission(operator: string, rate: bigint): void {
    const validator = this.validatorOrThrow(operator);
    this.catchUp();
    validator.commissionRate = rate;
    if (rate > validator.maxCommissionRate) validator.maxCommissionRate = rate;
    validator.commissionUpdatedAt = this.clock();
  }

  /** Stops the inclusion timer and block production. */
  close(): void {
    this.mempool.close();
    this.producer.stop();
  }
}
