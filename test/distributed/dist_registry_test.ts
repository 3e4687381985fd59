import assert from "node:assert/strict";
import { Faults } from "../../src/cluster/faults.ts";
import { KeyTakenError, NameError, NoQuorumError } from "../../src/errors.ts";
import { compareHolders, type HandoffEnd } from "../../src/distributed/dist_registry.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { runInProcess } from "../../src/process/current.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

const FAST = { replicator: { deltaInterval: 20, antiEntropyInterval: 200 } };

async function cluster(names: string[]): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  try {
    for (const name of names) nodes.push(await startTestNode(name, FAST));
    for (const n of nodes.slice(1)) assert.ok(await n.connect(nodes[0]!.address));
    await waitFor(() => nodes.every((n) => n.list().length === names.length - 1), {
      timeout: 10_000,
    });
    return nodes;
  } catch (e) {
    await stopAll(nodes);
    throw e;
  }
}

/** A process that waits until it is told to stop. */
function idle(node: TestNode): ProcessContext {
  return node.runtime.open({ label: "idle" });
}

/** A GenServer that keeps a number, hands it over in a conflict, and adds what it receives. */
class Keeper extends GenServer<number, number> {
  override init(n: number) {
    return { ok: n };
  }
  override handleCall(req: unknown, _from: unknown, state: number) {
    if ((req as { handoff?: string }).handoff === "begin") {
      return { reply: { resume: state }, state };
    }
    return { reply: state, state };
  }
  override handleCast(req: unknown, state: number) {
    const end = req as HandoffEnd;
    if (end.handoff === "end") {
      return { noreply: true as const, state: state + (end.state as number) };
    }
    return { noreply: true as const, state };
  }
}

Deno.test("DistRegistry: entries registered on one node are found on every node, with their value; select, match, dispatch and count", async () => {
  const [a, b] = await cluster(["rg1a", "rg1b"]);
  try {
    const ra = a!.distributed.registry("workers");
    const rb = b!.distributed.registry("workers");
    const p1 = idle(a!);
    const p2 = idle(b!);
    await runInProcess(p1, () => ra.register("w1", { role: "db" }));
    await runInProcess(p2, () => rb.register(["w", 2], { role: "web" }));
    await waitFor(() => ra.count() === 2 && rb.count() === 2);
    assert.ok(rb.whereis("w1")?.equals(p1.self));
    assert.deepEqual(rb.lookup("w1")[0]?.value, { role: "db" });
    assert.ok(ra.whereis(["w", 2])?.equals(p2.self));
    assert.deepEqual(
      rb.select<{ role: string }>((e) => e.value.role === "web").map((e) => e.key),
      [["w", 2]],
    );
    assert.equal(ra.match<{ role: string }>("w1", (v) => v.role === "db").length, 1);
    assert.equal(ra.match<{ role: string }>("w1", (v) => v.role === "web").length, 0);
    let seen = 0;
    assert.ok(rb.dispatch("w1", (entries) => (seen = entries.length)));
    assert.equal(seen, 1);
    assert.equal(rb.dispatch("nobody", () => {}), false);
    assert.deepEqual(ra.keysOf(p2.self), [["w", 2]]);
    await runInProcess(p1, () => ra.updateValue<{ role: string }>("w1", () => ({ role: "cache" })));
    await waitFor(() => (rb.lookup<{ role: string }>("w1")[0]?.value.role === "cache"));
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("DistRegistry: a taken unique key is refused with the holder's pid; duplicate keys name many processes", async () => {
  const [a, b] = await cluster(["rg2a", "rg2b"]);
  try {
    const ra = a!.distributed.registry("uniq");
    const rb = b!.distributed.registry("uniq");
    const holder = idle(a!);
    await runInProcess(holder, () => ra.register("db"));
    await waitFor(() => rb.whereis("db") !== undefined);
    const err = await runInProcess(idle(b!), () => rb.register("db")).catch((e) => e);
    assert.ok(err instanceof KeyTakenError, String(err));
    assert.ok((err.holder as Pid).equals(holder.self));
    assert.match(err.message, /held by #PID<rg2a@127\.0\.0\.1/);

    const da = a!.distributed.registry("topics", { keys: "duplicate" });
    const db = b!.distributed.registry("topics", { keys: "duplicate" });
    await runInProcess(idle(a!), () => da.register("news", 1));
    await runInProcess(idle(b!), () => db.register("news", 2));
    await waitFor(() => da.count("news") === 2 && db.count("news") === 2);
    assert.deepEqual(da.lookup<number>("news").map((e) => e.value).sort(), [1, 2]);

    const bad = await runInProcess(idle(a!), () => ra.register({ not: "a key" } as never))
      .catch((e) => e);
    assert.ok(bad instanceof TypeError);
    assert.match(bad.message, /a key must be a string/);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("DistRegistry: an entry goes everywhere when its process exits, and is hidden while its node is cut off", async () => {
  const [a, b] = await cluster(["rg3a", "rg3b"]);
  const faults = new Faults();
  try {
    const ra = a!.distributed.registry("r3");
    const rb = b!.distributed.registry("r3");
    const p = idle(a!);
    await runInProcess(p, () => ra.register("gone"));
    const q = idle(a!);
    await runInProcess(q, () => ra.register("cut"));
    await waitFor(() => rb.count() === 2);
    p.exit("normal");
    await waitFor(() => rb.whereis("gone") === undefined && ra.whereis("gone") === undefined);
    await faults.cut([a!], [b!]);
    await waitFor(() => rb.whereis("cut") === undefined);
    assert.ok(ra.whereis("cut")?.equals(q.self), "its own node still has it");
    await faults.heal();
    await waitFor(() => rb.whereis("cut")?.equals(q.self) === true, { timeout: 10_000 });
  } finally {
    faults.close();
    await stopAll([a, b]);
  }
});

Deno.test("DistRegistry: {via} names a GenServer (call, cast), and send resolves {via: name, key}", async () => {
  const [a, b] = await cluster(["rg4a", "rg4b"]);
  try {
    const ra = a!.distributed.registry("names");
    const rb = b!.distributed.registry("names");
    await runInProcess(
      idle(a!),
      () => GenServer.start(Keeper, 41, { name: { via: ra, key: "k" } }),
    );
    await waitFor(() => rb.whereis("k") !== undefined);
    const got = await runInProcess(
      idle(b!),
      () => GenServer.call({ via: "names", key: "k" }, "get"),
    );
    assert.equal(got, 41);
    const twice = await runInProcess(
      idle(b!),
      () => GenServer.start(Keeper, 0, { name: { via: rb, key: "k" } }).catch((e) => e),
    );
    assert.ok(twice instanceof Error, "the name is taken");
    const me = idle(b!);
    const echo = idle(a!);
    await runInProcess(echo, () => ra.register("echo"));
    await waitFor(() => rb.whereis("echo") !== undefined);
    me.send({ via: "names", key: "echo" }, "hi");
    assert.equal(await echo.receive(undefined, { timeout: 5000 }), "hi");
    assert.throws(() => me.send({ via: "names", key: "nobody" }, "x"), NameError);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("DistRegistry: after a heal with a unique key on both sides, one winner keeps it, the loser hands its state over and exits with name_conflict", async () => {
  const [a, b] = await cluster(["rg5a", "rg5b"]);
  const faults = new Faults();
  try {
    const ra = a!.distributed.registry("r5");
    const rb = b!.distributed.registry("r5");
    await faults.cut([a!], [b!]);
    const pa = await runInProcess(
      idle(a!),
      () => GenServer.start(Keeper, 10, { name: { via: ra, key: "one" } }),
    );
    const pb = await runInProcess(
      idle(b!),
      () => GenServer.start(Keeper, 5, { name: { via: rb, key: "one" } }),
    );
    const [winner, loser] = compareHolders(pa, pb) < 0 ? [pa, pb] : [pb, pa];
    const loserNode = loser.node === a!.name ? a! : b!;
    const watcher = loserNode.runtime.open();
    const mon = watcher.monitor(loser);
    await faults.heal();
    const down = await watcher.receive<
      { type: string; reason: { name_conflict: { winner: Pid } } }
    >(
      (m) =>
        (m as { ref?: unknown }).ref !== undefined && (m as { ref: typeof mon }).ref.equals(mon),
      { timeout: 15_000 },
    );
    assert.ok(down.reason.name_conflict.winner.equals(winner));
    await waitFor(
      () => ra.whereis("one")?.equals(winner) && rb.whereis("one")?.equals(winner) || false,
      {
        timeout: 10_000,
      },
    );
    // The handoff cast comes from the loser's node, the call from here: wait for it.
    const asker = idle(a!);
    await waitFor(
      async () => (await runInProcess(asker, () => GenServer.call(winner, "get"))) === 15,
      {
        timeout: 10_000,
        message: "the winner never held its state plus the loser's",
      },
    );
  } finally {
    faults.close();
    await stopAll([a, b]);
  }
});

Deno.test("DistRegistry: quorum mode refuses to register on the minority side and stops its holders", async () => {
  const [a, b, c] = await cluster(["rg6a", "rg6b", "rg6c"]);
  const faults = new Faults();
  try {
    const opts = { quorum: true };
    const [ra, rb, rc] = [a!, b!, c!].map((n) => n.distributed.registry("q6", opts));
    await waitFor(() =>
      ra!.members().length === 3 && rb!.members().length === 3 && rc!.members().length === 3
    );
    const holder = idle(a!);
    await runInProcess(holder, () => ra!.register("only"));
    const mon = a!.runtime.open();
    const ref = mon.monitor(holder.self);
    await faults.cut([a!], [b!, c!]);
    const down = await mon.receive<{ reason: unknown }>(
      (m) => (m as { ref?: typeof ref }).ref?.equals(ref) === true,
      { timeout: 10_000 },
    );
    assert.deepEqual(down.reason, { quorum_lost: "q6" });
    const err = await runInProcess(idle(a!), () => ra!.register("other")).catch((e) => e);
    assert.ok(err instanceof NoQuorumError, String(err));
    await runInProcess(idle(b!), () => rb!.register("other"));
    await faults.heal();
    await waitFor(() => ra!.whereis("other") !== undefined, { timeout: 10_000 });
  } finally {
    faults.close();
    await stopAll([a, b, c]);
  }
});
