import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { applyBalanceChanges, validateChangeRecord } from '../src/ledger/balanceChanges.js';
import { toBigInt } from '../src/ledger/db.js';
import { openChangeFile } from '../src/ledger/readChanges.js';
import { benchAsset, createBenchDatabase } from './benchDatabase.js';
import { writeChangeFiles, type ChangeFiles } from './changeFiles.js';
import { check, count, printCosts, ratio, say, seconds, timed, type SummaryRow } from './report.js';
import { atInterrupt } from './interrupt.js';
import { checkpoint } from './seedLedger.js';
import { traceStatements } from './statementTrace.js';

export interface ImportBenchOptions {
  /** Balance changes in the imported file. @defaultValue 1_000_000 */
  changes: number;
  /** Leave the database for a look instead of dropping it. @defaultValue false */
  keep: boolean;
}

/** Target of the import: changes applied per second, file to commit. */
const TARGET_RATE = 50_000;
const ASSETS: ReadonlySet<string> = new Set(['ATOM']);

/** The Node side alone: read, parse and validate every line, as the import does before COPY. */
async function parseOnly(path: string): Promise<number> {
  const source = await openChangeFile(path);
  let valid = 0;
  for await (const { record } of source.records) {
    if (typeof validateChangeRecord(record, ASSETS) !== 'string') valid += 1;
  }
  return valid;
}

/** The baseline: the same rows, already in COPY text, streamed into an unindexed table of balance_changes' shape. */
async function rawCopy(pool: pg.Pool, path: string): Promise<number> {
  await pool.query('CREATE TABLE raw_changes (LIKE balance_changes INCLUDING DEFAULTS)');
  await checkpoint(pool);
  const client = await pool.connect();
  try {
    await pipeline(createReadStream(path), client.query(copyFrom('COPY raw_changes (id, asset, user_id, delta, at) FROM STDIN')));
  } finally {
    client.release();
  }
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM raw_changes');
  return Number(rows[0]!.n);
}

async function verify(pool: pg.Pool, files: ChangeFiles): Promise<void> {
  const stored = await pool.query<{ n: string }>('SELECT count(*) AS n FROM balance_changes');
  check(Number(stored.rows[0]!.n) === files.changes, `${stored.rows[0]!.n} balance changes stored, not ${files.changes}`);
  const balances = await pool.query<{ n: string; s: string | null }>("SELECT count(*) AS n, sum(amount) AS s FROM balances WHERE asset = 'ATOM'");
  check(Number(balances.rows[0]!.n) === files.users, `${balances.rows[0]!.n} balance rows, not ${files.users}`);
  check(toBigInt(balances.rows[0]!.s ?? '0') === files.total, `balances sum to ${balances.rows[0]!.s}, not ${files.total}`);
  const journal = await pool.query<{ s: string | null }>("SELECT sum(amount) AS s FROM postings WHERE asset = 'ATOM'");
  check(toBigInt(journal.rows[0]?.s ?? '0') === 0n, `the journal sums to ${journal.rows[0]?.s}, not 0`);
}

/** Part B: `softstake balances import` of a large JSONL file against a raw COPY of the same rows. */
export async function benchImport(options: ImportBenchOptions): Promise<SummaryRow[]> {
  say(`\nB. applyBalanceChanges() of ${count(options.changes)} changes from a JSONL file`);
  const dir = await mkdtemp(join(tmpdir(), 'softstake-bench-'));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  const done = atInterrupt(removeDir);
  const db = await createBenchDatabase({ ATOM: benchAsset() }, { keep: options.keep });
  try {
    say(`  database ${db.name}`);
    const jsonl = join(dir, 'changes.jsonl');
    const copyText = join(dir, 'changes.copy');
    const written = await timed(() => writeChangeFiles(jsonl, copyText, options.changes));
    const files = written.value;
    say(
      `  wrote ${count(files.changes)} changes of ${count(files.users)} users ` +
        `(${((await stat(jsonl)).size / 2 ** 20).toFixed(0)} MiB JSONL) in ${seconds(written.seconds)}`,
    );

    const parsed = await timed(() => parseOnly(jsonl));
    check(parsed.value === files.changes, `${parsed.value} valid records read, not ${files.changes}`);
    say(`  Node alone (read + JSON.parse + validate, no database): ${seconds(parsed.seconds)}, ${count(files.changes / parsed.seconds)} records/s`);

    const copied = await timed(() => rawCopy(db.pool, copyText));
    check(copied.value === files.changes, `raw COPY stored ${copied.value} rows, not ${files.changes}`);
    await db.pool.query('DROP TABLE raw_changes');
    await checkpoint(db.pool);
    const copyRate = files.changes / copied.seconds;
    say(`  baseline: raw COPY into an unindexed table in ${seconds(copied.seconds)}, ${count(copyRate)} rows/s`);

    const trace = traceStatements(db.pool);
    trace.start();
    const imported = await timed(async () => {
      const source = await openChangeFile(jsonl);
      return applyBalanceChanges(db.pool, source.records, { assets: ASSETS });
    });
    const costs = trace.stop();
    const result = imported.value;
    const rate = files.changes / imported.seconds;
    say(
      `  import: ${seconds(imported.seconds)}, ${count(rate)} changes/s; received ${count(result.received)}, ` +
        `inserted ${count(result.inserted)}, duplicates ${count(result.duplicates)}`,
    );
    check(result.received === files.changes && result.inserted === files.changes, 'the import did not insert every change');
    await verify(db.pool, files);
    say('  checks: every change stored, one balance per user summing to the deltas, journal sums to 0');
    say('  where the time went (the COPY line includes reading and parsing the file, which it streams):');
    printCosts(costs, imported.seconds);

    return [
      {
        label: `import ${count(options.changes)} changes`,
        value: `${count(rate)}/s (${seconds(imported.seconds)})`,
        baseline: `raw COPY ${seconds(copied.seconds)} (${count(copyRate)}/s)`,
        ratio: ratio(imported.seconds / copied.seconds),
        target: `>= ${count(TARGET_RATE)}/s`,
        met: rate >= TARGET_RATE,
      },
      {
        label: 'Node read+parse+validate only',
        value: `${count(files.changes / parsed.seconds)}/s (${seconds(parsed.seconds)})`,
        baseline: '-',
        ratio: `${((100 * parsed.seconds) / imported.seconds).toFixed(0)}% of import`,
        target: '-',
        met: null,
      },
    ];
  } finally {
    await db.drop();
    await removeDir();
    done();
  }
}
