/**
 * Node monitoring, as Erlang's `net_kernel:monitor_nodes/2` and
 * `erlang:monitor_node/2`: which local processes want to hear about nodes
 * coming up and going down, and the messages they get. The node kernel
 * owns the connections and calls in here when one comes up or goes away;
 * this keeps only the subscriptions.
 *
 * ```
 * net_kernel: connection up      -> nodeUp(node, hidden)   -> {type: "nodeup", node} to each subscriber
 * net_kernel: connection lost    -> nodeDown(node, hidden, reason)
 *                                   -> {type: "nodedown", node, reason} to each subscriber
 *                                      and, once, to each process watching that node
 * net_kernel: connect failed     -> setupFailed(node) -> reason "connection_setup_failed" to watchers
 * ```
 *
 * A subscriber that has exited is dropped the next time a node changes.
 * Nothing here fails: a message to a process that is gone is dropped.
 *
 * @example
 * ```ts
 * import { NodeMonitors } from "./node_monitors.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const monitors = new NodeMonitors(runtime, false);
 * const me = runtime.open();
 * monitors.subscribe(me.self, true);
 * monitors.nodeUp("b@h", false);
 * console.assert((await me.receive<{ type: string }>()).type === "nodeup");
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

import type { Runtime } from "../process/runtime.ts";
import type { Pid } from "../term/pid.ts";
import type { NodeDownReason } from "./types.ts";

/** `{type: "nodeup", node}`: delivered to processes that called `monitorNodes`. */
export interface NodeUpMessage {
  type: "nodeup";
  node: string;
}

/** `{type: "nodedown", node, reason}`: delivered by `monitorNodes` and `monitorNode`. */
export interface NodeDownMessage {
  type: "nodedown";
  node: string;
  reason: NodeDownReason | "connection_setup_failed";
}

/** Options for `monitorNodes`. */
export interface MonitorNodesOptions {
  /** Which nodes to report: `"visible"` (the default, as Erlang), `"hidden"` or `"all"`. */
  nodeType?: "visible" | "hidden" | "all";
}

interface Subscriber {
  pid: Pid;
  nodeType: "visible" | "hidden" | "all";
}

/**
 * The node-monitoring subscriptions of one node.
 *
 * @example
 * ```ts
 * import { NodeMonitors } from "./node_monitors.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const monitors = new NodeMonitors(runtime, false);
 * const me = runtime.open();
 * monitors.watch(me.self, "b@h", true);
 * monitors.setupFailed("b@h");
 * console.assert((await me.receive<{ reason: string }>()).reason === "connection_setup_failed");
 * await runtime.shutdown();
 * ```
 */
export class NodeMonitors {
  readonly #runtime: Runtime;
  /** Whether this node is hidden: then every node it sees counts as hidden. */
  readonly #hidden: boolean;
  /** `monitorNodes` subscribers, by pid and node type. */
  readonly #subscribers = new Map<string, Subscriber>();
  /** `monitorNode` watchers: node -> watchers (one entry per call). */
  readonly #watchers = new Map<string, Pid[]>();

  /**
   * @param runtime the local runtime, to deliver to
   * @param hidden whether this node is hidden
   */
  constructor(runtime: Runtime, hidden: boolean) {
    this.#runtime = runtime;
    this.#hidden = hidden;
  }

  /**
   * `monitorNodes`: subscribes `pid` to nodeup/nodedown of every node of
   * its kind, or unsubscribes it.
   *
   * @param pid a local process
   * @param flag `true` to subscribe, `false` to stop
   * @param options which kinds of node to report
   */
  subscribe(pid: Pid, flag: boolean, options: MonitorNodesOptions = {}): void {
    const nodeType = options.nodeType ?? "visible";
    const key = `${pid.key}/${nodeType}`;
    if (flag) this.#subscribers.set(key, { pid, nodeType });
    else this.#subscribers.delete(key);
  }

  /**
   * `monitorNode`: adds one watch of `node` for `pid`, or removes one.
   *
   * @param pid a local process
   * @param node the full node name
   * @param flag `true` to watch, `false` to stop watching
   */
  watch(pid: Pid, node: string, flag: boolean): void {
    const list = this.#watchers.get(node) ?? [];
    if (!flag) {
      const i = list.findIndex((p) => p.equals(pid));
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#watchers.delete(node);
      return;
    }
    list.push(pid);
    this.#watchers.set(node, list);
  }

  /**
   * A connection to `node` came up (called by the node kernel).
   *
   * @param node the node
   * @param hidden whether the peer is hidden
   */
  nodeUp(node: string, hidden: boolean): void {
    this.#notify({ type: "nodeup", node }, hidden);
  }

  /**
   * The connection to `node` is gone (called by the node kernel): every
   * subscriber of its kind, and every watcher of it, hears why.
   *
   * @param node the node
   * @param hidden whether the peer was hidden
   * @param reason why
   */
  nodeDown(node: string, hidden: boolean, reason: NodeDownReason): void {
    this.#notify({ type: "nodedown", node, reason }, hidden);
    this.#tellWatchers(node, reason);
  }

  /**
   * Connecting to `node` failed (called by the node kernel): its watchers
   * hear `connection_setup_failed`.
   *
   * @param node the node
   */
  setupFailed(node: string): void {
    this.#tellWatchers(node, "connection_setup_failed");
  }

  /** A node never connected (reached through a relay) is gone: its watchers hear `connection_closed`. */
  lost(node: string): void {
    this.#tellWatchers(node, "connection_closed");
  }

  #notify(msg: NodeUpMessage | NodeDownMessage, hidden: boolean): void {
    const nodeHidden = hidden || this.#hidden;
    for (const [key, m] of this.#subscribers) {
      if (!this.#runtime.isAlive(m.pid)) {
        this.#subscribers.delete(key);
        continue;
      }
      if (m.nodeType === "all" || (m.nodeType === "hidden") === nodeHidden) {
        this.#runtime.send(m.pid, msg);
      }
    }
  }

  #tellWatchers(node: string, reason: NodeDownMessage["reason"]): void {
    const list = this.#watchers.get(node);
    if (list === undefined) return;
    this.#watchers.delete(node);
    for (const pid of list) {
      this.#runtime.send(pid, { type: "nodedown", node, reason } satisfies NodeDownMessage);
    }
  }
}
