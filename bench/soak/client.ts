/**
 * The exchange of a soak run: streams users' deposits and withdrawals
 * through `POST /v1/balance-changes`, one request in flight, as an exchange
 * would report them. A request that fails without an answer (or with a 5xx)
 * is sent again with the same ids, which the API takes once; a refusal (4xx)
 * is counted and the client moves on. Withdrawals never take a user below
 * what the client itself deposited, so none is refused for that.
 */
import { Rng } from './schedule.js';

export interface ClientAsset {
  symbol: string;
  /** One whole token, base units. */
  unit: bigint;
}

export interface ClientStats {
  requests: number;
  accepted: number;
  duplicates: number;
  refused: number;
  /** Answers that were 5xx or no answer at all (each retried). */
  errors: number;
  /** Latency of every answered request, ms. */
  latencies: number[];
  /** Net deposits accepted per asset, base units. */
  net: Map<string, bigint>;
}

export interface ClientOptions {
  baseUrl: string;
  token: string;
  assets: readonly ClientAsset[];
  users: number;
  seed: number;
  /** Whole tokens each user deposits first, per asset. */
  openingTokens: bigint;
  /** A user's balance never goes above this many whole tokens (so the custody's funding covers every deposit). */
  maxTokens: bigint;
  /** Pause between requests, ms. @defaultValue 100 */
  gapMs?: number;
}

export class BalanceClient {
  readonly stats: ClientStats = { requests: 0, accepted: 0, duplicates: 0, refused: 0, errors: 0, latencies: [], net: new Map() };
  readonly refusals: string[] = [];
  private readonly balances = new Map<string, bigint>();
  private readonly rng: Rng;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private nextId = 0;

  constructor(private readonly o: ClientOptions) {
    this.rng = new Rng(o.seed).fork('client');
  }

  private user(i: number): string {
    return `soak-user-${String(i).padStart(3, '0')}`;
  }

  /** Sends one batch until it is answered; true when the ledger took it. */
  private async send(changes: { id: string; user: string; asset: string; delta: string; at: string }[]): Promise<boolean> {
    for (let attempt = 0; attempt < 20 && !this.stopped; attempt += 1) {
      const started = performance.now();
      this.stats.requests += 1;
      let status: number;
      let body: { inserted?: number; duplicates?: number; title?: string; detail?: string } = {};
      try {
        const response = await fetch(`${this.o.baseUrl}/v1/balance-changes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ changes }),
          signal: AbortSignal.timeout(15_000),
        });
        status = response.status;
        body = (await response.json().catch(() => ({}))) as typeof body;
        this.stats.latencies.push(performance.now() - started);
      } catch {
        status = 0;
      }
      if (status === 200) {
        this.stats.accepted += body.inserted ?? 0;
        this.stats.duplicates += body.duplicates ?? 0;
        return true;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        this.stats.refused += changes.length;
        if (this.refusals.length < 20) this.refusals.push(`${status} ${body.title ?? ''}: ${body.detail ?? ''}`);
        return false;
      }
      this.stats.errors += 1;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
    return false;
  }

  private async batch(opening: boolean): Promise<void> {
    const at = new Date().toISOString();
    const changes: { id: string; user: string; asset: string; delta: string; at: string }[] = [];
    const planned = new Map<string, bigint>();
    const users = opening ? [...Array(this.o.users).keys()] : Array.from({ length: this.rng.int(1, 8) }, () => this.rng.int(0, this.o.users - 1));
    for (const i of users) {
      for (const asset of opening ? this.o.assets : [this.rng.pick(this.o.assets)]) {
        const key = `${this.user(i)}/${asset.symbol}`;
        if (planned.has(key)) continue;
        const balance = this.balances.get(key) ?? 0n;
        let delta: bigint;
        if (opening) delta = this.o.openingTokens * asset.unit;
        else {
          // Up to 5 % of the room either way, in thousandths of a token.
          const step = asset.unit / 1000n;
          const deposit = this.rng.next() < 0.5;
          const room = deposit ? this.o.maxTokens * asset.unit - balance : balance;
          const most = room / 20n / step;
          if (most <= 0n) continue;
          const amount = (BigInt(Math.floor(this.rng.next() * Number(most))) + 1n) * step;
          delta = deposit ? amount : -amount;
        }
        planned.set(key, delta);
        this.nextId += 1;
        changes.push({ id: `soak-${this.o.seed}-${this.nextId}`, user: this.user(i), asset: asset.symbol, delta: delta.toString(), at });
      }
    }
    if (changes.length === 0) return;
    if (await this.send(changes)) {
      for (const c of changes) {
        const key = `${c.user}/${c.asset}`;
        this.balances.set(key, (this.balances.get(key) ?? 0n) + BigInt(c.delta));
        this.stats.net.set(c.asset, (this.stats.net.get(c.asset) ?? 0n) + BigInt(c.delta));
      }
    }
  }

  /** The opening deposits, one batch; throws when the API refuses them. */
  async open(): Promise<void> {
    await this.batch(true);
    if (this.stats.accepted === 0) throw new Error(`the opening deposits were refused: ${this.refusals.join('; ')}`);
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.batch(false);
        await new Promise((r) => setTimeout(r, this.o.gapMs ?? 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** The p-th percentile of `values` (nearest rank), or NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
