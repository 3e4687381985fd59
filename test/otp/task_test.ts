import assert from "node:assert/strict";
import { TimeoutError } from "../../src/errors.ts";
import { receive, runInProcess, self, spawn, trapExit } from "../../src/process/current.ts";
import type { ExitMessage } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { ExitError } from "../../src/otp/errors.ts";
import { Task } from "../../src/otp/task.ts";
import { TaskSupervisor } from "../../src/otp/task_supervisor.ts";
import { deferred, waitFor } from "../helpers/wait.ts";
import { exitReason, inProcess } from "./_helpers.ts";

Deno.test("Task.async() runs the function in its own process and Task.await() returns its result", async () => {
  await inProcess(async (rt, me) => {
    const task = Task.async(async () => {
      await null;
      return { from: self(), answer: 42 };
    });
    assert.ok(task.owner.equals(me.self));
    assert.ok(rt.info(task.pid)!.links.some((p) => p.equals(me.self)), "not linked to the owner");
    const result = await Task.await(task);
    assert.equal(result.answer, 42);
    assert.ok(result.from.equals(task.pid) && !result.from.equals(me.self));
    assert.deepEqual(me.flush(), [], "the reply or DOWN was left in the mailbox");
    assert.equal(rt.isAlive(task.pid), false);
  });
});

Deno.test("Task.await() throws TimeoutError and the task runs on; a later await gets the result", async () => {
  await inProcess(async () => {
    const gate = deferred<void>();
    const task = Task.async(async () => {
      await gate.promise;
      return "finally";
    });
    const err = await Task.await(task, 10).catch((e) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    gate.resolve();
    assert.equal(await Task.await(task), "finally");
  });
});

Deno.test("Task.yield() gives undefined while running, then { ok } or { exit }", async () => {
  await inProcess(async (_rt, me) => {
    const gate = deferred<void>();
    const task = Task.async(async () => {
      await gate.promise;
      return 7;
    });
    assert.equal(await Task.yield(task, 0), undefined);
    assert.equal(await Task.yield(task, 5), undefined);
    gate.resolve();
    assert.deepEqual(await Task.yield(task, 1000), { ok: 7 });

    const crash = Task.async(() => {
      throw new RangeError("bad task");
    });
    const outcome = await Task.yield(crash, 1000);
    assert.ok(outcome !== undefined && "exit" in outcome);
    assert.ok(outcome.exit instanceof RangeError);
    // The owner traps exits, so the link gave it a message instead of killing it.
    const exits = me.flush().filter((m) => (m as ExitMessage).type === "EXIT") as ExitMessage[];
    const fromCrash = exits.find((m) => m.from.equals(crash.pid));
    assert.ok(fromCrash?.reason === outcome.exit);
  }, { trapExit: true });
});

Deno.test("Task.await() throws ExitError with the reason when the task crashes (owner trapping)", async () => {
  await inProcess(async () => {
    const task = Task.async(() => {
      throw new Error("task failed");
    });
    const err = await Task.await(task).catch((e) => e);
    assert.ok(err instanceof ExitError, String(err));
    assert.equal((err.reason as Error).message, "task failed");
  }, { trapExit: true });
});

Deno.test("a crashing Task.async() takes its owner down, as a link does", async () => {
  await inProcess(async (rt) => {
    const owner = spawn(async () => {
      const task = Task.async(() => {
        throw new Error("boom");
      });
      await Task.await(task, 60_000);
    });
    const reason = await exitReason(rt, owner);
    assert.ok(reason instanceof Error && reason.message === "boom", String(reason));
  });
});

Deno.test("only the owner may await, yield or shut down a task", async () => {
  await inProcess(async (rt) => {
    const task = Task.async(() => 1);
    await runInProcess(rt.open(), async () => {
      await assert.rejects(() => Task.await(task), TypeError);
      await assert.rejects(() => Task.yield(task), TypeError);
      await assert.rejects(() => Task.shutdown(task), TypeError);
    });
    assert.equal(await Task.await(task), 1);
    await assert.rejects(() => Task.await({ pid: 1 } as never), TypeError);
    assert.throws(() => Task.async("nope" as never), TypeError);
  });
});

Deno.test("Task.shutdown() stops a running task without harming the owner", async () => {
  await inProcess(async (rt, me) => {
    const task = Task.async(() => new Promise(() => {}));
    assert.equal(await Task.shutdown(task), undefined);
    assert.equal(rt.isAlive(task.pid), false);
    assert.ok(rt.isAlive(me.self));
    assert.deepEqual(me.flush(), []);

    const done = Task.async(() => "early");
    await waitFor(() => !rt.isAlive(done.pid));
    assert.deepEqual(await Task.shutdown(done), { ok: "early" });

    const brutal = Task.async(() => new Promise(() => {}));
    assert.equal(await Task.shutdown(brutal, "brutal_kill"), undefined);
    assert.equal(rt.isAlive(brutal.pid), false);
  });
});

Deno.test("Task.shutdown() kills a task that ignores the shutdown signal after the timeout", async () => {
  await inProcess(async (rt) => {
    const trapping = deferred<void>();
    const task = Task.async(async () => {
      trapExit(true);
      trapping.resolve();
      while (true) await receive(); // swallows the EXIT message
    });
    await trapping.promise;
    const started = performance.now();
    assert.equal(await Task.shutdown(task, 50), undefined);
    assert.ok(performance.now() - started >= 45);
    assert.equal(rt.isAlive(task.pid), false);
  });
});

Deno.test("Task.awaitMany() returns every result in order; Task.yieldMany() shares one deadline", async () => {
  await inProcess(async () => {
    const tasks = [30, 10, 20].map((n) => Task.async(() => n * 2));
    assert.deepEqual(await Task.awaitMany(tasks), [60, 20, 40]);

    const gate = deferred<void>();
    const quick = Task.async(() => "quick");
    const slow = Task.async(async () => {
      await gate.promise;
      return "slow";
    });
    const outcomes = await Task.yieldMany([quick, slow], 30);
    assert.deepEqual(outcomes, [{ ok: "quick" }, undefined]);
    const err = await Task.awaitMany([slow], 5).catch((e) => e);
    assert.ok(err instanceof TimeoutError);
    gate.resolve();
    assert.deepEqual(await Task.awaitMany([slow]), ["slow"]);
  });
});

Deno.test("Task.awaitMany() throws ExitError for a task that crashed", async () => {
  await inProcess(async () => {
    const ok = Task.async(() => 1);
    const bad = Task.async(() => {
      throw new Error("one of many");
    });
    const err = await Task.awaitMany([ok, bad]).catch((e) => e);
    assert.ok(err instanceof ExitError && (err.reason as Error).message === "one of many");
  }, { trapExit: true });
});

Deno.test("Task.start() and Task.startLink() run a function nobody awaits", async () => {
  await inProcess(async (rt, me) => {
    const ran = deferred<Pid>();
    const pid = Task.start(() => ran.resolve(self()));
    assert.ok((await ran.promise).equals(pid));
    const linked = Task.startLink(() => new Promise(() => {}));
    assert.ok(rt.info(linked)!.links.some((p) => p.equals(me.self)));
    rt.exit(linked, "kill");
  }, { trapExit: true });
});

Deno.test("Task.Supervisor is TaskSupervisor", () => {
  assert.equal(Task.Supervisor, TaskSupervisor);
});
