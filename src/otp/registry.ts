/**
 * Registry: a local key-value store of processes, as Elixir's `Registry`.
 * Processes register themselves under keys, with a value; others look
 * them up, dispatch to them, or use a unique registry as the name service
 * of a server (`{ via: "my_registry", key }`). Entries go away when their
 * process dies.
 *
 * ```
 * registry process (traps exits)          the table, used in the caller
 *   init: makes the table                   register: insert + link(caller, registry)
 *   {EXIT, pid}: drop pid's entries         lookup / dispatch / meta: read, no message
 *   exit: table gone; registrants, linked,  unregister: delete; unlink when none left
 *         get its exit signal
 * ```
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess, self } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   await Registry.start({ keys: "duplicate", name: "rooms" });
 *   Registry.register("rooms", "lobby", { nick: "ann" });
 *   const [pid, value] = Registry.lookup<{ nick: string }>("rooms", "lobby")[0]!;
 *   console.assert(pid.equals(self()) && value.nick === "ann");
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { NameError } from "../errors.ts";
import { current, trapExit } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ExitMessage } from "../process/types.ts";
import { Pid } from "../term/pid.ts";
import {
  type RegistryEntry,
  type RegistryKeys,
  RegistryTable,
  tableOf,
} from "./_registry_table.ts";
import type { ChildSpec } from "./child_spec.ts";
import { type Awaitable, GenServer, type InfoResult, type InitResult } from "./gen_server.ts";

export type { RegistryEntry, RegistryKeys } from "./_registry_table.ts";

/** Options of `Registry.start`. */
export interface RegistryOptions {
  /** `"unique"`: one process per key; `"duplicate"`: any number. */
  keys: RegistryKeys;
  /** Register the registry process under this local name. */
  name?: string;
  /** Metadata to start with, as `Registry.putMeta` would store it. */
  meta?: [key: unknown, value: unknown][];
  /** The node to start it on; default the calling process's. */
  runtime?: Runtime;
  /** Link it to the calling process (what `startLink` sets). */
  link?: boolean;
}

/** What `Registry.register` returns. */
export type RegisterResult =
  /** Registered; `owner` is the registry process, now linked to the caller. */
  | { ok: true; owner: Pid }
  /** A unique registry where a live process already holds the key. */
  | { ok: false; reason: "already_registered"; pid: Pid };

/** The registry process: owns the table, cleans up after exited registrants. */
class RegistryServer extends GenServer<RegistryTable, RegistryOptions> {
  override init(options: RegistryOptions): InitResult<RegistryTable> {
    const ctx = current();
    trapExit(true);
    const table = new RegistryTable(ctx.runtime, ctx.self, options.keys, options.name);
    for (const [key, value] of options.meta ?? []) table.putMeta(key, value);
    table.open();
    // However the registry ends, even killed, its table goes with it.
    ctx.signal.addEventListener("abort", () => table.close(), { once: true });
    return { ok: table };
  }

  override handleInfo(msg: unknown, table: RegistryTable): Awaitable<InfoResult<RegistryTable>> {
    const exit = msg as ExitMessage;
    if (
      typeof msg === "object" && msg !== null && exit.type === "EXIT" && exit.from instanceof Pid
    ) {
      table.removePid(exit.from);
      return { noreply: true, state: table };
    }
    return super.handleInfo(msg, table);
  }
}

function checkOptions(options: unknown, what: string): asserts options is RegistryOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${what}: options must be an object with keys "unique" or "duplicate"`,
    );
  }
  const o = options as RegistryOptions;
  if (o.keys !== "unique" && o.keys !== "duplicate") {
    throw new TypeError(
      `Cannot ${what}: keys must be "unique" or "duplicate", received ${String(o.keys)}`,
    );
  }
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) {
    throw new TypeError(`Cannot ${what}: name must be a non-empty string`);
  }
  if (o.meta !== undefined && !Array.isArray(o.meta)) {
    throw new TypeError(`Cannot ${what}: meta must be an array of [key, value] pairs`);
  }
}

/** The table of `registry` (a name on the calling process's node, or a pid). */
function tableFor(registry: string | Pid, what: string): RegistryTable {
  let pid: Pid | undefined;
  if (registry instanceof Pid) {
    pid = registry;
  } else if (typeof registry === "string") {
    pid = current().runtime.whereis(registry);
  } else {
    throw new TypeError(`Cannot ${what}: registry must be a name or a pid`);
  }
  const table = pid === undefined ? undefined : tableOf(pid);
  if (table === undefined) {
    const shown = typeof registry === "string" ? `"${registry}"` : String(registry);
    throw new NameError(`Cannot ${what}: no registry runs as ${shown}`);
  }
  return table;
}

async function start(options: RegistryOptions): Promise<Pid> {
  checkOptions(options, options?.link ? "start_link registry" : "start registry");
  const { name, runtime, link, ...rest } = options;
  return await GenServer.start(
    RegistryServer,
    { ...rest, ...(name !== undefined ? { name } : {}) },
    {
      ...(name !== undefined ? { name } : {}),
      ...(runtime !== undefined ? { runtime } : {}),
      ...(link ? { link } : {}),
    },
  );
}

/** The shape of {@linkcode Registry}. */
export interface RegistryNamespace {
  /**
   * Starts a registry process.
   *
   * @param options keys, name, initial meta, runtime, link
   * @returns the registry's pid
   * @throws {TypeError} on malformed options
   * @throws {AlreadyStartedError} when the name is taken
   */
  start(options: RegistryOptions): Promise<Pid>;
  /** Starts a registry linked to the calling process. */
  startLink(options: Omit<RegistryOptions, "link">): Promise<Pid>;
  /** A child spec starting a registry under a supervisor; the id defaults to the name. */
  childSpec(options: Omit<RegistryOptions, "link" | "runtime"> & { id?: string }): ChildSpec;
  /**
   * Registers the calling process under `key` with `value`, and links it
   * to the registry so the entry goes when the process dies.
   *
   * @returns `{ ok: true, owner }`, or for a taken unique key `{ ok: false, reason, pid }`
   */
  register(registry: string | Pid, key: unknown, value?: unknown): RegisterResult;
  /** Removes the calling process's entries under `key`. */
  unregister(registry: string | Pid, key: unknown): void;
  /** The `[pid, value]` entries under `key` of live processes, oldest first. */
  lookup<V = unknown>(registry: string | Pid, key: unknown): RegistryEntry<V>[];
  /** The keys `pid` is registered under. */
  keys(registry: string | Pid, pid: Pid): unknown[];
  /** Calls `fn` with the entries under `key`, if there are any. */
  dispatch<V = unknown>(
    registry: string | Pid,
    key: unknown,
    fn: (entries: RegistryEntry<V>[]) => void,
  ): void;
  /** Replaces the value of the calling process's entry under a unique `key`; `undefined` when it has none. */
  updateValue<V = unknown>(
    registry: string | Pid,
    key: unknown,
    update: (old: V) => V,
  ): { value: V; old: V } | undefined;
  /** The number of entries. */
  count(registry: string | Pid): number;
  /** The metadata under `key`, or `undefined`. */
  meta<V = unknown>(registry: string | Pid, key: unknown): V | undefined;
  /** Stores metadata under `key`. */
  putMeta(registry: string | Pid, key: unknown, value: unknown): void;
  /** Removes the metadata under `key`. */
  deleteMeta(registry: string | Pid, key: unknown): void;
}

/**
 * Elixir's `Registry`. Registry arguments are a registry's name (on the
 * calling process's node) or its pid; keys are any sendable value and
 * compare by content (`["room", 1]` finds what `["room", 1]` registered).
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * import { GenServer } from "./gen_server.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * class Room extends GenServer<string[]> {
 *   override init() {
 *     return { ok: [] };
 *   }
 * }
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   await Registry.start({ keys: "unique", name: "rooms" });
 *   const pid = await GenServer.start(Room, undefined, { name: { via: "rooms", key: ["room", 1] } });
 *   console.assert(Registry.lookup("rooms", ["room", 1])[0]![0].equals(pid));
 *   await GenServer.stop({ via: "rooms", key: ["room", 1] });
 * });
 * await rt.shutdown();
 * ```
 */
export const Registry: RegistryNamespace = Object.freeze({
  start,
  startLink: (options: Omit<RegistryOptions, "link">) => start({ ...options, link: true }),
  childSpec: (options: Omit<RegistryOptions, "link" | "runtime"> & { id?: string }): ChildSpec => {
    const { id, ...rest } = options;
    checkOptions(rest, "make registry child spec");
    return {
      id: id ?? rest.name ?? "Registry",
      start: () => start({ ...rest, link: true }),
      type: "worker",
    };
  },
  register(registry: string | Pid, key: unknown, value?: unknown): RegisterResult {
    const table = tableFor(registry, "register");
    const me = current();
    if (me.runtime !== table.runtime) {
      throw new TypeError(`Cannot register: ${table.describe()} is on another node`);
    }
    const result = table.register(me.self, key, value);
    if (result.ok) return { ok: true, owner: table.pid };
    return { ok: false, reason: "already_registered", pid: result.holder };
  },
  unregister(registry: string | Pid, key: unknown): void {
    tableFor(registry, "unregister").unregister(current().self, key);
  },
  lookup<V>(registry: string | Pid, key: unknown): RegistryEntry<V>[] {
    return tableFor(registry, "look up").lookup(key) as RegistryEntry<V>[];
  },
  keys(registry: string | Pid, pid: Pid): unknown[] {
    if (!(pid instanceof Pid)) throw new TypeError("Cannot list keys: expected a pid");
    return tableFor(registry, "list keys").keysOf(pid);
  },
  dispatch<V>(
    registry: string | Pid,
    key: unknown,
    fn: (entries: RegistryEntry<V>[]) => void,
  ): void {
    if (typeof fn !== "function") throw new TypeError("Cannot dispatch: expected a function");
    const entries = tableFor(registry, "dispatch").lookup(key) as RegistryEntry<V>[];
    if (entries.length > 0) fn(entries);
  },
  updateValue<V>(
    registry: string | Pid,
    key: unknown,
    update: (old: V) => V,
  ): { value: V; old: V } | undefined {
    if (typeof update !== "function") {
      throw new TypeError("Cannot update value: expected a function");
    }
    const table = tableFor(registry, "update value");
    if (table.kind !== "unique") {
      throw new TypeError(`Cannot update value: ${table.describe()} has duplicate keys`);
    }
    return table.updateValue(current().self, key, update as (old: unknown) => unknown) as
      | { value: V; old: V }
      | undefined;
  },
  count: (registry: string | Pid) => tableFor(registry, "count").count(),
  meta<V>(registry: string | Pid, key: unknown): V | undefined {
    return tableFor(registry, "read meta").meta(key)?.value as V | undefined;
  },
  putMeta(registry: string | Pid, key: unknown, value: unknown): void {
    tableFor(registry, "put meta").putMeta(key, value);
  },
  deleteMeta(registry: string | Pid, key: unknown): void {
    tableFor(registry, "delete meta").deleteMeta(key);
  },
});
