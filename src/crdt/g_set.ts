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
import { checkElement, checkReplica, type Element, isElement, malformed } from "./_wire.ts";

/** A G-Set state. Never changed once made. */
export type GSetState = ReadonlySet<Element>;

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
  empty: () => new Set(),
  join(a, b) {
    if (b.size === 0) return a;
    if (a.size === 0) return b;
    let out: Set<Element> | undefined;
    for (const x of b) if (!a.has(x)) (out ??= new Set(a)).add(x);
    return out ?? a;
  },
  mutate(state: GSetState, replica: string, _clock: Hlc, fn: (h: GSetHandle) => void) {
    checkReplica(replica);
    const delta = new Set<Element>();
    fn({
      add(element) {
        const x = checkElement(element, "set element");
        if (!state.has(x)) delta.add(x);
      },
    });
    return delta;
  },
  value: (state) => new Set(state),
  encode: (state) => [...state],
  decode(wire) {
    if (!Array.isArray(wire)) throw malformed("g-set", "not an array of elements");
    const out = new Set<Element>();
    for (const x of wire) {
      if (!isElement(x)) {
        throw malformed("g-set", "an element is not a string, number, bigint, boolean or null");
      }
      out.add(Object.is(x, -0) ? 0 : x);
    }
    return out;
  },
  equals(a, b) {
    if (a.size !== b.size) return false;
    for (const x of a) if (!b.has(x)) return false;
    return true;
  },
  prune: (state) => state,
  latest: () => undefined,
};
