/**
 * Snapshots through the Raft service: a machine that releases its cursor has its log replaced by
 * snapshots in the node's WAL, a member that was down while the log was compacted is brought back
 * with InstallSnapshot over the wire, and a node started again resumes from its snapshot.
 */
import assert from "node:assert/strict";
import { deserialize } from "node:v8";
import { RaftWal } from "../../src/raft/wal.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

const FAST = { electionTimeoutMs: 300, heartbeatMs: 50 };

/** A counter that lets every server snapshot at each multiple of 10. */
const counter = {
  init: () => 0,
  apply: (meta: { index: number }, n: number, state: number) => ({
    state: state + n,
    reply: state + n,
    releaseCursor: meta.index % 10 === 0,
  }),
};

async function start(name: string, dataDir: string): Promise<TestNode> {
  const node = await startTestNode(name, { dataDir });
  node.raft.registerMachine("counter", counter);
  return node;
}

Deno.test("a member that was down while the log was compacted catches up by InstallSnapshot, and restarts from its snapshot", async () => {
  const dirs = [0, 1, 2].map(() => Deno.makeTempDirSync({ prefix: "weft-raft-snap-" }));
  const nodes = await Promise.all(dirs.map((d, i) => start(`s${i}`, d)));
  const connectAll = async () => {
    for (const a of nodes) {
      for (const b of nodes) if (a !== b) assert.ok(await a.connect(b.address));
    }
  };
  try {
    await connectAll();
    const members = nodes.map((n) => n.name);
    await nodes[0]!.raft.startCluster("snap", "counter", members, FAST);
    for (let i = 0; i < 5; i++) await nodes[0]!.raft.command("snap", 1);
    // A follower goes down; the others commit 40 more, snapshotting every 10 entries.
    const leader = await nodes[0]!.raft.leader("snap");
    const down = nodes.findIndex((n) => n.name !== leader);
    const up = nodes.find((_n, i) => i !== down)!;
    await nodes[down]!.stop();
    for (let i = 0; i < 40; i++) await up.raft.command("snap", 1);
    assert.equal(await up.raft.consistentQuery("snap", null), 45);
    nodes[down] = await start(`s${down}`, dirs[down]!);
    for (const n of nodes) {
      if (n !== nodes[down]) {
        await waitFor(() => nodes[down]!.connect(n.address), { timeout: 10_000 });
      }
    }
    await waitFor(async () => await nodes[down]!.raft.localQuery("snap", null) === 45, {
      timeout: 20_000,
    });
    await up.raft.command("snap", 1);
    await waitFor(async () => await nodes[down]!.raft.localQuery("snap", null) === 46, {
      timeout: 20_000,
    });
    await stopAll(nodes);
    // Every member's WAL holds a snapshot and only the entries after it.
    const snapshotted: number[] = [];
    for (const dir of dirs) {
      const wal = RaftWal.open(`${dir}/raft`);
      const state = wal.log("snap").load();
      wal.close();
      assert.ok((state.snapshot?.index ?? 0) >= 40, `snapshot at ${state.snapshot?.index}`);
      assert.ok(state.entries.length < 10, `${state.entries.length} entries after it`);
      snapshotted.push(deserialize(state.snapshot!.data));
    }
    // Started again alone, a node reads its snapshot back (what follows it waits for a leader).
    nodes[1] = await start("s1", dirs[1]!);
    await waitFor(() => {
      const info = nodes[1]!.raft.info().find((g) => g.name === "snap");
      return info !== undefined && info.role !== "waiting";
    }, { timeout: 10_000 });
    assert.equal(await nodes[1]!.raft.localQuery("snap", null), snapshotted[1]);
    assert.ok(snapshotted[1]! >= 39, `snapshot state ${snapshotted[1]}`);
  } finally {
    await stopAll(nodes);
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("a machine module's own encodeState/decodeState pair stores its snapshots", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "weft-raft-snap-" });
  const encoded: number[] = [];
  const machine = {
    init: () => 0,
    apply: (meta: { index: number }, n: number, state: number) => ({
      state: state + n,
      reply: state + n,
      releaseCursor: meta.index % 5 === 0,
    }),
    encodeState: (state: number) => {
      encoded.push(state);
      return new TextEncoder().encode(`total=${state}`);
    },
    decodeState: (bytes: Uint8Array) => Number(new TextDecoder().decode(bytes).split("=")[1]),
  };
  let node = await startTestNode("codec", { dataDir: dir });
  try {
    node.raft.registerMachine("summer", machine);
    await node.raft.startCluster("sum", "summer", [node.name], FAST);
    for (let i = 1; i <= 12; i++) await node.raft.command("sum", i);
    assert.ok(encoded.length >= 2, `encoded ${encoded.length} snapshots`);
    await node.stop();
    const wal = RaftWal.open(`${dir}/raft`);
    const snapshot = wal.log("sum").load().snapshot!;
    wal.close();
    assert.equal(new TextDecoder().decode(snapshot.data), `total=${encoded.at(-1)}`);
    node = await startTestNode("codec", { dataDir: dir });
    node.raft.registerMachine("summer", machine);
    await waitFor(async () => {
      try {
        return await node.raft.consistentQuery("sum", null, { timeout: 1000 }) === 78;
      } catch {
        return false;
      }
    }, { timeout: 15_000 });
  } finally {
    await node.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
