import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

const HOUR = 3_600_000;

/** 2025-02-01T00:00:00Z: the day the imported changes fall in. */
export const IMPORT_DAY = Date.UTC(2025, 1, 1);

export interface ChangeFiles {
  changes: number;
  users: number;
  /** Sum of every delta written. */
  total: bigint;
}

/**
 * Writes `changes` valid balance changes twice: as the JSONL an exchange
 * would hand to `softstake balances import`, and as the COPY text of the same
 * rows for the raw-COPY baseline. Three changes per user (a deposit, a top-up,
 * a withdrawal of 25 to 100%), in increasing `at` per user; the file is in
 * time order, so one user's lines are far apart, as in a real export.
 */
export async function writeChangeFiles(jsonlPath: string, copyPath: string, changes: number): Promise<ChangeFiles> {
  const users = Math.ceil(changes / 3);
  const jsonl = createWriteStream(jsonlPath);
  const copy = createWriteStream(copyPath);
  let total = 0n;
  let jsonChunk = '';
  let copyChunk = '';
  async function flush(): Promise<void> {
    const a = jsonl.write(jsonChunk);
    const b = copy.write(copyChunk);
    jsonChunk = '';
    copyChunk = '';
    // Both listeners first: the second stream may drain while the first is awaited.
    await Promise.all([a ? undefined : once(jsonl, 'drain'), b ? undefined : once(copy, 'drain')]);
  }
  for (let k = 0; k < 3; k += 1) {
    for (let u = 0; u < users; u += 1) {
      if (u * 3 + k >= changes) continue;
      const d1 = 1_000_000 + ((u * 7919) % 9_999_000_000);
      const d2 = 1 + ((u * 104729) % 5_000_000_000);
      const delta = k === 0 ? d1 : k === 1 ? d2 : -Math.floor(((d1 + d2) * (1 + (u % 4))) / 4);
      const at = IMPORT_DAY + k * 8 * HOUR + ((u * (7907 + 12 * k)) % (8 * HOUR));
      const id = `chg-${String(u).padStart(7, '0')}-${k}`;
      const user = `user-${String(u).padStart(7, '0')}`;
      total += BigInt(delta);
      jsonChunk += `{"id":"${id}","user":"${user}","asset":"ATOM","delta":"${delta}","at":"${new Date(at).toISOString()}"}\n`;
      copyChunk += `${id}\tATOM\t${user}\t${delta}\t${at}\n`;
      if (jsonChunk.length > 1 << 16) await flush();
    }
  }
  await flush();
  jsonl.end();
  copy.end();
  await Promise.all([finished(jsonl), finished(copy)]);
  return { changes, users, total };
}
