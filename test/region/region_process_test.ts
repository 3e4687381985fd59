/**
 * Multi-region with real OS processes: 3 regions x 2 `weft` nodes started
 * from one multi-region config (`--cluster-config F --region R`), links
 * between regions slowed by a simulated WAN, and this test's own node a
 * member of the first region (named to sort last, so never its gateway).
 * A gateway killed with `kill -9` in the middle of a burst of updates: the
 * next node of its region takes over and every update reaches every region.
 */
import assert from "node:assert/strict";
import { runInProcess } from "../../src/process/current.ts";
import { parseMultiRegionConfig } from "../../src/region/region_config.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import { startTestNode, type TestNode } from "../helpers/nodes.ts";
import { startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { waitFor } from "../helpers/wait.ts";
import { WeftProcess } from "../helpers/weft_process.ts";

/** Each real node serves the value of a replicated key to rpc, then runs until killed. */
const PROBE = "rpc.registerModule('probe', { value: (k) => crdt.keys().includes(k) ? " +
  "crdt.get(k) : -1 }); for (;;) await receive();";

const REGIONS = { east: ["e1", "e2"], west: ["w1", "w2"], north: ["n1", "n2"] };

Deno.test("kill -9 of a gateway during a burst: its region's next node takes over, no update lost in any region", async () => {
  // Nodes find each other by name through a port mapper of the test's own.
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const addr = (n: string) => `${n}@127.0.0.1`;
  const config = {
    regions: Object.fromEntries(
      Object.entries(REGIONS).map(([r, names]) => [r, {
        topologies: {
          mesh: {
            strategy: "static",
            config: { nodes: [...names, ...(r === "east" ? ["zz"] : [])].map(addr) },
          },
        },
      }]),
    ),
    replicated: ["burst:*"],
    batchInterval: 20,
    wan: { delay: 20, jitter: 5 },
  };
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config));
  const procs = new Map<string, WeftProcess>();
  let zz: TestNode | undefined;
  try {
    for (const [region, names] of Object.entries(REGIONS)) {
      for (const n of names) {
        procs.set(
          n,
          new WeftProcess([
            ...["--name", `${n}@127.0.0.1`, "--cookie", "c"],
            ...["--epmd-port", String(epmd.port), "--cluster-config", file, "--region", region],
            ...["--eval", PROBE],
          ]),
        );
      }
    }
    zz = await startTestNode("zz", {
      cookie: "c",
      epmdPort: epmd.port,
      regions: parseMultiRegionConfig(config, "east").regions,
      replicator: { deltaInterval: 10 },
    });
    const node = zz;
    await waitFor(() => {
      const s = node.regions!.status();
      return node.list().length === 2 && s.regions.west?.members.length === 2 &&
        s.regions.north?.members.length === 2;
    }, { timeout: 60_000, message: "the regions did not form" });
    assert.deepEqual(node.regions!.gateways(), ["e1@127.0.0.1"]);

    const far = ["w2@127.0.0.1", "n2@127.0.0.1"];
    const valueOn = (n: string) =>
      runInProcess(
        node.runtime.open(),
        () => rpc.call(n, "probe", "value", ["burst:n"], { timeout: 5000 }),
      ).catch((e) => String(e).slice(0, 300));
    const key = node.replicator.open("burst:n", "g-counter");
    let acknowledged = 0;
    for (let i = 0; i < 200; i++) {
      await key.update((c) => c.increment(1));
      acknowledged++;
      if (i === 100) {
        procs.get("e1")!.kill("SIGKILL");
        await procs.get("e1")!.exited();
      }
    }
    await waitFor(() => node.regions!.gateways()[0] === "e2@127.0.0.1", { timeout: 30_000 });
    const values = new Map<string, unknown>();
    try {
      await waitFor(async () => {
        for (const n of far) values.set(n, await valueOn(n));
        return far.every((n) => values.get(n) === acknowledged);
      }, { timeout: 60_000, interval: 200 });
    } catch {
      assert.fail(
        `updates were lost across regions: ${JSON.stringify([...values])}; ${
          JSON.stringify(node.regions!.status())
        }; n1: ${procs.get("n1")!.output.slice(-2000)}; n2: ${
          procs.get("n2")!.output.slice(-2000)
        }`,
      );
    }
    assert.equal(node.replicator.value("burst:n"), 200);
  } finally {
    await zz?.stop();
    await Promise.all([...procs.values()].map((p) => p.close()));
    await Deno.remove(file);
    await epmd.close();
  }
});
