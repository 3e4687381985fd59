/**
 * Event-loop delay: how late a timer fires, sampled every `interval` ms.
 * A node whose loop is blocked (a long synchronous computation, a flood of
 * microtasks) answers its peers' ticks late; this is the figure that shows
 * it. Sampling runs only while someone asked for it (the observer or the
 * metrics endpoint), so a node nobody watches pays nothing.
 *
 * @example
 * ```ts
 * import { EventLoopDelay } from "./event_loop.ts";
 * const d = new EventLoopDelay(5);
 * d.start();
 * await new Promise((r) => setTimeout(r, 30));
 * d.stop();
 * console.assert(d.stats().samples > 0 && d.stats().maxMs >= 0);
 * ```
 *
 * @module
 */

/** Event-loop delay figures over the last window of samples. */
export interface EventLoopDelayStats {
  /** Mean lateness in milliseconds. */
  meanMs: number;
  /** Largest lateness in milliseconds. */
  maxMs: number;
  /** Samples in the window. */
  samples: number;
}

/** Samples how late a repeating timer fires; keeps the last `window` samples. */
export class EventLoopDelay {
  readonly #interval: number;
  readonly #window: number;
  #samples: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;

  /**
   * @param interval milliseconds between samples (default 100)
   * @param window samples kept (default 50, five seconds at the default interval)
   * @throws {RangeError} when either is not a positive integer
   */
  constructor(interval = 100, window = 50) {
    if (!Number.isInteger(interval) || interval < 1) {
      throw new RangeError(`Invalid event-loop sample interval: ${interval}`);
    }
    if (!Number.isInteger(window) || window < 1) {
      throw new RangeError(`Invalid event-loop sample window: ${window}`);
    }
    this.#interval = interval;
    this.#window = window;
  }

  /** Whether it samples now. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts sampling (again); does nothing while it runs. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#samples.push(Math.max(0, now - this.#last - this.#interval));
      if (this.#samples.length > this.#window) this.#samples.shift();
      this.#last = now;
    }, this.#interval);
  }

  /** Stops sampling; the figures so far stay readable. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The figures of the samples kept. */
  stats(): EventLoopDelayStats {
    const s = this.#samples;
    if (s.length === 0) return { meanMs: 0, maxMs: 0, samples: 0 };
    let sum = 0;
    let max = 0;
    for (const x of s) {
      sum += x;
      if (x > max) max = x;
    }
    return { meanMs: sum / s.length, maxMs: max, samples: s.length };
  }
}
