/**
 * A JSON-RPC 2.0 router for devnets: methods, batches, and subscriptions
 * with server-pushed notifications over WebSocket, as polkadot-sdk's
 * jsonrpsee server does them (`jsonrpsee` `core/src/server/subscription.rs`):
 * the subscribe call answers with a subscription id, each item arrives as
 * `{"jsonrpc":"2.0","method":<notification>,"params":{"subscription":<id>,"result":…}}`,
 * and the unsubscribe call takes the id and answers `true` (`false` for an
 * id it does not know). A subscription called over HTTP is refused with
 * `Internal error`, as jsonrpsee refuses it.
 *
 * The chain supplies its methods and, where its node words errors its own
 * way (nearcore's `HANDLER_ERROR` envelope, CometBFT's `data` strings), the
 * error bodies. No transport here: see `server.ts`.
 */
import { randomBytes } from 'node:crypto';

import { ResponseLost } from './faults.js';

/** A JSON-RPC error object (`code`, `message`, optional `data`, and whatever else the node adds). */
export type JsonRpcErrorBody = { code: number; message: string; data?: unknown } & Record<string, unknown>;

/** Thrown by a method: answered as this error object. */
export class JsonRpcError extends Error {
  constructor(readonly body: JsonRpcErrorBody) {
    super(`${body.message}${body.data === undefined ? '' : `: ${typeof body.data === 'string' ? body.data : JSON.stringify(body.data)}`}`);
  }
}

/** How a call arrived. */
export interface JsonRpcCall {
  method: string;
  /** The listener's index. */
  listener: number;
  transport: 'http' | 'ws';
}

/** A method: its result, or a thrown {@link JsonRpcError}. */
export type JsonRpcMethod = (params: unknown, call: JsonRpcCall) => unknown;

/** Where a subscription's items go. */
export interface SubscriptionSink {
  readonly id: string;
  /** Pushes one notification to the subscriber. */
  send(result: unknown): void;
}

/** A subscription, jsonrpsee style. */
export interface JsonRpcSubscription {
  /** e.g. `chain_subscribeNewHeads`. */
  subscribe: string;
  /** e.g. `chain_unsubscribeNewHeads`. */
  unsubscribe: string;
  /** The notification's `method`, e.g. `chain_newHead`. */
  notification: string;
  /**
   * Starts sending to `sink` (a first item may be sent at once, as Substrate
   * sends the current head); returns what stops it. Throw a
   * {@link JsonRpcError} to refuse the subscription.
   */
  start(params: unknown, sink: SubscriptionSink, call: JsonRpcCall): () => void;
}

/** One WebSocket connection's subscriptions; `server.ts` makes one per socket. */
export class JsonRpcSession {
  private readonly active = new Map<string, { notification: string; stop: () => void }>();
  private closed = false;
  private holds = 0;
  private held: string[] = [];

  constructor(private readonly push: (message: string) => void) {}

  /** Holds notifications back while a call is answered, so a subscription's first item follows its id. */
  hold(): void {
    this.holds += 1;
  }

  /** Ends a {@link hold}; sends what was held once none remains. */
  release(): void {
    this.holds -= 1;
    if (this.holds > 0) return;
    const held = this.held;
    this.held = [];
    for (const message of held) this.push(message);
  }

  private send(message: string): void {
    if (this.holds > 0) this.held.push(message);
    else this.push(message);
  }

  /** @internal */
  add(notification: string, start: (sink: SubscriptionSink) => () => void): string {
    const id = randomBytes(8).toString('hex');
    const sink: SubscriptionSink = {
      id,
      send: (result) => {
        if (this.closed || !this.active.has(id)) return;
        this.send(stringify({ jsonrpc: '2.0', method: notification, params: { subscription: id, result } }));
      },
    };
    // Registered before start, so an item sent at once reaches the subscriber (after the subscribe answer: see server.ts).
    this.active.set(id, { notification, stop: () => undefined });
    try {
      this.active.get(id)!.stop = start(sink);
    } catch (error) {
      this.active.delete(id);
      throw error;
    }
    return id;
  }

  /** @internal */
  remove(id: string, notification: string): boolean {
    const found = this.active.get(id);
    if (found?.notification !== notification) return false;
    this.active.delete(id);
    found.stop();
    return true;
  }

  /** The subscriptions open now. */
  get size(): number {
    return this.active.size;
  }

  /** Stops every subscription (the socket closed). */
  close(): void {
    this.closed = true;
    for (const { stop } of this.active.values()) stop();
    this.active.clear();
  }
}

/** Options of {@link JsonRpcRouter}. */
export interface JsonRpcRouterOptions {
  /** Names the devnet in errors. */
  name: string;
  /**
   * Whether a request without an `id` is a notification that gets no answer
   * (JSON-RPC 2.0, jsonrpsee). CometBFT answers every request.
   * @defaultValue true
   */
  notifications?: boolean;
  /** The `id` of an answer to a request without a usable one. @defaultValue null */
  missingId?: string | number | null;
  /** Whether a JSON array is a batch. @defaultValue true */
  batches?: boolean;
  /** The node's words for the standard errors; each defaults to JSON-RPC 2.0's. */
  errors?: {
    parse?(detail: string): JsonRpcErrorBody;
    invalidRequest?(detail: string): JsonRpcErrorBody;
    methodNotFound?(method: string): JsonRpcErrorBody;
    /** A method threw something else than a {@link JsonRpcError}: a devnet bug. */
    internal?(error: unknown): JsonRpcErrorBody;
  };
  /** HTTP status of an answer to an unparsable body. @defaultValue 200 */
  parseErrorStatus?: number;
}

type Id = string | number | null;

/** What the transport sends back: `undefined` for notifications only. */
export interface JsonRpcReply {
  status: number;
  body: unknown;
}

/** Writes JSON with bigints as decimal strings. */
export function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Methods and subscriptions of one devnet. */
export class JsonRpcRouter {
  private readonly methods = new Map<string, JsonRpcMethod>();
  private readonly subscriptions = new Map<string, { spec: JsonRpcSubscription; kind: 'subscribe' | 'unsubscribe' }>();

  constructor(readonly options: JsonRpcRouterOptions) {}

  /** Registers a method. */
  method(name: string, handler: JsonRpcMethod): this {
    if (this.methods.has(name) || this.subscriptions.has(name)) throw new Error(`${this.options.name}: JSON-RPC method ${name} registered twice`);
    this.methods.set(name, handler);
    return this;
  }

  /** Registers a subscription's subscribe and unsubscribe methods. */
  subscription(spec: JsonRpcSubscription): this {
    for (const name of [spec.subscribe, spec.unsubscribe]) {
      if (this.methods.has(name) || this.subscriptions.has(name)) throw new Error(`${this.options.name}: JSON-RPC method ${name} registered twice`);
    }
    this.subscriptions.set(spec.subscribe, { spec, kind: 'subscribe' });
    this.subscriptions.set(spec.unsubscribe, { spec, kind: 'unsubscribe' });
    return this;
  }

  /** Every method name, subscriptions included, sorted. */
  names(): string[] {
    return [...this.methods.keys(), ...this.subscriptions.keys()].sort();
  }

  /** The method names a parsed body calls (for per-method faults); empty when it is not a request. */
  methodsOf(body: unknown): string[] {
    const list = Array.isArray(body) && (this.options.batches ?? true) ? body : [body];
    return list.flatMap((r) => (r !== null && typeof r === 'object' && typeof (r as { method?: unknown }).method === 'string' ? [(r as { method: string }).method] : []));
  }

  private errorBody(kind: 'parse' | 'invalidRequest' | 'methodNotFound', detail: string): JsonRpcErrorBody {
    const custom = this.options.errors?.[kind];
    if (custom !== undefined) return custom(detail);
    if (kind === 'parse') return { code: -32700, message: 'Parse error', data: detail };
    if (kind === 'invalidRequest') return { code: -32600, message: 'Invalid Request', data: detail };
    return { code: -32601, message: 'Method not found', data: detail };
  }

  private internal(error: unknown): JsonRpcErrorBody {
    const custom = this.options.errors?.internal;
    if (custom !== undefined) return custom(error);
    return { code: -32603, message: 'Internal error', data: `devnet bug: ${error instanceof Error ? error.message : String(error)}` };
  }

  /** Answers one request object; `undefined` for a notification. Errors a method throws become error answers; a `ResponseLost` passes through. */
  async call(request: unknown, transport: Omit<JsonRpcCall, 'method'>, session?: JsonRpcSession): Promise<Record<string, unknown> | undefined> {
    const r = (request !== null && typeof request === 'object' && !Array.isArray(request) ? request : {}) as { id?: unknown; method?: unknown; params?: unknown };
    const hasId = 'id' in r;
    const id: Id = typeof r.id === 'string' || typeof r.id === 'number' || (r.id === null && hasId) ? (r.id as Id) : (this.options.missingId ?? null);
    const notification = !hasId && (this.options.notifications ?? true);
    const fail = (body: JsonRpcErrorBody): Record<string, unknown> | undefined => (notification ? undefined : { jsonrpc: '2.0', id, error: body });
    if (typeof r.method !== 'string') return fail(this.errorBody('invalidRequest', 'method is required'));
    const call: JsonRpcCall = { ...transport, method: r.method };
    try {
      const result = await this.invoke(call, r.params, session);
      return notification ? undefined : { jsonrpc: '2.0', id, result };
    } catch (error) {
      if (error instanceof JsonRpcError) return fail(error.body);
      if (error instanceof ResponseLost) throw error;
      return fail(this.internal(error));
    }
  }

  private async invoke(call: JsonRpcCall, params: unknown, session: JsonRpcSession | undefined): Promise<unknown> {
    const method = this.methods.get(call.method);
    if (method !== undefined) return await method(params, call);
    const sub = this.subscriptions.get(call.method);
    if (sub === undefined) throw new JsonRpcError(this.errorBody('methodNotFound', call.method));
    // Over HTTP there is no connection to push on: jsonrpsee answers a subscription call
    // with a bare InternalError (jsonrpsee `server/src/transport/http.rs`, "Subscriptions not supported on HTTP").
    if (session === undefined) throw new JsonRpcError({ code: -32603, message: 'Internal error' });
    if (sub.kind === 'subscribe') return session.add(sub.spec.notification, (sink) => sub.spec.start(params, sink, call));
    const id = Array.isArray(params) ? params[0] : params;
    if (typeof id !== 'string') throw new JsonRpcError({ code: -32602, message: 'Invalid params', data: 'expected the subscription id' });
    return session.remove(id, sub.spec.notification);
  }

  /** Answers a request body (text): one request or a batch. `body` undefined: nothing to send (only notifications). */
  async handleText(text: string, transport: Omit<JsonRpcCall, 'method'>, session?: JsonRpcSession): Promise<JsonRpcReply> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const body = { jsonrpc: '2.0', id: this.options.missingId ?? null, error: this.errorBody('parse', error instanceof Error ? error.message : String(error)) };
      return { status: this.options.parseErrorStatus ?? 200, body };
    }
    return this.handleParsed(parsed, transport, session);
  }

  /** As {@link handleText}, for a body already parsed. */
  async handleParsed(parsed: unknown, transport: Omit<JsonRpcCall, 'method'>, session?: JsonRpcSession): Promise<JsonRpcReply> {
    if (Array.isArray(parsed) && (this.options.batches ?? true)) {
      if (parsed.length === 0) return { status: 200, body: { jsonrpc: '2.0', id: null, error: this.errorBody('invalidRequest', 'empty batch') } };
      const answers: Record<string, unknown>[] = [];
      for (const request of parsed) {
        const answer = await this.call(request, transport, session);
        if (answer !== undefined) answers.push(answer);
      }
      return { status: 200, body: answers.length > 0 ? answers : undefined };
    }
    return { status: 200, body: await this.call(parsed, transport, session) };
  }
}
