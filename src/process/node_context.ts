/**
 * The services of one node, by key: where a service that runs on a node
 * (rpc, global names, pg scopes, pubsub, presence, the cluster, the OTP
 * call deadlines...) puts its instance, and where the code acting for a
 * process of that node finds it. Several nodes can live in one OS process,
 * so nothing of a service may be module state; each {@linkcode Runtime}
 * carries one `NodeContext` as `runtime.context`.
 *
 * ```
 * service module:  export const PUBSUB = new ServiceKey<PubSub>("pubsub")
 * service start:   runtime.context.provide(PUBSUB, this)   -> taken: ServiceAlreadyRunningError
 * a user's call:   runtime.context.require(PUBSUB)         -> absent: ServiceNotRunningError
 * service stop:    runtime.context.remove(PUBSUB, this)
 * ```
 *
 * Which services a node starts, and in which order, is written in one
 * place: `src/node_services.ts`.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { ServiceKey } from "./node_context.ts";
 * const COUNTER = new ServiceKey<{ n: number }>("counter");
 * const rt = new Runtime({ node: "a@h" });
 * rt.context.provide(COUNTER, { n: 1 });
 * console.assert(rt.context.require(COUNTER).n === 1);
 * rt.context.remove(COUNTER);
 * console.assert(rt.context.get(COUNTER) === undefined);
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { ServiceAlreadyRunningError, ServiceNotRunningError } from "../errors.ts";
import type { NameResolver } from "./types.ts";

/**
 * The key one service is found by. Make one per service, in the service's
 * module; the key object itself is the identity (two keys of the same name
 * are two services), the name is for messages.
 *
 * @typeParam T what the service puts in the context
 *
 * @example
 * ```ts
 * import { ServiceKey } from "./node_context.ts";
 * const CACHE = new ServiceKey<Map<string, string>>("cache");
 * console.assert(CACHE.name === "cache");
 * ```
 */
export class ServiceKey<T> {
  /** Only here so that `ServiceKey<A>` and `ServiceKey<B>` are different types. */
  declare readonly _type: T;

  /**
   * @param name what the service is called in messages (`"pubsub"`, `"pg scope rooms"`)
   * @throws {TypeError} when `name` is not a non-empty string
   */
  constructor(readonly name: string) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot make a service key: the name must be a non-empty string");
    }
  }

  /** The key's name, for logs. */
  toString(): string {
    return `ServiceKey(${this.name})`;
  }
}

/**
 * The services running on one node (`runtime.context`).
 *
 * @example
 * ```ts
 * import { NodeContext, ServiceKey } from "./node_context.ts";
 * const LOG = new ServiceKey<string[]>("log");
 * const context = new NodeContext(() => "a@h");
 * context.provide(LOG, []);
 * context.require(LOG).push("hello");
 * console.assert(context.keys().includes("log"));
 * ```
 */
export class NodeContext {
  #node: () => string;
  #services = new Map<ServiceKey<unknown>, unknown>();

  /**
   * @param node the node's name, asked when a message needs it
   */
  constructor(node: () => string) {
    this.#node = node;
  }

  /**
   * Puts a service's instance in the context: from now on the node's code
   * finds it under `key`.
   *
   * @param key the service's key
   * @param value its instance on this node
   * @throws {ServiceAlreadyRunningError} when the service already runs on the node
   */
  provide<T>(key: ServiceKey<T>, value: T): void {
    if (this.#services.has(key)) throw new ServiceAlreadyRunningError(key.name, this.#node());
    this.#services.set(key, value);
  }

  /**
   * The service's instance, if it runs on the node.
   *
   * @param key the service's key
   * @returns its instance, or `undefined`
   */
  get<T>(key: ServiceKey<T>): T | undefined {
    return this.#services.get(key) as T | undefined;
  }

  /**
   * The service's instance, which must be running.
   *
   * @param key the service's key
   * @returns its instance
   * @throws {ServiceNotRunningError} when the service does not run on the node
   */
  require<T>(key: ServiceKey<T>): T {
    if (!this.#services.has(key)) throw new ServiceNotRunningError(key.name, this.#node());
    return this.#services.get(key) as T;
  }

  /**
   * Takes a service out of the context, on its stop. With `value`, only
   * when that is the instance provided (a stale stop of an earlier instance
   * leaves its successor alone).
   *
   * @param key the service's key
   * @param value the instance that stops
   * @returns whether the service was removed
   */
  remove<T>(key: ServiceKey<T>, value?: T): boolean {
    if (!this.#services.has(key)) return false;
    if (value !== undefined && this.#services.get(key) !== value) return false;
    return this.#services.delete(key);
  }

  /** The names of the services running, in the order they were provided. */
  keys(): string[] {
    return [...this.#services.keys()].map((k) => k.name);
  }
}

/**
 * Name services known by name on a node, so that `{ via: "name", key }`
 * resolves in `send` and wherever a server name is taken. A service that
 * keeps named name services (the distributed registries) provides the
 * lookup; without it only a `via` object resolves.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { VIA_NAMES } from "./node_context.ts";
 * const rt = new Runtime();
 * const me = rt.open();
 * rt.context.provide(VIA_NAMES, (name) => name === "names" ? { whereisName: () => me.self } : undefined);
 * rt.send({ via: "names", key: "anything" }, "hello");
 * console.assert((await me.receive()) === "hello");
 * await rt.shutdown();
 * ```
 */
export const VIA_NAMES: ServiceKey<(name: string) => NameResolver | undefined> = new ServiceKey(
  "via names",
);
