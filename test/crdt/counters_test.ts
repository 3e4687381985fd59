import assert from "node:assert/strict";
import fc from "fast-check";
import { gCounter, type GCounterHandle } from "../../src/crdt/g_counter.ts";
import { Hlc } from "../../src/crdt/hlc.ts";
import { pnCounter, type PnCounterHandle } from "../../src/crdt/pn_counter.ts";
import { lawTests } from "./crdt_laws.ts";

lawTests({
  type: gCounter,
  op: fc.integer({ min: 1, max: 5 }),
  apply: (h: GCounterHandle, n: number) => h.increment(n),
  malformed: [[["a"]], [["a", -1]], [["a", 1.5]], [[1, 1]], [["a", 1], ["a", 2]], [null]],
});

lawTests({
  type: pnCounter,
  op: fc.integer({ min: -5, max: 5 }).filter((n) => n !== 0),
  apply: (h: PnCounterHandle, n: number) => n > 0 ? h.increment(n) : h.decrement(-n),
  malformed: [[], [[], [], []], [[["a", 1]], "x"], [[["a", "1"]], []]],
});

Deno.test("g-counter: increments on the handle add up, and the delta holds only this replica", () => {
  const clock = new Hlc();
  const base = gCounter.decode([["a", 2], ["b", 5]]);
  const delta = gCounter.mutate(base, "a", clock, (c) => {
    c.increment();
    c.increment(3);
  });
  assert.deepEqual(gCounter.encode(delta), [["a", 6]]);
  assert.equal(gCounter.value(gCounter.join(base, delta)), 11);
});

Deno.test("pn-counter: the value is increments minus decrements, across replicas", () => {
  const clock = new Hlc();
  const a = pnCounter.mutate(pnCounter.empty(), "a", clock, (c) => c.increment(10));
  const b = pnCounter.mutate(pnCounter.empty(), "b", clock, (c) => c.decrement(4));
  assert.equal(pnCounter.value(pnCounter.join(a, b)), 6);
});

Deno.test("counters refuse amounts that are not positive integers, and overflow", () => {
  const clock = new Hlc();
  for (const bad of [0, -1, 1.5, NaN, "2"]) {
    assert.throws(
      () => gCounter.mutate(gCounter.empty(), "a", clock, (c) => c.increment(bad as number)),
      RangeError,
    );
  }
  const big = gCounter.decode([["a", Number.MAX_SAFE_INTEGER]]);
  assert.throws(() => gCounter.mutate(big, "a", clock, (c) => c.increment()), RangeError);
  assert.throws(() => gCounter.mutate(gCounter.empty(), "", clock, () => {}), TypeError);
});

Deno.test("prune() folds a removed replica's count into another's, keeping the value", () => {
  const s = pnCounter.decode([[["a", 3], ["gone", 4]], [["gone", 1]]]);
  const pruned = pnCounter.prune(s, "gone", "a");
  assert.equal(pnCounter.value(pruned), pnCounter.value(s));
  assert.deepEqual(pnCounter.encode(pruned), [[["a", 7]], [["a", 1]]]);
});
