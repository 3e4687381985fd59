/**
 * Subscriptions to `$all`: catch up from a position, then follow live.
 *
 * ```
 * start(from = p)
 *   loop: page = readAll(from: p + 1, limit: batchSize)
 *         page empty -> caught up; wait for a wake-up:
 *                       the store's onAppend (this process's appends; PostgreSQL: LISTEN/NOTIFY
 *                       from every process) or the poll timer (another process's SQLite appends)
 *         else       -> handler(batch) in order; p = last position handled
 * persistent (named): p = checkpoints.load(name) at start; checkpoints.save(name, p) after each
 *                     batch: delivery is at-least-once (a crash between handling and saving
 *                     hands the batch over again at the next start)
 * ```
 *
 * Failure: a handler that throws is retried after a backoff, up to
 * `maxRetries` times; then the subscription stops with `status: "failed"`
 * and its `error`, the checkpoint at the last batch that succeeded. A
 * database that cannot be reached is retried the same way.
 *
 * In a cluster, `EventSourcing.subscribe` (see `event_sourcing.ts`) keeps
 * one named subscription running on exactly one node.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * import { Subscription } from "./subscription.ts";
 * const store = SqliteEventStore.open(":memory:");
 * await store.append("a", [{ type: "Old", data: 1 }]);
 * const seen: string[] = [];
 * const sub = Subscription.start(store, (events) => { for (const e of events) seen.push(e.type); });
 * await sub.caughtUp;
 * await store.append("a", [{ type: "New", data: 2 }]);
 * await sub.reached(2);
 * console.assert(seen.join() === "Old,New");
 * await sub.stop();
 * await store.close();
 * ```
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import type { EventStore } from "./event_store.ts";
import type { RecordedEvent } from "./types.ts";
import type { Upcasters } from "./upcaster.ts";

/** Handles one batch of events, in `$all` order. */
export type BatchHandler = (events: RecordedEvent[]) => void | Promise<void>;

/** Options of {@linkcode Subscription.start}. */
export interface SubscriptionOptions {
  /** Start after this `$all` position (0: from the first event). Default 0, or the checkpoint. */
  from?: number;
  /** A persistent subscription's name: its checkpoint is loaded at start and saved after each batch. */
  name?: string;
  /** Most events per batch. Default 100. */
  batchSize?: number;
  /** Milliseconds between two looks at the store while live (for other processes' appends). Default 250. */
  pollInterval?: number;
  /** Tries of a batch whose handler throws, before the subscription fails. Default 5. */
  maxRetries?: number;
  /** Milliseconds before the first retry, doubled each time. Default 50. */
  retryDelay?: number;
  /** Upgrades old events before the handler sees them. */
  upcasters?: Upcasters;
  /**
   * Handles a batch and saves the checkpoint itself (projections commit both in one
   * transaction); when given, the subscription does not save checkpoints.
   */
  commit?: (events: RecordedEvent[], last: number) => Promise<void>;
}

/** Where a subscription stands. */
export type SubscriptionStatus = "catching_up" | "live" | "stopped" | "failed";

/**
 * A running subscription (see the module doc).
 */
export class Subscription {
  /** The persistent name, if any. */
  readonly name: string | undefined;
  #store: EventStore<unknown>;
  #handler: BatchHandler;
  #options: SubscriptionOptions;
  #position = 0;
  #status: SubscriptionStatus = "catching_up";
  #error: unknown;
  #stopping = false;
  #wake: (() => void) | undefined;
  /** An append was seen since the last read: do not sleep. */
  #dirty = false;
  #offAppend: () => void;
  #loop: Promise<void>;
  #caughtUp!: Promise<void>;
  #resolveCaughtUp!: () => void;
  #progress = new Set<() => void>();

  private constructor(
    store: EventStore<unknown>,
    handler: BatchHandler,
    options: SubscriptionOptions,
  ) {
    this.name = options.name;
    this.#store = store;
    this.#handler = handler;
    this.#options = options;
    this.#caughtUp = new Promise((r) => (this.#resolveCaughtUp = r));
    this.#offAppend = store.onAppend(() => {
      this.#dirty = true;
      this.#wake?.();
    });
    this.#loop = this.#run();
  }

  /**
   * Starts a subscription to `$all`.
   *
   * @param store the event store
   * @param handler called with each batch, in order
   * @param options where to start, the name of a persistent one, batch size, retries
   * @returns the running subscription
   * @throws {TypeError} when `handler` is not a function or an option is malformed
   */
  static start(
    // deno-lint-ignore no-explicit-any
    store: EventStore<any>,
    handler: BatchHandler,
    options: SubscriptionOptions = {},
  ): Subscription {
    if (typeof handler !== "function") {
      throw new TypeError("Cannot subscribe: handler must be a function");
    }
    if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
      throw new TypeError("Cannot subscribe: name must be a non-empty string");
    }
    for (const key of ["from", "batchSize", "pollInterval", "maxRetries", "retryDelay"] as const) {
      const v = options[key];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
        throw new TypeError(`Cannot subscribe: ${key} must be an integer >= 0`);
      }
    }
    return new Subscription(store, handler, options);
  }

  /** The last `$all` position handled. */
  get position(): number {
    return this.#position;
  }

  /** `catching_up`, `live`, `stopped` or `failed`. */
  get status(): SubscriptionStatus {
    return this.#status;
  }

  /** Why the subscription failed, when it did. */
  get error(): unknown {
    return this.#error;
  }

  /** Resolves once the subscription has handled every event there was when it started. */
  get caughtUp(): Promise<void> {
    return this.#caughtUp;
  }

  /** Resolves when the subscription stops (rejects with its error when it fails). */
  get done(): Promise<void> {
    return this.#loop.then(() => {
      if (this.#status === "failed") throw this.#error;
    });
  }

  /**
   * Waits until the subscription has handled `position`.
   *
   * @param position an `$all` position
   * @param timeout milliseconds; default 30000
   * @throws {TimeoutError} when it has not in time
   * @throws the subscription's error, when it failed
   */
  async reached(position: number, timeout = 30_000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (this.#position < position) {
      if (this.#status === "failed") throw this.#error;
      if (this.#status === "stopped") {
        throw new TypeError(`Subscription stopped at ${this.#position}, before ${position}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TimeoutError(
          `Subscription ${
            this.name ?? ""
          } did not reach ${position} within ${timeout} ms (at ${this.#position})`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 50));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#progress.add(done);
      });
    }
  }

  /** Stops the subscription after the batch in hand (its checkpoint saved). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const o = this.#options;
    const batchSize = o.batchSize ?? 100;
    try {
      this.#position = o.from ??
        (o.name !== undefined
          ? await this.#attempt(() => this.#store.checkpoints.load(o.name!))
          : 0);
      while (!this.#stopping) {
        this.#dirty = false;
        const page = await this.#attempt(() =>
          this.#store.readAll({ from: this.#position + 1, limit: batchSize })
        );
        if (this.#stopping) break;
        if (page.length === 0) {
          if (this.#status === "catching_up") {
            this.#status = "live";
            this.#resolveCaughtUp();
          }
          if (!this.#dirty) await this.#sleep(o.pollInterval ?? 250);
          continue;
        }
        const events = o.upcasters ? page.map((e) => o.upcasters!.upcast(e)) : page;
        const last = page[page.length - 1]!.globalPosition;
        await this.#attempt(async () => {
          if (o.commit !== undefined) {
            await o.commit(events, last);
          } else {
            await this.#handler(events);
            if (o.name !== undefined) await this.#store.checkpoints.save(o.name, last);
          }
        });
        this.#position = last;
        for (const f of this.#progress) f();
        this.#progress.clear();
      }
      this.#status = "stopped";
    } catch (e) {
      this.#status = "failed";
      this.#error = e;
    } finally {
      this.#offAppend();
      this.#resolveCaughtUp();
      for (const f of this.#progress) f();
      this.#progress.clear();
    }
  }

  async #attempt<T>(fn: () => Promise<T>): Promise<T> {
    const max = this.#options.maxRetries ?? 5;
    let delay = this.#options.retryDelay ?? 50;
    for (let attempt = 1;; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt > max || this.#stopping) throw e;
        await this.#sleep(delay);
        delay = Math.min(5000, delay * 2);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      this.#wake = wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).then(() => {
      this.#wake = undefined;
    });
  }
}
