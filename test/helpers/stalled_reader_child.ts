/**
 * A peer that stops reading, in a child process, for back-pressure tests:
 * `deno run -A test/helpers/stalled_reader_child.ts NAME COOKIE`.
 *
 * It listens on 127.0.0.1 (port 0) as node `NAME@127.0.0.1` and prints one
 * JSON line `{"port": P}`. It accepts one connection and completes the
 * handshake as a Weft node would, then never reads from the socket, yet
 * writes a tick every 250 ms, so its peer keeps hearing from it: a peer
 * that ticks but does not read. On the line `read` on stdin it starts
 * reading: it checks that the REG_SEND messages `{seq, data}` to `sink`
 * arrive complete and in order (`data` is `size` bytes of `seq & 255`),
 * and on `{done: n}` prints `{"done": count, "ok": bool, "error"?}`.
 * It exits when stdin closes.
 *
 * ```
 * sender ---- HELLO / REPLY ----> this      handshake
 * sender <--- CHALLENGE / ACK --- this
 * sender <------- tick ---------- this      every 250 ms; nothing is read
 *        ... stdin "read" ...
 * sender ---- REG_SEND sink ----> this      counted, checked, in order
 * ```
 *
 * @example
 * ```ts ignore
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", "test/helpers/stalled_reader_child.ts", "reader", "cookie"],
 *   stdin: "piped", stdout: "piped",
 * }).spawn();
 * ```
 *
 * @module
 */

import { DistConnection } from "../../src/distribution/connection.ts";
import { framedIO, FrameReader } from "../../src/distribution/frame_reader.ts";
import { acceptHandshake, importCookie } from "../../src/distribution/handshake.ts";
import { LocalSocketTransport } from "../../src/distribution/local_socket.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import {
  CAPS_DEFAULT,
  MAX_HANDSHAKE_FRAME,
  OP_REG_SEND,
  STATUS_OK,
} from "../../src/distribution/types.ts";
import { decode } from "../../src/term/codec.ts";

const [name, cookie] = Deno.args;
const self = `${name}@127.0.0.1`;
// A Weft node's transport: a sender on this machine may come over the Unix socket.
const listener = new LocalSocketTransport(new TcpTransport()).listen({
  hostname: "127.0.0.1",
  port: 0,
});
console.log(JSON.stringify({ port: listener.addr.port }));

const conn = (await listener.accept())!;
listener.close();
const reader = new FrameReader(conn);
const result = await acceptHandshake(framedIO(conn, reader, MAX_HANDSHAKE_FRAME), {
  self: { name: self, creation: 7, capabilities: CAPS_DEFAULT },
  cookie: importCookie(cookie!),
  decide: () => STATUS_OK,
});
if (!result.ok) {
  console.log(JSON.stringify({ error: `handshake failed: ${result.detail}` }));
  Deno.exit(1);
}
console.log(JSON.stringify({ up: result.peer.name }));

const ticks = setInterval(() => {
  conn.write(new Uint8Array(4)).catch(() => {});
}, 250);

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let text = "";
let dist: DistConnection | undefined;
for await (const chunk of lines) {
  text += chunk;
  if (dist === undefined && text.includes("read\n")) {
    clearInterval(ticks);
    dist = startReading();
  }
}
clearInterval(ticks);
dist?.close("disconnect");
conn.close();

function startReading(): DistConnection {
  let count = 0;
  let error: string | undefined;
  const c = new DistConnection(conn, reader, {
    peer: result.ok ? result.peer.name : "",
    ticktime: 4000,
    onMessage: (body) => {
      const [op, to, msg] = decode(body) as [number, unknown, Record<string, unknown>];
      if (op !== OP_REG_SEND || to !== "sink") return;
      if (typeof msg.done === "number") {
        if (msg.done !== count) error ??= `done says ${msg.done}, counted ${count}`;
        console.log(JSON.stringify({ done: count, ok: error === undefined, error }));
        return;
      }
      const { seq, data } = msg as { seq: number; data: Uint8Array };
      if (seq !== count) error ??= `message ${seq} arrived as number ${count}`;
      else if (!filledWith(data, seq & 255)) error ??= `message ${seq} is corrupt`;
      count++;
    },
    onClose: (reason, detail) => console.log(JSON.stringify({ closed: reason, detail })),
  });
  c.start();
  return c;
}

/** Whether `data` holds `byte` throughout (sampled every 4 KiB, and its last byte). */
function filledWith(data: Uint8Array, byte: number): boolean {
  for (let i = 0; i < data.length; i += 4096) if (data[i] !== byte) return false;
  return data.length === 0 || data[data.length - 1] === byte;
}
