/**
 * OR-Map: a map whose values are themselves replicated types (a shopping
 * cart = a map of PN-Counters; a profile = a map of registers, sets and
 * flags; maps nest).
 *
 * Every value lives in the map's one causal context as a dot store, as in
 * Almeida, Shoker and Baquero's delta-state OR-Map:
 *
 * | field      | store                          | value                     |
 * |------------|--------------------------------|---------------------------|
 * | `counter`  | dot -> (increments, decrements), one live dot per replica | Σ increments - Σ decrements |
 * | `register` | dot -> (timestamp, value)      | the latest by (timestamp, replica) |
 * | `set`      | element -> dots (an OR-Set)    | `Set` of elements         |
 * | `flag`     | dots (enable wins)             | `true` when any dot lives |
 * | `map`      | field -> store (an OR-Map)     | `Map`                     |
 *
 * ```
 * join       = field by field, the dot-store join under both contexts;
 *              a field whose store joins to nothing is gone
 * remove(k)  : delta = (every dot under k, ∅)
 * ```
 *
 * Removing a key is an observed remove: it takes away what this replica
 * has seen under the key; an update made concurrently elsewhere survives
 * (with what its replica had seen: a counter keeps that replica's total).
 * An update after a remove starts from nothing: a counter counts from 0.
 *
 * A key holds one kind of value; the handle refuses to use a key as a
 * counter while it holds a set. Two replicas that concurrently use one key
 * as two kinds keep both fields; `value` shows the first kind in the table
 * order.
 *
 * @example
 * ```ts
 * import { orMap } from "./or_map.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc();
 * const cart = orMap.mutate(orMap.empty(), "a", clock, (m) => {
 *   m.counter("apples").increment(2);
 *   m.counter("pears").increment(1);
 * });
 * const other = orMap.mutate(cart, "b", clock, (m) => {
 *   m.counter("apples").decrement(1);
 *   m.remove("pears");
 * });
 * const merged = orMap.value(orMap.join(cart, other));
 * console.assert(merged.get("apples") === 1 && !merged.has("pears"));
 * ```
 *
 * @module
 */

import { CausalContext } from "./causal_context.ts";
import type { CrdtType } from "./crdt_type.ts";
import {
  compareTimestamps,
  type Hlc,
  type HlcTimestamp,
  timestampFromWire,
  timestampToWire,
} from "./hlc.ts";
import type { PnCounterHandle } from "./pn_counter.ts";
import type { LwwRegisterHandle } from "./lww_register.ts";

import {
  decodeDots,
  decodeOrSetStore,
  deltaStore,
  encodeDots,
  encodeOrSetStore,
  type FlagHandle,
  flagHandle,
  OR_SET_OPS,
  type OrSetHandle,
  orSetHandle,
  type OrSetStore,
  orSetValue,
} from "./_observed_remove.ts";
import { PMap } from "./_pmap.ts";
import {
  type CausalMap,
  causalMap,
  decodeContext,
  decodeFun,
  DeltaContext,
  type DotFun,
  DotIndex,
  type Dotted,
  EMPTY_FUN,
  equalCausal,
  equalMaps,
  FUN_OPS,
  joinCausalMap,
  joinCausalMapMany,
  joinMap,
  pruneCausal,
  single,
  type StoreOps,
} from "./_dot_store.ts";
import { stamp } from "./_lww.ts";
import { addCount } from "./_counts.ts";
import { checkAmount, checkKey, checkReplica, type Element, isCount, malformed } from "./_wire.ts";

/** The kinds of value an OR-Map field holds, in the order `value` prefers them. */
export type OrMapFieldKind = "counter" | "register" | "set" | "flag" | "map";

const KINDS: readonly OrMapFieldKind[] = ["counter", "register", "set", "flag", "map"];

/** A register's write inside an OR-Map (its replica is its dot's). */
interface RegisterWrite {
  readonly timestamp: HlcTimestamp;
  readonly value: unknown;
}

/**
 * The fields of an OR-Map: `"<kind>:<key>"` -> the field's store
 * (`DotFun<[increments, decrements]>`, `DotFun<RegisterWrite>`,
 * `OrSetStore`, `DotFun<true>` or, for a nested map, `OrMapStore`).
 */
export type OrMapStore = PMap<string, unknown>;

/** An OR-Map state. Never changed once made. */
export type OrMapState = CausalMap<string, unknown>;

/** What a mutation of an OR-Map can do: reach a field's handle by key, or remove a key. */
export interface OrMapHandle {
  /** The PN-Counter under `key`. */
  counter(key: string): PnCounterHandle;
  /** The LWW register under `key`. */
  register(key: string): LwwRegisterHandle;
  /** The OR-Set under `key`. */
  set(key: string): OrSetHandle;
  /** The enable-wins flag under `key`. */
  flag(key: string): FlagHandle;
  /** The OR-Map under `key`. */
  map(key: string): OrMapHandle;
  /** Removes `key` (whatever it holds), as far as this replica has seen it. */
  remove(key: string): void;
}

function kindOf(field: string): OrMapFieldKind {
  return field.slice(0, field.indexOf(":")) as OrMapFieldKind;
}

function keyOf(field: string): string {
  return field.slice(field.indexOf(":") + 1);
}

/**
 * How to join, compare and walk the store of an OR-Map field, by its
 * `"<kind>:<key>"` (what `join` uses per field).
 *
 * @example
 * ```ts
 * import { orMapFieldOps } from "./or_map.ts";
 * console.assert(orMapFieldOps("set:tags").isEmpty(orMapFieldOps("set:tags").empty));
 * ```
 */
// deno-lint-ignore no-explicit-any
export const orMapFieldOps = (field: string): StoreOps<any> => KIND_OPS[kindOf(field)];
const opsOf = orMapFieldOps;

/** The store ops of an OR-Map's fields (nested maps recurse). */
const OR_MAP_OPS: StoreOps<OrMapStore> = {
  empty: PMap.empty(),
  isEmpty: (t) => t.size === 0,
  join: (a, b, ca, cb) => joinMap(a, b, ca, cb, opsOf),
  equals: (a, b) => equalMaps(a, b, opsOf),
  *dots(t) {
    for (const [field, store] of t) yield* opsOf(field).dots(store);
  },
};

// deno-lint-ignore no-explicit-any
const KIND_OPS: Record<OrMapFieldKind, StoreOps<any>> = {
  counter: FUN_OPS,
  register: FUN_OPS,
  set: OR_SET_OPS,
  flag: FUN_OPS,
  map: OR_MAP_OPS,
};

/** What one `mutate` call shares among the handles it gives out. */
interface Mutation {
  readonly replica: string;
  readonly clock: Hlc;
  readonly dc: DeltaContext;
  /** Per delta map, the fields removed in this mutation (their state is not read again); made on the first remove. */
  cleared?: Map<Map<string, unknown>, Set<string>>;
}

/** A handle over the map at one place: its store in the state, and the delta being built for it. */
function mapHandle(
  state: ReadonlyMap<string, unknown> | undefined,
  delta: Map<string, unknown>,
  mu: Mutation,
): OrMapHandle {
  /** The state's fields looked up so far (a handle reads the same few again and again). */
  const seen = new Map<string, unknown>();
  const fromState = (field: string) => {
    if (state === undefined || mu.cleared?.get(delta)?.has(field)) return undefined;
    if (seen.has(field)) return seen.get(field);
    const store = state.get(field);
    seen.set(field, store);
    return store;
  };
  const current = (field: string) =>
    delta.has(field) ? delta.get(field) : fromState(field) ?? KIND_OPS[kindOf(field)].empty;
  const live = (field: string) =>
    fromState(field) !== undefined || (delta.has(field) && !isEmptyDeep(field, delta.get(field)));

  const field = (kind: OrMapFieldKind, key: unknown): string => {
    const k = checkKey(key, "OR-Map key");
    const f = `${kind}:${k}`;
    // The key already holds this kind: in use as it should be.
    if (live(f)) return f;
    for (const other of KINDS) {
      if (other !== kind && live(`${other}:${k}`)) {
        throw new TypeError(
          `Cannot use OR-Map key ${JSON.stringify(k)} as a ${kind}: it holds a ${other}`,
        );
      }
    }
    return `${kind}:${k}`;
  };
  /** A field's mutable delta store (a set or a map), made on first use. */
  const deltaMap = <T>(f: string): Map<T, unknown> => {
    let m = delta.get(f) as Map<T, unknown> | undefined;
    if (m === undefined) delta.set(f, m = new Map());
    return m;
  };

  return {
    counter(key) {
      const f = field("counter", key);
      const own = () => {
        for (const e of (current(f) as DotFun<readonly [number, number]>).values()) {
          if (e.replica === mu.replica) return e;
        }
        return undefined;
      };
      const add = (which: 0 | 1, n: number) => {
        const e = own();
        const totals: [number, number] = e === undefined ? [0, 0] : [e.value[0], e.value[1]];
        totals[which] = addCount(totals[which], n);
        if (e !== undefined) mu.dc.replace([e]);
        const d = mu.dc.dot();
        delta.set(f, single(d.replica, d.n, totals));
      };
      return {
        increment: (n = 1) => add(0, checkAmount(n, "increment")),
        decrement: (n = 1) => add(1, checkAmount(n, "decrement")),
      };
    },
    register(key) {
      const f = field("register", key);
      return {
        set(value) {
          const dots = current(f) as DotFun<RegisterWrite>;
          const timestamp = stamp(mu.clock, latestWrite(dots)?.value.timestamp);
          mu.dc.replace(dots.values());
          const d = mu.dc.dot();
          delta.set(f, single(d.replica, d.n, { timestamp, value }));
        },
      };
    },
    set(key) {
      const f = field("set", key);
      return orSetHandle(
        (fromState(f) ?? new Map()) as OrSetStore,
        deltaMap<Element>(f) as Map<Element, DotFun<true>>,
        mu.dc,
      );
    },
    flag(key) {
      const f = field("flag", key);
      return flagHandle(() => current(f) as DotFun<true>, (dots) => delta.set(f, dots), mu.dc);
    },
    map(key) {
      const f = field("map", key);
      return mapHandle(fromState(f) as OrMapStore | undefined, deltaMap<string>(f), mu);
    },
    remove(key) {
      const k = checkKey(key, "OR-Map key");
      for (const kind of KINDS) {
        const f = `${kind}:${k}`;
        const ops = KIND_OPS[kind];
        const held = fromState(f);
        if (held === undefined && !delta.has(f)) continue;
        if (held !== undefined) mu.dc.replace(ops.dots(held));
        if (delta.has(f)) mu.dc.replace(ops.dots(delta.get(f)));
        delta.set(f, kind === "set" || kind === "map" ? new Map() : EMPTY_FUN);
        mu.cleared ??= new Map();
        let cleared = mu.cleared.get(delta);
        if (cleared === undefined) mu.cleared.set(delta, cleared = new Set());
        cleared.add(f);
      }
    },
  };
}

function isEmptyDeep(field: string, store: unknown): boolean {
  const kind = kindOf(field);
  if (kind !== "map") {
    // A set's delta may hold elements left empty by a remove.
    if (kind === "set") return [...(store as OrSetStore).values()].every((d) => d.size === 0);
    return (store as DotFun<unknown>).size === 0;
  }
  for (const [f, s] of store as OrMapStore) if (!isEmptyDeep(f, s)) return false;
  return true;
}

/** The store a delta built, without the fields it left empty, nested maps first. */
function cleanDelta(delta: ReadonlyMap<string, unknown>): OrMapStore {
  let out: OrMapStore = PMap.empty();
  for (const [f, store] of delta) {
    const kind = kindOf(f);
    const clean = kind === "map"
      ? cleanDelta(store as Map<string, unknown>)
      : kind === "set"
      ? deltaStore(store as Map<Element, DotFun<true>>)
      : store;
    if ((clean as { size: number }).size > 0) out = out.set(f, clean);
  }
  return out;
}

function latestWrite(dots: DotFun<RegisterWrite>): Dotted<RegisterWrite> | undefined {
  let best: Dotted<RegisterWrite> | undefined;
  for (const e of dots.values()) {
    if (best === undefined) {
      best = e;
      continue;
    }
    const c = compareTimestamps(e.value.timestamp, best.value.timestamp);
    if (c > 0 || (c === 0 && e.replica > best.replica)) best = e;
  }
  return best;
}

function mapValue(store: OrMapStore): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const fields = [...store.keys()].sort((a, b) =>
    keyOf(a) < keyOf(b)
      ? -1
      : keyOf(a) > keyOf(b)
      ? 1
      : KINDS.indexOf(kindOf(a)) - KINDS.indexOf(kindOf(b))
  );
  for (const f of fields) {
    const key = keyOf(f);
    if (out.has(key)) continue;
    const s = store.get(f);
    switch (kindOf(f)) {
      case "counter": {
        let total = 0;
        for (const e of (s as DotFun<readonly [number, number]>).values()) {
          total += e.value[0] - e.value[1];
        }
        out.set(key, total);
        break;
      }
      case "register":
        out.set(key, latestWrite(s as DotFun<RegisterWrite>)?.value.value);
        break;
      case "set":
        out.set(key, orSetValue(s as OrSetStore));
        break;
      case "flag":
        out.set(key, (s as DotFun<true>).size > 0);
        break;
      case "map":
        out.set(key, mapValue(s as OrMapStore));
        break;
    }
  }
  return out;
}

function latestIn(store: OrMapStore): HlcTimestamp | undefined {
  let latest: HlcTimestamp | undefined;
  for (const [f, s] of store) {
    const kind = kindOf(f);
    const ts = kind === "register"
      ? latestWrite(s as DotFun<RegisterWrite>)?.value.timestamp
      : kind === "map"
      ? latestIn(s as OrMapStore)
      : undefined;
    if (ts !== undefined && (latest === undefined || compareTimestamps(ts, latest) > 0)) {
      latest = ts;
    }
  }
  return latest;
}

function encodeStore(store: OrMapStore): unknown[] {
  return [...store].map(([f, s]) => {
    const kind = kindOf(f);
    let wire: unknown;
    switch (kind) {
      case "counter":
        wire = [...(s as DotFun<readonly [number, number]>).values()].map((
          e,
        ) => [e.replica, e.n, e.value[0], e.value[1]]);
        break;
      case "register":
        wire = [...(s as DotFun<RegisterWrite>).values()].map((
          e,
        ) => [e.replica, e.n, timestampToWire(e.value.timestamp), e.value.value]);
        break;
      case "set":
        wire = encodeOrSetStore(s as OrSetStore);
        break;
      case "flag":
        wire = encodeDots(s as DotFun<true>);
        break;
      case "map":
        wire = encodeStore(s as OrMapStore);
        break;
    }
    return [kind, keyOf(f), wire];
  });
}

function decodeStore(wire: unknown, cc: CausalContext): OrMapStore {
  const T = "or-map";
  if (!Array.isArray(wire)) throw malformed(T, "fields are not an array");
  let out: OrMapStore = PMap.empty();
  for (const item of wire) {
    if (!Array.isArray(item) || item.length !== 3 || typeof item[1] !== "string") {
      throw malformed(T, "a field is not [kind, key, store]");
    }
    const [kind, key, w] = item as [OrMapFieldKind, string, unknown];
    if (!KINDS.includes(kind)) {
      throw malformed(T, `a field's kind is not one of ${KINDS.join(", ")}`);
    }
    const f = `${kind}:${key}`;
    if (out.has(f)) throw malformed(T, `field ${kind} ${JSON.stringify(key)} appears twice`);
    let store: { size: number };
    switch (kind) {
      case "counter":
        store = decodeFun(w, T, cc, (rest) => {
          if (rest.length !== 2 || !isCount(rest[0]) || !isCount(rest[1])) {
            throw malformed(T, "a counter entry is not [replica, n, increments, decrements]");
          }
          return [rest[0], rest[1]] as const;
        });
        break;
      case "register":
        store = decodeFun(w, T, cc, (rest) => {
          if (rest.length !== 2) {
            throw malformed(T, "a register entry is not [replica, n, timestamp, value]");
          }
          let timestamp: HlcTimestamp;
          try {
            timestamp = timestampFromWire(rest[0]);
          } catch {
            throw malformed(T, "a register's timestamp is not [wall, logical]");
          }
          return { timestamp, value: rest[1] };
        });
        break;
      case "set":
        store = decodeOrSetStore(w, T, cc);
        break;
      case "flag":
        store = decodeDots(w, T, cc);
        break;
      case "map":
        store = decodeStore(w, cc) as { size: number };
        break;
    }
    if (store.size > 0) out = out.set(f, store);
  }
  return out;
}

/**
 * The OR-Map type. Its value is a `Map` from key to the field's value
 * (keys in sorted order).
 *
 * @example
 * ```ts
 * import { orMap } from "./or_map.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc();
 * const profile = orMap.mutate(orMap.empty(), "a", clock, (m) => {
 *   m.register("name").set("Ann");
 *   m.set("tags").add("admin");
 *   m.flag("verified").enable();
 *   m.map("address").register("city").set("Lyon");
 * });
 * const v = orMap.value(orMap.decode(orMap.encode(profile)));
 * console.assert(v.get("name") === "Ann" && (v.get("address") as Map<string, unknown>).get("city") === "Lyon");
 * ```
 */
export const orMap: CrdtType<OrMapState, OrMapHandle, Map<string, unknown>> = {
  name: "or-map",
  empty: () => ({ cc: new CausalContext(), store: PMap.empty(), index: DotIndex.empty() }),
  join: (a, b) => joinCausalMap(a, b, opsOf),
  joinMany: (states) => joinCausalMapMany(states, opsOf, orMap.empty),
  joinOwned: (a, b, owner) => joinCausalMap(a, b, opsOf, false, owner),
  mutate(state, replica, clock, fn) {
    checkReplica(replica);
    const mu: Mutation = {
      replica,
      clock,
      dc: new DeltaContext(state.cc, replica),
    };
    const delta = new Map<string, unknown>();
    fn(mapHandle(state.store, delta, mu));
    return { cc: mu.dc.cc, store: cleanDelta(delta) };
  },
  value: (state) => mapValue(state.store),
  encode: (state) => [state.cc.toWire(), encodeStore(state.store)],
  decode(wire) {
    if (!Array.isArray(wire) || wire.length !== 2) {
      throw malformed("or-map", "not a [context, fields] pair");
    }
    const cc = decodeContext(wire[0], "or-map");
    return causalMap(cc, decodeStore(wire[1], cc), opsOf, "or-map");
  },
  equals: (a, b) => equalCausal(a, b, OR_MAP_OPS),
  prune: (state, removed) => pruneCausal(state, removed, OR_MAP_OPS),
  cleanup: (state, removed) => pruneCausal(state, removed, OR_MAP_OPS),
  latest: (state) => latestIn(state.store),
};
