/**
 * The command router, as commanded's: each command goes to the process of
 * its aggregate instance, one process per instance in the whole cluster,
 * started on demand where the command was dispatched and stopped after an
 * idle time.
 *
 * ```
 * dispatch(cmd) on node A
 *   route = routes[cmd.type] (none: UnregisteredCommandError); id = identity(cmd)
 *   middleware[0](cmd, ctx, next) -> ... -> send:
 *     GenServer.call({global: "es:BankAccount:a1"}, {command, meta})  (any node's instance)
 *       noproc   -> GenServer.start(AggregateServer, {global: name}) on A; call again
 *                   (already started elsewhere meanwhile: call that one)
 *       its node lost / it stopped idle meanwhile -> call again (at most `attempts` times)
 *     instance (one call at a time): load snapshot + events; execute; append(expected version)
 *       conflict (a writer on the other side of a partition) -> catch up, execute again
 *   consistency "strong": wait until the named projections' checkpoints reach the position
 * ```
 *
 * Each event an instance writes carries metadata `$instance`: the pid of the
 * process that wrote it (`#PID<node.id.serial>`), so an audit can tell where
 * and by which incarnation each change was made.
 *
 * With a bare `Runtime` (no node, so no `global`), instances are local
 * names: one per instance in the process. On a node, `{global}` names make
 * them unique across the cluster; should a partition let both sides start
 * one, the event store's expected version still lets exactly one writer win
 * each version, and `global` keeps one of the two when the sides meet
 * again (the other stops).
 *
 * @example
 * ```ts
 * import { CommandRouter } from "./router.ts";
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const store = SqliteEventStore.open(":memory:");
 * const runtime = new Runtime();
 * const router = new CommandRouter({ store, runtime }).register({
 *   name: "Counter",
 *   initial: () => ({ n: 0 }),
 *   execute: (_s: { n: number }, c: { type: "Add"; id: string; by: number }) => ({ type: "Added", by: c.by }),
 *   apply: (s: { n: number }, e: { type: "Added"; by: number }) => ({ n: s.n + e.by }),
 * }, { commands: ["Add"], identity: "id" });
 * const r = await router.dispatch({ type: "Add", id: "c1", by: 2 });
 * console.assert(r.version === 1 && r.stream === "Counter-c1");
 * await router.stop();
 * await runtime.shutdown();
 * await store.close();
 * ```
 *
 * @module
 */

import {
  CommandRejectedError,
  describe,
  QuorumNotAchieved,
  TimeoutError,
  UnregisteredCommandError,
  WrongExpectedVersionError,
} from "../errors.ts";
import { AlreadyStartedError, ExitError } from "../otp/errors.ts";
import {
  type CallResult,
  type From,
  GenServer,
  type InfoResult,
  type InitResult,
} from "../otp/gen_server.ts";
import { GLOBAL_NAME_REGISTRY } from "../otp/name.ts";
import { NetKernel } from "../distribution/net_kernel.ts";
import { current } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Pid } from "../term/pid.ts";
import {
  type Aggregate,
  AggregateInstance,
  checkAggregate,
  type Command,
  type CommandMeta,
  type DomainEvent,
  type ExecutionResult,
} from "./aggregate.ts";
import type { EventStore } from "./event_store.ts";
import type { Upcasters } from "./upcaster.ts";

/** How a command type finds its aggregate instance. */
export interface RouteOptions<C extends Command> {
  /** The command types this aggregate handles. */
  commands: readonly string[];
  /** The field of the command that holds the instance id, or a function giving it. */
  identity: string | ((command: C) => string);
}

/** What a dispatch returns. */
export interface DispatchResult extends ExecutionResult {
  /** The aggregate type. */
  aggregate: string;
  /** The instance id. */
  id: string;
}

/** What middleware sees of a dispatch. */
export interface DispatchContext {
  /** The aggregate type. */
  readonly aggregate: string;
  /** The instance id. */
  readonly id: string;
  /** Ids and metadata the events will carry; middleware may add to `metadata`. */
  readonly meta: CommandMeta & { metadata: Record<string, unknown> };
}

/**
 * Runs around a dispatch: validate (throw to refuse), log, enrich metadata;
 * call `next()` to go on.
 */
export type Middleware = (
  command: Command,
  context: DispatchContext,
  next: () => Promise<DispatchResult>,
) => Promise<DispatchResult>;

/** Options of {@linkcode CommandRouter.dispatch}. */
export interface DispatchOptions {
  /** `"eventual"` (default): return once the events are stored. `"strong"`: once the projections have them. */
  consistency?: "eventual" | "strong";
  /** The projections `"strong"` waits for (default: the router's `projections`). */
  projections?: readonly string[];
  /** The command's id, the causation id of its events. Default: a new UUID. */
  causationId?: string;
  /** The conversation's id. Default: the causation id. */
  correlationId?: string;
  /** Metadata for the events. */
  metadata?: Record<string, unknown>;
  /** Milliseconds for the whole dispatch. Default 30000. */
  timeout?: number;
}

/** Options of a {@linkcode CommandRouter}. */
export interface CommandRouterOptions {
  /** The event store. */
  // deno-lint-ignore no-explicit-any
  store: EventStore<any>;
  /** The node's runtime (its processes host the instances). */
  runtime: Runtime;
  /** Milliseconds an instance stays without a command before it stops. Default 60000. */
  idleTimeout?: number;
  /** Middleware, outermost first. */
  middleware?: readonly Middleware[];
  /** Upgrades old events as instances load them. */
  upcasters?: Upcasters;
  /** The projections a `"strong"` dispatch waits for by default. */
  projections?: readonly string[];
  /** Executions tried again after a concurrency conflict. Default 10. */
  retries?: number;
  /**
   * The fewest nodes (this one included) this node must see for an aggregate instance to start
   * here or to execute a command: set it to a majority of the cluster, and an instance on the
   * minority side of a partition stops and the minority refuses commands
   * (`QuorumNotAchieved`), so the instance is never live on both sides. Default 1 (no check).
   */
  quorum?: number;
  /**
   * `"global"` (default on a node): one instance per id in the cluster; `"local"`: one per
   * id on this node (a bare runtime has no `global`).
   */
  scope?: "global" | "local";
}

interface Route {
  // deno-lint-ignore no-explicit-any
  aggregate: Aggregate<any, any, any>;
  identity: (command: Command) => string;
}

/** What the router asks an instance process (sent by `CommandRouter.#send` on any node). */
interface ExecuteRequest {
  type: "execute";
  command: Command;
  meta: CommandMeta;
}

/** An instance process's answer: plain data, so that it crosses nodes. */
type ExecuteReply =
  | { ok: ExecutionResult }
  | { rejected: { command: string; stream: string; reason: string } }
  | { conflict: { stream: string; expected: string | number; actual: number } }
  | { noQuorum: { seen: number; quorum: number } }
  | { failed: { name: string; message: string } };

interface ServerArgs {
  // deno-lint-ignore no-explicit-any
  instance: AggregateInstance<any, any, any>;
  idleTimeout: number;
  /** How many nodes this node sees, itself included. */
  seen: () => number;
  quorum: number;
}

interface ServerState {
  args: ServerArgs;
}

/** The process of one aggregate instance: one command at a time, stops when idle. */
class AggregateServer extends GenServer<ServerState, ServerArgs> {
  override init(args: ServerArgs): InitResult<ServerState> {
    return { ok: { args }, timeout: args.idleTimeout };
  }

  /** Sent by a router (this node's or another's) for each command of this instance. */
  override async handleCall(
    request: ExecuteRequest,
    from: From,
    state: ServerState,
  ): Promise<CallResult<ServerState>> {
    void from;
    const { instance, idleTimeout, seen, quorum } = state.args;
    if (seen() < quorum) {
      // On the minority side of a partition: stop, so that the majority may run the instance.
      return { stop: "normal", reply: { noQuorum: { seen: seen(), quorum } }, state };
    }
    let reply: ExecuteReply;
    // Which process wrote each event, for audits: `$instance` is its pid (node included).
    const meta: CommandMeta = {
      ...request.meta,
      metadata: { ...request.meta.metadata, $instance: String(current().self) },
    };
    try {
      reply = { ok: await instance.execute(request.command, meta) };
    } catch (e) {
      if (e instanceof CommandRejectedError) {
        const cause = e.cause;
        reply = {
          rejected: {
            command: e.command,
            stream: e.stream,
            reason: cause instanceof Error ? cause.message : describe(cause),
          },
        };
      } else if (e instanceof WrongExpectedVersionError) {
        reply = { conflict: { stream: e.stream, expected: e.expected, actual: e.actual } };
      } else {
        const err = e instanceof Error ? e : new Error(describe(e));
        reply = { failed: { name: err.name, message: err.message } };
      }
    }
    return { reply, state, timeout: idleTimeout };
  }

  /** `"timeout"`: no command for `idleTimeout` ms (from GenServer); `global_name_conflict`: another copy won. */
  override handleInfo(msg: unknown, state: ServerState): InfoResult<ServerState> {
    if (msg === "timeout") return { stop: "normal", state };
    if (
      typeof msg === "object" && msg !== null &&
      (msg as { type?: unknown }).type === "global_name_conflict"
    ) {
      return { stop: "normal", state };
    }
    return { noreply: true, state, timeout: state.args.idleTimeout };
  }
}

/**
 * Routes commands to aggregate instances (see the module doc).
 */
export class CommandRouter {
  #options: CommandRouterOptions;
  #routes = new Map<string, Route>();
  #aggregates = new Map<string, Route["aggregate"]>();
  #live = new Set<Pid>();
  #stopped = false;

  /**
   * @param options the store, the runtime, idle time, middleware, upcasters, projections
   * @throws {TypeError} when an option is malformed
   */
  constructor(options: CommandRouterOptions) {
    if (options === null || typeof options !== "object" || options.store === undefined) {
      throw new TypeError("Cannot make a command router: options.store is required");
    }
    if (options.runtime === undefined) {
      throw new TypeError("Cannot make a command router: options.runtime is required");
    }
    if (
      options.quorum !== undefined && (!Number.isSafeInteger(options.quorum) || options.quorum < 1)
    ) {
      throw new TypeError("Cannot make a command router: quorum must be an integer >= 1");
    }
    this.#options = options;
  }

  /**
   * Registers an aggregate type and the commands it handles.
   *
   * @param aggregate the aggregate type
   * @param route its command types and how a command names its instance
   * @returns this, to chain registrations
   * @throws {TypeError} when a command type is routed already or an argument is malformed
   */
  register<S, C extends Command, E extends DomainEvent>(
    aggregate: Aggregate<S, C, E>,
    route: RouteOptions<C>,
  ): this {
    checkAggregate(aggregate);
    if (!Array.isArray(route?.commands) || route.commands.length === 0) {
      throw new TypeError(`Cannot register ${aggregate.name}: commands must be a non-empty array`);
    }
    const other = this.#aggregates.get(aggregate.name);
    if (other !== undefined && other !== aggregate) {
      throw new TypeError(`Cannot register ${aggregate.name}: another aggregate has that name`);
    }
    const field = route.identity;
    const identity = typeof field === "function"
      ? field as (c: Command) => string
      : typeof field === "string" && field !== ""
      ? (c: Command) => (c as unknown as Record<string, string>)[field]!
      : undefined;
    if (identity === undefined) {
      throw new TypeError(
        `Cannot register ${aggregate.name}: identity must be a field name or a function`,
      );
    }
    for (const type of route.commands) {
      if (this.#routes.has(type)) {
        throw new TypeError(`Cannot register ${aggregate.name}: command ${type} is routed already`);
      }
    }
    for (const type of route.commands) this.#routes.set(type, { aggregate, identity });
    this.#aggregates.set(aggregate.name, aggregate);
    return this;
  }

  /** The command types routed. */
  commands(): string[] {
    return [...this.#routes.keys()];
  }

  /** The aggregate instance processes running on this node. */
  instances(): Pid[] {
    return [...this.#live];
  }

  /**
   * Dispatches a command to its aggregate instance.
   *
   * @param command a plain object with a `type` and its instance's id
   * @param options consistency, ids, metadata, timeout
   * @returns what the instance wrote
   * @throws {UnregisteredCommandError} when no aggregate handles `command.type`
   * @throws {CommandRejectedError} when the aggregate refused it (nothing written)
   * @throws {WrongExpectedVersionError} when concurrency conflicts outlasted the retries
   * @throws {QuorumNotAchieved} when this node (or the instance's) sees fewer than `quorum` nodes
   * @throws {TimeoutError} when it did not complete in time
   * @throws {TypeError} when the command is malformed or has no id
   */
  async dispatch<C extends Command>(
    command: C,
    options: DispatchOptions = {},
  ): Promise<DispatchResult> {
    if (command === null || typeof command !== "object" || typeof command.type !== "string") {
      throw new TypeError("Cannot dispatch: a command is an object with a string type");
    }
    if (this.#stopped) throw new TypeError("Cannot dispatch: the command router is stopped");
    const route = this.#routes.get(command.type);
    if (route === undefined) throw new UnregisteredCommandError(command.type);
    const id = route.identity(command);
    if (typeof id !== "string" || id === "") {
      throw new TypeError(
        `Cannot dispatch ${command.type}: its ${route.aggregate.name} id must be a non-empty string`,
      );
    }
    const causationId = options.causationId ?? crypto.randomUUID();
    const context: DispatchContext = {
      aggregate: route.aggregate.name,
      id,
      meta: {
        causationId,
        correlationId: options.correlationId ?? causationId,
        metadata: { ...options.metadata },
      },
    };
    const timeout = options.timeout ?? 30_000;
    const deadline = Date.now() + timeout;
    const chain = this.#options.middleware ?? [];
    const run = (i: number): Promise<DispatchResult> =>
      i < chain.length
        ? chain[i]!(command, context, () => run(i + 1))
        : this.#send(route, id, command, context.meta, deadline);
    const result = await run(0);
    if (options.consistency === "strong" && result.position > 0) {
      await this.#awaitProjections(
        options.projections ?? this.#options.projections ?? [],
        result.position,
        deadline,
      );
    }
    return result;
  }

  /** Stops this node's instance processes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const runtime = this.#options.runtime;
    await Promise.all(
      [...this.#live].map((pid) => GenServer.stop(pid, "shutdown", { runtime }).catch(() => {})),
    );
  }

  async #send(
    route: Route,
    id: string,
    command: Command,
    meta: CommandMeta,
    deadline: number,
  ): Promise<DispatchResult> {
    const runtime = this.#options.runtime;
    const base = `es:${route.aggregate.name}:${id}`;
    const global = (this.#options.scope ?? "global") === "global" &&
      runtime.context.get(GLOBAL_NAME_REGISTRY) !== undefined;
    const name = global ? { global: base } : base;
    for (let attempt = 0;; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TimeoutError(`Cannot dispatch ${command.type} to ${base}: no answer in time`);
      }
      let reply: ExecuteReply;
      try {
        reply = await GenServer.call<ExecuteReply>(
          name,
          { type: "execute", command, meta } satisfies ExecuteRequest,
          { runtime, timeout: left },
        );
      } catch (e) {
        if (!(e instanceof ExitError)) throw e;
        if (e.reason === "noproc") await this.#start(route, id, name, command);
        else if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(200, 10 * attempt)));
        continue;
      }
      if ("ok" in reply) return { ...reply.ok, aggregate: route.aggregate.name, id };
      if ("rejected" in reply) {
        const r = reply.rejected;
        throw new CommandRejectedError(r.command, r.stream, new Error(r.reason));
      }
      if ("conflict" in reply) {
        const c = reply.conflict;
        throw new WrongExpectedVersionError(c.stream, c.expected, c.actual);
      }
      if ("noQuorum" in reply) throw this.#noQuorum(command, base, reply.noQuorum.seen);
      const err = new Error(reply.failed.message);
      err.name = reply.failed.name;
      throw err;
    }
  }

  #seen(): number {
    const kernel = this.#options.runtime.router;
    return kernel instanceof NetKernel ? kernel.nodes("visible").length + 1 : 1;
  }

  #noQuorum(command: Command, base: string, seen: number): QuorumNotAchieved {
    const quorum = this.#options.quorum ?? 1;
    return new QuorumNotAchieved(
      `Cannot dispatch ${command.type} to ${base}: ${this.#options.runtime.node} sees ${seen} ` +
        `node(s), a quorum is ${quorum}`,
      { required: quorum, answered: seen, failed: {} },
    );
  }

  async #start(
    route: Route,
    id: string,
    name: string | { global: string },
    command: Command,
  ): Promise<void> {
    const runtime = this.#options.runtime;
    const quorum = this.#options.quorum ?? 1;
    const seen = this.#seen();
    if (seen < quorum) throw this.#noQuorum(command, `es:${route.aggregate.name}:${id}`, seen);
    const instance = new AggregateInstance(this.#options.store, route.aggregate, id, {
      ...(this.#options.upcasters !== undefined ? { upcasters: this.#options.upcasters } : {}),
      ...(this.#options.retries !== undefined ? { retries: this.#options.retries } : {}),
    });
    try {
      const pid = await GenServer.start(AggregateServer, {
        instance,
        idleTimeout: this.#options.idleTimeout ?? 60_000,
        seen: () => this.#seen(),
        quorum,
      }, { runtime, name });
      this.#live.add(pid);
      const watcher = runtime.open({ label: "es:instance_watch" });
      watcher.monitor(pid);
      watcher.receive().finally(() => {
        this.#live.delete(pid);
        watcher.exit();
      });
    } catch (e) {
      if (!(e instanceof AlreadyStartedError)) throw e;
    }
  }

  async #awaitProjections(
    names: readonly string[],
    position: number,
    deadline: number,
  ): Promise<void> {
    const store = this.#options.store;
    let delay = 2;
    for (const name of names) {
      while ((await store.checkpoints.load(name)) < position) {
        if (Date.now() >= deadline) {
          throw new TimeoutError(
            `Strong consistency: projection ${name} did not reach position ${position} in time`,
          );
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(50, delay * 2);
      }
    }
  }
}
