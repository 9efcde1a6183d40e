/**
 * The real daemon for the benches that time it from outside: a config of its
 * own (one asset, no chains, its own Redis prefix and database), started as
 * an operator starts it (`node bin/softstake.js start -c …`), its JSON log
 * read from stdout.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import { DaemonProcess, freePort, type LogLine } from '../test/helpers/daemon.js';
import { spawnCli } from '../test/helpers/cli.js';
import { atInterrupt } from './interrupt.js';

export type { LogLine } from '../test/helpers/daemon.js';

/**
 * The Redis the bench daemons queue on: `$SOFTSTAKE_BENCH_REDIS_URL`, else the local one.
 * @defaultValue "redis://127.0.0.1:6379"
 */
export const BENCH_REDIS_URL = process.env.SOFTSTAKE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchDaemonConfig {
  file: string;
  port: number;
  /** Bearer token for `/v1`. */
  token: string;
  /** Redis key prefix of this daemon's queues. */
  prefix: string;
  /** Removes the config directory and every Redis key under `prefix`. */
  remove(): Promise<void>;
}

/** Deletes every key of one prefix (BullMQ leaves schedulers and events behind). */
async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(BENCH_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A daemon config as an operator writes it: ATOM with a daily distribution
 * (so nothing runs while the bench watches), the API on a free loopback
 * port behind a token, the queue dashboard on, no chains.
 */
export async function writeBenchDaemonConfig(databaseUrl: string): Promise<BenchDaemonConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'softstake-bench-daemon-'));
  const token = randomBytes(24).toString('hex');
  const prefix = `softstake-bench-${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const remove = async () => {
    await rm(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  };
  const done = atInterrupt(remove);
  await writeFile(join(dir, 'api-token'), `${token}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'dashboard-password'), `${randomBytes(12).toString('hex')}\n`, { mode: 0o600 });
  const file = join(dir, 'softstake.yaml');
  await writeFile(
    file,
    [
      `database:\n  url: ${databaseUrl}`,
      `redis:\n  url: ${BENCH_REDIS_URL}\n  prefix: ${prefix}`,
      'assets:',
      '  ATOM:',
      '    decimals: 6',
      '    commission: "10%"',
      '    distribution: { schedule: "0 0 * * *", timezone: UTC }',
      'api:',
      `  listen: 127.0.0.1:${port}`,
      '  tokenFile: ./api-token',
      '  dashboard: { user: operator, passwordFile: ./dashboard-password }',
      '',
    ].join('\n'),
  );
  return {
    file,
    port,
    token,
    prefix,
    async remove() {
      await remove();
      done();
    },
  };
}

/** A started daemon: its process, when it was spawned, and its ready line once seen. */
export interface StartedDaemon {
  daemon: DaemonProcess;
  /** `performance.now()` just before the spawn. */
  spawnedAt: number;
  /** `performance.now()` when the ready line arrived. */
  readyAt: number;
  ready: LogLine;
}

/**
 * Spawns `softstake start -c <file> [--role …]` at the operator's default log
 * level and waits for "softstake ready". The spawned process is the node
 * process itself: bin/softstake.js registers tsx in-process.
 */
export async function startBenchDaemon(configFile: string, roles: string[] = [], timeoutMs = 60_000): Promise<StartedDaemon> {
  const args = ['start', '-c', configFile, ...roles.flatMap((r) => ['--role', r])];
  const spawnedAt = performance.now();
  const daemon = new DaemonProcess(spawnCli(args, { SOFTSTAKE_LOG_LEVEL: 'info' }));
  // A bench that fails halfway must not leave a daemon behind.
  const done = atInterrupt(async () => {
    await daemon.kill('SIGKILL');
  });
  void daemon.exited.then(done);
  try {
    const ready = await daemon.ready(timeoutMs);
    return { daemon, spawnedAt, readyAt: performance.now(), ready };
  } catch (error) {
    await stopBenchDaemon(daemon, 'SIGKILL');
    throw error;
  }
}

/** Signals the daemon and waits for it to exit; the exit code and how long it took. */
export async function stopBenchDaemon(daemon: DaemonProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }> {
  const child = daemon.child;
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, seconds: 0 };
  const startedAt = performance.now();
  const code = await daemon.kill(signal);
  return { code, signal: child.signalCode, seconds: (performance.now() - startedAt) / 1000 };
}

/** Resident set size of one process, from /proc/<pid>/status, in bytes. */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status (has the process exited?)`);
  return Number(kib) * 1024;
}

/** User plus system CPU seconds a process has used so far, from /proc/<pid>/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name; in clock ticks (100 Hz on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
