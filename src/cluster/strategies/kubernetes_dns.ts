/**
 * The `kubernetes_dns` strategy (libcluster's `Kubernetes.DNS` and
 * `Kubernetes.DNSSRV`): the pods behind a headless service, found through
 * the cluster's DNS.
 *
 * - mode `"a"` (default): the A records of
 *   `SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN`, one per ready pod; each pod is
 *   `APP@POD_IP`. Start pods as `--name APP@$(POD_IP)`.
 * - mode `"srv"`: the SRV records of that name (or of `srvName`, such as
 *   `_dist._tcp.SERVICE.NAMESPACE.svc.cluster.local`); each target is a
 *   pod's stable host name, and the pod is `APP@TARGET`
 *   (`app@app-0.app.default.svc.cluster.local`, a StatefulSet's pod). Start
 *   pods as `--name APP@$(hostname -f)`. With `port: "srv"`, each pod is
 *   dialled at the port of its SRV record, at the address its target
 *   resolves to through the same name server.
 *
 * ```json
 * { "strategy": "kubernetes_dns",
 *   "config": { "service": "app-headless", "applicationName": "app", "namespace": "prod" } }
 * ```
 *
 * @example
 * ```ts
 * import { KubernetesDnsStrategy } from "./kubernetes_dns.ts";
 * const s = new KubernetesDnsStrategy({ service: "app", applicationName: "app", mode: "srv" });
 * console.assert(s.query === "app.default.svc.cluster.local" && s.mode === "srv");
 * ```
 *
 * @module
 */

import { parseNodeName } from "../../term/node_name.ts";
import { configError, object, onlyKeys, optionalString, string } from "../_config.ts";
import { type DiscoveredNode, PollingStrategy } from "../strategy.ts";
import { type NameServer, parseNameServer, resolve } from "./_dns.ts";
import { basename, common, nodesAt } from "./dns_poll.ts";

/** Configuration of {@linkcode KubernetesDnsStrategy}. */
export interface KubernetesDnsConfig {
  /** The headless service's name. */
  service: string;
  /** The node name before `@` (libcluster's `application_name`). */
  applicationName: string;
  /** The service's namespace. Default `"default"`. */
  namespace?: string;
  /** The cluster's DNS domain. Default `"cluster.local"`. */
  clusterDomain?: string;
  /** `"a"` (pod IPs, default) or `"srv"` (pod host names from SRV records). */
  mode?: "a" | "srv";
  /** In SRV mode, the name to ask instead of the service's own name. */
  srvName?: string;
  /** The distribution port of every pod, or `"srv"` for the SRV records' ports (SRV mode). */
  port?: number | "srv";
  /** `"ip"` or `"ip:port"` of the name server to ask. Default: the system's resolver. */
  nameServer?: string;
  /** Milliseconds between two polls. Default 5000. */
  pollInterval?: number;
  /** Deadline of each lookup, in milliseconds. Default 2000. */
  timeout?: number;
}

/**
 * Polls a headless service's DNS records.
 *
 * @example
 * ```ts
 * import { KubernetesDnsStrategy } from "./kubernetes_dns.ts";
 * const s = new KubernetesDnsStrategy({ service: "web", applicationName: "web", namespace: "prod" });
 * console.assert(s.query === "web.prod.svc.cluster.local" && s.mode === "a");
 * ```
 */
export class KubernetesDnsStrategy extends PollingStrategy {
  /** `"kubernetes_dns"`. */
  readonly kind = "kubernetes_dns";
  /** The name looked up. */
  readonly query: string;
  /** `"a"` or `"srv"`. */
  readonly mode: "a" | "srv";
  #app: string;
  #port: number | "srv" | undefined;
  #nameServer: NameServer | undefined;
  #timeout: number;

  /**
   * @param config the service, application name, mode and schedule
   * @throws {TypeError} when the config is malformed
   * @throws {RangeError} when a number is out of range
   */
  constructor(config: KubernetesDnsConfig) {
    const c = parseKubernetesDnsConfig(config, "kubernetes_dns");
    super(c.pollInterval ?? 5000);
    this.mode = c.mode ?? "a";
    this.query = this.mode === "srv" && c.srvName !== undefined
      ? c.srvName
      : `${c.service}.${c.namespace ?? "default"}.svc.${c.clusterDomain ?? "cluster.local"}`;
    this.#app = c.applicationName;
    this.#port = c.port;
    this.#nameServer = c.nameServer !== undefined
      ? parseNameServer(c.nameServer, "kubernetes_dns.nameServer")
      : undefined;
    this.#timeout = c.timeout ?? 2000;
  }

  /** The A records, or the SRV records and their targets' addresses. */
  protected override async discover(): Promise<DiscoveredNode[]> {
    const opts = { nameServer: this.#nameServer, timeout: this.#timeout };
    if (this.mode === "a") {
      const ips = await resolve(this.query, "A", opts);
      return nodesAt(this.#app, ips, typeof this.#port === "number" ? this.#port : undefined);
    }
    const records = await resolve(this.query, "SRV", opts);
    const out = new Map<string, DiscoveredNode>();
    await Promise.all(records.map(async (r) => {
      const target = r.target.replace(/\.$/, "");
      let full: string;
      try {
        full = parseNodeName(`${this.#app}@${target}`).full;
      } catch {
        return;
      }
      const port = this.#port === "srv" ? r.port : this.#port;
      if (port === undefined) {
        out.set(full, { name: full });
        return;
      }
      // Dial the address the target has at this name server (the system's
      // resolver may not know the service's names).
      const [ip] = await resolve(target, "A", opts).catch(() => [] as string[]);
      out.set(full, { name: full, address: { hostname: ip ?? target, port } });
    }));
    return [...out.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }
}

/**
 * Reads a `kubernetes_dns` config from JSON.
 *
 * @param raw the `config` value
 * @param path where it sits, for error messages
 * @returns the config
 * @throws {TypeError} naming the bad value
 *
 * @example
 * ```ts
 * import { parseKubernetesDnsConfig } from "./kubernetes_dns.ts";
 * const c = parseKubernetesDnsConfig({ service: "s", applicationName: "app", port: "srv", mode: "srv" }, "c");
 * console.assert(c.port === "srv");
 * ```
 */
export function parseKubernetesDnsConfig(raw: unknown, path: string): KubernetesDnsConfig {
  const o = object(raw, path);
  onlyKeys(o, [
    "service",
    "applicationName",
    "namespace",
    "clusterDomain",
    "mode",
    "srvName",
    "port",
    "nameServer",
    "pollInterval",
    "timeout",
  ], path);
  const c: KubernetesDnsConfig = {
    service: string(o, "service", path),
    applicationName: basename(o, path, "applicationName"),
  };
  Object.assign(c, common(o, path));
  const namespace = optionalString(o, "namespace", path);
  const clusterDomain = optionalString(o, "clusterDomain", path);
  const srvName = optionalString(o, "srvName", path);
  if (namespace !== undefined) c.namespace = namespace;
  if (clusterDomain !== undefined) c.clusterDomain = clusterDomain;
  if (srvName !== undefined) c.srvName = srvName;
  if (o.mode !== undefined) {
    if (o.mode !== "a" && o.mode !== "srv") {
      throw configError(
        `${path}.mode`,
        `expected "a" or "srv", received ${JSON.stringify(o.mode)}`,
      );
    }
    c.mode = o.mode;
  }
  if (o.port === "srv") {
    if (c.mode !== "srv") throw configError(`${path}.port`, `"srv" needs mode "srv"`);
    c.port = "srv";
  }
  if (srvName !== undefined && c.mode !== "srv") {
    throw configError(`${path}.srvName`, `needs mode "srv"`);
  }
  return c;
}
