import assert from "node:assert/strict";
import { DistConnection, type DistConnectionOptions } from "../../src/distribution/connection.ts";
import { type DirectReadable, FrameReader } from "../../src/distribution/frame_reader.ts";
import { memoryPair, type MemoryPairOptions } from "../../src/distribution/memory.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import type { Connection } from "../../src/distribution/transport.ts";
import {
  FRAME_FRAGMENT_CONT,
  FRAME_FRAGMENT_HEAD,
  FRAME_MESSAGE,
  type NodeDownReason,
} from "../../src/distribution/types.ts";
import { encode, EncodedParts, encodeParts } from "../../src/term/codec.ts";
import { encodeFrame } from "../../src/distribution/frame_format.ts";
import { waitFor } from "../helpers/wait.ts";

/** Counts the writes that go through a connection. */
class CountingConnection implements Connection {
  writes = 0;
  bytes = 0;
  /** The memory each write came from. */
  buffers: ArrayBufferLike[] = [];
  readInto: DirectReadable["readInto"] | undefined;
  constructor(readonly inner: Connection) {
    const direct = (inner as Partial<DirectReadable>).readInto;
    if (direct !== undefined) this.readInto = (target) => direct.call(inner, target);
  }
  get remoteAddr(): string {
    return this.inner.remoteAddr;
  }
  read(): Promise<Uint8Array | null> {
    return this.inner.read();
  }
  write(bytes: Uint8Array): Promise<void> {
    this.writes++;
    this.bytes += bytes.length;
    this.buffers.push(bytes.buffer);
    return this.inner.write(bytes);
  }
  close(): void {
    this.inner.close();
  }
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.inner[Symbol.asyncIterator]();
  }
}

/**
 * Hands out what the inner connection reads in pieces of the given sizes
 * (in turn), so frames fall across chunks; with `direct`, it also reads
 * into the caller's memory, as the TCP connection does.
 */
class RechunkingConnection implements Connection {
  directReads = 0;
  #pending: Uint8Array = new Uint8Array(0);
  #turn = 0;
  constructor(readonly inner: Connection, readonly sizes: number[], direct: boolean) {
    if (!direct) this.readInto = undefined;
  }
  get remoteAddr(): string {
    return this.inner.remoteAddr;
  }
  async #fill(): Promise<boolean> {
    while (this.#pending.length === 0) {
      const chunk = await this.inner.read();
      if (chunk === null) return false;
      this.#pending = chunk;
    }
    return true;
  }
  async read(): Promise<Uint8Array | null> {
    if (!(await this.#fill())) return null;
    const size = this.sizes[this.#turn++ % this.sizes.length]!;
    const piece = this.#pending.subarray(0, size);
    this.#pending = this.#pending.subarray(piece.length);
    return piece;
  }
  readInto: ((target: Uint8Array) => Promise<number | null>) | undefined = async (target) => {
    if (!(await this.#fill())) return null;
    const n = Math.min(target.length, this.#pending.length);
    target.set(this.#pending.subarray(0, n));
    this.#pending = this.#pending.subarray(n);
    this.directReads++;
    return n;
  };
  write(bytes: Uint8Array): Promise<void> {
    return this.inner.write(bytes);
  }
  close(): void {
    this.inner.close();
  }
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.inner[Symbol.asyncIterator]();
  }
}

interface Side {
  conn: DistConnection;
  io: CountingConnection;
  got: Uint8Array[];
  closed: { reason: NodeDownReason; detail: string } | undefined;
}

function side(io: Connection, peer: string, options: Partial<DistConnectionOptions>): Side {
  const counting = new CountingConnection(io);
  const s: Side = { io: counting, got: [], closed: undefined } as unknown as Side;
  s.conn = new DistConnection(counting, new FrameReader(counting), {
    peer,
    ticktime: 60_000,
    onMessage: (body) => s.got.push(body.slice()),
    onClose: (reason, detail) => (s.closed = { reason, detail }),
    ...options,
  });
  return s;
}

function pair(
  options: Partial<DistConnectionOptions> = {},
  pairOptions: MemoryPairOptions = {},
): [Side, Side] {
  const [a, b] = memoryPair(pairOptions);
  const sa = side(a, "b@h", options);
  const sb = side(b, "a@h", options);
  sa.conn.start();
  sb.conn.start();
  return [sa, sb];
}

function body(n: number, fill = 0): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

/** Reads raw frames from the far end and records their kinds. */
async function rawFrames(io: Connection, count: number): Promise<string[]> {
  const reader = new FrameReader(io);
  const kinds: string[] = [];
  while (kinds.length < count) {
    const p = await reader.next(2 * 1024 * 1024);
    if (p === null) break;
    kinds.push(
      p.length === 0
        ? "tick"
        : p[0] === FRAME_MESSAGE
        ? `msg:${p.length - 1}`
        : p[0] === FRAME_FRAGMENT_HEAD
        ? "head"
        : p[0] === FRAME_FRAGMENT_CONT
        ? "cont"
        : "?",
    );
  }
  return kinds;
}

Deno.test("DistConnection.send() writes every frame queued in one turn in one write", async () => {
  const [a, b] = pair();
  for (let i = 0; i < 1000; i++) a.conn.send(body(20, i & 0xff));
  await waitFor(() => b.got.length === 1000, { message: "messages not delivered" });
  assert.equal(a.io.writes, 1);
  assert.equal(a.io.bytes, 1000 * (4 + 1 + 20));
  assert.deepEqual(b.got.map((m) => m[0]), Array.from({ length: 1000 }, (_, i) => i & 0xff));
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection delivers many messages in order", async () => {
  const [a, b] = pair();
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const m = new Uint8Array(4);
    new DataView(m.buffer).setUint32(0, i);
    a.conn.send(m);
    if (i % 997 === 0) await Promise.resolve();
  }
  await waitFor(() => b.got.length === n, { message: "messages not delivered" });
  for (let i = 0; i < n; i++) assert.equal(new DataView(b.got[i]!.buffer).getUint32(0), i);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection reassembles a fragmented message and lets other senders' small ones pass", async () => {
  const [a, b] = pair({ fragmentSize: 1024 });
  const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
  a.conn.send(big, "p1");
  a.conn.send(body(10, 1), "p2");
  await waitFor(() => b.got.length === 2, { message: "messages not delivered" });
  assert.equal(b.got[0]!.length, 10, "the small message of another sender comes first");
  assert.deepEqual(b.got[1], big);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection sends bodies in parts, whole or in fragments, as the bytes they join to", async () => {
  const [a, b] = pair({ fragmentSize: 4096 });
  const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
  const values = [
    { file: big, name: "big" }, // fragments
    ["small", new Uint8Array(5000).fill(3)], // parts, but one frame
    { n: 1 }, // no parts
    [big.subarray(1, 250_001), "tail", big.subarray(0, 9000)],
  ];
  const bodies = values.map((v) => encodeParts(v));
  assert.ok(bodies[0] instanceof EncodedParts && bodies[1] instanceof EncodedParts);
  for (const body of bodies) a.conn.send(body, "p");
  await waitFor(() => b.got.length === values.length, { message: "messages not delivered" });
  for (let i = 0; i < values.length; i++) assert.deepEqual(b.got[i], encode(values[i]).slice());
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection pads a part detached before it was written with zeros, and goes on", async () => {
  const [a, b] = pair({ fragmentSize: 4096 });
  const buffer = new ArrayBuffer(50_000);
  new Uint8Array(buffer).fill(5);
  a.conn.send(encodeParts([new Uint8Array(buffer)]), "p");
  a.conn.send(encodeParts("after"), "p");
  buffer.transfer(); // the sender broke its promise not to touch what it sent
  await waitFor(() => b.got.length === 2, { message: "messages not delivered" });
  assert.deepEqual(b.got[0], encode([new Uint8Array(50_000)]).slice());
  assert.deepEqual(b.got[1], encode("after").slice());
  assert.equal(a.closed, undefined);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection writes large stretches of a bulk body from the sender's memory", async () => {
  const [a, b] = pair();
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
  const parts = encodeParts(["file", big]);
  a.conn.send(big, "p1");
  a.conn.send(parts, "p2");
  await waitFor(() => b.got.length === 2, { message: `${b.got.length} delivered` });
  assert.deepEqual(b.got[0], big);
  assert.deepEqual(b.got[1], encode(["file", big]).slice());
  const fromBig = a.io.buffers.filter((buf) => buf === big.buffer).length;
  assert.ok(fromBig >= 4, `${fromBig} writes straight from the sent memory`);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection pads a part detached while its fragment is being written, and goes on", async () => {
  const [x, y] = memoryPair({ capacity: 1024 });
  const a = side(x, "b@h", {});
  const b = side(y, "a@h", {});
  a.conn.start();
  const buffer = new ArrayBuffer(300_000);
  new Uint8Array(buffer).fill(5);
  a.conn.send(body(2000), "q");
  a.conn.send(encodeParts([new Uint8Array(buffer)]), "p");
  a.conn.send(encodeParts("after"), "p");
  // The small message and the fragment's header are being written (over
  // the pipe's capacity, the reader has not started): the fragment's body,
  // queued as a view of the sender's memory, is not written yet.
  await waitFor(() => a.io.writes >= 1);
  assert.equal(a.io.writes, 1);
  buffer.transfer(); // the sender broke its promise not to touch what it sent
  b.conn.start();
  await waitFor(() => b.got.length === 3, { message: "messages not delivered" });
  assert.deepEqual(b.got[1], encode([new Uint8Array(300_000)]).slice());
  assert.deepEqual(b.got[2], encode("after").slice());
  assert.equal(a.closed, undefined);
  assert.equal(b.closed, undefined);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

for (const direct of [false, true]) {
  Deno.test(`DistConnection reassembles fragments split across reads${direct ? ", reading straight into the message" : ""}`, async () => {
    const [x, y] = memoryPair();
    const a = side(x, "b@h", { fragmentSize: 50_000 });
    const io = new RechunkingConnection(y, [7, 1000, 70_000, 3, 20_000, 65_536], direct);
    const b = side(io, "a@h", { fragmentSize: 50_000 });
    a.conn.start();
    b.conn.start();
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 12; i++) {
      const m = new Uint8Array(i % 3 === 0 ? 30 : 180_000 + i).map((_, j) => (i + j) & 0xff);
      sent.push(m);
      a.conn.send(m, `p${i % 4}`);
    }
    await waitFor(() => b.got.length === sent.length, { message: `${b.got.length} delivered` });
    const byLength = (p: Uint8Array, q: Uint8Array) => p.length - q.length || p[0]! - q[0]!;
    assert.deepEqual([...b.got].sort(byLength), [...sent].sort(byLength));
    if (direct) assert.ok(io.directReads > 0, "no direct read");
    assert.equal(b.closed, undefined);
    a.conn.close("disconnect");
    b.conn.close("disconnect");
  });
}

Deno.test("DistConnection carries large messages in parts over TCP, in order per sender", async () => {
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const a = side(await tcp.connect(listener.addr), "b@h", {});
  const b = side((await accepted)!, "a@h", {});
  a.conn.start();
  b.conn.start();
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 13) & 0xff);
  const values: unknown[] = [];
  for (let i = 0; i < 24; i++) values.push(i % 3 === 2 ? { i } : [i, big.subarray(i, 900_000 + i)]);
  for (const v of values) a.conn.send(encodeParts(v), "p");
  await waitFor(() => b.got.length === values.length, { message: `${b.got.length} delivered` });
  for (let i = 0; i < values.length; i++) {
    assert.deepEqual(b.got[i], encode(values[i]).slice(), `message ${i}`);
  }
  a.conn.close("disconnect");
  b.conn.close("disconnect");
  listener.close();
});

Deno.test("DistConnection grows a message with its data past maxPreallocated", async () => {
  const [a, b] = pair({ fragmentSize: 1000, maxPreallocated: 10_000 });
  const sent = [0, 1, 2].map((i) => new Uint8Array(100_000 + i).map((_, j) => (i * j) & 0xff));
  // Three senders: their fragments interleave, three streams grow at once.
  sent.forEach((m, i) => a.conn.send(m, `p${i}`));
  await waitFor(() => b.got.length === 3, { message: `${b.got.length} delivered` });
  assert.deepEqual([...b.got].sort((p, q) => p.length - q.length), sent);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection does not allocate what a peer announces but does not send", async () => {
  const [a, raw] = memoryPair();
  const s = side(a, "b@h", { maxMessageSize: 100 * 1024 * 1024 });
  s.conn.start();
  const before = Deno.memoryUsage().external;
  for (let stream = 1; stream <= 8; stream++) {
    const head = new Uint8Array(9 + 10);
    head[0] = FRAME_FRAGMENT_HEAD;
    new DataView(head.buffer).setUint32(1, stream);
    new DataView(head.buffer).setUint32(5, 90 * 1024 * 1024); // under the 100 MiB limit
    await raw.write(encodeFrame(head));
  }
  await raw.write(encodeFrame(new Uint8Array([FRAME_MESSAGE, 0x01])));
  await waitFor(() => s.got.length === 1, { message: "message after the heads not delivered" });
  // The first message is allocated whole (at most maxMessageSize ahead), the others grow with data.
  const grown = Deno.memoryUsage().external - before;
  assert.ok(grown < 150 * 1024 * 1024, `${grown} bytes allocated for 720 MiB announced`);
  s.conn.close("disconnect");
  raw.close();
});

Deno.test("DistConnection keeps one sender's order behind its own bulk message", async () => {
  const [a, b] = pair({ fragmentSize: 1024 });
  a.conn.send(new Uint8Array(50_000).fill(9), "p1");
  a.conn.send(body(10, 1), "p1");
  a.conn.send(body(10, 2), "p2");
  await waitFor(() => b.got.length === 3, { message: "messages not delivered" });
  assert.deepEqual(b.got.map((m) => [m.length, m[0]]), [[10, 2], [50_000, 9], [10, 1]]);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection drains thousands of messages queued behind a bulk one quickly and in order", async () => {
  const [a, b] = pair({ fragmentSize: 1024 });
  a.conn.send(new Uint8Array(100_000), "p");
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const m = new Uint8Array(4);
    new DataView(m.buffer).setUint32(0, i);
    a.conn.send(m, "p");
  }
  await waitFor(() => b.got.length === n + 1, { message: `${b.got.length} delivered` });
  assert.equal(b.got[0]!.length, 100_000);
  for (let i = 0; i < n; i++) assert.equal(new DataView(b.got[i + 1]!.buffer).getUint32(0), i);
  // 8 fragments' worth of bytes per write: ~13 writes for the bulk one, ~22 for the rest.
  assert.ok(a.io.writes <= 40, `${a.io.writes} writes`);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection interleaves small messages and ticks with the fragments of a bulk transfer", async () => {
  const [a, raw] = memoryPair({ capacity: 4096 });
  const tickMs = 20;
  const s = side(a, "b@h", { fragmentSize: 1024, ticktime: tickMs * 4 });
  s.conn.start();
  s.conn.send(new Uint8Array(64 * 1024), "bulk");
  s.conn.send(body(3), "small");
  // A slow reader: each write (one fragment) stalls longer than a tick
  // interval, so ticks queue behind it and leave between the fragments.
  const reader = new FrameReader(raw);
  const kinds: string[] = [];
  let bulkBytes = 0;
  let largest = 0;
  while (bulkBytes < 64 * 1024) {
    const p = await reader.next(1 << 20);
    if (p === null) break;
    const kind = p.length === 0
      ? "tick"
      : p[0] === FRAME_MESSAGE
      ? "msg"
      : p[0] === FRAME_FRAGMENT_HEAD
      ? "head"
      : "cont";
    kinds.push(kind);
    if (kind === "head" || kind === "cont") {
      const n = p.length - (kind === "head" ? 9 : 5);
      bulkBytes += n;
      largest = Math.max(largest, n);
    }
    await raw.write(new Uint8Array(4)); // the reader ticks too, so it is not silent
    await new Promise((r) => setTimeout(r, 1.5 * tickMs)); // the slow network, not synchronisation
  }
  assert.equal(bulkBytes, 64 * 1024, `bulk bytes received: ${kinds.join(",")}`);
  const firstData = kinds.filter((k) => k !== "tick");
  assert.equal(firstData[0], "msg", "the small message leaves before the bulk one");
  assert.equal(firstData[1], "head");
  // A fragment takes one write's budget (eight fragment sizes), or the rest
  // of the body when at most one fragment size more.
  assert.ok(largest <= 9 * 1024 && largest > 1024, `largest fragment ${largest} bytes`);
  const lastCont = kinds.lastIndexOf("cont");
  const firstTickInside = kinds.findIndex((k, i) =>
    k === "tick" && i > kinds.indexOf("head") && i < lastCont
  );
  assert.ok(firstTickInside > 0, `no tick between fragments: ${kinds.join(",")}`);
  assert.equal(s.closed, undefined);
  s.conn.close("disconnect");
  raw.close();
});

Deno.test("DistConnection is busy past the busy limit and drain() resolves when the peer reads", async () => {
  const [a, raw] = memoryPair({ capacity: 64 * 1024 });
  const s = side(a, "b@h", { busyLimit: 256 * 1024 });
  s.conn.start();
  for (let i = 0; i < 100; i++) s.conn.send(new Uint8Array(10_000));
  assert.ok(s.conn.busy);
  assert.equal(s.conn.bytesQueued, 100 * 10_005);
  let drained = false;
  const drain = s.conn.drain().then(() => (drained = true));
  await waitFor(() => s.io.writes >= 1);
  assert.equal(drained, false);
  const kinds = await rawFrames(raw, 100);
  assert.equal(kinds.length, 100);
  await drain;
  assert.ok(!s.conn.busy);
  s.conn.close("disconnect");
  raw.close();
});

Deno.test("DistConnection.drain() rejects when the connection closes", async () => {
  const [a, raw] = memoryPair({ capacity: 1024 });
  const s = side(a, "b@h", { busyLimit: 1024 });
  s.conn.start();
  s.conn.send(new Uint8Array(10_000));
  const drain = s.conn.drain();
  s.conn.close("disconnect");
  await assert.rejects(drain, { name: "NoConnectionError" });
  raw.close();
});

Deno.test("DistConnection closes with net_tick_timeout when the peer falls silent", async () => {
  const [a, raw] = memoryPair();
  const s = side(a, "b@h", { ticktime: 200 });
  const t0 = performance.now();
  s.conn.start();
  await waitFor(() => s.closed !== undefined, { timeout: 2000 });
  const elapsed = performance.now() - t0;
  assert.equal(s.closed!.reason, "net_tick_timeout");
  assert.ok(elapsed >= 140 && elapsed <= 400, `closed after ${elapsed} ms`);
  raw.close();
});

Deno.test("DistConnection stays up between idle live peers over many tick intervals", async () => {
  const [a, b] = pair({ ticktime: 100 });
  const until = Date.now() + 800;
  await waitFor(() => Date.now() >= until || a.closed !== undefined || b.closed !== undefined, {
    timeout: 2000,
  });
  assert.equal(a.closed, undefined);
  assert.equal(b.closed, undefined);
  a.conn.close("disconnect");
  b.conn.close("disconnect");
});

Deno.test("DistConnection counts bytes of a slow fragmented message as liveness", async () => {
  const [a, raw] = memoryPair();
  const s = side(a, "b@h", { ticktime: 200 });
  s.conn.start();
  // The peer trickles one 100-byte fragment every 20 ms for 600 ms, never a tick.
  const total = 30 * 100;
  const head = new Uint8Array(9 + 100);
  head[0] = FRAME_FRAGMENT_HEAD;
  new DataView(head.buffer).setUint32(1, 7);
  new DataView(head.buffer).setUint32(5, total);
  await raw.write(encodeFrame(head));
  for (let i = 1; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 20)); // the slow peer, not synchronisation
    const cont = new Uint8Array(5 + 100);
    cont[0] = FRAME_FRAGMENT_CONT;
    new DataView(cont.buffer).setUint32(1, 7);
    await raw.write(encodeFrame(cont));
  }
  await waitFor(() => s.got.length === 1);
  assert.equal(s.got[0]!.length, total);
  assert.equal(s.closed, undefined);
  s.conn.close("disconnect");
  raw.close();
});

Deno.test("DistConnection closes on malformed frames from the peer", async () => {
  const cases: [string, Uint8Array][] = [
    ["unknown kind", encodeFrame(new Uint8Array([0x7f, 1, 2]))],
    ["unknown stream", encodeFrame(new Uint8Array([FRAME_FRAGMENT_CONT, 0, 0, 0, 9, 1]))],
    ["short header", encodeFrame(new Uint8Array([FRAME_FRAGMENT_HEAD, 0, 0]))],
    ["too large", new Uint8Array([0xff, 0xff, 0xff, 0xff])],
    [
      "over max message",
      encodeFrame(new Uint8Array([FRAME_FRAGMENT_HEAD, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0])),
    ],
  ];
  for (const [what, bytes] of cases) {
    const [a, raw] = memoryPair();
    const s = side(a, "b@h", {});
    s.conn.start();
    await raw.write(bytes);
    await waitFor(() => s.closed !== undefined, { message: `not closed on ${what}` });
    assert.equal(s.closed!.reason, "connection_closed", what);
    assert.match(s.closed!.detail, /DecodeError/, what);
    raw.close();
  }
});

Deno.test("DistConnection reports connection_closed when the peer closes", async () => {
  const [a, b] = pair();
  b.conn.close("disconnect");
  await waitFor(() => a.closed !== undefined);
  assert.equal(a.closed!.reason, "connection_closed");
  assert.equal(b.closed!.reason, "disconnect");
});

Deno.test("DistConnection.send() after close drops the message", () => {
  const [a, raw] = memoryPair();
  const s = side(a, "b@h", {});
  s.conn.start();
  s.conn.close("disconnect");
  s.conn.send(body(5));
  assert.equal(s.conn.bytesQueued, 0);
  raw.close();
});
