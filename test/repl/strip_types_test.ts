import assert from "node:assert/strict";
import { stripTypes } from "../../repl/strip_types.ts";

Deno.test("stripTypes() removes types and leaves JavaScript that runs", () => {
  const js = stripTypes("const n: number = (1 as number); function f<T>(x: T): T { return x }");
  assert.doesNotMatch(js, /number|<T>/);
  assert.equal(new Function(`${js}; return f(n)`)(), 1);
});

Deno.test("stripTypes() keeps imports even when the input does not use them", () => {
  assert.match(stripTypes("import { x } from './y.ts'"), /import \{ x \} from/);
});

Deno.test("stripTypes() throws SyntaxError with the position where parsing stopped", () => {
  try {
    stripTypes("[1,");
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof SyntaxError);
    assert.equal((e as SyntaxError & { pos?: number }).pos, 3);
    assert.doesNotMatch((e as Error).message, /\(\d+:\d+\)/);
  }
});

Deno.test("stripTypes() refuses a namespace instead of dropping it", () => {
  assert.throws(() => stripTypes("namespace N { export const x = 1 }"), SyntaxError);
});
