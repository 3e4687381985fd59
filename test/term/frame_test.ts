import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  encodeFrames,
  encodeTermFrame,
  encodeTick,
  FrameDecoder,
  TICK,
} from "../../src/term/frame.ts";
import { decode } from "../../src/term/codec.ts";
import { DecodeError } from "../../src/errors.ts";

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}

/** Splits `data` at the given cut points (any order, any values). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(data.subarray(from, p));
    from = p;
  }
  chunks.push(data.subarray(from));
  return chunks;
}

Deno.test("encodeFrame() writes a big-endian u32 length before the payload", () => {
  assert.deepEqual(encodeFrame(bytes(7, 8)), bytes(0, 0, 0, 2, 7, 8));
  const big = encodeFrame(new Uint8Array(0x01020304 & 0xffff));
  assert.deepEqual(big.subarray(0, 4), bytes(0, 0, 0x03, 0x04));
  assert.deepEqual(encodeFrame(new Uint8Array(0)), bytes(0, 0, 0, 0));
  assert.deepEqual(encodeTick(), bytes(0, 0, 0, 0));
});

Deno.test("encodeFrames() batches payloads and ticks into one buffer", () => {
  const batch = encodeFrames([bytes(1), new Uint8Array(0), bytes(2, 3)]);
  assert.deepEqual(batch, bytes(0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 2, 3));
  assert.deepEqual(encodeFrames([]), new Uint8Array(0));
});

Deno.test("encodeTermFrame() frames the CBOR of a value", () => {
  const frame = encodeTermFrame({ op: "send", n: [1, 2] });
  const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
  assert.equal(length, frame.length - 4);
  assert.deepEqual(decode(frame.subarray(4)), { op: "send", n: [1, 2] });
  assert.throws(() => encodeTermFrame({ f: () => {} }), {
    name: "TypeError",
    message: "Cannot send value: function at msg.f",
  });
});

Deno.test("FrameDecoder yields nothing until a whole frame is in", () => {
  const decoder = new FrameDecoder();
  assert.equal(decoder.next(), undefined);
  decoder.push(bytes(0, 0));
  assert.equal(decoder.next(), undefined);
  decoder.push(bytes(0, 3, 1));
  assert.equal(decoder.next(), undefined);
  assert.equal(decoder.buffered, 1);
  decoder.push(bytes(2, 3));
  assert.deepEqual(decoder.next(), bytes(1, 2, 3));
  assert.equal(decoder.next(), undefined);
  assert.equal(decoder.buffered, 0);
});

Deno.test("FrameDecoder yields ticks as the shared empty TICK payload", () => {
  const decoder = new FrameDecoder();
  decoder.push(bytes(0, 0, 0, 0, 0, 0, 0, 1, 9, 0, 0, 0, 0));
  const payloads = [...decoder];
  assert.equal(payloads.length, 3);
  assert.equal(payloads[0], TICK);
  assert.deepEqual(payloads[1], bytes(9));
  assert.equal(payloads[2]!.length, 0);
});

Deno.test("FrameDecoder takes many frames from one chunk, as views without copying", () => {
  const payloads = Array.from({ length: 1000 }, (_, i) => new Uint8Array(i % 7).fill(i & 0xff));
  const wire = encodeFrames(payloads);
  const decoder = new FrameDecoder();
  decoder.push(wire);
  const out = [...decoder];
  assert.deepEqual(out, payloads.map((p) => (p.length ? p : TICK)));
  assert.ok(out.filter((p) => p.length).every((p) => p.buffer === wire.buffer));
});

Deno.test("FrameDecoder assembles a frame pushed one byte at a time, in linear time", () => {
  const payload = new Uint8Array(256 * 1024).map((_, i) => i * 31);
  const wire = encodeFrame(payload);
  const decoder = new FrameDecoder();
  const start = performance.now();
  for (let i = 0; i < wire.length; i++) {
    decoder.push(wire.subarray(i, i + 1));
    if (i < wire.length - 1) assert.equal(decoder.next(), undefined);
  }
  assert.deepEqual(decoder.next(), payload);
  assert.ok(performance.now() - start < 5000, "one-byte chunks stay linear");
});

Deno.test("FrameDecoder refuses an oversized length as soon as the header is in", () => {
  const decoder = new FrameDecoder({ maxFrameSize: 1024 });
  decoder.push(encodeFrame(new Uint8Array(1024)));
  assert.equal(decoder.next()!.length, 1024);
  decoder.push(bytes(0, 0, 4));
  assert.equal(decoder.next(), undefined);
  decoder.push(bytes(1)); // states 1025 bytes; no body has arrived
  assert.throws(() => decoder.next(), (e: unknown) => {
    assert.ok(e instanceof DecodeError);
    assert.equal(e.message, "Frame too large: 1025 bytes, limit 1024");
    return true;
  });
  assert.equal(decoder.buffered, 0, "nothing is held after the failure");
});

Deno.test("FrameDecoder hands out the good frames before a bad header, then fails", () => {
  const decoder = new FrameDecoder({ maxFrameSize: 8 });
  decoder.push(encodeFrames([bytes(1), bytes(2)]));
  decoder.push(bytes(0xff, 0xff, 0xff, 0xff));
  const seen: Uint8Array[] = [];
  assert.throws(() => {
    for (const p of decoder) seen.push(p);
  }, DecodeError);
  assert.deepEqual(seen, [bytes(1), bytes(2)]);
});

Deno.test("FrameDecoder stays failed: next() and push() throw the same error", () => {
  const decoder = new FrameDecoder({ maxFrameSize: 0 });
  decoder.push(bytes(0, 0, 0, 0, 0, 0, 0, 1));
  assert.equal(decoder.next(), TICK);
  let first: unknown;
  try {
    decoder.next();
  } catch (e) {
    first = e;
  }
  assert.ok(first instanceof DecodeError);
  assert.equal(decoder.failed, first);
  assert.throws(() => decoder.next(), (e: unknown) => e === first);
  assert.throws(() => decoder.push(encodeTick()), (e: unknown) => e === first);
  assert.throws(() => [...decoder], (e: unknown) => e === first);
});

Deno.test("FrameDecoder checks its options", () => {
  assert.equal(new FrameDecoder().failed, undefined);
  assert.ok(DEFAULT_MAX_FRAME_SIZE >= 1024 * 1024);
  for (const bad of [-1, 1.5, 2 ** 32, NaN]) {
    assert.throws(() => new FrameDecoder({ maxFrameSize: bad }), RangeError);
  }
  const max = new FrameDecoder({ maxFrameSize: 2 ** 32 - 1 });
  max.push(bytes(0xff, 0xff, 0xff, 0xff, 1));
  assert.equal(max.next(), undefined, "a 4 GiB frame is allowed, and waited for");
});

Deno.test("FrameDecoder payloads stay intact while later chunks arrive", () => {
  const decoder = new FrameDecoder();
  decoder.push(bytes(0, 0, 0, 2, 1));
  decoder.push(bytes(2, 0, 0));
  const first = decoder.next()!;
  decoder.push(bytes(0, 1, 3));
  const second = decoder.next()!;
  assert.deepEqual(first, bytes(1, 2));
  assert.deepEqual(second, bytes(3));
});

Deno.test("property: any payloads, any chunking, come out whole and in order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (payloads, cuts) => {
        const decoder = new FrameDecoder({ maxFrameSize: 300 });
        const out: Uint8Array[] = [];
        for (const chunk of split(encodeFrames(payloads), cuts)) {
          decoder.push(chunk);
          for (const p of decoder) out.push(p);
        }
        assert.deepEqual(out.map((p) => [...p]), payloads.map((p) => [...p]));
        assert.equal(decoder.buffered, 0);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("property: random bytes yield payloads or a DecodeError, and failure sticks", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.integer({ min: 0, max: 64 }),
      (data, cuts, max) => {
        const decoder = new FrameDecoder({ maxFrameSize: max });
        let taken = 0;
        try {
          for (const chunk of split(data, cuts)) {
            decoder.push(chunk);
            for (const p of decoder) {
              assert.ok(p.length <= max);
              taken += 4 + p.length;
            }
          }
        } catch (e) {
          assert.ok(e instanceof DecodeError, `threw ${e}`);
          assert.equal(decoder.failed, e);
          assert.throws(() => decoder.next(), (x: unknown) => x === e);
          return;
        }
        assert.equal(taken + decoder.buffered, data.length);
      },
    ),
    { numRuns: 5000 },
  );
});
