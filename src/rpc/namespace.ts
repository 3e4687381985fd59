/**
 * The `rpc` namespace: remote calls and spawns for the node of the running
 * process, as Erlang's `rpc`/`erpc` modules and Elixir's `Node.spawn`.
 * Each function finds the node's {@linkcode RpcService} from the process
 * that calls it (or from `options.runtime`), so the same code works in any
 * process of any node, at the shell, and in functions sent to other nodes.
 *
 * ```ts ignore
 * await rpc.call("b@host", "math", "add", [1, 2]);        // 3 (module math on b)
 * await rpc.call("b@host", () => Deno.hostname());         // the function runs on b
 * await rpc.multicall(Node.list(), "node", "uptime");      // {results, badNodes}
 * rpc.cast("b@host", "log", "write", ["hi"]);              // no answer
 * const pid = await rpc.spawn("b@host", () => console.log("printed here"));
 * ```
 *
 * @example
 * ```ts
 * import { rpc } from "./namespace.ts";
 * import { startNode } from "../node.ts";
 * import { runInProcess, self } from "../process/current.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const b = await startNode({ name: "b@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await runInProcess(a.runtime.open(), async () => {
 *   const there = await rpc.call(`b@127.0.0.1:${b.port}`, () => self().node);
 *   console.assert(there === "b@127.0.0.1");
 * });
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

import { NotAliveError } from "../errors.ts";
import { current } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Pid, Ref } from "../term/pid.ts";
import { checkOptions, type RpcCallOptions } from "./_request.ts";
import { RPC_SERVICE } from "./_service_key.ts";
import type { LoadedModule } from "./module_registry.ts";
import type { MulticallResult, RpcService } from "./service.ts";

/** Options of the `rpc` functions that need only the node to act from. */
export interface RpcNodeOptions {
  /** The node to act from, when not called from one of its processes. */
  runtime?: Runtime;
}

/**
 * The `rpc` namespace's `spawn`, `spawnLink` and `spawnMonitor`: they take
 * the same arguments and differ only in what they resolve to, `R`.
 */
export interface RpcSpawn<R> {
  /** Spawns `module.fn(...args)` on `node`. */
  (
    node: string,
    module: string,
    fn: string,
    args?: unknown[],
    options?: RpcNodeOptions,
  ): Promise<R>;
  /** Spawns a self-contained function on `node` (its source is sent). */
  <A extends unknown[]>(
    node: string,
    fn: (...args: A) => unknown,
    args?: A,
    options?: RpcNodeOptions,
  ): Promise<R>;
}

/** The `rpc` namespace. */
export interface RpcNamespace {
  /**
   * Calls `module.fn(...args)` on `node`; resolves with its result.
   * Rejects with `RemoteError` (it threw), `NoConnectionError`,
   * `TimeoutError` (default 5000 ms), `UndefinedFunctionError`,
   * `PolicyError`.
   */
  call<T = unknown>(
    node: string,
    module: string,
    fn: string,
    args?: unknown[],
    options?: RpcCallOptions,
  ): Promise<T>;
  /** Calls a self-contained function on `node` (its source is sent); resolves with its result. */
  call<A extends unknown[], R>(
    node: string,
    fn: (...args: A) => R,
    args?: A,
    options?: RpcCallOptions,
  ): Promise<Awaited<R>>;
  /** Runs `module.fn(...args)` on `node` without waiting; failures are logged there. */
  cast(node: string, module: string, fn: string, args?: unknown[], options?: RpcNodeOptions): void;
  /** Runs a self-contained function on `node` without waiting. */
  cast<A extends unknown[]>(
    node: string,
    fn: (...args: A) => unknown,
    args?: A,
    options?: RpcNodeOptions,
  ): void;
  /** Calls on every node in parallel, one deadline for all: `{results, badNodes}`. */
  multicall<T = unknown>(
    nodes: readonly string[],
    module: string,
    fn: string,
    args?: unknown[],
    options?: RpcCallOptions,
  ): Promise<MulticallResult<T>>;
  /** Calls a self-contained function on every node in parallel. */
  multicall<A extends unknown[], R>(
    nodes: readonly string[],
    fn: (...args: A) => R,
    args?: A,
    options?: RpcCallOptions,
  ): Promise<MulticallResult<Awaited<R>>>;
  /** Casts to every node. */
  multicast(
    nodes: readonly string[],
    module: string,
    fn: string,
    args?: unknown[],
    options?: RpcNodeOptions,
  ): void;
  /** Casts a self-contained function to every node. */
  multicast<A extends unknown[]>(
    nodes: readonly string[],
    fn: (...args: A) => unknown,
    args?: A,
    options?: RpcNodeOptions,
  ): void;
  /** Spawns `module.fn(...args)` or a self-contained function on `node`; its console output appears on this node. */
  spawn: RpcSpawn<Pid>;
  /** As `spawn`, linked to the calling process before it runs. */
  spawnLink: RpcSpawn<Pid>;
  /** As `spawn`, monitored by the calling process before it runs: `[pid, ref]`. */
  spawnMonitor: RpcSpawn<[Pid, Ref]>;
  /** Exposes an object's own functions to rpc under `name` on this node; returns their names. */
  registerModule(name: string, module: object, options?: RpcNodeOptions): string[];
  /** Stops exposing a module; `true` when there was one. */
  unregisterModule(name: string, options?: RpcNodeOptions): boolean;
  /** Imports a file and exposes its exported functions (again after an edit). */
  loadModule(path: string, options?: RpcNodeOptions): Promise<LoadedModule>;
  /** The modules this node exposes, with their functions. */
  modules(options?: RpcNodeOptions): Record<string, string[]>;
}

/** The rpc service of the calling process's node (or of `options.runtime`'s). */
function serviceFor(what: string, options: unknown): RpcService {
  let runtime = checkOptions(what, options).runtime;
  if (runtime === undefined) {
    try {
      runtime = current().runtime;
    } catch (e) {
      throw new Error(
        `Cannot ${what}: not inside a Weft process; call it from a process, inside ` +
          `runInProcess(), or pass the runtime option`,
        { cause: e },
      );
    }
  }
  const service = runtime.context.get(RPC_SERVICE);
  if (service === undefined) {
    throw new NotAliveError(
      `Cannot ${what}: node ${runtime.node} does not run rpc (start it with a name: --sname or --name)`,
    );
  }
  return service;
}

/** The options argument of `(module, fn, args, options)` or `(fn, args, options)`. */
function optionsOf(rest: unknown[]): unknown {
  return typeof rest[0] === "function" ? rest[2] : rest[3];
}

/** A service method with its overloads erased: the node (or nodes), then the rest of the arguments. */
type Loose<R> = (target: unknown, ...rest: unknown[]) => R;

/**
 * `rpc.<method>` for the methods that answer with a promise: the service of
 * the caller's node (or of the options' runtime) does it, and whatever
 * throws on the way becomes a rejection. `what` names it in errors.
 */
function forward(
  what: string,
  method: "call" | "multicall" | "spawn" | "spawnLink" | "spawnMonitor",
): Loose<Promise<unknown>> {
  return named(method, (target, ...rest) => {
    try {
      const service = serviceFor(what, optionsOf(rest));
      return (service[method] as Loose<Promise<unknown>>).call(service, target, ...rest);
    } catch (e) {
      return Promise.reject(e);
    }
  });
}

/** `rpc.cast` and `rpc.multicast`: as {@linkcode forward}, but nothing to wait for, so errors throw. */
function forwardCast(method: "cast" | "multicast"): Loose<void> {
  return named(method, (target, ...rest) => {
    const service = serviceFor(method, optionsOf(rest));
    (service[method] as Loose<void>).call(service, target, ...rest);
  });
}

/** `fn`, named `name` (as the shell shows it: `[Function: call]`). */
function named<F extends Loose<unknown>>(name: string, fn: F): F {
  return Object.defineProperty(fn, "name", { value: name });
}

/**
 * Remote calls and spawns for the node of the running process.
 *
 * @example
 * ```ts
 * import { rpc } from "./namespace.ts";
 * import { startNode } from "../node.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * rpc.registerModule("greet", { hello: (who: string) => `hello ${who}` }, { runtime: a.runtime });
 * const text = await rpc.call(a.name, "greet", "hello", ["you"], { runtime: a.runtime });
 * console.assert(text === "hello you");
 * await a.stop();
 * ```
 */
export const rpc: RpcNamespace = Object.freeze({
  call: forward("call", "call"),
  cast: forwardCast("cast"),
  multicall: forward("multicall", "multicall"),
  multicast: forwardCast("multicast"),
  spawn: forward("spawn", "spawn"),
  spawnLink: forward("spawn_link", "spawnLink"),
  spawnMonitor: forward("spawn_monitor", "spawnMonitor"),
  registerModule: (name: string, module: object, options?: RpcNodeOptions) =>
    serviceFor("register module", options).registerModule(name, module),
  unregisterModule: (name: string, options?: RpcNodeOptions) =>
    serviceFor("unregister module", options).unregisterModule(name),
  loadModule: (path: string, options?: RpcNodeOptions) => {
    try {
      return serviceFor("load module", options).loadModule(path);
    } catch (e) {
      return Promise.reject(e);
    }
  },
  modules: (options?: RpcNodeOptions) => serviceFor("list modules", options).modules(),
}) as RpcNamespace;
