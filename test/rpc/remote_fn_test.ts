// deno-lint-ignore-file no-unused-vars no-var
import assert from "node:assert/strict";
import { CaptureError } from "../../src/errors.ts";
import {
  capturedNames,
  compileSource,
  functionSource,
  PRELUDE_NAMES,
} from "../../src/rpc/remote_fn.ts";

declare function receive(): Promise<unknown>;
declare function send(to: unknown, msg: unknown): void;
declare function self(): unknown;

const outer = 1;
const other = 2;

Deno.test("capturedNames() is empty for functions that use only their own names, globals and the prelude", () => {
  const selfContained: ((...args: never[]) => unknown)[] = [
    () => Deno.hostname(),
    (a: number, b = 2, ...rest: number[]) => a + b + rest.length,
    ({ p, q = 2 }: { p: number; q?: number }, [r, ...s]: number[]) => p + q + r! + s.length,
    (n: number) => {
      const x = n;
      let y;
      var z = 3;
      function helper() {
        return x + z;
      }
      return helper() + (y ?? 0);
    },
    () => {
      try {
        throw new Error("x");
      } catch (e) {
        return e;
      }
    },
    () => {
      let t = 0;
      for (const i of [1, 2]) t += i;
      for (let j = 0; j < 2; j++) t += j;
      for (const k in { a: 1 }) t += k.length;
      label: for (;;) break label;
      return t;
    },
    (v: number) => {
      switch (v) {
        case 1: {
          const w = 1;
          return w;
        }
        default:
          return Math.max(v, 0);
      }
    },
    () => {
      class A {
        f = 1;
        m() {
          return this.f;
        }
      }
      return new A().m();
    },
    () => typeof window,
    function fact(n: number): number {
      return n <= 1 ? 1 : n * fact(n - 1);
    },
    function (this: number) {
      return arguments.length + this;
    },
    async () => {
      const m = await receive();
      send(self(), m);
    },
    () => ({ a: 1, b: [1, 2].map((x) => x * 2), c: `t${1}` }),
  ];
  for (const fn of selfContained) assert.deepEqual(capturedNames(fn), [], fn.toString());
});

Deno.test("capturedNames() lists the outer names a function uses, in order of first use", () => {
  assert.deepEqual(capturedNames(() => outer + other + outer), ["outer", "other"]);
  assert.deepEqual(capturedNames((a = outer) => a), ["outer"]);
  assert.deepEqual(capturedNames(() => ({ outer })), ["outer"]);
  assert.deepEqual(
    capturedNames(
      ({
        m() {
          return other;
        },
      }).m,
    ),
    ["other"],
  );
  // @ts-ignore: an outer `this` is the point of the test
  assert.deepEqual(capturedNames(() => this), ["this"]);
  assert.deepEqual(
    capturedNames((v: number) => {
      switch (v) {
        default:
          return outer;
      }
    }),
    ["outer"],
  );
  assert.deepEqual(
    capturedNames(() => {
      const inner = () => other;
      return inner();
    }),
    ["other"],
  );
  // A name declared in an inner block does not cover a use outside it.
  assert.deepEqual(
    capturedNames(() => {
      {
        const hidden = 1;
      }
      // @ts-ignore: the point of the test
      return hidden;
    }),
    ["hidden"],
  );
});

Deno.test("functionSource() refuses a capturing function with a CaptureError naming the names", () => {
  let err: unknown;
  try {
    functionSource(() => outer * other);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CaptureError);
  assert.ok(err instanceof TypeError);
  assert.deepEqual(err.captured, ["outer", "other"]);
  assert.match(err.message, /captures outer, other/);
  assert.match(err.message, /as arguments/);
});

Deno.test("functionSource() refuses built-in and bound functions, classes and non-functions", () => {
  assert.throws(() => functionSource(Math.max), /no JavaScript source/);
  assert.throws(() => functionSource((() => 1).bind(null)), /no JavaScript source/);
  assert.throws(() => functionSource(class Foo {}), /class Foo/);
  assert.throws(() => functionSource("() => 1"), /expected a function/);
});

Deno.test("functionSource() output compiles back to an equivalent function", async () => {
  const prelude = { values: { twice: (n: number) => 2 * n } };
  const cases: [(...args: never[]) => unknown, unknown[], unknown][] = [
    [(a: number, b: number) => a + b, [2, 3], 5],
    [
      function named(n: number) {
        return n * 10;
      },
      [4],
      40,
    ],
    [
      ({
        m(a: number) {
          return a - 1;
        },
      }).m,
      [10],
      9,
    ],
    [async (x: number) => await Promise.resolve(x + 1), [1], 2],
  ];
  for (const [fn, args, expected] of cases) {
    const compiled = compileSource(functionSource(fn), prelude);
    assert.equal(await compiled(...args), expected, fn.toString());
  }
  assert.equal(compileSource("(n) => twice(n)", prelude)(21), 42);
});

Deno.test("compileSource() throws SyntaxError for bad source and TypeError for a non-function", () => {
  assert.throws(() => compileSource("(() => ", { values: {} }), SyntaxError);
  assert.throws(() => compileSource("42", { values: {} }), /evaluates to number/);
});

Deno.test("PRELUDE_NAMES holds the process functions, Process and rpc", () => {
  for (const name of ["self", "send", "receive", "spawn", "exit", "Process", "rpc"]) {
    assert.ok(PRELUDE_NAMES.includes(name), name);
  }
});
