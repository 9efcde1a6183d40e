/**
 * `distribute`: closes an asset's period at the scheduled tick. Ticks the
 * daemon missed (it was down at midnight) are closed first, each as its own
 * period, so the history keeps one entry per scheduled period.
 */
import { CronExpressionParser } from 'cron-parser';

import type { AssetConfig } from '../../config/index.js';
import { LedgerInputError, RetryableError } from '../../errors.js';
import { distribute, distributionId, type Distribution } from '../../ledger/distribute.js';
import { toMillis } from '../../ledger/db.js';
import type { PipelineContext } from '../context.js';

/** More missed ticks than this (a year of daily periods) are closed as one period ending at the tick. */
export const MAX_CATCH_UP = 400;

export interface DistributeSummary {
  distributions: { id: string; gross: string; distributed: string; commission: string; carried: string; creditedUsers: number; existing: boolean }[];
  /** The tick came after a later period had closed: nothing to do. */
  superseded?: boolean;
  /** The asset has no balance changes yet: no period to close. */
  waiting?: boolean;
}

/**
 * Closes `symbol`'s periods up to `periodEnd`, which must be a scheduled
 * tick of the asset's cron: however a job was added (the scheduler, by
 * hand, a dashboard's "run now", whose job has no scheduled time), the
 * worker closes periods only where the schedule says. A period ending
 * elsewhere is closed by the operator with `softstake distribute`.
 * @throws LedgerInputError (not retried) for an asset the config does not list or a period end off the schedule.
 */
export async function distributeAsset(ctx: PipelineContext, symbol: string, periodEnd: number): Promise<DistributeSummary> {
  // Own keys only: `constructor` or `toString` is no asset.
  const asset = Object.hasOwn(ctx.config.assets, symbol) ? ctx.config.assets[symbol] : undefined;
  if (asset === undefined) throw new LedgerInputError(`asset ${JSON.stringify(symbol.slice(0, 32))} is not in the config`);
  if (!isScheduledTick(asset, periodEnd)) {
    throw new LedgerInputError(
      `${Number.isFinite(periodEnd) ? new Date(periodEnd).toISOString() : String(periodEnd)} is not a scheduled tick of ${symbol}'s distribution schedule ` +
        `(${asset.distribution.schedule} ${asset.distribution.timezone}); a distribute job closes periods only at ticks (use \`softstake distribute\` for another period end)`,
    );
  }
  if (periodEnd > ctx.now()) throw new RetryableError(`${symbol}: the period ending ${new Date(periodEnd).toISOString()} has not ended yet`);

  const last = await ctx.pool.query<{ last_period_end: string | null; first_change: string | null }>(
    `SELECT last_period_end, (SELECT min(at) FROM balance_changes WHERE asset = $1) AS first_change FROM ledger_assets WHERE symbol = $1`,
    [symbol],
  );
  const lastEnd = last.rows[0]?.last_period_end == null ? null : toMillis(last.rows[0].last_period_end);
  const firstChange = last.rows[0]?.first_change == null ? null : toMillis(last.rows[0].first_change);
  // Nothing to close before the exchange reports a first balance, nor at a
  // tick before it (the first change came after this tick's time, e.g. a
  // tick run late after Redis lost the queue): not a failure.
  if (firstChange === null || (lastEnd === null && periodEnd <= firstChange)) {
    ctx.logger.debug({ asset: symbol }, 'no balance changes before this period end; nothing to distribute');
    return { distributions: [], waiting: true };
  }
  const distributions: DistributeSummary['distributions'] = [];
  if (lastEnd !== null && periodEnd < lastEnd) {
    // A tick that ran late (its worker crashed) after a later tick closed
    // its period: those rewards went out with the later one.
    const stored = await ctx.pool.query('SELECT 1 FROM distributions WHERE id = $1', [distributionId(symbol, periodEnd)]);
    if (stored.rowCount === 0) {
      ctx.logger.info({ asset: symbol, periodEnd: new Date(periodEnd).toISOString(), lastEnd: new Date(lastEnd).toISOString() }, 'tick superseded by a later period');
      return { distributions, superseded: true };
    }
  }
  const ends = lastEnd === null || lastEnd >= periodEnd ? [periodEnd] : [...missedTicks(asset, lastEnd, periodEnd), periodEnd];

  for (const end of ends) {
    const result = await distribute(ctx.pool, { asset, periodEnd: end, now: ctx.now });
    if (!result.existing) {
      ctx.logger.info({ asset: symbol, distribution: result.id, ...amounts(result), creditedUsers: result.creditedUsers }, 'distributed');
    }
    distributions.push({ id: result.id, ...amounts(result), creditedUsers: result.creditedUsers, existing: result.existing });
  }
  return { distributions };
}

function amounts(d: Distribution) {
  return { gross: d.gross.toString(), distributed: d.distributed.toString(), commission: d.commission.toString(), carried: d.carried.toString() };
}

/** Whether `at` (ms) is a tick of the asset's distribution schedule. */
export function isScheduledTick(asset: AssetConfig, at: number): boolean {
  if (!Number.isSafeInteger(at)) return false;
  const cron = CronExpressionParser.parse(asset.distribution.schedule, { tz: asset.distribution.timezone, currentDate: new Date(at - 1) });
  return cron.hasNext() && cron.next().getTime() === at;
}

/**
 * The schedule's ticks strictly between `after` and `before`, oldest first:
 * at most MAX_CATCH_UP, the latest ones (walked backwards from `before`).
 * The oldest of the missed ones then closes a longer period.
 */
export function missedTicks(asset: AssetConfig, after: number, before: number): number[] {
  const ticks: number[] = [];
  const cron = CronExpressionParser.parse(asset.distribution.schedule, {
    tz: asset.distribution.timezone,
    currentDate: new Date(before),
  });
  while (ticks.length < MAX_CATCH_UP && cron.hasPrev()) {
    const tick = cron.prev().getTime();
    if (tick <= after) break;
    if (tick < before) ticks.push(tick);
  }
  return ticks.reverse();
}
