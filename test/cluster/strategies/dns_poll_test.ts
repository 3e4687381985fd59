import assert from "node:assert/strict";
import type { ClusterEvent } from "../../../src/cluster/events.ts";
import { DnsPollStrategy } from "../../../src/cluster/strategies/dns_poll.ts";
import { waitFor } from "../../helpers/wait.ts";
import {
  type ClusterTestNode,
  dnsmasqPath,
  portFreeOn,
  startClusterNode,
  startDnsmasq,
  stopClusterNodes,
  waitForMesh,
} from "../_helpers.ts";

const NO_DNSMASQ = dnsmasqPath() === undefined;
const QUERY = "weft.test";

Deno.test("DnsPollStrategy refuses a malformed config with the path of the bad value", () => {
  assert.throws(() => new DnsPollStrategy({ query: "q", nodeBasename: "a b" }), /nodeBasename/);
  assert.throws(
    () => new DnsPollStrategy({ query: "q", nodeBasename: "a", nameServer: "dns.example" }),
    /nameServer: expected an IP address/,
  );
  assert.throws(
    () => new DnsPollStrategy({ query: "q", nodeBasename: "a", pollInterval: -1 }),
    RangeError,
  );
});

Deno.test({
  name: "dns_poll: 8 nodes app@127.0.0.N form a full mesh from a real DNS server's A records",
  ignore: NO_DNSMASQ,
  fn: async () => {
    const hosts = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
    const dns = await startDnsmasq(hosts.map((ip) => [ip, QUERY]));
    const nodes: ClusterTestNode[] = [];
    try {
      const port = portFreeOn(hosts);
      const topologies = {
        dns: {
          strategy: "dns_poll" as const,
          config: {
            query: QUERY,
            nodeBasename: "app",
            port,
            nameServer: dns.nameServer,
            pollInterval: 200,
          },
        },
      };
      const t0 = performance.now();
      for (const ip of hosts) {
        nodes.push(await startClusterNode(`app@${ip}`, { topologies }, { port }));
      }
      const ms = await waitForMesh(nodes.map((n) => n.node), 15_000, t0);
      for (const n of nodes) {
        assert.deepEqual(
          n.cluster.members(),
          hosts.map((ip) => `app@${ip}`).filter((m) => m !== n.node.name),
        );
      }
      console.log(`dns_poll: 8 nodes meshed ${ms.toFixed(0)} ms after the first started`);
    } finally {
      await stopClusterNodes(nodes);
      await dns.close();
    }
  },
});

Deno.test({
  name: "dns_poll: a node dropped from DNS is disconnected only with disconnectUnlisted",
  ignore: NO_DNSMASQ,
  fn: async () => {
    const hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    const dns = await startDnsmasq(hosts.map((ip) => [ip, QUERY]));
    const nodes: ClusterTestNode[] = [];
    try {
      const port = portFreeOn(hosts);
      const config = { query: QUERY, nodeBasename: "app", port, nameServer: dns.nameServer };
      // a: disconnects unlisted nodes; b: keeps them; c: no topology at all.
      nodes.push(
        await startClusterNode("app@127.0.0.1", {
          topologies: {
            dns: {
              strategy: "dns_poll",
              config: { ...config, pollInterval: 100 },
              disconnectUnlisted: true,
            },
          },
        }, { port }),
      );
      nodes.push(
        await startClusterNode("app@127.0.0.2", {
          topologies: { dns: { strategy: "dns_poll", config: { ...config, pollInterval: 100 } } },
        }, { port }),
      );
      nodes.push(await startClusterNode("app@127.0.0.3", { topologies: {} }, { port }));
      await waitForMesh(nodes.map((n) => n.node));
      const events: ClusterEvent[] = [];
      nodes[0]!.cluster.on((e) => events.push(e));
      nodes[1]!.cluster.on((e) => events.push(e));
      await dns.setHosts([["127.0.0.1", QUERY], ["127.0.0.2", QUERY]]);
      await waitFor(() =>
        events.some((e) =>
          e.type === "member_removed" && e.node === "app@127.0.0.3" && e.topology === "dns"
        )
      );
      await waitFor(() => !nodes[0]!.node.list().includes("app@127.0.0.3"));
      await waitFor(() =>
        events.filter((e) => e.type === "member_forgotten" && e.node === "app@127.0.0.3")
          .length === 2
      );
      // b forgot c too, but keeps its connection (the kernel's mesh may also have re-made a's).
      assert.ok(nodes[1]!.node.list().includes("app@127.0.0.3"));
      assert.ok(!nodes[0]!.cluster.members().includes("app@127.0.0.3"));
    } finally {
      await stopClusterNodes(nodes);
      await dns.close();
    }
  },
});

Deno.test({
  name: "dns_poll: a failing name server keeps the last answer",
  ignore: NO_DNSMASQ,
  fn: async () => {
    const hosts = ["127.0.0.1", "127.0.0.2"];
    const dns = await startDnsmasq(hosts.map((ip) => [ip, QUERY]));
    const nodes: ClusterTestNode[] = [];
    let closed = false;
    try {
      const port = portFreeOn(hosts);
      const config = {
        query: QUERY,
        nodeBasename: "app",
        port,
        nameServer: dns.nameServer,
        pollInterval: 100,
        timeout: 300,
      };
      for (const ip of hosts) {
        nodes.push(
          await startClusterNode(`app@${ip}`, {
            topologies: { dns: { strategy: "dns_poll", config } },
          }, { port }),
        );
      }
      await waitForMesh(nodes.map((n) => n.node));
      const strategy = nodes[0]!.cluster.topology("dns")!.strategy as DnsPollStrategy;
      await dns.close();
      closed = true;
      await strategy.pollNow();
      await strategy.pollNow();
      assert.deepEqual(nodes[0]!.cluster.members(), ["app@127.0.0.2"]);
    } finally {
      await stopClusterNodes(nodes);
      if (!closed) await dns.close();
    }
  },
});
