/**
 * A circuit breaker per node for rpc calls (the seed's "prefer circuit
 * breakers"): a node that keeps failing is not called for a while, so
 * callers fail fast instead of each waiting out a timeout, and the node is
 * not hammered while it recovers.
 *
 * ```
 * closed --N failures within window--> open --resetAfter ms--> half_open
 *   ^                                    ^                        | one probe call
 *   +------------- probe succeeds -------|------------------------+
 *                                        +---- probe fails -------+
 * ```
 *
 * Only failures of the node count: no connection, no answer in time. A
 * function that threw there is an answer (the node works), so it counts as
 * a success. A pure state machine with an injected clock; the rpc service
 * holds one per node it calls.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "./circuit_breaker.ts";
 * let now = 0;
 * const b = new CircuitBreaker({ failures: 2, windowMs: 1000, resetAfterMs: 500 }, () => now);
 * b.failure(); b.failure();
 * console.assert(b.state === "open" && !b.allow());
 * now = 600;
 * console.assert(b.allow() && b.state === "half_open" && !b.allow()); // one probe
 * b.success();
 * console.assert(b.state === "closed");
 * ```
 *
 * @module
 */

/** The states of a breaker. */
export type CircuitState = "closed" | "open" | "half_open";

/** Settings of a breaker (`NodeOptions.circuitBreaker`). */
export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open it. Default 5. */
  failures?: number;
  /** The window failures are counted in, ms. Default 10000. */
  windowMs?: number;
  /** How long it stays open before a probe call may go, ms. Default 5000. */
  resetAfterMs?: number;
}

/** What the observer shows of a breaker. */
export interface CircuitInfo {
  /** The node called. */
  node: string;
  /** Its state. */
  state: CircuitState;
  /** Failures in the current window. */
  failures: number;
  /** While open: ms until a probe may go. */
  retryInMs: number;
}

/**
 * Checks breaker settings.
 *
 * @throws {RangeError} when a setting is not a positive integer
 */
export function checkCircuitOptions(
  options: CircuitBreakerOptions,
): Required<CircuitBreakerOptions> {
  const out = {
    failures: options.failures ?? 5,
    windowMs: options.windowMs ?? 10_000,
    resetAfterMs: options.resetAfterMs ?? 5_000,
  };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `Invalid circuit breaker ${k}: expected a positive integer, received ${v}`,
      );
    }
  }
  return out;
}

/** One node's breaker. */
export class CircuitBreaker {
  readonly #options: Required<CircuitBreakerOptions>;
  readonly #now: () => number;
  #state: CircuitState = "closed";
  #failures: number[] = [];
  #openedAt = 0;
  #probing = false;

  /**
   * @param options thresholds
   * @param now the clock, ms (default `performance.now`)
   * @throws {RangeError} when a setting is not a positive integer
   */
  constructor(options: CircuitBreakerOptions = {}, now: () => number = () => performance.now()) {
    this.#options = checkCircuitOptions(options);
    this.#now = now;
  }

  /** The state now (an open breaker past its reset time reads half-open). */
  get state(): CircuitState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#options.resetAfterMs) {
      return "half_open";
    }
    return this.#state;
  }

  /** The thresholds. */
  get options(): Readonly<Required<CircuitBreakerOptions>> {
    return this.#options;
  }

  /** Ms until a probe may go (0 unless open). */
  get retryInMs(): number {
    return this.#state === "open"
      ? Math.max(0, this.#options.resetAfterMs - (this.#now() - this.#openedAt))
      : 0;
  }

  /** Failures counted in the window now. */
  get failures(): number {
    this.#prune();
    return this.#failures.length;
  }

  /** Whether a call may go now; in half-open state, only one probe at a time. */
  allow(): boolean {
    switch (this.state) {
      case "closed":
        return true;
      case "open":
        return false;
      case "half_open":
        if (this.#probing) return false;
        this.#state = "half_open";
        this.#probing = true;
        return true;
    }
  }

  /** A call got its answer. */
  success(): void {
    this.#probing = false;
    this.#failures = [];
    this.#state = "closed";
  }

  /** A call found the node unreachable or silent. */
  failure(): void {
    const now = this.#now();
    if (this.#state === "half_open") {
      this.#probing = false;
      this.#open(now);
      return;
    }
    if (this.#state === "open") return;
    this.#failures.push(now);
    this.#prune();
    if (this.#failures.length >= this.#options.failures) this.#open(now);
  }

  #open(now: number): void {
    this.#state = "open";
    this.#openedAt = now;
    this.#failures = [];
  }

  #prune(): void {
    const since = this.#now() - this.#options.windowMs;
    while (this.#failures.length > 0 && this.#failures[0]! <= since) this.#failures.shift();
  }
}
