/**
 * The multi-region benchmark: 3 regions x 3 real nodes (OS processes, one
 * gateway per region), links between regions 50 ms one way with 10 ms of
 * jitter and 1% loss, and:
 *
 * - replication lag of a replicated key updated on a non-gateway node,
 *   until each node of the two other regions holds it: p50 and p99, against
 *   the target of one-way latency plus one batching interval;
 * - bytes crossing regions per update (the leaders' batches, syncs, wants);
 * - cross-region connections, against a full mesh and the 2 x gateways x
 *   regions^2 bound;
 * - `kill -9` of a gateway during a burst: every update arrives, and the
 *   time until it has;
 * - a region cut off for `REGION_BENCH_PARTITION_MS` (default 30 s) while
 *   1,000 keys change elsewhere, then healed: time and bytes to converge.
 *
 * The WAN, printed beside the figures:
 *
 * - "netem in network namespaces" where the machine allows it (root, `ip
 *   netns`, a kernel with sch_netem; see _netns.ts): each region's nodes run
 *   in the region's namespace on their own addresses, the kernel delays and
 *   drops packets between regions, and Weft's `wan` option is off. This
 *   script makes the namespaces, runs itself again inside east's (where the
 *   controller node lives, as one more east host) and deletes them after.
 * - "Weft link faults" otherwise, or with `REGION_BENCH_WAN=faults`: every
 *   node on 127.0.0.1 and the regions' `wan` option (delay, jitter of 0 to
 *   10 ms, 1% of messages lost and sent again a retransmission timeout
 *   later, as TCP does).
 * - `REGION_BENCH_WAN=netns-faults`: the namespaces without netem, shaped
 *   by Weft's link faults (for kernels without sch_netem).
 *
 * There is no Erlang side: OTP has no multi-region layer to compare with
 * (its answer is hidden nodes and code of one's own). Every process runs
 * on the same 2 vCPUs, so the figures include their contention; the load
 * average is printed with them.
 *
 * Run with `deno run -A scripts/bench/multi_region.ts` (or `deno task bench multi_region`).
 *
 * @module
 */

import { NoConnectionError } from "../../src/errors.ts";
import { startNode, type WeftNode } from "../../src/node.ts";
import { runInProcess } from "../../src/process/current.ts";
import { parseMultiRegionConfig } from "../../src/region/region_config.ts";
import { rpc } from "../../src/rpc/namespace.ts";
import { createRegionNetwork, kernelWan } from "./_netns.ts";
import { freePort } from "./_peers.ts";

const PEER = new URL("./_region_peer.ts", import.meta.url).pathname;
const ONE_WAY = 50;
const JITTER = 10;
const LOSS = 0.01;
const BATCH = 20;
const UPDATES = 200;
const PARTITION_MS = Number(Deno.env.get("REGION_BENCH_PARTITION_MS") ?? 30_000);
const REGIONS: Record<string, string[]> = {
  east: ["e1", "e2", "e3"],
  west: ["w1", "w2", "w3"],
  north: ["n1", "n2", "n3"],
};
const CONTROLLER = "zz"; // sorts last: never its region's gateway
const NET_PORT = 9100; // every node has its own address in the namespaces

interface Peer {
  name: string;
  pid: number;
  child: Deno.ChildProcess;
}

/** Where the nodes run: what the outer run hands the inner one in REGION_BENCH_NET. */
interface Plan {
  wan: string;
  /** Whether the regions' `wan` option (Weft's link faults) shapes the links. */
  faults: boolean;
  /** Each node's address. */
  hosts: Record<string, string>;
  /** Per region, the command prefix that runs a program in it (empty: here). */
  exec: Record<string, string[]>;
}

async function plan(): Promise<Plan> {
  const inner = Deno.env.get("REGION_BENCH_NET");
  if (inner) return JSON.parse(inner);
  const asked = Deno.env.get("REGION_BENCH_WAN") ?? "netem";
  if (!["netem", "faults", "netns-faults"].includes(asked)) {
    throw new RangeError(`REGION_BENCH_WAN must be netem, faults or netns-faults: ${asked}`);
  }
  const loopback: Plan = {
    wan: "Weft link faults",
    faults: true,
    hosts: Object.fromEntries(
      [...Object.values(REGIONS).flat(), CONTROLLER].map((n) => [n, "127.0.0.1"]),
    ),
    exec: Object.fromEntries(Object.keys(REGIONS).map((r) => [r, []])),
  };
  if (asked === "faults") return loopback;
  const kernel = await kernelWan();
  if (!kernel.ok && (asked === "netem" || !kernel.reason.includes("netem"))) {
    console.log(`No kernel WAN here (${kernel.reason}): using Weft link faults`);
    return loopback;
  }
  const netem = asked === "netem";
  const net = await createRegionNetwork(
    Object.fromEntries(
      Object.entries(REGIONS).map(([r, ns]) => [r, ns.length + (r === "east" ? 1 : 0)]),
    ),
    netem ? { delay: ONE_WAY, jitter: JITTER, loss: LOSS } : undefined,
  );
  let code = 1;
  try {
    const hosts: Record<string, string> = {};
    for (const [r, names] of Object.entries(REGIONS)) {
      [...names, ...(r === "east" ? [CONTROLLER] : [])].forEach((n, i) => {
        hosts[n] = net.regions[r]!.hosts[i]!;
      });
    }
    const inner: Plan = {
      wan: netem
        ? "netem in network namespaces"
        : "Weft link faults between network namespaces (no netem)",
      faults: !netem,
      hosts,
      exec: Object.fromEntries(Object.keys(REGIONS).map((r) => [r, net.exec(r)])),
    };
    const [cmd, ...args] = net.exec("east");
    const status = await new Deno.Command(cmd!, {
      args: [...args, Deno.execPath(), "run", "-A", new URL(import.meta.url).pathname],
      env: { REGION_BENCH_NET: JSON.stringify(inner) },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    code = status.code;
  } finally {
    await net.close();
  }
  Deno.exit(code);
}

const where = await plan();
const ports = new Map<string, number>();
for (const n of [...Object.values(REGIONS).flat(), CONTROLLER]) {
  ports.set(n, where.faults && where.hosts[n] === "127.0.0.1" ? freePort() : NET_PORT);
}
const full = (n: string) => `${n}@${where.hosts[n]}`;
const config = {
  regions: Object.fromEntries(
    Object.entries(REGIONS).map(([r, names]) => [r, {
      topologies: {
        mesh: {
          strategy: "static",
          config: {
            nodes: [...names, ...(r === "east" ? [CONTROLLER] : [])].map((n) =>
              `${full(n)}:${ports.get(n)}`
            ),
          },
        },
      },
    }]),
  ),
  replicated: ["lag:*", "burst:*", "split:*"],
  batchInterval: BATCH,
  resendAfter: 500,
  ...(where.faults ? { wan: { delay: ONE_WAY, jitter: JITTER, loss: LOSS } } : {}),
};
const file = await Deno.makeTempFile({ suffix: ".json" });
await Deno.writeTextFile(file, JSON.stringify(config));

async function startRegionPeer(name: string, region: string): Promise<Peer> {
  // In a namespace: `ip netns exec NS deno ...` (ip execs deno: the pid printed is deno's).
  const [cmd, ...prefix] = [...where.exec[region]!, Deno.execPath()];
  const child = new Deno.Command(cmd!, {
    args: [
      ...prefix,
      "run",
      "-A",
      PEER,
      ...["--name", full(name), "--port", String(ports.get(name)), "--region", region],
      ...["--config", file, "--host", where.hosts[name]!],
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} exited before it was ready`);
    text += value;
  }
  // Keep reading so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return { name: full(name), pid: JSON.parse(text.slice(0, text.indexOf("\n"))).pid, child };
}

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}
async function until(what: string, cond: () => Promise<boolean>, timeout = 120_000) {
  const end = Date.now() + timeout;
  // A call may fail while links form or move: try again until the deadline.
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`Timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const peers = new Map<string, Peer>();
let controller: WeftNode | undefined;
try {
  for (const [region, names] of Object.entries(REGIONS)) {
    for (const n of names) peers.set(full(n), await startRegionPeer(n, region));
  }
  controller = await startNode({
    name: full(CONTROLLER),
    port: ports.get(CONTROLLER)!,
    cookie: "bench",
    noEpmd: true,
    hostname: where.hosts[CONTROLLER]!,
    regions: parseMultiRegionConfig(config, "east").regions,
  });
  const node = controller;
  const once = (n: string, fn: string, args: unknown[], timeout: number) =>
    runInProcess(node.runtime.open(), () => rpc.call(n, "bench", fn, args, { timeout }));
  // Relayed calls may fail with the node unreachable while the paths between regions settle
  // (seen in the first seconds after the links form, under load): every `bench` function is
  // safe to repeat, so such a call is tried again for up to a minute.
  const call = async (n: string, fn: string, args: unknown[] = [], timeout = 30_000) => {
    const end = Date.now() + 60_000;
    for (;;) {
      try {
        return await once(n, fn, args, timeout);
      } catch (e) {
        if (!(e instanceof NoConnectionError) || Date.now() > end) {
          throw e;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  // Polls give up sooner: a call relayed through a gateway that dies is lost with it.
  const poll = (n: string, fn: string, args: unknown[] = []) => call(n, fn, args, 2000);
  const sentBytes = async (from: Iterable<string> = peers.keys()) => {
    let total = 0;
    for (const p of from) total += await call(p, "sentBytes") as number;
    return total;
  };
  const linkCount = async () => {
    let links = 0;
    for (const p of peers.keys()) links += await call(p, "links") as number;
    return links / 2;
  };
  const remote = [...REGIONS.west!, ...REGIONS.north!].map(full);
  await until("the regions form", async () => {
    const s = node.regions!.status();
    if (node.list().length !== 3) return false;
    if (s.regions.west?.members.length !== 3 || s.regions.north?.members.length !== 3) {
      return false;
    }
    return await linkCount() === 3; // one per pair of regions
  });
  const nodes = peers.size;
  console.log(
    `Multi-region: 3 regions x 3 nodes, WAN (${where.wan}) ${ONE_WAY} ms one way (${
      where.faults ? "+0-" : "+/-"
    }${JITTER} ms), ` +
      `${LOSS * 100}% loss, batches every ${BATCH} ms; load average ${
        Deno.loadavg().map((l) => l.toFixed(1)).join(" ")
      }`,
  );
  console.log(
    `  cross-region connections: ${await linkCount()} (a full mesh: ${
      nodes * (nodes - 1) / 2
    } connections, ${nodes * nodes / 3} of them across regions; bound 2 x 1 x 3^2 = 18)`,
  );

  // Lag: one update every 20 ms on e2 (not a gateway).
  const writer = full("e2");
  const bytesBefore = await sentBytes();
  for (const p of remote) await call(p, "lags");
  for (let i = 0; i < UPDATES; i++) {
    await call(writer, "set", [`lag:k${i % 50}`, Date.now()]);
    await new Promise((r) => setTimeout(r, 20));
  }
  // A last key after them: batches keep their order, so once it is everywhere, so are they.
  await call(writer, "set", ["lag:done", "done"]);
  await until("every lag update arrives", async () => {
    const counts = await Promise.all(remote.map((p) => poll(p, "count", ["lag:done", "done"])));
    return counts.every((c) => c === 1);
  });
  const lags: number[] = [];
  for (const p of remote) lags.push(...(await call(p, "lags") as number[]));
  const bytes = await sentBytes() - bytesBefore;
  console.log(
    `  replication lag e2 -> the 6 nodes of the other regions: p50 ${median(lags)} ms, p99 ${
      quantile(lags, 0.99)
    } ms (${lags.length} arrivals; target p50 <= ${ONE_WAY} + ${BATCH} = ${ONE_WAY + BATCH} ms: ${
      median(lags) <= ONE_WAY + BATCH ? "met" : "missed"
    })`,
  );
  console.log(
    `  bytes crossing regions per update: ${
      (bytes / UPDATES).toFixed(0)
    } (each batch carries each changed key's whole entry to each of 2 regions)`,
  );

  // kill -9 of east's gateway in the middle of a burst of 300 updates on e3.
  const t0 = Date.now();
  const burst = call(full("e3"), "setMany", ["burst:k", 300, "done"]);
  await new Promise((r) => setTimeout(r, 100));
  const gateway = peers.get(full("e1"))!;
  Deno.kill(gateway.pid, "SIGKILL");
  await gateway.child.status;
  peers.delete(gateway.name);
  const killedAt = Date.now();
  await burst;
  await until("every burst update arrives after the kill", async () => {
    const counts = await Promise.all(remote.map((p) => poll(p, "count", ["burst:k", "done"])));
    return counts.every((c) => c === 300);
  });
  console.log(
    `  kill -9 of east's gateway during a burst of 300 updates: all 300 in both other regions ` +
      `${Date.now() - killedAt} ms after the kill (${Date.now() - t0} ms after the burst began); ` +
      `none lost`,
  );

  // North cut off for PARTITION_MS while 1,000 keys change in east and west.
  const north = REGIONS.north!.map(full);
  const others = [...peers.keys(), node.name].filter((p) => !north.includes(p));
  // Every node cuts itself off from the other side for PARTITION_MS and heals itself.
  await Promise.allSettled([
    ...north.map((p) => call(p, "cut", [others, PARTITION_MS])),
    ...others.filter((p) => p !== node.name).map((p) => call(p, "cut", [north, PARTITION_MS])),
  ]);
  for (const n of north) node.kernel.block(n);
  const cutAt = Date.now();
  setTimeout(() => north.forEach((n) => node.kernel.unblock(n)), PARTITION_MS);
  await call(full("e2"), "setMany", ["split:k", 500, "changed"]);
  await call(full("w2"), "setMany", ["split:j", 500, "changed"]);
  const senders = others.filter((p) => p !== node.name);
  const healBytesBefore = await sentBytes(senders);
  const wait = PARTITION_MS - (Date.now() - cutAt);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const healAt = Date.now();
  await until("north converges after the heal", async () => {
    const counts = await Promise.all(
      north.map(async (p) =>
        (await poll(p, "count", ["split:k", "changed"]) as number) +
        (await poll(p, "count", ["split:j", "changed"]) as number)
      ),
    );
    return counts.every((c) => c === 1000);
  });
  const healBytes = await sentBytes(senders) - healBytesBefore;
  console.log(
    `  north cut off ${
      ((healAt - cutAt) / 1000).toFixed(0)
    } s while 1,000 keys changed elsewhere: converged ${
      Date.now() - healAt
    } ms after the heal, ${healBytes} bytes (${(healBytes / 1000).toFixed(0)} per changed key)`,
  );
} finally {
  await controller?.stop();
  for (const p of peers.values()) {
    try {
      await p.child.stdin.close();
    } catch {
      // Gone already.
    }
    await p.child.status;
  }
  await Deno.remove(file);
}
