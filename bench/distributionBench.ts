import { loadavg } from 'node:os';

import type pg from 'pg';

import type { AssetConfig } from '../src/config/index.js';
import { createPool, LEDGER_WORK_MEM, toBigInt } from '../src/ledger/db.js';
import { distribute, type Distribution } from '../src/ledger/distribute.js';
import { benchAsset, createBenchDatabase, type BenchDatabase } from './benchDatabase.js';
import { naiveDistribute } from './naiveDistribute.js';
import { capturePlans, type PlanBreakdown } from './planBreakdown.js';
import { check, count, printCosts, ratio, say, seconds, timed, type SummaryRow } from './report.js';
import { NEXT_PERIOD_END, SEED_PERIOD_END, checkpoint, seedNextDay, seedRewards, seedUsers, settle } from './seedLedger.js';
import { sampleServerMemory } from './serverMemory.js';
import { traceStatements } from './statementTrace.js';

const load = (): string => loadavg()[0]!.toFixed(2);

export interface DistributionBenchOptions {
  /** Users of the large run. @defaultValue 1_000_000 */
  users: number;
  /** Users of the naive-versus-set-based comparison. @defaultValue 20_000 */
  naiveUsers: number;
  /** Leave the databases for a look (EXPLAIN) instead of dropping them. @defaultValue false */
  keep: boolean;
}

/** Targets of the large run. */
const TARGET_SECONDS = 15;
const TARGET_FLOOR_RATIO = 3;

async function sumBalances(pool: pg.Pool, asset: string): Promise<bigint> {
  const { rows } = await pool.query<{ s: string | null }>('SELECT sum(amount) AS s FROM balances WHERE asset = $1', [asset]);
  return toBigInt(rows[0]?.s ?? '0');
}

/** The invariants a distribution must leave behind; any miss stops the bench. Returns what it compared. */
async function verify(
  pool: pg.Pool,
  d: { id: string; asset: string; distributed: bigint; creditedUsers: number },
  before: bigint,
): Promise<string> {
  const stored = await pool.query<{ gross: string; commission: string; distributed: string }>(
    'SELECT gross, commission, distributed FROM distributions WHERE id = $1',
    [d.id],
  );
  const row = stored.rows[0];
  check(row !== undefined, `${d.id} is not stored`);
  check(toBigInt(row!.distributed) === d.distributed, `${d.id}: stored distributed ${row!.distributed} != returned ${d.distributed}`);
  check(toBigInt(row!.commission) + toBigInt(row!.distributed) === toBigInt(row!.gross), `${d.id}: commission + distributed != gross`);
  const allocated = await pool.query<{ n: string; total: string | null }>(
    'SELECT count(*) AS n, sum(amount) AS total FROM allocations WHERE distribution_id = $1',
    [d.id],
  );
  const total = toBigInt(allocated.rows[0]!.total ?? '0');
  check(total === d.distributed, `${d.id}: sum of allocations ${total} != distributed ${d.distributed}`);
  check(Number(allocated.rows[0]!.n) === d.creditedUsers, `${d.id}: ${allocated.rows[0]!.n} allocations != ${d.creditedUsers} users credited`);
  const after = await sumBalances(pool, d.asset);
  check(after - before === d.distributed, `${d.id}: balances grew by ${after - before}, not by distributed ${d.distributed}`);
  const journal = await pool.query<{ s: string | null }>('SELECT sum(amount) AS s FROM postings WHERE asset = $1', [d.asset]);
  check(toBigInt(journal.rows[0]?.s ?? '0') === 0n, `${d.asset}: the journal sums to ${journal.rows[0]?.s}, not 0`);
  return (
    `sum(allocations) ${total} == distributed ${d.distributed} over ${count(d.creditedUsers)} rows; ` +
    `commission + distributed == gross; balances grew by ${after - before}; journal sums to 0`
  );
}

async function seed(db: BenchDatabase, asset: string, users: number): Promise<void> {
  const seeded = await timed(() => seedUsers(db.pool, asset, users));
  const rewards = await seedRewards(db.pool, asset);
  say(
    `  seeded ${asset}: ${count(seeded.value.users)} users, ${count(seeded.value.changes)} balance changes, ` +
      `4 reward events (${rewards} base units) in ${seconds(seeded.seconds)}`,
  );
}

/**
 * The floor: PostgreSQL writing as many allocation-shaped rows (same columns,
 * types, checks and primary key, no foreign key) from generate_series in one
 * INSERT ... SELECT. No distribution can write its allocations faster.
 */
async function floorInsert(pool: pg.Pool, rows: number, distributionId: string): Promise<number> {
  await pool.query('CREATE TABLE floor_alloc (LIKE allocations INCLUDING ALL)');
  await checkpoint(pool);
  const { seconds: s } = await timed(() =>
    pool.query(
      `INSERT INTO floor_alloc (user_id, distribution_id, amount, avg_balance)
       SELECT 'u' || lpad(i::text, 8, '0'), $2, 1 + (i * 7919) % 100000, (i * 104729) % 10000000000
         FROM generate_series(1, $1::bigint) AS i`,
      [rows, distributionId],
    ),
  );
  await pool.query('DROP TABLE floor_alloc');
  await checkpoint(pool);
  return s;
}

function describe(d: Distribution): string {
  return (
    `${d.id}: R ${d.gross}, commission ${d.commission}, distributed ${d.distributed} ` +
    `to ${count(d.creditedUsers)} users credited of ${count(d.eligibleUsers)} eligible`
  );
}

interface CaseResult {
  seconds: number;
  floor: number;
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

/**
 * One timed distribution against a floor measured just before it: first a
 * dry run explained plan node by plan node (for the breakdown only: timing
 * every node slows it), then settled tables, the floor, and the timed run with
 * the server's memory sampled.
 */
async function timedCase(
  db: BenchDatabase,
  asset: AssetConfig,
  periodEnd: number,
  rows: number,
): Promise<CaseResult> {
  const explained = createPool({ url: db.url, applicationName: 'softstake-bench-explain', max: 1 });
  let breakdown: PlanBreakdown | undefined;
  try {
    const capture = await capturePlans(explained);
    if (capture) {
      capture.start();
      await distribute(explained, { asset, periodEnd, dryRun: true });
      breakdown = capture.stop();
    }
  } finally {
    await explained.end();
  }
  // The dry run left dead rows behind; the timed run must not pay for them.
  await settle(db.pool);

  const floorBefore = await floorInsert(db.pool, rows, `${asset.symbol}:floor`);
  say(`  floor: INSERT ... SELECT of ${count(rows)} allocation-shaped rows in ${seconds(floorBefore)} (load ${load()})`);

  const before = await sumBalances(db.pool, asset.symbol);
  const memory = await sampleServerMemory(db.url);
  const trace = traceStatements(db.pool);
  trace.start();
  const run = await timed(() => distribute(db.pool, { asset, periodEnd }));
  const costs = trace.stop();
  const peak = await memory.stop();
  const d = run.value;
  // The machine's load drifts during a run: the floor is taken on both sides
  // of the timed distribution, and the distribution compared with their mean.
  const floorAfter = await floorInsert(db.pool, rows, `${asset.symbol}:floor`);
  const floor = (floorBefore + floorAfter) / 2;
  say(
    `  distribute: ${seconds(run.seconds)} = ${ratio(run.seconds / floor)} the floor (load ${load()}; floor after it ${seconds(floorAfter)}, ` +
      `mean ${seconds(floor)}); ${describe(d)}`,
  );
  say(`  check sums: ${await verify(db.pool, d, before)}`);
  say(
    `  server memory: backend peak ${peak.backendKiB === undefined ? 'n/a (server not on this machine)' : mib(peak.backendKiB)} private ` +
      `(sampled ${peak.samples} times), temp files of the whole server peak ${mib(peak.tempBytes / 1024)}; work_mem ${LEDGER_WORK_MEM}` +
      (breakdown
        ? `; the plan's sorts and hashes ${mib(breakdown.sortHashKiB)} in all, the largest ${mib(breakdown.largestKiB)}, ${mib(breakdown.diskKiB)} spilled`
        : ''),
  );
  say('  statements of the timed run:');
  printCosts(costs.slice(0, 4), run.seconds);
  if (breakdown) {
    say(`  where the time went, per plan node (EXPLAIN ANALYZE of a dry run of the same period: ${seconds(breakdown.seconds)}):`);
    const rest = breakdown.nodes.slice(11).reduce((sum, c) => sum + c.seconds, 0) + breakdown.other;
    const other = { statement: 'other (CTE scans, scalar subqueries, plain aggregates, smaller nodes)', calls: 0, seconds: rest };
    printCosts([...breakdown.nodes.slice(0, 11), other], breakdown.seconds);
  } else {
    say('  (no plan breakdown: auto_explain needs a superuser)');
  }
  return { seconds: run.seconds, floor };
}

function caseRows(label: string, c: CaseResult): SummaryRow[] {
  const r = c.seconds / c.floor;
  return [
    {
      label: `distribute() ${label}`,
      value: seconds(c.seconds),
      baseline: `floor INSERT ${seconds(c.floor)}`,
      ratio: ratio(r),
      target: `<= ${TARGET_FLOOR_RATIO}x`,
      met: r <= TARGET_FLOOR_RATIO,
    },
  ];
}

async function largeRun(options: DistributionBenchOptions): Promise<{ rows: SummaryRow[]; setSeconds: number }> {
  const asset = benchAsset();
  say(`\nA1. distribute() over ${count(options.users)} users: the first period (worst case), then a day of an established book`);
  const db = await createBenchDatabase({ ATOM: asset }, { keep: options.keep });
  try {
    say(`  database ${db.name}`);
    await seed(db, asset.symbol, options.users);
    const settled = await timed(() => settle(db.pool));
    say(`  VACUUM ANALYZE + CHECKPOINT in ${seconds(settled.seconds)}`);

    say(`  worst case: the asset's first period, ${count(options.users)} users and all their changes`);
    const worst = await timedCase(db, asset, SEED_PERIOD_END, options.users);

    const changes = Math.max(1, Math.round(options.users / 10));
    const day = await timed(() => seedNextDay(db.pool, asset.symbol, options.users, changes));
    await settle(db.pool);
    say(`\n  daily case: ${count(options.users)} users holding balances, ${count(changes)} new changes (imported in ${seconds(day.seconds)}), one reward event`);
    const daily = await timedCase(db, asset, NEXT_PERIOD_END, options.users);

    return {
      setSeconds: worst.seconds,
      rows: [
        ...caseRows(`first period, ${count(options.users)} users`, worst),
        {
          label: `distribute() first period, ${count(options.users)} users`,
          value: seconds(worst.seconds),
          baseline: '-',
          ratio: '-',
          target: `<= ${TARGET_SECONDS} s`,
          met: worst.seconds <= TARGET_SECONDS,
        },
        ...caseRows(`daily, ${count(changes)} changes`, daily),
      ],
    };
  } finally {
    await db.drop();
  }
}

async function naiveRun(options: DistributionBenchOptions, largeSeconds: number): Promise<SummaryRow[]> {
  const set: AssetConfig = benchAsset('ATOM');
  const naive: AssetConfig = benchAsset('NAIVE');
  say(`\nA2. per-user (naive) baseline against distribute() over ${count(options.naiveUsers)} users, identical books in two assets`);
  const db = await createBenchDatabase({ ATOM: set, NAIVE: naive }, { keep: options.keep });
  try {
    say(`  database ${db.name}`);
    await seed(db, set.symbol, options.naiveUsers);
    await seed(db, naive.symbol, options.naiveUsers);
    await settle(db.pool);

    const setBefore = await sumBalances(db.pool, set.symbol);
    const setRun = await timed(() => distribute(db.pool, { asset: set, periodEnd: SEED_PERIOD_END }));
    say(`  distribute (set-based): ${seconds(setRun.seconds)}; ${describe(setRun.value)}`);
    await verify(db.pool, setRun.value, setBefore);
    await checkpoint(db.pool);

    const naiveBefore = await sumBalances(db.pool, naive.symbol);
    const trace = traceStatements(db.pool);
    trace.start();
    const naiveRun = await timed(() => naiveDistribute(db.pool, { asset: naive, periodEnd: SEED_PERIOD_END }));
    const costs = trace.stop();
    say(`  naive (per user): ${seconds(naiveRun.seconds)}; ${count(naiveRun.value.creditedUsers)} users credited`);
    await verify(db.pool, { ...naiveRun.value, asset: naive.symbol }, naiveBefore);
    say('  where the naive time went (the rest is Node computing the allocation):');
    printCosts(costs.slice(0, 4), naiveRun.seconds);

    const differ = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n
         FROM (SELECT user_id, amount, avg_balance FROM allocations WHERE distribution_id = $1) a
         FULL JOIN (SELECT user_id, amount, avg_balance FROM allocations WHERE distribution_id = $2) b USING (user_id)
        WHERE a.amount IS DISTINCT FROM b.amount OR a.avg_balance IS DISTINCT FROM b.avg_balance`,
      [setRun.value.id, naiveRun.value.id],
    );
    check(differ.rows[0]!.n === '0', `set-based and naive allocations differ for ${differ.rows[0]!.n} users`);
    say('  checks: both pass the invariants, and give every user the same amount and average balance');

    const perUser = naiveRun.seconds / options.naiveUsers;
    const extrapolated = perUser * options.users;
    const speedup = naiveRun.seconds / setRun.seconds;
    say(
      `  naive: ${(perUser * 1e6).toFixed(1)} µs per user -> ${seconds(extrapolated)} extrapolated to ${count(options.users)} users; ` +
        `set-based is ${ratio(speedup)} faster at ${count(options.naiveUsers)}`,
    );
    return [
      {
        label: `naive per-user, ${count(options.naiveUsers)} users`,
        value: seconds(naiveRun.seconds),
        baseline: `distribute() ${seconds(setRun.seconds)}`,
        ratio: `${ratio(speedup)} speedup`,
        target: '-',
        met: null,
      },
      {
        label: `naive extrapolated to ${count(options.users)} users`,
        value: seconds(extrapolated),
        baseline: `distribute() ${seconds(largeSeconds)}`,
        ratio: `${ratio(extrapolated / largeSeconds)} speedup`,
        target: '-',
        met: null,
      },
    ];
  } finally {
    await db.drop();
  }
}

/** Part A: the large distribution against its floor, and the naive baseline against the set-based one. */
export async function benchDistribution(options: DistributionBenchOptions): Promise<SummaryRow[]> {
  const large = await largeRun(options);
  const naive = await naiveRun(options, large.setSeconds);
  return [...large.rows, ...naive];
}
