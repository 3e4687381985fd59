/**
 * The `epmd_hosts` strategy (Erlang's `net_adm:world_list/1`, libcluster's
 * `LocalEpmd` for many hosts): every poll asks the port mapper on each
 * listed host for its registered names (NAMES) and believes in
 * `name@host` for each Weft node among them. A name is checked once per
 * port with PORT_PLEASE2: Erlang nodes (no Weft marker in the entry) and
 * hidden nodes (a remote shell, say) are left out. The port each name is
 * registered on is handed to the kernel, so no second lookup is needed to
 * dial it.
 *
 * ```json
 * { "strategy": "epmd_hosts",
 *   "config": { "hosts": ["10.0.0.1", "10.0.0.2"], "epmdPort": 4369, "pollInterval": 5000 } }
 * ```
 *
 * Node names must use the host exactly as listed (`a@10.0.0.1` and
 * `a@host-1` are different nodes).
 *
 * @example
 * ```ts
 * import { EpmdHostsStrategy } from "./epmd_hosts.ts";
 * const s = new EpmdHostsStrategy({ hosts: ["127.0.0.1"], epmdPort: 4369 });
 * console.assert(s.kind === "epmd_hosts" && s.pollInterval === 5000);
 * ```
 *
 * @module
 */

import {
  isWeftEntry,
  listNames,
  lookupNode,
  NODE_TYPE_HIDDEN,
} from "../../distribution/epmd/mod.ts";
import { parseNodeName } from "../../term/node_name.ts";
import { logger } from "../../log.ts";
import {
  configError,
  object,
  onlyKeys,
  optionalBoolean,
  optionalNumber,
  stringList,
} from "../_config.ts";
import { type DiscoveredNode, PollingStrategy } from "../strategy.ts";

const log = logger("cluster");

/** Configuration of {@linkcode EpmdHostsStrategy}. */
export interface EpmdHostsConfig {
  /** The hosts whose port mappers are asked (`127.0.0.1`, `app-1.internal`). */
  hosts: string[];
  /** The port mappers' port. Default 4369. */
  epmdPort?: number;
  /** Milliseconds between two polls. Default 5000. */
  pollInterval?: number;
  /** Deadline of each port mapper request, in milliseconds. Default 2000. */
  timeout?: number;
  /** Also believe in hidden nodes. Default `false`. */
  includeHidden?: boolean;
}

/**
 * Polls the port mappers of a list of hosts.
 *
 * @example
 * ```ts
 * import { EpmdHostsStrategy } from "./epmd_hosts.ts";
 * const s = new EpmdHostsStrategy({ hosts: ["127.0.0.1"], pollInterval: 1000 });
 * console.assert(s.hosts[0] === "127.0.0.1");
 * ```
 */
export class EpmdHostsStrategy extends PollingStrategy {
  /** `"epmd_hosts"`. */
  readonly kind = "epmd_hosts";
  /** The hosts asked. */
  readonly hosts: readonly string[];
  #epmdPort: number;
  #timeout: number;
  #includeHidden: boolean;
  /** `name@host` -> the port it was checked at, and whether it is a visible Weft node. */
  #checked = new Map<string, { port: number; ok: boolean }>();

  /**
   * @param config hosts, port mapper port and schedule
   * @throws {TypeError} when the config is malformed
   * @throws {RangeError} when a number is out of range
   */
  constructor(config: EpmdHostsConfig) {
    const c = parseEpmdHostsConfig(config, "epmd_hosts");
    super(c.pollInterval ?? 5000);
    this.hosts = c.hosts;
    this.#epmdPort = c.epmdPort ?? 4369;
    this.#timeout = c.timeout ?? 2000;
    this.#includeHidden = c.includeHidden ?? false;
  }

  /** One NAMES request per host (in parallel); a host that does not answer is skipped. */
  protected override async discover(): Promise<DiscoveredNode[]> {
    const answers = await Promise.allSettled(this.hosts.map((host) => this.#host(host)));
    const failed = answers.filter((a) => a.status === "rejected");
    if (failed.length === answers.length && answers.length > 0) {
      throw (failed[0] as PromiseRejectedResult).reason;
    }
    return answers.flatMap((a) => a.status === "fulfilled" ? a.value : []);
  }

  async #host(host: string): Promise<DiscoveredNode[]> {
    const opts = { host, epmdPort: this.#epmdPort, timeout: this.#timeout };
    let names;
    try {
      names = await listNames(opts);
    } catch (e) {
      log.debug("No names from the port mapper on {host}: {error}", { host, error: e });
      throw new Error(
        `Cannot list names on ${host}:${this.#epmdPort}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
    const out: DiscoveredNode[] = [];
    for (const { name, port } of names) {
      let full: string;
      try {
        full = parseNodeName(`${name}@${host}`).full;
      } catch {
        continue;
      }
      let verdict = this.#checked.get(full);
      if (verdict === undefined || verdict.port !== port) {
        const entry = await lookupNode({ ...opts, name }).catch(() => undefined);
        if (entry === undefined) continue;
        const ok = isWeftEntry(entry) &&
          (this.#includeHidden || entry.nodeType !== NODE_TYPE_HIDDEN);
        verdict = { port: entry.port, ok };
        this.#checked.set(full, verdict);
      }
      if (verdict.ok) out.push({ name: full, address: { hostname: host, port } });
    }
    return out;
  }
}

/**
 * Reads an `epmd_hosts` config from JSON.
 *
 * @param raw the `config` value
 * @param path where it sits, for error messages
 * @returns the config
 * @throws {TypeError} naming the bad value
 * @throws {RangeError} when a number is out of range
 *
 * @example
 * ```ts
 * import { parseEpmdHostsConfig } from "./epmd_hosts.ts";
 * console.assert(parseEpmdHostsConfig({ hosts: ["h"] }, "config").hosts[0] === "h");
 * ```
 */
export function parseEpmdHostsConfig(raw: unknown, path: string): EpmdHostsConfig {
  const o = object(raw, path);
  onlyKeys(o, ["hosts", "epmdPort", "pollInterval", "timeout", "includeHidden"], path);
  const hosts = stringList(o, "hosts", path, false);
  hosts.forEach((h, i) => {
    try {
      parseNodeName(`x@${h}`);
    } catch {
      throw configError(`${path}.hosts[${i}]`, `not a host name or address: "${h}"`);
    }
  });
  const c: EpmdHostsConfig = { hosts };
  const epmdPort = optionalNumber(o, "epmdPort", path, { min: 1, max: 65535, integer: true });
  const pollInterval = optionalNumber(o, "pollInterval", path, { min: 1 });
  const timeout = optionalNumber(o, "timeout", path, { min: 1 });
  const includeHidden = optionalBoolean(o, "includeHidden", path);
  if (epmdPort !== undefined) c.epmdPort = epmdPort;
  if (pollInterval !== undefined) c.pollInterval = pollInterval;
  if (timeout !== undefined) c.timeout = timeout;
  if (includeHidden !== undefined) c.includeHidden = includeHidden;
  return c;
}
