import assert from "node:assert/strict";
import { QuorumNotAchieved, RemoteError } from "../../src/errors.ts";
import { quorum } from "../../src/cluster/quorum_decision.ts";
import { runInProcess } from "../../src/process/current.ts";
import { startCluster } from "../helpers/cluster.ts";
import { stopAll, type TestNode } from "../helpers/nodes.ts";

Deno.test("quorum.makeDecision() returns the answer most nodes give", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a] = nodes as [TestNode];
    const names = nodes.map((n) => n.name);
    const answer = await runInProcess(a.runtime.open(), () =>
      // Run on each node: c disagrees.
      quorum.makeDecision(names, () => self().node === "c@127.0.0.1" ? "no" : "yes"));
    assert.equal(answer, "yes");
    // Equal values are one answer, whichever node gave them.
    const value = await quorum.makeDecision(names, () => ({ leader: "a", term: 3 }), {
      runtime: a.runtime,
    });
    assert.deepEqual(value, { leader: "a", term: 3 });
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("quorum.makeDecision() rejects with QuorumNotAchieved when too few nodes answer", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const names = nodes.map((n) => n.name);
    // One node throws: 2 of 3 answered, still a quorum.
    assert.equal(
      await quorum.makeDecision(names, () => {
        if (self().node === "b@127.0.0.1") throw new Error("disk full");
        return 7;
      }, { runtime: a.runtime }),
      7,
    );
    // Demanding all three: the thrower makes it fail, and says why.
    const err = await quorum.makeDecision(names, () => {
      if (self().node === "b@127.0.0.1") throw new Error("disk full");
      return 7;
    }, { runtime: a.runtime, size: 3 }).catch((e) => e);
    assert.ok(err instanceof QuorumNotAchieved);
    assert.equal(err.required, 3);
    assert.equal(err.answered, 2);
    assert.ok(err.failed[b.name] instanceof RemoteError);
    assert.match(
      err.message,
      /^Cannot decide: quorum not achieved \(2 of 3 nodes answered, 3 needed\)$/,
    );
    // Two nodes gone: 1 of 3.
    await b.stop();
    await c.stop();
    const lost = await quorum.makeDecision(names, () => 1, { runtime: a.runtime, timeout: 1000 })
      .catch((e) => e);
    assert.ok(lost instanceof QuorumNotAchieved);
    assert.equal(lost.answered, 1);
    assert.equal(lost.required, 2);
    assert.deepEqual(Object.keys(lost.failed).sort(), [b.name, c.name]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("quorum.quorumCount() and achieveQuorum() are the seed's maths on the calling node's cluster", async () => {
  const nodes = await startCluster(["a", "b", "c", "d"]);
  try {
    const rt = nodes[0]!.runtime;
    assert.equal(quorum.quorumCount(1), 1);
    assert.equal(quorum.quorumCount(4), 3);
    assert.equal(quorum.quorumCount(5), 3);
    assert.equal(quorum.quorumCount(undefined, { runtime: rt }), 3);
    assert.equal(quorum.achieveQuorum(["x", "y"], { runtime: rt }), false);
    assert.equal(quorum.achieveQuorum(["x", "y", "z"], { runtime: rt }), true);
    assert.throws(() => quorum.quorumCount(0), RangeError);
    assert.throws(() => quorum.quorumCount(), /not inside a Weft process/);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("quorum.makeDecision() refuses bad arguments with TypeError and RangeError", async () => {
  const nodes = await startCluster(["a"]);
  try {
    const runtime = nodes[0]!.runtime;
    await assert.rejects(() => quorum.makeDecision([], () => 1, { runtime }), TypeError);
    await assert.rejects(
      () => quorum.makeDecision([nodes[0]!.name], "f" as unknown as () => 1, { runtime }),
      TypeError,
    );
    await assert.rejects(
      () => quorum.makeDecision([nodes[0]!.name], () => 1, { runtime, size: 2 }),
      RangeError,
    );
  } finally {
    await stopAll(nodes);
  }
});

// The functions above run on the remote node, where rpc provides `self`.
declare function self(): { node: string };
