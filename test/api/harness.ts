/**
 * An api server over a test's own PostgreSQL database and its own queues on
 * the real Redis (a random key prefix, obliterated at the end), with the
 * server's logs captured for assertions.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { pino } from 'pino';

import { buildServer } from '../../src/api/server.js';
import { DEFAULT_API, DEFAULT_WORKER, type ApiConfig, type AssetConfig, type ChainConfig, type SoftstakeConfig } from '../../src/config/index.js';
import { openQueues, type Queues } from '../../src/pipeline/queues.js';
import { atom, type TestDatabase } from '../helpers/db.js';

export const REDIS_URL = process.env.SOFTSTAKE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TOKEN = 'api-test-token-0123456789abcdef';
export const DASHBOARD = { user: 'operator', password: 'correct horse battery staple', actions: [] };

/** A chain block as the config loader would resolve it; the API reads only its name and asset. */
export function chainConfig(name: string, asset: string): ChainConfig {
  return {
    name,
    kind: 'cosmos',
    module: null,
    asset,
    endpoints: ['http://127.0.0.1:1'],
    signer: { env: 'UNUSED' },
    address: null,
    requestTimeoutMs: 1_000,
    validators: [{ address: 'val-1', weight: 1 }],
    stake: { targetRatioBps: 9_000, minBuffer: 0n, minMove: 0n },
    intervals: { pollMs: 60_000, harvestMs: 3_600_000, rebalanceMs: 600_000 },
    options: {},
  };
}

export interface ConfigOptions {
  assets?: Record<string, AssetConfig>;
  chains?: Record<string, ChainConfig>;
  redisUrl?: string;
  api?: Partial<ApiConfig>;
}

export function testConfig(db: TestDatabase, o: ConfigOptions = {}): SoftstakeConfig {
  return {
    file: 'api-test.yaml',
    database: { url: db.url },
    // A key prefix of the test's own: parallel test files never share a queue.
    redis: { url: o.redisUrl ?? REDIS_URL, prefix: `softstake-api-test-${randomBytes(4).toString('hex')}`, startupWaitMs: 30_000 },
    assets: o.assets ?? { ATOM: atom({ commissionBps: 1_000 }) },
    chains: o.chains ?? {},
    ledger: { clockSkewMs: 300_000 },
    api: { ...DEFAULT_API, host: '127.0.0.1', port: 0, token: TOKEN, dashboard: DASHBOARD, ...o.api },
    worker: DEFAULT_WORKER,
  };
}

export interface Api {
  server: FastifyInstance;
  config: SoftstakeConfig;
  queues: Queues;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Closes the server and the queues; with `obliterate`, deletes the queues' keys first. */
  close(options?: { obliterate?: boolean }): Promise<void>;
}

export interface ApiOptions extends ConfigOptions {
  pool?: pg.Pool;
  now?: () => number;
}

export async function startApi(db: TestDatabase, o: ApiOptions = {}): Promise<Api> {
  const config = testConfig(db, o);
  const queues = openQueues(config);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const server = await buildServer({
    config,
    pool: o.pool ?? db.pool,
    queues,
    logger,
    ...(o.now ? { now: o.now } : {}),
  });
  await server.ready();
  return {
    server,
    config,
    queues,
    logs,
    async close(options = {}) {
      await server.close();
      if (options.obliterate) await Promise.all(queues.all().map((q) => q.obliterate({ force: true })));
      await queues.close();
    },
  };
}

/** `Authorization` header with the test token. */
export const auth = { authorization: `Bearer ${TOKEN}` };

/** A JSON POST with the test token. */
export function post(api: Api, url: string, body: unknown, headers: Record<string, string> = auth) {
  return api.server.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

/** A GET with the test token. */
export function get(api: Api, url: string, headers: Record<string, string> = auth) {
  return api.server.inject({ method: 'GET', url, headers });
}

/** Balance-change rows stored: what a refused request must not change. */
export async function changeCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM balance_changes');
  return rows[0]!.n;
}
