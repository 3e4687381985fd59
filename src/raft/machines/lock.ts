/**
 * The lock machine (`lock`): named locks with fencing tokens, built into every node:
 * `raft.startCluster("locks", "lock", nodes)`.
 *
 * ```
 * command                     reply
 * ["acquire", lock, owner]    { ok: true, token } (again for the owner holding it: the same
 *                             token), or { ok: false, owner, token } of the holder
 * ["release", lock, owner]    whether `owner` held it (and now does not)
 * query                       answer
 * ["holder", lock]            { owner, token } or null
 * undefined                   every held lock: { lock: { owner, token } }
 * ```
 *
 * The fencing token is the Raft log index of the acquire, so it grows with every new acquire of
 * any lock, on every node alike. A resource guarded by the lock remembers the highest token it
 * has seen and refuses a write that carries a lower one: a holder that was paused past its turn
 * (and whose lock was released and taken by another) cannot then do harm.
 *
 * @example
 * ```ts
 * import { apply, init } from "./lock.ts";
 * const s = init();
 * const a = apply({ index: 7, term: 1 }, ["acquire", "db", "ann"], s);
 * console.assert(JSON.stringify(a.reply) === '{"ok":true,"token":7}');
 * const b = apply({ index: 8, term: 1 }, ["acquire", "db", "bob"], s);
 * console.assert(JSON.stringify(b.reply) === '{"ok":false,"owner":"ann","token":7}');
 * ```
 *
 * @module
 */

import type { ApplyMeta, ApplyResult } from "../types.ts";

/** The name the machine is registered under. */
export const name = "lock";

/** Who holds a lock, and the token they got. */
export interface LockHolder {
  /** The owner named in the acquire. */
  readonly owner: string;
  /** The fencing token: the log index of the acquire. */
  readonly token: number;
}

/** The state: lock name -> holder (owned by the machine; changed in place once valid). */
export type LockState = Map<string, LockHolder>;

/** A command of the lock machine. */
export type LockCommand =
  | readonly ["acquire", string, string]
  | readonly ["release", string, string];

/**
 * No lock held.
 *
 * @example
 * ```ts
 * import { init } from "./lock.ts";
 * console.assert(init().size === 0);
 * ```
 */
export function init(): LockState {
  return new Map();
}

function names(command: readonly unknown[]): [string, string] {
  const [, lock, owner] = command;
  if (typeof lock !== "string" || typeof owner !== "string") {
    throw new TypeError("Invalid lock command: the lock and the owner must be strings");
  }
  return [lock, owner];
}

/**
 * Applies one committed acquire or release.
 *
 * @throws {TypeError} for a malformed command
 *
 * @example
 * ```ts
 * import { apply, init } from "./lock.ts";
 * const s = init();
 * apply({ index: 1, term: 1 }, ["acquire", "db", "ann"], s);
 * console.assert(apply({ index: 2, term: 1 }, ["release", "db", "ann"], s).reply === true);
 * ```
 */
export function apply(
  meta: ApplyMeta,
  command: LockCommand,
  state: LockState,
): ApplyResult<LockState, unknown, never> {
  if (!Array.isArray(command)) {
    throw new TypeError(
      'Invalid lock command: expected ["acquire", lock, owner] or ["release", lock, owner]',
    );
  }
  switch (command[0]) {
    case "acquire": {
      const [lock, owner] = names(command);
      const holder = state.get(lock);
      if (holder === undefined) {
        state.set(lock, { owner, token: meta.index });
        return { state, reply: { ok: true, token: meta.index } };
      }
      if (holder.owner === owner) return { state, reply: { ok: true, token: holder.token } };
      return { state, reply: { ok: false, owner: holder.owner, token: holder.token } };
    }
    case "release": {
      const [lock, owner] = names(command);
      if (state.get(lock)?.owner !== owner) return { state, reply: false };
      state.delete(lock);
      return { state, reply: true };
    }
    default:
      throw new TypeError(
        `Invalid lock command: unknown operation ${JSON.stringify(command[0])} (acquire, release)`,
      );
  }
}

/**
 * Answers `["holder", lock]`, or (undefined) every held lock.
 *
 * @throws {TypeError} for a malformed query
 *
 * @example
 * ```ts
 * import { apply, init, query } from "./lock.ts";
 * const s = apply({ index: 3, term: 1 }, ["acquire", "db", "ann"], init()).state;
 * console.assert(JSON.stringify(query(s, ["holder", "db"])) === '{"owner":"ann","token":3}');
 * ```
 */
export function query(state: LockState, q: unknown): unknown {
  if (q === undefined) return Object.fromEntries(state);
  if (Array.isArray(q) && q[0] === "holder" && typeof q[1] === "string") {
    return state.get(q[1]) ?? null;
  }
  throw new TypeError('Invalid lock query: expected ["holder", lock] or nothing');
}
