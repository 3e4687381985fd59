/**
 * A named subscription that runs on exactly one node of the cluster, and
 * moves to another when that node is lost: every node that wants it starts
 * a `SingletonSubscription`; the one that registers the global name runs
 * the subscription, the others stand by, each watching the holder.
 *
 * ```
 * node A, B, C: SingletonSubscription.start(node, store, "mailer", handler)
 *   each: global.register("es:subscription:mailer", its process)
 *     A wins -> A runs Subscription("mailer") from the shared checkpoint
 *     B, C   -> monitor A's process
 *   A is lost (nodedown) or stops: B and C get DOWN -> register again -> one wins,
 *     and resumes from the checkpoint A saved last (at-least-once: A's last batch
 *     may be handed over again)
 *   partition {A} | {B, C}: global frees A's name on B and C, so B or C takes over
 *     while A still runs: both sides run it until they meet again; then global keeps
 *     one registration and tells the other ({type: "global_name_conflict"}), which
 *     stops its subscription and stands by. Delivery stays at-least-once.
 * ```
 *
 * The checkpoint lives in the event store, which every node shares
 * (PostgreSQL, or one SQLite file on one machine).
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { SqliteEventStore } from "./sqlite_event_store.ts";
 * import { SingletonSubscription } from "./singleton_subscription.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const store = SqliteEventStore.open(":memory:");
 * const seen: string[] = [];
 * const mailer = SingletonSubscription.start(node, store, "mailer", (events) => {
 *   for (const e of events) seen.push(e.type);
 * });
 * await mailer.active;
 * const { globalPosition } = await store.append("user-1", [{ type: "SignedUp", data: {} }]);
 * await mailer.reached(globalPosition);
 * console.assert(seen[0] === "SignedUp");
 * await mailer.stop();
 * await node.stop();
 * await store.close();
 * ```
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import { globalNamesOf } from "../global/name_server.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ProcessContext } from "../process/types.ts";
import type { Pid } from "../term/pid.ts";
import type { EventStore } from "./event_store.ts";
import { type BatchHandler, Subscription, type SubscriptionOptions } from "./subscription.ts";

/** The global name a singleton subscription is registered under. */
export function singletonName(name: string): string {
  return `es:subscription:${name}`;
}

/**
 * A named subscription kept on one node of the cluster (see the module doc).
 */
export class SingletonSubscription {
  /** The subscription's name. */
  readonly name: string;
  #runtime: Runtime;
  #pid: Pid;
  #sub: Subscription | undefined;
  #stopping = false;
  #done: Promise<void>;
  #activeWaiters = new Set<() => void>();

  private constructor(
    node: { runtime: Runtime },
    // deno-lint-ignore no-explicit-any
    store: EventStore<any>,
    name: string,
    handler: BatchHandler,
    options: Omit<SubscriptionOptions, "name" | "from">,
  ) {
    this.name = name;
    this.#runtime = node.runtime;
    const global = globalNamesOf(node.runtime);
    let exited!: () => void;
    this.#done = new Promise((r) => (exited = r));
    this.#pid = node.runtime.spawn(async (ctx: ProcessContext) => {
      try {
        await this.#loop(ctx, global, store, handler, options);
      } finally {
        await this.#sub?.stop();
        this.#sub = undefined;
        exited();
      }
    }, { label: `es:subscription:${name}`, trapExit: true });
  }

  /**
   * Starts taking part in the singleton subscription `name` on this node.
   *
   * @param node the node (its runtime and global names)
   * @param store the shared event store
   * @param name the subscription's name (and its checkpoint's)
   * @param handler called with each batch, on the active node only
   * @param options batch size, polling, retries, upcasters
   * @returns the singleton handle
   * @throws {TypeError} when `name` is not a non-empty string
   * @throws {NotAliveError} when the node runs no global name server
   */
  static start(
    node: { runtime: Runtime },
    // deno-lint-ignore no-explicit-any
    store: EventStore<any>,
    name: string,
    handler: BatchHandler,
    options: Omit<SubscriptionOptions, "name" | "from"> = {},
  ): SingletonSubscription {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot start a singleton subscription: name must be a non-empty string");
    }
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot start singleton subscription ${name}: handler must be a function`,
      );
    }
    return new SingletonSubscription(node, store, name, handler, options);
  }

  /** Whether the subscription runs on this node now. */
  get isActive(): boolean {
    return this.#sub !== undefined;
  }

  /** Resolves once the subscription runs on this node. */
  get active(): Promise<void> {
    if (this.#sub !== undefined) return Promise.resolve();
    return new Promise((r) => this.#activeWaiters.add(r));
  }

  /** The process that holds (or waits for) the global name. */
  get pid(): Pid {
    return this.#pid;
  }

  /**
   * Waits until this node's subscription has handled `position`.
   *
   * @throws {TimeoutError} when it has not in time (or it is not active here)
   */
  async reached(position: number, timeout = 30_000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (this.#sub === undefined) {
      if (Date.now() >= deadline) {
        throw new TimeoutError(
          `Singleton subscription ${this.name} is not active on ${this.#runtime.node}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.#sub.reached(position, Math.max(0, deadline - Date.now()));
  }

  /** Stops it on this node (another node takes over) and leaves the singleton. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#runtime.send(this.#pid, { type: "es_singleton_stop" });
    await this.#done;
  }

  async #loop(
    ctx: ProcessContext,
    global: ReturnType<typeof globalNamesOf>,
    // deno-lint-ignore no-explicit-any
    store: EventStore<any>,
    handler: BatchHandler,
    options: Omit<SubscriptionOptions, "name" | "from">,
  ): Promise<void> {
    const gname = singletonName(this.name);
    const isStop = (m: unknown) => (m as { type?: unknown })?.type === "es_singleton_stop";
    while (!this.#stopping) {
      if (await global.register(gname, ctx.self)) {
        this.#sub = Subscription.start(store, handler, { ...options, name: this.name });
        for (const w of this.#activeWaiters) w();
        this.#activeWaiters.clear();
        // Sent by global when a partition heals and the other registration was kept.
        await ctx.receive((m) =>
          isStop(m) || (m as { type?: unknown })?.type === "global_name_conflict"
        );
        await this.#sub.stop();
        this.#sub = undefined;
        if (global.whereis(gname)?.equals(ctx.self)) await global.unregister(gname);
        continue;
      }
      const holder = global.whereis(gname);
      if (holder === undefined) {
        // Taken a moment ago and gone already, or not yet known here: ask again shortly.
        await ctx.receive(isStop, { timeout: 50 }).catch(() => {});
        continue;
      }
      const ref = ctx.monitor(holder);
      await ctx.receive((m) =>
        isStop(m) ||
        ((m as { type?: unknown; ref?: unknown })?.type === "DOWN" &&
          (m as { ref: { equals(o: unknown): boolean } }).ref.equals(ref))
      );
      ctx.demonitor(ref, { flush: true });
    }
  }
}
