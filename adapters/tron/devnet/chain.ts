/**
 * The TRON devnet's chain: blocks every 3 s of chain time produced by the
 * SRs in turn, the broadcast checks in java-tron's order (Wallet.broadcastTransaction,
 * Manager.pushTransaction / processTransaction), the pending state a full
 * node answers `wallet/*` from, block application (transactions, then the
 * block rewards, then the maintenance; Manager.processBlock), and the
 * solidified block (DposService.updateSolidBlock) `walletsolidity/*`
 * answers from.
 *
 * A TRON system contract never fails on chain: what fails validation is
 * refused at broadcast, and what fails when a block is made is left out of
 * it (Manager.generateBlock drops it) and later expires. So the kit's
 * `failNext` is that: accepted, never included, `{}` for its info.
 */
import { BlockProducer } from '../../devnet/blocks.js';
import { type ClockMode, DevnetClock } from '../../devnet/clock.js';
import { GroundTruthLedger } from '../../devnet/groundTruth.js';
import { Mempool } from '../../devnet/mempool.js';
import { AccountResourceInsufficient, BandwidthAccountMissing, consumeBandwidth, type NetBill } from './bandwidth.js';
import { type ActuatorResult, ContractExeError, ContractValidateError, runActuator } from './actuators.js';
import { addressOfKey, blockId, decodeBroadcast, type DecodedTx, hex, recoverSigner, sha256, signHash as signHashHex, toBase58, txTrieRoot } from './codec.js';
import { activeWitnesses, doMaintenance } from './maintenance.js';
import { type CyclePay, cyclePay, payBlockRewards } from './rewards.js';
import { type Account, type ChainParams, type ChainState, cloneState, newAccount } from './state.js';

/** `Protocol.Transaction.Result.code` values the broadcast answers with (`BANDWITH_ERROR` is the protocol's spelling). */
export type BroadcastCode =
  | 'SIGERROR'
  | 'CONTRACT_VALIDATE_ERROR'
  | 'CONTRACT_EXE_ERROR'
  | 'BANDWITH_ERROR'
  | 'DUP_TRANSACTION_ERROR'
  | 'TAPOS_ERROR'
  | 'TOO_BIG_TRANSACTION_ERROR'
  | 'TRANSACTION_EXPIRATION_ERROR'
  | 'SERVER_BUSY'
  | 'OTHER_ERROR';

/** What `broadcasttransaction` answers, before JSON. */
export type BroadcastResult = { ok: true; txid: string; loseResponse: boolean } | { ok: false; txid: string; code: BroadcastCode; message: string };

export interface Block {
  number: number;
  id: string;
  parentHash: string;
  timestamp: number;
  witness: string;
  txTrieRoot: string;
  txids: string[];
}

/** An included transaction and its info. */
export interface IncludedTx {
  txid: string;
  /** The txid again, under the name the kit's `onIncluded` consumers read. */
  hash: string;
  tx: DecodedTx;
  blockNumber: number;
  blockTime: number;
  /** Base58 owner. */
  owner: string;
  bill: NetBill;
  result: ActuatorResult;
}

/** A state as of one block, for `walletsolidity/*`: accounts and dynamic properties (the delegation maps are shared with the head: past cycles never change). */
export interface Snapshot {
  accounts: Map<string, Account>;
  srAllowance: Map<string, bigint>;
  dyn: ChainState['dyn'];
}

/** A genesis SR. */
export interface GenesisWitness {
  /** Hex private key; its address is the SR's. */
  privateKey: string;
  url: string;
  /** Genesis votes (not backed by any account), whole TRX. */
  votes: bigint;
}

/** Options of {@link TronChain}. */
export interface TronChainOptions {
  /** @defaultValue 'frozen' */
  clock?: ClockMode;
  /** Genesis block time, ms. @defaultValue Date.now() rounded down to a slot */
  genesisTime?: number;
  /** Rewards accrue this many times faster (recorded on the clock; TRON pays per block). @defaultValue 1 */
  speedup?: number;
  /** Chain time per block, ms (java-tron: 3000). @defaultValue 3000 */
  blockMs?: number;
  witnesses: GenesisWitness[];
  params: ChainParams;
  /** TRX frozen for bandwidth by the rest of the world at genesis (`TotalNetWeight`). */
  genesisNetWeight: bigint;
  /** How many blocks of solidity snapshots to keep. @defaultValue 64 */
  snapshotDepth?: number;
  /**
   * With the frozen clock, an accepted transaction moves chain time itself:
   * `confirmAfterMs` real ms after it is ready, one block includes it and the
   * blocks a solidity node waits for follow (18 with 27 SRs, a block every
   * `blockMs`), as the real chain would take that long to make final what an
   * adapter waits for. Ignored with the wall clock, whose blocks come anyway.
   * @defaultValue undefined (only `advance` makes blocks)
   */
  confirmAfterMs?: number;
}

/** `Wallet.broadcastTransaction`'s words for each exception (java-tron ≥ 4.7 wording). */
function refusal(txid: string, code: BroadcastCode, message: string): BroadcastResult {
  return { ok: false, txid, code, message };
}

/** Constant.TRANSACTION_MAX_BYTE_SIZE. */
const TRANSACTION_MAX_BYTE_SIZE = 500 * 1024;
/** Constant.MAXIMUM_TIME_UNTIL_EXPIRATION: 24 h. */
const MAXIMUM_TIME_UNTIL_EXPIRATION = 86_400_000;
/** DposService.updateSolidBlock: `SOLIDIFIED_THRESHOLD` = 70 (percent). */
const SOLIDIFIED_THRESHOLD = 70;

export class TronChain {
  readonly clock: DevnetClock;
  readonly params: ChainParams;
  readonly genesisTime: number;
  readonly blockMs: number;
  readonly mempool: Mempool<DecodedTx, IncludedTx>;
  readonly truth = new GroundTruthLedger();
  readonly blocks: Block[] = [];
  readonly txs = new Map<string, IncludedTx>();
  readonly witnessKeys = new Map<string, string>();
  readonly genesisWitnesses: ReadonlySet<string>;
  /** The state after the head block. */
  state: ChainState;
  private pending: ChainState | undefined;
  private readonly producer: BlockProducer;
  /** recentBlockStore: low 2 bytes of a block number (4 hex) → bytes 8..16 of its id (TaPoS). */
  private readonly recentBlocks = new Map<string, string>();
  private readonly snapshots = new Map<number, Snapshot>();
  private readonly snapshotDepth: number;
  private active: string[] = [];
  /** The SRs' votes from genesis (or `setWitnessVotes`), apart from any account's. */
  private readonly genesisVotes = new Map<string, bigint>();
  private pay!: CyclePay;

  constructor(options: TronChainOptions) {
    this.blockMs = options.blockMs ?? 3000;
    if (!Number.isSafeInteger(this.blockMs) || this.blockMs < 1) throw new RangeError(`tron devnet: blockMs must be an integer ≥ 1, got ${this.blockMs}`);
    if (options.witnesses.length === 0) throw new RangeError('tron devnet: at least one SR is needed');
    const start = options.genesisTime ?? Date.now() - (Date.now() % this.blockMs);
    this.clock = new DevnetClock({ name: 'tron devnet', mode: options.clock ?? 'frozen', start, speedup: options.speedup ?? 1 });
    this.genesisTime = start - this.blockMs;
    this.params = options.params;
    this.snapshotDepth = options.snapshotDepth ?? 64;
    this.state = {
      accounts: new Map(),
      witnesses: new Map(),
      votesStore: new Map(),
      delegation: { reward: new Map(), witnessVote: new Map(), brokerage: new Map(), vi: new Map() },
      srAllowance: new Map(),
      dyn: {
        cycle: 0,
        nextMaintenanceTime: start + options.params.maintenanceTimeInterval,
        totalNetWeight: options.genesisNetWeight,
        totalEnergyWeight: 0n,
        latestBlockNum: 0,
        latestBlockTimestamp: start,
        latestSolidifiedBlockNum: 0,
        publicNetUsage: 0,
        publicNetTime: 0,
      },
    };
    const genesis = new Set<string>();
    for (const [i, w] of options.witnesses.entries()) {
      const address = addressOfKey(w.privateKey);
      if (genesis.has(address)) throw new RangeError(`tron devnet: SR ${i} repeats ${address}`);
      genesis.add(address);
      this.witnessKeys.set(address, w.privateKey);
      this.state.accounts.set(address, newAccount(address, 0n, start));
      this.genesisVotes.set(address, w.votes);
      this.state.witnesses.set(address, { address, url: w.url, voteCount: w.votes, totalProduced: 0, totalMissed: 0, latestBlockNum: 0, latestSlotNum: 0, isJobs: false });
    }
    this.genesisWitnesses = genesis;
    this.refreshRanks();
    for (const address of this.active) this.state.witnesses.set(address, { ...this.state.witnesses.get(address)!, isJobs: true });
    // The genesis block is one block before the clock's start, and block 1 is made at the start: a head at
    // number 0 prints no `number` (proto default), which tronweb's reference-block code cannot read.
    this.state.dyn.latestBlockTimestamp = start - this.blockMs;
    this.pushBlock({ number: 0, parentHash: '00'.repeat(32), timestamp: start - this.blockMs, witness: this.active[0]!, txids: [] });
    this.snapshot();
    this.mempool = new Mempool<DecodedTx, IncludedTx>(
      options.confirmAfterMs === undefined || this.clock.mode !== 'frozen' ? {} : { inclusionDelayMs: options.confirmAfterMs, include: () => this.confirmReady() },
    );
    this.produce(start);
    this.producer = new BlockProducer({ clock: this.clock, blockMs: this.blockMs, headTime: () => this.head.timestamp, produce: (time) => this.produce(time) });
  }

  get head(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  /** Makes the blocks chain time has passed. */
  catchUp(): void {
    this.producer.catchUp();
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  close(): void {
    this.producer.stop();
    this.mempool.close();
  }

  /** Creates an account holding `balance` sun (genesis-style, no transaction). */
  fund(address: string, balance: bigint): void {
    this.catchUp();
    const existing = this.state.accounts.get(address);
    this.state.accounts.set(address, existing === undefined ? newAccount(address, balance, this.head.timestamp) : { ...existing, balance: existing.balance + balance });
    this.pending = undefined;
    this.snapshots.set(this.head.number, { accounts: new Map(this.state.accounts), srAllowance: new Map(this.state.srAllowance), dyn: { ...this.state.dyn } });
  }

  /** Sets an SR's votes from outside any account (genesis votes), counted at the next maintenance, as a vote change is. */
  setWitnessVotes(address: string, votes: bigint): void {
    if (!this.state.witnesses.has(address)) throw new RangeError(`tron devnet: no SR ${address}`);
    if (votes < 0n) throw new RangeError(`tron devnet: votes must be ≥ 0, got ${votes}`);
    // A VotesStore entry of its own: −old +new at the next maintenance, the accounts' votes untouched.
    const key = `genesis:${address}`;
    const old = this.state.votesStore.get(key)?.oldVotes ?? [{ address, count: this.genesisVotes.get(address) ?? 0n }];
    this.state.votesStore.set(key, { oldVotes: old, newVotes: [{ address, count: votes }] });
    this.genesisVotes.set(address, votes);
    this.pending = undefined;
  }

  /** Sets an SR's brokerage (percent), in force from the next cycle (UpdateBrokerageActuator writes cycle −1). */
  setBrokerage(address: string, percent: number): void {
    if (!this.state.witnesses.has(address)) throw new RangeError(`tron devnet: no SR ${address}`);
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new RangeError(`tron devnet: brokerage must be an integer 0..100, got ${percent}`);
    this.state.delegation.brokerage.set(`-1:${address}`, percent);
    this.pending = undefined;
  }

  /**
   * The state a full node's `wallet/*` reads: the head plus the pending
   * transactions (java-tron applies each accepted transaction to a pending
   * session of the revoking store every read goes through; believed from
   * Manager.pushTransaction, not confirmed against a live node).
   */
  pendingState(): ChainState {
    if (this.pending === undefined) {
      const state = cloneState(this.state);
      for (const e of this.mempool.entries()) {
        const applied = this.apply(state, e.tx);
        if (applied instanceof Error) continue;
      }
      this.pending = state;
    }
    return this.pending;
  }

  /** The solidified block's number. */
  solidNumber(): number {
    return this.state.dyn.latestSolidifiedBlockNum;
  }

  /** The state as of the solidified block. */
  solidState(): ChainState {
    const snap = this.snapshots.get(this.solidNumber()) ?? this.snapshots.get(Math.min(...this.snapshots.keys()))!;
    return { ...this.state, accounts: snap.accounts, srAllowance: snap.srAllowance, dyn: snap.dyn };
  }

  /** The producer's signature over a block, made when the block is served (blocks are many, reads are few). */
  witnessSignature(block: Block): string {
    const key = this.witnessKeys.get(block.witness);
    return key === undefined ? '' : signHeader(block.id, key);
  }

  /** `confirmAfterMs`: the blocks that include the ready transactions, then those that solidify them (the frozen clock moved a block at a time). */
  private confirmReady(): void {
    this.catchUp();
    const now = Date.now();
    if (!this.mempool.entries().some((e) => e.readyAt <= now)) return;
    const included = this.head.number + 1;
    this.clock.advance(this.blockMs);
    // DposService.updateSolidBlock: 18 blocks on top with 27 SRs; bounded for a chain with fewer.
    for (let i = 0; i < 200 && this.solidNumber() < included; i += 1) this.clock.advance(this.blockMs);
  }

  /** The next slot's time (DposSlot.getTime(1)): what `checkExpiration` compares with. */
  private nextSlotTime(): number {
    return this.head.timestamp + this.blockMs;
  }

  /** Bandwidth, then the actuator, on `state`; an Error (nothing applied to `state`) when refused. */
  private apply(state: ChainState, tx: DecodedTx): { bill: NetBill; result: ActuatorResult } | Error {
    const work = cloneState(state);
    try {
      const bill = consumeBandwidth(work, this.params, this.genesisTime, tx.contract.owner, tx.size);
      const result = runActuator({ state: work, params: this.params, genesisWitnesses: this.genesisWitnesses }, tx.contract);
      Object.assign(state, work);
      return { bill, result };
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * `wallet/broadcasttransaction`. Throws TxParseError for a body that is no transaction.
   *
   * Not modelled: SERVER_BUSY (a full pending pool), BLOCK_UNSOLIDIFIED and the connection checks, the
   * txid cache (`trxCacheEnable`, off by default), permissions other than the owner's default (one key,
   * weight 1, threshold 1), and contracts other than Stake 2.0's.
   */
  broadcast(body: unknown): BroadcastResult {
    this.catchUp();
    const tx = decodeBroadcast(body);
    const { txid } = tx;
    // Wallet.broadcastTransaction: signature sizes first.
    for (const s of tx.signatures) {
      const size = s.replace(/^0x/, '').length / 2;
      if (size !== 65) return refusal(txid, 'SIGERROR', `Validate signature error: Signature size is ${Math.floor(size)}`);
    }
    // TransactionCapsule.checkExpiration(nextSlotTime)
    if (tx.expiration < this.nextSlotTime()) return refusal(txid, 'TRANSACTION_EXPIRATION_ERROR', 'Transaction expired');
    // Manager.pushTransaction → TransactionCapsule.validateSignature / checkWeight (owner permission: the owner's key, weight 1, threshold 1)
    const state = this.pendingState();
    if (tx.signatures.length === 0) return refusal(txid, 'SIGERROR', 'Validate signature error: miss sig or contract');
    if (tx.signatures.length > 1) return refusal(txid, 'SIGERROR', `Validate signature error: Signature count is ${tx.signatures.length} more than key counts of permission : 1`);
    const signer = recoverSigner(txid, tx.signatures[0]!);
    if (signer === undefined) return refusal(txid, 'SIGERROR', 'Validate signature error: sig error');
    if (signer !== tx.contract.owner) return refusal(txid, 'SIGERROR', `Validate signature error: ${txid} is signed by ${toBase58(signer)} but it is not contained of permission.`);
    // Manager.validateTapos
    if (this.recentBlocks.get(tx.refBlockBytes) !== tx.refBlockHash) return refusal(txid, 'TAPOS_ERROR', 'Tapos check error.');
    // Manager.validateCommon
    if (tx.size > TRANSACTION_MAX_BYTE_SIZE) return refusal(txid, 'TOO_BIG_TRANSACTION_ERROR', 'Transaction size is too big.');
    const headTime = this.head.timestamp;
    if (tx.expiration <= headTime || tx.expiration > headTime + MAXIMUM_TIME_UNTIL_EXPIRATION) return refusal(txid, 'TRANSACTION_EXPIRATION_ERROR', 'Transaction expired');
    // Manager.validateDup: in a block, or already applied in the pending session
    if (this.txs.has(txid) || this.mempool.has(txid)) return refusal(txid, 'DUP_TRANSACTION_ERROR', 'Dup transaction.');
    const applied = this.apply(state, tx);
    if (applied instanceof BandwidthAccountMissing) return refusal(txid, 'CONTRACT_VALIDATE_ERROR', `Contract validate error : ${applied.message}`);
    if (applied instanceof AccountResourceInsufficient) return refusal(txid, 'BANDWITH_ERROR', 'Account resource insufficient error.');
    if (applied instanceof ContractValidateError) return refusal(txid, 'CONTRACT_VALIDATE_ERROR', `Contract validate error : ${applied.message}`);
    if (applied instanceof ContractExeError) return refusal(txid, 'CONTRACT_EXE_ERROR', `Contract execute error : ${applied.message}`);
    if (applied instanceof Error) return refusal(txid, 'OTHER_ERROR', `Error: ${applied.message}`);
    const entry = this.mempool.add(txid, tx);
    // A dropped transaction leaves nothing behind: the pending state is rebuilt without it.
    if (entry === undefined) this.pending = undefined;
    return { ok: true, txid, loseResponse: entry?.loseResponse ?? false };
  }

  private refreshRanks(): void {
    this.active = activeWitnesses(this.state).map((w) => w.address);
    this.pay = cyclePay(this.state, this.params.witnessPayPerBlock, this.params.witness127PayPerBlock);
  }

  private pushBlock(b: Omit<Block, 'id' | 'txTrieRoot'>): Block {
    const root = txTrieRoot(b.txids);
    const id = blockId({ timestamp: b.timestamp, txTrieRoot: root, parentHash: b.parentHash, number: b.number, witnessAddress: b.witness, version: 34 });
    const block: Block = { ...b, id, txTrieRoot: root };
    this.blocks.push(block);
    this.recentBlocks.set(id.slice(12, 16), id.slice(16, 32));
    return block;
  }

  private snapshot(): void {
    const number = this.head.number;
    this.snapshots.set(number, { accounts: new Map(this.state.accounts), srAllowance: new Map(this.state.srAllowance), dyn: { ...this.state.dyn } });
    this.snapshots.delete(number - this.snapshotDepth);
  }

  /** Manager.processBlock for a block at `time`: its transactions, the rewards, the maintenance, then the header's time. */
  private produce(time: number): void {
    const state = this.state;
    const parent = this.head;
    const number = parent.number + 1;
    const slot = Math.floor((time - this.genesisTime) / this.blockMs);
    const producer = this.active[slot % this.active.length]!;
    const included: IncludedTx[] = [];
    for (const entry of this.mempool.takeReady()) {
      // failNext: the producer leaves it out; validateCommon at packing: expired transactions are dropped too.
      if (entry.fail || entry.tx.expiration <= parent.timestamp) continue;
      const applied = this.apply(state, entry.tx);
      if (applied instanceof Error) continue;
      included.push({ txid: entry.hash, hash: entry.hash, tx: entry.tx, blockNumber: number, blockTime: time, owner: toBase58(entry.tx.contract.owner), bill: applied.bill, result: applied.result });
    }
    payBlockRewards(state, producer, this.pay);
    if (state.dyn.nextMaintenanceTime <= time) {
      doMaintenance(state, this.params, time);
      this.refreshRanks();
    }
    state.dyn.latestBlockNum = number;
    state.dyn.latestBlockTimestamp = time;
    const w = state.witnesses.get(producer)!;
    state.witnesses.set(producer, { ...w, latestBlockNum: number, latestSlotNum: slot, totalProduced: w.totalProduced + 1 });
    this.pushBlock({ number, parentHash: parent.id, timestamp: time, witness: producer, txids: included.map((t) => t.txid) });
    // DposService.updateSolidBlock: the block 70% of the active SRs have built on.
    const latest = this.active.map((a) => state.witnesses.get(a)!.latestBlockNum).sort((a, b) => a - b);
    const solid = latest[Math.floor((latest.length * (100 - SOLIDIFIED_THRESHOLD)) / 100)] ?? 0;
    if (solid > state.dyn.latestSolidifiedBlockNum) state.dyn.latestSolidifiedBlockNum = solid;
    for (const t of included) {
      this.txs.set(t.txid, t);
      if (t.result.withdrawAmount !== undefined) this.truth.record({ account: t.owner, kind: 'reward', amount: t.result.withdrawAmount, at: time, height: BigInt(number), ref: t.txid });
    }
    this.snapshot();
    this.pending = undefined;
    for (const t of included) void this.mempool.notifyIncluded(t);
  }

  /** An account at the pending state (for tests). */
  account(address: string): Account | undefined {
    return this.pendingState().accounts.get(address);
  }
}

function signHeader(id: string, key: string): string {
  // The SR signs sha256 of the raw header, and java-tron prints r ‖ s ‖ v with v the recovery id, 0 or 1
  // (documentation-en getblock example). The id keeps only bytes 8..32 of that hash, so the devnet signs the
  // id's hash instead (stated difference: clients do not verify block signatures).
  const signature = signHashHex(hex(sha256(Buffer.from(id, 'hex'))), key).toLowerCase();
  const v = parseInt(signature.slice(128), 16) - 27;
  return signature.slice(0, 128) + v.toString(16).padStart(2, '0');
}

