/**
 * The key-value machine (`kv`): a replicated map from string keys to values, with
 * compare-and-set. Every node has it built in: `raft.startCluster("config", "kv", nodes)`.
 *
 * ```
 * command                          reply
 * ["put", key, value]              the previous value (undefined when none)
 * ["cas", key, expected, value]    { ok: true } when the value was `expected` (undefined: absent),
 *                                  else { ok: false, value: current }
 * ["delete", key]                  whether the key was there
 * query                            answer
 * ["get", key]                     the value (undefined when absent)
 * ["keys"]                         the keys, sorted
 * undefined                        every entry, as a plain object
 * ```
 *
 * Values are compared by their encoding (the same on every node), so `cas` works for objects and
 * arrays too. A malformed command throws a `TypeError`: the client gets it and the state is
 * unchanged everywhere.
 *
 * @example
 * ```ts
 * import { apply, init, query } from "./kv.ts";
 * const meta = { index: 1, term: 1 };
 * let s = init();
 * s = apply(meta, ["put", "colour", "red"], s).state;
 * const r = apply(meta, ["cas", "colour", "blue", "green"], s);
 * console.assert(JSON.stringify(r.reply) === '{"ok":false,"value":"red"}');
 * console.assert(query(s, ["get", "colour"]) === "red");
 * ```
 *
 * @module
 */

import { encode } from "../../term/codec.ts";
import type { ApplyMeta, ApplyResult } from "../types.ts";

/** The name the machine is registered under. */
export const name = "kv";

/** The state: key -> value (owned by the machine; changed in place once a command is valid). */
export type KvState = Map<string, unknown>;

/** A command of the kv machine. */
export type KvCommand =
  | readonly ["put", string, unknown]
  | readonly ["cas", string, unknown, unknown]
  | readonly ["delete", string];

/**
 * The empty map.
 *
 * @example
 * ```ts
 * import { init } from "./kv.ts";
 * console.assert(init().size === 0);
 * ```
 */
export function init(): KvState {
  return new Map();
}

function key(command: readonly unknown[]): string {
  const k = command[1];
  if (typeof k !== "string") {
    throw new TypeError(`Invalid kv command: the key must be a string, received ${typeof k}`);
  }
  return k;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const x = encode(a).slice();
  const y = encode(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Applies one committed command. The map is changed in place, and only after the command was
 * checked, so a command that throws leaves it as it was (the service answers queries at once, so
 * no earlier state is read later).
 *
 * @throws {TypeError} for a malformed command
 *
 * @example
 * ```ts
 * import { apply, init } from "./kv.ts";
 * const s = init();
 * console.assert(apply({ index: 1, term: 1 }, ["put", "a", 1], s).reply === undefined);
 * console.assert(apply({ index: 2, term: 1 }, ["delete", "a"], s).reply === true);
 * ```
 */
export function apply(
  _meta: ApplyMeta,
  command: KvCommand,
  state: KvState,
): ApplyResult<KvState, unknown, never> {
  if (!Array.isArray(command)) {
    throw new TypeError(
      'Invalid kv command: expected ["put", key, value], ["cas", key, expected, value] or ["delete", key]',
    );
  }
  switch (command[0]) {
    case "put": {
      const k = key(command);
      const previous = state.get(k);
      state.set(k, command[2]);
      return { state, reply: previous };
    }
    case "cas": {
      const k = key(command);
      const current = state.get(k);
      if (!same(current, command[2])) return { state, reply: { ok: false, value: current } };
      if (command[3] === undefined) state.delete(k);
      else state.set(k, command[3]);
      return { state, reply: { ok: true } };
    }
    case "delete": {
      const k = key(command);
      return { state, reply: state.delete(k) };
    }
    default:
      throw new TypeError(
        `Invalid kv command: unknown operation ${JSON.stringify(command[0])} (put, cas, delete)`,
      );
  }
}

/**
 * Answers a query: `["get", key]`, `["keys"]`, or (undefined) every entry.
 *
 * @throws {TypeError} for a malformed query
 *
 * @example
 * ```ts
 * import { apply, init, query } from "./kv.ts";
 * const s = apply({ index: 1, term: 1 }, ["put", "b", 2], init()).state;
 * console.assert(JSON.stringify(query(s, undefined)) === '{"b":2}');
 * ```
 */
export function query(state: KvState, q: unknown): unknown {
  if (q === undefined) return Object.fromEntries(state);
  if (Array.isArray(q) && q[0] === "get") return state.get(key(q));
  if (Array.isArray(q) && q[0] === "keys") return [...state.keys()].sort();
  throw new TypeError('Invalid kv query: expected ["get", key], ["keys"] or nothing');
}
