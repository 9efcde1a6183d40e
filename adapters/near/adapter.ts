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
import { TransactionExecutionError, TransactionTimeoutError, UnknownTransactionError, AccessKeyDoesNotExistError, AccountDoesNotExistError, UnknownBlockError } from 'near-api-js/rpc-errors';
import * as z from 'zod';
import { ChainProtocolError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import { readSigningSecret } from '../signer.js';
import type { AdapterConfig, AdapterModule, ChainAdapter, HarvestResult, Position, RewardEvent, SignedTx, StakeAction, TxReceipt, Unbonding, ValidatorHealth } from '../types.js';
import { failed, feeOf, flowsOf, outcomeSchema, parseCheckpoint, serializeCheckpoint, type NearCheckpoint, type Outcome } from './checkpoint.js';
import { parseCustodyKey, type CustodyKey } from './key.js';
import { optionsSchema, resolveOptions, type NearOptions, type ResolvedNearOptions } from './options.js';
import { NearRpc, type RpcCounter } from './rpc.js';

export type { NearOptions } from './options.js';

const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/).transform(BigInt);

const blockSchema = z.object({
  header: z.object({ height: z.number().int(), hash: z.string(), epoch_id: z.string(), timestamp_nanosec: uint }).loose(),
});
const accountSchema = z.object({ amount: uint, block_height: z.number().int() }).loose();
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

/** Options for tests: count RPC calls. Not part of the config. */
export interface NearAdapterInternals {
  onRpc?: RpcCounter;
}

class NearAdapter implements ChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly rpc: NearRpc;
  private readonly poolSet: ReadonlySet<string>;
  private key: Promise<CustodyKey> | undefined;
  private checkedChain: Promise<void> | undefined;

  constructor(
    private readonly config: AdapterConfig<NearOptions>,
    private readonly options: ResolvedNearOptions,
    internals: NearAdapterInternals = {},
  ) {
    this.name = config.name;
    this.asset = config.asset;
    this.rpc = new NearRpc(config.name, config.endpoints, config.requestTimeoutMs, internals.onRpc);
    this.poolSet = new Set(options.pools);
  }

  private custody(): Promise<CustodyKey> {
    this.key ??= readSigningSecret(this.name, this.config.signer).then((secret) => parseCustodyKey(this.name, secret, this.options.accountId));
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

  async position(): Promise<Position> {
    const key = await this.custody();
    const head = await this.head();
    const account = this.parse(accountSchema, await this.rpc.raw('query', { request_type: 'view_account', account_id: key.accountId, block_id: head.height }), 'view_account');
    const delegations: Position['delegations'] = [];
    const unbonding: Unbonding[] = [];
    for (const pool of this.options.pools) {
      const entry = await this.poolAccount(pool, key.accountId, head.height);
      if (entry.staked_balance > 0n) delegations.push({ validator: pool, amount: entry.staked_balance });
      if (entry.unstaked_balance > 0n) {
        // The pool does not say when its lock ends; `unstake` locks for epochsToUnlock epochs from the
        // current one, so the start of the epoch that many epochs ahead is a bound it never passes.
        const completesAt = entry.can_withdraw ? head.at : head.at + this.options.epochsToUnlock * this.options.epochDurationMs;
        unbonding.push({ validator: pool, amount: entry.unstaked_balance, completesAt });
      }
    }
    return { height: BigInt(head.height), at: head.at, liquid: account.amount, delegations, pendingRewards: 0n, unbonding, validators: await this.health() };
  }

  /** Whether each pool is in the current validator set; empty when the node cannot tell. */
  private async health(): Promise<ValidatorHealth[]> {
    let json: unknown;
    try {
      json = await this.rpc.raw('validators', [null]);
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

  async sign(action: StakeAction): Promise<SignedTx> {
    if (action.amount <= 0n) {
      throw new TxRejectedError(this.name, undefined, 'invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`, false);
    }
    if (!this.poolSet.has(action.validator)) {
      throw new TxRejectedError(this.name, undefined, 'unknown-pool', `${action.validator} is not one of the configured staking pools`, false);
    }
    return action.kind === 'delegate'
      ? this.signCall(action.validator, 'deposit_and_stake', {}, action.amount)
      : this.signCall(action.validator, 'unstake', { amount: action.amount.toString() }, 0n);
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
    return { hash: baseEncode(txHash), bytes: signedTransaction.encode() };
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
    return { receipt: { hash, fee, height: BigInt(block.height), at: block.at }, outcome };
  }

  async delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return (await this.send(await this.sign({ kind: 'delegate', validator, amount }), false)).receipt;
  }

  async undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return (await this.send(await this.sign({ kind: 'undelegate', validator, amount }), false)).receipt;
  }

  /** The custody key's nonce at a height; -1 where the key did not exist. Skipped heights look at the next block. */
  private async nonceAt(height: number, limit: number): Promise<bigint> {
    const key = await this.custody();
    for (let h = height; h <= limit; h += 1) {
      try {
        const json = await this.rpc.raw('query', { request_type: 'view_access_key', account_id: key.accountId, public_key: key.publicKey.toString(), block_id: h });
        return BigInt(this.parse(accessKeySchema, json, 'view_access_key').nonce);
      } catch (error) {
        if (error instanceof AccessKeyDoesNotExistError || error instanceof AccountDoesNotExistError) return -1n;
        if (error instanceof UnknownBlockError && h < limit) continue;
        throw error;
      }
    }
    return -1n;
  }

  /**
   * Heights in (lo, hi] whose block changed the custody key's nonce, i.e.
   * included one of its transactions: a bisection over archival
   * `view_access_key` queries, about log2(hi − lo) calls per transaction.
   */
  private async txHeights(lo: number, hi: number, nonceLo: bigint, nonceHi: bigint): Promise<number[]> {
    if (nonceLo === nonceHi || hi <= lo) return [];
    if (hi === lo + 1) return [hi];
    const mid = Math.floor((lo + hi) / 2);
    const nonceMid = await this.nonceAt(mid, hi);
    return [...(await this.txHeights(lo, mid, nonceLo, nonceMid)), ...(await this.txHeights(mid, hi, nonceMid, nonceHi))];
  }

  /** The custody key's transactions included in (from, to], as outcomes, oldest first. */
  private async ownTransactions(from: number, to: number): Promise<Outcome[]> {
    const key = await this.custody();
    const heights = await this.txHeights(from, to, await this.nonceAt(from, to), await this.nonceAt(to, to));
    const outcomes: Outcome[] = [];
    for (const height of heights) {
      const json = await this.rpc.raw('EXPERIMENTAL_changes', { changes_type: 'all_access_key_changes', account_ids: [key.accountId], block_id: height });
      const changes = this.parse(changesSchema, json, 'EXPERIMENTAL_changes').changes;
      const hashes = new Set(
        changes.filter((c) => c.change.public_key === key.publicKey.toString() && c.cause.type === 'transaction_processing' && c.cause.tx_hash !== undefined).map((c) => c.cause.tx_hash!),
      );
      for (const hash of hashes) {
        const outcome = await this.lookup(hash, key.accountId);
        if (outcome === undefined) throw new ChainProtocolError(this.name, `transaction ${hash} changed the custody key at ${height} but the node does not know it`);
        outcomes.push(outcome);
      }
    }
    return outcomes;
  }

  async harvest(checkpoint: string | null): Promise<HarvestResult> {
    const key = await this.custody();
    let previous: NearCheckpoint;
    const start = await this.head();
    if (checkpoint === null) {
      let from = this.options.historyFromHeight;
      if (from === undefined) from = this.parse(statusSchema, await this.rpc.raw('status', []), 'status').sync_info.earliest_block_height ?? 0;
      previous = { v: 1, height: Math.min(from, start.height), pools: {} };
    } else {
      const parsed = parseCheckpoint(checkpoint);
      if (parsed === undefined) throw new ChainProtocolError(this.name, 'harvest checkpoint is not a NEAR checkpoint');
      previous = parsed;
    }
    if (previous.height > start.height) {
      throw new ChainProtocolError(this.name, `harvest checkpoint height ${previous.height} is above the chain's ${start.height}: was the chain reset?`);
    }

    // Pools not yet measured in this epoch: their epoch's rewards come in with a ping (or a withdraw, which pings).
    const due = this.options.pools.filter((pool) => previous.pools[pool]?.epochId !== start.epochId);
    const receipts: TxReceipt[] = [];
    const harvestFlows = new Map<string, bigint>();
    for (const pool of due) {
      const entry = await this.poolAccount(pool, key.accountId, start.height);
      if (entry.staked_balance + entry.unstaked_balance === 0n) continue;
      const withdraw = entry.can_withdraw && entry.unstaked_balance > 0n;
      const { receipt, outcome } = await this.send(await this.signCall(pool, withdraw ? 'withdraw_all' : 'ping', {}, 0n), false);
      receipts.push(receipt);
      for (const [p, flow] of flowsOf(outcome, key.accountId, this.poolSet)) harvestFlows.set(p, (harvestFlows.get(p) ?? 0n) + flow);
    }

    // Own flows between the checkpoint and this harvest's own transactions, read from the chain.
    const flows = new Map(harvestFlows);
    for (const outcome of await this.ownTransactions(previous.height, start.height)) {
      for (const [p, flow] of flowsOf(outcome, key.accountId, this.poolSet)) flows.set(p, (flows.get(p) ?? 0n) + flow);
    }

    const end = receipts.length > 0 ? await this.head() : start;
    const next: NearCheckpoint = { v: 1, height: end.height, pools: {} };
    const events: RewardEvent[] = [];
    let epochStart: number | undefined;
    for (const pool of this.options.pools) {
      const mark = previous.pools[pool] ?? { epochId: '', total: 0n, flows: 0n };
      const netFlows = mark.flows + (flows.get(pool) ?? 0n);
      if (!due.includes(pool)) {
        next.pools[pool] = { ...mark, flows: netFlows };
        continue;
      }
      const entry = await this.poolAccount(pool, key.accountId, end.height);
      const total = entry.staked_balance + entry.unstaked_balance;
      const reward = total - mark.total - netFlows;
      if (reward !== 0n) {
        epochStart ??= await this.epochStartTime(end.height);
        events.push({ id: `${pool}:${end.epochId}`, amount: reward, at: epochStart, validator: pool });
      }
      next.pools[pool] = { epochId: end.epochId, total, flows: 0n };
    }
    return { events, checkpoint: serializeCheckpoint(next), receipts };
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
