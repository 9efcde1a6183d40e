/**
 * Exactly once under faults, on the Cosmos and NEAR devnets. The daemon runs
 * as a child process and is killed with SIGKILL at the worst moments: inside
 * a distribution's transaction, right after the chain included a harvest's
 * claim, right after it included a delegation (the devnet's `onIncluded`
 * hook kills the daemon before it hears back); and its Redis (a
 * redis-server of this test's own, with AOF) is killed and restarted under
 * it. Afterwards every reward the devnet's ground truth says it paid is
 * recorded once and distributed once, the journal balances, and the chain
 * holds one transaction per intent.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { startDaemonChain, type DaemonChain, type DaemonChainKind } from '../helpers/chains.js';
import { runCli } from '../helpers/cli.js';
import { DaemonProcess, freePort, OwnRedis, writeDaemonConfig, type DaemonConfigOptions } from '../helpers/daemon.js';
import { atom, freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectAllRewardsDistributed, expectChainRewardsDistributedOnce, expectLedgerConsistent } from '../helpers/invariants.js';
import { seedUsers } from '../helpers/seed.js';
import { until } from '../helpers/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

interface Setup {
  db: TestDatabase;
  chain: DaemonChain;
  config: string;
  /** Hashes of every transaction the chain included, in order (again when NEAR answers a resent one). */
  included: string[];
  /** Runs once on the next included transaction (see {@link killWhenIncluded}). */
  onNextIncluded: ((hash: string) => void) | undefined;
  start(): DaemonProcess;
}

/** A database, a devnet with a funded custody account, users holding the same total, and a daemon config. */
async function setup(kind: DaemonChainKind, options: Partial<DaemonConfigOptions> & { redis?: OwnRedis } = {}): Promise<Setup> {
  const chain = await startDaemonChain(kind);
  cleanups.push(() => chain.close());
  const { symbol, decimals } = chain.asset;
  const db = await freshDatabase({ [symbol]: atom({ symbol, decimals }) });
  cleanups.push(() => db.drop());
  const at = new Date(Date.now() - 60_000).toISOString();
  await applyBalanceChanges(
    db.pool,
    [
      { line: 1, record: { id: 'd1', user: 'alice', asset: symbol, delta: (700n * chain.unit).toString(), at } },
      { line: 2, record: { id: 'd2', user: 'bob', asset: symbol, delta: (300n * chain.unit).toString(), at } },
    ],
    { assets: new Set([symbol]) },
  );
  const { file } = await writeDaemonConfig({
    databaseUrl: db.url,
    redisUrl: options.redis?.url ?? 'redis://127.0.0.1:6379',
    port: await freePort(),
    ...chain.daemonConfig(),
    ...options,
  });
  const s: Setup = {
    db,
    chain,
    config: file,
    included: [],
    onNextIncluded: undefined,
    start: () => {
      const daemon = DaemonProcess.start(file);
      cleanups.push(() => (daemon.child.exitCode === null ? daemon.kill() : Promise.resolve()));
      return daemon;
    },
  };
  chain.devnet.onIncluded((tx) => {
    s.included.push(tx.hash);
    const next = s.onNextIncluded;
    s.onNextIncluded = undefined;
    next?.(tx.hash);
  });
  return s;
}

/**
 * SIGKILLs the daemon the moment the chain includes its next transaction,
 * before the daemon hears back (the hook runs before any client can see the
 * inclusion); returns the transaction's hash once the daemon is gone.
 */
async function killWhenIncluded(s: Setup, daemon: DaemonProcess): Promise<string> {
  let killedAfter: string | undefined;
  s.onNextIncluded = (hash) => {
    killedAfter = hash;
    daemon.child.kill('SIGKILL');
  };
  const hash = await until(() => killedAfter, 'a transaction was included and the daemon killed', 45_000);
  await daemon.exited;
  return hash;
}

async function intentOf(s: Setup, hash: string): Promise<{ kind: string; status: string } | undefined> {
  const { rows } = await s.db.pool.query<{ kind: string; status: string }>('SELECT kind, status FROM tx_intents WHERE tx_hash = $1', [hash]);
  return rows[0];
}

async function openIntents(s: Setup): Promise<number> {
  return (await s.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM tx_intents WHERE status = 'signed'")).rows[0]!.n;
}

/**
 * Waits until a rebalance runs to completion, having started after this
 * call, with no intent open before or after it and none added by it: the
 * rebalancer has nothing left to do.
 */
async function rebalancerSettled(s: Setup, daemon: DaemonProcess): Promise<void> {
  await until(
    async () => {
      const before = (await s.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tx_intents')).rows[0]!.n;
      if ((await openIntents(s)) > 0) return false;
      const mark = daemon.logs.length;
      await daemon.waitFor((l) => l.msg === 'job done' && l.name === 'rebalance' && daemon.logs.indexOf(l) >= mark, 15_000);
      const after = (await s.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tx_intents')).rows[0]!.n;
      return after === before && (await openIntents(s)) === 0;
    },
    'a rebalance found nothing to do',
    45_000,
  );
}

/** Stops the daemon, closes the last period by hand, and checks every money invariant against the devnet's ground truth. */
async function settle(s: Setup, daemon: DaemonProcess): Promise<void> {
  if (daemon.child.exitCode === null) expect(await daemon.kill('SIGTERM')).toBe(0);
  const close = await runCli(['distribute', '-c', s.config, '--asset', s.chain.asset.symbol, '--period-end', new Date(Date.now() - 1).toISOString(), '--json']);
  expect(close.stderr).toBe('');
  // The ground truth: what the chain paid the custody account, net of slashes.
  await expectChainRewardsDistributedOnce(s.db.pool, s.chain.name, s.chain.devnet.truth.of(s.chain.custody).net);
}

describe.each(['cosmos', 'near'] as const)('SIGKILL in the middle of a harvest (%s devnet)', (kind) => {
  it('the claim landed, the daemon never heard; after a restart what it paid is recorded and distributed once', async () => {
    const s = await setup(kind, { intervals: { poll: '1s', harvest: '1s', rebalance: '1h' } });
    let daemon = s.start();
    await daemon.ready();
    // The start's one rebalance has staked; from now on only harvests' claims are sent.
    await until(async () => s.chain.staked().size === 2 && (await openIntents(s)) === 0, 'both validators hold stake and no intent is open');
    const killing = killWhenIncluded(s, daemon);
    s.chain.nextRewards();
    const killedAfter = await killing;
    expect(await intentOf(s, killedAfter)).toEqual({ kind: 'claim', status: 'signed' }); // stored before broadcast, outcome unknown to the daemon
    const paidByClaim = s.chain.devnet.truth
      .entries(s.chain.custody)
      .filter((e) => e.ref === killedAfter && e.kind === 'reward')
      .reduce((sum, e) => sum + e.amount, 0n);
    // Cosmos books each claim's payouts under its hash; NEAR knows what a ping distributed only as the account's growth.
    if (kind === 'cosmos') expect(paidByClaim).toBeGreaterThan(0n);
    else expect(s.chain.devnet.truth.of(s.chain.custody).net).toBeGreaterThan(0n);

    daemon = s.start();
    await daemon.ready();
    await until(async () => (await intentOf(s, killedAfter))?.status === 'confirmed', 'the restarted daemon confirmed the claim');
    if (kind === 'cosmos') {
      await until(async () => {
        const { rows } = await s.db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE id LIKE $1', [`${s.chain.name}:${killedAfter}:%`]);
        return rows[0]!.s === paidByClaim.toString();
      }, "the restarted daemon recorded the lost claim's payouts");
    }
    await until(async () => {
      const { rows } = await s.db.pool.query<{ s: string | null }>('SELECT sum(amount)::text AS s FROM reward_events WHERE source = $1', [s.chain.name]);
      return kind === 'cosmos' ? rows[0]!.s !== null : rows[0]!.s === s.chain.devnet.truth.of(s.chain.custody).net.toString();
    }, 'the restarted daemon recorded what the chain paid');
    await until(async () => (await s.db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount, 'a distribution allocated rewards');
    await settle(s, daemon);
    expect(s.included.filter((h) => h === killedAfter)).toHaveLength(1);
  }, 120_000);
});

describe.each(['cosmos', 'near'] as const)('SIGKILL right after a delegation was included (%s devnet)', (kind) => {
  it('restarted, the daemon finishes the stored intent: one transaction on chain per intent, stake = Σ intents', async () => {
    const s = await setup(kind, { intervals: { poll: '1s', harvest: '1h', rebalance: '1s' } });
    let daemon = s.start();
    // The first transaction the daemon sends is the start's first delegation.
    const killedAfter = await killWhenIncluded(s, daemon);
    expect(await intentOf(s, killedAfter)).toEqual({ kind: 'delegate', status: 'signed' }); // stored before broadcast, outcome unknown to the daemon

    daemon = s.start();
    await daemon.ready();
    await until(async () => (await intentOf(s, killedAfter))?.status === 'confirmed', 'the intent was resumed and confirmed');
    await until(() => s.chain.staked().size === 2, 'both validators hold stake');
    await rebalancerSettled(s, daemon);
    expect(await daemon.kill('SIGTERM')).toBe(0);

    const intents = await s.db.pool.query<{ tx_hash: string; status: string; kind: string; amount: string | null }>(
      'SELECT tx_hash, status, kind, amount::text FROM tx_intents ORDER BY created_at',
    );
    expect(intents.rows.filter((i) => i.status !== 'confirmed')).toEqual([]);
    // Every transaction on chain is one intent's, and every intent's is on chain: none signed twice.
    expect([...new Set(s.included)].sort()).toEqual(intents.rows.map((i) => i.tx_hash).sort());
    // What the chain holds staked is what the intents asked for: nothing delegated twice.
    const asked = intents.rows.filter((i) => i.kind === 'delegate').reduce((sum, i) => sum + BigInt(i.amount!), 0n);
    const staked = [...s.chain.staked().values()].reduce((sum, v) => sum + v, 0n);
    if (kind === 'near') {
      // A staking pool rounds a deposit's shares down: at most a yoctoNEAR per deposit stays unstaked.
      expect(staked).toBeLessThanOrEqual(asked);
      expect(staked).toBeGreaterThanOrEqual(asked - BigInt(intents.rows.length));
    } else {
      expect(staked).toBe(asked);
    }
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

describe('Redis killed and restarted under a running pipeline (Cosmos devnet)', () => {
  it('the daemon reconnects and goes on; nothing is lost or doubled', async () => {
    const redis = await OwnRedis.start();
    cleanups.push(() => redis.stop());
    const s = await setup('cosmos', { redis });
    const daemon = s.start();
    await daemon.ready();
    await until(async () => (await s.db.pool.query('SELECT 1 FROM distributions WHERE gross > 0')).rowCount, 'a first distribution', 45_000);
    for (let round = 0; round < 2; round += 1) {
      const mark = daemon.logs.length;
      await redis.kill();
      // The daemon has noticed: its workers report the lost connection.
      await daemon.waitFor((l) => l.msg === 'worker error' && daemon.logs.indexOf(l) >= mark, 15_000);
      await redis.restart();
      const before = (await s.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM distributions')).rows[0]!.n;
      await until(async () => (await s.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM distributions')).rows[0]!.n > before + 1, 'distributions go on after Redis came back', 45_000);
    }
    expect(daemon.child.exitCode).toBe(null);
    await settle(s, daemon);
  }, 180_000);
});
