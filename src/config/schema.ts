/**
 * The operator's config file: its zod schema and the normalized types the
 * rest of softstake reads. The schema checks everything that can be checked
 * from the file alone; `load.ts` adds the environment and secret files.
 */
import { CronExpressionParser } from 'cron-parser';
import * as z from 'zod';
import { parseInstant } from '../ledger/time.js';
import { amount, checkAmount, orRequired, percentage } from './fields.js';
import { apiSchema, chainsSchema, duration, ledgerSchema, workerSchema, type ApiConfig, type ChainConfig, type WorkerConfig } from './daemon.js';

// ---------------------------------------------------------------------------
// Normalized types: what the daemon uses after loading.

/** One asset the operator soft-stakes, with every amount in base units. */
export interface AssetConfig {
  /** The ticker, also the asset's key in the ledger (e.g. `ATOM`). */
  symbol: string;
  /**
   * Base units per whole token, as a power of ten. Fixed once the ledger
   * holds the asset: changing it would rescale every stored amount.
   */
  decimals: number;
  /**
   * Minimum time-weighted average balance, in base units, for a user to share
   * in a distribution; keeps dust accounts from costing more than they earn.
   * @defaultValue 0n
   */
  minHolding: bigint;
  /**
   * Largest balance, in base units, that earns rewards; caps the share of a
   * single whale. `null` means no cap.
   * @defaultValue null
   */
  cap: bigint | null;
  /**
   * The operator's cut of each distribution in basis points (1000 = 10%).
   * Required in the file: a forgotten commission must not silently become 0%.
   */
  commissionBps: number;
  /** When the distribute job closes a period for this asset. */
  distribution: DistributionConfig;
  /**
   * The start of the asset's first period, milliseconds: balance changes and
   * reward events stamped earlier are refused (a change stamped 1970 would
   * stretch the first period over decades).
   * @defaultValue undefined (the Unix epoch)
   */
  since?: number;
}

/** Rules for what enters the ledger, whatever the input path. */
export interface LedgerConfig {
  /**
   * How far into the future a balance change or reward event may be
   * stamped (the clocks of the exchange and of this machine disagree a
   * little); later ones are refused: a change stamped 9999-12-31 would
   * refuse every later change of its user.
   * @defaultValue 300 000 (5 minutes)
   */
  clockSkewMs: number;
}

/** The cron schedule of an asset's distributions. */
export interface DistributionConfig {
  /**
   * Cron expression (5 fields, or 6 with seconds). Daily at midnight matches
   * how users compare staking yields.
   * @defaultValue "0 0 * * *"
   */
  schedule: string;
  /**
   * IANA time zone the schedule is read in; UTC so that period ends do not
   * move with daylight saving time.
   * @defaultValue "UTC"
   */
  timezone: string;
}

/** The PostgreSQL system of record. */
export interface DatabaseConfig {
  /**
   * Connection URL, with the password from `passwordFile` (or from
   * `SOFTSTAKE_DATABASE_URL`) already merged in, URL-encoded. Holds a secret:
   * log it only through `redactConfig`.
   */
  url: string;
}

/** The Redis that holds queue state (nothing that money depends on). */
export interface RedisConfig {
  /**
   * Connection URL with any password merged in. Holds a secret: log it only
   * through `redactConfig`.
   * @defaultValue "redis://127.0.0.1:6379"
   */
  url: string;
  /**
   * Prefix of every queue key, so several daemons (or test runs) can share
   * one Redis without seeing each other's jobs.
   * @defaultValue "softstake"
   */
  prefix: string;
  /**
   * How long `softstake start` waits for Redis to answer, trying every
   * second and logging each failed try, before it exits with 75 (try again
   * later), milliseconds.
   * @defaultValue 30 000
   */
  startupWaitMs: number;
}

/** The whole loaded config. */
export interface SoftstakeConfig {
  /** The file it was loaded from, as given; error messages name it. */
  file: string;
  database: DatabaseConfig;
  redis: RedisConfig;
  /** Assets by symbol; at least one. */
  assets: Record<string, AssetConfig>;
  /** Chains by name; empty: the daemon runs the ledger and API only. */
  chains: Record<string, ChainConfig>;
  ledger: LedgerConfig;
  api: ApiConfig;
  worker: WorkerConfig;
}

// ---------------------------------------------------------------------------
// Defaults and limits.

/** Where a fresh machine's Redis listens (docker-compose.yml). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_REDIS_PREFIX = 'softstake';
export const DEFAULT_REDIS_STARTUP_WAIT_MS = 30_000;
export const DEFAULT_SCHEDULE = '0 0 * * *';
export const DEFAULT_TIMEZONE = 'UTC';
/** Past 30 decimals no PoS chain exists, and 10^30 × supply still fits NUMERIC(78,0). */
export const MAX_DECIMALS = 30;

const SYMBOL = /^[A-Z][A-Z0-9]{1,9}$/;

// ---------------------------------------------------------------------------
// Field schemas.


/**
 * A connection URL as written in the file: the right scheme, and no inline
 * password, so the file can be committed and shared. Never echoes the value.
 */
function connectionUrl(schemes: readonly string[], section: string, envName: string) {
  return z.string().superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a valid URL; expected ${schemes.map((s) => `${s}//`).join(' or ')}…` });
      return;
    }
    if (!schemes.includes(url.protocol)) {
      ctx.addIssue({ code: 'custom', message: `expected a ${schemes.map((s) => `${s}//`).join(' or ')} URL` });
    }
    if (url.password !== '' || url.searchParams.has('password')) {
      ctx.addIssue({
        code: 'custom',
        message: `must not contain a password: put it in ${section}.passwordFile, or pass the whole URL in ${envName}`,
      });
    }
  });
}

/** Schemes accepted for `database.url` and `SOFTSTAKE_DATABASE_URL`. */
export const DATABASE_SCHEMES = ['postgres:', 'postgresql:'] as const;
/** Schemes accepted for `redis.url` and `SOFTSTAKE_REDIS_URL`. */
export const REDIS_SCHEMES = ['redis:', 'rediss:'] as const;

const passwordFile = z.string().min(1, { error: 'must be a file path' });



const cronSchedule = z.string().superRefine((text, ctx) => {
  if (text.trim() === '') {
    ctx.addIssue({ code: 'custom', message: 'must not be empty; e.g. "0 0 * * *" for daily at midnight' });
    return;
  }
  try {
    CronExpressionParser.parse(text, { tz: 'UTC' });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a valid cron expression: ${(error as Error).message}` });
  }
});

const timeZone = z.string().superRefine((zone, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    ctx.addIssue({ code: 'custom', message: `unknown time zone ${JSON.stringify(zone)}; use an IANA name like "UTC" or "Europe/Berlin"` });
  }
});

const decimalsMessage = `must be an integer from 0 to ${MAX_DECIMALS}`;

const assetSchema = z.strictObject({
  decimals: z.int({ error: orRequired(decimalsMessage) }).min(0, { error: decimalsMessage }).max(MAX_DECIMALS, { error: decimalsMessage }),
  minHolding: amount.default('0'),
  cap: amount.optional(),
  commission: percentage(),
  /** An ISO-8601 instant with its zone. */
  since: z
    .string({ error: 'expected an ISO-8601 instant with its zone like "2026-01-01T00:00:00Z"' })
    .transform((text, ctx) => {
      const at = parseInstant(text);
      if (at === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 instant with its zone like "2026-01-01T00:00:00Z"' });
        return z.NEVER;
      }
      return at;
    })
    .optional(),
  distribution: z
    .strictObject({
      schedule: cronSchedule.default(DEFAULT_SCHEDULE),
      timezone: timeZone.default(DEFAULT_TIMEZONE),
    })
    .default({ schedule: DEFAULT_SCHEDULE, timezone: DEFAULT_TIMEZONE }),
});

type AssetFile = z.output<typeof assetSchema>;

const assetsSchema = z
  .record(
    z.string().regex(SYMBOL, { error: 'asset symbols are 2–10 uppercase letters or digits, starting with a letter' }),
    assetSchema,
  )
  .refine((assets) => Object.keys(assets).length > 0, { error: 'list at least one asset' })
  // Amount checks need the symbol (the key) and the decimals; `when` runs them
  // even when a sibling field failed, so one run reports every problem.
  .superRefine(
    (assets, ctx) => {
      for (const [symbol, asset] of Object.entries(assets)) {
        if (typeof asset !== 'object' || asset === null) continue;
        const raw = asset as Partial<Record<keyof AssetFile, unknown>>;
        const decimals = validDecimals(raw.decimals);
        const minHolding = checkAmount(raw.minHolding, symbol, decimals);
        const cap = raw.cap === undefined ? { value: undefined } : checkAmount(raw.cap, symbol, decimals);
        if (minHolding.problem !== undefined) ctx.addIssue({ code: 'custom', path: [symbol, 'minHolding'], message: minHolding.problem });
        if (cap.problem !== undefined) ctx.addIssue({ code: 'custom', path: [symbol, 'cap'], message: cap.problem });
        if (cap.value !== undefined && cap.value <= 0n) {
          ctx.addIssue({ code: 'custom', path: [symbol, 'cap'], message: 'must be greater than 0 (leave cap out for no cap)' });
        } else if (cap.value !== undefined && minHolding.value !== undefined && cap.value < minHolding.value) {
          ctx.addIssue({ code: 'custom', path: [symbol, 'cap'], message: 'must be at least minHolding' });
        }
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  )
  .transform((assets): Record<string, AssetConfig> => {
    const out: Record<string, AssetConfig> = {};
    for (const [symbol, asset] of Object.entries(assets)) {
      out[symbol] = {
        symbol,
        decimals: asset.decimals,
        minHolding: toBaseUnits(asset.minHolding, symbol, asset.decimals),
        cap: asset.cap === undefined ? null : toBaseUnits(asset.cap, symbol, asset.decimals),
        commissionBps: asset.commission,
        distribution: { schedule: asset.distribution.schedule, timezone: asset.distribution.timezone },
        ...(asset.since !== undefined ? { since: asset.since } : {}),
      };
    }
    return out;
  });

function validDecimals(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_DECIMALS ? value : undefined;
}



function toBaseUnits(value: string | number, symbol: string, decimals: number): bigint {
  const checked = checkAmount(value, symbol, decimals);
  if (checked.value === undefined) throw new Error(`invariant: ${symbol} amount passed validation but does not parse`);
  return checked.value;
}

// ---------------------------------------------------------------------------
// The file.

/**
 * The YAML file as written. Every object is strict: an unknown key is a typo
 * (`comission`) that would otherwise silently fall back to a default.
 * Output: assets normalized; connection sections as written, to be completed
 * with the environment and secret files by `parseConfig`.
 */
export const configFileSchema = z.strictObject(
  {
    /** Required unless `SOFTSTAKE_DATABASE_URL` is set. */
    database: z
      .strictObject({
        /** No password here: use `passwordFile` or `SOFTSTAKE_DATABASE_URL`. */
        url: connectionUrl(DATABASE_SCHEMES, 'database', 'SOFTSTAKE_DATABASE_URL').optional(),
        /** Path to a file holding only the password, relative to the config file. */
        passwordFile: passwordFile.optional(),
      })
      .optional(),
    redis: z
      .strictObject({
        /** @defaultValue "redis://127.0.0.1:6379" (applied after env overrides) */
        url: connectionUrl(REDIS_SCHEMES, 'redis', 'SOFTSTAKE_REDIS_URL').optional(),
        passwordFile: passwordFile.optional(),
        /** Key prefix of every queue; lets several daemons share one Redis. @defaultValue "softstake" */
        prefix: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'letters, digits, "_" and "-" only' }).optional(),
        /** @defaultValue "30s" */
        startupWait: duration(0, 3_600_000).optional(),
      })
      .optional(),
    assets: assetsSchema,
    /** What to stake where; see `daemon.ts`. */
    chains: chainsSchema,
    ledger: ledgerSchema,
    api: apiSchema.optional(),
    worker: workerSchema,
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'expected a YAML mapping with assets (and database, redis, chains, ledger, api, worker)' : undefined) },
);

/** The file as an operator may write it. */
export type ConfigFileInput = z.input<typeof configFileSchema>;
/** The file after validation: assets normalized, connections not yet resolved. */
export type ConfigFile = z.output<typeof configFileSchema>;
