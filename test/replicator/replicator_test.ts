import assert from "node:assert/strict";
import { ConsistencyError, CrdtTypeConflictError, StoreCorruptError } from "../../src/errors.ts";
import { Replicator, type ReplicatorOptions } from "../../src/replicator/replicator.ts";
import {
  OP_AE_HASHES,
  OP_AE_KEYS,
  OP_AE_SYNC,
  OP_DELTA,
  OP_WRITE,
  REPLICATOR_VERSION as V,
} from "../../src/replicator/types.ts";
import { SqliteStore } from "../../src/storage/sqlite_store.ts";
import { captureLogs, startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";
import { testTypes } from "./_types.ts";

type Counter = { increment(n?: number): void };
type Register = { set(v: unknown): void };

/** A node with a replicator of short intervals. */
async function node(
  name: string,
  options: Partial<ReplicatorOptions> & { dataDir?: string } = {},
): Promise<TestNode & { r: Replicator }> {
  const n = await startTestNode(name, options.dataDir ? { dataDir: options.dataDir } : {});
  // These tests use their own small types: the node's replicator makes way for one with them.
  await n.replicator.stop();
  const r = new Replicator({
    runtime: n.runtime,
    kernel: n.kernel,
    types: testTypes,
    deltaInterval: 20,
    antiEntropyInterval: 200,
    dataDir: n.dataDir,
    ...options,
  });
  const stop = n.stop.bind(n);
  return Object.assign(n, { r, stop: async () => (await r.stop(), await stop()) });
}

async function cluster(names: string[]) {
  const nodes: (TestNode & { r: Replicator })[] = [];
  for (const name of names) nodes.push(await node(name));
  for (const n of nodes.slice(1)) assert.ok(await n.connect(nodes[0]!.address));
  await waitFor(() => nodes.every((n) => n.r.info().peers.length === names.length - 1));
  return nodes;
}

Deno.test("Replicator: an update on one node reaches the other as a delta", async () => {
  const [a, b] = await cluster(["ra", "rb"]);
  try {
    const views = a!.r.open("views", "g-counter");
    await views.update((c: Counter) => c.increment(3));
    await waitFor(() => b!.r.keys().includes("views") && b!.r.value("views") === 3);
    const bViews = b!.r.open("views", "g-counter");
    await bViews.update((c: Counter) => c.increment(2));
    await waitFor(() => a!.r.value("views") === 5);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("Replicator: subscribe() sends crdt_changed for local and remote changes", async () => {
  const [a, b] = await cluster(["sa", "sb"]);
  try {
    const me = a!.runtime.open();
    const title = a!.r.open("title", "lww-register");
    title.subscribe(me.self);
    await title.update((r: Register) => r.set("one"));
    const first = await me.receive<{ type: string; key: string; value: unknown }>(undefined, {
      timeout: 3000,
    });
    assert.deepEqual(first, { type: "crdt_changed", key: "title", value: "one" });
    await waitFor(() => b!.r.keys().includes("title"));
    await b!.r.update("title", (r: Register) => r.set("two"));
    const second = await me.receive<{ value: unknown }>(undefined, { timeout: 3000 });
    assert.equal(second.value, "two");
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("Replicator: write majority is acknowledged by the majority; with the majority away it fails with ConsistencyError and the local replica keeps the write", async () => {
  const [a, b, c] = await cluster(["ma", "mb", "mc"]);
  try {
    const cart = a!.r.open("cart", "g-counter");
    await cart.update((x: Counter) => x.increment(1), { write: "majority", timeout: 3000 });
    assert.equal(b!.r.value("cart") === 1 || c!.r.value("cart") === 1, true);
    await cart.update((x: Counter) => x.increment(1), { write: "all", timeout: 3000 });
    assert.equal(b!.r.value("cart"), 2);
    assert.equal(c!.r.value("cart"), 2);
    await b!.stop();
    await c!.stop();
    await waitFor(() => a!.r.info().away.length === 2);
    const err = await cart.update((x: Counter) => x.increment(5), {
      write: "majority",
      timeout: 200,
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof ConsistencyError, String(err));
    assert.equal(err.required, 2);
    assert.equal(err.reached, 1);
    assert.match(
      err.message,
      /^Cannot write cart: majority not reached \(1 of 2 replicas\) in 200 ms/,
    );
    assert.equal(cart.value(), 7);
    await cart.update((x: Counter) => x.increment(1));
    assert.equal(await cart.get(), 8);
  } finally {
    await stopAll([a, b, c]);
  }
});

Deno.test("Replicator: read majority joins what the peers hold", async () => {
  const [a, b] = await cluster(["qa", "qb"]);
  try {
    a!.r.open("n", "g-counter");
    b!.r.open("n", "g-counter");
    await b!.r.update("n", (x: Counter) => x.increment(4));
    assert.equal(await a!.r.get("n", { read: "all", timeout: 3000 }), 4);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("Replicator: two nodes opening one key with different types both get CrdtTypeConflictError; neither's data changes", async () => {
  const logs = await captureLogs("warning");
  const a = await node("ta");
  const b = await node("tb");
  try {
    await a.r.update(a.r.open("x", "g-counter").key, (c: Counter) => c.increment(2));
    await b.r.update(b.r.open("x", "lww-register").key, (r: Register) => r.set("hello"));
    assert.ok(await b.connect(a.address));
    await waitFor(() => {
      try {
        a.r.value("x");
        b.r.value("x");
        return false;
      } catch {
        return true;
      }
    });
    await waitFor(() =>
      a.r.replica.conflict("x") !== undefined && b.r.replica.conflict("x") !== undefined
    );
    assert.throws(() => a.r.value("x"), CrdtTypeConflictError);
    assert.throws(() => b.r.value("x"), (e: Error) =>
      e instanceof CrdtTypeConflictError &&
      e.message === "Cannot get x: it is a lww-register here but a g-counter on ta@127.0.0.1");
    assert.equal(a.r.replica.state("x")!.type, "g-counter");
    assert.equal(b.r.replica.state("x")!.type, "lww-register");
    await logs.waitFor(/Key x is a g-counter here but a lww-register on tb@127\.0\.0\.1/);
  } finally {
    await logs.restore();
    await stopAll([a, b]);
  }
});

Deno.test("Replicator: a malformed delta, a delta of the wrong type, a far-future timestamp are refused with a logged reason and nothing merged", async () => {
  const logs = await captureLogs("warning");
  const physical = 1_000_000;
  let logical = 0;
  const clock = {
    now: () => ({ wall: physical, logical: logical++ }),
    check: (ts: { wall: number }) => {
      if (ts.wall - physical > 500) {
        throw new Error(`Timestamp too far in the future: ${ts.wall - physical} ms ahead`);
      }
    },
    receive: (ts: { wall: number; logical: number }) => ts,
  };
  const a = await node("ba", { clock });
  const b = await node("bb");
  try {
    a.r.open("n", "g-counter");
    a.r.open("t", "lww-register");
    await a.r.update("n", (c: Counter) => c.increment(1));
    assert.ok(await b.connect(a.address));
    const send = (fields: unknown[]) => b.kernel.sendOp(a.name, OP_DELTA, fields);
    send([V, [["n", "g-counter", "not a state", []]]]);
    await logs.waitFor(/Refused n from bb@127\.0\.0\.1: malformed g-counter state/);
    send([V, [["n", "lww-register", ["v", 1, 0, "x"], []]]]);
    await logs.waitFor(
      /Refused n from bb@127\.0\.0\.1: it is a lww-register there but a g-counter here/,
    );
    send([V, [["t", "lww-register", ["future", physical + 90_000, 0, "bb"], []]]]);
    await logs.waitFor(
      /Refused t from bb@127\.0\.0\.1: Timestamp too far in the future: 90000 ms ahead/,
    );
    send([V, "garbage"]);
    await logs.waitFor(/Refused replicator operation 96 from bb@127\.0\.0\.1/);
    // A deflated batch that does not inflate is refused like any malformed operation.
    send([V, new Uint8Array([0xff, 0xfe, 0x00, 0x13])]);
    await logs.waitFor(
      /Refused replicator operation 96 from bb@127\.0\.0\.1: Malformed replicator operation: a deflated list/,
    );
    b.kernel.sendOp(a.name, OP_WRITE, [7]);
    await logs.waitFor(/Refused replicator operation 97/);
    // Anti-entropy messages whose sizes do not add up are refused with the reason.
    b.kernel.sendOp(a.name, OP_AE_HASHES, [V, 1, [], new Uint8Array(8), []]);
    await logs.waitFor(
      /Refused replicator operation 101 from bb@127\.0\.0\.1: Malformed AE_HASHES: expected 0 bytes of hashes/,
    );
    b.kernel.sendOp(a.name, OP_AE_HASHES, [V, 2, [3, 3], new Uint8Array(256), []]);
    await logs.waitFor(/Refused replicator operation 101 .*Malformed digest tree indices/);
    b.kernel.sendOp(a.name, OP_AE_KEYS, [V, 5, [0, 7], [1, 2], new Uint8Array(14)]);
    await logs.waitFor(
      /Refused replicator operation 102 .*Malformed AE_KEYS: expected 15 bytes of key tags/,
    );
    b.kernel.sendOp(a.name, OP_AE_KEYS, [V, -1, [], [], new Uint8Array(0)]);
    await logs.waitFor(/Refused replicator operation 102 .*Malformed AE_KEYS: bad salt/);
    b.kernel.sendOp(a.name, OP_AE_SYNC, [V, [], "all of it"]);
    await logs.waitFor(
      /Refused replicator operation 103 .*Malformed AE_SYNC: wanted keys are not \[salt, bitmap\]/,
    );
    const stateOf = (key: string) => {
      const s = a.r.replica.state(key)!;
      return testTypes(s.type).value(s.state);
    };
    assert.equal(stateOf("n"), 1);
    assert.equal(stateOf("t"), undefined);
    // The node goes on: a good delta still merges.
    send([V, [["t", "lww-register", ["fine", physical, 0, "bb"], []]]]);
    await waitFor(() => a.r.value("t") === "fine");
    assert.equal(await a.ping(b.name), "pong");
  } finally {
    await logs.restore();
    await stopAll([a, b]);
  }
});

Deno.test("Replicator: after a disconnect, updates on both sides converge by anti-entropy", async () => {
  const [a, b] = await cluster(["pa", "pb"]);
  try {
    a!.r.open("n", "g-counter");
    b!.r.open("n", "g-counter");
    await a!.disconnect(b!.name);
    await waitFor(() => a!.r.info().peers.length === 0 && b!.r.info().peers.length === 0);
    for (let i = 0; i < 50; i++) a!.r.open(`k${i}`, "g-counter");
    await a!.r.update("n", (c: Counter) => c.increment(2));
    await b!.r.update("n", (c: Counter) => c.increment(3));
    assert.ok(await a!.connect(b!.address));
    await waitFor(() =>
      b!.r.keys().length === 51 && a!.r.value("n") === 5 && b!.r.value("n") === 5
    );
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("Replicator: durable keys come back after a restart with the same data directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await node("da", { dataDir: dir });
    const cart = a.r.open("cart", "g-counter", { durable: true });
    await cart.update((c: Counter) => c.increment(4));
    a.r.open("scratch", "g-counter");
    await a.stop();
    const again = await node("da", { dataDir: dir });
    try {
      assert.deepEqual(again.r.keys(), ["cart"]);
      assert.equal(again.r.open("cart", "g-counter", { durable: true }).value(), 4);
      assert.equal(again.r.info().durable[0], "cart");
    } finally {
      await again.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Replicator: a corrupt durable row refuses that key with the file named, and leaves the row", async () => {
  const dir = await Deno.makeTempDir();
  const logs = await captureLogs("warning");
  try {
    const a = await node("ca", { dataDir: dir });
    await a.r.open("good", "g-counter", { durable: true }).update((c: Counter) => c.increment(1));
    await a.r.open("bad", "g-counter", { durable: true }).update((c: Counter) => c.increment(1));
    await a.stop();
    const store = SqliteStore.open(`${dir}/replicator.db`);
    store.put("crdt", "bad", new Uint8Array([0xff, 0x00, 0x13]));
    store.close();
    const again = await node("ca", { dataDir: dir });
    try {
      assert.throws(
        () => again.r.open("bad", "g-counter", { durable: true }),
        (e: Error) =>
          e instanceof StoreCorruptError && e.file === `${dir}/replicator.db` &&
          e.message.startsWith(`Cannot load durable key bad: ${dir}/replicator.db holds a value`),
      );
      assert.equal(again.r.open("good", "g-counter", { durable: true }).value(), 1);
      await logs.waitFor(/Cannot load durable key bad/);
    } finally {
      await again.stop();
    }
    const check = SqliteStore.open(`${dir}/replicator.db`);
    assert.deepEqual([...check.get("crdt", "bad")!], [0xff, 0x00, 0x13]);
    check.close();
  } finally {
    await logs.restore();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Replicator: a data directory that is not a database is named, and durable keys are refused", async () => {
  const dir = await Deno.makeTempDir();
  const logs = await captureLogs("warning");
  try {
    await Deno.writeTextFile(
      `${dir}/replicator.db`,
      "this is not sqlite, it is a text file of some length",
    );
    const a = await node("xa", { dataDir: dir });
    try {
      assert.throws(() => a.r.open("k", "g-counter", { durable: true }), StoreCorruptError);
      await logs.waitFor(/Durable keys unavailable: Cannot open store .*replicator\.db/);
      // Keys that are not durable still work.
      assert.equal(a.r.open("k2", "g-counter").value(), 0);
    } finally {
      await a.stop();
    }
  } finally {
    await logs.restore();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("node.replicator: a cart (OR-Map of PN-Counters) updated on two nodes converges to the same value", async () => {
  const opts = { replicator: { deltaInterval: 20, antiEntropyInterval: 200 } };
  const a = await startTestNode("ca1", opts);
  const b = await startTestNode("cb1", opts);
  try {
    assert.ok(await b.connect(a.address));
    const cartA = a.replicator.open("cart:42", "or-map");
    await cartA.update((m) => m.counter("apples").increment(2), { write: "majority" });
    await waitFor(() => b.replicator.keys().includes("cart:42"));
    const cartB = b.replicator.open("cart:42", "or-map");
    await cartB.update((m) => m.counter("pears").increment(1));
    await cartA.update((m) => m.counter("apples").decrement(1));
    const same = () =>
      JSON.stringify([...cartA.value()]) === JSON.stringify([...cartB.value()]) &&
      cartA.value().get("pears") === 1;
    await waitFor(same);
    assert.deepEqual([...cartB.value()].sort(), [["apples", 1], ["pears", 1]]);
  } finally {
    await stopAll([a, b]);
  }
});
