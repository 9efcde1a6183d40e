/**
 * The NEAR devnet's chain: accounts with ed25519 access keys and nonces,
 * blocks with epochs, staking-pool contracts (pool.ts), and the checks
 * nearcore makes before a transaction is included (signature over
 * sha256(borsh(Transaction)), access-key nonce, block-hash recency, balance).
 *
 * Simplifications, each harmless to an RPC client: every block is final at
 * once; a fixed gas per kind of receipt (see {@link CALL_GAS}). The state is kept per block, so queries by
 * `block_id` see the past; unless `archival`, only for the last
 * `gcEpochs` epochs, as a node's garbage collection leaves it (decided per
 * listener with `archivalListeners`: a regular node and an archival one).
 *
 * Chain time, block production, the mempool's transaction faults and the
 * ground truth come from the devnet kit (adapters/devnet/).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { baseDecode, baseEncode, decodeSignedTransaction, encodeTransaction, KeyPair, type SignedTransaction } from 'near-api-js';
import { BlockProducer } from '../../devnet/blocks.js';
import { type ClockMode, DevnetClock } from '../../devnet/clock.js';
import { GroundTruthLedger } from '../../devnet/groundTruth.js';
import { Mempool, type MempoolEntry } from '../../devnet/mempool.js';
import * as pool from './pool.js';
import type { PoolState } from './pool.js';

/** Gas price, yoctoNEAR per gas (NEAR's minimum). */
export const GAS_PRICE = 100_000_000n;
/** Gas burnt converting a transaction into its receipt. */
export const TX_GAS = 2_428_000_000_000n;
/** Gas burnt by one function call receipt on a pool (a devnet figure: the real one varies by method and state). */
export const CALL_GAS = 5_000_000_000_000n;
/** Gas burnt by the pool's stake action receipt (a devnet figure). */
export const STAKE_ACTION_GAS = 500_000_000_000n;
/** Gas the `on_stake_action` callback burns of the 20 Tgas attached to it (a devnet figure). */
export const ON_STAKE_CALLBACK_GAS = 2_000_000_000_000n;
/** The contract's share of the gas its calls burn: nearcore runtime config `burnt_gas_reward`, 3/10. */
const BURNT_GAS_REWARD_NUM = 3n;
const BURNT_GAS_REWARD_DEN = 10n;
/** yoctoNEAR per NEAR. */
export const ONE_NEAR = 10n ** 24n;

/** nearcore's `InvalidTxError`, as the RPC reports it. */
export type InvalidTxError =
  | 'InvalidSignature'
  | 'Expired'
  | 'InvalidChain'
  | { InvalidNonce: { tx_nonce: number; ak_nonce: number } }
  | { NonceTooLarge: { tx_nonce: number; upper_bound: number } }
  | { SignerDoesNotExist: { signer_id: string } }
  | { InvalidAccessKeyError: { AccessKeyNotFound: { account_id: string; public_key: string } } }
  | { InvalidAccessKeyError: 'RequiresFullAccess' | 'DepositWithFunctionCall' }
  | { InvalidAccessKeyError: { ReceiverMismatch: { tx_receiver: string; ak_receiver: string } } }
  | { InvalidAccessKeyError: { MethodNameMismatch: { method_name: string } } }
  | { NotEnoughBalance: { signer_id: string; balance: string; cost: string } }
  | { InvalidReceiverId: { receiver_id: string } };

/** A transaction the chain refuses before inclusion. */
export class InvalidTx extends Error {
  constructor(
    readonly error: InvalidTxError,
    readonly hash: string,
  ) {
    super(`invalid transaction ${hash}: ${JSON.stringify(error)}`);
  }
}

/** The request's bytes are not a SignedTransaction. */
export class TxParseError extends Error {}

/** A function-call access key's permission (core/primitives-core/src/account.rs `FunctionCallPermission`). */
export interface FunctionCallPermission {
  /** yoctoNEAR the key may spend on fees; `null`: unlimited. */
  allowance: bigint | null;
  receiverId: string;
  /** Methods it may call; empty: any. */
  methodNames: string[];
}

export interface AccountState {
  amount: bigint;
  /** Access keys: public key string → nonce. */
  keys: Map<string, bigint>;
  /** Keys (of `keys`) that are function-call keys; every other key has full access. */
  functionCallKeys?: Map<string, FunctionCallPermission>;
}

export interface ChainState {
  accounts: Map<string, AccountState>;
  pools: Map<string, PoolState>;
}

export interface Block {
  height: number;
  hash: string;
  prevHash: string;
  /** Block time, ms. */
  time: number;
  epochHeight: number;
  epochId: string;
  /** Access keys changed in this block, with the transaction that changed them. */
  keyChanges: { accountId: string; publicKey: string; nonce: bigint; txHash: string }[];
}

/** The stored outcome of an included transaction (nearcore's FinalExecutionOutcome JSON). */
export interface IncludedTx {
  hash: string;
  signerId: string;
  height: number;
  outcome: Record<string, unknown>;
  /** The request that sent it is to lose its answer (the kit's `loseNextResponse`). */
  loseResponse?: boolean;
}

/** Options of {@link NearChain}. */
export interface NearChainOptions {
  /** @defaultValue 'near-devnet' */
  chainId?: string;
  /** Blocks per epoch. @defaultValue 20 */
  epochLength?: number;
  /** Block time step, ms. @defaultValue 1000 */
  blockMs?: number;
  /** Blocks a transaction's block hash stays valid (nearcore: 86 400). @defaultValue 86400 */
  txValidityBlocks?: number;
  /** The first block's height. @defaultValue 1000 */
  genesisHeight?: number;
  /**
   * `frozen`: chain time moves by `advance` and by `blockMs` with each block
   * the chain makes on its own (a transaction's, an epoch's). `wall`: a
   * block's time is the wall clock (at least 1 ms after the last).
   * @defaultValue 'frozen'
   */
  clock?: ClockMode;
  /**
   * `on-demand`: a block is made only when something happens (a
   * transaction, `createAccount`, `nextEpoch`, `advance`), so a test's epochs
   * move only when it says. `clock`: also one every `blockMs` of chain time,
   * as a node does (`softstake devnet`).
   * @defaultValue 'on-demand'
   */
  blockProduction?: 'on-demand' | 'clock';
  /** Rewards accrue this many times faster than chain time (recorded on the clock; NEAR pays per epoch, so `softstake devnet` shortens `blockMs`). @defaultValue 1 */
  speedup?: number;
  /**
   * How long `tx` (and `send_tx` for a transaction the node has) waits for
   * an unseen transaction before answering `TIMEOUT_ERROR`, real ms
   * (nearcore chain/jsonrpc/src/lib.rs `RpcPollingConfig::polling_timeout`).
   * @defaultValue 10000
   */
  pollingTimeoutMs?: number;
  /**
   * Keep every block and state (an archival node). Otherwise blocks older
   * than `gcEpochs` epochs are garbage collected, as a normal RPC node does.
   * @defaultValue false
   */
  archival?: boolean;
  /**
   * Listeners (by index) that answer as archival nodes while the others
   * answer as regular ones keeping `gcEpochs`: one chain seen through a
   * regular RPC node and an archival one, as a config listing both sees it.
   * Ignored when `archival` (every listener is then archival).
   * @defaultValue [] (every listener as `archival` says)
   */
  archivalListeners?: readonly number[];
  /** Epochs a non-archival node keeps (nearcore core/chain-configs/src/client_config.rs `gc_num_epochs_to_keep`). @defaultValue 5 */
  gcEpochs?: number;
}

function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** The chain state machine, without HTTP. */
export class NearChain {
  readonly chainId: string;
  readonly epochLength: number;
  readonly blockMs: number;
  readonly txValidityBlocks: number;
  readonly genesisHeight: number;
  readonly pollingTimeoutMs: number;
  readonly archival: boolean;
  readonly archivalListeners: ReadonlySet<number>;
  readonly gcEpochs: number;
  /** The chain's clock (the kit's). */
  readonly clock: DevnetClock;
  /** Transactions checked and not yet included, with the kit's transaction faults. */
  readonly mempool = new Mempool<SignedTransaction, IncludedTx>();
  /** What the chain paid and slashed, per account; see {@link NearChain.truthOf}. */
  readonly slashes = new GroundTruthLedger();
  private readonly producer: BlockProducer;
  private readonly waiting = new Map<string, Promise<IncludedTx | undefined>>();
  state: ChainState = { accounts: new Map(), pools: new Map() };
  readonly blocks: Block[] = [];
  private readonly blockByHash = new Map<string, Block>();
  /** Heights at which the state changed, with the state after that block. */
  private readonly snapshots: { height: number; state: ChainState }[] = [];
  readonly included = new Map<string, IncludedTx>();
  /** `tx` requests long-polling for a hash the node has not seen. */
  private readonly inclusionWaiters = new Map<string, Set<(tx: IncludedTx | undefined) => void>>();
  /** Pools that leave the validator set at the next epoch switch. */
  private readonly leaving = new Set<string>();
  /** Per epoch height: the pools in its validator set and the ones kicked out at its start. */
  readonly epochValidators = new Map<number, { validators: string[]; kickedOut: string[] }>();

  constructor(options: NearChainOptions = {}) {
    this.chainId = options.chainId ?? 'near-devnet';
    this.epochLength = options.epochLength ?? 20;
    this.blockMs = options.blockMs ?? 1000;
    this.txValidityBlocks = options.txValidityBlocks ?? 86_400;
    this.genesisHeight = options.genesisHeight ?? 1000;
    this.pollingTimeoutMs = options.pollingTimeoutMs ?? 10_000;
    this.archival = options.archival ?? false;
    this.archivalListeners = new Set(options.archivalListeners ?? []);
    this.gcEpochs = options.gcEpochs ?? 5;
    this.clock = new DevnetClock({ name: 'near devnet', mode: options.clock ?? 'frozen', speedup: options.speedup ?? 1 });
    this.pushBlock(this.genesisHeight, this.clock.start, '11111111111111111111111111111111');
    this.snapshot();
    this.producer = new BlockProducer({
      clock: this.clock,
      blockMs: this.blockMs,
      headTime: () => this.head.time,
      produce: (time) => this.blockAt(time),
      ...((options.blockProduction ?? 'on-demand') === 'on-demand' ? { tickMs: null } : {}),
    });
  }

  /** Moves chain time forward by `ms`, making a block every `blockMs` (an epoch every `epochLength` blocks). */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Stops block production; pending `tx` long-polls answer as if timed out. */
  close(): void {
    this.producer.stop();
    this.mempool.close();
    for (const waiters of this.inclusionWaiters.values()) for (const resolve of waiters) resolve(undefined);
    this.inclusionWaiters.clear();
  }

  /**
   * The included transaction, waiting up to `ms` (real time) for it to be
   * included; `undefined` if it is not by then. nearcore
   * chain/jsonrpc/src/lib.rs (`tx_status_fetch`) polls the view client
   * until the polling timeout, then answers TIMEOUT_ERROR.
   */
  whenIncluded(hash: string, ms: number): Promise<IncludedTx | undefined> {
    const known = this.included.get(hash);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      let waiters = this.inclusionWaiters.get(hash);
      if (waiters === undefined) this.inclusionWaiters.set(hash, (waiters = new Set()));
      const done = (tx: IncludedTx | undefined): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.inclusionWaiters.delete(hash);
        resolve(tx);
      };
      const timer = setTimeout(() => done(undefined), ms);
      timer.unref();
      waiters.add(done);
    });
  }

  /** Whether `listener` answers as an archival node (without a listener: the chain-wide `archival`). */
  isArchival(listener?: number): boolean {
    return this.archival || (listener !== undefined && this.archivalListeners.has(listener));
  }

  /**
   * The lowest height whose block and state the node behind `listener`
   * still has: genesis on an archival node, else the start of the oldest of
   * the last `gcEpochs` epochs (nearcore chain/chain/src/garbage_collection.rs
   * clears whole epochs older than `gc_num_epochs_to_keep`).
   */
  earliestHeight(listener?: number): number {
    if (this.isArchival(listener)) return this.genesisHeight;
    return this.epochStartHeight(Math.max(1, this.head.epochHeight - this.gcEpochs + 1));
  }

  /** Whether the node behind `listener` has garbage collected the block at `height`. */
  collected(height: number, listener?: number): boolean {
    return height < this.earliestHeight(listener);
  }

  /** The pool leaves the validator set at the next epoch switch (kicked out: it earns nothing while out). */
  leaveValidatorSet(poolId: string): void {
    if (!this.state.pools.has(poolId)) throw new RangeError(`near devnet: unknown pool ${poolId}`);
    this.leaving.add(poolId);
  }

  /** The pool's validator set, of the epoch at `epochHeight` (the current one if not recorded). */
  validatorsOf(epochHeight: number): { validators: string[]; kickedOut: string[] } {
    return this.epochValidators.get(epochHeight) ?? { validators: [...this.state.pools.keys()], kickedOut: [] };
  }

  get head(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  epochOf(height: number): number {
    return Math.floor((height - this.genesisHeight) / this.epochLength) + 1;
  }

  epochStartHeight(epochHeight: number): number {
    return this.genesisHeight + (epochHeight - 1) * this.epochLength;
  }

  private pushBlock(height: number, time: number, prevHash: string): Block {
    const epochHeight = this.epochOf(height);
    const block: Block = {
      height,
      hash: baseEncode(sha256(`${this.chainId}:block:${height}:${prevHash}`)),
      prevHash,
      time,
      epochHeight,
      epochId: baseEncode(sha256(`${this.chainId}:epoch:${epochHeight}`)),
      keyChanges: [],
    };
    this.blocks.push(block);
    this.blockByHash.set(block.hash, block);
    return block;
  }

  /**
   * A block the chain makes on its own (for a transaction, an epoch): with
   * the frozen clock `blockMs` after the last, moving the clock with it;
   * with the wall clock at the wall clock's time.
   */
  newBlock(): Block {
    if (this.clock.mode === 'frozen') {
      // The producer makes the block the clock's move makes due.
      const height = this.head.height;
      this.clock.advance(Math.max(0, this.head.time + this.blockMs - this.clock.now()));
      if (this.head.height === height) this.blockAt(this.head.time + this.blockMs);
      return this.head;
    }
    return this.blockAt(Math.max(this.head.time + 1, this.clock.now()));
  }

  /**
   * A block at `time`; at an epoch switch every pool in the ending epoch's
   * validator set receives its validator reward (nearcore
   * chain/epoch-manager/src/reward_calculator.rs pays at the epoch's end),
   * and pools told to leave are kicked out of the next set.
   */
  private blockAt(time: number): Block {
    const prev = this.head;
    const block = this.pushBlock(prev.height + 1, time, prev.hash);
    if (block.epochHeight !== prev.epochHeight) {
      const ending = this.validatorsOf(prev.epochHeight).validators;
      for (const id of ending) {
        const p = this.state.pools.get(id);
        if (p !== undefined) pool.accrueEpochReward(p);
      }
      const kickedOut = ending.filter((id) => this.leaving.has(id));
      this.leaving.clear();
      this.epochValidators.set(block.epochHeight, { validators: ending.filter((id) => !kickedOut.includes(id)), kickedOut });
      this.snapshot();
      this.collectGarbage();
    }
    return block;
  }

  /**
   * Drops the per-block state snapshots no listener's node has any more (the
   * blocks stay, marked by {@link collected}); kept while one listener is archival.
   */
  private collectGarbage(): void {
    if (this.archival || this.archivalListeners.size > 0) return;
    const earliest = this.earliestHeight();
    // Keep the last snapshot at or below `earliest`: it is the state of the earliest kept block.
    let keepFrom = 0;
    while (keepFrom + 1 < this.snapshots.length && this.snapshots[keepFrom + 1]!.height <= earliest) keepFrom += 1;
    if (keepFrom > 0) this.snapshots.splice(0, keepFrom);
  }

  snapshot(): void {
    const height = this.head.height;
    const last = this.snapshots[this.snapshots.length - 1];
    const state = structuredClone(this.state);
    if (last?.height === height) last.state = state;
    else this.snapshots.push({ height, state });
  }

  /** Produces blocks until a new epoch has begun. */
  nextEpoch(): Block {
    const epoch = this.head.epochHeight;
    while (this.head.epochHeight === epoch) this.newBlock();
    return this.head;
  }

  /** The block at a height or hash; `undefined` if the chain has none. */
  block(ref: number | string): Block | undefined {
    if (typeof ref === 'number') {
      const index = ref - this.genesisHeight;
      return index >= 0 && index < this.blocks.length ? this.blocks[index] : undefined;
    }
    return this.blockByHash.get(ref);
  }

  /** The state after block `height` (archival). */
  stateAt(height: number): ChainState {
    if (height >= this.head.height) return this.state;
    let lo = 0;
    let hi = this.snapshots.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.snapshots[mid]!.height <= height) lo = mid;
      else hi = mid - 1;
    }
    return this.snapshots[lo]!.state;
  }

  /** Creates (or tops up) an account with a fresh full-access ed25519 key; returns the key pair string. */
  createAccount(accountId: string, amount: bigint): string {
    const key = KeyPair.fromRandom('ed25519');
    this.newBlock();
    const existing = this.state.accounts.get(accountId);
    const nonce = BigInt(this.head.height) * 1_000_000n;
    if (existing) {
      existing.amount += amount;
      existing.keys.set(key.getPublicKey().toString(), nonce);
    } else {
      this.state.accounts.set(accountId, { amount, keys: new Map([[key.getPublicKey().toString(), nonce]]) });
    }
    this.snapshot();
    return key.toString();
  }

  /**
   * Adds a fresh ed25519 access key to an existing account, as its owner's
   * AddKey would: full access, or a function-call key with `functionCall`'s
   * permission. Returns the key pair string.
   */
  addKey(accountId: string, functionCall?: FunctionCallPermission): string {
    const account = this.state.accounts.get(accountId);
    if (account === undefined) throw new RangeError(`near devnet: ${accountId} does not exist`);
    const key = KeyPair.fromRandom('ed25519');
    this.newBlock();
    const publicKey = key.getPublicKey().toString();
    // runtime/runtime/src/actions.rs `action_add_key`: a new key's nonce is (block height - 1) * 1e6.
    account.keys.set(publicKey, BigInt(this.head.height - 1) * 1_000_000n);
    if (functionCall !== undefined) (account.functionCallKeys ??= new Map()).set(publicKey, { ...functionCall, methodNames: [...functionCall.methodNames] });
    this.snapshot();
    return key.toString();
  }

  /**
   * Credits `amount` to `accountId` as a transfer from a faucet would,
   * without a transaction: an existing account is topped up; a missing
   * implicit account (64 hex digits, an ed25519 public key) is created with
   * that key as its full-access key (nearcore:
   * runtime/runtime/src/actions.rs `action_implicit_account_creation_transfer`);
   * a missing named account is refused (only its parent can create it).
   */
  fund(accountId: string, amount: bigint): void {
    const existing = this.state.accounts.get(accountId);
    if (existing === undefined && !/^[0-9a-f]{64}$/.test(accountId)) throw new RangeError(`near devnet: ${accountId} does not exist; a transfer creates only implicit accounts`);
    this.newBlock();
    if (existing !== undefined) existing.amount += amount;
    else this.state.accounts.set(accountId, { amount, keys: new Map([[`ed25519:${baseEncode(Buffer.from(accountId, 'hex'))}`, BigInt(this.head.height - 1) * 1_000_000n]]) });
    this.snapshot();
  }

  /** Deploys a staking pool with `initialStake` staked by nobody (as the contract's `new` does). */
  createPool(id: string, options: { ownerId: string; initialStake: bigint; rewardPpmPerEpoch: number; fee: [number, number] }): void {
    this.newBlock();
    this.state.accounts.set(id, { amount: 0n, keys: new Map() });
    this.state.pools.set(id, {
      id,
      ownerId: options.ownerId,
      lastEpochHeight: BigInt(this.head.epochHeight),
      totalStakedBalance: options.initialStake,
      totalStakeShares: options.initialStake,
      rewardFeeNumerator: options.fee[0],
      rewardFeeDenominator: options.fee[1],
      undistributed: 0n,
      rewardPpmPerEpoch: BigInt(options.rewardPpmPerEpoch),
      accounts: new Map(),
    });
    const set = this.epochValidators.get(this.head.epochHeight);
    if (set !== undefined) set.validators.push(id);
    this.snapshot();
  }

  /** Cuts `bps` of a pool's total staked balance, in a new block (lowers the share price). */
  slash(poolId: string, bps: number): void {
    const p = this.state.pools.get(poolId);
    if (p === undefined) throw new RangeError(`near devnet: unknown pool ${poolId}`);
    if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new RangeError(`near devnet: slash bps must be an integer in 0..10000`);
    const block = this.newBlock();
    const before = new Map([...p.accounts].map(([id, a]) => [id, pool.amountRoundedDown(p, a.stakeShares)]));
    p.totalStakedBalance -= (p.totalStakedBalance * BigInt(bps)) / 10_000n;
    for (const [id, a] of p.accounts) {
      this.slashes.record({ account: id, kind: 'slash', amount: before.get(id)! - pool.amountRoundedDown(p, a.stakeShares), at: block.time, height: BigInt(block.height), ref: `slash:${poolId}` });
    }
    this.snapshot();
  }

  /**
   * The ground truth for an account, in the kit's convention: `net` is the
   * growth of its pool balances (staked + unstaked) that its deposits and
   * withdrawals do not explain (rewards minus slashes, plus the contract's
   * share rounding, a yoctoNEAR here and there); `slashed` what slashes cut
   * from its stake; `paid = net + slashed`.
   */
  truthOf(accountId: string): { paid: bigint; slashed: bigint; net: bigint } {
    const net = this.poolBalances(accountId).reduce((sum, b) => sum + b.staked + b.unstaked - b.deposited + b.withdrawn, 0n);
    const { slashed } = this.slashes.of(accountId);
    return { paid: net + slashed, slashed, net };
  }

  /**
   * Checks a signed transaction and, unless the mempool drops it, includes
   * it (after the delay the mempool gives it). Returns the included tx, or
   * `undefined` if dropped.
   */
  submit(bytes: Uint8Array): IncludedTx | undefined | Promise<IncludedTx | undefined> {
    let signed: SignedTransaction;
    try {
      signed = decodeSignedTransaction(bytes);
    } catch (error) {
      throw new TxParseError(`failed to decode transaction: ${(error as Error).message}`);
    }
    const tx = signed.transaction;
    const txBytes = encodeTransaction(tx);
    const hashBytes = sha256(txBytes);
    const hash = baseEncode(hashBytes);
    const known = this.included.get(hash);
    if (known) return known;
    const waiting = this.waiting.get(hash);
    if (waiting !== undefined) return waiting;

    const signer = this.state.accounts.get(tx.signerId);
    if (signer === undefined) throw new InvalidTx({ SignerDoesNotExist: { signer_id: tx.signerId } }, hash);
    const publicKey = tx.publicKey.toString();
    const akNonce = signer.keys.get(publicKey);
    if (akNonce === undefined) {
      throw new InvalidTx({ InvalidAccessKeyError: { AccessKeyNotFound: { account_id: tx.signerId, public_key: publicKey } } }, hash);
    }
    // Decoded borsh enums are plain objects: `{ ed25519Signature: { data } }`.
    const signature = (signed.signature as unknown as { ed25519Signature?: { data: ArrayLike<number> } }).ed25519Signature;
    if (tx.publicKey.keyType !== 0 || signature === undefined || !tx.publicKey.verify(hashBytes, Uint8Array.from(signature.data))) {
      throw new InvalidTx('InvalidSignature', hash);
    }
    const refBlock = this.block(baseEncode(Uint8Array.from(tx.blockHash)));
    if (refBlock === undefined || this.head.height - refBlock.height > this.txValidityBlocks) throw new InvalidTx('Expired', hash);
    if (tx.nonce <= akNonce) throw new InvalidTx({ InvalidNonce: { tx_nonce: Number(tx.nonce), ak_nonce: Number(akNonce) } }, hash);
    // runtime/runtime/src/verifier.rs (`verify_and_charge_transaction`): a function-call key signs
    // exactly one FunctionCall, without deposit, to its receiver, of one of its methods.
    const permission = signer.functionCallKeys?.get(publicKey);
    if (permission !== undefined) {
      const call = tx.actions.length === 1 ? tx.actions[0]!.functionCall : undefined;
      if (call === undefined) throw new InvalidTx({ InvalidAccessKeyError: 'RequiresFullAccess' }, hash);
      if (call.deposit > 0n) throw new InvalidTx({ InvalidAccessKeyError: 'DepositWithFunctionCall' }, hash);
      if (tx.receiverId !== permission.receiverId) throw new InvalidTx({ InvalidAccessKeyError: { ReceiverMismatch: { tx_receiver: tx.receiverId, ak_receiver: permission.receiverId } } }, hash);
      if (permission.methodNames.length > 0 && !permission.methodNames.includes(call.methodName)) throw new InvalidTx({ InvalidAccessKeyError: { MethodNameMismatch: { method_name: call.methodName } } }, hash);
    }
    const upperBound = BigInt(this.head.height + 1) * 1_000_000n;
    if (tx.nonce > upperBound) throw new InvalidTx({ NonceTooLarge: { tx_nonce: Number(tx.nonce), upper_bound: Number(upperBound) } }, hash);
    let deposits = 0n;
    let prepaid = 0n;
    for (const action of tx.actions) {
      if (action.functionCall) {
        deposits += action.functionCall.deposit;
        prepaid += action.functionCall.gas;
      } else if (action.transfer) {
        deposits += action.transfer.deposit;
      }
    }
    const cost = deposits + (TX_GAS + prepaid) * GAS_PRICE;
    if (signer.amount < cost) {
      throw new InvalidTx({ NotEnoughBalance: { signer_id: tx.signerId, balance: signer.amount.toString(), cost: cost.toString() } }, hash);
    }
    const entry = this.mempool.add(hash, signed);
    if (entry === undefined) return undefined;
    const wait = entry.readyAt - Date.now();
    if (wait <= 0) return this.include(entry, publicKey);
    const later = sleep(wait).then(() => {
      this.waiting.delete(hash);
      return this.include(entry, publicKey);
    });
    this.waiting.set(hash, later);
    return later;
  }

  /**
   * Includes a transaction the way nearcore runs it, one step per block
   * (runtime/runtime/src/lib.rs: a receipt made in one block executes in
   * the next): block N converts the transaction into its receipt and
   * charges the signer everything it may cost, burnt conversion gas, the
   * attached gas at the gas price and the deposit (verifier.rs
   * `verify_and_charge_transaction`); N+1 runs the function call on the
   * pool; if the pool restakes, N+2 its stake action and N+3 its
   * `on_stake_action` callback (a withdrawal's transfer arrives in N+2); the
   * block after the last gives the signer back the attached gas nothing
   * burnt (a refund receipt). The fee is what was burnt; 3/10 of the gas a
   * call burns on the pool is paid to the pool's account
   * (runtime config `burnt_gas_reward`), which its next ping distributes.
   * Every block is final at once, so `send_tx` answers after the last.
   */
  private include(entry: MempoolEntry<SignedTransaction>, publicKey: string): IncludedTx {
    this.mempool.remove(entry.hash);
    const signed = entry.tx;
    const hash = entry.hash;
    const tx = signed.transaction;
    const account = () => this.state.accounts.get(tx.signerId)!;

    // Block N: the transaction becomes a receipt; the signer pays for everything up front.
    const txBlock = this.newBlock();
    account().keys.set(publicKey, tx.nonce);
    txBlock.keyChanges.push({ accountId: tx.signerId, publicKey, nonce: tx.nonce, txHash: hash });
    const txFee = TX_GAS * GAS_PRICE;
    let prepaid = 0n;
    let deposits = 0n;
    const actionsJson: unknown[] = [];
    for (const action of tx.actions) {
      if (action.functionCall) {
        const fc = action.functionCall;
        prepaid += fc.gas;
        deposits += fc.deposit;
        actionsJson.push({ FunctionCall: { method_name: fc.methodName, args: Buffer.from(fc.args).toString('base64'), gas: Number(fc.gas), deposit: fc.deposit.toString() } });
      } else if (action.transfer) {
        deposits += action.transfer.deposit;
        actionsJson.push({ Transfer: { deposit: action.transfer.deposit.toString() } });
      } else {
        actionsJson.push(Object.keys(action)[0] ?? 'unknown');
      }
    }
    account().amount -= txFee + prepaid * GAS_PRICE + deposits;
    this.snapshot();

    // Block N+1: the receipt runs its actions on the receiver; a failure rolls its changes back.
    const callBlock = this.newBlock();
    const logs: string[] = [];
    let failure: Record<string, unknown> | undefined;
    let burnt = 0n;
    let restake = false;
    let transfer = 0n;
    const before = structuredClone(this.state);
    try {
      tx.actions.forEach((action, index) => {
        if (action.functionCall) {
          const fc = action.functionCall;
          const gas = fc.gas < CALL_GAS ? fc.gas : CALL_GAS;
          burnt += gas;
          if (entry.fail) throw new ActionFailure(index, { FunctionCallError: { ExecutionError: 'Smart contract panicked: injected failure (devnet failNextTx)' } });
          if (fc.gas < CALL_GAS) throw new ActionFailure(index, { FunctionCallError: { ExecutionError: 'Exceeded the prepaid gas.' } });
          const target = this.state.pools.get(tx.receiverId);
          if (!this.state.accounts.has(tx.receiverId)) throw new ActionFailure(index, { AccountDoesNotExist: { account_id: tx.receiverId } });
          if (target === undefined) throw new ActionFailure(index, { FunctionCallError: { CompilationError: { CodeDoesNotExist: { account_id: tx.receiverId } } } });
          let args: Record<string, unknown> = {};
          if (fc.args.length > 0) {
            try {
              const parsed: unknown = JSON.parse(Buffer.from(fc.args).toString('utf8'));
              if (typeof parsed === 'object' && parsed !== null) args = parsed as Record<string, unknown>;
            } catch {
              throw new ActionFailure(index, { FunctionCallError: { ExecutionError: 'Smart contract panicked: Failed to deserialize input from JSON.' } });
            }
          }
          let result: pool.CallResult;
          try {
            result = pool.call(target, fc.methodName, args, tx.signerId, fc.deposit, BigInt(callBlock.epochHeight));
          } catch (error) {
            if (error instanceof pool.ContractPanic) throw new ActionFailure(index, { FunctionCallError: { ExecutionError: `Smart contract panicked: ${error.message}` } });
            throw error;
          }
          if (result.restake && fc.gas < gas + STAKE_ACTION_GAS + pool.ON_STAKE_ACTION_GAS) {
            // nearcore runtime/near-vm-runner logic: a promise attaching more gas than is left fails the
            // call with GasExceeded, and all the prepaid gas is burnt.
            burnt += fc.gas - gas;
            throw new ActionFailure(index, { FunctionCallError: { ExecutionError: 'Exceeded the prepaid gas.' } });
          }
          target.undistributed += (gas * BURNT_GAS_REWARD_NUM * GAS_PRICE) / BURNT_GAS_REWARD_DEN;
          logs.push(...result.logs);
          transfer += result.transfer;
          restake ||= result.restake;
        } else if (action.transfer) {
          const receiver = this.state.accounts.get(tx.receiverId);
          if (receiver === undefined) throw new ActionFailure(index, { AccountDoesNotExist: { account_id: tx.receiverId } });
          receiver.amount += action.transfer.deposit;
        } else {
          const kind = Object.keys(action)[0] ?? 'unknown';
          throw new ActionFailure(index, { UnsupportedProtocolFeature: { protocol_feature: `devnet: action ${kind}`, version: 0 } });
        }
      });
    } catch (error) {
      if (!(error instanceof ActionFailure)) throw error;
      // A failed receipt's state changes roll back; the gas stays burnt, the deposits come back with the refund.
      this.state = before;
      logs.length = 0;
      failure = { ActionError: { index: error.index, kind: error.kind } };
      restake = false;
      transfer = 0n;
    }
    this.snapshot();
    const status = failure ? { Failure: failure } : { SuccessValue: '' };
    const receipts: { id: string; block: Block; executor: string; gas: bigint; logs: string[]; status: unknown }[] = [];
    const receiptId = (n: number) => baseEncode(sha256(`${hash}:receipt:${n}`));
    receipts.push({ id: receiptId(0), block: callBlock, executor: tx.receiverId, gas: burnt, logs: [...logs], status });

    // N+2: the pool's stake action, and what a withdrawal sends back; N+3: the callback.
    if (restake || transfer > 0n) {
      const next = this.newBlock();
      if (transfer > 0n) {
        account().amount += transfer;
        receipts.push({ id: receiptId(receipts.length), block: next, executor: tx.signerId, gas: 0n, logs: [], status: { SuccessValue: '' } });
      }
      if (restake) {
        receipts.push({ id: receiptId(receipts.length), block: next, executor: tx.receiverId, gas: STAKE_ACTION_GAS, logs: [], status: { SuccessValue: '' } });
        this.snapshot();
        const callback = this.newBlock();
        receipts.push({ id: receiptId(receipts.length), block: callback, executor: tx.receiverId, gas: ON_STAKE_CALLBACK_GAS, logs: [], status: { SuccessValue: '' } });
      }
      this.snapshot();
    }
    const receiptGas = receipts.reduce((sum, r) => sum + r.gas, 0n);

    // The refund: the attached gas nothing burnt, and the deposits of a failed call.
    const refund = (prepaid - receiptGas) * GAS_PRICE + (failure === undefined ? 0n : deposits);
    if (refund > 0n) {
      const refundBlock = this.newBlock();
      account().amount += refund;
      receipts.push({ id: receiptId(receipts.length), block: refundBlock, executor: tx.signerId, gas: 0n, logs: [], status: { SuccessValue: '' } });
      this.snapshot();
    }

    const outcome = {
      final_execution_status: 'FINAL',
      status,
      transaction: {
        signer_id: tx.signerId,
        public_key: publicKey,
        nonce: Number(tx.nonce),
        receiver_id: tx.receiverId,
        actions: actionsJson,
        signature: `ed25519:${baseEncode(Uint8Array.from((signed.signature as unknown as { ed25519Signature: { data: ArrayLike<number> } }).ed25519Signature.data))}`,
        hash,
        priority_fee: 0,
      },
      transaction_outcome: {
        id: hash,
        block_hash: txBlock.hash,
        proof: [],
        outcome: {
          logs: [],
          receipt_ids: [receiptId(0)],
          gas_burnt: Number(TX_GAS),
          tokens_burnt: txFee.toString(),
          executor_id: tx.signerId,
          status: { SuccessReceiptId: receiptId(0) },
          metadata: { version: 1, gas_profile: null },
        },
      },
      receipts_outcome: receipts.map((r, i) => ({
        id: r.id,
        block_hash: r.block.hash,
        proof: [],
        outcome: {
          logs: r.logs,
          receipt_ids: i + 1 < receipts.length ? [receipts[i + 1]!.id] : [],
          gas_burnt: Number(r.gas),
          tokens_burnt: (r.gas * GAS_PRICE).toString(),
          executor_id: r.executor,
          status: r.status,
          metadata: { version: 3, gas_profile: [] },
        },
      })),
    };
    const result: IncludedTx = { hash, signerId: tx.signerId, height: this.head.height, outcome };
    this.included.set(hash, result);
    for (const resolve of [...(this.inclusionWaiters.get(hash) ?? [])]) resolve(result);
    // Only this answer is lost; the same bytes sent again get the stored outcome.
    return entry.loseResponse ? { ...result, loseResponse: true } : result;
  }

  /** A delegator's balances in every pool, at the latest block. */
  poolBalances(accountId: string): { pool: string; staked: bigint; unstaked: bigint; availableEpoch: bigint; deposited: bigint; withdrawn: bigint }[] {
    const out = [];
    for (const p of this.state.pools.values()) {
      const a = p.accounts.get(accountId);
      if (a === undefined) continue;
      out.push({
        pool: p.id,
        staked: pool.amountRoundedDown(p, a.stakeShares),
        unstaked: a.unstaked,
        availableEpoch: a.unstakedAvailableEpochHeight,
        deposited: a.deposited,
        withdrawn: a.withdrawn,
      });
    }
    return out;
  }

  /** Decodes a base58 block hash or returns undefined. */
  static blockHashBytes(hash: string): Uint8Array | undefined {
    try {
      return baseDecode(hash);
    } catch {
      return undefined;
    }
  }
}

class ActionFailure extends Error {
  constructor(
    readonly index: number,
    readonly kind: Record<string, unknown>,
  ) {
    super('action failed');
  }
}
