/**
 * The shapes the event store speaks in: what a caller appends, what a
 * reader gets back, and the expected-version rules of an append.
 *
 * Versions and positions count from 1: a stream's first event has
 * `streamVersion` 1 and a stream with no events is at version 0; the first
 * event ever appended has `globalPosition` 1 in `$all`.
 *
 * @example
 * ```ts
 * import type { EventData } from "./types.ts";
 * const deposited: EventData = { type: "Deposited", data: { amount: 10 } };
 * console.assert(deposited.type === "Deposited");
 * ```
 *
 * @module
 */

/** The name of the stream that holds every event of the store, in commit order. */
export const ALL_STREAM = "$all";

/**
 * What an append expects of its stream (checked and written in one transaction):
 *
 * - `"any"`: no check;
 * - `"no_stream"`: the stream has no events yet (same as `0`);
 * - `"stream_exists"`: the stream has at least one event;
 * - a number `n`: the stream's last event has version `n`.
 */
export type ExpectedVersion = "any" | "no_stream" | "stream_exists" | number;

/** A JSON value: what event data, metadata and snapshots may hold. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** An event to append. */
export interface EventData<T = unknown> {
  /** The event's type (`"Deposited"`). */
  type: string;
  /** The payload: plain JSON (objects, arrays, strings, finite numbers, booleans, null). */
  data: T;
  /** Free-form JSON metadata. */
  metadata?: Record<string, unknown>;
  /** A unique id (a UUID is made when absent); appending the same id twice is refused. */
  id?: string;
  /** The id of the message (command or event) that caused this one. */
  causationId?: string;
  /** The id shared by every message of one conversation. */
  correlationId?: string;
}

/** An event as stored, read back from a stream or from `$all`. */
export interface RecordedEvent<T = unknown> {
  /** The event's unique id. */
  id: string;
  /** The stream it belongs to. */
  stream: string;
  /** Its version in its stream (1, 2, ...). */
  streamVersion: number;
  /** Its position in `$all` (1, 2, ..., no gaps, in commit order). */
  globalPosition: number;
  /** The event's type. */
  type: string;
  /** The payload. */
  data: T;
  /** The metadata (an empty object when none was given). */
  metadata: Record<string, unknown>;
  /** The causing message's id, if given. */
  causationId: string | undefined;
  /** The conversation's id, if given. */
  correlationId: string | undefined;
  /** When the event was stored. */
  createdAt: Date;
}

/** What an append returns. */
export interface AppendResult {
  /** The stream's version after the append (its last event's version). */
  streamVersion: number;
  /** The `$all` position of the last event appended. */
  globalPosition: number;
}

/** Options of {@linkcode EventStore.append}. */
export interface AppendOptions {
  /** What the stream must look like. Default `"any"`. */
  expectedVersion?: ExpectedVersion;
}

/** Options of a read. */
export interface StreamReadOptions {
  /**
   * Where to start, inclusive: a stream version (or an `$all` position).
   * Default: the first event reading forward, the last reading backward.
   */
  from?: number;
  /** Default `"forward"`. */
  direction?: "forward" | "backward";
  /** At most this many events. Default: all of them. */
  limit?: number;
}

/** Options of {@linkcode EventStore.deleteStream}. */
export interface DeleteOptions {
  /** What the stream must look like. Default `"any"`. */
  expectedVersion?: ExpectedVersion;
  /**
   * `false` (default): a soft delete, the stream is closed (reads and appends
   * are refused with `StreamDeletedError`) and its events stay in `$all`.
   * `true`: its events are removed, from `$all` too.
   */
  hard?: boolean;
}

/** A saved aggregate state. */
export interface Snapshot<S = unknown> {
  /** The stream version the state includes. */
  version: number;
  /** The state (JSON). */
  state: S;
  /** When it was taken. */
  createdAt: Date;
}

/** The latest snapshot of each stream. */
export interface SnapshotStore {
  /** Saves the state of `stream` at `version` (replacing an older one). */
  save<S>(stream: string, version: number, state: S): Promise<void>;
  /** The latest snapshot of `stream`, if any. */
  load<S>(stream: string): Promise<Snapshot<S> | undefined>;
  /** Forgets the snapshot of `stream`. */
  delete(stream: string): Promise<void>;
}

/** The `$all` positions that named subscribers have handled. */
export interface CheckpointStore {
  /** The last position `name` has handled (0 when none). */
  load(name: string): Promise<number>;
  /** Records that `name` has handled everything up to `position`. */
  save(name: string, position: number): Promise<void>;
}
