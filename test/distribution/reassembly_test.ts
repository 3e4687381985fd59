import assert from "node:assert/strict";
import { DistConnection } from "../../src/distribution/connection.ts";
import { FrameReader } from "../../src/distribution/frame_reader.ts";
import { writeFragmentCont, writeFragmentHead } from "../../src/distribution/frame_format.ts";
import { Reassembler } from "../../src/distribution/reassembly.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import type { Connection } from "../../src/distribution/transport.ts";
import type { NodeDownReason } from "../../src/distribution/types.ts";
import { DecodeError } from "../../src/errors.ts";
import { waitFor } from "../helpers/wait.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

const head = (stream: number, total: number) => ({ first: true, stream, total, headerBytes: 9 });
const cont = (stream: number) => ({ first: false, stream, total: -1, headerBytes: 5 });

Deno.test("Reassembler puts a message together from its fragments and lets go of its memory", () => {
  const r = new Reassembler();
  const s = r.begin(head(1, 6), 9 + 2, 0);
  s.buf.set([1, 2], s.fill);
  assert.equal(r.filled(s, 2), undefined);
  const t = r.begin(cont(1), 5 + 4, 1);
  t.buf.set([3, 4, 5, 6], t.fill);
  assert.deepEqual(r.filled(t, 4), new Uint8Array([1, 2, 3, 4, 5, 6]));
  assert.equal(r.open, 0);
  assert.equal(r.held, 0);
});

Deno.test("Reassembler refuses what breaks the protocol", () => {
  const r = new Reassembler({ maxMessageSize: 100 });
  assert.throws(() => r.begin(head(1, 101), 9, 0), /Message too large: 101 bytes, limit 100/);
  assert.throws(() => r.begin(head(1, 2), 9 + 3, 0), /more bytes than the announced total/);
  assert.throws(() => r.begin(cont(9), 5 + 1, 0), /unknown stream 9/);
  r.begin(head(1, 10), 9, 0);
  assert.throws(() => r.begin(head(1, 10), 9, 0), /stream 1 is already open/);
  assert.throws(() => r.begin(cont(1), 5 + 11, 0), /more bytes than the announced total/);
  for (let i = 2; i <= 256; i++) r.begin(head(i, 10), 9, 0);
  assert.throws(() => r.begin(head(257, 10), 9, 0), /Too many fragment streams open: limit 256/);
  assert.throws(() => new Reassembler({ budget: 0 }), RangeError);
  assert.throws(() => new Reassembler({ timeoutMs: NaN }), RangeError);
});

Deno.test("Reassembler holds no more than its budget, however many huge messages are announced", () => {
  const r = new Reassembler({ budget: 8 * MIB });
  let opened = 0;
  assert.throws(() => {
    for (let i = 1; i <= 256; i++, opened++) r.begin(head(i, 1024 * MIB), 9 + 100, 0);
  }, DecodeError);
  assert.equal(opened, 8, "each announced 1 GiB message starts at 1 MiB: eight fit");
  assert.ok(r.held <= 8 * MIB);
  assert.throws(() => r.begin(head(999, 1024 * MIB), 9 + 100, 0), /Reassembly budget exceeded/);
});

Deno.test("Reassembler grows a buffer with the data, charging the budget as it grows", () => {
  const r = new Reassembler({ budget: 3 * MIB, maxPreallocated: 0.5 * MIB });
  const s = r.begin(head(1, 64 * MIB), 9, 0);
  assert.equal(s.buf.length, 0.5 * MIB, "not allocated ahead of the data past maxPreallocated");
  r.filled(r.begin(cont(1), 5 + 0.5 * MIB, 0), 0.5 * MIB);
  r.filled(r.begin(cont(1), 5 + 0.5 * MIB, 0), 0.5 * MIB);
  assert.equal(r.held, 1 * MIB);
  r.filled(r.begin(cont(1), 5 + MIB, 0), MIB);
  assert.equal(r.held, 2 * MIB);
  assert.throws(() => r.begin(cont(1), 5 + MIB, 0), /Reassembly budget exceeded/);
});

Deno.test("Reassembler.overdue() names a message unfinished past the deadline", () => {
  const r = new Reassembler({ timeoutMs: 1000 });
  const s = r.begin(head(3, 100), 9 + 10, 500);
  r.filled(s, 10);
  assert.equal(r.overdue(1500), undefined);
  assert.equal(r.overdue(1501), "Message unfinished after 1000 ms: stream 3 has 10 of 100 bytes");
  r.clear();
  assert.equal(r.overdue(10_000), undefined);
});

// ---- over a real socket: what a peer sees ---------------------------------

/** A connection under test on one end of a loopback TCP socket, and the raw other end. */
async function tcpSide(options: {
  reassemblyBudget?: number;
  reassemblyTimeout?: number;
  ticktime?: number;
}) {
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const raw: Connection = await tcp.connect(listener.addr);
  const io = (await accepted)!;
  listener.close();
  const got: Uint8Array[] = [];
  let closed: { reason: NodeDownReason; detail: string } | undefined;
  const conn = new DistConnection(io, new FrameReader(io), {
    peer: "attacker@127.0.0.1",
    ticktime: options.ticktime ?? 4000,
    onMessage: (body) => got.push(body),
    onClose: (reason, detail) => (closed = { reason, detail }),
    ...options,
  });
  conn.start();
  // Drain what the connection writes (ticks), as a peer that reads.
  const reading = (async () => {
    while ((await raw.read()) !== null) { /* discard */ }
  })();
  return {
    conn,
    raw,
    got,
    closed: () => closed,
    async end() {
      conn.close("disconnect");
      raw.close();
      await reading;
    },
  };
}

function headFrame(stream: number, total: number, data: number): Uint8Array {
  const f = new Uint8Array(13 + data);
  writeFragmentHead(f, 0, stream, total, data);
  return f;
}

function contFrame(stream: number, data: number): Uint8Array {
  const f = new Uint8Array(9 + data);
  writeFragmentCont(f, 0, stream, data);
  return f;
}

Deno.test("256 streams announcing 1 GiB each close the connection at the reassembly budget", async () => {
  const budget = 64 * MIB;
  const side = await tcpSide({ reassemblyBudget: budget });
  try {
    for (let i = 1; i <= 256 && side.closed() === undefined; i++) {
      await side.raw.write(headFrame(i, 1024 * MIB, 16 * KIB)).catch(() => {});
    }
    await waitFor(() => side.closed() !== undefined, { message: "the connection stayed up" });
    assert.equal(side.closed()!.reason, "connection_closed");
    assert.match(side.closed()!.detail, /Reassembly budget exceeded: 64 unfinished messages/);
    // No RSS check here: deno test --parallel runs other test files in this
    // process, so its RSS says nothing of this connection. The close at 64
    // unfinished 1 MiB-buffered streams is the budget at work; the memory a
    // node keeps is checked on a node of its own in handshake_flood_test.ts.
  } finally {
    await side.end();
  }
});

Deno.test("streams fed too slowly close the connection at the reassembly deadline", async () => {
  const side = await tcpSide({ reassemblyTimeout: 300 });
  try {
    for (let i = 1; i <= 8; i++) await side.raw.write(headFrame(i, 8 * MIB, 1024));
    // Fed a little every 50 ms (the slow peer, not synchronisation), never finishing.
    const t0 = performance.now();
    while (side.closed() === undefined && performance.now() - t0 < 10_000) {
      for (let i = 1; i <= 8; i++) await side.raw.write(contFrame(i, 1024)).catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(side.closed() !== undefined, "the connection stayed up");
    assert.match(
      side.closed()!.detail,
      /^Message unfinished after 300 ms: stream \d has \d+ of 8388608 bytes$/,
    );
    assert.equal(side.got.length, 0);
  } finally {
    await side.end();
  }
});

Deno.test("a legitimate 256 MiB message passes the reassembly limits", async () => {
  const size = 256 * MIB;
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const out = await tcp.connect(listener.addr);
  const inn = (await accepted)!;
  listener.close();
  let got: Uint8Array | undefined;
  const sender = new DistConnection(out, new FrameReader(out), {
    peer: "b@127.0.0.1",
    ticktime: 4000,
    onMessage: () => {},
    onClose: () => {},
  });
  const receiver = new DistConnection(inn, new FrameReader(inn), {
    peer: "a@127.0.0.1",
    ticktime: 4000,
    reassemblyBudget: 300 * MIB,
    onMessage: (body) => (got = body),
    onClose: () => {},
  });
  try {
    sender.start();
    receiver.start();
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) body[i] = (i >>> 12) & 0xff;
    sender.send(body);
    await waitFor(() => got !== undefined, { timeout: 60_000 });
    assert.equal(got!.length, size);
    for (let i = 0; i < size; i += 4096) {
      if (got![i] !== ((i >>> 12) & 0xff)) assert.fail(`byte ${i} differs`);
    }
    assert.ok(!receiver.closed && !sender.closed);
  } finally {
    sender.close("disconnect");
    receiver.close("disconnect");
  }
});
