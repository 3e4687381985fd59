import assert from "node:assert/strict";
import { startCluster } from "../../src/cluster/cluster.ts";
import type { ClusterEvent } from "../../src/cluster/events.ts";
import { StaticStrategy } from "../../src/cluster/strategies/static.ts";
import type { DiscoveredNode, Strategy, StrategyContext } from "../../src/cluster/strategy.ts";
import { captureLogs } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";
import { COOKIE, startBareNode } from "./_helpers.ts";

Deno.test("Topology dials a lost node again with backoff while its list stays the same", async () => {
  const b = await startBareNode("b@127.0.0.1");
  const port = b.port;
  let b2: typeof b | undefined;
  const a = await startBareNode("a@127.0.0.1");
  const logs = await captureLogs("debug");
  const cluster = await startCluster(a, {
    cookie: COOKIE,
    topologies: {
      t: {
        strategy: "static",
        config: { nodes: [`b@127.0.0.1:${port}`] },
        reconnect: { initial: 20, max: 100 },
      },
    },
  });
  const events: ClusterEvent[] = [];
  cluster.on((e) => events.push(e));
  try {
    await waitFor(() => a.list().includes("b@127.0.0.1"));
    await b.stop();
    await waitFor(() => events.some((e) => e.type === "member_lost"));
    // Several dials fail while b is away; the static list never changes.
    await waitFor(() =>
      logs.lines.filter((l) => /Topology t could not reach b@127\.0\.0\.1; next try/.test(l))
        .length >= 3
    );
    b2 = await startBareNode("b@127.0.0.1", { port });
    await waitFor(() => a.list().includes("b@127.0.0.1"));
    const connected = events.findLast((e) => e.type === "member_connected");
    assert.ok(connected?.type === "member_connected" && connected.attempts >= 3);
    assert.ok(!events.some((e) => e.type === "member_forgotten"));
  } finally {
    await logs.restore();
    await cluster.stop();
    await Promise.all([a.stop(), b.stop(), b2?.stop()]);
  }
});

Deno.test("Topology disconnects a node its strategy stops listing only with disconnectUnlisted", async () => {
  const [a, b, c] = await Promise.all(
    ["a", "b", "c"].map((n) => startBareNode(`${n}@127.0.0.1`)),
  ) as [
    Awaited<ReturnType<typeof startBareNode>>,
    Awaited<ReturnType<typeof startBareNode>>,
    Awaited<ReturnType<typeof startBareNode>>,
  ];
  const keep = new StaticStrategy({ nodes: [`c@127.0.0.1:${c.port}`] });
  const drop = new StaticStrategy({ nodes: [`b@127.0.0.1:${b.port}`, `c@127.0.0.1:${c.port}`] });
  const cluster = await startCluster(a, {
    cookie: COOKIE,
    topologies: {
      keep: { strategy: keep },
      drop: { strategy: drop, disconnectUnlisted: true },
    },
  });
  const events: ClusterEvent[] = [];
  cluster.on((e) => events.push(e));
  try {
    await waitFor(() => a.list().length === 2);
    // c is still listed by "keep": forgotten by "drop" but not disconnected.
    drop.set([]);
    assert.deepEqual(
      events.filter((e) => e.type !== "member_connected")
        .map((e) => `${e.type} ${"node" in e ? e.node : ""}`).sort(),
      [
        "member_forgotten b@127.0.0.1",
        "member_forgotten c@127.0.0.1",
        "member_removed b@127.0.0.1",
      ],
    );
    await waitFor(() => !a.list().includes("b@127.0.0.1"));
    assert.ok(a.list().includes("c@127.0.0.1"));
    assert.deepEqual(cluster.members(), ["c@127.0.0.1"]);
    assert.deepEqual(cluster.topologies().map((t) => [t.name, t.members, t.connected]), [
      ["keep", ["c@127.0.0.1"], ["c@127.0.0.1"]],
      ["drop", [], []],
    ]);
  } finally {
    await cluster.stop();
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

/** A strategy whose answers the test gives by hand. */
class Manual implements Strategy {
  readonly kind = "manual";
  context: StrategyContext | undefined;
  start(context: StrategyContext): Promise<void> {
    this.context = context;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  members(): string[] {
    return [];
  }
  report(nodes: DiscoveredNode[]): void {
    this.context!.update(nodes);
  }
}

Deno.test("a strategy object of one's own runs in a topology; bad names are skipped with a warning", async () => {
  const a = await startBareNode("a@127.0.0.1");
  const b = await startBareNode("b@127.0.0.1");
  const manual = new Manual();
  const logs = await captureLogs("warning");
  const cluster = await startCluster(a, { topologies: { mine: { strategy: manual } } });
  try {
    assert.equal(manual.context?.self, "a@127.0.0.1");
    assert.equal(manual.context?.listenPort, a.port);
    manual.report([
      { name: "not a node" },
      { name: "a@127.0.0.1" },
      { name: "b@127.0.0.1", address: { hostname: "127.0.0.1", port: b.port } },
    ]);
    await waitFor(() => a.list().includes("b@127.0.0.1"));
    await logs.waitFor(/Topology mine \(manual\) ignores not a node/);
    assert.deepEqual(cluster.members(), ["b@127.0.0.1"]);
  } finally {
    await logs.restore();
    await cluster.stop();
    await Promise.all([a.stop(), b.stop()]);
  }
});

Deno.test("startCluster() refuses a second cluster on a node and a malformed topology", async () => {
  const a = await startBareNode("a@127.0.0.1");
  const cluster = await startCluster(a, { topologies: {} });
  try {
    await assert.rejects(
      () => startCluster(a, { topologies: {} }),
      /already runs on a@127\.0\.0\.1/,
    );
    await assert.rejects(
      () => startCluster(a, { topologies: { t: { strategy: "static", config: { nodes: [1] } } } }),
      /topologies\.t\.config\.nodes\[0\]/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => startCluster(a, { topologies: { t: { strategy: {} as any } } }),
      /expected a strategy name or object/,
    );
    await assert.rejects(
      () => startCluster(a, { topologies: { g: { strategy: "gossip", config: { seeds: [] } } } }),
      /already runs/,
    );
  } finally {
    await cluster.stop();
    await a.stop();
  }
});

Deno.test("startNode({cluster}) starts the cluster with the node and stops it first", async () => {
  const b = await startBareNode("b@127.0.0.1");
  const a = await startBareNode("a@127.0.0.1", {
    cluster: {
      topologies: { t: { strategy: "static", config: { nodes: [`b@127.0.0.1:${b.port}`] } } },
    },
  });
  try {
    assert.ok(a.cluster !== undefined);
    await waitFor(() => a.list().includes("b@127.0.0.1"));
    assert.deepEqual(a.cluster.members(), ["b@127.0.0.1"]);
  } finally {
    await a.stop();
    await b.stop();
  }
  // A strategy that cannot start stops the node again.
  await assert.rejects(
    () =>
      startBareNode("c@127.0.0.1", {
        cluster: { topologies: { g: { strategy: "gossip", config: {} } } },
      }),
    /multicast/,
  );
});
