import assert from "node:assert/strict";
import { NameError, ProcessExitError } from "../../src/errors.ts";
import {
  cancelTimer,
  current,
  demonitor,
  exit,
  flush,
  link,
  makeRef,
  monitor,
  receive,
  register,
  runInProcess,
  self,
  send,
  sendAfter,
  setDefaultContext,
  spawn,
  spawnLink,
  spawnMonitor,
  trapExit,
  unlink,
  unregister,
  whereis,
} from "../../src/process/current.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { DownMessage, ExitMessage, ProcessContext } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { deferred, waitFor } from "../helpers/wait.ts";

async function withShell(fn: (rt: Runtime, shell: ProcessContext) => Promise<void>) {
  const rt = new Runtime({ node: "a@localhost" });
  try {
    await fn(rt, rt.open({ label: "shell" }));
  } finally {
    await rt.shutdown();
  }
}

Deno.test("free functions act for the running process: the ping-pong of the brief", async () => {
  await withShell((_rt, shell) =>
    runInProcess(shell, async () => {
      const pid = spawn(async () => {
        const m = await receive<{ from: Pid }>();
        send(m.from, "pong");
      });
      send(pid, { from: self() });
      assert.equal(await receive(), "pong");
    })
  );
});

Deno.test("free functions keep their process across nested awaits, timers and Promise.all", async () => {
  await withShell(async (rt, shell) => {
    const results = new Map<string, boolean>();
    const done = deferred<void>();
    let finished = 0;
    const n = 20;
    async function deep(depth: number): Promise<Pid> {
      if (depth === 0) return self();
      await new Promise((r) => setTimeout(r, 1));
      return await deep(depth - 1);
    }
    for (let i = 0; i < n; i++) {
      shell.spawn(async () => {
        const me = self();
        await null;
        const [a, b] = await Promise.all([deep(3), (async () => (await null, self()))()]);
        await new Promise<void>((r) => queueMicrotask(r));
        const m = await receive<string>();
        results.set(String(me), a.equals(me) && b.equals(me) && self().equals(me) && m === "go");
        if (++finished === n) done.resolve();
      });
    }
    // Every process awaits timers and microtasks interleaved with the others,
    // then waits in receive.
    await waitFor(() => rt.list().filter((p) => rt.info(p)?.status === "waiting").length === n);
    for (const pid of rt.list()) if (!pid.equals(shell.self)) rt.send(pid, "go");
    await done.promise;
    assert.equal(results.size, n);
    assert.ok([...results.values()].every(Boolean));
  });
});

Deno.test("a spawned process gets its own context, not its parent's", async () => {
  await withShell((_rt, shell) =>
    runInProcess(shell, async () => {
      const parent = self();
      const [child] = spawnMonitor(() => send(parent, self()));
      const seen = await receive<Pid>((m) => !(m as DownMessage).type);
      assert.ok(seen.equals(child));
      assert.ok(!seen.equals(parent));
      assert.ok(self().equals(parent), "the parent's context is untouched");
    })
  );
});

Deno.test("free functions outside any process throw a clear Error", () => {
  assert.throws(() => self(), /Not inside a Weft process/);
  assert.throws(() => send("x", 1), /Not inside a Weft process/);
  assert.throws(() => current(), /Not inside a Weft process/);
  assert.throws(() => receive(), /Not inside a Weft process/);
});

Deno.test("setDefaultContext() makes the free functions work outside any process", async () => {
  await withShell(async (rt, shell) => {
    setDefaultContext(shell);
    try {
      assert.ok(self().equals(shell.self));
      send(self(), "hi");
      assert.equal(await receive(), "hi");
      // A process still sees itself, not the default.
      const inside = deferred<Pid>();
      const pid = spawn(() => inside.resolve(self()));
      assert.ok((await inside.promise).equals(pid));
      assert.equal(current(), shell);
      assert.throws(() => setDefaultContext(5 as never), TypeError);
    } finally {
      setDefaultContext(undefined);
    }
    assert.throws(() => self(), /Not inside a Weft process/);
    assert.ok(rt);
  });
});

Deno.test("runInProcess() returns what the function returns and rejects bad arguments", async () => {
  await withShell(async (_rt, shell) => {
    assert.equal(runInProcess(shell, () => 5), 5);
    assert.ok((await runInProcess(shell, async () => (await null, self()))).equals(shell.self));
    assert.throws(() => runInProcess({} as never, () => 1), TypeError);
    assert.throws(() => runInProcess(shell, 1 as never), TypeError);
  });
});

Deno.test("exit(reason) ends the running process and stops its code", async () => {
  await withShell(async (rt, shell) => {
    let after = false;
    const [pid, ref] = shell.spawnMonitor(async () => {
      await null;
      exit("done");
      after = true; // never reached: exit/1 throws
    });
    const down = await shell.receive<DownMessage>();
    assert.equal(down.ref, ref);
    assert.equal(down.reason, "done");
    assert.equal(after, false);
    assert.equal(rt.isAlive(pid), false);
    // exit() without a reason is "normal"
    const [, ref2] = shell.spawnMonitor(() => exit());
    assert.equal(
      (await shell.receive<DownMessage>((m) => (m as DownMessage).ref === ref2)).reason,
      "normal",
    );
    // From the shell, exit(reason) kills the shell and throws ProcessExitError.
    const other = rt.open();
    assert.throws(() => runInProcess(other, () => exit("quit")), ProcessExitError);
    assert.equal(rt.isAlive(other.self), false);
  });
});

Deno.test("exit(pid, reason) sends an exit signal signed by the running process", async () => {
  await withShell(async (rt, shell) => {
    const target = rt.open({ trapExit: true });
    runInProcess(shell, () => exit(target.self, "stop"));
    const msg = await target.receive<ExitMessage>();
    assert.ok(msg.from.equals(shell.self));
    assert.equal(msg.reason, "stop");
    assert.ok(rt.isAlive(shell.self));
  });
});

Deno.test("link, unlink, trapExit, spawnLink through free functions", async () => {
  await withShell((rt, shell) =>
    runInProcess(shell, async () => {
      assert.equal(trapExit(true), false);
      const child = spawnLink(() => {
        throw "child crash";
      });
      const msg = await receive<ExitMessage>();
      assert.ok(msg.from.equals(child));
      assert.equal(msg.reason, "child crash");
      const other = rt.open();
      link(other.self);
      assert.equal(rt.info(other.self)!.links.length, 1);
      unlink(other.self);
      assert.equal(rt.info(other.self)!.links.length, 0);
      assert.equal(trapExit(false), true);
    })
  );
});

Deno.test("monitor and demonitor through free functions", async () => {
  await withShell((rt, shell) =>
    runInProcess(shell, async () => {
      const a = rt.open();
      const ref = monitor(a.self);
      a.exit("x");
      const down = await receive<DownMessage>();
      assert.equal(down.ref, ref);
      const b = rt.open();
      const ref2 = monitor(b.self);
      assert.equal(demonitor(ref2, { flush: true }), true);
    })
  );
});

Deno.test("register(name, pid?) names this process or another; whereis and unregister", async () => {
  await withShell((rt, shell) =>
    runInProcess(shell, () => {
      register("shell");
      assert.ok(whereis("shell")!.equals(self()));
      const other = rt.open();
      register("other", other.self);
      assert.ok(whereis("other")!.equals(other.self));
      // The name comes first: the pid first is a TypeError that says so, and names nothing.
      const third = rt.open();
      assert.throws(
        () => (register as (a: unknown, b: unknown) => void)(third.self, "swapped"),
        { name: "TypeError", message: /^Cannot register: the name comes first/ },
      );
      assert.equal(whereis("swapped"), undefined);
      unregister("shell");
      assert.equal(whereis("shell"), undefined);
      assert.throws(() => unregister("shell"), NameError);
      return Promise.resolve();
    })
  );
});

Deno.test("sendAfter, cancelTimer, makeRef and flush through free functions", async () => {
  await withShell((rt, shell) =>
    runInProcess(shell, async () => {
      sendAfter(self(), "tick", 1);
      assert.equal(await receive(undefined, { timeout: 2000 }), "tick");
      const ref = sendAfter(self(), "late", 60_000);
      assert.equal(typeof cancelTimer(ref), "number");
      const r = makeRef();
      assert.equal(r.node, rt.node);
      send(self(), 1);
      send(self(), 2);
      assert.deepEqual(flush(), [1, 2]);
    })
  );
});
