/**
 * The JSON shapes of ledger results that scripts and HTTP clients read: the
 * CLI's `--json` output and the REST API print the same objects. Amounts are
 * decimal strings of base units, times ISO instants.
 */
import type { Distribution } from './distribute.js';
import type { HistoryEntry } from './history.js';
import { formatInstant } from './time.js';

/** A distribution as `softstake distribute --json` and `/v1/distributions` print it. */
export function distributionJson(d: Distribution) {
  return {
    id: d.id,
    asset: d.asset,
    periodStart: formatInstant(d.periodStart),
    periodEnd: formatInstant(d.periodEnd),
    gross: d.gross.toString(),
    commission: d.commission.toString(),
    distributed: d.distributed.toString(),
    carried: d.carried.toString(),
    eligibleUsers: d.eligibleUsers,
    creditedUsers: d.creditedUsers,
    existing: d.existing,
    dryRun: d.dryRun,
  };
}

/** One credit of a user's history as `softstake history --json` and `/v1/users/:id/rewards` print it. */
export function historyJson(h: HistoryEntry) {
  return {
    distributionId: h.distributionId,
    asset: h.asset,
    amount: h.amount.toString(),
    avgBalance: h.avgBalance.toString(),
    periodStart: formatInstant(h.periodStart),
    periodEnd: formatInstant(h.periodEnd),
  };
}

/** A user's balances as `softstake balances show --json` and `/v1/users/:id/balances` print them: decimal strings by asset. */
export function balancesJson(balances: Record<string, bigint>): Record<string, string> {
  return Object.fromEntries(Object.entries(balances).map(([asset, amount]) => [asset, amount.toString()]));
}
