import assert from "node:assert/strict";
import { HandshakeAdmission } from "../../src/distribution/admission.ts";
import { memoryPair } from "../../src/distribution/memory.ts";
import type { Connection } from "../../src/distribution/transport.ts";
import { waitFor } from "../helpers/wait.ts";

/** The server side of a connection from `host`, and whether it has been closed. */
function from(host: string, opened: Connection[]) {
  const [client, server] = memoryPair({ names: [`${host}:${40000 + opened.length}`, "node:4370"] });
  opened.push(client, server);
  let closed = false;
  client.read().then((chunk) => closed = chunk === null);
  return { server, closed: () => closed };
}

Deno.test("HandshakeAdmission refuses an address over its own limit and keeps the others", async () => {
  const opened: Connection[] = [];
  const admission = new HandshakeAdmission({
    maxPending: 10,
    maxPerAddress: 2,
    helloTimeout: 60_000,
  });
  try {
    const a1 = from("10.0.0.1", opened);
    const a2 = from("10.0.0.1", opened);
    const a3 = from("10.0.0.1", opened);
    const b1 = from("10.0.0.2", opened);
    assert.ok(admission.admit(a1.server));
    assert.ok(admission.admit(a2.server));
    assert.equal(admission.admit(a3.server), undefined);
    assert.ok(admission.admit(b1.server));
    await waitFor(() => a3.closed());
    assert.ok(!a1.closed() && !a2.closed() && !b1.closed());
    assert.equal(admission.pending, 3);
  } finally {
    admission.closeAll();
    for (const c of opened) c.close();
  }
});

Deno.test("HandshakeAdmission, when full, makes room at the busiest address for a less busy one", async () => {
  const opened: Connection[] = [];
  const admission = new HandshakeAdmission({
    maxPending: 4,
    maxPerAddress: 4,
    helloTimeout: 60_000,
  });
  try {
    const flood = [1, 2, 3].map(() => from("10.0.0.9", opened));
    const other = from("10.0.0.7", opened);
    for (const f of flood) assert.ok(admission.admit(f.server));
    assert.ok(admission.admit(other.server));
    // Full. The flood's address is the busiest: a fourth from it is refused ...
    const more = from("10.0.0.9", opened);
    assert.equal(admission.admit(more.server), undefined);
    // ... and a genuine node from an address of its own is admitted; the
    // flood's oldest makes room.
    const genuine = from("127.0.0.1", opened);
    const admitted = admission.admit(genuine.server);
    assert.ok(admitted);
    await waitFor(() => flood[0]!.closed() && more.closed());
    assert.ok(!flood[1]!.closed() && !other.closed() && !genuine.closed());
    assert.equal(admission.pending, 4);
    // Once it proves the cookie it no longer counts.
    admitted.helloReceived();
    admitted.authenticated();
    assert.equal(admission.pending, 3);
  } finally {
    admission.closeAll();
    for (const c of opened) c.close();
  }
});

Deno.test("HandshakeAdmission closes a connection without a complete HELLO in time, not one with", async () => {
  const opened: Connection[] = [];
  const admission = new HandshakeAdmission({ maxPending: 4, maxPerAddress: 4, helloTimeout: 50 });
  try {
    const idle = from("10.0.0.1", opened);
    const talker = from("10.0.0.2", opened);
    const idleHandle = admission.admit(idle.server)!;
    const talkerHandle = admission.admit(talker.server)!;
    talkerHandle.helloReceived();
    await waitFor(() => idle.closed());
    assert.ok(idleHandle.helloTimedOut && !idleHandle.evicted);
    assert.ok(!talker.closed());
    assert.equal(admission.pending, 1);
    talkerHandle.done();
    assert.equal(admission.pending, 0);
  } finally {
    admission.closeAll();
    for (const c of opened) c.close();
  }
});

Deno.test("HandshakeAdmission refuses limits below 1", () => {
  assert.throws(
    () => new HandshakeAdmission({ maxPending: 0, maxPerAddress: 1, helloTimeout: 1 }),
    RangeError,
  );
});
