/**
 * `deno task cluster` as a user runs it: the launcher as a real process,
 * real `weft` nodes under it, a port mapper of the test's own.
 */
import assert from "node:assert/strict";
import { listNames, startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { startNode } from "../../src/node.ts";
import { ClusterConfigError, parseClusterArgs } from "../../scripts/cluster.ts";
import { parseCli } from "../../cli/options.ts";
import { waitFor } from "../helpers/wait.ts";

const SCRIPT = new URL("../../scripts/cluster.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

/** The launcher as a child process, its output collected. */
class Launcher {
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;
  #text = "";
  #status: Deno.CommandStatus | undefined;

  constructor(args: string[], stdin: "piped" | "null" = "null") {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT, ...args],
      cwd: ROOT,
      stdin,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this.#text += chunk;
    };
    this.#done = Promise.all([
      collect(this.#child.stdout),
      collect(this.#child.stderr),
      this.#child.status.then((s) => void (this.#status = s)),
    ]).then(() => {});
  }

  get output(): string {
    return this.#text;
  }

  async waitFor(pattern: RegExp, timeout = 30_000): Promise<void> {
    await waitFor(() => pattern.test(this.#text), {
      timeout,
      message: `No ${pattern} in the launcher's output:\n${this.#text}`,
    });
  }

  async write(text: string): Promise<void> {
    const w = this.#child.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    w.releaseLock();
  }

  async closeStdin(): Promise<void> {
    await this.#child.stdin.close();
  }

  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  async exited(): Promise<number> {
    await this.#done;
    return this.#status!.code;
  }

  async close(): Promise<void> {
    if (this.#status === undefined) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Gone.
      }
    }
    await this.#done;
  }
}

async function epmdNames(port: number): Promise<string[]> {
  return (await listNames({ epmdPort: port })).map((n) => n.name);
}

Deno.test("cluster -n 3 --no-repl: meshes, says so, prefixes node output, stops every node on SIGTERM", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const launcher = new Launcher(["-n", "3", "--no-repl", "--epmd-port", String(epmd.port)]);
  try {
    await launcher.waitFor(/cluster: cluster of 3 nodes meshed in \d+ ms/);
    for (const n of ["n1", "n2", "n3"]) {
      assert.match(
        launcher.output,
        new RegExp(`^\\[${n}\\] .*Node ${n}@127\\.0\\.0\\.1 listening`, "m"),
      );
    }
    // Each node saw both others come up: the mesh is real, not just claimed.
    assert.match(launcher.output, /^\[n3\] .*Node n2@127\.0\.0\.1 is up/m);
    assert.match(launcher.output, /^\[n2\] .*Node n3@127\.0\.0\.1 is up/m);
    assert.deepEqual((await epmdNames(epmd.port)).filter((n) => /^n\d$/.test(n)).sort(), [
      "n1",
      "n2",
      "n3",
    ]);
    launcher.kill("SIGTERM");
    assert.equal(await launcher.exited(), 0, launcher.output);
    assert.match(launcher.output, /cluster: every node stopped/);
    assert.deepEqual(await epmdNames(epmd.port), []);
  } finally {
    await launcher.close();
    await epmd.close();
  }
});

Deno.test("cluster: a node that cannot start stops the others and the launcher exits 1 with its reason", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  // n2 is taken before the cluster starts.
  const squatter = await startNode({
    name: "n2@127.0.0.1",
    cookie: "other",
    epmdPort: epmd.port,
    hostname: "127.0.0.1",
  });
  const launcher = new Launcher(["-n", "3", "--no-repl", "--epmd-port", String(epmd.port)]);
  try {
    assert.equal(await launcher.exited(), 1, launcher.output);
    assert.match(
      launcher.output,
      /cluster: node n2@127\.0\.0\.1 failed to start: weft: Cannot start node n2@127\.0\.0\.1: the name "n2" is taken/,
    );
    assert.deepEqual(await epmdNames(epmd.port), ["n2"], "only the squatter is left");
  } finally {
    await launcher.close();
    await squatter.stop();
    await epmd.close();
  }
});

Deno.test("cluster: the shell runs on the first node and leaving it stops the cluster", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir();
  const config = `${dir}/cluster.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ nodes: ["alpha", { name: "beta" }], cookie: "shared", epmdPort: epmd.port }),
  );
  const launcher = new Launcher(["--config", config], "piped");
  try {
    await launcher.waitFor(/cluster of 2 nodes meshed/);
    await launcher.waitFor(/weft\(alpha@127\.0\.0\.1\)1> /);
    await launcher.write("[Node.self(), Node.list()]\n");
    await launcher.waitFor(/\[ "alpha@127\.0\.0\.1", \[ "beta@127\.0\.0\.1" \] \]/);
    await launcher.closeStdin();
    assert.equal(await launcher.exited(), 0, launcher.output);
    assert.deepEqual(await epmdNames(epmd.port), []);
  } finally {
    await launcher.close();
    await epmd.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseClusterArgs() reads -n and a config file, and refuses bad input clearly", () => {
  const spec = parseClusterArgs(["-n", "2", "--cookie", "c", "--host", "localhost", "--no-repl"]);
  assert.ok(spec !== "help");
  assert.deepEqual(spec.nodes, [{ name: "n1" }, { name: "n2" }]);
  assert.equal(spec.host, "localhost");
  assert.equal(spec.repl, false);
  const files: Record<string, string> = {
    "ok.json": JSON.stringify({
      nodes: ["a", { name: "b", port: 9102 }],
      cookie: "s",
      epmdPort: 4400,
    }),
    "conf/modules.json": JSON.stringify({ nodes: ["a"], modules: ["app.ts", "/abs/lib.ts"] }),
    "bad.json": "{ nope",
    "unknown.json": JSON.stringify({ nodes: ["a"], colour: "red" }),
    "twice.json": JSON.stringify({ nodes: ["a", "a"] }),
  };
  const read = (p: string) => {
    if (!(p in files)) throw new Deno.errors.NotFound("no such file");
    return files[p]!;
  };
  const fromFile = parseClusterArgs(["--config", "ok.json"], read);
  assert.ok(fromFile !== "help");
  assert.deepEqual(fromFile.nodes, [{ name: "a" }, { name: "b", port: 9102 }]);
  assert.equal(fromFile.epmdPort, 4400);
  assert.equal(fromFile.cookie, "s");
  for (
    const [args, reason] of [
      [["-n", "0"], /Invalid -n/],
      [["--bogus"], /bogus/],
      [["-n", "2", "--config", "ok.json"], /together/],
      [["--config", "missing.json"], /Cannot read missing\.json/],
      [["--config", "bad.json"], /Cannot parse bad\.json/],
      [["--config", "unknown.json"], /unknown field "colour"/],
      [["--config", "twice.json"], /"a" twice/],
      [["--host", "bad host"], /Invalid node "n1"/],
    ] as const
  ) {
    assert.throws(
      () => parseClusterArgs([...args], read),
      (e) => e instanceof ClusterConfigError && reason.test(e.message),
    );
  }
  assert.equal(parseClusterArgs(["--help"]), "help");
  // "modules" go to every node as --load, relative to the config file; a weft without
  // --load has the field refused rather than ignored.
  if (parseCli(["--load", "x.ts"]).ok) {
    const withModules = parseClusterArgs(["--config", "conf/modules.json"], read);
    assert.ok(withModules !== "help");
    assert.deepEqual(withModules.modules, ["conf/app.ts", "/abs/lib.ts"]);
  } else {
    assert.throws(
      () => parseClusterArgs(["--config", "conf/modules.json"], read),
      /no --load flag/,
    );
  }
});

Deno.test("cluster -n 5 meshes 20 times in a row: simultaneous connects never leave a pair unconnected", async () => {
  /** One launch: meshed within the launcher's own deadline, no connection replaced, clean exit. */
  const launch = async (i: number) => {
    const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
    // Generous deadlines, for a loaded machine: a pair left unconnected
    // never meshes, however long the launcher waits.
    const launcher = new Launcher([
      "-n",
      "5",
      "--no-repl",
      "--epmd-port",
      String(epmd.port),
      "--timeout",
      "90000",
    ]);
    try {
      await launcher.waitFor(/cluster: (cluster of 5 nodes meshed in \d+ ms|not meshed)/, 120_000);
      assert.match(
        launcher.output,
        /cluster of 5 nodes meshed/,
        `launch ${i}:\n${launcher.output}`,
      );
      assert.doesNotMatch(launcher.output, /replacing its old connection/, `launch ${i}`);
      launcher.kill("SIGTERM");
      assert.equal(await launcher.exited(), 0, `launch ${i}:\n${launcher.output}`);
    } finally {
      await launcher.close();
      await epmd.close();
    }
  };
  // Two launches at a time (each is six processes; more only queue for the CPU): independent port
  // mappers, ports chosen by the system, so they cannot interfere.
  const CONCURRENT = 2;
  for (let i = 0; i < 20; i += CONCURRENT) {
    await Promise.all(Array.from({ length: CONCURRENT }, (_, k) => launch(i + k)));
  }
});

Deno.test("cluster --config with regions: a mesh per region, linked by gateways, and clear errors", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const regions = { east: { nodes: ["e1", "e2"] }, west: { nodes: ["w1"] } };
  await Deno.writeTextFile(file, JSON.stringify({ regions, replicated: ["cart:*"] }));
  const spec = parseClusterArgs(["--config", file]);
  assert.ok(spec !== "help");
  assert.deepEqual(spec.nodes.map((n) => `${n.name}/${n.region}`), [
    "e1/east",
    "e2/east",
    "w1/west",
  ]);
  assert.throws(
    () => parseClusterArgs(["--config", "x"], () => JSON.stringify({ regions, nodes: ["a"] })),
    { name: "ClusterConfigError", message: /give "nodes" or "regions"/ },
  );
  assert.throws(
    () =>
      parseClusterArgs(
        ["--config", "x"],
        () => JSON.stringify({ regions: { east: { nodes: ["e1"], gateway: 1 } } }),
      ),
    { name: "ClusterConfigError", message: /unknown field "gateway"/ },
  );
  const launcher = new Launcher([
    "--config",
    file,
    "--no-repl",
    "--epmd-port",
    String(epmd.port),
  ]);
  try {
    await launcher.waitFor(/cluster: cluster of 3 nodes in 2 regions meshed in \d+ ms/, 60_000);
    assert.match(launcher.output, /^\[e2\] .*Node e1@127\.0\.0\.1 is up/m);
    launcher.kill("SIGTERM");
    assert.equal(await launcher.exited(), 0, launcher.output);
  } finally {
    await launcher.close();
    await epmd.close();
    await Deno.remove(file);
  }
});
