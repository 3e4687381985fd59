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
  decodeFun,
  DeltaContext,
  type DotFun,
  dotKey,
  EMPTY_FUN,
  equalCausal,
  FUN_OPS,
  joinCausalMap,
  mapOps,
  pruneCausal,
  type StoreOps,
} from "./_dot_store.ts";
import {
  checkElement,
  checkReplica,
  compareElements,
  type Element,
  isElement,
  malformed,
} from "./_wire.ts";

/** The elements of an OR-Set with their live dots. */
export type OrSetStore = PMap<Element, DotFun<true>>;

/** An OR-Set state. Never changed once made. */
export type OrSetState = CausalMap<Element, DotFun<true>>;

/** What a mutation of an OR-Set can do. */
export interface OrSetHandle {
  /** Adds an element (wins over a concurrent remove). */
  add(element: Element): void;
  /** Removes an element, as far as this replica has seen it added. */
  remove(element: Element): void;
}

/** The store ops of an OR-Set's elements. */
export const OR_SET_OPS: StoreOps<OrSetStore> = mapOps<Element, DotFun<true>>(
  FUN_OPS as StoreOps<DotFun<true>>,
);

const elementOps = () => FUN_OPS as StoreOps<DotFun<true>>;

/**
 * Applies OR-Set operations to the store at one place (a whole OR-Set, or
 * an OR-Set inside an OR-Map): `current` is the store before this
 * mutation, `delta` collects what it makes.
 */
export function orSetHandle(
  current: ReadonlyMap<Element, DotFun<true>>,
  delta: Map<Element, DotFun<true>>,
  dc: DeltaContext,
): OrSetHandle {
  const dotsOf = (x: Element) => delta.get(x) ?? current.get(x) ?? EMPTY_FUN;
  return {
    add(element) {
      const x = checkElement(element, "set element");
      dc.replace(dotsOf(x).values());
      const d = dc.dot();
      delta.set(x, new Map([[dotKey(d.replica, d.n), { ...d, value: true as const }]]));
    },
    remove(element) {
      const x = checkElement(element, "set element");
      dc.replace(dotsOf(x).values());
      delta.set(x, EMPTY_FUN);
    },
  };
}

/** The store a delta built, without the elements it left empty. */
export function deltaStore<K, T extends { size: number }>(m: Map<K, T>): PMap<K, T> {
  let out = PMap.empty<K, T>();
  for (const [k, v] of m) if (v.size > 0) out = out.set(k, v);
  return out;
}

/** The wire form of an OR-Set store: `[[element, [[replica, n]...]]...]`. */
export function encodeOrSetStore(store: OrSetStore): unknown {
  return [...store].map(([x, dots]) => [x, [...dots.values()].map((d) => [d.replica, d.n])]);
}

/** Reads an OR-Set store strictly. */
export function decodeOrSetStore(wire: unknown, type: string, cc: CausalContext): OrSetStore {
  if (!Array.isArray(wire)) throw malformed(type, "elements are not an array");
  let out = PMap.empty<Element, DotFun<true>>();
  for (const item of wire) {
    if (!Array.isArray(item) || item.length !== 2 || !isElement(item[0])) {
      throw malformed(type, "an element is not [element, dots]");
    }
    const x = Object.is(item[0], -0) ? 0 : item[0];
    if (out.has(x)) throw malformed(type, "an element appears twice");
    const dots = decodeFun(item[1], type, cc, (rest) => {
      if (rest.length !== 0) throw malformed(type, "an element's dot is not [replica, n]");
      return true as const;
    });
    if (dots.size > 0) out = out.set(x, dots);
  }
  return out;
}

/** The value of an OR-Set store: its elements, in a canonical order. */
export function orSetValue(store: OrSetStore): Set<Element> {
  return new Set([...store.keys()].sort(compareElements));
}

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
  empty: () => ({ cc: new CausalContext(), store: PMap.empty(), index: PMap.empty() }),
  join: (a, b) => joinCausalMap(a, b, elementOps),
  mutate(state, replica, _clock: Hlc, fn) {
    checkReplica(replica);
    const dc = new DeltaContext(state.cc, replica);
    const delta = new Map<Element, DotFun<true>>();
    fn(orSetHandle(state.store, delta, dc));
    return causalMap(dc.cc, deltaStore(delta), elementOps);
  },
  value: (state) => orSetValue(state.store),
  encode: (state) => [state.cc.toWire(), encodeOrSetStore(state.store)],
  decode(wire) {
    if (!Array.isArray(wire) || wire.length !== 2) {
      throw malformed("or-set", "not a [context, elements] pair");
    }
    const cc = decodeContext(wire[0], "or-set");
    return causalMap(cc, decodeOrSetStore(wire[1], "or-set", cc), elementOps);
  },
  equals: (a, b) => equalCausal(a, b, OR_SET_OPS),
  prune: (state, removed) => pruneCausal(state, removed, OR_SET_OPS),
  latest: () => undefined,
};
