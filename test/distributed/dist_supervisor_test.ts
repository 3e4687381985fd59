import assert from "node:assert/strict";
import { Faults } from "../../src/cluster/faults.ts";
import { KeyTakenError, UndefinedFunctionError } from "../../src/errors.ts";
import type { HandoffEnd } from "../../src/distributed/dist_registry.ts";
import type { DistSupervisorOptions } from "../../src/distributed/dist_supervisor.ts";
import { placeChild } from "../../src/distributed/distribution_strategy.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { runInProcess } from "../../src/process/current.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

const FAST = { replicator: { deltaInterval: 20, antiEntropyInterval: 200 } };

/** A counter child: hands its count over, adds a count handed to it. */
class Counter extends GenServer<number, number> {
  override init(n: number) {
    return { ok: n };
  }
  override handleCall(req: unknown, _from: unknown, state: number) {
    if ((req as { handoff?: string }).handoff === "begin") {
      return { reply: { resume: state }, state };
    }
    if (req === "inc") return { reply: state + 1, state: state + 1 };
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

const counterModule = {
  start: (id: string, n: number) =>
    GenServer.startLink(Counter, n, { name: { via: "names", key: id } }),
};

async function cluster(names: string[], withModule = names.map(() => true)): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const n = await startTestNode(name, FAST);
      nodes.push(n);
      if (withModule[i]) n.rpc.registerModule("counter", counterModule);
      n.distributed.registry("names");
    }
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

async function supervisors(nodes: TestNode[], name: string, options: DistSupervisorOptions = {}) {
  const sups = nodes.map((n) => n.distributed.supervisor(name, options));
  await waitFor(() => sups.every((s) => s.liveMembers().length === nodes.length), {
    timeout: 10_000,
  });
  return sups;
}

/** Every child id's live pids across the nodes (processes that really run). */
function running(nodes: TestNode[], name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.runtime.closed) continue;
    for (
      const c of n.distributed.info().supervisors.includes(name)
        ? n.distributed.supervisor(name).whichChildren()
        : []
    ) {
      if (c.node !== n.name || !n.runtime.isAlive(c.pid)) continue;
      out.set(c.id, [...(out.get(c.id) ?? []), String(c.pid)]);
    }
  }
  return out;
}

Deno.test("DistSupervisor: startChild places children by the strategy; every node lists them and finds them by name", async () => {
  const nodes = await cluster(["ds1a", "ds1b", "ds1c"]);
  try {
    const sups = await supervisors(nodes, "s1", { strategy: "uniform" });
    for (let i = 0; i < 12; i++) {
      await sups[i % 3]!.startChild({
        id: `c${i}`,
        module: "counter",
        function: "start",
        args: [`c${i}`, i],
      });
    }
    const members = nodes.map((n) => n.name).sort();
    await waitFor(() => sups.every((s) => s.countChildren().active === 12));
    const children = sups[0]!.whichChildren();
    for (const c of children) {
      assert.equal(c.node, placeChild("uniform", c.id, members, new Map()));
    }
    // The registry is replicated apart from the children's list: every node
    // finds each child by name once its replica has the entry.
    await waitFor(() =>
      nodes.every((n) =>
        children.every((c) => n.distributed.registry("names").whereis(c.id)?.equals(c.pid) === true)
      )
    );
    const seven = await runInProcess(
      nodes[2]!.runtime.open(),
      () => GenServer.call({ via: "names", key: "c7" }, "get"),
    );
    assert.equal(seven, 7);
    assert.ok(await sups[0]!.terminateChild("c7"));
    await waitFor(() => sups.every((s) => s.countChildren().active === 11));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("DistSupervisor: bad input: a module a member lacks, unknown members, a malformed spec, an id that runs already", async () => {
  const nodes = await cluster(["ds2a", "ds2b"], [true, false]);
  try {
    const [sa] = await supervisors(nodes, "s2");
    const err = await sa!.startChild({
      id: "x",
      module: "counter",
      function: "start",
      args: ["x", 0],
    })
      .catch((e) => e);
    assert.ok(err instanceof UndefinedFunctionError, String(err));
    assert.match(err.message, /member ds2b@127\.0\.0\.1 has no counter\.start/);
    assert.equal(sa!.countChildren().active, 0, "no half-started child");
    assert.equal(nodes[0]!.distributed.registry("names").count(), 0);

    assert.throws(
      () =>
        nodes[0]!.distributed.supervisor("s2b", { members: ["ds2a@127.0.0.1", "ghost@127.0.0.1"] }),
      /unknown members ghost@127\.0\.0\.1/,
    );
    assert.throws(() => nodes[0]!.distributed.supervisor("s2c", { members: [] }), TypeError);
    assert.throws(
      () => nodes[0]!.distributed.supervisor("s2d", { strategy: "random" as never }),
      TypeError,
    );
    await assert.rejects(() => sa!.startChild({ id: "y", start: () => {} } as never), TypeError);

    nodes[1]!.rpc.registerModule("counter", counterModule);
    await waitFor(async () => {
      try {
        await sa!.startChild({ id: "x", module: "counter", function: "start", args: ["x", 0] });
        return true;
      } catch (e) {
        if (e instanceof UndefinedFunctionError) return false;
        throw e;
      }
    });
    await waitFor(() => sa!.countChildren().active === 1);
    const taken = await sa!.startChild({
      id: "x",
      module: "counter",
      function: "start",
      args: ["x", 0],
    })
      .catch((e) => e);
    assert.ok(taken instanceof KeyTakenError, String(taken));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("DistSupervisor: the children of a member cut off restart on the survivors once; after the heal exactly one of each runs and the winner has the loser's state", async () => {
  const nodes = await cluster(["ds3a", "ds3b", "ds3c"]);
  const faults = new Faults();
  try {
    const sups = await supervisors(nodes, "s3");
    for (let i = 0; i < 30; i++) {
      await sups[0]!.startChild({
        id: `k${i}`,
        module: "counter",
        function: "start",
        args: [`k${i}`, 1],
      });
    }
    await waitFor(() => sups.every((s) => s.countChildren().active === 30));
    const onA = sups[0]!.whichChildren().filter((c) => c.node === nodes[0]!.name).map((c) => c.id);
    assert.ok(onA.length > 0, "some children run on a");
    await faults.cut([nodes[0]!], [nodes[1]!, nodes[2]!]);
    // b and c restart a's children: one copy each on their side.
    await waitFor(() => {
      const side = running([nodes[1]!, nodes[2]!], "s3");
      return side.size === 30 && [...side.values()].every((p) => p.length === 1);
    }, { timeout: 15_000, message: "b and c never ran every child once" });
    await faults.heal();
    await waitFor(() => {
      const all = running(nodes, "s3");
      return all.size === 30 && [...all.values()].every((p) => p.length === 1);
    }, { timeout: 20_000, message: "duplicates were not settled" });
    // The winner of each duplicated child got the loser's count (1 + 1).
    const asker = nodes[1]!.runtime.open();
    for (const id of onA) {
      await waitFor(
        async () =>
          (await runInProcess(asker, () => GenServer.call({ via: "names", key: id }, "get"))) === 2,
        {
          timeout: 10_000,
          message: `${id} never got the loser's state`,
        },
      );
    }
  } finally {
    faults.close();
    await stopAll(nodes);
  }
});

Deno.test("DistSupervisor: a node that stops cleanly hands every child over with its state", async () => {
  const nodes = await cluster(["ds4a", "ds4b", "ds4c"]);
  try {
    const sups = await supervisors(nodes, "s4");
    for (let i = 0; i < 40; i++) {
      await sups[1]!.startChild({
        id: `h${i}`,
        module: "counter",
        function: "start",
        args: [`h${i}`, 0],
      });
    }
    await waitFor(() =>
      sups.every((s) => s.countChildren().active === 40) &&
      nodes[1]!.distributed.registry("names").count() === 40
    );
    const asker = nodes[1]!.runtime.open();
    for (let i = 0; i < 40; i++) {
      await runInProcess(asker, () => GenServer.call({ via: "names", key: `h${i}` }, "inc"));
    }
    await nodes[0]!.stop();
    await waitFor(() => {
      const all = running(nodes.slice(1), "s4");
      return all.size === 40 && [...all.values()].every((p) => p.length === 1) &&
        nodes[1]!.distributed.registry("names").count() === 40;
    }, { timeout: 15_000 });
    for (let i = 0; i < 40; i++) {
      const n = await runInProcess(
        asker,
        () => GenServer.call({ via: "names", key: `h${i}` }, "get"),
      );
      assert.equal(n, 1, `h${i} kept its state`);
    }
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("DistSupervisor: in quorum mode no child runs twice during a 1|2 split, and exactly once after the heal", async () => {
  const nodes = await cluster(["ds5a", "ds5b", "ds5c"]);
  const faults = new Faults();
  let sampling = true;
  const twice: string[] = [];
  const sampler = (async () => {
    while (sampling) {
      for (const [id, pids] of running(nodes, "s5")) if (pids.length > 1) twice.push(id);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    const sups = await supervisors(nodes, "s5", { quorum: true, quorumDelay: 300 });
    for (let i = 0; i < 30; i++) {
      await sups[1]!.startChild({
        id: `q${i}`,
        module: "counter",
        function: "start",
        args: [`q${i}`, 0],
      });
    }
    await waitFor(() => sups.every((s) => s.countChildren().active === 30));
    await faults.cut([nodes[0]!], [nodes[1]!, nodes[2]!]);
    await waitFor(() => {
      const side = running([nodes[1]!, nodes[2]!], "s5");
      return side.size === 30 && sups[0]!.countChildren().local === 0;
    }, { timeout: 15_000 });
    await faults.heal();
    await waitFor(() => {
      const all = running(nodes, "s5");
      return all.size === 30 && [...all.values()].every((p) => p.length === 1) &&
        sups.every((s) => s.countChildren().active === 30);
    }, { timeout: 15_000 });
  } finally {
    sampling = false;
    await sampler;
    faults.close();
    await stopAll(nodes);
  }
  assert.deepEqual(twice, [], "no child ran twice at any sample");
});

Deno.test("DistSupervisor: with rebalance, a member that joins gets the children the ring now places on it, with their state", async () => {
  const nodes = await cluster(["ds6a", "ds6b"]);
  let c: TestNode | undefined;
  try {
    const sups = await supervisors(nodes, "s6", { rebalance: true });
    for (let i = 0; i < 60; i++) {
      await sups[0]!.startChild({
        id: `r${i}`,
        module: "counter",
        function: "start",
        args: [`r${i}`, 0],
      });
    }
    await waitFor(() => sups.every((s) => s.countChildren().active === 60));
    const asker = nodes[0]!.runtime.open();
    for (let i = 0; i < 60; i++) {
      await runInProcess(asker, () => GenServer.call({ via: "names", key: `r${i}` }, "inc"));
    }
    c = await startTestNode("ds6c", FAST);
    c.rpc.registerModule("counter", counterModule);
    c.distributed.registry("names");
    assert.ok(await c.connect(nodes[0]!.address));
    const sc = c.distributed.supervisor("s6", { rebalance: true });
    const all = [...nodes, c];
    const members = all.map((n) => n.name).sort();
    const expected = Array.from({ length: 60 }, (_, i) => `r${i}`)
      .filter((id) => placeChild("ring", id, members, new Map()) === c!.name);
    assert.ok(expected.length > 0, "the ring gives the new member some children");
    await waitFor(() => {
      const run = running(all, "s6");
      return run.size === 60 && [...run.values()].every((p) => p.length === 1) &&
        sc.countChildren().local === expected.length;
    }, { timeout: 20_000, message: "the children never settled on their ring homes" });
    assert.deepEqual(sc.localChildren().map((x) => x.id).sort(), expected.sort());
    const names = nodes[0]!.distributed.registry("names");
    await waitFor(() => expected.every((id) => names.whereis(id)?.node === c!.name), {
      timeout: 10_000,
    });
    for (const id of expected) {
      const n = await runInProcess(asker, () => GenServer.call({ via: "names", key: id }, "get"));
      assert.equal(n, 1, `${id} moved with its state`);
    }
  } finally {
    await stopAll([...nodes, c]);
  }
});
