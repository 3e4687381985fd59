/**
 * Cluster formation with real `weft` child processes: nodes that find each
 * other through `--cluster-config`, a node killed with SIGKILL and started
 * again under the same name, re-joined by the others' strategies.
 */

import assert from "node:assert/strict";
import { startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { waitFor } from "../helpers/wait.ts";
import { freePort } from "../helpers/ports.ts";
import { runWeft, WeftProcess } from "../helpers/weft_process.ts";

const COOKIE = "cluster-process-test";

/** Prints the connected nodes at start and after each change. */
const WATCH = `
monitorNodes();
const show = () => console.log("NODES " + Node.list().sort().join(","));
show();
for (;;) { await receive(); show(); }
`;

function startWeft(name: string, args: string[]): WeftProcess {
  return new WeftProcess([
    "--name",
    name,
    "--cookie",
    COOKIE,
    "--log-level",
    Deno.env.get("WEFT_TEST_LOG") ?? "info",
    ...args,
    "--eval",
    WATCH,
  ]);
}

/** The nodes of the last `NODES` line. */
function lastNodes(proc: WeftProcess): string[] | undefined {
  const lines = proc.output.split("\n").filter((l) => l.startsWith("NODES "));
  const last = lines.at(-1);
  return last === undefined ? undefined : last.slice(6).split(",").filter(Boolean);
}

async function waitForNodes(proc: WeftProcess, expected: string[], timeout = 20_000) {
  const want = [...expected].sort().join(",");
  await waitFor(() => lastNodes(proc)?.join(",") === want, {
    timeout,
    message: `Expected ${want}; last: ${lastNodes(proc)?.join(",")}; output:\n${proc.output}`,
  });
}

async function writeConfig(config: unknown): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "weft_cluster_", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config));
  return file;
}

Deno.test("weft --cluster-config: static topology; a node killed with SIGKILL and restarted is re-joined by the others", async () => {
  const names = ["k1", "k2", "k3"].map((n) => `${n}@127.0.0.1`);
  const ports = names.map(() => freePort());
  const file = await writeConfig({
    topologies: {
      fixed: {
        strategy: "static",
        config: { nodes: names.map((n, i) => `${n}:${ports[i]}`) },
        reconnect: { initial: 100, max: 400 },
      },
    },
  });
  const procs: WeftProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      procs.push(
        startWeft(names[i]!, ["--no-epmd", "--port", String(ports[i]), "--cluster-config", file]),
      );
    }
    for (let i = 0; i < 3; i++) await waitForNodes(procs[i]!, names.filter((_, j) => j !== i));
    procs[1]!.kill("SIGKILL");
    await procs[1]!.close();
    await waitForNodes(procs[0]!, [names[2]!]);
    await waitForNodes(procs[2]!, [names[0]!]);
    // The topology keeps dialling the lost node although its list has not changed.
    await procs[0]!.waitForOutput(/Member k2@127\.0\.0\.1 is down .*fixed will dial it again/);
    // Restarted without any cluster config: only the others' strategies can bring it back.
    procs[1] = startWeft(names[1]!, ["--no-epmd", "--port", String(ports[1])]);
    for (let i = 0; i < 3; i++) await waitForNodes(procs[i]!, names.filter((_, j) => j !== i));
    // One of the others' topologies dialled it; the third may then be reached
    // by the mesh (k2 dials it from the PEERS it was sent, and wins a
    // simultaneous connect against the smaller name), so either may say so.
    const redialled =
      /Topology fixed \(static\) connected k2@127\.0\.0\.1 \(after \d+ failed attempts\)/;
    await waitFor(() => redialled.test(procs[0]!.output) || redialled.test(procs[2]!.output), {
      timeout: 15_000,
      message: `No topology reported connecting k2:\n${procs[0]!.output}\n${procs[2]!.output}`,
    });
  } finally {
    await Promise.all(procs.map((p) => p.close()));
    await Deno.remove(file);
  }
});

Deno.test("weft --cluster-config: epmd_hosts finds the nodes registered with a port mapper, and a restarted one", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const names = ["p1", "p2", "p3"].map((n) => `${n}@127.0.0.1`);
  const file = await writeConfig({
    topologies: {
      local: {
        strategy: "epmd_hosts",
        config: { hosts: ["127.0.0.1"], epmdPort: epmd.port, pollInterval: 200 },
      },
    },
  });
  const args = ["--epmd-port", String(epmd.port), "--cluster-config", file];
  const procs: WeftProcess[] = [];
  try {
    for (const name of names) procs.push(startWeft(name, args));
    for (let i = 0; i < 3; i++) await waitForNodes(procs[i]!, names.filter((_, j) => j !== i));
    // Meshed by anyone's strategy; p1's own must have listed p3 too before it can forget it.
    await procs[0]!.waitForOutput(/Topology local \(epmd_hosts\) discovered p3@127\.0\.0\.1/);
    procs[2]!.kill("SIGKILL");
    await procs[2]!.close();
    await waitForNodes(procs[0]!, [names[1]!]);
    await procs[0]!.waitForOutput(/Topology local \(epmd_hosts\) no longer lists p3@127\.0\.0\.1/);
    procs[2] = startWeft(names[2]!, ["--epmd-port", String(epmd.port)]);
    for (let i = 0; i < 3; i++) await waitForNodes(procs[i]!, names.filter((_, j) => j !== i));
  } finally {
    await Promise.all(procs.map((p) => p.close()));
    await epmd.close();
    await Deno.remove(file);
  }
});

Deno.test("weft --cluster-config refuses a bad file with exit status 2 and the path of the bad value", async () => {
  const file = await writeConfig({ topologies: { t: { strategy: "dnspoll", config: {} } } });
  try {
    const base = ["--name", "x@127.0.0.1", "--no-epmd", "--eval", "1", "--cluster-config"];
    const run = await runWeft([...base, file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /topologies\.t\.strategy: unknown strategy "dnspoll"/);
    const missing = await runWeft([...base, "/nonexistent.json"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot use --cluster-config/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("weft: Chaos.heal() after partition, latency and total loss heals three real nodes (docs/cluster.md)", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const names = ["x1", "x2", "x3"].map((n) => `${n}@127.0.0.1`);
  const file = await writeConfig({
    topologies: {
      local: {
        strategy: "epmd_hosts",
        config: { hosts: ["127.0.0.1"], epmdPort: epmd.port, pollInterval: 200 },
      },
    },
    chaos: true,
  });
  const args = ["--epmd-port", String(epmd.port), "--cluster-config", file];
  // The transcript of docs/cluster.md, driven from x1, with every message on x1-x2 dropped.
  const transcript = `
    while (Node.list().length < 2) await new Promise((r) => setTimeout(r, 20));
    await Chaos.partition(["x1@127.0.0.1", "x2@127.0.0.1"], ["x3@127.0.0.1"]);
    await Chaos.latency("x1@127.0.0.1", "x2@127.0.0.1", 200, { jitter: 50 });
    await Chaos.drop("x1@127.0.0.1", "x2@127.0.0.1", 1);
    console.log("FAULTS " + JSON.stringify(Chaos.status().links.map((l) => l.fault)));
    await Chaos.heal();
    console.log("HEALED " + JSON.stringify(Chaos.status()));
  `;
  const procs: WeftProcess[] = [];
  try {
    procs.push(
      new WeftProcess([
        "--name",
        names[0]!,
        "--cookie",
        COOKIE,
        ...args,
        "--eval",
        transcript + WATCH,
      ]),
    );
    for (const name of names.slice(1)) procs.push(startWeft(name, args));
    await procs[0]!.waitForOutput(/FAULTS \[\{"delay":200,"jitter":50,"drop":1\}\]/, 30_000);
    await procs[0]!.waitForOutput(/HEALED \{"cuts":\[\],"links":\[\]\}/, 30_000);
    for (let i = 0; i < 3; i++) await waitForNodes(procs[i]!, names.filter((_, j) => j !== i));
  } finally {
    await Promise.all(procs.map((p) => p.close()));
    await epmd.close();
    await Deno.remove(file);
  }
});
