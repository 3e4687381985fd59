/**
 * Telemetry events, as Erlang's `telemetry` library: a layer announces that
 * something happened (`execute(event, measurements, metadata)`), and the
 * handlers attached to that event name are called with it, synchronously,
 * in the order they were attached. Metrics, the observer and a user's own
 * logging all hang off these events; the layers that emit them know none of
 * their consumers.
 *
 * ```
 * layer (kernel, rpc, gen_server...)                 handlers
 *   ev = telemetry.event(["weft","rpc","call","stop"])
 *   if (ev.attached) ev.emit({duration}, {node})  -->  handler(name, measurements, metadata, config)
 * ```
 *
 * Cost. Each event name has one {@linkcode TelemetryEvent} handle per
 * Telemetry, made once by the emitting layer; its `attached` flag is the one
 * branch an emit point pays while nobody listens, and the measurements
 * object is only built behind it. `execute` by name is the convenient form
 * for rare events (one map lookup).
 *
 * Failure. A handler that throws is detached (as `telemetry` does) and the
 * failure is logged once; the emitter and the other handlers go on.
 *
 * @example
 * ```ts
 * import { Telemetry } from "./telemetry.ts";
 * const t = new Telemetry();
 * const seen: number[] = [];
 * t.attach("log-calls", ["app", "call"], (_name, m) => seen.push(m.duration!));
 * t.execute(["app", "call"], { duration: 12 }, { who: "me" });
 * console.assert(seen[0] === 12);
 * ```
 *
 * @module
 */

import { logger } from "../log.ts";

const log = logger("telemetry");

/** An event name: a path of words, most general first (`["weft", "node", "up"]`). */
export type EventName = readonly string[];

/** The numbers of one event (`duration` in milliseconds, `count`, `bytes`...). */
export type Measurements = Readonly<Record<string, number>>;

/** What one event is about (`node`, `pid`, `reason`...). */
export type Metadata = Readonly<Record<string, unknown>>;

/**
 * Called with every event it is attached to.
 *
 * @param event the event's name
 * @param measurements its numbers
 * @param metadata what it is about
 * @param config what was given to `attach`
 */
export type TelemetryHandler = (
  event: EventName,
  measurements: Measurements,
  metadata: Metadata,
  config: unknown,
) => void;

/** One attached handler, as {@linkcode Telemetry.list} shows it. */
export interface AttachedHandler {
  /** The id it was attached under. */
  readonly id: string;
  /** The events it receives. */
  readonly events: readonly EventName[];
  /** The handler. */
  readonly handler: TelemetryHandler;
  /** Its `config`. */
  readonly config: unknown;
}

function keyOf(name: EventName, what: string): string {
  if (!Array.isArray(name) || name.length === 0) {
    throw new TypeError(`Cannot ${what}: an event name is a non-empty array of strings`);
  }
  for (const part of name) {
    if (typeof part !== "string" || part === "") {
      throw new TypeError(
        `Cannot ${what}: an event name is a non-empty array of strings, received ${
          JSON.stringify(name)
        }`,
      );
    }
  }
  return name.join(".");
}

/**
 * The handle of one event name in one {@linkcode Telemetry}: what an emit
 * point holds, so that nobody listening costs it one branch.
 *
 * @example
 * ```ts
 * import { Telemetry } from "./telemetry.ts";
 * const t = new Telemetry();
 * const up = t.event(["weft", "node", "up"]);
 * console.assert(!up.attached);
 * t.attach("h", ["weft", "node", "up"], () => {});
 * console.assert(up.attached);
 * if (up.attached) up.emit({ count: 1 }, { node: "b@h" });
 * ```
 */
export class TelemetryEvent {
  /** The event's name. */
  readonly name: EventName;
  /** Whether any handler is attached: test it before building the measurements. */
  attached = false;
  /** The handlers, in attach order (replaced, never mutated, so an emit may detach). */
  handlers: readonly AttachedHandler[] = [];
  #owner: Telemetry;

  /** @internal made by {@linkcode Telemetry.event} */
  constructor(name: EventName, owner: Telemetry) {
    this.name = name;
    this.#owner = owner;
  }

  /**
   * Calls every attached handler with this event.
   *
   * @param measurements the event's numbers
   * @param metadata what it is about
   */
  emit(measurements: Measurements, metadata: Metadata = {}): void {
    for (const h of this.handlers) {
      try {
        h.handler(this.name, measurements, metadata, h.config);
      } catch (err) {
        this.#owner.detach(h.id);
        log.error("Telemetry handler {id} failed on {event} and was detached: {err}", {
          id: h.id,
          event: this.name.join("."),
          err,
        });
      }
    }
  }
}

/**
 * A node's telemetry: event handles by name and the handlers attached to
 * them. Every node's runtime has one (`runtime.telemetry`, also
 * `node.telemetry`).
 *
 * @example
 * ```ts
 * import { Telemetry } from "./telemetry.ts";
 * const t = new Telemetry();
 * t.attach("a", [["x", "start"], ["x", "stop"]], (name) => console.log(name.join(".")));
 * t.execute(["x", "stop"], { duration: 1 }); // prints x.stop
 * console.assert(t.detach("a") && !t.detach("a"));
 * ```
 */
export class Telemetry {
  #events = new Map<string, TelemetryEvent>();
  #handlers = new Map<string, AttachedHandler>();

  /** How many handlers are attached, to any event. */
  get size(): number {
    return this.#handlers.size;
  }

  /**
   * The handle of an event name (made on first use, the same one after).
   *
   * @param name the event name
   * @returns its handle
   * @throws {TypeError} when the name is not a non-empty array of non-empty strings
   *
   * @example
   * ```ts
   * import { Telemetry } from "./telemetry.ts";
   * const t = new Telemetry();
   * console.assert(t.event(["a", "b"]) === t.event(["a", "b"]));
   * ```
   */
  event(name: EventName): TelemetryEvent {
    const key = keyOf(name, "make a telemetry event");
    let ev = this.#events.get(key);
    if (ev === undefined) {
      ev = new TelemetryEvent(Object.freeze([...name]), this);
      this.#events.set(key, ev);
      for (const h of this.#handlers.values()) {
        if (h.events.some((e) => e.join(".") === key)) ev.handlers = [...ev.handlers, h];
      }
      ev.attached = ev.handlers.length > 0;
    }
    return ev;
  }

  /**
   * Attaches `handler` to one event or several, under a unique `id`.
   *
   * @param id names the attachment, for {@linkcode Telemetry.detach}
   * @param events one event name, or an array of them
   * @param handler called with each event
   * @param config handed to the handler with every event
   * @throws {TypeError} when an argument is malformed
   * @throws {RangeError} when `id` is attached already
   *
   * @example
   * ```ts
   * import { Telemetry } from "./telemetry.ts";
   * const t = new Telemetry();
   * t.attach("h", ["a"], (_n, _m, _md, config) => console.assert(config === 7), 7);
   * t.execute(["a"], {});
   * ```
   */
  attach(
    id: string,
    events: EventName | readonly EventName[],
    handler: TelemetryHandler,
    config?: unknown,
  ): void {
    if (typeof id !== "string" || id === "") {
      throw new TypeError("Cannot attach a telemetry handler: id must be a non-empty string");
    }
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot attach telemetry handler "${id}": handler must be a function, received ${typeof handler}`,
      );
    }
    if (this.#handlers.has(id)) {
      throw new RangeError(`Cannot attach telemetry handler "${id}": that id is attached already`);
    }
    const list: EventName[] = Array.isArray(events) && Array.isArray(events[0])
      ? [...(events as readonly EventName[])]
      : [events as EventName];
    const keys = list.map((e) => keyOf(e, `attach telemetry handler "${id}"`));
    const attached: AttachedHandler = {
      id,
      events: list.map((e) => Object.freeze([...e])),
      handler,
      config,
    };
    this.#handlers.set(id, attached);
    for (const [i, name] of list.entries()) {
      if (keys.indexOf(keys[i]!) !== i) continue;
      const ev = this.event(name);
      if (!ev.handlers.includes(attached)) ev.handlers = [...ev.handlers, attached];
      ev.attached = true;
    }
  }

  /**
   * Detaches the handler attached under `id`.
   *
   * @param id the attachment
   * @returns whether it was attached
   */
  detach(id: string): boolean {
    const h = this.#handlers.get(id);
    if (h === undefined) return false;
    this.#handlers.delete(id);
    for (const name of h.events) {
      const ev = this.#events.get(name.join("."));
      if (ev === undefined) continue;
      ev.handlers = ev.handlers.filter((x) => x !== h);
      ev.attached = ev.handlers.length > 0;
    }
    return true;
  }

  /**
   * Emits an event by name: every handler attached to it is called.
   *
   * @param name the event name
   * @param measurements its numbers
   * @param metadata what it is about
   * @throws {TypeError} when the name is malformed
   */
  execute(name: EventName, measurements: Measurements, metadata: Metadata = {}): void {
    if (this.#handlers.size === 0) return;
    const ev = this.#events.get(keyOf(name, "execute a telemetry event"));
    if (ev !== undefined && ev.attached) ev.emit(measurements, metadata);
  }

  /**
   * The attached handlers, optionally only those of events starting with `prefix`.
   *
   * @param prefix the first words of the event names to list
   * @returns the attachments
   *
   * @example
   * ```ts
   * import { Telemetry } from "./telemetry.ts";
   * const t = new Telemetry();
   * t.attach("h", ["weft", "rpc", "stop"], () => {});
   * console.assert(t.list(["weft", "rpc"]).length === 1 && t.list(["x"]).length === 0);
   * ```
   */
  list(prefix: EventName = []): AttachedHandler[] {
    return [...this.#handlers.values()].filter((h) =>
      h.events.some((e) => prefix.every((p, i) => e[i] === p))
    );
  }
}
