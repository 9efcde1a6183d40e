/**
 * The chain adapter conformance suite: what every ChainAdapter must do
 * against its chain's devnet, whatever the chain. A chain's test file calls
 * {@link describeAdapterConformance} with a setup that starts its devnet,
 * funds a custody account and says how to build the adapter; the suite
 * then checks the contract of adapters/types.ts through the adapter only,
 * and checks the money against what the devnet itself says it paid.
 *
 * The devnet is driven through the kit's `DevnetControls` alone (faults per
 * listener and per method, the mempool's drop / fail / delay / lost
 * response, `onIncluded`, the clock, the ground truth `truth.of(custody)`),
 * so a new chain's devnet on the kit runs the suite as it is.
 *
 * Every test gets a fresh harness (a fresh devnet and account), so tests
 * neither depend on each other's order nor leak state.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChainProtocolError, safeUrl, TxRejectedError } from '../../adapters/errors.js';
import type { DevnetControls } from '../../adapters/devnet/controls.js';
import type { AdapterConfig, AdapterModule, ChainAdapter, HarvestResult, Movement, NewKey, Position, PreflightCheck, StakeAction, TxReceipt } from '../../adapters/types.js';
import { SoftstakeError } from '../../src/errors.js';
import { until } from '../helpers/wait.js';

/** What a chain's test file provides for the suite. */
export interface ConformanceHarness {
  /**
   * The devnet, driven through the kit's controls alone: at least two
   * endpoints; `advance` produces whatever blocks or epochs the chain would;
   * `truth.of(custody).net` is what harvest must report.
   */
  devnet: DevnetControls<{ hash: string }>;
  /** The custody account, as the devnet's ground truth names it. */
  custody: string;
  /** Slashes `bps` of the stake with `validator` (a chain's own control). The slashing test runs only where given. */
  slash?(validator: string, bps: number): void;
  /** The JSON-RPC method or REST route the adapter sends transactions with (`broadcast_tx_sync`, `send_tx`): the per-method fault test faults it alone. */
  sendMethod: string;
  /** Chain time after which undelegated stake is unlocked (withdrawable, or liquid where the chain pays it out itself), ms. */
  unlockMs: number;
  /** Closes the adapters, the devnet and whatever else the setup made. */
  close(): Promise<void>;
  /**
   * Builds an adapter for the funded custody account over `endpoints`
   * (default: `devnet.endpoints` in order). Use a short per-request timeout
   * (about 300 ms) and a short inclusion wait (about 500 ms): the suite
   * waits out timeouts and dropped transactions.
   */
  createAdapter(endpoints?: readonly string[]): ChainAdapter;
  /**
   * Builds an adapter for the same custody account with its address
   * configured (`AdapterConfig.address`) and a signer file that does not
   * exist: what the api role runs with.
   */
  createReadOnlyAdapter(): ChainAdapter;
  /**
   * Whether stake is held per target, so the per-target breakdown sums to
   * `bonded` (Cosmos, NEAR, Aptos; not TRON votes or Polkadot nominations).
   * @defaultValue true
   */
  perTargetStake?: boolean;
  /**
   * Whether a transaction that fails on chain is included (and pays its
   * fee). TRON's staking transactions never fail in a block: the producer
   * leaves a failing one out, and it expires. Where false, the failed-
   * transaction tests check that instead.
   * @defaultValue true
   */
  failedTxIncluded?: boolean;
  /** Validators to delegate to: at least one, better two. */
  validators: readonly [string, ...string[]];
  /** A stake amount, base units; the account holds at least 4× this plus fees. */
  amount: bigint;
  /** Chain time after which a stake of `amount` has earned several whole base units, ms. */
  rewardPeriodMs: number;
  /** A validator the chain does not know, well-formed for the chain; the refusal test runs only where given. */
  unknownValidator?: string;
  /**
   * Whether chain time stands still between `advance` calls; if so the suite
   * also checks that nothing at all happens between them.
   * @defaultValue true
   */
  frozenClock?: boolean;
  /** The adapter module's keys for the devnet's chain block: build it with {@link moduleKeys}. */
  keys: ModuleKeys;
  /**
   * Funds `address` (a key `keys.newKey` made) with `amount` base units on
   * the devnet, as a faucet or a transfer from a wallet would (NEAR: a
   * transfer to an implicit account creates it).
   */
  fund(address: string, amount: bigint): Promise<void>;
  /**
   * A devnet lacking what the adapter depends on (Cosmos: the tx indexer
   * off), with a funded custody and an adapter on it; the suite checks that
   * preflight fails naming `dependency` (a `PreflightKind` `dependency`
   * name). Give it wherever the chain has such a dependency.
   */
  lacking?(): Promise<LackingDevnet>;
}

/** A devnet without what the adapter depends on; see {@link ConformanceHarness.lacking}. */
export interface LackingDevnet {
  adapter: ChainAdapter;
  /** The dependency's stable name (`tx-index`, `archival`, `solidity`, `rest-api`, `staking-pallets`). */
  dependency: string;
  /** The checkpoint to preflight with (`null`; NEAR: an old one, so archival history is needed). */
  checkpoint: string | null;
  close(): Promise<void>;
}

/** What the keys and preflight tests use of an adapter module, for the chain block of the devnet with its signer file at `file`. */
export interface ModuleKeys {
  newKey(file: string): Promise<NewKey>;
  addressOf(secret: string, file: string): Promise<string>;
  /** `module.create` for that block, `validators` replacing the block's when given. */
  create(file: string, validators?: readonly string[]): ChainAdapter;
}

/** {@link ModuleKeys} from an adapter module and its devnet's chain block (no `address`; the signer at `file`). */
export function moduleKeys<O>(module: AdapterModule<O>, chainConfig: (file: string) => AdapterConfig<O>): ModuleKeys {
  return {
    newKey: (file) => module.newKey(chainConfig(file)),
    addressOf: (secret, file) => module.addressOf(secret, chainConfig(file)),
    create: (file, validators) => module.create(validators === undefined ? chainConfig(file) : { ...chainConfig(file), validators: [...validators] }),
  };
}

/** Every check well formed: a known kind and status, a name, a detail, a fix wherever it is not ok. */
export function expectWellFormedChecks(checks: readonly PreflightCheck[]): void {
  expect(checks.length).toBeGreaterThan(0);
  for (const c of checks) {
    expect(['endpoint', 'dependency', 'custody', 'validator', 'limits']).toContain(c.kind);
    expect(['ok', 'warning', 'failure']).toContain(c.status);
    expect(c.name).toMatch(/\S/);
    expect(c.detail).toMatch(/\S/);
    if (c.status !== 'ok') expect(c.fix, `${c.kind} ${c.name}: a ${c.status} says what to do`).toMatch(/\S/);
  }
}

/** The check of `kind` named `name`; fails the test when there is none. */
export function checkOf(checks: readonly PreflightCheck[], kind: PreflightCheck['kind'], name: string): PreflightCheck {
  const found = checks.find((c) => c.kind === kind && c.name === name);
  expect(found, `a ${kind} check named ${name} in ${JSON.stringify(checks.map((c) => `${c.kind} ${c.name}`))}`).toBeDefined();
  return found!;
}

/** Stake with `validator` in a position. */
export function stakeOf(position: Position, validator: string): bigint {
  return position.delegations.filter((d) => d.validator === validator).reduce((sum, d) => sum + d.amount, 0n);
}

/** Unbonding amount with `validator` in a position; entries the chain keeps per account (no validator: TRON, Polkadot) count for every validator. */
export function unbondingOf(position: Position, validator: string): bigint {
  return unbondingEntries(position, validator).reduce((sum, u) => sum + u.amount, 0n);
}

/** Unbonding entries with `validator`, or kept per account. */
export function unbondingEntries(position: Position, validator: string): Position['unbonding'] {
  return position.unbonding.filter((u) => u.validator === undefined || u.validator === validator);
}

/** The sum of reward events (slashes negative), or of any amounts. */
export function sumOf(events: readonly { amount: bigint }[]): bigint {
  return events.reduce((sum, e) => sum + e.amount, 0n);
}

/**
 * Runs what the adapter says is due (claims, withdrawals) as the pipeline
 * does, without the intents table: each step signed, then broadcast.
 */
export async function settleDue(adapter: ChainAdapter, checkpoint: string | null, now = Date.now()): Promise<TxReceipt[]> {
  const receipts: TxReceipt[] = [];
  for (const due of await adapter.due(checkpoint)) {
    if (due.dueAt !== undefined && due.dueAt > now) continue;
    for (let step = 0; step < adapter.steps(due.action); step += 1) receipts.push(await adapter.broadcast(await adapter.sign(due.action, step)));
  }
  return receipts;
}

/** Claims what is due, then harvests: the pipeline's harvest job without the ledger. */
export async function claimAndHarvest(adapter: ChainAdapter, checkpoint: string | null): Promise<HarvestResult & { receipts: TxReceipt[] }> {
  const receipts = await settleDue(adapter, checkpoint);
  return { ...(await adapter.harvest(checkpoint)), receipts };
}

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

function expectRetryable(error: unknown): void {
  expect(error).toBeInstanceOf(SoftstakeError);
  expect((error as SoftstakeError).retryable).toBe(true);
  expect(error).not.toBeInstanceOf(TxRejectedError);
}

function expectWellFormedEvents(result: HarvestResult): void {
  const ids = result.events.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const event of result.events) {
    expect(typeof event.id).toBe('string');
    expect(event.id.length).toBeGreaterThan(0);
    expect(typeof event.amount).toBe('bigint');
    expect(event.amount).not.toBe(0n);
    expect(Number.isSafeInteger(event.at)).toBe(true);
  }
  for (let i = 1; i < result.events.length; i += 1) expect(result.events[i]!.at).toBeGreaterThanOrEqual(result.events[i - 1]!.at);
  expect(typeof result.checkpoint).toBe('string');
}

/**
 * Registers the conformance tests for one adapter and its devnet.
 * @param name shown in the test names, e.g. `cosmos`.
 * @param setup starts a fresh devnet with a funded custody account; called before every test.
 */
export function describeAdapterConformance(name: string, setup: () => Promise<ConformanceHarness>): void {
  describe(`adapter conformance: ${name}`, () => {
    let h: ConformanceHarness;
    let adapters: ChainAdapter[] = [];
    let adapter: ChainAdapter;

    const build = (endpoints?: readonly string[]): ChainAdapter => {
      const built = h.createAdapter(endpoints);
      adapters.push(built);
      return built;
    };
    const frozen = (): boolean => h.frozenClock ?? true;
    /** Signs and sends the steps of `action` from `from` on (the rest of an action whose first step a test sent itself); their fees. */
    const finish = async (action: StakeAction, from = 1): Promise<bigint> => {
      let fees = 0n;
      for (let step = from; step < adapter.steps(action); step += 1) fees += (await adapter.broadcast(await adapter.sign(action, step))).fee;
      return fees;
    };
    const v0 = (): string => h.validators[0];
    const v1 = (): string => h.validators[1] ?? h.validators[0];

    beforeEach(async () => {
      h = await setup();
      adapters = [];
      adapter = build();
    });

    afterEach(async () => {
      h.devnet.onIncluded(null);
      for (const built of adapters) await built.close();
      await h.close();
    });

    /**
     * Where a failing transaction is left out of its block (TRON): a
     * retryable error while it may still land, `pending`, then `expired`
     * once past its expiry, and nothing moved.
     */
    const leftOut = async (): Promise<void> => {
      const before = await adapter.position();
      const paidBefore = paid();
      const signed = await adapter.sign({ kind: 'delegate', validator: v0(), amount: h.amount });
      expect(signed.expires).toBeDefined();
      h.devnet.failNextTx();
      expectRetryable(await rejection(adapter.broadcast(signed)));
      expect(await adapter.status(signed)).toEqual({ state: 'pending' });
      for (let i = 0; i < 100 && (await adapter.status(signed)).state === 'pending'; i += 1) h.devnet.advance(h.rewardPeriodMs);
      expect(await adapter.status(signed)).toEqual({ state: 'expired' });
      const after = await adapter.position();
      expect(after.delegations).toEqual(before.delegations);
      expect(after.bonded).toBe(before.bonded);
      expect(after.liquid).toBe(before.liquid);
      expect(paid()).toBe(paidBefore);
    };

    /** What the chain paid the custody account, net of slashes: its ground truth. */
    const paid = (): bigint => h.devnet.truth.of(h.custody).net;

    describe('reads', () => {
      it('position: bonded and its breakdown, unbonding apart from withdrawable, all at one height', async () => {
        await adapter.delegate(v0(), h.amount);
        const position = await adapter.position();
        expect(typeof position.bonded).toBe('bigint');
        expect(typeof position.withdrawable).toBe('bigint');
        expect(position.withdrawable).toBeGreaterThanOrEqual(0n);
        expect(position.bonded).toBeGreaterThanOrEqual(h.amount);
        if (h.perTargetStake ?? true) expect(position.bonded).toBe(position.delegations.reduce((sum, d) => sum + d.amount, 0n));
        for (const entry of position.unbonding) expect(Number.isSafeInteger(entry.completesAt)).toBe(true);
      });

      it('limits: what the planner must obey is stated', async () => {
        const limits = await adapter.limits();
        expect(limits.minStake).toBeGreaterThan(0n);
        expect(limits.step).toBeGreaterThan(0n);
        expect(limits.reserve).toBeGreaterThanOrEqual(0n);
        // The planner's default minMove is a multiple of it: a delegation must cost something.
        expect(limits.typicalFee).toBeGreaterThan(0n);
        if (limits.maxUnbondingEntries !== undefined) expect(limits.maxUnbondingEntries.count).toBeGreaterThan(0);
        expect(h.amount % limits.step).toBe(0n);
      });

      it('reads need no key: position, limits, due and harvest work from the configured address with the signer unreadable', async () => {
        await adapter.delegate(v0(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        const reader = h.createReadOnlyAdapter();
        adapters.push(reader);
        expect(await reader.address()).toBe(await adapter.address());
        const [mine, theirs] = [await adapter.position(), await reader.position()];
        expect(theirs.bonded).toBe(mine.bonded);
        expect(theirs.liquid).toBe(mine.liquid);
        await reader.limits();
        expect((await reader.due(null)).length).toBeGreaterThan(0);
        expectWellFormedEvents(await reader.harvest(null));
        // Signing is what needs the key, and says so.
        const error = await rejection(reader.sign({ kind: 'delegate', validator: v0(), amount: h.amount }));
        expect(error).toBeInstanceOf(SoftstakeError);
        expect((error as Error).message).toMatch(/signer/);
      });

      it('harvest only reads: it sends nothing, and what is due stays due until the pipeline runs it', async () => {
        await adapter.delegate(v0(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        const due = await adapter.due(null);
        expect(due.length).toBeGreaterThan(0);
        for (const d of due) expect(['claim', 'withdraw']).toContain(d.action.kind);
        const before = await adapter.position();
        const requests = adapter.rpcRequests();
        await adapter.harvest(null);
        expect(adapter.rpcRequests()).toBeGreaterThan(requests);
        const after = await adapter.position();
        expect(after.liquid).toBe(before.liquid);
        expect(after.bonded).toBe(before.bonded);
        if (frozen()) expect(after.pendingRewards).toBe(before.pendingRewards);
        expect((await adapter.due(null)).map((d) => d.action)).toEqual(due.map((d) => d.action));
      });
    });

    describe('stake', () => {
      it('delegate: the stake shows in position() and the receipt names a hash and the fee', async () => {
        const before = await adapter.position();
        const receipt = await adapter.delegate(v0(), h.amount);
        const after = await adapter.position();

        expect(receipt.hash).toMatch(/\S/);
        expect(typeof receipt.fee).toBe('bigint');
        expect(receipt.fee).toBeGreaterThanOrEqual(0n);
        expect(receipt.height).toBeGreaterThan(before.height);
        expect(Number.isSafeInteger(receipt.at)).toBe(true);
        expect(after.height).toBeGreaterThanOrEqual(receipt.height);
        expect(stakeOf(after, v0()) - stakeOf(before, v0())).toBe(h.amount);
        expect(after.liquid).toBe(before.liquid - h.amount - receipt.fee);
        if (after.validators.length > 0) {
          expect(after.validators.find((v) => v.validator === v0())).toMatchObject({ jailed: false });
        }
      });

      it('sign() sends nothing: the position is unchanged until the bytes are broadcast', async () => {
        const before = await adapter.position();
        const signed = await adapter.sign({ kind: 'delegate', validator: v0(), amount: h.amount });
        expect(signed.hash).toMatch(/\S/);
        expect(signed.bytes.length).toBeGreaterThan(0);
        const after = await adapter.position();
        expect(stakeOf(after, v0())).toBe(stakeOf(before, v0()));
        expect(after.liquid).toBe(before.liquid);
      });

      it('undelegate: the stake drops and an unbonding entry completes in the future', async () => {
        await adapter.delegate(v0(), h.amount);
        const half = h.amount / 2n;
        const before = await adapter.position();
        const receipt = await adapter.undelegate(v0(), half);
        const after = await adapter.position();

        expect(stakeOf(after, v0())).toBe(stakeOf(before, v0()) - half);
        expect(unbondingOf(after, v0()) - unbondingOf(before, v0())).toBe(half);
        const entry = unbondingEntries(after, v0()).find((u) => u.amount === half);
        expect(entry).toBeDefined();
        expect(entry!.completesAt).toBeGreaterThan(receipt.at);
        expect(entry!.completesAt).toBeGreaterThan(after.at);
      });

      it('refuses a non-positive amount without sending anything', async () => {
        const before = await adapter.position();
        const error = await rejection(adapter.sign({ kind: 'delegate', validator: v0(), amount: 0n }));
        expect(error).toBeInstanceOf(TxRejectedError);
        expect((error as TxRejectedError).included).toBe(false);
        expect((await adapter.position()).liquid).toBe(before.liquid);
      });

      it('refuses an unknown validator as a non-retryable rejection', async (context) => {
        if (h.unknownValidator === undefined) return context.skip();
        const error = await rejection(adapter.delegate(h.unknownValidator, h.amount));
        expect(error).toBeInstanceOf(TxRejectedError);
        expect((error as TxRejectedError).retryable).toBe(false);
        expect((error as TxRejectedError).included).toBe(false);
      });
    });

    describe('harvest', () => {
      it('reports exactly what the chain paid, each event once, and realizes the pending rewards', async () => {
        await adapter.delegate(v0(), h.amount);
        if (h.validators.length > 1) await adapter.delegate(v1(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        // Restaking on a validator with pending rewards: on claim chains this pays them out.
        await adapter.delegate(v0(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        const pending = await adapter.position();
        expect(pending.pendingRewards).toBeGreaterThanOrEqual(0n);

        const result = await claimAndHarvest(adapter, null);
        const truth = paid();

        expectWellFormedEvents(result);
        expect(truth).toBeGreaterThan(0n);
        expect(sumOf(result.events)).toBe(truth);
        for (const receipt of result.receipts) {
          expect(typeof receipt.fee).toBe('bigint');
          expect(Array.isArray(receipt.moved)).toBe(true);
        }
        if (frozen()) expect((await adapter.position()).pendingRewards).toBe(0n);
      });

      it('a harvest from the returned checkpoint reports no earlier event again; ids are deterministic', async () => {
        await adapter.delegate(v0(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        const first = await claimAndHarvest(adapter, null);
        expect(first.events.length).toBeGreaterThan(0);
        const firstIds = new Set(first.events.map((e) => e.id));

        const second = await claimAndHarvest(adapter, first.checkpoint);
        expectWellFormedEvents(second);
        expect(second.events.filter((e) => firstIds.has(e.id))).toEqual([]);
        if (frozen()) {
          expect(second.events).toEqual([]);
          // Nothing was due: the claims of the first round paid everything.
          expect(second.receipts).toEqual([]);
          // Asked again from the start, the chain's history is the same events under the same ids.
          const replay = await adapter.harvest(null);
          expect(replay.events).toEqual(first.events);
        }

        const paidBefore = paid();
        h.devnet.advance(h.rewardPeriodMs);
        const third = await claimAndHarvest(adapter, second.checkpoint);
        expectWellFormedEvents(third);
        expect(third.events.length).toBeGreaterThan(0);
        expect(third.events.filter((e) => firstIds.has(e.id) || second.events.some((s) => s.id === e.id))).toEqual([]);
        expect(sumOf(third.events)).toBe((paid()) - paidBefore);
      });

      it('a slash is a negative event and the stake shrinks', async (context) => {
        const slash = h.slash?.bind(h);
        if (slash === undefined) return context.skip();
        await adapter.delegate(v0(), h.amount);
        const before = await adapter.position();
        slash(v0(), 1000);
        const after = await adapter.position();
        expect(stakeOf(after, v0())).toBeLessThan(stakeOf(before, v0()));

        const result = await adapter.harvest(null);
        expectWellFormedEvents(result);
        const slashes = result.events.filter((e) => e.amount < 0n);
        expect(slashes.length).toBeGreaterThan(0);
        expect(sumOf(slashes)).toBe(stakeOf(after, v0()) - stakeOf(before, v0()));
        expect(sumOf(result.events)).toBe(paid());
      });
    });

    describe('endpoint failover', () => {
      it('primary answering 503: reads and writes go through the next endpoint, once', async () => {
        h.devnet.setFault(0, 'http503');
        const before = await adapter.position();
        await adapter.delegate(v0(), h.amount);
        h.devnet.setFault(0, null);
        expect(stakeOf(await adapter.position(), v0()) - stakeOf(before, v0())).toBe(h.amount);
      });

      it('primary answering 429 (endpoints reordered): the call goes through the other endpoint', async () => {
        const [first, second] = h.devnet.endpoints;
        h.devnet.setFault(1, 'http429');
        const reordered = build([second!, first!]);
        const position = await reordered.position();
        expect(position.liquid).toBeGreaterThan(0n);
      });

      it('primary timing out: the call goes through the next endpoint, once', async () => {
        h.devnet.setFault(0, 'timeout');
        const before = await adapter.position();
        await adapter.delegate(v0(), h.amount);
        h.devnet.setFault(0, null);
        expect(stakeOf(await adapter.position(), v0()) - stakeOf(before, v0())).toBe(h.amount);
      });

      it('every endpoint failing: a retryable error, and nothing happened on the chain', async () => {
        const before = await adapter.position();
        const signed = await adapter.sign({ kind: 'delegate', validator: v0(), amount: h.amount });
        for (let i = 0; i < h.devnet.endpoints.length; i += 1) h.devnet.setFault(i, i === 0 ? 'timeout' : 'http503');
        expectRetryable(await rejection(adapter.position()));
        expectRetryable(await rejection(adapter.broadcast(signed)));
        expectRetryable(await rejection(adapter.harvest(null)));
        for (let i = 0; i < h.devnet.endpoints.length; i += 1) h.devnet.setFault(i, null);
        const after = await adapter.position();
        expect(stakeOf(after, v0())).toBe(stakeOf(before, v0()));
        expect(after.liquid).toBe(before.liquid);
      });
    });

    describe('failed and repeated transactions', () => {
      it('a failed transaction: non-retryable TxRejectedError, only the fee is gone, no reward is credited from it', async () => {
        await adapter.delegate(v0(), h.amount);
        if (!(h.failedTxIncluded ?? true)) return leftOut();
        h.devnet.advance(h.rewardPeriodMs);
        const before = await adapter.position();
        const paidBefore = paid();

        h.devnet.failNextTx();
        const error = await rejection(adapter.delegate(v0(), h.amount));
        expect(error).toBeInstanceOf(TxRejectedError);
        const rejected = error as TxRejectedError;
        expect(rejected.retryable).toBe(false);
        expect(rejected.included).toBe(true);
        expect(rejected.hash).toMatch(/\S/);

        const after = await adapter.position();
        expect(after.delegations).toEqual(before.delegations);
        expect(after.liquid).toBe(before.liquid - rejected.fee);
        if (frozen()) expect(after.pendingRewards).toBe(before.pendingRewards);
        expect(paid()).toBe(paidBefore);

        const harvest = await adapter.harvest(null);
        expectWellFormedEvents(harvest);
        expect(harvest.events.filter((e) => e.id.includes(rejected.hash!))).toEqual([]);
        expect(sumOf(harvest.events)).toBe(paid());
      });

      it('status(): unsent bytes are pending (never expired before their expiry); broadcast, they are included with the same receipt', async () => {
        const signed = await adapter.sign({ kind: 'delegate', validator: v0(), amount: h.amount });
        expect(await adapter.status(signed)).toEqual({ state: 'pending' });
        const receipt = await adapter.broadcast(signed);
        expect(await adapter.status(signed)).toEqual({ state: 'included', receipt });
      });

      it('status(): bytes whose nonce another transaction took are expired for good, and never land', async () => {
        const stale = await adapter.sign({ kind: 'delegate', validator: v0(), amount: h.amount });
        // Another transaction (another amount: the same one would be these very bytes) takes the nonce first.
        await adapter.delegate(v0(), 2n * h.amount);
        const before = await adapter.position();
        expect(await adapter.status(stale)).toEqual({ state: 'expired' });
        const error = await rejection(adapter.broadcast(stale));
        expect(error).toBeInstanceOf(TxRejectedError);
        expect((error as TxRejectedError).included).toBe(false);
        expect(stakeOf(await adapter.position(), v0())).toBe(stakeOf(before, v0()));
      });

      it('the same signed bytes broadcast twice: the same receipt and one delegation', async () => {
        const before = await adapter.position();
        const action: StakeAction = { kind: 'delegate', validator: v0(), amount: h.amount };
        const signed = await adapter.sign(action);
        const first = await adapter.broadcast(signed);
        const again = await adapter.broadcast(signed);
        expect(first.hash).toBe(signed.hash);
        expect(again).toEqual(first);
        const rest = await finish(action);
        const after = await adapter.position();
        expect(stakeOf(after, v0()) - stakeOf(before, v0())).toBe(h.amount);
        expect(after.liquid).toBe(before.liquid - h.amount - first.fee - rest);
      });

      it('a dropped transaction: a retryable error, nothing lands; the same bytes later land once', async () => {
        const before = await adapter.position();
        const action: StakeAction = { kind: 'delegate', validator: v0(), amount: h.amount };
        const signed = await adapter.sign(action);
        h.devnet.dropNextTx();
        expectRetryable(await rejection(adapter.broadcast(signed)));
        expect(stakeOf(await adapter.position(), v0())).toBe(stakeOf(before, v0()));
        expect((await adapter.position()).liquid).toBe(before.liquid);

        const landed = await adapter.broadcast(signed);
        expect(landed.hash).toBe(signed.hash);
        expect(await adapter.broadcast(signed)).toEqual(landed);
        const rest = await finish(action);
        const after = await adapter.position();
        expect(stakeOf(after, v0()) - stakeOf(before, v0())).toBe(h.amount);
        expect(after.liquid).toBe(before.liquid - h.amount - landed.fee - rest);
      });
    });

    describe('the devnet controls: faults per method, the mempool, onIncluded', () => {
      it("sends faulted on the primary alone: the transaction goes through the next endpoint, once, and reads still use the primary", async () => {
        const heal = h.devnet.faults.inject({ listener: 0, target: h.sendMethod }, 'http503');
        const before = await adapter.position();
        const receipt = await adapter.delegate(v0(), h.amount);
        heal();
        expect(receipt.hash).toMatch(/\S/);
        expect(stakeOf(await adapter.position(), v0()) - stakeOf(before, v0())).toBe(h.amount);
        // The primary is healthy for everything else: a read through it alone works.
        const primaryOnly = build([h.devnet.endpoints[0]!]);
        expect(stakeOf(await primaryOnly.position(), v0()) - stakeOf(before, v0())).toBe(h.amount);
      });

      it('onIncluded sees every included transaction before its sender hears back', async () => {
        const seen: string[] = [];
        let heardBack = false;
        h.devnet.onIncluded((tx) => {
          if (!heardBack) seen.push(tx.hash);
        });
        const receipt = await adapter.delegate(v0(), h.amount);
        heardBack = true;
        expect(seen).toContain(receipt.hash);
      });

      it('a lost response: the transaction landed, the adapter cannot know; the same bytes return its receipt and it counts once', async () => {
        const before = await adapter.position();
        const action: StakeAction = { kind: 'delegate', validator: v0(), amount: h.amount };
        const signed = await adapter.sign(action);
        h.devnet.loseNextResponse();
        const first = await adapter.broadcast(signed).catch((error: unknown) => error);
        if (first instanceof Error) expectRetryable(first);
        else expect((first as TxReceipt).hash).toBe(signed.hash);
        const status = await adapter.status(signed);
        expect(status.state).toBe('included');
        const again = await adapter.broadcast(signed);
        expect(status).toEqual({ state: 'included', receipt: again });
        const rest = await finish(action);
        const after = await adapter.position();
        expect(stakeOf(after, v0()) - stakeOf(before, v0())).toBe(h.amount);
        expect(after.liquid).toBe(before.liquid - h.amount - again.fee - rest);
      });

      it('a delayed inclusion: pending meanwhile (or waited for), then included once under the same hash', async () => {
        const before = await adapter.position();
        const action: StakeAction = { kind: 'delegate', validator: v0(), amount: h.amount };
        const signed = await adapter.sign(action);
        h.devnet.delayNextTx(1_500);
        const first = await adapter.broadcast(signed).catch((error: unknown) => error);
        if (first instanceof Error) {
          expectRetryable(first);
          expect(['pending', 'included']).toContain((await adapter.status(signed)).state);
        }
        const status = await until(async () => {
          const now = await adapter.status(signed);
          return now.state === 'included' ? now : undefined;
        }, 'the delayed transaction was included', 10_000, 100);
        expect(await adapter.broadcast(signed)).toEqual(status.receipt);
        await finish(action);
        expect(stakeOf(await adapter.position(), v0()) - stakeOf(before, v0())).toBe(h.amount);
      });

      it('advance moves chain time: the position is read at a later block', async () => {
        const before = await adapter.position();
        const clockBefore = h.devnet.clock.now();
        h.devnet.advance(h.rewardPeriodMs);
        expect(h.devnet.clock.now()).toBeGreaterThanOrEqual(clockBefore + h.rewardPeriodMs);
        const after = await adapter.position();
        expect(after.height).toBeGreaterThan(before.height);
        expect(after.at).toBeGreaterThan(before.at);
      });
    });

    describe('status() and expiry', () => {
      it('a failed transaction: status() says failed, with the fee the rejection named', async () => {
        await adapter.delegate(v0(), h.amount);
        if (!(h.failedTxIncluded ?? true)) return leftOut();
        const signed = await adapter.sign({ kind: 'delegate', validator: v0(), amount: h.amount });
        h.devnet.failNextTx();
        const error = await rejection(adapter.broadcast(signed));
        expect(error).toBeInstanceOf(TxRejectedError);
        const status = await adapter.status(signed);
        expect(status).toMatchObject({ state: 'failed', hash: signed.hash, fee: (error as TxRejectedError).fee });
      });

      it('bytes past their expiry are expired, refused by the chain, and nothing happens; bytes without one stay pending', async () => {
        const before = await adapter.position();
        const signed = await adapter.sign({ kind: 'delegate', validator: v0(), amount: h.amount });
        h.devnet.dropNextTx();
        expectRetryable(await rejection(adapter.broadcast(signed)));
        expect(await adapter.status(signed)).toEqual({ state: 'pending' });
        const { expires } = signed;
        if (expires === undefined) {
          // Bytes that never age (Cosmos): a long time later they are still only pending.
          h.devnet.advance(10 * h.rewardPeriodMs);
          expect(await adapter.status(signed)).toEqual({ state: 'pending' });
          return;
        }
        expect(expires.at !== undefined || expires.height !== undefined).toBe(true);
        const passed = async (): Promise<boolean> => {
          const head = await adapter.position();
          return (expires.at === undefined || head.at > expires.at) && (expires.height === undefined || head.height > expires.height);
        };
        for (let i = 0; i < 100 && !(await passed()); i += 1) {
          // Not yet past: never expired early.
          expect((await adapter.status(signed)).state).toBe('pending');
          h.devnet.advance(h.rewardPeriodMs);
        }
        expect(await passed()).toBe(true);
        expect(await adapter.status(signed)).toEqual({ state: 'expired' });
        const refused = await rejection(adapter.broadcast(signed));
        expect(refused).toBeInstanceOf(TxRejectedError);
        expect(refused).toMatchObject({ code: 'expired', included: false, retryable: false });
        const after = await adapter.position();
        expect(stakeOf(after, v0())).toBe(stakeOf(before, v0()));
        expect(after.liquid).toBe(before.liquid);
      });
    });

    describe('actions in steps, due claims and withdrawals', () => {
      it('every action takes one or more steps; each signs on its own and a step past the last is refused', async () => {
        const delegate: StakeAction = { kind: 'delegate', validator: v0(), amount: h.amount };
        const actions: StakeAction[] = [delegate, { kind: 'undelegate', validator: v0(), amount: h.amount }, { kind: 'claim', validators: [v0()] }, { kind: 'withdraw', validator: v0() }];
        for (const action of actions) expect(adapter.steps(action)).toBeGreaterThanOrEqual(1);
        const before = await adapter.position();
        // Resumed step by step, as the pipeline does after a crash: each step once, in order.
        for (let step = 0; step < adapter.steps(delegate); step += 1) await adapter.broadcast(await adapter.sign(delegate, step));
        expect(stakeOf(await adapter.position(), v0()) - stakeOf(before, v0())).toBe(h.amount);
        const beyond = await rejection(adapter.sign(delegate, adapter.steps(delegate)));
        expect(beyond).toBeInstanceOf(TxRejectedError);
        expect((beyond as TxRejectedError).retryable).toBe(false);
      });

      it('due() names claims the pipeline runs as intents; once run, nothing is due and harvest reports what they paid', async () => {
        await adapter.delegate(v0(), h.amount);
        if (h.validators.length > 1) await adapter.delegate(v1(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        const due = await adapter.due(null);
        expect(due.some((d) => d.action.kind === 'claim')).toBe(true);
        for (const d of due) {
          expect(adapter.steps(d.action)).toBeGreaterThanOrEqual(1);
          if (d.dueAt !== undefined) expect(Number.isSafeInteger(d.dueAt)).toBe(true);
          if (d.deadline !== undefined) expect(d.deadline).toBeGreaterThan(d.dueAt ?? 0);
          if (d.action.kind === 'claim') expect(d.action.validators.length).toBeGreaterThan(0);
        }
        const result = await claimAndHarvest(adapter, null);
        expect(result.receipts.length).toBeGreaterThan(0);
        expect(sumOf(result.events)).toBe(paid());
        if (frozen()) expect((await adapter.due(result.checkpoint)).filter((d) => d.action.kind === 'claim')).toEqual([]);
      });

      it('limits are honoured by the chain: one more unbonding entry than allowed, or a stake into the reserve, is refused', async () => {
        const limits = await adapter.limits();
        const entries = limits.maxUnbondingEntries;
        await adapter.delegate(v0(), h.amount);
        if (entries !== undefined && entries.per === 'target' && entries.count <= 10) {
          const unit = limits.step > limits.minStake ? limits.step : limits.minStake;
          for (let i = 0; i < entries.count; i += 1) await adapter.undelegate(v0(), unit);
          const refused = await rejection(adapter.undelegate(v0(), unit));
          expect(refused).toBeInstanceOf(TxRejectedError);
          expect((refused as TxRejectedError).retryable).toBe(false);
          expect((await adapter.position()).unbonding.filter((u) => u.validator === v0())).toHaveLength(entries.count);
        }
        const before = await adapter.position();
        const tooMuch = before.liquid - limits.reserve + limits.step;
        const refused = await rejection(adapter.delegate(v0(), tooMuch));
        expect(refused).toBeInstanceOf(TxRejectedError);
        expect(stakeOf(await adapter.position(), v0())).toBe(stakeOf(before, v0()));
      });
    });

    describe('keys and preflight', () => {
      let dir: string;
      beforeEach(async () => {
        dir = await mkdtemp(join(tmpdir(), `softstake-keys-${name}-`));
      });
      afterEach(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      /** `keys new` as the CLI does it: a new key written to a 0600 file. */
      const newKeyFile = async (): Promise<{ key: NewKey; file: string }> => {
        const file = join(dir, `key-${Math.random().toString(36).slice(2)}`);
        const key = await h.keys.newKey(file);
        await writeFile(file, key.secret, { mode: 0o600, flag: 'wx' });
        return { key, file };
      };

      it('keys: newKey makes a fresh key in the signer file format the adapter reads; addressOf names its address; funded, it stakes', async () => {
        const { key, file } = await newKeyFile();
        const other = await newKeyFile();
        expect(key.address).toMatch(/\S/);
        expect(key.format).toMatch(/\S/);
        expect(key.funding.length).toBeGreaterThan(0);
        expect(other.key.secret).not.toBe(key.secret);
        expect(other.key.address).not.toBe(key.address);
        // What is printed never holds the secret: no long word of the file but the public ones (a key file may name its account and public key).
        const words = (text: string): string[] => text.split(/[^A-Za-z0-9]+/).filter((w) => w.length >= 3);
        const open = new Set(words(`${key.address} ${key.publicKey ?? ''}`));
        const printed = [key.address, key.format, key.publicKey ?? '', ...key.funding].join('\n');
        const secret = words(key.secret).filter((w) => !open.has(w));
        expect(secret.length).toBeGreaterThan(0);
        for (const word of secret.filter((w) => w.length >= 12)) expect(printed).not.toContain(word);
        // A mnemonic's words are short: no three of them in a row.
        for (let i = 0; i + 3 <= secret.length; i += 1) expect(printed).not.toContain(secret.slice(i, i + 3).join(' '));
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        expect(await h.keys.addressOf(key.secret, file)).toBe(key.address);

        await h.fund(key.address, 4n * h.amount);
        const funded = h.keys.create(file, [v0()]);
        adapters.push(funded);
        expect(await funded.address()).toBe(key.address);
        const receipt = await funded.delegate(v0(), h.amount);
        expect(receipt.hash).toMatch(/\S/);
        expect(stakeOf(await funded.position(), v0())).toBe(h.amount);
      });

      it('keys: addressOf refuses what is not a key of the chain, without quoting it', async () => {
        const garbage = 'notakey-SECRETSECRETSECRET-0123456789';
        const error = await rejection(h.keys.addressOf(garbage, join(dir, 'x')));
        expect(error).toBeInstanceOf(ChainProtocolError);
        expect((error as Error).message).not.toContain('SECRETSECRETSECRET');
      });

      it('preflight: the devnet as configured passes, naming every endpoint, the custody, each validator and the limits', async () => {
        const { key, file } = await newKeyFile();
        await h.fund(key.address, 4n * h.amount);
        const configured = h.keys.create(file, h.validators);
        adapters.push(configured);
        const checks = await configured.preflight(null);
        expectWellFormedChecks(checks);
        expect(checks.filter((c) => c.status === 'failure')).toEqual([]);
        for (const endpoint of h.devnet.endpoints) expect(checkOf(checks, 'endpoint', safeUrl(endpoint)).status).toBe('ok');
        expect(checkOf(checks, 'custody', key.address).status).not.toBe('failure');
        for (const validator of h.validators) expect(checkOf(checks, 'validator', validator).status).toBe('ok');
        expect(checkOf(checks, 'limits', 'limits').status).toBe('ok');

        // After a stake and a harvest, with the harvest's checkpoint: still nothing fails.
        await configured.delegate(v0(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        const { checkpoint } = await claimAndHarvest(configured, null);
        const later = await configured.preflight(checkpoint);
        expectWellFormedChecks(later);
        expect(later.filter((c) => c.status === 'failure')).toEqual([]);
      });

      it('preflight names what is wrong: an unfunded custody, an unknown validator, an endpoint down; all endpoints down is a failure each', async () => {
        const { key, file } = await newKeyFile();
        const validators = h.unknownValidator === undefined ? [v0()] : [v0(), h.unknownValidator];
        const unfunded = h.keys.create(file, validators);
        adapters.push(unfunded);
        const heal = h.devnet.faults.inject({ listener: 1 }, 'http503');
        const checks = await unfunded.preflight(null);
        expectWellFormedChecks(checks);
        expect(checkOf(checks, 'custody', key.address).status).toBe('failure');
        if (h.unknownValidator !== undefined) expect(checkOf(checks, 'validator', h.unknownValidator).status).toBe('failure');
        expect(checkOf(checks, 'validator', v0()).status).toBe('ok');
        expect(checkOf(checks, 'endpoint', safeUrl(h.devnet.endpoints[0]!)).status).toBe('ok');
        expect(checkOf(checks, 'endpoint', safeUrl(h.devnet.endpoints[1]!)).status).toBe('warning');
        heal();

        const heals = h.devnet.endpoints.map((_e, listener) => h.devnet.faults.inject({ listener }, 'http503'));
        const down = await unfunded.preflight(null);
        heals.forEach((f) => f());
        expectWellFormedChecks(down);
        for (const endpoint of h.devnet.endpoints) expect(checkOf(down, 'endpoint', safeUrl(endpoint)).status).toBe('failure');
      });

      it('preflight on a devnet lacking what the adapter depends on: a failure naming the dependency', async (context) => {
        if (h.lacking === undefined) {
          context.skip();
          return;
        }
        const lacking = await h.lacking();
        try {
          const checks = await lacking.adapter.preflight(lacking.checkpoint);
          expectWellFormedChecks(checks);
          const failure = checkOf(checks, 'dependency', lacking.dependency);
          expect(failure.status).toBe('failure');
          // Only the dependency: the endpoints still serve the chain.
          for (const c of checks.filter((c) => c.kind === 'endpoint')) expect(c.status).toBe('ok');
        } finally {
          await lacking.adapter.close();
          await lacking.close();
        }
      });
    });

    describe("receipts' moved", () => {
      const kinds: Movement['kind'][] = ['refundable-fee', 'unlocked', 'reward'];
      const expectMovements = (receipt: TxReceipt): void => {
        for (const m of receipt.moved) {
          expect(kinds).toContain(m.kind);
          expect(m.amount).toBeGreaterThan(0n);
        }
      };

      it('what a stake change paid out on the way is listed as reward and is what harvest reports for that transaction', async () => {
        await adapter.delegate(v0(), h.amount);
        h.devnet.advance(h.rewardPeriodMs);
        const receipt = await adapter.delegate(v0(), h.amount);
        expectMovements(receipt);
        const rewards = receipt.moved.filter((m) => m.kind === 'reward');
        const reported = (await adapter.harvest(null)).events.filter((e) => e.id.includes(receipt.hash));
        expect(sumOf(reported)).toBe(sumOf(rewards));
        expect(receipt.moved.filter((m) => m.kind !== 'reward')).toEqual([]);
      });

      it('undelegated stake comes back: a withdraw where the chain needs one lists what it unlocked, and none of it is a reward', async () => {
        await adapter.delegate(v0(), h.amount);
        const half = h.amount / 2n;
        await adapter.undelegate(v0(), half);
        const unbonded = await adapter.position();
        h.devnet.advance(h.unlockMs);
        const before = await adapter.position();
        const withdraws = (await adapter.due(null)).filter((d) => d.action.kind === 'withdraw');
        const receipts: TxReceipt[] = [];
        for (const d of withdraws) for (let step = 0; step < adapter.steps(d.action); step += 1) receipts.push(await adapter.broadcast(await adapter.sign(d.action, step)));
        const after = await adapter.position();
        expect(unbondingEntries(after, v0())).toEqual([]);
        if (withdraws.length > 0) {
          receipts.forEach(expectMovements);
          const unlocked = receipts.flatMap((r) => r.moved.filter((m) => m.kind === 'unlocked'));
          expect(sumOf(unlocked)).toBe(before.withdrawable);
          // Staked shares may round a base unit away.
          expect(before.withdrawable).toBeLessThanOrEqual(half);
          expect(before.withdrawable).toBeGreaterThanOrEqual(half - 2n);
          expect(after.liquid).toBe(before.liquid + before.withdrawable - receipts.reduce((sum, r) => sum + r.fee, 0n));
          expect(after.withdrawable).toBe(0n);
        } else {
          // The chain paid it out by itself once it matured.
          expect(before.withdrawable).toBe(0n);
          expect(before.liquid).toBe(unbonded.liquid + half);
        }
        expect(sumOf((await adapter.harvest(null)).events)).toBe(paid());
      });
    });
  });
}
