/**
 * Wire constants of Weft's rpc layer: the operation codes it adds to the
 * distribution protocol (docs/PROTOCOL.md section 7; rpc's codes are
 * 32-39 and the kernel's spawn codes 10-11, allocated in `OP_RANGES` of
 * distribution/op_registry.ts), the status codes of its
 * replies, and the checks that turn a peer's fields into typed values.
 *
 * ```
 * call:   A --- RPC_CALL   [32, id, target, args, gl] ------------> B  B spawns a process that
 *         A <-- RPC_REPLY  [33, id, status, value] ---------------- B  runs target(...args)
 * cast:   A --- RPC_CAST   [34, target, args, gl] ----------------> B  no reply
 * spawn:  A --- SPAWN_REQUEST [10, ref, from, [target, args], opts] -> B
 *         A <-- SPAWN_REPLY   [11, ref, from, pid | [status, detail]] B
 *         with opts.monitor, B holds the new process until A has set up its monitor:
 *         A --- MONITOR [7, from, pid, mref] then SPAWN_GO [35, ref] -> B  the process runs
 * output: B --- RPC_IO     [36, gl, level, text] -----------------> A  console line of a process
 *                                                                      whose group leader is on A
 *
 * target = [module, function]   a function a module of B exports
 *        | source               a function's source text, evaluated on B
 * gl     = the caller's group leader (a Pid of A), or null
 * ```
 *
 * `id` numbers the calls of one node incarnation and is never reused, so a
 * reply that comes after its call has timed out matches no call and is
 * dropped. A call's fate when B is lost is learnt from the node kernel
 * (`monitorNode`), not from a timer.
 *
 * @example
 * ```ts
 * import { OP_RPC_CALL, OP_RPC_REPLY } from "./types.ts";
 * console.assert(OP_RPC_CALL === 32 && OP_RPC_REPLY === 33);
 * ```
 *
 * @module
 */

import { Pid } from "../term/pid.ts";

/** `[32, id, target, args, gl]`: run `target(...args)` and answer with RPC_REPLY. */
export const OP_RPC_CALL = 32;
/** `[33, id, status, value]`: the outcome of the call numbered `id`. */
export const OP_RPC_REPLY = 33;
/** `[34, target, args, gl]`: run `target(...args)`, no answer. */
export const OP_RPC_CAST = 34;
/** `[35, ref]`: the monitor of the spawn request `ref` is in place; start the process. */
export const OP_SPAWN_GO = 35;
/** `[36, gl, level, text]`: a console line for the group leader `gl`. */
export const OP_RPC_IO = 36;

/** Reply status: the function returned; the value is its result. */
export const STATUS_OK = 0;
/** Reply status: the function threw; the value is what it threw. */
export const STATUS_THREW = 1;
/** Reply status: no such module (value `[module]`) or function (value `[module, fn]`). */
export const STATUS_UNDEFINED = 2;
/** Reply status: the node's policy refused; the value is a sentence. */
export const STATUS_REFUSED = 3;
/** Reply status: the result cannot cross the wire; the value is the codec's sentence. */
export const STATUS_BAD_RESULT = 4;
/** Reply status: the request was malformed or could not be served; the value is a sentence. */
export const STATUS_BAD_REQUEST = 5;

/** A reply status. */
export type ReplyStatus =
  | typeof STATUS_OK
  | typeof STATUS_THREW
  | typeof STATUS_UNDEFINED
  | typeof STATUS_REFUSED
  | typeof STATUS_BAD_RESULT
  | typeof STATUS_BAD_REQUEST;

/** What a call names: a module's function, or a function's source. */
export type Target =
  /** A function exported by a module of the serving node. */
  | { kind: "mfa"; module: string; fn: string }
  /** Source text of a function, as an expression, evaluated on the serving node. */
  | { kind: "source"; source: string };

/** The console methods whose lines travel to a group leader. */
export type ConsoleLevel = "log" | "info" | "debug" | "warn" | "error";

/** Every {@linkcode ConsoleLevel}. */
export const CONSOLE_LEVELS: readonly ConsoleLevel[] = ["log", "info", "debug", "warn", "error"];

/** Largest function source accepted from a peer, in UTF-16 code units. */
export const MAX_SOURCE = 1024 * 1024;

/**
 * The wire form of a target.
 *
 * @param target the target
 * @returns `[module, fn]` or the source text
 *
 * @example
 * ```ts
 * import { targetField } from "./types.ts";
 * console.assert(JSON.stringify(targetField({ kind: "mfa", module: "m", fn: "f" })) === '["m","f"]');
 * ```
 */
export function targetField(target: Target): [string, string] | string {
  return target.kind === "mfa" ? [target.module, target.fn] : target.source;
}

/**
 * Reads a target from a peer's fields.
 *
 * @param value the field
 * @returns the target, or `undefined` when malformed
 *
 * @example
 * ```ts
 * import { parseTarget } from "./types.ts";
 * console.assert(parseTarget(["m", "f"])?.kind === "mfa");
 * console.assert(parseTarget(42) === undefined);
 * ```
 */
export function parseTarget(value: unknown): Target | undefined {
  if (typeof value === "string") {
    return value.length > 0 && value.length <= MAX_SOURCE
      ? { kind: "source", source: value }
      : undefined;
  }
  if (
    Array.isArray(value) && value.length === 2 && isName(value[0]) && isName(value[1])
  ) {
    return { kind: "mfa", module: value[0], fn: value[1] };
  }
  return undefined;
}

/**
 * Reads a group leader field: a pid or null.
 *
 * @param value the field
 * @returns the pid, `null` for none, or `undefined` when malformed
 *
 * @example
 * ```ts
 * import { parseLeader } from "./types.ts";
 * console.assert(parseLeader(null) === null && parseLeader(1) === undefined);
 * ```
 */
export function parseLeader(value: unknown): Pid | null | undefined {
  if (value === null) return null;
  return value instanceof Pid ? value : undefined;
}

/**
 * A call's id: a safe non-negative integer.
 *
 * @param value the field
 * @returns whether it is one
 *
 * @example
 * ```ts
 * import { isCallId } from "./types.ts";
 * console.assert(isCallId(7) && !isCallId(-1));
 * ```
 */
export function isCallId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A module or function name as it may travel: a non-empty string of at most 255 units. */
function isName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 255;
}

/**
 * How a target reads in messages: `math.add`, or `a function` for source.
 *
 * @param target the target
 * @returns the text
 *
 * @example
 * ```ts
 * import { describeTarget } from "./types.ts";
 * console.assert(describeTarget({ kind: "mfa", module: "math", fn: "add" }) === "math.add");
 * ```
 */
export function describeTarget(target: Target): string {
  return target.kind === "mfa" ? `${target.module}.${target.fn}` : "a function";
}
