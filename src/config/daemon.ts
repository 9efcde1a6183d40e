/**
 * The daemon's sections of the config file: `chains` (what to stake where),
 * `api` (the HTTP server) and `worker` (job processing). Amounts and ratios
 * are validated here; the adapter's own `options` are validated by the
 * adapter module when the daemon loads it.
 */
import path from 'node:path';
import * as z from 'zod';
import { amount, checkAmount, percentage } from './fields.js';

// ---------------------------------------------------------------------------
// Normalized types.

/** A validator the custody account delegates to, and its share of the stake. */
export interface ValidatorConfig {
  address: string;
  /** Relative share of new stake (weights need not sum to anything). @defaultValue 1 */
  weight: number;
}

/** How much of the users' balances to stake, and how much to keep liquid. */
export interface StakePolicy {
  /**
   * Share of users' balances to keep staked, in basis points. The rest is the
   * liquidity buffer that lets users withdraw without waiting for unbonding.
   * @defaultValue 9000 (90%)
   */
  targetRatioBps: number;
  /** The buffer never goes below this, base units. @defaultValue 0n */
  minBuffer: bigint;
  /**
   * Stake moves smaller than this are not worth their fee and are skipped,
   * base units; `0n`: any move. Absent: 100 times the chain's typical fee
   * (the adapter's `limits().typicalFee`, see `DEFAULT_MIN_MOVE_FEES`).
   * @defaultValue undefined (100 × the chain's typical fee)
   */
  minMove?: bigint;
}

/** How often the scheduler enqueues each chain job, milliseconds. */
export interface ChainIntervals {
  /** Position snapshot. @defaultValue 60 000 (1 minute) */
  pollMs: number;
  /** Claim and record rewards. @defaultValue 3 600 000 (1 hour) */
  harvestMs: number;
  /** Stake or unbond toward the target ratio. @defaultValue 600 000 (10 minutes) */
  rebalanceMs: number;
}

/** One chain the daemon stakes on. */
export interface ChainConfig {
  /** The chain block's key, e.g. `cosmoshub-devnet`; names its queue and metrics. */
  name: string;
  /** Built-in adapter kind (`cosmos`, `near`, …) or, with `module`, the plugin's kind. */
  kind: string;
  /** Absolute path of a plugin adapter module (exporting `adapter`); `null` for built-in kinds. */
  module: string | null;
  /** The ledger asset (a key of `assets`). */
  asset: string;
  /** RPC endpoints, tried in order on timeouts, 429 and 5xx. */
  endpoints: string[];
  /** Where the signing key is: a file (resolved to an absolute path) or an environment variable name. */
  signer: { file: string } | { env: string };
  /**
   * The custody account's address (`address:` in the chain block): what
   * positions, `/ready` and the API read, without the key. `null`: derived
   * from the key on first use (so every role reads the key).
   * @defaultValue null
   */
  address: string | null;
  /** Per-request timeout before failing over. @defaultValue 10 000 */
  requestTimeoutMs: number;
  validators: ValidatorConfig[];
  stake: StakePolicy;
  intervals: ChainIntervals;
  /** The adapter's own options, as written; validated by the adapter module. */
  options: unknown;
}

/**
 * What the queue dashboard may change. None by default: the dashboard is
 * read-only, and the server refuses every other change whatever the UI
 * sends (adding or editing jobs, running or editing a scheduler, setting a
 * queue's concurrency, pausing, emptying, cleaning or obliterating queues).
 *   - `retry-failed-poll`: retry one failed `poll` job (it only reads the chain).
 *   - `retry-failed`: retry one failed job of any kind. Harvests and
 *     distributions are idempotent, and a distribute job runs only at a
 *     scheduled tick of its asset, whoever retries it.
 */
export const DASHBOARD_ACTIONS = ['retry-failed-poll', 'retry-failed'] as const;
export type DashboardAction = (typeof DASHBOARD_ACTIONS)[number];

/** Who may read `/metrics`. */
export type MetricsAccess =
  /** Anyone who reaches the API's address. */
  | { mode: 'public' }
  /** Only with the `/v1` bearer token. */
  | { mode: 'token' }
  /** On a listen address of its own (say, one only the monitoring network reaches), and not on the API's. */
  | { mode: 'listen'; host: string; port: number };

/** The HTTP server of the api role. */
export interface ApiConfig {
  /** @defaultValue 127.0.0.1 (only this machine: put a TLS proxy in front for more) */
  host: string;
  /** @defaultValue 8080 */
  port: number;
  /** Bearer token for `/v1`, from `tokenFile`. `null`: `/v1` is not served. */
  token: string | null;
  /**
   * Basic-auth credentials for `/admin/queues`, and the actions it allows
   * (see DASHBOARD_ACTIONS). `null`: the dashboard is not served.
   */
  dashboard: { user: string; password: string; actions: readonly DashboardAction[] } | null;
  /** Largest request body accepted, bytes. @defaultValue 4 MiB (10 000 changes fit) */
  bodyLimitBytes: number;
  /** A request's headers must arrive within this, milliseconds (else 408). @defaultValue 10 000 */
  headersTimeoutMs: number;
  /**
   * The whole request, body included, must arrive within this, milliseconds
   * (else 408 and the connection is closed): a client sending a byte every
   * few seconds cannot hold a connection. @defaultValue 30 000
   */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, milliseconds. @defaultValue 5 000 */
  keepAliveTimeoutMs: number;
  /** Who may read `/metrics`. @defaultValue { mode: 'public' } */
  metrics: MetricsAccess;
  /**
   * `/ready` answers 503 for a chain whose last successful position read
   * (the poll job's snapshot) is older than this, milliseconds. `null`:
   * three of the chain's poll intervals.
   * @defaultValue null
   */
  readyMaxAgeMs: number | null;
}

/** Job processing. */
export interface WorkerConfig {
  /**
   * How long a job's lock lasts before another worker may take the job over
   * (after a crash). @defaultValue 30 000
   */
  lockDurationMs: number;
  /** Attempts per job before it is marked failed. @defaultValue 8 */
  attempts: number;
  /** First retry delay; it doubles each attempt. @defaultValue 5 000 */
  backoffMs: number;
  /** On SIGTERM, how long active jobs may take to finish before they are released. @defaultValue 30 000 */
  shutdownTimeoutMs: number;
}

export const DEFAULT_API_HOST = '127.0.0.1';
export const DEFAULT_API_PORT = 8080;
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
/** The api section when the file has none. */
export const DEFAULT_API: ApiConfig = {
  host: DEFAULT_API_HOST,
  port: DEFAULT_API_PORT,
  token: null,
  dashboard: null,
  bodyLimitBytes: DEFAULT_BODY_LIMIT,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  metrics: { mode: 'public' },
  readyMaxAgeMs: null,
};
export const DEFAULT_WORKER: WorkerConfig = { lockDurationMs: 30_000, attempts: 8, backoffMs: 5_000, shutdownTimeoutMs: 30_000 };
export const DEFAULT_INTERVALS: ChainIntervals = { pollMs: 60_000, harvestMs: 3_600_000, rebalanceMs: 600_000 };

// ---------------------------------------------------------------------------
// Field schemas.

const DURATION = /^([0-9]+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `"30s"`, `"5m"`, `"1h"`, `"250ms"` → milliseconds. A bare number is refused: seconds or milliseconds? */
export function duration(min: number, max: number) {
  return z
    .string({ error: 'expected a duration like "30s", "5m" or "1h"' })
    .transform((text, ctx) => {
      const match = DURATION.exec(text.trim());
      if (!match) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration like "30s", "5m" or "1h" (units ms, s, m, h, d)' });
        return z.NEVER;
      }
      const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
      if (ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be between ${formatDuration(min)} and ${formatDuration(max)}` });
        return z.NEVER;
      }
      return ms;
    });
}

function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

const endpoint = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a valid URL' });
    return;
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    ctx.addIssue({ code: 'custom', message: 'expected an http(s):// or ws(s):// URL' });
  }
});

const signer = z.union(
  [
    z.strictObject({ file: z.string().min(1, { error: 'must be a file path' }) }),
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' }) }),
  ],
  { error: 'expected { file: path/to/key } or { env: VARIABLE_NAME }' },
);

const chainSchema = z.strictObject({
  kind: z.string().regex(/^[a-z][a-z0-9-]*$/, { error: 'expected an adapter kind like "cosmos" or "near"' }),
  /** A plugin adapter module, relative to the config file. */
  module: z.string().min(1).optional(),
  asset: z.string(),
  endpoints: z.array(endpoint).min(1, { error: 'list at least one endpoint' }).max(16),
  signer,
  /** The custody account's address, so roles that only read (api, scheduler) never open the key. */
  address: z.string().trim().min(1).max(256).optional(),
  requestTimeout: duration(100, 300_000).prefault('10s'),
  validators: z
    .array(
      z.strictObject({
        address: z.string().min(1),
        weight: z.number().int({ error: 'expected a whole number' }).min(1).max(1_000_000).default(1),
      }),
    )
    .min(1, { error: 'list at least one validator' })
    .max(64)
    .refine((list) => new Set(list.map((v) => v.address)).size === list.length, { error: 'a validator is listed twice' }),
  stake: z
    .strictObject({
      targetRatio: percentage('90%').prefault('90%'),
      /** Whole tokens, converted once `assets` tells the decimals (see `resolveDaemonSections`). */
      minBuffer: amount.prefault('0'),
      minMove: amount.optional(),
    })
    .prefault({ targetRatio: '90%', minBuffer: '0' }),
  intervals: z
    .strictObject({
      poll: duration(1_000, 86_400_000).prefault('1m'),
      harvest: duration(1_000, 7 * 86_400_000).prefault('1h'),
      rebalance: duration(1_000, 7 * 86_400_000).prefault('10m'),
    })
    .prefault({ poll: '1m', harvest: '1h', rebalance: '10m' }),
  /** Adapter-specific settings, checked by the adapter. */
  options: z.record(z.string(), z.unknown()).default({}),
});

export type ChainFile = z.output<typeof chainSchema>;

export const chainsSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, { error: 'chain names are lowercase letters, digits and dashes' }), chainSchema)
  .default({});

const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, { error: 'expected host:port, e.g. "127.0.0.1:8080"' })
  .refine((text) => Number(text.slice(text.lastIndexOf(':') + 1)) <= 65_535, { error: 'port must be at most 65535' });

function splitListen(text: string): { host: string; port: number } {
  const cut = text.lastIndexOf(':');
  return { host: text.slice(0, cut).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(cut + 1)) };
}

export const apiSchema = z.strictObject({
  /** `host:port`. @defaultValue "127.0.0.1:8080" */
  listen: listenAddress.prefault(`${DEFAULT_API_HOST}:${DEFAULT_API_PORT}`),
  /** File holding the bearer token for `/v1`, relative to the config file. Without it `/v1` is off. */
  tokenFile: z.string().min(1).optional(),
  dashboard: z
    .strictObject({
      user: z.string().min(1).regex(/^[^:]+$/, { error: 'must not contain ":"' }),
      passwordFile: z.string().min(1),
      /** What the dashboard may change; none by default (read-only). */
      actions: z
        .array(z.enum(DASHBOARD_ACTIONS, { error: `expected one of ${DASHBOARD_ACTIONS.join(', ')}` }))
        .max(DASHBOARD_ACTIONS.length)
        .default([]),
    })
    .optional(),
  /** @defaultValue "10s" */
  headersTimeout: duration(1_000, 300_000).optional(),
  /** @defaultValue "30s" */
  requestTimeout: duration(1_000, 600_000).optional(),
  /** @defaultValue "5s" */
  keepAliveTimeout: duration(0, 600_000).optional(),
  /** `public`, `token`, or a `host:port` of its own. @defaultValue "public" */
  metrics: z.union([z.enum(['public', 'token']), listenAddress], { error: 'expected "public", "token" or a listen address like "127.0.0.1:9100"' }).optional(),
  /** @defaultValue three poll intervals of each chain */
  readyMaxAge: duration(1_000, 7 * 86_400_000).optional(),
  bodyLimit: z
    .string()
    .regex(/^[0-9]+(KiB|MiB)$/, { error: 'expected a size like "4MiB" or "512KiB"' })
    .transform((text) => Number.parseInt(text, 10) * (text.endsWith('MiB') ? 1024 * 1024 : 1024))
    .refine((bytes) => bytes >= 1024 && bytes <= 64 * 1024 * 1024, { error: 'must be between 1KiB and 64MiB' })
    .optional(),
});

/** `ledger:` rules for every input path. */
export const ledgerSchema = z
  .strictObject({
    /** @defaultValue "5m" */
    clockSkew: duration(0, 86_400_000).prefault('5m'),
  })
  .prefault({ clockSkew: '5m' });

export const workerSchema = z
  .strictObject({
    lockDuration: duration(1_000, 600_000).prefault('30s'),
    attempts: z.number().int().min(1).max(100).default(DEFAULT_WORKER.attempts),
    backoff: duration(100, 3_600_000).prefault('5s'),
    shutdownTimeout: duration(0, 600_000).prefault('30s'),
  })
  .prefault({ lockDuration: '30s', attempts: DEFAULT_WORKER.attempts, backoff: '5s', shutdownTimeout: '30s' });

// ---------------------------------------------------------------------------
// Resolution: cross-section checks, amounts in base units, secrets from files.

interface DaemonSections {
  assets: Record<string, { decimals: number }>;
  chains: Record<string, ChainFile>;
  api?: z.output<typeof apiSchema> | undefined;
  worker: z.output<typeof workerSchema>;
}

interface Issue {
  path: string;
  message: string;
}

/**
 * Completes the daemon sections of a schema-valid file: each chain's asset
 * must exist and be staked by one chain only, amounts become base units,
 * paths become absolute (relative to the config file), and the API's
 * secrets are read. Problems are returned, not thrown, so the loader
 * reports them with the rest.
 */
export function resolveDaemonSections(
  file: DaemonSections,
  configDir: string,
  readSecret: (absolutePath: string) => string,
): { chains: Record<string, ChainConfig>; api: ApiConfig; worker: WorkerConfig; issues: Issue[] } {
  const issues: Issue[] = [];
  const chains: Record<string, ChainConfig> = {};
  const stakedBy = new Map<string, string>();
  for (const [name, chain] of Object.entries(file.chains)) {
    const at = (field: string) => `chains.${name}.${field}`;
    const asset = file.assets[chain.asset];
    if (asset === undefined) {
      issues.push({ path: at('asset'), message: `unknown asset ${JSON.stringify(chain.asset)}; expected one of: ${Object.keys(file.assets).join(', ')}` });
      continue;
    }
    const other = stakedBy.get(chain.asset);
    if (other !== undefined) {
      issues.push({ path: at('asset'), message: `${chain.asset} is already staked by chain ${other}; one chain per asset` });
      continue;
    }
    stakedBy.set(chain.asset, name);
    const minBuffer = checkAmount(chain.stake.minBuffer, chain.asset, asset.decimals);
    const minMove = chain.stake.minMove === undefined ? { value: undefined } : checkAmount(chain.stake.minMove, chain.asset, asset.decimals);
    if (minBuffer.problem !== undefined) issues.push({ path: at('stake.minBuffer'), message: minBuffer.problem });
    if (minMove.problem !== undefined) issues.push({ path: at('stake.minMove'), message: minMove.problem });
    if (minBuffer.value === undefined || minMove.problem !== undefined) continue;
    chains[name] = {
      name,
      kind: chain.kind,
      module: chain.module === undefined ? null : resolvePath(configDir, chain.module),
      asset: chain.asset,
      endpoints: chain.endpoints,
      signer: 'file' in chain.signer ? { file: resolvePath(configDir, chain.signer.file) } : { env: chain.signer.env },
      address: chain.address ?? null,
      requestTimeoutMs: chain.requestTimeout,
      validators: chain.validators.map((v) => ({ address: v.address, weight: v.weight })),
      stake: { targetRatioBps: chain.stake.targetRatio, minBuffer: minBuffer.value, ...(minMove.value === undefined ? {} : { minMove: minMove.value }) },
      intervals: { pollMs: chain.intervals.poll, harvestMs: chain.intervals.harvest, rebalanceMs: chain.intervals.rebalance },
      options: chain.options,
    };
  }

  const api: ApiConfig = { ...DEFAULT_API };
  if (file.api !== undefined) {
    Object.assign(api, splitListen(file.api.listen));
    api.bodyLimitBytes = file.api.bodyLimit ?? DEFAULT_BODY_LIMIT;
    api.headersTimeoutMs = file.api.headersTimeout ?? DEFAULT_API.headersTimeoutMs;
    api.requestTimeoutMs = file.api.requestTimeout ?? DEFAULT_API.requestTimeoutMs;
    api.keepAliveTimeoutMs = file.api.keepAliveTimeout ?? DEFAULT_API.keepAliveTimeoutMs;
    api.readyMaxAgeMs = file.api.readyMaxAge ?? null;
    if (api.headersTimeoutMs > api.requestTimeoutMs) {
      // Node refuses to start a server so configured: the headers are part of the request.
      issues.push({ path: 'api.headersTimeout', message: 'must not be longer than api.requestTimeout' });
    }
    const metrics = file.api.metrics ?? 'public';
    api.metrics = metrics === 'public' || metrics === 'token' ? { mode: metrics } : { mode: 'listen', ...splitListen(metrics) };
    if (api.metrics.mode === 'token' && file.api.tokenFile === undefined) {
      issues.push({ path: 'api.metrics', message: '"token" needs api.tokenFile' });
    }
    if (api.metrics.mode === 'listen' && api.metrics.host === api.host && api.metrics.port === api.port && api.port !== 0) {
      issues.push({ path: 'api.metrics', message: 'must differ from api.listen (or use "public")' });
    }
    if (file.api.tokenFile !== undefined) {
      const token = readSecretField(resolvePath(configDir, file.api.tokenFile), 'api.tokenFile', readSecret, issues);
      if (token !== undefined && !BEARER_TOKEN.test(token)) {
        // Said without the token: a space, a quote or a non-ASCII letter can never be sent as `Bearer <token>`.
        issues.push({ path: 'api.tokenFile', message: 'the token must be one word of letters, digits and - . _ ~ + / (no spaces or other characters: it is sent as `Authorization: Bearer <token>`)' });
      } else if (token !== undefined && token.length < 16) {
        issues.push({ path: 'api.tokenFile', message: 'the token must be at least 16 characters (e.g. `openssl rand -hex 32`)' });
      } else if (token !== undefined) {
        api.token = token;
      }
    }
    if (file.api.dashboard !== undefined) {
      const password = readSecretField(resolvePath(configDir, file.api.dashboard.passwordFile), 'api.dashboard.passwordFile', readSecret, issues);
      if (password !== undefined) api.dashboard = { user: file.api.dashboard.user, password, actions: [...new Set(file.api.dashboard.actions)] };
    }
  }

  const worker: WorkerConfig = {
    lockDurationMs: file.worker.lockDuration,
    attempts: file.worker.attempts,
    backoffMs: file.worker.backoff,
    shutdownTimeoutMs: file.worker.shutdownTimeout,
  };
  return { chains, api, worker, issues };
}

/** RFC 6750 `b64token`: what may follow `Bearer ` in an Authorization header. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function resolvePath(dir: string, file: string): string {
  return path.resolve(dir, file);
}

function readSecretField(file: string, field: string, readSecret: (p: string) => string, issues: Issue[]): string | undefined {
  let text: string;
  try {
    text = readSecret(file).replace(/(\r?\n)+$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    issues.push({ path: field, message: `could not read ${file}${code ? ` (${code})` : ''}` });
    return undefined;
  }
  if (text === '') {
    issues.push({ path: field, message: `${file} is empty` });
    return undefined;
  }
  return text;
}
