import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';

import type { AssetConfig } from '../config/index.js';
import { withTransaction } from './db.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** Serializes concurrent `migrate` runs (several daemons starting at once). */
const MIGRATION_LOCK = 0x50f757a4e;

export interface MigrationResult {
  applied: string[];
  current: string | null;
}

/**
 * Applies the pending SQL migrations in name order, each in its own
 * transaction, and records them in `schema_migrations`. Safe to run from
 * several processes at once and again at every start.
 */
export async function migrate(pool: pg.Pool): Promise<MigrationResult> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const applied: string[] = [];
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         name text PRIMARY KEY,
         applied_at timestamptz(3) NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return { applied, current: files.at(-1) ?? null };
}

/**
 * Makes the ledger know the configured assets. An asset's decimals may not
 * change once it has balances: every stored amount is in its base unit.
 */
export async function syncAssets(pool: pg.Pool, assets: Record<string, AssetConfig>): Promise<void> {
  await withTransaction(pool, async (tx) => {
    for (const asset of Object.values(assets)) {
      const { rows } = await tx.query<{ decimals: number }>(
        `INSERT INTO ledger_assets (symbol, decimals) VALUES ($1, $2)
         ON CONFLICT (symbol) DO UPDATE SET decimals = ledger_assets.decimals
         RETURNING decimals`,
        [asset.symbol, asset.decimals],
      );
      const stored = rows[0]?.decimals;
      if (stored !== asset.decimals) {
        throw new Error(
          `assets.${asset.symbol}.decimals: the ledger already keeps ${asset.symbol} with ${stored} decimals; changing it would rescale every stored amount`,
        );
      }
    }
  });
}
