/**
 * Liveness and readiness of a node, as a Kubernetes probe asks them.
 *
 * - live: the node runs (its runtime has not shut down).
 * - ready: it has joined its cluster. With a cluster configuration
 *   (`--cluster-config`), that is its quorum: the expected members it
 *   reaches are a quorum (by default a majority of the largest membership
 *   seen, so a node that has never met a peer is not ready yet). Without
 *   one, a node that was told to `--connect` is ready once connected to
 *   any node, and a node on its own is ready as soon as it runs.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { readiness } from "./health.ts";
 * const node = await startNode({ name: "h@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(readiness(node).ready);
 * await node.stop();
 * console.assert(!readiness(node).ready);
 * ```
 *
 * @module
 */

import type { WeftNode } from "../node.ts";

/** Whether a node is ready, and why not. */
export interface Readiness {
  /** Ready for traffic. */
  ready: boolean;
  /** What is missing, when not ready. */
  reason?: string;
}

/**
 * Whether a node has joined its cluster (see the module doc).
 *
 * @param node the node
 * @param expectsPeers whether it was told to connect somewhere (`--connect`)
 * @returns ready, or the reason it is not
 */
export function readiness(node: WeftNode, expectsPeers = false): Readiness {
  if (node.runtime.closed) return { ready: false, reason: "the node has stopped" };
  const cluster = node.cluster;
  if (cluster !== undefined) {
    const q = cluster.quorum();
    if (!q.hasQuorum) {
      return {
        ready: false,
        reason: `no quorum: ${q.reachable.length} of ${q.size} members needed reachable`,
      };
    }
    return { ready: true };
  }
  if (expectsPeers && node.list().length === 0) {
    return { ready: false, reason: "not connected to any node yet" };
  }
  return { ready: true };
}
