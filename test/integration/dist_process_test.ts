/**
 * Distribution between OS processes: the test process runs one node (in
 * process, via startNode) and real `deno run main.ts` nodes run as child
 * processes, set up through their shell (see test/helpers/weft_peer.ts).
 */
import assert from "node:assert/strict";
import { startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import type { NodeDownMessage } from "../../src/node.ts";
import type { Pid } from "../../src/term/pid.ts";
import { receiveMatching, startTestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";
import { PEER_COOKIE, startWeftPeer } from "../helpers/weft_peer.ts";

type Reply = { pid: Pid; n: number; size?: number };
type Down = { type: "DOWN"; ref: unknown; pid: unknown; reason: unknown };
type Exit = { type: "EXIT"; from: Pid; reason: unknown };
type Event = { n: number; event?: string; reason?: unknown; watching?: boolean };
const tagged = (n: number) => (m: unknown) => (m as { n?: number })?.n === n;
const isType = (t: string) => (m: unknown) => (m as { type?: string })?.type === t;

Deno.test("send() crosses from one OS process to another, by pid and by registered name", async () => {
  const a = await startTestNode("a", { cookie: PEER_COOKIE });
  const b = await startWeftPeer("b");
  try {
    assert.equal(await a.connect(b.address), true);
    const me = a.runtime.open();
    me.send({ name: "echo", node: b.name }, { from: me.self, n: 1, data: "hello" });
    const byName = await receiveMatching<Reply>(me, tagged(1), 10_000);
    assert.equal(byName.size, 5);
    assert.equal(byName.pid.node, b.name);
    me.send(byName.pid, { from: me.self, n: 2, data: new Uint8Array(3) });
    assert.equal((await receiveMatching<Reply>(me, tagged(2), 10_000)).size, 3);
    assert.deepEqual(a.list(), [b.name]);
  } finally {
    await a.stop();
    await b.close();
  }
});

Deno.test("a million messages from one process to another across OS processes arrive in order", async () => {
  const a = await startTestNode("a", { cookie: PEER_COOKIE });
  const b = await startWeftPeer("b");
  try {
    assert.equal(await a.connect(b.address), true);
    const me = a.runtime.open();
    const sink = { name: "sink", node: b.name };
    const total = 1_000_000;
    const batch = 10_000;
    for (let i = 0; i < total;) {
      const end = i + batch;
      for (; i < end; i++) me.send(sink, i);
      // Let the batch leave; wait while the connection is over its busy limit.
      if (a.kernel.busy(b.name)) await a.kernel.drain(b.name);
      else await new Promise((resolve) => setTimeout(resolve, 0));
    }
    me.send(sink, { from: me.self, n: 1 });
    const result = await receiveMatching<{ next: number; bad: number }>(me, tagged(1), 30_000);
    assert.deepEqual({ next: result.next, bad: result.bad }, { next: total, bad: -1 });
  } finally {
    await a.stop();
    await b.close();
  }
});

Deno.test("links and monitors across OS processes carry exit reasons both ways", async () => {
  const a = await startTestNode("a", { cookie: PEER_COOKIE });
  const b = await startWeftPeer("b");
  try {
    assert.equal(await a.connect(b.address), true);
    const me = a.runtime.open({ trapExit: true });
    const echo = { name: "echo", node: b.name };
    const remote = async (n: number) => {
      me.send(echo, { from: me.self, n, spawn: true });
      return (await receiveMatching<Reply>(me, tagged(n), 10_000)).pid;
    };

    // Here -> there: a monitor sees the remote process's reason.
    const p1 = await remote(1);
    const ref = me.monitor(p1);
    me.send(p1, "boom");
    const down = await receiveMatching<Down>(me, isType("DOWN"), 10_000);
    assert.deepEqual([down.ref, down.pid, down.reason], [ref, p1, "boom"]);

    // Here -> there: a trapped link gets the remote exit as a message.
    const p2 = await remote(2);
    me.link(p2);
    me.send(p2, "crash");
    const exit = await receiveMatching<Exit>(me, isType("EXIT"), 10_000);
    assert.deepEqual([exit.from, exit.reason], [p2, "crash"]);

    // Here -> there: exit/2 kills a remote process; no DOWN after demonitor.
    const p3 = await remote(3);
    const ref3 = me.monitor(p3);
    a.runtime.exit(p3, "kill", me.self);
    const killed = await receiveMatching<Down>(me, isType("DOWN"), 10_000);
    assert.deepEqual([killed.ref, killed.reason], [ref3, "killed"]);
    const p4 = await remote(4);
    const ref4 = me.monitor(p4);
    assert.equal(me.demonitor(ref4), true);
    me.send(p4, "quiet");
    me.send(echo, { from: me.self, n: 5 }); // a round trip after p4's exit
    await receiveMatching<Reply>(me, tagged(5), 10_000);
    assert.equal(me.flush().filter(isType("DOWN")).length, 0);

    // There -> here: a remote process links to and monitors a local one.
    const local = a.runtime.spawn(async (ctx) => ctx.exit(await ctx.receive()));
    me.send(echo, { from: me.self, n: 6, watch: local });
    assert.equal((await receiveMatching<Event>(me, tagged(6), 10_000)).watching, true);
    assert.equal(a.runtime.info(local)?.links.length, 1);
    assert.equal(a.runtime.info(local)?.monitoredBy.length, 1);
    me.send(local, "bye");
    const events = [
      await receiveMatching<Event>(me, tagged(6), 10_000),
      await receiveMatching<Event>(me, tagged(6), 10_000),
    ].map((e) => `${e.event}:${e.reason}`).sort();
    assert.deepEqual(events, ["DOWN:bye", "EXIT:bye"]);
  } finally {
    await a.stop();
    await b.close();
  }
});

Deno.test("a restarted node gets a new creation and a pid of its old incarnation reaches nothing", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const a = await startTestNode("a", { cookie: PEER_COOKIE, epmdPort: epmd.port });
  let b = await startWeftPeer("b", { epmdPort: epmd.port });
  try {
    const me = a.runtime.open();
    a.monitorNodes(me.self);
    const echo = { name: "echo", node: b.name };
    me.send(echo, { from: me.self, n: 1 }); // connects through the port mapper
    const old = (await receiveMatching<Reply>(me, tagged(1), 10_000)).pid;

    b.proc.kill("SIGKILL");
    await b.close();
    const down = await receiveMatching<NodeDownMessage>(me, isType("nodedown"), 10_000);
    assert.equal(down.node, b.name);
    await waitFor(() => !epmd.names().some((n) => n.name === "b"), {
      timeout: 10_000,
      message: "the port mapper kept the dead node's name",
    });

    b = await startWeftPeer("b", { epmdPort: epmd.port });
    me.send(old, { from: me.self, n: 2 }); // for the old incarnation: must reach nobody
    me.send(echo, { from: me.self, n: 3 }); // same sender, same connection, sent after
    const fresh = await receiveMatching<Reply>(me, (m) => tagged(2)(m) || tagged(3)(m), 10_000);
    assert.equal(fresh.n, 3, "the message to the old pid reached the new echo process");
    assert.deepEqual(
      [fresh.pid.node, fresh.pid.id, fresh.pid.serial],
      [old.node, old.id, old.serial],
      "the new echo has the old one's number, so only the creation tells them apart",
    );
    assert.notEqual(fresh.pid.creation, old.creation);

    // A monitor on the old pid finds no such process.
    const ref = me.monitor(old);
    const gone = await receiveMatching<Down>(me, isType("DOWN"), 10_000);
    assert.deepEqual([gone.ref, gone.reason], [ref, "noproc"]);
    assert.equal(me.flush().filter(tagged(2)).length, 0);
  } finally {
    await a.stop();
    await b.close();
    await epmd.close();
  }
});
