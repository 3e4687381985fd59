/**
 * The seed's `ConflictResolver`: two ways to settle two versions of one
 * value written on different nodes, for state that is not a CRDT.
 *
 * - {@linkcode lastWriteWins}: the version with the later HLC timestamp
 *   wins (ties: the larger replica id), a missing version loses.
 * - {@linkcode resolveByVectorClock}: when one version's vector clock
 *   descends from the other's, the newer wins; when they are concurrent,
 *   a merge function the caller gives combines them, and the result
 *   carries the merged clock (so it descends from both).
 *
 * ```
 * compare(old.clock, new.clock)   before     -> new
 *                                 after      -> old
 *                                 equal      -> old
 *                                 concurrent -> { merge(old, new), old.clock ∪ new.clock }
 * ```
 *
 * @example
 * ```ts
 * import { resolveByVectorClock, VectorClock } from "./mod.ts";
 * const base = new VectorClock().increment("a");
 * const cartA = { value: ["milk"], clock: base.increment("a") };
 * const cartB = { value: ["eggs"], clock: base.increment("b") };
 * const merged = resolveByVectorClock(cartA, cartB, (x, y) => [...new Set([...x, ...y])].sort());
 * console.assert(merged.value.join() === "eggs,milk");
 * ```
 *
 * @module
 */

import { compareTimestamps, type HlcTimestamp } from "./hlc.ts";
import { VectorClock } from "./vector_clock.ts";

/** A value with the HLC timestamp and replica of its write. */
export interface Timestamped<T> {
  /** The value. */
  readonly value: T;
  /** When it was written. */
  readonly timestamp: HlcTimestamp;
  /** Who wrote it (breaks timestamp ties). */
  readonly replica: string;
}

/** A value with the vector clock of its version. */
export interface Versioned<T> {
  /** The value. */
  readonly value: T;
  /** Its version. */
  readonly clock: VectorClock;
}

/**
 * Last write wins, by HLC timestamp then replica id.
 *
 * @param old the version held (or `undefined`)
 * @param incoming the version received (or `undefined`)
 * @returns the winner; `undefined` only when both are
 *
 * @example
 * ```ts
 * import { lastWriteWins } from "./conflict_resolver.ts";
 * const old = { value: "dark", timestamp: { wall: 10, logical: 0 }, replica: "a" };
 * const incoming = { value: "light", timestamp: { wall: 12, logical: 0 }, replica: "b" };
 * console.assert(lastWriteWins(old, incoming)?.value === "light");
 * console.assert(lastWriteWins(undefined, old)?.value === "dark");
 * ```
 */
export function lastWriteWins<T>(
  old: Timestamped<T> | undefined,
  incoming: Timestamped<T> | undefined,
): Timestamped<T> | undefined {
  if (old === undefined) return incoming;
  if (incoming === undefined) return old;
  const c = compareTimestamps(incoming.timestamp, old.timestamp);
  if (c !== 0) return c > 0 ? incoming : old;
  return incoming.replica > old.replica ? incoming : old;
}

/**
 * Settles two versions by vector clock, merging concurrent ones.
 *
 * @param old the version held
 * @param incoming the version received
 * @param merge combines two concurrent values (should be commutative, so
 *   that every replica that merges the same pair gets the same value)
 * @returns the newer version, or the merge of concurrent ones with the merged clock
 *
 * @example
 * ```ts
 * import { resolveByVectorClock } from "./conflict_resolver.ts";
 * import { VectorClock } from "./vector_clock.ts";
 * const v1 = { value: 1, clock: new VectorClock([["a", 1]]) };
 * const v2 = { value: 2, clock: new VectorClock([["a", 2]]) };
 * console.assert(resolveByVectorClock(v1, v2, (x, y) => x + y).value === 2);
 * ```
 */
export function resolveByVectorClock<T>(
  old: Versioned<T>,
  incoming: Versioned<T>,
  merge: (old: T, incoming: T) => T,
): Versioned<T> {
  switch (VectorClock.compare(old.clock, incoming.clock)) {
    case "before":
      return incoming;
    case "after":
    case "equal":
      return old;
    case "concurrent":
      return { value: merge(old.value, incoming.value), clock: old.clock.merge(incoming.clock) };
  }
}
