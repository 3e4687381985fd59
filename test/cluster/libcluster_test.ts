import assert from "node:assert/strict";
import { createStrategy, loadClusterConfig, parseClusterConfig } from "../../src/cluster/config.ts";
import {
  type ClusterTestNode,
  dnsmasqPath,
  portFreeOn,
  startClusterNode,
  startDnsmasq,
  stopClusterNodes,
  waitForMesh,
} from "./_helpers.ts";

const NO_DNSMASQ = dnsmasqPath() === undefined;

/** The seed's `config :libcluster, topologies: [production: ...]`, written as JSON. */
const SEED_LIBCLUSTER = {
  topologies: {
    production: {
      strategy: "Cluster.Strategy.Kubernetes.DNS",
      config: { service: "my-app", application_name: ":my_app", polling_interval: 10_000 },
    },
  },
};

/** The seed's `config :my_app, :topologies, production: [strategy: Cluster.Strategy.DNSPoll, ...]`. */
const SEED_DNS_POLL = {
  topologies: {
    production: {
      strategy: "Cluster.Strategy.DNSPoll",
      config: {
        query: "my-app-headless.default.svc.cluster.local",
        node_basename: "my_app",
        polling_interval: 5_000,
        ip_lookup_mode: ":dns",
      },
    },
  },
};

Deno.test("parseClusterConfig() reads the seed's libcluster topologies as Weft's strategies", () => {
  const k8s = parseClusterConfig(SEED_LIBCLUSTER).topologies.production!;
  assert.equal(k8s.strategy, "kubernetes_dns");
  assert.deepEqual(k8s.config, {
    service: "my-app",
    applicationName: "my_app",
    pollInterval: 10_000,
  });
  const dns = parseClusterConfig(SEED_DNS_POLL).topologies.production!;
  assert.equal(dns.strategy, "dns_poll");
  assert.deepEqual(dns.config, {
    query: "my-app-headless.default.svc.cluster.local",
    nodeBasename: "my_app",
    pollInterval: 5_000,
  });
});

Deno.test("parseClusterConfig() takes every libcluster strategy module name, with Elixir's prefix too", () => {
  const c = parseClusterConfig({
    topologies: {
      epmd: {
        strategy: "Cluster.Strategy.Epmd",
        config: { hosts: [':"a@127.0.0.1"', "b@127.0.0.1"] },
      },
      gossip: {
        strategy: "Elixir.Cluster.Strategy.Gossip",
        config: {
          port: 45892,
          if_addr: "0.0.0.0",
          multicast_addr: "230.1.1.251",
          multicast_ttl: 1,
          secret: "s",
        },
      },
      srv: {
        strategy: "Cluster.Strategy.Kubernetes.DNSSRV",
        config: {
          service: "my-app",
          namespace: "prod",
          application_name: "my_app",
          polling_interval: 10_000,
        },
      },
    },
    prevent_overlapping_partitions: true,
  });
  assert.deepEqual(c.topologies.epmd, {
    strategy: "static",
    config: { nodes: ["a@127.0.0.1", "b@127.0.0.1"] },
  });
  assert.deepEqual(c.topologies.gossip!.config, {
    port: 45892,
    ifAddr: "0.0.0.0",
    multicastAddr: "230.1.1.251",
    multicastTtl: 1,
    secret: "s",
  });
  assert.equal(c.topologies.gossip!.strategy, "gossip");
  assert.equal(c.topologies.srv!.strategy, "kubernetes_dns");
  assert.equal((c.topologies.srv!.config as { mode: string }).mode, "srv");
  assert.equal(c.preventOverlappingPartitions, true);
  // In code too, not only from JSON.
  assert.equal(
    createStrategy("Cluster.Strategy.DNSPoll", SEED_DNS_POLL.topologies.production.config).kind,
    "dns_poll",
  );
});

Deno.test("libcluster configs: unknown keys stay errors, and what Weft cannot honour says why", () => {
  const topology = (strategy: string, config: unknown, more: object = {}) => ({
    topologies: { production: { strategy, config, ...more } },
  });
  assert.throws(
    () =>
      parseClusterConfig(
        topology("Cluster.Strategy.DNSPoll", {
          query: "q",
          node_basename: "a",
          polling_intervall: 5,
        }),
      ),
    /topologies\.production\.config: unknown key "polling_intervall"/,
  );
  assert.throws(
    () =>
      parseClusterConfig(
        topology("Cluster.Strategy.DNSPoll", {
          query: "q",
          node_basename: "a",
          polling_interval: 5,
          pollInterval: 5,
        }),
      ),
    /config\.pollInterval: given twice \(as "polling_interval" too\)/,
  );
  assert.throws(
    () =>
      parseClusterConfig(
        topology("Cluster.Strategy.DNSPoll", {
          query: "q",
          node_basename: "a",
          ip_lookup_mode: ":pods",
        }),
      ),
    /ip_lookup_mode: only "dns" is supported/,
  );
  assert.throws(
    () =>
      parseClusterConfig(
        topology("Cluster.Strategy.Epmd", { hosts: [] }, { connect: ["M", "f", []] }),
      ),
    /topologies\.production\.connect: libcluster's connect names Elixir code/,
  );
  assert.throws(
    () => parseClusterConfig(topology("Cluster.Strategy.Kubernetes", { selector: "app=x" })),
    /unknown strategy "Cluster\.Strategy\.Kubernetes" \(expected one of static, .*Cluster\.Strategy\.Kubernetes\.DNSSRV\)/,
  );
  assert.throws(
    () => parseClusterConfig({ topologies: {}, polling_interval: 1 }),
    /unknown key "polling_interval"/,
  );
});

Deno.test("loadClusterConfig() reads the seed's topology from a JSON file", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify(SEED_LIBCLUSTER, null, 2));
    assert.equal((await loadClusterConfig(file)).topologies.production!.strategy, "kubernetes_dns");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test({
  name: "the seed's DNSPoll topology, as written, meshes nodes my_app@IP through a real DNS server",
  ignore: NO_DNSMASQ,
  fn: async () => {
    const ips = ["127.0.0.41", "127.0.0.42", "127.0.0.43"];
    const query = SEED_DNS_POLL.topologies.production.config.query;
    const dns = await startDnsmasq(ips.map((ip) => [ip, query]));
    const nodes: ClusterTestNode[] = [];
    try {
      const port = portFreeOn(ips);
      // The seed's topology unchanged; the test adds where its DNS server and nodes listen.
      const production = SEED_DNS_POLL.topologies.production;
      const raw = {
        topologies: {
          production: {
            ...production,
            config: { ...production.config, name_server: dns.nameServer, port },
          },
        },
      };
      for (const ip of ips) {
        nodes.push(await startClusterNode(`my_app@${ip}`, parseClusterConfig(raw), { port }));
      }
      await waitForMesh(nodes.map((n) => n.node));
      assert.equal(nodes[0]!.cluster.topologies()[0]!.strategy, "dns_poll");
    } finally {
      await stopClusterNodes(nodes);
      await dns.close();
    }
  },
});
