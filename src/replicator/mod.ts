/**
 * The replicator: named keys of replicated data types (CRDTs), kept on every
 * node by batched deltas and digest-tree anti-entropy, with consistency
 * levels for writes and reads and durable keys in the node's data directory.
 *
 * @example
 * ```ts
 * import { OP_DELTA } from "./mod.ts";
 * console.assert(OP_DELTA === 96);
 * ```
 *
 * @module
 */

export {
  type CrdtChangedMessage,
  type CrdtHandleOf,
  type CrdtHandles,
  CrdtKey,
  type CrdtOpenOptions,
  type CrdtValueOf,
  type CrdtValues,
  DEFAULT_ANTI_ENTROPY_INTERVAL,
  DEFAULT_DELTA_INTERVAL,
  DEFAULT_PRUNE_AFTER,
  REPLICATOR,
  Replicator,
  type ReplicatorInfo,
  replicatorOf,
  type ReplicatorOptions,
  STORE_FILE,
} from "./replicator.ts";
export {
  type ClockTimestamp,
  DEFAULT_TIMEOUT,
  type ReadOptions,
  Replica,
  type ReplicaClock,
  type ReplicaOptions,
  type ReplicatedType,
  type WriteOptions,
} from "./replica.ts";
export { DigestTree } from "./digest_tree.ts";
export { crdt, type CrdtNamespace } from "./namespace.ts";
export * from "./types.ts";
