/**
 * Block production on a {@link DevnetClock}: a block is due every `blockMs`
 * of chain time, and the producer makes the blocks that time has passed,
 * when asked (`catchUp`, before a devnet answers a request), after every
 * `advance`, and with the wall clock on a timer. What a block holds is the
 * chain's business: the producer calls `produce(time)`.
 *
 * With the frozen clock, `advance` may end with one block at the exact new
 * time (`blockAtAdvance`), so all the time a test moved is in blocks (a
 * chain that mints per elapsed time needs that). A chain may also make
 * blocks of its own between the due ones (one per transaction); the
 * producer counts from the latest block's time, whoever made it.
 */
import type { DevnetClock } from './clock.js';

/** Options of {@link BlockProducer}. */
export interface BlockProducerOptions {
  clock: DevnetClock;
  /** Chain time per block, ms. */
  blockMs: number;
  /** The latest block's time, ms. */
  headTime(): number;
  /** Makes one block at `time` (≥ the latest block's). */
  produce(time: number): void;
  /** With the frozen clock, end every `advance` with a block at the exact new time. @defaultValue false */
  blockAtAdvance?: boolean;
  /**
   * How often, with the wall clock, a timer makes the blocks due, real ms;
   * `null`: no timer, blocks are made only by `catchUp` and `advance` (a
   * chain that makes blocks on demand). @defaultValue min(blockMs, 1000)
   */
  tickMs?: number | null;
}

/** Makes a chain's blocks as its clock moves. */
export class BlockProducer {
  readonly clock: DevnetClock;
  readonly blockMs: number;
  private readonly options: BlockProducerOptions;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly unsubscribe: () => void;

  constructor(options: BlockProducerOptions) {
    if (!Number.isSafeInteger(options.blockMs) || options.blockMs < 1) throw new RangeError(`blockMs must be an integer ≥ 1, got ${options.blockMs}`);
    this.options = options;
    this.clock = options.clock;
    this.blockMs = options.blockMs;
    this.unsubscribe = this.clock.onAdvance(() => this.afterAdvance());
    const tickMs = options.tickMs === undefined ? Math.min(options.blockMs, 1000) : options.tickMs;
    if (this.clock.mode === 'wall' && tickMs !== null) {
      this.timer = setInterval(() => this.catchUp(), tickMs);
      this.timer.unref();
    }
  }

  /** Chain time now: the clock, never before the latest block. */
  now(): number {
    return Math.max(this.clock.now(), this.options.headTime());
  }

  /** Makes every block due by now. */
  catchUp(): void {
    const now = this.clock.now();
    const { headTime, produce } = this.options;
    for (let head = headTime(); head + this.blockMs <= now; head = headTime()) produce(head + this.blockMs);
  }

  private afterAdvance(): void {
    this.catchUp();
    if (this.clock.mode === 'frozen' && this.options.blockAtAdvance === true) {
      const now = this.clock.now();
      if (now > this.options.headTime()) this.options.produce(now);
    }
  }

  /** Stops the timer and stops following the clock. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe();
  }
}
