/**
 * Multi-region clusters: a mesh per region, gateways between regions,
 * replicated keys and topics carried across, messages relayed. See
 * region_service.ts and docs/multi_region.md.
 *
 * @example
 * ```ts
 * import { parseMultiRegionConfig } from "./mod.ts";
 * const { regions } = parseMultiRegionConfig({ regions: { east: { topologies: {} } } }, "east");
 * console.assert(regions.region === "east");
 * ```
 *
 * @module
 */

export { RegionDirectory, type RegionEntry } from "./directory.ts";
export { regions, type RegionsNamespace } from "./namespace.ts";
export { isMultiRegionConfig, loadClusterFile, parseMultiRegionConfig } from "./region_config.ts";
export {
  DEFAULT_BATCH_INTERVAL,
  DEFAULT_RESEND_AFTER,
  type RegionHost,
  type RegionLag,
  REGIONS,
  RegionService,
  type RegionStatus,
  type RegionTraffic,
} from "./region_service.ts";
export * from "./types.ts";
