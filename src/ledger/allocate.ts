import { SoftstakeError } from '../errors.js';
import { toBigInt, type Tx } from './db.js';

/** One period of one asset and the rules that decide who shares in it. */
export interface PeriodRules {
  asset: string;
  /** Period start s and end e, milliseconds: the period is (s, e]. */
  s: number;
  e: number;
  /** e − s. */
  T: bigint;
  minHolding: bigint;
  cap: bigint | null;
  /** The asset's first period: no distribution has credited anyone yet. */
  first: boolean;
}

/** What weighing (and allocating) a period found. */
export interface PeriodResult {
  eligibleUsers: number;
  /** W, the sum of the eligible users' weights. */
  W: bigint;
  /** Users credited a positive share (0 when only weighed). */
  creditedUsers: number;
}

/** PostgreSQL's bigint: a 64-bit integer whose arithmetic raises 22003 instead of wrapping. */
const INT8_MAX = (1n << 63n) - 1n;
/** "numeric value out of range": a bigint product, sum or cast overflowed. */
const OUT_OF_RANGE = '22003';

type Arithmetic = 'bigint' | 'numeric';

/**
 * The eligible users' integrals and weights, as a query (parameters $1 asset,
 * $2 s, $3 e, $4 T, $5 minHolding × T, $6 cap × T or null).
 *
 * I_u = B_now·T − Σ_{at>s} δ·(min(at, e) − s), where B_now is the current
 * balance (every change and credit so far): a change after e is taken back
 * whole (δ·T), one inside the period for the time before it. The changes
 * since s (a day's, few) are summed per user and merged with the balances
 * along their primary key (a merge full join: `distribute` turns hash joins
 * off), so the weights come out in user order without a hash table or a sort
 * of the million balances, and the sort of the shares by user id downstream
 * finds them already in order.
 *
 * The asset's first period reads the changes alone: nothing was ever
 * credited, so B_now is the sum of every change (`balances` has no other
 * writer) and I_u = Σ δ·(T − (min(at, e) − s)), every change being at or
 * after s.
 * That is the same integral without a pass over the balances or their
 * million rows in the aggregate.
 *
 * In `bigint`, each term and each partial sum is checked 64-bit arithmetic
 * (`ledger_sum_int8`, migration 005: its state is a bigint in the aggregate's
 * own slot, not a 128-bit one allocated per user and turned into numeric at
 * the end): a value that does not fit raises 22003 rather than wrapping, and
 * the caller falls back to `numeric`.
 */
function weightsQuery(n: Arithmetic, first: boolean): string {
  const sum = n === 'bigint' ? 'ledger_sum_int8' : 'sum';
  const integrals = first
    ? `SELECT user_id, ${sum}(delta::${n} * ($4::bigint - (least(at, $3::bigint) - $2::bigint))) AS i
         FROM balance_changes WHERE asset = $1
        GROUP BY user_id`
    : `SELECT coalesce(b.user_id, c.user_id) AS user_id, coalesce(b.amount::${n} * $4::${n}, 0) + coalesce(c.taken, 0) AS i
         FROM (SELECT user_id, amount FROM balances WHERE asset = $1 AND amount > 0) b
         FULL JOIN (SELECT user_id, ${sum}(delta::${n} * ($2::bigint - least(at, $3::bigint))) AS taken
                      FROM balance_changes WHERE asset = $1 AND at > $2
                     GROUP BY user_id) c
           ON c.user_id = b.user_id`;
  return `
    SELECT user_id, i, CASE WHEN $6::${n} IS NULL THEN i ELSE least(i, $6::${n}) END AS w
      FROM (${integrals}) integrals
     WHERE i > 0 AND i >= $5::${n}`;
}

/**
 * Weighs, splits and credits in one statement, so the million rows in between
 * stay in the executor's memory instead of temp tables. Parameters as
 * `weightsQuery`, then $7 D and $8 the distribution id.
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
 * pass that counts and orders the ties is skipped. The positive shares, sorted by user id,
 * credit the balances (a merge join along their primary key: `distribute`
 * turns hash joins off) and, as the update returns them, in the same order
 * land in the history (so its index fills in order), in the same statement.
 */
function allocateQuery(n: Arithmetic, first: boolean): string {
  return `
    WITH weights AS (${weightsQuery(n, first)}
    ), split AS MATERIALIZED (
      SELECT user_id, i, total, base, dw - base * total AS remainder
        FROM (SELECT user_id, i, total, dw, div(dw, nullif(total, 0)) AS base
                FROM (SELECT user_id, i, $7::numeric * w AS dw, sum(w) OVER () AS total FROM weights) p) q
    ), leftover AS MATERIALIZED (
      SELECT count(*) AS n, $7::numeric - sum(base) AS l, coalesce(max(total), 0) AS total FROM split
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
                FROM (SELECT user_id, ${n === 'bigint' ? 'i / $4::bigint' : 'div(i, $4::numeric)'} AS avg_balance,
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
      SELECT user_id, $8, amount, avg_balance FROM credited
      RETURNING 1
    )
    SELECT (SELECT n FROM leftover) AS eligible, (SELECT total FROM leftover) AS total,
           count(*) AS credited, coalesce(sum(amount), 0) AS credited_amount,
           (SELECT count(*) FROM history) AS recorded
      FROM credited`;
}

function parameters(p: PeriodRules): (string | number | null)[] {
  const T = p.T;
  return [p.asset, p.s, p.e, T.toString(), (p.minHolding * T).toString(), p.cap === null ? null : (p.cap * T).toString()];
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
    const { rows } = await tx.query<{ n: string; w: string }>(
      `SELECT count(*) AS n, coalesce(sum(w), 0) AS w FROM (${weightsQuery(n, p.first)}) weights`,
      parameters(p),
    );
    return { eligibleUsers: Number(rows[0]!.n), W: toBigInt(rows[0]!.w), creditedUsers: 0 };
  });
}

/**
 * Splits D over the period's weights by largest remainder, writes each share
 * to the distribution history and credits it to the user's balance at e.
 * With W = 0 nothing is written. Checks that nothing was lost, no dust made,
 * and nobody credited without a balance row.
 */
export async function allocatePeriod(tx: Tx, p: PeriodRules, id: string, D: bigint): Promise<PeriodResult> {
  return withArithmetic(tx, p, async (n) => {
    const { rows } = await tx.query<{
      eligible: string;
      total: string;
      credited: string;
      credited_amount: string;
      recorded: string;
    }>(allocateQuery(n, p.first), [...parameters(p), D.toString(), id]);
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
  });
}
