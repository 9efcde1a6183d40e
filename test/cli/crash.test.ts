import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { recordRewardEvent } from '../../src/ledger/rewards.js';
import { runCli, spawnCli, writeConfig } from '../helpers/cli.js';
import { freshDatabase, ms, type TestDatabase } from '../helpers/db.js';
import { seedUsers } from '../helpers/seed.js';

const USERS = 100_000;
let db: TestDatabase;
let config: string;
let seeded: bigint;

beforeAll(async () => {
  db = await freshDatabase();
  config = await writeConfig(db.url);
  seeded = await seedUsers(db.pool, 'ATOM', USERS, ms('2025-05-01T00:00:00Z'));
  await recordRewardEvent(db.pool, { id: 'crash-r1', asset: 'ATOM', amount: 123_456_789_012n, at: ms('2025-05-01T12:00:00Z'), source: 'manual' });
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** The distribute command's backend, once its transaction has written something. */
async function writingBackend(): Promise<number | undefined> {
  const { rows } = await db.pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE application_name = 'softstake-distribute' AND backend_xid IS NOT NULL`,
  );
  return rows[0]?.pid;
}

describe('distribute killed with SIGKILL mid-transaction', () => {
  it('leaves nothing behind, and the re-run makes exactly one exact distribution', async () => {
    const args = ['-c', config, '--json', 'distribute', '--asset', 'ATOM', '--period-end', '2025-05-02T00:00:00Z'];
    const child = spawnCli(args);
    const exited = new Promise((r) => child.on('exit', r));
    let backend: number | undefined;
    const deadline = Date.now() + 60_000;
    while (backend === undefined && Date.now() < deadline) {
      backend = await writingBackend();
      if (backend === undefined) await sleep(5);
    }
    expect(backend, 'the distribute transaction started writing').toBeDefined();
    child.kill('SIGKILL');
    await exited;
    // PostgreSQL notices the lost client and rolls the transaction back.
    while ((await db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backend])).rowCount) await sleep(20);
    const after = await db.pool.query<{ d: number; a: number; p: number }>(
      `SELECT (SELECT count(*)::int FROM distributions) AS d, (SELECT count(*)::int FROM allocations) AS a,
              (SELECT count(*)::int FROM postings WHERE entry LIKE 'ATOM:%') AS p`,
    );
    expect(after.rows[0]).toEqual({ d: 0, a: 0, p: 0 });

    const rerun = await runCli(args);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    const d = JSON.parse(rerun.stdout);
    expect(d).toMatchObject({ existing: false, gross: '123456789012', eligibleUsers: USERS });

    const { rows } = await db.pool.query<{ n: number; alloc: string; credited: number; bal: string; unbalanced: number; pending: number }>(
      `SELECT (SELECT count(*)::int FROM distributions) AS n,
              (SELECT sum(amount)::text FROM allocations) AS alloc,
              (SELECT count(*)::int FROM allocations) AS credited,
              (SELECT sum(amount)::text FROM balances) AS bal,
              (SELECT count(*)::int FROM (SELECT entry FROM postings GROUP BY entry HAVING sum(amount) <> 0) x) AS unbalanced,
              (SELECT count(*)::int FROM reward_events WHERE distribution_id IS NULL) AS pending`,
    );
    expect(rows[0]).toEqual({
      n: 1,
      alloc: d.distributed,
      credited: d.creditedUsers,
      bal: (seeded + BigInt(d.distributed)).toString(),
      unbalanced: 0,
      pending: 0,
    });
    expect(BigInt(d.commission) + BigInt(d.distributed)).toBe(123_456_789_012n);
  }, 180_000);
});
