/**
 * Chain time for every devnet, with one meaning everywhere: `now()` is the
 * time the chain stamps on its next block, in integer milliseconds.
 *
 * - `frozen` (tests): time starts at `start` and moves only by `advance(ms)`,
 *   so nothing happens between two calls a test makes.
 * - `wall` (`softstake devnet`, wall-clock tests): time is `Date.now()` plus
 *   whatever `advance` added, so block times line up with the daemon's own
 *   clock and its distribution periods.
 *
 * `speedup` does not bend timestamps (a block stamped an hour ahead would
 * fall outside the period the daemon is closing); it tells the chain's
 * economy to run faster: {@link DevnetClock.accrual} is what a chain's reward
 * rule multiplies elapsed time by, and a chain with epochs shortens them by
 * the same factor.
 */

/** How chain time moves between `advance` calls. */
export type ClockMode = 'frozen' | 'wall';

/** Options of {@link DevnetClock}. */
export interface DevnetClockOptions {
  /** @defaultValue 'frozen' */
  mode?: ClockMode;
  /** Chain time at genesis, ms (the frozen clock's starting point). @defaultValue Date.now() */
  start?: number;
  /** How many times faster than chain time rewards accrue (`softstake devnet --speedup`). @defaultValue 1 */
  speedup?: number;
  /** Names the devnet in errors. @defaultValue 'devnet' */
  name?: string;
}

/** A devnet's clock; see the module comment. */
export class DevnetClock {
  readonly mode: ClockMode;
  readonly start: number;
  readonly speedup: number;
  private readonly name: string;
  private offset = 0;
  private readonly listeners = new Set<(now: number) => void>();

  constructor(options: DevnetClockOptions = {}) {
    this.name = options.name ?? 'devnet';
    this.mode = options.mode ?? 'frozen';
    if (this.mode !== 'frozen' && this.mode !== 'wall') throw new RangeError(`${this.name}: clock must be 'frozen' or 'wall', got ${String(this.mode)}`);
    this.start = options.start ?? Date.now();
    if (!Number.isSafeInteger(this.start) || this.start < 0) throw new RangeError(`${this.name}: clock start must be an integer ≥ 0 (ms), got ${this.start}`);
    this.speedup = options.speedup ?? 1;
    if (!Number.isSafeInteger(this.speedup) || this.speedup < 1) throw new RangeError(`${this.name}: speedup must be an integer ≥ 1, got ${this.speedup}`);
  }

  /** Chain time now, ms. */
  now(): number {
    return (this.mode === 'wall' ? Date.now() : this.start) + this.offset;
  }

  /** Moves chain time forward by `ms`, then tells every `onAdvance` listener (block producers make the blocks it covers). */
  advance(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`${this.name}: advance(ms) needs an integer ≥ 0, got ${ms}`);
    this.offset += ms;
    const now = this.now();
    for (const listener of this.listeners) listener(now);
  }

  /** Runs `listener` after every `advance`; returns the function that removes it. */
  onAdvance(listener: (now: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The reward-earning span of `ms` of chain time: `ms × speedup`. */
  accrual(ms: number): number {
    return ms * this.speedup;
  }
}
