/**
 * Chaos run: N real `weft` node processes that form a cluster by
 * themselves (`--cluster-config`: a static topology, quorum, overlap
 * guard, chaos agents), each running a workload of global names and pg
 * members (`scripts/_chaos_worker.ts`), put for a bounded time under
 * random episodes — kill -9 and restart, clean partitions, single cut
 * links (partial partitions), latency — driven by a hidden controller
 * node in this process. Then everything is healed and the invariants are
 * checked:
 *
 * - the mesh is whole again (every node connected to every other),
 * - every node has its quorum,
 * - global names agree on every node (each `worker:<node>` on its own
 *   live node, exactly one `leader`),
 * - pg `workers` members agree on every node (one per node),
 * - the replicated counter `chaos:hits` (durable, incremented all through
 *   the run by the controller on random nodes) has one value on every node,
 *   at least the sum of the acknowledged increments and at most the sum of
 *   all sent (an increment whose acknowledgement was lost may count),
 * - every permanent child of the distributed supervisor `chaos_sup` runs
 *   exactly once in the cluster, and its name in the registry
 *   `chaos_names` points at it on every node,
 * - no process is left behind (every node leaves on SIGTERM; none of this
 *   run's processes remains).
 *
 * ```sh
 * deno run -A scripts/chaos.ts --duration 120 --nodes 5 [--seed 42] [--verbose]
 * ```
 *
 * Prints a summary; exits 1 when an invariant is violated, 2 on bad flags.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Chaos } from "../src/cluster/chaos.ts";
import { configureLogging } from "../src/log.ts";
import { startNode, type WeftNode } from "../src/node.ts";
import type { ProcessContext } from "../src/process/types.ts";
import { freePort } from "../test/helpers/ports.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const WORKER = new URL("./_chaos_worker.ts", import.meta.url).pathname;
/** Permanent children each node adds to the distributed supervisor (the worker reads CHAOS_CHILDREN). */
const CHILDREN_PER_NODE = 10;
/** Every child id the run expects: `child:<node>:<i>`. */
let childIds: string[] = [];

interface Options {
  duration: number;
  nodes: number;
  seed: number;
  verbose: boolean;
  settle: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "120" },
      nodes: { type: "string", default: "5" },
      seed: { type: "string" },
      settle: { type: "string", default: "45" },
      verbose: { type: "boolean", default: false },
    },
  });
  const duration = Number(values.duration);
  const nodes = Number(values.nodes);
  const settle = Number(values.settle);
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
  if (!(duration > 0) || !(Number.isInteger(nodes) && nodes >= 3 && nodes <= 16) || !(settle > 0)) {
    console.error("usage: chaos.ts --duration SECS --nodes 3..16 [--seed N] [--settle SECS]");
    Deno.exit(2);
  }
  return { duration, nodes, seed, verbose: values.verbose ?? false, settle };
}

/** mulberry32: a small seeded PRNG, so a run can be replayed with --seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One node of the run: its child process and the tail of its output. */
class NodeProc {
  child: Deno.ChildProcess | undefined;
  lines: string[] = [];
  #done: Promise<void> | undefined;
  #ready = Promise.withResolvers<void>();
  restarts = 0;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly args: string[],
    readonly verbose: boolean,
  ) {}

  get address(): string {
    return `${this.name}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): Promise<void> {
    this.#ready = Promise.withResolvers<void>();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "--name", this.name, "--port", String(this.port), ...this.args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", CHAOS_CHILDREN: String(CHILDREN_PER_NODE) },
    }).spawn();
    this.child = child;
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const line of parts) this.#line(line);
      }
      if (rest) this.#line(rest);
    };
    this.#done = Promise.all([collect(child.stdout), collect(child.stderr), child.status]).then(
      () => {},
    );
    return this.#ready.promise;
  }

  #line(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 300) this.lines.shift();
    if (line === "WORKER-READY") this.#ready.resolve();
    if (this.verbose) console.log(`  [${this.name}] ${line}`);
  }

  /** SIGKILL, then wait for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await this.#done;
    this.child = undefined;
  }

  /** SIGTERM; `true` when it exited within `ms`. */
  async terminate(ms: number): Promise<boolean> {
    const child = this.child;
    if (child === undefined) return true;
    try {
      child.kill("SIGTERM");
    } catch {
      // Gone already.
    }
    const timer = sleep(ms).then(() => false);
    const clean = await Promise.race([this.#done!.then(() => true), timer]);
    if (!clean) await this.kill();
    this.child = undefined;
    return clean;
  }
}

interface View {
  node: string;
  nodes: string[];
  global: Record<string, string>;
  pg: string[];
  quorum: boolean | null;
  hits: number;
  /** The distributed supervisor's children running on the node: [id, pid]. */
  children: [string, string][];
  /** Where each child's name points on the node. */
  names: Record<string, string>;
}

/** Increments of the replicated counter: sent, and acknowledged once written. */
interface Increments {
  sent: number;
  acked: number;
}

async function probe(ctx: ProcessContext, node: string, timeout = 2000): Promise<View | undefined> {
  const ref = ctx.runtime.makeRef();
  ctx.send({ name: "chaos_probe", node }, { from: ctx.self, ref, ids: childIds });
  try {
    return await ctx.receive<View & { ref: unknown }>(
      (m) => (m as { ref?: { equals?: (r: unknown) => boolean } })?.ref?.equals?.(ref) === true,
      { timeout },
    );
  } catch {
    return undefined;
  }
}

/** What is wrong with the cluster now (empty when every invariant holds), and the views. */
async function check(
  ctx: ProcessContext,
  procs: NodeProc[],
  increments: Increments,
): Promise<{ problems: string[]; views: (View | undefined)[] }> {
  const names = procs.map((p) => p.name).sort();
  const views = await Promise.all(procs.map((p) => probe(ctx, p.name)));
  const problems: string[] = [];
  views.forEach((v, i) => {
    const name = procs[i]!.name;
    if (v === undefined) {
      problems.push(`${name}: no answer from its probe`);
      return;
    }
    const others = names.filter((n) => n !== name);
    if (v.nodes.join() !== others.join()) {
      problems.push(`${name}: connected to [${v.nodes.join(", ")}], expected all others`);
    }
    if (v.quorum !== true) problems.push(`${name}: no quorum`);
  });
  const ok = views.filter((v): v is View => v !== undefined);
  if (ok.length === 0) return { problems, views };
  const first = ok[0]!;
  for (const v of ok.slice(1)) {
    if (JSON.stringify(v.global) !== JSON.stringify(first.global)) {
      problems.push(
        `global names differ: ${first.node} ${JSON.stringify(first.global)} vs ${v.node} ${
          JSON.stringify(v.global)
        }`,
      );
    }
    if (v.pg.join() !== first.pg.join()) {
      problems.push(`pg workers differ: ${first.node} [${first.pg}] vs ${v.node} [${v.pg}]`);
    }
    if (v.hits !== first.hits) {
      problems.push(`crdt chaos:hits differs: ${first.node} ${first.hits} vs ${v.node} ${v.hits}`);
    }
  }
  if (ok.length === views.length) {
    const runs = new Map<string, string[]>();
    for (const v of ok) {
      for (const [id, pid] of v.children) runs.set(id, [...runs.get(id) ?? [], pid]);
    }
    for (const id of childIds) {
      const pids = runs.get(id) ?? [];
      if (pids.length !== 1) {
        problems.push(`horde: ${id} runs ${pids.length} times${pids.length ? `: ${pids}` : ""}`);
        continue;
      }
      for (const v of ok) {
        if (v.names[id] !== pids[0]) {
          problems.push(`horde: ${id} is ${pids[0]} but its name on ${v.node} is ${v.names[id]}`);
        }
      }
    }
  }
  if (first.hits < increments.acked || first.hits > increments.sent) {
    problems.push(
      `crdt chaos:hits is ${first.hits}: acknowledged ${increments.acked}, sent ${increments.sent}`,
    );
  }
  for (const name of names) {
    const pid = first.global[`worker:${name}`];
    if (pid === undefined) problems.push(`global: worker:${name} is not registered`);
    else if (!pid.includes(`<${name}.`)) {
      problems.push(`global: worker:${name} is ${pid}, not on ${name}`);
    }
  }
  if (first.global.leader === undefined) problems.push("global: no leader");
  const extra = Object.keys(first.global).filter((n) => n !== "leader" && !n.startsWith("worker:"));
  if (extra.length > 0) problems.push(`global: unexpected names ${extra.join(", ")}`);
  if (first.pg.length !== names.length) {
    problems.push(
      `pg workers: ${first.pg.length} members for ${names.length} nodes: [${first.pg}]`,
    );
  } else {
    for (const name of names) {
      if (!first.pg.some((p) => p.includes(`<${name}.`))) {
        problems.push(`pg workers: none on ${name}`);
      }
    }
  }
  return { problems, views };
}

/** This run's processes still alive (by the run id in their command line). */
async function leftovers(runId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const cmd = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0").join(" ");
      if (cmd.includes(runId)) out.push(`${entry.name}: ${cmd.slice(0, 120)}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

async function main(): Promise<number> {
  const opts = parseOptions();
  const random = prng(opts.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);
  await configureLogging(opts.verbose ? "info" : "fatal");
  const runId = `chaos-${Date.now().toString(36)}-${opts.seed}`;
  const cookie = runId;
  const names = Array.from({ length: opts.nodes }, (_, i) => `c${i + 1}@127.0.0.1`);
  childIds = names.flatMap((n) =>
    Array.from({ length: CHILDREN_PER_NODE }, (_, i) => `child:${n}:${i}`)
  );
  const ports = names.map(() => freePort());
  const dir = await Deno.makeTempDir({ prefix: "weft_chaos_" });
  const config = `${dir}/cluster.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      topologies: {
        all: {
          strategy: "static",
          config: { nodes: names.map((n, i) => `${n}:${ports[i]}`) },
          reconnect: { initial: 100, max: 1000 },
        },
      },
      quorum: { expected: names },
      preventOverlappingPartitions: { probeInterval: 500, grace: 2000 },
      chaos: true,
    }),
  );
  const args = [
    "--no-epmd",
    "--cookie",
    cookie,
    "--net-ticktime",
    "2",
    "--cluster-config",
    config,
    "--log-level",
    opts.verbose ? "info" : "warning",
  ];
  // Each node keeps its durable keys in a data directory of this run, across its restarts.
  const procs = names.map((n, i) =>
    new NodeProc(
      n,
      ports[i]!,
      [...args, "--data-dir", `${dir}/${n}`, "--script", WORKER],
      opts.verbose,
    )
  );
  const increments: Increments = { sent: 0, acked: 0 };
  let incrementing = true;
  const counts = { kills: 0, restarts: 0, partitions: 0, cuts: 0, latencies: 0 };
  let controller: WeftNode | undefined;
  let chaos: Chaos | undefined;
  let ctx: ProcessContext | undefined;
  const problems: string[] = [];
  let finalView = "";
  const log = (text: string) =>
    console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${text}`);
  const t0 = performance.now();
  try {
    console.log(`chaos: ${opts.nodes} nodes, ${opts.duration} s, seed ${opts.seed} (run ${runId})`);
    await Promise.all(procs.map((p) => p.start()));
    controller = await startNode({
      name: `ctl_${runId.replace(/[^A-Za-z0-9_]/g, "_")}@127.0.0.1`,
      cookie,
      hidden: true,
      noEpmd: true,
      hostname: "127.0.0.1",
    });
    ctx = controller.runtime.open({ label: "chaos controller" });
    chaos = new Chaos(controller, { timeout: 10_000 });
    const connectAll = () => Promise.all(procs.map((p) => controller!.connect(p.address)));
    await connectAll();
    log("nodes up; chaos begins");
    // All through the chaos: increments of the replicated counter on random nodes.
    const incrementer = (async () => {
      const me = controller!.runtime.open({ label: "chaos increments" });
      while (incrementing) {
        const target = pick(procs);
        const n = 1 + Math.floor(random() * 5);
        const ref = me.runtime.makeRef();
        increments.sent += n;
        me.send({ name: "chaos_crdt", node: target.name }, { from: me.self, ref, n });
        try {
          await me.receive(
            (m) =>
              (m as { ref?: { equals?: (r: unknown) => boolean } })?.ref?.equals?.(ref) === true,
            { timeout: 1000 },
          );
          increments.acked += n;
        } catch {
          // Not acknowledged in time: it may or may not count.
        }
        await sleep(50);
      }
      me.exit();
    })();

    const end = t0 + opts.duration * 1000;
    while (performance.now() < end) {
      const left = end - performance.now();
      const episode = random();
      const hold = Math.min(left, between(1500, 5000));
      if (episode < 0.3) {
        // Kill -9 one node, restart it under the same name and port.
        const victim = pick(procs);
        log(`kill -9 ${victim.name}`);
        await victim.kill();
        counts.kills++;
        await sleep(hold);
        await victim.start();
        victim.restarts++;
        counts.restarts++;
        await controller.connect(victim.address);
        log(`restarted ${victim.name}`);
      } else if (episode < 0.6) {
        // A clean partition into two sides.
        const shuffled = [...names].sort(() => random() - 0.5);
        const cutAt = 1 + Math.floor(random() * (names.length - 1));
        const [a, b] = [shuffled.slice(0, cutAt), shuffled.slice(cutAt)];
        log(`partition [${a.join(" ")}] | [${b.join(" ")}]`);
        await chaos.partition(a, b);
        counts.partitions++;
        await sleep(hold);
        await chaos.heal();
        log("healed");
      } else if (episode < 0.85) {
        // One link cut: a partial partition, for the overlap guard.
        const a = pick(names);
        const b = pick(names.filter((n) => n !== a));
        log(`cut ${a} - ${b}`);
        await chaos.cut(a, b);
        counts.cuts++;
        await sleep(hold);
        await chaos.heal();
        log("healed");
      } else {
        const a = pick(names);
        const b = pick(names.filter((n) => n !== a));
        const ms = Math.round(between(50, 400));
        log(`latency ${ms} ms on ${a} - ${b}`);
        await chaos.latency(a, b, ms, { jitter: Math.round(ms / 4) });
        counts.latencies++;
        await sleep(hold);
        await chaos.clearLinks();
        log("latency cleared");
      }
      await sleep(between(200, 1500));
    }

    // Bring everything back, then give the cluster time to converge.
    incrementing = false;
    await incrementer;
    await chaos.heal();
    for (const p of procs) {
      if (!p.running) {
        await p.start();
        counts.restarts++;
      }
    }
    await connectAll();
    log(`chaos over; waiting up to ${opts.settle} s for the invariants`);
    const settleStart = performance.now();
    let last: string[] = [];
    let views: (View | undefined)[] = [];
    while (performance.now() - settleStart < opts.settle * 1000) {
      ({ problems: last, views } = await check(ctx, procs, increments));
      if (last.length === 0) break;
      await sleep(500);
    }
    const sample = views[0];
    if (sample !== undefined) {
      finalView = `every node sees ${sample.nodes.length + 1} nodes, ` +
        `${Object.keys(sample.global).length} global names (leader ${
          sample.global.leader ?? "none"
        }), ${sample.pg.length} pg workers, chaos:hits ${sample.hits} (acknowledged ${increments.acked}, sent ${increments.sent})`;
    }
    const settled = (performance.now() - settleStart) / 1000;
    if (last.length === 0) log(`invariants hold after ${settled.toFixed(1)} s`);
    problems.push(...last);
  } catch (e) {
    problems.push(`the run itself failed: ${e instanceof Error ? e.stack ?? e.message : e}`);
  } finally {
    chaos?.close();
    ctx?.exit();
    const clean = await Promise.all(procs.map((p) => p.terminate(10_000)));
    clean.forEach((ok, i) => {
      if (!ok) problems.push(`${procs[i]!.name}: did not leave within 10 s of SIGTERM (killed)`);
    });
    await controller?.stop();
    const left = await leftovers(runId);
    if (left.length > 0) problems.push(`processes left behind:\n    ${left.join("\n    ")}`);
    await Deno.remove(dir, { recursive: true });
  }

  console.log("\nsummary");
  console.log(`  nodes ${opts.nodes}, duration ${opts.duration} s, seed ${opts.seed}`);
  console.log(
    `  kills ${counts.kills}, restarts ${counts.restarts}, partitions ${counts.partitions}, ` +
      `cut links ${counts.cuts}, latency episodes ${counts.latencies}`,
  );
  const invariants = [
    ["mesh restored", (p: string) => /connected to|no answer/.test(p)],
    ["quorum on every node", (p: string) => /no quorum/.test(p)],
    ["global names agree", (p: string) => p.startsWith("global")],
    ["pg members agree", (p: string) => p.startsWith("pg")],
    ["crdt counter = acknowledged increments", (p: string) => p.startsWith("crdt")],
    [
      "every supervised child runs once, found by its name everywhere",
      (p: string) => p.startsWith("horde"),
    ],
    ["no process left behind", (p: string) => /left behind|did not leave/.test(p)],
  ] as const;
  for (const [label, match] of invariants) {
    console.log(`  ${problems.some(match) ? "FAIL" : "ok  "} ${label}`);
  }
  if (problems.length > 0) {
    console.log("\nviolations:");
    for (const p of problems) console.log(`  - ${p}`);
    for (const p of procs) {
      console.log(`\n--- last lines of ${p.name} ---\n${p.lines.slice(-25).join("\n")}`);
    }
    return 1;
  }
  console.log(`  all invariants hold: ${finalView}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
