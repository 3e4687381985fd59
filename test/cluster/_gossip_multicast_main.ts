/**
 * Run by gossip_multicast_test.ts as `deno run -A --unstable-net THIS
 * [--probe]`: Deno offers UDP multicast only under --unstable-net, so the
 * test runs it in a child. With `--probe` it says whether multicast works
 * on this machine at all (a datagram to a group, TTL 0 so it never leaves
 * the host, comes back); otherwise it starts 4 nodes whose gossip uses
 * the group, waits for a full mesh and prints `MESH <ms>`.
 */

import { GossipStrategy } from "../../src/cluster/strategies/gossip.ts";
import { openMulticast } from "../../src/cluster/strategies/_udp.ts";
import {
  type ClusterTestNode,
  startClusterNode,
  stopClusterNodes,
  waitForMesh,
} from "./_helpers.ts";

const GROUP = "239.255.77.77";
const port = 40_000 + Math.floor(Math.random() * 20_000);

if (Deno.args.includes("--probe")) {
  try {
    const got = Promise.withResolvers<void>();
    const socket = await openMulticast({ group: GROUP, port, ttl: 0 }, () => got.resolve());
    const timer = setTimeout(
      () => got.reject(new Error("no datagram came back from the group")),
      1000,
    );
    socket.send(new TextEncoder().encode("probe"), { hostname: GROUP, port });
    try {
      await got.promise;
      console.log("AVAILABLE");
    } finally {
      clearTimeout(timer);
      await socket.close();
    }
  } catch (e) {
    console.log(`UNAVAILABLE ${(e as Error).message}`);
  }
  Deno.exit(0);
}

const nodes: ClusterTestNode[] = [];
try {
  const t0 = performance.now();
  for (const n of ["m0", "m1", "m2", "m3"]) {
    nodes.push(
      await startClusterNode(`${n}@127.0.0.1`, {
        topologies: {
          lan: {
            strategy: "gossip",
            config: { port, multicastAddr: GROUP, multicastTtl: 0, heartbeatInterval: 200 },
          },
        },
      }),
    );
  }
  const ms = await waitForMesh(nodes.map((n) => n.node), 10_000, t0);
  const modes = nodes.map((n) => (n.cluster.topology("lan")!.strategy as GossipStrategy).mode);
  console.log(`MESH ${ms.toFixed(0)} ${modes.join(",")}`);
} finally {
  await stopClusterNodes(nodes);
}
