/**
 * Cluster formation and partition handling: discovery strategies run by
 * topologies (libcluster's `topologies`), reconnects with backoff,
 * quorum against an expected membership, the guard against overlapping
 * partitions (OTP's `prevent_overlapping_partitions`), membership events,
 * and chaos tooling (partitions, heals, latency and loss on links).
 *
 * ```ts ignore
 * import { startNode } from "../node.ts";
 * const node = await startNode({
 *   name: "app@10.0.0.7",
 *   cookie: "secret",
 *   cluster: {
 *     topologies: { k8s: { strategy: "kubernetes_dns", config: { service: "app", applicationName: "app" } } },
 *     quorum: { expected: ["app@10.0.0.7", "app@10.0.0.8", "app@10.0.0.9"] },
 *     preventOverlappingPartitions: true,
 *   },
 * });
 * node.cluster!.hasQuorum();
 * ```
 *
 * See docs/cluster.md for the guide.
 *
 * @example
 * ```ts
 * import { parseClusterConfig, STRATEGY_KINDS } from "./mod.ts";
 * console.assert(STRATEGY_KINDS.includes("gossip"));
 * console.assert(parseClusterConfig({ topologies: {} }).topologies !== undefined);
 * ```
 *
 * @module
 */

export { Backoff, type BackoffOptions } from "./backoff.ts";
export {
  Chaos,
  CHAOS_AGENT_NAME,
  type ChaosLinkCommand,
  type ChaosLinkReply,
  chaosOf,
  type ChaosOptions,
  type ChaosStatus,
  type LinkFault,
  startChaosAgents,
} from "./chaos.ts";
export { Cluster, CLUSTER_PROCESS, type ClusterNode, clusterOf, startCluster } from "./cluster.ts";
export {
  type ClusterOptions,
  createStrategy,
  loadClusterConfig,
  parseClusterConfig,
  STRATEGY_KINDS,
  type StrategyKind,
  type TopologySpec,
} from "./config.ts";
export {
  CLUSTER_EVENT_TYPES,
  type ClusterEvent,
  ClusterEvents,
  type ClusterListener,
  isClusterEvent,
  type MemberConnected,
  type MemberDiscovered,
  type MemberForgotten,
  type MemberLost,
  type MemberRemoved,
  type OverlapCleared,
  type OverlapDisconnect,
  type QuorumLost,
  type QuorumRegained,
  type QuorumView,
  type SplitBrainDecided,
  type SplitBrainHealed,
} from "./events.ts";
export {
  FAULT_AGENT_NAME,
  type FaultCommand,
  type FaultReply,
  Faults,
  type FaultsOptions,
  type FaultTarget,
  startFaultAgent,
} from "./faults.ts";
export {
  isOverlapMessage,
  type LinkProbe,
  type LinkProbeReply,
  type LinkReport,
  missingLinksKeep,
  OverlapGuard,
  type OverlapGuardHost,
  type OverlapGuardOptions,
  type OverlapMessage,
} from "./overlap_guard.ts";
export {
  parseQuorumConfig,
  type QuorumOptions,
  type QuorumStatus,
  quorumStatus,
  QuorumWatch,
} from "./quorum.ts";
export {
  checkSplitBrainOptions,
  decideSplitBrain,
  parseSplitBrainConfig,
  SPLIT_BRAIN_ACTIONS,
  SPLIT_BRAIN_STRATEGIES,
  type SplitBrainAction,
  type SplitBrainDecision,
  type SplitBrainOptions,
  type SplitBrainStrategy,
  type SplitBrainView,
} from "./split_brain.ts";
export {
  fromLibcluster,
  LIBCLUSTER_STRATEGIES,
  refuseElixirOnly,
  type TranslatedStrategy,
} from "./libcluster.ts";
export {
  type DecisionOptions,
  quorum,
  type QuorumCountOptions,
  type QuorumNamespace,
} from "./quorum_decision.ts";
export {
  type DiscoveredNode,
  PollingStrategy,
  type Strategy,
  type StrategyContext,
} from "./strategy.ts";
export { type ClusterHost, Topology, type TopologyInfo, type TopologyOptions } from "./topology.ts";
export {
  type DnsPollConfig,
  DnsPollStrategy,
  nodesAt,
  parseDnsPollConfig,
} from "./strategies/dns_poll.ts";
export {
  type EpmdHostsConfig,
  EpmdHostsStrategy,
  parseEpmdHostsConfig,
} from "./strategies/epmd_hosts.ts";
export {
  GOSSIP_DEFAULT_GROUP,
  GOSSIP_DEFAULT_PORT,
  type GossipConfig,
  GossipStrategy,
  parseGossipConfig,
} from "./strategies/gossip.ts";
export {
  decodeGossip,
  encodeGossip,
  type GossipDecodeResult,
  type GossipMember,
  type GossipPacket,
  importGossipKey,
} from "./strategies/gossip_packet.ts";
export { GossipTable, type KnownMember, type MergeResult } from "./strategies/gossip_table.ts";
export {
  type KubernetesDnsConfig,
  KubernetesDnsStrategy,
  parseKubernetesDnsConfig,
} from "./strategies/kubernetes_dns.ts";
export { parseStaticConfig, type StaticConfig, StaticStrategy } from "./strategies/static.ts";
