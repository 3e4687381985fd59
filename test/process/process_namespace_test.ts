import assert from "node:assert/strict";
import { PROCESS_FUNCTIONS, runInProcess } from "../../src/process/current.ts";
import { Process } from "../../src/process/process_namespace.ts";
import { Runtime } from "../../src/process/runtime.ts";
import type { DownMessage, ExitMessage } from "../../src/process/types.ts";

Deno.test("Process acts on the runtime of the running process", async () => {
  const rt = new Runtime({ node: "a@localhost" });
  const shell = rt.open({ label: "shell" });
  try {
    await runInProcess(shell, async () => {
      const me = Process.self();
      assert.ok(me.equals(shell.self));
      const pid = Process.spawn((ctx) => ctx.receive((m) => m === "never"));
      Process.register("worker", pid);
      assert.ok(Process.whereis("worker")!.equals(pid));
      assert.deepEqual(Process.registered(), ["worker"]);
      assert.ok(Process.alive(pid) && Process.isAlive(pid));
      assert.equal(Process.list().length, 2);
      assert.equal(Process.info(pid)!.registeredName, "worker");

      const ref = Process.monitor(pid);
      Process.link(pid);
      assert.equal(Process.info(me)!.links.length, 1);
      Process.unlink(pid);
      Process.exit(pid, "stop");
      const down = await shell.receive<DownMessage>();
      assert.equal(down.ref, ref);
      assert.equal(down.reason, "stop");
      assert.equal(Process.alive(pid), false);
      assert.equal(Process.info(pid), undefined);

      const ref2 = Process.monitor(Process.spawn((ctx) => ctx.receive()));
      assert.equal(Process.demonitor(ref2), true);

      assert.equal(Process.trapExit(true), false);
      const child = Process.spawnLink(() => {
        throw "bad";
      });
      const exit = await shell.receive<ExitMessage>();
      assert.ok(exit.from.equals(child));
      const [, ref3] = Process.spawnMonitor(() => {});
      assert.equal((await shell.receive<DownMessage>()).ref, ref3);

      Process.send(me, "hello");
      const t = Process.sendAfter(me, "later", 60_000);
      assert.equal(typeof Process.cancelTimer(t), "number");
      assert.deepEqual(Process.flush(), ["hello"]);
    });
    assert.throws(() => Process.self(), /Not inside a Weft process/);
    assert.ok(Object.isFrozen(Process));
    // One definition: every free process function is the namespace's member of that name.
    for (const [name, fn] of Object.entries(PROCESS_FUNCTIONS)) {
      assert.equal(Process[name as keyof typeof Process], fn, name);
    }
  } finally {
    await rt.shutdown();
  }
});
