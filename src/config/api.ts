/**
 * The `api` section: the HTTP server of the api role, its timeouts, who may
 * read `/metrics`, and the secrets of `/v1` and the dashboard.
 */
import * as z from 'zod';
import { duration } from './fields.js';
import { readSecretField, resolvePath, type Issue } from './secrets.js';

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

export type ApiFile = z.output<typeof apiSchema>;

/** RFC 6750 `b64token`: what may follow `Bearer ` in an Authorization header. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The api section as the daemon uses it: defaults filled in, secrets read. Problems go to `issues`. */
export function resolveApi(file: ApiFile | undefined, configDir: string, readSecret: (absolutePath: string) => string, issues: Issue[]): ApiConfig {
  const api: ApiConfig = { ...DEFAULT_API };
  if (file !== undefined) {
    Object.assign(api, splitListen(file.listen));
    api.bodyLimitBytes = file.bodyLimit ?? DEFAULT_BODY_LIMIT;
    api.headersTimeoutMs = file.headersTimeout ?? DEFAULT_API.headersTimeoutMs;
    api.requestTimeoutMs = file.requestTimeout ?? DEFAULT_API.requestTimeoutMs;
    api.keepAliveTimeoutMs = file.keepAliveTimeout ?? DEFAULT_API.keepAliveTimeoutMs;
    api.readyMaxAgeMs = file.readyMaxAge ?? null;
    if (api.headersTimeoutMs > api.requestTimeoutMs) {
      // Node refuses to start a server so configured: the headers are part of the request.
      issues.push({ path: 'api.headersTimeout', message: 'must not be longer than api.requestTimeout' });
    }
    const metrics = file.metrics ?? 'public';
    api.metrics = metrics === 'public' || metrics === 'token' ? { mode: metrics } : { mode: 'listen', ...splitListen(metrics) };
    if (api.metrics.mode === 'token' && file.tokenFile === undefined) {
      issues.push({ path: 'api.metrics', message: '"token" needs api.tokenFile' });
    }
    if (api.metrics.mode === 'listen' && api.metrics.host === api.host && api.metrics.port === api.port && api.port !== 0) {
      issues.push({ path: 'api.metrics', message: 'must differ from api.listen (or use "public")' });
    }
    if (file.tokenFile !== undefined) {
      const token = readSecretField(resolvePath(configDir, file.tokenFile), 'api.tokenFile', readSecret, issues);
      if (token !== undefined && !BEARER_TOKEN.test(token)) {
        // Said without the token: a space, a quote or a non-ASCII letter can never be sent as `Bearer <token>`.
        issues.push({ path: 'api.tokenFile', message: 'the token must be one word of letters, digits and - . _ ~ + / (no spaces or other characters: it is sent as `Authorization: Bearer <token>`)' });
      } else if (token !== undefined && token.length < 16) {
        issues.push({ path: 'api.tokenFile', message: 'the token must be at least 16 characters (e.g. `openssl rand -hex 32`)' });
      } else if (token !== undefined) {
        api.token = token;
      }
    }
    if (file.dashboard !== undefined) {
      const password = readSecretField(resolvePath(configDir, file.dashboard.passwordFile), 'api.dashboard.passwordFile', readSecret, issues);
      if (password !== undefined) api.dashboard = { user: file.dashboard.user, password, actions: [...new Set(file.dashboard.actions)] };
    }
  }

  return api;
}
