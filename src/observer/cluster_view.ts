/**
 * The cluster as the web observer shows it: every node's figures (asked of
 * each node through its `observer` rpc module), the links between nodes
 * with bytes per second, and the round trip from this node to each peer.
 *
 * ```
 * observer node --rpc observer.figures--> every visible node (and itself), 1 s deadline
 *              --ping-------------------> every peer: round trip in ms
 * snapshot = nodes + links (rates from the previous snapshot)
 * ```
 *
 * A node that does not answer in time is shown with its error; one that
 * disconnected is gone from the next snapshot.
 *
 * @module
 */

import type { WeftNode } from "../node.ts";
import type { NodeFigures } from "../introspection/observer_module.ts";

/** One node in a snapshot. */
export interface NodeView {
  /** The node. */
  node: string;
  /** Its figures, when it answered. */
  figures?: NodeFigures;
  /** Why it did not answer. */
  error?: string;
  /** Round trip from the observing node, ms (absent for itself). */
  rttMs?: number;
  /** Messages per second through its connections (in + out). */
  messagesPerSecond: number;
}

/** One link between two nodes. */
export interface LinkView {
  /** One end (the node that reported it). */
  from: string;
  /** The other end. */
  to: string;
  /** Bytes per second, both ways, as `from` counts them. */
  bytesPerSecond: number;
  /** Bytes queued on `from`'s side. */
  queued: number;
}

/** What the observer's cluster map draws. */
export interface ClusterSnapshot {
  /** The observing node. */
  self: string;
  /** `Date.now()` of the snapshot. */
  at: number;
  /** Every node. */
  nodes: NodeView[];
  /** Every link, once per pair. */
  links: LinkView[];
}

/** Takes cluster snapshots, remembering the last to compute rates. */
export class ClusterView {
  readonly #node: WeftNode;
  #last = new Map<string, { at: number; bytes: number; messages: number }>();

  /** @param node the observing node */
  constructor(node: WeftNode) {
    this.#node = node;
  }

  /** A new snapshot (asks every node for its figures). */
  async snapshot(): Promise<ClusterSnapshot> {
    const node = this.#node;
    const names = [node.name, ...node.list("visible").sort()];
    const views = await Promise.all(names.map(async (name): Promise<NodeView> => {
      const view: NodeView = { node: name, messagesPerSecond: 0 };
      const t0 = performance.now();
      try {
        if (name !== node.name) {
          if ((await node.ping(name)) === "pong") view.rttMs = performance.now() - t0;
        }
        view.figures = await node.rpc.call<NodeFigures>(name, "observer", "figures", [], {
          timeout: 1500,
        });
      } catch (e) {
        view.error = (e as Error).message;
      }
      return view;
    }));
    const at = Date.now();
    const links = new Map<string, LinkView>();
    const seen = new Set<string>();
    for (const v of views) {
      let messages = 0;
      for (const c of v.figures?.connections ?? []) {
        if (c.hidden) continue;
        messages += c.messagesIn + c.messagesOut;
        const key = [v.node, c.node].sort().join(" ");
        const counterKey = `${v.node} ${c.node}`;
        const bytes = c.bytesIn + c.bytesOut;
        const prev = this.#last.get(counterKey);
        seen.add(counterKey);
        const rate = prev !== undefined && at > prev.at && bytes >= prev.bytes
          ? (bytes - prev.bytes) * 1000 / (at - prev.at)
          : 0;
        this.#last.set(counterKey, { at, bytes, messages: c.messagesIn + c.messagesOut });
        if (!links.has(key)) {
          links.set(key, { from: v.node, to: c.node, bytesPerSecond: rate, queued: c.bytesQueued });
        }
      }
      const prev = this.#last.get(v.node);
      v.messagesPerSecond = prev !== undefined && at > prev.at && messages >= prev.messages
        ? (messages - prev.messages) * 1000 / (at - prev.at)
        : 0;
      this.#last.set(v.node, { at, bytes: 0, messages });
      seen.add(v.node);
    }
    for (const k of [...this.#last.keys()]) if (!seen.has(k)) this.#last.delete(k);
    return { self: node.name, at, nodes: views, links: [...links.values()] };
  }
}
