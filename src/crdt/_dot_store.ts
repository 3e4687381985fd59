/**
 * Dot stores: what the observed-remove types (OR-Set, MV-Register, Flag,
 * OR-Map) keep under a causal context. Private to `src/crdt/`.
 *
 * A *dot function* maps each live dot to what its event made (an element's
 * presence, a written value, a counter's running totals). Joined under the
 * two sides' contexts, an entry survives when both sides hold it, or when
 * one side holds it and the other has never seen its dot:
 *
 * ```
 * join((F, c), (G, d)) = { e ∈ F ∩ G } ∪ { e ∈ F : e.dot ∉ d } ∪ { e ∈ G : e.dot ∉ c }
 * ```
 *
 * A *dot map* maps keys to nested stores, joined key by key; a key whose
 * store joins to nothing is gone. Stores are never changed once made: a
 * join returns its first argument when nothing changes, and otherwise a new
 * store that shares the untouched entries (dot maps are persistent maps,
 * so changing one key of a large map copies a few small nodes).
 *
 * The top level of a large dot map (an OR-Set's elements, an OR-Map's
 * fields) also keeps an *index* from each live dot to its key. A join with
 * a delta then visits only the keys the delta holds and the keys of the
 * dots its context names, not every key of the state.
 *
 * @module
 */

import { CausalContext, isDotNumber } from "./causal_context.ts";
import { type Owner, PMap } from "./_pmap.ts";
import { malformed } from "./_wire.ts";

/** A live dot and what its event made. */
export interface Dotted<V> {
  /** The dot's replica. */
  readonly replica: string;
  /** The dot's number. */
  readonly n: number;
  /** What the event made. */
  readonly value: V;
}

/** A dot function: dot key -> entry. */
export type DotFun<V> = ReadonlyMap<string, Dotted<V>>;

/** The key of a dot in a {@linkcode DotFun}. */
export function dotKey(replica: string, n: number): string {
  return `${n}@${replica}`;
}

/** A dot function of one entry: a fresh dot and what it made. */
export function single<V>(replica: string, n: number, value: V): DotFun<V> {
  return new Map([[dotKey(replica, n), { replica, n, value }]]);
}

/** The empty dot function (shared: never changed). */
export const EMPTY_FUN: DotFun<never> = new Map();

/** The join of two dot functions under their contexts. */
export function joinFun<V>(
  a: DotFun<V>,
  b: DotFun<V>,
  ca: CausalContext,
  cb: CausalContext,
): DotFun<V> {
  let out: Map<string, Dotted<V>> | undefined;
  for (const [k, e] of a) {
    if (!b.has(k) && cb.contains(e.replica, e.n)) (out ??= new Map(a)).delete(k);
  }
  for (const [k, e] of b) {
    if (!a.has(k) && !ca.contains(e.replica, e.n)) (out ??= new Map(a)).set(k, e);
  }
  return out ?? a;
}

/** Whether two dot functions hold the same dots (a dot's value never changes). */
export function equalFuns<V>(a: DotFun<V>, b: DotFun<V>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}

/** How to join, compare and walk the stores under the keys of a dot map. */
export interface StoreOps<T> {
  /** The empty store. */
  readonly empty: T;
  /** Whether a store holds nothing. */
  isEmpty(t: T): boolean;
  /** The join under the two contexts. */
  join(a: T, b: T, ca: CausalContext, cb: CausalContext): T;
  /** Semantic equality. */
  equals(a: T, b: T): boolean;
  /** Every live dot in the store. */
  dots(t: T): Iterable<Dotted<unknown>>;
}

/** The store ops of a dot function. */
export const FUN_OPS: StoreOps<DotFun<unknown>> = {
  empty: EMPTY_FUN,
  isEmpty: (t) => t.size === 0,
  join: joinFun,
  equals: equalFuns,
  dots: (t) => t.values(),
};

/** A dot map: key -> nested store, persistent. */
export type DotMap<K, T> = PMap<K, T>;

/** The join of two dot maps, key by key (every key of both is visited). */
export function joinMap<K, T>(
  a: DotMap<K, T>,
  b: DotMap<K, T>,
  ca: CausalContext,
  cb: CausalContext,
  opsOf: (key: K) => StoreOps<T>,
): DotMap<K, T> {
  let out = a;
  for (const [k, x] of a) {
    const ops = opsOf(k);
    const y = b.get(k);
    const j = ops.join(x, y ?? ops.empty, ca, cb);
    if (j === x) continue;
    out = ops.isEmpty(j) ? out.delete(k) : out.set(k, j);
  }
  for (const [k, y] of b) {
    if (a.has(k)) continue;
    const ops = opsOf(k);
    const j = ops.join(ops.empty, y, ca, cb);
    if (!ops.isEmpty(j)) out = out.set(k, j);
  }
  return out;
}

/** Whether two dot maps hold equal stores under the same keys. */
export function equalMaps<K, T>(
  a: ReadonlyMap<K, T>,
  b: ReadonlyMap<K, T>,
  opsOf: (key: K) => StoreOps<T>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y === undefined || !opsOf(k).equals(x, y)) return false;
  }
  return true;
}

/** The store ops of a dot map whose keys hold stores with `ops`. */
export function mapOps<K, T>(ops: StoreOps<T>): StoreOps<DotMap<K, T>> {
  return {
    empty: PMap.empty(),
    isEmpty: (t) => t.size === 0,
    join: (a, b, ca, cb) => joinMap(a, b, ca, cb, () => ops),
    equals: (a, b) => equalMaps(a, b, () => ops),
    *dots(t) {
      for (const x of t.values()) yield* ops.dots(x);
    },
  };
}

/** A causal state: a store and the context it is read under. */
export interface Causal<T> {
  /** Every dot the state has seen. Never changed once in a state. */
  readonly cc: CausalContext;
  /** What the live dots made. */
  readonly store: T;
}

/** The join of two causal states. */
export function joinCausal<T>(a: Causal<T>, b: Causal<T>, ops: StoreOps<T>): Causal<T> {
  const store = ops.join(a.store, b.store, a.cc, b.cc);
  if (b.cc.size === 0 && store === a.store) return a;
  const cc = a.cc.clone();
  cc.join(b.cc);
  if (store === a.store && cc.equals(a.cc)) return a;
  return { cc, store };
}

/**
 * The join of many causal states, pairwise: joining each into a running
 * total would copy the total's context once per state.
 */
export function joinPairwise<S>(states: S[], join: (a: S, b: S) => S, empty: () => S): S {
  let level = states;
  while (level.length > 1) {
    const next: S[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? join(level[i]!, level[i + 1]!) : level[i]!);
    }
    level = next;
  }
  return level[0] ?? empty();
}

/** Whether two causal states are equal. */
export function equalCausal<T>(a: Causal<T>, b: Causal<T>, ops: StoreOps<T>): boolean {
  return a.cc.equals(b.cc) && ops.equals(a.store, b.store);
}

/**
 * Prunes a replica removed for good from a causal state: its context goes
 * when none of its dots is still live (what it made that others still
 * hold stays, under its dots).
 */
export function pruneCausal<T, C extends Causal<T>>(s: C, removed: string, ops: StoreOps<T>): C {
  if (!s.cc.replicas().has(removed)) return s;
  for (const d of ops.dots(s.store)) if (d.replica === removed) return s;
  const cc = s.cc.clone();
  cc.prune(removed);
  return { ...s, cc };
}

/**
 * Where each live dot of a dot map is: replica -> dot number -> the key
 * whose store holds it. Persistent, like the store.
 */
export class DotIndex<K> {
  static #empty = new DotIndex<never>(new Map(), 0);

  private constructor(
    readonly byReplica: ReadonlyMap<string, PMap<number, K>>,
    /** How many dots are indexed. */
    readonly size: number,
  ) {}

  /** The empty index. */
  static empty<K>(): DotIndex<K> {
    return DotIndex.#empty as DotIndex<K>;
  }

  /** The key holding the dot, if it is live. */
  get(replica: string, n: number): K | undefined {
    return this.byReplica.get(replica)?.get(n);
  }

  /**
   * The index without the dots `removed` and with the dots `added` (in
   * that order), each changed replica's part copied once.
   */
  apply(
    removed: readonly Dotted<unknown>[],
    added: readonly [Dotted<unknown>, K][],
    owner: Owner | null = null,
  ): DotIndex<K> {
    if (removed.length === 0 && added.length === 0) return this;
    const m = new Map(this.byReplica);
    let size = this.size;
    for (const d of removed) {
      const dots = m.get(d.replica);
      if (dots === undefined) continue;
      const next = dots.delete(d.n);
      size -= dots.size - next.size;
      if (next.size === 0) m.delete(d.replica);
      else m.set(d.replica, next);
    }
    for (const [d, key] of added) {
      const dots = m.get(d.replica) ?? PMap.empty<number, K>();
      const next = dots.set(d.n, key, owner);
      size += next.size - dots.size;
      m.set(d.replica, next);
    }
    return new DotIndex(m, size);
  }
}

/** A causal dot map, and (once a join needed it) the index of its dots. */
export interface CausalMap<K, T> extends Causal<DotMap<K, T>> {
  /**
   * For each live dot, the key whose store holds it: built the first time
   * a join needs it (deltas rarely do), then carried from join to join.
   * A cache: it never changes what the state is.
   */
  index?: DotIndex<K>;
  /**
   * The owner (see `joinCausalMap`) that made `cc` and may still add to it
   * in place; none: `cc` is never changed.
   */
  ccOwner?: Owner;
}

function buildIndex<K, T>(
  store: DotMap<K, T>,
  opsOf: (key: K) => StoreOps<T>,
): [DotIndex<K>, number] {
  const added: [Dotted<unknown>, K][] = [];
  for (const [k, x] of store) for (const d of opsOf(k).dots(x)) added.push([d, k]);
  return [DotIndex.empty<K>().apply([], added), added.length];
}

/** The index of a causal dot map, built and kept on first use. */
function indexOf<K, T>(s: CausalMap<K, T>, opsOf: (key: K) => StoreOps<T>): DotIndex<K> {
  return s.index ??= buildIndex(s.store, opsOf)[0];
}

/**
 * A causal dot map read from the wire, its index built at once.
 *
 * @throws {TypeError} naming `type` when a dot is live under two keys (a
 *   state no replica could have made)
 */
export function causalMap<K, T>(
  cc: CausalContext,
  store: DotMap<K, T>,
  opsOf: (key: K) => StoreOps<T>,
  type: string,
): CausalMap<K, T> {
  const [index, dots] = buildIndex(store, opsOf);
  if (index.size !== dots) throw malformed(type, "a dot is live in two places");
  return { cc, store, index };
}

/**
 * The join of two causal dot maps. Only the keys that can change are
 * visited: those `b` holds, and those holding a dot `b`'s context names
 * (found through `a`'s index), unless `b`'s context is larger than `a`
 * (or `scanAll`: tests compare both ways). With an `owner`, what of `a`
 * was made under it (the nodes of its maps, `PMap.set`; its context, when
 * `a.ccOwner` is the owner) is changed in place, and the result is the
 * owner's: only a caller that alone holds `a` may pass one.
 */
export function joinCausalMap<K, T>(
  a: CausalMap<K, T>,
  b: CausalMap<K, T>,
  opsOf: (key: K) => StoreOps<T>,
  scanAll = false,
  owner: Owner | null = null,
): CausalMap<K, T> {
  // The join is commutative: fold the smaller state into the larger.
  if (a.store.size < b.store.size) [a, b] = [b, a];
  const aIndex = indexOf(a, opsOf);
  let keys: Iterable<K>;
  if (!scanAll && b.cc.size <= a.store.size) {
    const touched = new Set<K>(b.store.keys());
    b.cc.forEachDot((replica, n) => {
      // A dot `a` has not seen holds nothing of `a`'s.
      if (!a.cc.contains(replica, n)) return;
      const k = aIndex.get(replica, n);
      if (k !== undefined) touched.add(k);
    });
    keys = touched;
  } else {
    keys = new Set([...a.store.keys(), ...b.store.keys()]);
  }
  let store = a.store;
  const removed: Dotted<unknown>[] = [];
  const added: [Dotted<unknown>, K][] = [];
  for (const k of keys) {
    const ops = opsOf(k);
    const x = a.store.get(k);
    const j = ops.join(x ?? ops.empty, b.store.get(k) ?? ops.empty, a.cc, b.cc);
    if (j === x) continue;
    if (x !== undefined) { for (const d of ops.dots(x)) removed.push(d); }
    if (ops.isEmpty(j)) {
      if (x !== undefined) store = store.delete(k);
      continue;
    }
    store = store.set(k, j, owner);
    for (const d of ops.dots(j)) added.push([d, k]);
  }
  let cc: CausalContext;
  if (owner !== null && a.ccOwner === owner) {
    // `a`'s context is the owner's: added to in place rather than copied.
    const size = store === a.store ? a.cc.size : -1;
    cc = a.cc;
    cc.join(b.cc);
    if (size === cc.size) return a;
  } else {
    cc = a.cc.clone();
    cc.join(b.cc);
    // Nothing new: the state itself, so that a caller can tell by identity.
    if (store === a.store && cc.equals(a.cc)) return a;
  }
  const index = aIndex.apply(removed, added, owner);
  return owner === null ? { cc, store, index } : { cc, store, index, ccOwner: owner };
}

/**
 * The join of many causal dot maps (a flush's deltas), one after the other
 * into a total whose context is changed in place: one copy of a context for
 * the lot, where joining pairwise copies one per join. Each step visits the
 * keys the next state holds and those holding a dot its context names, as
 * {@linkcode joinCausalMap} does.
 */
export function joinCausalMapMany<K, T>(
  states: CausalMap<K, T>[],
  opsOf: (key: K) => StoreOps<T>,
  empty: () => CausalMap<K, T>,
): CausalMap<K, T> {
  if (states.length === 0) return empty();
  if (states.length === 1) return states[0]!;
  let largest = 0;
  for (let i = 1; i < states.length; i++) {
    if (states[i]!.store.size > states[largest]!.store.size) largest = i;
  }
  const first = states[largest]!;
  const cc = first.cc.clone();
  // The result is new: what it makes of its maps is changed in place, never the states'.
  const owner = {};
  let store = first.store;
  let index = indexOf(first, opsOf);
  for (let i = 0; i < states.length; i++) {
    if (i === largest) continue;
    const b = states[i]!;
    const touched = new Set<K>(b.store.keys());
    b.cc.forEachDot((replica, n) => {
      if (!cc.contains(replica, n)) return;
      const k = index.get(replica, n);
      if (k !== undefined) touched.add(k);
    });
    const removed: Dotted<unknown>[] = [];
    const added: [Dotted<unknown>, K][] = [];
    for (const k of touched) {
      const ops = opsOf(k);
      const x = store.get(k);
      const j = ops.join(x ?? ops.empty, b.store.get(k) ?? ops.empty, cc, b.cc);
      if (j === x) continue;
      if (x !== undefined) { for (const d of ops.dots(x)) removed.push(d); }
      if (ops.isEmpty(j)) {
        if (x !== undefined) store = store.delete(k);
        continue;
      }
      store = store.set(k, j, owner);
      for (const d of ops.dots(j)) added.push([d, k]);
    }
    index = index.apply(removed, added, owner);
    cc.join(b.cc);
  }
  return { cc, store, index };
}

/**
 * Builds a delta: the context of what a mutation replaced or made, and
 * fresh dots for the mutating replica.
 */
export class DeltaContext {
  /** The dots the delta has seen: those it replaced and those it made. */
  readonly cc = new CausalContext();
  #replica: string;
  #next: number;

  /**
   * @param base the context of the state being mutated
   * @param replica the mutating replica
   */
  constructor(base: CausalContext, replica: string) {
    this.#replica = replica;
    this.#next = base.max(replica) + 1;
  }

  /** A fresh dot of the mutating replica. */
  dot(): { replica: string; n: number } {
    const n = this.#next++;
    this.cc.add(this.#replica, n);
    return { replica: this.#replica, n };
  }

  /** Records the live dots of a store as replaced. */
  replace(dots: Iterable<Dotted<unknown>>): void {
    for (const d of dots) this.cc.add(d.replica, d.n);
  }
}

/** Reads a dot's `[replica, n, ...]` head strictly. */
export function decodeDotHead(item: unknown, type: string, cc: CausalContext): [string, number] {
  if (!Array.isArray(item) || typeof item[0] !== "string" || !isDotNumber(item[1])) {
    throw malformed(type, "a dot is not [replica, n]");
  }
  if (!cc.contains(item[0], item[1])) throw malformed(type, "a dot outside its context");
  return [item[0], item[1]];
}

/** Reads a causal context strictly, with the type's name in the error. */
export function decodeContext(wire: unknown, type: string): CausalContext {
  try {
    return CausalContext.fromWire(wire);
  } catch (e) {
    throw malformed(type, (e as Error).message.replace(/^Malformed /, ""));
  }
}

/** Reads a dot function `[[replica, n, ...value]...]` strictly. */
export function decodeFun<V>(
  wire: unknown,
  type: string,
  cc: CausalContext,
  value: (rest: unknown[]) => V,
): DotFun<V> {
  if (!Array.isArray(wire)) throw malformed(type, "dots are not an array");
  const out = new Map<string, Dotted<V>>();
  for (const item of wire) {
    const [replica, n] = decodeDotHead(item, type, cc);
    const k = dotKey(replica, n);
    if (out.has(k)) throw malformed(type, "a dot appears twice");
    out.set(k, { replica, n, value: value((item as unknown[]).slice(2)) });
  }
  return out;
}
