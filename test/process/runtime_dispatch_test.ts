import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import type { DownMessage, ExitMessage, ProcessContext, Signal } from "../../src/process/types.ts";
import { Pid, Ref } from "../../src/term/pid.ts";
import { FakeNetwork, RecordingRouter } from "../helpers/fake_router.ts";
import { waitFor } from "../helpers/wait.ts";

const A = "a@localhost";
const B = "b@localhost";
const C = "c@localhost";

/** A runtime for node A with a recording router, and an open process. */
async function withRouted(
  fn: (rt: Runtime, me: ProcessContext, router: RecordingRouter) => Promise<void> | void,
): Promise<void> {
  const rt = new Runtime({ node: A, creation: 11 });
  const router = new RecordingRouter();
  rt.router = router;
  try {
    await fn(rt, rt.open({ label: "test" }), router);
  } finally {
    await rt.shutdown();
  }
}

function idle(ctx: ProcessContext): Promise<unknown> {
  return ctx.receive((m) => m === "never");
}

const remote = (id = 1, node = B, creation = 5) => new Pid(node, id, 0, creation);

Deno.test("send() to a remote pid goes to the router with its sender", async () => {
  await withRouted((rt, me, router) => {
    const to = remote();
    me.send(to, { hello: 1 });
    rt.send(to, "anonymous");
    assert.deepEqual(router.routed.map((r) => r.node), [B, B]);
    const [withFrom, without] = router.ofOp("send");
    assert.ok(withFrom!.to.equals(to));
    assert.deepEqual(withFrom!.msg, { hello: 1 });
    assert.ok(withFrom!.from!.equals(me.self));
    assert.equal("from" in without!, false);
  });
});

Deno.test("send() to {name, node} of another node is a reg_send", async () => {
  await withRouted((_rt, me, router) => {
    me.send({ name: "db", node: B }, "q");
    const [sig] = router.ofOp("reg_send");
    assert.deepEqual(sig!.to, { name: "db", node: B });
    assert.equal(sig!.msg, "q");
    assert.ok(sig!.from!.equals(me.self));
  });
});

Deno.test("send() lets a TypeError from the router (a message that cannot cross) through", async () => {
  await withRouted((_rt, me, router) => {
    router.onRoute = () => {
      throw new TypeError("Cannot encode: function at msg.fn");
    };
    assert.throws(() => me.send(remote(), { fn: () => {} }), TypeError);
  });
});

Deno.test("send() to a remote pid without a router is dropped: not delivered here, not kept for later", async () => {
  const rt = new Runtime({ node: A });
  try {
    const local = rt.open({ label: "x" });
    rt.register("x", local.self);
    rt.send(remote(), "lost");
    rt.send({ name: "x", node: B }, "lost");
    // Not taken for the local process of the same name.
    await assert.rejects(local.receive((m) => m === "lost", { timeout: 0 }), {
      name: "TimeoutError",
    });
    // Not queued: a router installed afterwards sees only what is sent from then on.
    const router = new RecordingRouter();
    rt.router = router;
    rt.send(remote(), "routed");
    assert.deepEqual(router.ofOp("send").map((s) => s.msg), ["routed"]);
    assert.deepEqual(router.ofOp("reg_send"), []);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("link() to a remote pid routes link; the local exit routes link_exit", async () => {
  await withRouted(async (rt, _me, router) => {
    const other = remote(9);
    const pid = rt.spawn(idle);
    rt.link(pid, other);
    rt.link(pid, other); // already linked: nothing more routed
    assert.deepEqual(router.ops(), ["link"]);
    const [link] = router.ofOp("link");
    assert.ok(link!.from.equals(pid) && link!.to.equals(other));
    assert.ok(rt.info(pid)!.links[0]!.equals(other));
    rt.exit(pid, "crash");
    const [exit] = router.ofOp("link_exit");
    assert.ok(exit!.from.equals(pid) && exit!.to.equals(other));
    assert.equal(exit!.reason, "crash");
    await null;
  });
});

Deno.test("unlink() of a remote pid routes unlink", async () => {
  await withRouted((_rt, me, router) => {
    const other = remote(9);
    me.link(other);
    me.unlink(other);
    me.unlink(other);
    assert.deepEqual(router.ops(), ["link", "unlink"]);
    me.exit("crash");
    assert.deepEqual(router.ops(), ["link", "unlink"], "no link_exit after unlink");
  });
});

Deno.test("monitor() of a remote pid or name routes monitor; demonitor and the watcher's exit route demonitor", async () => {
  await withRouted((_rt, me, router) => {
    const byPid = me.monitor(remote(4));
    const byName = me.monitor({ name: "db", node: B });
    const [m1, m2] = router.ofOp("monitor");
    assert.equal(m1!.ref, byPid);
    assert.ok((m1!.to as Pid).equals(remote(4)));
    assert.ok(m1!.from.equals(me.self));
    assert.deepEqual(m2!.to, { name: "db", node: B });
    assert.equal(me.demonitor(byPid), true);
    const [d1] = router.ofOp("demonitor");
    assert.equal(d1!.ref, byPid);
    me.exit("bye");
    const [, d2] = router.ofOp("demonitor");
    assert.equal(d2!.ref, byName);
    assert.deepEqual(d2!.to, { name: "db", node: B });
  });
});

Deno.test("exit() to a remote pid routes exit with its sender", async () => {
  await withRouted((rt, me, router) => {
    rt.exit(remote(2), "stop", me.self);
    const [sig] = router.ofOp("exit");
    assert.ok(sig!.from.equals(me.self));
    assert.equal(sig!.reason, "stop");
  });
});

Deno.test("dispatch(send) delivers to a live process; dead, stale and foreign pids are dropped", async () => {
  await withRouted(async (rt, me) => {
    const from = remote();
    rt.dispatch({ op: "send", to: me.self, msg: "hi", from });
    assert.equal(await me.receive(), "hi");
    rt.dispatch({ op: "send", to: new Pid(A, me.self.id, 0, 12), msg: "stale" });
    rt.dispatch({ op: "send", to: new Pid(A, 999, 0, 11), msg: "nobody" });
    rt.dispatch({ op: "send", to: new Pid(C, me.self.id, 0, 11), msg: "other node" });
    assert.equal(rt.info(me.self)!.messageQueueLen, 0);
  });
});

Deno.test("dispatch(reg_send) delivers to the registered name, drops an unknown one", async () => {
  await withRouted(async (rt, me) => {
    rt.register("shell", me.self);
    rt.dispatch({ op: "reg_send", to: { name: "shell", node: A }, msg: 1, from: remote() });
    rt.dispatch({ op: "reg_send", to: { name: "nobody", node: A }, msg: 2 });
    assert.equal(await me.receive(), 1);
    assert.equal(rt.info(me.self)!.messageQueueLen, 0);
  });
});

Deno.test("dispatch(link) links a live process; its exit routes link_exit back", async () => {
  await withRouted((rt, _me, router) => {
    const pid = rt.spawn(idle);
    const from = remote(3);
    rt.dispatch({ op: "link", from, to: pid });
    assert.ok(rt.info(pid)!.links[0]!.equals(from));
    assert.equal(router.routed.length, 0);
    rt.exit(pid, "crash");
    const [sig] = router.ofOp("link_exit");
    assert.ok(sig!.from.equals(pid) && sig!.to.equals(from));
    assert.equal(sig!.reason, "crash");
  });
});

Deno.test("dispatch(link) to a dead or stale process answers link_exit 'noproc'", async () => {
  await withRouted((rt, _me, router) => {
    const dead = rt.open();
    dead.exit();
    const from = remote(3);
    const stale = new Pid(A, 1, 0, 99);
    rt.dispatch({ op: "link", from, to: dead.self });
    rt.dispatch({ op: "link", from, to: stale });
    const replies = router.ofOp("link_exit");
    assert.equal(replies.length, 2);
    assert.ok(replies[0]!.from.equals(dead.self) && replies[0]!.to.equals(from));
    assert.ok(replies[1]!.from.equals(stale));
    assert.ok(replies.every((r) => r.reason === "noproc"));
    assert.ok(router.routed.every((r) => r.node === B));
  });
});

Deno.test("dispatch(link_exit) takes a linked process along, or messages it if it traps", async () => {
  await withRouted(async (rt, me) => {
    const other = remote(3);
    const pid = rt.spawn(idle);
    rt.link(pid, other);
    const ref = me.monitor(pid);
    rt.dispatch({ op: "link_exit", from: other, to: pid, reason: "remote crash" });
    const down = await me.receive<DownMessage>();
    assert.equal(down.ref, ref);
    assert.equal(down.reason, "remote crash");

    me.trapExit(true);
    me.link(other);
    rt.dispatch({ op: "link_exit", from: other, to: me.self, reason: "normal" });
    const msg = await me.receive<ExitMessage>();
    assert.ok(msg.from.equals(other));
    assert.equal(msg.reason, "normal");
    assert.deepEqual(rt.info(me.self)!.links, []);
  });
});

Deno.test("dispatch(link_exit) without a link (never made, or unlinked) is ignored", async () => {
  await withRouted((rt, me) => {
    const other = remote(3);
    const pid = rt.spawn(idle);
    rt.dispatch({ op: "link_exit", from: other, to: pid, reason: "x" });
    assert.ok(rt.isAlive(pid));
    me.link(other);
    me.unlink(other);
    rt.dispatch({ op: "link_exit", from: other, to: me.self, reason: "late" });
    assert.ok(rt.isAlive(me.self));
  });
});

Deno.test("dispatch(unlink) removes the link made by the remote process", async () => {
  await withRouted((rt, _me, router) => {
    const pid = rt.spawn(idle);
    const from = remote(3);
    rt.dispatch({ op: "link", from, to: pid });
    rt.dispatch({ op: "unlink", from, to: pid });
    assert.deepEqual(rt.info(pid)!.links, []);
    rt.exit(pid, "x");
    assert.deepEqual(router.ofOp("link_exit"), []);
  });
});

Deno.test("dispatch(exit) applies exit/2: kill, trapping, normal", async () => {
  await withRouted(async (rt, me) => {
    const from = remote(3);
    const trapping = rt.spawn(idle, { trapExit: true });
    rt.dispatch({ op: "exit", from, to: trapping, reason: "kill" });
    assert.equal(rt.isAlive(trapping), false);

    me.trapExit(true);
    rt.dispatch({ op: "exit", from, to: me.self, reason: "stop" });
    const msg = await me.receive<ExitMessage>();
    assert.ok(msg.from.equals(from));
    assert.equal(msg.reason, "stop");

    const plain = rt.spawn(idle);
    rt.dispatch({ op: "exit", from, to: plain, reason: "normal" });
    assert.ok(rt.isAlive(plain));
    rt.dispatch({ op: "exit", from, to: plain, reason: "bye" });
    assert.equal(rt.isAlive(plain), false);
  });
});

Deno.test("dispatch(monitor) of a live process routes down when it exits", async () => {
  await withRouted((rt, _me, router) => {
    const pid = rt.spawn(idle, { name: "db" });
    const from = remote(3);
    const ref1 = new Ref(B, 1, 5);
    const ref2 = new Ref(B, 2, 5);
    rt.dispatch({ op: "monitor", from, to: pid, ref: ref1 });
    rt.dispatch({ op: "monitor", from, to: { name: "db", node: A }, ref: ref2 });
    assert.equal(rt.info(pid)!.monitoredBy.length, 2);
    rt.exit(pid, "gone");
    const downs = router.ofOp("down");
    assert.equal(downs.length, 2);
    const byRef = new Map(downs.map((d) => [d.ref, d]));
    assert.ok((byRef.get(ref1)!.from as Pid).equals(pid));
    assert.deepEqual(byRef.get(ref2)!.from, { name: "db", node: A });
    assert.ok(downs.every((d) => d.to.equals(from) && d.reason === "gone"));
  });
});

Deno.test("dispatch(monitor) of a dead, stale or unknown name answers down 'noproc'", async () => {
  await withRouted((rt, _me, router) => {
    const from = remote(3);
    const dead = rt.open();
    dead.exit();
    rt.dispatch({ op: "monitor", from, to: dead.self, ref: new Ref(B, 1, 5) });
    rt.dispatch({ op: "monitor", from, to: new Pid(A, 1, 0, 1), ref: new Ref(B, 2, 5) });
    rt.dispatch({ op: "monitor", from, to: { name: "nobody", node: A }, ref: new Ref(B, 3, 5) });
    const downs = router.ofOp("down");
    assert.deepEqual(downs.map((d) => d.reason), ["noproc", "noproc", "noproc"]);
    assert.deepEqual(downs.map((d) => d.ref.id), [1, 2, 3]);
    assert.deepEqual(downs[2]!.from, { name: "nobody", node: A });
  });
});

Deno.test("dispatch(demonitor) removes a remote watcher's monitor", async () => {
  await withRouted((rt, _me, router) => {
    const pid = rt.spawn(idle);
    const from = remote(3);
    const ref = new Ref(B, 1, 5);
    rt.dispatch({ op: "monitor", from, to: pid, ref });
    rt.dispatch({ op: "demonitor", from, to: pid, ref });
    rt.dispatch({ op: "demonitor", from, to: pid, ref }); // twice: nothing
    assert.deepEqual(rt.info(pid)!.monitoredBy, []);
    rt.exit(pid, "x");
    assert.deepEqual(router.ofOp("down"), []);
  });
});

Deno.test("dispatch(down) delivers DOWN for a monitor of a remote process, once", async () => {
  await withRouted(async (rt, me) => {
    const target = remote(4);
    const ref = me.monitor(target);
    rt.dispatch({ op: "down", from: target, to: me.self, ref, reason: "remote exit" });
    rt.dispatch({ op: "down", from: target, to: me.self, ref, reason: "again" });
    const down = await me.receive<DownMessage>();
    assert.equal(down.ref, ref);
    assert.ok((down.pid as Pid).equals(target));
    assert.equal(down.reason, "remote exit");
    assert.equal(rt.info(me.self)!.messageQueueLen, 0);
    // A down for a ref this process never made is ignored.
    rt.dispatch({ op: "down", from: target, to: me.self, ref: rt.makeRef(), reason: "?" });
    rt.dispatch({ op: "down", from: target, to: me.self, ref: new Ref(B, 1, 5), reason: "?" });
    assert.equal(rt.info(me.self)!.messageQueueLen, 0);
  });
});

Deno.test("nodeDown() fires links and monitors on that node with 'noconnection', and only those", async () => {
  await withRouted(async (rt, me, router) => {
    const onB = remote(1, B);
    const onC = remote(1, C);
    const linked = rt.spawn(idle);
    rt.link(linked, onB);
    rt.link(linked, onC);
    me.trapExit(true);
    me.link(onB);
    const refB = me.monitor(onB);
    const refName = me.monitor({ name: "db", node: B });
    const refC = me.monitor(onC);
    const watch = me.monitor(linked);
    // A process on B watches and links a local one: the watch is forgotten,
    // the link fires (the local side traps, so it gets a message).
    const target = rt.open({ trapExit: true });
    rt.dispatch({ op: "monitor", from: onB, to: target.self, ref: new Ref(B, 1, 5) });
    rt.dispatch({ op: "link", from: onB, to: target.self });

    rt.nodeDown(B);

    const got = me.flush();
    const exit = got.find((m) => (m as ExitMessage).type === "EXIT") as ExitMessage;
    assert.ok(exit.from.equals(onB));
    assert.equal(exit.reason, "noconnection");
    const downs = got.filter((m) => (m as DownMessage).type === "DOWN") as DownMessage[];
    const byRef = new Map(downs.map((d) => [d.ref, d.reason]));
    assert.equal(byRef.get(refB), "noconnection");
    assert.equal(byRef.get(refName), "noconnection");
    assert.equal(byRef.get(watch), "noconnection", "the linked process died of its link to B");
    assert.equal(byRef.has(refC), false, "C is still up");
    assert.deepEqual(rt.info(target.self)!.monitoredBy, []);
    assert.deepEqual(rt.info(target.self)!.links, []);
    const targetGot = target.flush() as ExitMessage[];
    assert.deepEqual(targetGot.map((m) => [m.type, m.reason]), [["EXIT", "noconnection"]]);
    assert.ok(targetGot[0]!.from.equals(onB));
    rt.exit(target.self, "kill");
    assert.deepEqual(router.ofOp("down"), [], "no DOWN is routed to a node that is gone");
    assert.equal(rt.info(me.self)!.monitors.length, 1);
    rt.nodeDown(B); // again: nothing left
    rt.nodeDown("z@localhost");
    assert.throws(() => rt.nodeDown(1 as never), TypeError);
    await null;
  });
});

Deno.test("dispatch() rejects malformed signals with TypeError", async () => {
  await withRouted((rt, me) => {
    const bad: unknown[] = [
      null,
      "send",
      { op: "nope" },
      { op: "send", to: "pid", msg: 1 },
      { op: "reg_send", to: "name", msg: 1 },
      { op: "link", from: "x", to: me.self },
      { op: "link", from: me.self, to: me.self },
      { op: "monitor", from: remote(), to: me.self, ref: "r" },
      { op: "monitor", from: remote(), to: 5, ref: new Ref(B, 1, 1) },
      { op: "down", from: remote(), to: me.self, ref: 1, reason: "x" },
      { op: "exit", from: remote(), to: null, reason: "x" },
    ];
    for (const signal of bad) {
      assert.throws(() => rt.dispatch(signal as Signal), TypeError, JSON.stringify(signal));
    }
    assert.ok(rt.isAlive(me.self));
  });
});

Deno.test("an exit reason the router cannot encode is sent as text", async () => {
  await withRouted((rt, _me, router) => {
    const pid = rt.spawn(idle);
    rt.link(pid, remote());
    router.onRoute = (_node, signal) => {
      if ("reason" in signal && typeof signal.reason !== "string") {
        throw new TypeError("Cannot encode: function at reason.fn");
      }
    };
    rt.exit(pid, { fn: () => 1 });
    // Both attempts were recorded; the second carries the described reason.
    const [first, second] = router.ofOp("link_exit");
    assert.equal(typeof first!.reason, "object");
    assert.equal(typeof second!.reason, "string");
  });
});

Deno.test("a router that answers at once with noconnection is handled", async () => {
  await withRouted(async (rt, me, router) => {
    router.onRoute = (_node, signal) => {
      if (signal.op === "link") {
        rt.dispatch({
          op: "link_exit",
          from: signal.to,
          to: signal.from,
          reason: "noconnection",
        });
      }
      if (signal.op === "monitor") {
        rt.dispatch({
          op: "down",
          from: signal.to,
          to: signal.from,
          ref: signal.ref,
          reason: "noconnection",
        });
      }
    };
    me.trapExit(true);
    me.link(remote());
    const ref = me.monitor(remote(2));
    const got = me.flush() as (ExitMessage | DownMessage)[];
    assert.deepEqual(got.map((m) => [m.type, m.reason]), [
      ["EXIT", "noconnection"],
      ["DOWN", "noconnection"],
    ]);
    assert.equal((got[1] as DownMessage).ref, ref);
    assert.deepEqual(rt.info(me.self)!.links, []);
    assert.deepEqual(rt.info(me.self)!.monitors, []);
    await null;
  });
});

Deno.test("two runtimes on a fake network: messages, links and monitors across nodes", async () => {
  const a = new Runtime({ node: A });
  const b = new Runtime({ node: B });
  new FakeNetwork([a, b]);
  try {
    const server = b.spawn(async (ctx) => {
      while (true) {
        const m = await ctx.receive<{ from: Pid; n: number }>();
        ctx.send(m.from, m.n * 2);
      }
    }, { name: "doubler" });
    const client = a.open({ trapExit: true });
    client.send({ name: "doubler", node: B }, { from: client.self, n: 21 });
    assert.equal(await client.receive(undefined, { timeout: 2000 }), 42);

    client.link(server);
    const ref = client.monitor(server);
    await waitFor(() =>
      b.info(server)!.links.length === 1 && b.info(server)!.monitoredBy.length === 1
    );
    b.exit(server, "shutdown");
    const got = [
      await client.receive<ExitMessage | DownMessage>(undefined, { timeout: 2000 }),
      await client.receive<ExitMessage | DownMessage>(undefined, { timeout: 2000 }),
    ];
    assert.deepEqual(got.map((m) => [m.type, m.reason]).sort(), [
      ["DOWN", "shutdown"],
      ["EXIT", "shutdown"],
    ]);
    assert.equal((got.find((m) => m.type === "DOWN") as DownMessage).ref, ref);

    // A remote process killed by a link from here.
    const remoteWorker = b.spawn(idle);
    const local = a.spawn(idle);
    a.link(local, remoteWorker);
    await waitFor(() => b.info(remoteWorker)!.links.length === 1);
    a.exit(local, "boom");
    await waitFor(() => !b.isAlive(remoteWorker));

    // A stale pid from an "earlier incarnation" of b never reaches a process.
    const stale = new Pid(B, client.self.id, 0, b.creation + 1);
    const probe = a.open();
    probe.monitor(stale);
    assert.equal((await probe.receive<DownMessage>(undefined, { timeout: 2000 })).reason, "noproc");
  } finally {
    await a.shutdown();
    await b.shutdown();
  }
});

Deno.test("two runtimes on a fake network: a cut connection gives 'noconnection' both ways", async () => {
  const a = new Runtime({ node: A });
  const b = new Runtime({ node: B });
  const net = new FakeNetwork([a, b]);
  try {
    const onB = b.spawn(idle);
    const watcherOnB = b.open({ trapExit: true });
    const onA = a.open({ trapExit: true });
    onA.link(onB);
    const ref = onA.monitor(onB);
    watcherOnB.link(onA.self);
    await waitFor(() => b.info(onB)!.links.length === 1 && a.info(onA.self)!.links.length === 2);
    net.disconnect(A, B);
    const atA = onA.flush() as (ExitMessage | DownMessage)[];
    assert.deepEqual(atA.map((m) => [m.type, m.reason]).sort(), [
      ["DOWN", "noconnection"],
      ["EXIT", "noconnection"],
      ["EXIT", "noconnection"],
    ]);
    assert.equal((atA.find((m) => m.type === "DOWN") as DownMessage).ref, ref);
    const atB = watcherOnB.flush() as ExitMessage[];
    assert.deepEqual(atB.map((m) => m.reason), ["noconnection"]);
    assert.ok(atB[0]!.from.equals(onA.self));
    assert.equal(b.isAlive(onB), false, "b's process linked to a's dies of noconnection");

    // While cut, new links and monitors get noconnection through the router.
    const probe = a.open({ trapExit: true });
    probe.link(watcherOnB.self);
    probe.monitor(watcherOnB.self);
    const m1 = await probe.receive<ExitMessage | DownMessage>(undefined, { timeout: 2000 });
    const m2 = await probe.receive<ExitMessage | DownMessage>(undefined, { timeout: 2000 });
    assert.deepEqual([m1.reason, m2.reason], ["noconnection", "noconnection"]);
  } finally {
    await a.shutdown();
    await b.shutdown();
  }
});
