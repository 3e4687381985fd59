/**
 * The shell's `regions` namespace: multi-region status, replication lag
 * and traffic of this node, with their `h()` docs.
 *
 * @example
 * ```ts
 * import { REGIONS_PROVIDER } from "./regions_scope.ts";
 * console.assert("regions.lag" in REGIONS_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { regions } from "../src/region/namespace.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** `h()` docs of `regions`. */
export const REGIONS_DOCS: Readonly<Record<string, Doc>> = {
  regions: {
    signature: "regions",
    summary: "this node's region, the gateways between regions, replication lag across them",
    detail: "Needs --region NAME and a multi-region --cluster-config (docs/multi_region.md). " +
      "Node.list() is this region; other regions are reached through the gateways.",
  },
  "regions.status": {
    signature: "regions.status()",
    summary: "this region's members and gateways, each other region's members, gateways, links",
  },
  "regions.lag": {
    signature: "regions.lag()",
    summary: "per other region: batches, keys, lag p50/p99/last in ms (measured on a gateway)",
    example: "regions.lag()",
  },
  "regions.traffic": {
    signature: "regions.traffic()",
    summary: "per other region: batches, resent, bytes, keys sent from here (the leader sends)",
  },
  "regions.leader": {
    signature: "regions.leader(region?)",
    summary: "a region's leader node: the seed's 'send to the regional leader'",
    example: 'send({ name: "replication", node: regions.leader("us_west") }, msg)',
  },
  "regions.gateways": {
    signature: "regions.gateways(region?)",
    summary: "a region's gateways, its leader first",
  },
  "regions.regionOf": { signature: "regions.regionOf(node)", summary: "the region of a node" },
};

/** The `regions` namespace with its docs. */
export const REGIONS_PROVIDER: ScopeProvider = {
  title: "regions (multi-region)",
  docs: REGIONS_DOCS,
  names: () => ({ regions }),
};
