/**
 * The processes a soak run owns: a redis-server of its own (AOF on, so a
 * restart keeps the queues and only the flush loses them) and the daemon's
 * roles as separate `softstake start --role …` processes, each with a memory
 * probe preloaded. It also finds which worker is in the middle of a job, from
 * PostgreSQL's view of the worker connections, to SIGKILL that one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import type pg from 'pg';

import { spawnCli } from '../../test/helpers/cli.js';

const PROBE = new URL('./memoryProbe.mjs', import.meta.url).href;

/** A redis-server on a fixed port, for the soak alone: restarts and a flush hit nobody else. */
export class SoakRedis {
  private child: ChildProcess | undefined;
  restarts = 0;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(port: number): Promise<SoakRedis> {
    const redis = new SoakRedis(port, await mkdtemp(join(tmpdir(), 'softstake-soak-redis-')));
    await redis.spawn();
    return redis;
  }

  private async spawn(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${this.port} did not start: ${out.slice(-500)}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on port ${this.port} exited ${code} (is the port taken? --redis-port picks another): ${out.slice(-500)}`));
      });
    });
  }

  /** SIGTERM: redis-server writes its AOF and exits; the new one reads it back. */
  async restart(): Promise<void> {
    await this.stop();
    await this.spawn();
    this.restarts += 1;
  }

  /** Every key gone: all queue state, schedulers included. */
  async flush(): Promise<void> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 3 });
    try {
      await client.flushall();
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** What the soak reads from a daemon's JSON log. */
export interface LogCounts {
  jobsDone: number;
  jobsRetried: number;
  /** Jobs failed with no retry left: each one a finding. */
  failedForGood: { queue: string; name: string; err: string }[];
  /** Job completions by name (`harvest`, `distribute`, …). */
  done: Map<string, number>;
}

/** A memory reading of one process. */
export interface Memory {
  rss: number;
  heapUsed: number;
  /** The probe did not answer the request to collect garbage first: a periodic reading. */
  uncollected?: boolean;
}

/** One `softstake start --role …` process, restartable in its slot. */
export class RoleProcess {
  child: ChildProcess | undefined;
  exited: Promise<number | null> = Promise.resolve(null);
  restarts = 0;
  readonly counts: LogCounts = { jobsDone: 0, jobsRetried: 0, failedForGood: [], done: new Map() };
  private readyWaiters: (() => void)[] = [];
  private ready = false;
  tail: string[] = [];

  constructor(
    readonly label: string,
    private readonly configFile: string,
    private readonly roles: string[],
    private readonly probeDir: string,
    private readonly attempts: number,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once it logs `softstake ready`. */
  async start(timeoutMs = 180_000): Promise<void> {
    this.ready = false;
    const child = spawnCli(['start', '-c', this.configFile, ...this.roles.flatMap((r) => ['--role', r])], {
      SOFTSTAKE_LOG_LEVEL: 'debug',
      SOFTSTAKE_SOAK_PROBE_DIR: this.probeDir,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import ${PROBE}`.trim(),
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        this.line(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => this.keep(`stderr: ${chunk.toString().trimEnd()}`));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label} was not ready within ${timeoutMs} ms; last lines:\n${this.tail.join('\n')}`)), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        if (!this.ready) reject(new Error(`${this.label} exited (${code}) before it was ready; last lines:\n${this.tail.join('\n')}`));
      });
    });
  }

  private keep(text: string): void {
    this.tail.push(text.slice(0, 2_000));
    if (this.tail.length > 40) this.tail.shift();
  }

  private line(text: string): void {
    let log: { msg?: string; name?: string; queue?: string; retrying?: boolean; attempt?: number; err?: string; level?: number | string };
    try {
      log = JSON.parse(text) as typeof log;
    } catch {
      this.keep(text);
      return;
    }
    if (log.msg === 'softstake ready') {
      this.ready = true;
      for (const w of this.readyWaiters.splice(0)) w();
    } else if (log.msg === 'job done') {
      this.counts.jobsDone += 1;
      this.counts.done.set(log.name ?? '?', (this.counts.done.get(log.name ?? '?') ?? 0) + 1);
    } else if (log.msg === 'job failed') {
      // A retry that BullMQ will run, or the end of the job: no retry, or its last attempt.
      if (log.retrying === true && (log.attempt ?? 0) < this.attempts) this.counts.jobsRetried += 1;
      else this.counts.failedForGood.push({ queue: log.queue ?? '?', name: log.name ?? '?', err: log.err ?? '' });
    }
    if (log.level !== 'debug' && log.level !== 20 && log.msg !== 'job done') this.keep(text);
  }

  /** SIGKILL: no shutdown, its jobs are found stalled and taken over. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the daemon's own graceful stop. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.kill();
    this.restarts += 1;
    await this.start();
  }

  /** The process's memory after a full garbage collection (the probe collects on SIGUSR2), or undefined when it does not answer. */
  async memory(): Promise<Memory | undefined> {
    const pid = this.pid;
    if (pid === undefined || !this.running) return undefined;
    const asked = Date.now();
    this.child!.kill('SIGUSR2');
    let last: Memory | undefined;
    for (let i = 0; i < 150; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const gc = JSON.parse(await readFile(join(this.probeDir, `${pid}.gc.json`), 'utf8').catch(() => '{"at":0}')) as Memory & { at: number };
        if (gc.at >= asked) return { rss: gc.rss, heapUsed: gc.heapUsed };
        const m = JSON.parse(await readFile(join(this.probeDir, `${pid}.json`), 'utf8')) as Memory;
        last = { rss: m.rss, heapUsed: m.heapUsed, uncollected: true };
      } catch {
        // not written yet
      }
    }
    return last;
  }
}

/** The local TCP ports of `pid`'s sockets (from /proc: its fds' socket inodes, looked up in /proc/net/tcp*). */
async function localPorts(pid: number): Promise<Set<number>> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return new Set();
  }
  for (const fd of fds) {
    try {
      const target = await readlink(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = await readFile(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (inodes.has(cols[9]!)) ports.add(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/**
 * The worker in the middle of a job: the one whose PostgreSQL connection is
 * running a statement or holds a chain's signer lock (an advisory lock).
 */
export async function workerMidJob(pool: pg.Pool, database: string, workers: readonly RoleProcess[]): Promise<RoleProcess | undefined> {
  const { rows } = await pool.query<{ port: number }>(
    `SELECT client_port AS port FROM pg_stat_activity
      WHERE datname = $1 AND application_name LIKE 'softstake-worker%' AND client_port IS NOT NULL
        AND (state <> 'idle' OR pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted))`,
    [database],
  );
  if (rows.length === 0) return undefined;
  const busy = new Set(rows.map((r) => r.port));
  for (const worker of workers) {
    if (!worker.running || worker.pid === undefined) continue;
    for (const port of await localPorts(worker.pid)) if (busy.has(port)) return worker;
  }
  return undefined;
}

/** Ends every session of the daemon in `database` (never another database's, never the soak's own). */
export async function terminateBackends(pool: pg.Pool, database: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name LIKE 'softstake-%' AND application_name NOT LIKE 'softstake-soak%'`,
    [database],
  );
  return rows[0]?.n ?? 0;
}
