/**
 * Runs the real daemon (`softstake start`) as a child process against a
 * test's own PostgreSQL database, Redis and a chain's devnet (see
 * chains.ts), and reads its
 * JSON logs. Also a redis-server of the test's own, with AOF, that a test can
 * kill and restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { spawnCli } from './cli.js';

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface DaemonConfigOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Devnet endpoints; no chain when omitted. */
  endpoints?: string[];
  /** The custody key (hex seed, mnemonic, …) for the signer, written to `secrets/custody.key`. */
  keyHex?: string;
  /** The custody address, written as the chain block's `address`. */
  address?: string;
  /** The one asset. @defaultValue ATOM with 6 decimals */
  asset?: { symbol: string; decimals: number };
  /** The chain block's adapter, needed with `endpoints`: a built-in kind, or a plugin `module` (absolute path). */
  chain?: { name: string; kind: string; options: string; module?: string };
  validators?: { address: string; weight?: number }[];
  port: number;
  /** Cron for ATOM's distributions. @defaultValue every 2 seconds */
  schedule?: string;
  intervals?: { poll?: string; harvest?: string; rebalance?: string };
  stake?: { targetRatio?: string; minBuffer?: string; minMove?: string };
  lockDuration?: string;
  commission?: string;
}

export const API_TOKEN = 'test-token-0123456789abcdef';
export const DASHBOARD_PASSWORD = 'dashboard-pass-3141';

/** Writes a daemon config (and its token, password and key files) in a new directory. */
export async function writeDaemonConfig(o: DaemonConfigOptions): Promise<{ file: string; dir: string; prefix: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'softstake-daemon-'));
  const prefix = `t${randomBytes(4).toString('hex')}`;
  await mkdir(join(dir, 'secrets'));
  await writeFile(join(dir, 'secrets/api-token'), `${API_TOKEN}\n`);
  await writeFile(join(dir, 'secrets/dashboard'), `${DASHBOARD_PASSWORD}\n`);
  const lines = [
    `database:\n  url: ${o.databaseUrl}`,
    `redis:\n  url: ${o.redisUrl}\n  prefix: ${prefix}`,
    'assets:',
    `  ${o.asset?.symbol ?? 'ATOM'}:`,
    `    decimals: ${o.asset?.decimals ?? 6}`,
    `    commission: "${o.commission ?? '10%'}"`,
    `    distribution: { schedule: "${o.schedule ?? '*/2 * * * * *'}", timezone: UTC }`,
    'api:',
    `  listen: 127.0.0.1:${o.port}`,
    '  tokenFile: ./secrets/api-token',
    '  dashboard: { user: operator, passwordFile: ./secrets/dashboard }',
    'worker:',
    `  lockDuration: ${o.lockDuration ?? '3s'}`,
    '  backoff: 200ms',
    '  shutdownTimeout: 10s',
  ];
  if (o.endpoints) {
    if (o.chain === undefined) throw new Error('writeDaemonConfig: endpoints need a chain (see startDaemonChain)');
    await writeFile(join(dir, 'secrets/custody.key'), `${o.keyHex}\n`);
    const iv = o.intervals ?? {};
    lines.push(
      'chains:',
      `  ${o.chain.name}:`,
      `    kind: ${o.chain.kind}`,
      ...(o.chain.module === undefined ? [] : [`    module: ${o.chain.module}`]),
      `    options: ${o.chain.options}`,
      `    asset: ${o.asset?.symbol ?? 'ATOM'}`,
      `    endpoints: [${o.endpoints.join(', ')}]`,
      '    signer: { file: ./secrets/custody.key }',
      ...(o.address === undefined ? [] : [`    address: ${o.address}`]),
      '    requestTimeout: 2s',
      '    validators:',
      ...(o.validators ?? []).map((v) => `      - { address: ${JSON.stringify(v.address)}, weight: ${v.weight ?? 1} }`),
      `    stake: { targetRatio: "${o.stake?.targetRatio ?? '90%'}", minBuffer: "${o.stake?.minBuffer ?? '0'}", minMove: "${o.stake?.minMove ?? '1'}" }`,
      `    intervals: { poll: ${iv.poll ?? '1s'}, harvest: ${iv.harvest ?? '1s'}, rebalance: ${iv.rebalance ?? '1s'} }`,
    );
  }
  const file = join(dir, 'softstake.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  return { file, dir, prefix };
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A running `softstake start`, its JSON log lines collected. */
export class DaemonProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          parsed = { level: 'raw', msg: line };
        }
        this.logs.push(parsed);
        this.waiters = this.waiters.filter((w) => (w.match(parsed) ? (w.resolve(parsed), false) : true));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static start(configFile: string, roles: string[] = [], env: NodeJS.ProcessEnv = {}): DaemonProcess {
    const args = ['start', '-c', configFile, ...roles.flatMap((r) => ['--role', r])];
    return new DaemonProcess(spawnCli(args, { SOFTSTAKE_LOG_LEVEL: 'debug', ...env }));
  }

  /** The first log line (already seen or still to come) that matches. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}\nlast logs: ${JSON.stringify(this.logs.slice(-5))}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`daemon exited (${code}) before the log line; stderr: ${this.stderr.slice(-2000)}`));
      });
    });
  }

  /** Until `softstake ready`; the start includes the chains' preflight, and a loaded 2-core machine takes a while to load the code. */
  ready(timeoutMs = 120_000): Promise<LogLine> {
    return this.waitFor((l) => l.msg === 'softstake ready', timeoutMs);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** A redis-server of the test's own, persisting with AOF so a restart keeps the queues. */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), await mkdtemp(join(tmpdir(), 'softstake-redis-')));
    await redis.spawn();
    return redis;
  }

  private async spawn(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)));
    });
  }

  /** SIGKILL: no shutdown save; only what AOF already has survives. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}

/** JSON over loopback with the test token. */
export async function api(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}
