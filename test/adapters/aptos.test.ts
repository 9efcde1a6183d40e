/**
 * The Aptos adapter against the Aptos devnet over HTTP: the conformance
 * suite, then Aptos's own rules (the add-stake fee charged and returned,
 * unlock and reactivate, withdraw of inactive stake, the DKG window, a
 * failed transaction paying gas), with every reward event checked against
 * the devnet's own accounting.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, PrivateKey, PrivateKeyVariants, type Ed25519Account } from '@aptos-labs/ts-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainProtocolError, TxRejectedError } from '../../adapters/errors.js';
import { adapter as aptos, createAptosAdapter, type AptosOptions } from '../../adapters/aptos/adapter.js';
import { ReconfigurationInProgressError } from '../../adapters/aptos/sign.js';
import { ONE_APT, startAptosDevnet, type AptosDevnet, type AptosDevnetOptions } from '../../adapters/aptos/devnet.js';
import type { AdapterConfig, ChainAdapter, RewardEvent } from '../../adapters/types.js';
import { claimAndHarvest, describeAdapterConformance, moduleKeys, stakeOf, sumOf, unbondingOf, type ConformanceHarness, type LackingDevnet } from './conformance.js';

const EPOCH_MS = 3_600_000;
const BLOCK_MS = 1_000;
/** An epoch, its DKG window (2 s) and a few blocks: one advance of this crosses exactly one epoch change. */
const EPOCH_STEP_MS = EPOCH_MS + 10 * BLOCK_MS;
/** Stake added in an epoch earns from the next one: two epoch changes. */
const REWARD_PERIOD_MS = 2 * EPOCH_STEP_MS;
const LOCKUP_SECS = 4n * 3_600n;
const FUNDS = 10_000n * ONE_APT;
const AMOUNT = 100n * ONE_APT;

interface Fixture {
  devnet: AptosDevnet;
  account: Ed25519Account;
  custody: string;
  keyFile: string;
  adapter(endpoints?: readonly string[], options?: Partial<AptosOptions>, onRequest?: (route: string) => void): ChainAdapter;
  /** The custody address configured, the signer file missing. */
  readOnlyAdapter(): ChainAdapter;
  dispose(): Promise<void>;
}

async function fixture(options: AptosDevnetOptions = {}): Promise<Fixture> {
  const devnet = await startAptosDevnet({ epochIntervalSecs: BigInt(EPOCH_MS / 1000), blockMs: BLOCK_MS, staking: { recurringLockupDurationSecs: LOCKUP_SECS }, ...options });
  const account = devnet.createAccount(FUNDS);
  const custody = account.accountAddress.toStringLong();
  const dir = await mkdtemp(join(tmpdir(), 'softstake-aptos-'));
  const keyFile = join(dir, 'custody.key');
  await writeFile(keyFile, PrivateKey.formatPrivateKey(account.privateKey.toHexString(), PrivateKeyVariants.Ed25519), { mode: 0o600 });
  const built: ChainAdapter[] = [];
  const config = (endpoints: readonly string[] = devnet.endpoints, options: Partial<AptosOptions> = {}): AdapterConfig<AptosOptions> => ({
    name: 'aptos-devnet',
    asset: 'APT',
    decimals: 8,
    endpoints: [...endpoints],
    signer: { file: keyFile },
    validators: devnet.pools,
    requestTimeoutMs: 300,
    options: { chainId: devnet.chainId, inclusionWaitMs: 500, ...options },
  });
  return {
    devnet,
    account,
    custody,
    keyFile,
    adapter(endpoints, options, onRequest) {
      const a = onRequest === undefined ? aptos.create(config(endpoints, options)) : createAptosAdapter(config(endpoints, options), { onRequest });
      built.push(a);
      return a;
    },
    readOnlyAdapter() {
      const a = aptos.create({ ...config(), signer: { file: join(dir, 'no-such-key') }, address: custody });
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
 * A node whose ledger pruner keeps 50 versions (config/src/config/storage_config.rs
 * `prune_window`; `oldest_ledger_version` in `GET /v1`) after the custody's
 * first transaction has fallen out of them: the harvest from sequence number
 * 0 cannot be read.
 */
async function prunedNode(): Promise<LackingDevnet & { f: Fixture }> {
  const g = await fixture({ pruneWindow: 50n });
  const adapter = g.adapter();
  await adapter.delegate(g.devnet.pools[0]!, AMOUNT);
  g.devnet.advance(120 * BLOCK_MS);
  return { f: g, adapter, dependency: 'rest-api', checkpoint: null, close: () => g.dispose() };
}

describeAdapterConformance('aptos', async () => {
  const f = await fixture();
  const harness: ConformanceHarness = {
    devnet: f.devnet,
    custody: f.custody,
    sendMethod: 'POST /v1/transactions',
    // Unlocked stake turns inactive at the first epoch change at or after the lockup's end.
    unlockMs: Number(LOCKUP_SECS) * 1000 + EPOCH_MS / 2,
    close: () => f.dispose(),
    createAdapter: (endpoints) => f.adapter(endpoints),
    createReadOnlyAdapter: () => f.readOnlyAdapter(),
    validators: [f.devnet.pools[0]!, f.devnet.pools[1]!],
    amount: AMOUNT,
    rewardPeriodMs: REWARD_PERIOD_MS,
    unknownValidator: `0x${'ab'.repeat(32)}`,
    claims: false,
    unbondingEarns: true,
    keys: moduleKeys(aptos, (file) => ({
      name: 'aptos-devnet',
      asset: 'APT',
      decimals: 8,
      endpoints: [...f.devnet.endpoints],
      signer: { file },
      validators: f.devnet.pools,
      requestTimeoutMs: 300,
      options: { chainId: f.devnet.chainId, inclusionWaitMs: 500 },
    })),
    // A transfer creates the account at its key's address (aptos_account::transfer).
    fund: async (address, amount) => {
      f.devnet.chain.fund(address, address, amount);
      return Promise.resolve();
    },
    lacking: () => prunedNode(),
  };
  return harness;
});

describe('aptos adapter', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('a node that pruned the custody\'s first transactions: preflight says so and the harvest refuses, rather than skip the gap', async () => {
    const pruned = await prunedNode();
    f = pruned.f;
    expect(f.devnet.chain.oldestVersion).toBeGreaterThan(0n);
    const checks = await pruned.adapter.preflight(null);
    const restApi = checks.find((c) => c.kind === 'dependency' && c.name === 'rest-api');
    expect(restApi?.status).toBe('failure');
    expect(restApi?.detail).toMatch(/sequence number 0; the node has pruned them \(none; it keeps versions from [1-9]/);
    await expect(pruned.adapter.harvest(null)).rejects.toThrow(/pruned/);
    // A checkpoint at the custody's next transaction needs nothing pruned.
    const later = await pruned.adapter.preflight(JSON.stringify({ v: 1, sequence: '1', epoch: null, pools: {} }));
    expect(later.find((c) => c.kind === 'dependency' && c.name === 'rest-api')?.status).toBe('ok');
  });

  it('the add-stake fee: charged, listed as refundable, counted as stake meanwhile, back at the epoch end, and never a reward nor a loss', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [alpha] = f.devnet.pools as [string];
    const receipt = await adapter.delegate(alpha, AMOUNT);
    const fee = receipt.moved.find((m) => m.kind === 'refundable-fee');
    expect(fee).toMatchObject({ validator: alpha });
    expect(fee!.amount).toBeGreaterThan(0n);
    // get_stake shows the amount less the fee until the epoch ends; the position counts the fee as stake.
    expect(f.devnet.stakes(f.custody)[0]!.active).toBe(AMOUNT - fee!.amount);
    expect(stakeOf(await adapter.position(), alpha)).toBe(AMOUNT);
    const early = await adapter.harvest(null);
    expect(early.events).toEqual([]);

    f.devnet.nextEpoch();
    expect(stakeOf(await adapter.position(), alpha)).toBeGreaterThanOrEqual(AMOUNT - 2n);
    const later = await adapter.harvest(early.checkpoint);
    // The epoch that returned the fee paid no reward on the new stake (it was pending_active): only rounding.
    expect(sumOf(later.events)).toBe(f.devnet.truth.of(f.custody).net);
    expect(sumOf(later.events)).toBeGreaterThanOrEqual(-2n);
    expect(sumOf(later.events)).toBeLessThanOrEqual(0n);
  });

  it('rewards over several epochs and a lockup cycle, with add_stake, unlock, reactivate, withdraw and a failed transaction, equal the devnet\'s accounting to the octa', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [alpha, beta] = f.devnet.pools as [string, string];
    const events: RewardEvent[] = [];
    let checkpoint: string | null = null;
    let unlocked = 0n;
    const harvest = async (): Promise<void> => {
      const withdrawable = (await adapter.position()).withdrawable;
      const result = await claimAndHarvest(adapter, checkpoint);
      const moved = sumOf(result.receipts.flatMap((r) => r.moved).filter((m) => m.kind === 'unlocked'));
      // The withdrawals harvest runs first bring back exactly what was withdrawable.
      expect(moved).toBe(withdrawable);
      unlocked += moved;
      const seen = new Set(events.map((e) => e.id));
      for (const e of result.events) expect(seen.has(e.id)).toBe(false);
      events.push(...result.events);
      checkpoint = result.checkpoint;
    };

    await adapter.delegate(alpha, 1_234n * ONE_APT + 56_789n);
    await adapter.delegate(beta, AMOUNT);
    let reactivated = false;
    for (let epoch = 0; epoch < 8; epoch += 1) {
      f.devnet.advance(EPOCH_STEP_MS);
      if (epoch === 0) await harvest();
      if (epoch === 1) await adapter.undelegate(alpha, 300n * ONE_APT);
      if (epoch === 1) await harvest(); // after an own flow in the epoch: measured before it
      if (epoch === 2) {
        // Stake needed again before the lockup ends: the unlock is taken back, no fee.
        const receipt = await adapter.delegate(alpha, 100n * ONE_APT);
        expect(receipt.moved).toEqual([]);
        reactivated = true;
        f.devnet.failNextTx();
        const failed = await adapter.delegate(beta, AMOUNT).catch((e: unknown) => e);
        expect(failed).toMatchObject({ included: true });
        await adapter.delegate(beta, 7n * ONE_APT + 3n);
      }
      if (epoch % 3 === 0) await harvest();
    }
    await harvest();
    expect(reactivated).toBe(true);
    // The 200 APT left unlocked, with the rewards it earned while pending_inactive.
    expect(unlocked).toBeGreaterThan(200n * ONE_APT);
    const paid = f.devnet.truth.of(f.custody).net;
    expect(paid).toBeGreaterThan(0n);
    expect(sumOf(events)).toBe(paid);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const final = await adapter.position();
    expect(final.unbonding).toEqual([]);
    expect(final.withdrawable).toBe(0n);
  });

  it('unlock: pending_inactive until the first epoch change past the lockup, then withdrawable and due; the chain adjusts amounts to its 10 APT minimums', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [alpha] = f.devnet.pools as [string];
    await adapter.delegate(alpha, AMOUNT);
    // 5 APT would leave pending_inactive under 10 APT: delegation_pool.move unlocks 10 APT + 1 instead.
    const receipt = await adapter.undelegate(alpha, 5n * ONE_APT);
    const position = await adapter.position();
    expect(unbondingOf(position, alpha)).toBe(10n * ONE_APT + 1n);
    const [entry] = position.unbonding;
    expect(entry!.completesAt).toBeGreaterThan(receipt.at);
    expect(await adapter.due(null)).toEqual([]);
    const early = await adapter.sign({ kind: 'withdraw', validator: alpha }).catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'nothing-to-withdraw', included: false });

    while (f.devnet.clock.now() < entry!.completesAt) f.devnet.nextEpoch();
    f.devnet.nextEpoch();
    const matured = await adapter.position();
    expect(matured.unbonding).toEqual([]);
    // pending_inactive stake earned its rewards until it turned inactive (stake.move update_stake_pool).
    expect(matured.withdrawable).toBeGreaterThan(10n * ONE_APT + 1n);
    expect(await adapter.due(null)).toEqual([{ action: { kind: 'withdraw', validator: alpha }, amount: matured.withdrawable }]);
  });

  it('an epoch change under way (DKG): a stake operation is refused as retryable, and goes through once the epoch has begun', async () => {
    f = await fixture({ reconfigurationMs: 30_000 });
    const adapter = f.adapter();
    const [alpha] = f.devnet.pools as [string];
    // Just past the epoch interval: the reconfiguration has started, not finished.
    f.devnet.advance(EPOCH_MS + 5_000);
    const error = await adapter.delegate(alpha, AMOUNT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconfigurationInProgressError);
    expect((error as ReconfigurationInProgressError).retryable).toBe(true);
    f.devnet.advance(30_000);
    await adapter.delegate(alpha, AMOUNT);
    // Shares bought after an epoch's rewards may round a unit away.
    expect(stakeOf(await adapter.position(), alpha)).toBeGreaterThanOrEqual(AMOUNT - 2n);
  });

  it('refuses bytes signed by another key, a stale sequence number, and a node serving another chain', async () => {
    f = await fixture();
    const adapter = f.adapter();
    const [alpha] = f.devnet.pools as [string];
    const first = await adapter.sign({ kind: 'delegate', validator: alpha, amount: AMOUNT });
    const second = await adapter.sign({ kind: 'delegate', validator: alpha, amount: 2n * AMOUNT });
    await adapter.broadcast(first);
    const stale = await adapter.broadcast(second).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(TxRejectedError);
    expect(stale).toMatchObject({ included: false, retryable: false, code: 'SEQUENCE_NUMBER_TOO_OLD' });

    await writeFile(f.keyFile, PrivateKey.formatPrivateKey(Account.generate().privateKey.toHexString(), PrivateKeyVariants.Ed25519));
    const impostor = f.adapter();
    const refused = await impostor.delegate(alpha, AMOUNT).catch((e: unknown) => e);
    // Another key is another account: one the chain does not know.
    expect(refused).toBeInstanceOf(TxRejectedError);
    expect((refused as TxRejectedError).included).toBe(false);

    const other = await f.adapter(undefined, { chainId: 1 }).position().catch((e: unknown) => e);
    expect(other).toBeInstanceOf(ChainProtocolError);
    expect(String(other)).toMatch(/serves chain id 4, the config expects 1/);
  });

  it('counts requests per poll and per harvest', async () => {
    f = await fixture();
    const routes: string[] = [];
    const adapter = f.adapter(undefined, undefined, (route) => routes.push(route));
    const [alpha, beta] = f.devnet.pools as [string, string];
    await adapter.delegate(alpha, AMOUNT);
    await adapter.delegate(beta, AMOUNT);
    const first = await claimAndHarvest(adapter, null);
    f.devnet.nextEpoch();
    routes.length = 0;
    await adapter.position();
    const poll = routes.length;
    routes.length = 0;
    const steady = await claimAndHarvest(adapter, first.checkpoint);
    const harvest = routes.length;
    routes.length = 0;
    await adapter.delegate(alpha, AMOUNT);
    const delegate = routes.length;
    console.log(JSON.stringify({ poll, harvest, delegate, steady: steady.events.length }));
    // ledger, balance, sequence number, epoch start, the epoch's transactions, then get_stake, validator state and commission per pool.
    expect(poll).toBe(5 + 3 * 2);
    expect(harvest).toBeLessThanOrEqual(10);
  });
});
