import assert from "node:assert/strict";
import fc from "fast-check";
import { Hlc } from "../../src/crdt/hlc.ts";
import { mvRegister, type MvRegisterHandle } from "../../src/crdt/mv_register.ts";
import { lawTests } from "./crdt_laws.ts";

lawTests({
  type: mvRegister,
  op: fc.oneof(fc.string({ maxLength: 2 }), fc.integer()),
  apply: (h: MvRegisterHandle, v: unknown) => h.set(v),
  malformed: [[], [[[], []], [["a", 1, "x"]]], [[[["a", 1]], []], [["a", 1]]], [
    [[["a", 1]], []],
    [["a", 1, "x", "y"]],
  ]],
});

Deno.test("mv-register: keeps exactly the concurrent values, and a later write replaces them", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer(), { minLength: 1, maxLength: 5 }), (values) => {
      const clock = new Hlc();
      const base = mvRegister.mutate(mvRegister.empty(), "z", clock, (r) => r.set("base"));
      // Each replica writes without seeing the others: all concurrent.
      const writes = values.map((v, i) => mvRegister.mutate(base, `r${i}`, clock, (r) => r.set(v)));
      const merged = writes.reduce((acc, d) => mvRegister.join(acc, d), base);
      assert.deepEqual([...mvRegister.value(merged)].sort(), [...values].sort());
      const next = mvRegister.mutate(merged, "r0", clock, (r) => r.set("resolved"));
      assert.deepEqual(mvRegister.value(mvRegister.join(merged, next)), ["resolved"]);
    }),
  );
});

Deno.test("mv-register: a write replaces what its replica saw, not what it did not", () => {
  const clock = new Hlc();
  const a = mvRegister.mutate(mvRegister.empty(), "a", clock, (r) => r.set(1));
  const b = mvRegister.mutate(mvRegister.empty(), "b", clock, (r) => r.set(2));
  const a2 = mvRegister.mutate(a, "a", clock, (r) => r.set(3));
  const merged = mvRegister.join(mvRegister.join(a, b), a2);
  assert.deepEqual(mvRegister.value(merged), [3, 2]);
});
