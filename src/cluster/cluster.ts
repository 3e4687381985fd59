/**
 * A node's cluster membership: its topologies (discovery and reconnects),
 * its quorum, the optional guard against overlapping partitions, and the
 * membership events of all three. One per node, run by a process
 * registered as `weft_cluster` that follows `nodeup`/`nodedown` and talks
 * to the `weft_cluster` processes of the other nodes.
 *
 * ```
 * startCluster(node, {topologies, quorum, preventOverlappingPartitions})
 *   weft_cluster process: monitorNodes (visible)
 *   each topology: strategy.start -> updates -> connects
 * nodeup   -> topologies reset their backoff; guard; quorum (quorum_regained)
 * nodedown -> listed? member_lost + redial after backoff; guard reports; quorum (partition)
 * cluster.stop()   topologies and guard stop; nodes stay connected
 * ```
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { startCluster } from "./cluster.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const a = await startNode({ name: "a@127.0.0.1", ...opts });
 * const b = await startNode({ name: "b@127.0.0.1", ...opts });
 * const cluster = await startCluster(a, {
 *   topologies: { local: { strategy: "static", config: { nodes: [`b@127.0.0.1:${b.port}`] } } },
 *   quorum: { expected: ["a@127.0.0.1", "b@127.0.0.1"] },
 * });
 * while (!cluster.hasQuorum()) await new Promise((r) => setTimeout(r, 10));
 * console.assert(a.list().includes("b@127.0.0.1"));
 * await cluster.stop();
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

import { NameError, ProcessExitError } from "../errors.ts";
import type { NodeDownMessage, NodeUpMessage } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ProcessContext } from "../process/types.ts";
import type { Pid } from "../term/pid.ts";
import { startChaosAgents } from "./chaos.ts";
import { type ClusterOptions, createStrategy } from "./config.ts";
import { type ClusterEvent, ClusterEvents, type ClusterListener } from "./events.ts";
import { isOverlapMessage, OverlapGuard, type OverlapMessage } from "./overlap_guard.ts";
import { type QuorumStatus, QuorumWatch } from "./quorum.ts";
import { checkSplitBrainOptions, decideSplitBrain } from "./split_brain.ts";
import { type ClusterHost, Topology, type TopologyInfo } from "./topology.ts";

export type { ClusterOptions } from "./config.ts";

const log = logger("cluster");

/** The name of the cluster process on each node. */
export const CLUSTER_PROCESS = "weft_cluster";

/** A node a cluster runs on: a `WeftNode` is one. */
export interface ClusterNode extends ClusterHost {
  /** Its process runtime. */
  readonly runtime: Runtime;
  /** Stops the node (the split-brain resolver's `"stop-node"` action); a `WeftNode` has it. */
  stop?(): Promise<void>;
}

/** Sent by the cluster process of a node to each peer's when they connect: when it started. */
interface AgeMessage {
  type: "cluster_age";
  node: string;
  startedAt: number;
}

function isAgeMessage(msg: unknown): msg is AgeMessage {
  const m = msg as AgeMessage;
  return typeof m === "object" && m !== null && m.type === "cluster_age" &&
    typeof m.node === "string" && typeof m.startedAt === "number" && Number.isFinite(m.startedAt);
}

/** The cluster membership of a node, in its context. */
export const CLUSTER: ServiceKey<Cluster> = new ServiceKey("cluster");

/**
 * The cluster running on a node, if any.
 *
 * @param node the node (or its runtime)
 * @returns its cluster, or `undefined`
 *
 * @example
 * ```ts
 * import { Runtime } from "../process/runtime.ts";
 * import { clusterOf } from "./cluster.ts";
 * console.assert(clusterOf(new Runtime()) === undefined);
 * ```
 */
export function clusterOf(node: { runtime: Runtime } | Runtime): Cluster | undefined {
  return ("runtime" in node ? node.runtime : node).context.get(CLUSTER);
}

/**
 * Starts a node's cluster membership.
 *
 * @param node the node
 * @param options topologies, quorum and partition handling
 * @returns the running cluster
 * @throws {TypeError} when a topology's config is malformed or its strategy cannot start
 * @throws {RangeError} when a number is out of range
 * @throws {NameError} when a cluster already runs on this node
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { startCluster } from "./cluster.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const cluster = await startCluster(a, { topologies: {} });
 * console.assert(cluster.hasQuorum() && cluster.members().length === 0);
 * await cluster.stop();
 * await a.stop();
 * ```
 */
export async function startCluster(node: ClusterNode, options: ClusterOptions): Promise<Cluster> {
  const cluster = new Cluster(node, options);
  await cluster.start();
  return cluster;
}

/**
 * One node's cluster membership.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { startCluster } from "./cluster.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const cluster = await startCluster(a, {
 *   topologies: { t: { strategy: "static", config: { nodes: ["z@127.0.0.1:1"] } } },
 *   quorum: { expected: ["a@127.0.0.1", "z@127.0.0.1"], size: 2 },
 * });
 * console.assert(!cluster.hasQuorum() && cluster.members()[0] === "z@127.0.0.1");
 * await cluster.stop();
 * await a.stop();
 * ```
 */
export class Cluster {
  /** This node's name. */
  readonly node: string;
  #host: ClusterNode;
  #options: ClusterOptions;
  #events: ClusterEvents;
  #topologies: Topology[] = [];
  #quorum: QuorumWatch;
  #guard: OverlapGuard | undefined;
  #ctx: ProcessContext | undefined;
  #loop: Promise<void> | undefined;
  #started = false;
  #stopped = false;
  /** When this cluster started (its age, for keep-oldest), and each peer's, as they told us. */
  #startedAt = Date.now();
  #ages = new Map<string, number>();
  /** The split-brain resolver's stable timer, the view it last decided on, and read-only. */
  #sbrTimer: ReturnType<typeof setTimeout> | undefined;
  #sbrDecided: string | undefined;
  #readOnly = false;

  /**
   * Checks the options and makes the topologies; {@linkcode Cluster.start} runs them.
   *
   * @param host the node
   * @param options topologies, quorum and partition handling
   * @throws {TypeError} when a topology's config is malformed
   * @throws {RangeError} when a number is out of range
   */
  constructor(host: ClusterNode, options: ClusterOptions) {
    this.node = host.name;
    this.#host = host;
    this.#options = options;
    this.#events = new ClusterEvents(host.runtime);
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot start the cluster: options must be an object");
    }
    const topologies = options.topologies ?? {};
    if (typeof topologies !== "object" || topologies === null) {
      throw new TypeError("Cannot start the cluster: topologies must be an object");
    }
    this.#quorum = new QuorumWatch(host.name, options.quorum);
    if (options.splitBrainResolver !== undefined) {
      checkSplitBrainOptions(options.splitBrainResolver);
    }
    for (const [name, spec] of Object.entries(topologies)) {
      const strategy = typeof spec.strategy === "string"
        ? createStrategy(spec.strategy, spec.config, `topologies.${name}`)
        : spec.strategy;
      if (typeof strategy?.start !== "function" || typeof strategy.members !== "function") {
        throw new TypeError(
          `Invalid cluster config: topologies.${name}.strategy: expected a strategy name or object`,
        );
      }
      this.#topologies.push(
        new Topology(host, {
          name,
          strategy,
          events: this.#events,
          ...(spec.reconnect !== undefined ? { reconnect: spec.reconnect } : {}),
          ...(spec.disconnectUnlisted !== undefined
            ? { disconnectUnlisted: spec.disconnectUnlisted }
            : {}),
          ...(options.cookie !== undefined ? { cookie: options.cookie } : {}),
          listedElsewhere: (node) => this.#topologies.some((t) => t.name !== name && t.lists(node)),
        }),
      );
    }
  }

  /**
   * Opens the cluster process and starts every topology.
   *
   * @throws {NameError} when a cluster already runs on this node
   * @throws {TypeError} when a strategy cannot start (the others are stopped)
   */
  async start(): Promise<void> {
    if (this.#started) throw new TypeError("Cannot start the cluster: already started");
    this.#started = true;
    const runtime = this.#host.runtime;
    if (
      runtime.context.get(CLUSTER) !== undefined || runtime.whereis(CLUSTER_PROCESS) !== undefined
    ) {
      throw new NameError(`Cannot start the cluster: one already runs on ${this.node}`);
    }
    const ctx = runtime.open({ label: CLUSTER_PROCESS });
    runtime.register(CLUSTER_PROCESS, ctx.self);
    this.#ctx = ctx;
    runtime.context.provide(CLUSTER, this);
    this.#host.kernel.monitorNodes(ctx.self);
    if (this.#options.chaos) startChaosAgents(runtime);
    const pop = this.#options.preventOverlappingPartitions;
    if (pop) {
      this.#guard = new OverlapGuard({
        self: this.node,
        pid: ctx.self,
        kernel: this.#host.kernel,
        events: this.#events,
        send: (node, msg) => this.#sendPeer(node, msg),
        kick: (node) => this.reconnect(node),
      }, typeof pop === "object" ? pop : {});
      this.#guard.start();
    }
    this.#loop = this.#run(ctx);
    try {
      for (const t of this.#topologies) await t.start();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.#quorum.update(this.#host.kernel.nodes("visible"), this.members());
    log.info("Cluster on {node}: {topologies}", {
      node: this.node,
      topologies: this.#topologies.map((t) => `${t.name} (${t.strategy.kind})`).join(", ") ||
        "no topologies",
    });
  }

  /** The nodes any topology lists now. */
  members(): string[] {
    return [...new Set(this.#topologies.flatMap((t) => t.members()))].sort();
  }

  /** Each topology: its strategy, members and which of them are connected. */
  topologies(): TopologyInfo[] {
    return this.#topologies.map((t) => t.info());
  }

  /**
   * A topology by name.
   *
   * @param name its name
   * @returns the topology (its strategy is `.strategy`), or `undefined`
   */
  topology(name: string): Topology | undefined {
    return this.#topologies.find((t) => t.name === name);
  }

  /** The quorum now: expected, reachable and unreachable members, size, and whether it holds. */
  quorum(): QuorumStatus {
    return this.#quorum.status(this.#host.kernel.nodes("visible"), this.members());
  }

  /** Whether the expected members this node reaches are a quorum. */
  hasQuorum(): boolean {
    return this.quorum().hasQuorum;
  }

  /**
   * Whether the split-brain resolver put this node in read-only state
   * (action `"read-only"` on the losing side); lifted when every member is
   * reachable again. Check it before writes a singleton must not make.
   */
  readOnly(): boolean {
    return this.#readOnly;
  }

  /**
   * The overlap guard's state, when `preventOverlappingPartitions` is on.
   *
   * @returns the nodes it keeps cut off and the lost links it knows, or `undefined`
   */
  overlap(): { dropped: string[]; missing: [string, string][] } | undefined {
    if (this.#guard === undefined) return undefined;
    return { dropped: this.#guard.dropped(), missing: this.#guard.missing() };
  }

  /**
   * Sends every later membership event to `pid` as a message (or stops).
   *
   * @param pid a local process
   * @param flag `true` to subscribe, `false` to stop
   */
  subscribe(pid: Pid, flag = true): void {
    this.#events.subscribe(pid, flag);
  }

  /**
   * Calls `listener` with every later membership event.
   *
   * @param listener the function
   * @returns a function that removes it
   */
  on(listener: ClusterListener): () => void {
    return this.#events.on(listener);
  }

  /**
   * Dials `node` (or every listed node not connected) now, with a fresh backoff.
   *
   * @param node one node, or all
   */
  reconnect(node?: string): void {
    for (const t of this.#topologies) t.kick(node);
  }

  /** Stops the topologies, the guard and the cluster process; nodes stay connected. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#guard?.stop();
    clearTimeout(this.#sbrTimer);
    await Promise.all(this.#topologies.map((t) => t.stop()));
    if (this.#ctx !== undefined) {
      this.#host.kernel.monitorNodes(this.#ctx.self, false);
      if (this.#host.runtime.isAlive(this.#ctx.self)) this.#ctx.exit("normal");
    }
    await this.#loop;
    this.#host.runtime.context.remove(CLUSTER, this);
  }

  #sendPeer(node: string, msg: OverlapMessage | AgeMessage): void {
    if (this.#stopped || this.#ctx === undefined) return;
    // Never dial for this: only nodes connected now are told.
    if (!this.#host.kernel.nodes("visible").includes(node)) return;
    this.#ctx.send({ name: CLUSTER_PROCESS, node }, msg);
  }

  #emit(event: ClusterEvent): void {
    this.#events.emit(event);
  }

  async #run(ctx: ProcessContext): Promise<void> {
    try {
      for (;;) {
        const msg = await ctx.receive();
        if (this.#stopped) return;
        try {
          this.#handle(msg);
        } catch (e) {
          log.error("Cluster on {node} failed to handle {msg}: {error}", {
            node: this.node,
            msg,
            error: e,
          });
        }
      }
    } catch (e) {
      if (!(e instanceof ProcessExitError)) throw e;
      if (!this.#stopped) {
        // The node is shutting down under us: let go of sockets and timers.
        log.debug("Cluster process on {node} exited: {reason}", {
          node: this.node,
          reason: e.reason,
        });
        this.#stopped = true;
        this.#guard?.stop();
        clearTimeout(this.#sbrTimer);
        await Promise.all(this.#topologies.map((t) => t.stop()));
        this.#host.runtime.context.remove(CLUSTER, this);
      }
    }
  }

  #handle(msg: unknown): void {
    if (isOverlapMessage(msg)) {
      this.#guard?.receive(msg);
      return;
    }
    if (isAgeMessage(msg)) {
      // Sent by the cluster process of msg.node when we connected.
      this.#ages.set(msg.node, msg.startedAt);
      return;
    }
    const m = msg as NodeUpMessage | NodeDownMessage;
    if (typeof m !== "object" || m === null || typeof m.node !== "string") return;
    if (m.type === "nodeup") {
      for (const t of this.#topologies) t.nodeUp(m.node);
      this.#guard?.nodeUp(m.node);
      this.#sendPeer(m.node, { type: "cluster_age", node: this.node, startedAt: this.#startedAt });
    } else if (m.type === "nodedown") {
      if (this.#host.kernel.nodes("all").includes(m.node)) return; // Up again already.
      const listedBy: string[] = [];
      let retryIn: number | undefined;
      for (const t of this.#topologies) {
        const delay = t.nodeDown(m.node);
        if (delay === undefined) continue;
        listedBy.push(t.name);
        retryIn = Math.min(retryIn ?? delay, delay);
      }
      if (listedBy.length > 0) {
        this.#emit({
          type: "member_lost",
          node: m.node,
          reason: m.reason,
          topologies: listedBy,
          retryIn: retryIn ?? 0,
        });
      }
      this.#guard?.nodeDown(m.node);
    } else {
      return;
    }
    this.#checkQuorum();
    this.#membershipChanged();
  }

  /** The split-brain resolver: a change restarts the stable timer; a heal lifts read-only. */
  #membershipChanged(): void {
    const sbr = this.#options.splitBrainResolver;
    if (sbr === undefined || sbr.strategy === "off" || this.#stopped) return;
    clearTimeout(this.#sbrTimer);
    this.#sbrTimer = undefined;
    const status = this.quorum();
    if (status.unreachable.length === 0) {
      this.#sbrDecided = undefined;
      if (this.#readOnly) {
        this.#readOnly = false;
        this.#emit({ type: "split_brain_healed", reachable: status.reachable });
      }
      return;
    }
    this.#sbrTimer = setTimeout(() => {
      this.#sbrTimer = undefined;
      this.#resolveSplitBrain();
    }, sbr.stableAfter ?? 10_000);
  }

  #resolveSplitBrain(): void {
    const sbr = this.#options.splitBrainResolver;
    if (sbr === undefined || this.#stopped) return;
    const status = this.quorum();
    const key = status.reachable.join(",");
    if (status.unreachable.length === 0 || this.#sbrDecided === key) return;
    this.#sbrDecided = key;
    const ages = new Map(this.#ages);
    ages.set(this.node, this.#startedAt);
    const known = status.expected.every((m) => ages.has(m));
    const oldest = known
      ? [...status.expected].sort((x, y) => ages.get(x)! - ages.get(y)! || (x < y ? -1 : 1))[0]
      : undefined;
    const { decision, reason } = decideSplitBrain(sbr, {
      self: this.node,
      members: status.expected,
      reachable: status.reachable,
      ...(oldest !== undefined ? { oldest } : {}),
    });
    const action = decision === "keep" ? "none" : sbr.action ?? "stop-node";
    log.warning("Split brain ({strategy}): {decision} on {node}: {reason}", {
      strategy: sbr.strategy,
      decision: decision === "keep" ? "this side keeps running" : `this side goes down (${action})`,
      node: this.node,
      reason,
    });
    this.#emit({
      type: "split_brain_decision",
      strategy: sbr.strategy,
      decision,
      reason,
      reachable: status.reachable,
      downed: decision === "keep" ? status.unreachable : status.reachable,
      action,
    });
    if (decision === "keep") return;
    switch (action) {
      case "read-only":
        this.#readOnly = true;
        return;
      case "stop-node":
      case "exit-process": {
        const host = this.#host;
        // Not from inside the cluster's own handling: stopping the node stops this cluster.
        setTimeout(async () => {
          try {
            await host.stop?.();
          } catch (e) {
            log.error("Split brain: cannot stop {node}: {error}", { node: this.node, error: e });
          }
          if (action === "exit-process") Deno.exit(1);
        }, 0);
      }
    }
  }

  #checkQuorum(): void {
    const { status, transition } = this.#quorum.update(
      this.#host.kernel.nodes("visible"),
      this.members(),
    );
    if (transition === undefined) return;
    const view = {
      expected: status.expected,
      reachable: status.reachable,
      unreachable: status.unreachable,
      size: status.size,
    };
    if (transition === "lost") {
      this.#emit({ type: "partition", ...view });
      this.#callback(this.#options.onPartition, status);
    } else {
      this.#emit({ type: "quorum_regained", ...view });
      this.#callback(this.#options.onQuorum, status);
    }
  }

  #callback(fn: ((status: QuorumStatus) => void) | undefined, status: QuorumStatus): void {
    if (fn === undefined) return;
    try {
      fn(status);
    } catch (e) {
      log.error("A quorum callback failed: {error}", { error: e });
    }
  }
}
