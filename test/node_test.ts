import assert from "node:assert/strict";
import { listNames, startEpmdServer } from "../src/distribution/epmd/mod.ts";
import { encodeFrame } from "../src/distribution/frame_format.ts";
import { encode } from "../src/term/codec.ts";
import { FRAME_MESSAGE } from "../src/distribution/types.ts";
import type { Pid } from "../src/term/pid.ts";
import { startNode } from "../src/node.ts";
import type { NodeDownMessage, NodeUpMessage } from "../src/node.ts";
import {
  captureLogs,
  rawPeer,
  receiveMatching,
  startTestNode,
  startTestNodes,
  stopAll,
  untilClosed,
} from "./helpers/nodes.ts";
import { waitFor } from "./helpers/wait.ts";

type Down = { type: "DOWN"; ref: unknown; pid: unknown; reason: unknown };
type Exit = { type: "EXIT"; from: Pid; reason: unknown };
const isType = (t: string) => (m: unknown) => (m as { type?: string })?.type === t;

/** A process on `node` that answers `{from, n}` with `n + 1`. */
function echo(node: { runtime: import("../src/process/runtime.ts").Runtime }): Pid {
  return node.runtime.spawn(async (ctx) => {
    while (true) {
      const m = await ctx.receive<{ from: Pid; n: number }>();
      ctx.send(m.from, m.n + 1);
    }
  });
}

Deno.test("startNode() nodes connect, list each other and answer ping", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    assert.equal(await a!.connect(b!.address), true);
    assert.deepEqual(a!.list(), ["b@127.0.0.1"]);
    await waitFor(() => b!.list().includes("a@127.0.0.1"));
    assert.equal(await a!.ping("b@127.0.0.1"), "pong");
    assert.equal(await b!.ping("a@127.0.0.1"), "pong");
    assert.equal(await a!.ping("nobody@127.0.0.1:1"), "pang");
    assert.equal(await a!.connect("a@127.0.0.1"), true, "connecting to itself is true");
    assert.ok(a!.list("known").includes("a@127.0.0.1"));
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("send() reaches a remote pid and a remote registered name", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const pid = echo(b!);
    b!.runtime.register("echo", pid);
    const me = a!.runtime.open();
    me.send(pid, { from: me.self, n: 1 });
    assert.equal(await me.receive(undefined, { timeout: 3000 }), 2);
    me.send({ name: "echo", node: b!.name }, { from: me.self, n: 41 });
    assert.equal(await me.receive(undefined, { timeout: 3000 }), 42);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("messages between two processes on two nodes arrive in the order sent", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const n = 50_000;
    const sink = b!.runtime.open();
    const sender = a!.runtime.open();
    for (let i = 0; i < n; i++) {
      sender.send(sink.self, i);
      if (i === 1000) sender.send(sink.self, new Uint8Array(300_000)); // a fragmented one in between
    }
    for (let i = 0; i < n; i++) {
      const m = await sink.receive(undefined, { timeout: 5000 });
      assert.equal(m, i);
      if (i === 1000) {
        assert.equal(
          (await sink.receive<Uint8Array>(undefined, { timeout: 5000 })).length,
          300_000,
        );
      }
    }
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("a large message crosses intact", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const sink = b!.runtime.open();
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
    a!.runtime.send(sink.self, { big, text: "x".repeat(100_000) });
    const got = await sink.receive<{ big: Uint8Array; text: string }>(undefined, { timeout: 5000 });
    assert.deepEqual(got.big, big);
    assert.equal(got.text.length, 100_000);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("send() throws TypeError at once for a message that cannot cross the wire", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const pid = echo(b!);
    const me = a!.runtime.open();
    assert.throws(() => me.send(pid, { f: () => 1 }), {
      name: "TypeError",
      message: "Cannot send value: function at msg.f",
    });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("links across nodes carry exits both ways, and exit() reaches a remote process", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const me = a!.runtime.open({ trapExit: true });
    const remote = b!.runtime.spawn(async (ctx) => {
      const why = await ctx.receive<string>();
      throw why;
    });
    me.link(remote);
    await waitFor(() => b!.runtime.info(remote)?.links.length === 1);
    me.send(remote, "boom");
    const exit = await receiveMatching<Exit>(me, isType("EXIT"));
    assert.ok(exit.from.equals(remote));
    assert.equal(exit.reason, "boom");

    // A linked remote process dies when a local one exits abnormally.
    const victim = b!.runtime.spawn(async (ctx) => void (await ctx.receive()));
    const local = a!.runtime.open();
    local.link(victim);
    await waitFor(() => b!.runtime.info(victim)?.links.length === 1);
    local.exit("crash");
    await waitFor(() => !b!.runtime.isAlive(victim), { message: "remote linked process lives on" });

    // exit(pid, reason) across nodes.
    const target = b!.runtime.spawn(async (ctx) => void (await ctx.receive()));
    a!.runtime.exit(target, "stop", me.self);
    await waitFor(() => !b!.runtime.isAlive(target));
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("monitors across nodes: DOWN with the reason, none after demonitor, noproc for a dead pid", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const me = a!.runtime.open();
    const remote = b!.runtime.spawn(async (ctx) => {
      throw await ctx.receive<string>();
    });
    const ref = me.monitor(remote);
    await waitFor(() => b!.runtime.info(remote)?.monitoredBy.length === 1);
    me.send(remote, "bye");
    const down = await receiveMatching<Down>(me, isType("DOWN"));
    assert.equal(down.ref, ref);
    assert.equal(down.reason, "bye");

    const quiet = b!.runtime.spawn(async (ctx) => void (await ctx.receive()));
    const ref2 = me.monitor(quiet);
    await waitFor(() => b!.runtime.info(quiet)?.monitoredBy.length === 1);
    assert.equal(me.demonitor(ref2), true);
    await waitFor(() => b!.runtime.info(quiet)?.monitoredBy.length === 0);
    b!.runtime.exit(quiet, "gone");
    await assert.rejects(me.receive(isType("DOWN"), { timeout: 200 }), { name: "TimeoutError" });

    // A pid that does not exist (any more): noproc, for a monitor and for a link.
    const ref3 = me.monitor(quiet);
    const noproc = await receiveMatching<Down>(
      me,
      (m) => isType("DOWN")(m) && (m as Down).ref === ref3,
    );
    assert.equal(noproc.reason, "noproc");
    const trapper = a!.runtime.open({ trapExit: true });
    trapper.link(quiet);
    const exit = await receiveMatching<Exit>(trapper, isType("EXIT"));
    assert.equal(exit.reason, "noproc");

    // A monitor by name on the remote node.
    const ref4 = me.monitor({ name: "nobody", node: b!.name });
    const byName = await receiveMatching<Down>(
      me,
      (m) => isType("DOWN")(m) && (m as Down).ref === ref4,
    );
    assert.equal(byName.reason, "noproc");
    assert.deepEqual(byName.pid, { name: "nobody", node: b!.name });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("losing a node gives noconnection to every link and monitor", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const watcher = a!.runtime.open({ trapExit: true });
    const r1 = b!.runtime.spawn(async (ctx) => void (await ctx.receive()));
    const r2 = b!.runtime.spawn(async (ctx) => void (await ctx.receive()));
    const ref = watcher.monitor(r1);
    watcher.link(r2);
    await waitFor(() => b!.runtime.info(r2)?.links.length === 1);
    await a!.disconnect(b!.name);
    const down = await receiveMatching<Down>(watcher, isType("DOWN"));
    assert.equal(down.ref, ref);
    assert.equal(down.reason, "noconnection");
    const exit = await receiveMatching<Exit>(watcher, isType("EXIT"));
    assert.equal(exit.reason, "noconnection");
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("a link or monitor to an unreachable node gives noconnection", async () => {
  const [a] = await startTestNodes(["a"]);
  const gone = await startTestNode("gone");
  const port = gone.port;
  const stale = gone.runtime.spawn(async (ctx) => void (await ctx.receive()));
  await gone.stop();
  try {
    a!.kernel.addAddress("gone@127.0.0.1", { hostname: "127.0.0.1", port });
    const me = a!.runtime.open({ trapExit: true });
    me.monitor(stale);
    me.link(stale);
    const down = await receiveMatching<Down>(me, isType("DOWN"));
    assert.equal(down.reason, "noconnection");
    const exit = await receiveMatching<Exit>(me, isType("EXIT"));
    assert.equal(exit.reason, "noconnection");
  } finally {
    await stopAll([a]);
  }
});

Deno.test("the first send to a node known to the port mapper connects to it", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await startTestNodes(["a", "b"], { epmdPort: epmd.port });
  try {
    assert.deepEqual(a!.list(), []);
    const pid = echo(b!);
    const me = a!.runtime.open();
    me.send(pid, { from: me.self, n: 9 });
    assert.equal(await me.receive(undefined, { timeout: 3000 }), 10);
    assert.deepEqual(a!.list(), ["b@127.0.0.1"]);
    assert.deepEqual(
      (await listNames({ epmdPort: epmd.port })).map((n) => n.name).sort(),
      ["a", "b"],
    );
  } finally {
    await stopAll([a, b]);
    await epmd.close();
  }
});

Deno.test("connecting to one member of a cluster connects to all (transitive mesh)", async () => {
  const [a, b, c, d] = await startTestNodes(["a", "b", "c", "d"]);
  try {
    assert.ok(await a!.connect(b!.address));
    assert.ok(await c!.connect(d!.address));
    assert.ok(await c!.connect(a!.address));
    const all = ["a@127.0.0.1", "b@127.0.0.1", "c@127.0.0.1", "d@127.0.0.1"];
    for (const n of [a, b, c, d]) {
      await waitFor(() => n!.list().length === 3, { message: `${n!.name} sees ${n!.list()}` });
      assert.deepEqual(n!.list().sort(), all.filter((x) => x !== n!.name));
    }
  } finally {
    await stopAll([a, b, c, d]);
  }
});

Deno.test("hidden nodes are not meshed and are listed as hidden", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  const h = await startTestNode("h", { hidden: true });
  try {
    assert.ok(await a!.connect(b!.address));
    assert.ok(await h.connect(a!.address));
    await waitFor(() => a!.list("hidden").includes(h.name));
    assert.deepEqual(a!.list(), ["b@127.0.0.1"]);
    assert.deepEqual(a!.list("all").sort(), ["b@127.0.0.1", "h@127.0.0.1"]);
    assert.deepEqual(h.list(), []);
    assert.deepEqual(h.list("hidden"), ["a@127.0.0.1"]);
    // b never hears of h.
    assert.equal(await a!.ping(b!.name), "pong");
    assert.deepEqual(b!.list("all"), ["a@127.0.0.1"]);
  } finally {
    await stopAll([a, b, h]);
  }
});

Deno.test("monitorNodes() reports nodeup and nodedown with disconnect, connection_closed and net_tick_timeout", async () => {
  const [a, b, c] = await startTestNodes(["a", "b", "c"], { netTicktimeSeconds: 0.4 });
  try {
    const watcher = a!.runtime.open();
    a!.monitorNodes(watcher.self);
    const isNode = (type: string, node: string) => (m: unknown) =>
      (m as NodeUpMessage).type === type && (m as NodeUpMessage).node === node;

    await a!.connect(b!.address);
    await receiveMatching<NodeUpMessage>(watcher, isNode("nodeup", b!.name));
    await a!.disconnect(b!.name);
    const d1 = await receiveMatching<NodeDownMessage>(watcher, isNode("nodedown", b!.name));
    assert.equal(d1.reason, "disconnect");

    await a!.connect(c!.address);
    await receiveMatching<NodeUpMessage>(watcher, isNode("nodeup", c!.name));
    await c!.disconnect(a!.name);
    const d2 = await receiveMatching<NodeDownMessage>(watcher, isNode("nodedown", c!.name));
    assert.equal(d2.reason, "connection_closed");

    // A peer that completes the handshake and then falls silent.
    const raw = await rawPeer(a!.port, a!.name, { name: "mute@127.0.0.1" });
    assert.ok(raw.result.ok);
    await receiveMatching<NodeUpMessage>(watcher, isNode("nodeup", "mute@127.0.0.1"));
    // Nothing closes the socket: only the tick timeout can declare it down.
    const d3 = await receiveMatching<NodeDownMessage>(
      watcher,
      isNode("nodedown", "mute@127.0.0.1"),
      30_000,
    );
    assert.equal(d3.reason, "net_tick_timeout");
    raw.conn.close();

    a!.monitorNodes(watcher.self, false);
    await a!.connect(b!.address);
    await assert.rejects(watcher.receive(isType("nodeup"), { timeout: 200 }), {
      name: "TimeoutError",
    });
  } finally {
    await stopAll([a, b, c]);
  }
});

Deno.test("monitorNode() delivers one nodedown, and at once for an unreachable node", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    await a!.connect(b!.address);
    const me = a!.runtime.open();
    a!.monitorNode(me.self, b!.name);
    await b!.stop();
    const down = await receiveMatching<NodeDownMessage>(me, isType("nodedown"));
    assert.deepEqual(down, { type: "nodedown", node: b!.name, reason: "connection_closed" });
    a!.monitorNode(me.self, "nobody@127.0.0.1:1");
    const failed = await receiveMatching<NodeDownMessage>(me, isType("nodedown"));
    assert.equal(failed.node, "nobody@127.0.0.1");
    await assert.rejects(me.receive(isType("nodedown"), { timeout: 100 }), {
      name: "TimeoutError",
    });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("stop() leaves cleanly: peers see connection_closed and the port mapper forgets the name", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await startTestNodes(["a", "b"], { epmdPort: epmd.port });
  try {
    assert.ok(await a!.connect(b!.name));
    const watcher = a!.runtime.open();
    a!.monitorNodes(watcher.self);
    await b!.stop();
    const down = await receiveMatching<NodeDownMessage>(watcher, isType("nodedown"));
    assert.equal(down.reason, "connection_closed");
    await waitFor(async () => (await listNames({ epmdPort: epmd.port })).length === 1);
    assert.deepEqual(a!.list(), []);
  } finally {
    await stopAll([a, b]);
    await epmd.close();
  }
});

Deno.test("a restarted node gets a new creation and never receives the old pids' traffic", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const a = await startTestNode("a", { epmdPort: epmd.port });
  let b = await startTestNode("b", { epmdPort: epmd.port });
  try {
    const old = b.runtime.spawn(async (ctx) => void (await ctx.receive()));
    const me = a.runtime.open({ trapExit: true });
    me.link(old);
    await waitFor(() => b.runtime.info(old)?.links.length === 1);
    const creation = b.creation;
    await b.stop();
    await receiveMatching<Exit>(me, isType("EXIT"));

    b = await startTestNode("b", { epmdPort: epmd.port });
    assert.notEqual(b.creation, creation);
    const fresh = b.runtime.open();
    assert.equal(fresh.self.id, old.id, "the new incarnation reuses the process number");
    me.send(old, "for the old incarnation");
    me.send(fresh.self, "for the new one");
    assert.equal(await fresh.receive(undefined, { timeout: 3000 }), "for the new one");
    await assert.rejects(fresh.receive(undefined, { timeout: 200 }), { name: "TimeoutError" });
  } finally {
    await stopAll([a, b]);
    await epmd.close();
  }
});

Deno.test("connect() resolves false on a wrong cookie, both sides log why, nothing is dispatched", async () => {
  const logs = await captureLogs("info");
  const a = await startTestNode("a", { cookie: "one" });
  const b = await startTestNode("b", { cookie: "two" });
  try {
    const sink = b.runtime.open();
    b.runtime.register("sink", sink.self);
    a.runtime.send({ name: "sink", node: b.name }, "must not arrive");
    assert.equal(await a.connect(b.address), false);
    await logs.waitFor(/Cannot connect to b@127\.0\.0\.1 at 127\.0\.0\.1:\d+: bad_cookie/);
    // Over TCP the address and port; between nodes on one machine, the Unix socket.
    await logs.waitFor(
      /Refused connection from (127\.0\.0\.1:\d+|unix:\S*) \(a@127\.0\.0\.1\): bad_cookie/,
    );
    assert.deepEqual(a.list("all"), []);
    assert.deepEqual(b.list("all"), []);
    await assert.rejects(sink.receive(undefined, { timeout: 100 }), { name: "TimeoutError" });
  } finally {
    await stopAll([a, b]);
    await logs.restore();
  }
});

Deno.test("simultaneous connects settle on one connection", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    a!.kernel.addAddress(b!.name, { hostname: "127.0.0.1", port: b!.port });
    b!.kernel.addAddress(a!.name, { hostname: "127.0.0.1", port: a!.port });
    const watcher = a!.runtime.open();
    a!.monitorNodes(watcher.self);
    for (let i = 0; i < 10; i++) {
      const [x, y] = await Promise.all([a!.connect(b!.name), b!.connect(a!.name)]);
      assert.ok(x && y, `round ${i}: ${x} ${y}`);
      await waitFor(() => a!.list().length === 1 && b!.list().length === 1);
      assert.equal(await a!.ping(b!.name), "pong");
      const up = await receiveMatching<NodeUpMessage>(watcher, isType("nodeup"));
      assert.equal(up.node, b!.name);
      await a!.disconnect(b!.name);
      await receiveMatching<NodeDownMessage>(watcher, isType("nodedown"));
      await waitFor(() => b!.list().length === 0);
    }
    await assert.rejects(watcher.receive(undefined, { timeout: 100 }), { name: "TimeoutError" });
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("a node claiming this node's name is refused, and a second node of a connected name replaces the first", async () => {
  const [a, b] = await startTestNodes(["a", "b"]);
  const b2 = await startTestNode("b");
  try {
    const impostor = await rawPeer(a!.port, a!.name, { name: a!.name });
    assert.ok(!impostor.result.ok && impostor.result.reason === "not_allowed");
    impostor.conn.close();

    const watcher = a!.runtime.open();
    a!.monitorNodes(watcher.self);
    assert.ok(await a!.connect(b!.address));
    await receiveMatching<NodeUpMessage>(watcher, isType("nodeup"));
    // Another node of the same name dials a: the old connection is replaced (OTP's "alive").
    assert.ok(await b2.connect(a!.address));
    const down = await receiveMatching<NodeDownMessage>(watcher, isType("nodedown"));
    assert.equal(down.node, "b@127.0.0.1");
    await receiveMatching<NodeUpMessage>(watcher, isType("nodeup"));
    await waitFor(() => b!.list().length === 0);
    const sink = b2.runtime.open();
    a!.runtime.send(sink.self, "to the new b");
    assert.equal(await sink.receive(undefined, { timeout: 3000 }), "to the new b");
  } finally {
    await stopAll([a, b, b2]);
  }
});

Deno.test("startNode() fails with AddrInUse on a taken port and TypeError on a bad name", async () => {
  const a = await startTestNode("a");
  try {
    await assert.rejects(startTestNode("b", { port: a.port }), (e: unknown) => {
      assert.ok(e instanceof Deno.errors.AddrInUse);
      assert.match((e as Error).message, /port \d+ on 127\.0\.0\.1 is already in use/);
      return true;
    });
    await assert.rejects(startNode({ name: "bad name@x", cookie: "c", noEpmd: true }), TypeError);
    await assert.rejects(startNode({ cookie: "c", noEpmd: true }), TypeError);
    await assert.rejects(startNode({ name: "x@127.0.0.1", cookie: "", noEpmd: true }), TypeError);
  } finally {
    await a.stop();
  }
});

Deno.test("garbage, a 4 GiB length, a slowloris and a stalled handshake are closed; the connected peer is unaffected", async () => {
  const deadline = 300;
  const [a, b] = await startTestNodes(["a", "b"], { handshakeTimeout: deadline });
  try {
    assert.ok(await a!.connect(b!.address));
    const sink = a!.runtime.open();
    const dial = () => Deno.connect({ hostname: "127.0.0.1", port: a!.port });
    // Each is closed by the node: a read ends (a guard turns a hang into a failure, it measures
    // nothing).
    const closed = async (conn: Deno.Conn, what: string) => {
      let guard: ReturnType<typeof setTimeout> | undefined;
      const hang = new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(`${what} was never closed`)), 60_000);
      });
      const drain = (async () => {
        try {
          while ((await conn.read(new Uint8Array(1024))) !== null) { /* discard */ }
        } catch {
          // reset: closed too
        }
      })();
      try {
        await Promise.race([drain, hang]);
      } finally {
        clearTimeout(guard);
        conn.close();
      }
    };

    const garbage = await dial();
    await garbage.write(crypto.getRandomValues(new Uint8Array(200)));
    const huge = await dial();
    await huge.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    const slow = await dial();
    let dripping = true;
    const hello = encodeFrame(encode([1, "weft", [1], "s@127.0.0.1", 1, 1, new Uint8Array(32)]));
    let dripped = 0;
    const drip = (async () => {
      for (let i = 0; dripping && i < hello.length; i++, dripped = i) {
        try {
          await slow.write(hello.subarray(i, i + 1));
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 200)); // the slow peer, not synchronisation
      }
    })();
    const stalled = await rawStall(a!.port);

    let drippedWhenClosed = -1;
    await Promise.all([
      closed(garbage, "random bytes"),
      closed(huge, "4 GiB length prefix"),
      closed(slow, "slowloris").then(() => drippedWhenClosed = dripped),
      // A valid HELLO and then silence: only the handshake deadline can close it.
      closed(stalled, "a peer that stops mid-handshake"),
    ]);
    dripping = false;
    await drip;
    // The slowloris was cut off by the deadline, not by a finished (or refused) HELLO.
    assert.ok(
      drippedWhenClosed < hello.length,
      `slowloris closed after ${drippedWhenClosed} of ${hello.length} bytes`,
    );
    // The established connection kept working throughout.
    assert.deepEqual(a!.list(), [b!.name]);
    b!.runtime.send(sink.self, "still here");
    assert.equal(await sink.receive(undefined, { timeout: 3000 }), "still here");
  } finally {
    await stopAll([a, b]);
  }
});

/** Sends a valid HELLO and then nothing. */
async function rawStall(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    encodeFrame(encode([1, "weft", [1], "stall@127.0.0.1", 1, 1, new Uint8Array(32)])),
  );
  return conn;
}

Deno.test("a malformed payload from an authenticated peer closes only that connection", async () => {
  const logs = await captureLogs("warning");
  const [a, b] = await startTestNodes(["a", "b"]);
  try {
    assert.ok(await a!.connect(b!.address));
    const watcher = a!.runtime.open();
    a!.monitorNodes(watcher.self);
    const raw = await rawPeer(a!.port, a!.name, { name: "evil@127.0.0.1" });
    assert.ok(raw.result.ok);
    await receiveMatching<NodeUpMessage>(watcher, isType("nodeup"));
    const bad = new Uint8Array([FRAME_MESSAGE, 0x82, 0x01, 0x63]); // [1, <truncated text>]
    await raw.conn.write(encodeFrame(bad));
    const down = await receiveMatching<NodeDownMessage>(watcher, isType("nodedown"));
    assert.deepEqual(down, {
      type: "nodedown",
      node: "evil@127.0.0.1",
      reason: "connection_closed",
    });
    await logs.waitFor(/evil@127\.0\.0\.1 is down: connection_closed \(DecodeError/);
    await untilClosed(raw.conn);
    raw.conn.close();
    assert.equal(await a!.ping(b!.name), "pong");
    assert.deepEqual(a!.list(), [b!.name]);
  } finally {
    await stopAll([a, b]);
    await logs.restore();
  }
});

/** A node in a child process; see test/helpers/node_child.ts. */
async function childNode(name: string, ticktime: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      new URL("./helpers/node_child.ts", import.meta.url).pathname,
      name,
      "test-cookie",
      String(ticktime),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`child node ${name} exited before it listened`);
    text += value;
  }
  reader.releaseLock();
  const { port } = JSON.parse(text.split("\n")[0]!) as { port: number };
  return {
    child,
    address: `${name}@127.0.0.1:${port}`,
    name: `${name}@127.0.0.1`,
    async close() {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited already
      }
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test("kill -9 of a peer process gives nodedown connection_closed and DOWN noconnection, not a tick timeout", async () => {
  const a = await startTestNode("a");
  const c = await childNode("killed", 4);
  try {
    assert.ok(await a.connect(c.address));
    const me = a.runtime.open();
    a.monitorNodes(me.self);
    me.monitor({ name: "sink", node: c.name });
    assert.equal(await a.ping(c.name), "pong");
    c.child.kill("SIGKILL");
    // Both sides tick every few seconds: connection_closed says the closed socket was noticed.
    const down = await receiveMatching<NodeDownMessage>(me, isType("nodedown"), 30_000);
    const mon = await receiveMatching<Down>(me, isType("DOWN"));
    assert.equal(down.reason, "connection_closed");
    assert.equal(mon.reason, "noconnection");
  } finally {
    await c.close();
    await a.stop();
  }
});

Deno.test("a SIGSTOPped peer is declared down with net_tick_timeout, its socket still open", async () => {
  const ticktime = 1;
  const a = await startTestNode("a", { netTicktimeSeconds: ticktime });
  const c = await childNode("stopped", ticktime);
  try {
    assert.ok(await a.connect(c.address));
    const me = a.runtime.open();
    a.monitorNodes(me.self);
    c.child.kill("SIGSTOP");
    const down = await receiveMatching<NodeDownMessage>(me, isType("nodedown"), 30_000);
    assert.equal(down.reason, "net_tick_timeout");
    c.child.kill("SIGCONT");
  } finally {
    await c.close();
    await a.stop();
  }
});

Deno.test("a 256 MiB message crosses a link with a 2 s tick time without a spurious nodedown", async () => {
  const a = await startTestNode("a", { netTicktimeSeconds: 2 });
  const c = await childNode("bulk", 2);
  try {
    assert.ok(await a.connect(c.address));
    const me = a.runtime.open();
    a.monitorNodes(me.self);
    const data = new Uint8Array(256 * 1024 * 1024);
    data[data.length - 1] = 7;
    me.send({ name: "sink", node: c.name }, { from: me.self, data });
    const reply = await receiveMatching<{ size: number }>(
      me,
      (m) => typeof (m as { size?: number }).size === "number",
      60_000,
    );
    assert.equal(reply.size, data.length);
    // Ticks went on during the transfer: the link is up, nothing reported down.
    assert.equal(await a.ping(c.name), "pong");
    await assert.rejects(me.receive(isType("nodedown"), { timeout: 100 }), {
      name: "TimeoutError",
    });
  } finally {
    await c.close();
    await a.stop();
  }
});

Deno.test("send() to {name, node: 'name@host:port'} uses the live connection to that node", async () => {
  const [a, b] = await startTestNodes(["portaddr_a", "portaddr_b"]);
  try {
    assert.equal(await a!.connect(b!.address), true);
    const server = b!.runtime.open();
    b!.runtime.register("srv", server.self);
    const watcher = a!.runtime.open();
    a!.monitorNodes(watcher.self);
    const client = a!.runtime.open();
    client.send({ name: "srv", node: b!.address }, "over the live link");
    assert.equal(await server.receive(undefined, { timeout: 5000 }), "over the live link");
    // The connection was not replaced: no nodedown, b still listed.
    assert.deepEqual(watcher.flush(), []);
    assert.deepEqual(a!.list(), [b!.name]);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("without a port mapper, nodes joining one member at the same moment still mesh with each other", async () => {
  for (let round = 0; round < 5; round++) {
    const [a, b, c] = await startTestNodes([`mesh${round}_a`, `mesh${round}_b`, `mesh${round}_c`]);
    try {
      // b and c dial a at once: a may tell one about the other before it
      // knows where the other listens (port 0), and must say so later.
      assert.deepEqual(await Promise.all([b!.connect(a!.address), c!.connect(a!.address)]), [
        true,
        true,
      ]);
      await waitFor(() => b!.list().length === 2 && c!.list().length === 2, {
        message: `round ${round}: b lists ${b!.list()}, c lists ${c!.list()}`,
      });
    } finally {
      await stopAll([a, b, c]);
    }
  }
});

Deno.test("startNode() takes a data directory, by default ~/.weft/data/<node name>", async () => {
  const a = await startNode({
    name: "a@127.0.0.1",
    cookie: "c",
    noEpmd: true,
    hostname: "127.0.0.1",
  });
  const b = await startNode({
    name: "b@127.0.0.1",
    cookie: "c",
    noEpmd: true,
    hostname: "127.0.0.1",
    dataDir: "/tmp/weft-b",
  });
  try {
    assert.ok(a.dataDir.endsWith("/.weft/data/a@127.0.0.1"));
    assert.equal(b.dataDir, "/tmp/weft-b");
    await assert.rejects(
      () => startNode({ name: "c@127.0.0.1", cookie: "c", noEpmd: true, dataDir: "" }),
      TypeError,
    );
  } finally {
    await a.stop();
    await b.stop();
  }
});
