import assert from "node:assert/strict";
import { Faults } from "../../src/cluster/faults.ts";
import { NameError, NotAliveError, TimeoutError } from "../../src/errors.ts";
import { global, globalNamesOf } from "../../src/global/mod.ts";
import type { GlobalNameConflictMessage } from "../../src/global/types.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { whereisServer } from "../../src/otp/name.ts";
import { runInProcess } from "../../src/process/current.ts";
import { Pid } from "../../src/term/pid.ts";
import { connectAll, converged, startCluster } from "../helpers/cluster.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

const names = (n: { global: { registered(): string[]; whereis(x: string): Pid | undefined } }) =>
  Object.fromEntries(n.global.registered().sort().map((x) => [x, String(n.global.whereis(x))]));

const isConflict = (m: unknown) =>
  (m as GlobalNameConflictMessage)?.type === "global_name_conflict";

/**
 * Waits until the wall clock has moved past the current millisecond: registration times are
 * `Date.now()`, so a name registered after this is the later one, on any node of this process.
 */
async function laterMillisecond(): Promise<void> {
  const now = Date.now();
  await waitFor(() => Date.now() > now, { interval: 1 });
}

Deno.test("register() / whereis() / send() / registered() / unregister() on one node", async () => {
  const node = await startTestNode("a");
  try {
    const me = node.runtime.open();
    const other = node.runtime.open();
    assert.equal(await node.global.register("db", me.self), true);
    assert.equal(await node.global.register("db", other.self), false);
    assert.ok(node.global.whereis("db")?.equals(me.self));
    assert.deepEqual(node.global.registered(), ["db"]);
    assert.ok(node.global.send("db", "hi").equals(me.self));
    assert.equal(await me.receive(), "hi");
    await node.global.unregister("db");
    assert.equal(node.global.whereis("db"), undefined);
    assert.throws(() => node.global.send("db", 1), NameError);
    await node.global.unregister("db"); // nothing registered: no-op
    assert.equal(await node.global.register("db", other.self), true);
  } finally {
    await node.stop();
  }
});

Deno.test("register() refuses bad names and pids with a TypeError, and a stopped server with NotAliveError", async () => {
  const node = await startTestNode("a");
  try {
    const me = node.runtime.open();
    assert.throws(() => node.global.register("", me.self), TypeError);
    assert.throws(() => node.global.register(42 as unknown as string, me.self), TypeError);
    assert.throws(() => node.global.register("x", "pid" as unknown as Pid), TypeError);
    assert.throws(
      () => node.global.register("x", me.self, { resolve: 1 as unknown as () => undefined }),
      TypeError,
    );
    assert.throws(() => node.global.register("x"), /Not inside a Weft process/);
  } finally {
    await node.stop();
  }
  const pid = new Pid(node.name, 99, 0, node.creation);
  assert.throws(() => node.global.register("x", pid), NotAliveError);
  assert.throws(() => globalNamesOf(node.runtime), NotAliveError);
});

Deno.test("register() of a dead process is false, and the global namespace acts for the calling process", async () => {
  const node = await startTestNode("a");
  try {
    const dead = node.runtime.open();
    dead.exit("normal");
    assert.equal(await node.global.register("x", dead.self), false);
    const me = node.runtime.open();
    await runInProcess(me, async () => {
      assert.equal(await global.register("shell"), true);
      assert.ok(global.whereis("shell")?.equals(me.self));
      assert.deepEqual(global.registered(), ["shell"]);
      global.send("shell", 1);
      assert.equal(await global.trans("l", () => "done"), "done");
      await global.unregister("shell");
      assert.equal(global.whereis("shell"), undefined);
    });
  } finally {
    await node.stop();
  }
});

Deno.test("register() raced by every node of 5 for one name: exactly one wins and all nodes agree", async () => {
  const nodes = await startCluster(["a", "b", "c", "d", "e"]);
  try {
    for (let round = 0; round < 25; round++) {
      const name = `leader${round}`;
      const pids = nodes.map((n) => n.runtime.open().self);
      const results = await Promise.all(nodes.map((n, i) => n.global.register(name, pids[i])));
      assert.equal(results.filter((r) => r).length, 1, `round ${round}: ${results}`);
      const winner = pids[results.indexOf(true)]!;
      await converged(nodes, (n) => String(n.global.whereis(name)), String(winner));
    }
    // And racing for many names at once, each node on its own set of them.
    const pid = (i: number) => nodes[i % 5]!.runtime.open().self;
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) => nodes[i % 5]!.global.register(`n${i % 10}`, pid(i))),
    );
    assert.equal(claims.filter((c) => c).length, 10);
    await converged(nodes, names);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("a name is freed on every node when its process exits", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const p = nodes[1]!.runtime.open();
    assert.ok(await nodes[1]!.global.register("worker", p.self));
    await converged(nodes, names, { worker: String(p.self) });
    p.exit("boom");
    await converged(nodes, names, {});
    const q = nodes[2]!.runtime.open();
    assert.ok(await nodes[0]!.global.register("worker", q.self)); // a pid of another node
    await converged(nodes, names, { worker: String(q.self) });
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("the names of a lost node are freed on every other node", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b, c] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    const pb = b.runtime.open();
    const pa = a.runtime.open();
    assert.ok(await b.global.register("on_b", pb.self));
    assert.ok(await a.global.register("on_a", pa.self));
    await b.stop();
    await converged([a, c], names, { on_a: String(pa.self) });
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("register() and unregister() of a process of another node go through its node", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b, c] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    const pc = c.runtime.open();
    assert.equal(await a.global.register("remote", pc.self), true);
    await converged(nodes, names, { remote: String(pc.self) });
    assert.equal(await b.global.register("remote", b.runtime.open().self), false);
    assert.throws(
      () => a.global.register("r2", pc.self, { resolve: () => undefined }),
      /not a process of a@127\.0\.0\.1/,
    );
    await b.global.unregister("remote");
    for (const n of nodes) assert.equal(n.global.whereis("remote"), undefined);
    // Its node owns it: it goes with the process.
    assert.ok(await a.global.register("remote", pc.self));
    pc.exit("normal");
    await converged(nodes, names, {});
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("a node told about a name by a message from the registering node already has it", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [, b, c] = nodes as [TestNode, TestNode, TestNode];
    // c is not the boss (a is): its registration takes the claim path.
    const seen: (string | undefined)[] = [];
    const probe = b.runtime.spawn(async (ctx) => {
      for (;;) {
        const name = await ctx.receive<string>();
        seen.push(b.global.whereis(name) === undefined ? undefined : name);
      }
    });
    const me = c.runtime.open();
    for (let i = 0; i < 50; i++) {
      assert.ok(await c.global.register(`told${i}`, c.runtime.open().self));
      me.send(probe, `told${i}`);
    }
    await waitFor(() => seen.length === 50);
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => `told${i}`));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("trans() holds a cluster-wide lock: critical sections on three nodes never overlap", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    let inside = 0;
    let maxInside = 0;
    let entered = 0;
    await Promise.all(
      nodes.flatMap((n) =>
        Array.from({ length: 5 }, () =>
          n.global.trans("counter", async () => {
            inside++;
            entered++;
            maxInside = Math.max(maxInside, inside);
            await new Promise((r) => setTimeout(r, 2)); // hold the lock a while: the work
            inside--;
          }))
      ),
    );
    assert.equal(entered, 15);
    assert.equal(maxInside, 1);
    // Released when fn throws.
    await assert.rejects(nodes[0]!.global.trans("x", () => Promise.reject(new Error("no"))), /no/);
    assert.equal(await nodes[1]!.global.trans("x", () => 7), 7);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("trans() is re-entrant for the calling process and gives up after its retries", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    const me = a.runtime.open();
    const value = await runInProcess(
      me,
      () => a.global.trans("l", () => a.global.trans("l", () => "nested")),
    );
    assert.equal(value, "nested");
    // b holds "busy" (its lock on the boss a, then on itself); a may not wait in line.
    let release!: () => void;
    const held = b.global.trans("busy", () => new Promise<void>((r) => (release = r)));
    await waitFor(() => release !== undefined);
    await assert.rejects(a.global.trans("busy", () => 1, { retries: 0 }), TimeoutError);
    release();
    await held;
    // b's release is on its way to a: a few retries see it.
    assert.equal(await a.global.trans("busy", () => 2, { retries: 100 }), 2);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("the lock of a lost node is released", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    let entered = false;
    const held = b.global.trans("l", () => {
      entered = true;
      return new Promise<void>(() => {}); // never settles
    });
    held.catch(() => {});
    await waitFor(() => entered);
    const later = a.global.trans("l", () => "mine");
    await b.stop();
    assert.equal(await later, "mine");
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("partition with the same name on both sides, then heal: the earlier one stays everywhere and the loser is told", async () => {
  const nodes = await startCluster(["a", "b", "c", "d"]);
  const faults = new Faults();
  try {
    const [a, b, c, d] = nodes as [
      typeof nodes[0],
      typeof nodes[0],
      typeof nodes[0],
      typeof nodes[0],
    ];
    await faults.partition([a, b], [c, d]);
    const pb = b.runtime.open();
    const pd = d.runtime.open();
    const pc = c.runtime.open();
    assert.ok(await b.global.register("leader", pb.self));
    await laterMillisecond(); // a later registration time on the other side
    assert.ok(await d.global.register("leader", pd.self));
    assert.ok(await c.global.register("only_c", pc.self));
    assert.ok(await a.global.register("only_a", a.runtime.open().self));
    assert.ok(a.global.whereis("leader")?.equals(pb.self));
    assert.ok(c.global.whereis("leader")?.equals(pd.self));
    await faults.heal();
    await connectAll(nodes);
    const view = await converged(nodes, names);
    assert.equal(view.leader, String(pb.self));
    assert.deepEqual(Object.keys(view), ["leader", "only_a", "only_c"]);
    const told = await pd.receive<GlobalNameConflictMessage>(isConflict, { timeout: 5000 });
    assert.equal(told.name, "leader");
    assert.ok(told.other?.equals(pb.self));
    // The winner is not told anything, and the loser is alive.
    await assert.rejects(pb.receive(isConflict, { timeout: 50 }), TimeoutError);
    assert.ok(d.runtime.isAlive(pd.self));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("partition heal: a custom resolver of the earlier registration decides, both sides agree", async () => {
  const nodes = await startCluster(["a", "b", "c"]);
  const faults = new Faults();
  try {
    const [a, b, c] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    await faults.partition([a], [b, c]);
    const pa = a.runtime.open();
    const pc = c.runtime.open();
    const asked: [string, string, string][] = [];
    assert.ok(
      await a.global.register("svc", pa.self, {
        resolve: (name, p1, p2) => {
          asked.push([name, String(p1), String(p2)]);
          return p2; // keep the other side's
        },
      }),
    );
    await laterMillisecond();
    assert.ok(await c.global.register("svc", pc.self));
    await faults.heal();
    await converged(nodes, names, { svc: String(pc.self) });
    assert.deepEqual(asked, [["svc", String(pa.self), String(pc.self)]]);
    const told = await pa.receive<GlobalNameConflictMessage>(isConflict, { timeout: 5000 });
    assert.ok(told.other?.equals(pc.self));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("partition heal: a resolver that keeps neither drops the name everywhere and tells both", async () => {
  const nodes = await startCluster(["a", "b"]);
  const faults = new Faults();
  try {
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    await faults.cut([a], [b]);
    const pa = a.runtime.open();
    const pb = b.runtime.open();
    assert.ok(await a.global.register("x", pa.self, { resolve: () => undefined }));
    await laterMillisecond();
    assert.ok(await b.global.register("x", pb.self));
    await faults.heal();
    await converged(nodes, names, {});
    for (const p of [pa, pb]) {
      const told = await p.receive<GlobalNameConflictMessage>(isConflict, { timeout: 5000 });
      assert.equal(told.other, undefined);
    }
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("{ global: name } server names resolve through the global name server", async () => {
  const nodes = await startCluster(["a", "b"]);
  try {
    const p = nodes[0]!.runtime.open();
    assert.ok(await nodes[0]!.global.register("kv", p.self));
    await converged(nodes, names, { kv: String(p.self) });
    assert.ok(p.self.equals(whereisServer({ global: "kv" }, nodes[1]!.runtime)));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("GenServer.start with { global } then GenServer.call({ global }) from another node at once never sees noproc", async () => {
  // a is the boss; the server starts on c (the claim path) and b calls it the moment start returns.
  const nodes = await startCluster(["a", "b", "c"]);
  try {
    const [, b, c] = nodes as [TestNode, TestNode, TestNode];
    class Worker extends GenServer<null> {
      override init() {
        return { ok: null };
      }
      override handleCall(request: { doWork: number }) {
        return { reply: { ok: { processed: request.doWork } }, state: null };
      }
    }
    const startThenCall = async (i: number) => {
      await GenServer.start(Worker, undefined, {
        name: { global: `worker${i}` },
        runtime: c.runtime,
      });
      const reply = await GenServer.call({ global: `worker${i}` }, { doWork: i }, {
        runtime: b.runtime,
      });
      assert.deepEqual(reply, { ok: { processed: i } });
    };
    for (let i = 0; i < 100; i++) await startThenCall(i);
    // b cut off from the boss: only c itself can tell b, and start must wait until it has.
    const faults = new Faults();
    await faults.cut([nodes[0]!], [b]);
    for (let i = 100; i < 200; i++) await startThenCall(i);
    faults.close();
  } finally {
    await stopAll(nodes);
  }
});
