import assert from "node:assert/strict";
import { Chaos } from "../../src/cluster/chaos.ts";
import { type ClusterEvent, isClusterEvent } from "../../src/cluster/events.ts";
import {
  parseQuorumConfig,
  type QuorumStatus,
  quorumStatus,
  QuorumWatch,
} from "../../src/cluster/quorum.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  type ClusterTestNode,
  startBareNode,
  startStaticCluster,
  stopClusterNodes,
  waitForMesh,
} from "./_helpers.ts";

Deno.test("quorumStatus() needs a strict majority unless told a size", () => {
  const all = ["a@h", "b@h", "c@h", "d@h", "e@h"];
  assert.equal(quorumStatus("a@h", all, ["b@h"]).hasQuorum, false);
  assert.equal(quorumStatus("a@h", all, ["b@h", "c@h"]).hasQuorum, true);
  assert.deepEqual(quorumStatus("a@h", all, ["b@h", "x@h"]).reachable, ["a@h", "b@h"]);
  assert.equal(quorumStatus("a@h", all, [], 1).hasQuorum, true);
  assert.throws(() => quorumStatus("a@h", all, [], 6), RangeError);
  // A node outside the expected set does not count itself.
  assert.equal(quorumStatus("z@h", ["a@h", "b@h", "c@h"], ["a@h"]).reachable.length, 1);
});

Deno.test("QuorumWatch reports a loss and a regain once each, and nothing while still forming", () => {
  const w = new QuorumWatch("a@h", { expected: ["a@h", "b@h", "c@h"] });
  assert.equal(w.update([], []).transition, undefined);
  assert.equal(w.update(["b@h"], []).transition, undefined);
  assert.equal(w.update(["b@h", "c@h"], []).transition, undefined);
  assert.equal(w.update([], []).transition, "lost");
  assert.equal(w.update([], []).transition, undefined);
  assert.equal(w.update(["c@h"], []).transition, "regained");
});

Deno.test("QuorumWatch without an expected list counts the listed nodes seen connected", () => {
  const w = new QuorumWatch("a@h");
  // Discovery alone never loses the quorum.
  assert.equal(w.update([], ["b@h", "c@h"]).status.hasQuorum, true);
  w.update(["b@h", "c@h"], ["b@h", "c@h"]);
  assert.deepEqual(w.status([], []).expected, ["a@h", "b@h", "c@h"]);
  assert.equal(w.update([], ["b@h", "c@h"]).transition, "lost");
});

Deno.test("parseQuorumConfig() checks names and size", () => {
  assert.throws(
    () => parseQuorumConfig({ expected: ["nohost"] }, "quorum"),
    /quorum\.expected\[0\]/,
  );
  assert.throws(() => parseQuorumConfig({ expected: ["a@h"], size: 2 }, "quorum"), RangeError);
  assert.throws(() => parseQuorumConfig({ size: 0 }, "quorum"), RangeError);
  assert.throws(() => parseQuorumConfig({ extra: 1 }, "quorum"), /unknown key "extra"/);
});

Deno.test("Cluster: quorum lost on the minority side of a partition and regained when it heals", async () => {
  const names = ["a", "b", "c", "d", "e"];
  const expected = names.map((n) => `${n}@127.0.0.1`);
  const callbacks: [string, QuorumStatus][] = [];
  const nodes: ClusterTestNode[] = await startStaticCluster(names, {
    quorum: { expected },
  });
  const controller = await startBareNode("ctl@127.0.0.1", { hidden: true });
  const chaos = new Chaos(controller);
  const watchers = nodes.map((n) => {
    const ctx = n.node.runtime.open({ label: "quorum watcher" });
    n.cluster.subscribe(ctx.self);
    n.cluster.on((e) => {
      if (e.type === "partition" || e.type === "quorum_regained") {
        callbacks.push([n.node.name, e as never]);
      }
    });
    return ctx;
  });
  const next = (i: number, type: ClusterEvent["type"]) =>
    watchers[i]!.receive<ClusterEvent>((m) => isClusterEvent(m) && m.type === type, {
      timeout: 10_000,
    });
  try {
    await waitForMesh(nodes.map((n) => n.node));
    assert.ok(nodes.every((n) => n.cluster.hasQuorum()));
    for (const n of nodes) assert.ok(await controller.connect(`${n.node.name}:${n.node.port}`));

    await chaos.partition(expected.slice(0, 2), expected.slice(2));
    const lostA = await next(0, "partition");
    await next(1, "partition");
    assert.deepEqual(lostA.type === "partition" && lostA.reachable, ["a@127.0.0.1", "b@127.0.0.1"]);
    assert.deepEqual(lostA.type === "partition" && lostA.unreachable, expected.slice(2));
    assert.equal(nodes[0]!.cluster.hasQuorum(), false);
    assert.equal(nodes[1]!.cluster.quorum().size, 3);
    await waitFor(() => nodes.slice(2).every((n) => n.node.list().length === 2));
    assert.ok(nodes.slice(2).every((n) => n.cluster.hasQuorum()));

    await chaos.heal();
    await next(0, "quorum_regained");
    await next(1, "quorum_regained");
    await waitForMesh(nodes.map((n) => n.node));
    assert.ok(nodes.every((n) => n.cluster.hasQuorum()));
    // Only the minority side saw a transition, once each way.
    assert.deepEqual(
      callbacks.map(([node, e]) => `${node} ${(e as unknown as ClusterEvent).type}`).sort(),
      [
        "a@127.0.0.1 partition",
        "a@127.0.0.1 quorum_regained",
        "b@127.0.0.1 partition",
        "b@127.0.0.1 quorum_regained",
      ],
    );
  } finally {
    for (const w of watchers) w.exit();
    chaos.close();
    await stopClusterNodes(nodes);
    await controller.stop();
  }
});

Deno.test("Cluster: onPartition and onQuorum callbacks run with the quorum at that moment", async () => {
  const seen: string[] = [];
  const expected = ["a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1"];
  const nodes = await startStaticCluster(["a", "b", "c"], {
    quorum: { expected },
    onPartition: (q) => seen.push(`partition ${q.reachable.length}/${q.size}`),
    onQuorum: (q) => seen.push(`quorum ${q.reachable.length}/${q.size}`),
  });
  const chaos = new Chaos(nodes[0]!.node);
  try {
    await waitForMesh(nodes.map((n) => n.node));
    await chaos.partition(["a@127.0.0.1"], ["b@127.0.0.1", "c@127.0.0.1"]);
    await waitFor(() => seen.includes("partition 1/2"));
    await chaos.heal();
    await waitFor(() => seen.includes("quorum 3/2") || seen.includes("quorum 2/2"));
    // Only a, the minority, lost it.
    assert.equal(seen.filter((s) => s.startsWith("partition")).length, 1);
  } finally {
    chaos.close();
    await stopClusterNodes(nodes);
  }
});
