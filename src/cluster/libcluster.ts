/**
 * libcluster's configuration, as people write it, carried over to Weft's
 * strategies: its strategy module names and its snake_case config keys,
 * so that a `config.exs` topology written as JSON starts a cluster
 * unchanged.
 *
 * ```elixir
 * config :libcluster, topologies: [
 *   production: [strategy: Cluster.Strategy.Kubernetes.DNS,
 *                config: [service: "my-app", application_name: :my_app, polling_interval: 10_000]]]
 * ```
 *
 * is, in `--cluster-config`:
 *
 * ```json
 * { "topologies": { "production": {
 *     "strategy": "Cluster.Strategy.Kubernetes.DNS",
 *     "config": { "service": "my-app", "application_name": "my_app", "polling_interval": 10000 } } } }
 * ```
 *
 * | libcluster                          | Weft                              |
 * |-------------------------------------|-----------------------------------|
 * | `Cluster.Strategy.Epmd` (`hosts`)   | `static` (`nodes`)                |
 * | `Cluster.Strategy.Gossip`           | `gossip`                          |
 * | `Cluster.Strategy.DNSPoll`          | `dns_poll`                        |
 * | `Cluster.Strategy.Kubernetes.DNS`   | `kubernetes_dns`                  |
 * | `Cluster.Strategy.Kubernetes.DNSSRV`| `kubernetes_dns` in mode `"srv"`  |
 *
 * A module name may carry Elixir's `Elixir.` prefix, and an atom value its
 * leading colon (`":my_app"`). Keys are translated only where libcluster
 * names them (`polling_interval` is Weft's `pollInterval`, and so on);
 * anything else is left as written, so an unknown key is still an error
 * naming the key the user wrote. libcluster options that run Elixir code
 * (`connect`, `disconnect`, `list_nodes`, `resolver`) are refused with a
 * message that says so.
 *
 * @example
 * ```ts
 * import { fromLibcluster } from "./libcluster.ts";
 * const t = fromLibcluster("Cluster.Strategy.DNSPoll", {
 *   query: "my-app-headless.default.svc.cluster.local",
 *   node_basename: "my_app",
 *   polling_interval: 5000,
 * }, "topologies.production");
 * console.assert(t.kind === "dns_poll");
 * console.assert((t.config as { pollInterval: number }).pollInterval === 5000);
 * ```
 *
 * @module
 */

import { configError, describe, type Raw } from "./_config.ts";

/** A Weft strategy kind with its config, from what the user wrote. */
export interface TranslatedStrategy {
  /** Weft's name of the strategy. */
  kind: string;
  /** Its config, with libcluster's keys renamed to Weft's. */
  config: unknown;
}

/** libcluster's strategy modules, by name, to Weft's strategies. */
export const LIBCLUSTER_STRATEGIES: Readonly<Record<string, string>> = Object.freeze({
  "Cluster.Strategy.Epmd": "static",
  "Cluster.Strategy.Gossip": "gossip",
  "Cluster.Strategy.DNSPoll": "dns_poll",
  "Cluster.Strategy.Kubernetes.DNS": "kubernetes_dns",
  "Cluster.Strategy.Kubernetes.DNSSRV": "kubernetes_dns",
});

/** libcluster's (and snake_case) config keys, to Weft's. */
const KEYS: Readonly<Record<string, string>> = {
  polling_interval: "pollInterval",
  poll_interval: "pollInterval",
  node_basename: "nodeBasename",
  application_name: "applicationName",
  if_addr: "ifAddr",
  multicast_addr: "multicastAddr",
  multicast_ttl: "multicastTtl",
  cluster_domain: "clusterDomain",
  name_server: "nameServer",
  record_types: "recordTypes",
  srv_name: "srvName",
  epmd_port: "epmdPort",
  include_hidden: "includeHidden",
  heartbeat_interval: "heartbeatInterval",
  expire_after: "expireAfter",
  max_clock_skew: "maxClockSkew",
  advertise_host: "advertiseHost",
  dist_host: "distHost",
};

/** Values that are atoms in Elixir: a leading colon is dropped. */
const ATOM_KEYS = new Set(["applicationName", "nodeBasename", "mode"]);

/** libcluster options that name Elixir functions: nothing to run them with here. */
const ELIXIR_ONLY = new Set(["connect", "disconnect", "list_nodes", "resolver", "child_spec"]);

/**
 * Translates a strategy given by libcluster's module name (or Weft's own
 * name) and a config with libcluster's keys (or Weft's) to Weft's.
 *
 * @param strategy `Cluster.Strategy.DNSPoll`, `dns_poll`, ...
 * @param config the strategy's config
 * @param path where the topology sits, for error messages
 * @returns Weft's kind and config (the config is checked later, by the strategy)
 * @throws {TypeError} for a key given twice (snake_case and camelCase), an
 *   option that runs Elixir code, or a libcluster value Weft cannot honour
 *
 * @example
 * ```ts
 * import { fromLibcluster } from "./libcluster.ts";
 * const t = fromLibcluster("Cluster.Strategy.Epmd", { hosts: ["a@127.0.0.1", "b@127.0.0.1"] }, "t");
 * console.assert(t.kind === "static" && (t.config as { nodes: string[] }).nodes.length === 2);
 * ```
 */
export function fromLibcluster(
  strategy: string,
  config: unknown,
  path: string,
): TranslatedStrategy {
  const module = strategy.replace(/^:?"?Elixir\./, "").replace(/"$/, "");
  const kind = LIBCLUSTER_STRATEGIES[module];
  if (
    config === undefined || config === null || typeof config !== "object" || Array.isArray(config)
  ) {
    return { kind: kind ?? strategy, config };
  }
  const out = renameKeys(config as Raw, `${path}.config`);
  switch (module) {
    case "Cluster.Strategy.Epmd": {
      // libcluster's Epmd connects to the nodes it lists: Weft's static.
      if ("hosts" in out) {
        out.nodes = Array.isArray(out.hosts) ? out.hosts.map(atom) : out.hosts;
        delete out.hosts;
      }
      break;
    }
    case "Cluster.Strategy.Kubernetes.DNSSRV":
      if (out.mode !== undefined && out.mode !== "srv") {
        throw configError(`${path}.config.mode`, `Kubernetes.DNSSRV is mode "srv"`);
      }
      out.mode = "srv";
      break;
    case "Cluster.Strategy.DNSPoll":
    case "Cluster.Strategy.Kubernetes.DNS":
      // The seed's DNSPoll sets ip_lookup_mode: :dns, which is how Weft looks nodes up.
      if ("ip_lookup_mode" in out) {
        const mode = atom(out.ip_lookup_mode);
        if (mode !== "dns") {
          throw configError(
            `${path}.config.ip_lookup_mode`,
            `only "dns" is supported, received ${describe(out.ip_lookup_mode)}`,
          );
        }
        delete out.ip_lookup_mode;
      }
      break;
  }
  return { kind: kind ?? strategy, config: out };
}

/**
 * Refuses the libcluster topology options that run Elixir code.
 *
 * @param topology a topology as written
 * @param path where it sits
 * @throws {TypeError} naming the option
 */
export function refuseElixirOnly(topology: Raw, path: string): void {
  for (const key of Object.keys(topology)) {
    if (ELIXIR_ONLY.has(key)) {
      throw configError(
        `${path}.${key}`,
        `libcluster's ${key} names Elixir code, which Weft cannot run; leave it out (Weft connects and disconnects nodes itself)`,
      );
    }
  }
}

function renameKeys(raw: Raw, path: string): Raw {
  refuseElixirOnly(raw, path);
  const out: Raw = {};
  const written = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    const to = KEYS[key] ?? key;
    const before = written.get(to);
    if (before !== undefined) {
      throw configError(`${path}.${key}`, `given twice (as "${before}" too)`);
    }
    written.set(to, key);
    out[to] = ATOM_KEYS.has(to) ? atom(value) : value;
  }
  return out;
}

/** An Elixir atom written as a string, with or without its colon. */
function atom(value: unknown): unknown {
  if (typeof value !== "string" || !value.startsWith(":")) return value;
  const quoted = /^:"(.*)"$/.exec(value);
  return quoted !== null ? quoted[1] : value.slice(1);
}
