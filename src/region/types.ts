/**
 * The wire shapes and options of multi-region clusters (see
 * region_service.ts for the message flow). Operation codes 176-191.
 *
 * @module
 */

import type { TopologySpec } from "../cluster/config.ts";
import type { LinkFault } from "../distribution/net_kernel.ts";

/** `[version, region, members, gateways]`: a gateway tells a foreign gateway its region. */
export const OP_REGION_HELLO = 176;
/** `[version, [[region, members, gateways], ...]]`: a gateway tells its region the others. */
export const OP_REGION_DIRECTORY = 177;
/** `[origin, dest, hops, body]`: a message for a node of another region, hop by hop. */
export const OP_REGION_RELAY = 178;
/** `[seq, sentAt, entries, broadcasts]`: replicated keys and topic messages, gateway to gateway. */
export const OP_REGION_BATCH = 179;
/** `[seq]`: a batch was taken in. */
export const OP_REGION_ACK = 180;
/**
 * `[0, bucket hashes]`, `[1, buckets]`, `[2, buckets, [[key, digest], ...]]`:
 * what differs between two regions' replicated keys (when a link comes up).
 */
export const OP_REGION_SYNC = 181;
/** `[keys]`: send these keys' entries (they differ, or the asker lacks them). */
export const OP_REGION_WANT = 182;

/** Every operation code of the region layer. */
export const REGION_OPS: readonly number[] = [
  OP_REGION_HELLO,
  OP_REGION_DIRECTORY,
  OP_REGION_RELAY,
  OP_REGION_BATCH,
  OP_REGION_ACK,
  OP_REGION_SYNC,
  OP_REGION_WANT,
];

/** The version of the region wire format. */
export const REGION_VERSION = 1;

/** Hops a relayed message may take before it is dropped (origin, gateway, gateway, node). */
export const MAX_RELAY_HOPS = 4;

/** One region of a multi-region cluster. */
export interface RegionSpec {
  /** How the region's nodes find each other (as the cluster's `topologies`). */
  topologies: Record<string, TopologySpec>;
  /** How many of its nodes link it to the other regions. Default 1. */
  gateways?: number;
}

/** The multi-region settings of a node (`NodeOptions.regions`). */
export interface RegionOptions {
  /** This node's region (`--region NAME`): one of `regions`. */
  region: string;
  /** Every region, by name, with its discovery and gateway count. */
  regions: Record<string, RegionSpec>;
  /**
   * Replicated keys (the replicator's) carried to every region: exact
   * names, or prefixes ending in `*` (`"cart:*"`). Others stay in their region.
   */
  replicated?: string[];
  /** Pubsub topics whose broadcasts reach every region (exact names). */
  topics?: string[];
  /** Milliseconds between two batches a gateway sends to another region. Default 50. */
  batchInterval?: number;
  /** Milliseconds a batch waits for its acknowledgement before it is sent again. Default 1000. */
  resendAfter?: number;
  /**
   * A simulated WAN for tests and benchmarks: latency, jitter and loss
   * added to everything this node sends over its links to other regions
   * (Weft's link faults: `loss` delays a share of messages by a
   * retransmission timeout, as TCP over a lossy link does; `drop` loses
   * them outright, which TCP never does). Default: none.
   */
  wan?: LinkFault;
}
