import assert from "node:assert/strict";
import fc from "fast-check";
import { Hlc } from "../../src/crdt/hlc.ts";
import { lwwMap, type LwwMapHandle } from "../../src/crdt/lww_map.ts";
import { lawTests } from "./crdt_laws.ts";

type Op = { key: string; value: number | null };

lawTests({
  type: lwwMap,
  op: fc.record({ key: fc.constantFrom("a", "b", "c"), value: fc.option(fc.nat(9)) }),
  apply: (h: LwwMapHandle, op: Op) =>
    op.value === null ? h.remove(op.key) : h.set(op.key, op.value),
  malformed: [
    [["k", [1, 0], "a", false]],
    [["k", [1, 0], "a", "no", 1]],
    [[1, [1, 0], "a", false, 1]],
    [["k", [1], "a", false, 1]],
    [["k", [1, 0], "a", false, 1], ["k", [2, 0], "a", false, 1]],
    // Packed: not in fives, a writer outside the table, a negative wall step, a key twice.
    [1, ["a"], ["k", 1, 0, 0]],
    [1, ["a"], ["k", 1, 0, 2, 5]],
    [1, ["a"], ["k", -1, 0, 0, 5]],
    [1, ["a"], ["k", 1, 0, 0, 5, "k", 0, 1, 0, 6]],
    [1, [7], ["k", 1, 0, 0, 5]],
  ],
});

Deno.test("lww-map: a remove is a write: the later of a put and a remove wins", () => {
  let t = 100;
  const clock = new Hlc({ physical: () => t });
  const put = lwwMap.mutate(lwwMap.empty(), "a", clock, (m) => m.set("k", 1));
  t = 200;
  const removed = lwwMap.mutate(lwwMap.empty(), "b", clock, (m) => m.remove("k"));
  assert.equal(lwwMap.value(lwwMap.join(put, removed)).has("k"), false);
  assert.equal(lwwMap.value(lwwMap.join(removed, put)).has("k"), false);
  t = 300;
  const again = lwwMap.mutate(lwwMap.empty(), "a", clock, (m) => m.set("k", 2));
  assert.equal(lwwMap.value(lwwMap.join(lwwMap.join(put, removed), again)).get("k"), 2);
});

Deno.test("lww-map: keys must be strings", () => {
  assert.throws(
    () => lwwMap.mutate(lwwMap.empty(), "a", new Hlc(), (m) => m.set(1 as unknown as string, 1)),
    TypeError,
  );
});
