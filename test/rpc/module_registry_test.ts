import assert from "node:assert/strict";
import { loadModule, ModuleRegistry } from "../../src/rpc/module_registry.ts";

Deno.test("ModuleRegistry.lookup() finds own functions only, never inherited ones", () => {
  const registry = new ModuleRegistry();
  const fns = registry.register("math", { add: (a: number, b: number) => a + b, pi: 3.14 });
  assert.deepEqual(fns, ["add"]);
  const found = registry.lookup("math", "add");
  assert.equal(found.kind, "found");
  assert.equal(found.kind === "found" && found.fn(2, 3), 5);
  for (const name of ["pi", "toString", "constructor", "__proto__", "hasOwnProperty", "nope"]) {
    assert.equal(registry.lookup("math", name).kind, "no_function", name);
  }
  assert.equal(registry.lookup("nomath", "add").kind, "no_module");
});

Deno.test("ModuleRegistry.register() replaces a module, refuses bad names and reserved modules", () => {
  const registry = new ModuleRegistry();
  registry.register("m", { f: () => 1 });
  registry.register("m", { g: () => 2 });
  assert.deepEqual(registry.functions("m"), ["g"]);
  assert.deepEqual(registry.names(), ["m"]);
  for (const bad of ["", "a.b", "a b", "x/y"]) {
    assert.throws(() => registry.register(bad, {}), TypeError, bad);
  }
  assert.throws(() => registry.register("n", null as unknown as object), TypeError);
  registry.register("node", { self: () => "x" }, { reserved: true });
  assert.throws(() => registry.register("node", {}), /built-in module/);
  assert.throws(() => registry.unregister("node"), /built-in module/);
  assert.equal(registry.unregister("m"), true);
  assert.equal(registry.unregister("m"), false);
  assert.equal(registry.functions("m"), undefined);
});

Deno.test("ModuleRegistry.functions() lists functions but not classes, without running getters", () => {
  const registry = new ModuleRegistry();
  let ran = false;
  const module = {
    f() {},
    Klass: class {},
    get g() {
      ran = true;
      return () => 1;
    },
  };
  assert.deepEqual(registry.register("m", module), ["f"]);
  assert.equal(ran, false);
});

Deno.test("loadModule() registers a file's exports under its base name or its exported name, and reloads after an edit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-rpc-load-" });
  try {
    const registry = new ModuleRegistry();
    await Deno.writeTextFile(
      `${dir}/calc_tools.ts`,
      "export const version = 1;\nexport function twice(n: number) { return 2 * n; }\n",
    );
    const first = await loadModule(registry, `${dir}/calc_tools.ts`);
    assert.equal(first.name, "calc_tools");
    assert.deepEqual(first.functions, ["twice"]);
    const found = registry.lookup("calc_tools", "twice");
    assert.equal(found.kind === "found" && found.fn(21), 42);

    await Deno.writeTextFile(
      `${dir}/calc_tools.ts`,
      "export function twice(n: number) { return 2 * n + 1; }\nexport function half(n: number) { return n / 2; }\n",
    );
    const second = await loadModule(registry, `${dir}/calc_tools.ts`);
    assert.deepEqual(second.functions, ["half", "twice"]);
    const again = registry.lookup("calc_tools", "twice");
    assert.equal(again.kind === "found" && again.fn(21), 43);

    await Deno.writeTextFile(
      `${dir}/x.ts`,
      'export const name = "named";\nexport const f = () => 1;\n',
    );
    assert.equal((await loadModule(registry, `${dir}/x.ts`)).name, "named");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModule() refuses a missing file, a file without functions and an invalid name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-rpc-load-" });
  try {
    const registry = new ModuleRegistry();
    await assert.rejects(() => loadModule(registry, `${dir}/missing.ts`), /Cannot load module/);
    await Deno.writeTextFile(`${dir}/empty.ts`, "export const x = 1;\n");
    await assert.rejects(() => loadModule(registry, `${dir}/empty.ts`), /exports no function/);
    await Deno.writeTextFile(`${dir}/a.b.ts`, "export const f = () => 1;\n");
    await assert.rejects(() => loadModule(registry, `${dir}/a.b.ts`), TypeError);
    await Deno.writeTextFile(`${dir}/bad.ts`, "export const f = (;\n");
    await assert.rejects(() => loadModule(registry, `${dir}/bad.ts`), /Cannot load module/);
    assert.deepEqual(registry.names(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
