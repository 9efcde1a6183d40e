/**
 * The NEAR devnet's chain: accounts with ed25519 access keys and nonces,
 * blocks with epochs, staking-pool contracts (pool.ts), and the checks
 * nearcore makes before a transaction is included (signature over
 * sha256(borsh(Transaction)), access-key nonce, block-hash recency, balance).
 *
 * Simplifications, each harmless to an RPC client: one block per included
 * transaction, its receipts executed in the same block; every block is final
 * at once; a fixed gas per call; the state is kept per block (an archival
 * node), so queries by `block_id` see the past.
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
/** Gas burnt by one function call receipt (fixed in the devnet). */
export const CALL_GAS = 5_000_000_000_000n;
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

export interface AccountState {
  amount: bigint;
  /** Access keys: public key string → nonce. */
  keys: Map<string, bigint>;
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
   * Blocks the node keeps: a regular (non-archival) node garbage-collects
   * everything older (nearcore `gc_num_epochs_to_keep`, 5 epochs by
   * default), reports the first block it keeps as `earliest_block_height`
   * and refuses older ones. Unset: an archival node, keeping every block.
   * @defaultValue undefined (archival)
   */
  keepBlocks?: number;
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
  /** See {@link NearChainOptions.keepBlocks}; `undefined`: archival. */
  readonly keepBlocks: number | undefined;
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

  constructor(options: NearChainOptions = {}) {
    this.chainId = options.chainId ?? 'near-devnet';
    this.epochLength = options.epochLength ?? 20;
    this.blockMs = options.blockMs ?? 1000;
    this.txValidityBlocks = options.txValidityBlocks ?? 86_400;
    this.genesisHeight = options.genesisHeight ?? 1000;
    if (options.keepBlocks !== undefined && (!Number.isSafeInteger(options.keepBlocks) || options.keepBlocks < 1)) throw new RangeError('near devnet: keepBlocks must be a whole number ≥ 1');
    this.keepBlocks = options.keepBlocks;
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

  /** Stops block production. */
  close(): void {
    this.producer.stop();
    this.mempool.close();
  }

  /** The first block the node still keeps: genesis on an archival node. */
  earliestHeight(): number {
    return this.keepBlocks === undefined ? this.genesisHeight : Math.max(this.genesisHeight, this.head.height - this.keepBlocks + 1);
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

  /** A block at `time`; at an epoch switch every pool receives its validator reward. */
  private blockAt(time: number): Block {
    const prev = this.head;
    const block = this.pushBlock(prev.height + 1, time, prev.hash);
    if (block.epochHeight !== prev.epochHeight) {
      for (const p of this.state.pools.values()) pool.accrueEpochReward(p);
      this.snapshot();
    }
    return block;
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

  private include(entry: MempoolEntry<SignedTransaction>, publicKey: string): IncludedTx {
    this.mempool.remove(entry.hash);
    const signed = entry.tx;
    const hash = entry.hash;
    const tx = signed.transaction;
    const signer = this.state.accounts.get(tx.signerId)!;
    const block = this.newBlock();
    signer.keys.set(publicKey, tx.nonce);
    block.keyChanges.push({ accountId: tx.signerId, publicKey, nonce: tx.nonce, txHash: hash });
    const txFee = TX_GAS * GAS_PRICE;
    signer.amount -= txFee;

    const receiptId = baseEncode(sha256(`${hash}:receipt:0`));
    const inject = entry.fail;
    const logs: string[] = [];
    let failure: Record<string, unknown> | undefined;
    let receiptGas = 0n;
    const before = structuredClone(this.state);
    const actionsJson: unknown[] = [];
    try {
      tx.actions.forEach((action, index) => {
        if (action.functionCall) {
          const fc = action.functionCall;
          actionsJson.push({ FunctionCall: { method_name: fc.methodName, args: Buffer.from(fc.args).toString('base64'), gas: Number(fc.gas), deposit: fc.deposit.toString() } });
          const gas = fc.gas < CALL_GAS ? fc.gas : CALL_GAS;
          receiptGas += gas;
          signer.amount -= gas * GAS_PRICE + fc.deposit;
          if (inject) throw new ActionFailure(index, { FunctionCallError: { ExecutionError: 'Smart contract panicked: injected failure (devnet failNextTx)' } });
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
          try {
            const result = pool.call(target, fc.methodName, args, tx.signerId, fc.deposit, BigInt(block.epochHeight));
            logs.push(...result.logs);
            if (result.transfer > 0n) signer.amount += result.transfer;
          } catch (error) {
            if (error instanceof pool.ContractPanic) throw new ActionFailure(index, { FunctionCallError: { ExecutionError: `Smart contract panicked: ${error.message}` } });
            throw error;
          }
        } else if (action.transfer) {
          actionsJson.push({ Transfer: { deposit: action.transfer.deposit.toString() } });
          signer.amount -= action.transfer.deposit;
          const receiver = this.state.accounts.get(tx.receiverId);
          if (receiver === undefined) throw new ActionFailure(index, { AccountDoesNotExist: { account_id: tx.receiverId } });
          receiver.amount += action.transfer.deposit;
        } else {
          const kind = Object.keys(action)[0] ?? 'unknown';
          actionsJson.push(kind);
          throw new ActionFailure(index, { UnsupportedProtocolFeature: { protocol_feature: `devnet: action ${kind}`, version: 0 } });
        }
      });
    } catch (error) {
      if (!(error instanceof ActionFailure)) throw error;
      // A failed receipt's state changes roll back; the gas stays burnt, deposits come back.
      const burnt = receiptGas * GAS_PRICE;
      this.state = before;
      const restored = this.state.accounts.get(tx.signerId)!;
      restored.amount -= burnt;
      logs.length = 0;
      failure = { ActionError: { index: error.index, kind: error.kind } };
    }
    const receiptTokens = receiptGas * GAS_PRICE;
    const status = failure ? { Failure: failure } : { SuccessValue: '' };
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
        block_hash: block.hash,
        proof: [],
        outcome: {
          logs: [],
          receipt_ids: [receiptId],
          gas_burnt: Number(TX_GAS),
          tokens_burnt: txFee.toString(),
          executor_id: tx.signerId,
          status: { SuccessReceiptId: receiptId },
          metadata: { version: 1, gas_profile: null },
        },
      },
      receipts_outcome: [
        {
          id: receiptId,
          block_hash: block.hash,
          proof: [],
          outcome: {
            logs,
            receipt_ids: [],
            gas_burnt: Number(receiptGas),
            tokens_burnt: receiptTokens.toString(),
            executor_id: tx.receiverId,
            status,
            metadata: { version: 3, gas_profile: [] },
          },
        },
      ],
    };
    this.snapshot();
    const result: IncludedTx = { hash, signerId: tx.signerId, height: block.height, outcome };
    this.included.set(hash, result);
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
