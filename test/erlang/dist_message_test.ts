import assert from "node:assert/strict";
import fc from "fast-check";
import { DecodeError } from "../../src/errors.ts";
import { DistMessageDecoder, encodeDistMessage } from "../../src/erlang/mod.ts";
import { atom, termKey, tuple } from "../../src/etf/mod.ts";
import { Pid } from "../../src/term/pid.ts";
import { term } from "../helpers/etf_arbitraries.ts";

const FROM = new Pid("e@127.0.0.1", 42, 0, 7);

Deno.test("encodeDistMessage() round-trips any control message and message through the decoder", () => {
  fc.assert(
    fc.property(term, (t) => {
      const got = new DistMessageDecoder().decode(
        encodeDistMessage(tuple(6, FROM, atom(""), atom("inbox")), t),
      );
      assert.ok(got !== undefined && got.message !== undefined);
      assert.equal(termKey(got.message), termKey(t));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("DistMessageDecoder reads the atom cache and fragments as OTP writes them", () => {
  const d = new DistMessageDecoder();
  // 131 68, 2 refs: flags byte 0b1000_1000 (both new, segment 0), then the half byte LongAtoms=0;
  // refs: index 3 "hi", index 4 "yo"; then {ATOM_CACHE_REF 0, ATOM_CACHE_REF 1} and 'hi'.
  const first = Uint8Array.of(
    131,
    68,
    2,
    0x88,
    0x00,
    3,
    2,
    104,
    105,
    4,
    2,
    121,
    111,
    104,
    2,
    82,
    0,
    82,
    1,
    82,
    0,
  );
  const m1 = d.decode(first);
  assert.equal(String(m1?.control), "{hi,yo}");
  assert.equal(String(m1?.message), "hi");
  // A later message refers to the cached slot 4 without its text (one ref: one flags byte).
  const second = Uint8Array.of(131, 68, 1, 0x00, 4, 104, 1, 82, 0);
  assert.equal(String(d.decode(second)?.control), "{yo}");
  // Fragments: sequence 9, three fragments, the header in the first.
  const body = encodeDistMessage(tuple(6, FROM, atom(""), atom("x")), [1, 2, 3]).subarray(3);
  const head = Uint8Array.of(131, 69, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, 0);
  const cont = (id: number, part: Uint8Array) =>
    Uint8Array.of(131, 70, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, id, ...part);
  assert.equal(d.decode(Uint8Array.of(...head, ...body.subarray(0, 5))), undefined);
  assert.equal(d.decode(cont(2, body.subarray(5, 9))), undefined);
  const whole = d.decode(cont(1, body.subarray(9)));
  assert.equal(String(whole?.message), "1,2,3");
  assert.equal(d.bytesHeld, 0);
});

Deno.test("DistMessageDecoder: 100,000 mutated and random frames decode or are a DecodeError", () => {
  const valid = [
    encodeDistMessage(tuple(6, FROM, atom(""), atom("inbox")), [atom("a"), 1, Uint8Array.of(1)]),
    encodeDistMessage(tuple(1, FROM, FROM)),
    Uint8Array.of(131, 68, 1, 0x08, 3, 2, 104, 105, 104, 1, 82, 0),
    Uint8Array.of(131, 69, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 104, 1),
  ];
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let decoded = 0;
  for (let i = 0; i < 100_000; i++) {
    const d = new DistMessageDecoder({ reassemblyBudget: 1 << 20 });
    const base = valid[i % valid.length]!;
    let bytes: Uint8Array;
    if (i % 4 === 3) {
      bytes = new Uint8Array(1 + Math.floor(rand() * 40)).map(() => Math.floor(rand() * 256));
    } else {
      bytes = base.slice(0, 1 + Math.floor(rand() * base.length));
      for (let k = Math.floor(rand() * 4); k > 0; k--) {
        bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      }
    }
    try {
      d.decode(bytes);
      decoded++;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw new Error(`${bytes}: ${e}`);
    }
  }
  assert.ok(decoded > 0);
});
