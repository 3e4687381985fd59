/**
 * rpc between OS processes: real `deno run main.ts` nodes (see
 * test/helpers/weft_peer.ts) that are killed for real, load modules from
 * `--load`, enforce `--rpc-allow` / `--no-remote-eval`, and print what
 * processes spawned from elsewhere write.
 */
import assert from "node:assert/strict";
import { NoConnectionError, PolicyError, RemoteError } from "../../src/errors.ts";
import { receive, runInProcess, send } from "../../src/process/current.ts";
import type { ConsoleLevel } from "../../src/rpc/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { startTestNode } from "../helpers/nodes.ts";
import { PEER_COOKIE, startWeftPeer } from "../helpers/weft_peer.ts";
import { runWeft } from "../helpers/weft_process.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("kill -9 of the node under a pending rpc.call fails the call with NoConnectionError well before its timeout", async () => {
  const a = await startTestNode("a", { cookie: PEER_COOKIE });
  const b = await startWeftPeer("b");
  try {
    assert.ok(await a.connect(b.address));
    const me = a.runtime.open({ label: "caller" });
    await runInProcess(me, async () => {
      const pending = a.rpc.call(
        b.name,
        async (caller: Pid) => {
          send(caller, "running");
          await new Promise(() => {});
        },
        [me.self],
        { timeout: 20_000 },
      );
      const outcome = pending.then(
        () => new Error("the call resolved"),
        (e: Error) => ({ error: e, at: performance.now() }),
      );
      assert.equal(await receive(undefined, { timeout: 10_000 }), "running");
      const t0 = performance.now();
      b.proc.kill("SIGKILL");
      const result = await outcome;
      assert.ok(!(result instanceof Error), String(result));
      const { error, at } = result as { error: Error; at: number };
      assert.ok(error instanceof NoConnectionError, String(error));
      assert.equal(error.node, b.name);
      assert.ok(at - t0 < 1000, `NoConnectionError ${(at - t0).toFixed(0)} ms after kill -9`);
      assert.equal((await b.proc.exited()).signal, "SIGKILL");
    });
  } finally {
    await a.stop();
    await b.close();
  }
});

Deno.test("console output of a process spawned on a node in another OS process appears on the spawning node only", async () => {
  const a = await startTestNode("a", { cookie: PEER_COOKIE });
  const b = await startWeftPeer("b");
  try {
    assert.ok(await a.connect(b.address));
    const lines: string[] = [];
    a.rpc.setConsoleWriter((level: ConsoleLevel, text) => lines.push(`${level} ${text}`));
    const me = a.runtime.open({ label: "spawner" });
    await runInProcess(me, async () => {
      await a.rpc.spawn(b.name, (tag: string) => {
        console.log(`forwarded-line ${tag} from %s`, Deno.pid);
        console.warn("forwarded-warning");
      }, ["x1"]);
      const thrown = await a.rpc.call(b.name, () => {
        throw new SyntaxError("remote syntax");
      }).catch((e) => e);
      assert.ok(thrown instanceof RemoteError);
      assert.equal((thrown.cause as Error).name, "SyntaxError");
      assert.equal((thrown.cause as Error).message, "remote syntax");
    });
    await waitFor(() => lines.length === 2, { message: `lines: ${lines}` });
    const childPid = b.proc.pid;
    assert.deepEqual(lines, [`log forwarded-line x1 from ${childPid}`, "warn forwarded-warning"]);
    assert.ok(!b.proc.output.includes("forwarded-line"), b.proc.output);
  } finally {
    await a.stop();
    await b.close();
  }
});

Deno.test("weft --load, --rpc-allow and --no-remote-eval: a node serves its loaded module and refuses the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-rpc-cli-" });
  const file = `${dir}/calc.ts`;
  await Deno.writeTextFile(
    file,
    "export function add(a: number, b: number) { return a + b; }\n" +
      "export function sub(a: number, b: number) { return a - b; }\n",
  );
  const a = await startTestNode("a", { cookie: PEER_COOKIE });
  const b = await startWeftPeer("b", { args: ["--load", file, "--rpc-allow", "calc.add"] });
  const c = await startWeftPeer("c", { args: ["--load", file, "--no-remote-eval"] });
  try {
    assert.ok(await a.connect(b.address));
    assert.ok(await a.connect(c.address));
    assert.equal(await a.rpc.call(b.name, "calc", "add", [2, 3]), 5);
    assert.ok(
      (await a.rpc.call(b.name, "calc", "sub", [2, 3]).catch((e) => e)) instanceof PolicyError,
    );
    assert.ok((await a.rpc.call(b.name, () => 1).catch((e) => e)) instanceof PolicyError);
    assert.equal(await a.rpc.call(c.name, "calc", "sub", [2, 3]), -1);
    assert.ok((await a.rpc.call(c.name, () => 1).catch((e) => e)) instanceof PolicyError);
  } finally {
    await a.stop();
    await b.close();
    await c.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weft --load refuses a file that does not load, with status 2", async () => {
  const out = await runWeft([
    "--name",
    "x@127.0.0.1",
    "--cookie",
    "c",
    "--no-epmd",
    "--load",
    "/nonexistent/nothing.ts",
    "--eval",
    "1",
  ]);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /Cannot load module \/nonexistent\/nothing\.ts/);
});

Deno.test("Node.spawn typed at a weft shell prints on that shell's node, not where the process runs", async () => {
  const b = await startWeftPeer("b");
  try {
    const out = await runWeft([
      "--name",
      "a@127.0.0.1",
      "--cookie",
      PEER_COOKIE,
      "--no-epmd",
      "--eval",
      [
        `await Node.connect("${b.address}");`,
        `const [pid, ref] = await Node.spawnMonitor("${b.name}", () => console.log("hi from", self().node));`,
        "(await receive()).reason",
      ].join("\n"),
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`^hi from ${b.name.replaceAll(".", "\\.")}$`, "m"));
    assert.match(out.stdout, /"normal"/);
    assert.ok(!b.proc.output.includes("hi from"), b.proc.output);
  } finally {
    await b.close();
  }
});
