import { SoftstakeError } from '../errors.js';
import { toBigInt, type Tx } from './db.js';
import { eligibleQuery, weigh, weightParameters, type PeriodResult, type PeriodRules } from './periodWeights.js';

/**
 * The split in one pass over the balances, for the common case: weights that
 * fit in 64 bits and a D below 2^40 base units.
 *
 * Each user's share is base_u + bump_u, base_u = floor(D·w_u / W), and the
 * L = D − Σ base_u leftover units bump the L largest remainders
 * r_u = D·w_u − base_u·W (ties by user id). Finding the L-th largest exactly
 * takes a sort of every remainder before anything can be written, so instead:
 *
 * 1. `weigh` sums W and keeps the weights of a sample of users (every user
 *    of a small book). From the sample, thresholds lo ≤ mid ≤ hi bracket the
 *    estimated cut.
 * 2. One statement credits every user base_u plus a unit when r_u ≥ mid,
 *    writes the history, sums what it gave, and keeps the users whose
 *    remainder lies in [lo, hi) — the band — in a temporary table.
 * 3. If what it gave is not exactly D (the units at mid are not L), the
 *    band settles the difference: the next largest remainders below mid gain a unit, or the
 *    smallest at or above mid lose theirs, in the same order as the rule.
 *    A cut outside the band (a sample far from the book) is rolled back and
 *    the caller runs the exact split instead.
 *
 * A user's share with a unit at threshold t is floor((D·w + W − t)/W), which
 * is base + (r ≥ t). It is computed in float8 as floor(w·(D/W) + (W − t)/W),
 * whose error is below 2^-50·(D + 1); a value within ε = 2^-46·(D + 1) of an
 * integer is computed again in numeric. With D < 2^40, ε < 2^-6: the numeric
 * path is rare, and every share is exact. A user is in the band when the
 * shares at lo and at hi differ.
 */

/** Above this D, the float error bound reaches 1/64 and the exact split runs. */
export const FAST_SPLIT_MAX_D = 1n << 40n;
/** How many users the sample aims at: the band is about 16·√n_sample of them. */
const SAMPLE_TARGET = 65_536;

interface Thresholds {
  lo: bigint;
  mid: bigint;
  hi: bigint;
}

const descending = (a: bigint, b: bigint): number => (a > b ? -1 : a < b ? 1 : 0);

/**
 * lo ≤ mid ≤ hi around the L-th largest remainder. From a complete sample
 * they are exact: mid = lo is the cut and hi the next value, so the band is
 * the users tied at the cut. From a partial one, mid is the estimated cut
 * and the band spans 8·√m sample ranks on either side (and every user tied
 * at its ends): the estimate of L and the sample quantile each err by at
 * most √m/2 ranks in a standard deviation.
 */
export function thresholds(D: bigint, W: bigint, sample: readonly bigint[], complete: boolean, bandRanks?: number): Thresholds {
  const remainders = sample.map((w) => (D * w) % W).sort(descending);
  const m = remainders.length;
  if (complete) {
    let based = 0n;
    for (const w of sample) based += (D * w) / W;
    const L = Number(D - based);
    if (L === 0) return { lo: W, mid: W, hi: W };
    const cut = remainders[L - 1]!;
    return { lo: cut, mid: cut, hi: cut + 1n };
  }
  // Σ r/W over the sample estimates how many of its users get a unit.
  let expected = 0;
  for (const r of remainders) expected += Number(r) / Number(W);
  const rank = Math.round(expected) - 1;
  const spread = bandRanks ?? Math.ceil(8 * Math.sqrt(m)) + 8;
  const at = (j: number): bigint => (j < 0 ? W : j >= m ? 0n : remainders[j]!);
  // hi is exclusive: one above the remainder at its rank keeps the users
  // tied there (equal weights, capped ones) inside the band.
  const top = rank - spread;
  return { lo: at(rank + spread), mid: at(Math.min(rank, m - 1)), hi: top < 0 ? W : remainders[top]! + 1n };
}

/** The sample mask for a table of about `rows` balances: every user up to twice the target. */
async function sampleMask(tx: Tx): Promise<number> {
  const { rows } = await tx.query<{ n: number }>("SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'balances'::regclass");
  const estimate = rows[0]?.n ?? -1;
  if (!(estimate > 2 * SAMPLE_TARGET)) return 0;
  return 2 ** Math.ceil(Math.log2(estimate / SAMPLE_TARGET)) - 1;
}

/**
 * Parameters as `eligibleQuery`, then $6 D, $7 W, $8 lo, $9 mid, $10 hi
 * (numeric), $11 D/W, $12 (W − lo)/W, $13 (W − mid)/W, $14 (W − hi)/W, $15 ε
 * (float8) and $16 the distribution id.
 *
 * The credit finds each row again by its address (the asset lock keeps it
 * there), in the order the rows were read: no index scan, sort or merge of a
 * million balances. The history takes the shares sorted by user id, the
 * order in which its primary key fills fastest (twice as fast as in any
 * other order).
 */
function splitQuery(first: boolean): string {
  return `
    WITH src AS MATERIALIZED (
      SELECT c, user_id, avg_balance, w, mid, lo - hi AS band
        FROM (SELECT c, user_id, avg_balance, w,
                     CASE WHEN exact THEN div($6::numeric * w + $7::numeric - $8::numeric, $7::numeric)::bigint ELSE floor(x + $12::float8)::bigint END AS lo,
                     CASE WHEN exact THEN div($6::numeric * w + $7::numeric - $9::numeric, $7::numeric)::bigint ELSE floor(x + $13::float8)::bigint END AS mid,
                     CASE WHEN exact THEN div($6::numeric * w + $7::numeric - $10::numeric, $7::numeric)::bigint ELSE floor(x + $14::float8)::bigint END AS hi
                FROM (SELECT c, user_id, avg_balance, w, x,
                             abs(x + $12::float8 - round(x + $12::float8)) < $15::float8 OR abs(x + $13::float8 - round(x + $13::float8)) < $15::float8
                             OR abs(x + $14::float8 - round(x + $14::float8)) < $15::float8 AS exact
                        FROM (SELECT c, user_id, i / $3::bigint AS avg_balance, w, w::float8 * $11::float8 AS x
                                FROM (${eligibleQuery('bigint', first)}) e OFFSET 0) f
                      OFFSET 0) g) h
       WHERE lo > 0
    ), credited AS (
      UPDATE balances b SET amount = b.amount + s.mid FROM src s WHERE b.ctid = s.c AND s.mid > 0
    ), history AS (
      INSERT INTO allocations (user_id, distribution_id, amount, avg_balance)
      SELECT user_id, $16::text, mid, avg_balance FROM src WHERE mid > 0 ORDER BY user_id
    ), band AS (
      INSERT INTO ledger_band (user_id, avg_balance, mid, remainder, bumped)
      SELECT user_id, avg_balance, mid, r, r >= $9::numeric FROM (SELECT user_id, avg_balance, mid, $6::numeric * w - div($6::numeric * w, $7::numeric) * $7::numeric AS r FROM src WHERE band = 1) b
    )
    SELECT count(*) FILTER (WHERE mid > 0) AS credited, coalesce(sum(mid), 0) AS provisional FROM src`;
}

/**
 * Moves |need| units within the band: to the largest remainders below mid
 * (need > 0) or from the smallest at or above it (need < 0), ties by user id
 * as the rule orders them. Returns how many users that adds to the credited
 * ones, or undefined when the band has too few.
 */
async function settleBand(tx: Tx, p: PeriodRules, id: string, need: bigint): Promise<number | undefined> {
  const gain = need > 0n;
  const { rows } = await tx.query<{ picked: string; credited: string; added: string; removed: string }>(
    `WITH pick AS (
       SELECT user_id, avg_balance, mid + $3::bigint AS amount FROM ledger_band
        WHERE ${gain ? 'NOT bumped' : 'bumped'}
        ORDER BY ${gain ? 'remainder DESC, user_id' : 'remainder, user_id DESC'} LIMIT $4
     ), credited AS (
       UPDATE balances b SET amount = b.amount + $3::bigint FROM pick WHERE b.asset = $1 AND b.user_id = pick.user_id RETURNING 1
     ), recorded AS (
       INSERT INTO allocations (user_id, distribution_id, amount, avg_balance)
       SELECT user_id, $2, amount, avg_balance FROM pick WHERE amount > 0
       ON CONFLICT (user_id, distribution_id) DO UPDATE SET amount = excluded.amount
       RETURNING xmax = 0 AS added
     ), gone AS (
       DELETE FROM allocations a USING pick WHERE pick.amount = 0 AND a.distribution_id = $2 AND a.user_id = pick.user_id RETURNING 1
     )
     SELECT (SELECT count(*) FROM pick) AS picked, (SELECT count(*) FROM credited) AS credited,
            (SELECT count(*) FILTER (WHERE added) FROM recorded) AS added, (SELECT count(*) FROM gone) AS removed`,
    [p.asset, id, gain ? '1' : '-1', (gain ? need : -need).toString()],
  );
  const r = rows[0]!;
  const wanted = gain ? need : -need;
  if (BigInt(r.picked) !== wanted) return undefined;
  if (r.credited !== r.picked) throw new SoftstakeError(`invariant broken in ${id}: moved ${r.picked} units, credited ${r.credited} balances`);
  return Number(r.added) - Number(r.removed);
}

/**
 * Allocates D over the period by the fast split, in bigint arithmetic (a
 * value beyond 64 bits raises 22003 for the caller's numeric fallback).
 * Returns undefined, having written nothing, when the exact split must run
 * instead: D too large for float8, or a cut outside the band.
 */
export async function allocateFast(
  tx: Tx,
  p: PeriodRules,
  id: string,
  D: bigint,
  options: { sampleMask?: number; bandRanks?: number } = {},
): Promise<PeriodResult | undefined> {
  if (D >= FAST_SPLIT_MAX_D) return undefined;
  const weighed = await weigh(tx, p, 'bigint', options.sampleMask ?? (await sampleMask(tx)));
  const { eligibleUsers, W } = weighed;
  if (W === 0n) return { eligibleUsers, W, creditedUsers: 0 };
  const t = thresholds(D, W, weighed.sample, weighed.complete, options.bandRanks);
  const w = Number(W);
  const c = (threshold: bigint): number => Number(W - threshold) / w;
  const epsilon = 2 ** -46 * (Number(D) + 1);

  await tx.query('SAVEPOINT fast_split');
  await tx.query(
    `CREATE TEMP TABLE ledger_band (user_id text COLLATE "C", avg_balance bigint, mid bigint, remainder numeric, bumped boolean) ON COMMIT DROP`,
  );
  // The credit meets each row by its address: a nested loop of TID lookups.
  await tx.query('SET LOCAL enable_nestloop = on; SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off');
  const { rows } = await tx.query<{ credited: string; provisional: string }>(splitQuery(p.first), [
    ...weightParameters(p),
    D.toString(),
    W.toString(),
    t.lo.toString(),
    t.mid.toString(),
    t.hi.toString(),
    Number(D) / w,
    c(t.lo),
    c(t.mid),
    c(t.hi),
    epsilon,
    id,
  ]);
  const r = rows[0]!;
  // The shares must sum to D: Σ base + L. The statement gave Σ mid.
  const need = D - toBigInt(r.provisional);
  let credited = Number(r.credited);
  if (need !== 0n) {
    await tx.query('SET LOCAL enable_mergejoin = on; SET LOCAL enable_hashjoin = on');
    const added = await settleBand(tx, p, id, need);
    if (added === undefined) {
      await tx.query('ROLLBACK TO SAVEPOINT fast_split');
      return undefined;
    }
    credited += added;
  }
  await tx.query('DROP TABLE ledger_band');
  await tx.query('RELEASE SAVEPOINT fast_split');
  return { eligibleUsers, W, creditedUsers: credited };
}
