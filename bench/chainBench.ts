/**
 * Part E: the chain side, in-process (devnets on loopback, no PostgreSQL).
 *
 * E1. Cosmos devnet block production: blocks/s with the genesis state
 *     against the same after many accounts delegated, and 21 days (the
 *     unbonding period) of blocks with those delegations.
 * E2. Cosmos adapter: RPC calls per `position()` and per `harvest()` with a
 *     claim, the custody alone on the chain against a crowd of delegators.
 * E3. NEAR adapter: the same, with a crowd staking in the custody's pools.
 * E4. TRON adapter: the same, with a crowd voting for the custody's SRs.
 * E5. Aptos adapter: the same, with a crowd delegating to the custody's
 *     delegation pools.
 * E6. Polkadot adapter, in both modes: the same, with a crowd nominating
 *     the custody's validators (nominate) or joining its pool (pool).
 *
 * An adapter's calls must depend on the custody account's validators and
 * transactions only, never on how many other accounts use the chain.
 */
import { PrivateKey, PrivateKeyVariants } from '@aptos-labs/ts-sdk';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DirectSecp256k1Wallet } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { KeyPair } from 'near-api-js';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';

import { adapter as cosmos, type CosmosChainAdapter, type CosmosOptions } from '../adapters/cosmos/adapter.js';
import { createFundedAccount, startCosmosDevnet, type CosmosDevnet } from '../adapters/cosmos/devnet.js';
import { adapter as near, type NearOptions } from '../adapters/near/adapter.js';
import { ONE_NEAR, startNearDevnet, type NearDevnet } from '../adapters/near/devnet.js';
import { adapter as tron, type TronOptions } from '../adapters/tron/adapter.js';
import { startTronDevnet, TRX, type TronDevnet } from '../adapters/tron/devnet.js';
import { adapter as aptos, type AptosOptions } from '../adapters/aptos/adapter.js';
import { ONE_APT, startAptosDevnet } from '../adapters/aptos/devnet.js';
import { adapter as polkadot, type PolkadotOptions } from '../adapters/polkadot/adapter.js';
import { DOT, startPolkadotDevnet, type PolkadotDevnet } from '../adapters/polkadot/devnet.js';
import { RUNTIME_VERSION } from '../adapters/polkadot/devnet/runtime.js';
import type { AdapterConfig, ChainAdapter } from '../adapters/types.js';
import { atInterrupt } from './interrupt.js';
import { check, count, ratio, say, seconds, timed, type SummaryRow } from './report.js';

export interface ChainBenchOptions {
  /** Blocks each block-production run makes. @defaultValue 100000 */
  chainBlocks: number;
  /** Accounts that delegate between the two block-production runs. @defaultValue 300 */
  chainDelegators: number;
  /** Other delegators on the Cosmos chain when its adapter's calls are counted again. @defaultValue 100 */
  cosmosCrowd: number;
  /** Other accounts staking in the NEAR pools when that adapter's calls are counted again. @defaultValue 50 */
  nearCrowd: number;
  /** Other accounts voting for the custody's SRs when the TRON adapter's calls are counted again. @defaultValue 100 */
  tronCrowd: number;
  /** Other delegators in the Aptos pools when that adapter's calls are counted again. @defaultValue 100 */
  aptosCrowd?: number;
  /** Other nominators (nominate) or pool members (pool) when the Polkadot adapter's calls are counted again. @defaultValue 100 */
  polkadotCrowd?: number;
  /** Runs only this adapter's part of E (`cosmos-devnet` is E1). @defaultValue all */
  chain?: ChainPart;
}

/** The parts of E, by chain. */
export const CHAIN_PARTS = ['cosmos-devnet', 'cosmos', 'near', 'tron', 'aptos', 'polkadot'] as const;
export type ChainPart = (typeof CHAIN_PARTS)[number];

const HOUR_MS = 3_600_000;
const ATOM = 1_000_000n;
/** Delegations the bench's own accounts make at once (separate accounts: no sequence conflicts). */
const CONCURRENCY = 16;
/** Measurements per condition; the summary shows the median (an inclusion poll more or less is timing). */
const ROUNDS = 3;
/** Long enough that a loaded machine never fails over to the second endpoint, which would add calls. */
const REQUEST_TIMEOUT_MS = 5_000;

const perSecond = (n: number): string => `${count(n)} blocks/s`;
const calls = (n: number): string => `${count(n)} calls`;

const listOf = (values: readonly number[], format: (v: number) => string = String): string => values.map(format).join(', ');

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `work(0 … n-1)`, at most `width` at a time. */
async function eachConcurrently(n: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next;
      next += 1;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

/** A temp directory for signer key files, removed at the end or on Ctrl-C. */
async function keyDirectory(): Promise<{ write(name: string, text: string): Promise<string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'softstake-bench-keys-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  const done = atInterrupt(remove);
  return {
    async write(name, text) {
      const file = join(dir, name);
      await writeFile(file, text, { mode: 0o600 });
      return file;
    },
    async remove() {
      await remove();
      done();
    },
  };
}

// ---- Cosmos. ----

interface CosmosDelegator {
  address: string;
  client: SigningStargateClient;
}

/**
 * A funded account with its own cosmjs signing client, as a user of the
 * chain would have. A raw secp256k1 key rather than createFundedAccount's
 * mnemonic: cosmjs spends ~0.3 s of CPU deriving a mnemonic's key (once to
 * create it, once more for the signing wallet), minutes for hundreds of
 * accounts, and the chain cannot tell the difference.
 */
async function cosmosDelegator(devnet: CosmosDevnet, index: number): Promise<CosmosDelegator> {
  const wallet = await DirectSecp256k1Wallet.fromKey(randomBytes(32), devnet.prefix);
  const [account] = await wallet.getAccounts();
  check(account !== undefined, 'cosmjs derived no account from a key');
  const { address } = account!;
  devnet.fund(address, 10_000n * ATOM);
  const url = devnet.urls[index % devnet.urls.length]!;
  const client = await SigningStargateClient.connectWithSigner(url, wallet, { gasPrice: GasPrice.fromString(devnet.minGasPrice), broadcastPollIntervalMs: 50 });
  return { address, client };
}

/** `n` new accounts, account `i` delegating 1 000 ATOM to validator `i mod validators`, through cosmjs. */
async function delegateMany(devnet: CosmosDevnet, n: number): Promise<CosmosDelegator[]> {
  const delegators: CosmosDelegator[] = [];
  await eachConcurrently(n, CONCURRENCY, async (i) => {
    const d = await cosmosDelegator(devnet, i);
    delegators[i] = d;
    const validator = devnet.validators[i % devnet.validators.length]!;
    const result = await d.client.delegateTokens(d.address, validator, { denom: devnet.denom, amount: (1_000n * ATOM).toString() }, 'auto');
    check(result.code === 0, `delegation ${i} by ${d.address} failed with code ${result.code}: ${result.rawLog ?? ''}`);
  });
  for (const d of delegators) {
    check(devnet.account(d.address).delegations.length === 1, `${d.address} has no delegation on the devnet after its delegation landed`);
  }
  return delegators;
}

/** Block-production runs per state; the figure is their median (one run is a fraction of a second). */
const PRODUCE_RUNS = 5;

/** Makes `n` blocks and times them; checks the height moved by exactly `n`. */
function produce(devnet: CosmosDevnet, n: number): number {
  const before = devnet.height();
  const startedAt = performance.now();
  devnet.produceBlocks(n);
  const s = (performance.now() - startedAt) / 1000;
  check(devnet.height() === before + BigInt(n), `produceBlocks(${n}) moved the height from ${before} to ${devnet.height()}`);
  return s;
}

/** E1. */
async function benchBlockProduction(o: ChainBenchOptions): Promise<SummaryRow[]> {
  const devnet = await startCosmosDevnet({ clock: 'frozen' });
  let delegators: CosmosDelegator[] = [];
  try {
    const n = o.chainBlocks;
    say(`\nE1. Cosmos devnet, frozen clock, ${devnet.blockMs / 1000} s blocks, ${devnet.validators.length} validators: produceBlocks(${count(n)}) ${PRODUCE_RUNS} times, genesis state vs after ${count(o.chainDelegators)} delegations; then 21 days`);
    produce(devnet, n); // JIT warm-up, not measured
    const genesisRuns = Array.from({ length: PRODUCE_RUNS }, () => produce(devnet, n));
    const genesis = median(genesisRuns);
    say(`  baseline: genesis state (validators' self-bonds only), after a warm-up run: ${listOf(genesisRuns.map((s) => n / s), count)} blocks/s; median ${perSecond(n / genesis)}`);

    const setup = await timed(async () => delegateMany(devnet, o.chainDelegators));
    delegators = setup.value;
    say(`  setup: ${count(o.chainDelegators)} accounts funded and delegated through SigningStargateClient (${CONCURRENCY} at a time): ${seconds(setup.seconds)}`);

    const crowdedRuns = Array.from({ length: PRODUCE_RUNS }, () => produce(devnet, n));
    const crowded = median(crowdedRuns);
    say(`  after ${count(o.chainDelegators)} delegations: ${listOf(crowdedRuns.map((s) => n / s), count)} blocks/s; median ${perSecond(n / crowded)}`);

    const unbondingBlocks = Math.floor(devnet.unbondingMs / devnet.blockMs);
    const before = devnet.height();
    const startedAt = performance.now();
    devnet.advance(devnet.unbondingMs);
    const days = (performance.now() - startedAt) / 1000;
    check(devnet.height() === before + BigInt(unbondingBlocks), `advance(21 days) made ${devnet.height() - before} blocks, expected ${unbondingBlocks}`);
    const predicted = unbondingBlocks / (n / genesis);
    say(
      `  advance(${devnet.unbondingMs / 86_400_000} days) with those delegations: ${count(unbondingBlocks)} blocks in ${seconds(days)}, ${perSecond(unbondingBlocks / days)} ` +
        `(the genesis rate predicts ${seconds(predicted)})`,
    );
    const rewarded = delegators.filter((d) => devnet.account(d.address).pendingRewards > 0n).length;
    check(rewarded === delegators.length, `after 21 days only ${rewarded} of ${delegators.length} delegators have pending rewards`);
    say('  checks: heights moved by exactly the blocks asked for; every delegation landed and earns rewards after 21 days');

    return [
      {
        label: `cosmos devnet: ${count(n)} blocks, ${count(o.chainDelegators)} delegators`,
        value: perSecond(n / crowded),
        baseline: `genesis ${perSecond(n / genesis)}`,
        ratio: ratio(genesis / crowded),
        target: '-',
        met: null,
      },
      {
        label: `cosmos devnet: advance 21 days (${count(unbondingBlocks)} blocks)`,
        value: seconds(days),
        baseline: `genesis rate ${seconds(predicted)}`,
        ratio: ratio(days / predicted),
        target: '-',
        met: null,
      },
    ];
  } finally {
    for (const d of delegators) d.client.disconnect();
    await devnet.close();
  }
}

interface CallCounts {
  position: number[];
  harvest: number[];
  idleHarvest: number[];
}


/** E2. */
/** What one round of a chain should show: the custody's targets, the claims a harvest job runs, the rewards it finds. */
interface RoundExpectation {
  targets: number;
  claims: number;
  events: number;
}

/**
 * A harvest job's chain work without the ledger: what is due (claims,
 * withdrawals), each signed and broadcast, then the read-only harvest.
 */
async function harvestJob(adapter: ChainAdapter, checkpoint: string | null): Promise<{ checkpoint: string; claims: number; events: number }> {
  let claims = 0;
  for (const due of await adapter.due(checkpoint)) {
    for (let step = 0; step < adapter.steps(due.action); step += 1) await adapter.broadcast(await adapter.sign(due.action, step));
    claims += 1;
  }
  const result = await adapter.harvest(checkpoint);
  return { checkpoint: result.checkpoint, claims, events: result.events.length };
}

/**
 * The one measuring loop for every chain: per round, the chain moves on
 * (`advance`), then the RPC requests (`rpcRequests()`, the contract's
 * counter) of a position(), of a harvest job and of an idle harvest job
 * right after it are counted.
 */
async function measureRounds(custody: ChainAdapter, advance: () => void, expected: RoundExpectation, start: string): Promise<{ counts: CallCounts; checkpoint: string }> {
  const counts: CallCounts = { position: [], harvest: [], idleHarvest: [] };
  let checkpoint = start;
  for (let round = 0; round < ROUNDS; round += 1) {
    advance();
    let before = custody.rpcRequests();
    const position = await custody.position();
    counts.position.push(custody.rpcRequests() - before);
    check(position.delegations.length === expected.targets, `position() shows ${position.delegations.length} targets, expected ${expected.targets}`);
    before = custody.rpcRequests();
    const claimed = await harvestJob(custody, checkpoint);
    counts.harvest.push(custody.rpcRequests() - before);
    check(claimed.claims === expected.claims && claimed.events === expected.events, `a harvest job after the chain moved on: ${claimed.claims} claims and ${claimed.events} rewards, expected ${expected.claims} and ${expected.events}`);
    before = custody.rpcRequests();
    const idle = await harvestJob(custody, claimed.checkpoint);
    counts.idleHarvest.push(custody.rpcRequests() - before);
    check(idle.claims === 0 && idle.events === 0, 'a harvest job right after a harvest job found something new');
    checkpoint = idle.checkpoint;
  }
  return { counts, checkpoint };
}

async function benchCosmosAdapter(o: ChainBenchOptions): Promise<SummaryRow[]> {
  say(`\nE2. Cosmos adapter, custody delegating to 2 validators: RPC calls (rpcRequests()) per position() and per harvest job (due, claims, harvest) with a claim, alone vs ${count(o.cosmosCrowd)} other delegators; ${ROUNDS} rounds, medians`);
  const devnet = await startCosmosDevnet({ clock: 'frozen' });
  const keys = await keyDirectory();
  let adapter: CosmosChainAdapter | undefined;
  let crowd: CosmosDelegator[] = [];
  try {
    const { mnemonic } = await createFundedAccount(devnet, 100_000n * ATOM);
    const keyFile = await keys.write('custody.mnemonic', `${mnemonic}\n`);
    const config: AdapterConfig<CosmosOptions> = {
      name: 'cosmos-bench',
      asset: 'ATOM',
      decimals: 6,
      endpoints: [...devnet.urls],
      signer: { file: keyFile },
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      options: { chainId: devnet.chainId, inclusionTimeoutMs: 10_000, pollIntervalMs: 20 },
    };
    adapter = cosmos.create(config);
    const custody = adapter;
    const [v0, v1] = devnet.validators as [string, string];
    await custody.delegate(v0, 1_000n * ATOM);
    await custody.delegate(v1, 1_000n * ATOM);
    let checkpoint = (await harvestJob(custody, null)).checkpoint;

    const measure = async (): Promise<CallCounts> => {
      const measured = await measureRounds(custody, () => devnet.advance(HOUR_MS), { targets: 2, claims: 1, events: 2 }, checkpoint);
      checkpoint = measured.checkpoint;
      return measured.counts;
    };

    const alone = await measure();
    say(`  baseline: custody alone (validators' self-bonds): position ${listOf(alone.position)}; harvest with a claim ${listOf(alone.harvest)}; harvest with nothing new ${listOf(alone.idleHarvest)}`);

    const setup = await timed(async () => {
      crowd = await delegateMany(devnet, o.cosmosCrowd);
      devnet.advance(HOUR_MS);
      // Each withdraws too: payouts of others' transactions in the chain's history, at heights the next harvest scans.
      await eachConcurrently(crowd.length, CONCURRENCY, async (i) => {
        const d = crowd[i]!;
        const result = await d.client.withdrawRewards(d.address, devnet.validators[i % devnet.validators.length]!, 'auto');
        check(result.code === 0, `withdrawal by ${d.address} failed with code ${result.code}`);
      });
    });
    say(`  setup: ${count(o.cosmosCrowd)} delegators, each delegating and withdrawing its rewards an hour later: ${seconds(setup.seconds)}`);

    const crowded = await measure();
    say(`  with ${count(o.cosmosCrowd)} other delegators: position ${listOf(crowded.position)}; harvest with a claim ${listOf(crowded.harvest)}; harvest with nothing new ${listOf(crowded.idleHarvest)}`);
    say('  checks: every harvest claimed once and reported both validators\' payouts; a second harvest found nothing');

    return callRows('cosmos adapter', `${count(o.cosmosCrowd)} delegators`, alone, crowded, 1);
  } finally {
    for (const d of crowd) d.client.disconnect();
    await adapter?.close();
    await devnet.close();
    await keys.remove();
  }
}

/**
 * Summary rows of a call count, alone against crowded. `slack`: calls the
 * harvest may differ by (the claim's inclusion polls follow the clock).
 */
function callRows(adapter: string, crowdLabel: string, alone: CallCounts, crowded: CallCounts, slack: number): SummaryRow[] {
  const row = (what: string, a: readonly number[], c: readonly number[], allowed: number): SummaryRow => {
    const base = median(a);
    const value = median(c);
    return {
      label: `${adapter}: ${what}, ${crowdLabel}`,
      value: calls(value),
      baseline: `alone ${calls(base)}`,
      ratio: ratio(value / base),
      target: allowed === 0 ? '1.00x' : `1.00x ±${allowed} call${allowed === 1 ? '' : 's'}`,
      met: Math.abs(value - base) <= allowed,
    };
  };
  return [
    row('RPC calls per position()', alone.position, crowded.position, 0),
    row('RPC calls per harvest()', alone.harvest, crowded.harvest, slack),
  ];
}

// ---- NEAR. ----

const NEAR_EPOCH_BLOCKS = 20;
const NEAR_BLOCK_MS = 1_000;

/** E3. */
async function benchNearAdapter(o: ChainBenchOptions): Promise<SummaryRow[]> {
  say(`\nE3. NEAR adapter, custody staking in 2 pools: RPC calls (rpcRequests()) per position() and per harvest job (due, pings, harvest) after an epoch, alone vs ${count(o.nearCrowd)} other accounts in the same pools; ${ROUNDS} rounds, medians`);
  const devnet: NearDevnet = await startNearDevnet({ epochLength: NEAR_EPOCH_BLOCKS, blockMs: NEAR_BLOCK_MS });
  const keys = await keyDirectory();
  const built: ChainAdapter[] = [];
  try {
    const accountAdapter = async (accountId: string): Promise<ChainAdapter> => {
      const secret = devnet.createAccount(accountId, 1_000n * ONE_NEAR);
      const publicKey = KeyPair.fromString(secret as `ed25519:${string}`).getPublicKey().toString();
      const file = await keys.write(`${accountId}.json`, JSON.stringify({ account_id: accountId, public_key: publicKey, private_key: secret }));
      const config: AdapterConfig<NearOptions> = {
        name: 'near-bench',
        asset: 'NEAR',
        decimals: 24,
        endpoints: [...devnet.urls],
        signer: { file },
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        options: { networkId: devnet.chainId, pools: devnet.pools, epochDurationMs: NEAR_EPOCH_BLOCKS * NEAR_BLOCK_MS },
      };
      const a = near.create(config);
      built.push(a);
      return a;
    };

    const custody = await accountAdapter('custody.devnet');
    const [alpha, beta] = devnet.pools as [string, string];
    await custody.delegate(alpha, 100n * ONE_NEAR);
    await custody.delegate(beta, 100n * ONE_NEAR);
    let checkpoint = (await harvestJob(custody, null)).checkpoint;

    const measure = async (): Promise<CallCounts> => {
      const measured = await measureRounds(custody, () => devnet.nextEpoch(), { targets: 2, claims: 2, events: 2 }, checkpoint);
      checkpoint = measured.checkpoint;
      return measured.counts;
    };

    const alone = await measure();
    say(`  baseline: custody alone in the pools: position ${listOf(alone.position)}; harvest with pings ${listOf(alone.harvest)}; harvest in the same epoch ${listOf(alone.idleHarvest)}`);

    const setup = await timed(async () => {
      for (let i = 0; i < o.nearCrowd; i += 1) {
        const other = await accountAdapter(`staker-${i}.devnet`);
        await other.delegate(alpha, 10n * ONE_NEAR + BigInt(i));
        await other.delegate(beta, 10n * ONE_NEAR + BigInt(i));
      }
    });
    say(`  setup: ${count(o.nearCrowd)} accounts, each staking in both pools through the adapter: ${seconds(setup.seconds)} (${count(2 * o.nearCrowd)} transactions, a block each)`);
    for (let i = 0; i < o.nearCrowd; i += 1) {
      const pools = devnet.account(`staker-${i}.devnet`).pools.filter((p) => p.staked > 0n).length;
      check(pools === 2, `staker-${i}.devnet stakes in ${pools} pools, expected 2`);
    }

    const crowded = await measure();
    say(`  with ${count(o.nearCrowd)} other accounts: position ${listOf(crowded.position)}; harvest with pings ${listOf(crowded.harvest)}; harvest in the same epoch ${listOf(crowded.idleHarvest)}`);
    say('  checks: every harvest pinged both pools and reported a reward for each; a second harvest in the epoch found nothing');

    return callRows('near adapter', `${count(o.nearCrowd)} stakers`, alone, crowded, 0);
  } finally {
    for (const a of built) await a.close();
    await devnet.close();
    await keys.remove();
  }
}

// ---- TRON. ----

const TRON_MAINTENANCE_MS = 6 * HOUR_MS;

/** E4. */
async function benchTronAdapter(o: ChainBenchOptions): Promise<SummaryRow[]> {
  say(
    `\nE4. TRON adapter, custody voting for 2 SRs: HTTP requests (rpcRequests()) per position() and per harvest job (due, the day's claim, harvest) a day and a cycle later, alone vs ${count(o.tronCrowd)} other voters for the same SRs; ${ROUNDS} rounds, medians`,
  );
  // 3 s blocks as on mainnet (the harvest finds a claim's block by its time); every accepted transaction is solidified at once.
  const devnet: TronDevnet = await startTronDevnet({ confirmAfterMs: 1, params: { maintenanceTimeInterval: TRON_MAINTENANCE_MS, unfreezeDelayDays: 1 } });
  const keys = await keyDirectory();
  const built: ChainAdapter[] = [];
  try {
    const accountAdapter = async (label: string): Promise<ChainAdapter> => {
      const { privateKey } = devnet.createAccount(100_000n * TRX);
      const file = await keys.write(`${label}.key`, privateKey);
      const config: AdapterConfig<TronOptions> = {
        name: 'tron-bench',
        asset: 'TRX',
        decimals: 6,
        endpoints: [...devnet.urls],
        signer: { file },
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        options: { pollIntervalMs: 20, inclusionTimeoutMs: 10_000 },
      };
      const a = tron.create(config);
      built.push(a);
      return a;
    };

    const custody = await accountAdapter('custody');
    // A solidity node sees the funded account 18 blocks later.
    devnet.produceBlocks(19);
    const [sr0, sr1] = devnet.witnesses as [string, string];
    await custody.delegate(sr0, 10_000n * TRX);
    await custody.delegate(sr1, 5_000n * TRX);
    devnet.advance(2 * TRON_MAINTENANCE_MS);
    let checkpoint = (await harvestJob(custody, null)).checkpoint;

    const measure = async (): Promise<CallCounts> => {
      // A claim may follow the last one after 24 h; the day is four cycles, one more pays.
      const measured = await measureRounds(custody, () => devnet.advance(24 * HOUR_MS + TRON_MAINTENANCE_MS), { targets: 2, claims: 1, events: 1 }, checkpoint);
      checkpoint = measured.checkpoint;
      return measured.counts;
    };

    const alone = await measure();
    say(`  baseline: custody alone voting for the SRs: position ${listOf(alone.position)}; harvest with a claim ${listOf(alone.harvest)}; harvest right after ${listOf(alone.idleHarvest)}`);

    const setup = await timed(async () => {
      for (let i = 0; i < o.tronCrowd; i += 1) {
        const other = await accountAdapter(`voter-${i}`);
        devnet.produceBlocks(19);
        await other.delegate(sr0, 100n * TRX + BigInt(i) * TRX);
        await other.delegate(sr1, 100n * TRX);
      }
    });
    say(`  setup: ${count(o.tronCrowd)} accounts, each freezing and voting for both SRs through the adapter: ${seconds(setup.seconds)} (${count(4 * o.tronCrowd)} transactions, each solidified)`);
    const crowded = await measure();
    say(`  with ${count(o.tronCrowd)} other voters: position ${listOf(crowded.position)}; harvest with a claim ${listOf(crowded.harvest)}; harvest right after ${listOf(crowded.idleHarvest)}`);
    say("  checks: every harvest job claimed once and reported that claim's reward; a second one found nothing");

    // The wait for a solidity node polls: an inclusion poll more or less is timing.
    return callRows('tron adapter', `${count(o.tronCrowd)} voters`, alone, crowded, 2);
  } finally {
    for (const a of built) await a.close();
    await devnet.close();
    await keys.remove();
  }
}

// ---- Aptos. ----

/** E5. */
async function benchAptosAdapter(o: ChainBenchOptions): Promise<SummaryRow[]> {
  const crowdSize = o.aptosCrowd ?? 100;
  say(`\nE5. Aptos adapter, custody delegating to 2 pools: requests (rpcRequests()) per position() and per harvest job (due withdrawals, harvest) after an epoch, alone vs ${count(crowdSize)} other delegators in the same pools; ${ROUNDS} rounds, medians`);
  const devnet = await startAptosDevnet({ epochIntervalSecs: 3_600n, blockMs: 60_000 });
  const keys = await keyDirectory();
  const built: ChainAdapter[] = [];
  try {
    const accountAdapter = async (name: string): Promise<ChainAdapter> => {
      const account = devnet.createAccount(1_000n * ONE_APT);
      const file = await keys.write(`${name}.key`, PrivateKey.formatPrivateKey(account.privateKey.toHexString(), PrivateKeyVariants.Ed25519));
      const config: AdapterConfig<AptosOptions> = {
        name: 'aptos-bench',
        asset: 'APT',
        decimals: 8,
        endpoints: [...devnet.endpoints],
        signer: { file },
        validators: devnet.pools,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        options: { chainId: devnet.chainId, inclusionWaitMs: 10_000 },
      };
      const a = aptos.create(config);
      built.push(a);
      return a;
    };

    const custody = await accountAdapter('custody');
    const [alpha, beta] = devnet.pools as [string, string];
    await custody.delegate(alpha, 100n * ONE_APT);
    await custody.delegate(beta, 100n * ONE_APT);
    // The epoch that returns the add-stake fee pays the new stake nothing: from the next one on, a reward per pool.
    devnet.nextEpoch();
    let checkpoint = (await harvestJob(custody, null)).checkpoint;

    const measure = async (): Promise<CallCounts> => {
      const measured = await measureRounds(custody, () => devnet.nextEpoch(), { targets: 2, claims: 0, events: 2 }, checkpoint);
      checkpoint = measured.checkpoint;
      return measured.counts;
    };

    const alone = await measure();
    say(`  baseline: custody alone with the pools' owners: position ${listOf(alone.position)}; harvest after an epoch ${listOf(alone.harvest)}; harvest in the same epoch ${listOf(alone.idleHarvest)}`);

    const setup = await timed(async () => {
      await eachConcurrently(crowdSize, CONCURRENCY, async (i) => {
        const other = await accountAdapter(`delegator-${i}`);
        await other.delegate(alpha, 20n * ONE_APT + BigInt(i));
        await other.delegate(beta, 20n * ONE_APT + BigInt(i));
      });
    });
    say(`  setup: ${count(crowdSize)} accounts, each delegating to both pools through the adapter: ${seconds(setup.seconds)} (${count(2 * crowdSize)} transactions)`);

    const crowded = await measure();
    say(`  with ${count(crowdSize)} other delegators: position ${listOf(crowded.position)}; harvest after an epoch ${listOf(crowded.harvest)}; harvest in the same epoch ${listOf(crowded.idleHarvest)}`);
    say('  checks: every harvest after an epoch reported a reward for each pool and had nothing to withdraw; a second harvest in the epoch found nothing');

    return callRows('aptos adapter', `${count(crowdSize)} delegators`, alone, crowded, 0);
  } finally {
    for (const a of built) await a.close();
    await devnet.close();
    await keys.remove();
  }
}

// ---- Polkadot. ----

const DOT_BLOCK_MS = 12_000;
/** A short era: 12 blocks (the devnet's clock is frozen; `nextEra` moves it). */
const DOT_ERA_MS = 12 * DOT_BLOCK_MS;

/**
 * Signs `calls` as `pair` with consecutive nonces from `nonce`, immortal,
 * and puts them in the devnet's pool (what a wallet would submit); the next
 * block includes them.
 */
function submitAs(devnet: PolkadotDevnet, pair: KeyringPair, nonce: number, calls: unknown[]): void {
  const { runtime } = devnet.chain;
  calls.forEach((call, i) => {
    const ext = runtime.registry.createType('Extrinsic', call);
    ext.sign(pair, { blockHash: devnet.chain.genesisHash, genesisHash: devnet.chain.genesisHash, era: runtime.registry.createType('ExtrinsicEra'), nonce: nonce + i, runtimeVersion: RUNTIME_VERSION as never });
    const { status } = devnet.chain.submit(ext.toU8a());
    check(status === 'ready', `the devnet did not take extrinsic ${i} of ${pair.address}: ${status}`);
  });
}

/** E6, one mode. */
async function benchPolkadotMode(mode: 'nominate' | 'pool', crowdSize: number): Promise<SummaryRow[]> {
  const crowdLabel = mode === 'pool' ? 'other members of its pool' : 'other nominators of its validators';
  say(
    `\nE6. Polkadot adapter, mode ${mode}, custody ${mode === 'pool' ? 'in pool 1' : 'nominating 2 validators'}: requests (rpcRequests()) per position() and per harvest job (due claims, harvest) after an era, alone vs ${count(crowdSize)} ${crowdLabel}; ${ROUNDS} rounds, medians`,
  );
  // The crowd's keys, funded at genesis: the custody measured alone shares the chain with accounts that do not stake yet.
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 0 });
  const crowd = Array.from({ length: crowdSize }, (_, i) => keyring.addFromUri(`//softstake-bench-crowd-${i}`));
  const devnet = await startPolkadotDevnet({
    eraMs: DOT_ERA_MS,
    blockMs: DOT_BLOCK_MS,
    minNominatorBond: 10n * DOT,
    // The adapter reads past blocks' state (an archive node's); final with the block.
    statePruning: 1_000_000,
    finalityDelayMs: 0,
    endowed: Object.fromEntries(crowd.map((p) => [u8aToHex(p.publicKey), 1_000n * DOT])),
  });
  const keys = await keyDirectory();
  let adapter: ChainAdapter | undefined;
  try {
    const account = devnet.createAccount(10_000n * DOT);
    const file = await keys.write('custody.mnemonic', account.mnemonic);
    const validators = devnet.validators.slice(0, 2);
    const config: AdapterConfig<PolkadotOptions> = {
      name: 'polkadot-bench',
      asset: 'DOT',
      decimals: 10,
      endpoints: [...devnet.wsUrls],
      signer: { file },
      validators: mode === 'pool' ? [] : validators,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      options: { ...(mode === 'pool' ? { mode: 'pool', poolId: 1 } : { mode: 'nominate' }), eraDurationMs: DOT_ERA_MS, inclusionWaitMs: 10_000, pollIntervalMs: 20 },
    };
    adapter = polkadot.create(config);
    const custody = adapter;
    const target = mode === 'pool' ? 'pool:1' : validators[0]!;
    await custody.delegate(target, 100n * DOT);
    // Pool rewards reach the pool when someone pays its validators out: the devnet's bot does, every era, as validators' bots do.
    const nextEra = (): void => {
      devnet.nextEra();
      if (mode === 'pool') devnet.payoutAll();
    };
    // Bonded in era n, exposed from n + 1, paid when n + 1 ends.
    nextEra();
    nextEra();
    nextEra();
    let checkpoint = (await harvestJob(custody, null)).checkpoint;

    // Nominate: a claim per validator per era, one Rewarded each. Pool: one claim_payout, one PaidOut.
    const expected: RoundExpectation = mode === 'pool' ? { targets: 1, claims: 1, events: 1 } : { targets: 2, claims: 2, events: 2 };
    const measure = async (): Promise<CallCounts> => {
      const measured = await measureRounds(custody, nextEra, expected, checkpoint);
      checkpoint = measured.checkpoint;
      return measured.counts;
    };

    const alone = await measure();
    say(`  baseline: custody alone ${mode === 'pool' ? "with the pool's depositor" : "with the validators' self-bonds"}: position ${listOf(alone.position)}; harvest after an era ${listOf(alone.harvest)}; harvest in the same era ${listOf(alone.idleHarvest)}`);

    const setup = await timed(async () => {
      const tx = devnet.chain.runtime.decorated.tx;
      crowd.forEach((pair, i) => {
        const amount = 20n * DOT + BigInt(i);
        if (mode === 'pool') submitAs(devnet, pair, 0, [tx.nominationPools!.join!(amount, 1)]);
        else submitAs(devnet, pair, 0, [tx.staking!.bond!(amount, { Staked: null }), tx.staking!.nominate!(validators.map((v) => ({ Id: v })))]);
      });
      devnet.chain.newBlock();
      // Their stake is exposed from the next era on: one era in which the crowd is elected, one that pays it.
      nextEra();
      nextEra();
      checkpoint = (await harvestJob(custody, checkpoint)).checkpoint;
    });
    const staking = crowd.filter((p) => {
      const hex = u8aToHex(p.publicKey);
      return mode === 'pool' ? devnet.chain.best.read('NominationPools', 'PoolMembers', hex) !== undefined : devnet.chain.best.read('Staking', 'Ledger', hex) !== undefined;
    }).length;
    check(staking === crowdSize, `${staking} of ${crowdSize} crowd accounts ${mode === 'pool' ? 'joined the pool' : 'bonded'}`);
    say(`  setup: ${count(crowdSize)} accounts, each ${mode === 'pool' ? 'joining pool 1' : 'bonding and nominating both validators'} in one block, then two eras: ${seconds(setup.seconds)}`);

    const crowded = await measure();
    say(`  with ${count(crowdSize)} ${crowdLabel}: position ${listOf(crowded.position)}; harvest after an era ${listOf(crowded.harvest)}; harvest in the same era ${listOf(crowded.idleHarvest)}`);
    say(`  checks: every harvest after an era claimed ${expected.claims === 1 ? 'once' : 'each validator\'s page'} and reported ${expected.events === 1 ? 'one reward' : 'a reward per validator'}; a second harvest in the era found nothing`);

    // The wait for a claim's finality polls the head: an inclusion poll or three more or less is timing (seen: 79 against 82 alone).
    return callRows(`polkadot adapter (${mode})`, `${count(crowdSize)} ${mode === 'pool' ? 'members' : 'nominators'}`, alone, crowded, 3);
  } finally {
    await adapter?.close();
    await devnet.close();
    await keys.remove();
  }
}

/** E6. */
async function benchPolkadotAdapter(o: ChainBenchOptions): Promise<SummaryRow[]> {
  const crowdSize = o.polkadotCrowd ?? 100;
  return [...(await benchPolkadotMode('nominate', crowdSize)), ...(await benchPolkadotMode('pool', crowdSize))];
}

/** Part E: block production of the Cosmos devnet, then the adapters' RPC calls alone and in a crowd; `o.chain` picks one. */
export async function benchChains(options: ChainBenchOptions): Promise<SummaryRow[]> {
  const parts: [ChainPart, (o: ChainBenchOptions) => Promise<SummaryRow[]>][] = [
    ['cosmos-devnet', benchBlockProduction],
    ['cosmos', benchCosmosAdapter],
    ['near', benchNearAdapter],
    ['tron', benchTronAdapter],
    ['aptos', benchAptosAdapter],
    ['polkadot', benchPolkadotAdapter],
  ];
  const rows: SummaryRow[] = [];
  for (const [part, run] of parts) if (options.chain === undefined || options.chain === part) rows.push(...(await run(options)));
  return rows;
}
