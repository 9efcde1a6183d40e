/**
 * The HTTP side every local devnet shares: several listeners on 127.0.0.1
 * serving one chain (so a test can fault one and watch the adapter fail over
 * to the next), the faults a test can inject per listener, and a close that
 * leaves no socket behind.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fault one listener can be told to show. */
export type ListenerFault =
  /** Answer every request with HTTP 503. */
  | 'http503'
  /** Answer every request with HTTP 429 and `Retry-After: 1`. */
  | 'http429'
  /** Accept the request and never answer (until the client gives up or the devnet closes). */
  | 'timeout'
  /** Destroy the connection without an answer. */
  | 'reset';

export interface Listeners {
  /** `http://127.0.0.1:<port>`, one per listener. */
  urls: string[];
  /** Makes listener `index` show `fault` from now on; `null` heals it. */
  setFault(index: number, fault: ListenerFault | null): void;
  /** Stops every listener, cutting held and idle connections. */
  close(): Promise<void>;
}

export interface ListenerOptions {
  /** Names the devnet in errors, e.g. `cosmos devnet`. */
  name: string;
  /** How many listeners. @defaultValue 2 */
  count?: number;
  /** Ports to listen on; missing or 0: any free port. */
  ports?: readonly number[];
}

/** Writes a JSON answer; bigints as decimal strings. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Starts the listeners, each passing requests to `handle` unless a fault is
 * set on it. An error `handle` throws is a devnet bug: answered 500.
 */
export async function startListeners(
  options: ListenerOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
): Promise<Listeners> {
  const count = options.count ?? options.ports?.length ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 16) throw new RangeError(`${options.name}: listeners must be 1..16, got ${count}`);
  const faults: (ListenerFault | null)[] = Array.from({ length: count }, () => null);
  const servers: Server[] = [];
  const urls: string[] = [];

  const listen = (index: number): Promise<void> => {
    const server = createServer((req, res) => {
      const fault = faults[index] ?? null;
      if (fault === 'timeout') {
        req.resume();
        return;
      }
      if (fault === 'reset') return void req.socket.destroy();
      if (fault === 'http503') return sendJson(res, 503, { error: 'injected fault: service unavailable' });
      if (fault === 'http429') return sendJson(res, 429, { error: 'injected fault: too many requests' }, { 'retry-after': '1' });
      Promise.resolve()
        .then(() => handle(req, res))
        .catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: `devnet bug: ${error instanceof Error ? error.message : String(error)}` });
          else res.destroy();
        });
    });
    servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.ports?.[index] ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        urls[index] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    ).then(() => undefined);
    return closed;
  };

  try {
    for (let i = 0; i < count; i += 1) await listen(i);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    urls,
    setFault: (index, fault) => {
      if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`${options.name}: no listener ${index} (have ${count})`);
      faults[index] = fault;
    },
    close,
  };
}
