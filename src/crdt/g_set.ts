/**
 * G-Set: a grow-only set (tags, unique visitors). The join is the union.
 *
 * ```
 * join(A, B) = A ∪ B          add(x): delta = {x}
 * ```
 *
 * Elements are strings, finite numbers, bigints, booleans or null, compared
 * by value (`1` and `1n` are different elements).
 *
 * @example
 * ```ts
 * import { gSet } from "./g_set.ts";
 * import { Hlc } from "./hlc.ts";
 * const d = gSet.mutate(gSet.empty(), "a", new Hlc(), (s) => s.add("ann"));
 * console.assert(gSet.value(gSet.join(d, d)).size === 1);
 * ```
 *
 * @module
 */

import type { CrdtType } from "./crdt_type.ts";
import type { Hlc } from "./hlc.ts";
import { PMap } from "./_pmap.ts";
import {
  checkElement,
  checkReplica,
  compareElements,
  type Element,
  isElement,
  malformed,
} from "./_wire.ts";

/** A G-Set state: its elements (as the keys of a persistent map). Never changed once made. */
export type GSetState = PMap<Element, true>;

/** What a mutation of a G-Set can do. */
export interface GSetHandle {
  /** Adds an element. */
  add(element: Element): void;
}

/**
 * The G-Set type.
 *
 * @example
 * ```ts
 * import { gSet } from "./g_set.ts";
 * console.assert(gSet.equals(gSet.decode(["a", 1]), gSet.decode([1, "a"])));
 * ```
 */
export const gSet: CrdtType<GSetState, GSetHandle, Set<Element>> = {
  name: "g-set",
  empty: () => PMap.empty(),
  join(a, b) {
    // Commutative: add the smaller set's elements to the larger.
    if (a.size < b.size) [a, b] = [b, a];
    let out = a;
    for (const x of b.keys()) if (!a.has(x)) out = out.set(x, true);
    return out;
  },
  mutate(state: GSetState, replica: string, _clock: Hlc, fn: (h: GSetHandle) => void) {
    checkReplica(replica);
    let delta = PMap.empty<Element, true>();
    fn({
      add(element) {
        const x = checkElement(element, "set element");
        if (!state.has(x)) delta = delta.set(x, true);
      },
    });
    return delta;
  },
  value: (state) => new Set([...state.keys()].sort(compareElements)),
  encode: (state) => [...state.keys()],
  decode(wire) {
    if (!Array.isArray(wire)) throw malformed("g-set", "not an array of elements");
    let out = PMap.empty<Element, true>();
    for (const x of wire) {
      if (!isElement(x)) {
        throw malformed("g-set", "an element is not a string, number, bigint, boolean or null");
      }
      out = out.set(Object.is(x, -0) ? 0 : x, true);
    }
    return out;
  },
  equals(a, b) {
    if (a.size !== b.size) return false;
    for (const x of a.keys()) if (!b.has(x)) return false;
    return true;
  },
  prune: (state) => state,
  cleanup: (state) => state,
  latest: () => undefined,
};
