/**
 * `joinOwned`, the in-place join a replica uses for its local deltas: the
 * same result as `join`, and nothing it was given changes, except what it
 * made itself under the same owner.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { crdtType } from "../../src/crdt/crdt_type.ts";
import { Hlc } from "../../src/crdt/hlc.ts";

const op = fc.tuple(
  fc.constantFrom("a#1", "b#1", "c#1"),
  fc.constantFrom("add", "remove", "inc"),
  fc.integer({ min: 0, max: 12 }),
);

for (const name of ["or-set", "or-map"] as const) {
  Deno.test(`${name}: joinOwned folds deltas as join does, and leaves every delta given to it as it was`, () => {
    // deno-lint-ignore no-explicit-any
    const t = crdtType(name) as any;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 9 }), (ops, every) => {
        const clock = new Hlc();
        // One state per replica; the deltas of all of them folded into a running total.
        const states = new Map<string, unknown>();
        const deltas: { d: unknown; wire: string }[] = [];
        let plain = t.empty();
        let owned = t.empty();
        let owner = {};
        ops.forEach(([replica, kind, x], i) => {
          const s = states.get(replica) ?? t.empty();
          // deno-lint-ignore no-explicit-any
          const d = t.mutate(s, replica, clock, (h: any) => {
            if (name === "or-set") kind === "remove" ? h.remove(x) : h.add(x);
            else if (kind === "remove") h.remove(`k${x}`);
            else h.counter(`k${x}`).increment(1);
          });
          states.set(replica, t.join(s, d));
          deltas.push({ d, wire: JSON.stringify(t.encode(d)) });
          plain = t.join(plain, d);
          owned = t.joinOwned(owned, d, owner);
          // Handed out now and then: a new owner, and the old total must stay as it is.
          if (i % every === 0) {
            const out = owned;
            const wire = JSON.stringify(t.encode(out));
            owner = {};
            owned = t.joinOwned(owned, t.empty(), owner);
            deltas.push({ d: out, wire });
          }
        });
        assert.ok(t.equals(owned, plain));
        assert.deepEqual(t.value(owned), t.value(plain));
        for (const { d, wire } of deltas) assert.equal(JSON.stringify(t.encode(d)), wire);
      }),
      { numRuns: 200 },
    );
  });
}
