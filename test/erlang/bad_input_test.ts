import assert from "node:assert/strict";
import { ByteStream, dialHandshake, encodeDistMessage, handshakeIo } from "../../src/erlang/mod.ts";
import { atom, tuple } from "../../src/etf/mod.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import { startNode } from "../../src/node.ts";
import { Pid } from "../../src/term/pid.ts";
import { waitFor } from "../helpers/wait.ts";

const COOKIE = "badinput";
const tcp = new TcpTransport();
const FAKE = "fake@127.0.0.1";

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** A REG_SEND of `message` bytes (a term without its 131) to `inbox` on the Weft node. */
function regSend(messageTerm: Uint8Array): Uint8Array {
  const head = encodeDistMessage(tuple(6, new Pid(FAKE, 1, 0, 5), atom(""), atom("inbox")));
  const out = new Uint8Array(head.length + messageTerm.length);
  out.set(head);
  out.set(messageTerm, head.length);
  return out;
}

function nested(depth: number): Uint8Array {
  // [[[...]]]: LIST_EXT of one element, depth times, then NIL.
  const out = new Uint8Array(depth * 6 + 1);
  for (let i = 0; i < depth; i++) out.set([108, 0, 0, 0, 1], i * 5);
  for (let i = 0; i < depth; i++) out[depth * 5 + i] = 106;
  out[depth * 6] = 106;
  return out.subarray(0, depth * 6);
}

const CASES: Array<[string, Uint8Array]> = [
  ["a truncated term", regSend(Uint8Array.of(104, 3, 97, 1))],
  ["a length past the end", regSend(Uint8Array.of(109, 0, 0, 0, 200, 1, 2))],
  ["an unknown term tag", regSend(Uint8Array.of(222, 0))],
  ["an unknown header tag", Uint8Array.of(131, 99, 0)],
  ["deep nesting", regSend(nested(100_000))],
  ["a fun", regSend(Uint8Array.of(113, 119, 1, 109, 119, 1, 102, 97, 0))],
  [
    "a fragment of no message",
    Uint8Array.of(131, 70, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1),
  ],
  ["an atom cache slot never filled", Uint8Array.of(131, 68, 1, 0, 7, 104, 1, 82, 0)],
];

Deno.test("malformed Erlang distribution input closes that connection; the node keeps running and dispatches nothing", async () => {
  const weft = await startNode({
    name: "weft@127.0.0.1",
    cookie: COOKIE,
    hostname: "127.0.0.1",
    noEpmd: true,
  });
  const inbox = weft.runtime.open();
  weft.runtime.register("inbox", inbox.self);
  try {
    const connectFake = async () => {
      const conn = await tcp.connect({ hostname: "127.0.0.1", port: weft.port });
      const stream = new ByteStream(conn);
      await dialHandshake(handshakeIo(conn, stream), { name: FAKE, cookie: COOKIE, creation: 5 });
      await waitFor(() => weft.list().includes(FAKE), { timeout: 10_000 });
      return { conn, stream };
    };
    for (const [what, payload] of CASES) {
      const { conn, stream } = await connectFake();
      await conn.write(frame(payload));
      // The node closes the connection: reads end (ticks may come first).
      await waitFor(async () => {
        const head = await stream.read(4);
        if (head === null) return true;
        const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
        if (len > 0) await stream.read(len);
        return false;
      }, { timeout: 10_000, message: `${what}: the connection stayed open` });
      conn.close();
      await waitFor(() => !weft.list().includes(FAKE), { timeout: 10_000 });
      assert.deepEqual(inbox.flush(), [], `${what}: nothing was dispatched`);
    }
    // Still running: a well-formed message from a new connection arrives.
    const { conn } = await connectFake();
    await conn.write(frame(regSend(Uint8Array.of(100, 0, 2, 111, 107))));
    const got = await inbox.receive(undefined, { timeout: 10_000 });
    assert.equal(String(got), "ok");
    conn.close();
  } finally {
    inbox.exit("normal");
    await weft.stop();
  }
});

Deno.test("a frame over the size limit or a v5 send_name is refused without harm", async () => {
  const weft = await startNode({
    name: "weft@127.0.0.1",
    cookie: COOKIE,
    hostname: "127.0.0.1",
    noEpmd: true,
  });
  try {
    const conn = await tcp.connect({ hostname: "127.0.0.1", port: weft.port });
    // send_name, version 5 ('n'): OTP 22 or older.
    await conn.write(Uint8Array.of(0, 8, 110, 0, 5, 0, 0, 0, 0, 0));
    while ((await conn.read()) !== null) { /* until the node closes it */ }
    conn.close();
    const c2 = await tcp.connect({ hostname: "127.0.0.1", port: weft.port });
    const s2 = new ByteStream(c2);
    await dialHandshake(handshakeIo(c2, s2), { name: FAKE, cookie: COOKIE, creation: 5 });
    await c2.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    while ((await s2.read(1)) !== null) { /* ticks until closed */ }
    c2.close();
    await waitFor(() => !weft.list().includes(FAKE), { timeout: 10_000 });
    assert.equal(await weft.ping(weft.name), "pong");
  } finally {
    await weft.stop();
  }
});
