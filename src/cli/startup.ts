/**
 * Connecting at start-up, with failures that say what is wrong and exit
 * with a code a supervisor can act on: 75 (EX_TEMPFAIL) when a store is not
 * reachable yet, 78 (EX_CONFIG) when the config names a role or a database
 * the server does not know. Messages name a store by scheme, host and port.
 */
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';

import type { SoftstakeConfig } from '../config/index.js';
import { ConfigError, RetryableError } from '../errors.js';
import { createPool } from '../ledger/db.js';
import { ensureDatabase } from '../ledger/ensureDatabase.js';
import { migrate, syncAssets } from '../ledger/migrate.js';
import { redactUrls } from '../redactUrls.js';

/** Pause between two tries to reach Redis at start-up. */
export const REDIS_RETRY_MS = 1_000;
/** Deadline of one try. */
const REDIS_TRY_TIMEOUT_MS = 2_000;

/** Network failures a later try may not meet: the server is down, restarting or overloaded. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  // PostgreSQL: shutting down, starting up, too many connections, connection failures.
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08001',
  '08006',
]);
/** What the config must fix: no such role, wrong password, no such database and no right to create it, no such host. */
const CONFIG_CODES = new Set(['28000', '28P01', '3D000', '42501', 'ENOTFOUND']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A connection error as the exit code's error: Retryable (75), Config (78), or as it was. */
export function classifyConnectError(error: unknown, store: string, url: string, configFile: string, field: string): unknown {
  const code = codeOf(error);
  const where = `${store} at ${redactUrls(url)}`;
  const message = redactUrls(error instanceof Error ? error.message : String(error));
  if (code !== undefined && TRANSIENT_CODES.has(code)) {
    return new RetryableError(`${where} is not reachable (${message}); try again once it is up`, { cause: error });
  }
  if (code !== undefined && CONFIG_CODES.has(code)) {
    return new ConfigError(configFile, [{ path: field, message: `${where}: ${message}` }]);
  }
  if (error instanceof Error && error.message.includes('timeout expired')) {
    return new RetryableError(`${where} did not answer (${message}); try again once it is up`, { cause: error });
  }
  return error;
}

/**
 * Connects to the ledger: creates the database if the server lacks it,
 * migrates the schema and registers the configured assets (unless
 * `migrate: false`: the `migrate` command does that itself and reports it).
 * @throws RetryableError when PostgreSQL is not reachable, ConfigError for an unknown role or database.
 */
export async function openLedger(
  config: SoftstakeConfig,
  options: { applicationName: string; max: number; migrate?: boolean; onIdleError?: (error: Error) => void },
): Promise<pg.Pool> {
  const pool = createPool({ url: config.database.url, ...options });
  try {
    await ensureDatabase(config.database.url);
    await pool.query('SELECT 1');
    if (options.migrate !== false) {
      await migrate(pool);
      await syncAssets(pool, config.assets);
    }
    return pool;
  } catch (error) {
    await pool.end().catch(() => {});
    throw classifyConnectError(error, 'PostgreSQL', config.database.url, config.file, 'database.url');
  }
}

/**
 * Waits until Redis answers a PING, trying every REDIS_RETRY_MS and logging
 * one line per failed try, for at most `config.redis.startupWaitMs`.
 * @throws RetryableError when it did not answer in time (exit 75).
 */
export async function waitForRedis(config: SoftstakeConfig, logger: Logger): Promise<void> {
  const deadline = Date.now() + config.redis.startupWaitMs;
  const where = redactUrls(config.redis.url);
  for (let attempt = 1; ; attempt += 1) {
    const client = new Redis(config.redis.url, {
      lazyConnect: true,
      connectTimeout: REDIS_TRY_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    // Reported below, once per try: an unheard `error` event would print a stack.
    let cause: unknown;
    client.on('error', (error: unknown) => {
      cause ??= error;
    });
    let reason: string;
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      // `connect` rejects with "Connection is closed."; the socket's own error says why.
      const why = cause ?? error;
      reason = codeOf(why) ?? redactUrls(why instanceof Error ? why.message : String(why));
    } finally {
      client.disconnect();
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new RetryableError(`Redis at ${where} did not answer within ${Math.round(config.redis.startupWaitMs / 1000)} s (${reason}); try again once it is up`);
    }
    const wait = Math.min(REDIS_RETRY_MS, left);
    logger.warn({ redis: where, attempt, reason, retryInMs: wait }, `Redis at ${where} is not reachable (${reason}); trying again in ${wait} ms`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
