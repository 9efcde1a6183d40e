/**
 * The Cosmos SDK adapter (Cosmos Hub and chains like it): the ChainAdapter
 * for a custody account that delegates a staking denom, on the official
 * cosmjs clients over CometBFT JSON-RPC with protobuf ABCI queries, with
 * endpoint failover on every request.
 *
 * - Reads: bank balance, staking delegations/unbondings/validators and
 *   distribution rewards through cosmjs's QueryClient extensions.
 * - Writes: MsgDelegate / MsgUndelegate / MsgWithdrawDelegatorReward, gas
 *   simulated (× gasAdjustment) unless fixed, signed SIGN_MODE_DIRECT with
 *   the chain's account number and sequence, as TxRaw bytes whose sha256 is
 *   the hash the chain knows them by.
 * - Harvest: one withdrawal for every validator with ≥ 1 unit pending, then
 *   the `withdraw_rewards` events of every successful custody transaction
 *   since the checkpoint (delegation changes pay rewards too), and stake
 *   lost to slashing as negative events.
 *
 * Config (the chain block's `options`): see {@link CosmosOptions}. The
 * signer secret is a BIP-39 mnemonic; it goes to the wallet and nowhere else.
 */
import { encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { sha256, stringToPath } from '@cosmjs/crypto';
import { fromBech32, toHex } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet, Registry, type EncodeObject } from '@cosmjs/proto-signing';
import { accountFromAny, calculateFee, defaultRegistryTypes, SigningStargateClient, type Account } from '@cosmjs/stargate';
import { MsgWithdrawDelegatorReward } from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { QueryDelegatorDelegationsRequest, QueryDelegatorDelegationsResponse } from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { BondStatus, type Validator } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import { MsgDelegate, MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { RetryableError, SoftstakeError } from '../../src/errors.js';
import { ChainProtocolError, TxNotIncludedError, TxRejectedError } from '../errors.js';
import { withFailover } from '../failover.js';
import { readSigningSecret } from '../signer.js';
import type {
  AdapterConfig,
  AdapterModule,
  ChainAdapter,
  HarvestResult,
  Position,
  RewardEvent,
  SignedTx,
  StakeAction,
  TxReceipt,
  Unbonding,
  ValidatorHealth,
  ValidatorStake,
} from '../types.js';
import { decToBps, intAmount, timestampMs, truncateDec } from './amounts.js';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.js';
import { feeOf, isClaim, payoutEvents, principalChanges, type IndexedTxLike } from './events.js';
import { cosmosOptionsSchema, resolveCosmosOptions, type CosmosOptions, type ResolvedCosmosOptions } from './options.js';
import { CometRpcError, connectEndpoint, withRequestSignal, type CosmosConnection, type RpcCounter } from './rpc.js';

export type { CosmosGasLimits, CosmosOptions } from './options.js';

/** The Cosmos adapter: the ChainAdapter contract plus what operators and benchmarks read. */
export interface CosmosChainAdapter extends ChainAdapter {
  /**
   * JSON-RPC requests sent so far, over every endpoint and failover attempt.
   * The difference around a `position()` or `harvest()` is that call's cost
   * (it depends on the account's validators and transactions, never on the
   * number of other accounts on the chain).
   */
  rpcCalls(): number;
  /** The custody account's address, derived from the signer mnemonic. */
  address(): Promise<string>;
}

/** What a chain does with a message kind; selects the fixed gas limit. */
type MessageKind = 'delegate' | 'undelegate' | 'withdraw';

/** The signing side: the wallet's account and an offline signing client. Never holds the mnemonic itself. */
interface SignerState {
  address: string;
  pubkey: Uint8Array;
  client: SigningStargateClient;
}

/** What CheckTx said about a broadcast. */
interface CheckResult {
  code: number;
  codespace: string;
  log: string;
}

/** Cosmos SDK error codes (codespace `sdk`) the adapter acts on. */
const SDK_CODE = { UNAUTHORIZED: 4, TX_IN_MEMPOOL_CACHE: 19, WRONG_SEQUENCE: 32 } as const;

/** At most this many pages of any paginated staking query: the account's validators, not the chain's. */
const MAX_QUERY_PAGES = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An ABCI query the node answered with a non-zero code (cosmjs: "Query failed with (code): log"). */
function abciFailure(error: unknown): { code: number; log: string } | undefined {
  const match = /^Query failed with \((\d+)\): ([\s\S]*)$/.exec(messageOf(error));
  return match === null ? undefined : { code: Number(match[1]), log: match[2]!.slice(0, 1000) };
}

function isNotFound(error: unknown): boolean {
  return /rpc error: code = NotFound|not found/i.test(messageOf(error));
}

/** A code as TxRejectedError carries it: the SDK's own codes bare, a module's prefixed with its codespace. */
function codeOf(codespace: string | undefined, code: number): number | string {
  return codespace === undefined || codespace === '' || codespace === 'sdk' ? code : `${codespace}:${code}`;
}

/** The sequence the chain expects, from a sequence-mismatch rejection; `undefined` when `error` is not one. */
function sequenceMismatch(error: unknown): { expected: number | undefined } | undefined {
  if (!(error instanceof TxRejectedError) || error.included || error.code !== SDK_CODE.WRONG_SEQUENCE) return undefined;
  const match = /expected (\d+), got (\d+)/.exec(error.log);
  return { expected: match === null ? undefined : Number(match[1]) };
}

function hashOf(bytes: Uint8Array): string {
  return toHex(sha256(bytes)).toUpperCase();
}

class CosmosAdapter implements CosmosChainAdapter {
  readonly name: string;
  readonly asset: string;
  private readonly counter: RpcCounter = { calls: 0 };
  private readonly connections = new Map<string, Promise<CosmosConnection>>();
  private readonly registry = new Registry(defaultRegistryTypes);
  private signer: Promise<SignerState> | undefined;

  constructor(
    private readonly config: AdapterConfig<CosmosOptions>,
    private readonly options: ResolvedCosmosOptions,
  ) {
    this.name = config.name;
    this.asset = config.asset;
  }

  rpcCalls(): number {
    return this.counter.calls;
  }

  async address(): Promise<string> {
    return (await this.signerState()).address;
  }

  // ---- Plumbing: signer, connections, failover. ----

  /** The wallet, derived once from the signer mnemonic. A failed read is not cached: the operator may fix the file. */
  private signerState(): Promise<SignerState> {
    if (this.signer === undefined) {
      const pending = (async (): Promise<SignerState> => {
        const secret = await readSigningSecret(this.name, this.config.signer);
        let wallet: DirectSecp256k1HdWallet;
        try {
          wallet = await DirectSecp256k1HdWallet.fromMnemonic(secret.split(/\s+/).join(' '), {
            hdPaths: [stringToPath(this.options.hdPath)],
            prefix: this.options.prefix,
          });
        } catch {
          // cosmjs names the offending word; the message must not carry any of the secret.
          throw new ChainProtocolError(this.name, 'signer: the secret is not a valid BIP-39 mnemonic');
        }
        const [account] = await wallet.getAccounts();
        if (account === undefined) throw new ChainProtocolError(this.name, 'signer: the wallet derived no account');
        const client = await SigningStargateClient.offline(wallet, { registry: this.registry });
        return { address: account.address, pubkey: account.pubkey, client };
      })();
      pending.catch(() => {
        if (this.signer === pending) this.signer = undefined;
      });
      this.signer = pending;
    }
    return this.signer;
  }

  /** The endpoint's clients, connected on first use; the node must serve the configured chain id. */
  private connection(endpoint: string): Promise<CosmosConnection> {
    let connection = this.connections.get(endpoint);
    if (connection === undefined) {
      const pending = connectEndpoint(endpoint, this.config.requestTimeoutMs, this.counter).then((connected) => {
        if (connected.network !== this.options.chainId) {
          throw new ChainProtocolError(this.name, `endpoint serves chain ${connected.network}, the config expects ${this.options.chainId}`);
        }
        return connected;
      });
      // A failed connection is retried with the next call (the node may be back).
      pending.catch(() => {
        if (this.connections.get(endpoint) === pending) this.connections.delete(endpoint);
      });
      this.connections.set(endpoint, pending);
      connection = pending;
    }
    return connection;
  }

  /**
   * One request with endpoint failover. `call` may throw a SoftstakeError to
   * say what the chain's answer means; anything else that is not an endpoint
   * fault (a JSON-RPC error, an answer cosmjs could not decode) becomes a
   * ChainProtocolError naming `what`.
   */
  private async rpc<T>(what: string, call: (connection: CosmosConnection) => Promise<T>): Promise<T> {
    try {
      return await withFailover(this.name, this.config.endpoints, this.config.requestTimeoutMs, (endpoint, signal) =>
        withRequestSignal(signal, async () => call(await this.connection(endpoint))),
      );
    } catch (error) {
      if (error instanceof SoftstakeError) throw error;
      throw new ChainProtocolError(this.name, `${what}: ${messageOf(error).slice(0, 1000)}`, { cause: error });
    }
  }

  /** `parse(value)`, with a malformed value reported as the chain's fault. */
  private parse<T>(what: string, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      throw new ChainProtocolError(this.name, `malformed ${what}: ${messageOf(error)}`, { cause: error });
    }
  }

  // ---- Reads. ----

  private async latestBlock(): Promise<{ height: bigint; at: number }> {
    const { block } = await this.rpc('block', (c) => c.comet.block());
    return { height: BigInt(block.header.height), at: block.header.time.getTime() };
  }

  /** Block time at `height`, ms; `cache` spares repeated heights within one call. */
  private async blockTime(height: bigint, cache: Map<bigint, number>): Promise<number> {
    const known = cache.get(height);
    if (known !== undefined) return known;
    const { block } = await this.rpc(`block ${height}`, (c) => c.comet.block(Number(height)));
    if (BigInt(block.header.height) !== height) throw new ChainProtocolError(this.name, `asked for block ${height}, got ${block.header.height}`);
    const at = block.header.time.getTime();
    cache.set(height, at);
    return at;
  }

  /**
   * The account's bonded stake per validator, in the staking denom, and the
   * height the node read it at. Read with a raw ABCI query because the
   * staking extension hides that height, and a harvest compares the
   * delegations with the account's transactions up to exactly that height
   * (no historical query needed: pruned nodes keep little history).
   */
  private async delegations(address: string): Promise<{ stakes: Map<string, bigint>; height: bigint }> {
    const stakes = new Map<string, bigint>();
    let key: Uint8Array | undefined;
    let height: bigint | undefined;
    for (let page = 0; page < MAX_QUERY_PAGES; page += 1) {
      const request = QueryDelegatorDelegationsRequest.fromPartial({ delegatorAddr: address, pagination: key === undefined ? undefined : { key } });
      const answer = await this.rpc('staking delegations', async (c) => {
        const { value, height: at } = await c.query.queryAbci(
          '/cosmos.staking.v1beta1.Query/DelegatorDelegations',
          QueryDelegatorDelegationsRequest.encode(request).finish(),
          // Later pages at the first page's height, so the pages agree.
          height === undefined ? undefined : Number(height),
        );
        return { response: QueryDelegatorDelegationsResponse.decode(value), at: BigInt(at) };
      });
      height ??= answer.at;
      this.parse('delegations', () => {
        for (const d of answer.response.delegationResponses) {
          const validator = d.delegation?.validatorAddress;
          if (validator === undefined || validator === '') throw new Error('a delegation without a validator');
          const amount = d.balance !== undefined && d.balance.denom === this.options.denom ? intAmount(d.balance.amount) : 0n;
          stakes.set(validator, (stakes.get(validator) ?? 0n) + amount);
        }
      });
      key = answer.response.pagination?.nextKey;
      if (key === undefined || key.length === 0) return { stakes, height };
    }
    throw new ChainProtocolError(this.name, `more than ${MAX_QUERY_PAGES} pages of delegations`);
  }

  private async unbondings(address: string): Promise<Unbonding[]> {
    const entries: Unbonding[] = [];
    let key: Uint8Array | undefined;
    for (let page = 0; page < MAX_QUERY_PAGES; page += 1) {
      const answer = await this.rpc('staking unbonding delegations', (c) => c.query.staking.delegatorUnbondingDelegations(address, key));
      this.parse('unbonding delegations', () => {
        for (const u of answer.unbondingResponses) {
          for (const entry of u.entries) {
            if (entry.completionTime === undefined) throw new Error('an unbonding entry without a completion time');
            const amount = intAmount(entry.balance);
            if (amount > 0n) entries.push({ validator: u.validatorAddress, amount, completesAt: timestampMs(entry.completionTime) });
          }
        }
      });
      key = answer.pagination?.nextKey;
      if (key === undefined || key.length === 0) return entries;
    }
    throw new ChainProtocolError(this.name, `more than ${MAX_QUERY_PAGES} pages of unbonding delegations`);
  }

  /** Pending rewards per validator, each truncated to whole units: what a withdrawal would pay now. */
  private async pendingRewards(address: string): Promise<Map<string, bigint>> {
    const answer = await this.rpc('distribution rewards', (c) => c.query.distribution.delegationTotalRewards(address));
    return this.parse('delegation rewards', () => {
      const pending = new Map<string, bigint>();
      for (const r of answer.rewards) {
        const dec = r.reward.filter((coin) => coin.denom === this.options.denom);
        const amount = dec.reduce((sum, coin) => sum + truncateDec(coin.amount), 0n);
        pending.set(r.validatorAddress, (pending.get(r.validatorAddress) ?? 0n) + amount);
      }
      return pending;
    });
  }

  private health(validator: Validator): ValidatorHealth {
    const health: ValidatorHealth = {
      validator: validator.operatorAddress,
      jailed: validator.jailed,
      active: validator.status === BondStatus.BOND_STATUS_BONDED && !validator.jailed,
    };
    const rate = validator.commission?.commissionRates?.rate;
    if (rate !== undefined && rate !== '') health.commissionBps = this.parse(`commission of ${validator.operatorAddress}`, () => decToBps(rate));
    return health;
  }

  /** Health of the validators the account is bonded to, plus the configured ones. */
  private async validatorHealth(address: string): Promise<ValidatorHealth[]> {
    const found = new Map<string, ValidatorHealth>();
    let key: Uint8Array | undefined;
    for (let page = 0; page < MAX_QUERY_PAGES; page += 1) {
      const answer = await this.rpc('staking delegator validators', (c) => c.query.staking.delegatorValidators(address, key));
      for (const v of answer.validators) found.set(v.operatorAddress, this.health(v));
      key = answer.pagination?.nextKey;
      if (key === undefined || key.length === 0) break;
    }
    for (const operator of this.options.validators) {
      if (found.has(operator)) continue;
      const answer = await this.rpc(`staking validator ${operator}`, async (c) => {
        try {
          return await c.query.staking.validator(operator);
        } catch (error) {
          if (abciFailure(error) !== undefined && isNotFound(error)) {
            throw new ChainProtocolError(this.name, `configured validator ${operator} does not exist on ${this.options.chainId}`);
          }
          throw error;
        }
      });
      if (answer.validator === undefined) throw new ChainProtocolError(this.name, `configured validator ${operator} does not exist on ${this.options.chainId}`);
      found.set(operator, this.health(answer.validator));
    }
    return [...found.values()].sort((a, b) => a.validator.localeCompare(b.validator));
  }

  async position(): Promise<Position> {
    const { address } = await this.signerState();
    const [head, balance, { stakes }, unbonding, pending, validators] = await Promise.all([
      this.latestBlock(),
      this.rpc('bank balance', (c) => c.query.bank.balance(address, this.options.denom)),
      this.delegations(address),
      this.unbondings(address),
      this.pendingRewards(address),
      this.validatorHealth(address),
    ]);
    const delegations: ValidatorStake[] = [...stakes]
      .filter(([, amount]) => amount > 0n)
      .map(([validator, amount]) => ({ validator, amount }))
      .sort((a, b) => a.validator.localeCompare(b.validator));
    return {
      height: head.height,
      at: head.at,
      liquid: this.parse('bank balance', () => (balance.denom === this.options.denom ? intAmount(balance.amount) : 0n)),
      delegations,
      pendingRewards: [...pending.values()].reduce((sum, amount) => sum + amount, 0n),
      unbonding,
      validators,
    };
  }

  // ---- Signing. ----

  private checkValidatorAddress(validator: string): void {
    let prefix: string;
    try {
      // An explicit length limit: cosmjs 0.39's default (Infinity) is refused by the @scure/base it installs.
      prefix = fromBech32(validator, 128).prefix;
    } catch {
      throw new TxRejectedError(this.name, undefined, 'invalid-validator', `${JSON.stringify(validator.slice(0, 100))} is not a bech32 validator address`, false);
    }
    if (prefix !== `${this.options.prefix}valoper`) {
      throw new TxRejectedError(this.name, undefined, 'invalid-validator', `${validator} is not a ${this.options.prefix}valoper address`, false);
    }
  }

  private async account(address: string): Promise<Account> {
    const account = await this.rpc('auth account', async (c) => {
      try {
        const any = await c.query.auth.account(address);
        return any === null ? null : accountFromAny(any);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    });
    if (account === null) {
      throw new TxRejectedError(this.name, undefined, 'account-not-found', `account ${address} does not exist on ${this.options.chainId}: fund it first`, false);
    }
    return account;
  }

  /** The gas limit: fixed per message where configured, else simulated × gasAdjustment. */
  private async gasLimit(kind: MessageKind, messages: readonly EncodeObject[], signer: SignerState, sequence: number): Promise<number> {
    const fixed = this.options.gasLimits[kind];
    if (fixed !== undefined) return fixed * messages.length;
    const anys = messages.map((m) => this.registry.encodeAsAny(m));
    const simulated = await this.rpc('simulate', async (c) => {
      try {
        return await c.query.tx.simulate(anys, this.options.memo, encodeSecp256k1Pubkey(signer.pubkey), sequence);
      } catch (error) {
        // The chain would refuse this transaction as it stands: no point in paying a fee to hear it again.
        const failure = abciFailure(error);
        if (failure !== undefined) throw new TxRejectedError(this.name, undefined, failure.code, `simulation failed: ${failure.log}`, false);
        throw error;
      }
    });
    const used = simulated.gasInfo?.gasUsed;
    if (used === undefined || used <= 0n) throw new ChainProtocolError(this.name, 'simulate answered without gas used');
    return Math.ceil(Number(used) * this.options.gasAdjustment);
  }

  /**
   * Signs `messages` with the account's current sequence (or `minSequence`
   * when a rejection named a later one). Sends nothing.
   */
  private async signMessages(kind: MessageKind, messages: readonly EncodeObject[], minSequence?: number): Promise<SignedTx> {
    const signer = await this.signerState();
    const account = await this.account(signer.address);
    const sequence = Math.max(account.sequence, minSequence ?? 0);
    const gas = await this.gasLimit(kind, messages, signer, sequence);
    const fee = calculateFee(gas, this.options.gasPrice);
    const raw = await signer.client.sign(signer.address, messages, fee, this.options.memo, {
      accountNumber: account.accountNumber,
      sequence,
      chainId: this.options.chainId,
    });
    const bytes = TxRaw.encode(raw).finish();
    return { hash: hashOf(bytes), bytes };
  }

  async sign(action: StakeAction): Promise<SignedTx> {
    return this.signMessages(action.kind, [await this.stakeMessage(action)]);
  }

  private async stakeMessage(action: StakeAction): Promise<EncodeObject> {
    if (action.amount <= 0n) {
      throw new TxRejectedError(this.name, undefined, 'invalid-amount', `${action.kind} amount must be > 0, got ${action.amount}`, false);
    }
    this.checkValidatorAddress(action.validator);
    const { address } = await this.signerState();
    if (this.options.gasLimits[action.kind] !== undefined) await this.requireValidator(action.validator);
    const value = { delegatorAddress: address, validatorAddress: action.validator, amount: { denom: this.options.denom, amount: action.amount.toString() } };
    return action.kind === 'delegate'
      ? { typeUrl: MsgDelegate.typeUrl, value: MsgDelegate.fromPartial(value) }
      : { typeUrl: MsgUndelegate.typeUrl, value: MsgUndelegate.fromPartial(value) };
  }

  /** Without a simulation to refuse it, an unknown validator is caught here rather than on chain (for a fee). */
  private async requireValidator(validator: string): Promise<void> {
    await this.rpc(`staking validator ${validator}`, async (c) => {
      try {
        return await c.query.staking.validator(validator);
      } catch (error) {
        const failure = abciFailure(error);
        if (failure !== undefined) throw new TxRejectedError(this.name, undefined, failure.code, `validator ${validator}: ${failure.log}`, false);
        throw error;
      }
    });
  }

  // ---- Broadcasting. ----

  /** The indexed transaction with `hash`, or `undefined` while no block has it. */
  private async findTx(hash: string): Promise<IndexedTxLike | undefined> {
    const answer = await this.rpc(`tx_search ${hash}`, (c) => c.comet.txSearch({ query: `tx.hash='${hash}'` }));
    const found = answer.txs.map((t) => this.indexed(t)).find((t) => t.hash === hash);
    return found;
  }

  private indexed(t: {
    hash: Uint8Array;
    height: number;
    index: number;
    tx: Uint8Array;
    result: { code: number; codespace?: string; log?: string; events: IndexedTxLike['events'] };
  }): IndexedTxLike {
    const indexed: IndexedTxLike = {
      hash: toHex(t.hash).toUpperCase(),
      height: BigInt(t.height),
      index: t.index,
      code: t.result.code,
      events: t.result.events,
      tx: t.tx,
    };
    if (t.result.codespace !== undefined) indexed.codespace = t.result.codespace;
    if (t.result.log !== undefined) indexed.log = t.result.log;
    return indexed;
  }

  /** An included transaction's outcome: its receipt, or a TxRejectedError (included, fee paid) when it failed. */
  private async settle(tx: IndexedTxLike, times: Map<bigint, number>): Promise<TxReceipt> {
    const fee = this.parse(`transaction ${tx.hash}`, () => feeOf(tx.tx, this.options.denom));
    if (tx.code !== 0) throw new TxRejectedError(this.name, tx.hash, codeOf(tx.codespace, tx.code), (tx.log ?? '').slice(0, 1000), true, fee);
    return { hash: tx.hash, fee, height: tx.height, at: await this.blockTime(tx.height, times) };
  }

  async broadcast(tx: SignedTx): Promise<TxReceipt> {
    return this.send(tx, true, new Map());
  }

  /**
   * Sends signed bytes and waits for their block. `lookFirst`: ask whether
   * they are already included before sending (bytes stored by the pipeline
   * may have landed before a crash); freshly signed bytes skip that.
   */
  private async send(tx: SignedTx, lookFirst: boolean, times: Map<bigint, number>): Promise<TxReceipt> {
    const hash = hashOf(tx.bytes);
    if (hash !== tx.hash.toUpperCase()) throw new ChainProtocolError(this.name, `signed transaction ${tx.hash}: its bytes hash to ${hash}`);
    if (lookFirst) {
      const found = await this.findTx(hash);
      if (found !== undefined) return this.settle(found, times);
    }
    const started = Date.now();
    const check = await this.rpc(`broadcast ${hash}`, async (c): Promise<CheckResult> => {
      try {
        const answer = await c.comet.broadcastTxSync({ tx: tx.bytes });
        return { code: answer.code, codespace: answer.codespace ?? '', log: answer.log ?? '' };
      } catch (error) {
        // CometBFT's mempool answers a duplicate with an RPC error: the bytes are on their way.
        if (error instanceof CometRpcError && /already exists in cache|already in mempool/i.test(error.message)) return { code: 0, codespace: '', log: '' };
        throw error;
      }
    });
    const inMempool = check.code === SDK_CODE.TX_IN_MEMPOOL_CACHE && (check.codespace === 'sdk' || check.codespace === '');
    if (check.code !== 0 && !inMempool) {
      if (check.code === SDK_CODE.WRONG_SEQUENCE) {
        // The sequence is used: by these very bytes (an earlier attempt landed), or by another transaction.
        const found = await this.findTx(hash);
        if (found !== undefined) return this.settle(found, times);
      }
      throw new TxRejectedError(this.name, hash, codeOf(check.codespace, check.code), check.log.slice(0, 1000), false);
    }
    return this.settle(await this.awaitInclusion(hash, started), times);
  }

  /** Polls `tx_search` until the transaction is in a block, or the wait is over (retryable). */
  private async awaitInclusion(hash: string, started: number): Promise<IndexedTxLike> {
    const { inclusionTimeoutMs, pollIntervalMs } = this.options;
    for (;;) {
      const waited = Date.now() - started;
      if (waited >= inclusionTimeoutMs) throw new TxNotIncludedError(this.name, hash, waited);
      await sleep(Math.min(pollIntervalMs, inclusionTimeoutMs - waited));
      const found = await this.findTx(hash);
      if (found !== undefined) return found;
    }
  }

  /**
   * Signs and sends in one call (no stored intent). A sequence mismatch means
   * another transaction took the sequence between reading and sending: sign
   * once more with the sequence the chain expects.
   */
  private async signAndSend(kind: MessageKind, messages: readonly EncodeObject[], times: Map<bigint, number>): Promise<TxReceipt> {
    try {
      return await this.send(await this.signMessages(kind, messages), false, times);
    } catch (error) {
      const mismatch = sequenceMismatch(error);
      if (mismatch === undefined) throw error;
      return this.send(await this.signMessages(kind, messages, mismatch.expected), false, times);
    }
  }

  async delegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.signAndSend('delegate', [await this.stakeMessage({ kind: 'delegate', validator, amount })], new Map());
  }

  async undelegate(validator: string, amount: bigint): Promise<TxReceipt> {
    return this.signAndSend('undelegate', [await this.stakeMessage({ kind: 'undelegate', validator, amount })], new Map());
  }

  // ---- Harvest. ----

  /**
   * The custody account's transactions with from < height ≤ to, oldest
   * first, and the height they are complete through (below `to` only when
   * `maxTxSearchPages` cut the scan; a height is never split).
   */
  private async scanTxs(address: string, from: bigint, to: bigint): Promise<{ txs: IndexedTxLike[]; through: bigint }> {
    if (to <= from) return { txs: [], through: from };
    const query = `message.sender='${address}' AND tx.height>${from} AND tx.height<=${to}`;
    const byHash = new Map<string, IndexedTxLike>();
    const perPage = this.options.txSearchPageSize;
    let complete = false;
    for (let page = 1; page <= this.options.maxTxSearchPages; page += 1) {
      const answer = await this.rpc('tx_search', (c) => c.comet.txSearch({ query, page, per_page: perPage, order_by: 'asc' }));
      for (const t of answer.txs) {
        const tx = this.indexed(t);
        if (tx.height <= from || tx.height > to) throw new ChainProtocolError(this.name, `tx_search for heights (${from}, ${to}] answered ${tx.hash} at ${tx.height}`);
        byHash.set(tx.hash, tx);
      }
      if (answer.txs.length < perPage || page * perPage >= answer.totalCount) {
        complete = true;
        break;
      }
    }
    const txs = [...byHash.values()].sort((a, b) => (a.height === b.height ? a.index - b.index : a.height < b.height ? -1 : 1));
    if (complete) return { txs, through: to };
    const last = txs[txs.length - 1]!.height;
    const kept = txs.filter((t) => t.height < last);
    if (kept.length === 0) throw new ChainProtocolError(this.name, `more than ${this.options.maxTxSearchPages * perPage} custody transactions at height ${last}`);
    return { txs: kept, through: last - 1n };
  }

  async harvest(checkpointText: string | null): Promise<HarvestResult> {
    const checkpoint = this.parse('harvest checkpoint', () => parseCheckpoint(checkpointText));
    const { address } = await this.signerState();
    const head = await this.latestBlock();
    if (checkpoint.height > head.height) {
      throw new ChainProtocolError(this.name, `harvest checkpoint ${checkpoint.height} is above the chain's height ${head.height}: was the chain reset?`);
    }
    const times = new Map<bigint, number>([[head.height, head.at]]);

    // 1. Realize: one withdrawal for every validator with a whole unit pending.
    const receipts: TxReceipt[] = [];
    const pending = await this.pendingRewards(address);
    const claim = [...pending].filter(([, amount]) => amount >= 1n).map(([validator]) => validator).sort();
    if (claim.length > 0) {
      const messages = claim.map((validator) => ({
        typeUrl: MsgWithdrawDelegatorReward.typeUrl,
        value: MsgWithdrawDelegatorReward.fromPartial({ delegatorAddress: address, validatorAddress: validator }),
      }));
      receipts.push(await this.signAndSend('withdraw', messages, times));
    }

    // 2. Report: every payout of the custody account's successful transactions since the checkpoint,
    // up to the height the delegations are read at (after the withdrawal), so the two agree.
    const current = this.options.detectSlashing ? await this.delegations(address) : undefined;
    const to = current?.height ?? receipts.reduce((max, r) => (r.height > max ? r.height : max), head.height);
    if (to < checkpoint.height) throw new RetryableError(`${this.name}: a node answered at height ${to}, below the harvest checkpoint ${checkpoint.height} (lagging); harvesting again`);
    const { txs, through } = await this.scanTxs(address, checkpoint.height, to);
    const events: RewardEvent[] = [];
    for (const tx of txs) {
      const payouts = this.parse(`events of ${tx.hash}`, () => payoutEvents(tx, address, this.options.denom));
      for (const p of payouts) events.push({ id: p.id, amount: p.amount, at: await this.blockTime(p.height, times), validator: p.validator });
      // A claim this harvest did not wait for (an earlier harvest timed out before its block): its fee
      // is booked now. The pipeline books a fee once per hash, so reporting it again is harmless.
      if (!receipts.some((r) => r.hash === tx.hash) && this.parse(`messages of ${tx.hash}`, () => isClaim(tx, address))) {
        receipts.push(await this.settle(tx, times));
      }
    }

    // 3. Slashing: stake below what the account's own transactions explain.
    let principal = checkpoint.principal;
    if (current === undefined) {
      principal = undefined;
    } else if (principal === undefined) {
      // No baseline yet (a checkpoint from before slashing detection): the chain's stake is it.
      principal = through === current.height ? current.stakes : undefined;
    } else {
      const expected = new Map(principal);
      for (const tx of txs) {
        const changes = this.parse(`messages of ${tx.hash}`, () => principalChanges(tx, address, this.options.denom));
        for (const [validator, change] of changes) expected.set(validator, (expected.get(validator) ?? 0n) + change);
      }
      if (through === current.height) {
        for (const validator of [...new Set([...expected.keys(), ...current.stakes.keys()])].sort()) {
          const shortfall = (current.stakes.get(validator) ?? 0n) - (expected.get(validator) ?? 0n);
          if (shortfall < 0n) events.push({ id: `slash:${validator}:${through}`, amount: shortfall, at: await this.blockTime(through, times), validator });
        }
        // From here on the chain's stake is the baseline: a shortfall is reported once.
        principal = current.stakes;
      } else {
        // The scan stopped short of the delegations' height: compare next time.
        principal = expected;
      }
    }
    return { events, checkpoint: formatCheckpoint({ height: through, principal }), receipts };
  }

  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    for (const pending of connections) {
      const connection = await pending.catch(() => undefined);
      connection?.comet.disconnect();
    }
  }
}

/** The Cosmos adapter module: its adapters also count their RPC calls. */
export interface CosmosAdapterModule extends AdapterModule<CosmosOptions> {
  create(config: AdapterConfig<CosmosOptions>): CosmosChainAdapter;
}

/** The Cosmos adapter module, as the daemon loads it (kind `cosmos`). */
export const adapter: CosmosAdapterModule = {
  kind: 'cosmos',
  optionsSchema: cosmosOptionsSchema,
  create(config) {
    const options = resolveCosmosOptions(config.options);
    // Watch the validators the rebalancer stakes with, from the first poll on.
    options.validators = [...new Set([...(config.validators ?? []), ...options.validators])];
    return new CosmosAdapter(config, options);
  },
};
