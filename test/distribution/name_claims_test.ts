/**
 * HELLO proves nothing: a stranger without the cookie who claims a node's
 * name must not lock the genuine node out, nor disturb its connection.
 */
import assert from "node:assert/strict";
import { encode } from "../../src/term/codec.ts";
import { encodeFrame } from "../../src/distribution/frame_format.ts";
import { MSG_HELLO } from "../../src/distribution/types.ts";
import type { NodeDownMessage } from "../../src/node.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

/** A HELLO claiming `name`, as a stranger would send it: it cannot go further. */
function strangerHello(name: string): Uint8Array {
  return encodeFrame(
    encode([
      MSG_HELLO,
      "weft",
      [1],
      name,
      1234,
      1,
      crypto.getRandomValues(new Uint8Array(32)),
    ]),
  );
}

/** Reads until the node closes the connection; returns the bytes it sent. */
async function readAll(conn: Deno.Conn): Promise<number> {
  let n = 0;
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const got = await conn.read(buf);
      if (got === null) return n;
      n += got;
    }
  } catch {
    return n;
  } finally {
    conn.close();
  }
}

Deno.test("stranger HELLOs claiming a name never lock out the genuine node of that name", async () => {
  const [a, c] = await startTestNodes(["a", "c"], { handshakeTimeout: 1500 });
  let claiming = true;
  // Three strangers keep a HELLO claiming c's name in flight at a, all the time.
  const strangers = Array.from({ length: 3 }, async () => {
    let claims = 0;
    while (claiming) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: a!.port });
      await conn.write(strangerHello(c!.name)).catch(() => {});
      claims++;
      await readAll(conn); // held open until a's deadline closes it
    }
    return claims;
  });
  try {
    for (let round = 0; round < 8; round++) {
      assert.equal(await c!.connect(a!.address), true, `round ${round}`);
      assert.equal(await c!.ping(a!.name), "pong");
      await c!.disconnect(a!.name);
      await waitFor(() => a!.list().length === 0 && c!.list().length === 0);
    }
  } finally {
    claiming = false;
    const claims = await Promise.all(strangers);
    assert.ok(claims.every((n) => n > 0));
    await stopAll([a, c]);
  }
});

Deno.test("a stranger HELLO claiming a connected name leaves that connection alone", async () => {
  const [a, c] = await startTestNodes(["a", "c"]);
  try {
    const watcher = a!.runtime.open();
    a!.monitorNodes(watcher.self);
    assert.ok(await c!.connect(a!.address));
    await watcher.receive(undefined, { timeout: 3000 }); // nodeup
    for (let i = 0; i < 5; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: a!.port });
      await conn.write(strangerHello(c!.name));
      // The stranger reads the CHALLENGE ("alive"), cannot prove the cookie, and leaves.
      const buf = new Uint8Array(4096);
      assert.ok((await conn.read(buf)) !== null);
      conn.close();
    }
    assert.equal(await a!.ping(c!.name), "pong");
    assert.deepEqual(a!.list(), [c!.name]);
    await assert.rejects(
      watcher.receive<NodeDownMessage>(undefined, { timeout: 0 }),
      { name: "TimeoutError" },
    );
    // And the genuine node can still come back as itself after a real drop.
    await c!.disconnect(a!.name);
    assert.ok(await c!.connect(a!.address));
  } finally {
    await stopAll([a, c]);
  }
});
