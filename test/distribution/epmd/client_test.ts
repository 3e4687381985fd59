import assert from "node:assert/strict";
import { DecodeError, TimeoutError } from "../../../src/errors.ts";
import {
  killEpmd,
  listNames,
  lookupNode,
  registerNode,
} from "../../../src/distribution/epmd/client.ts";
import {
  EpmdRegistrationError,
  EpmdUnavailableError,
} from "../../../src/distribution/epmd/errors.ts";
import { startEpmdServer } from "../../../src/distribution/epmd/server.ts";
import { waitFor } from "../../helpers/wait.ts";
import {
  isWeftEntry,
  NODE_TYPE_HIDDEN,
  NODE_TYPE_NORMAL,
  weftEntry,
} from "../../../src/distribution/epmd/types.ts";
import { encodePort2Response } from "../../../src/distribution/epmd/wire.ts";
import { freePort } from "../../helpers/ports.ts";

function start() {
  return startEpmdServer({ hostname: "127.0.0.1", port: 0 });
}

/** A listener that runs `reply` on every connection it accepts: a port mapper gone wrong. */
function fakeEpmd(reply: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const running: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      running.push(
        reply(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }),
      );
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const conn of conns) conn.close();
      await accepting;
      await Promise.all(running);
    },
  };
}

async function readSome(conn: Deno.Conn): Promise<void> {
  await conn.read(new Uint8Array(4096));
}

Deno.test("registerNode() registers a Weft node: normal type, versions 6/6, the Weft marker", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    assert.equal(reg.name, "a");
    const entry = await lookupNode({ epmdPort: server.port, name: "a" });
    assert.ok(entry !== undefined);
    assert.equal(entry.nodeType, NODE_TYPE_NORMAL);
    assert.equal(entry.protocol, 0);
    assert.equal(entry.highestVersion, 6);
    assert.equal(entry.lowestVersion, 6);
    assert.ok(isWeftEntry(entry));
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("registerNode() with hidden registers node type 72", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "h", port: 5000, hidden: true });
  try {
    assert.equal(
      (await lookupNode({ epmdPort: server.port, name: "h" }))?.nodeType,
      NODE_TYPE_HIDDEN,
    );
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("registerNode() throws EpmdRegistrationError when the name is taken", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    await assert.rejects(
      registerNode({ epmdPort: server.port, name: "a", port: 5001 }),
      (e: unknown) => e instanceof EpmdRegistrationError && e.nodeName === "a",
    );
    assert.deepEqual(await listNames({ epmdPort: server.port }), [{ name: "a", port: 5000 }]);
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("registerNode() close() unregisters and is idempotent", async () => {
  const server = start();
  try {
    const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
    await reg.close();
    await reg.close();
    await reg.closed;
    await waitFor(() => server.names().length === 0, { message: "name still registered" });
    const again = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
    assert.notEqual(again.creation, reg.creation);
    await again.close();
  } finally {
    await server.close();
  }
});

Deno.test("lookupNode() returns undefined for a name nobody registered", async () => {
  const server = start();
  try {
    assert.equal(await lookupNode({ epmdPort: server.port, name: "nobody" }), undefined);
  } finally {
    await server.close();
  }
});

Deno.test("listNames() lists every registered name with its port", async () => {
  const server = start();
  const a = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  const b = await registerNode({ epmdPort: server.port, name: "b", port: 5001 });
  try {
    const names = await listNames({ epmdPort: server.port, host: "127.0.0.1" });
    assert.deepEqual(names.sort((x, y) => x.name.localeCompare(y.name)), [
      { name: "a", port: 5000 },
      { name: "b", port: 5001 },
    ]);
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

Deno.test("killEpmd() is refused while nodes are registered and stops an empty port mapper", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  assert.equal(await killEpmd({ epmdPort: server.port }), false);
  await reg.close();
  await waitFor(() => server.names().length === 0, { message: "name still registered" });
  assert.equal(await killEpmd({ epmdPort: server.port }), true);
  await server.closed;
});

Deno.test("every request throws EpmdUnavailableError when nothing listens", async () => {
  const epmdPort = freePort();
  const isUnavailable = (e: unknown) =>
    e instanceof EpmdUnavailableError && e.port === epmdPort &&
    e.message === `Cannot reach port mapper at 127.0.0.1:${epmdPort}: connection refused`;
  await assert.rejects(listNames({ epmdPort }), isUnavailable);
  await assert.rejects(lookupNode({ epmdPort, name: "a" }), isUnavailable);
  await assert.rejects(registerNode({ epmdPort, name: "a", port: 1 }), isUnavailable);
  await assert.rejects(killEpmd({ epmdPort }), isUnavailable);
});

Deno.test("every request throws TimeoutError when the port mapper never answers", async () => {
  const silent = fakeEpmd(async (conn) => {
    await readSome(conn);
    await readSome(conn); // hold the connection until the client gives up
  });
  try {
    const options = { epmdPort: silent.port, timeout: 50 };
    await assert.rejects(listNames(options), TimeoutError);
    await assert.rejects(lookupNode({ ...options, name: "a" }), TimeoutError);
    await assert.rejects(registerNode({ ...options, name: "a", port: 1 }), TimeoutError);
    await assert.rejects(killEpmd(options), TimeoutError);
  } finally {
    await silent.close();
  }
});

Deno.test("requests throw DecodeError when the reply is garbage", async () => {
  const liar = fakeEpmd(async (conn) => {
    await readSome(conn);
    await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
  });
  try {
    const epmdPort = liar.port;
    await assert.rejects(listNames({ epmdPort }), DecodeError);
    await assert.rejects(lookupNode({ epmdPort, name: "a" }), DecodeError);
    await assert.rejects(registerNode({ epmdPort, name: "a", port: 1 }), DecodeError);
    await assert.rejects(killEpmd({ epmdPort }), DecodeError);
  } finally {
    await liar.close();
  }
});

Deno.test("lookupNode() returns once the whole reply has come, without waiting for the close", async () => {
  const reply = encodePort2Response(weftEntry({ name: "held", port: 4321 }));
  // Sends the reply in two pieces, then holds the connection until the client closes it.
  const holder = fakeEpmd(async (conn) => {
    await readSome(conn);
    await conn.write(reply.subarray(0, 7));
    await conn.write(reply.subarray(7));
    while (await conn.read(new Uint8Array(64)) !== null) { /* until the client closes */ }
  });
  try {
    const entry = await lookupNode({ epmdPort: holder.port, name: "held", timeout: 10_000 });
    assert.equal(entry?.port, 4321);
    assert.equal(entry?.name, "held");
    assert.equal(entry?.address, "127.0.0.1");
  } finally {
    await holder.close();
  }
});

Deno.test("requests throw DecodeError when the port mapper closes without replying", async () => {
  // This is how epmd rejects a request it will not serve.
  const mute = fakeEpmd(readSome);
  try {
    const epmdPort = mute.port;
    await assert.rejects(lookupNode({ epmdPort, name: "a" }), DecodeError);
    await assert.rejects(
      registerNode({ epmdPort, name: "a", port: 1 }),
      (e: unknown) => e instanceof DecodeError && /closed without replying/.test(e.message),
    );
  } finally {
    await mute.close();
  }
});

Deno.test("listNames() throws DecodeError on a reply larger than any port mapper sends", async () => {
  const flood = fakeEpmd(async (conn) => {
    await readSome(conn);
    const chunk = new TextEncoder().encode("name a at port 1\n".repeat(4096));
    await conn.write(new Uint8Array(4));
    for (let sent = 0; sent <= 1 << 20; sent += chunk.length) await conn.write(chunk);
  });
  try {
    await assert.rejects(listNames({ epmdPort: flood.port }), DecodeError);
  } finally {
    await flood.close();
  }
});

Deno.test("client functions throw TypeError or RangeError on bad arguments", async () => {
  await assert.rejects(registerNode({ name: "", port: 1 }), TypeError);
  await assert.rejects(registerNode({ name: "a\0", port: 1 }), TypeError);
  await assert.rejects(registerNode({ name: "x".repeat(256), port: 1 }), RangeError);
  await assert.rejects(registerNode({ name: "a", port: 0 }), RangeError);
  await assert.rejects(lookupNode({ name: "" }), TypeError);
  await assert.rejects(listNames({ epmdPort: 0 }), RangeError);
  await assert.rejects(listNames({ timeout: 0 }), RangeError);
});
