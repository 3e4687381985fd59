import assert from "node:assert/strict";
import { TcpTransport } from "../../src/dist/tcp.ts";

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
