/**
 * What a Raft machine is to the Raft service: a module, found by name on every node of the group
 * (functions do not travel, so each node must have the same code). It has ra's `ra_machine`
 * shape, plus an optional `query` the queries run on the state:
 *
 * ```
 * export function init(): State
 * export function apply(meta, command, state): { state, reply, effects?, releaseCursor? }
 *                                                                            deterministic
 * export function query(state, q): Answer                                    optional
 * export function encodeState(state): Uint8Array                             optional, with
 * export function decodeState(bytes): State                                  decodeState
 * ```
 * `releaseCursor: true` lets every member snapshot the state there and drop the log before it;
 * snapshots are encoded with `node:v8`'s `serialize` unless the module gives its own pair.
 *
 * A module is found, in this order, among the machines registered with
 * `raft.registerMachine(name, module)` (the built-in `kv` and `lock` are there), then among the
 * node's rpc modules (`weft --load ./counter.ts`, `rpc.registerModule`), as long as the node's rpc
 * policy (`--rpc-allow`) lets peers call its `apply`.
 *
 * @example
 * ```ts
 * import { machineFromModule } from "./machine_module.ts";
 * const counter = machineFromModule({
 *   init: () => 0,
 *   apply: (_meta: unknown, n: number, s: number) => ({ state: s + n, reply: s + n }),
 * });
 * console.assert(counter !== undefined && counter.init() === 0);
 * console.assert(machineFromModule({ init: () => 0 }) === undefined);
 * ```
 *
 * @module
 */

import type { RaftMachine } from "./types.ts";

/** A machine as the service runs it: ra's machine plus an optional query function. */
export interface RaftMachineModule<S = unknown, C = unknown, R = unknown, E = unknown>
  extends RaftMachine<S, C, R, E> {
  /**
   * Answers a query on the state (run where the state is: the leader for `consistentQuery`).
   * Without it a query answers the whole state.
   */
  query?(state: S, query: unknown): unknown;
}

/**
 * The machine a module object holds, if it has `init` and `apply` functions.
 *
 * @param module a module namespace or object of functions
 * @returns the machine, or `undefined` when it is not one
 *
 * @example
 * ```ts
 * import { machineFromModule } from "./machine_module.ts";
 * import * as kv from "./machines/kv.ts";
 * console.assert(machineFromModule(kv)?.query !== undefined);
 * ```
 */
export function machineFromModule(module: unknown): RaftMachineModule | undefined {
  if (typeof module !== "object" && typeof module !== "function" || module === null) {
    return undefined;
  }
  const m = module as Record<string, unknown>;
  const init = m.init;
  const apply = m.apply;
  const query = m.query;
  const encodeState = m.encodeState;
  const decodeState = m.decodeState;
  if (typeof init !== "function" || typeof apply !== "function") return undefined;
  return {
    init: () => init.call(module),
    apply: (meta, command, state) => apply.call(module, meta, command, state),
    ...(typeof query === "function"
      ? { query: (state: unknown, q: unknown) => query.call(module, state, q) }
      : {}),
    // A snapshot codec of the module's own, used only as a pair.
    ...(typeof encodeState === "function" && typeof decodeState === "function"
      ? {
        encodeState: (state: unknown) => encodeState.call(module, state) as Uint8Array,
        decodeState: (bytes: Uint8Array) => decodeState.call(module, bytes),
      }
      : {}),
  };
}
