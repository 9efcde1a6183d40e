/**
 * The sockets of a devnet: several HTTP listeners on 127.0.0.1 serving one
 * chain (so a test can fault one and watch the adapter fail over to the
 * next), WebSocket upgrades on them, and a close that leaves no socket
 * behind: held requests, idle keep-alive connections and open WebSockets
 * are all cut.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { stringify } from './jsonRpc.js';
import { type Fault, Faults } from './faults.js';

/** Writes a JSON answer; bigints as decimal strings. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Answers a request with an injected HTTP fault. `lostResponse` is the caller's to carry out (do the work, then cut). */
export function sendFault(req: IncomingMessage, res: ServerResponse, fault: Exclude<Fault, 'lostResponse'>): void {
  if (fault === 'timeout') {
    req.resume();
    return;
  }
  if (fault === 'reset') return void req.socket.destroy();
  if (fault === 'http503') return sendJson(res, 503, { error: 'injected fault: service unavailable' });
  sendJson(res, 429, { error: 'injected fault: too many requests' }, { 'retry-after': '1' });
}

/** Options of {@link listen}. */
export interface ListenOptions {
  /** Names the devnet in errors, e.g. `cosmos devnet`. */
  name: string;
  /** How many listeners. @defaultValue `ports.length`, else 2 */
  count?: number;
  /** Ports to listen on; missing or 0: any free port. */
  ports?: readonly number[];
}

/** What the listeners pass requests to. */
export interface ListenHandlers {
  request(req: IncomingMessage, res: ServerResponse, listener: number): void;
  /** A WebSocket upgrade request; without this, upgrades are refused. */
  upgrade?(req: IncomingMessage, socket: Socket, head: Buffer, listener: number): void;
}

/** Running listeners. */
export interface BoundListeners {
  /** `http://127.0.0.1:<port>`, one per listener. */
  urls: string[];
  /** Registers a socket `close()` must cut (an upgraded WebSocket's). */
  track(socket: Socket): void;
  close(): Promise<void>;
}

/** How many listeners `options` asks for (1..16). */
export function listenerCount(options: ListenOptions): number {
  const count = options.count ?? (options.ports?.length || 2);
  if (!Number.isInteger(count) || count < 1 || count > 16) throw new RangeError(`${options.name}: listeners must be 1..16, got ${count}`);
  return count;
}

/** Starts `count` HTTP listeners on 127.0.0.1. */
export async function listen(options: ListenOptions, handlers: ListenHandlers): Promise<BoundListeners> {
  const count = listenerCount(options);
  const servers: Server[] = [];
  const urls: string[] = [];
  const upgraded = new Set<Socket>();

  const start = (index: number): Promise<void> => {
    const server = createServer((req, res) => handlers.request(req, res, index));
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      if (handlers.upgrade === undefined) {
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
        return;
      }
      handlers.upgrade(req, socket, head, index);
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
            for (const socket of upgraded) socket.destroy();
          }),
      ),
    ).then(() => undefined);
    return closed;
  };

  try {
    for (let i = 0; i < count; i += 1) await start(i);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    urls,
    track: (socket) => {
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
    },
    close,
  };
}

/** A fault one listener can be told to show (the listener-wide subset of {@link Fault}). */
export type ListenerFault = Exclude<Fault, 'lostResponse'>;

/** Listeners with a plain request handler and per-listener faults. */
export interface Listeners {
  /** `http://127.0.0.1:<port>`, one per listener. */
  urls: string[];
  /** Makes listener `index` show `fault` from now on; `null` heals it. */
  setFault(index: number, fault: ListenerFault | null): void;
  /** Stops every listener, cutting held and idle connections. */
  close(): Promise<void>;
}

/**
 * Starts listeners passing requests to `handle` unless a fault is set on
 * theirs: for a devnet that routes requests itself. Devnets built on the
 * kit's routers use `startDevnetServer` (server.ts) instead, which also
 * faults per method or route and speaks WebSocket. An error `handle` throws
 * is a devnet bug: answered 500.
 */
export async function startListeners(
  options: ListenOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
): Promise<Listeners> {
  const faults = new Faults(listenerCount(options), options.name);
  const bound = await listen(options, {
    request(req, res, index) {
      const fault = faults.take(index, undefined);
      if (fault !== null && fault !== 'lostResponse') return sendFault(req, res, fault);
      Promise.resolve()
        .then(() => handle(req, res))
        .catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: `devnet bug: ${error instanceof Error ? error.message : String(error)}` });
          else res.destroy();
        });
    },
  });
  return { urls: bound.urls, setFault: (index, fault) => faults.setListenerFault(index, fault), close: bound.close };
}
