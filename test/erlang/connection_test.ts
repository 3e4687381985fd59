import assert from "node:assert/strict";
import { memoryPair } from "../../src/distribution/memory.ts";
import { ByteStream, encodeDistFrame, ErlangConnection } from "../../src/erlang/mod.ts";
import { atom, type Term, termKey, tuple } from "../../src/etf/mod.ts";
import type { Connection } from "../../src/distribution/transport.ts";
import { prng } from "../helpers/prng.ts";
import { waitFor } from "../helpers/wait.ts";

/** A started connection on `end` from peer a@h, collecting what it delivers and why it closed. */
function receiver(end: Connection, options: { maxFrame?: number } = {}) {
  const got: Term[] = [];
  const state: { closed?: string } = {};
  const conn = new ErlangConnection(end, new ByteStream(end), {
    peer: "a@h",
    ticktime: 60_000,
    ...options,
    onMessage: (_control, message) => got.push(message!),
    onClose: (_reason, detail) => state.closed = detail,
  });
  conn.start();
  return { conn, got, state };
}

/** Waits for `cond` up to a generous deadline. */
function until(cond: () => boolean, what: string): Promise<void> {
  return waitFor(cond, { timeout: 10_000, interval: 2, message: `timed out waiting for ${what}` });
}

Deno.test("ErlangConnection delivers every frame in order however the bytes are cut into chunks", async () => {
  const rng = prng(19);
  const messages: Term[] = [];
  for (let i = 0; i < 300; i++) {
    // Small messages, and some of a few KiB, so frames and length prefixes straddle chunks.
    messages.push(i % 50 === 0 ? tuple(atom("big"), new Uint8Array(5000).fill(i)) : tuple(i, "x"));
  }
  const stream = new Uint8Array(
    messages.flatMap((m, i) => [
      ...(i % 7 === 0 ? [0, 0, 0, 0] : []), // a tick now and then
      ...encodeDistFrame(tuple(2, atom(""), atom("to")), m),
    ]),
  );
  const [a, b] = memoryPair();
  const { conn, got, state } = receiver(b);
  try {
    for (let at = 0; at < stream.length;) {
      // Mostly a few bytes (a length prefix cut in two), sometimes a few KiB.
      const n = 1 + Math.floor(rng() * (rng() < 0.2 ? 3000 : 6));
      await a.write(stream.slice(at, at + n));
      at += n;
    }
    await until(() => got.length === messages.length, "every message");
    assert.deepEqual(got.map(termKey), messages.map((m) => termKey(m)));
    assert.equal(state.closed, undefined);
  } finally {
    conn.close("disconnect");
    a.close();
  }
});

Deno.test("ErlangConnection sends all messages of one turn in one write, without those it refuses", async () => {
  const [a, b] = memoryPair();
  const out = new ErlangConnection(a, new ByteStream(a), {
    peer: "b@h",
    ticktime: 60_000,
    onMessage: () => {},
    onClose: () => {},
  });
  try {
    const control = tuple(2, atom(""), atom("to"));
    out.send(control, 1);
    assert.throws(() => out.send(control, null as never), TypeError);
    out.send(control, 2);
    const frames = [...encodeDistFrame(control, 1), ...encodeDistFrame(control, 2)];
    assert.equal(out.bytesQueued, frames.length);
    const chunk = await b.read();
    assert.deepEqual([...chunk!], frames);
  } finally {
    out.close("disconnect");
    b.close();
  }
});

Deno.test("ErlangConnection refuses a length over its limit before the frame's bytes arrive", async () => {
  const [a, b] = memoryPair();
  const { conn, state } = receiver(b, { maxFrame: 1000 });
  try {
    await a.write(Uint8Array.of(0, 0, 0x10, 0));
    await until(() => state.closed !== undefined, "the connection to close");
    assert.match(state.closed!, /Frame too large: 4096 bytes, limit 1000/);
  } finally {
    conn.close("disconnect");
    a.close();
  }
});

Deno.test("with the atom cache, messages keep their atoms through slot collisions, evictions and refused messages", async () => {
  const rng = prng(25);
  // 3,000 names over 2,048 slots: collisions within a message and evictions between them.
  const names = Array.from({ length: 3000 }, (_, i) => `atom_${i}_${"x".repeat(i % 40)}`);
  const messages: Term[] = [];
  for (let i = 0; i < 2000; i++) {
    const n = 1 + Math.floor(rng() * (i % 100 === 0 ? 300 : 8)); // now and then over 255 atoms
    messages.push(Array.from({ length: n }, () => atom(names[Math.floor(rng() * names.length)]!)));
  }
  const [a, b] = memoryPair();
  const { conn, got, state } = receiver(b);
  const out = new ErlangConnection(a, new ByteStream(a), {
    peer: "b@h",
    ticktime: 60_000,
    atomCache: true,
    onMessage: () => {},
    onClose: () => {},
  });
  try {
    const control = tuple(2, atom(""), atom("to"));
    for (const [i, m] of messages.entries()) {
      out.send(control, m);
      if (i % 10 === 0) {
        // Refused after some of its atoms took slots: the peer must not see those entries.
        const bad = [atom(names[(i * 7) % names.length]!), atom(`fresh_${i}`), null as never];
        assert.throws(() => out.send(control, bad), TypeError);
      }
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 0)); // several writes
    }
    await until(
      () => got.length === messages.length || state.closed !== undefined,
      "every message",
    );
    assert.equal(state.closed, undefined);
    assert.deepEqual(got.map(termKey), messages.map((m) => termKey(m)));
  } finally {
    conn.close("disconnect");
    out.close("disconnect");
  }
});
