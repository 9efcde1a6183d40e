import { SoftstakeError } from '../errors.js';
import type { Tx } from './db.js';

/** Writes one double-entry journal entry; refuses one that does not balance. */
export async function post(tx: Tx, entry: string, asset: string, at: number, lines: [string, bigint][]): Promise<void> {
  const nonZero = lines.filter(([, amount]) => amount !== 0n);
  const sum = nonZero.reduce((acc, [, amount]) => acc + amount, 0n);
  if (sum !== 0n) throw new SoftstakeError(`invariant broken: journal entry ${entry} sums to ${sum}, not 0`);
  if (nonZero.length === 0) return;
  await tx.query(
    `INSERT INTO postings (entry, asset, account, amount, at)
     SELECT $1, $2, account, amount::numeric, $3 FROM unnest($4::text[], $5::text[]) AS l(account, amount)`,
    [entry, asset, at, nonZero.map(([a]) => a), nonZero.map(([, v]) => v.toString())],
  );
}
