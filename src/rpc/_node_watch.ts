/**
 * Fails what waits on a node the moment that node is lost: calls and
 * spawn requests sent to it, processes held for a spawn it asked for.
 * Erlang's erpc monitors the remote side for the same reason: a lost node
 * answers `noconnection` at once instead of at the deadline.
 *
 * The node kernel's `monitorNode(pid, node)` sends one
 * `{type: "nodedown", node, reason}` per subscription when the node goes
 * down or cannot be reached, and forgets the subscriptions it has
 * answered. One subscription covers every wait on a node while it stays
 * up; a wait that starts while the node is not up (being connected, or
 * gone without our having heard yet) takes a fresh one. Each wait records
 * the newest subscription that covers it, and each `nodedown` answers the
 * oldest subscription still open, so it fails exactly the waits that
 * subscription covered, never one that started after the loss.
 *
 * @module
 */

import type { NetKernel } from "../distribution/net_kernel.ts";
import type { Pid } from "../term/pid.ts";

/** Something waiting on a node. */
export interface Watched {
  /** The node (bare `name@host`). */
  readonly node: string;
  /** The subscription that covers it; set by {@linkcode NodeWatch.add}. */
  epoch: number;
  /** Called once when the node is lost, with the kernel's reason. */
  lost(reason: string): void;
}

/** The waits of one node's rpc layer on other nodes. */
export class NodeWatch {
  readonly #kernel: NetKernel;
  readonly #watcher: () => Pid;
  /** Open subscriptions per node, oldest first. */
  #subs = new Map<string, number[]>();
  #waits = new Map<string, Set<Watched>>();
  #epoch = 0;

  /**
   * @param kernel the node kernel
   * @param watcher the process that gets the `nodedown` messages and hands them to {@linkcode nodeDown}
   */
  constructor(kernel: NetKernel, watcher: () => Pid) {
    this.#kernel = kernel;
    this.#watcher = watcher;
  }

  /**
   * Starts watching for `item.node` on behalf of `item`.
   *
   * @param address the node as the caller named it (`name@host:port` records the address)
   * @param item the wait
   */
  add(address: string, item: Watched): void {
    const node = item.node;
    let subs = this.#subs.get(node);
    if (subs === undefined || !this.#kernel.reachable(node)) {
      const pid = this.#watcher();
      if (subs === undefined) {
        subs = [];
        this.#subs.set(node, subs);
      }
      subs.push(++this.#epoch);
      this.#kernel.monitorNode(pid, address);
    }
    item.epoch = subs[subs.length - 1]!;
    let waits = this.#waits.get(node);
    if (waits === undefined) {
      waits = new Set();
      this.#waits.set(node, waits);
    }
    waits.add(item);
  }

  /** Stops watching on behalf of `item` (it completed). */
  remove(item: Watched): void {
    const waits = this.#waits.get(item.node);
    if (waits === undefined) return;
    waits.delete(item);
    if (waits.size === 0) this.#waits.delete(item.node);
  }

  /**
   * A `nodedown` arrived: fail the waits its subscription covered.
   *
   * @param node the node
   * @param reason the kernel's reason
   */
  nodeDown(node: string, reason: string): void {
    const subs = this.#subs.get(node);
    if (subs === undefined) return;
    const epoch = subs.shift()!;
    if (subs.length === 0) this.#subs.delete(node);
    const waits = this.#waits.get(node);
    if (waits === undefined) return;
    for (const item of waits) {
      if (item.epoch > epoch) continue;
      waits.delete(item);
      item.lost(reason);
    }
    if (waits.size === 0) this.#waits.delete(node);
  }

  /** Fails every wait (the node is stopping). */
  failAll(reason: string): void {
    const all = [...this.#waits.values()].flatMap((w) => [...w]);
    this.#waits.clear();
    this.#subs.clear();
    for (const item of all) item.lost(reason);
  }
}
