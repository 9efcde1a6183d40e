import { randomBytes } from 'node:crypto';

import pg from 'pg';

import type { AssetConfig } from '../src/config/index.js';
import { createPool } from '../src/ledger/db.js';
import { migrate, syncAssets } from '../src/ledger/migrate.js';
import { atInterrupt } from './interrupt.js';

/**
 * The server benches create their databases on:
 * `$SOFTSTAKE_BENCH_DATABASE_URL`, else the tests' server, else the local
 * `test` database.
 * @defaultValue "postgres://postgres@127.0.0.1:5432/test"
 */
export const BENCH_SERVER_URL =
  process.env.SOFTSTAKE_BENCH_DATABASE_URL ?? process.env.SOFTSTAKE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  name: string;
  /** Connection URL of the database, for a daemon the bench starts on it. */
  url: string;
  pool: pg.Pool;
  /** Closes the pool and drops the database, unless `keep` asked to leave it for a look. */
  drop(): Promise<void>;
}

async function onServer(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: BENCH_SERVER_URL, application_name: 'softstake-bench' });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A new database of its own, `softstake_bench_<random>`, migrated and knowing `assets`. */
export async function createBenchDatabase(assets: Record<string, AssetConfig>, options: { keep?: boolean } = {}): Promise<BenchDatabase> {
  const name = `softstake_bench_${randomBytes(6).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  const done = atInterrupt(() => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(BENCH_SERVER_URL);
  url.pathname = `/${name}`;
  const pool = createPool({ url: url.toString(), applicationName: 'softstake-bench', max: 4 });
  try {
    await migrate(pool);
    await syncAssets(pool, assets);
  } catch (error) {
    await pool.end();
    await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    done();
    throw error;
  }
  return {
    name,
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      done();
      if (options.keep) {
        process.stdout.write(`  (kept database ${name}; drop it with: DROP DATABASE ${name})\n`);
        return;
      }
      await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** The asset every bench distributes: ATOM, 6 decimals, 10% commission. */
export function benchAsset(symbol = 'ATOM', overrides: Partial<AssetConfig> = {}): AssetConfig {
  return {
    symbol,
    decimals: 6,
    // 1 ATOM: small, but enough that the eligibility filter does some work.
    minHolding: 1_000_000n,
    cap: null,
    commissionBps: 1000,
    distribution: { schedule: '0 0 * * *', timezone: 'UTC' },
    ...overrides,
  };
}
