import assert from "node:assert/strict";
import { Evaluator } from "../../repl/evaluator.ts";

Deno.test("Evaluator.run() keeps top-level bindings from one input to the next", async () => {
  const ev = new Evaluator({});
  await ev.run("const a = 1; let b = 2; var c = 3");
  await ev.run("function f() { return a + b + c }");
  await ev.run("class K { v = 7 }");
  assert.equal(await ev.evaluate("f() + new K().v"), 13);
  assert.equal(ev.scope.a, 1);
});

Deno.test("Evaluator.run() gives the last expression's or declaration's value, and says when there is none", async () => {
  const ev = new Evaluator({});
  assert.deepEqual(await ev.run("1 + 1"), { value: 2, hasValue: true });
  assert.deepEqual(await ev.run("const x = 5"), { value: 5, hasValue: true });
  assert.deepEqual(await ev.run("let [p, q] = [1, 2]"), { value: [1, 2], hasValue: true });
  assert.equal((await ev.run("if (x) {}")).hasValue, false);
  assert.equal((await ev.run("")).hasValue, false);
  assert.equal((await ev.run("undefined")).hasValue, true);
});

Deno.test("Evaluator.run() awaits at the top level", async () => {
  const ev = new Evaluator({});
  assert.equal(await ev.evaluate("const v = await Promise.resolve(20); v + 1"), 21);
});

Deno.test("Evaluator.run() strips TypeScript: annotations, interfaces, generics, casts, enums", async () => {
  const ev = new Evaluator({});
  await ev.run("interface P { x: number }\ntype N = number");
  await ev.run("function id<T>(v: T): T { return v }");
  await ev.run("const p: P = { x: 2 } as P");
  await ev.run("enum Color { Red, Green }");
  await ev.run(
    "class A { constructor(private readonly y: number) {} get z(): number { return this.y } }",
  );
  assert.equal(await ev.evaluate("id<number>(p.x) + Color.Green + new A(10).z"), 13);
});

Deno.test("Evaluator.run() takes an input that starts with { as an object literal", async () => {
  const ev = new Evaluator({});
  assert.deepEqual(await ev.evaluate("{ a: 1, b: [2] }"), { a: 1, b: [2] });
  assert.equal(await ev.evaluate("{ let q = 1; q }"), undefined);
});

Deno.test("Evaluator.run() turns import statements into dynamic imports relative to its base", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.ts`,
      "export const twice = (n: number) => n * 2;\nexport default 'd';",
    );
    const ev = new Evaluator({}, { base: `file://${dir}/` });
    await ev.run("import def, { twice as t } from './m.ts'");
    await ev.run("import * as ns from './m.ts'");
    assert.equal(await ev.evaluate("t(2) + def + ns.twice(1)"), "4d2");
    assert.equal(await ev.evaluate("(await import('./m.ts')).default"), "d");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Evaluator.run() drops export keywords and gives import.meta", async () => {
  const ev = new Evaluator({}, {
    base: "file:///tmp/x.ts",
    importMeta: { url: "file:///tmp/x.ts", main: true },
  });
  await ev.run("export const e = 1; export function g() { return 2 }");
  assert.equal(await ev.evaluate("e + g()"), 3);
  assert.deepEqual(await ev.evaluate("[import.meta.url, import.meta.main]"), [
    "file:///tmp/x.ts",
    true,
  ]);
});

Deno.test("Evaluator.run() resolves names in its scope before globals", async () => {
  const ev = new Evaluator({ Math: { max: () => "shadowed" } });
  assert.equal(await ev.evaluate("Math.max(1, 2)"), "shadowed");
  assert.equal(await ev.evaluate("JSON.stringify([1])"), "[1]");
});

Deno.test("Evaluator.run() rejects with what the code throws and with SyntaxError for bad input", async () => {
  const ev = new Evaluator({});
  await assert.rejects(ev.run("throw new RangeError('r')"), RangeError);
  await assert.rejects(ev.run("1 +* 2"), SyntaxError);
  await assert.rejects(ev.run("namespace N { }"), /namespace/);
});

Deno.test("Evaluator.check() tells complete, unfinished and invalid input apart", () => {
  const ev = new Evaluator({});
  for (const code of ["1", "const x: number = 1", "", "f(\n1)"]) {
    assert.equal(ev.check(code), "complete", code);
  }
  for (
    const code of [
      "[1,",
      "foo(",
      "x +",
      "if (x) {",
      "function f(a: number) {",
      "`abc",
      "/* c",
      "interface A {",
    ]
  ) {
    assert.equal(ev.check(code), "incomplete", code);
  }
  for (const code of ["1 +* 2", "'abc", "let a = 1 }", ")"]) {
    assert.equal(ev.check(code), "invalid", code);
  }
});

Deno.test("Evaluator.run() keeps the user's lines: a thrown error and a syntax error name origin:line:column", async () => {
  const { locateError } = await import("../../repl/locations.ts");
  const ev = new Evaluator({}, { origin: "deploy.ts" });
  const thrown = await ev.run(
    "const n: number = 1;\nfunction deploy() {\n  throw new Error('deploy failed');\n}\ndeploy();",
  ).catch((e) => e);
  assert.equal(locateError(thrown), "deploy.ts:3:9");
  const syntax = await ev.run("const a = 1;\nlet b = 1 +* 2").catch((e) => e);
  assert.ok(syntax instanceof SyntaxError);
  assert.equal(syntax.message, "Unexpected token");
  assert.equal(locateError(syntax), "deploy.ts:2:12");
  // A function from an earlier input throws in a later one: its own input's place.
  const later = await ev.run("[1].map(() => deploy())").catch((e) => e);
  assert.equal(locateError(later), "deploy.ts:3:9");
});

Deno.test("Evaluator.run() awaits a Promise a top-level binding receives", async () => {
  const ev = new Evaluator({});
  assert.equal(await ev.evaluate("const p = Promise.resolve(5); p"), 5);
  assert.equal(await ev.evaluate("var a = 1, b = Promise.resolve(2); a + b"), 3);
  assert.equal(await ev.evaluate("let c; c = Promise.resolve(3); c"), 3);
});
