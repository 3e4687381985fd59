/**
 * `es`: the event sourcing service of the calling process's node, as the
 * shell and user code call it (`es.dispatch({ type: "Deposit", ... })`).
 * Each function finds the node's service when called, so the same code
 * works at the prompt, in spawned processes, in `--eval` and `--script`.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { es } from "./namespace.ts";
 * const dataDir = await Deno.makeTempDir();
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1", dataDir });
 * await runInProcess(node.runtime.open(), async () => {
 *   await es.append("greetings", [{ type: "Said", data: { text: "hi" } }]);
 *   console.assert((await es.read("greetings"))[0]?.type === "Said");
 * });
 * await node.stop();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 *
 * @module
 */

import { current } from "../process/current.ts";
import type { Aggregate, Command, DomainEvent } from "./aggregate.ts";
import type { EventStore } from "./event_store.ts";
import { type EventSourcingInfo, eventSourcingOf } from "./event_sourcing.ts";
import type {
  ProcessManager,
  ProcessManagerOptions,
  ProcessManagerRunner,
} from "./process_manager.ts";
import type { Projection, Projector, ProjectorOptions } from "./projection.ts";
import type { DispatchOptions, DispatchResult, RouteOptions } from "./router.ts";
import type { SingletonSubscription } from "./singleton_subscription.ts";
import type { BatchHandler, SubscriptionOptions } from "./subscription.ts";
import type {
  AppendOptions,
  AppendResult,
  EventData,
  RecordedEvent,
  StreamReadOptions,
} from "./types.ts";

/** The shape of {@linkcode es}. */
export interface EsNamespace {
  /** The node's event store. */
  store(): Promise<EventStore<unknown>>;
  /** Appends events to a stream; see `EventStore.append`. */
  append(
    stream: string,
    events: readonly EventData[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** Reads a stream; see `EventStore.read`. */
  read(stream: string, options?: StreamReadOptions): Promise<RecordedEvent[]>;
  /** Reads `$all`; see `EventStore.readAll`. */
  readAll(options?: StreamReadOptions): Promise<RecordedEvent[]>;
  /** Registers an aggregate with the node's router. */
  register<S, C extends Command, E extends DomainEvent>(
    aggregate: Aggregate<S, C, E>,
    route: RouteOptions<C>,
  ): Promise<void>;
  /** Dispatches a command to its aggregate instance, wherever it runs in the cluster. */
  dispatch<C extends Command>(command: C, options?: DispatchOptions): Promise<DispatchResult>;
  /** Starts a projection. */
  project<Tx>(projection: Projection<Tx>, options?: ProjectorOptions): Promise<Projector<Tx>>;
  /** Starts a process manager. */
  manage<S>(
    pm: ProcessManager<S>,
    options?: ProcessManagerOptions,
  ): Promise<ProcessManagerRunner<S>>;
  /** Takes part in a cluster-wide singleton subscription. */
  subscribe(
    name: string,
    handler: BatchHandler,
    options?: Omit<SubscriptionOptions, "name" | "from">,
  ): Promise<SingletonSubscription>;
  /** What runs on this node. */
  info(): EventSourcingInfo;
}

function here() {
  return eventSourcingOf(current().runtime);
}

/**
 * The event sourcing service of the calling process's node.
 *
 * @example
 * ```ts
 * import { es } from "./namespace.ts";
 * console.assert(typeof es.dispatch === "function");
 * ```
 */
export const es: EsNamespace = Object.freeze({
  store: () => here().store(),
  append: async (stream: string, events: readonly EventData[], options?: AppendOptions) =>
    await (await here().store()).append(stream, events, options),
  read: async (stream: string, options?: StreamReadOptions) =>
    await (await here().store()).read(stream, options),
  readAll: async (options?: StreamReadOptions) => await (await here().store()).readAll(options),
  register: <S, C extends Command, E extends DomainEvent>(
    aggregate: Aggregate<S, C, E>,
    route: RouteOptions<C>,
  ) => here().register(aggregate, route),
  dispatch: <C extends Command>(command: C, options?: DispatchOptions) =>
    here().dispatch(command, options),
  project: <Tx>(projection: Projection<Tx>, options?: ProjectorOptions) =>
    here().project(projection, options),
  manage: <S>(pm: ProcessManager<S>, options?: ProcessManagerOptions) => here().manage(pm, options),
  subscribe: (
    name: string,
    handler: BatchHandler,
    options?: Omit<SubscriptionOptions, "name" | "from">,
  ) => here().subscribe(name, handler, options),
  info: () => here().info(),
});
