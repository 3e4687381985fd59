/**
 * The rpc service of one node: the modules it exposes, its policy, the
 * server that runs what peers ask and the client that asks them. Every
 * node that `startNode` starts has one (`node.rpc`); the `rpc` namespace
 * (`rpc.call(...)`) finds it from the running process.
 *
 * ```
 * startRpc(runtime, kernel, options)
 *   registry: the built-in `node` module, then options.modules
 *   kernel handlers: RPC_CALL, RPC_CAST, SPAWN_REQUEST (so CAP_SPAWN is announced),
 *                    SPAWN_GO, RPC_IO (served); RPC_REPLY, SPAWN_REPLY (answers)
 *   the `rpc` process, opened on first use: this node's group leader, and the
 *     receiver of `nodedown` for calls in flight
 * stop()  handlers removed, calls in flight fail with NotAliveError, timers cleared
 * ```
 *
 * Calls to this node itself run here, in a process of their own, without
 * the policy (which is about peers) and without copying arguments or the
 * result.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const b = await startNode({ name: "b@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * b.rpc.registerModule("math", { add: (x: number, y: number) => x + y });
 * console.assert((await a.rpc.call(`b@127.0.0.1:${b.port}`, "math", "add", [1, 2])) === 3);
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

import {
  CaptureError,
  CircuitOpenError,
  NoConnectionError,
  NotAliveError,
  PolicyError,
  RemoteError,
  ServiceAlreadyRunningError,
  TimeoutError,
  UndefinedFunctionError,
} from "../errors.ts";
import { registerErrorClass } from "../term/codec.ts";
import { logger } from "../log.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import type { OpHandler } from "../distribution/op_registry.ts";
import { OP_SPAWN_REPLY, OP_SPAWN_REQUEST } from "../distribution/types.ts";
import * as current from "../process/current.ts";
import { Process } from "../process/process_namespace.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage, ProcessContext } from "../process/types.ts";
import { parseNodeName } from "../term/node_name.ts";
import type { Pid, Ref } from "../term/pid.ts";
import { Deadlines } from "../process/deadlines.ts";
import { NodeWatch } from "./_node_watch.ts";
import { checkNode, parseRequest, type Request, type RpcCallOptions } from "./_request.ts";
import { RPC_SERVICE } from "./_service_key.ts";
import { nodeModule } from "./builtin_modules.ts";
import {
  checkCircuitOptions,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitInfo,
} from "./circuit_breaker.ts";
import { RPC_CIRCUIT_CHANGED } from "../telemetry/events.ts";
import { type ObserverModule, observerModule } from "../introspection/observer_module.ts";
import { replyError, RpcClient } from "./_calling_side.ts";
import { groupLeader, type LineWriter, writeConsole } from "./group_leader.ts";
import {
  type LoadedModule,
  loadModule,
  type LookupResult,
  ModuleRegistry,
} from "./module_registry.ts";
import { RpcPolicy, type RpcPolicyOptions } from "./policy.ts";
import { type Prelude, PRELUDE_NAMES } from "./remote_fn.ts";
import { rpc } from "./namespace.ts";
import { monitorNodes, Node } from "./node_namespace.ts";
import { global } from "../global/mod.ts";
import { pg } from "../pg/mod.ts";
import { presence, pubsub } from "../pubsub/mod.ts";
import { OTP_SHELL_NAMES } from "../otp/shell_names.ts";
import { RpcServer } from "./_serving_side.ts";
import {
  type ConsoleLevel,
  describeTarget,
  OP_RPC_CALL,
  OP_RPC_CAST,
  OP_RPC_IO,
  OP_RPC_REPLY,
  OP_SPAWN_GO,
  STATUS_OK,
  type Target,
} from "./types.ts";

const log = logger("rpc");

export type { RpcCallOptions } from "./_request.ts";

/** Options for {@linkcode startRpc} (and the rpc fields of `startNode`). */
export interface RpcOptions extends RpcPolicyOptions {
  /** Modules to expose from the start: name -> object of functions. */
  modules?: Record<string, object>;
  /**
   * The circuit breaker of calls to each node (circuit_breaker.ts), or
   * `false` for none. Default: open after 5 failures in 10 s, probe after 5 s.
   */
  circuitBreaker?: CircuitBreakerOptions | false;
}

/** One node's answer in a {@linkcode MulticallResult}. */
export type MulticallOutcome<T> =
  /** The function returned `value` on `node`. */
  | { node: string; status: "ok"; value: T }
  /** It failed on `node`: `RemoteError`, `NoConnectionError`, `TimeoutError`, ... */
  | { node: string; status: "error"; error: Error };

/** What {@linkcode RpcService.multicall} resolves to. */
export interface MulticallResult<T> {
  /** One outcome per node, in the order the nodes were given. */
  results: MulticallOutcome<T>[];
  /**
   * The nodes that could not be reached or did not answer in time
   * (Erlang's `BadNodes`); their outcomes hold the `NoConnectionError` or
   * `TimeoutError`.
   */
  badNodes: string[];
}

// rpc's errors keep their class when they cross the wire inside another error (a nested call's
// failure is the cause of the outer RemoteError).
for (const error of [UndefinedFunctionError, PolicyError, CaptureError]) registerErrorClass(error);

/** What remote functions are evaluated with: the shell's names (the process functions, `Process`, `rpc`, `Node`, `global`, the OTP behaviours, ...). */
const PRELUDE: Prelude = {
  values: Object.freeze({
    ...current.PROCESS_FUNCTIONS,
    Process,
    rpc,
    Node,
    monitorNodes,
    global,
    pg,
    pubsub,
    presence,
    ...OTP_SHELL_NAMES,
  }),
};
if (Object.keys(PRELUDE.values).join() !== PRELUDE_NAMES.join()) {
  throw new Error("rpc prelude names out of step with remote_fn.ts");
}

/**
 * Starts the rpc service of a node: installs its handlers on the node
 * kernel and registers it for the `rpc` namespace. `startNode` calls this.
 *
 * @param runtime the node's runtime
 * @param kernel the node's kernel
 * @param options policy and initial modules
 * @returns the service
 * @throws {ServiceAlreadyRunningError} when rpc already runs on the node
 * @throws {TypeError} when an option is malformed
 *
 * @example
 * ```ts
 * import { startRpc } from "./service.ts";
 * import { NetKernel } from "../distribution/net_kernel.ts";
 * import { importCookie } from "../distribution/handshake.ts";
 * import { MemoryNetwork } from "../distribution/memory.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const kernel = new NetKernel({ runtime, cookie: importCookie("c"), transport: new MemoryNetwork(), listenPort: 0 });
 * const service = startRpc(runtime, kernel, { allow: ["node.*"] });
 * console.assert(service.policy.allows("node", "uptime") && !service.policy.remoteEval);
 * service.stop();
 * await kernel.stop();
 * await runtime.shutdown();
 * ```
 */
export function startRpc(
  runtime: Runtime,
  kernel: NetKernel,
  options: RpcOptions = {},
): RpcService {
  if (runtime.context.get(RPC_SERVICE) !== undefined) {
    throw new ServiceAlreadyRunningError(RPC_SERVICE.name, runtime.node);
  }
  const service = new RpcService(runtime, kernel, options);
  runtime.context.provide(RPC_SERVICE, service);
  return service;
}

/**
 * The rpc service of a node.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert((await a.rpc.call(a.name, "node", "self")) === a.name);
 * await a.stop();
 * ```
 */
export class RpcService {
  /** The node's name. */
  readonly node: string;
  readonly #runtime: Runtime;
  readonly #kernel: NetKernel;
  readonly #registry = new ModuleRegistry();
  /** The `observer` module: figures and processes for the web observer and metrics. */
  readonly #observer: ObserverModule;
  /** The breakers' settings, or `false` without breakers. */
  readonly #circuit: Required<CircuitBreakerOptions> | false;
  /** One circuit breaker per node called. */
  readonly #breakers = new Map<string, CircuitBreaker>();
  /** Nodes whose breaker opened while they were not connected: a new connection closes it. */
  readonly #openedAway = new Set<string>();
  #policy: RpcPolicy;
  readonly #watch: NodeWatch;
  readonly #deadlines = new Deadlines();
  readonly #client: RpcClient;
  readonly #server: RpcServer;
  #agent: ProcessContext | undefined;
  #writer: LineWriter = writeConsole;
  #stopped = false;
  #bareNames = new Map<string, string>();

  /**
   * Use {@linkcode startRpc}, which also registers the service for the `rpc` namespace.
   *
   * @param runtime the node's runtime
   * @param kernel the node's kernel
   * @param options policy and initial modules
   */
  constructor(runtime: Runtime, kernel: NetKernel, options: RpcOptions = {}) {
    this.node = runtime.node;
    this.#runtime = runtime;
    this.#kernel = kernel;
    this.#policy = new RpcPolicy(options);
    const startedAt = performance.now();
    this.#registry.register(
      "node",
      nodeModule({
        runtime,
        nodes: (kind) => kernel.nodes(kind),
        registry: this.#registry,
        startedAt,
      }),
      { reserved: true },
    );
    this.#circuit = options.circuitBreaker === false
      ? false
      : checkCircuitOptions(options.circuitBreaker ?? {});
    this.#observer = observerModule({
      runtime,
      connections: () => kernel.connectionStats(),
      breakers: () => this.breakers(),
    });
    const { figures, processes, process, kill, supervision } = this.#observer;
    this.#registry.register("observer", { figures, processes, process, kill, supervision }, {
      reserved: true,
    });
    for (const [name, module] of Object.entries(options.modules ?? {})) {
      this.#registry.register(name, module);
    }
    this.#watch = new NodeWatch(kernel, () => this.#agentPid());
    this.#client = new RpcClient({
      runtime,
      kernel,
      watch: this.#watch,
      deadlines: this.#deadlines,
      leader: () => this.#agentPid(),
    });
    this.#server = new RpcServer({
      runtime,
      kernel,
      registry: this.#registry,
      policy: () => this.#policy,
      prelude: PRELUDE,
      watch: this.#watch,
      isOwnLeader: (pid) => this.#agent !== undefined && pid.equals(this.#agent.self),
      deliverLine: (leader, level, text) => this.#deliverLine(leader, level, text),
      agent: () => this.#agentPid(),
    });
    const on = (op: number, handler: OpHandler) => kernel.ops.register("rpc", op, handler);
    on(OP_RPC_CALL, (node, fields) => this.#server.onCall(node, fields));
    on(OP_RPC_CAST, (node, fields) => this.#server.onCast(node, fields));
    on(OP_SPAWN_REQUEST, (node, fields) => this.#server.onSpawnRequest(node, fields));
    on(OP_SPAWN_GO, (node, fields) => this.#server.onGo(node, fields));
    on(OP_RPC_IO, (node, fields) => this.#server.onIo(node, fields));
    on(OP_RPC_REPLY, (node, fields) => this.#client.onReply(node, fields));
    on(OP_SPAWN_REPLY, (node, fields) => this.#client.onSpawnReply(node, fields));
  }

  // ---------------------------------------------------------------- modules

  /**
   * Exposes `module`'s own functions under `name` (replacing a module of that name).
   *
   * @param name the module name: letters, digits, `_`, `$`, `-`
   * @param module an object of functions (or a module namespace)
   * @returns the names of its functions
   * @throws {TypeError} when the name is invalid or built in (`node`)
   */
  registerModule(name: string, module: object): string[] {
    return this.#registry.register(name, module);
  }

  /**
   * Stops exposing a module.
   *
   * @returns `true` when there was one
   * @throws {TypeError} for a built-in module
   */
  unregisterModule(name: string): boolean {
    return this.#registry.unregister(name);
  }

  /**
   * Imports a file and exposes its exported functions under the file's
   * base name, or the string it exports as `name`. Loading it again
   * imports it afresh.
   *
   * @param path a file path (relative to the working directory) or URL
   * @returns the module's name, functions and URL
   * @throws {TypeError} when it cannot be imported or exports no function
   */
  loadModule(path: string): Promise<LoadedModule> {
    return loadModule(this.#registry, path);
  }

  /**
   * Finds an exposed function, to run it on this node (a distributed
   * supervisor starts its children from modules this way).
   *
   * @param module the module's name
   * @param fn the function's name
   * @returns the function bound to its module, or why it is missing
   */
  lookup(module: string, fn: string): LookupResult {
    return this.#registry.lookup(module, fn);
  }

  /** The exposed modules and their functions. */
  modules(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const name of this.#registry.names()) out[name] = this.#registry.functions(name) ?? [];
    return out;
  }

  /** What peers may run here. */
  get policy(): RpcPolicy {
    return this.#policy;
  }

  /**
   * Replaces the policy.
   *
   * @param options allow patterns and remote evaluation
   * @throws {TypeError} when a pattern is malformed
   */
  setPolicy(options: RpcPolicyOptions): void {
    this.#policy = new RpcPolicy(options);
  }

  /**
   * Where console lines of processes that run elsewhere for this node go
   * (this node being their group leader). Default: this OS process's
   * console, with the same method (`log`, `warn`, ...). `undefined`
   * restores the default.
   *
   * @param writer the writer
   */
  setConsoleWriter(writer: LineWriter | undefined): void {
    this.#writer = writer ?? writeConsole;
  }

  /** Replies that arrived after their call had timed out or failed, and were dropped. */
  get lateReplies(): number {
    return this.#client.lateReplies;
  }

  // ---------------------------------------------------------------- calls

  /**
   * Calls `module.fn(...args)` on `node` and resolves with its result
   * (Erlang's `erpc:call`); or `fn(...args)` for a self-contained
   * function, whose source is sent.
   *
   * @param node `name@host` (or `name@host:port` without a port mapper); this node too
   * @returns the result
   * @throws {RemoteError} when the function threw (`cause`: what it threw)
   * @throws {NoConnectionError} when the node cannot be reached or is lost meanwhile
   * @throws {TimeoutError} when no answer comes in time (the reply, if it comes, is dropped)
   * @throws {UndefinedFunctionError} when the module or function does not exist there
   * @throws {PolicyError} when the node's policy refuses it
   * @throws {CaptureError} when `fn` uses variables of the code around it
   * @throws {TypeError} for a malformed argument, or an argument or result that cannot cross the wire
   * @throws {NotAliveError} when this node has stopped
   */
  call<T = unknown>(
    node: string,
    module: string,
    fn: string,
    args?: unknown[],
    options?: RpcCallOptions,
  ): Promise<T>;
  call<A extends unknown[], R>(
    node: string,
    fn: (...args: A) => R,
    args?: A,
    options?: RpcCallOptions,
  ): Promise<Awaited<R>>;
  call(node: string, ...rest: unknown[]): Promise<unknown> {
    try {
      checkNode("call", node);
      return this.#call(node, parseRequest("call", rest));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs `module.fn(...args)` (or a self-contained `fn`) on `node` and
   * does not wait: no result, no error if it fails there (it is logged
   * there). Erlang's `rpc:cast`.
   *
   * @throws {TypeError} synchronously for a malformed argument or one that cannot cross the wire
   * @throws {CaptureError} when `fn` uses variables of the code around it
   * @throws {NotAliveError} when this node has stopped
   */
  cast(node: string, module: string, fn: string, args?: unknown[]): void;
  cast<A extends unknown[]>(node: string, fn: (...args: A) => unknown, args?: A): void;
  cast(node: string, ...rest: unknown[]): void {
    checkNode("cast", node);
    this.#cast(node, parseRequest("cast", rest));
  }

  /**
   * Calls on every node in parallel, with one deadline for all (Erlang's
   * `rpc:multicall`).
   *
   * @param nodes the nodes
   * @returns each node's outcome in order, and the nodes that were unreachable or too slow
   * @throws {TypeError} for a malformed argument (nothing is sent then)
   */
  multicall<T = unknown>(
    nodes: readonly string[],
    module: string,
    fn: string,
    args?: unknown[],
    options?: RpcCallOptions,
  ): Promise<MulticallResult<T>>;
  multicall<A extends unknown[], R>(
    nodes: readonly string[],
    fn: (...args: A) => R,
    args?: A,
    options?: RpcCallOptions,
  ): Promise<MulticallResult<Awaited<R>>>;
  multicall(nodes: readonly string[], ...rest: unknown[]): Promise<MulticallResult<unknown>> {
    try {
      checkNodes("multicall", nodes);
      return this.#multicall(nodes, parseRequest("multicall", rest));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Casts to every node (Erlang's `rpc:multicast` / `eval_everywhere`).
   *
   * @throws {TypeError} for a malformed argument
   */
  multicast(nodes: readonly string[], module: string, fn: string, args?: unknown[]): void;
  multicast<A extends unknown[]>(
    nodes: readonly string[],
    fn: (...args: A) => unknown,
    args?: A,
  ): void;
  multicast(nodes: readonly string[], ...rest: unknown[]): void {
    checkNodes("multicast", nodes);
    const request = parseRequest("multicast", rest);
    for (const node of nodes) this.#cast(node, request);
  }

  // ---------------------------------------------------------------- spawn

  /**
   * Spawns a process on `node` that runs `module.fn(...args)` (or a
   * self-contained `fn`); its console output appears on this node.
   * Erlang's `spawn(Node, M, F, A)` / Elixir's `Node.spawn`.
   *
   * @returns the new process's pid, once `node` has started it
   * @throws {NoConnectionError} when the node cannot be reached
   * @throws {UndefinedFunctionError} when the module or function does not exist there
   * @throws {PolicyError} when the node's policy refuses it
   * @throws {CaptureError} when `fn` uses variables of the code around it
   * @throws {TypeError} for a malformed argument or one that cannot cross the wire
   */
  spawn(node: string, module: string, fn: string, args?: unknown[]): Promise<Pid>;
  spawn<A extends unknown[]>(node: string, fn: (...args: A) => unknown, args?: A): Promise<Pid>;
  spawn(node: string, ...rest: unknown[]): Promise<Pid> {
    return this.#spawnRequest("spawn", node, rest, false, false) as Promise<Pid>;
  }

  /**
   * As {@linkcode RpcService.spawn}, linked to the calling process from
   * before it runs (Erlang's `spawn_link/4`). Must be called from a process.
   *
   * @returns the new process's pid
   */
  spawnLink(node: string, module: string, fn: string, args?: unknown[]): Promise<Pid>;
  spawnLink<A extends unknown[]>(node: string, fn: (...args: A) => unknown, args?: A): Promise<Pid>;
  spawnLink(node: string, ...rest: unknown[]): Promise<Pid> {
    return this.#spawnRequest("spawn_link", node, rest, true, false) as Promise<Pid>;
  }

  /**
   * As {@linkcode RpcService.spawn}, monitored by the calling process from
   * before it runs, so the `DOWN` message carries its real exit reason
   * (Erlang's `spawn_monitor/4`). Must be called from a process.
   *
   * @returns the new process's pid and the monitor's ref
   */
  spawnMonitor(node: string, module: string, fn: string, args?: unknown[]): Promise<[Pid, Ref]>;
  spawnMonitor<A extends unknown[]>(
    node: string,
    fn: (...args: A) => unknown,
    args?: A,
  ): Promise<[Pid, Ref]>;
  spawnMonitor(node: string, ...rest: unknown[]): Promise<[Pid, Ref]> {
    return this.#spawnRequest("spawn_monitor", node, rest, false, true) as Promise<[Pid, Ref]>;
  }

  /**
   * Stops the service: its kernel handlers go (the node no longer serves
   * remote spawns), calls in flight fail with `NotAliveError`. `node.stop()` calls it.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#kernel.ops.unregister("rpc");
    this.#observer.stop();
    this.#shutdown();
    this.#runtime.context.remove(RPC_SERVICE, this);
    const agent = this.#agent;
    if (agent !== undefined && !this.#runtime.closed) agent.exit("normal");
  }

  /**
   * This node's `observer` module (figures, processes, kill), as peers
   * reach it by `rpc.call(node, "observer", ...)`; the metrics endpoint
   * reads it here.
   */
  get observer(): ObserverModule {
    return this.#observer;
  }

  // ---------------------------------------------------------------- internals

  #notAlive(what: string): NotAliveError {
    return new NotAliveError(`Cannot ${what}: node ${this.node} has stopped`);
  }

  /** The calling process, if it is one of this node's. */
  #caller(): ProcessContext | undefined {
    let ctx: ProcessContext;
    try {
      ctx = current.current();
    } catch {
      return undefined;
    }
    return ctx.runtime === this.#runtime ? ctx : undefined;
  }

  /** `[address as given, bare name]`; names parsed once are remembered (a few hundred at most). */
  #address(what: string, node: string): [string, string] {
    let bare = this.#bareNames.get(node);
    if (bare === undefined) {
      try {
        bare = parseNodeName(node).full;
      } catch (e) {
        throw new TypeError(`Cannot ${what}: ${(e as Error).message}`, { cause: e });
      }
      if (this.#bareNames.size >= 512) this.#bareNames.clear();
      this.#bareNames.set(node, bare);
    }
    return [node, bare];
  }

  #call(node: string, request: Request): Promise<unknown> {
    if (this.#stopped || this.#runtime.closed) throw this.#notAlive("call");
    const [address, bare] = this.#address("call", node);
    const ctx = this.#caller();
    if (bare === this.node) return this.#callHere(request);
    const foreign = this.#kernel.foreign;
    if (foreign?.call !== undefined && foreign.has(bare) && request.target.kind === "mfa") {
      // A BEAM node (docs/erlang.md): its `rex` runs the call.
      return foreign.call(
        bare,
        request.target.module,
        request.target.fn,
        request.args,
        request.timeout,
      );
    }
    const breaker = this.#breaker(bare);
    if (
      breaker !== undefined && this.#openedAway.has(bare) && this.#kernel.peer(bare) !== undefined
    ) {
      // It opened because the node was gone; it is connected again (restarted, healed).
      this.#openedAway.delete(bare);
      this.#guarded(bare, breaker, () => breaker.success());
    }
    if (breaker !== undefined && !this.#guarded(bare, breaker, () => breaker.allow())) {
      const c = breaker.options;
      return Promise.reject(new CircuitOpenError(bare, c.failures, c.windowMs, breaker.retryInMs));
    }
    const call = this.#client.call(
      address,
      bare,
      request.target,
      request.args,
      request.timeout,
      ctx?.self,
    );
    if (breaker === undefined) return call;
    return call.then(
      (value) => {
        this.#guarded(bare, breaker, () => breaker.success());
        return value;
      },
      (e) => {
        // Only the node failing counts; an error thrown there is an answer.
        const down = e instanceof NoConnectionError || e instanceof TimeoutError;
        this.#guarded(bare, breaker, () => down ? breaker.failure() : breaker.success());
        throw e;
      },
    );
  }

  /**
   * The circuit breakers of the nodes this node has called (none when
   * started with `circuitBreaker: false`).
   *
   * @returns each node's breaker state
   */
  breakers(): CircuitInfo[] {
    return [...this.#breakers].map(([node, b]) => ({
      node,
      state: b.state,
      failures: b.failures,
      retryInMs: b.retryInMs,
    }));
  }

  #breaker(node: string): CircuitBreaker | undefined {
    if (this.#circuit === false) return undefined;
    let b = this.#breakers.get(node);
    if (b === undefined) this.#breakers.set(node, b = new CircuitBreaker(this.#circuit));
    return b;
  }

  /** Runs `step` on `node`'s breaker and tells telemetry when its state changed. */
  #guarded<T>(node: string, breaker: CircuitBreaker, step: () => T): T {
    const from = breaker.state;
    const result = step();
    const to = breaker.state;
    if (from !== to) {
      const ev = this.#runtime.telemetry.event(RPC_CIRCUIT_CHANGED);
      if (ev.attached) ev.emit({ count: 1 }, { node: this.node, peer: node, from, to });
      if (to === "open") {
        log.warning("rpc circuit to {peer} is open", { peer: node });
        if (this.#kernel.peer(node) === undefined) this.#openedAway.add(node);
        else this.#openedAway.delete(node);
      }
    }
    return result;
  }

  #cast(node: string, request: Request): void {
    if (this.#stopped || this.#runtime.closed) throw this.#notAlive("cast");
    const [address, bare] = this.#address("cast", node);
    if (bare === this.node) {
      this.#callHere(request).catch(() => {});
      return;
    }
    this.#client.cast(address, request.target, request.args, this.#caller()?.self);
  }

  async #multicall(nodes: readonly string[], request: Request): Promise<MulticallResult<unknown>> {
    for (const node of nodes) this.#address("multicall", node);
    const calls = nodes.map((node) => this.#call(node, request));
    const settled = await Promise.allSettled(calls);
    const results: MulticallOutcome<unknown>[] = [];
    const badNodes: string[] = [];
    settled.forEach((s, i) => {
      const node = nodes[i]!;
      if (s.status === "fulfilled") {
        results.push({ node, status: "ok", value: s.value });
        return;
      }
      const error = s.reason instanceof Error ? s.reason : new Error(String(s.reason));
      results.push({ node, status: "error", error });
      if (error.name === "NoConnectionError" || error.name === "TimeoutError") badNodes.push(node);
    });
    return { results, badNodes };
  }

  /** A call to this node: a process of its own, no policy, no copy. */
  #callHere(request: Request): Promise<unknown> {
    const target = request.target;
    const resolved = this.#server.resolve(target, undefined);
    if (!resolved.ok) {
      return Promise.reject(
        replyError(this.node, `call ${describeTarget(target)}`, resolved.status, resolved.detail),
      );
    }
    this.#agentPid(); // the keeper of the deadline timers
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    let done = false;
    const settle = (ok: boolean, value: unknown) => {
      if (done) return;
      done = true;
      this.#deadlines.cancel(deadline);
      if (ok) resolve(value);
      else reject(value);
    };
    const deadline = this.#deadlines.start(request.timeout, () =>
      settle(
        false,
        new TimeoutError(
          `Cannot call ${
            describeTarget(target)
          } on ${this.node}: no reply within ${request.timeout} ms`,
        ),
      ));
    const started = this.#server.execute(
      resolved,
      request.args,
      groupLeader() ?? null,
      (status, value) =>
        settle(
          status === STATUS_OK,
          status === STATUS_OK ? value : new RemoteError(this.node, value),
        ),
    );
    if (!started) settle(false, this.#notAlive("call"));
    return promise;
  }

  #spawnRequest(
    what: string,
    node: string,
    rest: unknown[],
    link: boolean,
    monitor: boolean,
  ): Promise<Pid | [Pid, Ref]> {
    try {
      checkNode(what, node);
      const request = parseRequest(what, rest);
      if (this.#stopped || this.#runtime.closed) throw this.#notAlive(what);
      const [address, bare] = this.#address(what, node);
      const parent = this.#caller();
      if ((link || monitor) && parent === undefined) {
        throw new TypeError(
          `Cannot ${what}: not inside a process of ${this.node} (call it from a process, or use spawn)`,
        );
      }
      if (bare === this.node) {
        return Promise.resolve(this.#spawnHere(request, parent, link, monitor));
      }
      return this.#client.spawn(address, bare, request.target, request.args, {
        parent,
        link,
        monitor,
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #spawnHere(
    request: Request,
    parent: ProcessContext | undefined,
    link: boolean,
    monitor: boolean,
  ): Pid | [Pid, Ref] {
    const target: Target = request.target;
    const resolved = this.#server.resolve(target, undefined);
    if (!resolved.ok) {
      throw replyError(
        this.node,
        `spawn ${describeTarget(target)}`,
        resolved.status,
        resolved.detail,
      );
    }
    const leader = groupLeader() ?? null;
    const body = (proc: ProcessContext) => this.#server.run(proc, resolved, request.args, leader);
    const label = { label: resolved.label };
    if (monitor) return this.#runtime.spawnMonitor(parent!.self, body, label);
    if (link) return this.#runtime.spawnLink(parent!.self, body, label);
    return this.#runtime.spawn(body, label);
  }

  /** This node's rpc process: group leader, and receiver of `nodedown` for the node watch. */
  #agentPid(): Pid {
    if (this.#agent !== undefined) return this.#agent.self;
    if (this.#stopped || this.#runtime.closed) throw this.#notAlive("use rpc");
    const ctx = this.#runtime.open({ label: "rpc" });
    this.#agent = ctx;
    current.runInProcess(ctx, () => this.#serve(ctx));
    return ctx.self;
  }

  async #serve(ctx: ProcessContext): Promise<void> {
    for (;;) {
      let m: { type?: unknown; node?: unknown; reason?: unknown; level?: unknown; text?: unknown };
      try {
        m = await ctx.receive();
      } catch {
        break; // The node is shutting down.
      }
      if (m === null || typeof m !== "object") continue;
      if (m.type === "DOWN") {
        this.#server.onDown(m as DownMessage);
      } else if (m.type === "nodedown" && typeof m.node === "string") {
        this.#watch.nodeDown(m.node, String(m.reason));
      } else if (m.type === "io" && typeof m.text === "string") {
        const level = (["log", "info", "debug", "warn", "error"] as unknown[]).includes(m.level)
          ? m.level as ConsoleLevel
          : "log";
        this.#writeLine(level, m.text);
      }
    }
    this.#shutdown();
  }

  #shutdown(): void {
    const error = this.#notAlive("complete the request");
    this.#client.stop(error);
    this.#server.close();
    this.#watch.failAll("the node stopped");
    this.#deadlines.close();
  }

  #deliverLine(leader: Pid, level: ConsoleLevel, text: string): void {
    if (this.#agent !== undefined && leader.equals(this.#agent.self)) {
      this.#writeLine(level, text);
      return;
    }
    this.#runtime.send(leader, { type: "io", level, text });
  }

  #writeLine(level: ConsoleLevel, text: string): void {
    try {
      this.#writer(level, text);
    } catch {
      writeConsole(level, text);
    }
  }
}

function checkNodes(what: string, nodes: unknown): asserts nodes is readonly string[] {
  if (!Array.isArray(nodes)) {
    throw new TypeError(`Cannot ${what}: nodes must be an array of node names`);
  }
  for (const node of nodes) checkNode(what, node);
}
