/**
 * The event store contract, and the checks every adapter shares: stream
 * names, expected versions, JSON serialisation, read options.
 *
 * An event store keeps streams of immutable events. Each append is one
 * transaction: the expected version is checked against the stream's
 * current version and all of its events are written, or none are. Every
 * event also takes the next position of `$all`; positions have no gaps
 * and a reader never sees position n+1 before n (an append holds the
 * store's position counter until it commits).
 *
 * ```
 * append(s, [e1, e2], {expectedVersion: 3})
 *   serialise e1, e2 (an unserialisable event: EventSerializationError, nothing opened)
 *   BEGIN
 *     version(s) == 3 ?  no -> ROLLBACK, WrongExpectedVersionError(s, 3, actual)
 *     position += 2 (the counter stays locked until COMMIT)
 *     INSERT e1 (s, 4, p+1), e2 (s, 5, p+2); version(s) = 5
 *   COMMIT -> subscribers are woken
 * ```
 *
 * The adapters: {@linkcode SqliteEventStore} (embedded, the default) and
 * `PostgresEventStore`; both pass `test/event_sourcing/event_store_conformance.ts`.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * const store = SqliteEventStore.open(":memory:");
 * await store.append("account-1", [{ type: "Opened", data: { owner: "ann" } }], { expectedVersion: "no_stream" });
 * const [opened] = await store.read("account-1");
 * console.assert(opened?.streamVersion === 1 && opened.globalPosition === 1);
 * await store.close();
 * ```
 *
 * @module
 */

import { EventSerializationError } from "../errors.ts";
import type {
  AppendOptions,
  AppendResult,
  CheckpointStore,
  DeleteOptions,
  EventData,
  ExpectedVersion,
  RecordedEvent,
  SnapshotStore,
  StreamReadOptions,
} from "./types.ts";
import { WrongExpectedVersionError } from "../errors.ts";

/**
 * Streams of events with optimistic concurrency, `$all`, snapshots and
 * checkpoints. `Tx` is what a projection's handler writes its read model
 * through, in the same transaction as its checkpoint (the adapter's own
 * transaction handle).
 */
export interface EventStore<Tx = unknown> {
  /** The adapter's name (`"sqlite"`, `"postgres"`). */
  readonly adapter: string;
  /**
   * Appends events to a stream, atomically.
   *
   * @throws {WrongExpectedVersionError} when the stream is not as expected (nothing written)
   * @throws {EventSerializationError} when an event is not plain JSON (nothing written)
   * @throws {StreamDeletedError} when the stream was deleted
   * @throws {EventStoreUnavailableError} when the database cannot be reached
   */
  append(
    stream: string,
    events: readonly EventData[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * Reads a stream (forward or backward, from a version); `[]` for a stream with no events.
   *
   * @throws {StreamDeletedError} when the stream was soft-deleted
   */
  read(stream: string, options?: StreamReadOptions): Promise<RecordedEvent[]>;
  /** Reads `$all` (from a global position). */
  readAll(options?: StreamReadOptions): Promise<RecordedEvent[]>;
  /** The stream's version (0: no events). */
  streamVersion(stream: string): Promise<number>;
  /** The position of the last event in `$all` (0: empty). */
  headPosition(): Promise<number>;
  /**
   * Deletes a stream (soft by default, see {@linkcode DeleteOptions}).
   *
   * @throws {WrongExpectedVersionError} when the stream is not as expected
   */
  deleteStream(stream: string, options?: DeleteOptions): Promise<void>;
  /** The snapshot store beside the events. */
  readonly snapshots: SnapshotStore;
  /** The checkpoints of named subscriptions. */
  readonly checkpoints: CheckpointStore;
  /**
   * Runs `fn` and then saves `position` as the checkpoint of `name`, in one
   * transaction: a projection's read model and its checkpoint commit
   * together or not at all.
   */
  withCheckpoint<T>(name: string, position: number, fn: (tx: Tx) => T | Promise<T>): Promise<T>;
  /** Calls `listener` after each commit seen by this store (its own appends; PostgreSQL: every process's). */
  onAppend(listener: (position: number) => void): () => void;
  /** Closes the store. */
  close(): Promise<void>;
}

/** Default page size of reads made by subscriptions. */
export const READ_PAGE = 1000;

/**
 * Checks a stream name.
 *
 * @throws {TypeError} when it is not a non-empty string, or is `$all`
 */
export function checkStream(stream: unknown, what: string): asserts stream is string {
  if (typeof stream !== "string" || stream === "") {
    throw new TypeError(`Cannot ${what}: stream must be a non-empty string`);
  }
  if (stream === "$all") throw new TypeError(`Cannot ${what}: $all is read-only`);
}

/**
 * Checks an expected version option.
 *
 * @throws {TypeError} when it is none of the allowed values
 */
export function checkExpected(expected: unknown, what: string): ExpectedVersion {
  if (expected === undefined) return "any";
  if (expected === "any" || expected === "no_stream" || expected === "stream_exists") {
    return expected;
  }
  if (typeof expected === "number" && Number.isSafeInteger(expected) && expected >= 0) {
    return expected;
  }
  throw new TypeError(
    `Cannot ${what}: expectedVersion must be "any", "no_stream", "stream_exists" or a version >= 0`,
  );
}

/**
 * Whether a stream at `actual` meets `expected`.
 *
 * @throws {WrongExpectedVersionError} when it does not
 */
export function assertExpected(stream: string, expected: ExpectedVersion, actual: number): void {
  const ok = expected === "any" ||
    (expected === "no_stream" && actual === 0) ||
    (expected === "stream_exists" && actual > 0) ||
    expected === actual;
  if (!ok) throw new WrongExpectedVersionError(stream, expected, actual);
}

/** An event ready to write: its text and ids decided. */
export interface SerializedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
  causationId: string | null;
  correlationId: string | null;
}

/**
 * Serialises events before any transaction opens, so that a bad one
 * writes nothing.
 *
 * @throws {TypeError} when `events` is not a non-empty array of `{type, data}`
 * @throws {EventSerializationError} when an event holds a value that is not plain JSON
 */
export function serializeEvents(stream: string, events: readonly EventData[]): SerializedEvent[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw new TypeError(`Cannot append to ${stream}: expected a non-empty array of events`);
  }
  return events.map((e, i) => {
    if (e === null || typeof e !== "object" || typeof e.type !== "string" || e.type === "") {
      throw new TypeError(`Cannot append to ${stream}: event ${i} needs a non-empty string type`);
    }
    const what = `Cannot serialise event ${e.type} for ${stream}`;
    for (const key of ["id", "causationId", "correlationId"] as const) {
      const v = e[key];
      if (v !== undefined && (typeof v !== "string" || v === "")) {
        throw new TypeError(`${what}: ${key} must be a non-empty string`);
      }
    }
    return {
      id: e.id ?? crypto.randomUUID(),
      type: e.type,
      data: toJson(e.data, what, "data"),
      metadata: toJson(e.metadata ?? {}, what, "metadata"),
      causationId: e.causationId ?? null,
      correlationId: e.correlationId ?? null,
    };
  });
}

/**
 * The JSON text of a value that must be plain JSON (no functions, symbols,
 * undefined, bigints, non-finite numbers, class instances or cycles).
 *
 * @throws {EventSerializationError} naming where in the value the bad part sits
 */
export function toJson(value: unknown, what: string, path: string): string {
  checkJson(value, what, path, new Set());
  return JSON.stringify(value);
}

function checkJson(value: unknown, what: string, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) {
        throw new EventSerializationError(`${what}: ${path} is ${value}, not a finite number`);
      }
      return;
    case "object": {
      if (value === null) return;
      if (seen.has(value)) throw new EventSerializationError(`${what}: ${path} is a cycle`);
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value)) {
        seen.add(value);
        value.forEach((v, i) => checkJson(v, what, `${path}[${i}]`, seen));
      } else if (proto === Object.prototype || proto === null) {
        seen.add(value);
        for (const [k, v] of Object.entries(value)) checkJson(v, what, `${path}.${k}`, seen);
      } else {
        throw new EventSerializationError(
          `${what}: ${path} is a ${proto?.constructor?.name ?? "object"}, not plain JSON`,
        );
      }
      seen.delete(value);
      return;
    }
    default:
      throw new EventSerializationError(`${what}: ${path} is a ${typeof value}, not plain JSON`);
  }
}

/** Read options checked, with their defaults. */
export interface CheckedRead {
  forward: boolean;
  from: number | undefined;
  limit: number | undefined;
}

/**
 * Checks read options.
 *
 * @throws {TypeError} when `from`, `limit` or `direction` is malformed
 */
export function checkRead(options: StreamReadOptions | undefined, what: string): CheckedRead {
  const o = options ?? {};
  if (o.direction !== undefined && o.direction !== "forward" && o.direction !== "backward") {
    throw new TypeError(`Cannot ${what}: direction must be "forward" or "backward"`);
  }
  if (o.from !== undefined && (!Number.isSafeInteger(o.from) || o.from < 0)) {
    throw new TypeError(`Cannot ${what}: from must be an integer >= 0`);
  }
  if (o.limit !== undefined && (!Number.isSafeInteger(o.limit) || o.limit < 0)) {
    throw new TypeError(`Cannot ${what}: limit must be an integer >= 0`);
  }
  return { forward: o.direction !== "backward", from: o.from, limit: o.limit };
}
