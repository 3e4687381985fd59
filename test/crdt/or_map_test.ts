import assert from "node:assert/strict";
import fc from "fast-check";
import { Hlc } from "../../src/crdt/hlc.ts";
import { joinCausalMap } from "../../src/crdt/_dot_store.ts";
import { orMap, orMapFieldOps, type OrMapHandle, type OrMapState } from "../../src/crdt/or_map.ts";
import { lawTests } from "./crdt_laws.ts";

/** One operation on a field of the map, or of a map nested in it. */
type Op = {
  nested: boolean;
  key: string;
  what: "inc" | "dec" | "reg" | "add" | "del" | "on" | "off" | "remove";
  n: number;
};

/** Keys are tied to kinds, so that random operations never mix kinds on one key. */
const KEY_OF: Record<Op["what"], string[]> = {
  inc: ["apples", "pears", "c1"],
  dec: ["apples", "pears", "c2"],
  reg: ["name"],
  add: ["tags"],
  del: ["tags"],
  on: ["vip"],
  off: ["vip"],
  remove: ["apples", "pears", "name", "tags", "vip", "sub", "c1", "c3"],
};

function apply(root: OrMapHandle, op: Op): void {
  const m = op.nested ? root.map("sub") : root;
  const key = op.key;
  switch (op.what) {
    case "inc":
      return m.counter(key).increment(op.n);
    case "dec":
      return m.counter(key).decrement(op.n);
    case "reg":
      return m.register(key).set(`v${op.n}`);
    case "add":
      return m.set(key).add(op.n);
    case "del":
      return m.set(key).remove(op.n);
    case "on":
      return m.flag(key).enable();
    case "off":
      return m.flag(key).disable();
    case "remove":
      return m.remove(key);
  }
}

const op: fc.Arbitrary<Op> = fc.constantFrom(...Object.keys(KEY_OF) as Op["what"][]).chain((what) =>
  fc.record({
    nested: what === "remove" ? fc.boolean() : fc.boolean(),
    key: fc.constantFrom(...KEY_OF[what]),
    what: fc.constant(what),
    n: fc.integer({ min: 1, max: 3 }),
  }).filter((o) => !(o.nested && o.key === "sub"))
);

lawTests({
  type: orMap,
  op,
  apply,
  malformed: [
    [],
    [[[], []], [["counter", "a", [["x", 1, 1, 0]]]]], // a dot outside its context
    [[[["x", 1]], []], [["bogus", "a", []]]],
    [[[["x", 1]], []], [["counter", "a", [["x", 1, -1, 0]]]]],
    [[[["x", 1]], []], [["counter", "a", [["x", 1, 1]]]]],
    [[[["x", 1]], []], [["register", "a", [["x", 1, "ts", 1]]]]],
    [[[["x", 1]], []], [["counter", "a", [["x", 1, 1, 0]]], ["counter", "a", []]]],
    [[[["x", 1]], []], [["map", "m", [["set", "s", [[{}, [["x", 1]]]]]]]]],
    [[[["x", 1]], []], [["flag", 7, [["x", 1]]]]],
    [[[["x", 1]], []], [["flag", "a", [["x", 1]]], ["flag", "b", [["x", 1]]]]], // one dot, two fields
    [[[["x", 1]], []], [["flag", "a", [["x", 1]]], ["flag", "b", [["x", 1]]]]], // one dot, two fields
  ],
});

/** 40 counters every replica has seen, so that joins with deltas take the indexed shortcut. */
const seed = orMap.join(
  orMap.empty(),
  orMap.mutate(orMap.empty(), "s", new Hlc(), (m) => {
    for (let i = 0; i < 40; i++) m.counter(`c${i}`).increment(i + 1);
  }),
);

lawTests({
  type: orMap,
  label: "40 counters seen by all",
  seed,
  fullJoin: (a: OrMapState, b: OrMapState) => joinCausalMap(a, b, orMapFieldOps, true),
  op,
  apply,
  malformed: [],
});

Deno.test("or-map: a cart of counters sums the replicas' changes", () => {
  const clock = new Hlc();
  const a = orMap.mutate(orMap.empty(), "a", clock, (m) => {
    m.counter("apples").increment(2);
    m.counter("apples").increment(1);
  });
  const b = orMap.mutate(orMap.empty(), "b", clock, (m) => m.counter("apples").decrement(1));
  assert.deepEqual(orMap.value(orMap.join(a, b)), new Map([["apples", 2]]));
});

Deno.test("or-map: remove is an observed remove; a concurrent update keeps the key", () => {
  const clock = new Hlc();
  const base = orMap.mutate(orMap.empty(), "a", clock, (m) => {
    m.counter("apples").increment(3);
    m.set("notes").add("ripe");
  });
  const removed = orMap.mutate(base, "a", clock, (m) => {
    m.remove("apples");
    m.remove("notes");
  });
  const updated = orMap.mutate(base, "b", clock, (m) => m.counter("apples").increment(1));
  const merged = orMap.join(orMap.join(base, removed), updated);
  // b's increment was concurrent with the remove: the key stays with b's total.
  assert.deepEqual(orMap.value(merged), new Map([["apples", 1]]));
  // After a remove, a counter starts again from 0.
  const again = orMap.mutate(orMap.join(base, removed), "a", clock, (m) => {
    m.counter("apples").increment(5);
  });
  assert.equal(orMap.value(orMap.join(merged, again)).get("apples"), 6);
});

Deno.test("or-map: handle calls see each other, nested maps included", () => {
  const clock = new Hlc();
  const d = orMap.mutate(orMap.empty(), "a", clock, (m) => {
    m.map("sub").counter("x").increment(1);
    m.map("sub").counter("x").increment(1);
    m.remove("sub");
    m.map("sub").register("y").set("kept");
    m.flag("f").enable();
    m.flag("f").disable();
  });
  assert.deepEqual(orMap.value(d), new Map([["sub", new Map([["y", "kept"]])]]));
  assert.deepEqual(orMap.value(orMap.join(orMap.empty(), d)), orMap.value(d));
});

Deno.test("or-map: a key holds one kind of value; bad keys and amounts are refused", () => {
  const clock = new Hlc();
  const s = orMap.mutate(orMap.empty(), "a", clock, (m) => m.set("k").add(1));
  assert.throws(
    () => orMap.mutate(s, "a", clock, (m) => m.counter("k").increment()),
    TypeError,
    'Cannot use OR-Map key "k" as a counter: it holds a set',
  );
  assert.throws(
    () => orMap.mutate(s, "a", clock, (m) => m.counter(1 as unknown as string)),
    TypeError,
  );
  assert.throws(() => orMap.mutate(s, "a", clock, (m) => m.counter("c").increment(-1)), RangeError);
  // After removing it, the key may hold another kind.
  const d = orMap.mutate(s, "a", clock, (m) => {
    m.remove("k");
    m.counter("k").increment();
  });
  assert.equal(orMap.value(orMap.join(s, d)).get("k"), 1);
});

Deno.test("or-map: latest() is the newest register timestamp, at any depth", () => {
  const clock = new Hlc({ physical: () => 42 });
  const d = orMap.mutate(orMap.empty(), "a", clock, (m) => m.map("s").register("r").set(1));
  assert.deepEqual(orMap.latest(d), { wall: 42, logical: 0 });
  assert.equal(orMap.latest(orMap.empty()), undefined);
});
