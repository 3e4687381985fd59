/**
 * The replicator's wire protocol: op codes (range 96-111), the version, the
 * shape of a replicated entry, and the consistency levels.
 *
 * ```
 * DELTA      [v, [entry, ...]]                  A -> every peer, batched per delta interval
 * WRITE      [v, id, entry]                     A -> peers, for write "majority" / "all" / n
 * WRITE_ACK  [id, reason | null]                B -> A: merged (null) or refused (why)
 * READ       [v, id, key]                       A -> peers, for read "majority" / "all" / n
 * READ_REPLY [id, entry | null]                 B -> A: B's entry of the key, if any
 * AE_HASHES  [v, level, [parent...], hashes, [retired replica...]]
 *                                               A -> B: A's digest tree nodes of `level` (the
 *                                               root, or the children of `parents`), 8 bytes
 *                                               each; B answers with AE_HASHES of the children
 *                                               of those that differ, or AE_KEYS at the leaves
 * AE_KEYS    [v, salt, [leaf...], [count...], tags]  the keys of the differing leaves as
 *                                               salted tags, 5 bytes each (key 16 bits, digest
 *                                               24 bits)
 * AE_SYNC    [v, [entry, ...], [salt, bitmap] | null]  the entries the other side lacks, and
 *                                               the positions (in the AE_KEYS of `salt`) of
 *                                               the keys wanted back, a deflated bitmap
 * CONFLICT   [v, key, type]                     B -> A: B holds `key` with another type
 * PRUNE_ASK  [v, [removed replica...]]          pruner P -> every member: fold these into P?
 * PRUNE_REPLY [v, [[removed, answer, owner]...], [entry...]]
 *                                               member -> P: "ack" (every entry it holds
 *                                               follows, and it takes nothing more from
 *                                               `removed`), "owner" (it answers a lower
 *                                               pruner, `owner`), or "done" (already pruned)
 *
 * entry = [key, type name, encoded state | null (deleted), [[removed, into], ...] (pruned)]
 *   (the state packed, when its type has a compact wire form: `pack`)
 * A list of entries that encodes to more than 1 KiB goes as the bytes of its encoding,
 * deflated (raw DEFLATE); a receiver inflates at most 256 MiB of it. docs/PROTOCOL.md 7.11.
 * ```
 *
 * @example
 * ```ts
 * import { OP_DELTA, REPLICATOR_VERSION } from "./types.ts";
 * console.assert(OP_DELTA === 96 && REPLICATOR_VERSION === 2);
 * ```
 *
 * @module
 */

/** The protocol version, first field of every request. */
export const REPLICATOR_VERSION = 2;

/** Batched deltas to every peer. */
export const OP_DELTA = 96;
/** A write that wants an acknowledgement. */
export const OP_WRITE = 97;
/** The acknowledgement of a WRITE. */
export const OP_WRITE_ACK = 98;
/** A read of a peer's entry. */
export const OP_READ = 99;
/** The answer to a READ. */
export const OP_READ_REPLY = 100;
/** Anti-entropy: digest tree nodes. */
export const OP_AE_HASHES = 101;
/** Anti-entropy: key digests of leaves. */
export const OP_AE_KEYS = 102;
/** Anti-entropy: entries, and the keys wanted back. */
export const OP_AE_SYNC = 103;
/** The key is held with another type by the sender. */
export const OP_CONFLICT = 104;

/** Pruning: the pruner asks a member for its entries and to stop taking data from removed replicas. */
export const OP_PRUNE_ASK = 105;
/** Pruning: a member's answer to PRUNE_ASK. */
export const OP_PRUNE_REPLY = 106;

/** Every op code of the replicator. */
export const REPLICATOR_OPS: readonly number[] = [
  OP_DELTA,
  OP_WRITE,
  OP_WRITE_ACK,
  OP_READ,
  OP_READ_REPLY,
  OP_AE_HASHES,
  OP_AE_KEYS,
  OP_AE_SYNC,
  OP_CONFLICT,
  OP_PRUNE_ASK,
  OP_PRUNE_REPLY,
];

/** One key on the wire: key, type name, encoded state (null: deleted), pruning markers. */
export type WireEntry = [string, string, unknown, [string, string][]];

/**
 * How many replicas (this one included) must have a write, or answer a
 * read, before it completes: `"local"` (this node only), `"majority"` of the
 * replicas, `"all"` of them, or a number.
 */
export type Consistency = "local" | "majority" | "all" | number;

/** The registered name of the replicator's server process. */
export const REPLICATOR_SERVER_NAME = "weft_replicator";
