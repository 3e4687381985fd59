/**
 * The stores of the observed-remove types, shared by the types that hold
 * them on their own and by the OR-Map that nests them: an OR-Set's
 * elements (element -> dots) and a Flag's dots, with their handles and
 * wire forms. Private to `src/crdt/`.
 *
 * @module
 */

import type { CausalContext } from "./causal_context.ts";
import {
  decodeFun,
  type DeltaContext,
  type DotFun,
  EMPTY_FUN,
  FUN_OPS,
  mapOps,
  single,
  type StoreOps,
} from "./_dot_store.ts";
import { PMap } from "./_pmap.ts";
import { checkElement, compareElements, type Element, isElement, malformed } from "./_wire.ts";

/** The elements of an OR-Set with their live dots. */
export type OrSetStore = PMap<Element, DotFun<true>>;

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

/** The store ops of one element's dots. */
export const elementOps = () => FUN_OPS as StoreOps<DotFun<true>>;

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
      delta.set(x, single(d.replica, d.n, true as const));
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

/** What a mutation of a Flag can do. */
export interface FlagHandle {
  /** Switches the flag on (wins over a concurrent disable). */
  enable(): void;
  /** Switches the flag off, as far as this replica has seen it switched on. */
  disable(): void;
}

/**
 * Applies Flag operations to the dots at one place (a whole Flag, or a
 * Flag inside an OR-Map); `set` records the new dots in the delta.
 */
export function flagHandle(
  current: () => DotFun<true>,
  set: (dots: DotFun<true>) => void,
  dc: DeltaContext,
): FlagHandle {
  return {
    enable() {
      dc.replace(current().values());
      const d = dc.dot();
      set(single(d.replica, d.n, true as const));
    },
    disable() {
      dc.replace(current().values());
      set(EMPTY_FUN);
    },
  };
}

/** The wire form of a Flag's dots: `[[replica, n]...]`. */
export function encodeDots(dots: DotFun<unknown>): unknown {
  return [...dots.values()].map((d) => [d.replica, d.n]);
}

/** Reads a Flag's dots strictly. */
export function decodeDots(wire: unknown, type: string, cc: CausalContext): DotFun<true> {
  return decodeFun(wire, type, cc, (rest) => {
    if (rest.length !== 0) throw malformed(type, "a dot is not [replica, n]");
    return true as const;
  });
}
