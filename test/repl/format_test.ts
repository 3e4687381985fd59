import assert from "node:assert/strict";
import { formatError, formatLogArgs, formatValue } from "../../repl/format.ts";
import { Pid } from "../../src/term/pid.ts";

Deno.test("formatValue() prints pids the Erlang way inside other values", () => {
  const pid = new Pid("a@host", 42, 0, 1);
  assert.equal(formatValue(pid), "#PID<a@host.42.0>");
  assert.equal(formatValue({ pid, n: 1 }), "{ pid: #PID<a@host.42.0>, n: 1 }");
  assert.equal(formatValue("s"), '"s"');
});

/** An error whose stack holds no frame, so that no place is printed before it. */
function placeless<E extends Error>(error: E): E {
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

Deno.test("formatError() prints name, message and causes", () => {
  assert.equal(formatError(placeless(new TypeError("bad"))), "** TypeError: bad");
  assert.equal(
    formatError(placeless(new Error("outer", { cause: placeless(new Error("inner")) }))),
    "** Error: outer\n   caused by Error: inner",
  );
  assert.equal(formatError("just a string"), '** uncaught: "just a string"');
});

Deno.test("formatLogArgs() formats console.log arguments with substitutions", () => {
  assert.equal(formatLogArgs(["a", 1, { b: 2 }]), "a 1 { b: 2 }");
  assert.equal(formatLogArgs(["%s=%d%%", "x", 4.7]), "x=4%");
  assert.equal(formatLogArgs(["%j", { a: 1 }]), '{"a":1}');
  assert.equal(formatLogArgs(["no args %s"]), "no args %s");
});
