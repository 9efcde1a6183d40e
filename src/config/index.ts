/** The operator's config: load it once at startup, pass the result down. */
export { configuredAsset } from './configuredAsset.js';
export { loadConfig, parseConfig, redactConfig, type ReadSecret } from './load.js';
export {
  DEFAULT_REDIS_PREFIX,
  DEFAULT_REDIS_URL,
  DEFAULT_SCHEDULE,
  DEFAULT_TIMEZONE,
  MAX_DECIMALS,
  configFileSchema,
  type AssetConfig,
  type ConfigFile,
  type ConfigFileInput,
  type DatabaseConfig,
  type DistributionConfig,
  type LedgerConfig,
  type RedisConfig,
  type SoftstakeConfig,
} from './schema.js';
export {
  DASHBOARD_ACTIONS,
  DEFAULT_API,
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  DEFAULT_WORKER,
  type ApiConfig,
  type DashboardAction,
  type MetricsAccess,
  type ChainConfig,
  type ChainIntervals,
  type StakePolicy,
  type ValidatorConfig,
  type WorkerConfig,
} from './daemon.js';
