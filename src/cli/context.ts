import type pg from 'pg';

import { configuredAsset, loadConfig, type AssetConfig, type SoftstakeConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { openLedger } from './startup.js';

/** Options every command shares. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/** The config file: `-c FILE`, else `$SOFTSTAKE_CONFIG`. */
export function configPath(options: GlobalOptions): string {
  const file = options.config ?? process.env.SOFTSTAKE_CONFIG;
  if (!file) throw new ConfigError('(no config file)', [{ path: '', message: 'pass -c FILE or set SOFTSTAKE_CONFIG' }]);
  return file;
}

export interface Ledger {
  config: SoftstakeConfig;
  pool: pg.Pool;
}

/**
 * Loads the config, connects, brings the schema up to date and registers the
 * configured assets, then runs `work` and closes the connections.
 */
export async function withLedger<T>(
  options: GlobalOptions,
  work: (ledger: Ledger) => Promise<T>,
  applicationName = 'softstake-cli',
): Promise<T> {
  const config = await loadConfig(configPath(options));
  const pool = await openLedger(config, { applicationName, max: 2 });
  try {
    return await work({ config, pool });
  } finally {
    await pool.end();
  }
}

/** The configured asset named by `--asset`, or a ConfigError listing the known ones. */
export function assetOf(config: SoftstakeConfig, symbol: string): AssetConfig {
  const asset = configuredAsset(config, symbol);
  if (!asset) {
    throw new ConfigError(config.file, [
      { path: `assets.${symbol}`, message: `no such asset; the config lists ${Object.keys(config.assets).join(', ')}` },
    ]);
  }
  return asset;
}
