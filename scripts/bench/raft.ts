/**
 * The Raft benchmark: Weft's Raft service on 3 real nodes against a 3-member etcd 3.4 cluster, in
 * the same run, on loopback, fsync on for both:
 *
 * - sequential put latency, p50 and p99 (one client, one put after another);
 * - puts per second with 64 concurrent clients;
 * - failover: from `kill -9` of the leader until a put succeeds again (puts retried with a
 *   100 ms timeout each, through the survivors).
 *
 * ```
 * weft side                                       etcd side
 *   3 x `deno run main.ts --data-dir ...` nodes     3 x `etcd --data-dir ...` (peer and client
 *   a kv cluster on them (raft.startCluster)          ports private, on 127.0.0.1)
 *   this process: a client node,                    this process: HTTP/JSON gateway client,
 *     raft.command("bench", ["put", k, v])            POST /v3/kv/put {key, value}
 *     (sent to the leader it learnt)                  (sent to the leader's endpoint)
 * ```
 *
 * Same work on both sides: 128-byte values over 1000 keys; each put is acknowledged once a
 * majority has it on disk. Both use their default timings (an election timeout of 1000 ms, a
 * heartbeat of 100 ms). The sides run interleaved, pinned and unpinned, through the A/B harness
 * (scripts/bench/_harness.ts): every node and etcd member of a side inherits its CPU set.
 *
 * Run with `deno run -A scripts/bench/raft.ts` (or `deno task bench raft`). `RAFT_BENCH_SEQ`
 * (default 1000) and `RAFT_BENCH_PUTS` (default 6400) set the counts.
 *
 * @module
 */

import { startNode, type WeftNode } from "../../src/node.ts";
import { percentile } from "./_erlang.ts";
import { type Figures, interleave, reportAB } from "./_harness.ts";
import { freePort } from "./_peers.ts";
import { WeftProcess } from "../../test/helpers/weft_process.ts";

const SEQUENTIAL = Number(Deno.env.get("RAFT_BENCH_SEQ") ?? 1000);
const PUTS = Number(Deno.env.get("RAFT_BENCH_PUTS") ?? 6400);
const CLIENTS = 64;
const KEYS = 1000;
const VALUE = "v".repeat(128);
const COOKIE = "weft-bench-raft";
/** The timeout of each put while the leader is dead: the failover figure's resolution. */
const RETRY_MS = 100;

/** What one side does; {@linkcode measure} times it the same way for both. */
interface Workload {
  put(key: string): Promise<void>;
  killLeader(): Promise<void>;
  /** One put after the leader died, with a short timeout; false when it failed. */
  tryPut(key: string): Promise<boolean>;
}

async function measure(w: Workload): Promise<Figures> {
  for (let i = 0; i < 200; i++) await w.put(`k${i % KEYS}`); // warm up
  const lat: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = performance.now();
    await w.put(`k${i % KEYS}`);
    lat.push(performance.now() - t0);
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < PUTS) await w.put(`k${next++ % KEYS}`);
  }));
  const throughput = PUTS / ((performance.now() - t0) / 1000);
  await w.killLeader();
  const killed = performance.now();
  let i = 0;
  while (!(await w.tryPut(`k${i++ % KEYS}`))) {
    if (performance.now() - killed > 60_000) throw new Error("No put succeeded 60 s after kill");
  }
  const failover = performance.now() - killed;
  return {
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    throughput,
    failover,
  };
}

// ------------------------------------------------------------------ Weft

async function weftSide(): Promise<Figures> {
  const dirs: string[] = [];
  const procs: WeftProcess[] = [];
  let client: WeftNode | undefined;
  try {
    const members: { name: string; address: string; proc: WeftProcess }[] = [];
    await Promise.all([0, 1, 2].map(async (i) => {
      const dir = await Deno.makeTempDir({ prefix: "weft-bench-raft-" });
      dirs.push(dir);
      const name = `raftb${i}@127.0.0.1`;
      const proc = WeftProcess.headless(name, COOKIE, [
        "--data-dir",
        dir,
      ]);
      procs.push(proc);
      const port = await proc.listenPort(60_000);
      members.push({ name, address: `${name}:${port}`, proc });
    }));
    const clientDir = await Deno.makeTempDir({ prefix: "weft-bench-raft-" });
    dirs.push(clientDir);
    client = await startNode({
      name: "raftbc@127.0.0.1",
      cookie: COOKIE,
      noEpmd: true,
      hostname: "127.0.0.1",
      dataDir: clientDir,
    });
    for (const m of members) {
      if (!(await client.connect(m.address))) throw new Error(`Cannot reach ${m.address}`);
    }
    const raft = client.raft;
    await raft.startCluster("bench", "kv", members.map((m) => m.name), { timeout: 30_000 });
    return await measure({
      put: async (key) => {
        await raft.command("bench", ["put", key, VALUE], { timeout: 10_000 });
      },
      killLeader: async () => {
        const leader = await raft.leader("bench", { timeout: 10_000 });
        const victim = members.find((m) => m.name === leader);
        if (victim === undefined) throw new Error(`No leader to kill (${leader})`);
        victim.proc.kill("SIGKILL");
        await victim.proc.exited();
      },
      tryPut: (key) =>
        raft.command("bench", ["put", key, VALUE], { timeout: RETRY_MS }).then(
          () => true,
          () => false,
        ),
    });
  } finally {
    await client?.stop();
    await Promise.all(procs.map((p) => p.close()));
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

// ------------------------------------------------------------------ etcd

function b64(text: string): string {
  return btoa(text);
}

async function etcdPost(endpoint: string, path: string, body: unknown, ms: number) {
  const res = await fetch(`${endpoint}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(ms),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function etcdSide(): Promise<Figures> {
  const members = [0, 1, 2].map((i) => ({
    name: `e${i}`,
    client: `http://127.0.0.1:${freePort()}`,
    peer: `http://127.0.0.1:${freePort()}`,
    dir: "",
    proc: undefined as Deno.ChildProcess | undefined,
  }));
  const cluster = members.map((m) => `${m.name}=${m.peer}`).join(",");
  const token = `weft-bench-${crypto.randomUUID()}`;
  try {
    for (const m of members) {
      m.dir = await Deno.makeTempDir({ prefix: "weft-bench-etcd-" });
      m.proc = new Deno.Command("etcd", {
        args: [
          "--name",
          m.name,
          "--data-dir",
          m.dir,
          "--listen-client-urls",
          m.client,
          "--advertise-client-urls",
          m.client,
          "--listen-peer-urls",
          m.peer,
          "--initial-advertise-peer-urls",
          m.peer,
          "--initial-cluster",
          cluster,
          "--initial-cluster-state",
          "new",
          "--initial-cluster-token",
          token,
        ],
        stdin: "null",
        stdout: "null",
        stderr: Deno.env.get("RAFT_BENCH_ETCD_LOG") ? "inherit" : "null",
      }).spawn();
    }
    const statusOf = (m: (typeof members)[number]) =>
      etcdPost(m.client, "/v3/maintenance/status", {}, 1000) as Promise<
        { header: { member_id: string }; leader: string }
      >;
    let leader: (typeof members)[number] | undefined;
    const deadline = Date.now() + 60_000;
    while (leader === undefined) {
      if (Date.now() > deadline) throw new Error("etcd elected no leader within 60 s");
      for (const m of members) {
        const s = await statusOf(m).catch(() => undefined);
        if (s !== undefined && s.leader !== "0" && s.header.member_id === s.leader) leader = m;
      }
      if (leader === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    const value = b64(VALUE);
    const put = (endpoint: string, key: string, ms: number) =>
      etcdPost(endpoint, "/v3/kv/put", { key: b64(key), value }, ms);
    const survivors = members.filter((m) => m !== leader);
    let turn = 0;
    return await measure({
      put: async (key) => {
        await put(leader!.client, key, 10_000);
      },
      killLeader: async () => {
        leader!.proc!.kill("SIGKILL");
        await leader!.proc!.status;
      },
      // A put through any survivor goes to whichever leads.
      tryPut: (key) =>
        put(survivors[turn++ % survivors.length]!.client, key, RETRY_MS).then(
          () => true,
          () => false,
        ),
    });
  } finally {
    for (const m of members) {
      try {
        m.proc?.kill("SIGKILL");
      } catch {
        // Gone already.
      }
      await m.proc?.status;
      if (m.dir) await Deno.remove(m.dir, { recursive: true }).catch(() => {});
    }
  }
}

async function hasEtcd(): Promise<boolean> {
  try {
    return (await new Deno.Command("etcd", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const samples = await interleave({
  weft: weftSide,
  erlang: etcdSide,
  peer: { name: "etcd", available: hasEtcd },
});
reportAB(
  `Raft: 3 nodes on loopback, fsync on, 128-byte puts (Weft's Raft service vs etcd 3.4)`,
  [
    {
      key: "p50",
      name: "sequential put p50",
      unit: "ms",
      higherIsBetter: false,
      target: { max: 1 },
    },
    { key: "p99", name: "sequential put p99", unit: "ms", higherIsBetter: false },
    {
      key: "throughput",
      name: `puts/s, ${CLIENTS} concurrent clients`,
      unit: "puts/s",
      higherIsBetter: true,
      target: { min: 1 },
    },
    {
      key: "failover",
      name: "failover after kill -9 of the leader",
      unit: "ms",
      higherIsBetter: false,
      target: { max: 1 },
    },
  ],
  samples,
);
console.log(`(${SEQUENTIAL} sequential puts, ${PUTS} concurrent puts over ${KEYS} keys, median)`);
