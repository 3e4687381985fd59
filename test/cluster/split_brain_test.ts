import assert from "node:assert/strict";
import { parseClusterConfig } from "../../src/cluster/config.ts";
import type { ClusterEvent, SplitBrainDecided } from "../../src/cluster/events.ts";
import { Faults } from "../../src/cluster/faults.ts";
import { decideSplitBrain, parseSplitBrainConfig } from "../../src/cluster/split_brain.ts";
import { LocalCluster } from "../../src/testing/mod.ts";
import { waitFor } from "../helpers/wait.ts";
import { startStaticCluster, stopClusterNodes, waitForMesh } from "./_helpers.ts";

const members = ["a@h", "b@h", "c@h", "d@h", "e@h"];
const view = (self: string, reachable: string[], oldest?: string) => ({
  self,
  members,
  reachable,
  ...(oldest !== undefined ? { oldest } : {}),
});

Deno.test("decideSplitBrain(): each strategy gives one side keep and the other down", () => {
  const left = ["a@h", "b@h"];
  const right = ["c@h", "d@h", "e@h"];
  const both = (options: Parameters<typeof decideSplitBrain>[0], oldest?: string) => [
    decideSplitBrain(options, view("a@h", left, oldest)).decision,
    decideSplitBrain(options, view("c@h", right, oldest)).decision,
  ];
  assert.deepEqual(both({ strategy: "keep-majority" }), ["down", "keep"]);
  assert.deepEqual(both({ strategy: "static-quorum", quorumSize: 3 }), ["down", "keep"]);
  assert.deepEqual(both({ strategy: "keep-oldest" }, "b@h"), ["keep", "down"]);
  assert.deepEqual(both({ strategy: "keep-referee", referee: "a@h" }), ["keep", "down"]);
  assert.deepEqual(
    both({ strategy: "keep-referee", referee: "a@h", downAllIfLessThanNodes: 3 }),
    ["down", "down"],
  );
  assert.deepEqual(both({ strategy: "off" }), ["keep", "keep"]);
  // An even split under keep-majority: the side with the smallest name keeps running.
  const four = { self: "a@h", members: ["a@h", "b@h", "c@h", "d@h"], reachable: ["a@h", "b@h"] };
  assert.equal(decideSplitBrain({ strategy: "keep-majority" }, four).decision, "keep");
  assert.equal(
    decideSplitBrain({ strategy: "keep-majority" }, {
      ...four,
      self: "c@h",
      reachable: ["c@h", "d@h"],
    })
      .decision,
    "down",
  );
  // keep-oldest with the oldest alone: it downs itself, the others keep running.
  assert.equal(
    decideSplitBrain({ strategy: "keep-oldest" }, view("a@h", ["a@h"], "a@h")).decision,
    "down",
  );
  assert.equal(
    decideSplitBrain({ strategy: "keep-oldest" }, view("b@h", ["b@h", "c@h", "d@h", "e@h"], "a@h"))
      .decision,
    "keep",
  );
  assert.equal(
    decideSplitBrain({ strategy: "keep-oldest", downIfAlone: false }, view("a@h", ["a@h"], "a@h"))
      .decision,
    "keep",
  );
  assert.match(
    decideSplitBrain({ strategy: "keep-majority" }, view("a@h", left)).reason,
    /2 of 5 members is a minority/,
  );
});

Deno.test("parseSplitBrainConfig() checks strategies, actions and what each strategy needs", () => {
  assert.deepEqual(
    parseSplitBrainConfig({ strategy: "keep-referee", referee: "a@h", action: "read-only" }, "s"),
    {
      strategy: "keep-referee",
      referee: "a@h",
      action: "read-only",
    },
  );
  assert.throws(
    () => parseSplitBrainConfig({ strategy: "majority" }, "s"),
    /s\.strategy: expected one of keep-majority/,
  );
  assert.throws(
    () => parseSplitBrainConfig({ strategy: "static-quorum" }, "s"),
    /needs a quorumSize/,
  );
  assert.throws(
    () => parseSplitBrainConfig({ strategy: "keep-majority", action: "halt" }, "s"),
    /s\.action/,
  );
  assert.throws(
    () => parseSplitBrainConfig({ strategy: "keep-majority", stable: 1 }, "s"),
    /unknown key "stable"/,
  );
  const c = parseClusterConfig({
    topologies: {},
    splitBrainResolver: { strategy: "keep-oldest", stableAfter: 500 },
  });
  assert.equal(c.splitBrainResolver?.strategy, "keep-oldest");
});

Deno.test("split-brain resolver (keep-majority, read-only): after a stable partition the minority goes read-only, the majority keeps running; a heal lifts it", async () => {
  const nodes = await startStaticCluster(["a", "b", "c"], {
    splitBrainResolver: { strategy: "keep-majority", stableAfter: 300, action: "read-only" },
  });
  try {
    await waitForMesh(nodes.map((n) => n.node));
    const events = new Map<string, ClusterEvent[]>();
    for (const n of nodes) {
      events.set(n.node.name, []);
      n.cluster.on((e) => events.get(n.node.name)!.push(e));
    }
    const decisions = (name: string) =>
      events.get(name)!.filter((e): e is SplitBrainDecided => e.type === "split_brain_decision");
    const [a, b, c] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    const faults = new Faults();
    await faults.cut([a.node, b.node], [c.node]);
    await waitFor(() => nodes.every((n) => decisions(n.node.name).length === 1), {
      timeout: 10_000,
    });
    const [ofA] = decisions(a.node.name);
    const [ofC] = decisions(c.node.name);
    assert.equal(ofA!.decision, "keep");
    assert.deepEqual(ofA!.downed, [c.node.name]);
    assert.equal(ofA!.action, "none");
    assert.equal(decisions(b.node.name)[0]!.decision, "keep");
    assert.equal(ofC!.decision, "down");
    assert.equal(ofC!.action, "read-only");
    assert.match(ofC!.reason, /1 of 3 members is a minority/);
    assert.equal(c.cluster.readOnly(), true);
    assert.equal(a.cluster.readOnly(), false);
    await faults.heal();
    faults.close();
    await waitFor(() => !c.cluster.readOnly(), { timeout: 10_000 });
    assert.ok(events.get(c.node.name)!.some((e) => e.type === "split_brain_healed"));
  } finally {
    await stopClusterNodes(nodes);
  }
});

Deno.test("split-brain resolver across real processes: the minority node exits, the majority keeps running", async () => {
  const cluster = await LocalCluster.start(["sbr1", "sbr2", "sbr3"], {
    cluster: {
      splitBrainResolver: { strategy: "keep-majority", stableAfter: 500, action: "exit-process" },
    },
  });
  try {
    const [n1, n2, n3] = cluster.names as [string, string, string];
    await cluster.partition([n1, n2], [n3]);
    const loser = cluster.peer(n3);
    await loser.waitForOutput(
      /Split brain \(keep-majority\): this side goes down \(exit-process\)/,
      {
        timeout: 20_000,
      },
    );
    await waitFor(() => loser.exited, { timeout: 20_000 });
    assert.deepEqual(cluster.running(), [n1, n2]);
    await cluster.peer(n1).waitForOutput(/Split brain \(keep-majority\): this side keeps running/, {
      timeout: 20_000,
    });
    assert.deepEqual(await cluster.list(n1), [n2]);
  } finally {
    await cluster.close();
  }
});

Deno.test("split-brain resolver (static-quorum, stop-node): the side below the quorum stops its node", async () => {
  const nodes = await startStaticCluster(["a", "b", "c"], {
    splitBrainResolver: { strategy: "static-quorum", quorumSize: 2, stableAfter: 200 },
  });
  try {
    await waitForMesh(nodes.map((n) => n.node));
    const c = nodes[2]!;
    let stopped = false;
    const stop = c.node.stop.bind(c.node);
    (c.node as { stop: () => Promise<void> }).stop = () => {
      stopped = true;
      return stop();
    };
    const faults = new Faults();
    await faults.cut([nodes[0]!.node, nodes[1]!.node], [c.node]);
    faults.close();
    await waitFor(() => stopped, { timeout: 10_000 });
    assert.equal(nodes[0]!.node.list().includes(c.node.name), false);
  } finally {
    await stopClusterNodes(nodes);
  }
});
