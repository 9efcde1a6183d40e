/**
 * The whole daemon, as an operator runs it: `softstake start` (every role)
 * against its own database, Redis prefix and the Cosmos devnet. Balance
 * changes arrive over the API; the rebalancer stakes; harvest records what
 * the chain paid; the cron distribution credits users; the history shows up
 * in the API; reconcile agrees; SIGTERM exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDaemonChain, type DaemonChain } from '../helpers/chains.js';
import { runCli } from '../helpers/cli.js';
import { api, DaemonProcess, freePort, writeDaemonConfig } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectChainRewardsDistributedOnce } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const USERS_TOTAL = 1_000_000_000n; // 1000 ATOM in uatom

let db: TestDatabase;
let chain: DaemonChain;
let daemon: DaemonProcess;
let port: number;
let configFile: string;

beforeAll(async () => {
  db = await freshDatabase();
  // The exchange moved the users' deposits into custody: 1000 ATOM.
  chain = await startDaemonChain('cosmos', { funds: USERS_TOTAL / 10n ** 6n });
  port = await freePort();
  ({ file: configFile } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: 'redis://127.0.0.1:6379',
    ...chain.daemonConfig([3, 1]),
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
  await chain?.close();
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
    await until(() => chain.staked().size === 2, 'the rebalancer delegated');
    const [first, second] = chain.validators;
    const staked = chain.staked();
    // 900 ATOM staked; the two fees come out of the buffer, too little to move (minMove 1 ATOM).
    expect(staked.get(first!)! + staked.get(second!)!).toBe(900_000_000n);
    expect(staked.get(first!)).toBe(675_000_000n);

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
    expect(JSON.stringify(assets.body)).toContain(chain.name);
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
    const distributed = await db.pool.query('SELECT count(*)::int AS n FROM reward_events WHERE distribution_id IS NOT NULL');
    expect(distributed.rows[0].n).toBeGreaterThan(0);
    // Closing the last period by hand, the reward events are the devnet's payouts (its ground truth), each distributed once.
    const close = await runCli(['distribute', '-c', configFile, '--asset', 'ATOM', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
    expect(close.stderr).toBe('');
    await expectChainRewardsDistributedOnce(db.pool, chain.name, chain.devnet.truth.of(chain.custody).net);
    expect(daemon.logs.some((l) => JSON.stringify(l).includes(chain.secret))).toBe(false);
  });

  it('reconcile exits 2 and says SHORTFALL when the chain holds less than the ledger owes', async () => {
    // A slash the daemon (stopped now) has not harvested: the chain lost stake the ledger still owes.
    chain.slash(chain.validators[0]!, 5_000);
    const result = await runCli(['reconcile', '-c', configFile]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(new RegExp(`ATOM\\s+${chain.name}\\s.*SHORTFALL`));
  });
});
