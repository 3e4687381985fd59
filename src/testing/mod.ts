/**
 * Tests of one's own cluster (`weft/testing`): real Weft nodes in their
 * own OS processes, started, stopped, killed with `kill -9`, restarted,
 * partitioned and healed from a user's `Deno.test`, as Erlang's `peer`
 * and Elixir's LocalCluster. `LocalCluster` runs a meshed set with a
 * hidden controller node; `startPeer` one node alone.
 *
 * @example
 * ```ts
 * import { LocalCluster } from "./mod.ts";
 * const cluster = await LocalCluster.start(["tm_doc1", "tm_doc2"]);
 * await cluster.kill("tm_doc2@127.0.0.1");
 * console.assert(cluster.running().length === 1);
 * await cluster.close();
 * ```
 *
 * @module
 */

export { LocalCluster, type LocalClusterOptions } from "./local_cluster.ts";
export { Peer, type PeerOptions, startPeer, type WaitOptions } from "./peer.ts";
