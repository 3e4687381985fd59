/**
 * The causal context of a dot store: every *dot* `(replica, n)` (the
 * replica's n-th event) a state has seen, whether or not it still holds
 * what the dot made.
 *
 * It is kept compact: per replica a contiguous counter (`1..n` seen) plus a
 * *cloud* of dots seen beyond it, folded into the counter as soon as the gap
 * closes. A dot store joined under its context needs no tombstones: an
 * element one side holds and the other side has seen but no longer holds
 * was removed, and the context that says so stays as small as the number of
 * replicas (plus the few dots that arrived out of order).
 *
 * ```
 * contains(ctx, (r, n))  =  n <= ctx.counter[r]  or  n ∈ ctx.cloud[r]
 * join(A, B)             =  the union of the dots seen, compacted
 * ```
 *
 * The observed-remove types of `src/crdt/` and presence's state
 * (`src/pubsub/presence_state.ts`) all keep their context in this one class.
 * Instances are mutable; a CRDT state that holds one never changes it after
 * building it (it copies first), so states can share contexts.
 *
 * @example
 * ```ts
 * import { CausalContext } from "./causal_context.ts";
 * const ctx = new CausalContext();
 * ctx.add("a", 1);
 * ctx.add("a", 3);
 * console.assert(ctx.contains("a", 1) && !ctx.contains("a", 2) && ctx.contains("a", 3));
 * ctx.add("a", 2);
 * console.assert(ctx.counter("a") === 3);
 * ```
 *
 * @module
 */

/** A dot: the `n`-th event of `replica` (`n >= 1`). */
export interface Dot {
  /** The replica that made the event. */
  readonly replica: string;
  /** Its number among that replica's events, from 1. */
  readonly n: number;
}

/** A causal context as it crosses the wire: `[[replica, n]...]` counters and `[[replica, [n...]]...]` cloud. */
export type CausalContextWire = [counters: [string, number][], cloud: [string, number[]][]];

/**
 * The dots a state has seen, compacted.
 *
 * @example
 * ```ts
 * import { CausalContext } from "./causal_context.ts";
 * const a = new CausalContext();
 * a.add("x", 1);
 * const b = new CausalContext();
 * b.add("y", 1);
 * a.join(b);
 * console.assert(a.contains("y", 1) && a.equals(CausalContext.fromWire(a.toWire())));
 * ```
 */
export class CausalContext {
  /** replica -> n: the dots 1..n have been seen. */
  #counters = new Map<string, number>();
  /** replica -> dots seen beyond the counter (never empty, never <= the counter). */
  #cloud = new Map<string, Set<number>>();

  /**
   * Whether the dot `(replica, n)` has been seen.
   *
   * @param replica the dot's replica
   * @param n the dot's number
   * @returns whether it is in the context
   */
  contains(replica: string, n: number): boolean {
    return (this.#counters.get(replica) ?? 0) >= n || (this.#cloud.get(replica)?.has(n) ?? false);
  }

  /**
   * The contiguous counter of a replica: dots `1..counter` have been seen.
   *
   * @param replica the replica
   * @returns its counter, 0 when none
   */
  counter(replica: string): number {
    return this.#counters.get(replica) ?? 0;
  }

  /**
   * The highest dot number seen of a replica (counter or cloud): a replica
   * makes its next event `max + 1`.
   *
   * @param replica the replica
   * @returns the highest number seen, 0 when none
   */
  max(replica: string): number {
    let n = this.#counters.get(replica) ?? 0;
    const dots = this.#cloud.get(replica);
    if (dots !== undefined) { for (const d of dots) if (d > n) n = d; }
    return n;
  }

  /**
   * Records the dot `(replica, n)` as seen.
   *
   * @param replica the dot's replica
   * @param n the dot's number (a positive safe integer)
   */
  add(replica: string, n: number): void {
    const counter = this.#counters.get(replica) ?? 0;
    if (n <= counter) return;
    if (n === counter + 1) {
      this.#counters.set(replica, n);
      if (this.#cloud.has(replica)) this.#compact(replica);
      return;
    }
    let dots = this.#cloud.get(replica);
    if (dots === undefined) this.#cloud.set(replica, dots = new Set());
    dots.add(n);
  }

  /**
   * Takes in every dot `other` has seen.
   *
   * @param other another context (unchanged)
   * @param skip replicas to leave out (pruned ones)
   */
  join(other: CausalContext, skip?: (replica: string) => boolean): void {
    for (const [replica, n] of other.#counters) {
      if (skip?.(replica)) continue;
      if (n > (this.#counters.get(replica) ?? 0)) {
        this.#counters.set(replica, n);
        if (this.#cloud.has(replica)) this.#compact(replica);
      }
    }
    for (const [replica, dots] of other.#cloud) {
      if (skip?.(replica)) continue;
      for (const n of dots) this.add(replica, n);
    }
  }

  /**
   * How many dots the context holds (a counter `n` counts `n`): joins use it
   * to decide between visiting these dots and visiting a state's elements.
   */
  get size(): number {
    let size = 0;
    for (const n of this.#counters.values()) size += n;
    for (const dots of this.#cloud.values()) size += dots.size;
    return size;
  }

  /**
   * Calls `fn` for every dot in the context, counters first (what
   * {@linkcode CausalContext.dots} yields, without an iterator per call).
   */
  forEachDot(fn: (replica: string, n: number) => void): void {
    for (const [replica, counter] of this.#counters) {
      for (let n = 1; n <= counter; n++) fn(replica, n);
    }
    for (const [replica, dots] of this.#cloud) for (const n of dots) fn(replica, n);
  }

  /** Every dot in the context, counters first. */
  *dots(): IterableIterator<Dot> {
    for (const [replica, counter] of this.#counters) {
      for (let n = 1; n <= counter; n++) yield { replica, n };
    }
    for (const [replica, dots] of this.#cloud) for (const n of dots) yield { replica, n };
  }

  /** Every replica the context has seen a dot of. */
  replicas(): Set<string> {
    return new Set([...this.#counters.keys(), ...this.#cloud.keys()]);
  }

  /**
   * Forgets everything seen of a replica (one removed for good).
   *
   * @param replica the replica
   */
  prune(replica: string): void {
    this.#counters.delete(replica);
    this.#cloud.delete(replica);
  }

  /** A copy that can change without changing this one. */
  clone(): CausalContext {
    const c = new CausalContext();
    for (const [r, n] of this.#counters) c.#counters.set(r, n);
    for (const [r, dots] of this.#cloud) c.#cloud.set(r, new Set(dots));
    return c;
  }

  /**
   * Whether two contexts hold the same dots.
   *
   * @param other another context
   * @returns whether they are equal
   */
  equals(other: CausalContext): boolean {
    if (this.#counters.size !== other.#counters.size || this.#cloud.size !== other.#cloud.size) {
      return false;
    }
    for (const [r, n] of this.#counters) if (other.#counters.get(r) !== n) return false;
    for (const [r, dots] of this.#cloud) {
      const theirs = other.#cloud.get(r);
      if (theirs === undefined || theirs.size !== dots.size) return false;
      for (const n of dots) if (!theirs.has(n)) return false;
    }
    return true;
  }

  /** The context as plain arrays, for the wire. */
  toWire(): CausalContextWire {
    return [[...this.#counters], [...this.#cloud].map(([r, dots]) => [r, [...dots]])];
  }

  /**
   * A context read from the wire.
   *
   * @param wire what `toWire` made (on any node)
   * @returns the context
   * @throws {TypeError} naming what is malformed
   */
  static fromWire(wire: unknown): CausalContext {
    if (!Array.isArray(wire) || wire.length !== 2) {
      throw new TypeError("Malformed causal context: not a [counters, cloud] pair");
    }
    const [counters, cloud] = wire;
    if (!Array.isArray(counters) || !Array.isArray(cloud)) {
      throw new TypeError("Malformed causal context: counters and cloud must be arrays");
    }
    const c = new CausalContext();
    for (const item of counters) {
      if (!Array.isArray(item) || typeof item[0] !== "string" || !isDotNumber(item[1])) {
        throw new TypeError("Malformed causal context: a counter is not [replica, n]");
      }
      c.#counters.set(item[0], Math.max(item[1], c.#counters.get(item[0]) ?? 0));
    }
    for (const item of cloud) {
      if (!Array.isArray(item) || typeof item[0] !== "string" || !Array.isArray(item[1])) {
        throw new TypeError("Malformed causal context: a cloud entry is not [replica, [n...]]");
      }
      for (const n of item[1]) {
        if (!isDotNumber(n)) {
          throw new TypeError("Malformed causal context: a cloud dot is not a positive integer");
        }
      }
    }
    for (const [replica, dots] of cloud as [string, number[]][]) {
      for (const n of dots) c.add(replica, n);
    }
    for (const replica of [...c.#cloud.keys()]) c.#compact(replica);
    return c;
  }

  /** Moves the cloud's dots that follow the counter into it. */
  #compact(replica: string): void {
    const dots = this.#cloud.get(replica);
    if (dots === undefined) return;
    let n = this.#counters.get(replica) ?? 0;
    for (const d of dots) if (d <= n) dots.delete(d);
    while (dots.delete(n + 1)) n++;
    if (n > 0) this.#counters.set(replica, n);
    if (dots.size === 0) this.#cloud.delete(replica);
  }
}

/**
 * Whether a value is a dot number: a positive safe integer.
 *
 * @param n the value
 * @returns whether it can number a dot
 *
 * @example
 * ```ts
 * import { isDotNumber } from "./causal_context.ts";
 * console.assert(isDotNumber(1) && !isDotNumber(0) && !isDotNumber(1.5));
 * ```
 */
export function isDotNumber(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0;
}
