/**
 * A devnet's mempool: transactions the chain has accepted (CheckTx passed)
 * and not yet put in a block, the inclusion timer, the `onIncluded` hook,
 * and the transaction faults a test can arm for the next new transaction:
 *
 * - `dropNext`: accepted and answered as accepted, then lost (as when a node
 *   restarts): nothing of it remains; the same bytes sent again land;
 * - `failNext`: included, and fails on chain (fee charged, nonce used,
 *   nothing else happens): the chain checks {@link MempoolEntry.fail};
 * - `delayNext(ms)`: kept out of blocks for `ms` of real time (the adapter
 *   waits in real time, whatever the chain's clock does);
 * - `loseNextResponse`: included, but the answer to the request that sent
 *   it is lost: the chain checks {@link MempoolEntry.loseResponse} and
 *   throws `ResponseLost`.
 *
 * Arming several flags of one kind faults that many new transactions.
 */

/** A transaction in the mempool. */
export interface MempoolEntry<T> {
  hash: string;
  tx: T;
  /** Fail it on chain when it is included. */
  fail: boolean;
  /** Lose the answer to the request that sent it. */
  loseResponse: boolean;
  /** Real time (Date.now()) before which no block includes it. */
  readyAt: number;
}

/** Options of {@link Mempool}. */
export interface MempoolOptions {
  /**
   * Real ms between a transaction's acceptance and the block that includes
   * it; `null`: the chain includes transactions itself (NEAR answers
   * `send_tx` with the outcome, so it includes at once). @defaultValue null
   */
  inclusionDelayMs?: number | null;
  /** Makes a block of the ready transactions ({@link Mempool.takeReady}); called by the inclusion timer. */
  include?(): void;
}

/** See the module comment. `I` is what the chain tells `onIncluded` about an included transaction. */
export class Mempool<T, I = unknown> {
  private queue: MempoolEntry<T>[] = [];
  private armed = { drop: 0, fail: 0, lose: 0, delays: [] as number[] };
  private hook: ((tx: I) => void | Promise<void>) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires, Date.now() ms. */
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly options: MempoolOptions = {}) {}

  /** The next new transaction is accepted and lost. */
  dropNext(): void {
    this.armed.drop += 1;
  }

  /** The next new transaction is included and fails. */
  failNext(): void {
    this.armed.fail += 1;
  }

  /** The next new transaction waits `ms` (real time) before a block may include it. */
  delayNext(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`delayNext(ms) needs an integer ≥ 0, got ${ms}`);
    this.armed.delays.push(ms);
  }

  /** The next new transaction is included and the answer to its request is lost. */
  loseNextResponse(): void {
    this.armed.lose += 1;
  }

  /** Runs `hook` for every included transaction (see {@link notifyIncluded}); `null` removes it. */
  onIncluded(hook: ((tx: I) => void | Promise<void>) | null): void {
    this.hook = hook ?? undefined;
  }

  /**
   * Takes an accepted transaction, consuming the armed faults: `undefined`
   * when it is dropped, else its entry, queued for inclusion.
   */
  add(hash: string, tx: T): MempoolEntry<T> | undefined {
    if (this.armed.drop > 0) {
      this.armed.drop -= 1;
      return undefined;
    }
    const fail = this.armed.fail > 0;
    if (fail) this.armed.fail -= 1;
    const loseResponse = this.armed.lose > 0;
    if (loseResponse) this.armed.lose -= 1;
    const delay = this.armed.delays.shift() ?? 0;
    const entry: MempoolEntry<T> = { hash, tx, fail, loseResponse, readyAt: Date.now() + delay };
    this.queue.push(entry);
    this.schedule();
    return entry;
  }

  /** Whether a transaction with this hash waits in the mempool. */
  has(hash: string): boolean {
    return this.queue.some((e) => e.hash === hash);
  }

  /** Every waiting transaction, in order of acceptance. */
  entries(): readonly MempoolEntry<T>[] {
    return this.queue;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Removes and returns the transactions a block may include now, in order of acceptance. */
  takeReady(now = Date.now()): MempoolEntry<T>[] {
    if (this.queue.length === 0) return [];
    const ready = this.queue.filter((e) => e.readyAt <= now);
    if (ready.length === this.queue.length) this.queue = [];
    else if (ready.length > 0) this.queue = this.queue.filter((e) => e.readyAt > now);
    if (this.queue.length > 0) this.schedule();
    return ready;
  }

  /** Removes a transaction (the chain includes it itself). */
  remove(hash: string): void {
    this.queue = this.queue.filter((e) => e.hash !== hash);
  }

  /** Runs the `onIncluded` hook; the promise settles when it has (its errors are the test's, swallowed here). */
  notifyIncluded(tx: I): Promise<void> {
    const hook = this.hook;
    if (hook === undefined) return Promise.resolve();
    return Promise.resolve()
      .then(() => hook(tx))
      .catch(() => undefined);
  }

  /** Real ms until the earliest waiting transaction is ready; undefined when none waits. */
  private nextReadyIn(): number | undefined {
    if (this.queue.length === 0) return undefined;
    let earliest = Infinity;
    for (const e of this.queue) earliest = Math.min(earliest, e.readyAt);
    return Math.max(0, earliest - Date.now());
  }

  private schedule(): void {
    const delay = this.options.inclusionDelayMs ?? null;
    const include = this.options.include;
    if (delay === null || include === undefined || this.closed) return;
    const wait = this.nextReadyIn();
    if (wait === undefined) return;
    const at = Date.now() + Math.max(delay, wait);
    // A timer set for a delayed transaction must not hold back one that is ready sooner.
    if (this.timer !== undefined) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      include();
      this.schedule();
    }, at - Date.now());
  }

  /** Stops the inclusion timer. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
