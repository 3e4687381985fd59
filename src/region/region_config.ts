/**
 * The multi-region form of the cluster configuration file
 * (`weft --cluster-config FILE --region NAME`): one set of topologies per
 * region, as the seed's `config :my_app, :clusters, us_east: [...], us_west: [...]`,
 * plus what crosses regions.
 *
 * ```json
 * {
 *   "regions": {
 *     "us_east": { "topologies": { "k8s": { "strategy": "kubernetes_dns",
 *                  "config": { "service": "my-app-us-east", "application_name": "my_app" } } },
 *                  "gateways": 2 },
 *     "us_west": { "topologies": { "k8s": { "strategy": "kubernetes_dns",
 *                  "config": { "service": "my-app-us-west", "application_name": "my_app" } } } }
 *   },
 *   "replicated": ["cart:*"],
 *   "topics": ["announcements"],
 *   "batchInterval": 50
 * }
 * ```
 *
 * A node meshes with its own region through that region's topologies;
 * its gateways find the other regions through theirs. The rest of the
 * file (`quorum`, `chaos`, ...) is the cluster configuration of every
 * region. A `--region` the file does not name is an error at start-up.
 *
 * @example
 * ```ts
 * import { parseMultiRegionConfig } from "./region_config.ts";
 * const { cluster, regions } = parseMultiRegionConfig({
 *   regions: {
 *     east: { topologies: { t: { strategy: "static", config: { nodes: ["e1@h", "e2@h"] } } } },
 *     west: { topologies: { t: { strategy: "static", config: { nodes: ["w1@h"] } } } },
 *   },
 * }, "east");
 * console.log(Object.keys(cluster.topologies), regions.region); // [ "t" ] east
 * ```
 *
 * @module
 */

import { type ClusterOptions, parseClusterConfig } from "../cluster/config.ts";
import type { RegionOptions, RegionSpec } from "./types.ts";

const REGION_KEYS = [
  "regions",
  "region",
  "replicated",
  "topics",
  "batchInterval",
  "resendAfter",
  "wan",
];

/** Whether a parsed cluster configuration file is the multi-region form. */
export function isMultiRegionConfig(raw: unknown): boolean {
  return typeof raw === "object" && raw !== null && "regions" in raw;
}

/**
 * Splits a multi-region configuration into this node's cluster options
 * (its region's topologies) and its region options.
 *
 * @param raw the parsed JSON
 * @param region this node's region (`--region`); default: the file's `region`
 * @returns the cluster and region options
 * @throws {TypeError} for a malformed file, a missing region, or a region
 *   the file does not name (the message lists the ones it does)
 */
export function parseMultiRegionConfig(
  raw: unknown,
  region?: string,
): { cluster: ClusterOptions; regions: RegionOptions } {
  const bad = (path: string, detail: string) =>
    new TypeError(`Invalid cluster config: ${path}: ${detail}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw bad("cluster config", "expected an object");
  }
  const o = raw as Record<string, unknown>;
  if (o.topologies !== undefined) {
    throw bad(
      "topologies",
      "a multi-region config gives each region its own (regions.<name>.topologies)",
    );
  }
  const rawRegions = o.regions;
  if (typeof rawRegions !== "object" || rawRegions === null || Array.isArray(rawRegions)) {
    throw bad("regions", "expected an object of regions by name");
  }
  const names = Object.keys(rawRegions);
  if (names.length === 0) throw bad("regions", "expected at least one region");
  const regions: Record<string, RegionSpec> = {};
  for (const name of names) {
    const path = `regions.${name}`;
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      throw bad(path, "a region name may hold letters, digits, _ and -");
    }
    const r = (rawRegions as Record<string, unknown>)[name];
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw bad(path, "expected an object");
    }
    const { topologies, gateways, ...rest } = r as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      throw bad(path, `unknown key "${unknown[0]}" (expected "topologies", "gateways")`);
    }
    let parsed;
    try {
      parsed = parseClusterConfig({ topologies });
    } catch (e) {
      throw new TypeError((e as Error).message.replace("topologies", `${path}.topologies`));
    }
    const spec: RegionSpec = { topologies: parsed.topologies };
    if (gateways !== undefined) {
      if (typeof gateways !== "number" || !Number.isInteger(gateways) || gateways < 1) {
        throw bad(`${path}.gateways`, "expected a positive integer");
      }
      spec.gateways = gateways;
    }
    regions[name] = spec;
  }
  const own = region ?? (typeof o.region === "string" ? o.region : undefined);
  if (own === undefined) {
    throw new TypeError(
      `A multi-region config needs this node's region: start it with --region NAME (one of ${
        names.join(", ")
      })`,
    );
  }
  if (regions[own] === undefined) {
    throw new TypeError(
      `Region "${own}" is not in the cluster config (its regions: ${names.join(", ")})`,
    );
  }
  const options: RegionOptions = { region: own, regions };
  for (const key of ["replicated", "topics"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string" && s !== "")) {
      throw bad(key, "expected a list of non-empty strings");
    }
    options[key] = v as string[];
  }
  for (const key of ["batchInterval", "resendAfter"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw bad(key, "expected a positive number of milliseconds");
    }
    options[key] = v;
  }
  if (o.wan !== undefined) {
    const w = o.wan;
    if (typeof w !== "object" || w === null || Array.isArray(w)) {
      throw bad("wan", "expected an object");
    }
    const wan: Record<string, number> = {};
    for (const [k, v] of Object.entries(w)) {
      if (!["delay", "jitter", "drop", "loss", "bandwidth"].includes(k)) {
        throw bad(
          "wan",
          `unknown key "${k}" (expected "delay", "jitter", "drop", "loss", "bandwidth")`,
        );
      }
      const share = k === "drop" || k === "loss";
      if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v) || (share && v > 1)) {
        throw bad(
          `wan.${k}`,
          share
            ? "expected a share from 0 to 1"
            : k === "bandwidth"
            ? "expected bytes per second >= 0"
            : "expected milliseconds >= 0",
        );
      }
      wan[k] = v;
    }
    options.wan = wan;
  }
  const clusterRaw: Record<string, unknown> = { topologies: {} };
  for (const [k, v] of Object.entries(o)) if (!REGION_KEYS.includes(k)) clusterRaw[k] = v;
  const cluster = parseClusterConfig(clusterRaw);
  cluster.topologies = regions[own]!.topologies;
  return { cluster, regions: options };
}

/**
 * Reads a cluster configuration file, in either form.
 *
 * @param path the file
 * @param region this node's region (`--region`), for the multi-region form
 * @returns the cluster options, and the region options for the multi-region form
 * @throws {TypeError} for a file that is not JSON or is malformed, naming the file;
 *   for `--region` with a single-region file
 *
 * @example
 * ```ts
 * import { loadClusterFile } from "./region_config.ts";
 * const file = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(file, '{"regions": {"east": {"topologies": {}}}}');
 * try {
 *   await loadClusterFile(file, "north");
 * } catch (e) {
 *   console.log((e as Error).message.includes('Region "north" is not in the cluster config')); // true
 * }
 * await Deno.remove(file);
 * ```
 */
export async function loadClusterFile(
  path: string,
  region?: string,
): Promise<{ cluster: ClusterOptions; regions?: RegionOptions }> {
  const text = await Deno.readTextFile(path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`Invalid cluster config ${path}: not JSON: ${(e as Error).message}`);
  }
  if (!isMultiRegionConfig(raw)) {
    if (region !== undefined) {
      throw new TypeError(
        `--region ${region} needs a multi-region cluster config ("regions"), and ${path} has none`,
      );
    }
    return { cluster: parseClusterConfig(raw) };
  }
  try {
    return parseMultiRegionConfig(raw, region);
  } catch (e) {
    const message = (e as Error).message.replace(/^Invalid cluster config: /, "");
    throw new TypeError(
      message.startsWith("Region ") || message.startsWith("A multi-region")
        ? message
        : `Invalid cluster config ${path}: ${message}`,
    );
  }
}
