/**
 * Exactly once under faults. The daemon runs as a child process and is
 * killed with SIGKILL at the worst moments: inside a distribution's
 * transaction, right after the chain included a harvest's claim, right after
 * it included a delegation (before the daemon heard back); and its Redis (a
 * redis-server of this test's own, with AOF) is killed and restarted under
 * it. Afterwards every reward the chain paid is recorded once and
 * distributed once, the journal balances, and the chain holds one
 * delegation per intent.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { startTestDevnet, type TestDevnet } from '../chain/devnet.js';
import { generateTestKey, type TestKey } from '../chain/keys.js';
import { runCli } from '../helpers/cli.js';
import { DaemonProcess, freePort, OwnRedis, writeDaemonConfig, type DaemonConfigOptions } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectAllRewardsDistributed, expectLedgerConsistent, expectRewardsMatchChain } from '../helpers/invariants.js';
import { seedUsers } from '../helpers/seed.js';
import { until } from '../helpers/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup {
  db: TestDatabase;
  devnet: TestDevnet;
  key: TestKey;
  config: string;
  start(): DaemonProcess;
}

/** A database, a devnet with a funded custody account, users holding the same total, and a daemon config. */
async function setup(options: Partial<DaemonConfigOptions> & { redis?: OwnRedis } = {}): Promise<Setup> {
  const db = await freshDatabase();
  cleanups.push(() => db.drop());
  const devnet = await startTestDevnet({ validators: [{ address: 'val-a', rewardBpsPerDay: 300 }, { address: 'val-b', rewardBpsPerDay: 300 }], clock: 'wall', blockMs: 200 });
  cleanups.push(() => devnet.close());
  const key = generateTestKey();
  devnet.fund(key.address, 1_000_000_000n);
  const at = new Date(Date.now() - 60_000).toISOString();
  await applyBalanceChanges(
    db.pool,
    [
      { line: 1, record: { id: 'd1', user: 'alice', asset: 'ATOM', delta: '700000000', at } },
      { line: 2, record: { id: 'd2', user: 'bob', asset: 'ATOM', delta: '300000000', at } },
    ],
    { assets: new Set(['ATOM']) },
  );
  const { file } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: options.redis?.url ?? 'redis://127.0.0.1:6379',
    endpoints: devnet.urls,
    keyHex: key.secretHex,
    validators: [{ address: 'val-a' }, { address: 'val-b' }],
    port: await freePort(),
    ...options,
  });
  return {
    db,
    devnet,
    key,
    config: file,
    start: () => {
      const daemon = DaemonProcess.start(file);
      cleanups.push(() => (daemon.child.exitCode === null ? daemon.kill() : Promise.resolve()));
      return daemon;
    },
  };
}

/** Stops the daemon, closes the last period by hand, and checks every money invariant. */
async function settle(s: Setup, daemon: DaemonProcess): Promise<void> {
  if (daemon.child.exitCode === null) expect(await daemon.kill('SIGTERM')).toBe(0);
  const close = await runCli(['distribute', '-c', s.config, '--asset', 'ATOM', '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
  expect(close.stderr).toBe('');
  await expectRewardsMatchChain(s.db.pool, s.devnet, s.key.address);
  await expectAllRewardsDistributed(s.db.pool);
  await expectLedgerConsistent(s.db.pool);
}

/**
 * SIGKILLs the daemon the moment the chain has included its first
 * transaction of `kind`, before the daemon hears back; returns its hash.
 */
async function killWhenIncluded(s: Setup, daemon: DaemonProcess, kind: 'withdraw' | 'delegate'): Promise<string> {
  let killedAfter: string | undefined;
  s.devnet.onIncluded((tx) => {
    if (tx.kind === kind && killedAfter === undefined) {
      killedAfter = tx.hash;
      daemon.child.kill('SIGKILL');
    }
  });
  const hash = await until(() => killedAfter, `a ${kind} transaction was included and the daemon killed`, 45_000);
  await daemon.exited;
  s.devnet.onIncluded(null);
  return hash;
}

describe('SIGKILL in the middle of a harvest', () => {
  it('the claim landed, the daemon never heard; after a restart its payouts are recorded and distributed once', async () => {
    const s = await setup();
    let daemon = s.start();
    await daemon.ready();
    const killedAfter = await killWhenIncluded(s, daemon, 'withdraw');
    const claimed = s.devnet.events(s.key.address).filter((e) => e.txHash === killedAfter);
    expect(claimed.length).toBeGreaterThan(0);

    daemon = s.start();
    await daemon.ready();
    await until(async () => {
      const { rows } = await s.db.pool.query('SELECT 1 FROM reward_events WHERE id = $1', [`testnet:${claimed[0]!.id}`]);
      return rows.length > 0;
    }, 'the restarted daemon recorded the lost claim');
    await until(async () => (await s.db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount, 'a distribution allocated rewards');
    await settle(s, daemon);
  }, 120_000);
});

describe('SIGKILL right after a delegation was broadcast', () => {
  it('restarted, the daemon finishes the stored intent: one transaction on chain per intent, none signed twice', async () => {
    const s = await setup({ intervals: { poll: '1s', harvest: '1h', rebalance: '1s' } });
    let daemon = s.start();
    await daemon.ready();
    const killedAfter = await killWhenIncluded(s, daemon, 'delegate');
    const open = await s.db.pool.query<{ status: string }>('SELECT status FROM tx_intents WHERE tx_hash = $1', [killedAfter]);
    expect(open.rows).toEqual([{ status: 'signed' }]); // stored before broadcast, outcome unknown to the daemon

    daemon = s.start();
    await daemon.ready();
    await until(async () => {
      const { rows } = await s.db.pool.query<{ status: string }>('SELECT status FROM tx_intents WHERE tx_hash = $1', [killedAfter]);
      return rows[0]?.status === 'confirmed';
    }, 'the intent was resumed and confirmed');
    // Let the rebalancer settle: liquid back at the 10% buffer.
    await until(() => s.devnet.account(s.key.address).delegations.length === 2, 'both validators hold stake');
    await sleep(2_000);
    expect(await daemon.kill('SIGTERM')).toBe(0);

    const intents = await s.db.pool.query<{ tx_hash: string; status: string; kind: string }>('SELECT tx_hash, status, kind FROM tx_intents ORDER BY created_at');
    const onChain = s.devnet.transactions(s.key.address).filter((t) => t.kind === 'delegate');
    expect(onChain.map((t) => t.hash).sort()).toEqual(intents.rows.filter((i) => i.status === 'confirmed').map((i) => i.tx_hash).sort());
    expect(onChain.filter((t) => t.hash === killedAfter)).toHaveLength(1);
    expect(intents.rows.every((i) => i.status === 'confirmed')).toBe(true);
    // What the chain holds staked is exactly what the intents asked for: nothing delegated twice.
    const account = s.devnet.account(s.key.address);
    const staked = account.delegations.reduce((sum, d) => sum + d.amount, 0n);
    const asked = await s.db.pool.query<{ s: string }>("SELECT sum(amount)::text AS s FROM tx_intents WHERE kind = 'delegate' AND status = 'confirmed'");
    expect(staked).toBe(BigInt(asked.rows[0]!.s));
    await expectLedgerConsistent(s.db.pool);
  }, 120_000);
});

describe('SIGKILL inside a distribution', () => {
  it('the transaction rolls back; after a restart the period is distributed exactly once', async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const seeded = await seedUsers(db.pool, 'ATOM', 100_000, Date.now() - 2 * 86_400_000);
    await recordRewardEvent(db.pool, { id: 'manual-1', asset: 'ATOM', amount: 987_654_321n, at: Date.now() - 3_600_000, source: 'manual' });
    const { file } = await writeDaemonConfig({ databaseUrl: db.url, redisUrl: 'redis://127.0.0.1:6379', port: await freePort(), schedule: '*/5 * * * * *' });
    let daemon = DaemonProcess.start(file, ['worker', 'scheduler']);
    cleanups.push(() => (daemon.child.exitCode === null ? daemon.kill() : Promise.resolve()));
    await daemon.ready();
    const backend = await until(async () => {
      const { rows } = await db.pool.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'softstake-%worker%' AND backend_xid IS NOT NULL",
      );
      return rows[0]?.pid;
    }, "the distribution's transaction started writing", 30_000, 5);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await until(async () => (await db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backend])).rowCount === 0, 'PostgreSQL rolled back');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM distributions')).rows[0].n).toBe(0);

    daemon = DaemonProcess.start(file, ['worker', 'scheduler']);
    await daemon.ready();
    const done = await until(async () => (await db.pool.query<{ id: string; distributed: string }>('SELECT id, distributed::text FROM distributions WHERE gross > 0')).rows[0], 'the period was distributed', 60_000);
    expect(await daemon.kill('SIGTERM')).toBe(0);
    const { rows } = await db.pool.query<{ n: number; alloc: string; bal: string }>(
      `SELECT (SELECT count(*)::int FROM distributions WHERE gross > 0) AS n, (SELECT sum(amount)::text FROM allocations) AS alloc,
              (SELECT sum(amount)::text FROM balances) AS bal`,
    );
    expect(rows[0]).toEqual({ n: 1, alloc: done.distributed, bal: (seeded + BigInt(done.distributed)).toString() });
    await expectAllRewardsDistributed(db.pool);
    await expectLedgerConsistent(db.pool);
  }, 150_000);
});

describe('Redis killed and restarted under a running pipeline', () => {
  it('the daemon reconnects and goes on; nothing is lost or doubled', async () => {
    const redis = await OwnRedis.start();
    cleanups.push(() => redis.stop());
    const s = await setup({ redis });
    const daemon = s.start();
    await daemon.ready();
    await until(async () => (await s.db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount, 'a first distribution', 45_000);
    for (let round = 0; round < 2; round += 1) {
      await redis.kill();
      await sleep(1_500);
      await redis.restart();
      const before = (await s.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM distributions')).rows[0]!.n;
      await until(async () => (await s.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM distributions')).rows[0]!.n > before + 1, 'distributions go on after Redis came back', 45_000);
    }
    expect(daemon.child.exitCode).toBe(null);
    await settle(s, daemon);
  }, 180_000);
});
