/**
 * Wire constants and message shapes of the global name service.
 *
 * Op codes 64-75 are global's (allocated in `OP_RANGES`,
 * distribution/op_registry.ts, beside pg 76-79, pubsub 80-83 and presence
 * 84-87); the distribution layer hands them to the handler registered in `NetKernel.ops` and
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

// ---------------------------------------------------------------- registering

/** `[65, req, name, pid, at, resolver]`: to the boss: register `pid` (of the sender) if `name` is free. */
export const OP_GLOBAL_CLAIM = 65;
/**
 * `[66, req, granted, relayed]`: the boss's answer; when granted it has
 * sent ADD (with the claimant's req, so they ACK to the claimant) to its
 * other peers, listed in `relayed`.
 */
export const OP_GLOBAL_CLAIM_REPLY = 66;
/**
 * `[67, req, name, pid, at, resolver]`: a registration, from the node of
 * `pid` or relayed by the boss; when req > 0 the receiver sends ACK to
 * the node of `pid`.
 */
export const OP_GLOBAL_ADD = 67;
/** `[68, req, name, pid]`: a registration removed by the node of `pid`; ACK wanted when req > 0. */
export const OP_GLOBAL_DEL = 68;
/** `[69, req]`: ADD or DEL applied. */
export const OP_GLOBAL_ACK = 69;
/** `[70, name, keep | null, losers]`: the outcome of a name conflict, from its decider. */
export const OP_GLOBAL_RESOLVED = 70;

// ---------------------------------------------------------------- locks

/** `[71, req, id, queue]`: take the `trans` lock `id` here (waiting in line when `queue`). */
export const OP_GLOBAL_LOCK = 71;
/** `[72, req, granted]`: the answer to LOCK. */
export const OP_GLOBAL_LOCK_REPLY = 72;
/** `[73, req, id]`: release a lock (or leave its line). */
export const OP_GLOBAL_UNLOCK = 73;

// ---------------------------------------------------------------- forwarding

/** `[74, req, what, name, pid]`: register / unregister `pid` on the node that owns it. */
export const OP_GLOBAL_REQUEST = 74;
/** `[75, req, result]`: the answer to REQUEST. */
export const OP_GLOBAL_REPLY = 75;

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
