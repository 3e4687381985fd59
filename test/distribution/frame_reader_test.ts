import assert from "node:assert/strict";
import {
  type DirectReadable,
  framedIO,
  FrameReader,
  type FrameSink,
  SINK_MIN_BYTES,
} from "../../src/distribution/frame_reader.ts";
import { DecodeError } from "../../src/errors.ts";
import { memoryPair } from "../../src/distribution/memory.ts";
import type { Connection } from "../../src/distribution/transport.ts";
import { encodeFrame } from "../../src/distribution/frame_format.ts";

/** The frames of `payloads` back to back, as one write would carry them. */
function encodeFrames(payloads: Uint8Array[]): Uint8Array {
  const frames = payloads.map(encodeFrame);
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** A connection that hands out the given chunks, then ends; records what is recycled. */
class ScriptedConnection implements Connection {
  readonly remoteAddr = "scripted";
  recycled: Uint8Array[] = [];
  #chunks: Uint8Array[];
  constructor(chunks: Uint8Array[]) {
    this.#chunks = [...chunks];
  }
  read(): Promise<Uint8Array | null> {
    return Promise.resolve(this.#chunks.shift() ?? null);
  }
  write(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
  recycle(chunk: Uint8Array): void {
    this.recycled.push(chunk);
  }
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    throw new Error("unused");
  }
}

function payloads(...sizes: number[]): Uint8Array[] {
  return sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
}

Deno.test("FrameReader.run() yields every frame however the stream is cut", async () => {
  const frames = payloads(1, 0, 300, 5, 70_000, 2);
  const wire = encodeFrames(frames);
  for (const cut of [1, 2, 3, 4, 5, 7, 64, 1000, 65_536, wire.length]) {
    const chunks: Uint8Array[] = [];
    for (let off = 0; off < wire.length; off += cut) chunks.push(wire.slice(off, off + cut));
    const got: Uint8Array[] = [];
    await new FrameReader(new ScriptedConnection(chunks)).run(1 << 20, (buf, start, end) => {
      got.push(buf.slice(start, end));
      return false;
    });
    assert.deepEqual(got, frames, `cut every ${cut} bytes`);
  }
});

Deno.test("FrameReader.run() gives chunks back only when no frame view was kept", async () => {
  const keep = new ScriptedConnection([
    encodeFrame(new Uint8Array([1])),
    encodeFrame(new Uint8Array([2])),
  ]);
  await new FrameReader(keep).run(1024, (buf, start) => buf[start] === 1);
  assert.equal(keep.recycled.length, 1);
  assert.equal(keep.recycled[0]![4], 2);
});

Deno.test("FrameReader reuses its scratch buffer for split frames unless one was kept", async () => {
  const wire = encodeFrames(payloads(50_000, 50_000, 50_000));
  const chunks = [
    wire.slice(0, 30_000),
    wire.slice(30_000, 80_000),
    wire.slice(80_000, 120_000),
    wire.slice(120_000),
  ];
  const buffers: ArrayBufferLike[] = [];
  await new FrameReader(new ScriptedConnection(chunks)).run(1 << 20, (buf, start, end) => {
    if (end - start === 50_000) buffers.push(buf.buffer);
    return false;
  });
  assert.equal(buffers.length, 3);
  assert.equal(buffers[0], buffers[1], "a frame nobody kept frees the scratch for the next");
  const kept: ArrayBufferLike[] = [];
  await new FrameReader(new ScriptedConnection(chunks.map((c) => c.slice()))).run(
    1 << 20,
    (buf, start, end) => {
      if (end - start === 50_000) kept.push(buf.buffer);
      return true;
    },
  );
  assert.notEqual(kept[0], kept[1], "a kept frame keeps its buffer");
});

/** A scripted connection that can also read into the caller's memory. */
class DirectScriptedConnection extends ScriptedConnection implements DirectReadable {
  directReads: number[] = [];
  #rest: Uint8Array = new Uint8Array(0);
  #source: ScriptedConnection;
  constructor(chunks: Uint8Array[]) {
    super([]);
    this.#source = new ScriptedConnection(chunks);
  }
  /** The `max` of each `read()` call made by the frame reader. */
  readMax: (number | undefined)[] = [];
  override read(max?: number): Promise<Uint8Array | null> {
    this.readMax.push(max);
    return this.#next(max);
  }
  async #next(max?: number): Promise<Uint8Array | null> {
    let chunk: Uint8Array | null;
    if (this.#rest.length > 0) {
      chunk = this.#rest;
      this.#rest = new Uint8Array(0);
    } else {
      chunk = await this.#source.read();
    }
    if (chunk !== null && max !== undefined && chunk.length > max) {
      this.#rest = chunk.subarray(max);
      chunk = chunk.subarray(0, max);
    }
    return chunk;
  }
  async readInto(target: Uint8Array): Promise<number | null> {
    const chunk = await this.#next();
    if (chunk === null) return null;
    const n = Math.min(target.length, chunk.length);
    target.set(chunk.subarray(0, n));
    this.#rest = chunk.subarray(n);
    this.directReads.push(n);
    return n;
  }
}

/** A sink that takes the frames whose first byte is odd, into buffers of its own. */
function oddSink(into: Uint8Array[]): FrameSink & { begun: number } {
  let current: Uint8Array | undefined;
  const sink = {
    begun: 0,
    begin(buf: Uint8Array, start: number, end: number, length: number) {
      assert.ok(end - start >= SINK_MIN_BYTES || end - start === length);
      if (buf[start]! % 2 === 0) return undefined;
      sink.begun++;
      current = new Uint8Array(length);
      current.set(buf.subarray(start, end));
      return current.subarray(end - start);
    },
    end() {
      into.push(current!);
      current = undefined;
    },
  };
  return sink;
}

Deno.test("FrameReader.run() hands frames split across chunks to the sink, however the stream is cut", async () => {
  const frames = payloads(1, 0, 300, 5, 30_000, 2, 20_000, 20, 50_000);
  const wire = encodeFrames(frames);
  for (const direct of [false, true]) {
    for (const cut of [3, 17, 1000, 20_000, 65_536]) {
      const chunks: Uint8Array[] = [];
      for (let off = 0; off < wire.length; off += cut) chunks.push(wire.slice(off, off + cut));
      const whole: Uint8Array[] = [];
      const sunk: Uint8Array[] = [];
      const sink = oddSink(sunk);
      const conn = direct ? new DirectScriptedConnection(chunks) : new ScriptedConnection(chunks);
      await new FrameReader(conn).run(
        1 << 20,
        (buf, start, end) => {
          whole.push(buf.slice(start, end));
          return false;
        },
        undefined,
        sink,
      );
      const all = [...whole, ...sunk].sort((p, q) => p.length - q.length);
      assert.deepEqual(all, [...frames].sort((p, q) => p.length - q.length), `cut ${cut}`);
      for (const frame of sunk) assert.ok(frame[0]! % 2 === 1, "only frames the sink took");
      if (cut === 1000 || cut === 20_000) assert.ok(sink.begun > 0, `cut ${cut}: sink unused`);
      if (direct && cut === 1000) {
        const reads = (conn as DirectScriptedConnection).directReads;
        assert.ok(reads.length > 0, "no direct read");
      }
    }
  }
});

Deno.test("FrameReader.run() reads the rest of a large split frame straight into the sink's memory", async () => {
  const wire = encodeFrames(payloads(200_000));
  const conn = new DirectScriptedConnection([wire.slice(0, 100), wire.slice(100)]);
  const sunk: Uint8Array[] = [];
  await new FrameReader(conn).run(1 << 20, () => false, undefined, oddSink(sunk));
  assert.deepEqual(conn.directReads, [200_004 - 100]);
  assert.deepEqual(sunk, payloads(200_000));
});

Deno.test("FrameReader.run() reads only a little after a frame read straight into the sink", async () => {
  const frames = payloads(200_001, 10, 200_003); // odd first bytes: 1 and 3 go to the sink
  const wire = encodeFrames(frames);
  const conn = new DirectScriptedConnection([wire.slice(0, 100), wire.slice(100)]);
  const sunk: Uint8Array[] = [];
  const whole: Uint8Array[] = [];
  await new FrameReader(conn).run(
    1 << 20,
    (buf, start, end) => {
      whole.push(buf.slice(start, end));
      return false;
    },
    undefined,
    oddSink(sunk),
  );
  assert.deepEqual(sunk, [frames[0], frames[2]]);
  assert.deepEqual(whole, [frames[1]]);
  // What follows the first comes in a short read, the rest of the third straight into place.
  assert.equal(conn.readMax[0], undefined);
  assert.ok(conn.readMax[1]! <= 4096, `read after a direct frame: ${conn.readMax[1]}`);
  assert.equal(conn.directReads.length, 2);
  assert.ok(conn.directReads[1]! > 190_000, `second direct read ${conn.directReads[1]}`);
});

Deno.test("FrameReader.run() gathers the first bytes of a frame for the sink when a chunk ends in its header", async () => {
  const frames = payloads(200_001);
  const wire = encodeFrames(frames);
  // The length prefix and 5 bytes, then 3 bytes, then the rest.
  const conn = new DirectScriptedConnection([wire.slice(0, 9), wire.slice(9, 12), wire.slice(12)]);
  const sunk: Uint8Array[] = [];
  const sink = oddSink(sunk);
  await new FrameReader(conn).run(1 << 20, () => false, undefined, sink);
  assert.deepEqual(sunk, frames);
  assert.equal(sink.begun, 1);
  assert.ok(conn.readMax[1]! <= 4096, `read while gathering: ${conn.readMax[1]}`);
  assert.ok(conn.directReads.length > 0, "no direct read");
});

Deno.test("FrameReader.run() ends with the error the sink throws", async () => {
  const wire = encodeFrames(payloads(50_000));
  const conn = new ScriptedConnection([wire.slice(0, 100), wire.slice(100)]);
  const sink: FrameSink = {
    begin() {
      throw new DecodeError("Malformed fragment: test");
    },
    end() {},
  };
  await assert.rejects(new FrameReader(conn).run(1 << 20, () => false, undefined, sink), {
    name: "DecodeError",
    message: "Malformed fragment: test",
  });
});

Deno.test("FrameReader refuses a length over the limit before reading the payload", async () => {
  const conn = new ScriptedConnection([new Uint8Array([0x10, 0, 0, 0])]);
  await assert.rejects(
    new FrameReader(conn).run(1024, () => false),
    { name: "DecodeError", message: "Frame too large: 268435456 bytes, limit 1024" },
  );
  await assert.rejects(
    new FrameReader(new ScriptedConnection([new Uint8Array([0, 0, 4, 1])])).next(1024),
    {
      name: "DecodeError",
    },
  );
});

Deno.test("FrameReader.next() reads one frame at a time and run() takes over the rest", async () => {
  const wire = encodeFrames([new Uint8Array([1]), new Uint8Array(200), new Uint8Array([3])]);
  const reader = new FrameReader(new ScriptedConnection([wire]));
  assert.deepEqual(await reader.next(16), new Uint8Array([1]));
  // The 200-byte frame is over next()'s limit of 16, but run() applies its own limit.
  const got: number[] = [];
  await reader.run(1024, (_buf, start, end) => {
    got.push(end - start);
    return false;
  });
  assert.deepEqual(got, [200, 1]);
  assert.equal(await new FrameReader(new ScriptedConnection([])).next(16), null);
});

Deno.test("framedIO() frames what it sends and fails recv at the end of the stream", async () => {
  const [a, b] = memoryPair();
  const ia = framedIO(a, new FrameReader(a), 1024);
  const ib = framedIO(b, new FrameReader(b), 1024);
  await ia.send(new Uint8Array([5, 6]));
  assert.deepEqual(await ib.recv(), new Uint8Array([5, 6]));
  a.close();
  await assert.rejects(ib.recv(), Deno.errors.UnexpectedEof);
  b.close();
});
