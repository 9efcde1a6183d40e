/**
 * softstake benchmarks: `npm run bench [-- options]`.
 *
 * A. distribute() over 1,000,000 users against a floor (PostgreSQL inserting
 *    as many allocation rows) and a naive per-user implementation.
 * B. applyBalanceChanges() of 1,000,000 changes from a JSONL file against a
 *    raw COPY of the same rows.
 *
 * Every figure is compared with a baseline measured in the same run, on the
 * same machine; nothing here passes or fails except the invariant checks,
 * which stop the bench when a number would be wrong.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { BENCH_SERVER_URL } from './benchDatabase.js';
import { benchDistribution } from './distributionBench.js';
import { benchImport } from './importBench.js';
import { cleanUpOnInterrupt, wasInterrupted } from './interrupt.js';
import { count, printSummary, say, seconds, type SummaryRow } from './report.js';

const USAGE = `usage: npm run bench -- [options]
  --users <n>         users of the large distribution (default 1000000)
  --naive-users <n>   users of the naive-versus-set-based comparison (default 20000)
  --changes <n>       balance changes imported (default 1000000)
  --only <part>       distribute or import (default both)
  --keep              keep the bench databases (prints their names) for EXPLAIN
server: $SOFTSTAKE_BENCH_DATABASE_URL, else $SOFTSTAKE_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 1 || n > 50_000_000) throw new Error(`--${name}: expected a whole number from 1 to 50000000, got ${JSON.stringify(text)}\n${USAGE}`);
  return n;
}

function options() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      'naive-users': { type: 'string' },
      changes: { type: 'string' },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    say(USAGE);
    process.exit(0);
  }
  if (values.only !== undefined && values.only !== 'distribute' && values.only !== 'import') {
    throw new Error(`--only: expected distribute or import, got ${JSON.stringify(values.only)}\n${USAGE}`);
  }
  return {
    users: positive('users', values.users, 1_000_000),
    naiveUsers: positive('naive-users', values['naive-users'], 20_000),
    changes: positive('changes', values.changes, 1_000_000),
    only: values.only as 'distribute' | 'import' | undefined,
    keep: values.keep,
  };
}

async function serverVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: BENCH_SERVER_URL, application_name: 'softstake-bench' });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string; sb: string; wm: string }>(
      "SELECT current_setting('server_version') AS v, current_setting('shared_buffers') AS sb, current_setting('work_mem') AS wm",
    );
    return `PostgreSQL ${rows[0]!.v} (shared_buffers ${rows[0]!.sb}, work_mem ${rows[0]!.wm})`;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const o = options();
  const startedAt = performance.now();
  say(`softstake bench: Node ${process.version}, ${cpus().length} cores, ${await serverVersion()}`);
  // Other work on the same cores skews every absolute figure; the ratios less so.
  say(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)`);
  say(
    `sizes: distribute ${count(o.users)} users, naive ${count(o.naiveUsers)} users, import ${count(o.changes)} changes` +
      (o.only ? `; only ${o.only}` : ''),
  );
  const rows: SummaryRow[] = [];
  if (o.only !== 'import') rows.push(...(await benchDistribution(o)));
  if (o.only !== 'distribute') rows.push(...(await benchImport(o)));
  say(`\nSummary (baselines measured in this run; whole bench ${seconds((performance.now() - startedAt) / 1000)})`);
  printSummary(rows);
}

let done = false;
// A promise that never settles lets the event loop drain and Node exit 0 in
// the middle of a run; say so instead of printing half a report.
process.on('exit', (code) => {
  if (!done && code === 0) {
    process.stderr.write('\nbench failed: stopped before finishing (an operation never completed)\n');
    process.exitCode = 1;
  }
});

// Ctrl-C: leave no gigabyte-sized database or temp file behind.
cleanUpOnInterrupt();

main().then(() => {
  done = true;
}, (error: unknown) => {
  done = true;
  if (wasInterrupted()) return;
  process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
