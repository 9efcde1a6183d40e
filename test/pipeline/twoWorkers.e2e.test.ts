/**
 * One signer per chain across daemons that share nothing but PostgreSQL
 * and the chain: two `softstake start --role worker --role scheduler`
 * processes on different `redis.prefix` values (so BullMQ's per-queue
 * concurrency of 1 does not span them) rebalance one custody account on the
 * Cosmos devnet every second. Each planned move reaches the chain once: the
 * stake is what the policy asks for (never more), every transaction the
 * account sent is one confirmed intent, none failed, and both daemons kept
 * running rebalances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CosmosDevnet } from '../../adapters/cosmos/devnet.js';
import { applyBalanceChanges } from '../../src/ledger/balanceChanges.js';
import { startDaemonChain, type DaemonChain } from '../helpers/chains.js';
import { DaemonProcess, freePort, writeDaemonConfig, type LogLine } from '../helpers/daemon.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { expectLedgerConsistent } from '../helpers/invariants.js';
import { until } from '../helpers/wait.js';

const ATOM = 1_000_000n;
const ROUNDS = [1_000n, 500n, 300n];
const BUFFER = 200n;

let db: TestDatabase;
let chain: DaemonChain;
const daemons: DaemonProcess[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  // Blocks of a second keep each delegation in flight long enough for the
  // other daemon to plan from the same position, were it allowed to; no
  // inflation, so the only rewards are the delegations' own fees, which
  // x/distribution hands back to the delegators (a harvest may claim a few
  // uatom of them: seen in CI under load, when the first harvest ran late).
  chain = await startDaemonChain('cosmos', { funds: 1n, blockMs: 1_000, inflation: '0' });
  for (let i = 0; i < 2; i += 1) {
    const { file, prefix } = await writeDaemonConfig({
      databaseUrl: db.url,
      redisUrl: 'redis://127.0.0.1:6379',
      ...chain.daemonConfig(),
      port: await freePort(),
      intervals: { poll: '1s', harvest: '1h', rebalance: '1s' },
      // A buffer that keeps the plan the same whichever order a rebalance sees the ledger and the chain in.
      stake: { minBuffer: BUFFER.toString() },
      schedule: '0 0 * * *',
    });
    prefixes.push(prefix);
    daemons.push(DaemonProcess.start(file, ['worker', 'scheduler']));
  }
  await Promise.all(daemons.map((d) => d.ready()));
});

afterAll(async () => {
  await Promise.all(daemons.filter((d) => d.child.exitCode === null).map((d) => d.kill()));
  await chain?.close();
  await db?.drop();
});

/** The exchange books the deposit, then moves it into custody. */
async function deposit(id: string, amount: bigint): Promise<void> {
  await applyBalanceChanges(db.pool, [{ line: 1, record: { id, user: 'alice', asset: 'ATOM', delta: amount.toString(), at: new Date().toISOString() } }], {
    assets: new Set(['ATOM']),
  });
  cosmos().fund(chain.custody, amount);
}

/** The devnet with its Cosmos controls (funding, the account's sequence). */
function cosmos(): CosmosDevnet {
  return chain.devnet as CosmosDevnet;
}

function staked(): bigint {
  return [...chain.staked().values()].reduce((sum, amount) => sum + amount, 0n);
}

const rebalanced = (l: LogLine) => l.msg === 'job done' && l.name === 'rebalance';

describe('two workers on different Redis prefixes, one database, one chain', () => {
  it('each planned move reaches the chain once', async () => {
    expect(prefixes[0]).not.toBe(prefixes[1]);
    // Each round stakes the deposit beyond the buffer, less the fees the
    // delegations before it paid out of the buffer (well under 1 ATOM).
    let total = ATOM; // the custody account's opening balance
    for (const [round, amount] of ROUNDS.entries()) {
      await deposit(`dep-${round}`, amount * ATOM);
      total += amount * ATOM;
      await until(() => staked() >= total - BUFFER * ATOM - ATOM, `deposit ${round} was staked`);
    }

    // Both daemons keep rebalancing; let each run a few more after the stake.
    const done = daemons.map((d) => d.logs.filter(rebalanced).length);
    await until(() => daemons.every((d, i) => d.logs.filter(rebalanced).length >= done[i]! + 3), 'both daemons ran three more rebalances');

    // What the policy asks for, never more: a move made twice would stake beyond the buffer (or fail for want of funds).
    expect(staked()).toBeLessThanOrEqual(total - BUFFER * ATOM);
    expect(staked()).toBeGreaterThan(total - BUFFER * ATOM - ATOM);
    const intents = await db.pool.query<{ status: string; kind: string }>('SELECT status, kind FROM tx_intents');
    expect(intents.rows.filter((r) => r.status !== 'confirmed')).toEqual([]);
    expect(intents.rows.filter((r) => r.kind !== 'delegate' && r.kind !== 'claim')).toEqual([]);
    // Every transaction the custody ever sent (its sequence counts them) is one confirmed intent.
    expect(cosmos().account(chain.custody).sequence).toBe(BigInt(intents.rows.length));
    // One delegation per validator per deposit, no more.
    expect(intents.rows.filter((r) => r.kind === 'delegate').length).toBe(ROUNDS.length * chain.validators.length);
    await expectLedgerConsistent(db.pool);
  });
});
