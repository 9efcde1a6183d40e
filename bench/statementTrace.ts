import type pg from 'pg';

/** Time spent in one kind of statement, keyed by its opening words. */
export interface StatementCost {
  statement: string;
  calls: number;
  seconds: number;
}

export interface StatementTrace {
  /** Starts collecting; forgets what was collected before. */
  start(): void;
  /** Stops collecting and returns the costs, most expensive first. */
  stop(): StatementCost[];
}

const LABEL_LENGTH = 72;

function labelOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > LABEL_LENGTH ? `${flat.slice(0, LABEL_LENGTH - 1)}…` : flat;
}

type Query = (...args: unknown[]) => unknown;

interface Submittable {
  text?: string;
  submit: unknown;
  on(event: string, listener: () => void): unknown;
}

function isSubmittable(value: unknown): value is Submittable {
  return typeof value === 'object' && value !== null && typeof (value as Submittable).submit === 'function' && typeof (value as Submittable).on === 'function';
}

/**
 * Times every statement the code under test sends through `pool`, without
 * touching that code: each client is wrapped when first checked out. A
 * streaming COPY is timed until its stream finishes, so it includes the time
 * Node takes to produce the rows.
 */
export function traceStatements(pool: pg.Pool): StatementTrace {
  const costs = new Map<string, StatementCost>();
  let on = false;
  const wrapped = new WeakSet<pg.PoolClient>();

  function record(label: string, startedAt: number): void {
    if (!on) return;
    const seconds = (performance.now() - startedAt) / 1000;
    const cost = costs.get(label) ?? { statement: label, calls: 0, seconds: 0 };
    cost.calls += 1;
    cost.seconds += seconds;
    costs.set(label, cost);
  }

  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const original = client.query.bind(client) as Query;
    (client as unknown as { query: Query }).query = (...args: unknown[]) => {
      const first = args[0] as string | Submittable | { text?: string } | undefined;
      const startedAt = performance.now();
      const result = original(...args);
      if (isSubmittable(first)) {
        // A streaming COPY (pg-copy-streams): done when its stream is.
        const label = labelOf(first.text ?? first.constructor.name);
        let done = false;
        const finish = () => {
          if (!done) record(label, startedAt);
          done = true;
        };
        first.on('finish', finish);
        first.on('error', finish);
        return result;
      }
      const text = typeof first === 'string' ? first : first?.text;
      if (typeof text === 'string' && result instanceof Promise) {
        const label = labelOf(text);
        return result.finally(() => record(label, startedAt));
      }
      return result;
    };
  });

  return {
    start() {
      costs.clear();
      on = true;
    },
    stop() {
      on = false;
      return [...costs.values()].sort((a, b) => b.seconds - a.seconds);
    },
  };
}
