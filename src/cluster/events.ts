/**
 * Membership events: what discovery, reconnection, quorum and partition
 * handling did, and which topology and strategy caused it. Every event is
 * logged under `weft.cluster` and delivered to subscribed processes (as a
 * message) and to listener functions.
 *
 * ```
 * topology / quorum / overlap guard --emit(event)--> log line
 *                                                 -> each subscribed pid: runtime.send(pid, event)
 *                                                 -> each listener(event)
 * ```
 *
 * A listener that throws is logged and kept; a subscribed process that
 * has exited is dropped.
 *
 * @example
 * ```ts
 * import { ClusterEvents } from "./events.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@127.0.0.1" });
 * const events = new ClusterEvents(runtime);
 * const me = runtime.open();
 * events.subscribe(me.self);
 * events.emit({ type: "member_discovered", node: "b@127.0.0.1", topology: "t", strategy: "static" });
 * const msg = await me.receive<{ type: string }>();
 * console.assert(msg.type === "member_discovered");
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

import { logger } from "../log.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Pid } from "../term/pid.ts";

const log = logger("cluster");

/** A strategy started listing `node`. */
export interface MemberDiscovered {
  type: "member_discovered";
  /** The node. */
  node: string;
  /** The topology whose strategy lists it. */
  topology: string;
  /** The strategy's kind. */
  strategy: string;
}

/** A strategy no longer lists `node`. */
export interface MemberForgotten {
  type: "member_forgotten";
  node: string;
  topology: string;
  strategy: string;
}

/** A topology's connect brought `node` up (first contact or a reconnect). */
export interface MemberConnected {
  type: "member_connected";
  node: string;
  topology: string;
  strategy: string;
  /** Failed attempts before this one since the node was last up (0: the first try worked). */
  attempts: number;
}

/** A node some topology believes in went down; its topologies will dial it again. */
export interface MemberLost {
  type: "member_lost";
  node: string;
  /** The `nodedown` reason. */
  reason: string;
  /** The topologies that list it. */
  topologies: string[];
  /** Milliseconds until the first reconnect attempt. */
  retryIn: number;
}

/** A topology disconnected `node` because its strategy stopped listing it (`disconnectUnlisted`). */
export interface MemberRemoved {
  type: "member_removed";
  node: string;
  topology: string;
  strategy: string;
}

/** What {@linkcode QuorumLost} and {@linkcode QuorumRegained} carry: the quorum at that moment. */
export interface QuorumView {
  /** The expected members, this node included. */
  expected: string[];
  /** The expected members this node reaches (itself included). */
  reachable: string[];
  /** The expected members it does not reach. */
  unreachable: string[];
  /** Members needed for a quorum. */
  size: number;
}

/** The reachable part of the expected members fell below the quorum (a partition on the minority side). */
export interface QuorumLost extends QuorumView {
  type: "partition";
}

/** The reachable part of the expected members is a quorum again. */
export interface QuorumRegained extends QuorumView {
  type: "quorum_regained";
}

/**
 * The overlap guard (`preventOverlappingPartitions`) cut this node off
 * from `node`, because `reporter` lost `node` while both were connected
 * here; it stays cut off until that loss is over.
 */
export interface OverlapDisconnect {
  type: "overlap_disconnect";
  node: string;
  /** The node that reported the lost connection. */
  reporter: string;
  /** The node it lost (`node` or another). */
  lost: string;
}

/** The overlap guard lets `node` connect again. */
export interface OverlapCleared {
  type: "overlap_cleared";
  node: string;
}

/**
 * The split-brain resolver decided, after the membership stayed unchanged
 * for its `stableAfter` with members unreachable: this side keeps running
 * (`downed`: the members it takes as gone), or downs itself by `action`.
 */
export interface SplitBrainDecided {
  type: "split_brain_decision";
  /** The downing strategy. */
  strategy: string;
  /** `"keep"` or `"down"`. */
  decision: "keep" | "down";
  /** Why. */
  reason: string;
  /** The members this side reaches, this node included. */
  reachable: string[];
  /** The members taken down: the other side when this one keeps running, else this side. */
  downed: string[];
  /** What this node does when it downs itself (`"none"` when it keeps running). */
  action: "stop-node" | "exit-process" | "read-only" | "none";
}

/** Every member is reachable again after this node went read-only: read-only is lifted. */
export interface SplitBrainHealed {
  type: "split_brain_healed";
  /** The members, all reachable. */
  reachable: string[];
}

/** Every membership event. */
export type ClusterEvent =
  | MemberDiscovered
  | MemberForgotten
  | MemberConnected
  | MemberLost
  | MemberRemoved
  | QuorumLost
  | QuorumRegained
  | OverlapDisconnect
  | OverlapCleared
  | SplitBrainDecided
  | SplitBrainHealed;

/** The `type`s of {@linkcode ClusterEvent}. */
export const CLUSTER_EVENT_TYPES: readonly ClusterEvent["type"][] = [
  "member_discovered",
  "member_forgotten",
  "member_connected",
  "member_lost",
  "member_removed",
  "partition",
  "quorum_regained",
  "overlap_disconnect",
  "overlap_cleared",
  "split_brain_decision",
  "split_brain_healed",
];

/**
 * Whether `msg` is a {@linkcode ClusterEvent} (for a `receive` matcher).
 *
 * @param msg any message
 * @returns `true` for a membership event
 *
 * @example
 * ```ts
 * import { isClusterEvent } from "./events.ts";
 * console.assert(isClusterEvent({ type: "partition", expected: [], reachable: [], unreachable: [], size: 1 }));
 * console.assert(!isClusterEvent({ type: "nodeup", node: "b@h" }));
 * ```
 */
export function isClusterEvent(msg: unknown): msg is ClusterEvent {
  return typeof msg === "object" && msg !== null &&
    (CLUSTER_EVENT_TYPES as readonly unknown[]).includes((msg as { type?: unknown }).type);
}

/** A function called with each event. */
export type ClusterListener = (event: ClusterEvent) => void;

/**
 * Logs events and hands them to subscribers.
 *
 * @example
 * ```ts
 * import { ClusterEvents } from "./events.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime();
 * const events = new ClusterEvents(runtime);
 * const got: string[] = [];
 * const off = events.on((e) => got.push(e.type));
 * events.emit({ type: "overlap_cleared", node: "b@h" });
 * off();
 * console.assert(got[0] === "overlap_cleared");
 * await runtime.shutdown();
 * ```
 */
export class ClusterEvents {
  #runtime: Runtime;
  #pids = new Map<string, Pid>();
  #listeners = new Set<ClusterListener>();

  /** @param runtime where subscribed processes live */
  constructor(runtime: Runtime) {
    this.#runtime = runtime;
  }

  /**
   * Sends every later event to `pid` (or stops).
   *
   * @param pid a local process
   * @param flag `true` to subscribe, `false` to stop
   */
  subscribe(pid: Pid, flag = true): void {
    if (flag) this.#pids.set(pid.key, pid);
    else this.#pids.delete(pid.key);
  }

  /**
   * Calls `listener` with every later event.
   *
   * @param listener the function
   * @returns a function that removes it
   */
  on(listener: ClusterListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Logs `event` and delivers it.
   *
   * @param event the event
   */
  emit(event: ClusterEvent): void {
    logEvent(event);
    for (const [key, pid] of this.#pids) {
      if (!this.#runtime.isAlive(pid)) {
        this.#pids.delete(key);
        continue;
      }
      this.#runtime.send(pid, event);
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (e) {
        log.error("A cluster event listener failed on {type}: {error}", {
          type: event.type,
          error: e,
        });
      }
    }
  }
}

function logEvent(e: ClusterEvent): void {
  switch (e.type) {
    case "member_discovered":
      log.info("Topology {topology} ({strategy}) discovered {node}", { ...e });
      return;
    case "member_forgotten":
      log.info("Topology {topology} ({strategy}) no longer lists {node}", { ...e });
      return;
    case "member_connected":
      log.info(
        "Topology {topology} ({strategy}) connected {node} (after {attempts} failed attempts)",
        {
          ...e,
        },
      );
      return;
    case "member_lost":
      log.warning(
        "Member {node} is down ({reason}); {topologies} will dial it again in {retryIn} ms",
        {
          ...e,
          topologies: e.topologies.join(", "),
        },
      );
      return;
    case "member_removed":
      log.info("Topology {topology} ({strategy}) disconnected {node}: no longer listed", { ...e });
      return;
    case "partition":
      log.warning(
        "Quorum lost: {reachable} of {expected} expected members reachable, {size} needed; unreachable: {unreachable}",
        {
          reachable: e.reachable.length,
          expected: e.expected.length,
          size: e.size,
          unreachable: e.unreachable.join(", "),
        },
      );
      return;
    case "quorum_regained":
      log.info("Quorum regained: {reachable} of {expected} expected members reachable", {
        reachable: e.reachable.length,
        expected: e.expected.length,
      });
      return;
    case "overlap_disconnect":
      log.warning(
        "Disconnected {node} to prevent overlapping partitions ({reporter} lost {lost})",
        { ...e },
      );
      return;
    case "overlap_cleared":
      log.info("{node} may connect again: the partition it was cut off for is over", { ...e });
      return;
  }
}
