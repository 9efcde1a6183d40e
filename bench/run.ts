/**
 * softstake benchmarks: `npm run bench [-- options]`.
 *
 * A. distribute() over 1,000,000 users against a floor (PostgreSQL inserting
 *    as many allocation rows) and a naive per-user implementation.
 * B. applyBalanceChanges() of 1,000,000 changes from a JSONL file against a
 *    raw COPY of the same rows.
 * C. POST /v1/balance-changes to a spawned `softstake start --role api`, in
 *    batches of 1,000 from concurrent clients, against the same batches
 *    applied in-process.
 * D. `softstake start` idle with no chains: start-to-ready, RSS, SIGTERM,
 *    against `softstake --help` and a bare node process.
 * E. The chains, in-process (no PostgreSQL): Cosmos devnet blocks/s with
 *    many delegators against the genesis state, and each chain adapter's
 *    RPC calls per poll and per harvest, alone against a crowd.
 *
 * Every figure is compared with a baseline measured in the same run, on the
 * same machine; nothing here passes or fails except the invariant checks,
 * which stop the bench when a number would be wrong.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { MAX_BATCH } from '../src/api/v1/balanceChanges.js';
import { BENCH_SERVER_URL } from './benchDatabase.js';
import { benchApi } from './apiBench.js';
import { benchChains, CHAIN_PARTS, type ChainPart } from './chainBench.js';
import { benchDistribution } from './distributionBench.js';
import { benchIdle } from './idleBench.js';
import { benchImport } from './importBench.js';
import { cleanUpOnInterrupt, wasInterrupted } from './interrupt.js';
import { count, printSummary, say, seconds, type SummaryRow } from './report.js';

const PARTS = ['distribute', 'import', 'api', 'idle', 'chains'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `usage: npm run bench -- [options]
  --users <n>         users of the large distribution (default 1000000)
  --naive-users <n>   users of the naive-versus-set-based comparison (default 20000)
  --changes <n>       balance changes imported (default 1000000)
  --api-changes <n>   balance changes sent to POST /v1/balance-changes (default 200000)
  --api-users <n>     users those changes are spread over (default 50000)
  --api-clients <n>   concurrent HTTP clients (default 4)
  --api-batch <n>     changes per request, at most 10000 (default 1000)
  --idle-runs <n>     daemon starts measured by the idle bench (default 3)
  --idle-seconds <n>  seconds idle before the daemon's RSS is read (default 5)
  --chain-blocks <n>  Cosmos devnet blocks per block-production run (default 100000)
  --chain-delegators <n>
                      Cosmos accounts delegating between the genesis and crowded runs (default 300)
  --cosmos-crowd <n>  other delegators when the Cosmos adapter's calls are counted (default 100)
  --near-crowd <n>    other stakers when the NEAR adapter's calls are counted (default 50)
  --tron-crowd <n>    other voters when the TRON adapter's calls are counted (default 100)
  --aptos-crowd <n>   other delegators when the Aptos adapter's calls are counted (default 100)
  --polkadot-crowd <n>
                      other nominators / pool members when the Polkadot adapter's calls are counted (default 100)
  --chain <name>      with --only chains: only ${CHAIN_PARTS.join(', ')} (default all)
  --only <part>       ${PARTS.join(', ')} (default all)
  --keep              keep the bench databases (prints their names) for EXPLAIN
server (all parts but chains): $SOFTSTAKE_BENCH_DATABASE_URL, else $SOFTSTAKE_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test
redis (api, idle): $SOFTSTAKE_BENCH_REDIS_URL, else redis://127.0.0.1:6379`;

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
      'api-changes': { type: 'string' },
      'api-users': { type: 'string' },
      'api-clients': { type: 'string' },
      'api-batch': { type: 'string' },
      'idle-runs': { type: 'string' },
      'idle-seconds': { type: 'string' },
      'chain-blocks': { type: 'string' },
      'chain-delegators': { type: 'string' },
      'cosmos-crowd': { type: 'string' },
      'near-crowd': { type: 'string' },
      'tron-crowd': { type: 'string' },
      'aptos-crowd': { type: 'string' },
      'polkadot-crowd': { type: 'string' },
      chain: { type: 'string' },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    say(USAGE);
    process.exit(0);
  }
  if (values.only !== undefined && !(PARTS as readonly string[]).includes(values.only)) {
    throw new Error(`--only: expected ${PARTS.join(', ')}, got ${JSON.stringify(values.only)}\n${USAGE}`);
  }
  if (values.chain !== undefined && !(CHAIN_PARTS as readonly string[]).includes(values.chain)) {
    throw new Error(`--chain: expected ${CHAIN_PARTS.join(', ')}, got ${JSON.stringify(values.chain)}\n${USAGE}`);
  }
  const apiBatch = positive('api-batch', values['api-batch'], 1_000);
  if (apiBatch > MAX_BATCH) throw new Error(`--api-batch: the API takes at most ${MAX_BATCH} changes per request, got ${apiBatch}\n${USAGE}`);
  return {
    users: positive('users', values.users, 1_000_000),
    naiveUsers: positive('naive-users', values['naive-users'], 20_000),
    changes: positive('changes', values.changes, 1_000_000),
    apiChanges: positive('api-changes', values['api-changes'], 200_000),
    apiUsers: positive('api-users', values['api-users'], 50_000),
    apiClients: positive('api-clients', values['api-clients'], 4),
    apiBatch,
    idleRuns: positive('idle-runs', values['idle-runs'], 3),
    idleSeconds: positive('idle-seconds', values['idle-seconds'], 5),
    chainBlocks: positive('chain-blocks', values['chain-blocks'], 100_000),
    chainDelegators: positive('chain-delegators', values['chain-delegators'], 300),
    cosmosCrowd: positive('cosmos-crowd', values['cosmos-crowd'], 100),
    nearCrowd: positive('near-crowd', values['near-crowd'], 50),
    tronCrowd: positive('tron-crowd', values['tron-crowd'], 100),
    aptosCrowd: positive('aptos-crowd', values['aptos-crowd'], 100),
    polkadotCrowd: positive('polkadot-crowd', values['polkadot-crowd'], 100),
    chain: values.chain as ChainPart | undefined,
    only: values.only as Part | undefined,
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
  // The chains part runs devnets in-process: it needs no database server.
  const server = o.only === 'chains' ? 'no database' : await serverVersion();
  say(`softstake bench: Node ${process.version}, ${cpus().length} cores, ${server}`);
  // Other work on the same cores skews every absolute figure; the ratios less so.
  say(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)`);
  say(
    `sizes: distribute ${count(o.users)} users, naive ${count(o.naiveUsers)} users, import ${count(o.changes)} changes, ` +
      `api ${count(o.apiChanges)} changes of ${count(o.apiUsers)} users, idle ${o.idleRuns} runs of ${o.idleSeconds} s, ` +
      `chains ${count(o.chainBlocks)} blocks with ${count(o.chainDelegators)} delegators, crowds of ${count(o.cosmosCrowd)} (cosmos), ${count(o.nearCrowd)} (near), ${count(o.tronCrowd)} (tron), ${count(o.aptosCrowd)} (aptos) and ${count(o.polkadotCrowd)} (polkadot)` +
      (o.only ? `; only ${o.only}` : '') +
      (o.chain ? `, chain ${o.chain}` : ''),
  );
  const runs = (part: Part) => o.only === undefined || o.only === part;
  const rows: SummaryRow[] = [];
  if (runs('distribute')) rows.push(...(await benchDistribution(o)));
  if (runs('import')) rows.push(...(await benchImport(o)));
  if (runs('api')) rows.push(...(await benchApi(o)));
  if (runs('idle')) rows.push(...(await benchIdle(o)));
  if (runs('chains')) rows.push(...(await benchChains(o)));
  say(`\nSummary (baselines measured in this run; whole bench ${seconds((performance.now() - startedAt) / 1000)})`);
  printSummary(rows);
}

let done = false;
// A promise that never settles lets the event loop drain and Node exit 0 in
// the middle of a run; say so instead of printing half a report.
process.on('exit', (code) => {
  if (!done && code === 0 && !process.argv.includes('--help')) {
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
