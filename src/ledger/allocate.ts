import { SoftstakeError } from '../errors.js';
import { toBigInt, type Tx } from './db.js';
import { allocateFast } from './fastSplit.js';
import { eligibleQuery, weigh, weightParameters, type Arithmetic, type PeriodResult, type PeriodRules } from './periodWeights.js';

export type { PeriodResult, PeriodRules } from './periodWeights.js';

/** How `allocatePeriod` computes the shares; every way gives the same ones (for tests). */
export interface SplitOptions {
  /**
   * `auto`: the fast split where it can run, else the exact one. `exact`:
   * only the exact split. `fast`: only the fast split, failing where it
   * would fall back. @defaultValue "auto"
   */
  split?: 'auto' | 'fast' | 'exact';
  /** The fast split's sample: the users whose id hashes to 0 under this mask. @defaultValue from the table's size */
  sampleMask?: number;
  /** The band's half-width in sample ranks. @defaultValue 4·√(sample size) + 8 */
  bandRanks?: number;
}

/** PostgreSQL's bigint: a 64-bit integer whose arithmetic raises 22003 instead of wrapping. */
const INT8_MAX = (1n << 63n) - 1n;
/** "numeric value out of range": a bigint product, sum or cast overflowed. */
const OUT_OF_RANGE = '22003';

/**
 * The exact split in one statement, for what the fast split (fastSplit.ts)
 * does not take: weights beyond 64 bits, a D of 2^40 base units or more, or
 * a cut the sample missed. Parameters as `eligibleQuery`, then $6 D and $7
 * the distribution id.
 *
 * base_u = floor(D·w_u / W), remainder_u = D·w_u − base_u·W. The leftover
 * L = D − Σ base_u goes one unit each to the L largest remainders, ties by
 * user id: rather than sorting every row by remainder, the L-th largest
 * remainder r* is picked from a sort of the remainders alone
 * (percentile_disc at position n − L + 1 of n, ascending; the fraction
 * (n − L + ½)/n is off by far less than ½ of a position in float8 for any n
 * below 2^50, so ceil lands on that position exactly), and of the users whose
 * remainder equals r* the first k in byte order get the unit, k being what
 * the larger remainders left of L. The same sort gives the remainders at
 * p − 1 and p + 1: when both differ from r*, one user holds r* and every
 * larger remainder lies above p, so that user takes the L-th unit and the
 * pass that counts and orders the ties is skipped. The positive shares,
 * sorted by user id, credit the balances (a merge join along their primary
 * key: `allocateExact` turns hash joins off) and, as the update returns them,
 * in the same order land in the history (so its index fills in order), in
 * the same statement.
 */
function exactQuery(n: Arithmetic, first: boolean): string {
  return `
    WITH weights AS (${eligibleQuery(n, first)}
    ), split AS MATERIALIZED (
      SELECT user_id, i, total, base, dw - base * total AS remainder
        FROM (SELECT user_id, i, total, dw, div(dw, nullif(total, 0)) AS base
                FROM (SELECT user_id, i, $6::numeric * w AS dw, sum(w) OVER () AS total FROM weights) p) q
    ), leftover AS MATERIALIZED (
      SELECT count(*) AS n, $6::numeric - sum(base) AS l, coalesce(max(total), 0) AS total FROM split
    ), cut AS MATERIALIZED (
      -- From one sort, the remainders at positions p − 1, p and p + 1 (clamped
      -- to [1, n]); the fractions are evaluated even when no row passes the
      -- filter: kept in [0, 1].
      SELECT v[2] AS remainder, v[1] <> v[2] AND v[3] <> v[2] AS alone
        FROM (SELECT percentile_disc((SELECT CASE WHEN l > 0
                                                  THEN ARRAY[greatest(n - l - 0.5, 0)::float8 / n, (n - l + 0.5)::float8 / n,
                                                             least(n - l + 1.5, n)::float8 / n]
                                                  ELSE ARRAY[1, 1, 1]::float8[] END FROM leftover))
                       WITHIN GROUP (ORDER BY remainder) AS v
                FROM split
               WHERE (SELECT l FROM leftover) > 0) c
    ), tie AS MATERIALIZED (
      -- Only when r* is shared: a one-time filter, so no pass over the split otherwise.
      SELECT (array_agg(user_id ORDER BY user_id) FILTER (WHERE remainder = (SELECT remainder FROM cut)))
               [(SELECT l FROM leftover) - count(*) FILTER (WHERE remainder > (SELECT remainder FROM cut))] AS user_id
        FROM split
       WHERE remainder >= (SELECT remainder FROM cut) AND NOT (SELECT alone FROM cut)
    ), credited AS (
      -- Sorted by user id, the shares meet the balances' primary key in a
      -- merge join (no hash table of a million balances), and the rows the
      -- update returns come out in that order for the history insert.
      UPDATE balances b SET amount = b.amount + s.amount
        FROM (SELECT user_id, amount, avg_balance
                FROM (SELECT user_id, ${n === 'bigint' ? 'i / $3::bigint' : 'div(i, $3::numeric)'} AS avg_balance,
                             base + CASE WHEN remainder > (SELECT remainder FROM cut)
                                           OR (remainder = (SELECT remainder FROM cut)
                                               AND ((SELECT alone FROM cut) OR user_id <= (SELECT user_id FROM tie)))
                                         THEN 1 ELSE 0 END AS amount
                        FROM split) a
               WHERE amount > 0
               ORDER BY user_id) s
       WHERE b.asset = $1 AND b.user_id = s.user_id
      RETURNING s.user_id, s.amount, s.avg_balance
    ), history AS (
      INSERT INTO allocations (user_id, distribution_id, amount, avg_balance)
      SELECT user_id, $7, amount, avg_balance FROM credited
      RETURNING 1
    )
    SELECT (SELECT n FROM leftover) AS eligible, (SELECT total FROM leftover) AS total,
           count(*) AS credited, coalesce(sum(amount), 0) AS credited_amount,
           (SELECT count(*) FROM history) AS recorded
      FROM credited`;
}

/**
 * Runs `query` in 64-bit arithmetic where the period's values fit, else in
 * `numeric`: the bigint attempt runs under a savepoint and, if any value
 * overflows, is rolled back and run again in numeric. Both give the same
 * exact integers; bigint only sooner.
 */
async function withArithmetic<T>(tx: Tx, p: PeriodRules, query: (n: Arithmetic) => Promise<T>): Promise<T> {
  const bounds = [p.minHolding * p.T, ...(p.cap === null ? [] : [p.cap * p.T])];
  if (bounds.every((b) => b <= INT8_MAX)) {
    await tx.query('SAVEPOINT bigint_arithmetic');
    try {
      const result = await query('bigint');
      await tx.query('RELEASE SAVEPOINT bigint_arithmetic');
      return result;
    } catch (error) {
      if ((error as { code?: unknown }).code !== OUT_OF_RANGE) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT bigint_arithmetic');
    }
  }
  return query('numeric');
}

/** Only weighs the period: who is eligible and W, for a period that allocates nothing (R <= 0). */
export async function weighPeriod(tx: Tx, p: PeriodRules): Promise<PeriodResult> {
  return withArithmetic(tx, p, async (n) => {
    const { eligibleUsers, W } = await weigh(tx, p, n);
    return { eligibleUsers, W, creditedUsers: 0 };
  });
}

/** The exact split: see `exactQuery`. Checks that nothing was lost, no dust made, and nobody credited without a balance row. */
async function allocateExact(tx: Tx, p: PeriodRules, n: Arithmetic, id: string, D: bigint): Promise<PeriodResult> {
  // A million users aggregate and sort in memory; the shares come sorted by
  // user id and meet the balances' primary key in a merge join, never a hash
  // table of a million balances or a million index probes.
  await tx.query('SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = on');
  const { rows } = await tx.query<{
    eligible: string;
    total: string;
    credited: string;
    credited_amount: string;
    recorded: string;
  }>(exactQuery(n, p.first), [...weightParameters(p), D.toString(), id]);
  await tx.query('RESET enable_nestloop; RESET enable_hashjoin; RESET enable_mergejoin');
  const r = rows[0]!;
  const W = toBigInt(r.total);
  const credited = toBigInt(r.credited_amount);
  const shares = Number(r.credited);
  // A share whose user had no balance row would be neither credited nor
  // recorded, and the credited sum would fall short of D.
  if (W > 0n && (credited !== D || Number(r.recorded) !== shares)) {
    throw new SoftstakeError(
      `invariant broken in ${id}: credited ${credited} of ${D} to ${shares} balances, recorded ${r.recorded} allocations`,
    );
  }
  return { eligibleUsers: Number(r.eligible), W, creditedUsers: W > 0n ? shares : 0 };
}

/**
 * Splits D over the period's weights by largest remainder, writes each share
 * to the distribution history and credits it to the user's balance at e.
 * With W = 0 nothing is written. The fast split runs where it can, the exact
 * one otherwise; both give the same shares.
 */
export async function allocatePeriod(tx: Tx, p: PeriodRules, id: string, D: bigint, options: SplitOptions = {}): Promise<PeriodResult> {
  const split = options.split ?? 'auto';
  return withArithmetic(tx, p, async (n) => {
    const fast = n === 'bigint' && split !== 'exact' ? await allocateFast(tx, p, id, D, options) : undefined;
    if (fast === undefined && split === 'fast') throw new SoftstakeError(`${id}: the fast split could not run (${n} arithmetic, D ${D})`);
    return fast ?? allocateExact(tx, p, n, id, D);
  });
}
