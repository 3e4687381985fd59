import assert from "node:assert/strict";
import { KubernetesDnsStrategy } from "../../../src/cluster/strategies/kubernetes_dns.ts";
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
const SERVICE = "weft.default.svc.cluster.local";

Deno.test("KubernetesDnsStrategy builds the service name and checks its config", () => {
  const a = new KubernetesDnsStrategy({
    service: "web",
    applicationName: "app",
    namespace: "prod",
  });
  assert.equal(a.query, "web.prod.svc.cluster.local");
  assert.equal(a.mode, "a");
  const s = new KubernetesDnsStrategy({
    service: "web",
    applicationName: "app",
    mode: "srv",
    srvName: "_dist._tcp.web.prod.svc.cluster.local",
  });
  assert.equal(s.query, "_dist._tcp.web.prod.svc.cluster.local");
  assert.throws(
    () => new KubernetesDnsStrategy({ service: "web", applicationName: "app", port: "srv" }),
    /port: "srv" needs mode "srv"/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new KubernetesDnsStrategy({ service: "web", applicationName: "app", mode: "x" as any }),
    /mode: expected "a" or "srv"/,
  );
});

Deno.test({
  name: "kubernetes_dns (A): pods app@POD_IP of a headless service mesh through a real DNS server",
  ignore: NO_DNSMASQ,
  fn: async () => {
    const pods = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"];
    const dns = await startDnsmasq(pods.map((ip) => [ip, SERVICE]));
    const nodes: ClusterTestNode[] = [];
    try {
      const port = portFreeOn(pods);
      const topologies = {
        k8s: {
          strategy: "kubernetes_dns" as const,
          config: {
            service: "weft",
            applicationName: "app",
            port,
            nameServer: dns.nameServer,
            pollInterval: 200,
          },
        },
      };
      for (const ip of pods) {
        nodes.push(await startClusterNode(`app@${ip}`, { topologies }, { port }));
      }
      await waitForMesh(nodes.map((n) => n.node));
      assert.equal(nodes[0]!.cluster.topologies()[0]!.strategy, "kubernetes_dns");
      assert.equal(nodes[0]!.cluster.members().length, 3);
    } finally {
      await stopClusterNodes(nodes);
      await dns.close();
    }
  },
});

Deno.test({
  name: "kubernetes_dns (SRV): StatefulSet pods app@app-N.SERVICE mesh at the SRV records' ports",
  ignore: NO_DNSMASQ,
  fn: async () => {
    const pods = [0, 1, 2].map((i) => ({ ip: `127.0.0.${31 + i}`, host: `app-${i}.${SERVICE}` }));
    const port = portFreeOn(pods.map((p) => p.ip));
    const dns = await startDnsmasq(
      pods.map((p) => [p.ip, p.host]),
      pods.map((p) => ({ name: SERVICE, target: p.host, port })),
    );
    const nodes: ClusterTestNode[] = [];
    try {
      const topologies = {
        k8s: {
          strategy: "kubernetes_dns" as const,
          config: {
            service: "weft",
            applicationName: "app",
            mode: "srv",
            port: "srv",
            nameServer: dns.nameServer,
            pollInterval: 200,
          },
        },
      };
      for (const p of pods) {
        nodes.push(
          await startClusterNode(`app@${p.host}`, { topologies }, { hostname: p.ip, port }),
        );
      }
      await waitForMesh(nodes.map((n) => n.node));
      assert.deepEqual(nodes[0]!.cluster.members(), [
        `app@app-1.${SERVICE}`,
        `app@app-2.${SERVICE}`,
      ]);
    } finally {
      await stopClusterNodes(nodes);
      await dns.close();
    }
  },
});
