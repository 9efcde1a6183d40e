import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { runCli } from '../test/helpers/cli.js';
import { mib, residentBytes, startBenchDaemon, stopBenchDaemon, writeBenchDaemonConfig } from './benchDaemon.js';
import { benchAsset, createBenchDatabase } from './benchDatabase.js';
import { check, count, ratio, say, timed, type SummaryRow } from './report.js';

export interface IdleBenchOptions {
  /** Starts measured; the figures are medians. @defaultValue 3 */
  idleRuns: number;
  /** Seconds the daemon idles before its RSS is read. @defaultValue 5 */
  idleSeconds: number;
  /** Leave the database for a look instead of dropping it. @defaultValue false */
  keep: boolean;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
const list = (values: readonly number[], format: (v: number) => string): string => values.map(format).join(', ');

/** Baseline of the RSS: a bare node process that only waits, read after as long an idle as the daemon's. */
async function bareNodeRss(idleSeconds: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', `setTimeout(() => {}, ${(idleSeconds + 5) * 1000})`], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    await sleep(idleSeconds * 1000);
    return await residentBytes(child.pid!);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

interface IdleRun {
  /** Spawn to the "softstake ready" line, seen from outside. */
  readySeconds: number;
  /** What the ready line says: startDaemon() to ready, inside the process. */
  startupMs: number;
  rssAtReady: number;
  rssIdle: number;
  shutdownSeconds: number;
  code: number | null;
}

/** Part D: `softstake start` with every role, one asset and no chains: start, idle, SIGTERM. */
export async function benchIdle(options: IdleBenchOptions): Promise<SummaryRow[]> {
  const { idleRuns: runs, idleSeconds } = options;
  say(`\nD. softstake start (all roles, one asset, no chains): start-to-ready, RSS after ${idleSeconds} s idle, SIGTERM; ${runs} runs, medians`);
  const db = await createBenchDatabase({ ATOM: benchAsset() }, { keep: options.keep });
  try {
    say(`  database ${db.name} (migrated, as on a restart)`);

    const help: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const run = await timed(() => runCli(['--help']));
      check(run.value.code === 0 && run.value.stdout.includes('start'), `softstake --help exited ${run.value.code}: ${run.value.stderr.slice(-500)}`);
      help.push(run.seconds);
    }
    say(`  baseline: node bin/softstake.js --help (tsx and the CLI loading, nothing started): ${list(help, ms)}`);
    const bare: number[] = [];
    for (let i = 0; i < runs; i += 1) bare.push(await bareNodeRss(idleSeconds));
    say(`  baseline: bare node -e "setTimeout(…)" RSS after ${idleSeconds} s: ${list(bare, mib)}`);

    const measured: IdleRun[] = [];
    for (let i = 0; i < runs; i += 1) {
      const config = await writeBenchDaemonConfig(db.url);
      try {
        const started = await startBenchDaemon(config.file);
        let rssIdle: number;
        try {
          await sleep(idleSeconds * 1000);
          // The spawned process is the daemon's node process: bin/softstake.js runs tsx in-process.
          rssIdle = await residentBytes(started.daemon.child.pid!);
        } catch (error) {
          await stopBenchDaemon(started.daemon, 'SIGKILL');
          throw error;
        }
        const stopped = await stopBenchDaemon(started.daemon);
        check(stopped.code === 0, `run ${i + 1}: the daemon exited ${stopped.code ?? stopped.signal} on SIGTERM, not 0; stderr: ${started.daemon.stderr.slice(-1000)}`);
        check(started.daemon.logs.some((l) => l.msg === 'stopped'), `run ${i + 1}: no "stopped" log line before the exit`);
        const errors = started.daemon.logs.filter((l) => l.level === 'error' || l.level === 'fatal' || l.level === 'warn');
        check(errors.length === 0, `run ${i + 1}: the idle daemon logged ${JSON.stringify(errors.slice(0, 3))}`);
        const run: IdleRun = {
          readySeconds: (started.readyAt - started.spawnedAt) / 1000,
          startupMs: Number(started.ready.startupMs),
          rssAtReady: Number(started.ready.rssBytes),
          rssIdle,
          shutdownSeconds: stopped.seconds,
          code: stopped.code,
        };
        measured.push(run);
        say(
          `  run ${i + 1}: ready after ${ms(run.readySeconds)} (the line says startupMs ${count(run.startupMs)}), ` +
            `RSS ${mib(run.rssAtReady)} at ready, ${mib(run.rssIdle)} after ${idleSeconds} s idle; ` +
            `SIGTERM to exit ${ms(run.shutdownSeconds)}, exit code ${run.code}`,
        );
      } finally {
        await config.remove();
      }
    }

    const ready = median(measured.map((r) => r.readySeconds));
    const startup = median(measured.map((r) => r.startupMs)) / 1000;
    const rss = median(measured.map((r) => r.rssIdle));
    const shutdown = median(measured.map((r) => r.shutdownSeconds));
    const helpMedian = median(help);
    const bareMedian = median(bare);
    say(
      `  medians: ready ${ms(ready)} = ${ms(ready - startup)} before startDaemon() (node, tsx, imports, config) + ${ms(startup)} in it ` +
        `(database, migrations, Redis, schedulers, workers, HTTP listen); idle RSS ${mib(rss)}; shutdown ${ms(shutdown)}`,
    );
    say('  checks: every run exited 0 on SIGTERM after logging "stopped", with no warning or error logged');

    return [
      {
        label: 'start: spawn to ready',
        value: ms(ready),
        baseline: `--help ${ms(helpMedian)}`,
        ratio: ratio(ready / helpMedian),
        target: '-',
        met: null,
      },
      {
        label: '  of which startupMs (in the line)',
        value: ms(startup),
        baseline: '-',
        ratio: `${((100 * startup) / ready).toFixed(0)}% of ready`,
        target: '-',
        met: null,
      },
      {
        label: `RSS after ${idleSeconds} s idle`,
        value: mib(rss),
        baseline: `bare node ${mib(bareMedian)}`,
        ratio: ratio(rss / bareMedian),
        target: '-',
        met: null,
      },
      {
        label: 'SIGTERM to exit',
        value: `${ms(shutdown)}, exit ${measured.map((r) => r.code).join('/')}`,
        baseline: '-',
        ratio: '-',
        target: 'exit 0',
        met: measured.every((r) => r.code === 0),
      },
    ];
  } finally {
    await db.drop();
  }
}
