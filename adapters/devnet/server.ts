/**
 * A devnet's endpoints: JSON-RPC 2.0 (POST, and over WebSocket with
 * subscriptions) and REST routes on several HTTP listeners, with faults
 * injectable per listener, per method or route, or both (faults.ts).
 *
 * Order of a request: the listener-wide fault, the body (at most
 * `maxBodyBytes`, else 413), a REST route if one matches (with its route
 * fault), else JSON-RPC on `jsonRpcPath` (with the fault of any method the
 * body calls; a batch takes the first). A handler that throws
 * {@link ResponseLost} has done its work and the connection is cut before
 * the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { WebSocket, WebSocketServer, type RawData } from 'ws';

import { type Fault, Faults, ResponseLost } from './faults.js';
import { type JsonRpcRouter, JsonRpcSession, stringify } from './jsonRpc.js';
import { listen, listenerCount, type ListenerFault, sendFault, sendJson } from './listeners.js';
import type { RestResponse, RestRouter } from './rest.js';

/** Options of {@link startDevnetServer}. */
export interface DevnetServerOptions {
  /** Names the devnet in errors, e.g. `cosmos devnet`. */
  name: string;
  /** How many listeners, all serving the same chain. @defaultValue `ports.length`, else 2 */
  count?: number;
  /** Ports to listen on; missing or 0: any free port. */
  ports?: readonly number[];
  jsonRpc?: JsonRpcRouter;
  /** The path JSON-RPC is POSTed to. @defaultValue '/' */
  jsonRpcPath?: string;
  /** Paths on which a WebSocket upgrade speaks JSON-RPC (with subscriptions); [] for none. @defaultValue [jsonRpcPath] when `jsonRpc` is set */
  websocketPaths?: readonly string[];
  rest?: RestRouter;
  /** Larger bodies are answered 413. @defaultValue 4 MiB */
  maxBodyBytes?: number;
  /** The answer to a request no route takes. @defaultValue 404 (405 where only the method is wrong), JSON */
  fallback?(request: { method: string; path: string; listener: number }): RestResponse;
}

/** A running devnet server. */
export interface DevnetServer {
  /** `http://127.0.0.1:<port>`, one per listener. */
  readonly urls: string[];
  /** `ws://127.0.0.1:<port><first websocket path>`, one per listener (empty without WebSocket). */
  readonly wsUrls: string[];
  /** The fault table: `faults.inject({ listener, target }, fault, times)`. */
  readonly faults: Faults;
  /** Makes listener `index` show `fault` on every request from now on; `null` heals it. */
  setFault(index: number, fault: ListenerFault | null): void;
  /** Open WebSocket connections, across listeners. */
  connections(): number;
  /** Cuts every connection and stops the listeners. */
  close(): Promise<void>;
}

/** jsonrpsee's answer when it sheds load (`SERVER_IS_BUSY_CODE`, jsonrpsee `types/src/error.rs`). */
const SERVER_IS_BUSY = { code: -32009, message: 'Server is busy, try again later' };

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendRest(res: ServerResponse, response: RestResponse): void {
  const status = response.status ?? 200;
  if (response.raw !== undefined) {
    const bytes = typeof response.raw === 'string' ? Buffer.from(response.raw) : Buffer.from(response.raw);
    res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, ...response.headers });
    res.end(bytes);
    return;
  }
  sendJson(res, status, response.body ?? null, response.headers);
}

/** Starts the listeners of a devnet; see the module comment. */
export async function startDevnetServer(options: DevnetServerOptions): Promise<DevnetServer> {
  const jsonRpcPath = options.jsonRpcPath ?? '/';
  const websocketPaths = options.websocketPaths ?? (options.jsonRpc !== undefined ? [jsonRpcPath] : []);
  if (websocketPaths.length > 0 && options.jsonRpc === undefined) throw new Error(`${options.name}: WebSocket paths need a JSON-RPC router`);
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBody });
  const sockets = new Set<WebSocket>();
  const faults = new Faults(listenerCount(options), options.name);
  const faultsNow = (): Faults => faults;

  const fallback = (method: string, path: string, listener: number, methodNotAllowed: boolean): RestResponse =>
    options.fallback?.({ method, path, listener }) ??
    (methodNotAllowed ? { status: 405, body: { error: `${method} is not allowed on ${path}` } } : { status: 404, body: { error: `no route for ${method} ${path}` } });

  const serve = async (req: IncomingMessage, res: ServerResponse, listener: number): Promise<void> => {
    const listenerFault = faultsNow().take(listener, undefined);
    if (listenerFault !== null && listenerFault !== 'lostResponse') return sendFault(req, res, listenerFault);
    let lose = listenerFault === 'lostResponse';
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://devnet');
    const text = await readBody(req, maxBody);
    if (text === undefined) return sendJson(res, 413, { error: `request larger than ${maxBody} bytes` });
    const answer = (send: () => void): void => {
      if (lose) req.socket.destroy();
      else send();
    };
    const faulted = (fault: Fault | null): boolean => {
      if (fault === null) return false;
      if (fault === 'lostResponse') {
        lose = true;
        return false;
      }
      sendFault(req, res, fault);
      return true;
    };
    try {
      const match = options.rest?.match(method, url.pathname);
      if (match !== undefined && match !== 'methodNotAllowed') {
        if (faulted(faultsNow().take(listener, match.key))) return;
        const response = await match.handler({ method, path: url.pathname, params: match.params, query: url.searchParams, body: text, listener });
        return answer(() => sendRest(res, response));
      }
      if (options.jsonRpc !== undefined && url.pathname === jsonRpcPath && method === 'POST') {
        const router = options.jsonRpc;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          const reply = await router.handleText(text, { listener, transport: 'http' });
          return answer(() => sendJson(res, reply.status, reply.body));
        }
        for (const name of router.methodsOf(parsed)) {
          const fault = faultsNow().take(listener, name);
          if (fault === null) continue;
          if (faulted(fault)) return;
          break;
        }
        const reply = await router.handleParsed(parsed, { listener, transport: 'http' });
        // Only notifications: JSON-RPC 2.0 sends nothing; over HTTP that is an empty 204.
        return answer(() => (reply.body === undefined ? void res.writeHead(204).end() : sendJson(res, reply.status, reply.body)));
      }
      const onRpcPath = options.jsonRpc !== undefined && url.pathname === jsonRpcPath;
      return answer(() => sendRest(res, fallback(method, url.pathname, listener, match === 'methodNotAllowed' || onRpcPath)));
    } catch (error) {
      if (error instanceof ResponseLost) return void req.socket.destroy();
      throw error;
    }
  };

  const onMessage = async (ws: WebSocket, session: JsonRpcSession, data: RawData, listener: number): Promise<void> => {
    const router = options.jsonRpc!;
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      const reply = await router.handleText(text, { listener, transport: 'ws' }, session);
      ws.send(stringify(reply.body));
      return;
    }
    let fault = faultsNow().take(listener, undefined);
    for (const name of fault === null ? router.methodsOf(parsed) : []) {
      fault = faultsNow().take(listener, name);
      if (fault !== null) break;
    }
    if (fault === 'reset') return void ws.terminate();
    if (fault === 'timeout') return;
    if (fault === 'http503' || fault === 'http429') {
      const requests = Array.isArray(parsed) ? parsed : [parsed];
      const busy = requests.map((r) => ({ jsonrpc: '2.0', id: (r as { id?: unknown } | null)?.id ?? null, error: SERVER_IS_BUSY }));
      ws.send(stringify(Array.isArray(parsed) ? busy : busy[0]));
      return;
    }
    session.hold();
    try {
      const reply = await router.handleParsed(parsed, { listener, transport: 'ws' }, session);
      if (fault !== 'lostResponse' && reply.body !== undefined && ws.readyState === WebSocket.OPEN) ws.send(stringify(reply.body));
    } catch (error) {
      if (!(error instanceof ResponseLost)) throw error;
    } finally {
      session.release();
    }
  };

  const bound = await listen(options, {
    request(req, res, listener) {
      serve(req, res, listener).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: `devnet bug: ${error instanceof Error ? error.message : String(error)}` });
        else res.destroy();
      });
    },
    upgrade(req, socket, head, listener) {
      const path = new URL(req.url ?? '/', 'http://devnet').pathname;
      if (!websocketPaths.includes(path)) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const fault = faultsNow().take(listener, undefined);
      if (fault === 'reset') return void socket.destroy();
      if (fault === 'timeout') return;
      if (fault === 'http503') return void socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      if (fault === 'http429') return void socket.end('HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        const session = new JsonRpcSession((message) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(message);
        });
        ws.on('message', (data) => {
          onMessage(ws, session, data, listener).catch(() => ws.terminate());
        });
        ws.on('close', () => {
          sockets.delete(ws);
          session.close();
        });
        ws.on('error', () => ws.terminate());
      });
    },
  });
  const table = faults;
  const wsPath = websocketPaths[0];
  return {
    urls: bound.urls,
    wsUrls: wsPath === undefined ? [] : bound.urls.map((u) => `${u.replace(/^http/, 'ws')}${wsPath === '/' ? '' : wsPath}`),
    faults: table,
    setFault: (index, fault) => table.setListenerFault(index, fault),
    connections: () => sockets.size,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      await bound.close();
      wss.close();
    },
  };
}
