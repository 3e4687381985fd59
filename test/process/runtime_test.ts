import assert from "node:assert/strict";
import { reset } from "@logtape/logtape";
import { NameError, NotAliveError, ProcessExitError, TimeoutError } from "../../src/errors.ts";
import { configureLogging, setLogWriter } from "../../src/log.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { DownMessage, ProcessContext } from "../../src/process/types.ts";
import { Pid, Ref } from "../../src/term/pid.ts";
import { deferred, waitFor } from "../helpers/wait.ts";

/** Runs `fn` with a fresh runtime and an open process, shutting both down after. */
async function withRuntime(
  fn: (rt: Runtime, me: ProcessContext) => Promise<void> | void,
  options?: { node?: string },
): Promise<void> {
  const rt = new Runtime(options);
  try {
    await fn(rt, rt.open({ label: "test" }));
  } finally {
    await rt.shutdown();
  }
}

/** Waits for the DOWN message of a monitor on `pid` and returns its reason. */
async function exitReasonOf(rt: Runtime, pid: Pid): Promise<unknown> {
  const watcher = rt.open();
  const ref = watcher.monitor(pid);
  const down = await watcher.receive<DownMessage>((m) => (m as DownMessage).ref === ref, {
    timeout: 2000,
  });
  watcher.exit();
  return down.reason;
}

Deno.test("Runtime() defaults to nonode@nohost with a random nonzero creation", () => {
  const a = new Runtime();
  const b = new Runtime();
  assert.equal(a.node, "nonode@nohost");
  assert.ok(Number.isInteger(a.creation) && a.creation > 0 && a.creation <= 0xffffffff);
  assert.notEqual(a.creation, b.creation);
  assert.equal(new Runtime({ node: "a@localhost", creation: 7 }).creation, 7);
});

Deno.test("Runtime() rejects a bad node name or creation", () => {
  assert.throws(() => new Runtime({ node: "nohost" }), TypeError);
  assert.throws(() => new Runtime({ creation: 0 }), RangeError);
  assert.throws(() => new Runtime({ creation: 2 ** 32 }), RangeError);
  assert.throws(() => new Runtime({ creation: 1.5 }), RangeError);
});

Deno.test("spawn() runs the body after the caller yields, with its own context", async () => {
  await withRuntime(async (rt, me) => {
    let ran: ProcessContext | undefined;
    const pid = rt.spawn((ctx) => {
      ran = ctx;
      ctx.send(me.self, "ran");
    });
    assert.equal(ran, undefined, "body must not run inside spawn()");
    assert.equal(pid.node, rt.node);
    assert.equal(pid.creation, rt.creation);
    assert.equal(await me.receive(undefined, { timeout: 1000 }), "ran");
    assert.ok(ran!.self.equals(pid));
    assert.equal(ran!.runtime, rt);
  });
});

Deno.test("spawn() exits normal when the body returns, with the error when it throws", async () => {
  await withRuntime(async (rt, me) => {
    const [, okRef] = rt.spawnMonitor(me.self, () => 42);
    const [, asyncRef] = rt.spawnMonitor(me.self, async () => {
      await null;
      return 1;
    });
    const boom = new Error("boom");
    const [, syncThrowRef] = rt.spawnMonitor(me.self, () => {
      throw boom;
    });
    const [, asyncThrowRef] = rt.spawnMonitor(me.self, async () => {
      await null;
      throw "bad";
    });
    const reasons = new Map<Ref, unknown>();
    for (let i = 0; i < 4; i++) {
      const down = await me.receive<DownMessage>();
      reasons.set(down.ref, down.reason);
    }
    assert.equal(reasons.get(okRef), "normal");
    assert.equal(reasons.get(asyncRef), "normal");
    assert.equal(reasons.get(syncThrowRef), boom);
    assert.equal(reasons.get(asyncThrowRef), "bad");
  }, { node: "a@localhost" });
});

Deno.test("spawn() rejects a non-function and malformed options with TypeError", async () => {
  await withRuntime((rt) => {
    assert.throws(() => rt.spawn(42 as never), TypeError);
    assert.throws(() => rt.spawn(() => {}, { name: "" }), TypeError);
    assert.throws(() => rt.spawn(() => {}, { link: "x" as never }), TypeError);
    assert.throws(() => rt.spawn(() => {}, { trapExit: "yes" as never }), TypeError);
    assert.throws(() => rt.spawn(() => {}, { label: 1 as never }), TypeError);
    assert.throws(() => rt.spawn(() => {}, null as never), TypeError);
  });
});

Deno.test("spawn() with a taken name throws NameError and starts nothing", async () => {
  await withRuntime(async (rt) => {
    const first = rt.spawn((ctx) => ctx.receive(), { name: "svc" });
    assert.ok(rt.whereis("svc")!.equals(first));
    const before = rt.list().length;
    let ran = false;
    assert.throws(() => rt.spawn(() => void (ran = true), { name: "svc" }), NameError);
    await null;
    await null;
    assert.equal(ran, false);
    assert.equal(rt.list().length, before);
  });
});

Deno.test("spawn() with trapExit and label options", async () => {
  await withRuntime((rt) => {
    const pid = rt.spawn((ctx) => ctx.receive(), { trapExit: true, label: "worker" });
    const info = rt.info(pid)!;
    assert.equal(info.trapExit, true);
    assert.equal(info.label, "worker");
    const named = rt.spawn(function server(ctx) {
      return ctx.receive();
    });
    assert.equal(rt.info(named)!.label, "server");
  });
});

Deno.test("send() delivers messages from one process to another in send order", async () => {
  await withRuntime(async (rt, me) => {
    const n = 2000;
    const got: number[] = [];
    const done = deferred<void>();
    const sink = rt.spawn(async (ctx) => {
      for (let i = 0; i < n; i++) got.push(await ctx.receive<number>());
      done.resolve();
    });
    rt.spawn((ctx) => {
      for (let i = 0; i < n; i++) ctx.send(sink, i);
    });
    await done.promise;
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
    // A process's own mailbox keeps order too, whether read now or later.
    for (let i = 0; i < 5; i++) me.send(me.self, i);
    assert.deepEqual(await Promise.all([0, 1, 2, 3, 4].map(() => me.receive())), [0, 1, 2, 3, 4]);
  });
});

Deno.test("send() never throws for a dead, unknown or stale pid", async () => {
  await withRuntime(async (rt, me) => {
    const pid = rt.spawn(() => {});
    await exitReasonOf(rt, pid);
    rt.send(pid, "to the dead");
    rt.send(new Pid(rt.node, 999999, 0, rt.creation), "to nobody");
    const stale = new Pid(rt.node, me.self.id, 0, rt.creation === 1 ? 2 : 1);
    rt.send(stale, "stale");
    assert.equal(rt.info(me.self)!.messageQueueLen, 0, "a stale pid must not reach the process");
  });
});

Deno.test("send() to an unregistered local name throws NameError", async () => {
  await withRuntime((rt) => {
    assert.throws(() => rt.send("nobody", 1), NameError);
    // {name, node} of this node is silently dropped, as in Erlang.
    rt.send({ name: "nobody", node: rt.node }, 1);
    assert.throws(() => rt.send(42 as never, 1), TypeError);
    assert.throws(() => rt.send({ name: "x" } as never, 1), TypeError);
  });
});

Deno.test("send() to a name and to {name, node} of this node reaches the process", async () => {
  await withRuntime(async (rt, me) => {
    rt.register("me", me.self);
    rt.send("me", 1);
    rt.send({ name: "me", node: rt.node }, 2);
    me.send("me", 3);
    assert.deepEqual([await me.receive(), await me.receive(), await me.receive()], [1, 2, 3]);
  });
});

Deno.test("receive() is selective and leaves the other messages in order", async () => {
  await withRuntime(async (_rt, me) => {
    for (const m of ["a", 1, "b", 2, "c"]) me.send(me.self, m);
    assert.equal(await me.receive((m) => typeof m === "number"), 1);
    assert.equal(await me.receive((m) => m === "c"), "c");
    assert.equal(await me.receive((m) => typeof m === "number"), 2);
    assert.deepEqual(me.flush(), ["a", "b"]);
  });
});

Deno.test("receive() waits for a matching message, skipping others that arrive first", async () => {
  await withRuntime(async (rt, me) => {
    const pending = me.receive((m) => m === "wanted");
    const sender = rt.spawn((ctx) => {
      ctx.send(me.self, "other1");
      ctx.send(me.self, "wanted");
      ctx.send(me.self, "other2");
    });
    assert.equal(await pending, "wanted");
    assert.ok(sender);
    assert.deepEqual(me.flush(), ["other1", "other2"]);
  });
});

Deno.test("receive() with a timeout rejects TimeoutError; timeout 0 only looks", async () => {
  await withRuntime(async (_rt, me) => {
    await assert.rejects(me.receive(undefined, { timeout: 10 }), TimeoutError);
    await assert.rejects(me.receive(undefined, { timeout: 0 }), TimeoutError);
    me.send(me.self, "x");
    assert.equal(await me.receive(undefined, { timeout: 0 }), "x");
    // A message that arrives in time wins, and its timer is cleared.
    const p = me.receive(undefined, { timeout: 5000 });
    me.send(me.self, "y");
    assert.equal(await p, "y");
    // A message that does not match does not end the wait.
    const q = me.receive((m) => m === "z", { timeout: 20 });
    me.send(me.self, "not z");
    await assert.rejects(q, TimeoutError);
    assert.deepEqual(me.flush(), ["not z"]);
  });
});

Deno.test("receive() rejects a bad matcher or timeout", async () => {
  await withRuntime(async (_rt, me) => {
    await assert.rejects(me.receive("x" as never), TypeError);
    await assert.rejects(me.receive(undefined, { timeout: -1 }), RangeError);
    await assert.rejects(me.receive(undefined, { timeout: NaN }), RangeError);
    await assert.rejects(me.receive(undefined, { timeout: "1" as never }), TypeError);
    await assert.rejects(me.receive(undefined, { timeout: 2 ** 31 }), RangeError);
  });
});

Deno.test("receive() rejects ProcessExitError and ctx.signal fires when the process is killed", async () => {
  await withRuntime(async (rt) => {
    const seen = deferred<{ err: unknown; aborted: boolean; reason: unknown }>();
    const pid = rt.spawn(async (ctx) => {
      const signal = ctx.signal;
      try {
        await ctx.receive(undefined, { timeout: 60_000 });
      } catch (err) {
        seen.resolve({ err, aborted: signal.aborted, reason: signal.reason });
      }
    });
    await waitFor(() => rt.info(pid)?.status === "waiting");
    rt.exit(pid, "kill");
    const { err, aborted, reason } = await seen.promise;
    assert.ok(err instanceof ProcessExitError);
    assert.equal(err.reason, "killed");
    assert.equal(aborted, true);
    assert.ok(reason instanceof ProcessExitError && reason.reason === "killed");
  });
});

Deno.test("ctx.signal fires for any exit and is already aborted when read after exit", async () => {
  await withRuntime((rt) => {
    const ctx = rt.open();
    let fired: unknown;
    ctx.signal.addEventListener("abort", () => fired = ctx.signal.reason);
    ctx.exit("done");
    assert.ok(fired instanceof ProcessExitError && fired.reason === "done");
    const late = rt.open();
    late.exit("bye");
    assert.equal(late.signal.aborted, true);
    assert.equal((late.signal.reason as ProcessExitError).reason, "bye");
  });
});

Deno.test("receive() on an exited process rejects at once with its exit reason", async () => {
  await withRuntime(async (rt) => {
    const ctx = rt.open();
    ctx.exit("gone");
    const err = await ctx.receive().catch((e) => e);
    assert.ok(err instanceof ProcessExitError && err.reason === "gone");
    // What a dead process does on its own behalf:
    ctx.send(ctx.self, "dropped");
    assert.throws(() => ctx.spawn(() => {}), ProcessExitError);
    assert.throws(() => ctx.link(rt.open().self), ProcessExitError);
    assert.throws(() => ctx.monitor("x"), ProcessExitError);
    assert.equal(ctx.demonitor(rt.makeRef()), false);
    assert.deepEqual(ctx.flush(), []);
    assert.equal(ctx.trapExit(true), false);
    assert.equal(rt.isAlive(ctx.self), false);
  });
});

Deno.test("a receive nobody awaits does not become an unhandled rejection", async () => {
  await withRuntime(async (rt) => {
    const timed = rt.open();
    void timed.receive(undefined, { timeout: 1 });
    void timed.receive(undefined, { timeout: 0 });
    const killed = rt.open();
    void killed.receive();
    killed.exit("kill");
    void killed.receive();
    const raced = rt.open();
    const winner = await Promise.race([raced.receive(), Promise.resolve("other")]);
    assert.equal(winner, "other");
    raced.exit("shutdown");
    await waitFor(() => rt.info(timed.self)?.status === "running");
    // Deno's sanitizer fails this test if any of those rejections went unhandled.
  });
});

Deno.test("receive() with several pending receives gives each the first message it accepts", async () => {
  await withRuntime(async (_rt, me) => {
    const numbers = me.receive((m) => typeof m === "number");
    const anything = me.receive();
    const strings = me.receive((m) => typeof m === "string");
    me.send(me.self, "s1");
    me.send(me.self, 7);
    me.send(me.self, "s2");
    // "s1": numbers declines, anything (earlier than strings) takes it.
    assert.equal(await anything, "s1");
    assert.equal(await numbers, 7);
    assert.equal(await strings, "s2");
    assert.equal(me.flush().length, 0);
  });
});

Deno.test("receive() whose matcher throws rejects with that error, and the sender is unharmed", async () => {
  await withRuntime(async (_rt, me) => {
    const bad = new Error("matcher broke");
    const p = me.receive(() => {
      throw bad;
    });
    me.send(me.self, "m");
    await assert.rejects(p, (e) => e === bad);
    assert.deepEqual(me.flush(), ["m"]);
    me.send(me.self, "n");
    await assert.rejects(
      me.receive(() => {
        throw bad;
      }),
      (e) => e === bad,
    );
  });
});

Deno.test("flush() removes and returns every message, oldest first", async () => {
  await withRuntime(async (_rt, me) => {
    for (let i = 0; i < 100; i++) me.send(me.self, i);
    assert.equal(await me.receive(), 0);
    assert.deepEqual(me.flush(), Array.from({ length: 99 }, (_, i) => i + 1));
    assert.deepEqual(me.flush(), []);
  });
});

Deno.test("register() and whereis(), unregister() and registered()", async () => {
  await withRuntime((rt, me) => {
    rt.register("shell", me.self);
    assert.ok(rt.whereis("shell")!.equals(me.self));
    assert.deepEqual(rt.registered(), ["shell"]);
    assert.equal(rt.info(me.self)!.registeredName, "shell");
    rt.unregister("shell");
    assert.equal(rt.whereis("shell"), undefined);
    assert.equal(rt.info(me.self)!.registeredName, undefined);
    assert.deepEqual(rt.registered(), []);
  });
});

Deno.test("register() refuses a taken name, a named, dead or remote process", async () => {
  await withRuntime((rt, me) => {
    const other = rt.open();
    rt.register("a", me.self);
    assert.throws(() => rt.register("a", other.self), NameError);
    assert.throws(() => rt.register("b", me.self), NameError);
    const dead = rt.open();
    dead.exit();
    assert.throws(() => rt.register("c", dead.self), NameError);
    assert.throws(() => rt.register("d", new Pid("b@localhost", 1, 0, 1)), NameError);
    assert.throws(() => rt.register("", other.self), TypeError);
    assert.throws(() => rt.register(1 as never, other.self), TypeError);
    assert.throws(() => rt.register("e", "x" as never), TypeError);
    assert.throws(() => rt.unregister("nobody"), NameError);
  });
});

Deno.test("register() names are freed when the process dies", async () => {
  await withRuntime(async (rt) => {
    const pid = rt.spawn((ctx) => ctx.receive(), { name: "worker" });
    rt.exit(pid, "kill");
    assert.equal(rt.whereis("worker"), undefined);
    const again = rt.spawn((ctx) => ctx.receive(), { name: "worker" });
    assert.ok(rt.whereis("worker")!.equals(again));
    const ctx = rt.open();
    rt.register("temp", ctx.self);
    ctx.exit("normal");
    assert.equal(rt.whereis("temp"), undefined);
    await null;
  });
});

Deno.test("sendAfter() delivers after the delay; cancelTimer() returns ms left, then false", async () => {
  await withRuntime(async (rt, me) => {
    const start = performance.now();
    rt.sendAfter(me.self, "tick", 20);
    assert.equal(await me.receive(undefined, { timeout: 2000 }), "tick");
    assert.ok(performance.now() - start >= 15);
    const ref = rt.sendAfter(me.self, "never", 10_000);
    const left = rt.cancelTimer(ref);
    assert.ok(typeof left === "number" && left > 9000 && left <= 10_000, `left: ${left}`);
    assert.equal(rt.cancelTimer(ref), false);
    assert.equal(rt.cancelTimer(rt.makeRef()), false);
    assert.equal(rt.cancelTimer(new Ref("b@localhost", 1, 1)), false);
    const fired = rt.sendAfter(me.self, "quick", 0);
    assert.equal(await me.receive(), "quick");
    assert.equal(rt.cancelTimer(fired), false);
  });
});

Deno.test("sendAfter() to a name looks it up when it fires", async () => {
  await withRuntime(async (rt, me) => {
    rt.sendAfter("later", "hello", 10);
    rt.sendAfter("missing", "dropped", 0); // nobody there when it fires: no error
    rt.register("later", me.self);
    assert.equal(await me.receive(undefined, { timeout: 2000 }), "hello");
  });
});

Deno.test("sendAfter() timer aimed at a local pid dies with the process", async () => {
  await withRuntime((rt) => {
    const ctx = rt.open();
    const ref = rt.sendAfter(ctx.self, "x", 10_000);
    ctx.exit("normal");
    assert.equal(rt.cancelTimer(ref), false, "timer must be gone with its process");
    const deadRef = rt.sendAfter(ctx.self, "x", 10_000);
    assert.equal(rt.cancelTimer(deadRef), false, "a timer to a dead pid never starts");
    // A remote destination without a router is accepted and simply dropped.
    const remote = rt.sendAfter(new Pid("b@localhost", 1, 0, 1), "x", 10_000);
    assert.equal(typeof rt.cancelTimer(remote), "number");
  });
});

Deno.test("sendAfter() rejects a bad destination or delay", async () => {
  await withRuntime((rt, me) => {
    assert.throws(() => rt.sendAfter(1 as never, "x", 1), TypeError);
    assert.throws(() => rt.sendAfter(me.self, "x", "1" as never), TypeError);
    assert.throws(() => rt.sendAfter(me.self, "x", -1), RangeError);
    assert.throws(() => rt.sendAfter(me.self, "x", Infinity), RangeError);
    assert.throws(() => rt.cancelTimer("ref" as never), TypeError);
  });
});

Deno.test("info() reports what a process is doing", async () => {
  await withRuntime(async (rt, me) => {
    const pid = rt.spawn(async function loop(ctx) {
      await ctx.receive((m) => m === "go");
      await ctx.receive();
    }, { name: "looper" });
    await waitFor(() => rt.info(pid)?.status === "waiting");
    rt.link(me.self, pid);
    const ref = rt.monitor(me.self, pid);
    rt.send(pid, "queued");
    rt.send(pid, "go");
    await waitFor(() => rt.info(pid)?.messagesHandled === 1);
    const info = rt.info(pid)!;
    assert.ok(info.pid.equals(pid));
    assert.equal(info.node, rt.node);
    assert.equal(info.label, "loop");
    assert.equal(info.registeredName, "looper");
    assert.equal(info.trapExit, false);
    assert.ok(info.links.length === 1 && info.links[0]!.equals(me.self));
    assert.ok(info.monitoredBy.length === 1 && info.monitoredBy[0]!.equals(me.self));
    const mine = rt.info(me.self)!;
    assert.equal(mine.status, "running");
    assert.ok((mine.monitors[0] as Pid).equals(pid));
    assert.equal(mine.label, "test");
    assert.ok(rt.demonitor(me.self, ref));
    rt.unlink(me.self, pid);
  });
});

Deno.test("info() is undefined for a dead process; list() and isAlive() see only live ones", async () => {
  await withRuntime((rt, me) => {
    const ctx = rt.open();
    assert.ok(rt.isAlive(ctx.self));
    assert.equal(rt.list().length, 2);
    ctx.exit();
    assert.equal(rt.isAlive(ctx.self), false);
    assert.equal(rt.info(ctx.self), undefined);
    assert.deepEqual(rt.list().map(String), [String(me.self)]);
    assert.throws(() => rt.info(new Pid("b@localhost", 1, 0, 1)), TypeError);
    assert.throws(() => rt.isAlive("pid" as never), TypeError);
  });
});

Deno.test("open() makes a process that lives until it exits", async () => {
  await withRuntime(async (rt, me) => {
    const shell = rt.open({ label: "shell", trapExit: true });
    assert.equal(rt.info(shell.self)!.label, "shell");
    assert.equal(rt.info(shell.self)!.trapExit, true);
    const ref = me.monitor(shell.self);
    shell.exit("bye");
    const down = await me.receive<DownMessage>();
    assert.equal(down.ref, ref);
    assert.equal(down.reason, "bye");
    assert.throws(() => rt.open({ label: 1 as never }), TypeError);
    assert.throws(() => rt.open({ trapExit: 1 as never }), TypeError);
  });
});

Deno.test("shutdown() ends every process, trapping ones too, and clears timers", async () => {
  const rt = new Runtime();
  const me = rt.open({ trapExit: true });
  const rejected = deferred<unknown>();
  const pid = rt.spawn(async (ctx) => {
    ctx.trapExit(true);
    await ctx.receive().catch((e) => rejected.resolve(e));
  });
  await waitFor(() => rt.info(pid)?.status === "waiting");
  rt.sendAfter(me.self, "late", 60_000);
  await rt.shutdown();
  assert.equal(rt.list().length, 0);
  assert.equal(rt.isAlive(me.self), false);
  const err = await rejected.promise;
  assert.ok(err instanceof ProcessExitError && err.reason === "shutdown");
  assert.throws(() => rt.spawn(() => {}), NotAliveError);
  assert.throws(() => rt.open(), NotAliveError);
  assert.equal(rt.closed, true);
  await rt.shutdown(); // twice is fine
});

Deno.test("shutdown() uses the given reason", async () => {
  const rt = new Runtime();
  const me = rt.open();
  const seen = me.receive().catch((e) => (e as ProcessExitError).reason);
  await rt.shutdown("stopping");
  assert.equal(await seen, "stopping");
});

Deno.test("makeRef() makes distinct refs of this node", () => {
  const rt = new Runtime({ node: "a@localhost" });
  const a = rt.makeRef();
  const b = rt.makeRef();
  assert.ok(!a.equals(b));
  assert.equal(a.node, "a@localhost");
  assert.equal(a.creation, rt.creation);
});

Deno.test("a crashing process is logged at error level; normal, shutdown and killed are not", async () => {
  const lines: string[] = [];
  setLogWriter((line) => lines.push(line));
  await configureLogging("error");
  try {
    await withRuntime(async (rt) => {
      const crash = rt.spawn(() => {
        throw new RangeError("out of range");
      });
      assert.ok((await exitReasonOf(rt, crash)) instanceof RangeError);
      await exitReasonOf(rt, rt.spawn(() => {}));
      const quiet = rt.spawn(() => {
        throw "shutdown";
      });
      await exitReasonOf(rt, quiet);
      const killed = rt.spawn((ctx) => ctx.receive());
      rt.exit(killed, "kill");
      const exited = rt.spawn((ctx) => ctx.exit("custom"));
      await exitReasonOf(rt, exited);
    });
    const errors = lines.filter((l) => l.includes("Error in process"));
    assert.equal(errors.length, 1, lines.join(""));
    assert.match(errors[0]!, /RangeError: out of range/);
    assert.match(errors[0]!, /ERROR/);
  } finally {
    await reset();
    setLogWriter((line) => Deno.stderr.writeSync(new TextEncoder().encode(line)));
  }
});

Deno.test("a process body may be a plain function returning a thenable", async () => {
  await withRuntime(async (rt, me) => {
    let settle: ((v: unknown) => void) | undefined;
    const thenable = { then: (ok: (v: unknown) => void) => void (settle = ok) };
    const [pid, ref] = rt.spawnMonitor(me.self, () => thenable);
    await waitFor(() => settle !== undefined);
    assert.ok(rt.isAlive(pid));
    settle!(1);
    const down = await me.receive<DownMessage>();
    assert.equal(down.ref, ref);
    assert.equal(down.reason, "normal");
  });
});

Deno.test("a process killed before it ran never runs its body", async () => {
  await withRuntime(async (rt) => {
    let ran = false;
    const pid = rt.spawn(() => void (ran = true));
    rt.exit(pid, "kill");
    await null;
    await null;
    assert.equal(ran, false);
  });
});

Deno.test("Runtime prints as #Runtime<node> and a context as #Process<pid>", async () => {
  await withRuntime((rt, me) => {
    assert.equal(String(rt), `#Runtime<${rt.node}>`);
    assert.equal(Deno.inspect(me), `#Process<${me.self}>`);
  });
});
