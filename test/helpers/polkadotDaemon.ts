/**
 * The Polkadot end-to-end tests' shared part (test/pipeline/polkadot*.e2e.test.ts):
 * a fresh database, the Polkadot (Asset Hub) devnet on the wall clock, a
 * funded custody, and the daemon (`softstake start`) on it in nominate or
 * pool mode; users' deposits; and the close of such a test (the harvests
 * catch up with the devnet, a last distribution, every event credited once,
 * the slash booked as negative events summing to what the chain took).
 */
import { expect } from 'vitest';

import { DOT, startPolkadotDevnet, type PolkadotDevnet } from '../../adapters/polkadot/devnet.js';
import { runCli } from './cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from './daemon.js';
import { atom, freshDatabase, type TestDatabase } from './db.js';
import { expectChainRewardsDistributedOnce } from './invariants.js';
import { until } from './wait.js';

/** Blocks of 0.5 s and eras of 2 s of chain time (2.5 s with the block that rotates them), on the wall clock: a deferred slash lands 27 eras after its era. */
export const BLOCK_MS = 500;
export const ERA_MS = 2_000;

/** A running daemon on the Polkadot devnet. */
export interface PolkadotDaemon {
  /** The chain block's name: reward events are stored with it as `source`. */
  chain: string;
  db: TestDatabase;
  devnet: PolkadotDevnet;
  daemon: DaemonProcess;
  /** The daemon's HTTP port. */
  port: number;
  configFile: string;
  /** The custody's SS58 address (1000 DOT at the start). */
  custody: string;
  /** Has another account (the devnet's payout bot) pay every unclaimed page every 4 s, until {@link stopPayouts}. */
  startPayouts(): void;
  stopPayouts(): void;
  close(): Promise<void>;
}

/**
 * Starts the devnet and the daemon. Nominate mode nominates the devnet's
 * first two validators (weights 2 and 1); pool mode joins pool 1. Harvests
 * and polls every second; the rebalancer plans at start and then every
 * `rebalance` (by default once an hour: once in a test).
 */
export async function startPolkadotDaemon(mode: 'nominate' | 'pool', rebalance = '1h'): Promise<PolkadotDaemon> {
  const chain = mode === 'pool' ? 'polkadot-pool-devnet' : 'polkadot-devnet';
  const db = await freshDatabase({ DOT: atom({ symbol: 'DOT', decimals: 10 }) });
  const devnet = await startPolkadotDevnet({ clock: 'wall', blockMs: BLOCK_MS, eraMs: ERA_MS, minNominatorBond: 10n * DOT, statePruning: 1_000_000, finalityDelayMs: 0 });
  const account = devnet.createAccount(1_000n * DOT);
  const port = await freePort();
  const modeOptions = mode === 'pool' ? 'mode: pool, poolId: 1' : 'mode: nominate';
  const { file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: [...devnet.wsUrls],
    keyHex: account.mnemonic,
    validators: mode === 'pool' ? [{ address: 'pool:1', weight: 1 }] : devnet.validators.slice(0, 2).map((address, i) => ({ address, weight: 2 - i })),
    port,
    stake: { minBuffer: '100' },
    asset: { symbol: 'DOT', decimals: 10 },
    chain: { name: chain, kind: 'polkadot', options: `{ ${modeOptions}, eraDurationMs: ${ERA_MS}, inclusionWaitMs: 20000, pollIntervalMs: 200 }` },
    intervals: { poll: '1s', harvest: '1s', rebalance },
  });
  const daemon = DaemonProcess.start(configFile);
  let bot: NodeJS.Timeout | undefined;
  const close = async (): Promise<void> => {
    clearInterval(bot);
    if (daemon.child.exitCode === null) await daemon.kill();
    await devnet.close();
    await db.drop();
  };
  try {
    await daemon.ready();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    chain,
    db,
    devnet,
    daemon,
    port,
    configFile,
    custody: account.address,
    startPayouts() {
      clearInterval(bot);
      bot = setInterval(() => devnet.payoutAll(), 4_000);
    },
    stopPayouts() {
      clearInterval(bot);
    },
    close,
  };
}

/** alice deposits 600 DOT and bob 400, a minute ago. */
export async function depositUsers(d: PolkadotDaemon): Promise<void> {
  const at = new Date(Date.now() - 60_000).toISOString();
  const posted = await api(d.port, 'POST', '/v1/balance-changes', {
    changes: [
      { id: 'dep-alice', user: 'alice', asset: 'DOT', delta: (600n * DOT).toString(), at },
      { id: 'dep-bob', user: 'bob', asset: 'DOT', delta: (400n * DOT).toString(), at },
    ],
  });
  expect(posted.status).toBe(200);
}

/** The devnet's `Staking.ActiveEra` index. */
export function activeEra(devnet: PolkadotDevnet): number {
  return (devnet.chain.best.read('Staking', 'ActiveEra') as { index: number }).index;
}

/**
 * The close of a test whose custody was slashed once: rewards after the
 * slash come to outweigh it (a period whose rewards sum to ≤ 0 carries them
 * forward), the harvests catch up with what the devnet paid, the daemon
 * stops, a last distribution runs; every reward event was credited once,
 * and the slash is booked as the negative events of what the chain took.
 */
export async function expectSlashedAndCreditedOnce(d: PolkadotDaemon): Promise<void> {
  const { db, devnet, custody, chain } = d;
  const paidAtSlash = devnet.truth.of(custody).paid;
  await until(() => devnet.truth.of(custody).paid - paidAtSlash > 2n * devnet.truth.of(custody).slashed, 'rewards after the slash outweigh it', 60_000);
  d.stopPayouts();
  await until(async () => {
    const { rows } = await db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE source = $1', [chain]);
    return rows[0]!.s === devnet.truth.of(custody).net.toString();
  }, 'the harvests caught up with what the devnet paid', 30_000);
  expect(await d.daemon.kill('SIGTERM')).toBe(0);
  const close = await runCli(['distribute', '-c', d.configFile, '--asset', 'DOT', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
  expect(close.stderr).toBe('');

  await expectChainRewardsDistributedOnce(db.pool, chain, devnet.truth.of(custody).net);
  // What the chain took, booked once. In pool mode a rest of the member's
  // pending slash can leave with the custody's withdrawal, after its claim
  // applied the bulk (seen in a loaded full run: −231,890,697,920 and −1):
  // one event per transaction that took funds, summing to the slash.
  const { rows: slashes } = await db.pool.query<{ amount: string }>('SELECT amount::text FROM reward_events WHERE source = $1 AND amount < 0', [chain]);
  expect(slashes.length).toBeGreaterThan(0);
  expect(slashes.reduce((sum, r) => sum + BigInt(r.amount), 0n)).toBe(-devnet.truth.of(custody).slashed);
  expect(devnet.truth.of(custody).paid).toBeGreaterThan(devnet.truth.of(custody).slashed);
}
