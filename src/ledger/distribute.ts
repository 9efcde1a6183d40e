import type pg from 'pg';

import type { AssetConfig } from '../config/index.js';
import { LedgerInputError } from '../errors.js';
import { allocatePeriod, weighPeriod, type PeriodRules, type SplitOptions } from './allocate.js';
import { LEDGER_WORK_MEM, toBigInt, toMillis, withTransaction, type Tx } from './db.js';
import { post } from './journal.js';
import { putBackLateChanges, takeOutLateChanges } from './periodWeights.js';
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
  /** How the shares are computed; the result is the same either way (for tests). @internal */
  split?: SplitOptions;
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
  // Each split chooses its joins itself (allocate.ts, fastSplit.ts).
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

  // The row goes in first, so the reward events can point at it while R is
  // summed from exactly the events marked (see markRewards).
  await tx.query(
    `INSERT INTO distributions (id, asset, period_start, period_end, gross, commission, distributed, carried,
                                eligible_users, total_weight, commission_bps, min_holding, cap, credited_users)
     VALUES ($1, $2, $3, $4, 0, 0, 0, 0, 0, 0, $5, $6, $7, 0)`,
    [id, asset.symbol, s, e, asset.commissionBps, asset.minHolding.toString(), asset.cap?.toString() ?? null],
  );
  await tx.query('UPDATE ledger_assets SET last_period_end = $2 WHERE symbol = $1', [asset.symbol, e]);

  const R = await markRewards(tx, asset.symbol, id, e);
  const rules: PeriodRules = { asset: asset.symbol, s, e, T, minHolding: asset.minHolding, cap: asset.cap, first: lastEnd === null };
  let C = R > 0n ? (R * BigInt(asset.commissionBps)) / 10000n : 0n;
  let D = R - C;
  // The balance rows describe the book at e while the period is weighed and
  // credited: changes stamped after e step out, and come back as the next
  // period's.
  await takeOutLateChanges(tx, rules);
  const period = R > 0n ? await allocatePeriod(tx, rules, id, D, options.split) : await weighPeriod(tx, rules);
  await putBackLateChanges(tx, rules);
  // R <= 0 or W = 0: nothing allocated, the events stay undistributed and R
  // carries forward; the period still closes.
  const allocate = R > 0n && period.W > 0n;
  if (!allocate) {
    await unmarkRewards(tx, id);
    C = 0n;
    D = 0n;
  }
  const base = {
    id,
    asset: asset.symbol,
    periodStart: s,
    periodEnd: e,
    gross: allocate ? R : 0n,
    commission: C,
    distributed: D,
    carried: allocate ? 0n : R,
    eligibleUsers: period.eligibleUsers,
  };
  if (allocate) {
    await post(tx, id, asset.symbol, e, [
      ['rewards', R],
      ['operator', -C],
      ['users', -D],
    ]);
  }
  // The result, how many it credited, and (for the metrics) how long closing
  // the period took.
  await tx.query(
    `UPDATE distributions SET gross = $2, commission = $3, distributed = $4, carried = $5, eligible_users = $6,
                              total_weight = $7, credited_users = $8, duration_ms = $9
      WHERE id = $1`,
    [
      id,
      base.gross.toString(),
      C.toString(),
      D.toString(),
      base.carried.toString(),
      period.eligibleUsers,
      period.W.toString(),
      period.creditedUsers,
      Math.round(performance.now() - started),
    ],
  );
  return { ...base, creditedUsers: period.creditedUsers, existing: false, dryRun: false };
}

/**
 * Marks the asset's undistributed reward events up to e as this
 * distribution's and returns R, their sum, in one statement: R is by
 * construction the sum of exactly the events marked. A harvest committing an
 * event meanwhile is either seen by this UPDATE (marked and counted) or not
 * (left for the next period); no lock is needed for that, so the result does
 * not depend on the foreign key from reward_events to ledger_assets (whose
 * KEY SHARE lock used to be what kept such an event out of the gap between a
 * separate SUM and UPDATE).
 */
async function markRewards(tx: Tx, asset: string, id: string, e: number): Promise<bigint> {
  const { rows } = await tx.query<{ r: string }>(
    `WITH marked AS (
       UPDATE reward_events SET distribution_id = $2 WHERE asset = $1 AND distribution_id IS NULL AND at <= $3 RETURNING amount
     ) SELECT coalesce(sum(amount), 0) AS r FROM marked`,
    [asset, id, e],
  );
  return toBigInt(rows[0]!.r);
}

/** R carries forward (R <= 0, or nobody eligible): the events stay undistributed. */
async function unmarkRewards(tx: Tx, id: string): Promise<void> {
  await tx.query('UPDATE reward_events SET distribution_id = NULL WHERE distribution_id = $1', [id]);
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
