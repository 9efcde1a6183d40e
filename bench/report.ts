import { printTable } from '../src/cli/output.js';
import type { StatementCost } from './statementTrace.js';

/** Runs `work` and measures it in wall-clock seconds. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const startedAt = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - startedAt) / 1000 };
}

export const seconds = (s: number): string => `${s.toFixed(2)} s`;
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ratio = (r: number): string => `${r.toFixed(r >= 100 ? 0 : 2)}x`;

/** A line to print as the bench goes. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Stops the bench: a number it printed would be wrong. */
export class BenchCheckFailed extends Error {
  override name = 'BenchCheckFailed';
}

export function check(condition: boolean, what: string): void {
  if (!condition) throw new BenchCheckFailed(`CHECK FAILED: ${what}`);
}

/** One line of the closing summary. */
export interface SummaryRow {
  label: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** Whether the target is met; `null` when the row only informs. */
  met: boolean | null;
}

export function printSummary(rows: readonly SummaryRow[]): void {
  printTable(
    ['LABEL', 'VALUE', 'BASELINE', 'RATIO', 'TARGET', 'MET?'],
    rows.map((r) => [r.label, r.value, r.baseline, r.ratio, r.target, r.met === null ? '-' : r.met ? 'yes' : 'NO']),
  );
}

/** Where the time of one run went, statement by statement. */
export function printCosts(costs: readonly StatementCost[], total: number): void {
  printTable(
    ['    SECONDS', 'SHARE', 'CALLS', 'STATEMENT'],
    costs.map((c) => [
      `    ${c.seconds.toFixed(3)}`,
      `${((100 * c.seconds) / total).toFixed(1)}%`,
      count(c.calls),
      c.statement,
    ]),
  );
}
