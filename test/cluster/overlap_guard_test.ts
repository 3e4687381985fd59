import assert from "node:assert/strict";
import type { ClusterEvent } from "../../src/cluster/events.ts";
import { Faults } from "../../src/cluster/faults.ts";
import { missingLinksKeep } from "../../src/cluster/overlap_guard.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  type ClusterTestNode,
  startStaticCluster,
  stopClusterNodes,
  waitForMesh,
} from "./_helpers.ts";

Deno.test("missingLinksKeep() keeps a fully connected set, dropping the node with most lost links first", () => {
  assert.deepEqual([...missingLinksKeep("c", ["a", "b"], [["a", "b"]])].sort(), ["a", "c"]);
  assert.deepEqual([...missingLinksKeep("c", ["a", "b"], [["b", "a"]])].sort(), ["a", "c"]);
  // b lost both a1 and a2: b goes, even though it sorts first by name.
  assert.deepEqual(
    [...missingLinksKeep("z", ["b", "a1", "a2"], [["a1", "b"], ["a2", "b"]])].sort(),
    ["a1", "a2", "z"],
  );
  // Two sides {a, d} and {b, c} with every cross link lost: the side of the first name stays.
  const cross: [string, string][] = [["a", "b"], ["a", "c"], ["d", "b"], ["d", "c"]];
  assert.deepEqual([...missingLinksKeep("x", ["a", "b", "c", "d"], cross)].sort(), ["a", "d", "x"]);
  assert.deepEqual([...missingLinksKeep("x", ["a", "b"], [])].sort(), ["a", "b", "x"]);
});

const guard = { preventOverlappingPartitions: { probeInterval: 100, grace: 500 } };

Deno.test("preventOverlappingPartitions: a lost link a-b seen from c and d becomes clean partitions, undone when it heals", async () => {
  const nodes = await startStaticCluster(["a", "b", "c", "d"], guard);
  const [a, b, c, d] = nodes as [
    ClusterTestNode,
    ClusterTestNode,
    ClusterTestNode,
    ClusterTestNode,
  ];
  const events: [string, ClusterEvent][] = [];
  for (const n of nodes) n.cluster.on((e) => events.push([n.node.name, e]));
  const faults = new Faults();
  try {
    await waitForMesh(nodes.map((n) => n.node));
    await faults.cut([a.node], [b.node]);
    // c and d see both ends of the lost link: both keep a and cut b off.
    await waitFor(() =>
      c.node.list().sort().join() === "a@127.0.0.1,d@127.0.0.1" &&
      d.node.list().sort().join() === "a@127.0.0.1,c@127.0.0.1" &&
      b.node.list().length === 0
    );
    assert.deepEqual(a.node.list().sort(), ["c@127.0.0.1", "d@127.0.0.1"]);
    const cut = events.filter(([, e]) => e.type === "overlap_disconnect");
    assert.deepEqual(
      [...new Set(cut.map(([node, e]) => `${node} ${e.type === "overlap_disconnect" && e.node}`))]
        .sort(),
      ["c@127.0.0.1 b@127.0.0.1", "d@127.0.0.1 b@127.0.0.1"],
    );
    assert.deepEqual(c.cluster.overlap()?.dropped, ["b@127.0.0.1"]);
    // The topologies keep dialling b, and are refused while the overlap lasts.
    assert.ok(!(await c.node.connect("b@127.0.0.1")));

    await faults.heal();
    await waitForMesh(nodes.map((n) => n.node));
    await waitFor(() =>
      events.filter(([, e]) => e.type === "overlap_cleared" && e.node === "b@127.0.0.1").length ===
        2
    );
    assert.deepEqual(c.cluster.overlap()?.dropped, []);
  } finally {
    faults.close();
    await stopClusterNodes(nodes);
  }
});

Deno.test("without preventOverlappingPartitions a lost link a-b leaves c connected to both", async () => {
  const nodes = await startStaticCluster(["a", "b", "c"]);
  const [a, b, c] = nodes as [ClusterTestNode, ClusterTestNode, ClusterTestNode];
  const faults = new Faults();
  try {
    await waitForMesh(nodes.map((n) => n.node));
    await faults.cut([a.node], [b.node]);
    await waitFor(() =>
      a.node.list().join() === "c@127.0.0.1" && b.node.list().join() === "c@127.0.0.1"
    );
    assert.deepEqual(c.node.list().sort(), ["a@127.0.0.1", "b@127.0.0.1"]);
    assert.equal(c.cluster.overlap(), undefined);
    await faults.heal();
    await waitForMesh(nodes.map((n) => n.node));
  } finally {
    faults.close();
    await stopClusterNodes(nodes);
  }
});

Deno.test("preventOverlappingPartitions: a node that dies and restarts is not cut off for the others' stale reports", async () => {
  const nodes = await startStaticCluster(["a", "b", "c"], guard);
  const events: ClusterEvent[] = [];
  for (const n of nodes) n.cluster.on((e) => events.push(e));
  try {
    await waitForMesh(nodes.map((n) => n.node));
    // b goes away for everyone at once (a crash), then comes back at once.
    const b = nodes[1]!;
    const port = b.node.port;
    await b.cluster.stop();
    await b.node.stop();
    const { startBareNode } = await import("./_helpers.ts");
    const { startCluster } = await import("../../src/cluster/cluster.ts");
    const again = await startBareNode("b@127.0.0.1", { port });
    nodes[1] = {
      node: again,
      cluster: await startCluster(again, {
        cookie: "cluster-test-cookie",
        topologies: {
          all: {
            strategy: "static",
            config: { nodes: nodes.map((n) => `${n.node.name}:${n.node.port}`) },
          },
        },
        ...guard,
      }),
    };
    await waitForMesh(nodes.map((n) => n.node));
    assert.ok(!events.some((e) => e.type === "overlap_disconnect"), JSON.stringify(events));
  } finally {
    await stopClusterNodes(nodes);
  }
});
