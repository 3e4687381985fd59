import assert from "node:assert/strict";
import { createStrategy, loadClusterConfig, parseClusterConfig } from "../../src/cluster/config.ts";

Deno.test("parseClusterConfig() reads several topologies, quorum, overlap prevention and chaos", () => {
  const c = parseClusterConfig({
    topologies: {
      a: { strategy: "static", config: { nodes: ["x@h"] }, disconnectUnlisted: true },
      b: {
        strategy: "gossip",
        config: { seeds: ["127.0.0.1:45892"] },
        reconnect: { initial: 10, max: 100, jitter: 0 },
      },
      c: { strategy: "dns_poll", config: { query: "q", nodeBasename: "app", port: 9000 } },
      d: { strategy: "kubernetes_dns", config: { service: "s", applicationName: "app" } },
      e: { strategy: "epmd_hosts", config: { hosts: ["127.0.0.1"] } },
    },
    quorum: { expected: ["x@h", "y@h", "z@h"], size: 2 },
    preventOverlappingPartitions: { probeInterval: 500, grace: 1000 },
    chaos: true,
  });
  assert.deepEqual(Object.keys(c.topologies), ["a", "b", "c", "d", "e"]);
  assert.equal(c.topologies.a!.disconnectUnlisted, true);
  assert.deepEqual(c.topologies.b!.reconnect, { initial: 10, max: 100, jitter: 0 });
  assert.deepEqual(c.quorum, { expected: ["x@h", "y@h", "z@h"], size: 2 });
  assert.deepEqual(c.preventOverlappingPartitions, { probeInterval: 500, grace: 1000 });
  assert.equal(c.chaos, true);
});

Deno.test("parseClusterConfig() names the bad value", () => {
  const bad: [unknown, RegExp][] = [
    [[], /cluster config: expected an object/],
    [{ topologies: {}, extra: 1 }, /unknown key "extra"/],
    [
      { topologies: { t: { strategy: "dnspoll" } } },
      /topologies\.t\.strategy: unknown strategy "dnspoll"/,
    ],
    [
      { topologies: { t: { strategy: "static", config: { nodes: ["nohost"] } } } },
      /topologies\.t\.config\.nodes\[0\]/,
    ],
    [
      { topologies: { t: { strategy: "static", config: { node: [] } } } },
      /topologies\.t\.config: unknown key "node"/,
    ],
    [
      { topologies: { t: { strategy: "gossip", config: { seeds: ["nope"] } } } },
      /seeds\[0\]: expected host:port/,
    ],
    [{
      topologies: {
        t: { strategy: "dns_poll", config: { query: "q", nodeBasename: "a", port: 70000 } },
      },
    }, /port: must be 1-65535/],
    [{
      topologies: {
        t: { strategy: "static", config: { nodes: [] }, reconnect: { initial: 500, max: 100 } },
      },
    }, /initial must not exceed max/],
    [
      { topologies: { "a b": { strategy: "static", config: { nodes: [] } } } },
      /a topology name may hold/,
    ],
    [
      { topologies: {}, preventOverlappingPartitions: "yes" },
      /preventOverlappingPartitions: expected an object/,
    ],
    [{ topologies: {}, chaos: 1 }, /chaos: expected true or false/],
  ];
  for (const [raw, pattern] of bad) {
    assert.throws(() => parseClusterConfig(raw), pattern, JSON.stringify(raw));
  }
});

Deno.test("createStrategy() makes each kind", () => {
  assert.equal(createStrategy("static", { nodes: [] }).kind, "static");
  assert.equal(createStrategy("gossip", undefined).kind, "gossip");
  assert.throws(() => createStrategy("consul", {}), /unknown strategy "consul"/);
});

Deno.test("loadClusterConfig() names the file in its errors", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, "{ not json");
    await assert.rejects(() => loadClusterConfig(file), new RegExp(`${file}: not JSON`));
    await Deno.writeTextFile(file, '{"topologies": {"t": {"strategy": "static"}}}');
    await assert.rejects(
      () => loadClusterConfig(file),
      new RegExp(`${file}: topologies\\.t\\.config`),
    );
    await assert.rejects(() => loadClusterConfig(`${file}.missing`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(file);
  }
});
