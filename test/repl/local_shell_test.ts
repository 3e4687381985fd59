import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import { current, setDefaultContext } from "../../src/process/current.ts";
import { LocalShell } from "../../repl/local_shell.ts";
import { ShellOutput } from "../../repl/output.ts";
import { QuitSignal } from "../../repl/quit.ts";
import { createShellScope } from "../../repl/scope.ts";
import { waitFor } from "../helpers/wait.ts";

function makeShell() {
  const runtime = new Runtime({ node: "a@127.0.0.1" });
  const shell = runtime.open({ label: "shell" });
  setDefaultContext(shell);
  const lines: string[] = [];
  const output = new ShellOutput((t) => lines.push(t));
  const quit = new QuitSignal();
  const scope = createShellScope({
    runtime,
    print: (t) => output.print(t),
    quit: (c) => quit.request(c),
  });
  const local = new LocalShell({ runtime, shell, scope, output, quit });
  const close = async () => {
    setDefaultContext(undefined);
    await runtime.shutdown();
  };
  return { runtime, local, lines, quit, close };
}

Deno.test("LocalShell.evaluate() formats values, stays silent for statements and helpers, formats errors", async () => {
  const { local, close } = makeShell();
  try {
    assert.deepEqual(await local.evaluate("[self().node, 1 + 1]"), {
      kind: "value",
      text: '[ "a@127.0.0.1", 2 ]',
    });
    assert.deepEqual(await local.evaluate("for (;;) break"), { kind: "silent" });
    assert.deepEqual(await local.evaluate("h(spawn)"), { kind: "silent" });
    assert.deepEqual(await local.evaluate("null.x"), {
      kind: "error",
      text: "** TypeError: Cannot read properties of null (reading 'x')",
    });
  } finally {
    await close();
  }
});

Deno.test("LocalShell runs input as the shell process, so receive() gets the shell's messages", async () => {
  const { local, close } = makeShell();
  try {
    await local.evaluate(
      "const pid = spawn(async () => { const m = await receive(); send(m.from, m.n + 1) })",
    );
    const r = await local.evaluate("send(pid, { from: self(), n: 41 }); await receive()");
    assert.deepEqual(r, { kind: "value", text: "42" });
  } finally {
    await close();
  }
});

Deno.test("LocalShell shows mailbox events through its output, after the result", async () => {
  const { runtime, local, lines, close } = makeShell();
  try {
    await local.evaluate("const ref = monitor(spawn(() => {}))");
    assert.equal(lines.length, 0, "not while the code ran");
    local.idle();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\[mailbox\] \{\s+type: "DOWN"/);
    // While idle, an arriving event is shown at once.
    runtime.send(local.shell.self, { type: "nodeup", node: "b@h" });
    assert.match(lines[1]!, /\[mailbox\] \{ type: "nodeup", node: "b@h" \}/);
    // And it is still in the mailbox.
    assert.match((await local.evaluate("flush()")).kind, /silent/);
    assert.equal(lines.filter((l) => l.startsWith("Shell got")).length, 2);
  } finally {
    await close();
  }
});

Deno.test("LocalShell.interrupt() abandons a stuck evaluation and opens a new shell process", async () => {
  const { runtime, local, close } = makeShell();
  try {
    const old = local.shell.self;
    const pending = local.evaluate("await receive()");
    local.interrupt();
    const r = await pending;
    assert.equal(r.kind, "error");
    assert.match(
      (r as { text: string }).text,
      /Interrupted: shell process #PID<a@127\.0\.0\.1\.1\.0> stopped/,
    );
    assert.ok(!runtime.isAlive(old));
    assert.ok(!local.shell.self.equals(old));
    assert.ok(current().self.equals(local.shell.self), "the new shell is the default context");
    assert.deepEqual(await local.evaluate("1"), { kind: "value", text: "1" });
  } finally {
    await close();
  }
});

Deno.test("LocalShell replaces a shell process killed by a linked process, and says so", async () => {
  const { runtime, local, lines, close } = makeShell();
  try {
    const old = local.shell.self;
    await local.evaluate("spawnLink(() => { throw new Error('boom') })");
    await waitFor(() => lines.some((l) => l.includes("exited")), { timeout: 2000 });
    assert.match(
      lines.find((l) => l.includes("exited"))!,
      /^\*\* shell process #PID<.*> exited: .*boom.*the shell is now #PID</s,
    );
    assert.ok(!runtime.isAlive(old));
    assert.deepEqual(await local.evaluate("2"), { kind: "value", text: "2" });
  } finally {
    await close();
  }
});

Deno.test("LocalShell: q(code) ends the evaluation and resolves ended with the code", async () => {
  const { local, close } = makeShell();
  try {
    const r = await local.evaluate("q(7); await new Promise(() => {})");
    assert.deepEqual(r, { kind: "silent" });
    assert.equal(await local.ended, 7);
  } finally {
    await close();
  }
});

Deno.test("LocalShell.complete() completes from the shell's scope", async () => {
  const { local, close } = makeShell();
  try {
    assert.deepEqual((await local.complete("Node.con")).candidates, ["connect"]);
  } finally {
    await close();
  }
});
