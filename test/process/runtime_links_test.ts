import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import type { DownMessage, ExitMessage, ProcessContext } from "../../src/process/types.ts";
import { Pid } from "../../src/term/pid.ts";
import { waitFor } from "../helpers/wait.ts";

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

/** A process that waits for ever (until an exit signal ends it). */
function idle(ctx: ProcessContext): Promise<unknown> {
  return ctx.receive((m) => m === "never");
}

/** Monitors every pid from a fresh open process; `reasons()` waits for all their DOWNs. */
function watch(rt: Runtime, ...pids: Pid[]): { reasons(): Promise<unknown[]> } {
  const watcher = rt.open();
  const refs = pids.map((p) => watcher.monitor(p));
  return {
    async reasons() {
      const out: unknown[] = [];
      for (const ref of refs) {
        const down = await watcher.receive<DownMessage>((m) => (m as DownMessage).ref === ref, {
          timeout: 2000,
        });
        out.push(down.reason);
      }
      watcher.exit();
      return out;
    },
  };
}

Deno.test("link() is bidirectional: an abnormal exit takes the linked process with the same reason", async () => {
  await withRuntime(async (rt) => {
    const a = rt.spawn(idle);
    const b = rt.spawn(idle);
    const c = rt.spawn(idle);
    rt.link(a, b);
    rt.link(c, b);
    const w = watch(rt, a, b, c);
    rt.exit(a, "boom");
    assert.deepEqual(await w.reasons(), ["boom", "boom", "boom"]);
  });
});

Deno.test("link(): a normal exit does not take a linked process that does not trap", async () => {
  await withRuntime(async (rt) => {
    const parent = rt.spawn(idle);
    const child = rt.spawnLink(parent, (ctx) => ctx.receive((m) => m === "stop"));
    const w = watch(rt, child);
    rt.send(child, "stop");
    assert.deepEqual(await w.reasons(), ["normal"]);
    assert.ok(rt.isAlive(parent));
    assert.deepEqual(rt.info(parent)!.links, [], "the link is gone with the child");
  });
});

Deno.test("trapExit turns exit signals from links into EXIT messages, normal ones too", async () => {
  await withRuntime(async (rt, me) => {
    assert.equal(me.trapExit(true), false);
    const normal = me.spawnLink((ctx) => ctx.receive((m) => m === "stop"));
    const crash = me.spawnLink(async (ctx) => {
      await ctx.receive((m) => m === "crash");
      throw "crashed";
    });
    me.send(normal, "stop");
    const first = await me.receive<ExitMessage>();
    assert.deepEqual({ ...first, from: String(first.from) }, {
      type: "EXIT",
      from: String(normal),
      reason: "normal",
    });
    me.send(crash, "crash");
    const second = await me.receive<ExitMessage>();
    assert.equal(second.type, "EXIT");
    assert.ok(second.from.equals(crash));
    assert.equal(second.reason, "crashed");
    assert.ok(rt.isAlive(me.self));
    assert.equal(me.trapExit(false), true);
  });
});

Deno.test("exit(pid, 'kill') cannot be trapped, and linked processes see 'killed'", async () => {
  await withRuntime(async (rt, me) => {
    me.trapExit(true);
    const victim = rt.spawn(idle, { trapExit: true });
    const bystander = rt.spawn(idle);
    rt.link(me.self, victim);
    rt.link(bystander, victim);
    const w = watch(rt, victim, bystander);
    rt.exit(victim, "kill", me.self);
    assert.equal(rt.isAlive(victim), false, "kill takes effect before exit() returns");
    assert.deepEqual(await w.reasons(), ["killed", "killed"]);
    const msg = await me.receive<ExitMessage>();
    assert.ok(msg.from.equals(victim));
    assert.equal(msg.reason, "killed", "a trapping linked process gets 'killed', not 'kill'");
  });
});

Deno.test("a process that kills itself with exit(self, 'kill') dies 'killed' even when trapping", async () => {
  await withRuntime(async (rt) => {
    const pid = rt.spawn(async (ctx) => {
      ctx.trapExit(true);
      ctx.runtime.exit(ctx.self, "kill", ctx.self);
      await ctx.receive();
    });
    assert.deepEqual(await watch(rt, pid).reasons(), ["killed"]);
  });
});

Deno.test("a process exiting with reason 'kill' passes 'kill' along links, where it can be trapped", async () => {
  await withRuntime(async (rt, me) => {
    me.trapExit(true);
    const plain = rt.spawn(idle);
    const suicidal = rt.spawn(async (ctx) => {
      await ctx.receive((m) => m === "go");
      ctx.exit("kill");
    });
    rt.link(me.self, suicidal);
    rt.link(plain, suicidal);
    const w = watch(rt, suicidal, plain);
    rt.send(suicidal, "go");
    // Erlang: the exiting process's own reason stays "kill"; a non-trapping
    // linked process dies with "kill", a trapping one gets it as a message.
    assert.deepEqual(await w.reasons(), ["kill", "kill"]);
    assert.equal((await me.receive<ExitMessage>()).reason, "kill");
  });
});

Deno.test("exit(pid, 'normal') is ignored unless the target traps or it is sent to itself", async () => {
  await withRuntime(async (rt, me) => {
    const plain = rt.spawn(idle);
    rt.exit(plain, "normal", me.self);
    rt.exit(plain, "normal");
    assert.ok(rt.isAlive(plain));

    const trapping = rt.open({ trapExit: true });
    rt.exit(trapping.self, "normal", me.self);
    assert.ok(rt.isAlive(trapping.self));
    const msg = await trapping.receive<ExitMessage>();
    assert.equal(msg.type, "EXIT");
    assert.ok(msg.from.equals(me.self));
    assert.equal(msg.reason, "normal");

    // To itself: a non-trapping process exits normal, a trapping one gets a message.
    const self = rt.open();
    rt.exit(self.self, "normal", self.self);
    assert.equal(rt.isAlive(self.self), false);
    rt.exit(trapping.self, "normal", trapping.self);
    assert.ok(rt.isAlive(trapping.self));
    assert.ok((await trapping.receive<ExitMessage>()).from.equals(trapping.self));
  });
});

Deno.test("exit(pid, reason) ends a non-trapping process and messages a trapping one", async () => {
  await withRuntime(async (rt, me) => {
    const plain = rt.spawn(idle);
    const w = watch(rt, plain);
    rt.exit(plain, { code: 3 }, me.self);
    assert.deepEqual(await w.reasons(), [{ code: 3 }]);

    const trapping = rt.open({ trapExit: true });
    rt.exit(trapping.self, "stop");
    const msg = await trapping.receive<ExitMessage>();
    assert.equal(msg.reason, "stop");
    assert.equal(msg.from.id, 0, "without a sender the runtime's own pid signs it");
    assert.equal(msg.from.node, rt.node);
    assert.throws(() => rt.exit("pid" as never, "x"), TypeError);
    assert.throws(() => rt.exit(me.self, "x", "from" as never), TypeError);
    rt.exit(new Pid(rt.node, 424242, 0, rt.creation), "x"); // unknown: nothing happens
  });
});

Deno.test("link() to a dead pid sends the caller an exit signal 'noproc'", async () => {
  await withRuntime(async (rt, me) => {
    const dead = rt.open();
    dead.exit();
    me.trapExit(true);
    me.link(dead.self);
    const msg = await me.receive<ExitMessage>();
    assert.ok(msg.from.equals(dead.self));
    assert.equal(msg.reason, "noproc");

    const plain = rt.spawn(async (ctx) => {
      await ctx.receive((m) => m === "go");
      ctx.link(dead.self);
      await ctx.receive();
    });
    const w = watch(rt, plain);
    rt.send(plain, "go");
    assert.deepEqual(await w.reasons(), ["noproc"]);
    const stale = new Pid(rt.node, me.self.id, 0, rt.creation + 1);
    me.link(stale);
    assert.equal((await me.receive<ExitMessage>()).reason, "noproc");
  });
});

Deno.test("link() to itself or twice does nothing; unlink() removes both sides", async () => {
  await withRuntime(async (rt, me) => {
    const other = rt.spawn(idle);
    me.link(me.self);
    assert.deepEqual(rt.info(me.self)!.links, []);
    me.link(other);
    me.link(other);
    rt.link(other, me.self);
    assert.equal(rt.info(me.self)!.links.length, 1);
    assert.equal(rt.info(other)!.links.length, 1);
    me.unlink(other);
    assert.deepEqual(rt.info(me.self)!.links, []);
    assert.deepEqual(rt.info(other)!.links, []);
    const w = watch(rt, other);
    rt.exit(other, "boom");
    assert.deepEqual(await w.reasons(), ["boom"]);
    assert.ok(rt.isAlive(me.self), "an unlinked process is not taken along");
    me.unlink(other); // unlinking again, or from a dead pid, is fine
    assert.throws(() => rt.link(me.self, "x" as never), TypeError);
    assert.throws(() => rt.link(new Pid("b@localhost", 1, 0, 1), me.self), TypeError);
    assert.throws(() => rt.unlink("x" as never, me.self), TypeError);
  });
});

Deno.test("spawnLink() links before the child runs: a crashing child takes its parent along", async () => {
  await withRuntime(async (rt) => {
    let child: Pid | undefined;
    const parent = rt.spawn(async (ctx) => {
      child = ctx.spawnLink(() => {
        throw new Error("child failed");
      });
      await ctx.receive();
    });
    const w = watch(rt, parent);
    const [reason] = await w.reasons();
    assert.ok(reason instanceof Error && reason.message === "child failed");
    assert.ok(child !== undefined && !rt.isAlive(child));
  });
});

Deno.test("a killed parent takes its linked children with it", async () => {
  await withRuntime(async (rt) => {
    const children: Pid[] = [];
    const parent = rt.spawn(async (ctx) => {
      for (let i = 0; i < 3; i++) children.push(ctx.spawnLink(idle));
      await ctx.receive();
    });
    await waitFor(() => children.length === 3);
    const w = watch(rt, ...children);
    rt.exit(parent, "kill");
    assert.deepEqual(await w.reasons(), ["killed", "killed", "killed"]);
  });
});

Deno.test("a chain of 20000 linked processes dies in one go without deep recursion", async () => {
  await withRuntime(async (rt) => {
    const n = 20_000;
    const pids: Pid[] = [];
    for (let i = 0; i < n; i++) {
      pids.push(i === 0 ? rt.spawn(idle) : rt.spawnLink(pids[i - 1]!, idle));
    }
    const w = watch(rt, pids[n - 1]!);
    rt.exit(pids[0]!, "chain");
    assert.equal(rt.list().filter((p) => pids.some((q) => q.equals(p))).length, 0);
    assert.deepEqual(await w.reasons(), ["chain"]);
  });
});

Deno.test("link() to a remote pid without distribution gives 'noconnection'", async () => {
  await withRuntime(async (rt, me) => {
    me.trapExit(true);
    const remote = new Pid("b@localhost", 3, 0, 1);
    me.link(remote);
    const msg = await me.receive<ExitMessage>();
    assert.ok(msg.from.equals(remote));
    assert.equal(msg.reason, "noconnection");
    assert.deepEqual(rt.info(me.self)!.links, []);
  });
});

Deno.test("trapExit() rejects a non-boolean", async () => {
  await withRuntime((_rt, me) => {
    assert.throws(() => me.trapExit("yes" as never), TypeError);
  });
});
