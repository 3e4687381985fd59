import assert from "node:assert/strict";
import fc from "fast-check";
import { PMap } from "../../src/crdt/_pmap.ts";

const key = fc.oneof(
  fc.integer({ min: -5, max: 3000 }),
  fc.string({ maxLength: 3 }),
  fc.constantFrom(1n, -1n, true, false, null, 1.5, -0.25),
);

Deno.test("PMap behaves as a Map, and every earlier version stays as it was", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), key), { maxLength: 300 }), (ops) => {
      let p = PMap.empty<unknown, number>();
      const m = new Map<unknown, number>();
      const versions: [PMap<unknown, number>, Map<unknown, number>][] = [];
      ops.forEach(([add, k], i) => {
        if (add) (p = p.set(k, i)), m.set(k, i);
        else (p = p.delete(k)), m.delete(k);
        versions.push([p, new Map(m)]);
      });
      for (const [pv, mv] of versions) {
        assert.equal(pv.size, mv.size);
        assert.deepEqual(new Map(pv), mv);
        for (const [k, v] of mv) assert.ok(pv.has(k) && pv.get(k) === v);
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("PMap keeps keys whose hashes collide, and deletes them one at a time", () => {
  // Pairs of keys with the same 30-bit hash.
  const pairs = [["k6264", "k101140"], ["k6260", "k101144"], ["k6266", "k101146"]];
  let p = PMap.empty<string, number>();
  for (let i = 0; i < 2_000; i++) p = p.set(`n${i}`, i);
  const all = pairs.flat();
  all.forEach((k, i) => p = p.set(k, -i));
  assert.equal(p.size, 2_000 + all.length);
  all.forEach((k, i) => assert.equal(p.get(k), -i));
  for (const [a, b] of pairs) {
    const without = p.delete(a!);
    assert.equal(without.has(a!), false);
    assert.equal(without.get(b!), -all.indexOf(b!));
    assert.equal(p.get(a!), -all.indexOf(a!)); // the old version is unchanged
    p = without.set(b!, 1).delete(b!);
    assert.equal(p.has(b!), false);
  }
  assert.equal(p.size, 2_000);
  assert.equal([...p.keys()].length, 2_000);
});

Deno.test("PMap sets under an owner change only that owner's nodes: a map handed out (its owner replaced) never changes", () => {
  const colliding = ["k6264", "k101140", "k6260", "k101144"];
  const k = fc.oneof(key, fc.constantFrom(...colliding));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), k), { maxLength: 50 }),
      fc.array(fc.tuple(fc.constantFrom("set", "delete", "hand out"), k), { maxLength: 300 }),
      (before, ops) => {
        let p = PMap.empty<unknown, number>();
        for (const [add, x] of before) p = add ? p.set(x, 1) : p.delete(x);
        const shared: [PMap<unknown, number>, Map<unknown, number>][] = [[p, new Map(p)]];
        const m = new Map(p);
        let owner = {};
        ops.forEach(([op, x], i) => {
          if (op === "set") (p = p.set(x, i, owner)), m.set(x, i);
          else if (op === "delete") (p = p.delete(x)), m.delete(x);
          else {
            shared.push([p, new Map(m)]);
            owner = {};
          }
          assert.equal(p.size, m.size);
        });
        assert.deepEqual(new Map(p), m);
        for (const [x, v] of m) assert.equal(p.get(x), v);
        for (const [map, copy] of shared) {
          assert.equal(map.size, copy.size);
          assert.deepEqual(new Map(map), copy);
        }
      },
    ),
    { numRuns: 300 },
  );
});
