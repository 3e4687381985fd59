/**
 * Process managers (sagas), as commanded's: long-running business
 * processes that react to events from several aggregates by dispatching
 * commands, each instance with its own state.
 *
 * ```
 * ProcessManagerRunner.start(store, router, pm)   a persistent subscription "pm:<name>"
 *   each event e of $all:
 *     id = pm.interested(e)               undefined: not for this process manager
 *     state = saved state of <name>/<id>  (the snapshot store, key "$pm:<name>:<id>")
 *     e already in state (its position <= the state's)? skip   (a batch handed over again)
 *     commands = pm.handle(state, e) -> router.dispatch each (causation: e.id, correlation kept)
 *     state = pm.apply(state, e); saved with e's position; pm.done(state)? its state is deleted
 * ```
 *
 * Delivery is at-least-once: a process manager stopped after dispatching
 * and before saving its state dispatches those commands again when it
 * restarts, so commands it sends should be idempotent (or refused by their
 * aggregate's rules). A dispatch that fails stops the batch: it is tried
 * again, then the runner fails (`status: "failed"`).
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { CommandRouter } from "./router.ts";
 * import { ProcessManagerRunner } from "./process_manager.ts";
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * const store = SqliteEventStore.open(":memory:");
 * const runtime = new Runtime();
 * const router = new CommandRouter({ store, runtime }).register({
 *   name: "Mail", initial: () => ({}), apply: (s: object) => s,
 *   execute: (_s: object, c: { type: "Send"; to: string }) => ({ type: "Sent", to: c.to }),
 * }, { commands: ["Send"], identity: "to" });
 * const pm = ProcessManagerRunner.start(store, router, {
 *   name: "welcome",
 *   interested: (e) => (e.type === "SignedUp" ? (e.data as { user: string }).user : undefined),
 *   initial: () => ({ welcomed: false }),
 *   handle: (_s, e) => ({ type: "Send", to: (e.data as { user: string }).user }),
 *   apply: () => ({ welcomed: true }),
 * });
 * const { globalPosition } = await store.append("user-ann", [{ type: "SignedUp", data: { user: "ann" } }]);
 * await pm.reached(globalPosition);
 * console.assert((await store.read("Mail-ann")).length === 1);
 * await pm.stop();
 * await router.stop();
 * await runtime.shutdown();
 * await store.close();
 * ```
 *
 * @module
 */

import type { Command } from "./aggregate.ts";
import type { EventStore } from "./event_store.ts";
import type { CommandRouter } from "./router.ts";
import { Subscription, type SubscriptionStatus } from "./subscription.ts";
import type { RecordedEvent } from "./types.ts";
import type { Upcasters } from "./upcaster.ts";

/** A process manager type. `S` is one instance's state (JSON). */
export interface ProcessManager<S> {
  /** Its name (the subscription is `pm:<name>`). */
  readonly name: string;
  /** The instance an event belongs to, or `undefined` when the event is not for this manager. */
  interested(event: RecordedEvent): string | undefined;
  /** A new instance's state. */
  initial(): S;
  /** The commands to dispatch for an event. */
  handle(state: S, event: RecordedEvent): Command | readonly Command[] | void | undefined;
  /** The instance's state after the event. */
  apply(state: S, event: RecordedEvent): S;
  /** Whether the instance is finished (its state is then deleted). */
  done?(state: S): boolean;
}

/** Options of {@linkcode ProcessManagerRunner.start}. */
export interface ProcessManagerOptions {
  /** Tries of a failing event before the runner fails. Default 5. */
  maxRetries?: number;
  /** Milliseconds between two looks at the store while live. Default 250. */
  pollInterval?: number;
  /** Upgrades old events. */
  upcasters?: Upcasters;
}

interface Saved<S> {
  position: number;
  state: S;
}

/**
 * Runs a process manager (see the module doc).
 */
export class ProcessManagerRunner<S> {
  /** The process manager. */
  readonly manager: ProcessManager<S>;
  #sub: Subscription;

  private constructor(
    // deno-lint-ignore no-explicit-any
    store: EventStore<any>,
    router: CommandRouter,
    pm: ProcessManager<S>,
    options: ProcessManagerOptions,
  ) {
    this.manager = pm;
    const key = (id: string) => `$pm:${pm.name}:${id}`;
    this.#sub = Subscription.start(store, async (events) => {
      for (const e of events) {
        const id = pm.interested(e);
        if (id === undefined) continue;
        if (typeof id !== "string" || id === "") {
          throw new TypeError(
            `Process manager ${pm.name}: interested() must return a non-empty string id`,
          );
        }
        const snap = await store.snapshots.load<Saved<S>>(key(id));
        if (snap !== undefined && snap.state.position >= e.globalPosition) continue;
        const state = snap?.state.state ?? pm.initial();
        const out = pm.handle(state, e);
        const commands = out == null ? [] : Array.isArray(out) ? out : [out as Command];
        for (const command of commands) {
          await router.dispatch(command, {
            causationId: e.id,
            correlationId: e.correlationId ?? e.id,
          });
        }
        const next = pm.apply(state, e);
        if (pm.done?.(next)) await store.snapshots.delete(key(id));
        else {
          await store.snapshots.save(key(id), e.globalPosition, {
            position: e.globalPosition,
            state: next,
          });
        }
      }
    }, {
      name: `pm:${pm.name}`,
      batchSize: 1,
      ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
      ...(options.pollInterval !== undefined ? { pollInterval: options.pollInterval } : {}),
      ...(options.upcasters !== undefined ? { upcasters: options.upcasters } : {}),
    });
  }

  /**
   * Starts a process manager from its checkpoint.
   *
   * @param store the event store
   * @param router where its commands go
   * @param pm the process manager
   * @param options retries, polling, upcasters
   * @returns the running process manager
   * @throws {TypeError} when the process manager is malformed
   */
  static start<S>(
    // deno-lint-ignore no-explicit-any
    store: EventStore<any>,
    router: CommandRouter,
    pm: ProcessManager<S>,
    options: ProcessManagerOptions = {},
  ): ProcessManagerRunner<S> {
    if (pm === null || typeof pm !== "object" || typeof pm.name !== "string" || pm.name === "") {
      throw new TypeError("Cannot start process manager: name must be a non-empty string");
    }
    for (const f of ["interested", "initial", "handle", "apply"] as const) {
      if (typeof pm[f] !== "function") {
        throw new TypeError(`Cannot start process manager ${pm.name}: ${f} must be a function`);
      }
    }
    return new ProcessManagerRunner(store, router, pm, options);
  }

  /** `catching_up`, `live`, `stopped` or `failed`. */
  get status(): SubscriptionStatus {
    return this.#sub.status;
  }

  /** Why it failed, when it did. */
  get error(): unknown {
    return this.#sub.error;
  }

  /** Waits until it has handled `position`. */
  reached(position: number, timeout?: number): Promise<void> {
    return this.#sub.reached(position, timeout);
  }

  /** Stops after the event in hand. */
  stop(): Promise<void> {
    return this.#sub.stop();
  }
}
