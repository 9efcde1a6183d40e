/**
 * Endpoint failover for every adapter: try the configured RPC endpoints in
 * order, move on when one is at fault (timeout, refused or reset connection,
 * HTTP 429 or 5xx), stop at once when the chain itself said no.
 *
 * The line between the two matters for money: a fault says nothing about
 * the chain, so another node may answer; a rejection (bad signature, stale
 * sequence, unknown validator, HTTP 400) would be the same on every node, and
 * retrying it elsewhere only hides it.
 */
import { SoftstakeError } from '../src/errors.js';
import { ChainProtocolError, ChainUnavailableError, safeUrl, type EndpointFailure } from './errors.js';

/**
 * An endpoint answered with a non-2xx HTTP status. Adapters throw it from a
 * failover `call` (fetchJson does) so {@link withFailover} can tell a node
 * fault (429, 5xx: try the next endpoint) from a request the chain refuses
 * (other 4xx: stop).
 */
export class EndpointHttpError extends SoftstakeError {
  override readonly retryable: boolean;

  constructor(
    /** The HTTP status code. */
    readonly status: number,
    /** The endpoint without credentials. */
    readonly endpoint: string,
    /** The response body: parsed JSON where it was JSON, else its first 500 characters. */
    readonly body?: unknown,
  ) {
    super(`${endpoint}: HTTP ${status}${describeBody(body)}`);
    this.retryable = isFaultStatus(status);
  }
}

/** 429 (rate limited) and 5xx (the node is sick) are the endpoint's fault, not the request's. */
export function isFaultStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** Socket-level error codes (Node, undici, axios) that mean "this endpoint, not this request". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_ABORTED',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Why `error` is an endpoint fault, as a short reason for the failure list,
 * or `undefined` when it is not one (and must not be retried elsewhere).
 *
 * Faults: {@link EndpointHttpError} with 429/5xx; fetch's `TypeError`s for
 * network failures ("fetch failed", "terminated", or one caused by a socket
 * error); `AbortError`/`TimeoutError`; any error carrying a socket error code
 * (ECONNREFUSED, ECONNRESET, …) itself or in its `cause`. A plain
 * `TypeError` from a bug in the adapter is not a fault: it is rethrown.
 */
export function endpointFaultReason(error: unknown): string | undefined {
  if (error instanceof EndpointHttpError) return isFaultStatus(error.status) ? `HTTP ${error.status}` : undefined;
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return 'request aborted (timeout)';
  const own = errorCode(error);
  if (own !== undefined && NETWORK_CODES.has(own)) return `network error (${own})`;
  const cause = errorCode(error.cause);
  if (cause !== undefined && NETWORK_CODES.has(cause)) return `network error (${cause})`;
  if (error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated')) {
    const detail = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `network error (${error.message}${detail})`;
  }
  return undefined;
}

/**
 * Calls `call` on each endpoint in order until one succeeds.
 *
 * Each attempt gets `timeoutMs`; its `signal` aborts when that passes, and
 * the attempt is abandoned then even if `call` ignores the signal. An
 * endpoint fault (see {@link endpointFaultReason}) moves on to the next
 * endpoint; any other error is rethrown at once, unchanged.
 *
 * @param chain the chain's config name, for the error message.
 * @param endpoints RPC endpoints in order of preference; credentials in them never reach a message.
 * @param timeoutMs per-attempt limit, milliseconds.
 * @throws ChainUnavailableError (retryable) when every endpoint was at fault, naming each and why.
 */
export async function withFailover<T>(
  chain: string,
  endpoints: readonly string[],
  timeoutMs: number,
  call: (endpoint: string, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ChainProtocolError(chain, `request timeout must be a positive integer of milliseconds, got ${timeoutMs}`);
  }
  const failures: EndpointFailure[] = [];
  let lastError: unknown;
  for (const endpoint of endpoints) {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError');
        controller.abort(reason);
        reject(reason);
      }, timeoutMs);
    });
    // The losing side of the race must not become an unhandled rejection.
    timedOut.catch(() => undefined);
    try {
      return await Promise.race([call(endpoint, controller.signal), timedOut]);
    } catch (error) {
      const reason = controller.signal.aborted ? `timeout after ${timeoutMs} ms` : endpointFaultReason(error);
      if (reason === undefined) throw error;
      failures.push({ endpoint: safeUrl(endpoint), reason });
      lastError = error;
    } finally {
      clearTimeout(timer);
    }
  }
  throw new ChainUnavailableError(chain, failures, { cause: lastError });
}

/** Options of {@link fetchJson}. */
export interface FetchJsonOptions {
  /** @defaultValue `'GET'`, or `'POST'` when there is a body */
  method?: string;
  /**
   * The request body. A `Uint8Array` or `string` is sent verbatim (signed tx
   * bytes must reach the node unchanged); anything else is JSON-encoded with
   * bigints as decimal strings.
   */
  body?: unknown;
  /** Aborts the request (withFailover's per-attempt timeout). */
  signal?: AbortSignal;
  /** Extra request headers (an API key); never part of an error message. @defaultValue none */
  headers?: Record<string, string>;
  /**
   * Parses a 2xx body (TRON prints int64 as bare JSON numbers past 2^53, which `JSON.parse` would round).
   * @defaultValue `JSON.parse`
   */
  parse?: (text: string) => unknown;
  /**
   * The largest response body read, bytes; a longer one is an endpoint fault.
   * @defaultValue 16 MiB
   */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Builds the request URL for `path` under `endpoint` (keeping the endpoint's
 * path prefix and query) and moves `user:password@` into a Basic
 * Authorization header, because fetch refuses URLs that carry credentials.
 */
function requestFor(endpoint: string, path: string): { url: URL; headers: Record<string, string> } {
  let base: URL;
  try {
    base = new URL(endpoint);
  } catch {
    // URL's own TypeError carries the whole input, credentials included.
    throw new SoftstakeError('an RPC endpoint is not a valid URL');
  }
  const [pathname = '', query] = path.split('?', 2);
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}/${pathname.replace(/^\/+/, '')}`;
  if (query !== undefined) for (const [key, value] of new URLSearchParams(query)) url.searchParams.append(key, value);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (base.username !== '' || base.password !== '') {
    const user = decodeURIComponent(base.username);
    const password = decodeURIComponent(base.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url, headers };
}

async function readLimited(response: Response, maxBytes: number, endpoint: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new EndpointHttpError(502, endpoint, `response of ${declared} bytes exceeds the ${maxBytes}-byte limit`);
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new EndpointHttpError(502, endpoint, `response exceeds the ${maxBytes}-byte limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One JSON request to an endpoint, for use inside {@link withFailover}.
 *
 * - 2xx: returns the parsed JSON body (`undefined` for an empty body).
 * - Any other status: throws {@link EndpointHttpError} carrying the status
 *   and the (parsed) body. 429 and 5xx are endpoint faults, so failover
 *   moves on; for other 4xx it stops and the adapter may catch the error
 *   and read `status`/`body` (a 404 for an unknown transaction, say).
 * - A 2xx body that is not JSON, or a body over `maxBytes`: throws
 *   {@link EndpointHttpError} 502, an endpoint fault: a proxy or a
 *   misconfigured node answered in the chain's place, and another endpoint
 *   may do better.
 *
 * Network failures surface as fetch's own errors, which failover classifies.
 */
export async function fetchJson(endpoint: string, path: string, options: FetchJsonOptions = {}): Promise<unknown> {
  const { url, headers: base } = requestFor(endpoint, path);
  const headers = { ...options.headers, ...base };
  const shown = safeUrl(endpoint);
  let body: string | Uint8Array | undefined;
  if (options.body instanceof Uint8Array || typeof options.body === 'string') body = options.body;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers };
  if (body !== undefined) init.body = body;
  if (options.signal !== undefined) init.signal = options.signal;
  const response = await fetch(url, init);
  const text = await readLimited(response, options.maxBytes ?? DEFAULT_MAX_BYTES, shown);
  let parsed: unknown;
  let isJson = true;
  try {
    parsed = text === '' ? undefined : response.ok && options.parse !== undefined ? options.parse(text) : (JSON.parse(text) as unknown);
  } catch {
    isJson = false;
    parsed = text.slice(0, 500);
  }
  if (!response.ok) throw new EndpointHttpError(response.status, shown, parsed);
  if (!isJson) throw new EndpointHttpError(502, shown, `a ${response.status} answer that is not JSON: ${String(parsed)}`);
  return parsed;
}

function describeBody(body: unknown): string {
  if (body === undefined || body === '') return '';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}
