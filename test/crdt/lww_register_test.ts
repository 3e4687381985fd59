import assert from "node:assert/strict";
import fc from "fast-check";
import { Hlc } from "../../src/crdt/hlc.ts";
import { lwwRegister, type LwwRegisterHandle } from "../../src/crdt/lww_register.ts";
import { lawTests } from "./crdt_laws.ts";

lawTests({
  type: lwwRegister,
  op: fc.oneof(
    fc.string({ maxLength: 3 }),
    fc.record({ theme: fc.constantFrom("dark", "light") }).map((o) => ({ ...o })),
  ),
  apply: (h: LwwRegisterHandle, v: unknown) => h.set(v),
  malformed: [[], [[1, 0], "a"], [[1], "a", 1], [[1, 0], 7, 1], [[-1, 0], "a", 1], [
    ["1", 0],
    "a",
    1,
  ]],
});

Deno.test("lww-register: the later timestamp wins; a tie goes to the larger replica id", () => {
  const t = 1_000;
  const a = lwwRegister.mutate(undefined, "a", new Hlc({ physical: () => t }), (r) => r.set(1));
  const b = lwwRegister.mutate(undefined, "b", new Hlc({ physical: () => t }), (r) => r.set(2));
  assert.equal(lwwRegister.value(lwwRegister.join(a, b)), 2);
  assert.equal(lwwRegister.value(lwwRegister.join(b, a)), 2);
  const c = lwwRegister.mutate(undefined, "a", new Hlc({ physical: () => t + 1 }), (r) => r.set(3));
  assert.equal(lwwRegister.value(lwwRegister.join(b, c)), 3);
});

Deno.test("lww-register: a write replaces what its replica has seen, even with a clock behind", () => {
  const ahead = lwwRegister.mutate(
    undefined,
    "a",
    new Hlc({ physical: () => 9_000 }),
    (r) => r.set("old"),
  );
  const slow = new Hlc({ physical: () => 1_000 });
  const delta = lwwRegister.mutate(ahead, "b", slow, (r) => r.set("new"));
  assert.equal(lwwRegister.value(lwwRegister.join(ahead, delta)), "new");
  assert.deepEqual(lwwRegister.latest(delta), { wall: 9_000, logical: 1 });
});
