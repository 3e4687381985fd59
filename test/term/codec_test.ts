import assert from "node:assert/strict";
import { Decoder, Encoder } from "cbor-x";
import fc from "fast-check";
import {
  BY_REFERENCE_MIN,
  decode,
  encode,
  EncodedParts,
  encodeParts,
  MAX_DEPTH,
  TAG_PID,
} from "../../src/term/codec.ts";
import { Pid, Ref } from "../../src/term/pid.ts";
import {
  DecodeError,
  NoConnectionError,
  ProcessExitError,
  RemoteError,
  TimeoutError,
} from "../../src/errors.ts";

function roundTrip<T>(value: T): T {
  return decode(encode(value)) as T;
}

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function assertDecodeError(input: Uint8Array, message?: RegExp): void {
  assert.throws(() => decode(input), (e: unknown) => {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${e}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

function assertUnsendable(value: unknown, message: string): void {
  assert.throws(() => encode(value), (e: unknown) => {
    assert.ok(e instanceof TypeError, `expected TypeError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

// ---------------------------------------------------------------------------
// Round trips, type by type

Deno.test("encode()/decode() round-trip null, undefined and booleans, also inside containers", () => {
  for (const v of [null, undefined, true, false]) assert.equal(roundTrip(v), v);
  const arr = roundTrip([undefined, null, undefined]);
  assert.deepEqual(arr, [undefined, null, undefined]);
  assert.equal(arr.length, 3);
  const obj = roundTrip({ a: undefined, b: null });
  assert.deepEqual(obj, { a: undefined, b: null });
  assert.ok(Object.hasOwn(obj, "a"), "a key holding undefined survives");
  assert.equal(obj.a, undefined);
  assert.equal(obj.b, null);
});

Deno.test("encode()/decode() round-trip numbers, keeping -0, NaN and the infinities", () => {
  const numbers = [
    0,
    1,
    23,
    24,
    255,
    256,
    65535,
    65536,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -1,
    -24,
    -25,
    -256,
    -257,
    -(2 ** 31),
    -(2 ** 32),
    -(2 ** 32) - 1,
    Number.MIN_SAFE_INTEGER,
    1.5,
    -0.1,
    1e300,
    Number.MIN_VALUE,
    Number.MAX_VALUE,
    -0,
    NaN,
    Infinity,
    -Infinity,
  ];
  for (const n of numbers) {
    const back = roundTrip(n);
    assert.ok(Object.is(back, n), `${n} came back as ${back}`);
    assert.equal(typeof back, "number");
  }
  assert.ok(Object.is(roundTrip([-0])[0], -0));
  assert.ok(Object.is(roundTrip({ z: -0 }).z, -0));
});

Deno.test("encode() writes small integers in the shortest CBOR form", () => {
  assert.equal(hex(encode(0)), "00");
  assert.equal(hex(encode(23)), "17");
  assert.equal(hex(encode(24)), "1818");
  assert.equal(hex(encode(-1)), "20");
  assert.equal(hex(encode(1000)), "1903e8");
  assert.equal(hex(encode(-0)), "fb8000000000000000");
  assert.equal(hex(encode(1.5)), "fb3ff8000000000000");
});

Deno.test("encode()/decode() round-trip bigints of any size and sign, as bigints", () => {
  const values = [
    0n,
    1n,
    -1n,
    255n,
    256n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 53n + 1n,
    2n ** 64n - 1n,
    2n ** 64n,
    -(2n ** 64n),
    -(2n ** 64n) - 1n,
    0xabcn,
    -0xabcdefn,
    3n ** 2000n,
    -(7n ** 3000n),
    2n ** 80_000n - 1n,
  ];
  for (const v of values) {
    const back = roundTrip(v);
    assert.equal(typeof back, "bigint");
    assert.equal(back, v);
  }
});

Deno.test("encode()/decode() round-trip strings: empty, ASCII, non-Latin, emoji, long", () => {
  const strings = [
    "",
    "a",
    "ping",
    "héllo wörld",
    "日本語のテキスト",
    "😀👍🏽 family: 👨‍👩‍👧",
    "x".repeat(23),
    "x".repeat(24),
    "é".repeat(12),
    "é".repeat(40),
    "€".repeat(63),
    "€".repeat(64),
    "x".repeat(255),
    "x".repeat(256),
    "é".repeat(200),
    "x".repeat(65535),
    "x".repeat(65536),
    "😀".repeat(50_000),
  ];
  for (const s of strings) assert.equal(roundTrip(s), s);
});

Deno.test("encode() writes a lone surrogate as U+FFFD, as TextEncoder does", () => {
  for (const s of ["a\ud800b", "\udc00", "x\ud83d", "\ud800".repeat(100)]) {
    assert.equal(roundTrip(s), new TextDecoder().decode(new TextEncoder().encode(s)));
  }
});

Deno.test("encode()/decode() round-trip Uint8Array, encoding only the view's bytes", () => {
  const backing = new Uint8Array([9, 1, 2, 3, 9]);
  const view = backing.subarray(1, 4);
  const back = roundTrip(view);
  assert.ok(back instanceof Uint8Array);
  assert.deepEqual(back, bytes(1, 2, 3));
  assert.deepEqual(roundTrip(new Uint8Array(0)), new Uint8Array(0));
  const big = new Uint8Array(300_000).map((_, i) => i & 0xff);
  assert.deepEqual(roundTrip(big), big);
});

Deno.test("encode()/decode() round-trip other typed arrays, at any byte offset", () => {
  const arrays: ArrayBufferView[] = [
    new Uint8ClampedArray([0, 255, 128]),
    new Int8Array([-128, 0, 127]),
    new Uint16Array([0, 65535, 256]),
    new Int16Array([-32768, 1, 32767]),
    new Uint32Array([0, 2 ** 32 - 1]),
    new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
    new Float32Array([1.5, -0, NaN, Infinity]),
    new Float64Array([Math.PI, -0, NaN, -Infinity]),
    new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]),
    new BigUint64Array([0n, 2n ** 64n - 1n]),
  ];
  const Float16 = (globalThis as Record<string, unknown>).Float16Array as
    | (new (values: number[]) => ArrayBufferView)
    | undefined;
  if (Float16) arrays.push(new Float16([1.5, -0, 65504]));
  for (const a of arrays) {
    const back = roundTrip(a);
    assert.equal(back.constructor, a.constructor);
    assert.deepEqual(back, a);
  }
  // A view at an odd offset still comes back whole and aligned.
  const buffer = new ArrayBuffer(17);
  const odd = new Uint8Array(buffer, 1, 16);
  odd.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  const f64 = new Float64Array(odd.slice().buffer);
  const inMessage = roundTrip({ pad: bytes(1), f64 });
  assert.deepEqual(inMessage.f64, f64);
});

Deno.test("encode() sends ArrayBuffer and DataView as bytes, which arrive as a Uint8Array", () => {
  const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
  assert.deepEqual(roundTrip(buffer), bytes(1, 2, 3, 4));
  assert.deepEqual(roundTrip(new DataView(buffer, 1, 2)), bytes(2, 3));
});

Deno.test("encode()/decode() round-trip Date, including ms far from 1970 and invalid dates", () => {
  const dates = [
    new Date(0),
    new Date(1_700_000_000_000),
    new Date(1_700_000_000_123),
    new Date(-1),
    new Date(-62_135_596_800_001),
    new Date(8.64e15),
    new Date(-8.64e15),
    new Date(8.64e15 - 1),
    new Date(-8.64e15 + 1),
  ];
  for (const d of dates) {
    const back = roundTrip(d);
    assert.ok(back instanceof Date);
    assert.equal(back.getTime(), d.getTime(), d.toISOString());
  }
  assert.ok(Number.isNaN(roundTrip(new Date(NaN)).getTime()));
});

Deno.test("encode()/decode() keep a Map a Map, with any keys, and a plain object a plain object", () => {
  const pid = new Pid("a@host", 1, 0, 1);
  const map = new Map<unknown, unknown>([
    ["s", 1],
    [1, "one"],
    [undefined, null],
    [null, undefined],
    [NaN, "nan"],
    [true, false],
    [10n, "big"],
    [pid, "pid"],
    [[1, 2], "array"],
    [{ k: 1 }, "object"],
  ]);
  const back = roundTrip(map);
  assert.ok(back instanceof Map);
  assert.deepEqual(back, map);
  assert.equal(back.get(1), "one");
  assert.equal(back.get(NaN), "nan");
  assert.equal(back.get(10n), "big");

  const stringKeys = roundTrip(new Map([["a", 1], ["b", 2]]));
  assert.ok(stringKeys instanceof Map, "a Map with string keys stays a Map");

  const plain = roundTrip({ a: 1, nested: { b: [1, { c: 2 }] } });
  assert.equal(Object.getPrototypeOf(plain), Object.prototype);
  assert.equal(Object.getPrototypeOf(plain.nested), Object.prototype);
  assert.deepEqual(plain, { a: 1, nested: { b: [1, { c: 2 }] } });
  assert.ok(!(plain instanceof Map));
});

Deno.test("encode()/decode() round-trip Set, including members of every kind", () => {
  const set = new Set<unknown>([1, "1", 1n, undefined, null, [1], new Map([[1, 2]])]);
  const back = roundTrip(set);
  assert.ok(back instanceof Set);
  assert.deepEqual(back, set);
  assert.deepEqual(roundTrip(new Set()), new Set());
});

Deno.test("encode()/decode() round-trip objects of any size, and keep __proto__ an own key", () => {
  for (const size of [0, 23, 24, 255, 256, 70_000]) {
    const obj: Record<string, number> = {};
    for (let i = 0; i < size; i++) obj[`k${i}`] = i;
    assert.deepEqual(roundTrip(obj), obj, `${size} keys`);
  }
  const tricky = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
  const back = roundTrip(tricky);
  assert.ok(Object.hasOwn(back, "__proto__"));
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(back), ["__proto__", "constructor"]);
});

Deno.test("encode()/decode() round-trip deeply nested arrays and objects", () => {
  const value = {
    list: [1, [2, [3, [4, { five: [5] }]]]],
    text: "t",
    empty: { a: [], o: {} },
  };
  assert.deepEqual(roundTrip(value), value);
  let deep: unknown = "bottom";
  for (let i = 0; i < MAX_DEPTH; i++) deep = i % 2 ? [deep] : { d: deep };
  assert.deepEqual(roundTrip(deep), deep);
});

Deno.test("encode() sends class instances as plain objects and unboxes boxed primitives", () => {
  class Point {
    constructor(public x: number, public y: number) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }
  const back = roundTrip({ p: new Point(1, 2) });
  assert.equal(Object.getPrototypeOf(back.p), Object.prototype);
  assert.deepEqual(back.p, { x: 1, y: 2 });
  const boxed = [Object(1), Object("s"), Object(false), Object(2n)];
  assert.deepEqual(roundTrip(boxed), [1, "s", false, 2n]);
});

Deno.test("encode()/decode() round-trip Pid and Ref, keeping every field", () => {
  const pid = new Pid("a@host", 42, 3, 7);
  const ref = new Ref("b@other.example", 2 ** 40, 12);
  const back = roundTrip({ pid, ref, list: [pid, pid] });
  assert.ok(back.pid instanceof Pid && back.ref instanceof Ref);
  assert.ok(back.pid.equals(pid) && back.ref.equals(ref));
  assert.equal(back.pid.creation, 7);
  assert.equal(back.pid.serial, 3);
  assert.equal(back.ref.id, 2 ** 40);
  assert.notEqual(back.pid, pid);
  assert.ok(back.list[0]!.equals(back.list[1]));
});

// ---------------------------------------------------------------------------
// Errors

Deno.test("encode()/decode() keep a built-in error's class, message, stack and cause chain", () => {
  const root = new RangeError("too big");
  const mid = new TypeError("bad arg", { cause: root });
  const top = new Error("failed", { cause: mid });
  const back = roundTrip(top);
  assert.ok(back instanceof Error);
  assert.equal(back.name, "Error");
  assert.equal(back.message, "failed");
  assert.equal(back.stack, top.stack);
  const backMid = back.cause as Error;
  assert.ok(backMid instanceof TypeError);
  assert.equal(backMid.message, "bad arg");
  assert.equal(backMid.stack, mid.stack);
  const backRoot = backMid.cause as Error;
  assert.ok(backRoot instanceof RangeError);
  assert.equal(backRoot.message, "too big");
  assert.ok(!Object.hasOwn(backRoot, "cause"));
  // like native errors: message, stack and cause are not enumerable
  assert.deepEqual(Object.keys(back), []);
  assert.ok(!Object.getOwnPropertyDescriptor(back, "cause")!.enumerable);
});

Deno.test("encode()/decode() keep a custom error name on a plain Error, with its own fields", () => {
  class ValidationError extends Error {
    code = "E_VALIDATION";
    constructor(message: string) {
      super(message);
      this.name = "ValidationError";
    }
  }
  const back = roundTrip(new ValidationError("field x"));
  assert.ok(back instanceof Error);
  assert.equal(back.name, "ValidationError");
  assert.equal(back.message, "field x");
  assert.equal(back.code, "E_VALIDATION");
  assert.match(String(back), /^ValidationError: field x/);

  const odd = new Error("odd");
  odd.name = "SomethingElse";
  assert.equal(roundTrip(odd).name, "SomethingElse");
});

Deno.test("encode()/decode() rebuild Weft errors as their own class, with their fields", () => {
  const lost = roundTrip(new NoConnectionError("b@host"));
  assert.ok(lost instanceof NoConnectionError);
  assert.equal(lost.name, "NoConnectionError");
  assert.equal(lost.node, "b@host");
  assert.equal(lost.message, "No connection to node: b@host");

  const exit = roundTrip(new ProcessExitError({ shutdown: new Pid("a@h", 1, 0, 1) }));
  assert.ok(exit instanceof ProcessExitError);
  assert.ok((exit.reason as { shutdown: Pid }).shutdown instanceof Pid);

  const remote = roundTrip(new RemoteError("c@host", new TimeoutError("slow")));
  assert.ok(remote instanceof RemoteError);
  assert.equal(remote.node, "c@host");
  assert.ok(remote.cause instanceof TimeoutError);
  assert.equal((remote.cause as Error).message, "slow");

  const decodeError = roundTrip(new DecodeError("bad frame"));
  assert.ok(decodeError instanceof DecodeError);
});

Deno.test("encode()/decode() keep AggregateError's errors and any value as cause", () => {
  const agg = new AggregateError([new Error("one"), "two"], "many", { cause: { why: 1 } });
  const back = roundTrip(agg);
  assert.ok(back instanceof AggregateError);
  assert.equal(back.message, "many");
  assert.equal(back.errors.length, 2);
  assert.ok(back.errors[0] instanceof Error);
  assert.equal(back.errors[1], "two");
  assert.deepEqual(back.cause, { why: 1 });

  const undefinedCause = roundTrip(new Error("x", { cause: undefined }));
  assert.ok(Object.hasOwn(undefinedCause, "cause"));
});

Deno.test("decode() gives an error without a stack when none was sent", () => {
  const e = new Error("no stack");
  delete e.stack;
  const back = roundTrip(e);
  assert.equal(back.stack, undefined);
  assert.equal(back.message, "no stack");
});

// ---------------------------------------------------------------------------
// What cannot be sent

Deno.test("encode() throws TypeError naming the path of a function, at any depth", () => {
  assertUnsendable(() => {}, "Cannot send value: function at msg");
  assertUnsendable(
    { handlers: [1, 2, () => {}] },
    "Cannot send value: function at msg.handlers[2]",
  );
  assertUnsendable(
    { a: { b: { c: [{ d: Math.max }] } } },
    "Cannot send value: function at msg.a.b.c[0].d",
  );
  assertUnsendable({ "odd key": { fn() {} } }, 'Cannot send value: function at msg["odd key"].fn');
  assertUnsendable([[class {}]], "Cannot send value: function at msg[0][0]");
});

Deno.test("encode() throws TypeError naming the path of a symbol, also as a Map key or Set member", () => {
  assertUnsendable(Symbol("s"), "Cannot send value: symbol at msg");
  assertUnsendable({ x: [Symbol.iterator] }, "Cannot send value: symbol at msg.x[0]");
  assertUnsendable(new Map([["k", Symbol()]]), 'Cannot send value: symbol at msg.get("k")');
  assertUnsendable(
    new Map<unknown, unknown>([[1, 1], [Symbol(), 2]]),
    "Cannot send value: symbol at msg.keys()[1]",
  );
  assertUnsendable(
    { s: new Set([1, 2, Symbol()]) },
    "Cannot send value: symbol at msg.s.values()[2]",
  );
  assertUnsendable(
    new Map([[new Pid("a@h", 1, 0, 1), { f: Symbol() }]]),
    "Cannot send value: symbol at msg.get(#PID<a@h.1.0>).f",
  );
});

Deno.test("encode() refuses a Map or Set that a getter resizes while it is encoded", () => {
  const map = new Map<unknown, unknown>();
  map.set("a", {
    get grow() {
      map.set(Math.random(), 1);
      return 1;
    },
  });
  assert.throws(() => encode(map), {
    name: "TypeError",
    message: "Cannot send value: a Map changed size while it was being encoded",
  });
  const set = new Set<unknown>();
  set.add({
    get shrink() {
      set.clear();
      return 1;
    },
  });
  set.add(2);
  assert.throws(() => encode(set), /a Set changed size/);
  assert.deepEqual(roundTrip({ ok: 1 }), { ok: 1 });
});

Deno.test("encode() ignores symbol-keyed properties, as JSON and structuredClone do", () => {
  assert.deepEqual(roundTrip({ a: 1, [Symbol("hidden")]: 2 }), { a: 1 });
});

Deno.test("encode() refuses Promise, WeakMap, WeakSet and WeakRef, naming the path", () => {
  assertUnsendable({ p: Promise.resolve(1) }, "Cannot send value: Promise at msg.p");
  assertUnsendable([new WeakMap()], "Cannot send value: WeakMap at msg[0]");
  assertUnsendable({ a: [1, { s: new WeakSet() }] }, "Cannot send value: WeakSet at msg.a[1].s");
  assertUnsendable({ r: new WeakRef({}) }, "Cannot send value: WeakRef at msg.r");
});

Deno.test("encode() names the path inside an error's cause and fields", () => {
  assertUnsendable(
    { reason: new Error("x", { cause: { retry: () => {} } }) },
    "Cannot send value: function at msg.reason.cause.retry",
  );
  const e = Object.assign(new Error("x"), { hook: Symbol() });
  assertUnsendable([e], "Cannot send value: symbol at msg[0].hook");
});

Deno.test("encode() refuses circular references, naming where the cycle closes", () => {
  const a: Record<string, unknown> = { name: "a" };
  a.self = a;
  assertUnsendable({ a }, "Cannot send value: circular reference at msg.a.self");
  const list: unknown[] = [1];
  list.push({ back: list });
  assertUnsendable(list, "Cannot send value: circular reference at msg[1].back");
  const err = new Error("loop");
  err.cause = err;
  assertUnsendable(err, "Cannot send value: circular reference at msg.cause");
});

Deno.test("encode() accepts the same object twice when it is not a cycle", () => {
  const shared = { x: 1 };
  assert.deepEqual(roundTrip([shared, shared, { s: shared }]), [{ x: 1 }, { x: 1 }, {
    s: { x: 1 },
  }]);
});

Deno.test("encode() refuses nesting deeper than MAX_DEPTH with a TypeError", () => {
  let deep: unknown = 1;
  for (let i = 0; i <= MAX_DEPTH; i++) deep = [deep];
  assert.throws(() => encode(deep), (e: unknown) => {
    assert.ok(e instanceof TypeError);
    assert.match(
      e.message,
      new RegExp(`^Cannot send value: nested deeper than ${MAX_DEPTH} levels at msg\\[0\\]`),
    );
    return true;
  });
});

Deno.test("encode() refuses a malformed Pid rather than send what cannot be decoded", () => {
  assert.throws(
    () => encode({ to: new Pid("a@h", -1, 0, 0) }),
    /^TypeError: Cannot send value: malformed Pid .* at msg\.to$/,
  );
  assert.throws(() => encode(new Ref(1 as unknown as string, 0, 0)), /malformed Ref .* at msg$/);
});

Deno.test("encode() leaves the codec usable after a refused value", () => {
  assert.throws(() => encode({ a: "x".repeat(1000), f: () => {} }), TypeError);
  assert.deepEqual(roundTrip({ a: 1 }), { a: 1 });
});

// ---------------------------------------------------------------------------
// Buffers and interop

Deno.test("encode() results stay intact when more values are encoded afterwards", () => {
  const results: [unknown, Uint8Array, string][] = [];
  for (let i = 0; i < 5000; i++) {
    const value = i % 100 === 0
      ? new Uint8Array(70_000).fill(i & 0xff)
      : { i, s: "x".repeat(i % 50) };
    const encoded = encode(value);
    results.push([value, encoded, hex(encoded.slice(0, 64))]);
  }
  for (const [value, encoded, prefix] of results) {
    assert.equal(hex(encoded.slice(0, 64)), prefix);
    assert.deepEqual(decode(encoded), value);
  }
});

Deno.test("encode() copies a large Uint8Array once, into a result that is its own allocation", () => {
  const big = new Uint8Array(1 << 20).fill(7);
  const encoded = encode(big);
  assert.equal(encoded.length, 5 + big.length);
  // the result is not a slice of a huge shared slab
  assert.ok(encoded.buffer.byteLength < big.length + 64 * 1024);
  assert.deepEqual(decode(encoded), big);
});

Deno.test("encode() may be called from a getter while encoding", () => {
  const inner = { a: [1, 2, 3] };
  const value = {
    before: "x",
    get nested() {
      return encode(inner);
    },
    after: "y",
  };
  const back = roundTrip(value) as unknown as { before: string; nested: Uint8Array; after: string };
  assert.equal(back.before, "x");
  assert.equal(back.after, "y");
  assert.deepEqual(decode(back.nested), inner);
});

/** encodeParts() joined into one array. */
function joined(value: unknown): Uint8Array {
  const encoded = encodeParts(value);
  return encoded instanceof EncodedParts ? encoded.toBytes() : encoded.slice();
}

Deno.test("encodeParts() gives the bytes of encode() when no byte string is large", () => {
  for (const value of [1, "text", { a: new Uint8Array(BY_REFERENCE_MIN - 1) }, [null, 2n]]) {
    const encoded = encodeParts(value);
    assert.ok(encoded instanceof Uint8Array);
    assert.equal(hex(encoded), hex(encode(value)));
  }
});

Deno.test("encodeParts() references large byte strings instead of copying them", () => {
  const big = new Uint8Array(100_000).fill(7);
  const other = new Uint8Array(BY_REFERENCE_MIN).fill(9);
  const value = { head: "h", big, mid: [1, 2], other, tail: "t" };
  const encoded = encodeParts(value);
  assert.ok(encoded instanceof EncodedParts);
  assert.equal(encoded.parts.length, 5);
  assert.equal(encoded.parts[1], big);
  assert.equal(encoded.parts[3], other);
  assert.deepEqual(encoded.sizes, encoded.parts.map((p) => p.length));
  assert.equal(encoded.length, encode(value).length);
  assert.equal(hex(encoded.toBytes()), hex(encode(value)));
  assert.deepEqual(decode(encoded.toBytes()), value);
  // A byte string at the very end leaves no empty tail part.
  const last = encodeParts(["x", big]) as EncodedParts;
  assert.equal(last.parts.at(-1), big);
});

Deno.test("encodeParts() references typed arrays, ArrayBuffers and DataViews by their bytes", () => {
  const floats = new Float64Array(1000).fill(1.5);
  const buffer = new ArrayBuffer(5000);
  const view = new DataView(buffer, 100, 4500);
  const value = [floats, buffer, view];
  const encoded = encodeParts(value) as EncodedParts;
  const referenced = encoded.parts.filter((p) => p.length >= BY_REFERENCE_MIN);
  assert.equal(referenced.length, 3);
  assert.equal(referenced[0]!.buffer, floats.buffer);
  assert.equal(referenced[1]!.buffer, buffer);
  assert.equal(referenced[2]!.byteOffset, 100);
  assert.equal(hex(encoded.toBytes()), hex(encode(value)));
});

Deno.test("encodeParts() copies shared and resizable buffers, whose bytes may move", () => {
  const shared = new Uint8Array(new SharedArrayBuffer(8192)).fill(3);
  const resizable = new Uint8Array(new ArrayBuffer(8192, { maxByteLength: 16384 })).fill(4);
  const encoded = encodeParts([shared, resizable]);
  assert.ok(encoded instanceof Uint8Array);
  assert.deepEqual(decode(encoded), [new Uint8Array(8192).fill(3), new Uint8Array(8192).fill(4)]);
});

Deno.test("encodeParts() keeps references in place when a long map's header grows", () => {
  // A plain object's entry count is patched in after its entries: with 24 or
  // more, the entries written so far move, and a reference inside must too.
  const big = new Uint8Array(10_000).fill(5);
  const value: Record<string, unknown> = {};
  for (let i = 0; i < 30; i++) value[`k${i}`] = i === 7 ? big : i;
  const outer = { first: big, inner: value, last: big };
  assert.equal(hex(joined(outer)), hex(encode(outer)));
  assert.deepEqual(decode(joined(outer)), outer);
});

Deno.test("encodeParts() may be nested in a getter and recovers from an unsendable value", () => {
  const big = new Uint8Array(BY_REFERENCE_MIN).fill(1);
  const value = {
    a: big,
    get b() {
      return encodeParts({ c: big }) instanceof EncodedParts && encode([big]).length > 0;
    },
    d: big,
  };
  const encoded = encodeParts(value) as EncodedParts;
  assert.deepEqual(encoded.parts.filter((p) => p === big).length, 2);
  assert.deepEqual(decode(encoded.toBytes()), { a: big, b: true, d: big });
  assert.throws(() => encodeParts({ big, f: () => 1 }), {
    name: "TypeError",
    message: "Cannot send value: function at msg.f",
  });
  // Nothing of the failed value leaks into the next one.
  assert.equal(hex(joined({ x: 1 })), hex(encode({ x: 1 })));
  const again = encodeParts([big]) as EncodedParts;
  assert.equal(again.parts.length, 2);
});

Deno.test("EncodedParts.toBytes() pads a part that shrank after encoding with zeros", () => {
  const buffer = new ArrayBuffer(BY_REFERENCE_MIN);
  new Uint8Array(buffer).fill(8);
  const encoded = encodeParts([new Uint8Array(buffer)]) as EncodedParts;
  buffer.transfer(); // detaches: the referenced view is now empty
  const flat = encoded.toBytes();
  assert.equal(flat.length, encoded.length);
  assert.deepEqual(decode(flat), [new Uint8Array(BY_REFERENCE_MIN)]);
});

Deno.test("decode() returns the right short strings however their hashes collide", () => {
  // Far more distinct short strings than cache slots, decoded twice over.
  const strings = Array.from({ length: 20_000 }, (_, i) => `s${i.toString(36)}é${i % 7}`);
  for (let round = 0; round < 2; round++) {
    for (const s of strings) assert.equal(decode(encode(s)), s);
  }
  const keys = Object.fromEntries(strings.slice(0, 300).map((s, i) => [s, i]));
  assert.deepEqual(decode(encode(keys)), keys);
});

Deno.test("decode() refuses invalid UTF-8 in a short string every time, not only the first", () => {
  const bad = bytes(0x62, 0xc3, 0x28); // "\xc3(" is not UTF-8
  for (let i = 0; i < 3; i++) assertDecodeError(bad, /UTF-8/);
});

Deno.test("decode() hands out byte strings as views of its input, without copying", () => {
  const encoded = encode({ data: new Uint8Array([1, 2, 3]) }).slice();
  const back = decode(encoded) as { data: Uint8Array };
  assert.equal(back.data.buffer, encoded.buffer);
});

Deno.test("decode() reads what cbor-x writes, and cbor-x reads what encode() writes", () => {
  const value = {
    n: [0, -1, 1.5, 2 ** 40, -0, NaN],
    s: "héllo",
    u: undefined,
    z: null,
    b: true,
    bytes: new Uint8Array([1, 2]),
    list: [{ deep: ["x"] }],
    map: new Map<unknown, unknown>([[1, "a"], ["k", [2]]]),
    set: new Set([1, "x"]),
    date: new Date(1_700_000_000_123),
    big: 2n ** 70n,
    neg: -(2n ** 70n),
  };
  // cbor-x writes -0 as the integer 0, so leave it out of that direction.
  const theirs = new Encoder({ useRecords: false }).encode({ ...value, n: value.n.slice(0, 4) });
  assert.deepEqual(decode(new Uint8Array(theirs)), { ...value, n: value.n.slice(0, 4) });
  const ours = new Decoder({ useRecords: false }).decode(encode(value));
  assert.deepEqual(ours.map, value.map);
  assert.deepEqual(ours.set, value.set);
  assert.equal(ours.big, value.big);
  assert.equal(ours.neg, value.neg);
  assert.equal(ours.date.getTime(), value.date.getTime());
  assert.deepEqual(ours.list, value.list);
  assert.deepEqual([...ours.bytes], [1, 2]);
  assert.ok(Object.is(ours.n[4], -0));
});

Deno.test("encode() writes a Pid as tag 40961 over [node, id, serial, creation]", () => {
  const encoded = encode(new Pid("a@h", 1, 2, 3));
  assert.equal(hex(encoded), "d9a00184" + "63614068" + "010203");
  assert.equal(TAG_PID, 0xa001);
});

// ---------------------------------------------------------------------------
// Malformed and hostile input

Deno.test("decode() throws DecodeError for empty, truncated and trailing input", () => {
  assertDecodeError(new Uint8Array(0), /no bytes/);
  assertDecodeError(bytes(0x19, 0x01), /truncated/);
  assertDecodeError(bytes(0x63, 0x61, 0x62), /exceeds/);
  assertDecodeError(bytes(0xa1, 0x61, 0x61), /unexpected end/);
  assertDecodeError(bytes(0x82, 0x01), /declared length 2 exceeds the 1 bytes left/);
  assertDecodeError(bytes(0xfb, 0, 0, 0), /truncated float/);
  assertDecodeError(bytes(0x01, 0x02), /1 trailing bytes/);
  assertDecodeError(bytes(0xa1, 0x61, 0x61, 0x01, 0xff), /trailing/);
});

Deno.test("decode() refuses huge declared lengths at once, without allocating them", () => {
  const start = performance.now();
  assertDecodeError(bytes(0x9a, 0xff, 0xff, 0xff, 0xff), /declared length 4294967295 exceeds/);
  assertDecodeError(bytes(0xba, 0xff, 0xff, 0xff, 0xff), /exceeds/);
  assertDecodeError(bytes(0x5a, 0xff, 0xff, 0xff, 0xff), /exceeds/);
  assertDecodeError(bytes(0x7a, 0x7f, 0xff, 0xff, 0xff), /exceeds/);
  assertDecodeError(bytes(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), /exceeds/);
  assertDecodeError(bytes(0xd9, 0x01, 0x02, 0x9a, 0x10, 0, 0, 0, 0), /exceeds/);
  // arrays nested inside arrays, each claiming more than is there
  const nested = new Uint8Array(4000);
  for (let i = 0; i < 4000; i += 5) nested.set([0x9a, 0x00, 0x0f, 0xff, 0xff], i);
  assertDecodeError(nested);
  assert.ok(performance.now() - start < 1000);
});

Deno.test("decode() refuses nesting deeper than MAX_DEPTH without overflowing the stack", () => {
  assertDecodeError(new Uint8Array(100_000).fill(0x81), /nesting deeper than/);
  assertDecodeError(
    new Uint8Array(100_000).fill(0xd9).map((x, i) => (i % 3 ? (i % 3 === 1 ? 0x01 : 0x02) : x)),
  );
});

Deno.test("decode() refuses indefinite lengths, unknown tags and unsupported simple values", () => {
  assertDecodeError(bytes(0x9f, 0x01, 0xff), /indefinite-length/);
  assertDecodeError(bytes(0x5f, 0x41, 0x00, 0xff), /indefinite-length/);
  assertDecodeError(bytes(0xc0, 0x60), /unsupported tag 0/);
  assertDecodeError(bytes(0xd8, 0x1c, 0x80), /unsupported tag 28/); // cbor-x shared refs
  assertDecodeError(bytes(0xd9, 0xdf, 0xff, 0x80), /unsupported tag 57343/); // cbor-x records
  assertDecodeError(bytes(0xf0), /unsupported simple value 16/);
  assertDecodeError(bytes(0xf8, 0x20), /unsupported simple value 24/);
  assertDecodeError(bytes(0xff), /unexpected break/);
  assertDecodeError(bytes(0x1c), /reserved/);
});

Deno.test("decode() refuses tags around the wrong kind of content", () => {
  assertDecodeError(bytes(0xd9, 0x01, 0x03, 0x80), /tag 259 must hold a map/);
  assertDecodeError(bytes(0xd9, 0x01, 0x02, 0xa0), /tag 258 must hold an array/);
  assertDecodeError(bytes(0xc2, 0x01), /tag 2 must hold a byte string/);
  assertDecodeError(bytes(0xc1, 0x61, 0x78), /tag 1 must hold a number/);
  assertDecodeError(bytes(0xd8, 0x45, 0x43, 1, 2, 3), /not a multiple of 2/);
  assertDecodeError(
    bytes(0xd9, 0xa0, 0x01, 0x83, 0x61, 0x61, 0x01, 0x02),
    /Pid must have 4 fields/,
  );
  assertDecodeError(
    bytes(0xd9, 0xa0, 0x01, 0x84, 0x01, 0x01, 0x02, 0x03),
    /Pid node must be a text string/,
  );
  assertDecodeError(
    bytes(0xd9, 0xa0, 0x01, 0x84, 0x61, 0x61, 0x20, 0x02, 0x03),
    /Pid id must be a non-negative integer/,
  );
  assertDecodeError(bytes(0xd9, 0xa0, 0x03, 0xa0), /Error must have a string name and message/);
  assertDecodeError(bytes(0xd9, 0xa0, 0x03, 0x80), /must hold a map/);
});

Deno.test("decode() refuses object keys that are not text, and invalid UTF-8", () => {
  assertDecodeError(bytes(0xa1, 0x01, 0x02), /object key is not a text string/);
  assertDecodeError(bytes(0x62, 0xc3, 0x28), /not valid UTF-8/);
  assertDecodeError(bytes(0x61, 0xff), /not valid UTF-8/);
});

Deno.test("decode() refuses input that is not a Uint8Array with a DecodeError", () => {
  assertDecodeError("not bytes" as unknown as Uint8Array, /expected a Uint8Array, received string/);
  assertDecodeError(null as unknown as Uint8Array, /received null/);
});

Deno.test("decode() is not confused by a tag 259 cut short: the next decode is clean", () => {
  assertDecodeError(bytes(0xd9, 0x01, 0x03));
  assert.deepEqual(decode(encode({ a: 1 })), { a: 1 });
});

// ---------------------------------------------------------------------------
// Properties

const pidArb = fc
  .tuple(fc.stringMatching(/^[a-z]{1,8}@[a-z]{1,8}$/), fc.nat(), fc.nat(), fc.nat())
  .map(([node, id, serial, creation]) => new Pid(node, id, serial, creation));
const refArb = fc
  .tuple(fc.stringMatching(/^[a-z]{1,8}@[a-z]{1,8}$/), fc.nat(), fc.nat())
  .map(([node, id, creation]) => new Ref(node, id, creation));

const leafArb = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  fc.string({ unit: "grapheme" }),
  fc.string(),
  fc.uint8Array({ maxLength: 40 }),
  // An invalid Date is not deep-equal to itself; it has a test of its own.
  fc.date({ noInvalidDate: true }),
  pidArb,
  refArb,
);

const { term: termArb } = fc.letrec((tie) => ({
  term: fc.oneof({ maxDepth: 4, depthIdentifier: "term" }, leafArb, tie("container")),
  container: fc.oneof(
    fc.array(tie("term"), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie("term"), { maxKeys: 5, noNullPrototype: true }),
    fc.array(fc.tuple(tie("term"), tie("term")), { maxLength: 4 }).map((entries) =>
      new Map(entries)
    ),
    fc.array(tie("term"), { maxLength: 4 }).map((items) => new Set(items)),
  ),
}));

Deno.test("property: decode(encode(v)) deep-equals v for nested values of every kind", () => {
  fc.assert(
    fc.property(termArb, (value) => {
      assert.deepEqual(decode(encode(value)), value);
    }),
    { numRuns: 2000 },
  );
});

function hasInvalidDate(v: unknown): boolean {
  if (v instanceof Date) return Number.isNaN(v.getTime());
  if (v instanceof Map) return [...v].some(([k, x]) => hasInvalidDate(k) || hasInvalidDate(x));
  if (v instanceof Set || Array.isArray(v)) return [...v].some(hasInvalidDate);
  if (typeof v === "object" && v !== null && !ArrayBuffer.isView(v)) {
    return Object.values(v).some(hasInvalidDate);
  }
  return false;
}

Deno.test("property: fast-check's anything() round-trips, and re-encodes to the same bytes", () => {
  const anything = fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    maxDepth: 3,
  });
  fc.assert(
    fc.property(anything, (value) => {
      const encoded = encode(value).slice();
      const back = decode(encoded);
      assert.equal(hex(encode(back)), hex(encoded));
      if (!hasInvalidDate(value)) assert.deepEqual(back, value);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: strings round-trip exactly as TextEncoder/TextDecoder would", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
      assert.equal(decode(encode(s)), new TextDecoder().decode(new TextEncoder().encode(s)));
    }),
    { numRuns: 2000 },
  );
});

function decodesOrDecodeError(input: Uint8Array): void {
  try {
    decode(input);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`decode threw ${e} for ${hex(input)}`);
  }
}

Deno.test("property: decode() of random bytes yields a value or a DecodeError, nothing else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), decodesOrDecodeError),
    { numRuns: 20_000 },
  );
});

Deno.test("property: decode() of corrupted encodings yields a value or a DecodeError", () => {
  const corrupted = fc
    .tuple(
      termArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
    )
    .map(([value, edits, cut]) => {
      const b = encode(value).slice();
      for (const [at, byte] of edits) if (b.length) b[at % b.length] = byte;
      return b.subarray(0, b.length ? cut % (b.length + 1) : 0);
    });
  fc.assert(fc.property(corrupted, decodesOrDecodeError), { numRuns: 5000 });
});
