/**
 * `regions`: the multi-region service of the calling process's node, for
 * the shell and for code that runs in processes (`regions.lag()` on a
 * gateway shows how far behind each other region's changes arrive).
 *
 * @example
 * ```ts
 * import { regions } from "./namespace.ts";
 * console.assert(typeof regions.lag === "function");
 * ```
 *
 * @module
 */

import { current } from "../process/current.ts";
import {
  type RegionLag,
  REGIONS,
  type RegionService,
  type RegionStatus,
  type RegionTraffic,
} from "./region_service.ts";

/** The shape of {@linkcode regions}. */
export interface RegionsNamespace {
  /** This node's region, its gateways, and what it knows of the others. */
  status(): RegionStatus;
  /** Replication lag from each other region, measured here (on a gateway). */
  lag(): RegionLag[];
  /** What this node sent to each other region (its region's leader sends). */
  traffic(): RegionTraffic[];
  /** A region's leader (default: this node's), for "send to the regional leader". */
  leader(region?: string): string | undefined;
  /** A region's gateways, its leader first (default: this node's region). */
  gateways(region?: string): string[];
  /** The region of a node, when known. */
  regionOf(node: string): string | undefined;
}

function here(): RegionService {
  const service = current().runtime.context.get(REGIONS);
  if (service === undefined) {
    throw new TypeError(
      "This node is in no region: start it with --region NAME and a multi-region --cluster-config " +
        "(docs/multi_region.md)",
    );
  }
  return service;
}

/**
 * The region service of the calling process's node.
 *
 * @example
 * ```ts
 * import { regions } from "./namespace.ts";
 * console.assert(typeof regions.leader === "function");
 * ```
 */
export const regions: RegionsNamespace = Object.freeze({
  status: () => here().status(),
  lag: () => here().lag(),
  traffic: () => here().traffic(),
  leader: (region?: string) => here().leader(region),
  gateways: (region?: string) => here().gateways(region),
  regionOf: (node: string) => here().regionOf(node),
});
