/**
 * The cluster configuration, shaped like libcluster's `topologies`: a map
 * from topology name to a strategy and its config, several per node, plus
 * quorum and partition handling. Given in code to `startCluster` (or
 * `startNode({ cluster })`), or as JSON through `weft --cluster-config FILE`:
 *
 * ```json
 * {
 *   "topologies": {
 *     "dc1": {
 *       "strategy": "dns_poll",
 *       "config": { "query": "app.dc1.internal", "nodeBasename": "app", "pollInterval": 5000 },
 *       "reconnect": { "initial": 100, "max": 5000 },
 *       "disconnectUnlisted": false
 *     },
 *     "lan": { "strategy": "gossip", "config": { "seeds": ["10.0.0.1:45892"] } }
 *   },
 *   "quorum": { "expected": ["app@10.0.0.1", "app@10.0.0.2", "app@10.0.0.3"] },
 *   "preventOverlappingPartitions": true,
 *   "chaos": false
 * }
 * ```
 *
 * Strategies: `static`, `epmd_hosts`, `gossip`, `dns_poll`,
 * `kubernetes_dns` (see their files for their `config`), also by
 * libcluster's module names (`Cluster.Strategy.DNSPoll`, ...) with
 * libcluster's snake_case keys (`polling_interval`, `node_basename`, ...;
 * see libcluster.ts), so a `config.exs` topology carried over to JSON
 * works unchanged. Unknown keys are errors, so a typo never silently falls
 * back to a default.
 *
 * @example
 * ```ts
 * import { parseClusterConfig } from "./config.ts";
 * const c = parseClusterConfig({ topologies: { t: { strategy: "static", config: { nodes: ["b@h"] } } } });
 * console.assert(c.topologies.t!.strategy === "static");
 * ```
 *
 * @module
 */

import type { BackoffOptions } from "./backoff.ts";
import type { OverlapGuardOptions } from "./overlap_guard.ts";
import { parseQuorumConfig, type QuorumOptions, type QuorumStatus } from "./quorum.ts";
import {
  configError,
  object,
  onlyKeys,
  optionalBoolean,
  optionalNumber,
  string,
} from "./_config.ts";
import { fromLibcluster, LIBCLUSTER_STRATEGIES, refuseElixirOnly } from "./libcluster.ts";
import { parseSplitBrainConfig, type SplitBrainOptions } from "./split_brain.ts";
import type { Strategy } from "./strategy.ts";
import { DnsPollStrategy, parseDnsPollConfig } from "./strategies/dns_poll.ts";
import { EpmdHostsStrategy, parseEpmdHostsConfig } from "./strategies/epmd_hosts.ts";
import { GossipStrategy, parseGossipConfig } from "./strategies/gossip.ts";
import { KubernetesDnsStrategy, parseKubernetesDnsConfig } from "./strategies/kubernetes_dns.ts";
import { parseStaticConfig, StaticStrategy } from "./strategies/static.ts";

/** The strategies Weft ships. */
export const STRATEGY_KINDS = [
  "static",
  "epmd_hosts",
  "gossip",
  "dns_poll",
  "kubernetes_dns",
] as const;

/** A strategy Weft ships, by name. */
export type StrategyKind = (typeof STRATEGY_KINDS)[number];

/** One topology. */
export interface TopologySpec {
  /** A strategy by kind (with `config`), or a strategy object of your own. */
  strategy: StrategyKind | Strategy;
  /** The strategy's configuration (for a kind). */
  config?: unknown;
  /** The reconnect schedule. Default: 100 ms doubling up to 5 s. */
  reconnect?: BackoffOptions;
  /** Disconnect nodes the strategy stops listing (unless another topology lists them). Default `false`. */
  disconnectUnlisted?: boolean;
}

/** Everything `startCluster` takes. */
export interface ClusterOptions {
  /** Topologies by name. */
  topologies: Record<string, TopologySpec>;
  /** Quorum against an expected member set. */
  quorum?: QuorumOptions;
  /** Turn partial partitions into clean ones (OTP's `prevent_overlapping_partitions`). Default `false`. */
  preventOverlappingPartitions?: boolean | OverlapGuardOptions;
  /** The node's cookie, for gossip without its own secret. */
  cookie?: string;
  /** Run the chaos agents (`weft_faults`, `weft_chaos`) so `Chaos` can act on this node. Default `false`. */
  chaos?: boolean;
  /**
   * Down the losing side of a partition once membership has been stable
   * for a while (Akka's split-brain resolver); see split_brain.ts. Default off.
   */
  splitBrainResolver?: SplitBrainOptions;
  /** Called when the reachable members fall below the quorum. */
  onPartition?: (status: QuorumStatus) => void;
  /** Called when the quorum is regained. */
  onQuorum?: (status: QuorumStatus) => void;
}

/**
 * Makes a strategy of a kind Weft ships.
 *
 * @param kind the strategy's name (Weft's, or libcluster's module name)
 * @param config its configuration (Weft's keys, or libcluster's)
 * @param path where the config sits, for error messages
 * @returns the strategy, not started
 * @throws {TypeError} for an unknown kind or a malformed config
 * @throws {RangeError} when a number is out of range
 *
 * @example
 * ```ts
 * import { createStrategy } from "./config.ts";
 * const s = createStrategy("dns_poll", { query: "app.internal", nodeBasename: "app" });
 * console.assert(s.kind === "dns_poll");
 * ```
 */
export function createStrategy(kind: string, config: unknown, path = "strategy"): Strategy {
  const translated = fromLibcluster(kind, config, path);
  return createWeftStrategy(translated.kind, translated.config, path);
}

function createWeftStrategy(kind: string, config: unknown, path: string): Strategy {
  switch (kind) {
    case "static":
      return new StaticStrategy(parseStaticConfig(config, `${path}.config`));
    case "epmd_hosts":
      return new EpmdHostsStrategy(parseEpmdHostsConfig(config, `${path}.config`));
    case "gossip":
      return new GossipStrategy(parseGossipConfig(config ?? {}, `${path}.config`));
    case "dns_poll":
      return new DnsPollStrategy(parseDnsPollConfig(config, `${path}.config`));
    case "kubernetes_dns":
      return new KubernetesDnsStrategy(parseKubernetesDnsConfig(config, `${path}.config`));
    default:
      throw configError(
        `${path}.strategy`,
        `unknown strategy "${kind}" (expected one of ${
          [...STRATEGY_KINDS, ...Object.keys(LIBCLUSTER_STRATEGIES)].join(", ")
        })`,
      );
  }
}

/**
 * Checks a cluster configuration read from JSON.
 *
 * @param raw the parsed JSON
 * @returns the options for `startCluster` (strategies by kind, configs checked)
 * @throws {TypeError} naming the bad value
 * @throws {RangeError} when a number is out of range
 *
 * @example
 * ```ts
 * import { parseClusterConfig } from "./config.ts";
 * try {
 *   parseClusterConfig({ topologies: { t: { strategy: "dnspoll" } } });
 * } catch (e) {
 *   console.assert((e as Error).message.includes('unknown strategy "dnspoll"'));
 * }
 * ```
 */
export function parseClusterConfig(raw: unknown): ClusterOptions {
  const o = { ...object(raw, "cluster config") };
  renameSnake(
    o,
    { prevent_overlapping_partitions: "preventOverlappingPartitions" },
    "cluster config",
  );
  onlyKeys(
    o,
    ["topologies", "quorum", "preventOverlappingPartitions", "chaos", "splitBrainResolver"],
    "cluster config",
  );
  const tops = object(o.topologies, "topologies");
  const topologies: Record<string, TopologySpec> = {};
  for (const [name, value] of Object.entries(tops)) {
    const path = `topologies.${name}`;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw configError(path, "a topology name may hold letters, digits, _, . and -");
    }
    const t = { ...object(value, path) };
    refuseElixirOnly(t, path);
    renameSnake(t, { disconnect_unlisted: "disconnectUnlisted" }, path);
    onlyKeys(t, ["strategy", "config", "reconnect", "disconnectUnlisted"], path);
    // libcluster's names and keys become Weft's here, once.
    const { kind, config } = fromLibcluster(string(t, "strategy", path), t.config, path);
    // Made once here so that every config error shows before anything starts.
    createWeftStrategy(kind, config, path);
    const spec: TopologySpec = { strategy: kind as StrategyKind };
    if (config !== undefined) spec.config = config;
    if (t.reconnect !== undefined) {
      spec.reconnect = parseReconnect(t.reconnect, `${path}.reconnect`);
    }
    const disconnect = optionalBoolean(t, "disconnectUnlisted", path);
    if (disconnect !== undefined) spec.disconnectUnlisted = disconnect;
    topologies[name] = spec;
  }
  const options: ClusterOptions = { topologies };
  const chaos = optionalBoolean(o, "chaos", "cluster config");
  if (chaos !== undefined) options.chaos = chaos;
  if (o.quorum !== undefined) options.quorum = parseQuorumConfig(o.quorum, "quorum");
  if (o.splitBrainResolver !== undefined) {
    options.splitBrainResolver = parseSplitBrainConfig(o.splitBrainResolver, "splitBrainResolver");
  }
  const pop = o.preventOverlappingPartitions;
  if (pop !== undefined) {
    if (typeof pop === "boolean") options.preventOverlappingPartitions = pop;
    else {
      const g = object(pop, "preventOverlappingPartitions");
      onlyKeys(g, ["probeInterval", "grace"], "preventOverlappingPartitions");
      const guard: OverlapGuardOptions = {};
      const probe = optionalNumber(g, "probeInterval", "preventOverlappingPartitions", { min: 1 });
      const grace = optionalNumber(g, "grace", "preventOverlappingPartitions", { min: 0 });
      if (probe !== undefined) guard.probeInterval = probe;
      if (grace !== undefined) guard.grace = grace;
      options.preventOverlappingPartitions = guard;
    }
  }
  return options;
}

/**
 * Reads and checks a JSON cluster configuration file (`--cluster-config`).
 *
 * @param path the file
 * @returns the options
 * @throws {TypeError} when the file is not JSON or the config is malformed (the message names the file)
 * @throws {Deno.errors.NotFound} when the file does not exist
 *
 * @example
 * ```ts
 * import { loadClusterConfig } from "./config.ts";
 * const file = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(file, '{"topologies": {"t": {"strategy": "static", "config": {"nodes": []}}}}');
 * console.assert((await loadClusterConfig(file)).topologies.t !== undefined);
 * await Deno.remove(file);
 * ```
 */
export async function loadClusterConfig(path: string): Promise<ClusterOptions> {
  const text = await Deno.readTextFile(path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`Invalid cluster config ${path}: not JSON: ${(e as Error).message}`);
  }
  try {
    return parseClusterConfig(raw);
  } catch (e) {
    const message = (e as Error).message.replace(/^Invalid cluster config: /, "");
    throw e instanceof RangeError
      ? new RangeError(`Invalid cluster config ${path}: ${message}`)
      : new TypeError(`Invalid cluster config ${path}: ${message}`);
  }
}

/** Renames snake_case keys in place (a key given both ways is an error). */
function renameSnake(
  o: Record<string, unknown>,
  names: Record<string, string>,
  path: string,
): void {
  for (const [snake, camel] of Object.entries(names)) {
    if (!(snake in o)) continue;
    if (camel in o) throw configError(`${path}.${snake}`, `given twice (as "${camel}" too)`);
    o[camel] = o[snake];
    delete o[snake];
  }
}

function parseReconnect(raw: unknown, path: string): BackoffOptions {
  const o = object(raw, path);
  onlyKeys(o, ["initial", "max", "jitter"], path);
  const r: BackoffOptions = {};
  const initial = optionalNumber(o, "initial", path, { min: 0 });
  const max = optionalNumber(o, "max", path, { min: 1 });
  const jitter = optionalNumber(o, "jitter", path, { min: 0, max: 0.99 });
  if (initial !== undefined) r.initial = initial;
  if (max !== undefined) r.max = max;
  if (jitter !== undefined) r.jitter = jitter;
  if ((r.initial ?? 100) > (r.max ?? Math.max(5000, r.initial ?? 100))) {
    throw new RangeError(`Invalid cluster config: ${path}: initial must not exceed max`);
  }
  return r;
}
