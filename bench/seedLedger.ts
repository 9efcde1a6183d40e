import type pg from 'pg';

import { toBigInt, toMillis, withTransaction } from '../src/ledger/db.js';
import { post } from '../src/ledger/journal.js';
import { insertRewardEvents } from '../src/ledger/rewards.js';
import { applyBalanceChanges, type NumberedRecord } from '../src/ledger/balanceChanges.js';

const HOUR = 3_600_000;

/** 2025-01-01T00:00:00Z: the day every seeded change falls in. */
export const SEED_DAY = Date.UTC(2025, 0, 1);
/** The period end the benches distribute: the end of the seeded day. */
export const SEED_PERIOD_END = SEED_DAY + 24 * HOUR;

/** The user id of seeded user `i` (1-based): `u00000001`; byte order follows `i`. */
export function seededUserId(i: number): string {
  return `u${String(i).padStart(8, '0')}`;
}

/**
 * Per user i, three changes, one in each third of the day, in increasing `at`:
 * a deposit d1 of 1 to 10,000 ATOM, a top-up d2 of up to 5,000 ATOM, and a
 * withdrawal of 25, 50, 75 or 100% of what is held (so a quarter of the users
 * end at 0 and are known only by their recent changes). Pseudo-random but
 * deterministic: the same i gives the same rows, so two assets seeded alike
 * hold identical books.
 */
const SEED_USERS = `
  SELECT i, 'u' || lpad(i::text, 8, '0') AS user_id,
         d1, d2, -(((d1 + d2) * (1 + i % 4)) / 4) AS d3,
         $3::bigint + (i * 7907) % ${8 * HOUR} AS t1,
         $3::bigint + ${8 * HOUR} + (i * 7919) % ${8 * HOUR} AS t2,
         $3::bigint + ${16 * HOUR} + (i * 7927) % ${8 * HOUR} AS t3
    FROM (SELECT i, 1000000 + (i * 7919) % 9999000000 AS d1, 1 + (i * 104729) % 5000000000 AS d2
            FROM generate_series(1, $2::bigint) AS i) g`;

export interface SeedResult {
  users: number;
  changes: number;
  /** Sum of the balances: every delta seeded. */
  total: bigint;
}

/**
 * Seeds `users` users of `asset` with set-based SQL: `balance_changes` and the
 * `balances` they sum to (amount = Σ delta, last_change_at = max at), plus
 * the import's journal entry, as `applyBalanceChanges` would leave them.
 * Triggers are off while seeding (session_replication_role, for a superuser
 * only): only the journal row still has a foreign key, to an asset
 * `syncAssets` created.
 */
export async function seedUsers(pool: pg.Pool, asset: string, users: number): Promise<SeedResult> {
  return withTransaction(pool, async (tx) => {
    const role = await tx.query<{ su: string }>("SELECT current_setting('is_superuser') AS su");
    if (role.rows[0]?.su === 'on') await tx.query('SET LOCAL session_replication_role = replica');
    const changes = await tx.query(
      `INSERT INTO balance_changes (id, asset, user_id, delta, at)
       SELECT $1 || ':' || u.user_id || ':' || c.k, $1, u.user_id, c.delta, c.at
         FROM (${SEED_USERS}) u
        CROSS JOIN LATERAL (VALUES (1, u.d1, u.t1), (2, u.d2, u.t2), (3, u.d3, u.t3)) AS c (k, delta, at)`,
      [asset, users, SEED_DAY],
    );
    await tx.query(
      // The moment as the import keeps it before the first distribution:
      // from the user's first change (migration 006).
      `INSERT INTO balances (asset, user_id, amount, last_change_at, acc, acc_since)
       SELECT $1, u.user_id, u.d1 + u.d2 + u.d3, u.t3, u.d2 * (u.t2 - u.t1) + u.d3 * (u.t3 - u.t1), u.t1 FROM (${SEED_USERS}) u`,
      [asset, users, SEED_DAY],
    );
    const sums = await tx.query<{ total: string; at: string }>(
      'SELECT sum(amount) AS total, max(last_change_at) AS at FROM balances WHERE asset = $1',
      [asset],
    );
    const total = toBigInt(sums.rows[0]!.total);
    await post(tx, `seed:${asset}`, asset, toMillis(sums.rows[0]!.at), [
      ['custody', total],
      ['users', -total],
    ]);
    return { users, changes: changes.rowCount ?? 0, total };
  });
}

/** Four reward events during the seeded day, 48,000 ATOM in all, through the ledger's own insert. */
export async function seedRewards(pool: pg.Pool, asset: string): Promise<bigint> {
  const amounts = [12_345_678_901n, 9_876_543_210n, 13_579_246_801n, 12_198_531_088n];
  await withTransaction(pool, (tx) =>
    insertRewardEvents(
      tx,
      amounts.map((amount, n) => ({
        id: `${asset}:reward:${n}`,
        asset,
        amount,
        at: SEED_DAY + (5 + 6 * n) * HOUR,
        source: 'bench',
      })),
    ),
  );
  return amounts.reduce((a, b) => a + b, 0n);
}

/**
 * Flushes dirty pages so the next timed run does not pay for the previous
 * step's writes. Needs superuser or pg_checkpoint; skipped without.
 */
export async function checkpoint(pool: pg.Pool): Promise<void> {
  try {
    await pool.query('CHECKPOINT');
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
  }
}

/** VACUUM ANALYZE and a CHECKPOINT, so a timed run starts from settled tables and no pending flush. */
export async function settle(pool: pg.Pool): Promise<void> {
  await pool.query('VACUUM ANALYZE');
  await checkpoint(pool);
}

/** The day after the seeded one: the daily case's new changes and reward fall in it. */
export const NEXT_DAY = SEED_PERIOD_END;
/** The daily case's period end: the end of the next day. */
export const NEXT_PERIOD_END = NEXT_DAY + 24 * HOUR;

/**
 * One day of an established book: `changes` balance changes on the day after
 * the seeded one, through the ledger's own import (so balances and the journal
 * are what production leaves), plus one reward event of 1,600 ATOM. Every
 * tenth seeded user changes: three in four deposit up to 1,000 ATOM, the
 * fourth withdraws 0.001 ATOM from a balance the seed left at 25% or more of
 * its deposits. Run after the seeded day was distributed.
 */
export async function seedNextDay(pool: pg.Pool, asset: string, users: number, changes: number): Promise<bigint> {
  const records = function* (): Generator<NumberedRecord> {
    for (let n = 0; n < changes; n += 1) {
      // Users 10, 20, 30, … (wrapping round past the last): i % 4 is 0 or 2, so
      // the seed left each at least 25% of a deposit of 1 ATOM or more.
      const i = 10 * ((n % Math.max(1, Math.floor(users / 10))) + 1);
      const delta = n % 4 === 3 ? -1_000 : 1 + ((n * 7919) % 1_000_000_000);
      const at = NEXT_DAY + Math.floor((n * HOUR * 24) / changes);
      yield { line: n + 1, record: { id: `${asset}:day2:${n}`, user: seededUserId(i), asset, delta: String(delta), at: new Date(at).toISOString() } };
    }
  };
  await applyBalanceChanges(pool, records(), { assets: new Set([asset]) });
  const amount = 1_600_000_000n;
  await withTransaction(pool, (tx) =>
    insertRewardEvents(tx, [{ id: `${asset}:reward:day2`, asset, amount, at: NEXT_DAY + 12 * HOUR, source: 'bench' }]),
  );
  return amount;
}
