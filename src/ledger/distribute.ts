import type pg from 'pg';

import type { AssetConfig } from '../config/index.js';
import { LedgerInputError, SoftstakeError } from '../errors.js';
import { LEDGER_WORK_MEM, toBigInt, toMillis, withTransaction, type Tx } from './db.js';
import { post } from './journal.js';
import { formatInstant } from './time.js';

/** A distribution as stored: one closed period of one asset. */
export interface Distribution {
  /** `<asset>:<period end as ISO>`. */
  id: string;
  asset: string;
  periodStart: number;
  periodEnd: number;
  /** R allocated by this distribution: commission + distributed. 0 when carried. */
  gross: bigint;
  commission: bigint;
  distributed: bigint;
  /** Rewards left undistributed for a later period (R <= 0, or nobody eligible). */
  carried: bigint;
  eligibleUsers: number;
  /** Users credited a positive amount. */
  creditedUsers: number;
  /** True when this call found the distribution already stored. */
  existing: boolean;
  /** True for a dry run: computed, then rolled back. */
  dryRun: boolean;
}

export interface DistributeOptions {
  asset: AssetConfig;
  /** e, milliseconds. */
  periodEnd: number;
  /** Compute everything, write nothing. @defaultValue false */
  dryRun?: boolean;
  /**
   * The clock, for refusing a period that has not ended yet: closing it would
   * refuse every balance change still to come inside it.
   * @defaultValue Date.now
   */
  now?: () => number;
}

export function distributionId(asset: string, periodEnd: number): string {
  return `${asset}:${formatInstant(periodEnd)}`;
}

/** A dry run rolls back after computing; this carries the result out. */
class DryRunRollback extends Error {
  constructor(readonly result: Distribution) {
    super('dry run');
  }
}

/**
 * Closes the period (s, e] of one asset and allocates its rewards, following
 * DESIGN.md "Ledger semantics" exactly. Everything runs inside PostgreSQL in
 * one transaction: a crash at any point leaves either no trace or the whole
 * distribution. Running it again for the same period returns the stored one.
 */
export async function distribute(pool: pg.Pool, options: DistributeOptions): Promise<Distribution> {
  try {
    return await withTransaction(pool, async (tx) => {
      const result = await distributeIn(tx, options);
      if (options.dryRun && !result.existing) throw new DryRunRollback({ ...result, dryRun: true });
      return result;
    });
  } catch (error) {
    if (error instanceof DryRunRollback) return error.result;
    throw error;
  }
}

async function distributeIn(tx: Tx, options: DistributeOptions): Promise<Distribution> {
  const started = performance.now();
  const { asset, periodEnd: e } = options;
  const id = distributionId(asset.symbol, e);
  if (!Number.isSafeInteger(e)) throw new LedgerInputError(`period end must be an instant, got ${e}`);

  // Imports and distributions of one asset take this row lock, so a change
  // can never slip into a period while it is being closed.
  const assetRow = await tx.query<{ last_period_end: string | null }>(
    'SELECT last_period_end FROM ledger_assets WHERE symbol = $1 FOR UPDATE',
    [asset.symbol],
  );
  if (assetRow.rowCount === 0) throw new LedgerInputError(`unknown asset ${asset.symbol}: run \`softstake migrate\` with a config that lists it`);

  const stored = await loadDistribution(tx, id);
  if (stored) return { ...stored, existing: true };
  // A million users aggregate and sort in memory instead of spilling to disk.
  await tx.query(`SET LOCAL work_mem = '${LEDGER_WORK_MEM}'`);

  const now = (options.now ?? Date.now)();
  if (e > now) {
    throw new LedgerInputError(
      `period end ${formatInstant(e)} is in the future; closing it would refuse the balance changes still to come inside it`,
    );
  }
  const lastEnd = assetRow.rows[0]!.last_period_end;
  let s: number;
  if (lastEnd !== null) {
    s = toMillis(lastEnd);
    if (e <= s) {
      throw new LedgerInputError(
        `period end ${formatInstant(e)} of ${asset.symbol} is not after the last distributed period end ${formatInstant(s)}`,
      );
    }
  } else {
    const first = await tx.query<{ at: string | null }>('SELECT min(at) AS at FROM balance_changes WHERE asset = $1', [
      asset.symbol,
    ]);
    if (first.rows[0]?.at == null) throw new LedgerInputError(`${asset.symbol} has no balance changes yet: there is no period to distribute`);
    s = toMillis(first.rows[0].at);
    if (e <= s) {
      throw new LedgerInputError(
        `period end ${formatInstant(e)} of ${asset.symbol} is not after its first balance change at ${formatInstant(s)}`,
      );
    }
  }
  const T = BigInt(e - s);

  const rewardRow = await tx.query<{ r: string }>(
    `SELECT coalesce(sum(amount), 0) AS r FROM reward_events
      WHERE asset = $1 AND distribution_id IS NULL AND at <= $2`,
    [asset.symbol, e],
  );
  const R = toBigInt(rewardRow.rows[0]!.r);

  // I_u = B_now·T − Σ_{at>s} δ·(min(at, e) − s), where B_now is the current
  // balance (every change and credit so far): a change after e is taken back
  // whole (δ·T), one inside the period for the time before it. It reads the
  // balances plus only the changes since s, not the whole history.
  await tx.query(
    `CREATE TEMP TABLE dist_weights ON COMMIT DROP AS
     WITH recent AS (
       SELECT user_id,
              sum(delta * (least(at, $3) - $2)) AS adjust
         FROM balance_changes
        WHERE asset = $1 AND at > $2
        GROUP BY user_id
     ), integral AS (
       SELECT coalesce(b.user_id, r.user_id) AS user_id,
              coalesce(b.amount, 0) * $4::numeric - coalesce(r.adjust, 0) AS i
         FROM (SELECT user_id, amount FROM balances WHERE asset = $1 AND amount > 0) b
         FULL JOIN recent r ON r.user_id = b.user_id
     )
     SELECT user_id, i, CASE WHEN $6::numeric IS NULL THEN i ELSE least(i, $6::numeric * $4::numeric) END AS w
       FROM integral
      WHERE i > 0 AND i >= $5::numeric * $4::numeric`,
    [asset.symbol, s, e, T.toString(), asset.minHolding.toString(), asset.cap?.toString() ?? null],
  );
  const totals = await tx.query<{ n: string; w: string | null }>('SELECT count(*) AS n, sum(w) AS w FROM dist_weights');
  const eligibleUsers = Number(totals.rows[0]!.n);
  const W = toBigInt(totals.rows[0]!.w ?? '0');

  const allocate = R > 0n && W > 0n;
  const C = allocate ? (R * BigInt(asset.commissionBps)) / 10000n : 0n;
  const D = allocate ? R - C : 0n;
  const base = {
    id,
    asset: asset.symbol,
    periodStart: s,
    periodEnd: e,
    gross: allocate ? R : 0n,
    commission: C,
    distributed: D,
    carried: allocate ? 0n : R,
    eligibleUsers,
  };

  await tx.query(
    `INSERT INTO distributions (id, asset, period_start, period_end, gross, commission, distributed, carried,
                                eligible_users, total_weight, commission_bps, min_holding, cap, credited_users)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0)`,
    [
      id,
      asset.symbol,
      s,
      e,
      base.gross.toString(),
      C.toString(),
      D.toString(),
      base.carried.toString(),
      eligibleUsers,
      W.toString(),
      asset.commissionBps,
      asset.minHolding.toString(),
      asset.cap?.toString() ?? null,
    ],
  );
  await tx.query('UPDATE ledger_assets SET last_period_end = $2 WHERE symbol = $1', [asset.symbol, e]);

  let creditedUsers = 0;
  if (allocate) {
    creditedUsers = await allocateShares(tx, { id, asset: asset.symbol, e, T, D, W });
    await tx.query(
      `UPDATE reward_events SET distribution_id = $2 WHERE asset = $1 AND distribution_id IS NULL AND at <= $3`,
      [asset.symbol, id, e],
    );
    await post(tx, id, asset.symbol, e, [
      ['rewards', R],
      ['operator', -C],
      ['users', -D],
    ]);
  }
  // Stored beside the result: how many it credited, and (for the metrics)
  // how long closing the period took.
  await tx.query('UPDATE distributions SET credited_users = $2, duration_ms = $3 WHERE id = $1', [id, creditedUsers, Math.round(performance.now() - started)]);
  return { ...base, creditedUsers, existing: false, dryRun: false };
}

/**
 * Splits D over the weights by largest remainder and credits each share to
 * the user's balance at e, in one statement. Returns the users credited.
 */
async function allocateShares(
  tx: Tx,
  p: { id: string; asset: string; e: number; T: bigint; D: bigint; W: bigint },
): Promise<number> {
  const leftoverRow = await tx.query<{ l: string }>(`SELECT $1::numeric - coalesce(sum(div($1::numeric * w, $2::numeric)), 0) AS l FROM dist_weights`, [
    p.D.toString(),
    p.W.toString(),
  ]);
  const L = toBigInt(leftoverRow.rows[0]!.l);
  // The shares first, in a temp table (no WAL) ordered by user id, so the
  // insert fills the history's index in order and the credit is one join.
  await tx.query(
    `CREATE TEMP TABLE dist_shares ON COMMIT DROP AS
     SELECT user_id, amount, div(i, $4::numeric) AS avg_balance FROM (
       SELECT user_id, i,
              div($1::numeric * w, $2::numeric)
                + CASE WHEN row_number() OVER (ORDER BY mod($1::numeric * w, $2::numeric) DESC, user_id) <= $3::numeric
                       THEN 1 ELSE 0 END AS amount
         FROM dist_weights
     ) s
     WHERE amount > 0
     ORDER BY user_id`,
    [p.D.toString(), p.W.toString(), L.toString(), p.T.toString()],
  );
  const inserted = await tx.query(
    `INSERT INTO allocations (user_id, distribution_id, amount, avg_balance)
     SELECT user_id, $1, amount, avg_balance FROM dist_shares`,
    [p.id],
  );
  const credited = await tx.query(
    `UPDATE balances b SET amount = b.amount + s.amount
       FROM dist_shares s
      WHERE b.asset = $1 AND b.user_id = s.user_id`,
    [p.asset],
  );
  const { rows } = await tx.query<{ total: string | null }>('SELECT sum(amount) AS total FROM dist_shares');
  const total = toBigInt(rows[0]?.total ?? '0');
  // Nothing lost, no dust created, nobody credited without a balance row.
  if (total !== p.D || inserted.rowCount !== credited.rowCount) {
    throw new SoftstakeError(
      `invariant broken in ${p.id}: allocated ${total} of ${p.D} to ${inserted.rowCount} users, credited ${credited.rowCount} balances`,
    );
  }
  return inserted.rowCount ?? 0;
}

interface DistributionRow {
  id: string;
  asset: string;
  period_start: string;
  period_end: string;
  gross: string;
  commission: string;
  distributed: string;
  carried: string;
  eligible_users: number;
  credited_users: string;
}

const DISTRIBUTION_COLUMNS = `d.id, d.asset, d.period_start, d.period_end, d.gross, d.commission, d.distributed, d.carried,
  d.eligible_users, d.credited_users`;

function fromRow(r: DistributionRow): Distribution {
  return {
    id: r.id,
    asset: r.asset,
    periodStart: toMillis(r.period_start),
    periodEnd: toMillis(r.period_end),
    gross: toBigInt(r.gross),
    commission: toBigInt(r.commission),
    distributed: toBigInt(r.distributed),
    carried: toBigInt(r.carried),
    eligibleUsers: r.eligible_users,
    creditedUsers: Number(r.credited_users),
    existing: true,
    dryRun: false,
  };
}

async function loadDistribution(tx: Tx | pg.Pool, id: string): Promise<Distribution | undefined> {
  const { rows } = await tx.query<DistributionRow>(`SELECT ${DISTRIBUTION_COLUMNS} FROM distributions d WHERE d.id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** The past distributions of an asset, newest first. */
export async function listDistributions(
  db: Tx | pg.Pool,
  asset: string,
  options: { limit?: number; before?: number } = {},
): Promise<Distribution[]> {
  const { rows } = await db.query<DistributionRow>(
    `SELECT ${DISTRIBUTION_COLUMNS} FROM distributions d
      WHERE d.asset = $1 AND ($2::bigint IS NULL OR d.period_end < $2)
      ORDER BY d.period_end DESC LIMIT $3`,
    [asset, options.before ?? null, options.limit ?? 100],
  );
  return rows.map(fromRow);
}
