import assert from "node:assert/strict";
import { listNames, lookupNode, registerNode } from "../../../src/distribution/epmd/client.ts";
import { EpmdRegistrationError } from "../../../src/distribution/epmd/errors.ts";
import { type EpmdServer, startEpmdServer } from "../../../src/distribution/epmd/server.ts";
import { weftEntry } from "../../../src/distribution/epmd/types.ts";
import { encodeRequest } from "../../../src/distribution/epmd/wire.ts";
import { FORGING_NAMES, rawAlive2 } from "../../helpers/epmd_raw.ts";
import { captureLogs } from "../../helpers/nodes.ts";
import { waitFor } from "../../helpers/wait.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

function start(
  options: {
    requestTimeout?: number;
    relaxedCommandCheck?: boolean;
    maxNames?: number;
    maxConnections?: number;
  } = {},
) {
  return startEpmdServer({ hostname: "127.0.0.1", port: 0, ...options });
}

/** Sends raw bytes and reads until the server closes (a reset counts as closed). */
async function raw(server: EpmdServer, request: Uint8Array): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(request);
    await conn.closeWrite(); // a request cut short then ends at EOF, not at the timeout
    return await readUntilClosed(conn);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

async function readUntilClosed(conn: Deno.Conn): Promise<Uint8Array> {
  const out: number[] = [];
  const buffer = new Uint8Array(1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) break;
      throw error;
    }
    if (n === null) break;
    out.push(...buffer.subarray(0, n));
  }
  return Uint8Array.from(out);
}

/** The server still works: NAMES answers with the given names. */
async function assertHealthy(server: EpmdServer, names: string[]): Promise<void> {
  assert.deepEqual((await listNames({ epmdPort: server.port })).map((n) => n.name), names);
}

Deno.test("startEpmdServer() registers a node, answers PORT_PLEASE2 and lists it in NAMES", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    const [held] = server.names();
    assert.equal(held?.name, "a");
    assert.equal(held?.port, 5000);
    assert.equal(held?.creation, reg.creation);
    assert.deepEqual(await listNames({ epmdPort: server.port }), [{ name: "a", port: 5000 }]);
    assert.equal((await lookupNode({ epmdPort: server.port, name: "a" }))?.port, 5000);
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() forgets a name when its registering connection closes", async () => {
  const server = start();
  try {
    const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
    await reg.close();
    await waitFor(() => server.names().length === 0, { message: "name still registered" });
    assert.equal(await lookupNode({ epmdPort: server.port, name: "a" }), undefined);
  } finally {
    await server.close();
  }
});

Deno.test("startEpmdServer() gives a new 32-bit creation to each re-registration of a name", async () => {
  const server = start();
  try {
    const creations = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
      assert.ok(reg.creation >= 4 && reg.creation <= 0xffffffff, `creation ${reg.creation}`);
      creations.add(reg.creation);
      await reg.close();
      await waitFor(() => server.names().length === 0);
    }
    assert.equal(creations.size, 5);
  } finally {
    await server.close();
  }
});

Deno.test("startEpmdServer() refuses a second ALIVE2 for a registered name with result 1", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    const entry = weftEntry({ name: "a", port: 6000 });
    const reply = await raw(server, encodeRequest({ type: "alive2", entry }));
    assert.deepEqual(reply, bytes(118, 1, 0, 0, 0, 99));
    assert.equal(server.names()[0]?.port, 5000);
    assert.equal(server.names()[0]?.creation, reg.creation);
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() refuses names Erlang does not allow, so NAMES carries no forged line", async () => {
  const logs = await captureLogs("warning");
  const server = start();
  const good = await registerNode({ epmdPort: server.port, name: "good", port: 5000 });
  try {
    for (const name of FORGING_NAMES) {
      const reply = await raw(server, rawAlive2(name, 2222));
      assert.deepEqual(reply, bytes(118, 1, 0, 0, 0, 99), JSON.stringify(name));
    }
    assert.deepEqual(server.names().map((n) => n.name), ["good"]);
    const names = await raw(server, encodeRequest({ type: "names" }));
    assert.equal(
      new TextDecoder().decode(names.subarray(4)),
      "name good at port 5000\n",
      "NAMES lists the genuine node alone",
    );
    assert.deepEqual(await listNames({ epmdPort: server.port }), [{ name: "good", port: 5000 }]);
    const refusals = logs.lines.filter((l) => l.includes("may hold letters, digits, _ and - only"));
    assert.equal(refusals.length, FORGING_NAMES.length);
    assert.ok(
      refusals.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n")),
      "each refusal logs one line, the name escaped",
    );
  } finally {
    await good.close();
    await server.close();
    await logs.restore();
  }
});

Deno.test("startEpmdServer() caps the names registered at once (maxNames)", async () => {
  const server = start({ maxNames: 3 });
  const regs = [];
  try {
    for (const name of ["a", "b", "c"]) {
      regs.push(await registerNode({ epmdPort: server.port, name, port: 5000 }));
    }
    await assert.rejects(
      registerNode({ epmdPort: server.port, name: "d", port: 5000 }),
      EpmdRegistrationError,
    );
    assert.deepEqual(server.names().map((n) => n.name), ["a", "b", "c"]);
    await regs.shift()!.close();
    await waitFor(() => server.names().length === 2);
    regs.push(await registerNode({ epmdPort: server.port, name: "d", port: 5000 }));
    assert.deepEqual(server.names().map((n) => n.name), ["b", "c", "d"]);
  } finally {
    await Promise.all(regs.map((r) => r.close()));
    await server.close();
  }
});

Deno.test("startEpmdServer() caps open connections (maxConnections); registrations survive a flood", async () => {
  const logs = await captureLogs("warning");
  const server = start({ maxConnections: 8 });
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  const idle: Deno.Conn[] = [];
  try {
    // Idle connections that never send a request, up to the cap (the registration holds one).
    for (let i = 0; i < 7; i++) {
      idle.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    // Past the cap, a connection is closed on accept: it reads EOF with no reply.
    await waitFor(async () => {
      const reply = await raw(server, encodeRequest({ type: "names" }));
      return reply.length === 0;
    }, { message: "the connection past the cap was answered" });
    await logs.waitFor(/at its limit of 8 connections/);
    assert.equal(
      logs.lines.filter((l) => l.includes("at its limit")).length,
      1,
      "one warning per episode",
    );
    for (const conn of idle.splice(0)) conn.close();
    await waitFor(async () =>
      (await listNames({ epmdPort: server.port }).catch(() => [])).length === 1
    );
    assert.deepEqual(await listNames({ epmdPort: server.port }), [{ name: "a", port: 5000 }]);
  } finally {
    for (const conn of idle) conn.close();
    await reg.close();
    await server.close();
    await logs.restore();
  }
});

Deno.test("startEpmdServer() refuses limits that are not positive integers", () => {
  assert.throws(() => start({ maxNames: 0 }), RangeError);
  assert.throws(() => start({ maxConnections: 1.5 }), RangeError);
});

Deno.test("startEpmdServer() answers a version-5 node with ALIVE2_RESP and a 16-bit creation", async () => {
  const server = start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const entry = {
      ...weftEntry({ name: "old", port: 5000 }),
      highestVersion: 5,
      lowestVersion: 5,
    };
    await conn.write(encodeRequest({ type: "alive2", entry }));
    const reply = new Uint8Array(4);
    assert.equal(await conn.read(reply), 4);
    assert.equal(reply[0], 121);
    assert.equal(reply[1], 0);
    const creation = (reply[2]! << 8) | reply[3]!;
    assert.ok(creation >= 1 && creation <= 3, `creation ${creation}`);
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() closes only the connection that sends garbage", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    const garbage: Array<[string, Uint8Array]> = [
      ["unknown code", bytes(0, 3, 1, 2, 3)],
      ["zero length", bytes(0, 0)],
      ["oversized length", Uint8Array.from([0xff, 0xff, ...new Uint8Array(100)])],
      ["HTTP", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
      [
        "ALIVE2 with a name overrunning it",
        bytes(0, 14, 120, 0, 1, 77, 0, 0, 6, 0, 6, 0, 9, 97, 0, 0),
      ],
      ["PORT_PLEASE2 without a name", bytes(0, 1, 122)],
      ["cut short", bytes(0, 10, 110)],
    ];
    for (const [what, request] of garbage) {
      assert.deepEqual(await raw(server, request), new Uint8Array(), what);
    }
    await assertHealthy(server, ["a"]);
    assert.equal(server.names()[0]?.creation, reg.creation);
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() unregisters a node that sends bytes after registering", async () => {
  const server = start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(encodeRequest({ type: "alive2", entry: weftEntry({ name: "a", port: 1 }) }));
    assert.equal(await conn.read(new Uint8Array(6)), 6);
    assert.equal(server.names().length, 1);
    await conn.write(bytes(1, 2, 3));
    await waitFor(() => server.names().length === 0, { message: "chatty node kept its name" });
    assert.deepEqual(await readUntilClosed(conn), new Uint8Array());
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() drops a connection whose request does not arrive in time", async () => {
  const server = start({ requestTimeout: 50 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(bytes(0)); // half a length, then silence
    assert.deepEqual(await readUntilClosed(conn), new Uint8Array());
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() keeps a registration past the request timeout", async () => {
  const server = start({ requestTimeout: 20 });
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    // Outlive the timeout by a margin measured with a second connection's drop.
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    assert.deepEqual(await readUntilClosed(idle), new Uint8Array());
    idle.close();
    await assertHealthy(server, ["a"]);
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() answers PORT_PLEASE2 for an unknown name with result 1", async () => {
  const server = start();
  try {
    assert.deepEqual(
      await raw(server, encodeRequest({ type: "port_please2", name: "x" })),
      bytes(119, 1),
    );
  } finally {
    await server.close();
  }
});

Deno.test("startEpmdServer() answers DUMP with epmd's 'active name' lines", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    const reply = await raw(server, encodeRequest({ type: "dump" }));
    assert.equal((reply[2]! << 8) | reply[3]!, server.port);
    assert.match(
      new TextDecoder().decode(reply.subarray(4)),
      /^active name {5}<a> at port 5000, fd = \d+\n\0$/,
    );
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() refuses KILL while nodes are registered, then obeys it", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  assert.equal(new TextDecoder().decode(await raw(server, encodeRequest({ type: "kill" }))), "NO");
  await reg.close();
  await waitFor(() => server.names().length === 0);
  assert.equal(new TextDecoder().decode(await raw(server, encodeRequest({ type: "kill" }))), "OK");
  await server.closed;
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: server.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("startEpmdServer() with relaxed command check obeys KILL and STOP with nodes registered", async () => {
  const server = start({ relaxedCommandCheck: true });
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    const stop = (name: string) =>
      raw(server, encodeRequest({ type: "stop", name })).then((r) => new TextDecoder().decode(r));
    assert.equal(await stop("nobody"), "NOEXIST");
    assert.equal(await stop("a"), "STOPPED");
    assert.equal(server.names().length, 0);
    await reg.closed; // the node sees its registration end
    const b = await registerNode({ epmdPort: server.port, name: "b", port: 5001 });
    assert.equal(
      new TextDecoder().decode(await raw(server, encodeRequest({ type: "kill" }))),
      "OK",
    );
    await server.closed;
    await b.closed;
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("startEpmdServer() without relaxed command check ignores STOP", async () => {
  const server = start();
  const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  try {
    assert.deepEqual(
      await raw(server, encodeRequest({ type: "stop", name: "a" })),
      new Uint8Array(),
    );
    await assertHealthy(server, ["a"]);
  } finally {
    await reg.close();
    await server.close();
  }
});

Deno.test("close() ends every registration, and the nodes see it", async () => {
  const server = start();
  const a = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
  const b = await registerNode({ epmdPort: server.port, name: "b", port: 5001 });
  await server.close();
  await Promise.all([a.closed, b.closed]);
  assert.deepEqual(server.names(), []);
  await server.close(); // idempotent
});

Deno.test("startEpmdServer() throws AddrInUse when the port is taken", async () => {
  const server = start();
  try {
    assert.throws(
      () => startEpmdServer({ hostname: "127.0.0.1", port: server.port }),
      Deno.errors.AddrInUse,
    );
    assert.throws(() => startEpmdServer({ port: 70000 }), RangeError);
  } finally {
    await server.close();
  }
});
