/**
 * MV-Register: a multi-value register that keeps every concurrent write
 * (a document edited on two sides of a partition): readers see all of
 * them and the next write, having seen them, replaces them all.
 *
 * ```
 * state    = (context, dot -> value)
 * set(v)   : delta = ({d} ∪ dots, {d -> v})     d a fresh dot
 * join     = the dot-function join under both contexts
 * value    = the values of the live dots (one, or several when concurrent)
 * ```
 *
 * @example
 * ```ts
 * import { mvRegister } from "./mv_register.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc();
 * const a = mvRegister.mutate(mvRegister.empty(), "a", clock, (r) => r.set("draft A"));
 * const b = mvRegister.mutate(mvRegister.empty(), "b", clock, (r) => r.set("draft B"));
 * const both = mvRegister.join(a, b);
 * console.assert(mvRegister.value(both).length === 2);
 * const resolved = mvRegister.mutate(both, "a", clock, (r) => r.set("merged"));
 * console.assert(mvRegister.value(mvRegister.join(both, resolved))[0] === "merged");
 * ```
 *
 * @module
 */

import { CausalContext } from "./causal_context.ts";
import type { CrdtType } from "./crdt_type.ts";
import type { Hlc } from "./hlc.ts";
import {
  type Causal,
  decodeContext,
  decodeFun,
  DeltaContext,
  type DotFun,
  type Dotted,
  EMPTY_FUN,
  equalCausal,
  FUN_OPS,
  joinCausal,
  joinPairwise,
  pruneCausal,
  single,
} from "./_dot_store.ts";
import { checkReplica, malformed } from "./_wire.ts";

/** An MV-Register state. Never changed once made. */
export type MvRegisterState = Causal<DotFun<unknown>>;

/** What a mutation of an MV-Register can do. */
export interface MvRegisterHandle {
  /** Writes a value, replacing every value this replica has seen. */
  set(value: unknown): void;
}

/**
 * The MV-Register type. Its value is the list of concurrent values, in
 * the order of their writers' replica ids (the same on every replica).
 *
 * @example
 * ```ts
 * import { mvRegister } from "./mv_register.ts";
 * const s = mvRegister.decode([[[["a", 1], ["b", 1]], []], [["a", 1, "x"], ["b", 1, "y"]]]);
 * console.assert(mvRegister.value(s).join() === "x,y");
 * ```
 */
export const mvRegister: CrdtType<MvRegisterState, MvRegisterHandle, unknown[]> = {
  name: "mv-register",
  empty: () => ({ cc: new CausalContext(), store: EMPTY_FUN }),
  join: (a, b) => joinCausal(a, b, FUN_OPS),
  joinMany: (states) => joinPairwise(states, mvRegister.join, mvRegister.empty),
  mutate(state, replica, _clock: Hlc, fn) {
    checkReplica(replica);
    const dc = new DeltaContext(state.cc, replica);
    let delta: DotFun<unknown> | undefined;
    fn({
      set(value) {
        dc.replace((delta ?? state.store).values());
        const d = dc.dot();
        delta = single(d.replica, d.n, value);
      },
    });
    return { cc: dc.cc, store: delta ?? EMPTY_FUN };
  },
  value: (state) => [...state.store.values()].sort(byDot).map((d) => d.value),
  encode: (
    state,
  ) => [state.cc.toWire(), [...state.store.values()].map((d) => [d.replica, d.n, d.value])],
  decode(wire) {
    if (!Array.isArray(wire) || wire.length !== 2) {
      throw malformed("mv-register", "not a [context, values] pair");
    }
    const cc = decodeContext(wire[0], "mv-register");
    const store = decodeFun(wire[1], "mv-register", cc, (rest) => {
      if (rest.length !== 1) throw malformed("mv-register", "a value is not [replica, n, value]");
      return rest[0];
    });
    return { cc, store };
  },
  equals: (a, b) => equalCausal(a, b, FUN_OPS),
  prune: (state, removed) => pruneCausal(state, removed, FUN_OPS),
  cleanup: (state, removed) => pruneCausal(state, removed, FUN_OPS),
  latest: () => undefined,
};

function byDot(a: Dotted<unknown>, b: Dotted<unknown>): number {
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : a.n - b.n;
}
