/**
 * The Polkadot devnet's chain: blocks with storage, the transaction pool,
 * block building and finality, over the devnet kit's clock, block producer,
 * mempool faults and ground truth.
 *
 * A block is built as FRAME's Executive builds one
 * (`substrate/frame/executive/src/lib.rs`, `substrate/frame/system/src/lib.rs`):
 * `initialize` (System.Number, ParentHash, `BlockHash(n−1)`, events
 * cleared), the `timestamp.set` inherent as extrinsic 0, then each pool
 * transaction re-checked at the block's number and applied (fee withdrawn
 * and nonce bumped even when the call fails, the call's writes and events
 * rolled back when it does), then `finalize` (`BlockHash(n − BlockHashCount − 1)`
 * pruned, System.Events stored). Extrinsic events: `Balances.Withdraw`
 * (fee), the call's, `TransactionPayment.TransactionFeePaid`, then
 * `System.ExtrinsicSuccess`/`ExtrinsicFailed` (docs/chains/polkadot.md §6).
 *
 * Devnet simplifications: the state root and extrinsics root are blake2
 * hashes of the sorted entries, not trie roots (no client checks them
 * here); there are no forks; finality (the relay chain's GRANDPA in the
 * real network) follows each block after `finalityDelayMs` of real time;
 * state older than `statePruning` blocks is discarded, as a pruned node's
 * (default 256 blocks [recalled: Substrate's default `--state-pruning`]).
 */
import { encodeAddress } from '@polkadot/keyring';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';

import { BlockProducer } from '../../devnet/blocks.js';
import { type ClockMode, DevnetClock } from '../../devnet/clock.js';
import { GroundTruthLedger } from '../../devnet/groundTruth.js';
import { Mempool } from '../../devnet/mempool.js';
import { balancesCalls, type CallSpec, type DispatchContext, DispatchFailure, eventCollector, existentialDeposit, reducible } from './dispatch.js';
import { type CheckedExtrinsic, checkExtrinsic, computeFee, type FeeSchedule, PoolRefusal, type Weight } from './extrinsic.js';
import { Runtime } from './runtime.js';
import { genesisPool, poolCalls } from './pools.js';
import { type Offence, slashingOnInitialize } from './slashing.js';
import { type EraConfig, plan, stakingCalls, stakingOnInitialize } from './staking.js';
import { encodeEvents, type EventEntry, Storage } from './state.js';
import { utilityCalls } from './utility.js';

/** `TransactionStatus` as the node serializes it (`substrate/client/transaction-pool/api/src/lib.rs`): only the block hash for inBlock/finalized. */
export type TxStatus = 'future' | 'ready' | 'dropped' | 'invalid' | { inBlock: string } | { finalized: string };

/** A block of the devnet. */
export interface Block {
  number: number;
  hash: string;
  /** The header as `chain_getHeader` serializes it. */
  header: { parentHash: string; number: string; stateRoot: string; extrinsicsRoot: string; digest: { logs: string[] } };
  /** Each extrinsic's encoding, length prefix included (`chain_getBlock`). */
  extrinsics: string[];
  /** State after the block; `undefined` once pruned. */
  storage: Storage | undefined;
  /** Chain time, ms (`Timestamp.Now`). */
  time: number;
  events: EventEntry[];
}

/** What `onIncluded` hears about an included extrinsic. */
export interface IncludedExtrinsic {
  hash: string;
  signer: string;
  block: number;
  blockHash: string;
  /** Whether the call succeeded (ExtrinsicSuccess). */
  success: boolean;
}

interface PoolTx {
  checked: CheckedExtrinsic;
  weight: Weight;
  watchers: Set<(status: TxStatus) => void>;
}

/** A validator at genesis. */
export interface GenesisValidator {
  /** AccountId32 hex. */
  stash: string;
  /** Own bond, planck. */
  bond: bigint;
  /** Perbill (1e9 = 100%). */
  commission: number;
}

/** Options of {@link PolkadotChain}. */
export interface PolkadotChainOptions {
  /** @defaultValue 'frozen' */
  clock?: ClockMode;
  /** @defaultValue 1 */
  speedup?: number;
  /** Chain time per block, ms. @defaultValue Aura.SlotDuration (12 000) */
  blockMs?: number;
  /** Chain time per era, ms. @defaultValue 24 h / speedup */
  eraMs?: number;
  /** What each era pays the stakers, planck. @defaultValue 1 000 DOT */
  eraPayout?: bigint;
  /** `Staking.MinNominatorBond` (governance sets it on the real chain; this is an example). @defaultValue 250 DOT */
  minNominatorBond?: bigint;
  validators?: GenesisValidator[];
  /** Nomination pool 1 at genesis: its depositor (AccountId32 hex), bond and the validators it nominates; absent: no pool. */
  pool?: { depositor: string; bond: bigint; targets: string[] };
  /** `NominationPools.MinJoinBond` (governance sets it on the real chain; this is an example). @defaultValue 1 DOT */
  minJoinBond?: bigint;
  /** Accounts funded at genesis (AccountId32 hex → planck). */
  endowed?: Record<string, bigint>;
  /** @defaultValue { base: 1 000 000, perByte: 1 000, perMegaRefTime: 100 } */
  fees?: FeeSchedule;
  /** Real ms between a transaction entering the pool and the block that includes it. @defaultValue 20 */
  inclusionDelayMs?: number;
  /** Real ms between a block and its finality (long enough for a client to read the block before it is final); 0: final at once. @defaultValue 250 */
  finalityDelayMs?: number;
  /** Blocks of state kept. @defaultValue 256 */
  statePruning?: number;
}

/** One DOT, in planck (10 decimals). */
export const DOT = 10_000_000_000n;

/** The chain state machine, without RPC. */
export class PolkadotChain {
  readonly runtime = new Runtime();
  readonly clock: DevnetClock;
  readonly blockMs: number;
  readonly fees: FeeSchedule;
  readonly eras: EraConfig & { unelected: Set<string> };
  readonly mempool: Mempool<PoolTx, IncludedExtrinsic>;
  readonly truth = new GroundTruthLedger();
  readonly blocks: Block[] = [];
  private readonly byHash = new Map<string, Block>();
  private readonly producer: BlockProducer;
  /** Valid transactions whose nonce is ahead of the account's (status `future`). */
  private future: PoolTx[] = [];
  /** Hashes recently included, banned from the pool (rotator.rs, 30 min). */
  private readonly banned = new Map<string, number>();
  private readonly finalityDelayMs: number;
  private readonly statePruning: number;
  private finalizedNumber = 0;
  private readonly headListeners = new Set<(block: Block) => void>();
  private readonly finalityListeners = new Set<(block: Block) => void>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;
  private endowments: [string, bigint][] = [];
  private offences: Offence[] = [];

  constructor(options: PolkadotChainOptions = {}) {
    this.clock = new DevnetClock({ name: 'polkadot devnet', mode: options.clock ?? 'frozen', speedup: options.speedup ?? 1 });
    this.blockMs = options.blockMs ?? Number(this.runtime.constant('Aura', 'SlotDuration'));
    this.fees = options.fees ?? { base: 1_000_000n, perByte: 1_000n, perMegaRefTime: 100n };
    this.eras = {
      eraMs: options.eraMs ?? Math.max(this.blockMs, Math.round(86_400_000 / this.clock.speedup)),
      eraPayout: options.eraPayout ?? 1_000n * DOT,
      unelected: new Set(),
    };
    this.finalityDelayMs = options.finalityDelayMs ?? 250;
    this.statePruning = options.statePruning ?? 256;
    this.mempool = new Mempool({ inclusionDelayMs: options.inclusionDelayMs ?? 20, include: () => this.newBlock() });
    this.genesis(options);
    this.producer = new BlockProducer({
      clock: this.clock,
      blockMs: this.blockMs,
      headTime: () => this.head.time,
      produce: (time) => this.build(time),
    });
  }

  get head(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  get finalized(): Block {
    return this.blocks[this.finalizedNumber]!;
  }

  get genesisHash(): string {
    return this.blocks[0]!.hash;
  }

  /** The block at a number or hash. */
  block(ref: number | string): Block | undefined {
    return typeof ref === 'number' ? this.blocks[ref] : this.byHash.get(ref.toLowerCase());
  }

  /** Runs on every imported block; returns the remover. */
  onHead(listener: (block: Block) => void): () => void {
    this.headListeners.add(listener);
    return () => this.headListeners.delete(listener);
  }

  /** Runs on every finalized block; returns the remover. */
  onFinalized(listener: (block: Block) => void): () => void {
    this.finalityListeners.add(listener);
    return () => this.finalityListeners.delete(listener);
  }

  /** Moves chain time, making the blocks (and eras) it covers. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  private genesis(options: PolkadotChainOptions): void {
    const storage = new Storage(this.runtime);
    const time = this.clock.start;
    for (const [who, amount] of Object.entries(options.endowed ?? {})) {
      storage.setAccount(who, { nonce: 0, consumers: 0, providers: 1, sufficients: 0, free: amount, reserved: 0n, frozen: 0n, flags: 0n });
    }
    storage.write('Staking', 'MinNominatorBond', [], options.minNominatorBond ?? 250n * DOT);
    storage.write('Staking', 'ActiveEra', [], { index: 0, start: time });
    for (const v of options.validators ?? []) {
      const ed = existentialDeposit(this.runtime);
      storage.setAccount(v.stash, { nonce: 0, consumers: 1, providers: 1, sufficients: 0, free: ed, reserved: v.bond, frozen: 0n, flags: 0n });
      storage.write('Balances', 'Holds', [v.stash], [{ id: { Staking: 'Staking' }, amount: v.bond }]);
      storage.write('Staking', 'Bonded', [v.stash], v.stash);
      storage.write('Staking', 'Ledger', [v.stash], { stash: v.stash, total: v.bond, active: v.bond, unlocking: [] });
      storage.write('Staking', 'Payee', [v.stash], 'Stash');
      storage.write('Staking', 'Validators', [v.stash], { commission: v.commission, blocked: false });
    }
    storage.write('NominationPools', 'MinJoinBond', [], options.minJoinBond ?? DOT);
    if (options.pool !== undefined) genesisPool(this.runtime, storage, 1, options.pool.depositor, options.pool.bond, options.pool.targets);
    plan(this.runtime, storage, 0, this.eras);
    storage.write('Timestamp', 'Now', [], time);
    this.seal({ number: 0, parentHash: u8aToHex(new Uint8Array(32)), storage, time, extrinsics: [], events: [] });
    this.finalizedNumber = 0;
  }

  private seal(b: { number: number; parentHash: string; storage: Storage; time: number; extrinsics: string[]; events: EventEntry[] }): Block {
    b.storage.writeRaw('System', 'Events', [], encodeEvents(this.runtime, b.events));
    b.storage.write('System', 'EventCount', [], b.events.length);
    const stateRoot = u8aToHex(blake2AsU8a(b.storage.entries().map(([k, v]) => k + v.slice(2)).join(''), 256));
    const extrinsicsRoot = u8aToHex(blake2AsU8a(u8aConcat(...b.extrinsics.map((e) => this.runtime.registry.createType('Bytes', e).toU8a(true))), 256));
    const header = this.runtime.registry.createType('Header', { parentHash: b.parentHash, number: b.number, stateRoot, extrinsicsRoot, digest: { logs: [] } });
    const block: Block = {
      number: b.number,
      hash: header.hash.toHex(),
      header: { parentHash: b.parentHash, number: `0x${b.number.toString(16)}`, stateRoot, extrinsicsRoot, digest: { logs: [] } },
      extrinsics: b.extrinsics,
      storage: b.storage,
      time: b.time,
      events: b.events,
    };
    this.blocks.push(block);
    this.byHash.set(block.hash, block);
    const pruned = this.blocks[block.number - this.statePruning];
    if (pruned !== undefined && pruned.number > 0) pruned.storage = undefined;
    return block;
  }

  /** The state at the best block. */
  get best(): Storage {
    return this.head.storage!;
  }

  /** A block the chain makes now (for the pool): with the frozen clock `blockMs` after the last, moving the clock. */
  newBlock(): Block {
    if (this.closed) return this.head;
    if (this.clock.mode === 'frozen') {
      const number = this.head.number;
      this.clock.advance(Math.max(0, this.head.time + this.blockMs - this.clock.now()));
      if (this.head.number === number) this.build(this.head.time + this.blockMs);
      return this.head;
    }
    return this.build(Math.max(this.head.time + 1, this.clock.now()));
  }

  private readonly utility = utilityCalls((section, method) => this.callSpec(section, method));

  /** The calls the devnet carries out. */
  callSpec(section: string, method: string): CallSpec | undefined {
    const name = `${section}.${method}`;
    return balancesCalls[name] ?? stakingCalls[name] ?? poolCalls[name] ?? this.utility[name];
  }

  /** The fee the devnet charges an extrinsic of `length` bytes carrying this call (without tip). */
  feeOf(section: string, method: string, length: number): { fee: bigint; weight: Weight } {
    const weight = this.callSpec(section, method)?.weight ?? { refTime: 100_000_000n, proofSize: 5_000n };
    return { fee: computeFee(this.fees, length, weight), weight };
  }

  private senderQueue(signer: string): PoolTx[] {
    return this.mempool.entries().filter((e) => e.tx.checked.signer === signer).map((e) => e.tx);
  }

  /**
   * Takes an extrinsic into the pool, or refuses it as the pool does
   * (`substrate/client/transaction-pool`: 1013 already imported, 1012
   * banned, 1014 same sender and nonce, 1010 invalid). Returns the pool
   * entry's initial status and a way to watch it.
   */
  submit(bytes: Uint8Array, watcher?: (status: TxStatus) => void): { hash: string; status: 'ready' | 'future'; loseResponse: boolean } {
    // graph/pool.rs `verify_one` looks at the ban list before validating [recalled]: bytes just included are banned, not "outdated".
    const bannedAt = this.banned.get(u8aToHex(blake2AsU8a(bytes, 256)));
    if (bannedAt !== undefined && Date.now() - bannedAt < 30 * 60 * 1000) throw new PoolRefusal(1012, 'Transaction is temporarily banned');
    // Executive::validate_transaction first runs System::initialize(best + 1), which records BlockHash(best).
    const validation = this.best.clone();
    validation.write('System', 'BlockHash', [this.head.number], this.head.hash);
    const checked = checkExtrinsic({ runtime: this.runtime, storage: validation, current: this.head.number + 1, genesisHash: this.genesisHash }, bytes);
    const queued = [...this.mempool.entries().map((e) => e.tx), ...this.future];
    if (queued.some((t) => t.checked.hash === checked.hash)) throw new PoolRefusal(1013, 'Transaction Already Imported', checked.hash);
    if (queued.some((t) => t.checked.signer === checked.signer && t.checked.nonce === checked.nonce)) {
      throw new PoolRefusal(1014, 'Priority is too low: (0 vs 0)', 'The transaction has too low priority to replace another transaction already in the pool.');
    }
    const call = checked.call;
    const { fee, weight } = this.feeOf(call.section, call.method, bytes.length);
    // ChargeAssetTxPayment (native): the fee and tip must be withdrawable, keeping the account alive [recalled: Preservation::Preserve].
    if (fee + checked.tip > reducible(this.runtime, this.best.account(checked.signer), true)) throw PoolRefusal.invalid('Payment');
    const tx: PoolTx = { checked, weight, watchers: new Set(watcher === undefined ? [] : [watcher]) };
    const next = this.best.account(checked.signer).nonce + this.senderQueue(checked.signer).length;
    if (checked.nonce > next) {
      this.future.push(tx);
      return { hash: checked.hash, status: 'future', loseResponse: false };
    }
    const entry = this.mempool.add(checked.hash, tx);
    return { hash: checked.hash, status: 'ready', loseResponse: entry?.loseResponse ?? false };
  }

  /** Builds and imports one block at `time`. */
  private build(time: number): Block {
    const parent = this.head;
    const number = parent.number + 1;
    const storage = parent.storage!.clone();
    const events: EventEntry[] = [];
    storage.write('System', 'Number', [], number);
    storage.write('System', 'ParentHash', [], parent.hash);
    storage.write('System', 'BlockHash', [number - 1], parent.hash);
    storage.write('Timestamp', 'Now', [], time);
    const initialization = eventCollector(this.runtime, 'initialization', events);
    stakingOnInitialize(this.runtime, storage, { number, time }, this.eras, initialization);
    slashingOnInitialize(
      {
        runtime: this.runtime,
        storage,
        who: '',
        emit: initialization,
        block: { number, time },
        onSlash: (who, amount) => this.truth.record({ account: encodeAddress(who, 0), kind: 'slash', amount, at: time, height: BigInt(number), ref: `slash:block:${number}` }),
      },
      this.offences.splice(0),
    );
    for (const [who, amount] of this.endowments.splice(0)) {
      const a = storage.account(who);
      if (a.providers === 0) {
        a.providers = 1;
        initialization('System', 'NewAccount', [who]);
        initialization('Balances', 'Endowed', [who, amount]);
      } else initialization('Balances', 'Deposit', [who, amount]);
      a.free += amount;
      storage.setAccount(who, a);
    }
    const setTime = this.runtime.registry.createType('Extrinsic', this.runtime.decorated.tx.timestamp!.set!(time)).toHex();
    const extrinsics = [setTime];
    const mandatory = { weight: { refTime: 10_000_000, proofSize: 1_493 }, class: 'Mandatory', paysFee: 'Yes' };
    events.push({ phase: { applyExtrinsic: 0 }, bytes: this.runtime.event('System', 'ExtrinsicSuccess', [mandatory]), name: 'System.ExtrinsicSuccess' });
    const included: { tx: PoolTx; success: boolean; loseResponse: boolean }[] = [];
    for (const entry of this.closed ? [] : this.mempool.takeReady()) {
      const tx = entry.tx;
      let checked: CheckedExtrinsic;
      try {
        checked = checkExtrinsic({ runtime: this.runtime, storage, current: number, genesisHash: this.genesisHash }, tx.checked.bytes);
        if (checked.nonce > storage.account(checked.signer).nonce) throw PoolRefusal.invalid('Future');
        const call = checked.call;
        const { fee } = this.feeOf(call.section, call.method, checked.bytes.length);
        if (fee + checked.tip > reducible(this.runtime, storage.account(checked.signer), true)) throw PoolRefusal.invalid('Payment');
      } catch (error) {
        if (error instanceof PoolRefusal && error.invalid === 'Future') this.future.push(tx);
        else for (const w of tx.watchers) w('invalid');
        continue;
      }
      const index = extrinsics.length;
      extrinsics.push(u8aToHex(checked.bytes));
      const success = this.apply(storage, index, checked, entry.fail, events, number, time);
      included.push({ tx, success, loseResponse: entry.loseResponse });
    }
    const block = this.seal({ number, parentHash: parent.hash, storage, time, extrinsics, events });
    // finalize: BlockHash keeps the last BlockHashCount parents and genesis.
    const drop = number - Number(this.runtime.constant('System', 'BlockHashCount')) - 1;
    if (drop > 0) storage.remove('System', 'BlockHash', drop);
    this.promoteFuture();
    for (const listener of this.headListeners) listener(block);
    for (const { tx, success } of included) {
      this.banned.set(tx.checked.hash, Date.now());
      for (const w of tx.watchers) w({ inBlock: block.hash });
      void this.mempool.notifyIncluded({ hash: tx.checked.hash, signer: tx.checked.signer, block: number, blockHash: block.hash, success });
    }
    this.scheduleFinality(block, included.map((i) => i.tx));
    return block;
  }

  /** Applies one checked extrinsic: fee and nonce always, the call on an overlay kept only when it succeeds. */
  private apply(storage: Storage, index: number, checked: CheckedExtrinsic, fail: boolean, events: EventEntry[], number: number, time: number): boolean {
    const phase = { applyExtrinsic: index };
    const emit = eventCollector(this.runtime, phase, events);
    const call = checked.call;
    const spec = this.callSpec(call.section, call.method);
    const { fee, weight } = this.feeOf(call.section, call.method, checked.bytes.length);
    const account = storage.account(checked.signer);
    account.nonce += 1;
    account.free -= fee + checked.tip;
    storage.setAccount(checked.signer, account);
    emit('Balances', 'Withdraw', [checked.signer, fee + checked.tip]);
    const overlay = storage.clone();
    const callEvents: EventEntry[] = [];
    const rewards: [string, bigint][] = [];
    const slashes: [string, bigint][] = [];
    const ctx: DispatchContext = {
      runtime: this.runtime,
      storage: overlay,
      who: checked.signer,
      emit: eventCollector(this.runtime, phase, callEvents),
      block: { number, time },
      onReward: (staker, amount) => rewards.push([staker, amount]),
      onSlash: (who, amount) => slashes.push([who, amount]),
    };
    let error: unknown;
    try {
      // The kit's failNextTx: the call fails on chain (fee charged, nonce used, nothing else).
      if (fail) throw new DispatchFailure('Other');
      if (spec === undefined) throw new DispatchFailure('Other');
      spec.run(ctx, [...call.args]);
    } catch (e) {
      if (!(e instanceof DispatchFailure)) throw e;
      error = e.error;
    }
    if (error === undefined) {
      storage.replaceWith(overlay);
      events.push(...callEvents);
      for (const [staker, amount] of rewards) {
        this.truth.record({ account: encodeAddress(staker, 0), kind: 'reward', amount, at: time, height: BigInt(number), ref: checked.hash });
      }
      for (const [who, amount] of slashes) {
        this.truth.record({ account: encodeAddress(who, 0), kind: 'slash', amount, at: time, height: BigInt(number), ref: checked.hash });
      }
    }
    emit('TransactionPayment', 'TransactionFeePaid', [checked.signer, fee + checked.tip, checked.tip]);
    const info = { weight: { refTime: weight.refTime, proofSize: weight.proofSize }, class: 'Normal', paysFee: 'Yes' };
    if (error === undefined) emit('System', 'ExtrinsicSuccess', [info]);
    else emit('System', 'ExtrinsicFailed', [error, info]);
    return error === undefined;
  }

  /** Moves `future` transactions whose nonce is now next into the pool. */
  private promoteFuture(): void {
    let moved = true;
    while (moved) {
      moved = false;
      for (const tx of this.future) {
        const next = this.best.account(tx.checked.signer).nonce + this.senderQueue(tx.checked.signer).length;
        if (tx.checked.nonce < next) {
          this.future = this.future.filter((t) => t !== tx);
          for (const w of tx.watchers) w('invalid');
          moved = true;
          break;
        }
        if (tx.checked.nonce === next) {
          this.future = this.future.filter((t) => t !== tx);
          this.mempool.add(tx.checked.hash, tx);
          for (const w of tx.watchers) w('ready');
          moved = true;
          break;
        }
      }
    }
  }

  private scheduleFinality(block: Block, txs: PoolTx[]): void {
    const finalize = (): void => {
      if (this.closed || block.number <= this.finalizedNumber) return;
      this.finalizedNumber = block.number;
      for (const listener of this.finalityListeners) listener(block);
      for (const tx of txs) for (const w of tx.watchers) w({ finalized: block.hash });
    };
    // 0: final with the block itself (tests that read the chain right after moving its clock).
    if (this.finalityDelayMs === 0) return finalize();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      finalize();
    }, this.finalityDelayMs);
    this.timers.add(timer);
  }

  /** Funds `who` from nothing in a new block (the devnet's faucet: `Balances.Endowed`/`Deposit` in the Initialization phase). */
  endow(who: string, amount: bigint): Block {
    this.endowments.push([who, amount]);
    return this.newBlock();
  }

  /**
   * Reports an offence of `validator` (AccountId32 hex) in `era` for
   * `fraction` (parts per billion) in a new block (devnet/slashing.ts: queued,
   * computed the next block, applied when era + SlashDeferDuration starts).
   */
  reportOffence(offence: Offence): Block {
    this.offences.push(offence);
    return this.newBlock();
  }

  /** Stops block production, the pool's timer and finality. */
  close(): void {
    this.closed = true;
    this.producer.stop();
    this.mempool.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
