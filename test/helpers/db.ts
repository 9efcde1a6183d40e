import { randomBytes } from 'node:crypto';

import pg from 'pg';

import type { AssetConfig } from '../../src/config/index.js';
import { createPool } from '../../src/ledger/db.js';
import { migrate, syncAssets } from '../../src/ledger/migrate.js';

/** The server tests create their databases on: `$SOFTSTAKE_TEST_DATABASE_URL`, else the local `test` database. */
export const TEST_SERVER_URL = process.env.SOFTSTAKE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A new, empty database of its own for one test file, migrated. */
export async function freshDatabase(assets: Record<string, AssetConfig> = { ATOM: atom() }): Promise<TestDatabase> {
  const name = `softstake_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  const pool = createPool({ url: url.toString(), applicationName: 'softstake-test' });
  await migrate(pool);
  await syncAssets(pool, assets);
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await dropDatabases(name);
    },
  };
}

/** Drops databases on the test server, connected or not; missing ones are fine. */
export async function dropDatabases(...names: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL });
  await client.connect();
  try {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** An ATOM asset config with the rules a test wants. */
export function atom(overrides: Partial<AssetConfig> = {}): AssetConfig {
  return {
    symbol: 'ATOM',
    decimals: 6,
    minHolding: 0n,
    cap: null,
    commissionBps: 0,
    distribution: { schedule: '0 0 * * *', timezone: 'UTC' },
    ...overrides,
  };
}

/** Milliseconds of an ISO instant, for readable test data. */
export function ms(iso: string): number {
  const value = Date.parse(iso);
  if (!Number.isFinite(value)) throw new Error(`bad test instant ${iso}`);
  return value;
}
