import assert from "node:assert/strict";
import { GossipStrategy } from "../../../src/cluster/strategies/gossip.ts";
import type { ClusterEvent } from "../../../src/cluster/events.ts";
import { captureLogs } from "../../helpers/nodes.ts";
import { waitFor } from "../../helpers/wait.ts";
import {
  type ClusterTestNode,
  startClusterNode,
  stopClusterNodes,
  waitForMesh,
} from "../_helpers.ts";

const gossip = (seeds: string[], extra: Record<string, unknown> = {}) => ({
  strategy: "gossip" as const,
  config: { ifAddr: "127.0.0.1", port: 0, seeds, heartbeatInterval: 200, ...extra },
});

function gossipOf(n: ClusterTestNode): GossipStrategy {
  return n.cluster.topology("lan")!.strategy as GossipStrategy;
}

Deno.test("gossip: 8 nodes form a full mesh from one unicast seed, without Node.connect", async () => {
  const nodes: ClusterTestNode[] = [];
  try {
    const t0 = performance.now();
    nodes.push(await startClusterNode("g0@127.0.0.1", { topologies: { lan: gossip([]) } }));
    const seed = gossipOf(nodes[0]!).address!;
    for (let i = 1; i < 8; i++) {
      nodes.push(
        await startClusterNode(`g${i}@127.0.0.1`, {
          topologies: { lan: gossip([`${seed.hostname}:${seed.port}`]) },
        }),
      );
    }
    const ms = await waitForMesh(nodes.map((n) => n.node), 15_000, t0);
    // Gossip itself knows everyone, not only the kernel's mesh.
    await waitFor(() => nodes.every((n) => gossipOf(n).members().length === 7), {
      message: `gossip members: ${nodes.map((n) => gossipOf(n).members().length).join(",")}`,
    });
    console.log(`gossip: 8 nodes meshed ${ms.toFixed(0)} ms after the first started`);
  } finally {
    await stopClusterNodes(nodes);
  }
});

Deno.test("gossip: heartbeats signed with another secret are refused", async () => {
  const nodes: ClusterTestNode[] = [];
  const logs = await captureLogs("warning");
  try {
    nodes.push(await startClusterNode("s0@127.0.0.1", { topologies: { lan: gossip([]) } }));
    const seed = gossipOf(nodes[0]!).address!;
    const at = `${seed.hostname}:${seed.port}`;
    nodes.push(
      await startClusterNode("s1@127.0.0.1", {
        topologies: { lan: gossip([at], { secret: "not-the-cookie" }) },
      }),
    );
    await logs.waitFor(/ignoring a heartbeat: bad signature from 127\.0\.0\.1/);
    nodes.push(await startClusterNode("s2@127.0.0.1", { topologies: { lan: gossip([at]) } }));
    await waitFor(() => nodes[0]!.node.list().includes("s2@127.0.0.1"));
    assert.deepEqual(gossipOf(nodes[0]!).members(), ["s2@127.0.0.1"]);
    assert.deepEqual(gossipOf(nodes[1]!).members(), []);
    assert.ok(!nodes[0]!.node.list().includes("s1@127.0.0.1"));
  } finally {
    await stopClusterNodes(nodes);
    await logs.restore();
  }
});

Deno.test("gossip: a node that stops is forgotten after expireAfter, and comes back when it restarts", async () => {
  const nodes: (ClusterTestNode | undefined)[] = [];
  try {
    nodes.push(
      await startClusterNode("e0@127.0.0.1", {
        topologies: { lan: gossip([], { expireAfter: 600 }) },
      }),
    );
    const seed = gossipOf(nodes[0]!).address!;
    const at = `${seed.hostname}:${seed.port}`;
    const events: ClusterEvent[] = [];
    nodes[0]!.cluster.on((e) => events.push(e));
    nodes.push(
      await startClusterNode("e1@127.0.0.1", {
        topologies: { lan: gossip([at], { expireAfter: 600 }) },
      }),
    );
    await waitFor(() => nodes[0]!.node.list().includes("e1@127.0.0.1"));
    await stopClusterNodes([nodes[1]]);
    nodes[1] = undefined;
    await waitFor(() =>
      events.some((e) => e.type === "member_forgotten" && e.node === "e1@127.0.0.1")
    );
    assert.ok(events.some((e) => e.type === "member_lost" && e.node === "e1@127.0.0.1"));
    nodes[1] = await startClusterNode("e1@127.0.0.1", {
      topologies: { lan: gossip([at], { expireAfter: 600 }) },
    });
    await waitFor(() => nodes[0]!.node.list().includes("e1@127.0.0.1"));
    assert.deepEqual(gossipOf(nodes[0]!).members(), ["e1@127.0.0.1"]);
  } finally {
    await stopClusterNodes(nodes);
  }
});
