import assert from "node:assert/strict";
import fc from "fast-check";
import { VectorClock } from "../../src/crdt/vector_clock.ts";

const clock: fc.Arbitrary<VectorClock> = fc
  .array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.nat(4)), { maxLength: 4 })
  .map((entries) => new VectorClock(new Map(entries)));

const flip = {
  before: "after",
  after: "before",
  equal: "equal",
  concurrent: "concurrent",
} as const;

Deno.test("VectorClock.compare is antisymmetric: compare(a, b) mirrors compare(b, a)", () => {
  fc.assert(
    fc.property(
      clock,
      clock,
      (a, b) => VectorClock.compare(b, a) === flip[VectorClock.compare(a, b)],
    ),
  );
});

Deno.test("VectorClock.compare: equal exactly when the counters agree, and reflexive", () => {
  fc.assert(
    fc.property(clock, clock, (a, b) => {
      const same = ["a", "b", "c"].every((r) => a.get(r) === b.get(r));
      return VectorClock.compare(a, a) === "equal" &&
        (VectorClock.compare(a, b) === "equal") === same;
    }),
  );
});

Deno.test("VectorClock.compare is transitive for before", () => {
  fc.assert(
    fc.property(clock, clock, clock, (a, b, c) => {
      fc.pre(VectorClock.compare(a, b) === "before" && VectorClock.compare(b, c) === "before");
      return VectorClock.compare(a, c) === "before";
    }),
  );
});

Deno.test("VectorClock: increment goes after; merge is an upper bound, commutative, associative, idempotent", () => {
  fc.assert(
    fc.property(clock, clock, clock, fc.constantFrom("a", "b", "z"), (a, b, c, r) => {
      const cmp = VectorClock.compare;
      assert.equal(cmp(a.increment(r), a), "after");
      const m = a.merge(b);
      assert.ok(["after", "equal"].includes(cmp(m, a)) && ["after", "equal"].includes(cmp(m, b)));
      assert.equal(cmp(m, b.merge(a)), "equal");
      assert.equal(cmp(m.merge(c), a.merge(b.merge(c))), "equal");
      assert.equal(cmp(a.merge(a), a), "equal");
    }),
  );
});

Deno.test("VectorClock: two increments on different replicas from one base are concurrent", () => {
  const base = new VectorClock().increment("a");
  assert.equal(VectorClock.compare(base.increment("a"), base.increment("b")), "concurrent");
});

Deno.test("VectorClock: survives the wire; bad wire values and entries are refused", () => {
  fc.assert(
    fc.property(clock, (a) => VectorClock.compare(VectorClock.fromWire(a.toWire()), a) === "equal"),
  );
  for (const bad of [null, [["a"]], [["a", -1]], [["a", 1.5]], [[1, 1]], [["a", 1], ["a", 2]]]) {
    assert.throws(() => VectorClock.fromWire(bad), TypeError);
  }
  assert.throws(() => new VectorClock([["a", -1]]), TypeError);
});
