/**
 * The shell's `Cluster` and `Chaos` namespaces and their `h()` docs, as a
 * scope provider for `scope.ts`. `Cluster` reads and steers the node's cluster
 * membership; `Chaos` partitions, heals and degrades links of the cluster
 * from this node.
 *
 * ```text
 * weft(a@host)1> Cluster.members()
 * weft(a@host)2> Cluster.quorum()
 * weft(a@host)3> await Chaos.partition(["a@host", "b@host"], ["c@host"])
 * weft(a@host)4> await Chaos.heal()
 * ```
 *
 * @example
 * ```ts
 * import { CLUSTER_PROVIDER } from "./cluster_scope.ts";
 * console.assert("Cluster.quorum" in CLUSTER_PROVIDER.docs && "Chaos.partition" in CLUSTER_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { NotAliveError } from "../src/errors.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";
import type { WeftNode } from "../src/node.ts";
import { self } from "../src/process/current.ts";
import { type Chaos, chaosOf, type ChaosStatus, startChaosAgents } from "../src/cluster/chaos.ts";
import { type Cluster, clusterOf, startCluster } from "../src/cluster/cluster.ts";
import type { ClusterOptions } from "../src/cluster/config.ts";
import type { QuorumStatus } from "../src/cluster/quorum.ts";
import type { TopologyInfo } from "../src/cluster/topology.ts";

/** The docs of `Cluster` and `Chaos`. */
export const CLUSTER_DOCS: Readonly<Record<string, Doc>> = {
  Cluster: { signature: "Cluster", summary: "this node's cluster: discovery, quorum, partitions" },
  "Cluster.members": {
    signature: "Cluster.members()",
    summary: "the nodes the topologies list now",
  },
  "Cluster.topologies": {
    signature: "Cluster.topologies()",
    summary: "each topology: name, strategy, members, connected members",
  },
  "Cluster.quorum": {
    signature: "Cluster.quorum()",
    summary: "{expected, reachable, unreachable, size, hasQuorum}",
    detail: "Against the quorum.expected of the cluster config, or else every listed node " +
      "this node was ever connected to. The size is a strict majority unless configured.",
  },
  "Cluster.hasQuorum": {
    signature: "Cluster.hasQuorum()",
    summary: "whether the reachable expected members are a quorum",
  },
  "Cluster.overlap": {
    signature: "Cluster.overlap()",
    summary: "with preventOverlappingPartitions: {dropped, missing} links",
  },
  "Cluster.reconnect": {
    signature: "Cluster.reconnect(node?)",
    summary: "dial node (or every listed node not connected) now, backoff reset",
  },
  "Cluster.subscribe": {
    signature: "Cluster.subscribe(flag = true)",
    summary: "membership events to the calling process (flush() shows them)",
    detail: "member_discovered, member_forgotten, member_connected, member_lost, " +
      "member_removed (with topology and strategy), partition, quorum_regained, " +
      "overlap_disconnect, overlap_cleared.",
  },
  "Cluster.start": {
    signature: "Cluster.start({topologies, quorum?, preventOverlappingPartitions?, chaos?})",
    summary: "start a cluster on this node (as --cluster-config does)",
    example:
      'await Cluster.start({topologies: {lan: {strategy: "gossip", config: {seeds: ["127.0.0.1:45892"]}}}})',
  },
  "Cluster.stop": {
    signature: "Cluster.stop()",
    summary: "stop discovery and partition handling; connections stay",
  },
  Chaos: {
    signature: "Chaos",
    summary: "cut, heal and degrade links of the cluster, from this node",
    detail: 'Every node acted on must run the chaos agents ("chaos": true in its cluster ' +
      "config, or Chaos.agents() there).",
  },
  "Chaos.partition": {
    signature: "Chaos.partition([nodes], [nodes], ...)",
    summary: "cut every link between nodes of different groups",
    example: 'await Chaos.partition(["a@127.0.0.1", "b@127.0.0.1"], ["c@127.0.0.1"])',
  },
  "Chaos.cut": { signature: "Chaos.cut(a, b)", summary: "cut the one link a-b" },
  "Chaos.heal": {
    signature: "Chaos.heal()",
    summary: "lift every cut and link fault made from this node, reconnect",
  },
  "Chaos.latency": {
    signature: "Chaos.latency(a, b, ms, { jitter = 0 })",
    summary: "delay what a and b send each other (order kept)",
  },
  "Chaos.drop": {
    signature: "Chaos.drop(a, b, rate)",
    summary: "drop that share (0-1) of what a and b send each other",
  },
  "Chaos.clearLinks": { signature: "Chaos.clearLinks()", summary: "lift latency and drops" },
  "Chaos.status": { signature: "Chaos.status()", summary: "{cuts, links} in force" },
  "Chaos.agents": {
    signature: "Chaos.agents()",
    summary: "run the chaos agents on this node, so others can act on it",
  },
};

/** The shell's `Cluster` namespace. */
export interface ClusterNamespace {
  members(): string[];
  topologies(): TopologyInfo[];
  quorum(): QuorumStatus;
  hasQuorum(): boolean;
  overlap(): { dropped: string[]; missing: [string, string][] } | undefined;
  reconnect(node?: string): void;
  subscribe(flag?: boolean): boolean;
  start(options: ClusterOptions): Promise<Cluster>;
  stop(): Promise<void>;
}

/** The shell's `Chaos` namespace. */
export interface ChaosNamespace {
  partition(...groups: string[][]): Promise<void>;
  cut(a: string, b: string): Promise<void>;
  heal(): Promise<void>;
  latency(a: string, b: string, ms: number, options?: { jitter?: number }): Promise<void>;
  drop(a: string, b: string, rate: number): Promise<void>;
  clearLinks(): Promise<void>;
  status(): ChaosStatus;
  agents(): boolean;
}

/**
 * `Cluster` and `Chaos` for a shell on `node`.
 *
 * @param node the shell's node (`undefined` when not distributed)
 * @returns the two namespaces
 *
 * @example
 * ```ts
 * import { clusterNamespaces } from "./cluster_scope.ts";
 * const { Cluster } = clusterNamespaces(undefined);
 * console.assert(Cluster.members().length === 0);
 * ```
 */
export function clusterNamespaces(
  node: WeftNode | undefined,
): { Cluster: ClusterNamespace; Chaos: ChaosNamespace } {
  const alive = (what: string): WeftNode => {
    if (node === undefined) {
      throw new NotAliveError(
        `Cannot ${what}: this node is not alive (start it with --sname or --name)`,
      );
    }
    return node;
  };
  const running = (what: string): Cluster => {
    const cluster = clusterOf(alive(what));
    if (cluster === undefined) {
      throw new NotAliveError(
        `Cannot ${what}: no cluster runs on ${
          node!.name
        } (give --cluster-config, or Cluster.start({topologies}))`,
      );
    }
    return cluster;
  };
  const chaos = (what: string): Chaos => chaosOf(alive(what));
  const Cluster: ClusterNamespace = Object.freeze({
    members: () => (node === undefined ? [] : clusterOf(node)?.members() ?? []),
    topologies: () => (node === undefined ? [] : clusterOf(node)?.topologies() ?? []),
    quorum: () => running("compute the quorum").quorum(),
    hasQuorum: () => running("compute the quorum").hasQuorum(),
    overlap: () => running("show the overlap guard").overlap(),
    reconnect: (target?: string) => running("reconnect").reconnect(target),
    subscribe: (flag = true) => {
      running("subscribe to membership events").subscribe(self(), flag);
      return true;
    },
    start: async (options: ClusterOptions) => await startCluster(alive("start a cluster"), options),
    stop: async () => {
      await running("stop the cluster").stop();
    },
  });
  const Chaos: ChaosNamespace = Object.freeze({
    partition: async (...groups: string[][]) => await chaos("partition").partition(...groups),
    cut: async (a: string, b: string) => await chaos("cut a link").cut(a, b),
    heal: async () => await chaos("heal").heal(),
    latency: async (a: string, b: string, ms: number, options?: { jitter?: number }) =>
      await chaos("add latency").latency(a, b, ms, options),
    drop: async (a: string, b: string, rate: number) =>
      await chaos("drop messages").drop(a, b, rate),
    clearLinks: async () => await chaos("clear link faults").clearLinks(),
    status: (): ChaosStatus =>
      node === undefined ? { cuts: [], links: [] } : chaosOf(node).status(),
    agents: () => {
      startChaosAgents(alive("start chaos agents").runtime);
      return true;
    },
  });
  return { Cluster, Chaos };
}

/** `Cluster` and `Chaos` with their docs, for `scope.ts`'s `SHELL_PROVIDERS`. */
export const CLUSTER_PROVIDER: ScopeProvider = {
  title: "Cluster and Chaos (discovery, quorum, partitions, fault injection)",
  docs: CLUSTER_DOCS,
  names: ({ node }) => ({ ...clusterNamespaces(node) }),
};
