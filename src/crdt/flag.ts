/**
 * Flag: a boolean where enable wins over a concurrent disable (a feature
 * switched on, a "seen" mark).
 *
 * Enabling makes a fresh dot; disabling takes away the dots it has
 * observed. A concurrent enable brings a dot the disable never saw, so the
 * flag stays on:
 *
 * ```
 * state      = (context, dots)
 * enable()   : delta = ({d} ∪ dots, {d})     d a fresh dot
 * disable()  : delta = (dots, ∅)
 * value      = dots ≠ ∅
 * ```
 *
 * @example
 * ```ts
 * import { flag } from "./flag.ts";
 * import { Hlc } from "./hlc.ts";
 * const clock = new Hlc();
 * const on = flag.mutate(flag.empty(), "a", clock, (f) => f.enable());
 * const off = flag.mutate(on, "a", clock, (f) => f.disable());
 * const onAgain = flag.mutate(on, "b", clock, (f) => f.enable()); // concurrent with the disable
 * console.assert(flag.value(flag.join(flag.join(on, off), onAgain)) === true);
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
  DeltaContext,
  type DotFun,
  EMPTY_FUN,
  equalCausal,
  FUN_OPS,
  joinCausal,
  joinPairwise,
  pruneCausal,
  type StoreOps,
} from "./_dot_store.ts";
import { checkReplica, malformed } from "./_wire.ts";

/** A Flag state. Never changed once made. */
export type FlagState = Causal<DotFun<true>>;

export type { FlagHandle } from "./_observed_remove.ts";
import { decodeDots, encodeDots, type FlagHandle, flagHandle } from "./_observed_remove.ts";

const OPS = FUN_OPS as StoreOps<DotFun<true>>;

/**
 * The Flag type.
 *
 * @example
 * ```ts
 * import { flag } from "./flag.ts";
 * console.assert(flag.value(flag.decode([[[["a", 1]], []], [["a", 1]]])) === true);
 * console.assert(flag.value(flag.empty()) === false);
 * ```
 */
export const flag: CrdtType<FlagState, FlagHandle, boolean> = {
  name: "flag",
  empty: () => ({ cc: new CausalContext(), store: EMPTY_FUN }),
  join: (a, b) => joinCausal(a, b, OPS),
  joinMany: (states) => joinPairwise(states, flag.join, flag.empty),
  mutate(state, replica, _clock: Hlc, fn) {
    checkReplica(replica);
    const dc = new DeltaContext(state.cc, replica);
    let delta: DotFun<true> | undefined;
    fn(flagHandle(() => delta ?? state.store, (dots) => delta = dots, dc));
    return { cc: dc.cc, store: delta ?? EMPTY_FUN };
  },
  value: (state) => state.store.size > 0,
  encode: (state) => [state.cc.toWire(), encodeDots(state.store)],
  decode(wire) {
    if (!Array.isArray(wire) || wire.length !== 2) {
      throw malformed("flag", "not a [context, dots] pair");
    }
    const cc = decodeContext(wire[0], "flag");
    return { cc, store: decodeDots(wire[1], "flag", cc) };
  },
  equals: (a, b) => equalCausal(a, b, OPS),
  prune: (state, removed) => pruneCausal(state, removed, OPS),
  cleanup: (state, removed) => pruneCausal(state, removed, OPS),
  latest: () => undefined,
};
