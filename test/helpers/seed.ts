import type pg from 'pg';

/**
 * Seeds `users` users of an asset straight in SQL, each with three deposits
 * over the day starting at `from` (ms): fast enough for 100,000 users in a
 * test, and consistent with what `balances import` would have written.
 */
export async function seedUsers(pool: pg.Pool, asset: string, users: number, from: number): Promise<bigint> {
  const day = 86_400_000;
  await pool.query(
    `INSERT INTO balance_changes (id, asset, user_id, delta, at)
     SELECT 'seed-' || u || '-' || k, $1, 'user-' || lpad(u::text, 7, '0'), (u % 997 + 1) * 1000 * k, $2::bigint + (u % 1000) * 10 + k * ($3::bigint / 4)
       FROM generate_series(1, $4) u, generate_series(1, 3) k`,
    [asset, from, day, users],
  );
  await pool.query(
    `INSERT INTO balances (asset, user_id, amount, last_change_at, acc, acc_since)
     SELECT asset, user_id, sum(delta), max(at), sum(delta * at) - min(at) * sum(delta), min(at)
       FROM balance_changes WHERE asset = $1 GROUP BY asset, user_id`,
    [asset],
  );
  await pool.query(
    `INSERT INTO postings (entry, asset, account, amount, at)
     SELECT 'import:seed', $1, account, CASE account WHEN 'custody' THEN s ELSE -s END, $2
       FROM (SELECT sum(delta) AS s FROM balance_changes WHERE asset = $1) t, unnest(ARRAY['custody', 'users']) account`,
    [asset, from],
  );
  await pool.query('VACUUM ANALYZE balance_changes');
  await pool.query('VACUUM ANALYZE balances');
  const { rows } = await pool.query<{ s: string }>('SELECT sum(amount)::text AS s FROM balances WHERE asset = $1', [asset]);
  return BigInt(rows[0]!.s);
}
