/**
 * The reconnect schedule of a topology: exponential backoff with jitter,
 * capped. Attempt 0 waits `initial`, each later one twice as long as the
 * one before, never more than `max`; each delay is spread by ±`jitter`
 * so that nodes that lost the same peer do not all dial it in the same
 * millisecond.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * const b = new Backoff({ initial: 100, max: 1000, jitter: 0 });
 * console.assert(b.delay(0) === 100 && b.delay(3) === 800 && b.delay(10) === 1000);
 * ```
 *
 * @module
 */

/** Options for {@linkcode Backoff}. */
export interface BackoffOptions {
  /** Milliseconds before the first attempt after a loss. Default 100. */
  initial?: number;
  /** The longest wait between two attempts, in milliseconds. Default 5000. */
  max?: number;
  /** Spread of each delay, a fraction in [0, 1). Default 0.2. */
  jitter?: number;
}

/**
 * An exponential backoff schedule.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * const b = new Backoff({ initial: 50, max: 400 });
 * const d = b.delay(1);
 * console.assert(d >= 80 && d <= 120);
 * ```
 */
export class Backoff {
  /** Milliseconds before the first attempt. */
  readonly initial: number;
  /** The cap, in milliseconds. */
  readonly max: number;
  /** Spread of each delay. */
  readonly jitter: number;

  /**
   * @param options initial delay, cap and jitter
   * @throws {RangeError} when a value is out of range (`initial` > `max` included)
   */
  constructor(options: BackoffOptions = {}) {
    this.initial = options.initial ?? 100;
    this.max = options.max ?? Math.max(5000, this.initial);
    this.jitter = options.jitter ?? 0.2;
    if (!(Number.isFinite(this.initial) && this.initial >= 0)) {
      throw new RangeError(
        `Invalid backoff: initial must be a number of milliseconds >= 0, received ${this.initial}`,
      );
    }
    if (!(Number.isFinite(this.max) && this.max >= this.initial && this.max > 0)) {
      throw new RangeError(
        `Invalid backoff: max must be > 0 and >= initial (${this.initial}), received ${this.max}`,
      );
    }
    if (!(this.jitter >= 0 && this.jitter < 1)) {
      throw new RangeError(`Invalid backoff: jitter must be in [0, 1), received ${this.jitter}`);
    }
  }

  /**
   * The wait before attempt `attempt` (0 is the first after a loss).
   *
   * @param attempt how many attempts failed since the last success
   * @returns milliseconds
   */
  delay(attempt: number): number {
    const base = Math.min(this.max, this.initial * 2 ** Math.min(attempt, 40));
    if (this.jitter === 0) return base;
    const spread = base * this.jitter;
    return Math.round(base - spread + Math.random() * 2 * spread);
  }
}
