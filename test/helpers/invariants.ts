/**
 * The ledger's money invariants, checked against PostgreSQL after a test has
 * run the daemon (and crashed it). Each returns what is wrong, so a failing
 * test says which rule broke.
 */
import type pg from 'pg';
import { expect } from 'vitest';

export async function expectLedgerConsistent(pool: pg.Pool): Promise<void> {
  const unbalanced = await pool.query('SELECT entry, sum(amount)::text AS s FROM postings GROUP BY entry HAVING sum(amount) <> 0');
  expect(unbalanced.rows, 'every journal entry sums to 0').toEqual([]);

  const allocations = await pool.query(
    `SELECT d.id, d.distributed::text, coalesce(sum(a.amount), 0)::text AS allocated
       FROM distributions d LEFT JOIN allocations a ON a.distribution_id = d.id
      GROUP BY d.id HAVING d.distributed <> coalesce(sum(a.amount), 0)`,
  );
  expect(allocations.rows, 'Σ allocations = distributed, per distribution').toEqual([]);

  const gross = await pool.query(
    `SELECT d.id, d.gross::text, coalesce(sum(r.amount), 0)::text AS events
       FROM distributions d LEFT JOIN reward_events r ON r.distribution_id = d.id
      GROUP BY d.id HAVING d.gross <> coalesce(sum(r.amount), 0) OR d.gross <> d.commission + d.distributed`,
  );
  expect(gross.rows, 'each distribution allocates exactly its reward events: gross = Σ events = commission + distributed').toEqual([]);

  const credited = await pool.query(
    `SELECT b.user_id, b.amount::text AS balance, (coalesce(c.s, 0) + coalesce(a.s, 0))::text AS expected
       FROM balances b
       LEFT JOIN (SELECT user_id, sum(delta) s FROM balance_changes GROUP BY user_id) c USING (user_id)
       LEFT JOIN (SELECT user_id, sum(amount) s FROM allocations GROUP BY user_id) a USING (user_id)
      WHERE b.amount <> coalesce(c.s, 0) + coalesce(a.s, 0)`,
  );
  expect(credited.rows, "each balance = Σ its changes + Σ its allocations (credited once)").toEqual([]);
}

/** After a final distribution: no reward event older than the last closed period is left undistributed. */
export async function expectAllRewardsDistributed(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query(
    `SELECT r.id, r.amount::text, r.at FROM reward_events r JOIN ledger_assets a ON a.symbol = r.asset
      WHERE r.distribution_id IS NULL AND r.at <= a.last_period_end`,
  );
  expect(rows, 'every reward event up to the last period end was distributed').toEqual([]);
}

/**
 * A chain's rewards, as stored, went out exactly once: there are some, they
 * sum to `paid` (what the chain says it paid), Σ users' credits + commission
 * = Σ distributions' gross = that sum, nothing older than the last period is
 * left, and the journal balances.
 */
export async function expectChainRewardsDistributedOnce(pool: pg.Pool, source: string, paid: bigint): Promise<void> {
  const events = await pool.query<{ n: number; sum: string }>('SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS sum FROM reward_events WHERE source = $1', [source]);
  expect(events.rows[0]!.n, 'reward events were recorded').toBeGreaterThan(0);
  expect(BigInt(events.rows[0]!.sum), "Σ reward events = what the chain paid").toBe(paid);
  const totals = await pool.query<{ allocated: string; commission: string; gross: string }>(
    `SELECT (SELECT coalesce(sum(amount), 0)::text FROM allocations) AS allocated,
            (SELECT coalesce(sum(commission), 0)::text FROM distributions) AS commission,
            (SELECT coalesce(sum(gross), 0)::text FROM distributions) AS gross`,
  );
  const t = totals.rows[0]!;
  expect(BigInt(t.allocated) + BigInt(t.commission), "Σ users' credits + commission = Σ gross").toBe(BigInt(t.gross));
  expect(BigInt(t.gross), 'Σ gross = Σ reward events').toBe(paid);
  await expectAllRewardsDistributed(pool);
  await expectLedgerConsistent(pool);
}
