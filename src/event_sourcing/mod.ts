/**
 * Event sourcing and CQRS, as Elixir's `eventstore` and `commanded`: an
 * event store behind one interface (SQLite embedded, PostgreSQL for
 * production), subscriptions, aggregates and their command router,
 * projections, process managers and upcasters.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "./mod.ts";
 * const store = SqliteEventStore.open(":memory:");
 * await store.append("account-1", [{ type: "Deposited", data: { amount: 10 } }]);
 * console.assert((await store.read("account-1")).length === 1);
 * await store.close();
 * ```
 *
 * @module
 */

export {
  type Aggregate,
  AggregateInstance,
  type AggregateInstanceOptions,
  checkAggregate,
  type Command,
  type CommandMeta,
  type DomainEvent,
  domainEventOf,
  type ExecuteResult,
  type ExecutionResult,
  streamOf,
} from "./aggregate.ts";
export {
  type ProcessManager,
  type ProcessManagerOptions,
  ProcessManagerRunner,
} from "./process_manager.ts";
export { type Projection, Projector, type ProjectorOptions } from "./projection.ts";
export {
  CommandRouter,
  type CommandRouterOptions,
  type DispatchContext,
  type DispatchOptions,
  type DispatchResult,
  type Middleware,
  type RouteOptions,
} from "./router.ts";
export { singletonName, SingletonSubscription } from "./singleton_subscription.ts";
export {
  type BatchHandler,
  Subscription,
  type SubscriptionOptions,
  type SubscriptionStatus,
} from "./subscription.ts";
export { type Upcaster, Upcasters } from "./upcaster.ts";
export {
  assertExpected,
  type CheckedRead,
  checkExpected,
  checkRead,
  checkStream,
  type EventStore,
  READ_PAGE,
  type SerializedEvent,
  serializeEvents,
  toJson,
} from "./event_store.ts";
export {
  SqliteEventStore,
  type SqliteEventStoreOptions,
  type SqliteTx,
} from "./sqlite_event_store.ts";
export {
  PostgresEventStore,
  type PostgresEventStoreOptions,
  type PostgresTx,
} from "./postgres_event_store.ts";
export {
  ALL_STREAM,
  type AppendOptions,
  type AppendResult,
  type CheckpointStore,
  type DeleteOptions,
  type EventData,
  type ExpectedVersion,
  type JsonValue,
  type RecordedEvent,
  type Snapshot,
  type SnapshotStore,
  type StreamReadOptions,
} from "./types.ts";
