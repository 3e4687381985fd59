import assert from "node:assert/strict";
import { GenServer, type InitResult } from "../../src/otp/gen_server.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type {
  DownMessage,
  ExitMessage,
  MailboxLimitReason,
  ProcessContext,
} from "../../src/process/types.ts";
import { captureLogs, receiveMatching, startTestNodes, stopAll } from "../helpers/nodes.ts";
import { deferred, waitFor } from "../helpers/wait.ts";

async function withRuntime(fn: (rt: Runtime, me: ProcessContext) => Promise<void>): Promise<void> {
  const rt = new Runtime();
  try {
    await fn(rt, rt.open({ label: "test", trapExit: true }));
  } finally {
    await rt.shutdown();
  }
}

const isDown = (m: unknown): m is DownMessage => (m as DownMessage)?.type === "DOWN";
const isExit = (m: unknown): m is ExitMessage => (m as ExitMessage)?.type === "EXIT";

Deno.test("spawn({ maxMailbox }) ends a process whose mailbox passes the limit; links and monitors see why", async () => {
  const logs = await captureLogs("warning");
  try {
    await withRuntime(async (rt, me) => {
      const stuck = deferred<void>();
      const pid = rt.spawnLink(me.self, async () => await stuck.promise, {
        maxMailbox: 3,
        label: "slow_consumer",
      });
      const ref = me.monitor(pid);
      for (let i = 0; i < 3; i++) rt.send(pid, i);
      assert.ok(rt.isAlive(pid), "three messages are within a limit of three");
      assert.equal(rt.info(pid)?.messageQueueLen, 3);
      rt.send(pid, 3);
      assert.ok(!rt.isAlive(pid), "the fourth message ends it at once");
      rt.send(pid, 4); // dropped, as for any dead process

      const expected: MailboxLimitReason = { reason: "mailbox_limit", limit: 3, length: 4 };
      const down = await receiveMatching<DownMessage>(me, (m) => isDown(m) && ref.equals(m.ref));
      assert.deepEqual(down.reason, expected);
      const exit = await receiveMatching<ExitMessage>(me, isExit);
      assert.ok(exit.from.equals(pid));
      assert.deepEqual(exit.reason, expected);
      stuck.resolve();
    });
    const lines = logs.lines.filter((l) => l.includes("past its limit"));
    assert.equal(lines.length, 1, logs.lines.join(""));
    assert.match(lines[0]!, /slow_consumer/);
    assert.match(lines[0]!, /4 messages in its mailbox, past its limit of 3/);
  } finally {
    await logs.restore();
  }
});

Deno.test("spawn({ maxMailbox }) ends a process that traps exits, too", async () => {
  await withRuntime(async (rt, me) => {
    const pid = rt.spawn((ctx) => ctx.receive(() => false), { maxMailbox: 1, trapExit: true });
    const ref = me.monitor(pid);
    rt.send(pid, "a");
    rt.send(pid, "b");
    const down = await receiveMatching<DownMessage>(me, (m) => isDown(m) && ref.equals(m.ref));
    assert.deepEqual(down.reason, { reason: "mailbox_limit", limit: 1, length: 2 });
  });
});

Deno.test("spawn({ maxMailbox }) counts only queued messages: one that keeps up lives on", async () => {
  await withRuntime(async (rt, me) => {
    const echo = rt.spawn(async (ctx) => {
      for (;;) {
        const m = await ctx.receive<{ from: ProcessContext["self"]; n: number }>();
        ctx.send(m.from, m.n);
      }
    }, { maxMailbox: 1 });
    for (let n = 0; n < 500; n++) {
      rt.send(echo, { from: me.self, n });
      assert.equal(await me.receive(undefined, { timeout: 2000 }), n);
    }
    assert.ok(rt.isAlive(echo));
    // A receive that skips messages leaves them queued, and they count.
    const picky = rt.spawn((ctx) => ctx.receive((m) => m === "go"), { maxMailbox: 2 });
    const ref = me.monitor(picky);
    rt.send(picky, 1);
    rt.send(picky, 2);
    assert.ok(rt.isAlive(picky));
    rt.send(picky, 3);
    const down = await receiveMatching<DownMessage>(me, (m) => isDown(m) && ref.equals(m.ref));
    assert.deepEqual(down.reason, { reason: "mailbox_limit", limit: 2, length: 3 });
  });
});

Deno.test("spawn() refuses a maxMailbox that is not a positive integer", async () => {
  await withRuntime((rt) => {
    const body = () => {};
    assert.throws(
      () => rt.spawn(body, { maxMailbox: "10" as unknown as number }),
      { name: "TypeError", message: 'Cannot spawn: maxMailbox must be a number, received "10"' },
    );
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => rt.spawn(body, { maxMailbox: bad }), {
        name: "RangeError",
        message: `Cannot spawn: maxMailbox must be a positive integer, received ${bad}`,
      });
    }
    assert.equal(rt.list().length, 1, "no process was made for a bad option");
    return Promise.resolve();
  });
});

class Stalled extends GenServer<null> {
  static release = deferred<void>();
  override init(): InitResult<null> {
    return { ok: null };
  }
  override async handleCast(_msg: unknown, state: null) {
    await Stalled.release.promise;
    return { noreply: true as const, state };
  }
}

Deno.test("GenServer.start({ maxMailbox }) and its child specs bound the server's mailbox", async () => {
  Stalled.release = deferred<void>();
  const spec = GenServer.childSpec(Stalled, undefined, { maxMailbox: 2 });
  assert.equal(spec.id, "Stalled");
  await withRuntime(async (rt, me) => {
    const pid = await GenServer.start(Stalled, undefined, { runtime: rt, maxMailbox: 2 });
    const ref = me.monitor(pid);
    for (let i = 0; i < 4; i++) GenServer.cast(pid, i, { runtime: rt });
    const down = await receiveMatching<DownMessage>(me, (m) => isDown(m) && ref.equals(m.ref));
    assert.deepEqual(down.reason, { reason: "mailbox_limit", limit: 2, length: 3 });
    Stalled.release.resolve();
  });
});

Deno.test("a remote monitor and link see the mailbox_limit reason across nodes", async () => {
  const [a, b] = await startTestNodes(["mbox_a", "mbox_b"]);
  try {
    const me = a!.runtime.open({ trapExit: true });
    const pid = b!.runtime.spawn((ctx) => ctx.receive(() => false), { maxMailbox: 5 });
    assert.ok(await a!.connect(b!.address));
    const ref = me.monitor(pid);
    me.link(pid);
    await waitFor(() => (b!.runtime.info(pid)?.links.length ?? 0) === 1);
    for (let i = 0; i < 6; i++) me.send(pid, i);
    const expected = { reason: "mailbox_limit", limit: 5, length: 6 };
    const down = await receiveMatching<DownMessage>(me, (m) => isDown(m) && ref.equals(m.ref));
    assert.deepEqual(down.reason, expected);
    const exit = await receiveMatching<ExitMessage>(me, isExit);
    assert.deepEqual(exit.reason, expected);
    me.exit();
  } finally {
    await stopAll([a, b]);
  }
});
