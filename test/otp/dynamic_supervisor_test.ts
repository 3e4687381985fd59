import assert from "node:assert/strict";
import { spawn, spawnLink, trapExit } from "../../src/process/current.ts";
import { Pid } from "../../src/term/pid.ts";
import type { DynamicChildSpec } from "../../src/otp/dynamic_supervisor.ts";
import { DynamicSupervisor } from "../../src/otp/dynamic_supervisor.ts";
import { StartError, SupervisorError } from "../../src/otp/errors.ts";
import {
  type CastResult,
  GenServer,
  type InfoResult,
  type InitResult,
} from "../../src/otp/gen_server.ts";
import { Supervisor } from "../../src/otp/supervisor.ts";
import { waitFor } from "../helpers/wait.ts";
import { exitReason, inProcess } from "./_helpers.ts";

/** A worker that crashes or stops on a cast. */
class Worker extends GenServer<string> {
  override init(id: string): InitResult<string> {
    return { ok: id };
  }
  override handleCast(req: "crash" | "normal", id: string): CastResult<string> {
    if (req === "crash") throw new Error(`${id} crashed`);
    return { stop: req, state: id };
  }
}

/** Traps exits and ignores them: only a kill stops it. */
class Stubborn extends GenServer<null> {
  override init(): InitResult<null> {
    trapExit(true);
    return { ok: null };
  }
  override handleInfo(_msg: unknown, state: null): InfoResult<null> {
    return { noreply: true, state };
  }
}

function worker(id: string, extra: Partial<DynamicChildSpec> = {}): DynamicChildSpec {
  return { start: () => GenServer.startLink(Worker, id), ...extra };
}

async function livePids(sup: Pid): Promise<Pid[]> {
  return (await DynamicSupervisor.whichChildren(sup)).flatMap((c) =>
    c.pid instanceof Pid ? [c.pid] : []
  );
}

Deno.test("DynamicSupervisor starts, lists, counts and terminates children", async () => {
  await inProcess(async (rt) => {
    const sup = await DynamicSupervisor.start();
    assert.deepEqual(await DynamicSupervisor.whichChildren(sup), []);
    const a = await DynamicSupervisor.startChild(sup, worker("a"));
    const b = await DynamicSupervisor.startChild(sup, worker("b", { type: "supervisor" }));
    assert.ok(rt.info(a)!.links.some((p) => p.equals(sup)));
    assert.deepEqual(await DynamicSupervisor.whichChildren(sup), [
      { id: undefined, pid: a, type: "worker" },
      { id: undefined, pid: b, type: "supervisor" },
    ]);
    assert.deepEqual(await DynamicSupervisor.countChildren(sup), {
      specs: 2,
      active: 2,
      supervisors: 1,
      workers: 1,
    });
    await DynamicSupervisor.terminateChild(sup, a);
    assert.equal(rt.isAlive(a), false);
    assert.deepEqual(await livePids(sup), [b]);
    const err = await DynamicSupervisor.terminateChild(sup, a).catch((e) => e);
    assert.ok(err instanceof SupervisorError && err.code === "not_found");
    await DynamicSupervisor.stop(sup);
    assert.equal(rt.isAlive(b), false);
  });
});

Deno.test("DynamicSupervisor refuses a child past maxChildren", async () => {
  await inProcess(async () => {
    const sup = await DynamicSupervisor.start({ maxChildren: 2 });
    await DynamicSupervisor.startChild(sup, worker("a"));
    const b = await DynamicSupervisor.startChild(sup, worker("b"));
    const err = await DynamicSupervisor.startChild(sup, worker("c")).catch((e) => e);
    assert.ok(err instanceof SupervisorError && err.code === "max_children", String(err));
    await DynamicSupervisor.terminateChild(sup, b);
    await DynamicSupervisor.startChild(sup, worker("c"));
    await DynamicSupervisor.stop(sup);
  });
});

Deno.test("DynamicSupervisor restarts by restart type", async () => {
  await inProcess(async () => {
    const sup = await DynamicSupervisor.start({ intensity: 10 });
    const perm = await DynamicSupervisor.startChild(sup, worker("perm"));
    const temp = await DynamicSupervisor.startChild(sup, worker("temp", { restart: "temporary" }));
    const trans = await DynamicSupervisor.startChild(
      sup,
      worker("trans", { restart: "transient" }),
    );
    GenServer.cast(perm, "normal");
    GenServer.cast(temp, "crash");
    GenServer.cast(trans, "normal");
    await waitFor(async () => (await DynamicSupervisor.whichChildren(sup)).length === 1);
    const [perm2] = await livePids(sup);
    assert.ok(perm2 !== undefined && !perm2.equals(perm), "the permanent child was not restarted");
    const trans2 = await DynamicSupervisor.startChild(
      sup,
      worker("trans", { restart: "transient" }),
    );
    GenServer.cast(trans2, "crash");
    await waitFor(async () => {
      const now = await livePids(sup);
      return now.length === 2 && !now.some((p) => p.equals(trans2));
    });
    await DynamicSupervisor.stop(sup);
  });
});

Deno.test("DynamicSupervisor exits shutdown past its restart intensity, stopping every child", async () => {
  await inProcess(async (rt) => {
    const sup = await DynamicSupervisor.start({ intensity: 1, periodSeconds: 5 });
    const quiet = await DynamicSupervisor.startChild(sup, worker("quiet"));
    const supExit = exitReason(rt, sup);
    const first = await DynamicSupervisor.startChild(sup, worker("flaky"));
    GenServer.cast(first, "crash");
    let second: Pid | undefined;
    await waitFor(async () => {
      second = (await livePids(sup)).find((p) => !p.equals(quiet) && !p.equals(first));
      return second !== undefined;
    });
    GenServer.cast(second!, "crash");
    assert.equal(await supExit, "shutdown");
    assert.equal(rt.isAlive(quiet), false);
  });
});

Deno.test("DynamicSupervisor stops all children at once, killing those past their shutdown time", async () => {
  await inProcess(async (rt) => {
    const sup = await DynamicSupervisor.start();
    const stubborn: Pid[] = [];
    for (let i = 0; i < 3; i++) {
      stubborn.push(
        await DynamicSupervisor.startChild(sup, {
          start: () => GenServer.start(Stubborn, undefined),
          shutdown: 100,
        }),
      );
    }
    const exits = stubborn.map((p) => exitReason(rt, p));
    const started = performance.now();
    await DynamicSupervisor.stop(sup);
    const took = performance.now() - started;
    assert.deepEqual(await Promise.all(exits), ["killed", "killed", "killed"]);
    assert.ok(took >= 90 && took < 290, `stopping 3 children took ${took} ms; not in parallel?`);
  });
});

Deno.test("DynamicSupervisor.startChild reports a failed or ignored start with StartError", async () => {
  await inProcess(async () => {
    const sup = await DynamicSupervisor.start();
    const failed = await DynamicSupervisor.startChild(sup, {
      start: () => {
        throw new Error("nope");
      },
    }).catch((e) => e);
    assert.ok(failed instanceof StartError && (failed.reason as Error).message === "nope");
    const ignored = await DynamicSupervisor.startChild(sup, { start: () => undefined }).catch((
      e,
    ) => e);
    assert.ok(ignored instanceof StartError && ignored.reason === "ignore");
    const notPid = await DynamicSupervisor.startChild(sup, { start: () => 42 as never }).catch((
      e,
    ) => e);
    assert.ok(notPid instanceof StartError && notPid.reason instanceof TypeError);
    assert.deepEqual(await DynamicSupervisor.whichChildren(sup), []);
    // A plain spawn is supervised too: the supervisor links to it.
    const plain = await DynamicSupervisor.startChild(sup, {
      start: () => spawn(async (ctx) => void (await ctx.receive())),
      restart: "temporary",
    });
    await DynamicSupervisor.stop(sup);
    assert.equal(plain.node, sup.node);
  });
});

Deno.test("a DynamicSupervisor runs under a Supervisor", async () => {
  await inProcess(async (rt) => {
    const top = await Supervisor.start([
      DynamicSupervisor.childSpec({ id: "workers", name: "workers", maxChildren: 5 }),
    ]);
    const child = await DynamicSupervisor.startChild("workers", {
      start: () => spawnLink(async (ctx) => void (await ctx.receive())),
    });
    const [info] = await Supervisor.whichChildren(top);
    assert.equal(info!.type, "supervisor");
    await Supervisor.stop(top);
    assert.equal(rt.isAlive(child), false);
  });
});

Deno.test("DynamicSupervisor functions refuse malformed options and specs", async () => {
  await inProcess(async () => {
    await assert.rejects(() => DynamicSupervisor.start({ maxChildren: -1 }), RangeError);
    await assert.rejects(() => DynamicSupervisor.start({ maxChildren: 1.5 }), RangeError);
    const sup = await DynamicSupervisor.start();
    await assert.rejects(() => DynamicSupervisor.startChild(sup, {} as never), TypeError);
    await assert.rejects(() => DynamicSupervisor.terminateChild(sup, "x" as never), TypeError);
    await DynamicSupervisor.stop(sup);
  });
});
