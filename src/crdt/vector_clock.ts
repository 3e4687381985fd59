/**
 * Vector clocks: one counter per replica, to tell whether one version of a
 * value descends from another or whether the two are concurrent (and need
 * a merge).
 *
 * ```
 * increment(V, r)   V[r] + 1
 * merge(V, W)[r]    max(V[r], W[r])
 * compare(V, W)     "equal"      V[r] = W[r] for every r
 *                   "before"     V[r] <= W[r] for every r, and V ≠ W
 *                   "after"      W before V
 *                   "concurrent" otherwise
 * ```
 *
 * A missing replica counts 0. Clocks are immutable: every operation
 * returns a new one.
 *
 * @example
 * ```ts
 * import { VectorClock } from "./vector_clock.ts";
 * const base = new VectorClock().increment("a");
 * const left = base.increment("a");
 * const right = base.increment("b");
 * console.assert(VectorClock.compare(base, left) === "before");
 * console.assert(VectorClock.compare(left, right) === "concurrent");
 * console.assert(VectorClock.compare(left.merge(right), right) === "after");
 * ```
 *
 * @module
 */

import { malformed } from "./_wire.ts";

/** How two vector clocks relate. */
export type ClockOrder = "before" | "after" | "equal" | "concurrent";

/**
 * An immutable vector clock.
 *
 * @example
 * ```ts
 * import { VectorClock } from "./vector_clock.ts";
 * const v = VectorClock.fromWire([["a", 2], ["b", 1]]);
 * console.assert(v.get("a") === 2 && v.get("c") === 0);
 * ```
 */
export class VectorClock {
  readonly #counters: ReadonlyMap<string, number>;

  /**
   * @param counters per replica, its counter (missing replicas are 0)
   * @throws {TypeError} when a counter is not a non-negative safe integer
   */
  constructor(counters: Iterable<readonly [string, number]> = []) {
    const m = new Map<string, number>();
    for (const [r, n] of counters) {
      if (typeof r !== "string" || !Number.isSafeInteger(n) || n < 0) {
        throw new TypeError(
          `Invalid vector clock entry: expected [replica, non-negative integer], received [${r}, ${n}]`,
        );
      }
      if (n > 0) m.set(r, n);
    }
    this.#counters = m;
  }

  /**
   * A replica's counter.
   *
   * @param replica the replica
   * @returns its counter, 0 when missing
   */
  get(replica: string): number {
    return this.#counters.get(replica) ?? 0;
  }

  /**
   * The clock after an event of `replica`.
   *
   * @param replica the replica
   * @returns a new clock
   */
  increment(replica: string): VectorClock {
    const m = new Map(this.#counters);
    m.set(replica, (m.get(replica) ?? 0) + 1);
    return new VectorClock(m);
  }

  /**
   * The least clock at or after both: per replica, the larger counter.
   *
   * @param other another clock
   * @returns a new clock
   */
  merge(other: VectorClock): VectorClock {
    const m = new Map(this.#counters);
    for (const [r, n] of other.#counters) if (n > (m.get(r) ?? 0)) m.set(r, n);
    return new VectorClock(m);
  }

  /** The replicas with a non-zero counter, with their counters. */
  entries(): IterableIterator<[string, number]> {
    return this.#counters.entries();
  }

  /** The clock as `[[replica, n]...]`, for the wire. */
  toWire(): [string, number][] {
    return [...this.#counters];
  }

  /**
   * A clock read from the wire.
   *
   * @param wire what `toWire` made
   * @returns the clock
   * @throws {TypeError} when `wire` is not `[[replica, n]...]`
   */
  static fromWire(wire: unknown): VectorClock {
    if (!Array.isArray(wire)) throw malformed("vector clock", "not an array of [replica, n]");
    const seen = new Set<string>();
    for (const item of wire) {
      if (
        !Array.isArray(item) || item.length !== 2 || typeof item[0] !== "string" ||
        !Number.isSafeInteger(item[1]) || item[1] < 0
      ) throw malformed("vector clock", "an entry is not [replica, n]");
      if (seen.has(item[0])) throw malformed("vector clock", `replica ${item[0]} appears twice`);
      seen.add(item[0]);
    }
    return new VectorClock(wire as [string, number][]);
  }

  /**
   * How two clocks relate.
   *
   * @param a a clock
   * @param b another
   * @returns `"before"` when `a` happened before `b`, `"after"` when after,
   *   `"equal"`, or `"concurrent"`
   */
  static compare(a: VectorClock, b: VectorClock): ClockOrder {
    let less = false, greater = false;
    for (const [r, n] of a.#counters) {
      const m = b.get(r);
      if (n < m) less = true;
      else if (n > m) greater = true;
    }
    for (const [r, m] of b.#counters) if (!a.#counters.has(r) && m > 0) less = true;
    return less ? (greater ? "concurrent" : "before") : greater ? "after" : "equal";
  }
}
