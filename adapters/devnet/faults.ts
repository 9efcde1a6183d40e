/**
 * The transport faults a test can inject into a devnet: per listener (one
 * endpoint of several, so the adapter's failover is exercised), per JSON-RPC
 * method or REST route, or both, for every request or for the next `times`.
 */

/** What a faulted request sees. */
export type Fault =
  /** HTTP 503 (over WebSocket: a JSON-RPC "server is busy" error). */
  | 'http503'
  /** HTTP 429 with `Retry-After: 1` (over WebSocket: a JSON-RPC "server is busy" error). */
  | 'http429'
  /** The request is taken and never answered (until the client gives up or the devnet closes). */
  | 'timeout'
  /** The connection is cut before the request is read. */
  | 'reset'
  /** The request is carried out, then the connection is cut before the answer: the client cannot know it happened. */
  | 'lostResponse';

/** Where a fault applies; an absent field matches everything. */
export interface FaultScope {
  /** The listener's index (`urls[i]`). */
  listener?: number;
  /** A JSON-RPC method name, or a REST route as registered (`GET /v1/accounts/:address`). */
  target?: string;
}

interface Rule extends FaultScope {
  fault: Fault;
  /** Requests left to fault; undefined: until removed. */
  remaining: number | undefined;
}

/** Thrown by a devnet handler to cut the connection after doing the work (a lost response). */
export class ResponseLost extends Error {
  constructor() {
    super('devnet: the response is lost (injected fault)');
  }
}

/** A listener's rate limit: at most `requests` per `perMs` (a fixed window of real time). */
interface RateLimit {
  requests: number;
  perMs: number;
  windowStart: number;
  used: number;
  refused: number;
}

/** The fault table of one devnet. Newest rule first. */
export class Faults {
  private rules: Rule[] = [];
  private readonly limits = new Map<number, RateLimit>();

  constructor(private readonly listenerCount: number, private readonly name: string) {}

  /**
   * Faults requests in `scope` from now on (or the next `times` of them);
   * returns the function that removes this rule.
   */
  inject(scope: FaultScope, fault: Fault, times?: number): () => void {
    if (scope.listener !== undefined && (!Number.isInteger(scope.listener) || scope.listener < 0 || scope.listener >= this.listenerCount)) {
      throw new RangeError(`${this.name}: no listener ${scope.listener} (have ${this.listenerCount})`);
    }
    if (times !== undefined && (!Number.isSafeInteger(times) || times < 1)) throw new RangeError(`${this.name}: fault times must be an integer ≥ 1, got ${times}`);
    const rule: Rule = { ...scope, fault, remaining: times };
    this.rules.unshift(rule);
    return () => {
      this.rules = this.rules.filter((r) => r !== rule);
    };
  }

  /** Listener `index` shows `fault` on every request from now on; `null` heals it (removes its listener-wide rules). */
  setListenerFault(index: number, fault: Fault | null): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.listenerCount) throw new RangeError(`${this.name}: no listener ${index} (have ${this.listenerCount})`);
    this.rules = this.rules.filter((r) => !(r.listener === index && r.target === undefined));
    if (fault !== null) this.inject({ listener: index }, fault);
  }

  /**
   * Listener `index` serves at most `requests` requests per `perMs` of real
   * time and answers the rest 429 (with `Retry-After`), as a public RPC
   * provider's rate limiter does; `null` lifts it.
   * @returns a function that tells how many requests it refused so far.
   */
  rateLimit(index: number, limit: { requests: number; perMs: number } | null): () => number {
    if (!Number.isInteger(index) || index < 0 || index >= this.listenerCount) throw new RangeError(`${this.name}: no listener ${index} (have ${this.listenerCount})`);
    if (limit === null) {
      this.limits.delete(index);
      return () => 0;
    }
    if (!Number.isSafeInteger(limit.requests) || limit.requests < 0 || !Number.isSafeInteger(limit.perMs) || limit.perMs < 1) {
      throw new RangeError(`${this.name}: a rate limit needs integer requests ≥ 0 and perMs ≥ 1`);
    }
    const state: RateLimit = { ...limit, windowStart: Date.now(), used: 0, refused: 0 };
    this.limits.set(index, state);
    return () => state.refused;
  }

  /** Removes every rule and rate limit. */
  clear(): void {
    this.rules = [];
    this.limits.clear();
  }

  /**
   * The fault for a request on `listener` (for `target`, once it is known),
   * counting it against a rule with `times`. Listener-wide rules match before
   * the target is known (`target` undefined); targeted rules only with it.
   */
  take(listener: number, target: string | undefined): Fault | null {
    const limit = target === undefined ? this.limits.get(listener) : undefined;
    if (limit !== undefined) {
      const now = Date.now();
      if (now - limit.windowStart >= limit.perMs) {
        limit.windowStart = now;
        limit.used = 0;
      }
      if (limit.used >= limit.requests) {
        limit.refused += 1;
        return 'http429';
      }
      limit.used += 1;
    }
    for (const rule of this.rules) {
      if (rule.listener !== undefined && rule.listener !== listener) continue;
      if (target === undefined ? rule.target !== undefined : rule.target !== target) continue;
      if (rule.remaining !== undefined) {
        rule.remaining -= 1;
        if (rule.remaining === 0) this.rules = this.rules.filter((r) => r !== rule);
      }
      return rule.fault;
    }
    return null;
  }
}
