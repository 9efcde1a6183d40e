import type { Distribution } from '../ledger/distribute.js';
import type { HistoryEntry } from '../ledger/history.js';
import { formatInstant } from '../ledger/time.js';

/** JSON shapes a script reads: amounts as decimal strings, times as ISO. */
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

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

/** Prints rows as aligned columns for a person. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}
