/**
 * Raft across real `weft` processes (3 and 5 nodes, each its own OS process with its own data
 * directory, fsync on): `kill -9` of the leader under load from concurrent clients gives a new
 * leader, no acknowledged command is lost, and the recorded history is linearizable (the
 * WGL checker of test/helpers/linearizability.ts); a `SIGSTOP`ped old leader, resumed after a new
 * leader took writes, never answers a consistentQuery with the old value.
 */
import assert from "node:assert/strict";
import { RaftNoQuorumError, RaftTimeoutError } from "../../src/errors.ts";
import {
  isLinearizable,
  type KvInput,
  kvModel,
  type KvOutput,
  type Operation,
} from "../helpers/linearizability.ts";
import { startTestNode, stopAll, type TestNode } from "../helpers/nodes.ts";
import { prng } from "../helpers/prng.ts";
import { waitFor } from "../helpers/wait.ts";
import { WeftProcess } from "../helpers/weft_process.ts";

const COOKIE = "weft-raft-test";

interface Member {
  proc: WeftProcess;
  name: string;
  address: string;
  dir: string;
}

async function startMember(name: string, dir: string): Promise<Member> {
  const full = `${name}@127.0.0.1`;
  const proc = WeftProcess.headless(full, COOKIE, [
    "--data-dir",
    dir,
  ]);
  try {
    const port = await proc.listenPort(60_000);
    return { proc, name: full, address: `${full}:${port}`, dir };
  } catch (e) {
    await proc.close();
    throw e;
  }
}

async function startMembers(n: number, prefix: string): Promise<Member[]> {
  const dirs = await Promise.all(
    Array.from({ length: n }, () => Deno.makeTempDir({ prefix: "weft-raft-proc-" })),
  );
  const started = await Promise.allSettled(dirs.map((d, i) => startMember(`${prefix}${i}`, d)));
  const members = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  if (members.length < n) {
    await Promise.all(members.map((m) => m.proc.close()));
    throw (started.find((s) => s.status === "rejected") as PromiseRejectedResult).reason;
  }
  return members;
}

/** Connects the client to every member and waits until the members see each other (PEERS mesh). */
async function mesh(client: TestNode, members: Member[]): Promise<void> {
  for (const m of members) assert.ok(await client.connect(m.address), `connect ${m.address}`);
}

async function release(client: TestNode | undefined, members: Member[]): Promise<void> {
  await stopAll([client]);
  await Promise.all(members.map((m) => m.proc.close()));
  for (const m of members) await Deno.remove(m.dir, { recursive: true }).catch(() => {});
}

type History = Operation<KvInput, KvOutput>[];

/** One client loop: random get / put / cas on a few shared keys, each recorded. */
async function clientLoop(
  client: TestNode,
  id: number,
  history: History,
  keys: string[],
  stop: { stopped: boolean },
  acked: Map<string, number>,
): Promise<void> {
  const random = prng(1000 + id);
  let n = 0;
  while (!stop.stopped) {
    const key = keys[Math.floor(random() * keys.length)]!;
    const dice = random();
    const value = `c${id}-${n++}`;
    const input: KvInput = dice < 0.4
      ? { op: "get", key }
      : dice < 0.8
      ? { op: "put", key, value }
      : { op: "cas", key, from: random() < 0.5 ? null : `c${id}-${n - 2}`, to: value };
    const call = performance.now();
    try {
      let output: KvOutput;
      switch (input.op) {
        case "get":
          output = (await client.raft.consistentQuery("kv", ["get", key], { timeout: 3000 }) ??
            null) as string | null;
          break;
        case "put":
          await client.raft.command("kv", ["put", key, value], { timeout: 3000 });
          output = "ok";
          break;
        case "cas": {
          const r = await client.raft.command(
            "kv",
            ["cas", key, input.from ?? undefined, value],
            { timeout: 3000 },
          ) as { ok: boolean };
          output = r.ok;
          break;
        }
      }
      history.push({ input, output, call, return: performance.now() });
      if (input.op !== "get") acked.set("total", (acked.get("total") ?? 0) + 1);
    } catch (e) {
      if (!(e instanceof RaftTimeoutError || e instanceof RaftNoQuorumError)) throw e;
      // A write whose outcome is unknown may take effect at any later time; a read that failed
      // did not happen.
      if (input.op !== "get") history.push({ input, output: undefined, call, return: Infinity });
    }
    // Each client also counts on its own key: an acknowledged increment must never be lost.
    const own = `own${id}`;
    const next = (acked.get(own) ?? 0) + 1;
    try {
      await client.raft.command("kv", ["put", own, next], { timeout: 3000 });
      acked.set(own, next);
    } catch (e) {
      if (!(e instanceof RaftTimeoutError || e instanceof RaftNoQuorumError)) throw e;
    }
  }
}

/**
 * After the load: no acknowledged write is lost (each client's own counter is at
 * least what it was told), and final reads join the history, so a lost write
 * shows as a non-linearizable read.
 */
async function checkNothingLost(
  client: TestNode,
  clients: number,
  acked: Map<string, number>,
  keys: string[],
  history: History,
): Promise<void> {
  for (let i = 0; i < clients; i++) {
    const value = await client.raft.consistentQuery("kv", ["get", `own${i}`], {
      timeout: 10_000,
    }) as number | undefined;
    assert.ok((value ?? 0) >= (acked.get(`own${i}`) ?? 0), `own${i}: ${value}`);
  }
  for (const key of keys) {
    const call = performance.now();
    const output = (await client.raft.consistentQuery("kv", ["get", key], {
      timeout: 10_000,
    }) ?? null) as string | null;
    history.push({ input: { op: "get", key }, output, call, return: performance.now() });
  }
  assert.ok(
    isLinearizable(kvModel, history),
    `the history of ${history.length} operations is not linearizable`,
  );
}

async function killLeaderUnderLoad(size: number): Promise<void> {
  const members = await startMembers(size, `k${size}_`);
  let client: TestNode | undefined;
  try {
    client = await startTestNode(`client${size}`, {
      cookie: COOKIE,
      dataDir: await Deno.makeTempDir(),
    });
    await mesh(client, members);
    await client.raft.startCluster("kv", "kv", members.map((m) => m.name), { timeout: 30_000 });
    await client.raft.command("kv", ["put", "warm", 1], { timeout: 30_000 });

    const keys = ["x", "y", "z"];
    const history: History = [];
    const acked = new Map<string, number>();
    const stop = { stopped: false };
    const loops = Array.from(
      { length: 6 },
      (_, i) => clientLoop(client!, i, history, keys, stop, acked),
    );
    try {
      await waitFor(() => (acked.get("total") ?? 0) >= 100, { timeout: 60_000 });
      const leader = await client.raft.leader("kv", { timeout: 10_000 });
      const victim = members.find((m) => m.name === leader);
      assert.ok(victim !== undefined, `leader ${leader} is a member`);
      victim.proc.kill("SIGKILL");
      await victim.proc.exited();
      const killedAt = performance.now();
      const before = acked.get("total") ?? 0;
      // The survivors elect a leader and the clients' writes go through again.
      await waitFor(() => (acked.get("total") ?? 0) >= before + 100, {
        timeout: 60_000,
        message: "no writes acknowledged after the leader was killed",
      });
      const newLeader = await client.raft.leader("kv", { timeout: 10_000 });
      assert.ok(newLeader !== null && newLeader !== leader, `new leader ${newLeader}`);
      console.log(
        `${size} nodes: ${before} writes before kill -9 of ${leader}, ${
          (acked.get("total") ?? 0) - before
        } after; ${newLeader} leads (${Math.round(performance.now() - killedAt)} ms to 100 writes)`,
      );
    } finally {
      stop.stopped = true;
      await Promise.all(loops);
    }

    // The killed member, started again on its data directory, resumes the group and catches up.
    if (size === 3) {
      const victim = members.find((m) => m.proc.status !== undefined)!;
      const again = await startMember(victim.name.split("@")[0]!, victim.dir);
      members.push(again);
      assert.ok(await client.connect(again.address));
      const last = acked.get("own0") ?? 0;
      await waitFor(
        async () =>
          ((await client!.raft.localQuery("kv", ["get", "own0"], { node: again.name })
            .catch(() => 0)) as number) >= last,
        { timeout: 60_000, message: `${again.name} did not catch up after its restart` },
      );
    }

    await checkNothingLost(client, 6, acked, keys, history);
  } finally {
    if (client) await Deno.remove(client.dataDir, { recursive: true }).catch(() => {});
    await release(client, members);
  }
}

Deno.test("raft on 3 processes: kill -9 of the leader under load gives a new leader, no acknowledged write lost, the history linearizable", async () => {
  await killLeaderUnderLoad(3);
});

Deno.test("raft on 5 processes: kill -9 of the leader under load gives a new leader, no acknowledged write lost, the history linearizable", async () => {
  await killLeaderUnderLoad(5);
});

Deno.test("raft on 3 processes: a SIGSTOPped leader, resumed after a new leader took a write, never answers a consistentQuery with the old value", async () => {
  const members = await startMembers(3, "s");
  let writer: TestNode | undefined;
  let reader: TestNode | undefined;
  let stopped: Member | undefined;
  try {
    writer = await startTestNode("writer", { cookie: COOKIE, dataDir: await Deno.makeTempDir() });
    reader = await startTestNode("reader", { cookie: COOKIE, dataDir: await Deno.makeTempDir() });
    await mesh(writer, members);
    await mesh(reader, members);
    await writer.raft.startCluster("kv", "kv", members.map((m) => m.name), { timeout: 30_000 });
    await writer.raft.command("kv", ["put", "k", "old"], { timeout: 30_000 });
    // The reader learns who leads (its next request goes straight there).
    assert.equal(await reader.raft.consistentQuery("kv", ["get", "k"], { timeout: 10_000 }), "old");
    const leader = await reader.raft.leader("kv");
    stopped = members.find((m) => m.name === leader)!;
    stopped.proc.kill("SIGSTOP");

    // The others elect a new leader and take a write (retrying: the first tries may go to the
    // stopped leader and time out with an unknown outcome, which is the same value anyway).
    await waitFor(async () => {
      try {
        await writer!.raft.command("kv", ["put", "k", "new"], { timeout: 2000 });
        return true;
      } catch (e) {
        if (e instanceof RaftTimeoutError || e instanceof RaftNoQuorumError) return false;
        throw e;
      }
    }, { timeout: 60_000, interval: 10, message: "the majority took no write" });
    assert.notEqual(await writer.raft.leader("kv"), leader);

    // A read sent to the stopped leader waits in its socket; it resumes and must not answer "old".
    const read = reader.raft.consistentQuery("kv", ["get", "k"], { timeout: 30_000 });
    stopped.proc.kill("SIGCONT");
    assert.equal(await read, "new");
    // And every read after it, wherever it goes.
    for (let i = 0; i < 5; i++) {
      assert.equal(
        await reader.raft.consistentQuery("kv", ["get", "k"], { timeout: 10_000 }),
        "new",
      );
    }
  } finally {
    stopped?.proc.kill("SIGCONT");
    for (const n of [writer, reader]) {
      if (n) await Deno.remove(n.dataDir, { recursive: true }).catch(() => {});
    }
    await stopAll([writer]);
    await release(reader, members);
  }
});

Deno.test("raft on real processes: adding two members and removing two (the leader first) under load loses no acknowledged write, and the history stays linearizable", async () => {
  const members = await startMembers(5, "m");
  let client: TestNode | undefined;
  try {
    client = await startTestNode("clientm", { cookie: COOKIE, dataDir: await Deno.makeTempDir() });
    await mesh(client, members);
    const [m0, m1, m2, m3, m4] = members as [Member, Member, Member, Member, Member];
    await client.raft.startCluster("kv", "kv", [m0.name, m1.name, m2.name], { timeout: 30_000 });
    await client.raft.command("kv", ["put", "warm", 1], { timeout: 30_000 });
    const keys = ["x", "y"];
    const history: History = [];
    const acked = new Map<string, number>();
    const stop = { stopped: false };
    const loops = Array.from(
      { length: 4 },
      (_, i) => clientLoop(client!, i, history, keys, stop, acked),
    );
    try {
      await waitFor(() => (acked.get("total") ?? 0) >= 20, { timeout: 60_000 });
      for (const m of [m3, m4]) {
        const after = await client.raft.addMember("kv", m.name, { timeout: 30_000 });
        assert.ok(after.members.includes(m.name), `${m.name} votes: ${after.members}`);
      }
      const leader = (await client.raft.leader("kv", { timeout: 10_000 }))!;
      const second = [m0, m1, m2].map((m) => m.name).find((n) => n !== leader)!;
      for (const gone of [leader, second]) {
        const after = await client.raft.removeMember("kv", gone, { timeout: 30_000 });
        assert.ok(!after.members.includes(gone), `${gone} removed: ${after.members}`);
      }
      const before = acked.get("total") ?? 0;
      await waitFor(() => (acked.get("total") ?? 0) >= before + 20, {
        timeout: 60_000,
        message: "no writes acknowledged after the changes",
      });
      const final = await client.raft.members("kv", { timeout: 10_000 });
      assert.equal(final.members.length, 3);
      assert.ok(final.members.includes(m3.name) && final.members.includes(m4.name));
    } finally {
      stop.stopped = true;
      await Promise.all(loops);
    }
    await checkNothingLost(client, 4, acked, keys, history);
  } finally {
    if (client) await Deno.remove(client.dataDir, { recursive: true }).catch(() => {});
    await release(client, members);
  }
});
