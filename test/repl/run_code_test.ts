import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import { QuitSignal } from "../../repl/quit.ts";
import { runCode, scriptBindings } from "../../repl/run_code.ts";
import { createShellScope } from "../../repl/scope.ts";

function setup() {
  const runtime = new Runtime();
  const quit = new QuitSignal();
  const printed: string[] = [];
  const scope = createShellScope({
    runtime,
    quit: (c) => quit.request(c),
    print: (t) => printed.push(t),
  });
  const shell = runtime.open({ label: "shell" });
  const out: string[] = [];
  const err: string[] = [];
  const run = (code: string, printValue = true) =>
    runCode({
      code,
      shell,
      scope,
      quit,
      printValue,
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
    });
  return { runtime, quit, scope, run, out, err, printed };
}

Deno.test("runCode() prints the value of the last expression and returns 0", async () => {
  const { runtime, run, out } = setup();
  try {
    assert.equal(await run("const x: number = 2; x * 21"), 0);
    assert.equal(await run("console.debug && undefined"), 0);
    assert.deepEqual(out, ["42"]);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("runCode() prints a thrown error and returns 1", async () => {
  const { runtime, run, err } = setup();
  try {
    assert.equal(await run("throw new TypeError('no')"), 1);
    assert.deepEqual(err, ["** input:1:7: TypeError: no"]);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("runCode() stops at q(code) and returns the code, even from a stuck await", async () => {
  const { runtime, run, out } = setup();
  try {
    assert.equal(await run("q(9); await new Promise(() => {})"), 9);
    assert.deepEqual(out, []);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("runCode() does not print helpers' silent values", async () => {
  const { runtime, run, out, printed } = setup();
  try {
    assert.equal(await run("h(self)"), 0);
    assert.deepEqual(out, []);
    assert.match(printed[0]!, /^self\(\)/);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("scriptBindings() gives args, a Deno with the script's args, and import.meta", () => {
  const { names, importMeta, base } = scriptBindings({
    path: "/srv/jobs/run.ts",
    args: ["a", "b"],
  });
  assert.deepEqual(names.args, ["a", "b"]);
  const shadow = names.Deno as typeof Deno;
  assert.deepEqual(shadow.args, ["a", "b"]);
  assert.equal(shadow.pid, Deno.pid);
  assert.equal(typeof shadow.readTextFile, "function");
  assert.equal(importMeta.url, "file:///srv/jobs/run.ts");
  assert.equal(importMeta.dirname, "/srv/jobs");
  assert.equal(base, "file:///srv/jobs/run.ts");
});
