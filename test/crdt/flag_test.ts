import assert from "node:assert/strict";
import fc from "fast-check";
import { flag, type FlagHandle } from "../../src/crdt/flag.ts";
import { Hlc } from "../../src/crdt/hlc.ts";
import { lawTests } from "./crdt_laws.ts";

lawTests({
  type: flag,
  op: fc.boolean(),
  apply: (h: FlagHandle, on: boolean) => on ? h.enable() : h.disable(),
  malformed: [[], [[[], []]], [[[], []], [["a", 1]]], [[[["a", 1]], []], [["a", 1, true]]], [
    [[["a", 1]], []],
    [["a", 1], ["a", 1]],
  ]],
});

Deno.test("flag: enable wins over a concurrent disable", () => {
  const clock = new Hlc();
  const on = flag.mutate(flag.empty(), "a", clock, (f) => f.enable());
  const off = flag.mutate(on, "a", clock, (f) => f.disable());
  const onAgain = flag.mutate(on, "b", clock, (f) => f.enable());
  assert.equal(flag.value(flag.join(flag.join(on, onAgain), off)), true);
  assert.equal(flag.value(flag.join(on, off)), false);
});
