/**
 * fast-check arbitraries of Erlang terms in their canonical TypeScript form (the left column of
 * the table in `src/etf/mod.ts`): what `decodeTerm` returns, so `decodeTerm(encodeTerm(t))`
 * must equal `t` for each of them.
 *
 * @module
 */

import fc from "fast-check";
import { Pid, Ref } from "../../src/term/pid.ts";
import {
  Atom,
  BitString,
  ErlangFloat,
  ErlangPort,
  ErlangRef,
  ImproperList,
  type Term,
  termKey,
  Tuple,
} from "../../src/etf/mod.ts";

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Atom names: any well-formed text of at most 255 characters, but `true` and `false`. */
export const atomName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("ok", "error", "EXIT", "", "a@host", "'quoted'", "\u00e9t\u00e9", "\u{1f600}"),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 255 }),
).filter((s) => s.isWellFormed() && s !== "true" && s !== "false");

/** Node names for pids, refs and ports. */
const nodeName = fc.oneof(fc.constantFrom("a@host", "weft@127.0.0.1"), atomName);

/** Integers as decoding gives them: safe ones as numbers, the others as bigints. */
export const integer: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(1n << 2200n), max: 1n << 2200n }).filter((b) => b > SAFE || b < -SAFE),
  fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }).filter((b) => b > SAFE || b < -SAFE),
);

/** Floats: plain numbers with a fraction, `ErlangFloat` when integral. */
export const float: fc.Arbitrary<number | ErlangFloat> = fc.double({
  noNaN: true,
  noDefaultInfinity: true,
}).map((d) => Number.isInteger(d) ? new ErlangFloat(d) : d);

const bitString = fc.tuple(
  fc.uint8Array({ minLength: 1, maxLength: 20 }),
  fc.integer({ min: 1, max: 7 }),
)
  .map(([bytes, bits]) => {
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) & (0xff << (8 - bits));
    return new BitString(bytes, bits);
  });

/** Leaves: every term kind that holds no other term. */
export const leaf: fc.Arbitrary<Term> = fc.oneof(
  integer,
  float,
  fc.boolean(),
  atomName.map((n) => new Atom(n)),
  fc.uint8Array({ maxLength: 40 }),
  bitString,
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }), // a string: STRING_EXT
  fc.tuple(nodeName, u32, u32, u32).map(([n, id, serial, c]) => new Pid(n, id, serial, c)),
  fc.tuple(nodeName, u32, u32).map(([n, id, c]) => new Ref(n, id, c)),
  fc.tuple(nodeName, u32, fc.array(u32, { minLength: 2, maxLength: 5 }))
    .map(([n, c, ids]) => new ErlangRef(n, c, ids)),
  fc.tuple(nodeName, fc.oneof(u32, fc.maxSafeNat()), u32)
    .map(([n, id, c]) => new ErlangPort(n, id, c)),
);

/** Any term, nested a few levels. */
export const term: fc.Arbitrary<Term> = fc.letrec<{ term: Term }>((tie) => ({
  term: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("term"), { maxLength: 6 }),
    fc.array(tie("term"), { maxLength: 6 }).map((xs) => new Tuple(xs)),
    fc.tuple(fc.array(tie("term"), { minLength: 1, maxLength: 4 }), leaf)
      .filter(([, tail]) => !Array.isArray(tail))
      .map(([items, tail]) => new ImproperList(items, tail)),
    fc.array(fc.tuple(tie("term"), tie("term")), { maxLength: 5 }).map((pairs) => {
      const m = new Map<Term, Term>();
      const seen = new Set<string>();
      for (const [k, v] of pairs) {
        if (seen.has(termKey(k))) continue;
        seen.add(termKey(k));
        m.set(k, v);
      }
      return m;
    }),
  ),
})).term;
