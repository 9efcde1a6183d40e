import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { withTransaction } from '../../src/ledger/db.js';
import { distribute } from '../../src/ledger/distribute.js';
import { insertRewardEvents } from '../../src/ledger/rewards.js';
import { atom, freshDatabase, ms, type TestDatabase } from '../helpers/db.js';
import { expectAllRewardsDistributed, expectLedgerConsistent } from '../helpers/invariants.js';
import { seedUsers } from '../helpers/seed.js';

const HOUR = 3_600_000;
const FROM = ms('2025-03-01T00:00:00Z');
/** Enough users that each distribution takes a while, so harvests land while it runs. */
const USERS = 20_000;
const DISTRIBUTIONS = 6;

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase();
  // The foreign keys to ledger_assets are what used to keep a harvest from
  // committing while a distribution ran (their KEY SHARE lock waits on the
  // distribution's FOR UPDATE of the asset row). Without them, exactly-once
  // must still hold: nothing in distribute() may rely on them.
  await db.pool.query('ALTER TABLE reward_events DROP CONSTRAINT reward_events_asset_fkey');
  await db.pool.query('ALTER TABLE postings DROP CONSTRAINT postings_asset_fkey');
  await seedUsers(db.pool, 'ATOM', USERS, FROM);
});
afterAll(async () => {
  await db?.drop();
});

describe('reward events recorded while distributions run', () => {
  it('are each paid exactly once: in the distribution that marks them, or in a later one', async () => {
    const asset = atom({ commissionBps: 500 });
    let harvesting = true;
    let recorded = 0;
    const recordedAt: number[] = [];
    // A harvest job: one event per transaction, as fast as it goes, each
    // observed inside every period still to close.
    const harvester = (async () => {
      while (harvesting) {
        recorded += 1;
        const id = `race:${recorded}`;
        await withTransaction(db.pool, (tx) =>
          insertRewardEvents(tx, [{ id, asset: 'ATOM', amount: 1_000_003n + BigInt(recorded), at: FROM + HOUR, source: 'race' }]),
        );
        recordedAt.push(performance.now());
      }
    })();

    const runs: { id: string; started: number; ended: number }[] = [];
    try {
      for (let k = 1; k <= DISTRIBUTIONS; k += 1) {
        const started = performance.now();
        const d = await distribute(db.pool, { asset, periodEnd: FROM + (24 + k) * HOUR });
        runs.push({ id: d.id, started, ended: performance.now() });
      }
    } finally {
      harvesting = false;
      await harvester;
    }
    // The test only means something if harvests committed while distributions ran.
    const overlapping = runs.filter((r) => recordedAt.some((t) => t > r.started && t < r.ended));
    expect(overlapping.length, 'distributions during which a harvest committed').toBeGreaterThanOrEqual(DISTRIBUTIONS / 2);

    // Pay out whatever the last harvests left.
    await distribute(db.pool, { asset, periodEnd: FROM + (25 + DISTRIBUTIONS) * HOUR });

    const { rows } = await db.pool.query<{ id: string; gross: string; events: string; n: number }>(
      `SELECT d.id, d.gross::text, coalesce(sum(r.amount), 0)::text AS events, count(r.id)::int AS n
         FROM distributions d LEFT JOIN reward_events r ON r.distribution_id = d.id
        GROUP BY d.id ORDER BY d.id`,
    );
    // Each distribution paid exactly the events that point at it: none marked unpaid.
    for (const r of rows) expect(r.gross, `gross of ${r.id} (${r.n} events marked)`).toBe(r.events);
    const totals = await db.pool.query<{ events: string; n: number; gross: string; undistributed: number }>(
      `SELECT (SELECT sum(amount)::text FROM reward_events) AS events, (SELECT count(*)::int FROM reward_events) AS n,
              (SELECT sum(gross)::text FROM distributions) AS gross,
              (SELECT count(*)::int FROM reward_events WHERE distribution_id IS NULL) AS undistributed`,
    );
    expect(totals.rows[0]!.n).toBe(recorded);
    expect(totals.rows[0]!.undistributed, 'events left undistributed after the last period').toBe(0);
    expect(totals.rows[0]!.gross, 'Σ gross = Σ events: every event paid once').toBe(totals.rows[0]!.events);
    await expectAllRewardsDistributed(db.pool);
    await expectLedgerConsistent(db.pool);
  });
});
