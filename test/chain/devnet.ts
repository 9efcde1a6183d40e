/**
 * testchain: a small local proof-of-stake chain over real HTTP, standing in
 * for a real chain in the adapter conformance suite and in the daemon's
 * pipeline tests (which talk to it from a child process and may kill that
 * process mid-transaction). It is a chain, not a mock of an adapter:
 *
 * - ed25519 accounts with nonces; signed canonical-JSON transactions
 *   (see keys.ts), verified, rejected before inclusion when the chain would
 *   refuse them, idempotent by hash once included;
 * - one block per included transaction, plus empty blocks every `blockMs`
 *   of chain time; the state is always read at the latest block;
 * - Cosmos-style distribution: rewards accrue continuously per delegation,
 *   exactly (an integer numerator over 10^4 × 86 400 000), are reported
 *   truncated to whole base units, and are paid to the liquid balance when
 *   the delegation changes or on `withdraw`, the fraction staying behind;
 * - unbonding with a completion time, slashing of stake and unbonding
 *   entries, jailing;
 * - faults a test can inject per listener (503, 429, a request that never
 *   answers, a reset connection), a transaction lost from the mempool, and
 *   a transaction that is included but fails.
 *
 * HTTP API (JSON; amounts and heights as decimal strings, times as integer ms):
 *
 * - `GET  /status` → `{chainId, height, time, minFee, blockMs, unbondingMs}`
 * - `GET  /accounts/:address` → `{chainId, height, time, address, liquid,
 *   nonce, pendingRewards, delegations: [{validator, amount, pendingRewards}],
 *   unbonding: [{validator, amount, completesAt}], validators: [{address,
 *   jailed, active, commissionBps, rewardBpsPerDay}]}`
 * - `GET  /accounts/:address/events?after=H&limit=N` → `{height, time,
 *   throughHeight, events: [{id, kind, height, time, amount, validator,
 *   txHash?}]}`: reward payouts and slashes with `after < height ≤
 *   throughHeight`, oldest first; `throughHeight` is the current height
 *   unless `limit` (default and maximum 1000) cut the list, which never
 *   happens inside one height.
 * - `POST /txs` (body: the wire tx bytes) → `TxResultJson`: HTTP 200 in
 *   every case a chain would answer; `code` 0 and `included` for success,
 *   `code` ≠ 0 with `included: false` for a rejection before inclusion,
 *   `code` ≠ 0 with `included: true` for a failed transaction (fee charged),
 *   `pending: true` for one accepted into the mempool and not (yet) in a
 *   block. Bytes already included return the stored result.
 * - `GET  /txs/:hash` → `TxResultJson`, or 404 when no block holds it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DevnetModule } from '../../adapters/devnet.js';
import { sendJson, startListeners, type ListenerFault } from '../../adapters/devnetListeners.js';
import { generateTestKey } from './keys.js';
import { ADDRESS_PREFIX, addressOfPublicKey, decodeTxBody, decodeWireTx, TxDecodeError, txHash, verifyTxSignature, type TxBody, type TxKind } from './keys.js';

/** A fault one listener can be told to show. */
export type DevnetFault = ListenerFault;

/** A validator of the devnet. */
export interface TestValidatorOptions {
  address: string;
  /** What a delegator earns per day, basis points of its stake (net of commission). Integer ≥ 0. */
  rewardBpsPerDay: number;
  /**
   * The commission the validator reports (informational; `rewardBpsPerDay` is already net).
   * @defaultValue 500
   */
  commissionBps?: number;
}

/** Options of {@link startTestDevnet}. */
export interface TestDevnetOptions {
  validators: TestValidatorOptions[];
  /**
   * How long undelegated stake stays unbonding, milliseconds.
   * @defaultValue 21 days
   */
  unbondingMs?: number;
  /**
   * `frozen`: chain time starts at `Date.now()` and moves only by `advance`.
   * `wall`: chain time is `Date.now()` plus what `advance` added, so rewards
   * accrue in real time (for a daemon running against the devnet).
   * @defaultValue 'frozen'
   */
  clock?: 'frozen' | 'wall';
  /**
   * HTTP listeners (endpoints), all serving the same chain.
   * @defaultValue 2
   */
  listeners?: number;
  /**
   * Minimum fee per transaction, base units; a transaction pays the fee it offers.
   * @defaultValue 1000n
   */
  fee?: bigint;
  /**
   * Chain time between empty blocks, milliseconds.
   * @defaultValue 1000
   */
  blockMs?: number;
  /** @defaultValue 'testchain-1' */
  chainId?: string;
}

/** One reward payout (positive) or slash (negative) to an account. */
export interface ChainEvent {
  /** `${txHash}:${index}` for a payout, `slash:${height}:${validator}` for a slash. */
  id: string;
  kind: 'reward' | 'slash';
  height: bigint;
  time: number;
  amount: bigint;
  validator: string;
  /** The transaction that paid it (payouts only). */
  txHash?: string;
}

/** The outcome of a broadcast, or of a lookup by hash. */
export interface TxResult {
  hash: string;
  /** 0: success; see {@link TxCode}. */
  code: number;
  log: string;
  /** In a block (and so charged its fee and used its nonce), successful or not. */
  included: boolean;
  /** Accepted by the node, not in a block (yet). */
  pending: boolean;
  height?: bigint;
  time?: number;
  /** Fee charged: the offered fee when included, else 0. */
  fee: bigint;
  from?: string;
  kind?: TxKind;
}

/** Result codes, after the Cosmos SDK's where one fits. */
export const TxCode = {
  OK: 0,
  TX_DECODE: 2,
  UNAUTHORIZED: 4,
  INSUFFICIENT_FUNDS: 5,
  INVALID_AMOUNT: 10,
  INSUFFICIENT_FEE: 13,
  WRONG_CHAIN_ID: 28,
  WRONG_SEQUENCE: 32,
  UNKNOWN_VALIDATOR: 40,
  INSUFFICIENT_DELEGATION: 41,
  INJECTED_FAILURE: 99,
} as const;

/** An account as a test sees it, at the latest block. */
export interface AccountSnapshot {
  height: bigint;
  time: number;
  liquid: bigint;
  nonce: bigint;
  delegations: { validator: string; amount: bigint }[];
  /** Pending rewards, each delegation truncated to whole base units, summed: what a withdraw would pay. */
  pending: bigint;
  unbonding: { validator: string; amount: bigint; completesAt: number }[];
}

/** A running devnet and its test controls. */
export interface TestDevnet {
  /** One base URL per listener, `http://127.0.0.1:<port>`. */
  readonly urls: string[];
  readonly chainId: string;
  /** The minimum fee per transaction. */
  readonly fee: bigint;
  /** The latest block's height (producing the empty blocks that chain time has passed). */
  height(): bigint;
  /** The latest block's time, ms. */
  time(): number;
  /** Moves chain time forward by `ms`. */
  advance(ms: number): void;
  /** Credits `amount` to an account's liquid balance (genesis-style: no transaction). */
  fund(address: string, amount: bigint): void;
  /** Cuts `bps` of every stake with `validator` and of its unbonding entries, in a new block. */
  slash(validator: string, bps: number): void;
  /** Jails `validator` in a new block: it leaves the active set and stops earning. */
  jail(validator: string): void;
  /** Makes listener `index` show `fault` from now on; `null` heals it. */
  setFault(index: number, fault: DevnetFault | null): void;
  /** The next new valid transaction is accepted (`pending`) and lost; the same bytes sent again land. */
  dropNextTx(): void;
  /** The next new valid transaction is included and fails: fee charged, nonce used, nothing else. */
  failNextTx(): void;
  account(address: string): AccountSnapshot;
  /** Reward payouts minus slashes to the account so far. */
  rewardsPaid(address: string): bigint;
  /** Every event of the account, oldest first. */
  events(address: string): readonly ChainEvent[];
  /** Included transactions sent by the account (successful or failed), optionally of one kind. */
  txCount(address: string, kind?: TxKind): number;
  /** Included transactions sent by the account, oldest first. */
  transactions(address: string): readonly TxResult[];
  /**
   * Runs `hook` whenever a broadcast transaction has been included (newly or
   * again), before the sender gets its answer; `null` removes it. Crash
   * tests kill the sender here: the chain has the transaction, the sender
   * never learns it.
   */
  onIncluded(hook: ((result: TxResult) => void | Promise<void>) | null): void;
  /** Stops every listener, cutting held and idle connections. */
  close(): Promise<void>;
}

interface DevnetHooks {
  onIncluded?: ((result: TxResult) => void | Promise<void>) | undefined;
}

/** Rewards are kept as numerators over this: bps × ms per (10^4 × one day). */
const REWARD_DENOMINATOR = 10_000n * 86_400_000n;
const DEFAULT_UNBONDING_MS = 21 * 86_400_000;
const MAX_TX_BYTES = 64 * 1024;
const MAX_EVENTS_PAGE = 1000;
const UINT = /^(0|[1-9][0-9]{0,77})$/;

interface Delegation {
  amount: bigint;
  /** Accrued, unpaid reward × REWARD_DENOMINATOR: exact. */
  reward: bigint;
}

interface UnbondingEntry {
  validator: string;
  amount: bigint;
  completesAt: number;
}

interface Account {
  liquid: bigint;
  nonce: bigint;
  /** By validator address; a withdraw pays them in sorted order. */
  delegations: Map<string, Delegation>;
  unbonding: UnbondingEntry[];
  events: ChainEvent[];
  txs: TxResult[];
}

interface Validator {
  address: string;
  rewardBpsPerDay: bigint;
  commissionBps: number;
  jailed: boolean;
}

class RejectedTx extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function assertIntegerMs(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`testchain: ${name} must be an integer ≥ ${min}, got ${value}`);
}

/** The chain's state machine, without HTTP. */
class TestChain {
  readonly chainId: string;
  readonly fee: bigint;
  readonly blockMs: number;
  readonly unbondingMs: number;
  private readonly wall: boolean;
  private readonly validators = new Map<string, Validator>();
  private readonly accounts = new Map<string, Account>();
  private readonly included = new Map<string, TxResult>();
  private offset = 0;
  private readonly frozenStart: number;
  private lastHeight = 1n;
  private lastTime: number;
  /** Chain time up to which rewards have accrued and unbonding matured (= lastTime). */
  private stateTime: number;
  dropNext = false;
  failNext = false;

  constructor(options: TestDevnetOptions) {
    this.chainId = options.chainId ?? 'testchain-1';
    this.fee = options.fee ?? 1000n;
    this.blockMs = options.blockMs ?? 1000;
    this.unbondingMs = options.unbondingMs ?? DEFAULT_UNBONDING_MS;
    this.wall = (options.clock ?? 'frozen') === 'wall';
    assertIntegerMs('blockMs', this.blockMs, 1);
    assertIntegerMs('unbondingMs', this.unbondingMs, 0);
    if (this.fee < 0n) throw new RangeError('testchain: fee must be ≥ 0');
    for (const v of options.validators) {
      assertIntegerMs(`validator ${v.address} rewardBpsPerDay`, v.rewardBpsPerDay, 0);
      if (this.validators.has(v.address)) throw new RangeError(`testchain: validator ${v.address} listed twice`);
      this.validators.set(v.address, { address: v.address, rewardBpsPerDay: BigInt(v.rewardBpsPerDay), commissionBps: v.commissionBps ?? 500, jailed: false });
    }
    this.frozenStart = Date.now();
    this.lastTime = this.frozenStart;
    this.stateTime = this.lastTime;
  }

  private clock(): number {
    const now = (this.wall ? Date.now() : this.frozenStart) + this.offset;
    return Math.max(now, this.lastTime);
  }

  advance(ms: number): void {
    assertIntegerMs('advance(ms)', ms, 0);
    this.offset += ms;
  }

  /** Produces the empty blocks chain time has passed; the state is then read at the latest block. */
  tick(): { height: bigint; time: number } {
    const now = this.clock();
    const blocks = Math.floor((now - this.lastTime) / this.blockMs);
    if (blocks > 0) {
      const time = this.lastTime + blocks * this.blockMs;
      this.evolveTo(time);
      this.lastHeight += BigInt(blocks);
      this.lastTime = time;
    }
    return { height: this.lastHeight, time: this.lastTime };
  }

  /** A new block at the current chain time, for a transaction or a begin-block event. */
  private openBlock(): { height: bigint; time: number } {
    this.tick();
    const time = this.clock();
    this.evolveTo(time);
    this.lastHeight += 1n;
    this.lastTime = time;
    return { height: this.lastHeight, time };
  }

  /** Accrues rewards and matures unbonding entries up to `time`. */
  private evolveTo(time: number): void {
    const elapsed = BigInt(time - this.stateTime);
    if (elapsed < 0n) throw new Error('testchain: time went backwards');
    for (const account of this.accounts.values()) {
      if (elapsed > 0n) {
        for (const [address, delegation] of account.delegations) {
          const validator = this.validators.get(address);
          if (validator === undefined || validator.jailed) continue;
          delegation.reward += delegation.amount * validator.rewardBpsPerDay * elapsed;
        }
      }
      if (account.unbonding.length > 0) {
        const still: UnbondingEntry[] = [];
        for (const entry of account.unbonding) {
          if (entry.completesAt <= time) account.liquid += entry.amount;
          else still.push(entry);
        }
        account.unbonding = still;
      }
    }
    this.stateTime = time;
  }

  private accountOf(address: string): Account {
    let account = this.accounts.get(address);
    if (account === undefined) {
      account = { liquid: 0n, nonce: 0n, delegations: new Map(), unbonding: [], events: [], txs: [] };
      this.accounts.set(address, account);
    }
    return account;
  }

  /** Read-only view: an unknown address is an empty account, not created. */
  peek(address: string): Account | undefined {
    return this.accounts.get(address);
  }

  fund(address: string, amount: bigint): void {
    if (amount <= 0n) throw new RangeError('testchain: fund amount must be > 0');
    this.tick();
    this.accountOf(address).liquid += amount;
  }

  validatorList(): Validator[] {
    return [...this.validators.values()];
  }

  jail(address: string): void {
    const validator = this.validators.get(address);
    if (validator === undefined) throw new RangeError(`testchain: unknown validator ${address}`);
    this.openBlock();
    validator.jailed = true;
  }

  slash(address: string, bps: number): void {
    if (!this.validators.has(address)) throw new RangeError(`testchain: unknown validator ${address}`);
    if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new RangeError(`testchain: slash bps must be an integer in 0..10000, got ${bps}`);
    const { height, time } = this.openBlock();
    const fraction = BigInt(bps);
    for (const account of this.accounts.values()) {
      let cut = 0n;
      const delegation = account.delegations.get(address);
      if (delegation !== undefined) {
        const part = (delegation.amount * fraction) / 10_000n;
        delegation.amount -= part;
        cut += part;
      }
      for (const entry of account.unbonding) {
        if (entry.validator !== address) continue;
        const part = (entry.amount * fraction) / 10_000n;
        entry.amount -= part;
        cut += part;
      }
      account.unbonding = account.unbonding.filter((e) => e.amount > 0n);
      if (cut > 0n) account.events.push({ id: `slash:${height}:${address}`, kind: 'slash', height, time, amount: -cut, validator: address });
    }
  }

  /** Pays `validator`'s whole pending reward to the liquid balance, as an event of `hash`. */
  private payout(account: Account, validator: string, hash: string, height: bigint, time: number, index: { next: number }): void {
    const delegation = account.delegations.get(validator);
    if (delegation === undefined) return;
    const whole = delegation.reward / REWARD_DENOMINATOR;
    if (whole === 0n) return;
    delegation.reward -= whole * REWARD_DENOMINATOR;
    account.liquid += whole;
    account.events.push({ id: `${hash}:${index.next}`, kind: 'reward', height, time, amount: whole, validator, txHash: hash });
    index.next += 1;
  }

  txByHash(hash: string): TxResult | undefined {
    return this.included.get(hash);
  }

  /** CheckTx then, unless dropped, DeliverTx in a new block. */
  broadcast(bytes: Uint8Array): TxResult {
    const reject = (hash: string, code: number, log: string): TxResult => ({ hash, code, log, included: false, pending: false, fee: 0n });
    let wire: ReturnType<typeof decodeWireTx>;
    try {
      wire = decodeWireTx(bytes);
    } catch (error) {
      if (error instanceof TxDecodeError) return reject('', TxCode.TX_DECODE, error.message);
      throw error;
    }
    const hash = txHash(wire.bodyBytes, wire.signature);
    const known = this.included.get(hash);
    if (known !== undefined) return known;
    let body: TxBody;
    try {
      body = decodeTxBody(wire.bodyBytes);
      this.tick();
      this.check(body, wire.bodyBytes, wire.signature);
    } catch (error) {
      if (error instanceof TxDecodeError) return reject(hash, TxCode.TX_DECODE, error.message);
      if (error instanceof RejectedTx) return reject(hash, error.code, error.message);
      throw error;
    }
    if (this.dropNext) {
      this.dropNext = false;
      return { hash, code: TxCode.OK, log: 'accepted into the mempool', included: false, pending: true, fee: 0n };
    }
    return this.deliver(body, hash);
  }

  private check(body: TxBody, bodyBytes: Uint8Array, signature: Uint8Array): void {
    if (body.chain !== this.chainId) throw new RejectedTx(TxCode.WRONG_CHAIN_ID, `wrong chain id: expected ${this.chainId}, got ${body.chain}`);
    if (!body.from.startsWith(ADDRESS_PREFIX) || addressOfPublicKey(Buffer.from(body.pubkey, 'hex')) !== body.from) {
      throw new RejectedTx(TxCode.UNAUTHORIZED, `pubkey does not match signer address ${body.from}`);
    }
    if (!verifyTxSignature(bodyBytes, signature, body.pubkey)) throw new RejectedTx(TxCode.UNAUTHORIZED, 'signature verification failed');
    const account = this.accounts.get(body.from);
    const nonce = account?.nonce ?? 0n;
    if (body.nonce !== nonce) throw new RejectedTx(TxCode.WRONG_SEQUENCE, `account sequence mismatch, expected ${nonce}, got ${body.nonce}`);
    if (body.fee < this.fee) throw new RejectedTx(TxCode.INSUFFICIENT_FEE, `insufficient fee: got ${body.fee}, required ${this.fee}`);
    if (body.kind === 'withdraw') {
      if (body.validator !== undefined || body.amount !== undefined) throw new RejectedTx(TxCode.INVALID_AMOUNT, 'withdraw takes no validator and no amount');
    } else {
      if (body.amount === undefined || body.amount <= 0n) throw new RejectedTx(TxCode.INVALID_AMOUNT, `${body.kind}: amount must be > 0`);
      if (body.validator === undefined || !this.validators.has(body.validator)) {
        throw new RejectedTx(TxCode.UNKNOWN_VALIDATOR, `validator ${body.validator ?? '(none)'} does not exist`);
      }
    }
    const needed = body.fee + (body.kind === 'delegate' ? (body.amount ?? 0n) : 0n);
    const liquid = account?.liquid ?? 0n;
    if (liquid < needed) throw new RejectedTx(TxCode.INSUFFICIENT_FUNDS, `insufficient funds: ${liquid} < ${needed}`);
  }

  private deliver(body: TxBody, hash: string): TxResult {
    const { height, time } = this.openBlock();
    const account = this.accountOf(body.from);
    account.liquid -= body.fee;
    account.nonce += 1n;
    const result: TxResult = { hash, code: TxCode.OK, log: '', included: true, pending: false, height, time, fee: body.fee, from: body.from, kind: body.kind };
    const index = { next: 0 };
    if (this.failNext) {
      this.failNext = false;
      result.code = TxCode.INJECTED_FAILURE;
      result.log = 'injected failure: the transaction was included and failed';
    } else if (body.kind === 'withdraw') {
      const validators = [...account.delegations.keys()].sort();
      for (const validator of validators) this.payout(account, validator, hash, height, time, index);
    } else {
      const validator = body.validator!;
      const amount = body.amount!;
      const delegation = account.delegations.get(validator);
      if (body.kind === 'undelegate' && (delegation === undefined || delegation.amount < amount)) {
        result.code = TxCode.INSUFFICIENT_DELEGATION;
        result.log = `undelegate ${amount}: only ${delegation?.amount ?? 0n} delegated to ${validator}`;
      } else {
        this.payout(account, validator, hash, height, time, index);
        if (body.kind === 'delegate') {
          if (delegation === undefined) account.delegations.set(validator, { amount, reward: 0n });
          else delegation.amount += amount;
          account.liquid -= amount;
        } else {
          delegation!.amount -= amount;
          // Like Cosmos, a delegation that reaches 0 is removed; its sub-unit remainder is forfeit.
          if (delegation!.amount === 0n) account.delegations.delete(validator);
          account.unbonding.push({ validator, amount, completesAt: time + this.unbondingMs });
        }
      }
    }
    this.included.set(hash, result);
    account.txs.push(result);
    return result;
  }

  snapshot(address: string): AccountSnapshot {
    const { height, time } = this.tick();
    const account = this.accounts.get(address);
    const delegations = [...(account?.delegations ?? new Map<string, Delegation>())].map(([validator, d]) => ({ validator, amount: d.amount, pending: d.reward / REWARD_DENOMINATOR }));
    return {
      height,
      time,
      liquid: account?.liquid ?? 0n,
      nonce: account?.nonce ?? 0n,
      delegations: delegations.map(({ validator, amount }) => ({ validator, amount })),
      pending: delegations.reduce((sum, d) => sum + d.pending, 0n),
      unbonding: (account?.unbonding ?? []).map((e) => ({ ...e })),
    };
  }

  pendingByValidator(address: string): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const [validator, d] of this.accounts.get(address)?.delegations ?? []) out.set(validator, d.reward / REWARD_DENOMINATOR);
    return out;
  }
}

function txResultJson(result: TxResult): Record<string, unknown> {
  return {
    hash: result.hash,
    code: result.code,
    log: result.log,
    included: result.included,
    pending: result.pending,
    height: result.height?.toString() ?? null,
    time: result.time ?? null,
    fee: result.fee.toString(),
    kind: result.kind ?? null,
  };
}

const send = sendJson;

async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_TX_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function handleRequest(chain: TestChain, hooks: DevnetHooks, req: IncomingMessage, res: ServerResponse): Promise<void> | void {
  const url = new URL(req.url ?? '/', 'http://devnet');
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const method = req.method ?? 'GET';

  if (method === 'GET' && parts.length === 1 && parts[0] === 'status') {
    const { height, time } = chain.tick();
    return send(res, 200, { chainId: chain.chainId, height, time, minFee: chain.fee, blockMs: chain.blockMs, unbondingMs: chain.unbondingMs });
  }

  if (method === 'GET' && parts[0] === 'accounts' && parts.length === 2) {
    const address = decodeURIComponent(parts[1]!);
    const snap = chain.snapshot(address);
    const pending = chain.pendingByValidator(address);
    return send(res, 200, {
      chainId: chain.chainId,
      height: snap.height,
      time: snap.time,
      address,
      liquid: snap.liquid,
      nonce: snap.nonce,
      pendingRewards: snap.pending,
      delegations: snap.delegations.map((d) => ({ validator: d.validator, amount: d.amount, pendingRewards: pending.get(d.validator) ?? 0n })),
      unbonding: snap.unbonding,
      validators: chain.validatorList().map((v) => ({
        address: v.address,
        jailed: v.jailed,
        active: !v.jailed,
        commissionBps: v.commissionBps,
        rewardBpsPerDay: Number(v.rewardBpsPerDay),
      })),
    });
  }

  if (method === 'GET' && parts[0] === 'accounts' && parts.length === 3 && parts[2] === 'events') {
    const address = decodeURIComponent(parts[1]!);
    const afterText = url.searchParams.get('after') ?? '0';
    const limitText = url.searchParams.get('limit') ?? String(MAX_EVENTS_PAGE);
    if (!UINT.test(afterText)) return send(res, 400, { error: `after must be a height (decimal integer), got ${JSON.stringify(afterText)}` });
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PAGE) return send(res, 400, { error: `limit must be an integer in 1..${MAX_EVENTS_PAGE}` });
    const after = BigInt(afterText);
    const { height, time } = chain.tick();
    const all = (chain.peek(address)?.events ?? []).filter((e) => e.height > after && e.height <= height);
    let page = all;
    let throughHeight = height;
    if (all.length > limit) {
      const boundary = all[limit]!.height;
      page = all.slice(0, limit).filter((e) => e.height < boundary);
      // One height holding more than `limit` events is sent whole rather than split.
      if (page.length === 0) page = all.filter((e) => e.height === boundary);
      throughHeight = page[page.length - 1]!.height;
    }
    return send(res, 200, {
      height,
      time,
      throughHeight,
      events: page.map((e) => ({ id: e.id, kind: e.kind, height: e.height, time: e.time, amount: e.amount, validator: e.validator, txHash: e.txHash ?? null })),
    });
  }

  if (method === 'GET' && parts[0] === 'txs' && parts.length === 2) {
    const result = chain.txByHash(decodeURIComponent(parts[1]!).toUpperCase());
    if (result === undefined) return send(res, 404, { error: 'transaction not found in any block' });
    return send(res, 200, txResultJson(result));
  }

  if (method === 'POST' && parts.length === 1 && parts[0] === 'txs') {
    return readBody(req).then((bytes) => {
      if (bytes === undefined) return send(res, 413, { error: `transaction larger than ${MAX_TX_BYTES} bytes` });
      const result = chain.broadcast(bytes);
      const hook = hooks.onIncluded;
      // The hook runs after the block holds the transaction and before the
      // sender hears of it: a test can kill the sender right there.
      if (hook !== undefined && result.included && !result.pending) {
        return Promise.resolve(hook(result)).then(() => send(res, 200, txResultJson(result)));
      }
      return send(res, 200, txResultJson(result));
    });
  }

  return send(res, 404, { error: `no route ${method} ${url.pathname}` });
}

/**
 * Starts a testchain with its HTTP listeners on 127.0.0.1 (ports chosen by
 * the system). Call `close()` when done.
 */
export async function startTestDevnet(options: TestDevnetOptions): Promise<TestDevnet> {
  const chain = new TestChain(options);
  const hooks: DevnetHooks = {};
  const listeners = await startListeners({ name: 'testchain', count: options.listeners ?? 2 }, (req, res) => handleRequest(chain, hooks, req, res));
  const { urls, close } = listeners;

  return {
    urls,
    chainId: chain.chainId,
    fee: chain.fee,
    height: () => chain.tick().height,
    time: () => chain.tick().time,
    advance: (ms) => chain.advance(ms),
    fund: (address, amount) => chain.fund(address, amount),
    slash: (validator, bps) => chain.slash(validator, bps),
    jail: (validator) => chain.jail(validator),
    setFault: listeners.setFault,
    dropNextTx: () => {
      chain.dropNext = true;
    },
    failNextTx: () => {
      chain.failNext = true;
    },
    account: (address) => chain.snapshot(address),
    rewardsPaid: (address) => {
      chain.tick();
      return (chain.peek(address)?.events ?? []).reduce((sum, e) => sum + e.amount, 0n);
    },
    events: (address) => {
      chain.tick();
      return [...(chain.peek(address)?.events ?? [])];
    },
    txCount: (address, kind) => (chain.peek(address)?.txs ?? []).filter((t) => kind === undefined || t.kind === kind).length,
    transactions: (address) => [...(chain.peek(address)?.txs ?? [])],
    onIncluded: (hook) => {
      hooks.onIncluded = hook ?? undefined;
    },
    close,
  };
}

/** testchain for `softstake devnet` (a config's `module:` pointing at test/chain/adapter.ts). */
export const devnet: DevnetModule = {
  kind: 'testchain',
  async start(options) {
    // 10 bps a day, sped up: at speedup 10 000 that is 1% of the stake a second.
    const chain = await startTestDevnet({
      validators: [
        { address: 'testval1alpha', rewardBpsPerDay: 10 * options.speedup },
        { address: 'testval1beta', rewardBpsPerDay: 8 * options.speedup, commissionBps: 700 },
      ],
      clock: 'wall',
      blockMs: 500,
    });
    return {
      endpoints: chain.urls,
      validators: ['testval1alpha', 'testval1beta'],
      async createFundedAccount(amount) {
        const key = generateTestKey();
        chain.fund(key.address, amount);
        return { secret: key.secretHex, address: key.address };
      },
      close: () => chain.close(),
    };
  },
};
