import assert from "node:assert/strict";
import { runInProcess, spawnLink, trapExit } from "../../src/process/current.ts";
import { Pid } from "../../src/term/pid.ts";
import type { ChildSpec } from "../../src/otp/child_spec.ts";
import {
  AlreadyStartedError,
  ExitError,
  StartError,
  SupervisorError,
} from "../../src/otp/errors.ts";
import {
  type CallResult,
  type CastResult,
  type From,
  GenServer,
  type InfoResult,
  type InitResult,
} from "../../src/otp/gen_server.ts";
import { Supervisor } from "../../src/otp/supervisor.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";
import { exitReason, inProcess } from "./_helpers.ts";

interface WorkerArgs {
  id: string;
  log: string[];
  /** Trap exits, so that terminate runs on shutdown. Default true. */
  trap?: boolean;
}

/** A worker that logs its starts and stops, and crashes or stops on request. */
class Worker extends GenServer<WorkerArgs> {
  override init(args: WorkerArgs): InitResult<WorkerArgs> {
    if (args.trap ?? true) trapExit(true);
    args.log.push(`start ${args.id}`);
    return { ok: args };
  }
  override handleCall(_req: "ping", _from: From, args: WorkerArgs): CallResult<WorkerArgs> {
    return { reply: args.id, state: args };
  }
  override handleCast(
    req: "crash" | "normal" | "shutdown",
    args: WorkerArgs,
  ): CastResult<WorkerArgs> {
    if (req === "crash") throw new Error(`${args.id} crashed`);
    return { stop: req, state: args };
  }
  override handleInfo(_msg: unknown, args: WorkerArgs): InfoResult<WorkerArgs> {
    // A stubborn worker swallows its supervisor's exit signal (a message, as it traps exits).
    return { noreply: true, state: args };
  }
  override terminate(_reason: unknown, args: WorkerArgs): void {
    args.log.push(`stop ${args.id}`);
  }
}

/** A Worker that ignores the exit signal from its supervisor. */
class StubbornWorker extends Worker {
  override init(args: WorkerArgs): InitResult<WorkerArgs> {
    // Started with start(), not startLink(), it has no parent: the supervisor's
    // exit signal reaches handleInfo, which ignores it.
    return super.init(args);
  }
}

function worker(id: string, log: string[], extra: Partial<ChildSpec> = {}): ChildSpec {
  return {
    id,
    start: () => GenServer.startLink(Worker, { id, log }),
    ...extra,
  };
}

async function pidOf(sup: Pid | string, id: string): Promise<Pid | undefined> {
  const child = (await Supervisor.whichChildren(sup)).find((c) => c.id === id);
  return child?.pid instanceof Pid ? child.pid : undefined;
}

async function pids(sup: Pid | string): Promise<Record<string, Pid | string | undefined>> {
  const out: Record<string, Pid | string | undefined> = {};
  for (const c of await Supervisor.whichChildren(sup)) out[c.id!] = c.pid;
  return out;
}

/** Crashes the child `id` and waits until the supervisor shows a new pid for it. */
async function crashAndAwaitRestart(sup: Pid, id: string): Promise<Pid> {
  const before = (await pidOf(sup, id))!;
  GenServer.cast(before, "crash");
  let after: Pid | undefined;
  await waitFor(async () => {
    after = await pidOf(sup, id);
    return after !== undefined && !after.equals(before);
  }, { message: `child ${id} was not restarted` });
  return after!;
}

Deno.test("Supervisor.start() starts children in order and whichChildren/countChildren report them", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log), worker("b", log), worker("c", log)]);
    assert.deepEqual(log, ["start a", "start b", "start c"]);
    const children = await Supervisor.whichChildren(sup);
    assert.deepEqual(children.map((c) => [c.id, c.type]), [["a", "worker"], ["b", "worker"], [
      "c",
      "worker",
    ]]);
    for (const c of children) {
      assert.ok(c.pid instanceof Pid && rt.isAlive(c.pid));
      assert.ok(rt.info(c.pid)!.links.some((p) => p.equals(sup)), "child not linked to supervisor");
    }
    assert.deepEqual(await Supervisor.countChildren(sup), {
      specs: 3,
      active: 3,
      supervisors: 0,
      workers: 3,
    });
    await Supervisor.stop(sup);
  });
});

Deno.test("one_for_one restarts only the crashed child", async () => {
  await inProcess(async () => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log), worker("b", log), worker("c", log)], {
      strategy: "one_for_one",
    });
    const before = await pids(sup);
    const b2 = await crashAndAwaitRestart(sup, "b");
    const after = await pids(sup);
    assert.ok((after.a as Pid).equals(before.a as Pid));
    assert.ok((after.c as Pid).equals(before.c as Pid));
    assert.ok(!b2.equals(before.b as Pid));
    assert.equal(await GenServer.call(b2, "ping"), "b");
    assert.deepEqual(log.slice(3), ["stop b", "start b"]);
    await Supervisor.stop(sup);
  });
});

Deno.test("one_for_all stops the others in reverse order and restarts all in order", async () => {
  await inProcess(async () => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log), worker("b", log), worker("c", log)], {
      strategy: "one_for_all",
    });
    const before = await pids(sup);
    await crashAndAwaitRestart(sup, "b");
    await waitFor(() => log.length === 3 + 6);
    assert.deepEqual(log.slice(3), ["stop b", "stop c", "stop a", "start a", "start b", "start c"]);
    const after = await pids(sup);
    for (const id of ["a", "b", "c"]) assert.ok(!(after[id] as Pid).equals(before[id] as Pid), id);
    await Supervisor.stop(sup);
  });
});

Deno.test("rest_for_one restarts the crashed child and those started after it", async () => {
  await inProcess(async () => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log), worker("b", log), worker("c", log)], {
      strategy: "rest_for_one",
    });
    const before = await pids(sup);
    await crashAndAwaitRestart(sup, "b");
    await waitFor(() => log.length === 3 + 4);
    assert.deepEqual(log.slice(3), ["stop b", "stop c", "start b", "start c"]);
    const after = await pids(sup);
    assert.ok((after.a as Pid).equals(before.a as Pid));
    assert.ok(!(after.c as Pid).equals(before.c as Pid));
    await Supervisor.stop(sup);
  });
});

Deno.test("a supervisor gives up after more than intensity restarts within period and exits shutdown", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log), worker("b", log)], {
      intensity: 2,
      periodSeconds: 5,
    });
    const supExit = exitReason(rt, sup);
    await crashAndAwaitRestart(sup, "b");
    await crashAndAwaitRestart(sup, "b");
    const a = (await pidOf(sup, "a"))!;
    const b = (await pidOf(sup, "b"))!;
    GenServer.cast(b, "crash"); // the third restart within 5 s is one too many
    assert.equal(await supExit, "shutdown");
    assert.equal(rt.isAlive(a), false);
    assert.equal(rt.isAlive(b), false);
    assert.equal(log.at(-1), "stop a", "the remaining child was stopped");
  });
});

Deno.test("restarts older than the period do not count against the intensity", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log)], { intensity: 1, periodSeconds: 0.05 });
    await crashAndAwaitRestart(sup, "a");
    const since = performance.now();
    await waitFor(() => performance.now() - since > 80); // let the window pass
    await crashAndAwaitRestart(sup, "a");
    assert.ok(rt.isAlive(sup));
    await Supervisor.stop(sup);
  });
});

Deno.test("intensity 0 means the first exit that needs a restart stops the supervisor", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log)], { intensity: 0 });
    const supExit = exitReason(rt, sup);
    GenServer.cast((await pidOf(sup, "a"))!, "crash");
    assert.equal(await supExit, "shutdown");
  });
});

Deno.test("restart types: permanent always, transient only on a crash, temporary never", async () => {
  await inProcess(async () => {
    const log: string[] = [];
    const sup = await Supervisor.start([
      worker("perm", log, { restart: "permanent" }),
      worker("trans", log, { restart: "transient" }),
      worker("temp", log, { restart: "temporary" }),
    ], { intensity: 10 });
    // permanent: restarted even after a normal exit
    const perm = (await pidOf(sup, "perm"))!;
    GenServer.cast(perm, "normal");
    await waitFor(async () => {
      const now = await pidOf(sup, "perm");
      return now !== undefined && !now.equals(perm);
    });
    // transient: not restarted after normal, shutdown or {shutdown: x}; restarted after a crash
    for (const reason of ["normal", "shutdown"] as const) {
      const trans = (await pidOf(sup, "trans")) ?? (await Supervisor.restartChild(sup, "trans"));
      GenServer.cast(trans, reason);
      await waitFor(async () => (await pidOf(sup, "trans")) === undefined);
    }
    const trans = await Supervisor.restartChild(sup, "trans");
    await GenServer.stop(trans, { shutdown: "done" });
    await waitFor(async () => (await pidOf(sup, "trans")) === undefined);
    await Supervisor.restartChild(sup, "trans");
    await crashAndAwaitRestart(sup, "trans");
    // temporary: never restarted, and forgotten
    GenServer.cast((await pidOf(sup, "temp"))!, "crash");
    await waitFor(async () => !(await Supervisor.whichChildren(sup)).some((c) => c.id === "temp"));
    assert.deepEqual((await Supervisor.whichChildren(sup)).map((c) => c.id), ["perm", "trans"]);
    await Supervisor.stop(sup);
  });
});

Deno.test("Supervisor.stop() stops children in reverse start order, then exits", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log), worker("b", log), worker("c", log)]);
    const children = Object.values(await pids(sup)) as Pid[];
    await Supervisor.stop(sup);
    assert.deepEqual(log.slice(3), ["stop c", "stop b", "stop a"]);
    for (const pid of children) assert.equal(rt.isAlive(pid), false);
    assert.equal(rt.isAlive(sup), false);
  });
});

Deno.test("a child that ignores shutdown is killed after its shutdown time; brutal_kill kills at once", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([
      {
        id: "stubborn",
        start: () => GenServer.start(StubbornWorker, { id: "stubborn", log }),
        shutdown: 80,
      },
      {
        id: "brutal",
        start: () => GenServer.startLink(Worker, { id: "brutal", log }),
        shutdown: "brutal_kill",
      },
    ]);
    const stubborn = (await pidOf(sup, "stubborn"))!;
    const brutal = (await pidOf(sup, "brutal"))!;
    const stubbornExit = exitReason(rt, stubborn);
    const brutalExit = exitReason(rt, brutal);
    const started = performance.now();
    await Supervisor.stop(sup);
    const took = performance.now() - started;
    assert.equal(await brutalExit, "killed");
    assert.equal(await stubbornExit, "killed");
    assert.ok(took >= 70, `stopped after ${took} ms, before the shutdown time`);
    assert.ok(took < 2000, `stopped after ${took} ms`);
    assert.ok(!log.includes("stop brutal"), "terminate ran for a brutally killed child");
    assert.ok(!log.includes("stop stubborn"));
  });
});

Deno.test("a child that obeys shutdown is not killed; its terminate runs", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log, { shutdown: 5000 })]);
    const a = (await pidOf(sup, "a"))!;
    const aExit = exitReason(rt, a);
    await Supervisor.stop(sup);
    assert.equal(await aExit, "shutdown");
    assert.deepEqual(log, ["start a", "stop a"]);
  });
});

Deno.test("supervisors nest: the inner one restarts its children, the outer one restarts it", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([
      worker("w1", log),
      Supervisor.childSpec([worker("w2", log), worker("w3", log)], { id: "inner" }),
      worker("w4", log),
    ], { strategy: "one_for_one" });
    const counts = await Supervisor.countChildren(sup);
    assert.deepEqual(counts, { specs: 3, active: 3, supervisors: 1, workers: 2 });
    const inner = (await pidOf(sup, "inner"))!;
    assert.equal((await Supervisor.whichChildren(sup))[1]!.type, "supervisor");
    // A crash inside stays inside.
    await crashAndAwaitRestart(inner, "w2");
    assert.ok((await pidOf(sup, "inner"))!.equals(inner));
    // The inner supervisor killed: the outer restarts it, with fresh children.
    const w3 = (await pidOf(inner, "w3"))!;
    rt.exit(inner, "kill");
    let inner2: Pid | undefined;
    await waitFor(async () => {
      inner2 = await pidOf(sup, "inner");
      return inner2 !== undefined && !inner2.equals(inner);
    });
    assert.equal(rt.isAlive(w3), false);
    assert.equal((await Supervisor.whichChildren(inner2!)).length, 2);
    // Ordered shutdown goes down the tree: w4, then inner's w3 and w2, then w1.
    log.length = 0;
    await Supervisor.stop(sup);
    assert.deepEqual(log, ["stop w4", "stop w3", "stop w2", "stop w1"]);
  });
});

Deno.test("terminateChild, restartChild and deleteChild manage a child by id", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const sup = await Supervisor.start([worker("a", log), worker("b", log)]);
    const a = (await pidOf(sup, "a"))!;
    await Supervisor.terminateChild(sup, "a");
    assert.equal(rt.isAlive(a), false);
    assert.deepEqual((await Supervisor.whichChildren(sup)).map((c) => [c.id, c.pid]), [
      ["a", undefined],
      ["b", await pidOf(sup, "b")],
    ]);
    const running = await Supervisor.restartChild(sup, "b").catch((e) => e);
    assert.ok(running instanceof SupervisorError && running.code === "running");
    const busy = await Supervisor.deleteChild(sup, "b").catch((e) => e);
    assert.ok(busy instanceof SupervisorError && busy.code === "running");
    const a2 = await Supervisor.restartChild(sup, "a");
    assert.equal(await GenServer.call(a2, "ping"), "a");
    await Supervisor.terminateChild(sup, "a");
    await Supervisor.deleteChild(sup, "a");
    assert.deepEqual((await Supervisor.whichChildren(sup)).map((c) => c.id), ["b"]);
    for (
      const op of [
        () => Supervisor.terminateChild(sup, "zzz"),
        () => Supervisor.restartChild(sup, "zzz"),
        () => Supervisor.deleteChild(sup, "zzz"),
      ]
    ) {
      const err = await op().catch((e) => e);
      assert.ok(err instanceof SupervisorError && err.code === "not_found", String(err));
    }
    await Supervisor.stop(sup);
  });
});

Deno.test("startChild adds a child; a taken id, a failed start and an ignored start are reported", async () => {
  await inProcess(async () => {
    const log: string[] = [];
    const sup = await Supervisor.start([]);
    const c = await Supervisor.startChild(sup, worker("c", log));
    assert.equal(await GenServer.call(c, "ping"), "c");
    const dup = await Supervisor.startChild(sup, worker("c", log)).catch((e) => e);
    assert.ok(dup instanceof AlreadyStartedError && dup.pid.equals(c), String(dup));
    await Supervisor.terminateChild(sup, "c");
    const present = await Supervisor.startChild(sup, worker("c", log)).catch((e) => e);
    assert.ok(present instanceof SupervisorError && present.code === "already_present");

    const failed = await Supervisor.startChild(sup, {
      id: "bad",
      start: () => {
        throw new RangeError("no resources");
      },
    }).catch((e) => e);
    assert.ok(failed instanceof StartError && failed.reason instanceof RangeError, String(failed));
    assert.ok(!(await Supervisor.whichChildren(sup)).some((ch) => ch.id === "bad"));

    const ignored = await Supervisor.startChild(sup, { id: "quiet", start: () => undefined }).catch(
      (
        e,
      ) => e,
    );
    assert.ok(ignored instanceof StartError && ignored.reason === "ignore");
    const quiet = (await Supervisor.whichChildren(sup)).find((ch) => ch.id === "quiet");
    assert.deepEqual(quiet, { id: "quiet", pid: undefined, type: "worker" });

    const plain = await Supervisor.startChild(sup, {
      id: "plain",
      start: () => spawnLink(async (ctx) => void (await ctx.receive())),
      shutdown: "brutal_kill",
    });
    assert.ok(plain instanceof Pid);
    await Supervisor.stop(sup);
  });
});

Deno.test("Supervisor.start() fails with StartError when a child fails, stopping those started", async () => {
  await inProcess(async (rt) => {
    const log: string[] = [];
    const before = rt.list().length;
    const err = await Supervisor.start([
      worker("a", log),
      { id: "b", start: () => Promise.reject(new Error("cannot start b")) },
      worker("c", log),
    ]).catch((e) => e);
    assert.ok(err instanceof StartError, String(err));
    const reason = err.reason as { shutdown: { failedToStartChild: string; reason: Error } };
    assert.equal(reason.shutdown.failedToStartChild, "b");
    assert.equal(reason.shutdown.reason.message, "cannot start b");
    assert.deepEqual(log, ["start a", "stop a"]);
    await waitFor(() => rt.list().length === before);
  });
});

Deno.test("a restart that fails is tried again, showing the child as restarting meanwhile", async () => {
  await inProcess(async () => {
    const log: string[] = [];
    let failures = 0;
    let blocked = false;
    const sup = await Supervisor.start([{
      id: "flaky",
      start: () => {
        if (blocked) {
          failures++;
          throw new Error("not yet");
        }
        return GenServer.startLink(Worker, { id: "flaky", log });
      },
    }], { intensity: 1_000_000 });
    blocked = true;
    const first = (await pidOf(sup, "flaky"))!;
    GenServer.cast(first, "crash");
    // Requests are served between two attempts.
    await waitFor(async () => (await Supervisor.whichChildren(sup))[0]!.pid === "restarting");
    const err = await Supervisor.restartChild(sup, "flaky").catch((e) => e);
    assert.ok(err instanceof SupervisorError && err.code === "restarting");
    assert.ok(failures > 0);
    blocked = false;
    await waitFor(async () => (await pidOf(sup, "flaky")) !== undefined);
    assert.equal(log.filter((l) => l === "start flaky").length, 2);
    await Supervisor.stop(sup);
  });
});

Deno.test("Supervisor functions refuse malformed children and options", async () => {
  await inProcess(async () => {
    const start = () => spawnLink(() => {});
    await assert.rejects(
      () => Supervisor.start([{ id: "a", start }, { id: "a", start }]),
      TypeError,
    );
    await assert.rejects(() => Supervisor.start([{ id: "", start }]), TypeError);
    await assert.rejects(() => Supervisor.start([{ id: "a" } as never]), TypeError);
    await assert.rejects(
      () => Supervisor.start([{ id: "a", start, restart: "sometimes" as never }]),
      TypeError,
    );
    await assert.rejects(() => Supervisor.start([{ id: "a", start, shutdown: -1 }]), RangeError);
    await assert.rejects(() => Supervisor.start([], { intensity: -1 }), RangeError);
    await assert.rejects(() => Supervisor.start([], { periodSeconds: 0 }), RangeError);
    await assert.rejects(
      () => Supervisor.start([], { strategy: "all_for_none" as never }),
      TypeError,
    );
    const err = await Supervisor.whichChildren("no_such_sup").catch((e) => e);
    assert.ok(err instanceof ExitError && err.reason === "noproc");
  });
});

Deno.test("a supervisor on another node answers whichChildren by {name, node}", async () => {
  const [a, b] = await startTestNodes(["supa", "supb"]);
  try {
    assert.ok(await a!.connect(b!.address));
    const log: string[] = [];
    await runInProcess(
      b!.runtime.open(),
      () => Supervisor.start([worker("w", log)], { name: "sup" }),
    );
    await runInProcess(a!.runtime.open(), async () => {
      const children = await Supervisor.whichChildren({ name: "sup", node: b!.name });
      assert.equal(children.length, 1);
      assert.equal(children[0]!.id, "w");
      assert.ok(children[0]!.pid instanceof Pid && children[0]!.pid.node === b!.name);
      assert.equal(await GenServer.call(children[0]!.pid, "ping"), "w");
    });
  } finally {
    await stopAll([a, b]);
  }
});
