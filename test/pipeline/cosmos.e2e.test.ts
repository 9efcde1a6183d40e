/**
 * ATOM end to end: the daemon (`softstake start`, every role) against the
 * Cosmos devnet through the unmodified cosmjs SDK. Users' deposits come over
 * the API; the rebalancer delegates 90%; harvests claim what x/distribution
 * paid (including payouts made by delegation changes); the cron distributions
 * credit users. Afterwards the reward events are exactly the chain's payouts
 * and the histories add up to the base unit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createFundedAccount, startCosmosDevnet, type CosmosDevnet } from '../../adapters/cosmos/devnet.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectChainRewardsDistributedOnce } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const CHAIN = 'cosmoshub-devnet';
let db: TestDatabase;
let devnet: CosmosDevnet;
let custody: string;
let daemon: DaemonProcess;
let port: number;
let configFile: string;

beforeAll(async () => {
  db = await freshDatabase();
  // 2000% inflation a year: rewards every block, on a test's time scale.
  devnet = await startCosmosDevnet({ clock: 'wall', blockMs: 500, inflation: '20' });
  const account = await createFundedAccount(devnet, 1_000_000_000n);
  custody = account.address;
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: [...devnet.urls],
    keyHex: account.mnemonic,
    validators: devnet.validators.map((address, i) => ({ address, weight: 2 - i })),
    port,
    // The first rebalance may run before the users' deposits arrive: a
    // buffer of 100 tokens either way makes the stake the same.
    stake: { minBuffer: '100' },
    chain: { name: CHAIN, kind: 'cosmos', options: `{ chainId: ${devnet.chainId}, pollIntervalMs: 100 }` },
    // One rebalance at start; then only harvests send transactions, so after
    // a clean stop every payout the chain made has been harvested.
    intervals: { poll: '1s', harvest: '1s', rebalance: '1h' },
  }));
  daemon = DaemonProcess.start(configFile);
  await daemon.ready();
});

afterAll(async () => {
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

describe('ATOM on the Cosmos devnet, end to end', () => {
  it("delegates 2:1, claims what the chain paid and credits it to users' histories, exactly", async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const posted = await api(port, 'POST', '/v1/balance-changes', {
      changes: [
        { id: 'dep-alice', user: 'alice', asset: 'ATOM', delta: '750000000', at },
        { id: 'dep-bob', user: 'bob', asset: 'ATOM', delta: '250000000', at },
      ],
    });
    expect(posted.status).toBe(200);

    await until(() => devnet.account(custody).delegations.length === 2, 'both validators hold stake');
    const [first, second] = devnet.validators;
    const stake = (v: string | undefined) => devnet.account(custody).delegations.find((d) => d.validator === v)?.amount ?? 0n;
    expect(stake(first) + stake(second)).toBe(900_000_000n);
    expect(stake(first)).toBe(600_000_000n);

    // Two distributions that allocated rewards, so some were claimed after the first closed.
    await until(async () => (await db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount! >= 2, 'two distributions allocated rewards', 45_000);
    const history = await api(port, 'GET', '/v1/users/alice/rewards');
    expect((history.body as { rewards: unknown[] }).rewards.length).toBeGreaterThan(0);

    expect(await daemon.kill('SIGTERM')).toBe(0);
    const close = await runCli(['distribute', '-c', configFile, '--asset', 'ATOM', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
    expect(close.stderr).toBe('');

    // The reward events are exactly the chain's payouts to the custody, each distributed once.
    await expectChainRewardsDistributedOnce(db.pool, CHAIN, devnet.truth.of(custody).net); // the ground truth: paid − slashed

    const reconcile = await runCli(['reconcile', '-c', configFile, '--json']);
    expect(reconcile.code, reconcile.stdout + reconcile.stderr).toBe(0);
  }, 90_000);
});
