import assert from "node:assert/strict";
import { Pid, Ref } from "../../src/term/pid.ts";

Deno.test("Pid prints as #PID<node.id.serial> in String() and Deno.inspect", () => {
  const pid = new Pid("a@host", 42, 0, 7);
  assert.equal(String(pid), "#PID<a@host.42.0>");
  assert.equal(Deno.inspect(pid), "#PID<a@host.42.0>");
  assert.equal(Deno.inspect({ from: pid }), "{ from: #PID<a@host.42.0> }");
  assert.equal(JSON.stringify({ from: pid }), '{"from":"#PID<a@host.42.0>"}');
});

Deno.test("Ref prints as #Reference<node.creation.id> in String() and Deno.inspect", () => {
  const ref = new Ref("a@host", 7, 1);
  assert.equal(String(ref), "#Reference<a@host.1.7>");
  assert.equal(Deno.inspect(ref), "#Reference<a@host.1.7>");
  assert.equal(Deno.inspect([ref]), "[ #Reference<a@host.1.7> ]");
  assert.equal(JSON.stringify(ref), '"#Reference<a@host.1.7>"');
});

Deno.test("Pid.equals() compares every field, and key is equal exactly for equal pids", () => {
  const pid = new Pid("a@host", 1, 0, 9);
  assert.ok(pid.equals(new Pid("a@host", 1, 0, 9)));
  assert.equal(pid.key, new Pid("a@host", 1, 0, 9).key);
  for (
    const other of [
      new Pid("b@host", 1, 0, 9),
      new Pid("a@host", 2, 0, 9),
      new Pid("a@host", 1, 1, 9),
      new Pid("a@host", 1, 0, 10),
    ]
  ) {
    assert.ok(!pid.equals(other), `${other.key} should differ`);
    assert.notEqual(pid.key, other.key);
  }
  assert.ok(!pid.equals(new Ref("a@host", 1, 9)));
  assert.ok(!pid.equals("#PID<a@host.1.0>"));
  assert.ok(!pid.equals(undefined));
});

Deno.test("Pid from an older incarnation (creation) prints the same but is not equal", () => {
  const old = new Pid("a@host", 5, 0, 1);
  const now = new Pid("a@host", 5, 0, 2);
  assert.equal(String(old), String(now));
  assert.ok(!old.equals(now));
  assert.notEqual(old.key, now.key);
});

Deno.test("Ref.equals() compares every field, and key works as a Map key", () => {
  const ref = new Ref("a@host", 7, 1);
  assert.ok(ref.equals(new Ref("a@host", 7, 1)));
  assert.ok(!ref.equals(new Ref("a@host", 8, 1)));
  assert.ok(!ref.equals(new Ref("a@host", 7, 2)));
  assert.ok(!ref.equals(new Ref("b@host", 7, 1)));
  assert.ok(!ref.equals(new Pid("a@host", 7, 0, 1)));
  const table = new Map([[ref.key, "monitor"]]);
  assert.equal(table.get(new Ref("a@host", 7, 1).key), "monitor");
});
