/**
 * The contract every replicated data type of `src/crdt/` fulfils, and the
 * table that finds a type by name.
 *
 * A type is a set of pure functions over immutable states (a state is never
 * changed once made; joins and mutators build new ones, sharing what did not
 * change). States form a join-semilattice:
 *
 * ```
 * join(a, b) = join(b, a)                       commutative
 * join(join(a, b), c) = join(a, join(b, c))     associative
 * join(a, a) = a                                idempotent
 * ```
 *
 * so replicas that exchange states in any order, any number of times, end
 * up equal. Mutators are *delta mutators*: `mutate` returns a small state
 * holding just what the change made, and `join(s, delta)` equals the state
 * the change would give, so a replicator ships deltas instead of states.
 *
 * @example
 * ```ts
 * import { crdtType } from "./crdt_type.ts";
 * import { Hlc } from "./hlc.ts";
 * const counter = crdtType("g-counter");
 * const clock = new Hlc();
 * const delta = counter.mutate(counter.empty(), "a@h", clock, (c) => (c as { increment(n?: number): void }).increment(2));
 * console.assert(counter.value(counter.join(counter.empty(), delta)) === 2);
 * ```
 *
 * @module
 */

import type { HlcTimestamp } from "./hlc.ts";
import type { Hlc } from "./hlc.ts";
import { flag } from "./flag.ts";
import { gCounter } from "./g_counter.ts";
import { gSet } from "./g_set.ts";
import { lwwMap } from "./lww_map.ts";
import { lwwRegister } from "./lww_register.ts";
import { mvRegister } from "./mv_register.ts";
import { orMap } from "./or_map.ts";
import { orSet } from "./or_set.ts";
import { pnCounter } from "./pn_counter.ts";

/** The names of the replicated data types. */
export type CrdtTypeName =
  | "g-counter"
  | "pn-counter"
  | "g-set"
  | "or-set"
  | "lww-register"
  | "mv-register"
  | "flag"
  | "or-map"
  | "lww-map";

/**
 * A replicated data type: states `S`, the handle `H` a mutation works
 * through, the user-facing value `V`.
 *
 * @example
 * ```ts
 * import type { CrdtType } from "./crdt_type.ts";
 * import { gSet, type GSetHandle, type GSetState } from "./g_set.ts";
 * import { Hlc } from "./hlc.ts";
 * const tags: CrdtType<GSetState, GSetHandle, Set<unknown>> = gSet;
 * const d = tags.mutate(tags.empty(), "a", new Hlc(), (s) => s.add("red"));
 * console.assert(tags.value(d).has("red"));
 * ```
 */
export interface CrdtType<S, H, V> {
  /** The type's name. */
  readonly name: CrdtTypeName;
  /** The bottom state: what a replica holds before any change. */
  empty(): S;
  /** The least upper bound of two states; commutative, associative, idempotent; changes neither. */
  join(a: S, b: S): S;
  /**
   * The join of many states (the deltas of one flush), when the type has a
   * faster way than joining them one after the other.
   */
  joinMany?(states: S[]): S;
  /**
   * `join(a, b)` for a caller that owns `a` alone (a replica joining a local
   * delta into its state): the parts of `a` made under `owner` by earlier
   * calls may be changed in place instead of copied. Whoever hands `a` out
   * afterwards must stop using that owner (take a new object), so that what
   * it handed out never changes.
   */
  joinOwned?(a: S, b: S, owner: object): S;
  /**
   * Runs user mutations through a handle, as `replica`, with `clock` for
   * timestamps; returns the delta they made (itself a state). `state` is
   * not changed; every call on the handle sees the calls before it.
   */
  mutate(state: S, replica: string, clock: Hlc, fn: (handle: H) => void): S;
  /** The user-facing value (plain JS: number, Set, Map, object...). */
  value(state: S): V;
  /** The state as a value Weft's CBOR codec can send (arrays, strings, numbers, bigints). */
  encode(state: S): unknown;
  /**
   * The state in a compact form for the wire, when the type has one
   * (`decode` reads both); `encode`'s form stays the canonical one that
   * digests and tests see.
   */
  pack?(state: S): unknown;
  /** A state read from the wire; strict: throws a `TypeError` naming what is wrong, never a half-valid state. */
  decode(wire: unknown): S;
  /** Semantic state equality (for convergence checks). */
  equals(a: S, b: S): boolean;
  /** Drops what a replica removed for good contributed, folding it into `into` where the type must keep it (counters). */
  prune(state: S, removed: string, into: string): S;
  /**
   * Drops what a replica removed for good contributed, without folding it
   * anywhere: what every replica but the pruner does once the pruner has
   * folded it (its folded state reaches them by the same entry).
   */
  cleanup(state: S, removed: string): S;
  /**
   * The newest HLC timestamp the state holds (last-write-wins values), or
   * `undefined`: what a receiver checks against its clock's maximum offset
   * before it merges a peer's delta.
   */
  latest(state: S): HlcTimestamp | undefined;
}

// deno-lint-ignore no-explicit-any
const TYPES: Record<CrdtTypeName, CrdtType<any, any, any>> = {
  "g-counter": gCounter,
  "pn-counter": pnCounter,
  "g-set": gSet,
  "or-set": orSet,
  "lww-register": lwwRegister,
  "mv-register": mvRegister,
  "flag": flag,
  "or-map": orMap,
  "lww-map": lwwMap,
};

/**
 * Every type name, in the order of the seed's table.
 *
 * @example
 * ```ts
 * import { CRDT_TYPE_NAMES } from "./crdt_type.ts";
 * console.assert(CRDT_TYPE_NAMES.includes("or-map"));
 * ```
 */
export const CRDT_TYPE_NAMES: readonly CrdtTypeName[] = Object.keys(TYPES) as CrdtTypeName[];

/**
 * Finds a replicated data type by name.
 *
 * @param name one of {@linkcode CRDT_TYPE_NAMES}
 * @returns the type
 * @throws {TypeError} when no type has that name
 *
 * @example
 * ```ts
 * import { crdtType } from "./crdt_type.ts";
 * console.assert(crdtType("or-set").name === "or-set");
 * try {
 *   crdtType("counter");
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * ```
 */
export function crdtType(name: string): CrdtType<unknown, unknown, unknown> {
  if (typeof name === "string" && Object.hasOwn(TYPES, name)) return TYPES[name as CrdtTypeName];
  throw new TypeError(
    `Unknown CRDT type: expected one of ${CRDT_TYPE_NAMES.join(", ")}, received ${
      typeof name === "string" ? JSON.stringify(name) : typeof name
    }`,
  );
}
