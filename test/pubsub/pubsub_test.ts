import assert from "node:assert/strict";
import { NameError, NotAliveError, TimeoutError } from "../../src/errors.ts";
import { runInProcess } from "../../src/process/current.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import { PubSub, pubsub, pubSubOf } from "../../src/pubsub/mod.ts";
import { OP_PUBSUB_BROADCAST } from "../../src/pubsub/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { converged, startCluster } from "../helpers/cluster.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

/** Counts the BROADCAST operations `node` sends, by destination. */
function countBroadcasts(node: TestNode): Map<string, number> {
  const counts = new Map<string, number>();
  const send = node.kernel.sendOp.bind(node.kernel);
  node.kernel.sendOp = (to, op, fields, key) => {
    if (op === OP_PUBSUB_BROADCAST) counts.set(to, (counts.get(to) ?? 0) + 1);
    send(to, op, fields, key);
  };
  return counts;
}

/** Subscribes `n` new processes of `node` to `topic`. */
function subscribers(node: TestNode, topic: string, n: number): ProcessContext[] {
  return Array.from({ length: n }, () => {
    const ctx = node.runtime.open();
    node.pubsub.subscribe(topic, ctx.self);
    return ctx;
  });
}

const nodesOf = (topic: string) => (n: TestNode) => n.pubsub.subscriberNodes(topic).sort();

Deno.test("broadcast() reaches every subscriber on every node with one network message per node", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const subs = [
      ...subscribers(a, "room", 2),
      ...subscribers(b, "room", 10),
      ...subscribers(c, "room", 10),
    ];
    subscribers(c, "elsewhere", 1);
    await converged(nodes, nodesOf("room"), [a.name, b.name, c.name].sort());
    const counts = countBroadcasts(a);
    a.pubsub.broadcast("room", { text: "hi" });
    for (const s of subs) {
      assert.deepEqual(await s.receive(undefined, { timeout: 5000 }), { text: "hi" });
    }
    assert.deepEqual(Object.fromEntries(counts), { [b.name]: 1, [c.name]: 1 });
    // A topic with no subscribers elsewhere sends nothing.
    a.pubsub.broadcast("nobody", 1);
    assert.deepEqual(Object.fromEntries(counts), { [b.name]: 1, [c.name]: 1 });
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("broadcastFrom() leaves the sender out, on its node and elsewhere", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const [sender, other] = subscribers(a, "t", 2) as [ProcessContext, ProcessContext];
    const [remote] = subscribers(b, "t", 1) as [ProcessContext];
    await converged(nodes, nodesOf("t"), [a.name, b.name].sort());
    runInProcess(sender, () => pubsub.broadcastFrom("t", "from sender"));
    assert.equal(await other.receive(undefined, { timeout: 5000 }), "from sender");
    assert.equal(await remote.receive(undefined, { timeout: 5000 }), "from sender");
    // A broadcast after it: the sender gets only that one.
    a.pubsub.broadcast("t", "to all");
    assert.equal(await sender.receive(undefined, { timeout: 5000 }), "to all");
    // b's process as the one left out, named explicitly.
    b.pubsub.broadcastFrom("t", "x", remote.self);
    assert.equal(await sender.receive(undefined, { timeout: 5000 }), "x");
    await assert.rejects(remote.receive((m) => m === "x", { timeout: 50 }), TimeoutError);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("localBroadcast() stays on its node; directBroadcast() reaches one node only", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const [sa] = subscribers(a, "t", 1) as [ProcessContext];
    const [sb] = subscribers(b, "t", 1) as [ProcessContext];
    const [sc] = subscribers(c, "t", 1) as [ProcessContext];
    await converged(nodes, nodesOf("t"), [a.name, b.name, c.name].sort());
    a.pubsub.localBroadcast("t", "local");
    a.pubsub.directBroadcast(c.name, "t", "direct");
    assert.equal(await sa.receive(undefined, { timeout: 5000 }), "local");
    assert.equal(await sc.receive(undefined, { timeout: 5000 }), "direct");
    a.pubsub.broadcast("t", "end");
    assert.equal(await sb.receive(undefined, { timeout: 5000 }), "end"); // nothing before it
    assert.equal(await sa.receive(undefined, { timeout: 5000 }), "end");
    assert.equal(await sc.receive(undefined, { timeout: 5000 }), "end");
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("messages from one publisher reach each subscriber in the order sent", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const subs = [...subscribers(b, "seq", 3), ...subscribers(c, "seq", 3)];
    await converged(nodes, nodesOf("seq"), [b.name, c.name].sort());
    const publisher = a.runtime.open();
    const n = 2000;
    runInProcess(publisher, () => {
      for (let i = 0; i < n; i++) {
        // Large messages now and then: fragments must not overtake small ones.
        pubsub.broadcast("seq", i % 500 === 0 ? { i, pad: new Uint8Array(200_000) } : { i });
      }
    });
    for (const s of subs) {
      for (let i = 0; i < n; i++) {
        const m = await s.receive<{ i: number }>(undefined, { timeout: 10_000 });
        assert.equal(m.i, i);
      }
    }
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("a subscription made before telling a remote publisher is seen by its first broadcast", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const publisher = a.runtime.open();
    const subscriber = b.runtime.open();
    b.pubsub.subscribe("fresh", subscriber.self);
    subscriber.send(publisher.self, "subscribed");
    assert.equal(await publisher.receive(undefined, { timeout: 5000 }), "subscribed");
    a.pubsub.broadcast("fresh", "first");
    assert.equal(await subscriber.receive(undefined, { timeout: 5000 }), "first");
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("a subscriber that exits is unsubscribed; a node without subscribers gets no more broadcasts", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const [s1, s2] = subscribers(b, "t", 2) as [ProcessContext, ProcessContext];
    await converged(nodes, nodesOf("t"), [b.name]);
    assert.deepEqual(
      b.pubsub.subscribers("t").map(String).sort(),
      [s1.self, s2.self].map(String).sort(),
    );
    s1.exit("normal");
    await waitFor(() => b.pubsub.subscribers("t").length === 1);
    assert.equal(b.pubsub.unsubscribe("t", s2.self), true);
    assert.equal(b.pubsub.unsubscribe("t", s2.self), false);
    await converged(nodes, nodesOf("t"), []);
    const counts = countBroadcasts(a);
    a.pubsub.broadcast("t", 1);
    assert.equal(counts.size, 0);
    assert.deepEqual(b.pubsub.topics(), []);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("callback subscribers get (msg, topic); a failing one does not stop the others", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const got: [unknown, string][] = [];
    const failing = () => {
      throw new Error("subscriber bug");
    };
    const handler = (msg: unknown, topic: string) => got.push([msg, topic]);
    b.pubsub.subscribe("cb", failing);
    b.pubsub.subscribe("cb", handler);
    b.pubsub.subscribe("cb", handler); // once is enough
    await converged(nodes, nodesOf("cb"), [b.name]);
    a.pubsub.broadcast("cb", 1);
    await waitFor(() => got.length === 1);
    assert.deepEqual(got, [[1, "cb"]]);
    assert.equal(b.pubsub.unsubscribe("cb", handler), true);
    assert.equal(b.pubsub.unsubscribe("cb", failing), true);
    await converged(nodes, nodesOf("cb"), []);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("subscribe() refuses bad topics and remote pids; broadcast() of a function to a remote node is a TypeError", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    assert.throws(() => a.pubsub.subscribe("", a.runtime.open().self), TypeError);
    assert.throws(() => a.pubsub.subscribe("t", b.runtime.open().self), /not a process of/);
    assert.throws(() => a.pubsub.subscribe("t", "x" as unknown as Pid), TypeError);
    assert.throws(() => a.pubsub.subscribe("t"), /Not inside a Weft process/);
    subscribers(b, "t", 1);
    await converged(nodes, nodesOf("t"), [b.name]);
    assert.throws(() => a.pubsub.broadcast("t", () => 1), TypeError);
    assert.throws(() => new PubSub({ runtime: a.runtime, kernel: a.kernel }), NameError);
  } finally {
    await stopAll(nodes);
  }
  assert.throws(() => pubSubOf(nodes[0]!.runtime), NotAliveError);
});

Deno.test("the pubsub namespace subscribes the calling process", async () => {
  const node = await startTestNode("a");
  try {
    const me = node.runtime.open();
    await runInProcess(me, async () => {
      pubsub.subscribe("n");
      assert.deepEqual(pubsub.subscribers("n").map(String), [String(me.self)]);
      assert.deepEqual(pubsub.subscriberNodes("n"), [node.name]);
      pubsub.broadcast("n", "x");
      assert.equal(await me.receive(undefined, { timeout: 1000 }), "x");
      assert.equal(pubsub.unsubscribe("n"), true);
    });
  } finally {
    await node.stop();
  }
});
