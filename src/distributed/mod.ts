/**
 * Processes that outlive their node: a distributed registry (unique or
 * duplicate keys, `via` names, lookups from the local replica, conflicts
 * settled on heal with a state handoff) and a distributed dynamic
 * supervisor (placement strategies, restart of a lost member's children on
 * the survivors, handoff on a clean shutdown, quorum mode), built on the
 * replicator. The guide is `docs/distributed_supervision.md`.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const jobs = node.distributed.supervisor("jobs", { strategy: "ring" });
 * console.assert(jobs.countChildren().active === 0);
 * await node.stop();
 * ```
 *
 * @module
 */

export {
  compareHolders,
  DistRegistry,
  type DistRegistryOptions,
  encodeKey,
  type HandoffBegin,
  type HandoffEnd,
  type KeyKind,
  type NameConflictReason,
  type RegistryEntry,
  type RegistryKey,
} from "./dist_registry.ts";
export {
  checkChildSpec,
  type DistChildInfo,
  type DistChildSpec,
  DistSupervisor,
  type DistSupervisorOptions,
} from "./dist_supervisor.ts";
export {
  type DistributionStrategy,
  hash32,
  type HashRing,
  hashRing,
  placeChild,
  type PlacementFunction,
  VIRTUAL_NODES,
} from "./distribution_strategy.ts";
export { horde, type HordeNamespace } from "./namespace.ts";
export { DISTRIBUTED, Distributed, distributedOf } from "./service.ts";
