/**
 * The Polkadot adapter against the Polkadot (Asset Hub) devnet, in both
 * modes: the conformance suite, and what the suite does not say about
 * Polkadot (payouts someone else triggers, exposures in pages, the pool's
 * reward counter, the refusals before signing).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { u8aEq } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { afterEach, describe, expect, it } from 'vitest';

import { TxRejectedError } from '../../adapters/errors.js';
import { accountHex } from '../../adapters/polkadot/client.js';
import { adapter as polkadot, createPolkadotAdapter, type PolkadotOptions } from '../../adapters/polkadot/adapter.js';
import { metadataWithout, OPAQUE_METADATA } from '../../adapters/polkadot/devnet/runtime.js';
import { DOT, startPolkadotDevnet, type PolkadotDevnet, type PolkadotDevnetOptions } from '../../adapters/polkadot/devnet.js';
import { memberPendingSlash, poolAccount } from '../../adapters/polkadot/devnet/pools.js';
import { hex } from '../../adapters/polkadot/devnet/staking.js';
import type { AdapterConfig, ChainAdapter, PreflightCheck, RewardEvent } from '../../adapters/types.js';
import { claimAndHarvest, describeAdapterConformance, moduleKeys, settleDue, sumOf, type ConformanceHarness, type LackingDevnet } from './conformance.js';

const BLOCK_MS = 12_000;
/** A short era: 12 blocks. */
const ERA_MS = 12 * BLOCK_MS;
const FUNDS = 10_000n * DOT;
const AMOUNT = 100n * DOT;
/** Staking BondingDuration (28 eras) and the era the unbond happened in, and one to plan. */
const UNLOCK_MS = 30 * ERA_MS;

interface Fixture {
  devnet: PolkadotDevnet;
  custody: string;
  config(endpoints?: readonly string[], options?: Partial<PolkadotOptions>): AdapterConfig<PolkadotOptions>;
  adapter(endpoints?: readonly string[], options?: Partial<PolkadotOptions>, onRpc?: (method: string) => void): ChainAdapter;
  /** The custody address configured, the signer file missing. */
  readOnlyAdapter(options?: Partial<PolkadotOptions>): ChainAdapter;
  dispose(): Promise<void>;
}

async function fixture(mode: 'pool' | 'nominate', devnetOptions: PolkadotDevnetOptions = {}): Promise<Fixture> {
  const devnet = await startPolkadotDevnet({
    eraMs: ERA_MS,
    blockMs: BLOCK_MS,
    // An example figure (governance sets it): low enough that half the test amount stays above it.
    minNominatorBond: 10n * DOT,
    // The adapter reads past blocks' state (an archive node's).
    statePruning: 1_000_000,
    // Final with the block: a read right after `advance` sees it (the adapter reads finalized state only).
    finalityDelayMs: 0,
    ...devnetOptions,
  });
  const account = devnet.createAccount(FUNDS);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-dot-'));
  const keyFile = join(dir, 'custody.mnemonic');
  await writeFile(keyFile, account.mnemonic, { mode: 0o600 });
  const built: ChainAdapter[] = [];
  const base: PolkadotOptions = mode === 'pool' ? { mode: 'pool', poolId: 1 } : { mode: 'nominate' };
  const config = (endpoints: readonly string[] = devnet.wsUrls, options: Partial<PolkadotOptions> = {}): AdapterConfig<PolkadotOptions> => ({
    name: 'polkadot-devnet',
    asset: 'DOT',
    decimals: 10,
    endpoints: [...endpoints],
    signer: { file: keyFile },
    validators: mode === 'pool' ? [] : devnet.validators.slice(0, 2),
    // Above the suite's suggested 300 ms: polkadot-js decodes answers on the same (shared, loaded) cores.
    requestTimeoutMs: 1500,
    options: { ...base, eraDurationMs: ERA_MS, inclusionWaitMs: 1000, pollIntervalMs: 20, ...options },
  });
  return {
    devnet,
    custody: account.address,
    config,
    adapter(endpoints, options, onRpc) {
      const a = onRpc === undefined ? polkadot.create(config(endpoints, options)) : createPolkadotAdapter(config(endpoints, options), { onRpc });
      built.push(a);
      return a;
    },
    readOnlyAdapter(options) {
      const a = polkadot.create({ ...config(undefined, options), signer: { file: join(dir, 'no-such-key') }, address: account.address });
      built.push(a);
      return a;
    },
    async dispose() {
      for (const a of built) await a.close();
      await devnet.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A node that is not archival: it keeps 8 blocks of state (polkadot-sdk
 * `--state-pruning <n>`, substrate/client/state-db; a read of a discarded
 * block answers `State already discarded`, client/rpc-api/src/state/error.rs
 * 4003), and a checkpoint 30 blocks back, so the harvest's first read is gone.
 */
async function lackingArchive(mode: 'pool' | 'nominate'): Promise<LackingDevnet> {
  const g = await fixture(mode, { statePruning: 8 });
  const from = g.devnet.chain.head.number;
  for (let i = 0; i < 30; i += 1) g.devnet.chain.newBlock();
  return { adapter: g.adapter(), dependency: 'archival', checkpoint: JSON.stringify({ v: 1, block: from }), close: () => g.dispose() };
}

/**
 * A node whose runtime has no `Staking` (nominate) or no `NominationPools`
 * (pool) in its metadata: the relay chain since the Asset Hub migration.
 */
async function lackingPallet(mode: 'pool' | 'nominate'): Promise<LackingDevnet> {
  const g = await fixture(mode, { metadataWithout: [mode === 'pool' ? 'NominationPools' : 'Staking'] });
  return { adapter: g.adapter(), dependency: 'staking-pallets', checkpoint: null, close: () => g.dispose() };
}

/**
 * The conformance suite's slash: moves eras until `staker` (AccountId32 hex)
 * is exposed to `validator` in the active era, reports the validator's
 * offence in that era for `bps`, and moves on until the deferred slash is
 * applied (SlashDeferDuration eras later, staking-async `slashing.rs`).
 */
function slashExposed(devnet: PolkadotDevnet, validator: string, staker: string, bps: number): void {
  const active = (): number => (devnet.chain.best.read('Staking', 'ActiveEra') as { index: number }).index;
  const exposed = (): boolean => {
    const paged = devnet.chain.best.read('Staking', 'ErasStakersPaged', active(), hex(validator), 0) as { others: { who: string }[] } | undefined;
    return paged?.others.some((o) => hex(o.who) === staker) ?? false;
  };
  for (let i = 0; i < 3 && !exposed(); i += 1) devnet.nextEra();
  expect(exposed()).toBe(true);
  const era = active();
  devnet.slash(validator, bps * 100_000, era);
  while (active() < era + devnet.slashDeferDuration) devnet.nextEra();
}

describeAdapterConformance('polkadot (nominate)', async () => {
  const f = await fixture('nominate');
  const harness: ConformanceHarness = {
    devnet: f.devnet,
    custody: f.custody,
    sendMethod: 'author_submitExtrinsic',
    unlockMs: UNLOCK_MS,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    perTargetStake: false,
    validators: [f.devnet.validators[0]!, f.devnet.validators[1]!],
    amount: AMOUNT,
    // Nominated in era n, elected for n + 1, paid when n + 1 ends.
    rewardPeriodMs: 3 * ERA_MS,
    unknownValidator: encodeAddress(new Uint8Array(32).fill(7), 0),
    keys: moduleKeys(polkadot, (file) => ({ ...f.config(), signer: { file } })),
    fund: async (address, amount) => {
      f.devnet.chain.endow(accountHex(address), amount);
    },
    lacking: () => lackingPallet('nominate'),
    slash: (validator, bps) => slashExposed(f.devnet, validator, accountHex(f.custody), bps),
  };
  return harness;
});

describeAdapterConformance('polkadot (pool)', async () => {
  const f = await fixture('pool');
  const harness: ConformanceHarness = {
    // Pool rewards reach the pool's reward account when someone pays its validators out: the devnet's bot does, after every advance.
    devnet: {
      ...f.devnet,
      advance(ms: number) {
        f.devnet.advance(ms);
        f.devnet.payoutAll();
      },
    },
    custody: f.custody,
    sendMethod: 'author_submitExtrinsic',
    unlockMs: UNLOCK_MS,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    validators: ['pool:1'],
    amount: AMOUNT,
    rewardPeriodMs: 3 * ERA_MS,
    unknownValidator: 'pool:2',
    keys: moduleKeys(polkadot, (file) => ({ ...f.config(), signer: { file } })),
    fund: async (address, amount) => {
      f.devnet.chain.endow(accountHex(address), amount);
    },
    lacking: () => lackingPallet('pool'),
    // The pool's first validator misbehaves; the pool's bonded account is slashed, then the bot applies each member's pending slash.
    slash: (_pool, bps) => {
      slashExposed(f.devnet, f.devnet.validators[0]!, poolAccount(1, 'bonded'), bps);
      f.devnet.applyPoolSlashes();
    },
  };
  return harness;
});

describe('polkadot adapter', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('preflight names each missing dependency: the staking pallet, the pool pallet, past state (a pruned node with an older checkpoint)', async () => {
    const dependency = (checks: PreflightCheck[], name: string) => checks.find((c) => c.kind === 'dependency' && c.name === name);
    // Taking nothing out re-encodes the real metadata byte for byte: only the named pallets differ.
    expect(u8aEq(metadataWithout([]).opaque, OPAQUE_METADATA)).toBe(true);
    for (const mode of ['nominate', 'pool'] as const) {
      const lacking = await lackingPallet(mode);
      try {
        const checks = await lacking.adapter.preflight(null);
        expect(dependency(checks, 'staking-pallets'), mode).toMatchObject({ status: 'failure', detail: `the metadata has no ${mode === 'pool' ? 'nominationPools' : 'staking'}` });
        expect(dependency(checks, 'staking-pallets')!.fix).toMatch(/Asset Hub/);
      } finally {
        await lacking.adapter.close();
        await lacking.close();
      }
    }
    const pruned = await lackingArchive('nominate');
    try {
      const archival = dependency(await pruned.adapter.preflight(pruned.checkpoint), 'archival');
      expect(archival).toMatchObject({ status: 'failure' });
      expect(archival!.detail).toMatch(/State already discarded/);
      expect(archival!.fix).toMatch(/archive node/);
    } finally {
      await pruned.adapter.close();
      await pruned.close();
    }
  });

  /** Harvests from `checkpoint`, checking no id comes twice; returns the new checkpoint. */
  const harvestInto = async (adapter: ChainAdapter, events: RewardEvent[], checkpoint: string | null): Promise<string> => {
    const result = await claimAndHarvest(adapter, checkpoint);
    const seen = new Set(events.map((e) => e.id));
    for (const e of result.events) expect(seen.has(e.id)).toBe(false);
    events.push(...result.events);
    return result.checkpoint;
  };

  it('nominate: over several eras, payouts the custody claims and payouts another account triggers are each reported once, equal to what the devnet paid', async () => {
    f = await fixture('nominate');
    const requests: string[] = [];
    const adapter = f.adapter(undefined, undefined, (m) => requests.push(m));
    const events: RewardEvent[] = [];
    let checkpoint: string | null = null;
    await adapter.delegate(f.devnet.validators[0]!, 123n * DOT + 456_789n);
    for (let era = 0; era < 6; era += 1) {
      f.devnet.nextEra();
      // Someone else pays some eras out before the custody's own claim does.
      if (era % 2 === 1) expect(f.devnet.payoutAll()).toBeGreaterThan(0);
      if (era === 2) await adapter.delegate(f.devnet.validators[1]!, 7n * DOT + 3n);
      if (era === 3) await adapter.undelegate(f.devnet.validators[0]!, 11n * DOT);
      if (era % 2 === 0) checkpoint = await harvestInto(adapter, events, checkpoint);
    }
    checkpoint = await harvestInto(adapter, events, checkpoint);
    const truth = f.devnet.truth.of(f.custody);
    expect(truth.paid).toBeGreaterThan(0n);
    expect(sumOf(events)).toBe(truth.net);
    // The bot's payouts are in: events from extrinsics the custody did not sign.
    expect(events.length).toBeGreaterThan(3);
    for (const e of events) expect(f.devnet.validators).toContain(e.validator);
    // Nothing left to claim; the bond grew by nothing (payee Stash: rewards are liquid).
    expect((await adapter.due(checkpoint)).filter((d) => d.action.kind === 'claim')).toEqual([]);
    const position = await adapter.position();
    expect(position.pendingRewards).toBe(0n);
    expect(position.bonded).toBe(123n * DOT + 456_789n + 7n * DOT + 3n - 11n * DOT);

    // Cost of a poll (position) and of a harvest with nothing new.
    requests.length = 0;
    await adapter.position();
    const poll = requests.length;
    requests.length = 0;
    await adapter.harvest(checkpoint);
    console.log(`polkadot nominate: position ${poll} requests, harvest with nothing new ${requests.length}`);
  });

  it('nominate: a slash between harvests is one negative event per Staking.Slashed of the custody, reported once, rewards and unbonding around it', async () => {
    f = await fixture('nominate');
    const adapter = f.adapter();
    const [v0] = f.devnet.validators as [string];
    const events: RewardEvent[] = [];
    await adapter.delegate(v0, 200n * DOT);
    f.devnet.nextEra();
    let checkpoint = await harvestInto(adapter, events, null);
    // Unbonded in the offence era: the chunk is still at stake for it (ledger.rs `slash`).
    await adapter.undelegate(v0, 50n * DOT);
    const era = (f.devnet.chain.best.read('Staking', 'ActiveEra') as { index: number }).index;
    f.devnet.slash(v0, 100_000_000, era);
    const before = await adapter.position();
    for (let i = 0; i < f.devnet.slashDeferDuration; i += 1) {
      f.devnet.nextEra();
      if (i % 9 === 0) f.devnet.payoutAll();
    }
    checkpoint = await harvestInto(adapter, events, checkpoint);
    const slashed = f.devnet.truth.of(f.custody).slashed;
    // The custody's stake exposed to v0 was half its 200 DOT (the devnet splits a nomination evenly): 10 % of it.
    expect(slashed).toBe(10n * DOT);
    const slashes = events.filter((e) => e.amount < 0n);
    expect(slashes).toHaveLength(1);
    expect(slashes[0]!.amount).toBe(-slashed);
    // Outside any extrinsic: the block's hash and the event's index.
    expect(slashes[0]!.id).toMatch(/^0x[0-9a-f]{64}:\d+$/);
    const after = await adapter.position();
    expect(before.bonded + before.unbonding.reduce((s, u) => s + u.amount, 0n) - after.bonded - after.unbonding.reduce((s, u) => s + u.amount, 0n)).toBe(slashed);
    // Again from the checkpoint: nothing; from the start: the same event under the same id.
    expect((await adapter.harvest(checkpoint)).events).toEqual([]);
    expect((await adapter.harvest(null)).events.filter((e) => e.amount < 0n)).toEqual(slashes);
    expect(sumOf(events)).toBe(f.devnet.truth.of(f.custody).net);
  });

  const activeEra = (): number => (f!.devnet.chain.best.read('Staking', 'ActiveEra') as { index: number }).index;

  /** Pool mode: joins with 100 DOT, unbonds 40 in the next era, v0 (which the pool nominates) offends in it for `fraction` (ppb); moves until the slash is applied to the pool. */
  const poolSlashed = async (adapter: ChainAdapter, fraction: number): Promise<void> => {
    await adapter.delegate('pool:1', 100n * DOT);
    f!.devnet.nextEra();
    await adapter.undelegate('pool:1', 40n * DOT);
    f!.devnet.slash(f!.devnet.validators[0]!, fraction, activeEra());
    for (let i = 0; i < f!.devnet.slashDeferDuration; i += 1) f!.devnet.nextEra();
  };

  it("pool: the custody's pending slash is due as a claim that applies it (apply_slash), alone or before paying rewards out; one DelegatedStaking.Slashed each, equal to what the devnet took", async () => {
    f = await fixture('pool');
    const adapter = f.adapter();
    const events: RewardEvent[] = [];
    const custody = accountHex(f.custody);
    await poolSlashed(adapter, 100_000_000);
    // Slashed in the pool: the membership is worth less at once, but nothing has left the custody and no event says so.
    let checkpoint = (await adapter.harvest(null)).checkpoint;
    let position = await adapter.position();
    expect(position.bonded).toBe(57n * DOT);
    expect(position.pendingRewards).toBe(0n);
    expect(f.devnet.truth.of(f.custody).slashed).toBe(0n);
    // No rewards pending: the claim is due for the slash alone, 5 DOT (the devnet's own reckoning of the pending slash).
    expect(memberPendingSlash(f.devnet.chain.best, custody)).toBe(5n * DOT);
    expect((await adapter.due(checkpoint)).filter((d) => d.action.kind === 'claim')).toEqual([{ action: { kind: 'claim', validators: ['pool:1'] }, amount: -5n * DOT }]);
    // The harvest job: what is due, then the reading.
    let result = await claimAndHarvest(adapter, null);
    checkpoint = result.checkpoint;
    events.push(...result.events);
    expect(result.receipts).toHaveLength(1);
    let slashes = events.filter((e) => e.amount < 0n);
    expect(slashes).toEqual([expect.objectContaining({ amount: -5n * DOT })]);
    expect(slashes[0]!.id.startsWith(result.receipts[0]!.hash)).toBe(true);
    expect(f.devnet.truth.of(f.custody).slashed).toBe(5n * DOT);
    // Applied: nothing pending, so nothing is due (apply_slash would fail: NothingToSlash).
    expect(await adapter.due(checkpoint)).toEqual([]);
    // The withdrawal later takes nothing more: the slashed sub-pool's 38 DOT come back.
    f.devnet.nextEra();
    f.devnet.nextEra();
    const receipts = await settleDue(adapter, checkpoint);
    expect(receipts.flatMap((r) => r.moved.filter((m) => m.kind === 'unlocked'))).toEqual([{ kind: 'unlocked', amount: 38n * DOT }]);
    checkpoint = await harvestInto(adapter, events, checkpoint);
    expect(events.filter((e) => e.amount < 0n)).toEqual(slashes);

    // A second offence, and rewards pending when it lands: one claim applies the slash, then pays the rewards out (batch_all).
    f.devnet.slash(f.devnet.validators[0]!, 100_000_000, activeEra());
    for (let i = 0; i < f.devnet.slashDeferDuration; i += 1) f.devnet.nextEra();
    expect(f.devnet.payoutAll()).toBeGreaterThan(0);
    const pendingSlash = memberPendingSlash(f.devnet.chain.best, custody);
    expect(pendingSlash).toBeGreaterThan(100_000_000n);
    position = await adapter.position();
    expect(position.pendingRewards).toBeGreaterThan(0n);
    expect((await adapter.due(checkpoint)).filter((d) => d.action.kind === 'claim')).toEqual([{ action: { kind: 'claim', validators: ['pool:1'] }, amount: position.pendingRewards - pendingSlash }]);
    result = await claimAndHarvest(adapter, checkpoint);
    checkpoint = result.checkpoint;
    events.push(...result.events);
    expect(result.receipts).toHaveLength(1);
    expect(sumOf(result.receipts[0]!.moved)).toBe(position.pendingRewards);
    slashes = events.filter((e) => e.amount < 0n);
    expect(slashes).toHaveLength(2);
    expect(slashes[1]!.amount).toBe(-pendingSlash);
    expect(slashes[1]!.id.startsWith(result.receipts[0]!.hash)).toBe(true);
    expect(f.devnet.truth.of(f.custody).slashed).toBe(5n * DOT + pendingSlash);
    expect(await adapter.due(checkpoint)).toEqual([]);
    expect((await adapter.harvest(checkpoint)).events).toEqual([]);
    expect(sumOf(events)).toBe(f.devnet.truth.of(f.custody).net);
  });

  it("pool: a pending slash below the existential deposit is not due (apply_slash: SlashTooLow); the custody's own withdrawal takes it, reported once", async () => {
    f = await fixture('pool');
    const adapter = f.adapter();
    const events: RewardEvent[] = [];
    // 0.01 % of v0's 100 DOT exposure to the pool: the custody's share, about 0.005 DOT, is below the 0.01 DOT existential deposit.
    await poolSlashed(adapter, 100_000);
    f.devnet.payoutAll();
    let checkpoint = await harvestInto(adapter, events, null);
    // The claim that ran paid rewards only: no slash was applied, none is due.
    expect(events.filter((e) => e.amount < 0n)).toEqual([]);
    expect(events.length).toBeGreaterThan(0);
    expect(f.devnet.truth.of(f.custody).slashed).toBe(0n);
    expect((await adapter.due(checkpoint)).filter((d) => d.action.kind === 'claim')).toEqual([]);
    f.devnet.nextEra();
    f.devnet.nextEra();
    // The harvest job's withdrawal applies the pending slash first (lib.rs `withdraw_unbonded`: `do_apply_slash` without the minimum).
    const receipts = await settleDue(adapter, checkpoint);
    const withdrawal = receipts.find((r) => r.moved.some((m) => m.kind === 'unlocked'))!;
    checkpoint = await harvestInto(adapter, events, checkpoint);
    const slashes = events.filter((e) => e.amount < 0n);
    const slashed = f.devnet.truth.of(f.custody).slashed;
    expect(slashed).toBeGreaterThan(0n);
    expect(slashed).toBeLessThan(100_000_000n);
    expect(slashes).toHaveLength(1);
    expect(slashes[0]!.amount).toBe(-slashed);
    expect(slashes[0]!.id.startsWith(withdrawal.hash)).toBe(true);
    expect((await adapter.harvest(checkpoint)).events).toEqual([]);
    expect(sumOf(events)).toBe(f.devnet.truth.of(f.custody).net);
  });

  it('nominate: pages that would pay the custody nothing (a validator taking 100 % commission) are not due; their payout pays it 0', async () => {
    f = await fixture('nominate');
    // The devnet's third validator takes 100 % commission.
    const v2 = f.devnet.validators[2]!;
    expect((f.devnet.chain.best.read('Staking', 'Validators', hex(v2)) as { commission: number }).commission).toBe(1_000_000_000);
    const adapter = polkadot.create({ ...f.config(), validators: [v2] });
    try {
      await adapter.delegate(v2, 100n * DOT);
      for (let i = 0; i < 3; i += 1) f.devnet.nextEra();
      // Exposed to v2 in a past era with a reward, and nobody paid it out: an unclaimed page holding the custody.
      const custody = accountHex(f.custody);
      const era = (f.devnet.chain.best.read('Staking', 'ActiveEra') as { index: number }).index - 1;
      expect(f.devnet.chain.best.read('Staking', 'ErasValidatorReward', era)).toBeDefined();
      const paged = f.devnet.chain.best.read('Staking', 'ErasStakersPaged', era, hex(v2), 0) as { others: { who: string }[] };
      expect(paged.others.some((o) => hex(o.who) === custody)).toBe(true);
      expect((f.devnet.chain.best.read('Staking', 'ClaimedRewards', era, hex(v2)) as number[] | undefined) ?? []).toEqual([]);
      expect((await adapter.due(null)).filter((d) => d.action.kind === 'claim')).toEqual([]);
      expect((await adapter.position()).pendingRewards).toBe(0n);
      const refused = await adapter.sign({ kind: 'claim', validators: [v2] }).then(() => undefined, (e: unknown) => e);
      expect((refused as TxRejectedError).code).toBe('nothing-due');
      // Paid out by someone else all the same: the custody gets nothing, and the harvest reports nothing.
      expect(f.devnet.payoutAll()).toBeGreaterThan(0);
      expect(f.devnet.truth.of(f.custody).paid).toBe(0n);
      expect((await adapter.harvest(null)).events).toEqual([]);
    } finally {
      await adapter.close();
    }
  });

  it('nominate: refuses before signing what the chain would refuse or do otherwise', async () => {
    f = await fixture('nominate', { minNominatorBond: 250n * DOT });
    const adapter = f.adapter();
    const refused = async (promise: Promise<unknown>, code: string): Promise<void> => {
      const error = await promise.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(TxRejectedError);
      expect((error as TxRejectedError).code).toBe(code);
      expect((error as TxRejectedError).included).toBe(false);
    };
    const v0 = f.devnet.validators[0]!;
    await refused(adapter.sign({ kind: 'delegate', validator: v0, amount: 249n * DOT }), 'below-minimum');
    await refused(adapter.sign({ kind: 'undelegate', validator: v0, amount: DOT }), 'not-bonded');
    await refused(adapter.sign({ kind: 'claim', validators: [v0] }), 'nothing-due');
    await adapter.delegate(v0, 300n * DOT);
    // 100 DOT would stay bonded: below MinNominatorBond while nominating (staking `unbond`: InsufficientBond).
    await refused(adapter.sign({ kind: 'undelegate', validator: v0, amount: 200n * DOT }), 'insufficient-bond');
    // The limit the planner reads is the one the chain applies.
    expect((await adapter.limits()).minStake).toBe(1n);
    expect((await f.readOnlyAdapter().limits()).reserve).toBe(100_000_000n);
  });

  it('pool: rewards are the PaidOut events (bond_extra and unbond pay out first), unbonding by points, withdrawal after BondingDuration', async () => {
    f = await fixture('pool');
    const requests: string[] = [];
    const adapter = f.adapter(undefined, undefined, (m) => requests.push(m));
    const events: RewardEvent[] = [];
    let checkpoint: string | null = null;
    await adapter.delegate('pool:1', 50n * DOT);
    f.devnet.nextEra();
    f.devnet.nextEra();
    f.devnet.payoutAll();
    // bond_extra pays the pending rewards first: a reward the receipt lists and harvest reports under its hash.
    const extra = await adapter.delegate('pool:1', 25n * DOT);
    expect(sumOf(extra.moved.filter((m) => m.kind === 'reward'))).toBeGreaterThan(0n);
    f.devnet.nextEra();
    f.devnet.payoutAll();
    const unbond = await adapter.undelegate('pool:1', 30n * DOT);
    expect(sumOf(unbond.moved.filter((m) => m.kind === 'reward'))).toBeGreaterThan(0n);
    checkpoint = await harvestInto(adapter, events, checkpoint);
    expect(events.some((e) => e.id.startsWith(extra.hash))).toBe(true);
    expect(events.some((e) => e.id.startsWith(unbond.hash))).toBe(true);
    let position = await adapter.position();
    expect(position.bonded).toBe(45n * DOT);
    expect(position.unbonding).toEqual([expect.objectContaining({ validator: 'pool:1', amount: 30n * DOT })]);
    for (let i = 0; i < 29; i += 1) f.devnet.nextEra();
    f.devnet.payoutAll();
    position = await adapter.position();
    expect(position.withdrawable).toBe(30n * DOT);
    requests.length = 0;
    await harvestInto(adapter, events, checkpoint);
    console.log(`polkadot pool: harvest job with a claim and a withdrawal ${requests.length} requests`);
    expect((await adapter.position()).withdrawable).toBe(0n);
    expect(sumOf(events)).toBe(f.devnet.truth.of(f.custody).net);
    requests.length = 0;
    await adapter.position();
    console.log(`polkadot pool: position ${requests.length} requests`);
  });
});
