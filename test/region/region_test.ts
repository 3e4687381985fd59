/**
 * Multi-region clusters in one process: 3 regions x 3 nodes, each region
 * a mesh of its own found by its static topology, linked only through
 * gateways; replicated keys, topic broadcasts, sends, rpc and monitors
 * across regions; a gateway lost and replaced.
 */
import assert from "node:assert/strict";
import { runInProcess } from "../../src/process/current.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import type { RegionSpec } from "../../src/region/types.ts";
import { type EpmdServer, startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

const REGIONS = ["east", "west", "north"] as const;

/** The private port mapper of the running test's nodes, found through it by name. */
const mappers = new WeakMap<Map<string, TestNode[]>, EpmdServer>();

async function startRegions(perRegion = 3, gateways = 1): Promise<Map<string, TestNode[]>> {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const regions: Record<string, RegionSpec> = {};
  for (const r of REGIONS) {
    const names = Array.from({ length: perRegion }, (_, i) => `${r[0]}${i + 1}@127.0.0.1`);
    regions[r] = {
      topologies: { mesh: { strategy: "static", config: { nodes: names } } },
      gateways,
    };
  }
  const out = new Map<string, TestNode[]>();
  mappers.set(out, epmd);
  try {
    for (const r of REGIONS) {
      const nodes: TestNode[] = [];
      out.set(r, nodes);
      for (let i = 0; i < perRegion; i++) {
        nodes.push(
          await startTestNode(`${r[0]}${i + 1}`, {
            epmdPort: epmd.port,
            replicator: { deltaInterval: 10, antiEntropyInterval: 200 },
            regions: {
              region: r,
              regions,
              replicated: ["shared:*"],
              topics: ["news"],
              batchInterval: 20,
            },
          }),
        );
      }
    }
  } catch (e) {
    await stopRegions(out);
    throw e;
  }
  return out;
}

async function stopRegions(regions: Map<string, TestNode[]>): Promise<void> {
  await stopAll(all(regions));
  await mappers.get(regions)?.close();
}

function all(regions: Map<string, TestNode[]>): TestNode[] {
  return [...regions.values()].flat();
}

/** Cross-region connections (each counted at both ends). */
function links(regions: Map<string, TestNode[]>): number {
  return all(regions).reduce((sum, n) => sum + n.list("hidden").length, 0) / 2;
}

/**
 * Waits until every region is a mesh of its own, every node knows the other
 * regions, and only gateways link regions (while each node is alone at start
 * it is its region's gateway and may dial; those links go once meshes form).
 */
async function waitForRegions(regions: Map<string, TestNode[]>, gateways = 1): Promise<void> {
  await waitFor(() =>
    links(regions) === gateways * gateways * 3 &&
    [...regions.values()].every((nodes) =>
      nodes.every((n) =>
        n.list().length === nodes.length - 1 &&
        n.list("hidden").length === (n.regions!.isGateway() ? 2 * gateways : 0) &&
        Object.values(n.regions!.status().regions).every((r) =>
          r.members.length === nodes.length
        ) &&
        Object.keys(n.regions!.status().regions).length === REGIONS.length - 1
      )
    ), { timeout: 30_000, message: "regions did not form" });
}

Deno.test("3 regions x 3 nodes: each region a mesh of its own, linked through one gateway each; Node.list() is the region", async () => {
  const regions = await startRegions();
  try {
    await waitForRegions(regions);
    for (const [r, nodes] of regions) {
      const names = nodes.map((n) => n.name).sort();
      for (const n of nodes) {
        assert.deepEqual([...n.list(), n.name].sort(), names, `${n.name}'s mesh is ${r}`);
        assert.equal(n.regions!.region, r);
        assert.deepEqual(n.regions!.gateways(), [names[0]]);
        assert.equal(n.regions!.leader("west"), "w1@127.0.0.1");
      }
    }
    // Cross-region connections: one per pair of regions (gateway to gateway), hidden.
    for (const n of all(regions)) {
      assert.equal(n.list("hidden").length, n.regions!.isGateway() ? 2 : 0, n.name);
    }
    assert.ok(links(regions) <= 2 * 1 * REGIONS.length ** 2);
    assert.equal(regions.get("east")![1]!.regions!.regionOf("n3@127.0.0.1"), "north");
  } finally {
    await stopRegions(regions);
  }
});

Deno.test("a replicated key updated anywhere reaches every region; a key not marked global stays in its region", async () => {
  const regions = await startRegions();
  try {
    await waitForRegions(regions);
    const e2 = regions.get("east")![1]!;
    const w3 = regions.get("west")![2]!;
    e2.replicator.open("local:hits", "g-counter");
    await e2.replicator.update("local:hits", (c) => c.increment(1));
    for (const n of all(regions)) n.replicator.open("shared:hits", "g-counter");
    await e2.replicator.update("shared:hits", (c) => c.increment(5));
    await w3.replicator.update("shared:hits", (c) => c.increment(2));
    await waitFor(
      () => all(regions).every((n) => n.replicator.value("shared:hits") === 7),
      { timeout: 20_000, message: "shared:hits did not converge" },
    );
    // Same region: the local key is there; other regions never hold it.
    await waitFor(() =>
      regions.get("east")!.every((n) => n.replicator.keys().includes("local:hits"))
    );
    for (const r of ["west", "north"]) {
      for (const n of regions.get(r)!) assert.ok(!n.replicator.keys().includes("local:hits"));
    }
    const traffic = regions.get("east")![0]!.regions!.traffic();
    assert.deepEqual(traffic.map((t) => t.to), ["north", "west"]);
    assert.ok(traffic.every((t) => t.batches >= 1 && t.bytes > 0));
    const lag = regions.get("west")![0]!.regions!.lag();
    assert.ok(lag.some((l) => l.from === "east" && l.batches >= 1), JSON.stringify(lag));
  } finally {
    await stopRegions(regions);
  }
});

Deno.test("sends, rpc, monitors and global topics cross regions through the gateways", async () => {
  const regions = await startRegions();
  try {
    await waitForRegions(regions);
    const e3 = regions.get("east")![2]!;
    const w2 = regions.get("west")![1]!;
    const n2 = regions.get("north")![1]!;
    // A registered process on w2, reached from e3 by name.
    const inbox = w2.runtime.open();
    w2.runtime.register("inbox", inbox.self);
    const sender = e3.runtime.open();
    sender.send({ name: "inbox", node: w2.name }, { hello: "from east" });
    assert.deepEqual(await inbox.receive(undefined, { timeout: 10_000 }), { hello: "from east" });
    // A reply to the sender's pid goes back the same way.
    inbox.send(sender.self, "back");
    assert.equal(await sender.receive(undefined, { timeout: 10_000 }), "back");
    assert.deepEqual(e3.list("all").sort(), ["e1@127.0.0.1", "e2@127.0.0.1"], "never dialled w2");
    // rpc across.
    const answer = await runInProcess(e3.runtime.open(), () => rpc.call(w2.name, "node", "self"));
    assert.equal(answer, w2.name);
    // A topic marked global: once in every region.
    const got: unknown[] = [];
    n2.pubsub.subscribe("news", (msg) => got.push(msg));
    e3.pubsub.broadcast("news", "headline");
    await waitFor(() => got.length === 1, { timeout: 10_000 });
    // A monitor across regions fires when that node is gone.
    const watcher = e3.runtime.open();
    const far = w2.runtime.open();
    watcher.monitor(far.self);
    await w2.stop();
    const down = await watcher.receive<{ type: string; reason: unknown }>(undefined, {
      timeout: 15_000,
    });
    assert.equal(down.type, "DOWN");
    assert.equal(down.reason, "noconnection");
    assert.deepEqual(got, ["headline"], "the broadcast came once");
  } finally {
    await stopRegions(regions);
  }
});

Deno.test("a lost gateway is replaced by the next node of its region, which links again; replication goes on", async () => {
  const regions = await startRegions();
  try {
    await waitForRegions(regions);
    for (const n of all(regions)) n.replicator.open("shared:votes", "pn-counter");
    const [e1, e2, e3] = regions.get("east")!;
    await e1!.stop();
    await waitFor(() => e2!.regions!.isGateway() && e3!.regions!.gateways()[0] === e2!.name);
    await e3!.replicator.update("shared:votes", (c) => c.increment(3));
    const others = [...regions.get("west")!, ...regions.get("north")!];
    await waitFor(() => others.every((n) => n.replicator.value("shared:votes") === 3), {
      timeout: 20_000,
      message: "no replication after the gateway was replaced",
    });
    await waitFor(() =>
      others.every((n) => n.regions!.status().regions.east?.gateways[0] === e2!.name)
    );
  } finally {
    await stopRegions(regions);
  }
});

Deno.test("a region cut off keeps working, the others too; after the heal every replicated key converges, with bytes for what changed", async () => {
  const regions = await startRegions();
  try {
    await waitForRegions(regions);
    const east = regions.get("east")!;
    const rest = [...regions.get("west")!, ...regions.get("north")!];
    for (const n of all(regions)) {
      n.replicator.open("shared:a", "pn-counter");
      n.replicator.open("shared:b", "or-set");
    }
    // 1,000 keys every region holds already, which the split leaves alone.
    const w1 = regions.get("west")![0]!;
    for (let i = 0; i < 1000; i++) {
      await w1.replicator.open(`shared:k${i}`, "lww-register").update((r) => r.set(`v${i}`));
    }
    await waitFor(() => all(regions).every((n) => n.replicator.keys().length >= 1002), {
      timeout: 30_000,
    });
    // Cut east off: no east node may reach any other region's node, and back.
    for (const e of east) for (const o of rest) e.kernel.block(o.name);
    for (const o of rest) for (const e of east) o.kernel.block(e.name);
    await waitFor(() => east.every((e) => e.list("hidden").length === 0));
    await east[2]!.replicator.update("shared:a", (c) => c.increment(10));
    await east[1]!.replicator.update("shared:b", (s) => s.add("from east"));
    await rest[4]!.replicator.update("shared:a", (c) => c.increment(1));
    await rest[1]!.replicator.update("shared:b", (s) => s.add("from west"));
    // Each side converges on its own.
    await waitFor(() => east.every((n) => n.replicator.value("shared:a") === 10));
    await waitFor(() => rest.every((n) => n.replicator.value("shared:a") === 1), {
      timeout: 20_000,
    });
    const sent = () => east[0]!.regions!.traffic().reduce((n, t) => n + t.bytes, 0);
    const before = sent();
    for (const e of east) for (const o of rest) e.kernel.unblock(o.name);
    for (const o of rest) for (const e of east) o.kernel.unblock(e.name);
    await waitFor(
      () =>
        all(regions).every((n) =>
          n.replicator.value("shared:a") === 11 &&
          (n.replicator.value("shared:b") as Set<string>).size === 2
        ),
      { timeout: 30_000, message: "the regions did not converge after the heal" },
    );
    // East's leader sent bucket hashes and the keys that differ, not 1,000 keys' digests
    // (about 30 bytes each) nor their states.
    const healBytes = sent() - before;
    assert.ok(healBytes < 8000, `${healBytes} bytes to heal 2 changed keys of 1,002`);
  } finally {
    await stopRegions(regions);
  }
});

Deno.test("the regions namespace acts for the calling process's node, and says what to do on a node in no region", async () => {
  const { regions } = await import("../../src/region/namespace.ts");
  const plain = await startTestNode("plain");
  const regional = await startTestNode("r1", {
    regions: { region: "east", regions: { east: { topologies: {} } } },
  });
  try {
    const status = await runInProcess(regional.runtime.open(), () => regions.status());
    assert.equal(status.region, "east");
    assert.deepEqual(status.gateways, [regional.name]);
    await runInProcess(plain.runtime.open(), () => {
      assert.throws(() => regions.lag(), /in no region: start it with --region NAME/);
    });
  } finally {
    await stopAll([plain, regional]);
  }
});

Deno.test("malformed region operations from a peer are dropped with a bounded log line; the node and link stay up", async () => {
  const { captureLogs } = await import("../helpers/nodes.ts");
  const logs = await captureLogs("warning");
  const spec = { east: { topologies: {} }, west: { topologies: {} } };
  const e = await startTestNode("e1", { regions: { region: "east", regions: spec } });
  const w = await startTestNode("w1", { regions: { region: "west", regions: spec } });
  try {
    assert.ok(await e.regions!.link("west", w.address));
    const garbage: [number, unknown[]][] = [
      [176, [1, 42, "x", []]], // HELLO: region not a string
      [176, [1, "mars", [], []]], // HELLO: a region the config lacks
      [177, ["not a version"]], // DIRECTORY
      [178, ["w1@127.0.0.1", "e1@127.0.0.1", 0, "not bytes"]], // RELAY
      [178, ["w1@127.0.0.1", "nowhere@127.0.0.1", 9, new Uint8Array(3)]], // RELAY: too many hops
      [179, [1, 2, "entries", []]], // BATCH
      [180, ["seq"]], // ACK
      [181, [0, [1, 2, 3]]], // SYNC: wrong bucket count
      [182, [42]], // WANT
    ];
    for (let i = 0; i < 10; i++) {
      for (const [op, fields] of garbage) w.kernel.sendOp(e.name, op, fields);
    }
    assert.equal(await w.ping(e.name), "pong");
    await logs.waitFor(/Dropping a region \w+ from w1@127\.0\.0\.1/);
    const lines = logs.lines.filter((l) => /Dropping a region/.test(l));
    assert.ok(
      lines.length <= 20,
      `${lines.length} lines for 90 malformed operations:\n${lines.join("")}`,
    );
    assert.deepEqual(e.list("hidden"), [w.name], "the link stays up");
    assert.equal(e.regions!.status().regions.west?.links[0], w.name);
  } finally {
    await stopAll([e, w]);
    await logs.restore();
  }
});
