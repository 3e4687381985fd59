/**
 * The distributed registry and supervisor across real `weft` processes:
 * the seed's test (a child started on node1 runs on node2 after `kill -9`
 * of node1, found by its name), 5 nodes with 10,000 children and one
 * killed (each of its children once elsewhere; recovery p50/p99 printed),
 * a 3|2 partition with and without quorum mode, and a clean SIGTERM of a
 * node with 1,000 children.
 *
 * `DSUP_CHILDREN` sets the size of the 5-node test: 2,000 by default, so the
 * suite stays within its time on a shared 2-CPU machine; `DSUP_CHILDREN=10000`
 * is the size (figures in `deno task bench`, scripts/bench/registry.ts).
 */
import assert from "node:assert/strict";
import { Faults } from "../../src/cluster/faults.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";
import { WeftProcess } from "../helpers/weft_process.ts";

const COOKIE = "weft-dsup-test";
const PROBE = new URL("./_dsup_probe.ts", import.meta.url).pathname;

interface Peer {
  proc: WeftProcess;
  name: string;
  address: string;
}

async function startPeer(name: string): Promise<Peer> {
  const full = `${name}@127.0.0.1`;
  const proc = WeftProcess.headless(full, COOKIE, [
    // A loaded machine can starve a node of CPU for seconds; a kill -9 is seen at once
    // anyway (the socket closes), so a longer tick time only spares false nodedowns.
    "--net-ticktime",
    "60",
    "--load",
    PROBE,
  ]);
  try {
    const listening = await proc.waitForOutput(/listening on [^\s]+:(\d+)/, 60_000);
    return { proc, name: full, address: `${full}:${listening[1]}` };
  } catch (e) {
    await proc.close();
    throw e;
  }
}

function call<T>(ctl: TestNode, peer: Peer, fn: string, args: unknown[] = []): Promise<T> {
  return ctl.rpc.call<T>(peer.name, "dsup_probe", fn, args, { timeout: 120_000 });
}

/** Starts the peers, meshes them, opens the registry and supervisor on each. */
async function startCluster(
  names: string[],
  options: { quorum?: boolean; strategy?: string } = {},
): Promise<{ ctl: TestNode; peers: Peer[] }> {
  const ctl = await startTestNode(`ctl_${names[0]}`, {
    cookie: COOKIE,
    hidden: true,
    netTicktimeSeconds: 60,
  });
  const peers: Peer[] = [];
  try {
    peers.push(...await Promise.all(names.map(startPeer)));
    for (const p of peers) {
      assert.ok(await ctl.connect(p.address));
      await call(ctl, p, "agent");
    }
    // Each peer dials the others (a starved machine may drop a link: dial again while waiting).
    await waitFor(async () => {
      for (const p of peers) {
        for (const q of peers) {
          if (p !== q) await call(ctl, p, "connect", [q.address]).catch(() => {});
        }
      }
      const lists = await Promise.all(
        peers.map((p) => call<string[]>(ctl, p, "list").catch(() => [])),
      );
      return lists.every((l) => l.length === peers.length - 1);
    }, { timeout: 60_000, interval: 200, message: "the peers never meshed" });
    for (const p of peers) await call(ctl, p, "open", [options]);
    await waitFor(
      async () =>
        (await Promise.all(peers.map((p) => call<string[]>(ctl, p, "members")))).every((m) =>
          m.length === peers.length
        ),
      { timeout: 30_000, interval: 100, message: "the supervisors never saw every member" },
    );
    return { ctl, peers };
  } catch (e) {
    await ctl.stop();
    await Promise.all(peers.map((p) => p.proc.close()));
    throw e;
  }
}

async function closeCluster(ctl: TestNode, peers: Peer[]): Promise<void> {
  await stopAll([ctl]);
  await Promise.all(peers.map((p) => p.proc.close()));
}

/** Which peers run each child id now (one rpc per peer, in parallel). */
async function placement(ctl: TestNode, peers: Peer[]): Promise<Map<string, string[]>> {
  const lists = await Promise.all(
    peers.map((p) => call<string[]>(ctl, p, "local").catch(() => [] as string[])),
  );
  const out = new Map<string, string[]>();
  lists.forEach((ids, i) => {
    for (const id of ids) out.set(id, [...(out.get(id) ?? []), peers[i]!.name]);
  });
  return out;
}

/**
 * Waits until `at`'s replica of the registry names, for each child of `where`, the node
 * that runs it: the registry is eventually consistent, so a user calling children by name
 * from `at` waits for the names to arrive (placement asks each node for its own children).
 */
async function namesResolve(
  ctl: TestNode,
  at: Peer,
  where: Map<string, string[]>,
): Promise<void> {
  const ids = [...where.keys()];
  await waitFor(async () => {
    const nodes = await call<(string | null)[]>(ctl, at, "whereisAll", [ids]);
    return nodes.every((n, i) => n === where.get(ids[i]!)![0]);
  }, {
    timeout: 60_000,
    interval: 200,
    message: `the children's names never all reached ${at.name}`,
  });
}

/**
 * Waits until every peer's supervisor lists `total` children: their records have reached
 * every replica, so a node lost (or cut off) now leaves its children known to the others.
 */
async function recordsEverywhere(ctl: TestNode, peers: Peer[], total: number): Promise<void> {
  await waitFor(
    async () =>
      (await Promise.all(peers.map((p) => call<number>(ctl, p, "count")))).every((n) =>
        n === total
      ),
    { timeout: 60_000, interval: 200, message: "the children's records never reached every node" },
  );
}

function exactlyOnce(map: Map<string, string[]>, count: number): boolean {
  return map.size === count && [...map.values()].every((nodes) => nodes.length === 1);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

Deno.test("seed's test: a child started on node1 runs on node2 after kill -9 of node1, found by its name", async () => {
  const { ctl, peers } = await startCluster(["dsp_node1", "dsp_node2"], {
    strategy: "least-loaded",
  });
  const [node1, node2] = peers as [Peer, Peer];
  try {
    assert.equal(await call(ctl, node1, "startMany", ["seed", 1]), 1);
    assert.deepEqual(await call(ctl, node1, "local"), ["seed0"], "least loaded: node1 sorts first");
    await waitFor(async () => (await call(ctl, node2, "whereis", ["seed0"])) === node1.name);
    node1.proc.kill("SIGKILL");
    await node1.proc.exited();
    await waitFor(async () => (await call<string[]>(ctl, node2, "local")).includes("seed0"), {
      timeout: 30_000,
      message: "seed0 never ran on node2",
    });
    assert.equal(await call(ctl, node2, "whereis", ["seed0"]), node2.name);
    assert.deepEqual(await call(ctl, node2, "callAll", [["seed0"], "inc"]), [1]);
  } finally {
    await closeCluster(ctl, peers);
  }
});

Deno.test("5 nodes, thousands of children: kill -9 of one node restarts each of its children once on the others", async () => {
  const total = Number(Deno.env.get("DSUP_CHILDREN") ?? 2_000);
  const { ctl, peers } = await startCluster(["dsp5a", "dsp5b", "dsp5c", "dsp5d", "dsp5e"]);
  try {
    // Started from every node at once, a fifth each.
    const per = Math.ceil(total / peers.length);
    await Promise.all(
      peers.map((p, i) =>
        call(ctl, p, "startMany", [`c${i}_`, Math.min(per, total - i * per), 50])
      ),
    );
    await waitFor(async () => exactlyOnce(await placement(ctl, peers), total), {
      timeout: 120_000,
      interval: 500,
      message: "the children never all ran",
    });
    await recordsEverywhere(ctl, peers, total);
    const victim = peers[2]!;
    const lost = await call<string[]>(ctl, victim, "local");
    assert.ok(lost.length > 0);
    const survivors = peers.filter((p) => p !== victim);
    const killedAt = Date.now();
    victim.proc.kill("SIGKILL");
    await victim.proc.exited();
    await waitFor(async () => exactlyOnce(await placement(ctl, survivors), total), {
      timeout: 120_000,
      interval: 250,
      message: "the lost node's children did not all run once on the survivors",
    });
    // Each lost child's recovery: from the kill to its start on its new home.
    const times = await Promise.all(
      survivors.map((p) => call<(number | null)[]>(ctl, p, "startTimes", [lost])),
    );
    const recovery = lost.map((_, i) => {
      const t = times.map((list) => list[i]).find((x) => x !== null && x !== undefined);
      return (t ?? NaN) - killedAt;
    }).sort((a, b) => a - b);
    assert.ok(recovery.every((r) => Number.isFinite(r)), "every lost child started somewhere");
    console.log(
      `kill -9 of 1 of 5 nodes: ${lost.length} of ${total} children recovered; ` +
        `p50 ${percentile(recovery, 50)} ms, p99 ${percentile(recovery, 99)} ms, all ${
          recovery.at(-1)
        } ms after the kill (failure detection included)`,
    );
  } finally {
    await closeCluster(ctl, peers);
  }
});

Deno.test("partition 3|2 in quorum mode: no child ever runs on both sides; exactly one of each after the heal", async () => {
  const { ctl, peers } = await startCluster(["dspqa", "dspqb", "dspqc", "dspqd", "dspqe"], {
    quorum: true,
  });
  const faults = new Faults({ controller: ctl });
  try {
    const total = 200;
    await call(ctl, peers[0]!, "startMany", ["q", total]);
    await waitFor(async () => exactlyOnce(await placement(ctl, peers), total), {
      timeout: 60_000,
      interval: 200,
    });
    // Each side restarts only what its replicas know of: the split comes once every node
    // lists every child.
    await recordsEverywhere(ctl, peers, total);
    const [major, minor] = [peers.slice(0, 3), peers.slice(3)];
    let sampling = true;
    let samples = 0;
    const twice = new Set<string>();
    const sampler = (async () => {
      while (sampling) {
        for (const [id, nodes] of await placement(ctl, peers)) if (nodes.length > 1) twice.add(id);
        samples++;
      }
    })();
    try {
      await faults.partition(major.map((p) => p.address), minor.map((p) => p.address));
      await waitFor(async () => {
        const m = await placement(ctl, major);
        const n = await placement(ctl, minor);
        return exactlyOnce(m, total) && n.size === 0;
      }, { timeout: 60_000, interval: 200, message: "the majority never ran every child alone" });
      await faults.heal();
      await waitFor(async () => exactlyOnce(await placement(ctl, peers), total), {
        timeout: 60_000,
        interval: 200,
      });
    } finally {
      sampling = false;
      await sampler;
    }
    assert.deepEqual([...twice], [], `no child ran twice in ${samples} samples`);
  } finally {
    faults.close();
    await closeCluster(ctl, peers);
  }
});

Deno.test("partition 3|2 without quorum: duplicates made during the split resolve on the heal and the winner has the loser's state", async () => {
  const { ctl, peers } = await startCluster(["dspna", "dspnb", "dspnc", "dspnd", "dspne"]);
  const faults = new Faults({ controller: ctl });
  try {
    const total = 200;
    await call(ctl, peers[0]!, "startMany", ["n", total]);
    await waitFor(async () => exactlyOnce(await placement(ctl, peers), total), {
      timeout: 60_000,
      interval: 200,
    });
    // Each side restarts only what its replicas know of: the split comes once every node
    // lists every child.
    await recordsEverywhere(ctl, peers, total);
    const [major, minor] = [peers.slice(0, 3), peers.slice(3)];
    await faults.partition(major.map((p) => p.address), minor.map((p) => p.address));
    // Both sides run every child: each side restarted the other's.
    await waitFor(async () => {
      const m = await placement(ctl, major);
      const n = await placement(ctl, minor);
      return exactlyOnce(m, total) && exactlyOnce(n, total);
    }, { timeout: 60_000, interval: 200, message: "the sides never each ran every child" });
    // The minority's copies count 2; the majority's restarted copies of them start at 0.
    const ids = Array.from({ length: total }, (_, i) => `n${i}`);
    await namesResolve(ctl, minor[0]!, await placement(ctl, minor));
    const first = await call<unknown[]>(ctl, minor[0]!, "callAll", [ids, "inc"]);
    assert.deepEqual(first.filter((v) => v !== 1), [], "the minority's copies count 1");
    const second = await call<unknown[]>(ctl, minor[0]!, "callAll", [ids, "inc"]);
    assert.deepEqual(second.filter((v) => v !== 2), [], "the minority's copies count 2");
    await faults.heal();
    await waitFor(async () => exactlyOnce(await placement(ctl, peers), total), {
      timeout: 60_000,
      interval: 200,
      message: "duplicates were not resolved",
    });
    let values: unknown[] = [];
    await waitFor(async () => {
      values = await call<unknown[]>(ctl, major[0]!, "callAll", [ids, "get"]);
      return values.every((v) => v === 2);
    }, { timeout: 30_000, interval: 200 }).catch(() => {});
    const wrong = ids.map((id, i) => [id, values[i]]).filter(([, v]) => v !== 2);
    assert.deepEqual(wrong, [], "every winner holds its count plus the loser's (0 + 2)");
  } finally {
    faults.close();
    await closeCluster(ctl, peers);
  }
});

Deno.test("SIGTERM of a node with 1,000 children: all continue on the others with their state, none lost, none duplicated", async () => {
  const { ctl, peers } = await startCluster(["dspga", "dspgb", "dspgc"]);
  try {
    const total = 3000;
    await call(ctl, peers[0]!, "startMany", ["g", total, 50]);
    await waitFor(async () => exactlyOnce(await placement(ctl, peers), total), {
      timeout: 60_000,
      interval: 200,
    });
    const ids = Array.from({ length: total }, (_, i) => `g${i}`);
    await namesResolve(ctl, peers[0]!, await placement(ctl, peers));
    const counts = await call<unknown[]>(ctl, peers[0]!, "callAll", [ids, "inc"]);
    assert.deepEqual(counts.filter((v) => v !== 1), [], "every child counts 1");
    const leaving = peers[1]!;
    const moved = await call<string[]>(ctl, leaving, "local");
    assert.ok(moved.length >= 1000, `${moved.length} children on the leaving node`);
    leaving.proc.kill("SIGTERM");
    const status = await leaving.proc.exited();
    assert.equal(status.code, 0);
    const rest = peers.filter((p) => p !== leaving);
    await waitFor(async () => exactlyOnce(await placement(ctl, rest), total), {
      timeout: 60_000,
      interval: 200,
    });
    await namesResolve(ctl, rest[0]!, await placement(ctl, rest));
    const values = await call<unknown[]>(ctl, rest[0]!, "callAll", [moved, "get"]);
    assert.deepEqual(values.filter((v) => v !== 1), [], "every moved child kept its count");
  } finally {
    await closeCluster(ctl, peers);
  }
});
