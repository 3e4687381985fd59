// The seed's "process migrates on node failure", with weft/testing.
import assert from "node:assert/strict";
import { rpc } from "../../src/mod.ts";
import { LocalCluster } from "../../src/testing/mod.ts";

Deno.test("process migrates on node failure", async () => {
  // Start cluster
  const cluster = await LocalCluster.start(["node1", "node2"], {
    script: new URL("./singleton_app.ts", import.meta.url),
    readyLine: /APP-READY/,
  });
  try {
    // The worker runs on one node; ask the last node where (it calls { global: "worker" }).
    const runtime = cluster.controller.runtime;
    const where = () =>
      rpc.call<string>(cluster.running().at(-1)!, "worker", "where", [], { runtime });
    const first = await where();
    // Kill that node (kill -9)
    await cluster.kill(first);
    // The worker should restart on the other node
    const other = cluster.names.find((n) => n !== first)!;
    let now: string | undefined;
    const deadline = Date.now() + 20_000;
    while (now === undefined && Date.now() < deadline) {
      now = await where().catch(() => undefined);
      if (now === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(now, other);
  } finally {
    await cluster.close();
  }
});
