import assert from "node:assert/strict";
import {
  type EventName,
  GEN_SERVER_CALL_STOP,
  type Measurements,
  MESSAGE_RECEIVED,
  MESSAGE_SENT,
  type Metadata,
  NODE_DOWN,
  NODE_UP,
  RAFT_LEADER,
  RPC_CALL_STOP,
  SUPERVISOR_RESTART,
  Telemetry,
} from "../../src/telemetry/mod.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { runInProcess, spawnLink } from "../../src/process/current.ts";
import { Supervisor } from "../../src/otp/supervisor.ts";
import { type CallResult, GenServer } from "../../src/otp/gen_server.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

interface Seen {
  name: string;
  m: Measurements;
  md: Metadata;
}

function recorder(t: Telemetry, events: EventName[]): Seen[] {
  const seen: Seen[] = [];
  t.attach(
    `rec-${Math.random()}`,
    events,
    (name, m, md) => seen.push({ name: name.join("."), m, md }),
  );
  return seen;
}

Deno.test("Telemetry.attach() calls handlers of that event only, in attach order", () => {
  const t = new Telemetry();
  const calls: string[] = [];
  t.attach("one", ["a", "b"], () => calls.push("one"));
  t.attach("two", [["a", "b"], ["a", "c"]], () => calls.push("two"));
  t.execute(["a", "b"], {});
  t.execute(["a", "c"], {});
  t.execute(["a"], {});
  assert.deepEqual(calls, ["one", "two", "two"]);
  assert.equal(t.size, 2);
  assert.ok(t.detach("two"));
  t.execute(["a", "c"], {});
  assert.deepEqual(calls, ["one", "two", "two"]);
  assert.equal(t.event(["a", "c"]).attached, false);
});

Deno.test("Telemetry.attach() refuses a duplicate id and malformed names", () => {
  const t = new Telemetry();
  t.attach("h", ["x"], () => {});
  assert.throws(() => t.attach("h", ["y"], () => {}), RangeError);
  assert.throws(() => t.attach("", ["y"], () => {}), TypeError);
  assert.throws(() => t.attach("k", [], () => {}), TypeError);
  assert.throws(() => t.attach("k", ["ok", ""], () => {}), TypeError);
  assert.throws(() => t.attach("k", ["ok"], "nope" as never), TypeError);
  assert.throws(() => t.execute("x" as never, {}), TypeError);
});

Deno.test("Telemetry: a handler that throws is detached, the others still run", () => {
  const t = new Telemetry();
  let good = 0;
  t.attach("bad", ["e"], () => {
    throw new Error("boom");
  });
  t.attach("good", ["e"], () => good++);
  t.execute(["e"], {});
  t.execute(["e"], {});
  assert.equal(good, 2);
  assert.deepEqual(t.list().map((h) => h.id), ["good"]);
});

Deno.test("Telemetry.event() handles made before attach see the handler", () => {
  const t = new Telemetry();
  const ev = t.event(["late", "attach"]);
  assert.equal(ev.attached, false);
  let n = 0;
  t.attach("h", ["late", "attach"], (_n, m) => (n += m.count!));
  assert.equal(ev.attached, true);
  ev.emit({ count: 3 });
  assert.equal(n, 3);
});

Deno.test("telemetry: GenServer calls and supervisor restarts emit their events", async () => {
  const rt = new Runtime();
  const seen = recorder(rt.telemetry, [GEN_SERVER_CALL_STOP, SUPERVISOR_RESTART]);
  class Echo extends GenServer<null> {
    override init() {
      return { ok: null };
    }
    override handleCall(req: string, _from: unknown, s: null): CallResult<null, string> {
      return { reply: req, state: s };
    }
  }
  const pid = await GenServer.start(Echo, undefined, { runtime: rt });
  assert.equal(await GenServer.call(pid, "hi", { runtime: rt }), "hi");
  const call = seen.find((s) => s.name === "weft.gen_server.call.stop")!;
  assert.equal(call.md.outcome, "ok");
  assert.ok(call.m.duration! >= 0);

  await runInProcess(rt.open(), async () => {
    let started = 0;
    const sup = await Supervisor.start([{
      id: "flaky",
      start: () =>
        spawnLink(async (ctx) => {
          if (started++ === 0) throw new Error("first run fails");
          await ctx.receive();
        }),
    }]);
    await waitFor(() => seen.some((s) => s.name === "weft.supervisor.restart"), {
      timeout: 10_000,
      message: "no restart event",
    });
    await Supervisor.stop(sup);
  });
  const restart = seen.find((s) => s.name === "weft.supervisor.restart")!;
  assert.equal(restart.md.child, "flaky");
  assert.equal(restart.m.count, 1);
  await rt.shutdown();
});

Deno.test("telemetry: node up/down, messages and rpc calls between two nodes", async () => {
  const [a, b] = await startTestNodes(["tel_a", "tel_b"]);
  try {
    const seenA = recorder(a!.runtime.telemetry, [NODE_UP, NODE_DOWN, MESSAGE_SENT, RPC_CALL_STOP]);
    const seenB = recorder(b!.runtime.telemetry, [MESSAGE_RECEIVED]);
    assert.ok(await a!.connect(b!.address));
    await waitFor(() => seenA.some((s) => s.name === "weft.node.up"), { timeout: 10_000 });
    assert.equal(seenA.find((s) => s.name === "weft.node.up")!.md.peer, b!.name);

    const inbox = b!.runtime.open();
    const me = a!.runtime.open();
    for (let i = 0; i < 5; i++) me.send(inbox.self, i);
    for (let i = 0; i < 5; i++) assert.equal(await inbox.receive(), i);
    assert.equal(seenA.filter((s) => s.name === "weft.dist.message.sent").length, 5);
    await waitFor(() => seenB.length === 5, { timeout: 10_000 });
    assert.deepEqual(seenB[0]!.md, { node: b!.name, peer: a!.name });

    assert.equal(await a!.rpc.call(b!.address, (x: number) => x * 2, [21]), 42);
    const rpc = seenA.find((s) => s.name === "weft.rpc.call.stop")!;
    assert.equal(rpc.md.outcome, "ok");
    assert.equal(rpc.md.target, b!.name);

    await b!.stop();
    await waitFor(() => seenA.some((s) => s.name === "weft.node.down"), { timeout: 10_000 });
    me.exit();
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("telemetry: a Raft group's new leader is told once per term", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft-tel-raft-" });
  const [a] = await startTestNodes(["tel_raft"], { dataDir: dir });
  try {
    const seen = recorder(a!.runtime.telemetry, [RAFT_LEADER]);
    await a!.raft.startCluster("solo", "kv", [a!.name], {
      electionTimeoutMs: 300,
      heartbeatMs: 50,
    });
    await waitFor(() => seen.some((s) => s.md.leader === a!.name), { timeout: 20_000 });
    const first = seen.find((s) => s.md.leader === a!.name)!;
    assert.equal(first.md.cluster, "solo");
    assert.ok(first.m.term! >= 1);
    await a!.raft.command("solo", ["put", "k", 1]);
    // Heartbeats and commands in the same term tell nothing new.
    assert.equal(
      seen.filter((s) => s.md.leader === a!.name && s.m.term === first.m.term).length,
      1,
    );
  } finally {
    await stopAll([a]);
    await Deno.remove(dir, { recursive: true });
  }
});
