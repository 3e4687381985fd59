/**
 * Helpers for the cluster tests: nodes with a cluster each, mesh checks,
 * and a real DNS server (Debian's `dnsmasq`) on a loopback port serving
 * records the test writes.
 *
 * @module
 */

import { type NodeOptions, startNode, type WeftNode } from "../../src/node.ts";
import { type Cluster, type ClusterOptions, startCluster } from "../../src/cluster/cluster.ts";
import { TimeoutError } from "../../src/errors.ts";
import { waitFor } from "../helpers/wait.ts";
import { freePort } from "../helpers/ports.ts";

/** The cookie of every test node here. */
export const COOKIE = "cluster-test-cookie";

/** A node started for a test, with its cluster. */
export interface ClusterTestNode {
  /** The node. */
  node: WeftNode;
  /** Its cluster (undefined once stopped). */
  cluster: Cluster;
}

/**
 * Starts a node without a port mapper, listening on `host` (port 0 unless given).
 *
 * @param name full node name
 * @param options more node options
 */
export function startBareNode(name: string, options: Partial<NodeOptions> = {}): Promise<WeftNode> {
  const host = name.split("@")[1]!;
  return startNode({
    name,
    cookie: COOKIE,
    hostname: host,
    noEpmd: true,
    startEpmd: false,
    ...options,
  });
}

/**
 * Starts a node and its cluster.
 *
 * @param name full node name
 * @param cluster the cluster options (cookie added)
 * @param options more node options
 */
export async function startClusterNode(
  name: string,
  cluster: ClusterOptions,
  options: Partial<NodeOptions> = {},
): Promise<ClusterTestNode> {
  const node = await startBareNode(name, options);
  try {
    return { node, cluster: await startCluster(node, { cookie: COOKIE, ...cluster }) };
  } catch (e) {
    await node.stop();
    throw e;
  }
}

/** Stops clusters, then nodes, all in parallel. */
export async function stopClusterNodes(nodes: (ClusterTestNode | undefined)[]): Promise<void> {
  await Promise.all(nodes.map((n) => n?.cluster.stop()));
  await Promise.all(nodes.map((n) => n?.node.stop()));
}

/** Whether every node is connected to every other one. */
export function fullMesh(nodes: WeftNode[]): boolean {
  return nodes.every((n) => {
    const up = new Set(n.list());
    return nodes.every((m) => m === n || up.has(m.name));
  });
}

/** Waits until `nodes` form a full mesh; returns the milliseconds it took from `since`. */
export async function waitForMesh(
  nodes: WeftNode[],
  timeout = 15_000,
  since = performance.now(),
): Promise<number> {
  try {
    await waitFor(() => fullMesh(nodes), { timeout });
  } catch (e) {
    throw new TimeoutError(
      `No full mesh within ${timeout} ms:\n${
        nodes.map((n) => `  ${n.name}: ${n.list().sort().join(" ")}`).join("\n")
      }`,
      { cause: e },
    );
  }
  return performance.now() - since;
}

/**
 * Starts nodes `name@127.0.0.1`, then a cluster on each whose static
 * topology lists every node (`name@127.0.0.1:port`), with chaos agents.
 *
 * @param names bare names
 * @param extra more cluster options for every node
 */
export async function startStaticCluster(
  names: string[],
  extra: Partial<ClusterOptions> = {},
): Promise<ClusterTestNode[]> {
  const bare = await Promise.all(names.map((n) => startBareNode(`${n}@127.0.0.1`)));
  const all = bare.map((n) => `${n.name}:${n.port}`);
  const out: ClusterTestNode[] = [];
  try {
    for (const node of bare) {
      out.push({
        node,
        cluster: await startCluster(node, {
          cookie: COOKIE,
          topologies: {
            all: {
              strategy: "static",
              config: { nodes: all },
              reconnect: { initial: 50, max: 200 },
            },
          },
          chaos: true,
          ...extra,
        }),
      });
    }
  } catch (e) {
    await stopClusterNodes(out);
    await Promise.all(bare.map((n) => n.stop()));
    throw e;
  }
  return out;
}

/** The path of `dnsmasq`, or `undefined` when it is not installed. */
export function dnsmasqPath(): string | undefined {
  for (const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"]) {
    try {
      Deno.statSync(`${dir}/dnsmasq`);
      return `${dir}/dnsmasq`;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** One SRV record: `--srv-host=NAME,TARGET,PORT,PRIORITY,WEIGHT`. */
export interface SrvRecord {
  name: string;
  target: string;
  port: number;
}

/** A dnsmasq child serving a hosts file. */
export interface Dnsmasq {
  /** Its port on 127.0.0.1 (UDP and TCP). */
  readonly port: number;
  /** `127.0.0.1:port`, for a strategy's `nameServer`. */
  readonly nameServer: string;
  /** Rewrites the records (`[address, name]` pairs) and makes dnsmasq read them again. */
  setHosts(hosts: [string, string][]): Promise<void>;
  /** Kills it and removes its files. */
  close(): Promise<void>;
}

/**
 * Starts `dnsmasq --no-daemon` on a loopback port, answering only from
 * the hosts records (and SRV records) given.
 *
 * @param hosts `[address, name]` pairs
 * @param srv SRV records (fixed for its life)
 */
export async function startDnsmasq(
  hosts: [string, string][],
  srv: SrvRecord[] = [],
): Promise<Dnsmasq> {
  const bin = dnsmasqPath();
  if (bin === undefined) throw new Error("dnsmasq is not installed");
  const dir = await Deno.makeTempDir({ prefix: "weft_dnsmasq_" });
  const file = `${dir}/hosts`;
  const write = (h: [string, string][]) =>
    Deno.writeTextFile(file, h.map(([ip, name]) => `${ip} ${name}\n`).join(""));
  await write(hosts);
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    const child = new Deno.Command(bin, {
      args: [
        "--no-daemon",
        "--conf-file=/dev/null",
        `--port=${port}`,
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        `--addn-hosts=${file}`,
        "--pid-file=",
        "--local-ttl=0",
        ...(Deno.uid() === 0 ? ["--user=root"] : []),
        ...srv.map((s) => `--srv-host=${s.name},${s.target},${s.port},0,10`),
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream());
    let log = "";
    const reading = (async () => {
      for await (const chunk of stderr) log += chunk;
    })();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const probe = hosts[0]?.[1] ?? "localhost";
    try {
      await waitFor(async () => {
        if (exited) return true;
        try {
          await Deno.resolveDns(probe, "A", {
            nameServer: { ipAddr: "127.0.0.1", port },
            signal: AbortSignal.timeout(250),
          });
          return true;
        } catch {
          return false;
        }
      }, { timeout: 10_000, interval: 20, message: `dnsmasq did not answer on ${port}` });
    } catch (e) {
      child.kill("SIGKILL");
      await status;
      await reading;
      throw e;
    }
    if (exited) {
      await reading;
      if (attempt < 5 && /in use/i.test(log)) continue;
      await Deno.remove(dir, { recursive: true });
      throw new Error(`dnsmasq exited at start: ${log}`);
    }
    return {
      port,
      nameServer: `127.0.0.1:${port}`,
      async setHosts(h) {
        await write(h);
        child.kill("SIGHUP");
        const first = h[0];
        if (first === undefined) return;
        // Reloaded once the first record answers with its address.
        await waitFor(async () => {
          try {
            const ips = await Deno.resolveDns(first[1], "A", {
              nameServer: { ipAddr: "127.0.0.1", port },
              signal: AbortSignal.timeout(250),
            });
            return h.filter(([, n]) => n === first[1]).every(([ip]) => ips.includes(ip)) &&
              ips.length === h.filter(([, n]) => n === first[1]).length;
          } catch {
            return false;
          }
        }, { timeout: 5000, message: "dnsmasq did not reload its records" });
      },
      async close() {
        try {
          child.kill("SIGTERM");
        } catch {
          // Gone already.
        }
        await status;
        await reading;
        await Deno.remove(dir, { recursive: true });
      },
    };
  }
}

/**
 * Finds a TCP port free on every one of `hosts` (loopback addresses), so
 * that nodes on different addresses can share it, as pods do.
 */
export function portFreeOn(hosts: string[]): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = freePort();
    const open: Deno.Listener[] = [];
    try {
      for (const hostname of hosts) open.push(Deno.listen({ hostname, port }));
      return port;
    } catch {
      // Taken on one of them: try another.
    } finally {
      for (const l of open) l.close();
    }
  }
  throw new Error(`No port free on all of ${hosts.join(", ")}`);
}
