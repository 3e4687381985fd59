/**
 * Wire constants and message shapes of process groups (pg).
 *
 * Op codes 76-78 of pg's range 76-79 (allocated in `OP_RANGES`,
 * distribution/op_registry.ts). Every operation names its scope first, so any
 * number of scopes share these codes; a node that does not run a scope
 * ignores operations about it.
 *
 * @example
 * ```ts
 * import { OP_PG_SYNC } from "./types.ts";
 * console.assert(OP_PG_SYNC === 76);
 * ```
 *
 * @module
 */

import type { Pid, Ref } from "../term/pid.ts";

/**
 * `[76, scope, groups, reply]`: the sender's local members of every group
 * (`[[group, [pid, ...]], ...]`), replacing all the receiver knew of the
 * sender; `reply` asks for the receiver's own SYNC back.
 */
export const OP_PG_SYNC = 76;
/** `[77, scope, group, pids]`: processes of the sender joined `group` (once per entry). */
export const OP_PG_JOIN = 77;
/** `[78, scope, group, pids]`: processes of the sender left `group` (once per entry). */
export const OP_PG_LEAVE = 78;

/** The scope every node starts, as OTP's default scope `pg`. */
export const DEFAULT_SCOPE = "pg";

/**
 * `{type: "join" | "leave", ref, scope, group, pids}`: delivered to a
 * process that called `monitor(group)` or `monitorScope()`.
 */
export interface PgEvent {
  /** Whether the processes joined or left. */
  type: "join" | "leave";
  /** The monitor's reference. */
  ref: Ref;
  /** The scope. */
  scope: string;
  /** The group. */
  group: string;
  /** The processes (a process joined twice appears twice). */
  pids: Pid[];
}
