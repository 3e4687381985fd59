import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import type { DownMessage, ProcessContext, RemoteName } from "../../src/process/types.ts";
import { Pid, Ref } from "../../src/term/pid.ts";

async function withRuntime(
  fn: (rt: Runtime, me: ProcessContext) => Promise<void> | void,
): Promise<void> {
  const rt = new Runtime({ node: "a@localhost" });
  try {
    await fn(rt, rt.open({ label: "test" }));
  } finally {
    await rt.shutdown();
  }
}

function idle(ctx: ProcessContext): Promise<unknown> {
  return ctx.receive((m) => m === "never");
}

function isDown(ref: Ref): (m: unknown) => boolean {
  return (m) => (m as DownMessage).type === "DOWN" && (m as DownMessage).ref === ref;
}

Deno.test("monitor() delivers DOWN with the exit reason and the pid", async () => {
  await withRuntime(async (rt, me) => {
    const pid = rt.spawn(idle);
    const ref = me.monitor(pid);
    assert.ok(ref instanceof Ref);
    rt.exit(pid, "bye");
    const down = await me.receive<DownMessage>();
    assert.equal(down.type, "DOWN");
    assert.equal(down.ref, ref);
    assert.ok((down.pid as Pid).equals(pid));
    assert.equal(down.reason, "bye");
    assert.deepEqual(rt.info(me.self)!.monitors, [], "a fired monitor is gone");
  });
});

Deno.test("monitor() is one-way: the watcher's exit does not touch the target", async () => {
  await withRuntime((rt) => {
    const target = rt.spawn(idle);
    const watcher = rt.open();
    watcher.monitor(target);
    assert.equal(rt.info(target)!.monitoredBy.length, 1);
    watcher.exit("crash");
    assert.ok(rt.isAlive(target));
    assert.deepEqual(rt.info(target)!.monitoredBy, [], "a dead watcher's monitor is removed");
  });
});

Deno.test("monitor() of a dead, unknown or stale pid gives DOWN 'noproc' at once", async () => {
  await withRuntime(async (rt, me) => {
    const dead = rt.open();
    dead.exit();
    const targets = [
      dead.self,
      new Pid(rt.node, 777777, 0, rt.creation),
      new Pid(rt.node, me.self.id, 0, rt.creation + 1),
    ];
    for (const target of targets) {
      const ref = me.monitor(target);
      const down = await me.receive<DownMessage>(undefined, { timeout: 0 });
      assert.equal(down.ref, ref);
      assert.equal(down.reason, "noproc");
      assert.ok((down.pid as Pid).equals(target));
    }
  });
});

Deno.test("monitor() by name: DOWN names {name, node}; an unknown name gives 'noproc'", async () => {
  await withRuntime(async (rt, me) => {
    const pid = rt.spawn(idle, { name: "db" });
    const byName = me.monitor("db");
    const byTuple = me.monitor({ name: "db", node: rt.node });
    assert.deepEqual(rt.info(me.self)!.monitors, [
      { name: "db", node: rt.node },
      { name: "db", node: rt.node },
    ]);
    rt.exit(pid, "stopped");
    for (const ref of [byName, byTuple]) {
      const down = await me.receive<DownMessage>(isDown(ref));
      assert.deepEqual(down.pid, { name: "db", node: rt.node } satisfies RemoteName);
      assert.equal(down.reason, "stopped");
    }
    const none = me.monitor("nobody");
    const down = await me.receive<DownMessage>(isDown(none), { timeout: 0 });
    assert.deepEqual(down.pid, { name: "nobody", node: rt.node });
    assert.equal(down.reason, "noproc");
  });
});

Deno.test("monitor() by name follows the process, not the name", async () => {
  await withRuntime(async (rt, me) => {
    const first = rt.spawn(idle, { name: "svc" });
    const ref = me.monitor("svc");
    rt.unregister("svc");
    rt.spawn(idle, { name: "svc" });
    rt.exit(first, "old one");
    assert.equal((await me.receive<DownMessage>(isDown(ref))).reason, "old one");
  });
});

Deno.test("demonitor() stops the DOWN and says whether the monitor was active", async () => {
  await withRuntime(async (rt, me) => {
    const pid = rt.spawn(idle);
    const ref = me.monitor(pid);
    assert.equal(me.demonitor(ref), true);
    assert.equal(me.demonitor(ref), false);
    assert.deepEqual(rt.info(pid)!.monitoredBy, []);
    rt.exit(pid, "gone");
    await assert.rejects(me.receive(undefined, { timeout: 0 }));
    assert.equal(me.demonitor(new Ref("b@localhost", 1, 1)), false);
    assert.throws(() => me.demonitor("ref" as never), TypeError);
  });
});

Deno.test("demonitor() with flush removes a DOWN already delivered", async () => {
  await withRuntime((rt, me) => {
    const pid = rt.spawn(idle);
    const ref = me.monitor(pid);
    const other = me.monitor(rt.spawn(idle));
    me.send(me.self, "keep");
    rt.exit(pid, "gone");
    assert.equal(rt.info(me.self)!.messageQueueLen, 2);
    assert.equal(me.demonitor(ref, { flush: true }), false, "it had already fired");
    assert.deepEqual(me.flush(), ["keep"]);
    assert.equal(me.demonitor(other, { flush: true }), true);
  });
});

Deno.test("spawnMonitor() returns the pid and the ref of a monitor set before it runs", async () => {
  await withRuntime(async (rt, me) => {
    const [pid, ref] = me.spawnMonitor(() => {
      throw "early";
    });
    const down = await me.receive<DownMessage>();
    assert.equal(down.ref, ref);
    assert.ok((down.pid as Pid).equals(pid));
    assert.equal(down.reason, "early");
    assert.throws(() => rt.spawnMonitor(new Pid("b@localhost", 1, 0, 1), () => {}), TypeError);
  });
});

Deno.test("several monitors on one process each get their own DOWN", async () => {
  await withRuntime(async (rt, me) => {
    const pid = rt.spawn(idle);
    const other = rt.open();
    const refs = [me.monitor(pid), me.monitor(pid), other.monitor(pid)];
    assert.equal(rt.info(pid)!.monitoredBy.length, 3);
    rt.exit(pid, "x");
    assert.equal((await me.receive<DownMessage>(isDown(refs[0]!))).reason, "x");
    assert.equal((await me.receive<DownMessage>(isDown(refs[1]!))).reason, "x");
    assert.equal((await other.receive<DownMessage>(isDown(refs[2]!))).reason, "x");
  });
});

Deno.test("a process may monitor itself; it never sees its own DOWN", async () => {
  await withRuntime((rt, me) => {
    const ctx = rt.open();
    ctx.monitor(ctx.self);
    const ref = me.monitor(ctx.self);
    ctx.exit("done");
    const down = me.flush() as DownMessage[];
    assert.equal(down.length, 1);
    assert.equal(down[0]!.ref, ref);
  });
});

Deno.test("monitor() of a remote process without distribution gives 'noconnection'", async () => {
  await withRuntime(async (_rt, me) => {
    const pidRef = me.monitor(new Pid("b@localhost", 1, 0, 1));
    const nameRef = me.monitor({ name: "db", node: "b@localhost" });
    assert.equal((await me.receive<DownMessage>(isDown(pidRef))).reason, "noconnection");
    const down = await me.receive<DownMessage>(isDown(nameRef));
    assert.equal(down.reason, "noconnection");
    assert.deepEqual(down.pid, { name: "db", node: "b@localhost" });
  });
});

Deno.test("monitor() rejects a malformed watcher or target", async () => {
  await withRuntime((rt, me) => {
    assert.throws(() => rt.monitor("x" as never, me.self), TypeError);
    assert.throws(() => rt.monitor(new Pid("b@localhost", 1, 0, 1), me.self), TypeError);
    assert.throws(() => me.monitor(42 as never), TypeError);
    assert.throws(() => me.monitor({ name: "x" } as never), TypeError);
    assert.throws(() => me.monitor(""), TypeError);
  });
});

Deno.test("monitor() on behalf of a dead watcher does nothing", async () => {
  await withRuntime((rt) => {
    const dead = rt.open();
    dead.exit();
    const target = rt.spawn(idle);
    const ref = rt.monitor(dead.self, target);
    assert.ok(ref instanceof Ref);
    assert.deepEqual(rt.info(target)!.monitoredBy, []);
    assert.equal(rt.demonitor(dead.self, ref), false);
  });
});

Deno.test("monitor() of {name, node: 'name@host:port'} is indexed by node name, so its node going down is noconnection", async () => {
  const rt = new Runtime({ node: "a@127.0.0.1" });
  const routed: string[] = [];
  rt.router = { route: (node) => void routed.push(node) };
  const me = rt.open();
  const ref = rt.monitor(me.self, { name: "srv", node: "ghost@127.0.0.1:4000" });
  assert.deepEqual(routed, ["ghost@127.0.0.1:4000"]);
  rt.nodeDown("ghost@127.0.0.1");
  const down = await me.receive<{ ref: unknown; reason: unknown; pid: unknown }>(undefined, {
    timeout: 1000,
  });
  assert.ok(ref.equals(down.ref));
  assert.equal(down.reason, "noconnection");
  assert.deepEqual(down.pid, { name: "srv", node: "ghost@127.0.0.1" });
  await rt.shutdown();
});
