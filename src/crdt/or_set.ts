/**
 * OR-Set: an observed-remove set where an add wins over a concurrent
 * remove (shopping cart items, active users).
 *
 * Every add tags the element with a fresh dot; a remove takes away the
 * dots it has *observed*. A concurrent add brings a dot the remove never
 * saw, so the element stays. Removed dots leave no tombstone: the causal
 * context (one counter per replica) remembers them.
 *
 * ```
 * state      = (context, element -> dots)
 * add(x)     : delta = ({d} ∪ dots(x), x -> {d})   d a fresh dot
 * remove(x)  : delta = (dots(x), ∅)
 * join       = per element, the dot-function join under both contexts
 * value      = { x : dots(x) ≠ ∅ }
 * ```
 *
 * @example
 * ```ts
 * import { orSet } from "./or_set.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc();
 * const base = orSet.mutate(orSet.empty(), "a", clock, (s) => s.add("milk"));
 * const removed = orSet.mutate(base, "a", clock, (s) => s.remove("milk"));
 * const readded = orSet.mutate(base, "b", clock, (s) => s.add("milk")); // concurrent
 * const merged = orSet.join(orSet.join(base, removed), readded);
 * console.assert(orSet.value(merged).has("milk"));
 * ```
 *
 * @module
 */

import { CausalContext } from "./causal_context.ts";
import type { CrdtType } from "./crdt_type.ts";
import type { Hlc } from "./hlc.ts";
import { PMap } from "./_pmap.ts";
import {
  type CausalMap,
  causalMap,
  decodeContext,
  DeltaContext,
  type DotFun,
  DotIndex,
  equalCausal,
  joinCausalMap,
  joinCausalMapMany,
  pruneCausal,
} from "./_dot_store.ts";
import { checkReplica, type Element, malformed } from "./_wire.ts";

export type { OrSetHandle, OrSetStore } from "./_observed_remove.ts";
import {
  decodeOrSetStore,
  deltaStore,
  elementOps,
  encodeOrSetStore,
  OR_SET_OPS,
  type OrSetHandle,
  orSetHandle,
  orSetValue,
} from "./_observed_remove.ts";

/** An OR-Set state. Never changed once made. */
export type OrSetState = CausalMap<Element, DotFun<true>>;

/**
 * The OR-Set type.
 *
 * @example
 * ```ts
 * import { orSet } from "./or_set.ts";
 * const s = orSet.decode([[[["a", 2]], []], [["x", [["a", 1]]], ["y", [["a", 2]]]]]);
 * console.assert(orSet.value(s).size === 2);
 * ```
 */
export const orSet: CrdtType<OrSetState, OrSetHandle, Set<Element>> = {
  name: "or-set",
  empty: () => ({ cc: new CausalContext(), store: PMap.empty(), index: DotIndex.empty() }),
  join: (a, b) => joinCausalMap(a, b, elementOps),
  joinMany: (states) => joinCausalMapMany(states, elementOps, orSet.empty),
  joinOwned: (a, b, owner) => joinCausalMap(a, b, elementOps, false, owner),
  mutate(state, replica, _clock: Hlc, fn) {
    checkReplica(replica);
    const dc = new DeltaContext(state.cc, replica);
    const delta = new Map<Element, DotFun<true>>();
    fn(orSetHandle(state.store, delta, dc));
    return { cc: dc.cc, store: deltaStore(delta) };
  },
  value: (state) => orSetValue(state.store),
  encode: (state) => [state.cc.toWire(), encodeOrSetStore(state.store)],
  decode(wire) {
    if (!Array.isArray(wire) || wire.length !== 2) {
      throw malformed("or-set", "not a [context, elements] pair");
    }
    const cc = decodeContext(wire[0], "or-set");
    return causalMap(cc, decodeOrSetStore(wire[1], "or-set", cc), elementOps, "or-set");
  },
  equals: (a, b) => equalCausal(a, b, OR_SET_OPS),
  prune: (state, removed) => pruneCausal(state, removed, OR_SET_OPS),
  cleanup: (state, removed) => pruneCausal(state, removed, OR_SET_OPS),
  latest: () => undefined,
};
