/**
 * The contract between a discovery strategy and the topology that runs it,
 * as libcluster's `Cluster.Strategy`: a strategy finds nodes (by polling a
 * source on a schedule, or by listening for announcements) and reports its
 * whole current answer through {@linkcode StrategyContext.update}; the
 * topology (`topology.ts`) turns answers into connects, reconnects with
 * backoff, optional disconnects and membership events. A strategy never
 * connects anything itself.
 *
 * ```
 * topology.start()
 *   strategy.start(context)          poll now and every interval, or listen
 *     ... context.update(nodes)      the whole answer, each time there is one
 *   strategy.members()               the nodes it believes in, now
 * topology.stop()
 *   strategy.stop()                  no update after it resolves
 * ```
 *
 * Failure: a poll that fails (a DNS server that does not answer, a port
 * mapper that is down) keeps the previous answer; the failure is logged
 * once as a warning and again only when it changes.
 *
 * @example
 * ```ts
 * import { type DiscoveredNode, PollingStrategy, type StrategyContext } from "./strategy.ts";
 * class Fixed extends PollingStrategy {
 *   readonly kind = "fixed";
 *   constructor(readonly nodes: string[]) {
 *     super(1000);
 *   }
 *   protected discover(): Promise<DiscoveredNode[]> {
 *     return Promise.resolve(this.nodes.map((name) => ({ name })));
 *   }
 * }
 * const seen: string[][] = [];
 * const controller = new AbortController();
 * const context: StrategyContext = {
 *   self: "a@127.0.0.1", topology: "t", cookie: undefined, listenPort: 0,
 *   signal: controller.signal,
 *   update: (nodes) => seen.push(nodes.map((n) => n.name)),
 * };
 * const strategy = new Fixed(["b@127.0.0.1"]);
 * await strategy.start(context);
 * await strategy.pollNow();
 * console.assert(strategy.members()[0] === "b@127.0.0.1" && seen.length >= 1);
 * await strategy.stop();
 * ```
 *
 * @module
 */

import { logger } from "../log.ts";
import type { TransportAddress } from "../distribution/transport.ts";

const log = logger("cluster");

/** One node a strategy found, and where it listens when discovery tells. */
export interface DiscoveredNode {
  /** The full node name, `name@host`. */
  readonly name: string;
  /**
   * Where its distribution listens, when discovery knows (gossip
   * announcements, DNS with a fixed port, SRV records); without it the
   * kernel asks the port mapper on the node's host.
   */
  readonly address?: TransportAddress;
}

/** What a running strategy gets from its topology. */
export interface StrategyContext {
  /** This node's full name (a strategy leaves it out of its answers). */
  readonly self: string;
  /** The name of the topology running the strategy. */
  readonly topology: string;
  /** The node's cookie when the cluster was given it (gossip signs with it unless given a secret). */
  readonly cookie: string | undefined;
  /** The port this node's distribution listens on (told to peers by gossip). */
  readonly listenPort: number;
  /** Aborted when the topology stops. */
  readonly signal: AbortSignal;
  /**
   * Reports the strategy's whole current answer. Call it after every
   * successful poll or announcement, changed or not: the topology works
   * out what is new and what is gone.
   *
   * @param nodes every node the strategy believes in now
   */
  update(nodes: readonly DiscoveredNode[]): void;
}

/** A discovery strategy (libcluster's `Cluster.Strategy`). */
export interface Strategy {
  /** Its kind, shown in membership events and logs: `"static"`, `"gossip"`, ... */
  readonly kind: string;
  /**
   * Starts discovering: polls on a schedule or listens, and reports each
   * answer through `context.update`.
   *
   * @param context the topology's context
   * @throws {TypeError} when the strategy cannot run with its configuration
   */
  start(context: StrategyContext): Promise<void>;
  /** Stops; no `update` is made after the promise resolves. Idempotent. */
  stop(): Promise<void>;
  /** The names of the nodes it believes in now, this node left out. */
  members(): string[];
}

/**
 * A strategy that asks a source on a fixed schedule: `discover()` now,
 * then every `pollInterval` milliseconds, each answer reported whole. A
 * failed poll keeps the last answer.
 *
 * @example
 * ```ts
 * import { type DiscoveredNode, PollingStrategy } from "./strategy.ts";
 * class Empty extends PollingStrategy {
 *   readonly kind = "empty";
 *   protected discover(): Promise<DiscoveredNode[]> {
 *     return Promise.resolve([]);
 *   }
 * }
 * console.assert(new Empty(500).pollInterval === 500);
 * ```
 */
export abstract class PollingStrategy implements Strategy {
  /** Its kind, shown in events and logs. */
  abstract readonly kind: string;
  /** Milliseconds between two polls. */
  readonly pollInterval: number;
  #context: StrategyContext | undefined;
  #members: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;
  #lastError: string | undefined;

  /**
   * @param pollInterval milliseconds between two polls
   * @throws {RangeError} when `pollInterval` is not a positive number
   */
  constructor(pollInterval: number) {
    if (!(typeof pollInterval === "number" && pollInterval > 0 && Number.isFinite(pollInterval))) {
      throw new RangeError(
        `Invalid poll interval: must be a positive number of milliseconds, received ${pollInterval}`,
      );
    }
    this.pollInterval = pollInterval;
  }

  /**
   * Asks the source once.
   *
   * @param context the topology's context
   * @returns every node the source lists now
   */
  protected abstract discover(context: StrategyContext): Promise<DiscoveredNode[]>;

  /** Starts polling: the first poll begins at once (not awaited), the next after the interval. */
  start(context: StrategyContext): Promise<void> {
    if (this.#context !== undefined) {
      return Promise.reject(new TypeError(`Cannot start ${this.kind}: it is already running`));
    }
    this.#context = context;
    this.#schedule(0);
    return Promise.resolve();
  }

  /** Stops polling and waits for a poll in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }

  /** The nodes of the last successful answer. */
  members(): string[] {
    return [...this.#members];
  }

  /**
   * Polls now (or waits for the poll in flight), outside the schedule.
   *
   * @returns once the poll is over
   */
  pollNow(): Promise<void> {
    if (this.#context === undefined || this.#stopped) return Promise.resolve();
    if (this.#polling !== undefined) return this.#polling;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#poll();
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#poll();
    }, delay);
  }

  #poll(): Promise<void> {
    const context = this.#context!;
    this.#polling = (async () => {
      try {
        const nodes = await this.discover(context);
        if (this.#stopped) return;
        if (this.#lastError !== undefined) {
          log.info("Topology {topology} ({kind}): discovery works again", {
            topology: context.topology,
            kind: this.kind,
          });
          this.#lastError = undefined;
        }
        this.#members = [...new Set(nodes.map((n) => n.name))].filter((n) => n !== context.self);
        log.debug("Topology {topology} ({kind}) polled: {members}", {
          topology: context.topology,
          kind: this.kind,
          members: this.#members.join(", ") || "nobody",
        });
        context.update(nodes.filter((n) => n.name !== context.self));
      } catch (e) {
        if (this.#stopped) return;
        const text = e instanceof Error ? e.message : String(e);
        const level = text === this.#lastError ? "debug" : "warning";
        this.#lastError = text;
        log[level](
          "Topology {topology} ({kind}): discovery failed, keeping the last answer: {error}",
          {
            topology: context.topology,
            kind: this.kind,
            error: text,
          },
        );
      } finally {
        this.#polling = undefined;
        this.#schedule(this.pollInterval);
      }
    })();
    return this.#polling;
  }
}
