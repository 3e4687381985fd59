import assert from "node:assert/strict";
import fc from "fast-check";
import { Hlc } from "../../src/crdt/hlc.ts";
import { type DotFun, FUN_OPS, joinCausalMap, type StoreOps } from "../../src/crdt/_dot_store.ts";
import { orSet, type OrSetHandle, type OrSetState } from "../../src/crdt/or_set.ts";
import { lawTests } from "./crdt_laws.ts";

type Op = { add: boolean; x: string | number };

/** 40 elements every replica has seen, so that joins with deltas take the indexed shortcut. */
const seed = orSet.join(
  orSet.empty(),
  orSet.mutate(orSet.empty(), "s", new Hlc(), (s) => {
    for (let i = 0; i < 40; i++) s.add(`e${i}`);
  }),
);

lawTests({
  type: orSet,
  op: fc.record({ add: fc.boolean(), x: fc.oneof(fc.constantFrom("x", "y", "z"), fc.nat(2)) }),
  apply: (h: OrSetHandle, op: Op) => op.add ? h.add(op.x) : h.remove(op.x),
  malformed: [],
});

lawTests({
  type: orSet,
  label: "40 elements seen by all",
  seed,
  fullJoin: (a: OrSetState, b: OrSetState) =>
    joinCausalMap(a, b, () => FUN_OPS as StoreOps<DotFun<true>>, true),
  op: fc.record({
    add: fc.boolean(),
    x: fc.oneof(fc.constantFrom("x", "y", "e1", "e2", "e3"), fc.nat(2)),
  }),
  apply: (h: OrSetHandle, op: Op) => op.add ? h.add(op.x) : h.remove(op.x),
  malformed: [
    [],
    [[[], []]],
    [[[], []], [["x", [["a", 1]]]]], // a dot outside its context
    [[[["a", 1]], []], [["x", [["a", 1]]], ["x", [["a", 1]]]]], // an element twice
    [[[["a", 1]], []], [["x", [["a", 1]]], ["y", [["a", 1]]]]], // a dot live in two places
    [[[["a", 1]], []], [["x", [["a", 1]]], ["y", [["a", 1]]]]], // a dot live in two places
    [[[["a", 1]], []], [[{}, [["a", 1]]]]],
    [[[["a", 1]], []], [["x", [["a", 1, 5]]]]],
    [[[["a", 0]], []], []],
    [[[["a", 1]], [["a", ["2"]]]], []],
  ],
});

Deno.test("or-set: an add wins over a concurrent remove of the same element", () => {
  fc.assert(
    fc.property(fc.constantFrom("milk", 7, 3n), fc.boolean(), (x, removeFirst) => {
      const clock = new Hlc();
      const base = orSet.mutate(orSet.empty(), "a", clock, (s) => s.add(x));
      const removed = orSet.mutate(base, "a", clock, (s) => s.remove(x));
      const added = orSet.mutate(base, "b", clock, (s) => s.add(x));
      const [first, second] = removeFirst ? [removed, added] : [added, removed];
      const merged = orSet.join(orSet.join(base, first), second);
      return orSet.value(merged).has(x);
    }),
  );
});

Deno.test("or-set: a remove takes away what it saw; a late copy of the add does not bring it back", () => {
  const clock = new Hlc();
  const add = orSet.mutate(orSet.empty(), "a", clock, (s) => s.add("x"));
  const a = orSet.join(orSet.empty(), add);
  const remove = orSet.mutate(a, "a", clock, (s) => s.remove("x"));
  const b = orSet.join(orSet.join(orSet.empty(), remove), add);
  assert.deepEqual(orSet.value(b), new Set());
  // Nothing grows for removed elements: the context is one counter per replica.
  assert.deepEqual(orSet.encode(orSet.join(a, remove)), [[[["a", 1]], []], []]);
});

Deno.test("or-set: operations on one handle see each other", () => {
  const d = orSet.mutate(orSet.empty(), "a", new Hlc(), (s) => {
    s.add("x");
    s.remove("x");
    s.add("y");
  });
  assert.deepEqual(orSet.value(d), new Set(["y"]));
  assert.deepEqual(orSet.value(orSet.join(orSet.empty(), d)), new Set(["y"]));
});

Deno.test("or-set: prune() forgets a removed replica's context once nothing it added is live", () => {
  const clock = new Hlc();
  const added = orSet.mutate(orSet.empty(), "gone", clock, (s) => s.add("x"));
  const s1 = orSet.join(orSet.empty(), added);
  // What it added is still there: kept, under its dots.
  assert.equal(orSet.prune(s1, "gone", "a"), s1);
  const removed = orSet.mutate(s1, "a", clock, (s) => s.remove("x"));
  const s2 = orSet.join(s1, removed);
  const pruned = orSet.prune(s2, "gone", "a");
  assert.deepEqual(orSet.encode(pruned), [[[], []], []]);
  assert.deepEqual(orSet.value(pruned), new Set());
});
