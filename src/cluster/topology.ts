/**
 * One topology at work (libcluster's per-topology strategy process): it
 * runs a {@linkcode Strategy}, keeps the set of nodes the strategy
 * believes in, connects each of them, and dials a lost one again on its
 * own schedule — exponential backoff from `reconnect.initial` up to
 * `reconnect.max` — for as long as the strategy lists it, whether or not
 * discovery's answer changes meanwhile.
 *
 * ```
 * strategy --update(nodes)--> new node:    member_discovered, dial now
 *                             gone node:   member_forgotten; with disconnectUnlisted
 *                                          (and no other topology listing it):
 *                                          disconnect, member_removed
 * dial ok                  -> member_connected {attempts}
 * dial failed              -> next dial after backoff(attempts), attempts + 1
 * nodedown (from Cluster)  -> dial again after backoff(0)
 * ```
 *
 * A node the kernel refuses to reach (blocked by fault injection or by
 * the overlap guard) simply fails its dials until it is let through.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { ClusterEvents } from "./events.ts";
 * import { StaticStrategy } from "./strategies/static.ts";
 * import { Topology } from "./topology.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const a = await startNode({ name: "a@127.0.0.1", ...opts });
 * const b = await startNode({ name: "b@127.0.0.1", ...opts });
 * const events = new ClusterEvents(a.runtime);
 * const topology = new Topology(a, {
 *   name: "demo",
 *   strategy: new StaticStrategy({ nodes: [`b@127.0.0.1:${b.port}`] }),
 *   events,
 * });
 * const connected = new Promise((resolve) => events.on((e) => e.type === "member_connected" && resolve(e)));
 * await topology.start();
 * await connected;
 * console.assert(a.list().includes("b@127.0.0.1"));
 * await topology.stop();
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { parseNodeName } from "../term/node_name.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import type { ClusterEvents } from "./events.ts";
import type { DiscoveredNode, Strategy, StrategyContext } from "./strategy.ts";

const log = logger("cluster");

/** The node a topology works for: its name, kernel and listening port (a `WeftNode` is one). */
export interface ClusterHost {
  /** The node's full name. */
  readonly name: string;
  /** Its kernel: connect, disconnect, node list. */
  readonly kernel: NetKernel;
  /** The port its distribution listens on. */
  readonly port: number;
}

/** Options for {@linkcode Topology}. */
export interface TopologyOptions {
  /** The topology's name (the key under `topologies`). */
  name: string;
  /** The strategy it runs. */
  strategy: Strategy;
  /** Where membership events go. */
  events: ClusterEvents;
  /** The reconnect schedule. Default: 100 ms doubling up to 5 s. */
  reconnect?: BackoffOptions;
  /** Disconnect nodes the strategy stops listing. Default `false` (as libcluster). */
  disconnectUnlisted?: boolean;
  /** The cookie, for strategies that sign with it (gossip). */
  cookie?: string;
  /** Whether another topology of the node lists `node` (it is then kept connected). */
  listedElsewhere?: (node: string) => boolean;
}

/** One node the strategy lists, and its dialling state. */
interface Tracked {
  /** The node and its address, as last reported. */
  node: DiscoveredNode;
  /** Failed dials since it was last up. */
  attempts: number;
  /** The next dial. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the next dial is due (`performance.now()` time), while `timer` is set. */
  due?: number;
  /** A dial is in flight. */
  dialing: boolean;
}

/** What {@linkcode Topology.info} tells. */
export interface TopologyInfo {
  /** The topology's name. */
  name: string;
  /** Its strategy's kind. */
  strategy: string;
  /** The nodes its strategy lists. */
  members: string[];
  /** Those of them that are connected. */
  connected: string[];
}

/**
 * A strategy plus the connects, reconnects and disconnects it implies.
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { ClusterEvents } from "./events.ts";
 * import { StaticStrategy } from "./strategies/static.ts";
 * import { Topology } from "./topology.ts";
 * const events = new ClusterEvents(new Runtime());
 * const strategy = new StaticStrategy({ nodes: [] });
 * const host = { name: "a@h", port: 0, kernel: {} as never };
 * const t = new Topology(host, { name: "empty", strategy, events });
 * console.assert(t.info().strategy === "static" && t.members().length === 0);
 * ```
 */
export class Topology {
  /** The topology's name. */
  readonly name: string;
  /** Its strategy. */
  readonly strategy: Strategy;
  #host: ClusterHost;
  #events: ClusterEvents;
  #backoff: Backoff;
  #disconnectUnlisted: boolean;
  #cookie: string | undefined;
  #listedElsewhere: (node: string) => boolean;
  #tracked = new Map<string, Tracked>();
  #badNames = new Set<string>();
  /** When the strategy last reported its answer; the gap between reports is its interval. */
  #lastUpdate: number | undefined;
  #abort = new AbortController();
  #started = false;
  #stopped = false;
  #dials = new Set<Promise<void>>();

  /**
   * @param host the node
   * @param options the strategy, events and reconnect schedule
   * @throws {RangeError} when the reconnect schedule is out of range
   */
  constructor(host: ClusterHost, options: TopologyOptions) {
    this.#host = host;
    this.name = options.name;
    this.strategy = options.strategy;
    this.#events = options.events;
    this.#backoff = new Backoff(options.reconnect);
    this.#disconnectUnlisted = options.disconnectUnlisted ?? false;
    this.#cookie = options.cookie;
    this.#listedElsewhere = options.listedElsewhere ?? (() => false);
  }

  /** Milliseconds before the first dial after a loss, and the most between two dials. */
  get reconnect(): { initial: number; max: number } {
    return { initial: this.#backoff.initial, max: this.#backoff.max };
  }

  /**
   * Starts the strategy.
   *
   * @throws {TypeError} when the strategy cannot start with its configuration
   */
  async start(): Promise<void> {
    if (this.#started) throw new TypeError(`Cannot start topology ${this.name}: already started`);
    this.#started = true;
    const context: StrategyContext = {
      self: this.#host.name,
      topology: this.name,
      cookie: this.#cookie,
      listenPort: this.#host.port,
      signal: this.#abort.signal,
      update: (nodes) => this.#update(nodes),
    };
    await this.strategy.start(context);
    log.debug("Topology {topology} ({strategy}) started", {
      topology: this.name,
      strategy: this.strategy.kind,
    });
  }

  /** Stops the strategy and every pending dial; nodes stay connected. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    for (const t of this.#tracked.values()) clearTimeout(t.timer);
    await this.strategy.stop();
    while (this.#dials.size > 0) await Promise.allSettled([...this.#dials]);
  }

  /** The nodes the strategy lists now. */
  members(): string[] {
    return [...this.#tracked.keys()];
  }

  /** Whether the strategy lists `node`. */
  lists(node: string): boolean {
    return this.#tracked.has(node);
  }

  /** Its name, strategy, members and which of them are connected. */
  info(): TopologyInfo {
    const members = this.members();
    const up = this.#started ? new Set(this.#host.kernel.nodes("all")) : new Set<string>();
    return {
      name: this.name,
      strategy: this.strategy.kind,
      members,
      connected: members.filter((m) => up.has(m)),
    };
  }

  /**
   * A node went down: when the strategy lists it, dial it again after
   * the first backoff delay.
   *
   * @param node the node
   * @returns the milliseconds until that dial, or `undefined` when not listed
   */
  nodeDown(node: string): number | undefined {
    const t = this.#tracked.get(node);
    if (t === undefined || this.#stopped) return undefined;
    t.attempts = 0;
    if (t.dialing) return 0;
    const delay = this.#backoff.delay(0);
    this.#schedule(t, delay);
    return delay;
  }

  /**
   * A node came up (by any path): its backoff starts over.
   *
   * @param node the node
   */
  nodeUp(node: string): void {
    const t = this.#tracked.get(node);
    if (t === undefined) return;
    t.attempts = 0;
    clearTimeout(t.timer);
    t.timer = undefined;
  }

  /**
   * Dials `node` (or every listed node that is not connected) now, with
   * a fresh backoff: for when the reason it could not be reached is known
   * to be gone.
   *
   * @param node one node, or all
   */
  kick(node?: string): void {
    if (this.#stopped || !this.#started) return;
    const targets = node === undefined
      ? [...this.#tracked.values()]
      : [this.#tracked.get(node)].filter((t): t is Tracked => t !== undefined);
    for (const t of targets) {
      t.attempts = 0;
      clearTimeout(t.timer);
      t.timer = undefined;
      this.#dial(t);
    }
  }

  #connected(node: string): boolean {
    return this.#host.kernel.nodes("all").includes(node);
  }

  #update(nodes: readonly DiscoveredNode[]): void {
    if (this.#stopped) return;
    const next = new Map<string, DiscoveredNode>();
    for (const n of nodes) {
      let full: string;
      let address = n.address;
      try {
        const parsed = parseNodeName(n.name);
        full = parsed.full;
        if (address === undefined && parsed.port !== undefined) {
          address = { hostname: parsed.host, port: parsed.port };
        }
      } catch (e) {
        if (!this.#badNames.has(String(n.name))) {
          this.#badNames.add(String(n.name));
          log.warning("Topology {topology} ({strategy}) ignores {name}: {error}", {
            topology: this.name,
            strategy: this.strategy.kind,
            name: n.name,
            error: e,
          });
        }
        continue;
      }
      if (full === this.#host.name) continue;
      next.set(full, address !== undefined ? { name: full, address } : { name: full });
    }
    // Discovery listing a node again is a reason to try it soon: a dial that
    // backoff put further away than one discovery interval is brought
    // forward, so a healed or restarted node is back within two intervals.
    const now = performance.now();
    const interval = this.#lastUpdate === undefined ? Infinity : now - this.#lastUpdate;
    this.#lastUpdate = now;
    for (const [name, node] of next) {
      const t = this.#tracked.get(name);
      if (t !== undefined) {
        t.node = node;
        if (t.timer !== undefined && !t.dialing && (t.due ?? 0) - now > interval) {
          clearTimeout(t.timer);
          t.timer = undefined;
          this.#dial(t);
        }
        continue;
      }
      const fresh: Tracked = { node, attempts: 0, timer: undefined, dialing: false };
      this.#tracked.set(name, fresh);
      this.#events.emit({
        type: "member_discovered",
        node: name,
        topology: this.name,
        strategy: this.strategy.kind,
      });
      this.#dial(fresh);
    }
    for (const [name, t] of [...this.#tracked]) {
      if (next.has(name)) continue;
      this.#tracked.delete(name);
      clearTimeout(t.timer);
      this.#events.emit({
        type: "member_forgotten",
        node: name,
        topology: this.name,
        strategy: this.strategy.kind,
      });
      if (this.#disconnectUnlisted && this.#connected(name) && !this.#listedElsewhere(name)) {
        this.#host.kernel.disconnect(name);
        this.#events.emit({
          type: "member_removed",
          node: name,
          topology: this.name,
          strategy: this.strategy.kind,
        });
      }
    }
  }

  #schedule(t: Tracked, delay: number): void {
    clearTimeout(t.timer);
    t.due = performance.now() + delay;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      this.#dial(t);
    }, delay);
  }

  #dial(t: Tracked): void {
    if (this.#stopped || t.dialing || this.#tracked.get(t.node.name) !== t) return;
    const name = t.node.name;
    if (this.#connected(name)) {
      t.attempts = 0;
      return;
    }
    t.dialing = true;
    const dial = (async () => {
      if (t.node.address !== undefined) this.#host.kernel.addAddress(name, t.node.address);
      let ok = false;
      try {
        ok = await this.#host.kernel.connect(name);
      } catch (e) {
        log.warning("Topology {topology} cannot dial {node}: {error}", {
          topology: this.name,
          node: name,
          error: e,
        });
      }
      t.dialing = false;
      if (this.#stopped || this.#tracked.get(name) !== t) return;
      if (ok && this.#connected(name)) {
        this.#events.emit({
          type: "member_connected",
          node: name,
          topology: this.name,
          strategy: this.strategy.kind,
          attempts: t.attempts,
        });
        t.attempts = 0;
        return;
      }
      const delay = this.#backoff.delay(t.attempts);
      t.attempts++;
      log.debug("Topology {topology} could not reach {node}; next try in {delay} ms", {
        topology: this.name,
        node: name,
        delay,
      });
      this.#schedule(t, delay);
    })();
    this.#dials.add(dial);
    dial.finally(() => this.#dials.delete(dial));
  }
}
