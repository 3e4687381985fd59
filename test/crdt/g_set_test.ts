import assert from "node:assert/strict";
import fc from "fast-check";
import { gSet, type GSetHandle } from "../../src/crdt/g_set.ts";
import { Hlc } from "../../src/crdt/hlc.ts";
import { lawTests } from "./crdt_laws.ts";

lawTests({
  type: gSet,
  op: fc.oneof(fc.constantFrom("x", "y", "z"), fc.integer({ min: 0, max: 3 }), fc.constant(1n)),
  apply: (h: GSetHandle, x: string | number | bigint) => h.add(x),
  malformed: [[{}], [[1]], [NaN], [undefined], "abc"],
});

Deno.test("g-set: elements are compared by value and kind; bad elements are refused", () => {
  const d = gSet.mutate(gSet.empty(), "a", new Hlc(), (s) => {
    s.add(1);
    s.add(1n);
    s.add("1");
    s.add(-0);
    s.add(0);
  });
  assert.equal(gSet.value(d).size, 4);
  for (const bad of [{}, [], NaN, undefined, Symbol("s")]) {
    assert.throws(
      () => gSet.mutate(gSet.empty(), "a", new Hlc(), (s) => s.add(bad as string)),
      TypeError,
    );
  }
});
