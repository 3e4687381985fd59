import assert from "node:assert/strict";
import { commonPrefix, complete, formatColumns } from "../../repl/completion.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { createShellScope } from "../../repl/scope.ts";

Deno.test("complete() completes namespace members: Node.con -> connect", async () => {
  const runtime = new Runtime();
  try {
    const scope = createShellScope({ runtime });
    const c = complete(scope, "await Node.con");
    assert.deepEqual(c.candidates, ["connect"]);
    assert.equal(c.start, "await Node.".length);
    assert.ok(complete(scope, "Node.").candidates.includes("list"));
    assert.ok(complete(scope, "Process.reg").candidates.includes("register"));
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("complete() completes bound names, globals and keywords", () => {
  const scope = { spawn() {}, spawnLink() {}, myPid: 1 };
  assert.deepEqual(complete(scope, "spa").candidates, ["spawn", "spawnLink"]);
  assert.deepEqual(complete(scope, "x = my").candidates, ["myPid"]);
  assert.ok(complete(scope, "Mat").candidates.includes("Math"));
  assert.ok(complete(scope, "aw").candidates.includes("await"));
});

Deno.test("complete() completes members of values, through their prototypes", () => {
  const scope = { list: [1, 2], text: "x", obj: { deep: { inner: 1 } } };
  assert.ok(complete(scope, "list.pu").candidates.includes("push"));
  assert.ok(complete(scope, "text.toUp").candidates.includes("toUpperCase"));
  assert.deepEqual(complete(scope, "obj.deep.in").candidates, ["inner"]);
});

Deno.test("complete() never calls a getter", () => {
  let called = false;
  const scope = {
    get trap() {
      called = true;
      return { x: 1 };
    },
  };
  assert.deepEqual(complete(scope, "trap.").candidates, []);
  assert.equal(called, false);
});

Deno.test("complete() offers nothing inside strings and comments, after calls, or for numbers", () => {
  const scope = { Node: { connect() {} } };
  assert.deepEqual(complete(scope, '"Node.con').candidates, []);
  assert.deepEqual(complete(scope, "// Node.con").candidates, []);
  assert.deepEqual(complete(scope, "f().con").candidates, []);
  assert.deepEqual(complete(scope, "1.").candidates, []);
  assert.deepEqual(complete(scope, "nothing.here").candidates, []);
});

Deno.test("commonPrefix() and formatColumns() lay out candidates", () => {
  assert.equal(commonPrefix(["spawn", "spawnLink"]), "spawn");
  assert.equal(commonPrefix([]), "");
  const lines = formatColumns(["aa", "bb", "cc", "dd"], 10);
  assert.deepEqual(lines, ["aa  cc", "bb  dd"]);
});
