import assert from "node:assert/strict";
import fc from "fast-check";
import { lastWriteWins, resolveByVectorClock } from "../../src/crdt/conflict_resolver.ts";
import { VectorClock } from "../../src/crdt/vector_clock.ts";

const write = fc.record({
  value: fc.nat(9),
  timestamp: fc.record({ wall: fc.nat(5), logical: fc.nat(2) }),
  replica: fc.constantFrom("a", "b"),
});

Deno.test("lastWriteWins picks the same winner whichever side is old, and a missing side loses", () => {
  fc.assert(
    fc.property(write, write, (x, y) => {
      const w1 = lastWriteWins(x, y), w2 = lastWriteWins(y, x);
      assert.equal(lastWriteWins(undefined, x), x);
      assert.equal(lastWriteWins(x, undefined), x);
      const sameWrite = w1!.timestamp.wall === w2!.timestamp.wall &&
        w1!.timestamp.logical === w2!.timestamp.logical && w1!.replica === w2!.replica;
      return sameWrite;
    }),
  );
});

Deno.test("resolveByVectorClock: the newer version wins; concurrent ones are merged under the merged clock", () => {
  const base = { value: ["milk"], clock: new VectorClock().increment("a") };
  const newer = { value: ["milk", "eggs"], clock: base.clock.increment("a") };
  const union = (x: string[], y: string[]) => [...new Set([...x, ...y])].sort();
  assert.equal(resolveByVectorClock(base, newer, union), newer);
  assert.equal(resolveByVectorClock(newer, base, union), newer);
  assert.equal(resolveByVectorClock(base, base, union), base);
  const other = { value: ["bread"], clock: base.clock.increment("b") };
  const merged = resolveByVectorClock(newer, other, union);
  assert.deepEqual(merged.value, ["bread", "eggs", "milk"]);
  assert.equal(VectorClock.compare(merged.clock, newer.clock), "after");
  assert.equal(VectorClock.compare(merged.clock, other.clock), "after");
});
