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
      text: "** input:1:6: TypeError: Cannot read properties of null (reading 'x')",
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

Deno.test("LocalShell: a Promise a binding receives is awaited, so the binding holds the value shown", async () => {
  const { local, close } = makeShell();
  try {
    assert.deepEqual(await local.evaluate("const pp = Promise.resolve(5)"), {
      kind: "value",
      text: "5",
    });
    assert.deepEqual(await local.evaluate("pp + 1"), { kind: "value", text: "6" });
    assert.deepEqual(await local.evaluate("const r = Promise.resolve(self()); send(r, 'x')"), {
      kind: "value",
      text: '"x"',
    });
    assert.deepEqual(await local.evaluate("let q; q = Promise.resolve(7); q instanceof Promise"), {
      kind: "value",
      text: "false",
    });
  } finally {
    await close();
  }
});

Deno.test("LocalShell: an error names the place in the input, and suggests a name for a typo", async () => {
  const { local, close } = makeShell();
  try {
    await local.evaluate("function deploy() {\n  throw new Error('deploy failed');\n}");
    assert.deepEqual(await local.evaluate("1 + 1;\ndeploy()"), {
      kind: "error",
      text: "** input:2:9: Error: deploy failed",
    });
    assert.deepEqual(await local.evaluate("let x = 1 +* 2"), {
      kind: "error",
      text: "** input:1:12: SyntaxError: Unexpected token",
    });
    assert.deepEqual(await local.evaluate("Process.alve(self())"), {
      kind: "error",
      text: "** input:1:9: TypeError: Process.alve is not a function (did you mean Process.alive?)",
    });
    assert.deepEqual(await local.evaluate("spwan(() => 1)"), {
      kind: "error",
      text: "** input:1:1: ReferenceError: spwan is not defined (did you mean spawn?)",
    });
  } finally {
    await close();
  }
});

Deno.test("LocalShell: v(n) gives an earlier input's value, pid() makes a pid, stack() prints the last error's stack", async () => {
  const { local, lines, close } = makeShell();
  try {
    await local.evaluate("40 + 2"); // input 1
    await local.evaluate("'two'"); // input 2
    assert.deepEqual(await local.evaluate("v(1)"), { kind: "value", text: "42" });
    assert.deepEqual(await local.evaluate("v()"), { kind: "value", text: "42" });
    assert.deepEqual(await local.evaluate("v(-3)"), { kind: "value", text: '"two"' }); // input 5
    assert.match((await local.evaluate("v(99)") as { text: string }).text, /input 99 gave none/);
    assert.deepEqual(await local.evaluate('pid("a@127.0.0.1.8.0").equals(pid(8, 0))'), {
      kind: "value",
      text: "true",
    });
    assert.deepEqual(await local.evaluate('String(pid("#PID<a@127.0.0.1.1.0>"))'), {
      kind: "value",
      text: '"#PID<a@127.0.0.1.1.0>"',
    });
    assert.match(
      (await local.evaluate('pid("b@127.0.0.1.8.0")') as { text: string }).text,
      /b@127\.0\.0\.1 is not connected/,
    );
    await local.evaluate("null.x");
    assert.deepEqual(await local.evaluate("stack()"), { kind: "silent" });
    assert.match(lines.at(-1)!, /^TypeError: Cannot read properties of null[^]*evaluator\.ts/);
  } finally {
    await close();
  }
});
