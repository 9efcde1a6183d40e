import type pg from 'pg';

import { applyBalanceChanges } from '../src/ledger/balanceChanges.js';
import { toBigInt } from '../src/ledger/db.js';
import { apiChanges, interleave, type ApiChanges, type ChangeBody } from './apiChanges.js';
import { cpuSeconds, startBenchDaemon, stopBenchDaemon, writeBenchDaemonConfig } from './benchDaemon.js';
import { benchAsset, createBenchDatabase, type BenchDatabase } from './benchDatabase.js';
import { check, count, printCosts, ratio, say, seconds, timed, type SummaryRow } from './report.js';
import { checkpoint } from './seedLedger.js';
import { traceStatements } from './statementTrace.js';

export interface ApiBenchOptions {
  /** Balance changes sent. @defaultValue 200_000 */
  apiChanges: number;
  /** Users the changes are spread over. @defaultValue 50_000 */
  apiUsers: number;
  /** Concurrent HTTP clients, one keep-alive connection each. @defaultValue 4 */
  apiClients: number;
  /** Changes per request. @defaultValue 1_000 */
  apiBatch: number;
  /** Leave the databases for a look instead of dropping them. @defaultValue false */
  keep: boolean;
}

/** Target: changes accepted per second, sustained, over HTTP. */
const TARGET_RATE = 20_000;
const ASSETS: ReadonlySet<string> = new Set(['ATOM']);

/** Nearest-rank percentile of unsorted samples. */
function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;

/** CPU seconds of every PostgreSQL backend serving `pool`'s database, by pid; empty when the server is not local. */
async function backendCpu(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, await cpuSeconds(pid));
    } catch {
      // A remote server, or a backend that just ended.
    }
  }
  return cpu;
}

function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, s] of after) total += s - (before.get(pid) ?? 0);
  return total;
}

async function verify(pool: pg.Pool, data: ApiChanges, where: string): Promise<void> {
  const stored = await pool.query<{ n: string }>('SELECT count(*) AS n FROM balance_changes');
  check(Number(stored.rows[0]!.n) === data.changes, `${where}: ${stored.rows[0]!.n} balance changes stored, not the ${data.changes} sent`);
  const balances = await pool.query<{ n: string; s: string | null; low: string | null }>(
    "SELECT count(*) AS n, sum(amount) AS s, min(amount) AS low FROM balances WHERE asset = 'ATOM'",
  );
  const b = balances.rows[0]!;
  check(Number(b.n) === data.users, `${where}: ${b.n} balance rows, not ${data.users}`);
  check(toBigInt(b.s ?? '0') === data.total, `${where}: balances sum to ${b.s}, not ${data.total}`);
  check(toBigInt(b.low ?? '0') >= 0n, `${where}: a balance is ${b.low}`);
  const journal = await pool.query<{ s: string | null }>("SELECT sum(amount) AS s FROM postings WHERE asset = 'ATOM'");
  check(toBigInt(journal.rows[0]?.s ?? '0') === 0n, `${where}: the journal sums to ${journal.rows[0]?.s}, not 0`);
}

/** The baseline: every batch applied in-process, one after another, as the route would, without HTTP. */
async function inProcess(db: BenchDatabase, batches: readonly ChangeBody[][]): Promise<{ seconds: number; latencies: number[]; pgCpu: number; nodeCpu: number }> {
  await checkpoint(db.pool);
  const pgBefore = await backendCpu(db.pool);
  const nodeBefore = process.cpuUsage();
  const latencies: number[] = [];
  const run = await timed(async () => {
    for (const batch of batches) {
      const startedAt = performance.now();
      const result = await applyBalanceChanges(
        db.pool,
        batch.map((record, index) => ({ line: index, record })),
        { assets: ASSETS },
      );
      latencies.push((performance.now() - startedAt) / 1000);
      check(result.inserted === batch.length, `in-process: ${result.inserted} of a batch of ${batch.length} inserted`);
    }
  });
  const node = process.cpuUsage(nodeBefore);
  return { seconds: run.seconds, latencies, pgCpu: cpuSince(pgBefore, await backendCpu(db.pool)), nodeCpu: (node.user + node.system) / 1e6 };
}

/** One client: its batches in order over one keep-alive connection, each answer checked. */
async function client(url: string, token: string, bodies: readonly { text: string; size: number }[], latencies: number[]): Promise<number> {
  let inserted = 0;
  for (const body of bodies) {
    const startedAt = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body.text,
    });
    const text = await response.text();
    latencies.push((performance.now() - startedAt) / 1000);
    check(response.status === 200, `POST /v1/balance-changes answered ${response.status}: ${text.slice(0, 500)}`);
    const answer = JSON.parse(text) as { received: number; inserted: number };
    check(answer.received === body.size && answer.inserted === body.size, `a batch of ${body.size} answered ${text}`);
    inserted += answer.inserted;
  }
  return inserted;
}

/** Part C: `POST /v1/balance-changes` against the spawned daemon, against the same batches applied in-process. */
export async function benchApi(options: ApiBenchOptions): Promise<SummaryRow[]> {
  const { apiClients: clients, apiBatch: batchSize } = options;
  say(
    `\nC. POST /v1/balance-changes: ${count(options.apiChanges)} changes of ${count(options.apiUsers)} users, ` +
      `batches of ${count(batchSize)}, ${clients} concurrent clients, daemon spawned with --role api`,
  );
  const data = apiChanges(options.apiChanges, options.apiUsers, clients, batchSize);
  const bodies = data.clients.map((batches) => batches.map((batch) => ({ text: JSON.stringify({ changes: batch }), size: batch.length })));
  const requests = bodies.reduce((n, b) => n + b.length, 0);
  const bytes = bodies.flat().reduce((n, b) => n + b.text.length, 0);
  say(`  ${count(requests)} requests of about ${(bytes / requests / 1024).toFixed(0)} KiB; each client owns the users u % ${clients}, so each user's changes arrive in order`);

  const baseDb = await createBenchDatabase({ ATOM: benchAsset() }, { keep: options.keep });
  const apiDb = await createBenchDatabase({ ATOM: benchAsset() }, { keep: options.keep });
  try {
    say(`  databases: ${baseDb.name} (in-process), ${apiDb.name} (API)`);

    const trace = traceStatements(baseDb.pool);
    trace.start();
    const base = await inProcess(baseDb, interleave(data.clients));
    const costs = trace.stop();
    await verify(baseDb.pool, data, 'in-process');
    const baseRate = data.changes / base.seconds;
    say(
      `  baseline, applyBalanceChanges() in-process, sequential: ${seconds(base.seconds)}, ${count(baseRate)} changes/s; ` +
        `batch p50 ${ms(percentile(base.latencies, 50))}, p99 ${ms(percentile(base.latencies, 99))}`,
    );
    say(`    CPU: bench node ${seconds(base.nodeCpu)}, PostgreSQL backends ${seconds(base.pgCpu)}`);

    const config = await writeBenchDaemonConfig(apiDb.url);
    try {
      const started = await startBenchDaemon(config.file, ['api']);
      const pid = started.daemon.child.pid!;
      say(`  daemon pid ${pid} ready in ${seconds((started.readyAt - started.spawnedAt) / 1000)} on ${String(started.ready.address)}`);
      let sent: { seconds: number; inserted: number; latencies: number[]; daemonCpu: number; clientCpu: number; pgCpu: number };
      try {
        await checkpoint(apiDb.pool);
        const url = `http://127.0.0.1:${config.port}/v1/balance-changes`;
        const latencies: number[] = [];
        const daemonBefore = await cpuSeconds(pid);
        const pgBefore = await backendCpu(apiDb.pool);
        const clientBefore = process.cpuUsage();
        const run = await timed(() => Promise.all(bodies.map((b) => client(url, config.token, b, latencies))));
        const clientCpu = process.cpuUsage(clientBefore);
        sent = {
          seconds: run.seconds,
          inserted: run.value.reduce((a, b) => a + b, 0),
          latencies,
          daemonCpu: (await cpuSeconds(pid)) - daemonBefore,
          clientCpu: (clientCpu.user + clientCpu.system) / 1e6,
          pgCpu: cpuSince(pgBefore, await backendCpu(apiDb.pool)),
        };
      } finally {
        const stopped = await stopBenchDaemon(started.daemon);
        check(stopped.code === 0, `the daemon exited ${stopped.code ?? stopped.signal} on SIGTERM; stderr: ${started.daemon.stderr.slice(-1000)}`);
      }
      const rate = data.changes / sent.seconds;
      const errors = started.daemon.logs.filter((l) => l.level === 'error' || l.level === 'fatal');
      check(errors.length === 0, `the daemon logged errors: ${JSON.stringify(errors.slice(0, 3))}`);
      check(sent.inserted === data.changes, `the API answered ${sent.inserted} inserted, not the ${data.changes} sent`);
      await verify(apiDb.pool, data, 'API');
      say(
        `  API: ${seconds(sent.seconds)}, ${count(rate)} changes/s sustained; ` +
          `batch p50 ${ms(percentile(sent.latencies, 50))}, p99 ${ms(percentile(sent.latencies, 99))}, max ${ms(Math.max(...sent.latencies))}`,
      );
      const share = (cpu: number) => `${((100 * cpu) / sent.seconds).toFixed(0)}% of a core`;
      say(
        `    CPU over the ${seconds(sent.seconds)}: daemon ${seconds(sent.daemonCpu)} (${share(sent.daemonCpu)}), ` +
          `PostgreSQL backends ${seconds(sent.pgCpu)} (${share(sent.pgCpu)}), bench client ${seconds(sent.clientCpu)} (${share(sent.clientCpu)}); 2 cores = 200%`,
      );
      say('  checks: every change sent is stored (count), answers add up, one balance per user, none below 0, sums match, journal sums to 0');
      say('  where the in-process baseline spent its time, statement by statement:');
      printCosts(costs, base.seconds);

      return [
        {
          label: `POST /v1/balance-changes ${count(data.changes)}`,
          value: `${count(rate)}/s (${seconds(sent.seconds)})`,
          baseline: `in-process ${count(baseRate)}/s (${seconds(base.seconds)})`,
          ratio: ratio(rate / baseRate),
          target: `>= ${count(TARGET_RATE)}/s`,
          met: rate >= TARGET_RATE,
        },
        {
          label: `batch of ${count(batchSize)} p50 / p99`,
          value: `${ms(percentile(sent.latencies, 50))} / ${ms(percentile(sent.latencies, 99))}`,
          baseline: `${ms(percentile(base.latencies, 50))} / ${ms(percentile(base.latencies, 99))}`,
          ratio: ratio(percentile(sent.latencies, 50) / percentile(base.latencies, 50)),
          target: '-',
          met: null,
        },
      ];
    } finally {
      await config.remove();
    }
  } finally {
    await apiDb.drop();
    await baseDb.drop();
  }
}
