import assert from "node:assert/strict";
import { CRDT_TYPE_NAMES, crdtType } from "../../src/crdt/crdt_type.ts";
import { Hlc } from "../../src/crdt/hlc.ts";
import * as crdt from "../../src/crdt/mod.ts";

Deno.test("crdtType() finds every type by name and refuses others with a TypeError", () => {
  assert.deepEqual(CRDT_TYPE_NAMES, [
    "g-counter",
    "pn-counter",
    "g-set",
    "or-set",
    "lww-register",
    "mv-register",
    "flag",
    "or-map",
    "lww-map",
  ]);
  for (const name of CRDT_TYPE_NAMES) {
    const type = crdtType(name);
    assert.equal(type.name, name);
    assert.ok(type.equals(type.empty(), type.decode(type.encode(type.empty()))));
    // A mutation that does nothing makes an empty delta.
    const delta = type.mutate(type.empty(), "a", new Hlc(), () => {});
    assert.ok(type.equals(type.join(type.empty(), delta), type.empty()), name);
  }
  for (const bad of ["counter", "", "toString", "__proto__", 3]) {
    assert.throws(() => crdtType(bad as string), TypeError);
  }
});

Deno.test("src/crdt stays pure: it imports only itself, src/term and src/errors.ts", async () => {
  const dir = new URL("../../src/crdt/", import.meta.url);
  for await (const entry of Deno.readDir(dir)) {
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    for (const [, spec] of text.matchAll(/^(?:import|export)[^;]*?from "([^"]+)"/gms)) {
      assert.ok(
        spec!.startsWith("./") || spec!.startsWith("../term/") || spec === "../errors.ts",
        `${entry.name} imports ${spec}`,
      );
    }
  }
  assert.equal(typeof crdt.crdtType, "function");
});
