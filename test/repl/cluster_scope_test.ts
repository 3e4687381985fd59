import assert from "node:assert/strict";
import { runInProcess } from "../../src/process/current.ts";
import { createShellScope } from "../../repl/scope.ts";
import type { ChaosNamespace, ClusterNamespace } from "../../repl/cluster_scope.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { NotAliveError } from "../../src/errors.ts";
import { waitFor } from "../helpers/wait.ts";
import { runWeft } from "../helpers/weft_process.ts";
import {
  startBareNode,
  startStaticCluster,
  stopClusterNodes,
  waitForMesh,
} from "../cluster/_helpers.ts";

Deno.test("the shell's Cluster and Chaos act on the node's cluster", async () => {
  const nodes = await startStaticCluster(["a", "b", "c"], {
    quorum: { expected: ["a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1"] },
  });
  const a = nodes[0]!;
  const lines: string[] = [];
  const scope = createShellScope({
    runtime: a.node.runtime,
    node: a.node,
    print: (t) => lines.push(t),
  });
  const Cluster = scope.Cluster as ClusterNamespace;
  const Chaos = scope.Chaos as ChaosNamespace;
  const shell = a.node.runtime.open({ label: "shell" });
  try {
    await waitForMesh(nodes.map((n) => n.node));
    assert.deepEqual(Cluster.members(), ["b@127.0.0.1", "c@127.0.0.1"]);
    assert.equal(Cluster.topologies()[0]!.strategy, "static");
    assert.equal(Cluster.hasQuorum(), true);
    runInProcess(shell, () => Cluster.subscribe());
    await Chaos.partition(["a@127.0.0.1"], ["b@127.0.0.1", "c@127.0.0.1"]);
    const lost = await shell.receive<{ type: string }>(
      (m) => (m as { type?: string }).type === "partition",
      {
        timeout: 5000,
      },
    );
    assert.equal(lost.type, "partition");
    assert.equal(Chaos.status().cuts.length, 2);
    await Chaos.heal();
    await waitForMesh(nodes.map((n) => n.node));
    (scope.h as (x: unknown) => void)(Cluster.quorum);
    assert.match(lines.join("\n"), /Cluster\.quorum\(\)/);
  } finally {
    shell.exit();
    await stopClusterNodes(nodes);
  }
});

Deno.test("the shell's Cluster says what is missing without a node or a cluster", async () => {
  const runtime = new Runtime();
  const bare = createShellScope({ runtime });
  const a = await startBareNode("a@127.0.0.1");
  const scope = createShellScope({ runtime: a.runtime, node: a });
  try {
    assert.deepEqual((bare.Cluster as ClusterNamespace).members(), []);
    assert.throws(() => (bare.Cluster as ClusterNamespace).quorum(), NotAliveError);
    await assert.rejects(() => (bare.Chaos as ChaosNamespace).heal(), NotAliveError);
    assert.throws(
      () => (scope.Cluster as ClusterNamespace).quorum(),
      /no cluster runs on a@127\.0\.0\.1/,
    );
    const cluster = await (scope.Cluster as ClusterNamespace).start({ topologies: {} });
    assert.equal((scope.Cluster as ClusterNamespace).hasQuorum(), true);
    await cluster.stop();
    assert.equal((scope.Chaos as ChaosNamespace).agents(), true);
    await waitFor(() => a.runtime.whereis("weft_chaos") !== undefined);
  } finally {
    await a.stop();
    await runtime.shutdown();
  }
});

Deno.test("weft --cluster-config: Cluster.topologies() at the prompt (--eval)", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        topologies: { fixed: { strategy: "static", config: { nodes: ["z@127.0.0.1:1"] } } },
      }),
    );
    const run = await runWeft([
      "--name",
      "x@127.0.0.1",
      "--no-epmd",
      "--cookie",
      "c",
      "--cluster-config",
      file,
      "--eval",
      "Cluster.topologies().map((t) => `${t.name}/${t.strategy}/${t.members}`).join()",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /fixed\/static\/z@127\.0\.0\.1/);
  } finally {
    await Deno.remove(file);
  }
});
