import assert from "node:assert/strict";
import { HandshakeError } from "../../src/errors.ts";
import { dialHandshake, type HandshakeIo } from "../../src/erlang/handshake.ts";
import { freePort } from "../helpers/ports.ts";
import { waitFor } from "../helpers/wait.ts";

/** A real `erl -sname hs@localhost` listening on `port` without epmd, killed by the caller. */
function startErl(port: number, cookie: string): Deno.ChildProcess {
  return new Deno.Command("erl", {
    args: [
      "-sname",
      "hs@localhost",
      "-setcookie",
      cookie,
      "-noshell",
      "+S",
      "1:1",
      "-start_epmd",
      "false",
      "-erl_epmd_port",
      String(port),
      "-kernel",
      "inet_dist_use_interface",
      "{127,0,0,1}",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) throw new Error("connection closed");
    got += read;
  }
  return out;
}

function framed(conn: Deno.Conn): HandshakeIo {
  return {
    async send(message) {
      const frame = new Uint8Array(2 + message.length);
      new DataView(frame.buffer).setUint16(0, message.length);
      frame.set(message, 2);
      await conn.write(frame);
    },
    async recv() {
      const len = new DataView((await readExactly(conn, 2)).buffer).getUint16(0);
      return await readExactly(conn, len);
    },
  };
}

async function withErl(cookie: string, fn: (conn: Deno.Conn) => Promise<void>): Promise<void> {
  const port = freePort();
  const erl = startErl(port, cookie);
  let conn: Deno.Conn | undefined;
  try {
    await waitFor(async () => {
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
        return true;
      } catch {
        return false;
      }
    }, { timeout: 20_000, interval: 50, message: "erl did not listen" });
    await fn(conn as Deno.Conn);
  } finally {
    try {
      conn?.close();
    } catch { /* already closed by erl */ }
    erl.kill("SIGKILL");
    await erl.status;
  }
}

Deno.test("dialHandshake() is accepted by a real erl with the same cookie", async () => {
  await withErl("weftcookie", async (conn) => {
    const peer = await dialHandshake(framed(conn), {
      name: "weft@localhost",
      cookie: "weftcookie",
      creation: 7,
    });
    assert.equal(peer.name, "hs@localhost");
    assert.ok((peer.flags & 0x1000000n) !== 0n, "the peer speaks handshake 23");
  });
});

Deno.test("dialHandshake() fails with a HandshakeError on a wrong cookie", async () => {
  await withErl("right", async (conn) => {
    await assert.rejects(
      dialHandshake(framed(conn), { name: "weft@localhost", cookie: "wrong", creation: 7 }),
      HandshakeError,
    );
  });
});
