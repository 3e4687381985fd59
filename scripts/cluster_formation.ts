/**
 * Figures for cluster formation, on one machine, nodes in this process:
 *
 * - start to full mesh for N nodes by `gossip` (one unicast seed, default
 *   heartbeat) and by `dns_poll` (a real dnsmasq on a loopback port, nodes
 *   `app@127.0.0.K` on a shared port, default poll interval);
 * - re-mesh after a heal: the cluster split in two halves for a while
 *   (long enough for every backoff to reach its cap), then the network
 *   comes back by itself (the blocks are lifted and nobody dials on
 *   purpose: the topologies' own schedules re-mesh it), and with
 *   `Chaos.heal()`-style active reconnects.
 *
 * ```sh
 * deno run -A scripts/cluster_formation.ts [--nodes 16] [--split 8]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Cluster, startCluster } from "../src/cluster/cluster.ts";
import type { ClusterOptions } from "../src/cluster/config.ts";
import type { GossipStrategy } from "../src/cluster/strategies/gossip.ts";
import { configureLogging } from "../src/log.ts";
import { startNode, type WeftNode } from "../src/node.ts";
import { dnsmasqPath, fullMesh, portFreeOn, startDnsmasq } from "../test/cluster/_helpers.ts";

const COOKIE = "formation";
const { values } = parseArgs({
  args: Deno.args,
  options: { nodes: { type: "string", default: "16" }, split: { type: "string", default: "8" } },
});
const N = Number(values.nodes);
const SPLIT_S = Number(values.split);
await configureLogging("fatal");

interface Member {
  node: WeftNode;
  cluster: Cluster;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, timeout: number): Promise<number> {
  const t0 = performance.now();
  while (!predicate()) {
    if (performance.now() - t0 > timeout) throw new Error(`not within ${timeout} ms`);
    await sleep(2);
  }
  return performance.now() - t0;
}

async function stopAll(members: Member[]): Promise<void> {
  await Promise.all(members.map((m) => m.cluster.stop()));
  await Promise.all(members.map((m) => m.node.stop()));
}

/** Splits the members in halves (blocks between them), waits `ms`, lifts the blocks; the re-mesh time. */
async function splitAndHeal(members: Member[], ms: number, active: boolean): Promise<number> {
  const half = Math.floor(members.length / 2);
  const [a, b] = [members.slice(0, half), members.slice(half)];
  for (const x of a) {
    for (const y of b) {
      x.node.kernel.block(y.node.name);
      y.node.kernel.block(x.node.name);
    }
  }
  await until(() => a.every((x) => b.every((y) => !x.node.list().includes(y.node.name))), 10_000);
  await sleep(ms);
  const t0 = performance.now();
  for (const x of a) {
    for (const y of b) {
      x.node.kernel.unblock(y.node.name);
      y.node.kernel.unblock(x.node.name);
    }
  }
  if (active) { for (const m of members) m.cluster.reconnect(); }
  await until(() => fullMesh(members.map((m) => m.node)), 60_000);
  return performance.now() - t0;
}

async function gossip(): Promise<
  { mesh: number; passive: number; active: number; interval: number }
> {
  const members: Member[] = [];
  const t0 = performance.now();
  const start = async (i: number, seeds: string[]) => {
    const node = await startNode({
      name: `g${i}@127.0.0.1`,
      cookie: COOKIE,
      noEpmd: true,
      hostname: "127.0.0.1",
    });
    const options: ClusterOptions = {
      cookie: COOKIE,
      topologies: { lan: { strategy: "gossip", config: { ifAddr: "127.0.0.1", port: 0, seeds } } },
    };
    members.push({ node, cluster: await startCluster(node, options) });
  };
  try {
    await start(0, []);
    const seed = (members[0]!.cluster.topology("lan")!.strategy as GossipStrategy).address!;
    for (let i = 1; i < N; i++) await start(i, [`127.0.0.1:${seed.port}`]);
    await until(() => fullMesh(members.map((m) => m.node)), 30_000);
    const mesh = performance.now() - t0;
    const passive = await splitAndHeal(members, SPLIT_S * 1000, false);
    const active = await splitAndHeal(members, 1000, true);
    const interval = (members[0]!.cluster.topology("lan")!.strategy as GossipStrategy)
      .heartbeatInterval;
    return { mesh, passive, active, interval };
  } finally {
    await stopAll(members);
  }
}

async function dnsPoll(): Promise<
  { mesh: number; passive: number; active: number; interval: number }
> {
  const hosts = Array.from({ length: N }, (_, i) => `127.0.0.${i + 1}`);
  const dns = await startDnsmasq(hosts.map((ip) => [ip, "app.formation.test"]));
  const port = portFreeOn(hosts);
  const members: Member[] = [];
  try {
    const t0 = performance.now();
    for (const ip of hosts) {
      const node = await startNode({
        name: `app@${ip}`,
        cookie: COOKIE,
        noEpmd: true,
        hostname: ip,
        port,
      });
      members.push({
        node,
        cluster: await startCluster(node, {
          topologies: {
            dns: {
              strategy: "dns_poll",
              config: {
                query: "app.formation.test",
                nodeBasename: "app",
                port,
                nameServer: dns.nameServer,
              },
            },
          },
        }),
      });
    }
    await until(() => fullMesh(members.map((m) => m.node)), 30_000);
    const mesh = performance.now() - t0;
    const passive = await splitAndHeal(members, SPLIT_S * 1000, false);
    const active = await splitAndHeal(members, 1000, true);
    return { mesh, passive, active, interval: 5000 };
  } finally {
    await stopAll(members);
    await dns.close();
  }
}

const rows: string[] = [];
const g = await gossip();
rows.push(
  `gossip    ${N} nodes: full mesh ${g.mesh.toFixed(0)} ms after the first node started; ` +
    `re-mesh after a ${SPLIT_S} s split: ${g.passive.toFixed(0)} ms on the topologies' own ` +
    `backoff (cap 5000 ms, heartbeat ${g.interval} ms), ${g.active.toFixed(0)} ms with reconnect()`,
);
if (dnsmasqPath() !== undefined) {
  const d = await dnsPoll();
  rows.push(
    `dns_poll  ${N} nodes: full mesh ${d.mesh.toFixed(0)} ms after the first node started; ` +
      `re-mesh after a ${SPLIT_S} s split: ${d.passive.toFixed(0)} ms on the topologies' own ` +
      `backoff (poll interval ${d.interval} ms, target < ${2 * d.interval} ms), ` +
      `${d.active.toFixed(0)} ms with reconnect()`,
  );
} else {
  rows.push("dns_poll  skipped: dnsmasq is not installed");
}
console.log(rows.join("\n"));
