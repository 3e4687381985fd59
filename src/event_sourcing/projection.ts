/**
 * Projections: read models built from `$all`, whose checkpoint commits in
 * the same transaction as the read model's writes. A batch either changes
 * both or neither, so a projection killed at any moment restarts where its
 * read model stands, and the result equals a rebuild from zero: an
 * exactly-once effect, on both adapters.
 *
 * ```
 * Projector.start(store, projection)
 *   p = checkpoint(name)
 *   each batch after p:  BEGIN; init(tx) once; handle(e, tx) for each e; checkpoint(name) = last; COMMIT
 *   handler throws:      ROLLBACK (read model and checkpoint unchanged); retried; then status "failed"
 * rebuild():            stop; BEGIN; reset(tx); checkpoint = 0; COMMIT; start again from 0
 * ```
 *
 * @example
 * ```ts
 * import { Projector } from "./projection.ts";
 * import { SqliteEventStore, type SqliteTx } from "./sqlite_event_store.ts";
 * const store = SqliteEventStore.open(":memory:");
 * const projector = Projector.start<SqliteTx>(store, {
 *   name: "counts",
 *   init: (tx) => tx.exec("CREATE TABLE IF NOT EXISTS counts (type TEXT PRIMARY KEY, n INTEGER)"),
 *   handle: (e, tx) => void tx.run("INSERT INTO counts VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1", e.type),
 *   reset: (tx) => tx.exec("DELETE FROM counts"),
 * });
 * const { globalPosition } = await store.append("a", [{ type: "A", data: {} }, { type: "A", data: {} }]);
 * await projector.reached(globalPosition);
 * console.assert(await store.checkpoints.load("counts") === 2);
 * await projector.stop();
 * await store.close();
 * ```
 *
 * @module
 */

import type { EventStore } from "./event_store.ts";
import { Subscription, type SubscriptionStatus } from "./subscription.ts";
import type { RecordedEvent } from "./types.ts";
import type { Upcasters } from "./upcaster.ts";

/** A read model kept from `$all`. `Tx` is the adapter's transaction handle. */
export interface Projection<Tx> {
  /** Its name: the checkpoint's name. */
  readonly name: string;
  /** Creates its tables (run in the first batch's transaction; must be idempotent). */
  init?(tx: Tx): void | Promise<void>;
  /** Applies one event to the read model. */
  handle(event: RecordedEvent, tx: Tx): void | Promise<void>;
  /** Empties the read model, for a rebuild. */
  reset?(tx: Tx): void | Promise<void>;
}

/** Options of {@linkcode Projector.start}. */
export interface ProjectorOptions {
  /** Most events per transaction. Default 100. */
  batchSize?: number;
  /** Tries of a failing batch before the projector fails. Default 5. */
  maxRetries?: number;
  /** Milliseconds between two looks at the store while live. Default 250. */
  pollInterval?: number;
  /** Upgrades old events before `handle` sees them. */
  upcasters?: Upcasters;
}

/**
 * Runs a projection (see the module doc).
 */
export class Projector<Tx> {
  /** The projection. */
  readonly projection: Projection<Tx>;
  #store: EventStore<Tx>;
  #options: ProjectorOptions;
  #sub: Subscription;
  #initialised = false;

  private constructor(
    store: EventStore<Tx>,
    projection: Projection<Tx>,
    options: ProjectorOptions,
  ) {
    this.projection = projection;
    this.#store = store;
    this.#options = options;
    this.#sub = this.#subscribe();
  }

  /**
   * Starts a projection from its checkpoint.
   *
   * @param store the event store (the read model lives in its database)
   * @param projection the projection
   * @param options batch size, retries, upcasters
   * @returns the running projector
   * @throws {TypeError} when the projection lacks a name or `handle`
   */
  static start<Tx>(
    store: EventStore<Tx>,
    projection: Projection<Tx>,
    options: ProjectorOptions = {},
  ): Projector<Tx> {
    if (projection === null || typeof projection !== "object") {
      throw new TypeError("Cannot start projection: expected an object with name and handle");
    }
    if (typeof projection.name !== "string" || projection.name === "") {
      throw new TypeError("Cannot start projection: name must be a non-empty string");
    }
    if (typeof projection.handle !== "function") {
      throw new TypeError(`Cannot start projection ${projection.name}: handle must be a function`);
    }
    return new Projector(store, projection, options);
  }

  /** The last position in the read model. */
  get position(): number {
    return this.#sub.position;
  }

  /** `catching_up`, `live`, `stopped` or `failed`. */
  get status(): SubscriptionStatus {
    return this.#sub.status;
  }

  /** Why it failed, when it did. */
  get error(): unknown {
    return this.#sub.error;
  }

  /** Resolves once it has caught up with the store as it was at start. */
  get caughtUp(): Promise<void> {
    return this.#sub.caughtUp;
  }

  /** Waits until the read model includes `position` (see `Subscription.reached`). */
  reached(position: number, timeout?: number): Promise<void> {
    return this.#sub.reached(position, timeout);
  }

  /** Stops after the batch in hand. */
  stop(): Promise<void> {
    return this.#sub.stop();
  }

  /** Empties the read model and builds it again from the first event. */
  async rebuild(): Promise<void> {
    await this.#sub.stop();
    const p = this.projection;
    await this.#store.withCheckpoint(p.name, 0, async (tx) => {
      if (p.init) await p.init(tx);
      if (p.reset) await p.reset(tx);
    });
    this.#initialised = true;
    this.#sub = this.#subscribe();
  }

  #subscribe(): Subscription {
    const p = this.projection;
    const o = this.#options;
    return Subscription.start(this.#store, () => {}, {
      name: p.name,
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
      ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
      ...(o.pollInterval !== undefined ? { pollInterval: o.pollInterval } : {}),
      ...(o.upcasters !== undefined ? { upcasters: o.upcasters } : {}),
      commit: (events, last) =>
        this.#store.withCheckpoint(p.name, last, async (tx) => {
          if (!this.#initialised && p.init) await p.init(tx);
          for (const e of events) await p.handle(e, tx);
        }).then(() => {
          this.#initialised = true;
        }),
    });
  }
}
