import assert from "node:assert/strict";
import { demonitor, self } from "../../src/process/current.ts";
import type { DownMessage } from "../../src/process/types.ts";
import { Pid } from "../../src/term/pid.ts";
import { ExitError } from "../../src/otp/errors.ts";
import {
  type CallResult,
  type CastResult,
  type From,
  GenServer,
  type InfoResult,
} from "../../src/otp/gen_server.ts";
import { Task, type TaskReply } from "../../src/otp/task.ts";
import { TaskSupervisor } from "../../src/otp/task_supervisor.ts";
import { deferred, waitFor } from "../helpers/wait.ts";
import { exitReason, inProcess } from "./_helpers.ts";

Deno.test("TaskSupervisor.asyncNolink() runs a supervised task the caller awaits", async () => {
  await inProcess(async (_rt, me) => {
    const sup = await TaskSupervisor.start({ name: "tasks" });
    const task = await TaskSupervisor.asyncNolink("tasks", () => ({ runner: self(), n: 42 }));
    const result = await Task.await(task);
    assert.equal(result.n, 42);
    assert.ok(result.runner.equals(task.pid));
    assert.deepEqual(me.flush(), []);
    await TaskSupervisor.stop(sup);
  });
});

Deno.test("a crashing asyncNolink task leaves the caller alive and is reported by await and yield", async () => {
  await inProcess(async (rt, me) => {
    const sup = await TaskSupervisor.start();
    const task = await TaskSupervisor.asyncNolink(sup, () => {
      throw new Error("task crashed");
    });
    const err = await Task.await(task).catch((e) => e);
    assert.ok(err instanceof ExitError && (err.reason as Error).message === "task crashed");
    assert.ok(rt.isAlive(me.self));
    const again = await TaskSupervisor.asyncNolink(sup, async () => {
      await null;
      throw "plain reason";
    });
    assert.deepEqual(await Task.yield(again, 1000), { exit: "plain reason" });
    assert.ok(rt.isAlive(sup), "a temporary task's crash must not count against the supervisor");
    await TaskSupervisor.stop(sup);
  });
});

Deno.test("a server gets an asyncNolink result in handleInfo, as in Elixir", async () => {
  type State = { pending: Map<string, From>; sup: Pid };
  class Fetcher extends GenServer<State> {
    override init(sup: Pid) {
      return { ok: { pending: new Map(), sup } };
    }
    override async handleCall(req: number, from: From, state: State): Promise<CallResult<State>> {
      const task = await TaskSupervisor.asyncNolink(state.sup, () => {
        if (req < 0) throw new RangeError("negative");
        return req * 2;
      });
      state.pending.set(task.ref.key, from);
      return { noreply: true, state };
    }
    override handleCast(_req: unknown, state: State): CastResult<State> {
      return { noreply: true, state };
    }
    override handleInfo(msg: unknown, state: State): InfoResult<State> {
      const m = msg as TaskReply<number> | DownMessage;
      const from = state.pending.get(m.ref.key);
      if (from === undefined) return { noreply: true, state };
      state.pending.delete(m.ref.key);
      if (m.type === "TASK_REPLY") {
        demonitor(m.ref, { flush: true });
        GenServer.reply(from, { ok: m.result });
      } else {
        GenServer.reply(from, { failed: (m.reason as Error).message });
      }
      return { noreply: true, state };
    }
  }
  await inProcess(async () => {
    const sup = await TaskSupervisor.start();
    const server = await GenServer.start(Fetcher, sup);
    assert.deepEqual(await GenServer.call(server, 21), { ok: 42 });
    assert.deepEqual(await GenServer.call(server, -1), { failed: "negative" });
    await GenServer.stop(server);
    await TaskSupervisor.stop(sup);
  });
});

Deno.test("TaskSupervisor.async() links the task to the caller", async () => {
  await inProcess(async (rt) => {
    const sup = await TaskSupervisor.start();
    const ready = deferred<Pid>();
    const owner = rt.spawn(async () => {
      const task = await TaskSupervisor.async(sup, () => {
        throw new Error("linked crash");
      });
      ready.resolve(task.pid);
      await Task.await(task, 60_000);
    });
    const died = exitReason(rt, owner);
    await ready.promise;
    const reason = await died;
    assert.ok(reason instanceof Error && reason.message === "linked crash", String(reason));
    await TaskSupervisor.stop(sup);
  });
});

Deno.test("TaskSupervisor.startChild(), children() and terminateChild() manage fire-and-forget tasks", async () => {
  await inProcess(async (rt) => {
    const sup = await TaskSupervisor.start();
    const done = deferred<void>();
    const quick = await TaskSupervisor.startChild(sup, () => done.resolve());
    await done.promise;
    await waitFor(() => !rt.isAlive(quick));
    const forever = await TaskSupervisor.startChild(sup, () => new Promise(() => {}));
    await waitFor(async () => (await TaskSupervisor.children(sup)).length === 1);
    assert.ok((await TaskSupervisor.children(sup))[0]!.equals(forever));
    await TaskSupervisor.terminateChild(sup, forever);
    assert.equal(rt.isAlive(forever), false);
    assert.deepEqual(await TaskSupervisor.children(sup), []);
    await TaskSupervisor.stop(sup);
  });
});

Deno.test("stopping a task supervisor shuts its tasks down", async () => {
  await inProcess(async (rt) => {
    const sup = await TaskSupervisor.start();
    const task = await TaskSupervisor.asyncNolink(sup, () => new Promise(() => {}));
    const pid2 = await TaskSupervisor.startChild(sup, () => new Promise(() => {}));
    assert.deepEqual((await TaskSupervisor.countChildren(sup)).active, 2);
    await TaskSupervisor.stop(sup);
    assert.equal(rt.isAlive(task.pid), false);
    assert.equal(rt.isAlive(pid2), false);
    const outcome = await Task.yield(task, 1000);
    assert.deepEqual(outcome, { exit: "shutdown" });
  });
});

Deno.test("TaskSupervisor refuses a supervisor on another node and non-functions", async () => {
  await inProcess(async () => {
    const remote = new Pid("elsewhere@localhost", 5, 0, 1);
    await assert.rejects(() => TaskSupervisor.asyncNolink(remote, () => 1), TypeError);
    await assert.rejects(
      () => TaskSupervisor.startChild({ name: "tasks", node: "elsewhere@localhost" }, () => 1),
      /cannot be sent to another node/,
    );
    const sup = await TaskSupervisor.start();
    await assert.rejects(() => TaskSupervisor.asyncNolink(sup, 42 as never), TypeError);
    await TaskSupervisor.stop(sup);
  });
});
