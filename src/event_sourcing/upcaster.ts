/**
 * Event upcasting: old events are rewritten into their current shape as
 * they are read, so that aggregates, projections and process managers only
 * know the latest schema. Stored events are never changed.
 *
 * ```
 * stored {type: "Deposited.v1", data: {cents: 1000}}
 *   -> upcaster "Deposited.v1": {type: "Deposited", data: {amount: 10}}
 *   -> no upcaster for "Deposited": handed over
 * ```
 *
 * An upcaster is chosen by the event's type and may change the type, so a
 * chain v1 -> v2 -> v3 is three upcasters; a chain longer than 32 steps
 * (a loop) is an error.
 *
 * @example
 * ```ts
 * import { Upcasters } from "./upcaster.ts";
 * const up = new Upcasters().register("Deposited.v1", (e) => ({
 *   type: "Deposited",
 *   data: { amount: (e.data as { cents: number }).cents / 100 },
 * }));
 * const e = up.upcast({
 *   id: "1", stream: "a", streamVersion: 1, globalPosition: 1, type: "Deposited.v1",
 *   data: { cents: 1000 }, metadata: {}, causationId: undefined, correlationId: undefined,
 *   createdAt: new Date(0),
 * });
 * console.assert(e.type === "Deposited" && (e.data as { amount: number }).amount === 10);
 * ```
 *
 * @module
 */

import type { RecordedEvent } from "./types.ts";

/** Turns an event of an old type into the next shape: a new type and data (and metadata). */
export type Upcaster = (
  event: RecordedEvent,
) => { type: string; data: unknown; metadata?: Record<string, unknown> };

const MAX_STEPS = 32;

/**
 * The upcasters of an application, by the type they upgrade.
 *
 * @example
 * ```ts
 * import { Upcasters } from "./upcaster.ts";
 * const up = new Upcasters().register("A", (e) => ({ type: "B", data: e.data }));
 * console.assert(up.has("A") && !up.has("B"));
 * ```
 */
export class Upcasters {
  #byType = new Map<string, Upcaster>();

  /**
   * Registers the upcaster of `type`.
   *
   * @param type the old event type
   * @param upcaster the function giving the next shape
   * @returns this, to chain registrations
   * @throws {TypeError} when `type` already has one, or the arguments are malformed
   */
  register(type: string, upcaster: Upcaster): this {
    if (typeof type !== "string" || type === "") {
      throw new TypeError("Cannot register an upcaster: type must be a non-empty string");
    }
    if (typeof upcaster !== "function") {
      throw new TypeError(`Cannot register an upcaster for ${type}: expected a function`);
    }
    if (this.#byType.has(type)) {
      throw new TypeError(`Cannot register an upcaster for ${type}: it has one already`);
    }
    this.#byType.set(type, upcaster);
    return this;
  }

  /** Whether `type` has an upcaster. */
  has(type: string): boolean {
    return this.#byType.has(type);
  }

  /**
   * The event in its current shape (the same object when no upcaster applies).
   *
   * @throws {RangeError} when the upcasters loop
   */
  upcast(event: RecordedEvent): RecordedEvent {
    let e = event;
    for (let step = 0; step < MAX_STEPS; step++) {
      const up = this.#byType.get(e.type);
      if (up === undefined) return e;
      const next = up(e);
      e = { ...e, type: next.type, data: next.data, metadata: next.metadata ?? e.metadata };
    }
    throw new RangeError(
      `Cannot upcast event ${event.id}: more than ${MAX_STEPS} steps from ${event.type}`,
    );
  }
}
