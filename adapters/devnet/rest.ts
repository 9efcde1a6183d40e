/**
 * A REST router for devnets (the TRON HTTP API, the Aptos REST API, a URI
 * form of JSON-RPC): routes by method and path pattern, `:name` matching one
 * segment and `*name` the rest of the path. The route's pattern, as
 * registered (`GET /v1/accounts/:address`), is what a per-route fault names.
 */

/** A request as a route handler sees it. */
export interface RestRequest {
  method: string;
  /** The path, without the query. */
  path: string;
  /** The pattern's `:name` / `*name` segments, decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body as text ('' for none). */
  body: string;
  /** The listener's index. */
  listener: number;
}

/** What a handler answers. */
export interface RestResponse {
  /** @defaultValue 200 */
  status?: number;
  /** Sent as JSON (bigints as decimal strings), unless `raw` is given. */
  body?: unknown;
  /** Sent as is, with `headers['content-type']` (default `application/octet-stream`). */
  raw?: Uint8Array | string;
  headers?: Record<string, string>;
}

export type RestHandler = (request: RestRequest) => RestResponse | Promise<RestResponse>;

interface Route {
  method: string;
  /** `GET /v1/accounts/:address`. */
  key: string;
  segments: string[];
  handler: RestHandler;
}

/** A matched route. */
export interface RestMatch {
  key: string;
  params: Record<string, string>;
  handler: RestHandler;
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** Routes of one devnet, matched in the order registered. */
export class RestRouter {
  private readonly routes: Route[] = [];

  /** Registers `handler` for `method` (`GET`, `POST`, …) on `pattern` (`/v1/accounts/:address`). */
  route(method: string, pattern: string, handler: RestHandler): this {
    if (!pattern.startsWith('/')) throw new Error(`rest route ${pattern}: a pattern starts with /`);
    const segments = split(pattern);
    const star = segments.findIndex((s) => s.startsWith('*'));
    if (star !== -1 && star !== segments.length - 1) throw new Error(`rest route ${pattern}: *name only as the last segment`);
    this.routes.push({ method: method.toUpperCase(), key: `${method.toUpperCase()} ${pattern}`, segments, handler });
    return this;
  }

  /** The route for a request, if any; `methodNotAllowed` when the path matches under another method only. */
  match(method: string, path: string): RestMatch | 'methodNotAllowed' | undefined {
    const parts = split(path);
    let otherMethod = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (params === undefined) continue;
      if (route.method !== method.toUpperCase()) {
        otherMethod = true;
        continue;
      }
      return { key: route.key, params, handler: route.handler };
    }
    return otherMethod ? 'methodNotAllowed' : undefined;
  }
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const segment = pattern[i]!;
    if (segment.startsWith('*')) {
      params[segment.slice(1)] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(part);
    else if (segment !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}
