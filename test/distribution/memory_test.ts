import assert from "node:assert/strict";
import { MemoryNetwork, memoryPair } from "../../src/distribution/memory.ts";

Deno.test("memoryPair() copies writes, delivers them in order and ends on close", async () => {
  const [a, b] = memoryPair();
  const data = new Uint8Array([1, 2, 3]);
  await a.write(data);
  data[0] = 9;
  await a.write(new Uint8Array([4]));
  assert.deepEqual(await b.read(), new Uint8Array([1, 2, 3]));
  assert.deepEqual(await b.read(), new Uint8Array([4]));
  const pending = b.read();
  a.close();
  assert.equal(await pending, null);
  await assert.rejects(a.write(new Uint8Array([1])), Deno.errors.BrokenPipe);
  b.close();
});

Deno.test("memoryPair() with a capacity makes writes wait for the reader", async () => {
  const [a, b] = memoryPair({ capacity: 10 });
  let done = false;
  const write = a.write(new Uint8Array(20)).then(() => (done = true));
  await Promise.resolve();
  assert.equal(done, false);
  assert.equal((await b.read())!.length, 20);
  await write;
  assert.equal(done, true);
  a.close();
  b.close();
});

Deno.test("MemoryNetwork listens by port, refuses unknown ports and taken ones", async () => {
  const net = new MemoryNetwork();
  const listener = net.listen({ hostname: "mem", port: 0 });
  assert.throws(
    () => net.listen({ hostname: "mem", port: listener.addr.port }),
    Deno.errors.AddrInUse,
  );
  const accepted = listener.accept();
  const client = await net.connect(listener.addr);
  const server = (await accepted)!;
  await server.write(new Uint8Array([7]));
  assert.deepEqual(await client.read(), new Uint8Array([7]));
  client.close();
  server.close();
  listener.close();
  await assert.rejects(net.connect(listener.addr), Deno.errors.ConnectionRefused);
});
