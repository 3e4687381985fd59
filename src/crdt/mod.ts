/**
 * Replicated data types (CRDTs), their clocks and a conflict resolver:
 * pure state and functions, no I/O. The replicator spreads these states
 * between nodes; presence keeps its state in the same causal context.
 *
 * - {@linkcode crdtType} finds a type by name; every type fulfils
 *   {@linkcode CrdtType}: `empty`, `join`, delta `mutate`, `value`,
 *   `encode`/`decode`, `equals`, `prune`, `latest`.
 * - Types: {@linkcode gCounter}, {@linkcode pnCounter}, {@linkcode gSet},
 *   {@linkcode orSet}, {@linkcode lwwRegister}, {@linkcode mvRegister},
 *   {@linkcode flag}, {@linkcode orMap}, {@linkcode lwwMap}.
 * - Clocks: {@linkcode Hlc} (hybrid logical clock with a maximum tolerated
 *   offset), {@linkcode VectorClock}, {@linkcode CausalContext} (the dots a
 *   state has seen).
 * - The seed's conflict resolver: {@linkcode lastWriteWins} and
 *   {@linkcode resolveByVectorClock}.
 *
 * States are immutable and persistent: a join or a mutation shares what it
 * did not change (large maps and sets are hash tries), and joining a delta
 * into a large OR-Set or OR-Map visits only the keys the delta names.
 *
 * @example
 * ```ts
 * import { crdtType, Hlc } from "./mod.ts";
 * const counter = crdtType("pn-counter");
 * const clock = new Hlc();
 * const delta = counter.mutate(counter.empty(), "a@host", clock, (c) => {
 *   (c as { increment(n: number): void }).increment(3);
 * });
 * const replica = counter.decode(counter.encode(delta));
 * console.assert(counter.value(replica) === 3);
 * ```
 *
 * @module
 */

export { CRDT_TYPE_NAMES, type CrdtType, crdtType, type CrdtTypeName } from "./crdt_type.ts";
export { CausalContext, type CausalContextWire, type Dot, isDotNumber } from "./causal_context.ts";
export {
  compareTimestamps,
  DEFAULT_MAX_OFFSET,
  Hlc,
  type HlcOptions,
  type HlcTimestamp,
  isTimestamp,
  timestampFromWire,
  timestampToWire,
} from "./hlc.ts";
export { gCounter, type GCounterHandle, type GCounterState } from "./g_counter.ts";
export { pnCounter, type PnCounterHandle, type PnCounterState } from "./pn_counter.ts";
export { gSet, type GSetHandle, type GSetState } from "./g_set.ts";
export {
  lwwRegister,
  type LwwRegisterHandle,
  type LwwRegisterState,
  type LwwWrite,
} from "./lww_register.ts";
export { orSet, type OrSetHandle, type OrSetState, type OrSetStore } from "./or_set.ts";
export { mvRegister, type MvRegisterHandle, type MvRegisterState } from "./mv_register.ts";
export { flag, type FlagHandle, type FlagState } from "./flag.ts";
export {
  orMap,
  type OrMapFieldKind,
  type OrMapHandle,
  type OrMapState,
  type OrMapStore,
} from "./or_map.ts";
export { lwwMap, type LwwMapEntry, type LwwMapHandle, type LwwMapState } from "./lww_map.ts";
export { type ClockOrder, VectorClock } from "./vector_clock.ts";
export {
  lastWriteWins,
  resolveByVectorClock,
  type Timestamped,
  type Versioned,
} from "./conflict_resolver.ts";
export type { Causal, DotFun, Dotted } from "./_dot_store.ts";
export type { Element } from "./_wire.ts";
