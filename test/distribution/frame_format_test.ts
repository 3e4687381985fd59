import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeFrame,
  FRAGMENT_CONT_HEADER_BYTES,
  FRAGMENT_HEAD_HEADER_BYTES,
  isFragment,
  parseFragmentHeader,
  PAYLOAD_TICK,
  payloadKind,
  readU32,
  writeFragmentCont,
  writeFragmentHead,
  writeMessageHeader,
  writeTick,
  writeU32,
} from "../../src/distribution/frame_format.ts";
import {
  FRAME_FRAGMENT_CONT,
  FRAME_FRAGMENT_HEAD,
  FRAME_MESSAGE,
} from "../../src/distribution/types.ts";
import { DecodeError } from "../../src/errors.ts";

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}

Deno.test("encodeFrame() writes a big-endian u32 length before the payload", () => {
  assert.deepEqual(encodeFrame(bytes(7, 8)), bytes(0, 0, 0, 2, 7, 8));
  const big = encodeFrame(new Uint8Array(0x0304));
  assert.deepEqual(big.subarray(0, 4), bytes(0, 0, 0x03, 0x04));
  assert.deepEqual(encodeFrame(new Uint8Array(0)), bytes(0, 0, 0, 0));
});

Deno.test("readU32() and writeU32() round-trip every u32, big-endian", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.nat(8), (value, at) => {
      const buf = new Uint8Array(12);
      writeU32(buf, at, value);
      assert.equal(readU32(buf, at), value);
      assert.equal(buf[at], value >>> 24);
    }),
  );
});

Deno.test("the writers lay frames out byte for byte as docs/PROTOCOL.md says", () => {
  const tick = new Uint8Array(4).fill(0xee);
  writeTick(tick, 0);
  assert.deepEqual(tick, bytes(0, 0, 0, 0));

  const msg = new Uint8Array(5);
  writeMessageHeader(msg, 0, 0x0102);
  assert.deepEqual(msg, bytes(0, 0, 0x01, 0x03, FRAME_MESSAGE));

  const head = new Uint8Array(4 + FRAGMENT_HEAD_HEADER_BYTES);
  writeFragmentHead(head, 0, 0x0a0b0c0d, 0x40000000, 100);
  assert.deepEqual(
    head,
    bytes(0, 0, 0, 109, FRAME_FRAGMENT_HEAD, 0x0a, 0x0b, 0x0c, 0x0d, 0x40, 0, 0, 0),
  );

  const cont = new Uint8Array(2 + 4 + FRAGMENT_CONT_HEADER_BYTES);
  writeFragmentCont(cont, 2, 5, 7);
  assert.deepEqual(cont, bytes(0, 0, 0, 0, 0, 12, FRAME_FRAGMENT_CONT, 0, 0, 0, 5));
});

Deno.test("payloadKind() tells ticks and the three kinds apart, and refuses any other", () => {
  assert.equal(payloadKind(bytes(9, 9), 1, 1), PAYLOAD_TICK);
  assert.equal(payloadKind(bytes(FRAME_MESSAGE, 0x80), 0, 2), FRAME_MESSAGE);
  assert.equal(payloadKind(bytes(0, FRAME_FRAGMENT_HEAD), 1, 2), FRAME_FRAGMENT_HEAD);
  assert.equal(payloadKind(bytes(FRAME_FRAGMENT_CONT), 0, 1), FRAME_FRAGMENT_CONT);
  for (const kind of [0, 4, 0x7f, 0xff]) {
    assert.throws(() => payloadKind(bytes(kind, 1), 0, 2), {
      name: "DecodeError",
      message: `Malformed frame: unknown kind ${kind}`,
    });
  }
  assert.ok(isFragment(bytes(FRAME_FRAGMENT_HEAD), 0) && isFragment(bytes(FRAME_FRAGMENT_CONT), 0));
  assert.ok(!isFragment(bytes(FRAME_MESSAGE), 0) && !isFragment(bytes(), 0));
});

Deno.test("parseFragmentHeader() reads what the writers wrote", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 0xffff_ffff }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      (stream, total) => {
        const head = new Uint8Array(13);
        writeFragmentHead(head, 0, stream, total, 0);
        assert.deepEqual(parseFragmentHeader(head, 4, 9), {
          first: true,
          stream,
          total,
          headerBytes: FRAGMENT_HEAD_HEADER_BYTES,
        });
        const cont = new Uint8Array(9);
        writeFragmentCont(cont, 0, stream, 0);
        assert.deepEqual(parseFragmentHeader(cont, 4, 5), {
          first: false,
          stream,
          total: -1,
          headerBytes: FRAGMENT_CONT_HEADER_BYTES,
        });
      },
    ),
  );
});

Deno.test("parseFragmentHeader() refuses a header cut short and a non-fragment", () => {
  assert.throws(
    () => parseFragmentHeader(bytes(FRAME_FRAGMENT_HEAD, 0, 0, 0, 1, 0, 0, 0), 0, 8),
    (e: unknown) =>
      e instanceof DecodeError && e.message === "Malformed fragment: header too short",
  );
  assert.throws(
    () => parseFragmentHeader(bytes(FRAME_FRAGMENT_CONT, 0, 0, 1), 0, 4),
    (e: unknown) =>
      e instanceof DecodeError && e.message === "Malformed fragment: header too short",
  );
  assert.throws(() => parseFragmentHeader(bytes(FRAME_MESSAGE, 0, 0, 0, 1), 0, 5), DecodeError);
});
