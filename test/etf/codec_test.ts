import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import { DecodeError } from "../../src/errors.ts";
import { Pid, Ref } from "../../src/term/pid.ts";
import {
  Atom,
  atom,
  BitString,
  decodeTerm,
  encodeTerm,
  ErlangFloat,
  ErlangRef,
  ImproperList,
  type Term,
  termKey,
  Tuple,
  tuple,
} from "../../src/etf/mod.ts";
import { term } from "../helpers/etf_arbitraries.ts";

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const text = (s: string) => [...new TextEncoder().encode(s)];

/** Decodes `input`, expecting a DecodeError whose message contains `what`. */
function refuses(input: Uint8Array, what: string | RegExp): void {
  assert.throws(() => decodeTerm(input), (e: unknown) => {
    assert.ok(e instanceof DecodeError, `expected a DecodeError, got ${e}`);
    assert.match(e.message, typeof what === "string" ? new RegExp(RegExp.escape(what)) : what);
    assert.match(e.message, /^Cannot decode term: /);
    return true;
  });
}

Deno.test("decodeTerm(encodeTerm(t)) equals t and re-encodes to the same bytes", () => {
  fc.assert(
    fc.property(term, (t) => {
      const encoded = encodeTerm(t);
      const back = decodeTerm(encoded);
      assert.deepStrictEqual(back, t);
      assert.deepStrictEqual(encodeTerm(back), encoded);
      assert.equal(termKey(back), termKey(t));
    }),
    { numRuns: 400 },
  );
});

Deno.test("encodeTerm() writes what term_to_binary(T, [{minor_version, 2}]) writes", () => {
  // Each expected value printed by OTP 25's term_to_binary(T, [{minor_version, 2}]).
  const cases: [Term, number[]][] = [
    [atom("ok"), [131, 119, 2, 111, 107]],
    [true, [131, 119, 4, ...text("true")]],
    [0, [131, 97, 0]],
    [255, [131, 97, 255]],
    [256, [131, 98, 0, 0, 1, 0]],
    [-1, [131, 98, 255, 255, 255, 255]],
    [2 ** 31, [131, 110, 4, 0, 0, 0, 0, 128]],
    [-(2 ** 40), [131, 110, 6, 1, 0, 0, 0, 0, 0, 1]],
    [2n ** 64n, [131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    [new ErlangFloat(1), [131, 70, 63, 240, 0, 0, 0, 0, 0, 0]],
    [0.5, [131, 70, 63, 224, 0, 0, 0, 0, 0, 0]],
    [[], [131, 106]],
    [[104, 105], [131, 107, 0, 2, 104, 105]],
    [[1, 256], [131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 0, 106]],
    [new ImproperList([1], atom("x")), [131, 108, 0, 0, 0, 1, 97, 1, 119, 1, 120]],
    [tuple(), [131, 104, 0]],
    [bytes(1, 2), [131, 109, 0, 0, 0, 2, 1, 2]],
    [new BitString(bytes(0b0010_0000), 3), [131, 77, 0, 0, 0, 1, 3, 32]],
    [new Map<Term, Term>([[atom("a"), 1]]), [131, 116, 0, 0, 0, 1, 119, 1, 97, 97, 1]],
    ["h\u00e9", [131, 109, 0, 0, 0, 3, 104, 195, 169]],
    [
      new Pid("a@hh", 1, 2, 3),
      [131, 88, 119, 4, ...text("a@hh"), 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3],
    ],
    [new Ref("a@hh", 7, 1), [131, 90, 0, 1, 119, 4, ...text("a@hh"), 0, 0, 0, 1, 0, 0, 0, 7]],
  ];
  for (const [value, expected] of cases) {
    assert.deepStrictEqual([...encodeTerm(value)], expected, `encoding ${String(value)}`);
  }
});

Deno.test("decodeTerm() reads the older encodings OTP still accepts", () => {
  // term_to_binary(ok) on OTP 25: a Latin-1 ATOM_EXT.
  assert.deepStrictEqual(decodeTerm(bytes(131, 100, 0, 2, 111, 107)), atom("ok"));
  assert.deepStrictEqual(decodeTerm(bytes(131, 115, 1, 0xe9)), atom("\u00e9"));
  // FLOAT_EXT: "%.20e" text.
  const old = [...text("1.50000000000000000000e+00")];
  while (old.length < 31) old.push(0);
  assert.equal(decodeTerm(bytes(131, 99, ...old)), 1.5);
  // [1 | [2]] written by hand is [1, 2]; BIT_BINARY_EXT of 8 bits is a binary.
  assert.deepStrictEqual(
    decodeTerm(bytes(131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106)),
    [1, 2],
  );
  assert.deepStrictEqual(decodeTerm(bytes(131, 77, 0, 0, 0, 1, 8, 7)), bytes(7));
  // Unused bits of a bitstring mean nothing (binary_to_term gives <<7:3>>).
  assert.deepStrictEqual(
    decodeTerm(bytes(131, 77, 0, 0, 0, 1, 3, 255)),
    new BitString(bytes(0b1110_0000), 3),
  );
  // term_to_binary(T, [compressed]).
  const body = encodeTerm(tuple(atom("ok"), new Uint8Array(1000))).subarray(1);
  const z = deflateSync(body);
  const compressed = bytes(131, 80, 0, 0, 0, 0, ...z);
  new DataView(compressed.buffer).setUint32(2, body.length);
  assert.deepStrictEqual(decodeTerm(compressed), tuple(atom("ok"), new Uint8Array(1000)));
  // Atom cache references, given the cache.
  assert.deepStrictEqual(
    decodeTerm(bytes(131, 104, 1, 82, 3), { atomCache: [, , , "net_kernel"] }),
    tuple(atom("net_kernel")),
  );
});

Deno.test("decodeTerm() refuses every truncation of a valid term with a DecodeError", () => {
  fc.assert(
    fc.property(term, fc.nat(), (t, cut) => {
      const encoded = encodeTerm(t);
      const end = cut % encoded.length; // 0 .. length - 1: always short
      assert.throws(() => decodeTerm(encoded.subarray(0, end)), DecodeError);
    }),
    { numRuns: 400 },
  );
});

Deno.test("decodeTerm() gives a term or a DecodeError for arbitrary and mutated bytes", () => {
  const onlyDecodeErrors = (input: Uint8Array) => {
    try {
      decodeTerm(input);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => onlyDecodeErrors(bytes(131, ...tail))),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(term, fc.nat(), fc.integer({ min: 0, max: 255 }), (t, at, value) => {
      const encoded = encodeTerm(t);
      encoded[1 + at % (encoded.length - 1)] = value;
      onlyDecodeErrors(encoded);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("decodeTerm() checks lengths against the bytes present before allocating", () => {
  refuses(bytes(131, 105, 0xff, 0xff, 0xff, 0xff, 97, 1), "a tuple of 4294967295 elements");
  refuses(bytes(131, 108, 0xff, 0xff, 0xff, 0xff, 106), "a list of 4294967296 elements");
  refuses(bytes(131, 116, 0xff, 0xff, 0xff, 0xff), "a map of 4294967295 elements");
  refuses(bytes(131, 109, 0xff, 0xff, 0xff, 0xff, 1), "BINARY_EXT needs 4294967295 bytes, 1 left");
  refuses(bytes(131, 107, 0, 5, 1), "STRING_EXT needs 5 bytes");
  refuses(bytes(131, 111, 0xff, 0xff, 0xff, 0xff, 0), "a big integer needs 4294967295 bytes");
  refuses(bytes(131, 104, 2, 97, 1), "a term needs 1 bytes, 0 left at offset 5");
});

Deno.test("decodeTerm() bounds nesting instead of overflowing the stack", () => {
  const deep = new Uint8Array(2 + 2 * 100_000);
  deep[0] = 131;
  for (let i = 0; i < 100_000; i++) deep.set([104, 1], 1 + 2 * i);
  deep[deep.length - 1] = 106;
  refuses(deep, "nested deeper than 512 levels");
  const ok = encodeTerm([[[[atom("x")]]]]);
  assert.throws(() => decodeTerm(ok, { maxDepth: 2 }), DecodeError);
  assert.deepStrictEqual(decodeTerm(ok, { maxDepth: 4 }), [[[[atom("x")]]]]);
});

Deno.test("decodeTerm() refuses bad atoms, floats, integers and identifiers", () => {
  refuses(bytes(131, 119, 2, 0xc3, 0x28), "an atom that is not valid UTF-8");
  refuses(bytes(131, 100, 1, 0, ...new Array(256).fill(97)), "an atom of 256 characters");
  refuses(bytes(131, 82, 1), "atom cache entry 1 is not set");
  refuses(bytes(131, 70, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0), "a float that is NaN");
  refuses(bytes(131, 70, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0), "a float that is Infinity");
  refuses(bytes(131, 110, 1, 2, 5), "a big integer's sign byte is 2");
  refuses(bytes(131, 90, 0, 0, 119, 1, 97, 0, 0, 0, 0), "a reference of 0 id words");
  refuses(bytes(131, 90, 0, 6, 119, 1, 97, 0, 0, 0, 0), "a reference of 6 id words");
  refuses(
    bytes(131, 88, 97, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "expected an atom, found tag 97",
  );
  refuses(
    bytes(131, 120, 119, 1, 97, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0),
    "port id 18446744073709551615 beyond 2^53 - 1",
  );
  refuses(bytes(131, 77, 0, 0, 0, 1, 0, 0), "BIT_BINARY_EXT with 0 bits");
  refuses(bytes(131, 108, 0, 0, 0, 0, 97, 1), "LIST_EXT of no elements");
});

Deno.test("decodeTerm() refuses maps with one key twice, however the key is written", () => {
  // #{1 => 1, 1 => 1}: once as SMALL_INTEGER_EXT, once as INTEGER_EXT (binary_to_term: badarg).
  refuses(bytes(131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 98, 0, 0, 0, 1, 97, 1), "has one key twice");
  // ok as ATOM_EXT and as SMALL_ATOM_UTF8_EXT.
  refuses(
    bytes(131, 116, 0, 0, 0, 2, 100, 0, 2, 111, 107, 97, 1, 119, 2, 111, 107, 97, 2),
    "has one key twice",
  );
  // 1 and 1.0 are different keys.
  assert.equal(
    (decodeTerm(encodeTerm(new Map<Term, Term>([[1, 1], [new ErlangFloat(1), 2]]))) as Map<
      Term,
      Term
    >).size,
    2,
  );
});

Deno.test("decodeTerm() refuses funs, local terms, the wrong version and trailing bytes", () => {
  // fun lists:map/2 (EXPORT_EXT).
  refuses(
    bytes(131, 113, 119, 5, ...text("lists"), 119, 3, ...text("map"), 97, 2),
    "funs are not supported (a fun names code inside one BEAM; send {Module, Function, Args} instead) at offset 1",
  );
  refuses(bytes(131, 112, 0, 0, 0, 0), "funs are not supported");
  refuses(bytes(131, 121, 0), "LOCAL_EXT is only meaningful to the node that encoded it");
  refuses(bytes(130, 97, 1), "expected the version byte 131, received 130");
  refuses(bytes(), "expected the version byte 131, received no bytes");
  refuses(bytes(131, 97, 1, 97), "1 bytes after the term at offset 3");
  refuses(bytes(131, 255), "unknown tag 255 at offset 1");
});

Deno.test("decodeTerm() bounds what a compressed term may inflate to", () => {
  const body = new Uint8Array(100_000).fill(97);
  const z = deflateSync(body);
  const claim = (size: number) => {
    const b = bytes(131, 80, 0, 0, 0, 0, ...z);
    new DataView(b.buffer).setUint32(2, size);
    return b;
  };
  refuses(claim(2 ** 32 - 1), "compressed term declares 4294967295 bytes, limit 67108864");
  // A bomb that claims little is cut off where it claims to end.
  refuses(claim(10), "compressed data is not zlib of 10 bytes");
  refuses(claim(200_000), "compressed term inflates to 100000 bytes, declared 200000");
  refuses(bytes(131, 80, 0, 0, 0, 4, 1, 2, 3), "compressed data is not zlib of 4 bytes");
  assert.throws(() => decodeTerm(claim(100_000), { maxInflatedSize: 1000 }), DecodeError);
});

Deno.test("encodeTerm() refuses values with no Erlang equivalent, naming where they are", () => {
  const bad = (value: unknown, error: typeof TypeError | typeof RangeError, what: string) =>
    assert.throws(() => encodeTerm(value as Term), (e: unknown) => {
      assert.ok(e instanceof error, `expected a ${error.name}, got ${e}`);
      assert.match((e as Error).message, new RegExp(RegExp.escape(what)));
      return true;
    });
  bad(null, TypeError, "null has no Erlang equivalent at term");
  bad([1, undefined], TypeError, "a undefined has no Erlang equivalent at term[1]");
  bad(
    tuple(atom("a"), {} as Term),
    TypeError,
    "Object has no Erlang equivalent at term.elements[1]",
  );
  bad(NaN, RangeError, "Erlang has no NaN");
  bad(
    2 ** 60,
    RangeError,
    "beyond 2^53 - 1: give an integer as a bigint or a float as an ErlangFloat",
  );
  bad(atom("x".repeat(256)), RangeError, "an atom has at most 255 characters, received 256");
  bad("\ud800", TypeError, "string with a lone surrogate");
  bad(new ErlangRef("a@h", 1, [1]), RangeError, "a reference has 2 to 5 id words");
  bad(new Ref("a@h", 2 ** 32, 1), RangeError, "term.id must be a 32-bit unsigned integer");
  bad(new Map([[atom("k"), 1], [atom("k"), 2]]), RangeError, "has the key k twice");
  const cycle: Term[] = [];
  cycle.push(cycle);
  bad(cycle, RangeError, "nested deeper than 512 levels (a cycle?)");
});

Deno.test("termKey() is equal exactly for equal terms, whatever a map's order", () => {
  const a = new Map<Term, Term>([[atom("x"), 1], [atom("y"), 2]]);
  const b = new Map<Term, Term>([[atom("y"), 2], [atom("x"), 1]]);
  assert.equal(termKey(a), termKey(b));
  assert.notEqual(termKey(0), termKey(new ErlangFloat(0)));
  assert.notEqual(termKey(new ErlangFloat(0)), termKey(new ErlangFloat(-0)));
  assert.notEqual(termKey([104, 105]), termKey("hi")); // a string is a binary, not a charlist
  assert.ok(new Atom("a").equals(atom("a")) && new Tuple([]).length === 0);
});
