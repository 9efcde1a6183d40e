/**
 * The NEAR adapter: delegation through staking-pool contracts
 * (`deposit_and_stake`, `unstake`, `withdraw_all`, `ping`), on near-api-js 7
 * over NEAR JSON-RPC with endpoint failover.
 *
 * Rewards auto-compound (a rising share price), so `harvest` measures each
 * pool's balance per epoch and reports the growth the custody's own flows do
 * not explain; the flows are read from the chain itself (see harvest below
 * and checkpoint.ts). Config: {@link NearOptions}.
 */
import { actions, baseDecode, baseEncode, createTransaction, decodeSignedTransaction, type KeyPairSigner } from 'near-api-js';
import {
  AccessKeyDoesNotExistError,
  AccountDoesNotExistError,
  TransactionExecutionError,
  TransactionExpiredError,
  TransactionTimeoutError,
  UnknownBlockError,
  UnknownTransactionError,
} from 'near-api-js/rpc-errors';
import * as z from 'zod';
import { ChainProtocolError, TxExpiredError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import { readSigningSecret } from '../signer.js';
import type {
  AdapterConfig,
  AdapterModule,
  ChainAdapter,
  ChainLimits,
  DueAction,
  HarvestResult,
  Position,
  RewardEvent,
  SignedTx,
  StakeAction,
  TxReceipt,
  TxStatus,
  Unbonding,
  ValidatorHealth,
} from '../types.js';
import { failed, feeOf, flowsOf, outcomeSchema, parseCheckpoint, serializeCheckpoint, type NearCheckpoint, type Outcome } from './checkpoint.js';
import { parseCustodyKey, type CustodyKey } from './key.js';
import { optionsSchema, resolveOptions, type NearOptions, type ResolvedNearOptions } from './options.js';
import { NearRpc, type RpcCounter } from './rpc.js';

export type { NearOptions } from './options.js';

const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/).transform(BigInt);

const blockSchema = z.object({
  header: z.object({ height: z.number().int(), hash: z.string(), epoch_id: z.string(), timestamp_nanosec: uint }).loose(),
});
const accountSchema = z.object({ amount: uint, block_height: z.number().int(), storage_usage: z.number().int().nonnegative() }).loose();
const protocolConfigSchema = z.object({ transaction_validity_period: z.number().int().positive() }).loose();
const accessKeyListSchema = z.object({ keys: z.array(z.object({ public_key: z.string(), access_key: z.object({ nonce: z.number().int().nonnegative() }).loose() })) }).loose();
const accessKeySchema = z.object({ nonce: z.number().int().nonnegative(), block_hash: z.string(), block_height: z.number().int() }).loose();
const poolAccountSchema = z.object({ unstaked_balance: uint, staked_balance: uint, can_withdraw: z.boolean() }).loose();
const validatorsSchema = z.object({
  current_validators: z.array(z.object({ account_id: z.string(), is_slashed: z.boolean().optional() }).loose()),
  epoch_start_height: z.number().int(),
}).loose();
const statusSchema = z.object({ chain_id: z.string(), sync_info: z.object({ earliest_block_height: z.number().int().optional() }).loose() }).loose();
const changesSchema = z.object({
  changes: z.array(z.object({ cause: z.object({ type: z.string(), tx_hash: z.string().optional() }).loose(), change: z.object({ public_key: z.string().optional() }).loose() }).loose()),
});

interface Head {
  height: number;
  hash: string;
  epochId: string;
  /** ms */
  at: number;
}

/** Options for tests: see each RPC method called. Not part of the config. */
export interface NearAdapterInternals {
  onRpc?: RpcCounter;
}

/**
 * yoctoNEAR an account must hold per byte of storage it uses
 * (`storage_amount_per_byte` in nearcore's runtime config, 10^19 since
 * genesis); the account cannot spend below it.
 */
const STORAGE_AMOUNT_PER_BYTE = 10n ** 19n;

class NearAdapter implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly rpc: NearRpc;
  private readonly poolSet: ReadonlySet<string>;
  private key: Promise<CustodyKey> | undefined;
  private checkedChain: Promise<void> | undefined;
  private validityPeriod: Promise<number> | undefined;
  private requests = 0;

  constructor(
    private readonly config: AdapterConfig<NearOptions>,
    private readonly options: ResolvedNearOptions,
    internals: NearAdapterInternals = {},
  ) {
    this.name = config.name;
    this.asset = config.asset;
    this.rpc = new NearRpc(config.name, config.endpoints, config.requestTimeoutMs, (method) => {
      this.requests += 1;
      internals.onRpc?.(method);
    });
    this.poolSet = new Set(options.pools);
  }

  rpcRequests(): number {
    return this.requests;
  }

  /**
   * The custody account id: `options.accountId` or the chain block's
   * `address`, else (reading the key) the key file's `account_id`.
   */
  async address(): Promise<string> {
    const configured = this.options.accountId ?? this.config.address;
    if (configured !== undefined) return configured;
    return (await this.custody()).accountId;
  }

  /** The signing key; only `sign` needs it. */
  private custody(): Promise<CustodyKey> {
    this.key ??= readSigningSecret(this.name, this.config.signer).then((secret) => parseCustodyKey(this.name, secret, this.options.accountId ?? this.config.address));
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  private parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ChainProtocolError(this.name, `unexpected answer to ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  /** Refuses endpoints serving another network (once per adapter). */
  private checkNetwork(): Promise<void> {
    if (this.options.networkId === undefined) return Promise.resolve();
    this.checkedChain ??= this.rpc.raw('status', []).then((json) => {
      const status = this.parse(statusSchema, json, 'status');
      if (status.chain_id !== this.options.networkId) {
        throw new ChainProtocolError(this.name, `endpoint serves chain ${status.chain_id}, the config expects ${this.options.networkId}`);
      }
    });
    this.checkedChain.catch(() => {
      this.checkedChain = undefined;
    });
    return this.checkedChain;
  }

  /** The final block, or the block of a height or hash. */
  private async head(blockId?: number | string): Promise<Head> {
    await this.checkNetwork();
    const json = await this.rpc.raw('block', blockId === undefined ? { finality: 'final' } : { block_id: blockId });
    const { header } = this.parse(blockSchema, json, 'block');
    return { height: header.height, hash: header.hash, epochId: header.epoch_id, at: Number(header.timestamp_nanosec / 1_000_000n) };
  }

  private async poolAccount(pool: string, accountId: string, height: number): Promise<z.output<typeof poolAccountSchema>> {
    let json: unknown;
    try {
      json = await this.rpc.view(pool, 'get_account', { account_id: accountId }, height);
    } catch (error) {
      if (error instanceof SyntaxError) throw new ChainProtocolError(this.name, `${pool}.get_account: ${error.message}`);
      throw error;
    }
    return this.parse(poolAccountSchema, json, `${pool}.get_account`);
  }

  /** The custody account at a height: its liquid balance and the storage reserve it cannot spend. */
  private async account(accountId: string, height: number): Promise<z.output<typeof accountSchema>> {
    return this.parse(accountSchema, await this.rpc.raw('query', { request_type: 'view_account', account_id: accountId, block_id: height }), 'view_account');
  }

  /** Every part read at the final block's height. */
  async position(): Promise<Position> {
    const accountId = await this.address();
    const head = await this.head();
    const account = await this.account(accountId, head.height);
    const delegations: Position['delegations'] = [];
    const unbonding: Unbonding[] = [];
    let withdrawable = 0n;
    for (const pool of this.options.pools) {
      const entry = await this.poolAccount(pool, accountId, head.height);
      if (entry.staked_balance > 0n) delegations.push({ validator: pool, amount: entry.staked_balance });
      if (entry.unstaked_balance === 0n) continue;
      if (entry.can_withdraw) {
        withdrawable += entry.unstaked_balance;
      } else {
        // The pool does not say when its lock ends; `unstake` locks for epochsToUnlock epochs from the
        // current one, so the start of the epoch that many epochs ahead is a bound it never passes.
        unbonding.push({ validator: pool, amount: entry.unstaked_balance, completesAt: head.at + this.options.epochsToUnlock * this.options.epochDurationMs });
      }
    }
    return {
      height: BigInt(head.height),
      at: head.at,
      liquid: account.amount,
      bonded: delegations.reduce((sum, d) => sum + d.amount, 0n),
      delegations,
      unbonding,
      withdrawable,
      pendingRewards: 0n,
      validators: await this.health(head.height),
    };
  }

  /**
   * NEAR's limits: a staking pool takes any positive deposit; an account
   * keeps its storage staked (storage_usage × storage_amount_per_byte;
   * nearcore runtime/runtime/src/verifier.rs refuses a transaction that
   * would leave less: LackBalanceForState). A pool keeps one unstaked
   * balance per account, so unbonding entries are not limited, but a new
   * `unstake` restarts the lock of everything still unstaked
   * (core-contracts staking-pool internal_unstake).
   */
  async limits(): Promise<ChainLimits> {
    const head = await this.head();
    const account = await this.account(await this.address(), head.height);
    return { minStake: 1n, step: 1n, reserve: BigInt(account.storage_usage) * STORAGE_AMOUNT_PER_BYTE };
  }

  /**
   * What is due, per pool the custody has funds in: `withdraw_all` where
   * unstaked funds are unlocked (it also pings), else a `ping` where the
   * pool was not yet measured in this epoch, so its accounting includes the
   * epoch's rewards before the harvest reads it. NEAR rewards never expire.
   */
  async due(checkpoint: string | null): Promise<DueAction[]> {
    const accountId = await this.address();
    const head = await this.head();
    const measured = checkpoint === null ? undefined : parseCheckpoint(checkpoint);
    const due: DueAction[] = [];
    for (const pool of this.options.pools) {
      const entry = await this.poolAccount(pool, accountId, head.height);
      if (entry.staked_balance + entry.unstaked_balance === 0n) continue;
      if (entry.can_withdraw && entry.unstaked_balance > 0n) {
        due.push({ action: { kind: 'withdraw', validator: pool }, amount: entry.unstaked_balance });
      } else if (measured?.pools[pool]?.epochId !== head.epochId) {
        due.push({ action: { kind: 'claim', validators: [pool] } });
      }
    }
    return due;
  }

  steps(_action: StakeAction): number {
    return 1;
  }

  /** Whether each pool is in the current validator set; empty when the node cannot tell. */
  private async health(height: number): Promise<ValidatorHealth[]> {
    let json: unknown;
    try {
      json = await this.rpc.raw('validators', { block_id: height });
    } catch (error) {
      if (error instanceof ChainProtocolError || (error as { retryable?: boolean }).retryable === true) throw error;
      return [];
    }
    const set = this.parse(validatorsSchema, json, 'validators');
    return this.options.pools.map((pool) => {
      const v = set.current_validators.find((c) => c.account_id === pool);
      return { validator: pool, active: v !== undefined, jailed: v?.is_slashed === true };
    });
  }

  async sign(action: StakeAction, step = 0): Promise<SignedTx> {
    const refuse = (code: string, log: string) => new TxRejectedError(this.name, undefined, code, log, false);
    if (step !== 0) throw refuse('invalid-step', `a NEAR ${action.kind} is one transaction; there is no step ${step}`);
    const pool = action.kind === 'claim' ? action.validators[0] : action.validator;
    if (action.kind === 'claim' && action.validators.length !== 1) throw refuse('invalid-claim', 'a NEAR claim pings exactly one pool');
    if (pool === undefined) throw refuse('invalid-withdraw', 'a NEAR withdrawal names its pool');
    if ((action.kind === 'delegate' || action.kind === 'undelegate') && action.amount <= 0n) {
      throw refuse('invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`);
    }
    if (!this.poolSet.has(pool)) throw refuse('unknown-pool', `${pool} is not one of the configured staking pools`);
    switch (action.kind) {
      case 'delegate':
        return this.signCall(pool, 'deposit_and_stake', {}, action.amount);
      case 'undelegate':
        return this.signCall(pool, 'unstake', { amount: action.amount.toString() }, 0n);
      case 'claim':
        return this.signCall(pool, 'ping', {}, 0n);
      case 'withdraw':
        return this.signCall(pool, 'withdraw_all', {}, 0n);
    }
  }

  /** `transaction_validity_period` (blocks), from the node's protocol config, once. */
  private transactionValidity(): Promise<number> {
    this.validityPeriod ??= this.rpc.raw('EXPERIMENTAL_protocol_config', { finality: 'final' }).then((json) => this.parse(protocolConfigSchema, json, 'EXPERIMENTAL_protocol_config').transaction_validity_period);
    this.validityPeriod.catch(() => {
      this.validityPeriod = undefined;
    });
    return this.validityPeriod;
  }

  /** Signs one function call with the access key's next nonce and a recent final block hash. */
  private async signCall(pool: string, method: string, args: object, deposit: bigint): Promise<SignedTx> {
    const key = await this.custody();
    await this.checkNetwork();
    let json: unknown;
    try {
      json = await this.rpc.raw('query', { request_type: 'view_access_key', account_id: key.accountId, public_key: key.publicKey.toString(), finality: 'final' });
    } catch (error) {
      if (error instanceof AccessKeyDoesNotExistError || error instanceof AccountDoesNotExistError) {
        throw new ChainProtocolError(this.name, `signer: ${key.accountId} has no access key ${key.publicKey.toString()} (wrong key file?)`);
      }
      throw error;
    }
    const accessKey = this.parse(accessKeySchema, json, 'view_access_key');
    const tx = createTransaction(key.accountId, key.publicKey, pool, BigInt(accessKey.nonce) + 1n, [actions.functionCall(method, args, this.options.gas, deposit)], baseDecode(accessKey.block_hash));
    const { txHash, signedTransaction } = await (key.signer as KeyPairSigner).signTransaction(tx);
    // nearcore chain/chain/src/store/mod.rs (check_transaction_validity_period): a transaction whose
    // reference block is more than transaction_validity_period blocks below the chunk's is Expired.
    const expiresHeight = BigInt(accessKey.block_height) + BigInt(await this.transactionValidity());
    return { hash: baseEncode(txHash), bytes: signedTransaction.encode(), expires: { height: expiresHeight } };
  }

  async broadcast(tx: SignedTx): Promise<TxReceipt> {
    const { receipt } = await this.send(tx);
    return receipt;
  }

  /** Sends (or finds) a transaction; returns its receipt and outcome. */
  /**
   * @param lookFirst - ask the chain for the hash before sending: bytes
   *   stored by the pipeline may have landed already. Bytes signed a moment
   *   ago cannot have, so `delegate` and harvest's calls skip the lookup.
   */
  private async send(tx: SignedTx, lookFirst = true): Promise<{ receipt: TxReceipt; outcome: Outcome }> {
    let sender: string;
    try {
      sender = decodeSignedTransaction(tx.bytes).transaction.signerId;
    } catch {
      throw new TxRejectedError(this.name, tx.hash, 'decode', 'the signed bytes are not a NEAR SignedTransaction', false);
    }
    const known = lookFirst ? await this.lookup(tx.hash, sender) : undefined;
    if (known !== undefined) return this.settle(tx.hash, known);
    let json: unknown;
    try {
      json = await this.rpc.raw('send_tx', { signed_tx_base64: Buffer.from(tx.bytes).toString('base64'), wait_until: 'FINAL' });
    } catch (error) {
      if (error instanceof TransactionTimeoutError) throw new TxNotIncludedError(this.name, tx.hash, this.config.requestTimeoutMs);
      if (error instanceof TransactionExpiredError) {
        // Its reference block is too old: it can never be included now, but an earlier send may have been.
        const again = await this.lookup(tx.hash, sender);
        if (again !== undefined) return this.settle(tx.hash, again);
        throw new TxExpiredError(this.name, tx.hash, error.message);
      }
      if (error instanceof TransactionExecutionError) {
        // A stale nonce may be this very transaction, included since the lookup.
        const again = await this.lookup(tx.hash, sender);
        if (again !== undefined) return this.settle(tx.hash, again);
        throw new TxRejectedError(this.name, tx.hash, error.constructor.name, error.message, false);
      }
      throw error;
    }
    return this.settle(tx.hash, this.parse(outcomeSchema, json, 'send_tx'));
  }

  /**
   * Whether the bytes were included; `expired` once the final head is past
   * their `expires.height` and no block has them.
   */
  async status(tx: SignedTx): Promise<TxStatus> {
    let sender: string;
    try {
      sender = decodeSignedTransaction(tx.bytes).transaction.signerId;
    } catch {
      throw new TxRejectedError(this.name, tx.hash, 'decode', 'the signed bytes are not a NEAR SignedTransaction', false);
    }
    // The head first: an outcome not found after it means not included by then.
    const head = await this.head();
    const found = await this.lookup(tx.hash, sender);
    if (found !== undefined) {
      try {
        return { state: 'included', receipt: (await this.settle(tx.hash, found)).receipt };
      } catch (error) {
        if (error instanceof TxRejectedError && error.included) return { state: 'failed', hash: tx.hash, fee: error.fee, log: error.log };
        throw error;
      }
    }
    const expiry = tx.expires?.height;
    return expiry !== undefined && BigInt(head.height) > expiry ? { state: 'expired' } : { state: 'pending' };
  }

  private async lookup(hash: string, sender: string): Promise<Outcome | undefined> {
    try {
      return this.parse(outcomeSchema, await this.rpc.raw('tx', { tx_hash: hash, sender_account_id: sender, wait_until: 'FINAL' }), 'tx');
    } catch (error) {
      if (error instanceof UnknownTransactionError) return undefined;
      throw error;
    }
  }

  /** A final outcome as a receipt, or the typed error for a failed one. */
  private async settle(hash: string, outcome: Outcome): Promise<{ receipt: TxReceipt; outcome: Outcome }> {
    const fee = feeOf(outcome);
    if (failed(outcome)) {
      throw new TxRejectedError(this.name, hash, 'Failure', JSON.stringify((outcome.status as { Failure: unknown }).Failure).slice(0, 500), true, fee);
    }
    const last = outcome.receipts_outcome[outcome.receipts_outcome.length - 1];
    const block = await this.head(last?.block_hash ?? outcome.transaction_outcome.block_hash);
    // Withdrawals from a pool are unlocked stake coming back: neither reward nor loss.
    const moved: TxReceipt['moved'] = [];
    for (const [pool, flow] of flowsOf(outcome, outcome.transaction.signer_id, this.poolSet)) {
      if (flow < 0n) moved.push({ kind: 'unlocked', amount: -flow, validator: pool });
    }
    return { receipt: { hash, fee, height: BigInt(block.height), at: block.at, moved }, outcome };
  }

  async delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return (await this.send(await this.sign({ kind: 'delegate', validator, amount }), false)).receipt;
  }

  async undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return (await this.send(await this.sign({ kind: 'undelegate', validator, amount }), false)).receipt;
  }

  /**
   * Σ nonces of the custody account's access keys at a height (every
   * transaction it signs raises one); -1 where the account did not exist.
   * Skipped heights look at the next block. Needs no key: any key of the
   * account counts.
   */
  private async nonceAt(accountId: string, height: number, limit: number): Promise<bigint> {
    for (let h = height; h <= limit; h += 1) {
      try {
        const json = await this.rpc.raw('query', { request_type: 'view_access_key_list', account_id: accountId, block_id: h });
        return this.parse(accessKeyListSchema, json, 'view_access_key_list').keys.reduce((sum, k) => sum + BigInt(k.access_key.nonce), 0n);
      } catch (error) {
        if (error instanceof AccountDoesNotExistError) return -1n;
        if (error instanceof UnknownBlockError && h < limit) continue;
        throw error;
      }
    }
    return -1n;
  }

  /**
   * Heights in (lo, hi] whose block changed the custody's nonces, i.e.
   * included one of its transactions: a bisection over archival
   * `view_access_key_list` queries, about log2(hi − lo) calls per transaction.
   */
  private async txHeights(accountId: string, lo: number, hi: number, nonceLo: bigint, nonceHi: bigint): Promise<number[]> {
    if (nonceLo === nonceHi || hi <= lo) return [];
    if (hi === lo + 1) return [hi];
    const mid = Math.floor((lo + hi) / 2);
    const nonceMid = await this.nonceAt(accountId, mid, hi);
    return [...(await this.txHeights(accountId, lo, mid, nonceLo, nonceMid)), ...(await this.txHeights(accountId, mid, hi, nonceMid, nonceHi))];
  }

  /** The custody account's transactions included in (from, to], as outcomes, oldest first. */
  private async ownTransactions(accountId: string, from: number, to: number): Promise<Outcome[]> {
    const heights = await this.txHeights(accountId, from, to, await this.nonceAt(accountId, from, to), await this.nonceAt(accountId, to, to));
    const outcomes: Outcome[] = [];
    for (const height of heights) {
      const json = await this.rpc.raw('EXPERIMENTAL_changes', { changes_type: 'all_access_key_changes', account_ids: [accountId], block_id: height });
      const changes = this.parse(changesSchema, json, 'EXPERIMENTAL_changes').changes;
      const hashes = new Set(changes.filter((c) => c.cause.type === 'transaction_processing' && c.cause.tx_hash !== undefined).map((c) => c.cause.tx_hash!));
      for (const hash of hashes) {
        const outcome = await this.lookup(hash, accountId);
        if (outcome === undefined) throw new ChainProtocolError(this.name, `transaction ${hash} changed the custody's keys at ${height} but the node does not know it`);
        outcomes.push(outcome);
      }
    }
    return outcomes;
  }

  /**
   * Read-only: per pool not yet measured in this epoch, the custody's total
   * there (staked + unstaked) less the last measurement and less its own
   * flows in between (read from its transactions on chain) is the epoch's
   * reward. The pipeline pings (a claim intent) before, so the pool's
   * accounting includes the epoch; a pool nobody pinged shows its reward
   * in a later epoch's event instead, never twice.
   */
  async harvest(checkpoint: string | null): Promise<HarvestResult> {
    const accountId = await this.address();
    let previous: NearCheckpoint;
    const head = await this.head();
    if (checkpoint === null) {
      let from = this.options.historyFromHeight;
      if (from === undefined) from = this.parse(statusSchema, await this.rpc.raw('status', []), 'status').sync_info.earliest_block_height ?? 0;
      previous = { v: 1, height: Math.min(from, head.height), pools: {} };
    } else {
      const parsed = parseCheckpoint(checkpoint);
      if (parsed === undefined) throw new ChainProtocolError(this.name, 'harvest checkpoint is not a NEAR checkpoint');
      previous = parsed;
    }
    if (previous.height > head.height) {
      throw new ChainProtocolError(this.name, `harvest checkpoint height ${previous.height} is above the chain's ${head.height}: was the chain reset?`);
    }

    // Own flows between the checkpoint and now, read from the chain.
    const flows = new Map<string, bigint>();
    for (const outcome of await this.ownTransactions(accountId, previous.height, head.height)) {
      for (const [p, flow] of flowsOf(outcome, accountId, this.poolSet)) flows.set(p, (flows.get(p) ?? 0n) + flow);
    }

    const next: NearCheckpoint = { v: 1, height: head.height, pools: {} };
    const events: RewardEvent[] = [];
    let epochStart: number | undefined;
    for (const pool of this.options.pools) {
      const mark = previous.pools[pool] ?? { epochId: '', total: 0n, flows: 0n };
      const netFlows = mark.flows + (flows.get(pool) ?? 0n);
      if (mark.epochId === head.epochId) {
        next.pools[pool] = { ...mark, flows: netFlows };
        continue;
      }
      const entry = await this.poolAccount(pool, accountId, head.height);
      const total = entry.staked_balance + entry.unstaked_balance;
      if (total === 0n && mark.total === 0n && netFlows === 0n) continue;
      const reward = total - mark.total - netFlows;
      if (reward !== 0n) {
        epochStart ??= await this.epochStartTime(head.height);
        events.push({ id: `${pool}:${head.epochId}`, amount: reward, at: epochStart, validator: pool });
      }
      next.pools[pool] = { epochId: head.epochId, total, flows: 0n };
    }
    return { events, checkpoint: serializeCheckpoint(next) };
  }

  /** When the current epoch began, ms: the time every event of this epoch carries, so a replay gives the same events. */
  private async epochStartTime(height: number): Promise<number> {
    const set = this.parse(validatorsSchema, await this.rpc.raw('validators', { block_id: height }), 'validators');
    return (await this.head(set.epoch_start_height)).at;
  }

  async close(): Promise<void> {
    // Nothing to release: near-api-js's providers use fetch's shared pool; no timers outlive a call.
  }
}

/** Builds a NEAR adapter with test internals (an RPC counter). */
export function createNearAdapter(config: AdapterConfig<NearOptions>, internals: NearAdapterInternals = {}): ChainAdapter {
  return new NearAdapter(config, resolveOptions(config.options, config.validators), internals);
}

/** The NEAR adapter module, as a daemon loads it. */
export const adapter: AdapterModule<NearOptions> = {
  kind: 'near',
  optionsSchema,
  create(config) {
    return createNearAdapter(config);
  },
};
