import assert from "node:assert/strict";
import { NotAliveError, RemoteError } from "../../src/errors.ts";
import { runInProcess, self } from "../../src/process/current.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import { Task } from "../../src/otp/task.ts";
import { createShellScope } from "../../repl/scope.ts";
import { startTestNode } from "../helpers/nodes.ts";

Deno.test("rpc functions act for the node of the process that calls them", async () => {
  const a = await startTestNode("a");
  const b = await startTestNode("b");
  try {
    assert.ok(await a.connect(b.address));
    await runInProcess(b.runtime.open(), () => {
      assert.deepEqual(rpc.registerModule("greet", { hi: (who: string) => `hi ${who}` }), ["hi"]);
      assert.deepEqual(rpc.modules().greet, ["hi"]);
    });
    await runInProcess(a.runtime.open(), async () => {
      assert.equal(await rpc.call(b.name, "greet", "hi", ["a"]), "hi a");
      assert.equal(await rpc.call(b.name, () => self().node), b.name);
      // A function sent over may use rpc itself: here, a call back to the caller's node.
      assert.equal(
        await rpc.call(b.name, (home: string) => rpc.call(home, "node", "self"), [a.name]),
        a.name,
      );
      const { results, badNodes } = await rpc.multicall([a.name, b.name], "node", "self");
      assert.deepEqual(results.map((r) => r.status === "ok" && r.value), [a.name, b.name]);
      assert.deepEqual(badNodes, []);
      const pid = await rpc.spawn(b.name, () => {});
      assert.equal(pid.node, b.name);
      const err = await rpc.call(b.name, "greet", "hi", [], { timeout: 1000 }).then(
        () => undefined,
        (e) => e,
      );
      assert.equal(err, undefined); // `hi undefined` is a result, not an error
      const thrown = await rpc.call(b.name, () => JSON.parse("{")).catch((e) => e);
      assert.ok(thrown instanceof RemoteError && (thrown.cause as Error).name === "SyntaxError");
    });
    // Outside any process, with the runtime option.
    assert.equal(await rpc.call(b.name, "node", "self", [], { runtime: a.runtime }), b.name);
    rpc.cast(b.name, "node", "self", [], { runtime: a.runtime });
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("rpc functions outside any process, or on a node without distribution, say why", async () => {
  await assert.rejects(() => rpc.call("b@h", "m", "f"), /not inside a Weft process/);
  const rt = new Runtime({ node: "local@h" });
  try {
    await runInProcess(rt.open(), async () => {
      await assert.rejects(() => rpc.call("b@h", "m", "f"), NotAliveError);
      assert.throws(() => rpc.modules(), /does not run rpc/);
    });
  } finally {
    await rt.shutdown();
  }
});

Deno.test("the shell has rpc, c(file) and Node.spawn", async () => {
  const a = await startTestNode("a");
  const b = await startTestNode("b");
  const dir = await Deno.makeTempDir({ prefix: "weft-rpc-shell-" });
  try {
    assert.ok(await a.connect(b.address));
    const lines: string[] = [];
    const scope = createShellScope({ runtime: b.runtime, node: b, print: (t) => lines.push(t) });
    await Deno.writeTextFile(`${dir}/shellmod.ts`, "export const triple = (n: number) => 3 * n;\n");
    const shell = b.runtime.open({ label: "shell" });
    await runInProcess(shell, async () => {
      const c = scope.c as (file: string) => Promise<{ name: string; functions: string[] }>;
      assert.deepEqual(await c(`${dir}/shellmod.ts`), {
        name: "shellmod",
        functions: ["triple"],
        url: new URL(`file://${dir}/shellmod.ts`).href,
      });
      const Node = scope.Node as { spawn(node: string, fn: () => void): Promise<{ node: string }> };
      assert.equal((await Node.spawn(a.name, () => {})).node, a.name);
      (scope.h as (x: unknown) => void)((scope.rpc as { call: unknown }).call);
    });
    assert.match(lines.at(-1)!, /^rpc\.call\(node, module, fn/);
    assert.equal(await a.rpc.call(b.name, "shellmod", "triple", [3]), 9);
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Task runs an rpc call: remote work awaited as a task", async () => {
  const a = await startTestNode("a");
  const b = await startTestNode("b");
  try {
    assert.ok(await a.connect(b.address));
    b.rpc.registerModule("math", { square: (n: number) => n * n });
    await runInProcess(a.runtime.open(), async () => {
      const tasks = [2, 3, 4].map((n) => Task.async(() => rpc.call(b.name, "math", "square", [n])));
      assert.deepEqual(await Task.awaitMany(tasks, 5000), [4, 9, 16]);
    });
  } finally {
    await a.stop();
    await b.stop();
  }
});
