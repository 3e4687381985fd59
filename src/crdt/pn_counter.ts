/**
 * PN-Counter: a counter that goes up and down (account balance, stock).
 *
 * Two G-Counters, one of increments (P) and one of decrements (N); the
 * value is their difference, and each joins by maximum per replica:
 *
 * ```
 * state       = (P: replica -> count, N: replica -> count)
 * join(A, B)  = (max per replica of P, max per replica of N)
 * value(S)    = Σ S.P - Σ S.N
 * ```
 *
 * @example
 * ```ts
 * import { pnCounter } from "./pn_counter.ts";
 * import { Hlc } from "./hlc.ts";
 * const d = pnCounter.mutate(pnCounter.empty(), "a", new Hlc(), (c) => {
 *   c.increment(5);
 *   c.decrement(2);
 * });
 * console.assert(pnCounter.value(d) === 3);
 * ```
 *
 * @module
 */

import type { CrdtType } from "./crdt_type.ts";
import type { Hlc } from "./hlc.ts";
import {
  addCount,
  type Counts,
  decodeCounts,
  dropCount,
  equalCounts,
  foldCounts,
  joinMax,
  sumCounts,
} from "./_counts.ts";
import { checkAmount, checkReplica, malformed } from "./_wire.ts";

/** A PN-Counter state. Never changed once made. */
export interface PnCounterState {
  /** Increments per replica. */
  readonly p: Counts;
  /** Decrements per replica. */
  readonly n: Counts;
}

/** What a mutation of a PN-Counter can do. */
export interface PnCounterHandle {
  /** Adds `n` (a positive integer, default 1). */
  increment(n?: number): void;
  /** Subtracts `n` (a positive integer, default 1). */
  decrement(n?: number): void;
}

const EMPTY: PnCounterState = { p: new Map(), n: new Map() };

/**
 * The PN-Counter type.
 *
 * @example
 * ```ts
 * import { pnCounter } from "./pn_counter.ts";
 * const s = pnCounter.decode([[["a", 3]], [["b", 5]]]);
 * console.assert(pnCounter.value(s) === -2);
 * ```
 */
export const pnCounter: CrdtType<PnCounterState, PnCounterHandle, number> = {
  name: "pn-counter",
  empty: () => EMPTY,
  join(a, b) {
    const p = joinMax(a.p, b.p), n = joinMax(a.n, b.n);
    return p === a.p && n === a.n ? a : { p, n };
  },
  mutate(state: PnCounterState, replica: string, _clock: Hlc, fn: (h: PnCounterHandle) => void) {
    checkReplica(replica);
    let p = state.p.get(replica) ?? 0, n = state.n.get(replica) ?? 0;
    let dp = false, dn = false;
    fn({
      increment(x = 1) {
        p = addCount(p, checkAmount(x, "increment"));
        dp = true;
      },
      decrement(x = 1) {
        n = addCount(n, checkAmount(x, "decrement"));
        dn = true;
      },
    });
    return {
      p: dp ? new Map([[replica, p]]) : EMPTY.p,
      n: dn ? new Map([[replica, n]]) : EMPTY.n,
    };
  },
  value: (state) => sumCounts(state.p) - sumCounts(state.n),
  encode: (state) => [[...state.p], [...state.n]],
  decode(wire) {
    if (!Array.isArray(wire) || wire.length !== 2) {
      throw malformed("pn-counter", "not an [increments, decrements] pair");
    }
    return { p: decodeCounts(wire[0], "pn-counter"), n: decodeCounts(wire[1], "pn-counter") };
  },
  equals: (a, b) => equalCounts(a.p, b.p) && equalCounts(a.n, b.n),
  prune: (state, removed, into) => ({
    p: foldCounts(state.p, removed, into),
    n: foldCounts(state.n, removed, into),
  }),
  cleanup: (state, removed) => ({
    p: dropCount(state.p, removed),
    n: dropCount(state.n, removed),
  }),
  latest: () => undefined,
};
