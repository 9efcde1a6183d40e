import type { AssetConfig, SoftstakeConfig } from './schema.js';

/**
 * The configured asset called `symbol` (or its upper case, as `--asset`
 * and `/v1` accept it), looked up among the config's own keys only: through
 * an object's prototype chain `constructor` or `toString` would pass as an
 * asset.
 */
export function configuredAsset(config: Pick<SoftstakeConfig, 'assets'>, symbol: string): AssetConfig | undefined {
  for (const key of [symbol, symbol.toUpperCase()]) if (Object.hasOwn(config.assets, key)) return config.assets[key];
  return undefined;
}
