/**
 * One signer per chain across daemons that share nothing but PostgreSQL
 * and the chain: two `softstake start --role worker --role scheduler`
 * processes on different `redis.prefix` values (so BullMQ's per-queue
 * concurrency of 1 does not span them) rebalance and harvest one testchain
 * account every second. Each planned move reaches the chain once: the stake
 * is exactly what the policy asks for, every included transaction is one
 * confirmed intent, none failed, and both daemons kept running rebalances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { startTestDevnet, type TestDevnet } from '../chain/devnet.js';
import { generateTestKey, type TestKey } from '../chain/keys.js';
import { DaemonProcess, freePort, writeDaemonConfig, type LogLine } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectLedgerConsistent } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const ATOM = 1_000_000n;

let db: TestDatabase;
let devnet: TestDevnet;
let key: TestKey;
const daemons: DaemonProcess[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  devnet = await startTestDevnet({ validators: [{ address: 'val-a', rewardBpsPerDay: 0 }, { address: 'val-b', rewardBpsPerDay: 0 }], clock: 'wall', blockMs: 1_000 });
  key = generateTestKey();
  for (let i = 0; i < 2; i += 1) {
    const { file, prefix } = await writeDaemonConfig({
      databaseUrl: db.url,
      redisUrl: 'redis://127.0.0.1:6379',
      endpoints: devnet.urls,
      keyHex: key.secretHex,
      validators: [{ address: 'val-a', weight: 1 }, { address: 'val-b', weight: 1 }],
      port: await freePort(),
      intervals: { poll: '1s', harvest: '1s', rebalance: '1s' },
      // Keeps the plan exact whichever order a rebalance sees the ledger and the chain in.
      stake: { minBuffer: '200' },
      schedule: '0 0 * * *',
    });
    prefixes.push(prefix);
    daemons.push(DaemonProcess.start(file, ['worker', 'scheduler']));
  }
  await Promise.all(daemons.map((d) => d.ready()));
});

afterAll(async () => {
  await Promise.all(daemons.filter((d) => d.child.exitCode === null).map((d) => d.kill()));
  await devnet?.close();
  await db?.drop();
});

/** The exchange books the deposit, then moves it into custody. */
async function deposit(id: string, amount: bigint): Promise<void> {
  await applyBalanceChanges(db.pool, [{ line: 1, record: { id, user: 'alice', asset: 'ATOM', delta: amount.toString(), at: new Date().toISOString() } }], {
    assets: new Set(['ATOM']),
  });
  devnet.fund(key.address, amount);
}

function staked(): bigint {
  return devnet.account(key.address).delegations.reduce((sum, d) => sum + d.amount, 0n);
}

const rebalanced = (l: LogLine) => l.msg === 'job done' && l.name === 'rebalance';

describe('two workers on different Redis prefixes, one database, one chain', () => {
  it('each planned move reaches the chain once', async () => {
    expect(prefixes[0]).not.toBe(prefixes[1]);
    // The buffer is minBuffer (200 ATOM): of the first deposit 800 are
    // staked; of each later one all of it less the fees the delegations
    // before it paid out of the buffer (two a round, one per validator).
    // Blocks of a second keep each delegation in flight long enough for the
    // other daemon to plan from the same position, were it allowed to.
    let expected = 0n;
    for (const [round, amount] of [1_000n, 500n, 300n].entries()) {
      await deposit(`dep-${round}`, amount * ATOM);
      expected += round === 0 ? amount * ATOM - 200n * ATOM : amount * ATOM - 2n * devnet.fee;
      await until(() => staked() >= expected, `deposit ${round} was staked`);
    }

    // Both daemons keep rebalancing; let each run a few more after the stake.
    const done = daemons.map((d) => d.logs.filter(rebalanced).length);
    await until(() => daemons.every((d, i) => d.logs.filter(rebalanced).length >= done[i]! + 3), 'both daemons ran three more rebalances');

    expect(staked()).toBe(expected);
    const onChain = devnet.transactions(key.address);
    expect(onChain.filter((t) => t.code !== 0)).toEqual([]);
    const intents = await db.pool.query<{ tx_hash: string; status: string; kind: string }>('SELECT tx_hash, status, kind FROM tx_intents');
    expect(intents.rows.filter((r) => r.status !== 'confirmed')).toEqual([]);
    // Every transaction on chain is one confirmed intent, and the other way round.
    expect(onChain.map((t) => t.hash).sort()).toEqual(intents.rows.map((r) => r.tx_hash).sort());
    expect(devnet.txCount(key.address, 'delegate')).toBe(intents.rows.filter((r) => r.kind === 'delegate').length);
    // Three deposits, two validators: six delegations, no more.
    expect(devnet.txCount(key.address, 'delegate')).toBe(6);
    await expectLedgerConsistent(db.pool);
  });
});
