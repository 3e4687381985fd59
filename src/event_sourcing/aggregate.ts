/**
 * Aggregates, as Elixir's `commanded`: a consistency boundary whose state
 * is the fold of its own stream. `execute(state, command)` decides, and
 * returns the events (or an error: nothing is written); `apply(state,
 * event)` evolves the state, and must be pure.
 *
 * ```
 * AggregateInstance("BankAccount", "a1")      stream "BankAccount-a1"
 *   load:    snapshot (version v, state) if any; then apply events v+1.. (upcasted)
 *   execute: events = execute(state, command)
 *            append(stream, events, expectedVersion: version)
 *              ok       -> state = fold(apply, state, events); version += n;
 *                          every `snapshotEvery` versions: snapshots.save(stream, version, state)
 *              conflict -> another writer got there first: catch up, execute again
 *                          (at most `retries` times; then the WrongExpectedVersionError)
 * ```
 *
 * Domain events are plain objects with a `type`: `{ type: "Deposited",
 * amount: 10 }` is stored as type `"Deposited"` with data `{ amount: 10 }`.
 *
 * @example
 * ```ts
 * import { type Aggregate, AggregateInstance } from "./aggregate.ts";
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * type Counter = { n: number };
 * const counter: Aggregate<Counter, { type: "Add"; by: number }, { type: "Added"; by: number }> = {
 *   name: "Counter",
 *   initial: () => ({ n: 0 }),
 *   execute: (_s, c) => ({ type: "Added", by: c.by }),
 *   apply: (s, e) => ({ n: s.n + e.by }),
 * };
 * const store = SqliteEventStore.open(":memory:");
 * const c = new AggregateInstance(store, counter, "c1");
 * await c.execute({ type: "Add", by: 2 });
 * await c.execute({ type: "Add", by: 3 });
 * console.assert(c.state.n === 5 && c.version === 2);
 * await store.close();
 * ```
 *
 * @module
 */

import { CommandRejectedError, WrongExpectedVersionError } from "../errors.ts";
import type { EventStore } from "./event_store.ts";
import type { RecordedEvent } from "./types.ts";
import type { Upcasters } from "./upcaster.ts";
import { logger } from "../log.ts";

const log = logger("event_sourcing");

/** A command: a plain object with a `type`. */
export interface Command {
  /** The command's type (`"Deposit"`). */
  readonly type: string;
}

/** A domain event: a plain object with a `type`. */
export interface DomainEvent {
  /** The event's type (`"Deposited"`). */
  readonly type: string;
}

/** What `execute` may return: events, one event, nothing, or an error (the command is refused). */
export type ExecuteResult<E> = E | readonly E[] | Error | null | undefined | void;

/** An aggregate type. */
export interface Aggregate<S, C extends Command = Command, E extends DomainEvent = DomainEvent> {
  /** Its name, the prefix of its streams (`BankAccount` -> `BankAccount-<id>`). */
  readonly name: string;
  /** The state before any event. */
  initial(): S;
  /** Decides: the events a command causes in `state`, or an error. May be async. */
  execute(state: S, command: C): ExecuteResult<E> | Promise<ExecuteResult<E>>;
  /** Evolves: the state after `event`. Pure. */
  apply(state: S, event: E): S;
  /** Save a snapshot every this many events (default: never). */
  readonly snapshotEvery?: number;
}

/** Ids and metadata given to the events a command causes. */
export interface CommandMeta {
  /** The command's id: the causation id of its events. */
  causationId?: string;
  /** The conversation's id. */
  correlationId?: string;
  /** Metadata added to every event. */
  metadata?: Record<string, unknown>;
}

/** What executing a command did. */
export interface ExecutionResult {
  /** The aggregate's stream. */
  stream: string;
  /** The aggregate's version afterwards. */
  version: number;
  /** The `$all` position of the last event written (0 when none was). */
  position: number;
  /** How many events were written. */
  events: number;
}

/** Options of an {@linkcode AggregateInstance}. */
export interface AggregateInstanceOptions {
  /** Upgrades old events as they are loaded. */
  upcasters?: Upcasters;
  /** Executions tried again after a concurrency conflict. Default 10. */
  retries?: number;
}

/** The stream of aggregate `name`'s instance `id`. */
export function streamOf(name: string, id: string): string {
  return `${name}-${id}`;
}

/** The domain event of a stored event: `{ type, ...data }`. */
export function domainEventOf<E extends DomainEvent>(e: RecordedEvent): E {
  const data = e.data;
  return (data !== null && typeof data === "object" && !Array.isArray(data)
    ? { ...data, type: e.type }
    : { type: e.type, value: data }) as unknown as E;
}

/**
 * One aggregate instance in memory, kept in step with its stream (see the module doc).
 */
export class AggregateInstance<S, C extends Command, E extends DomainEvent> {
  /** The aggregate type. */
  readonly aggregate: Aggregate<S, C, E>;
  /** The instance's id. */
  readonly id: string;
  /** Its stream. */
  readonly stream: string;
  #store: EventStore<unknown>;
  #options: AggregateInstanceOptions;
  #state: S;
  #version = 0;
  #loaded = false;

  /**
   * @param store the event store
   * @param aggregate the aggregate type
   * @param id the instance's id
   * @param options upcasters, conflict retries
   */
  constructor(
    // deno-lint-ignore no-explicit-any
    store: EventStore<any>,
    aggregate: Aggregate<S, C, E>,
    id: string,
    options: AggregateInstanceOptions = {},
  ) {
    checkAggregate(aggregate);
    if (typeof id !== "string" || id === "") {
      throw new TypeError(`Cannot open aggregate ${aggregate.name}: id must be a non-empty string`);
    }
    this.aggregate = aggregate;
    this.id = id;
    this.stream = streamOf(aggregate.name, id);
    this.#store = store;
    this.#options = options;
    this.#state = aggregate.initial();
  }

  /** The state, as of {@linkcode AggregateInstance.version}. */
  get state(): S {
    return this.#state;
  }

  /** The version of the last event applied (0: none). */
  get version(): number {
    return this.#version;
  }

  /** Loads the latest snapshot, then applies every later event of the stream. */
  async load(): Promise<void> {
    if (!this.#loaded) {
      const snap = await this.#store.snapshots.load<S>(this.stream);
      if (snap !== undefined) {
        this.#state = snap.state;
        this.#version = snap.version;
      }
      this.#loaded = true;
    }
    await this.#catchUp();
  }

  /**
   * Executes a command: decides, appends with the expected version, applies.
   *
   * @param command the command
   * @param meta causation and correlation ids, metadata for the events
   * @returns what was written
   * @throws {CommandRejectedError} when `execute` returned or threw an error
   * @throws {WrongExpectedVersionError} when conflicts outlasted the retries
   */
  async execute(command: C, meta: CommandMeta = {}): Promise<ExecutionResult> {
    if (!this.#loaded) await this.load();
    const retries = this.#options.retries ?? 10;
    for (let attempt = 0;; attempt++) {
      let decided: ExecuteResult<E>;
      try {
        decided = await this.aggregate.execute(this.#state, command);
      } catch (e) {
        throw new CommandRejectedError(command.type, this.stream, e);
      }
      if (decided instanceof Error) {
        throw new CommandRejectedError(command.type, this.stream, decided);
      }
      const events: E[] = decided == null
        ? []
        : Array.isArray(decided)
        ? [...decided as readonly E[]]
        : [decided as E];
      if (events.length === 0) {
        return { stream: this.stream, version: this.#version, position: 0, events: 0 };
      }
      const data = events.map((e) => {
        if (e === null || typeof e !== "object" || typeof e.type !== "string" || e.type === "") {
          throw new TypeError(
            `Cannot execute ${command.type} on ${this.stream}: execute must return events with a type`,
          );
        }
        const { type, ...rest } = e as unknown as Record<string, unknown>;
        return {
          type: type as string,
          data: rest,
          ...(meta.metadata !== undefined ? { metadata: meta.metadata } : {}),
          ...(meta.causationId !== undefined ? { causationId: meta.causationId } : {}),
          ...(meta.correlationId !== undefined ? { correlationId: meta.correlationId } : {}),
        };
      });
      try {
        const before = this.#version;
        const r = await this.#store.append(this.stream, data, { expectedVersion: before });
        let state = this.#state;
        try {
          for (const e of events) state = this.aggregate.apply(state, e);
        } catch (e) {
          // The events are stored: start again from the stream at the next command.
          this.#state = this.aggregate.initial();
          this.#version = 0;
          this.#loaded = false;
          throw e;
        }
        this.#state = state;
        this.#version = r.streamVersion;
        const every = this.aggregate.snapshotEvery;
        if (
          every !== undefined && Math.floor(r.streamVersion / every) > Math.floor(before / every)
        ) {
          // A snapshot is only a shortcut: failing to save one fails nothing.
          const version = r.streamVersion;
          await Promise.resolve().then(() =>
            this.#store.snapshots.save(this.stream, version, state)
          )
            .catch((e) =>
              log.warn("Cannot save snapshot of {stream}: {error}", {
                stream: this.stream,
                error: String(e),
              })
            );
        }
        return {
          stream: this.stream,
          version: r.streamVersion,
          position: r.globalPosition,
          events: events.length,
        };
      } catch (e) {
        if (!(e instanceof WrongExpectedVersionError) || attempt >= retries) throw e;
        await this.#catchUp();
      }
    }
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      const page = await this.#store.read(this.stream, { from: this.#version + 1, limit: 1000 });
      let state = this.#state;
      for (const r of page) {
        const e = this.#options.upcasters ? this.#options.upcasters.upcast(r) : r;
        state = this.aggregate.apply(state, domainEventOf<E>(e));
        this.#version = r.streamVersion;
      }
      this.#state = state;
      if (page.length < 1000) return;
    }
  }
}

/**
 * Checks an aggregate type.
 *
 * @throws {TypeError} when it lacks a name, `initial`, `execute` or `apply`
 */
export function checkAggregate(aggregate: unknown): asserts aggregate is Aggregate<unknown> {
  const a = aggregate as Partial<Aggregate<unknown>> | null;
  if (a === null || typeof a !== "object") {
    throw new TypeError(
      "Cannot use aggregate: expected an object with name, initial, execute and apply",
    );
  }
  if (typeof a.name !== "string" || !/^[A-Za-z0-9_.]+$/.test(a.name)) {
    throw new TypeError("Cannot use aggregate: name must be letters, digits, _ or .");
  }
  for (const f of ["initial", "execute", "apply"] as const) {
    if (typeof a[f] !== "function") {
      throw new TypeError(`Cannot use aggregate ${a.name}: ${f} must be a function`);
    }
  }
  if (
    a.snapshotEvery !== undefined && (!Number.isSafeInteger(a.snapshotEvery) || a.snapshotEvery < 1)
  ) {
    throw new TypeError(`Cannot use aggregate ${a.name}: snapshotEvery must be an integer >= 1`);
  }
}
