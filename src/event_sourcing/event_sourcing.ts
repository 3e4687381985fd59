/**
 * The node's event sourcing service: its event store, its command router,
 * and the projections, process managers and singleton subscriptions it
 * runs, found through the node's context (`EVENT_SOURCING`), so that the
 * shell's `es` namespace and user code reach the same ones.
 *
 * ```
 * startNode                -> EventSourcing (nothing opened yet)
 * first use of store()     -> SQLite at <data dir>/events.db, or PostgreSQL when the node
 *                             was given `eventStore: "postgres://..."`
 * register / dispatch      -> one CommandRouter on the node ({global} instance names)
 * project / manage         -> Projector / ProcessManagerRunner, stopped with the node
 * subscribe(name, handler) -> SingletonSubscription: runs on one node of the cluster
 * node.stop()              -> everything above stopped, the store closed
 * ```
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const dataDir = await Deno.makeTempDir();
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1", dataDir });
 * const store = await node.eventSourcing.store();
 * await store.append("a", [{ type: "T", data: {} }]);
 * console.assert(store.adapter === "sqlite");
 * await node.stop();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 *
 * @module
 */

import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Aggregate, Command, DomainEvent } from "./aggregate.ts";
import type { EventStore } from "./event_store.ts";
import { PostgresEventStore } from "./postgres_event_store.ts";
import {
  type ProcessManager,
  type ProcessManagerOptions,
  ProcessManagerRunner,
} from "./process_manager.ts";
import { type Projection, Projector, type ProjectorOptions } from "./projection.ts";
import {
  CommandRouter,
  type DispatchOptions,
  type DispatchResult,
  type Middleware,
  type RouteOptions,
} from "./router.ts";
import { SingletonSubscription } from "./singleton_subscription.ts";
import { SqliteEventStore } from "./sqlite_event_store.ts";
import type { BatchHandler, SubscriptionOptions } from "./subscription.ts";
import type { Upcasters } from "./upcaster.ts";

/** The key of a node's event sourcing service in its context. */
export const EVENT_SOURCING: ServiceKey<EventSourcing> = new ServiceKey("event_sourcing");

/** The file of the embedded event store, in the node's data directory. */
export const EVENTS_FILE = "events.db";

/** Options of a node's {@linkcode EventSourcing} (`NodeOptions.eventSourcing`). */
export interface EventSourcingOptions {
  /** A `postgres://` URL: the store is PostgreSQL. Default: SQLite in the data directory. */
  eventStore?: string;
  /** Milliseconds an aggregate instance stays without a command. Default 60000. */
  idleTimeout?: number;
  /** Middleware of the node's router, outermost first. */
  middleware?: readonly Middleware[];
  /** Upgrades old events for aggregates. */
  upcasters?: Upcasters;
  /** The projections a `"strong"` dispatch waits for. */
  projections?: readonly string[];
  /**
   * The fewest nodes (this one included) this node must see to run an aggregate instance:
   * a majority of the cluster keeps an instance off the minority side of a partition
   * (see `CommandRouterOptions.quorum`). Default 1.
   */
  quorum?: number;
}

/** What `info()` tells. */
export interface EventSourcingInfo {
  /** `"sqlite"`, `"postgres"`, or `undefined` until the store is opened. */
  adapter: string | undefined;
  /** The SQLite file or the PostgreSQL URL. */
  location: string;
  /** Command types the router handles. */
  commands: string[];
  /** Aggregate instances running on this node. */
  instances: number;
  /** Projections and where they stand. */
  projections: { name: string; status: string; position: number }[];
  /** Singleton subscriptions and whether each is active here. */
  subscriptions: { name: string; active: boolean }[];
}

/**
 * A node's event sourcing (see the module doc).
 */
export class EventSourcing {
  #runtime: Runtime;
  #location: string;
  #options: EventSourcingOptions;
  #store: Promise<EventStore<unknown>> | undefined;
  #router: CommandRouter | undefined;
  #projectors: Projector<unknown>[] = [];
  #managers: ProcessManagerRunner<unknown>[] = [];
  #singletons: SingletonSubscription[] = [];
  #stopped = false;

  /**
   * Puts the service in the node's context; nothing is opened until used.
   *
   * @param runtime the node's runtime
   * @param dataDir the node's data directory, or `undefined` for an in-memory store
   * @param options a PostgreSQL URL, router options
   * @throws {ServiceAlreadyRunningError} when the node has one already
   */
  constructor(runtime: Runtime, dataDir: string | undefined, options: EventSourcingOptions = {}) {
    if (options.eventStore !== undefined && !/^postgres(ql)?:\/\//.test(options.eventStore)) {
      throw new TypeError(
        `Cannot start event sourcing: eventStore must be a postgres:// URL, received "${options.eventStore}"`,
      );
    }
    this.#runtime = runtime;
    this.#options = options;
    this.#location = options.eventStore ??
      (dataDir === undefined ? ":memory:" : `${dataDir}/${EVENTS_FILE}`);
    runtime.context.provide(EVENT_SOURCING, this);
  }

  /** The node's event store, opened on first use. */
  store(): Promise<EventStore<unknown>> {
    if (this.#stopped) {
      return Promise.reject(new TypeError("Event sourcing is stopped on this node"));
    }
    this.#store ??= this.#location.startsWith("postgres")
      ? PostgresEventStore.connect(this.#location) as Promise<EventStore<unknown>>
      : Promise.resolve(SqliteEventStore.open(this.#location) as EventStore<unknown>);
    this.#store.catch(() => (this.#store = undefined));
    return this.#store;
  }

  /**
   * Registers an aggregate with the node's router.
   *
   * @throws {TypeError} see `CommandRouter.register`
   */
  async register<S, C extends Command, E extends DomainEvent>(
    aggregate: Aggregate<S, C, E>,
    route: RouteOptions<C>,
  ): Promise<void> {
    (await this.#routerNow()).register(aggregate, route);
  }

  /** Dispatches a command (see `CommandRouter.dispatch`). */
  async dispatch<C extends Command>(
    command: C,
    options?: DispatchOptions,
  ): Promise<DispatchResult> {
    return await (await this.#routerNow()).dispatch(command, options);
  }

  /** Starts a projection on the node's store. */
  async project<Tx>(
    projection: Projection<Tx>,
    options?: ProjectorOptions,
  ): Promise<Projector<Tx>> {
    const store = await this.store() as EventStore<Tx>;
    const p = Projector.start(store, projection, options);
    this.#projectors.push(p as Projector<unknown>);
    return p;
  }

  /** Starts a process manager on the node's store and router. */
  async manage<S>(
    pm: ProcessManager<S>,
    options?: ProcessManagerOptions,
  ): Promise<ProcessManagerRunner<S>> {
    const store = await this.store();
    const runner = ProcessManagerRunner.start(store, await this.#routerNow(), pm, options);
    this.#managers.push(runner as ProcessManagerRunner<unknown>);
    return runner;
  }

  /** Takes part in the cluster-wide singleton subscription `name`. */
  async subscribe(
    name: string,
    handler: BatchHandler,
    options?: Omit<SubscriptionOptions, "name" | "from">,
  ): Promise<SingletonSubscription> {
    const store = await this.store();
    const s = SingletonSubscription.start(
      { runtime: this.#runtime },
      store,
      name,
      handler,
      options,
    );
    this.#singletons.push(s);
    return s;
  }

  /** The node's router (made on first use). */
  async router(): Promise<CommandRouter> {
    return await this.#routerNow();
  }

  /** What runs here. */
  info(): EventSourcingInfo {
    return {
      adapter: this.#store === undefined
        ? undefined
        : this.#location.startsWith("postgres")
        ? "postgres"
        : "sqlite",
      location: this.#location,
      commands: this.#router?.commands() ?? [],
      instances: this.#router?.instances().length ?? 0,
      projections: this.#projectors.map((p) => ({
        name: p.projection.name,
        status: p.status,
        position: p.position,
      })),
      subscriptions: this.#singletons.map((s) => ({ name: s.name, active: s.isActive })),
    };
  }

  /** Stops everything it runs and closes the store (called by `node.stop()`). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all([
      ...this.#singletons.map((s) => s.stop()),
      ...this.#projectors.map((p) => p.stop()),
      ...this.#managers.map((m) => m.stop()),
    ]);
    await this.#router?.stop();
    const store = this.#store;
    if (store !== undefined) await (await store.catch(() => undefined))?.close();
    this.#runtime.context.remove(EVENT_SOURCING);
  }

  async #routerNow(): Promise<CommandRouter> {
    const store = await this.store();
    const o = this.#options;
    this.#router ??= new CommandRouter({
      store,
      runtime: this.#runtime,
      ...(o.idleTimeout !== undefined ? { idleTimeout: o.idleTimeout } : {}),
      ...(o.middleware !== undefined ? { middleware: o.middleware } : {}),
      ...(o.upcasters !== undefined ? { upcasters: o.upcasters } : {}),
      ...(o.projections !== undefined ? { projections: o.projections } : {}),
      ...(o.quorum !== undefined ? { quorum: o.quorum } : {}),
    });
    return this.#router;
  }
}

/**
 * The event sourcing service of a node.
 *
 * @throws {ServiceNotRunningError} when the node runs none
 */
export function eventSourcingOf(runtime: Runtime): EventSourcing {
  return runtime.context.require(EVENT_SOURCING);
}
