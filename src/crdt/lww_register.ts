/**
 * LWW-Register: one value, the last written wins (user settings).
 *
 * Each write carries its HLC timestamp and its replica; the join keeps the
 * write with the larger `(timestamp, replica)`, so replicas agree on one
 * winner even for writes in the same millisecond. A write is always
 * stamped later than the value it replaces, even when the writer's clock
 * lags behind the replica that wrote that value:
 *
 * ```
 * state       = ⊥ | (timestamp, replica, value)
 * join(A, B)  = the one of A, B with the larger (timestamp, replica)
 * set(v)      : delta = (max(clock.now(), current + 1), self, v)
 * ```
 *
 * @example
 * ```ts
 * import { lwwRegister } from "./lww_register.ts";
 * import { Hlc } from "./hlc.ts";
 * let t = 1_000;
 * const clock = new Hlc({ physical: () => t });
 * const a = lwwRegister.mutate(lwwRegister.empty(), "a", clock, (r) => r.set("dark"));
 * t += 10;
 * const b = lwwRegister.mutate(lwwRegister.empty(), "b", clock, (r) => r.set("light"));
 * console.assert(lwwRegister.value(lwwRegister.join(a, b)) === "light");
 * ```
 *
 * @module
 */

import type { CrdtType } from "./crdt_type.ts";
import { timestampToWire } from "./hlc.ts";
import { compareWrites, decodeWrite, stamp } from "./_lww.ts";
import { checkReplica } from "./_wire.ts";

export type { LwwWrite } from "./_lww.ts";
import type { LwwWrite } from "./_lww.ts";

/** An LWW-Register state: the winning write, or `undefined` before any. */
export type LwwRegisterState = LwwWrite | undefined;

/** What a mutation of an LWW-Register can do. */
export interface LwwRegisterHandle {
  /** Writes a value. */
  set(value: unknown): void;
}

/**
 * The LWW-Register type.
 *
 * @example
 * ```ts
 * import { lwwRegister } from "./lww_register.ts";
 * const s = lwwRegister.decode([[5, 0], "a", { theme: "dark" }]);
 * console.assert((lwwRegister.value(s) as { theme: string }).theme === "dark");
 * ```
 */
export const lwwRegister: CrdtType<LwwRegisterState, LwwRegisterHandle, unknown> = {
  name: "lww-register",
  empty: () => undefined,
  join: (a, b) => (later(a, b) ? a : b),
  mutate(state, replica, clock, fn) {
    checkReplica(replica);
    let current = state;
    fn({
      set(value) {
        current = { timestamp: stamp(clock, current?.timestamp), replica, value };
      },
    });
    return current === state ? undefined : current;
  },
  value: (state) => state?.value,
  encode: (state) =>
    state === undefined ? null : [timestampToWire(state.timestamp), state.replica, state.value],
  decode(wire) {
    if (wire === null) return undefined;
    return decodeWrite(wire, "lww-register");
  },
  equals: (a, b) => a === b || (a !== undefined && b !== undefined && compareWrites(a, b) === 0),
  prune: (state) => state,
  cleanup: (state) => state,
  latest: (state) => state?.timestamp,
};

/** Whether `a` wins over `b` (or `b` is absent); ties (the same write) keep `a`. */
function later(a: LwwRegisterState, b: LwwRegisterState): boolean {
  if (b === undefined) return true;
  if (a === undefined) return false;
  return compareWrites(a, b) >= 0;
}
