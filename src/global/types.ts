/**
 * Wire constants and message shapes of the global name service.
 *
 * Op codes 64-95 belong to the cluster services of this repository
 * (global 64-73, pg 74-77, pubsub 80-81, presence 84-85); the distribution
 * layer hands them to the handler installed with `NetKernel.onOp` and
 * ignores them on a node without one. Each body is the CBOR array
 * `[op, ...fields]` of docs/PROTOCOL.md section 7.
 *
 * @example
 * ```ts
 * import { OP_GLOBAL_SYNC } from "./types.ts";
 * console.assert(OP_GLOBAL_SYNC === 64);
 * ```
 *
 * @module
 */

import type { Pid } from "../term/pid.ts";

/** Version of the global protocol, first field of SYNC. */
export const GLOBAL_VERSION = 1;

// ---------------------------------------------------------------- state exchange

/** `[64, version, entries]`: the sender's own registrations, first thing on each new connection. */
export const OP_GLOBAL_SYNC = 64;

// ---------------------------------------------------------------- locks

/** `[65, req, kind, id, queue]`: take a lock (`kind` "n": a name, "t": a `trans` lock). */
export const OP_GLOBAL_LOCK = 65;
/** `[66, req, granted]`: the answer to LOCK. */
export const OP_GLOBAL_LOCK_REPLY = 66;
/** `[67, req, kind, id]`: release a lock (or drop a queued request). */
export const OP_GLOBAL_UNLOCK = 67;

// ---------------------------------------------------------------- the table

/** `[68, req, name, pid, at, resolver]`: a registration by the owner of `pid`; ACK wanted when req > 0. */
export const OP_GLOBAL_ADD = 68;
/** `[69, req, name, pid]`: a registration removed by the owner of `pid`; ACK wanted when req > 0. */
export const OP_GLOBAL_DEL = 69;
/** `[70, req]`: ADD or DEL applied. */
export const OP_GLOBAL_ACK = 70;
/** `[71, name, keep | null, losers]`: the outcome of a name conflict, from its decider. */
export const OP_GLOBAL_RESOLVED = 71;

// ---------------------------------------------------------------- forwarding

/** `[72, req, what, name, pid]`: register / unregister `pid` on the node that owns it. */
export const OP_GLOBAL_REQUEST = 72;
/** `[73, req, result]`: the answer to REQUEST. */
export const OP_GLOBAL_REPLY = 73;

/** Lock kinds: a registration's name lock, or a `trans` lock. */
export type LockKind = "n" | "t";

/** One registration, as every node holds it. */
export interface GlobalEntry {
  /** The name. */
  readonly name: string;
  /** The process; its node is the registration's owner. */
  readonly pid: Pid;
  /** When the owner registered it (ms since the epoch): the earlier wins a conflict by default. */
  at: number;
  /** Whether the owner keeps a custom resolver for it. */
  resolver: boolean;
}

/**
 * Decides a name conflict after a partition heals: returns the pid that
 * keeps the name, or `undefined` to drop both. `pid1` is the earlier
 * registration.
 */
export type GlobalResolver = (
  name: string,
  pid1: Pid,
  pid2: Pid,
) => Pid | undefined | Promise<Pid | undefined>;

/**
 * `{type: "global_name_conflict", name, other}`: sent to a process that
 * lost its global name in a conflict; `other` kept it (`undefined` when
 * the resolver dropped both).
 */
export interface GlobalNameConflictMessage {
  /** Always `"global_name_conflict"`. */
  type: "global_name_conflict";
  /** The name that was lost. */
  name: string;
  /** The process that kept it, if any. */
  other: Pid | undefined;
}
