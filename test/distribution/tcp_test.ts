import assert from "node:assert/strict";
import { SocketConnection, TcpTransport } from "../../src/distribution/tcp.ts";

Deno.test("TcpTransport connects, carries bytes both ways and ends reads on close", async () => {
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await tcp.connect(listener.addr);
  const server = (await accepted)!;
  assert.match(client.remoteAddr, /^127\.0\.0\.1:\d+$/);
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
  const write = client.write(big);
  let got = 0;
  while (got < big.length) {
    const chunk = (await server.read())!;
    assert.equal(chunk[0], got & 0xff);
    got += chunk.length;
  }
  await write;
  await server.write(new Uint8Array([9]));
  assert.deepEqual(await client.read(), new Uint8Array([9]));
  server.close();
  assert.equal(await client.read(), null);
  assert.equal(await server.read(), null, "read after close is null");
  client.close();
  client.close(); // idempotent
  listener.close();
  assert.equal(await listener.accept(), null);
});

Deno.test("TcpTransport reads into the same memory again once chunks are recycled", async () => {
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await tcp.connect(listener.addr);
  const server = (await accepted)!;
  await client.write(new Uint8Array([1]));
  const first = (await server.read())!;
  server.recycle!(first);
  await client.write(new Uint8Array([2]));
  const second = (await server.read())!;
  assert.equal(second.buffer, first.buffer);
  assert.equal(second.byteOffset, first.byteOffset, "a recycled slab is read into from the start");
  await client.write(new Uint8Array([3]));
  const third = (await server.read())!;
  assert.equal(second[0], 2, "a chunk not recycled is never overwritten");
  assert.notEqual(third.byteOffset, second.byteOffset);
  client.close();
  server.close();
  listener.close();
});

Deno.test("SocketConnection.readInto() reads into the caller's memory, past its slab", async () => {
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await tcp.connect(listener.addr);
  const server = (await accepted)! as SocketConnection;
  await client.write(new Uint8Array([1, 2, 3, 4, 5]));
  const target = new Uint8Array(3);
  let got = 0;
  while (got < 3) got += (await server.readInto(target.subarray(got)))!;
  assert.deepEqual(target, new Uint8Array([1, 2, 3]));
  const rest: number[] = [];
  while (rest.length < 2) rest.push(...(await server.read())!);
  assert.deepEqual(rest, [4, 5]);
  client.close();
  assert.equal(await server.readInto(new Uint8Array(8)), null);
  server.close();
  assert.equal(await server.readInto(new Uint8Array(8)), null);
  listener.close();
});

/** A socket that always has `available` bytes ready. */
function fakeSocket(available: () => number): Deno.Conn {
  return {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    read: (buf: Uint8Array) => Promise.resolve(Math.min(buf.length, available())),
    close() {},
  } as unknown as Deno.Conn;
}

Deno.test("SocketConnection grows its read slab while reads fill it, and shrinks it when they are small", async () => {
  let available = Infinity;
  const conn = new SocketConnection(fakeSocket(() => available));
  const sizes: number[] = [];
  for (let i = 0; i < 8; i++) {
    const chunk = (await conn.read())!;
    sizes.push(chunk.length);
    conn.recycle(chunk);
  }
  assert.deepEqual(sizes.map((n) => n / 1024), [64, 128, 256, 512, 1024, 1024, 1024, 1024]);
  available = 10;
  const slabs = new Set<number>();
  for (let i = 0; i < 8; i++) {
    const chunk = (await conn.read())!;
    slabs.add(chunk.buffer.byteLength);
    conn.recycle(chunk);
  }
  assert.ok(slabs.has(64 * 1024), `slabs ${[...slabs]}`);
  conn.close();
});

Deno.test("SocketConnection.read(max) reads at most max bytes and leaves the slab size alone", async () => {
  const conn = new SocketConnection(fakeSocket(() => Infinity));
  const short = (await conn.read(100))!;
  assert.equal(short.length, 100);
  conn.recycle(short);
  assert.equal((await conn.read())!.length, 64 * 1024, "a short read does not grow the slab");
  conn.close();
});

Deno.test("TcpTransport.listen() throws AddrInUse on a taken port and connect() rejects when refused", async () => {
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  assert.throws(
    () => tcp.listen({ hostname: "127.0.0.1", port: listener.addr.port }),
    Deno.errors.AddrInUse,
  );
  const port = listener.addr.port;
  listener.close();
  await assert.rejects(tcp.connect({ hostname: "127.0.0.1", port }), Deno.errors.ConnectionRefused);
});

Deno.test("TcpTransport.connect() goes to the resolved ip when one is given, not the host name", async () => {
  const tcp = new TcpTransport();
  const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  // A name that can never resolve: only the ip can have been used.
  const client = await tcp.connect({
    hostname: "no-such-host.invalid",
    port: listener.addr.port,
    ip: "127.0.0.1",
  });
  const server = (await accepted)!;
  assert.match(client.remoteAddr, /^127\.0\.0\.1:\d+$/);
  client.close();
  server.close();
  listener.close();
});
