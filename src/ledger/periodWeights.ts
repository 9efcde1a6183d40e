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

/**
 * `bigint`: PostgreSQL's checked 64-bit integers, which raise 22003 instead of
 * wrapping (the caller then runs again in `numeric`). `numeric`: exact at any size.
 */
export type Arithmetic = 'bigint' | 'numeric';

/**
 * I_u of one `balances` row over (s, e], as SQL ($2 s, $3 T), for a book whose
 * changes stamped after e are taken out (`takeOutLateChanges`).
 *
 * With amount the balance at e and acc the row's moment Σ δ·(at − acc_since)
 * (migration 006), the balance integral is amount·T − Σ_{at>s} δ·(at − s):
 * each change inside the period is taken back for the time before it. When
 * acc_since is s, that sum is acc; any other row had no change in the
 * period. In the asset's first period acc counts from the user's first
 * change, at or after s, and amount is the sum of every change (nothing was
 * credited yet), so the sum is acc + (acc_since − s)·amount and the integral
 * amount·(e − acc_since) − acc. A row never written by an import (acc_since
 * NULL, acc 0) held its amount throughout.
 */
export function integral(n: Arithmetic, first: boolean): string {
  const amount = n === 'bigint' ? 'amount::bigint' : 'amount';
  const acc = n === 'bigint' ? 'acc::bigint' : 'acc';
  return first
    ? `${amount} * coalesce($2::bigint + $3::bigint - acc_since, $3::bigint) - ${acc}`
    : `${amount} * $3::${n} - CASE WHEN acc_since = $2::bigint THEN ${acc} ELSE 0 END`;
}

/** The weight of an integral `i`: i capped at cap·T ($5, null for no cap; a custom plan folds the CASE away then). */
export function weight(n: Arithmetic, i: string): string {
  return `CASE WHEN $5::${n} IS NULL THEN ${i} ELSE least(${i}, $5::${n}) END`;
}

/**
 * The eligible users with their integral i and weight w (i capped at cap·T),
 * in the table's own order. Parameters: $1 asset, $2 s,
 * $3 T, $4 minHolding·T, $5 cap·T or null. The row's integral is computed
 * once (the OFFSET keeps the planner from copying it into every use).
 *
 * A sequential read, not one along the primary key: rows land in the heap as
 * users first appear, so in user order a million of them are a million
 * random page reads (measured with the rows shuffled: 9.6 s against 5.4 s for
 * the whole split); what needs user order sorts the shares instead.
 */
export function eligibleQuery(n: Arithmetic, first: boolean): string {
  return `
    SELECT user_id, i, ${weight(n, 'i')} AS w
      FROM (SELECT user_id, ${integral(n, first)} AS i FROM balances WHERE asset = $1 OFFSET 0) b
     WHERE i > 0 AND i >= $4::${n}`;
}

export function weightParameters(p: PeriodRules): (string | number | null)[] {
  return [p.asset, p.s, p.T.toString(), (p.minHolding * p.T).toString(), p.cap === null ? null : (p.cap * p.T).toString()];
}

/** What `weigh` found: the eligible users, W, and the weights of a sample of them. */
export interface Weighed {
  eligibleUsers: number;
  W: bigint;
  /** The weights of the users whose id hashes to 0 under the mask; every one with mask 0. */
  sample: bigint[];
  /** The sample is every eligible user. */
  complete: boolean;
}

/**
 * Counts the eligible users and sums their weights, and keeps the weights of
 * the users whose id hashes to 0 under `mask` (for estimating where the
 * largest remainders begin; without a mask, no sample). Two reads of the
 * balances that PostgreSQL may each split over parallel workers: they only
 * read, and an aggregate that collects an array cannot be split.
 */
export async function weigh(tx: Tx, p: PeriodRules, n: Arithmetic, mask?: number): Promise<Weighed> {
  const w = weight(n, 'i');
  const eligible = `FROM (SELECT user_id, ${integral(n, p.first)} AS i FROM balances WHERE asset = $1) b WHERE i >= greatest($4::${n}, 1)`;
  const { rows } = await tx.query<{ n: string; w: string }>(`SELECT count(*) AS n, coalesce(sum(${w}), 0) AS w ${eligible}`, weightParameters(p));
  const eligibleUsers = Number(rows[0]!.n);
  let sample: bigint[] = [];
  if (mask !== undefined) {
    const picked = await tx.query<{ w: string }>(`SELECT ${w} AS w ${eligible} AND hashtext(user_id) & $6 = 0`, [
      ...weightParameters(p),
      mask,
    ]);
    sample = picked.rows.map((r) => BigInt(r.w));
  }
  return { eligibleUsers, W: toBigInt(rows[0]!.w), sample, complete: mask === 0 && sample.length === eligibleUsers };
}

/** Changes stamped after e, per user: their sum, and Σ δ·at. */
const LATE = `SELECT user_id, sum(delta) AS d, sum(delta * at) AS m
                FROM balance_changes WHERE asset = $1 AND at > $2 GROUP BY user_id`;

/**
 * Takes the changes stamped after e (imported before the period closed) out
 * of their users' balances and moments, so the rows describe the book at e
 * while the period is weighed and credited. `putBackLateChanges` returns
 * them; both run in the distribution's transaction, so nobody sees the gap.
 * The balance at e was never below 0, so neither is the row.
 */
export async function takeOutLateChanges(tx: Tx, p: PeriodRules): Promise<void> {
  await tx.query(
    `UPDATE balances b SET amount = b.amount - late.d, acc = b.acc - (late.m - b.acc_since * late.d)
       FROM (${LATE}) late
      WHERE b.asset = $1 AND b.user_id = late.user_id`,
    [p.asset, p.e],
  );
}

/** Returns the late changes to their balances, as the open period's moment (counted from e). */
export async function putBackLateChanges(tx: Tx, p: PeriodRules): Promise<void> {
  await tx.query(
    `UPDATE balances b SET amount = b.amount + late.d, acc = late.m - $2::bigint * late.d, acc_since = $2
       FROM (${LATE}) late
      WHERE b.asset = $1 AND b.user_id = late.user_id`,
    [p.asset, p.e],
  );
}
