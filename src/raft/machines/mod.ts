/**
 * The Raft machines every node has built in: `kv` (a map with compare-and-set) and `lock`
 * (named locks with fencing tokens).
 *
 * @example
 * ```ts
 * import { BUILTIN_MACHINES } from "./mod.ts";
 * console.assert(Object.keys(BUILTIN_MACHINES).join() === "kv,lock");
 * ```
 *
 * @module
 */

import * as kv from "./kv.ts";
import * as lock from "./lock.ts";

export type { KvCommand, KvState } from "./kv.ts";
export type { LockCommand, LockHolder, LockState } from "./lock.ts";

/** The built-in machine modules by name. */
export const BUILTIN_MACHINES: Readonly<Record<string, object>> = Object.freeze({ kv, lock });
