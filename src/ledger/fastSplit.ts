import { SoftstakeError } from '../errors.js';
import { toBigInt, type Tx } from './db.js';
import { eligibleQuery, integral, weigh, weight, weightParameters, type PeriodResult, type PeriodRules } from './periodWeights.js';

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
 *    writes the history, sums what it gave, and returns the users whose
 *    remainder lies in [lo, hi): the band.
 * 3. If what it gave is not exactly D (the units at mid are not L), the
 *    band settles the difference: the next largest remainders below mid
 *    gain a unit, or the smallest at or above mid lose theirs, in the same
 *    order as the rule.
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
/** How many users the sample aims at. The band then holds about 8·n/√m users of n (32,000 of 1,000,000). */
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
 * and the band spans 4·√m sample ranks on either side (and every user tied
 * at its ends): the estimate of L and the sample quantile err by at most
 * 0.8·√m ranks in a standard deviation together, so the cut falls outside
 * the band (and the exact split runs) about once in two million periods.
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
  const spread = bandRanks ?? Math.ceil(4 * Math.sqrt(m)) + 8;
  const at = (j: number): bigint => (j < 0 ? W : j >= m ? 0n : remainders[j]!);
  // hi is exclusive: one above the remainder at its rank keeps the users
  // tied there (equal weights, capped ones) inside the band.
  const top = rank - spread;
  return { lo: at(rank + spread), mid: at(Math.min(rank, m - 1)), hi: top < 0 ? W : remainders[top]! + 1n };
}

/**
 * From the table's statistics: the sample mask (every user up to twice the
 * target), and whether the rows lie in user-id order (the correlation the
 * planner itself weighs an index scan by; as users with sequential ids
 * arrive, and in the bench's seeded book). A stale answer only costs time.
 */
async function tableShape(tx: Tx): Promise<{ mask: number; ordered: boolean }> {
  const { rows } = await tx.query<{ n: number; correlation: number | null }>(
    `SELECT c.reltuples::float8 AS n,
            (SELECT s.correlation FROM pg_stats s
              WHERE s.schemaname = n.nspname AND s.tablename = 'balances' AND s.attname = 'user_id') AS correlation
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'balances'::regclass`,
  );
  const estimate = rows[0]?.n ?? -1;
  const mask = estimate > 2 * SAMPLE_TARGET ? 2 ** Math.ceil(Math.log2(estimate / SAMPLE_TARGET)) - 1 : 0;
  return { mask, ordered: (rows[0]?.correlation ?? 0) >= 0.99 };
}

/**
 * Parameters as `eligibleQuery`, then $6 D, $7 W, $8 lo, $9 mid, $10 hi
 * (numeric), $11 D/W, $12 (W − lo)/W, $13 (W − mid)/W, $14 (W − hi)/W, $15 ε
 * (float8) and $16 the distribution id.
 *
 * The credit is an update of its own over the balances, in the order they
 * are stored: each row's share at mid in float8, computed exactly as `src`
 * computes it, with no join, sort or index scan of a million rows. Where the
 * float8 floor is not exact (`drift`, a few users at most), the statement
 * returns the difference for the caller to credit. Both read the book as it
 * was before the statement. The history takes the shares in user-id order,
 * in which its primary key fills twice as fast as in a random one: sorted,
 * unless the balances already lie in that order (`ordered`), where the
 * shares come out of the read sorted.
 */
function splitQuery(first: boolean, ordered: boolean): string {
  const i = integral('bigint', first);
  return `
    WITH src AS MATERIALIZED (
      SELECT user_id, avg_balance, w, mid, mid - floor(x + $13::float8)::bigint AS drift, lo - hi AS band
        FROM (SELECT user_id, avg_balance, w, x,
                     CASE WHEN exact THEN div($6::numeric * w + $7::numeric - $8::numeric, $7::numeric)::bigint ELSE floor(x + $12::float8)::bigint END AS lo,
                     CASE WHEN exact THEN div($6::numeric * w + $7::numeric - $9::numeric, $7::numeric)::bigint ELSE floor(x + $13::float8)::bigint END AS mid,
                     CASE WHEN exact THEN div($6::numeric * w + $7::numeric - $10::numeric, $7::numeric)::bigint ELSE floor(x + $14::float8)::bigint END AS hi
                FROM (SELECT user_id, avg_balance, w, x,
                             abs(x + $12::float8 - round(x + $12::float8)) < $15::float8 OR abs(x + $13::float8 - round(x + $13::float8)) < $15::float8
                             OR abs(x + $14::float8 - round(x + $14::float8)) < $15::float8 AS exact
                        FROM (SELECT user_id, i / $3::bigint AS avg_balance, w, w::float8 * $11::float8 AS x
                                FROM (${eligibleQuery('bigint', first)}) e OFFSET 0) f
                      OFFSET 0) g) h
       WHERE lo > 0 OR floor(x + $13::float8) > 0
    ), credited AS (
      UPDATE balances SET amount = amount + floor((${weight('bigint', `(${i})`)})::float8 * $11::float8 + $13::float8)::bigint
       WHERE asset = $1 AND (${i}) >= greatest($4::bigint, 1)
    ), history AS (
      INSERT INTO allocations (user_id, distribution_id, amount, avg_balance)
      SELECT user_id, $16::text, mid, avg_balance FROM src WHERE mid > 0${ordered ? '' : ' ORDER BY user_id'}
    )
    SELECT count(*) FILTER (WHERE mid > 0) AS credited, coalesce(sum(mid), 0) AS provisional,
           -- As text: the driver would read a numeric[] as floats.
           array_agg(user_id) FILTER (WHERE band = 1) AS band_users, array_agg(avg_balance::text) FILTER (WHERE band = 1) AS band_averages,
           array_agg(mid::text) FILTER (WHERE band = 1) AS band_shares,
           array_agg(($6::numeric * w - div($6::numeric * w, $7::numeric) * $7::numeric)::text) FILTER (WHERE band = 1) AS band_remainders,
           array_agg(user_id) FILTER (WHERE drift <> 0) AS drift_users, array_agg(drift::text) FILTER (WHERE drift <> 0) AS drifts
      FROM src`;
}

/** The users whose remainder lies in [lo, hi): id, average balance, share at mid and exact remainder. */
interface Band {
  band_users: string[] | null;
  band_averages: string[] | null;
  band_shares: string[] | null;
  band_remainders: string[] | null;
}

/**
 * Moves |need| units within the band: to the largest remainders below mid
 * (need > 0) or from the smallest at or above it (need < 0), ties by user id
 * as the rule orders them. Returns how many users that adds to the credited
 * ones, or undefined when the band has too few.
 */
async function settleBand(tx: Tx, p: PeriodRules, id: string, need: bigint, mid: bigint, band: Band): Promise<number | undefined> {
  const gain = need > 0n;
  const { rows } = await tx.query<{ picked: string; credited: string; added: string; removed: string }>(
    `WITH pick AS (
       SELECT user_id, avg_balance, mid + $3::bigint AS amount
         FROM unnest($5::text[], $6::bigint[], $7::bigint[], $8::numeric[]) AS band (user_id, avg_balance, mid, remainder)
        WHERE remainder ${gain ? '<' : '>='} $9::numeric
        ORDER BY ${gain ? 'remainder DESC, user_id COLLATE "C"' : 'remainder, user_id COLLATE "C" DESC'} LIMIT $4
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
    [
      p.asset,
      id,
      gain ? '1' : '-1',
      (gain ? need : -need).toString(),
      band.band_users ?? [],
      band.band_averages ?? [],
      band.band_shares ?? [],
      band.band_remainders ?? [],
      mid.toString(),
    ],
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
  const shape = await tableShape(tx);
  const weighed = await weigh(tx, p, 'bigint', options.sampleMask ?? shape.mask);
  const { eligibleUsers, W } = weighed;
  if (W === 0n) return { eligibleUsers, W, creditedUsers: 0 };
  const t = thresholds(D, W, weighed.sample, weighed.complete, options.bandRanks);
  const w = Number(W);
  const c = (threshold: bigint): number => Number(W - threshold) / w;
  const epsilon = 2 ** -46 * (Number(D) + 1);

  await tx.query('SAVEPOINT fast_split');
  const { rows } = await tx.query<{ credited: string; provisional: string; drift_users: string[] | null; drifts: string[] | null } & Band>(splitQuery(p.first, shape.ordered), [
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
  // The settling statements below touch a few users each: by primary key,
  // never a hash or merge over the million balances.
  await tx.query('SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off');
  if (r.drift_users !== null) {
    // Where the credit's float8 floor was not the exact share.
    await tx.query(
      `UPDATE balances b SET amount = b.amount + d.drift
         FROM unnest($2::text[], $3::bigint[]) AS d (user_id, drift) WHERE b.asset = $1 AND b.user_id = d.user_id`,
      [p.asset, r.drift_users, r.drifts],
    );
  }
  // The shares must sum to D: Σ base + L. The statement gave Σ mid.
  const need = D - toBigInt(r.provisional);
  let credited = Number(r.credited);
  if (need !== 0n) {
    const added = await settleBand(tx, p, id, need, t.mid, r);
    if (added === undefined) {
      await tx.query('ROLLBACK TO SAVEPOINT fast_split');
      return undefined;
    }
    credited += added;
  }
  await tx.query('RESET enable_hashjoin; RESET enable_mergejoin');
  await tx.query('RELEASE SAVEPOINT fast_split');
  return { eligibleUsers, W, creditedUsers: credited };
}
