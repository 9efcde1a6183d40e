/**
 * The whole daemon, as an operator runs it: `softstake start` (every role)
 * against its own database, Redis prefix and a testchain devnet. Balance
 * changes arrive over the API; the rebalancer stakes; harvest records what
 * the chain paid; the cron distribution credits users; the history shows up
 * in the API; reconcile agrees; SIGTERM exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestDevnet, type TestDevnet } from '../chain/devnet.js';
import { generateTestKey, type TestKey } from '../chain/keys.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectLedgerConsistent, expectRewardsMatchChain } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const USERS_TOTAL = 1_000_000_000n; // 1000 ATOM in uatom

let db: TestDatabase;
let devnet: TestDevnet;
let key: TestKey;
let daemon: DaemonProcess;
let port: number;
let configFile: string;

beforeAll(async () => {
  db = await freshDatabase();
  devnet = await startTestDevnet({ validators: [{ address: 'val-a', rewardBpsPerDay: 200 }, { address: 'val-b', rewardBpsPerDay: 100 }], clock: 'wall', blockMs: 200 });
  key = generateTestKey();
  devnet.fund(key.address, USERS_TOTAL); // the exchange moved the users' deposits into custody
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    endpoints: devnet.urls,
    keyHex: key.secretHex,
    validators: [{ address: 'val-a', weight: 3 }, { address: 'val-b', weight: 1 }],
    port,
    // The first rebalance may run before the users' deposits arrive: a
    // buffer of 100 tokens either way makes the stake the same.
    stake: { minBuffer: '100' },
  }));
  daemon = DaemonProcess.start(configFile);
  await daemon.ready();
});

afterAll(async () => {
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  await devnet?.close();
  await db?.drop();
});

describe('softstake start, end to end', () => {
  it('stakes, harvests, distributes, and shows each user their rewards', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const posted = await api(port, 'POST', '/v1/balance-changes', {
      changes: [
        { id: 'dep-alice', user: 'alice', asset: 'ATOM', delta: '600000000', at },
        { id: 'dep-bob', user: 'bob', asset: 'ATOM', delta: '400000000', at },
      ],
    });
    expect(posted).toMatchObject({ status: 200, body: { inserted: 2 } });

    // The rebalancer keeps 10% liquid and stakes the rest 3:1.
    await until(() => devnet.account(key.address).delegations.length === 2, 'the rebalancer delegated');
    const staked = devnet.account(key.address).delegations;
    const stakeOf = (v: string) => staked.find((d) => d.validator === v)?.amount ?? 0n;
    // 900 ATOM staked; the two fees come out of the buffer, too little to move (minMove 1 ATOM).
    expect(stakeOf('val-a') + stakeOf('val-b')).toBe(900_000_000n);
    expect(stakeOf('val-a')).toBe(675_000_000n);

    // Rewards accrue, a harvest claims them, a 2-second cron tick distributes them.
    const rewards = await until(async () => {
      const alice = await api(port, 'GET', '/v1/users/alice/rewards');
      const list = (alice.body as { rewards: { amount: string }[] }).rewards;
      return list.length > 0 ? list : undefined;
    }, 'alice was credited');
    expect(BigInt(rewards[0]!.amount)).toBeGreaterThan(0n);

    const balances = await api(port, 'GET', '/v1/users/alice/balances');
    expect(BigInt((balances.body as { balances: Record<string, string> }).balances.ATOM!)).toBeGreaterThan(600_000_000n);

    const assets = await api(port, 'GET', '/v1/assets');
    expect(assets.status).toBe(200);
    expect(JSON.stringify(assets.body)).toContain('testnet');
  });

  it('reconcile finds the chain holding at least what the ledger owes', async () => {
    const result = await runCli(['reconcile', '-c', configFile, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; assets: { surplus: string }[] };
    expect(report.ok).toBe(true);
    expect(BigInt(report.assets[0]!.surplus)).toBeGreaterThanOrEqual(0n);
  });

  it('SIGTERM: finishes, closes and exits 0; every reward is accounted for once', async () => {
    expect(await daemon.kill('SIGTERM')).toBe(0);
    expect(daemon.logs.some((l) => l.msg === 'stopped')).toBe(true);
    await expectRewardsMatchChain(db.pool, devnet, key.address);
    await expectLedgerConsistent(db.pool);
    const distributed = await db.pool.query('SELECT count(*)::int AS n FROM reward_events WHERE distribution_id IS NOT NULL');
    expect(distributed.rows[0].n).toBeGreaterThan(0);
    const secret = key.secretHex;
    expect(daemon.logs.some((l) => JSON.stringify(l).includes(secret))).toBe(false);
  });

  it('reconcile exits 2 and says SHORTFALL when the chain holds less than the ledger owes', async () => {
    // A slash the daemon (stopped now) has not harvested: the chain lost stake the ledger still owes.
    devnet.slash('val-a', 5_000);
    const result = await runCli(['reconcile', '-c', configFile]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/ATOM\s+testnet\s.*SHORTFALL/);
  });
});
