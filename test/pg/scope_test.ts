import assert from "node:assert/strict";
import { Faults } from "../../src/cluster/faults.ts";
import { NameError, NotAliveError } from "../../src/errors.ts";
import { pg, PgScope, pgScopeOf } from "../../src/pg/mod.ts";
import type { PgEvent } from "../../src/pg/types.ts";
import { runInProcess } from "../../src/process/current.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { connectAll, converged, startCluster } from "../helpers/cluster.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";

const sorted = (pids: Pid[]) => pids.map(String).sort();
const membersOf = (group: string) => (n: TestNode) => sorted(n.pg.getMembers(group));
const isEvent = (m: unknown) => (m as PgEvent)?.type === "join" || (m as PgEvent)?.type === "leave";
const nextEvent = (ctx: ProcessContext) => ctx.receive<PgEvent>(isEvent, { timeout: 5000 });

Deno.test("join() / leave() / getMembers() / getLocalMembers() / whichGroups() across three nodes", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const pa = a.runtime.open().self;
    const pb1 = b.runtime.open().self;
    const pb2 = b.runtime.open().self;
    a.pg.join("workers", pa);
    b.pg.join("workers", [pb1, pb2]);
    b.pg.join("other", pb1);
    const all = sorted([pa, pb1, pb2]);
    await converged(nodes, membersOf("workers"), all);
    assert.deepEqual(sorted(c.pg.getLocalMembers("workers")), []);
    assert.deepEqual(sorted(b.pg.getLocalMembers("workers")), sorted([pb1, pb2]));
    await converged(nodes, (n) => n.pg.whichGroups().sort(), ["other", "workers"]);
    // Joined twice: a member twice, and one leave takes one membership away.
    a.pg.join("workers", pa);
    await converged(nodes, membersOf("workers"), sorted([pa, pa, pb1, pb2]));
    assert.equal(a.pg.leave("workers", pa), true);
    await converged(nodes, membersOf("workers"), all);
    assert.equal(b.pg.leave("other", [pb1, pb2]), true);
    assert.equal(b.pg.leave("other", pb1), false);
    await converged(nodes, (n) => n.pg.whichGroups(), ["workers"]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("join() refuses remote pids and bad groups; a second scope of one name is refused", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const pb = b.runtime.open().self;
    assert.throws(() => a.pg.join("g", pb), /not a process of a@127\.0\.0\.1/);
    assert.throws(() => a.pg.join("", a.runtime.open().self), TypeError);
    assert.throws(() => a.pg.join("g", ["x" as unknown as Pid]), TypeError);
    assert.throws(() => new PgScope({ runtime: a.runtime, kernel: a.kernel }), NameError);
    assert.throws(() => pgScopeOf(a.runtime, "nope"), NotAliveError);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("members are removed on every node when their process exits", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const p = b.runtime.open();
    const q = a.runtime.open();
    b.pg.join("g", [p.self, p.self]);
    b.pg.join("h", p.self);
    a.pg.join("g", q.self);
    await converged(nodes, membersOf("g"), sorted([p.self, p.self, q.self]));
    p.exit("crash");
    await converged(nodes, membersOf("g"), sorted([q.self]));
    await converged(nodes, (n) => n.pg.whichGroups(), ["g"]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("members of a lost node are removed; members joined while apart are synced when it is back", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  const faults = new Faults();
  try {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const pa = a.runtime.open().self;
    const pc = c.runtime.open().self;
    a.pg.join("g", pa);
    c.pg.join("g", pc);
    await converged(nodes, membersOf("g"), sorted([pa, pc]));
    await faults.partition([a, b], [c]);
    await converged([a, b], membersOf("g"), sorted([pa]));
    assert.deepEqual(membersOf("g")(c), sorted([pc]));
    const pc2 = c.runtime.open().self;
    const pb = b.runtime.open().self;
    c.pg.join("g", pc2);
    b.pg.join("g", pb);
    c.pg.leave("g", pc);
    await faults.heal();
    await connectAll(nodes);
    await converged(nodes, membersOf("g"), sorted([pa, pb, pc2]));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("monitor(group) reports joins and leaves, including those of a lost node, until demonitor()", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const me = a.runtime.open();
    const pa = a.runtime.open().self;
    a.pg.join("g", pa);
    const { ref, members } = a.pg.monitor("g", { pid: me.self });
    assert.deepEqual(sorted(members), sorted([pa]));
    const pb = b.runtime.open().self;
    b.pg.join("g", pb);
    let e = await nextEvent(me);
    assert.deepEqual([e.type, e.group, e.scope, sorted(e.pids)], ["join", "g", "pg", sorted([pb])]);
    assert.ok(e.ref.equals(ref));
    a.pg.join("other", pa); // another group: not reported
    a.pg.leave("g", pa);
    e = await nextEvent(me);
    assert.deepEqual([e.type, sorted(e.pids)], ["leave", sorted([pa])]);
    await b.stop();
    e = await nextEvent(me);
    assert.deepEqual([e.type, sorted(e.pids)], ["leave", sorted([pb])]);
    assert.equal(a.pg.demonitor(ref), true);
    assert.equal(a.pg.demonitor(ref), false);
    a.pg.join("g", pa);
    assert.equal(me.flush().filter(isEvent).length, 0);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("monitorScope() reports every group; the namespace acts for the calling process", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const me = a.runtime.open();
    b.pg.join("x", b.runtime.open().self);
    await converged(nodes, (n) => n.pg.whichGroups(), ["x"]);
    const { ref, groups } = runInProcess(me, () => pg.monitorScope());
    assert.deepEqual([...groups.keys()], ["x"]);
    runInProcess(me, () => pg.join("y"));
    let e = await nextEvent(me);
    assert.deepEqual([e.type, e.group], ["join", "y"]);
    assert.ok(e.ref.equals(ref));
    const pb = b.runtime.open();
    b.pg.join("z", pb.self);
    e = await nextEvent(me);
    assert.deepEqual([e.type, e.group], ["join", "z"]);
    pb.exit("normal");
    e = await nextEvent(me);
    assert.deepEqual([e.type, e.group], ["leave", "z"]);
    assert.equal(runInProcess(me, () => pg.leave("y")), true);
    e = await nextEvent(me);
    assert.deepEqual([e.type, e.group], ["leave", "y"]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("a monitor ends when its watching process exits", async () => {
  const node = await startTestNode("a");
  try {
    const watcher = node.runtime.open();
    const { ref } = node.pg.monitor("g", { pid: watcher.self });
    watcher.exit("normal");
    await converged([node], () => node.pg.demonitor(ref), false);
  } finally {
    await node.stop();
  }
});

Deno.test("scopes are independent: a group in one scope is not in another", async () => {
  const nodes = await startCluster(["a", "b"]);
  const scopes: PgScope[] = [];
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    const ra = new PgScope({ runtime: a.runtime, kernel: a.kernel, scope: "rooms" });
    scopes.push(ra);
    const pa = a.runtime.open().self;
    ra.join("lobby", pa);
    // b starts the scope later: it learns a's members when it asks.
    const rb = new PgScope({ runtime: b.runtime, kernel: b.kernel, scope: "rooms" });
    scopes.push(rb);
    await converged([a], () => sorted(rb.getMembers("lobby")), sorted([pa]));
    assert.deepEqual(b.pg.getMembers("lobby"), []);
    const pb = b.runtime.open().self;
    rb.join("lobby", pb);
    await converged([a], () => sorted(ra.getMembers("lobby")), sorted([pa, pb]));
    assert.ok(b.runtime.whereis("rooms")?.equals(rb.self));
  } finally {
    await Promise.all(scopes.map((s) => s.stop()));
    await stopAll(nodes);
  }
});
