import assert from "node:assert/strict";
import { loadClusterFile, parseMultiRegionConfig } from "../../src/region/region_config.ts";
import { runWeft } from "../helpers/weft_process.ts";

const REGIONS = {
  us_east: { topologies: { k8s: { strategy: "static", config: { nodes: ["e1@h", "e2@h"] } } } },
  us_west: {
    topologies: { k8s: { strategy: "static", config: { nodes: ["w1@h"] } } },
    gateways: 2,
  },
};

Deno.test("a multi-region config gives a node its region's topologies and every region's spec", () => {
  const { cluster, regions } = parseMultiRegionConfig(
    { regions: REGIONS, replicated: ["cart:*"], topics: ["news"], batchInterval: 20, chaos: true },
    "us_west",
  );
  assert.deepEqual(Object.keys(cluster.topologies), ["k8s"]);
  assert.equal(cluster.chaos, true);
  assert.equal(regions.region, "us_west");
  assert.equal(regions.regions.us_west!.gateways, 2);
  assert.deepEqual(regions.replicated, ["cart:*"]);
  assert.equal(regions.batchInterval, 20);
  // The WAN between regions: delay, jitter, loss, and bandwidth in bytes per second.
  const wan = { delay: 50, jitter: 10, loss: 0.01, bandwidth: 1_250_000 };
  assert.deepEqual(parseMultiRegionConfig({ regions: REGIONS, wan }, "us_east").regions.wan, wan);
  assert.throws(
    () => parseMultiRegionConfig({ regions: REGIONS, wan: { bandwidth: -1 } }, "us_east"),
    /wan\.bandwidth: expected bytes per second >= 0/,
  );
  assert.throws(
    () => parseMultiRegionConfig({ regions: REGIONS, wan: { rate: 1 } }, "us_east"),
    /unknown key "rate"/,
  );
});

Deno.test("a region the config does not name, no region, and malformed regions are clear errors", () => {
  assert.throws(
    () => parseMultiRegionConfig({ regions: REGIONS }, "eu_central"),
    { message: 'Region "eu_central" is not in the cluster config (its regions: us_east, us_west)' },
  );
  assert.throws(() => parseMultiRegionConfig({ regions: REGIONS }), /start it with --region NAME/);
  assert.throws(
    () => parseMultiRegionConfig({ regions: { a: { topologies: {}, gateway: 1 } } }, "a"),
    /regions\.a: unknown key "gateway"/,
  );
  assert.throws(
    () => parseMultiRegionConfig({ regions: { a: { topologies: {}, gateways: 0 } } }, "a"),
    /regions\.a\.gateways: expected a positive integer/,
  );
  assert.throws(
    () => parseMultiRegionConfig({ regions: REGIONS, topologies: {} }, "us_east"),
    /each region its own/,
  );
  assert.throws(
    () =>
      parseMultiRegionConfig(
        { regions: { a: { topologies: { t: { strategy: "dnspoll" } } } } },
        "a",
      ),
    /regions\.a\.topologies\.t/,
  );
});

Deno.test("weft --region with a region missing from the config exits 2 with one clear line", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ regions: REGIONS }));
    const run = await runWeft([
      "--name",
      "x@127.0.0.1",
      "--cookie",
      "c",
      "--no-epmd",
      "--no-repl",
      "--cluster-config",
      file,
      "--region",
      "eu_central",
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /Region "eu_central" is not in the cluster config \(its regions: us_east, us_west\)/,
    );
    await assert.rejects(loadClusterFile(file), /--region NAME/);
    await Deno.writeTextFile(file, JSON.stringify({ topologies: {} }));
    await assert.rejects(loadClusterFile(file, "us_east"), /needs a multi-region cluster config/);
  } finally {
    await Deno.remove(file);
  }
});
