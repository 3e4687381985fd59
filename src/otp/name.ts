/**
 * How servers are named and found, as `gen:start`/`gen:call` take them:
 *
 * | name                     | Elixir                                | resolved by                      |
 * |--------------------------|---------------------------------------|----------------------------------|
 * | `"db"`                   | `name: :db`                           | the node's registered names      |
 * | `{ name: "db", node }`   | `{:db, node}`                         | the names of `node` (a call goes there) |
 * | `{ global: "db" }`       | `{:global, :db}`                      | the global name registry (src/global) |
 * | `{ via: reg, key }`      | `{:via, Registry, {reg, key}}`        | a `Registry` (its name or pid), or any {@linkcode NameRegistry} |
 *
 * Global names are served by the global module, which plugs itself in per
 * node with {@linkcode setGlobalNameRegistry}; until it has, a `{ global }`
 * name is refused with a `NameError` that says so.
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { whereisServer } from "./name.ts";
 * const rt = new Runtime();
 * const me = rt.open();
 * rt.register("db", me.self);
 * console.assert(me.self.equals(whereisServer("db", rt)));
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { describeType, NameError } from "../errors.ts";
import { ServiceKey, VIA_NAMES } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import { isRemoteName, type RemoteName } from "../process/types.ts";
import { Pid } from "../term/pid.ts";
import { tableOf } from "./_registry_table.ts";

/**
 * A name service a server can be registered with, Erlang's "via module"
 * (`register_name/2`, `unregister_name/1`, `whereis_name/1`). A `Registry`
 * is one; the global module is another.
 *
 * @example
 * ```ts
 * import type { NameRegistry } from "./name.ts";
 * import type { Pid } from "../term/pid.ts";
 * const names = new Map<unknown, Pid>();
 * const simple: NameRegistry = {
 *   registerName: (key, pid) => names.has(key) ? false : (names.set(key, pid), true),
 *   unregisterName: (key) => void names.delete(key),
 *   whereisName: (key) => names.get(key),
 * };
 * console.assert(simple.whereisName("x") === undefined);
 * ```
 */
export interface NameRegistry {
  /**
   * Registers `pid` under `key`; `false` when the key is taken. Called by
   * the process being named, from its own code.
   */
  registerName(key: unknown, pid: Pid): boolean | Promise<boolean>;
  /** Removes the registration under `key`. */
  unregisterName(key: unknown): void | Promise<void>;
  /** The process registered under `key`, if any. */
  whereisName(key: unknown): Pid | undefined;
}

/** A cluster-wide name, Elixir's `{:global, name}`. */
export interface GlobalName {
  /** The name. */
  readonly global: string;
}

/** A name held by a name service, Elixir's `{:via, module, key}`. */
export interface ViaName {
  /** A `Registry` (its registered name or pid), or any name service. */
  readonly via: string | Pid | NameRegistry;
  /** The key within it. */
  readonly key: unknown;
}

/** What a server can be registered as when it starts. */
export type ServerName = string | GlobalName | ViaName;

/** Everything a server can be reached by: a pid, a name, or a name on a node. */
export type ServerRef = Pid | ServerName | RemoteName;

/** The name service that resolves `{ global: name }` on a node, in its context. */
export const GLOBAL_NAME_REGISTRY: ServiceKey<NameRegistry> = new ServiceKey(
  "global name registry",
);

/**
 * Installs (or with `undefined` removes) the name service that resolves
 * `{ global: name }` on `runtime`'s node. The global module calls this when
 * it starts on a node; nothing else should.
 *
 * @param runtime the node
 * @param registry the global name service
 * @throws {TypeError} when `registry` does not have the three methods
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { setGlobalNameRegistry, whereisServer } from "./name.ts";
 * const rt = new Runtime();
 * const me = rt.open();
 * setGlobalNameRegistry(rt, {
 *   registerName: () => false,
 *   unregisterName: () => {},
 *   whereisName: (name) => (name === "db" ? me.self : undefined),
 * });
 * console.assert(me.self.equals(whereisServer({ global: "db" }, rt)));
 * setGlobalNameRegistry(rt, undefined);
 * await rt.shutdown();
 * ```
 */
export function setGlobalNameRegistry(runtime: Runtime, registry: NameRegistry | undefined): void {
  if (registry === undefined) {
    runtime.context.remove(GLOBAL_NAME_REGISTRY);
    return;
  }
  if (!isNameRegistry(registry)) {
    throw new TypeError(
      "Cannot set global name registry: expected registerName, unregisterName and whereisName",
    );
  }
  runtime.context.remove(GLOBAL_NAME_REGISTRY);
  runtime.context.provide(GLOBAL_NAME_REGISTRY, registry);
}

function isNameRegistry(value: unknown): value is NameRegistry {
  const r = value as NameRegistry;
  return typeof value === "object" && value !== null && typeof r.registerName === "function" &&
    typeof r.unregisterName === "function" && typeof r.whereisName === "function";
}

/**
 * Whether `value` is a `{ global }` name.
 *
 * @example
 * ```ts
 * import { isGlobalName } from "./name.ts";
 * console.assert(isGlobalName({ global: "db" }) && !isGlobalName("db"));
 * ```
 */
export function isGlobalName(value: unknown): value is GlobalName {
  return typeof value === "object" && value !== null && !(value instanceof Pid) &&
    "global" in value;
}

/**
 * Whether `value` is a `{ via, key }` name.
 *
 * @example
 * ```ts
 * import { isViaName } from "./name.ts";
 * console.assert(isViaName({ via: "registry", key: 1 }) && !isViaName({ via: "registry" }));
 * ```
 */
export function isViaName(value: unknown): value is ViaName {
  return typeof value === "object" && value !== null && !(value instanceof Pid) &&
    "via" in value && "key" in value;
}

/**
 * Checks the shape of a server reference.
 *
 * @param ref what the caller gave
 * @param what the operation, for the message ("call server")
 * @throws {TypeError} when `ref` is none of the accepted shapes
 *
 * @example
 * ```ts
 * import { checkServerRef } from "./name.ts";
 * checkServerRef({ global: "db" }, "call server");
 * let threw = false;
 * try { checkServerRef(42, "call server"); } catch (e) { threw = e instanceof TypeError; }
 * console.assert(threw);
 * ```
 */
export function checkServerRef(ref: unknown, what: string): asserts ref is ServerRef {
  if (ref instanceof Pid || isRemoteName(ref)) return;
  if (typeof ref === "string") {
    if (ref === "") throw new TypeError(`Cannot ${what}: name must not be empty`);
    return;
  }
  if (isGlobalName(ref)) {
    if (typeof ref.global !== "string" || ref.global === "") {
      throw new TypeError(`Cannot ${what}: a global name must be a non-empty string`);
    }
    return;
  }
  if (isViaName(ref)) {
    const via = ref.via;
    if (typeof via === "string" || via instanceof Pid || isNameRegistry(via)) return;
    throw new TypeError(
      `Cannot ${what}: "via" must be a registry name or pid, or have registerName, ` +
        `unregisterName and whereisName; received ${describeType(via)}`,
    );
  }
  throw new TypeError(
    `Cannot ${what}: expected a pid, a name, {name, node}, {global} or {via, key}; received ${
      describeType(ref)
    }`,
  );
}

/**
 * Checks the shape of a name to start a server under (a local name,
 * `{ global }` or `{ via, key }`).
 *
 * @param name what the caller gave
 * @param what the operation, for the message
 * @throws {TypeError} when it is not a valid server name
 *
 * @example
 * ```ts
 * import { checkServerName } from "./name.ts";
 * checkServerName("db", "start server");
 * ```
 */
export function checkServerName(name: unknown, what: string): asserts name is ServerName {
  if (name instanceof Pid || (isRemoteName(name) && !isViaName(name))) {
    throw new TypeError(
      `Cannot ${what}: a name must be a string, {global} or {via, key}, received ${
        describeType(name)
      }`,
    );
  }
  checkServerRef(name, what);
}

/**
 * The name service behind a `{ global }` or `{ via }` name on `runtime`.
 *
 * @param name the name
 * @param runtime the node resolving it
 * @returns the name service
 * @throws {NameError} when global names are not served on this node, or the registry is unknown
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { describeType, NameError } from "../errors.ts";
 * import { nameRegistryOf } from "./name.ts";
 * let threw = false;
 * try { nameRegistryOf({ global: "db" }, new Runtime()); } catch (e) { threw = e instanceof NameError; }
 * console.assert(threw);
 * ```
 */
export function nameRegistryOf(name: GlobalName | ViaName, runtime: Runtime): NameRegistry {
  if (isGlobalName(name)) {
    const registry = runtime.context.get(GLOBAL_NAME_REGISTRY);
    if (registry === undefined) {
      throw new NameError(
        `Cannot resolve {global: "${name.global}"}: global names need the global module ` +
          `(src/global), which is not running on ${runtime.node}`,
      );
    }
    return registry;
  }
  const via = name.via;
  if (typeof via === "object" && !(via instanceof Pid)) return via;
  if (typeof via === "string") {
    // A name service known by this name on the node (a distributed registry).
    const named = runtime.context.get(VIA_NAMES)?.(via);
    if (named !== undefined && isNameRegistry(named)) return named;
  }
  const pid = typeof via === "string" ? runtime.whereis(via) : via;
  const table = pid === undefined ? undefined : tableOf(pid);
  if (table === undefined) {
    throw new NameError(
      `Cannot resolve {via: ${describeType(via)}}: no registry ${
        typeof via === "string" ? `is registered as "${via}"` : `runs as ${via}`
      } on ${runtime.node}`,
    );
  }
  return table.nameRegistry();
}

/**
 * Where a server reference points now: a pid, or `{name, node}` for a name
 * on another node (resolved there).
 *
 * @param ref the reference
 * @param runtime the node resolving it
 * @returns the pid or remote name, or `undefined` when nothing is registered
 * @throws {NameError} for `{ global }` without the global module, or an unknown registry
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { whereisServer } from "./name.ts";
 * const rt = new Runtime({ node: "a@localhost" });
 * console.assert(whereisServer("nobody", rt) === undefined);
 * console.assert(whereisServer({ name: "db", node: "b@localhost" }, rt) !== undefined);
 * ```
 */
export function whereisServer(ref: ServerRef, runtime: Runtime): Pid | RemoteName | undefined {
  if (ref instanceof Pid) return ref;
  if (typeof ref === "string") return runtime.whereis(ref);
  if (isGlobalName(ref) || isViaName(ref)) {
    const key = isGlobalName(ref) ? ref.global : ref.key;
    return nameRegistryOf(ref, runtime).whereisName(key);
  }
  if (ref.node === runtime.node) return runtime.whereis(ref.name);
  return { name: ref.name, node: ref.node };
}

/**
 * A server reference as it reads in messages: `#PID<...>`, `"db"`,
 * `{global: "db"}`, `"db" on b@host`.
 *
 * @param ref the reference
 * @returns its description
 *
 * @example
 * ```ts
 * import { describeServer } from "./name.ts";
 * console.assert(describeServer("db") === "\"db\"");
 * ```
 */
export function describeServer(ref: ServerRef): string {
  if (ref instanceof Pid) return String(ref);
  if (typeof ref === "string") return `"${ref}"`;
  if (isGlobalName(ref)) return `{global: "${ref.global}"}`;
  if (isViaName(ref)) {
    const via = ref.via;
    const shown = typeof via === "string"
      ? `"${via}"`
      : via instanceof Pid
      ? String(via)
      : describeType(via);
    let key: string;
    try {
      key = JSON.stringify(ref.key) ?? String(ref.key);
    } catch {
      key = String(ref.key);
    }
    return `{via: ${shown}, key: ${key}}`;
  }
  return `"${ref.name}" on ${ref.node}`;
}
