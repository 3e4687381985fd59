/**
 * The distributed registry and supervisor (src/distributed), side by side
 * with Erlang's `global`:
 *
 * - registrations/s: `registry.register(name)` from node A, a fresh process
 *   per name, each returning once A's replica has it (eventually consistent:
 *   the others learn it by the next delta), against `global:register_name/2`,
 *   which returns once every node has the name; and the rate until every
 *   node of the three has every name, for the like-for-like reading;
 * - lookups/s: `registry.whereis(name)` on node C, from its replica, against
 *   `global:whereis_name/1` on a peer (an ETS read);
 * - bytes per registered name, per replica: heap growth of the three
 *   replicas (one process here) over the names, divided by three (Weft only);
 * - failover of 1,000 and 10,000 children: three nodes, the one running a
 *   third of the children cut off (its links closed, as a kill does): time
 *   until the survivors run every child once (Weft only; the process tests
 *   measure kill -9 of real processes).
 *
 * Weft's three nodes live in this process (over TCP on loopback), so one
 * thread does all three replicas' work; Erlang's are three VMs. The sides
 * run interleaved, pinned and unpinned (scripts/bench/_harness.ts).
 * `REGISTRY_BENCH_NAMES` (default 5000) and `REGISTRY_BENCH_CHILDREN`
 * (default "1000,10000") change the sizes.
 *
 * Run with `deno run -A scripts/bench/registry.ts` (or `deno task bench registry`).
 *
 * @module
 */

import { Faults } from "../../src/cluster/faults.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { startNode, type WeftNode } from "../../src/node.ts";
import { runInProcess } from "../../src/process/current.ts";
import { hasErlang, runErlang } from "./_erlang.ts";
import { interleave, reportAB } from "./_harness.ts";
import { freePort, startErlangEpmd } from "./_peers.ts";

const N_NAMES = Number(Deno.env.get("REGISTRY_BENCH_NAMES") ?? 5000);
const LOOKUP_ROUNDS = 20;
const CHILDREN = (Deno.env.get("REGISTRY_BENCH_CHILDREN") ?? "1000,10000").split(",").map(Number);
const COOKIE = "weft-bench-registry";

async function waitUntil(what: string, ok: () => boolean, timeout = 120_000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!ok()) {
    if (performance.now() > deadline) {
      throw new Error(`Benchmark: ${what} not reached in ${timeout} ms`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function cluster(names: string[]): Promise<WeftNode[]> {
  const nodes: WeftNode[] = [];
  for (const name of names) {
    nodes.push(
      await startNode({
        name: `${name}@127.0.0.1`,
        cookie: COOKIE,
        hostname: "127.0.0.1",
        noEpmd: true,
        netTicktimeSeconds: 60,
      }),
    );
  }
  for (const n of nodes.slice(1)) await n.connect(`${nodes[0]!.name}:${nodes[0]!.port}`);
  await waitUntil("the mesh", () => nodes.every((n) => n.list().length === names.length - 1));
  return nodes;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function registryFigures(): Promise<Record<string, number>> {
  const nodes = await cluster(["wbra", "wbrb", "wbrc"]);
  try {
    const regs = nodes.map((n) => n.distributed.registry("bench"));
    const [a, , c] = regs;
    await waitUntil("the members", () => regs.every((r) => r.members().length === 3));
    const procs = Array.from({ length: N_NAMES }, () => nodes[0]!.runtime.open({ label: "named" }));
    gc();
    const heap0 = Deno.memoryUsage().heapUsed;
    const t0 = performance.now();
    for (let i = 0; i < N_NAMES; i++) {
      await runInProcess(procs[i]!, () => a!.register(`name:${i}`));
    }
    const t1 = performance.now();
    await waitUntil("every name on every node", () => regs.every((r) => r.count() === N_NAMES));
    const t2 = performance.now();
    gc();
    const heap1 = Deno.memoryUsage().heapUsed;
    const keys = Array.from({ length: N_NAMES }, (_, i) => `name:${i}`);
    for (const k of keys) c!.whereis(k); // one untimed round: the JIT compiles the path
    const t3 = performance.now();
    let found = 0;
    for (let r = 0; r < LOOKUP_ROUNDS; r++) {
      for (const k of keys) if (c!.whereis(k) !== undefined) found++;
    }
    const t4 = performance.now();
    if (found !== N_NAMES * LOOKUP_ROUNDS) throw new Error(`Benchmark: ${found} lookups found`);
    for (const p of procs) p.exit("normal");
    return {
      registrationsPerSec: N_NAMES / ((t1 - t0) / 1000),
      visibleEverywherePerSec: N_NAMES / ((t2 - t0) / 1000),
      lookupsPerSec: (N_NAMES * LOOKUP_ROUNDS) / ((t4 - t3) / 1000),
      // The 3 replicas and the N processes' entries, less the processes themselves (opened before).
      bytesPerName: (heap1 - heap0) / N_NAMES / 3,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

class Idle extends GenServer<null, undefined> {
  override init() {
    return { ok: null };
  }
}

async function failoverMs(children: number): Promise<number> {
  const nodes = await cluster(["wbfa", "wbfb", "wbfc"]);
  const faults = new Faults();
  try {
    for (const n of nodes) {
      n.rpc.registerModule("idle", { start: () => GenServer.startLink(Idle, undefined) });
    }
    const sups = nodes.map((n) => n.distributed.supervisor("bench", { strategy: "uniform" }));
    await waitUntil("the members", () => sups.every((s) => s.liveMembers().length === 3));
    const batch = 200;
    for (let i = 0; i < children; i += batch) {
      await Promise.all(
        Array.from(
          { length: Math.min(batch, children - i) },
          (_, j) =>
            sups[(i + j) % 3]!.startChild({ id: `c${i + j}`, module: "idle", function: "start" }),
        ),
      );
    }
    await waitUntil(
      "every child listed",
      () => sups.every((s) => s.countChildren().active === children),
    );
    const [lost, ...survivors] = nodes;
    const t0 = performance.now();
    await faults.cut([lost!], survivors);
    const running = () =>
      survivors.reduce(
        (sum, n) => sum + n.distributed.supervisor("bench").countChildren().local,
        0,
      );
    await waitUntil("every child on the survivors", () => running() === children);
    return performance.now() - t0;
  } finally {
    faults.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

async function measureWeft(): Promise<Record<string, number>> {
  const figures = await registryFigures();
  for (const n of CHILDREN) figures[`failover${n}Ms`] = await failoverMs(n);
  return figures;
}

async function measureErlang(): Promise<Record<string, number> | undefined> {
  if (!(await hasErlang())) return undefined;
  const epmdPort = freePort();
  const epmd = await startErlangEpmd(epmdPort);
  try {
    return await runErlang<Record<string, number>>(
      "weft_bench_registry",
      [N_NAMES, LOOKUP_ROUNDS].map(String),
      { erlArgs: ["-setcookie", COOKIE], env: { ERL_EPMD_PORT: String(epmdPort) } },
    );
  } finally {
    await epmd.stop();
  }
}

const samples = await interleave({ weft: measureWeft, erlang: measureErlang });

const names = N_NAMES.toLocaleString("en-US");
reportAB("Distributed registry and supervisor, three nodes", [
  {
    key: "registrationsPerSec",
    name: `registrations, ${names} names from one node (Weft: once its replica has it; ` +
      "Erlang global:register_name: once every node has it)",
    unit: "reg/s",
    higherIsBetter: true,
    target: { min: 10 },
  },
  {
    key: "visibleEverywherePerSec",
    erlangKey: "registrationsPerSec",
    name: `registrations until all ${names} names are on all 3 nodes (like for like)`,
    unit: "reg/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "lookupsPerSec",
    name: "lookups on another node (registry.whereis; Erlang global:whereis_name)",
    unit: "lookups/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "bytesPerName",
    erlangKey: null,
    name: "heap per registered name, per replica",
    unit: "B",
    higherIsBetter: false,
  },
  ...CHILDREN.map((n) => ({
    key: `failover${n}Ms`,
    erlangKey: null,
    name: `failover: ${n.toLocaleString("en-US")} children on 3 nodes, one cut off, ` +
      "until the survivors run every child once",
    unit: "ms",
    higherIsBetter: false,
  })),
], samples);
