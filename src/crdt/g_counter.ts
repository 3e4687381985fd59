/**
 * G-Counter: a grow-only counter (page views, likes).
 *
 * Each replica counts its own increments; the value is the sum. The join
 * takes the maximum per replica, so an increment is counted once however
 * often it is delivered:
 *
 * ```
 * state          = replica -> count
 * join(A, B)[r]  = max(A[r], B[r])
 * value(S)       = Σ S[r]
 * increment(n)   : delta = { self: S[self] + n }
 * ```
 *
 * @example
 * ```ts
 * import { gCounter } from "./g_counter.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc();
 * const a = gCounter.mutate(gCounter.empty(), "a", clock, (c) => c.increment(2));
 * const b = gCounter.mutate(gCounter.empty(), "b", clock, (c) => c.increment());
 * console.assert(gCounter.value(gCounter.join(a, b)) === 3);
 * ```
 *
 * @module
 */

import type { CrdtType } from "./crdt_type.ts";
import type { Hlc } from "./hlc.ts";
import { checkAmount, checkReplica } from "./_wire.ts";
import {
  addCount,
  decodeCounts,
  dropCount,
  equalCounts,
  foldCounts,
  joinMax,
  sumCounts,
} from "./_counts.ts";
import type { Counts } from "./_counts.ts";

/** A G-Counter state: per replica, its count. Never changed once made. */
export type GCounterState = Counts;

/** What a mutation of a G-Counter can do. */
export interface GCounterHandle {
  /** Adds `n` (a positive integer, default 1). */
  increment(n?: number): void;
}

/**
 * The G-Counter type.
 *
 * @example
 * ```ts
 * import { gCounter } from "./g_counter.ts";
 * const s = gCounter.decode([["a", 3], ["b", 4]]);
 * console.assert(gCounter.value(s) === 7);
 * ```
 */
export const gCounter: CrdtType<GCounterState, GCounterHandle, number> = {
  name: "g-counter",
  empty: () => new Map(),
  join: joinMax,
  mutate(state: GCounterState, replica: string, _clock: Hlc, fn: (h: GCounterHandle) => void) {
    checkReplica(replica);
    let count = state.get(replica) ?? 0;
    let touched = false;
    fn({
      increment(n = 1) {
        count = addCount(count, checkAmount(n, "increment"));
        touched = true;
      },
    });
    return touched ? new Map([[replica, count]]) : new Map();
  },
  value: sumCounts,
  encode: (state) => [...state],
  decode: (wire) => decodeCounts(wire, "g-counter"),
  equals: equalCounts,
  prune: (state, removed, into) => foldCounts(state, removed, into),
  cleanup: (state, removed) => dropCount(state, removed),
  latest: () => undefined,
};
