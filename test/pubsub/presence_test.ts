import assert from "node:assert/strict";
import { Faults } from "../../src/cluster/faults.ts";
import { AlreadyTrackedError, NotTrackedError } from "../../src/errors.ts";
import { runInProcess } from "../../src/process/current.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import { presence, type PresenceDiffMessage, type PresenceList } from "../../src/pubsub/mod.ts";
import { connectAll, converged, startCluster } from "../helpers/cluster.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";

/** Who is on `topic`, as `key: [meta.v, ...]`: what must agree across nodes. */
const who = (topic: string) => (n: TestNode) => summary(n.presence.list(topic));
function summary(list: PresenceList): Record<string, unknown[]> {
  return Object.fromEntries(
    Object.entries(list).map(([k, { metas }]) => [k, metas.map((m) => m.v ?? null).sort()]),
  );
}

const isDiff = (m: unknown) => (m as PresenceDiffMessage)?.type === "presence_diff";
const nextDiff = (ctx: ProcessContext) =>
  ctx.receive<PresenceDiffMessage>(isDiff, { timeout: 5000 });

Deno.test("track() is listed on every node and returns the presence's ref; update() and untrack() too", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const ann = a.runtime.open().self;
    const bob = b.runtime.open().self;
    const ref = a.presence.track("room", "ann", { v: 1 }, { pid: ann });
    assert.equal(a.presence.get("room", "ann")[0]!.presenceRef, ref);
    assert.throws(
      () => a.presence.track("room", "ann", { v: 9 }, { pid: ann }),
      (e: unknown) =>
        e instanceof AlreadyTrackedError && e.ref === ref &&
        e.message === "Cannot track ann on room: this process tracks it already " +
            "(presence.update changes its meta)",
    );
    b.presence.track("room", "bob", { v: 2 }, { pid: bob });
    b.presence.track("room", "ann", { v: 3 }, { pid: bob }); // a second device of ann
    await converged(nodes, who("room"), { ann: [1, 3], bob: [2] });
    const listed = nodes[2]!.presence.list("room");
    assert.deepEqual(Object.keys(listed), ["ann", "bob"]);
    assert.ok(listed.ann!.metas.every((m) => typeof m.presenceRef === "string"));
    const next = a.presence.update("room", "ann", (old) => ({ ...old, v: 4 }), { pid: ann });
    assert.notEqual(next, ref);
    assert.equal(a.presence.get("room", "ann")[0]!.presenceRef, next);
    await converged(nodes, who("room"), { ann: [3, 4], bob: [2] });
    assert.equal(b.presence.untrack("room", "bob", { pid: bob }), true);
    assert.equal(b.presence.untrack("room", "bob", { pid: bob }), false);
    assert.throws(() => b.presence.update("room", "bob", {}, { pid: bob }), NotTrackedError);
    await converged(nodes, who("room"), { ann: [3, 4] });
    assert.deepEqual(a.presence.get("room", "nobody"), []);
    assert.deepEqual(a.presence.topics(), ["room"]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("subscribers of a topic get presence_diff joins and leaves from every node", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const watcher = a.runtime.open();
    a.pubsub.subscribe("room", watcher.self);
    const bob = b.runtime.open().self;
    b.presence.track("room", "bob", { v: 1 }, { pid: bob });
    let diff = await nextDiff(watcher);
    assert.equal(diff.topic, "room");
    assert.deepEqual(summary(diff.joins), { bob: [1] });
    assert.deepEqual(diff.leaves, {});
    b.presence.update("room", "bob", { v: 2 }, { pid: bob });
    diff = await nextDiff(watcher);
    assert.deepEqual([summary(diff.joins), summary(diff.leaves)], [{ bob: [2] }, { bob: [1] }]);
    b.presence.untrack("room", "bob", { pid: bob });
    diff = await nextDiff(watcher);
    assert.deepEqual([summary(diff.joins), summary(diff.leaves)], [{}, { bob: [2] }]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("presences of a process that exits are removed everywhere", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a] = nodes as [TestNode];
    const p = a.runtime.open();
    a.presence.track("t1", "x", { v: 1 }, { pid: p.self });
    a.presence.track("t2", "y", { v: 2 }, { pid: p.self });
    await converged(nodes, (n) => [who("t1")(n), who("t2")(n)], [{ x: [1] }, { y: [2] }]);
    p.exit("kill");
    await converged(nodes, (n) => [who("t1")(n), who("t2")(n)], [{}, {}]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("a lost node's presences stay for the down period, then go (with a leave diff)", async () => {
  const nodes = await startCluster(["a", "b", "c"], { presenceDownPeriod: 300 });
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const watcher = a.runtime.open();
    a.pubsub.subscribe("room", watcher.self);
    b.presence.track("room", "bob", { v: 1 }, { pid: b.runtime.open().self });
    c.presence.track("room", "cy", { v: 2 }, { pid: c.runtime.open().self });
    await converged(nodes, who("room"), { bob: [1], cy: [2] });
    watcher.flush();
    const t0 = performance.now();
    await b.stop();
    await converged([a, c], (n) => n.list().length, 1);
    assert.deepEqual(who("room")(a), { bob: [1], cy: [2] }); // not yet
    const diff = await nextDiff(watcher);
    assert.ok(performance.now() - t0 >= 250, `dropped after ${performance.now() - t0} ms`);
    assert.deepEqual([summary(diff.joins), summary(diff.leaves)], [{}, { bob: [1] }]);
    await converged([a, c], who("room"), { cy: [2] });
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("a node back within the down period flaps nothing; a restarted node's old presences go at once", async () => {
  const nodes = await startCluster(["a", "b"], { presenceDownPeriod: 60_000 });
  const faults = new Faults();
  let b2: TestNode | undefined;
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    b.presence.track("room", "bob", { v: 1 }, { pid: b.runtime.open().self });
    await converged(nodes, who("room"), { bob: [1] });
    const watcher = a.runtime.open();
    a.pubsub.subscribe("room", watcher.self);
    await faults.cut([a], [b]);
    await faults.heal();
    await connectAll(nodes);
    await converged(nodes, who("room"), { bob: [1] });
    assert.equal(watcher.flush().filter(isDiff).length, 0);
    // b restarts (same name, new creation): its old presences are gone for good.
    await b.stop();
    b2 = await startTestNode("b", { port: b.port });
    b2.presence.track("room", "bob", { v: 2 }, { pid: b2.runtime.open().self });
    await connectAll([a, b2]);
    await converged([a, b2], who("room"), { bob: [2] });
  } finally {
    await stopAll([...nodes, b2]);
  }
});

Deno.test("partition with presences on both sides, then heal: every node lists the same presences", async () => {
  const nodes = await startCluster(["a", "b", "c", "d"], { presenceDownPeriod: 100 });
  const faults = new Faults();
  try {
    const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
    const pa = a.runtime.open().self;
    const pc = c.runtime.open().self;
    a.presence.track("room", "ann", { v: 1 }, { pid: pa });
    c.presence.track("room", "cy", { v: 2 }, { pid: pc });
    await converged(nodes, who("room"), { ann: [1], cy: [2] });
    await faults.partition([a, b], [c, d]);
    // Each side changes its own presences while apart; the other side's are dropped meanwhile.
    a.presence.update("room", "ann", { v: 10 }, { pid: pa });
    b.presence.track("room", "bo", { v: 3 }, { pid: b.runtime.open().self });
    c.presence.untrack("room", "cy", { pid: pc });
    d.presence.track("room", "di", { v: 4 }, { pid: d.runtime.open().self });
    await converged([a, b], who("room"), { ann: [10], bo: [3] });
    await converged([c, d], who("room"), { di: [4] });
    await faults.heal();
    await connectAll(nodes);
    await converged(nodes, who("room"), { ann: [10], bo: [3], di: [4] });
    // The full lists, refs included, are the same everywhere.
    await converged(nodes, (n) => n.presence.list("room"));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("track() refuses bad input; the presence namespace tracks the calling process", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const p = a.runtime.open();
    assert.throws(() => a.presence.track("", "k", {}, { pid: p.self }), TypeError);
    assert.throws(
      () => a.presence.track("t", 1 as unknown as string, {}, { pid: p.self }),
      TypeError,
    );
    assert.throws(
      () => a.presence.track("t", "k", [] as unknown as Record<string, unknown>, { pid: p.self }),
      TypeError,
    );
    assert.throws(
      () => a.presence.track("t", "k", { f: () => 1 }, { pid: p.self }),
      /cannot cross the wire/,
    );
    assert.throws(() => a.presence.track("t", "k", {}, { pid: b.runtime.open().self }), TypeError);
    assert.throws(() => (a.presence.downPeriod = -1), RangeError);
    runInProcess(p, () => presence.track("t", "me", { v: 7 }));
    await converged(nodes, who("t"), { me: [7] });
    assert.equal(runInProcess(p, () => presence.untrack("t", "me")), true);
    await converged(nodes, who("t"), {});
  } finally {
    await stopAll(nodes);
  }
});
