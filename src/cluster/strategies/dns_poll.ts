/**
 * The `dns_poll` strategy (libcluster's `Cluster.Strategy.DNSPoll`): every
 * poll looks up the A and AAAA records of a query name, and each address
 * becomes the node `basename@address` (`app@10.0.0.7`, `app@[fd00::7]`).
 * With `port`, the nodes are dialled at that port directly (every node
 * listening on the same port, `--no-epmd`, as in containers); without it,
 * through the port mapper on each address.
 *
 * ```json
 * { "strategy": "dns_poll",
 *   "config": { "query": "app.internal", "nodeBasename": "app", "pollInterval": 5000 } }
 * ```
 *
 * `nameServer` (`"10.0.0.2"` or `"127.0.0.1:5353"`) asks that server instead
 * of the system's resolver. A lookup that fails keeps the last answer; a
 * name with no records is an empty answer.
 *
 * @example
 * ```ts
 * import { DnsPollStrategy } from "./dns_poll.ts";
 * const s = new DnsPollStrategy({ query: "app.internal", nodeBasename: "app" });
 * console.assert(s.kind === "dns_poll" && s.pollInterval === 5000);
 * ```
 *
 * @module
 */

import { parseNodeName } from "../../term/node_name.ts";
import {
  configError,
  object,
  onlyKeys,
  optionalNumber,
  optionalString,
  type Raw,
  string,
} from "../_config.ts";
import { type DiscoveredNode, PollingStrategy } from "../strategy.ts";
import { type NameServer, parseNameServer, resolve } from "./_dns.ts";

/** Configuration of {@linkcode DnsPollStrategy}. */
export interface DnsPollConfig {
  /** The name whose records list the nodes. */
  query: string;
  /** The node name before `@`. */
  nodeBasename: string;
  /** Milliseconds between two polls. Default 5000. */
  pollInterval?: number;
  /** The distribution port of every node; without it the port mapper is asked. */
  port?: number;
  /** `"ip"` or `"ip:port"` of the name server to ask. Default: the system's resolver. */
  nameServer?: string;
  /** Which records to ask for. Default both `"A"` and `"AAAA"`. */
  recordTypes?: ("A" | "AAAA")[];
  /** Deadline of each lookup, in milliseconds. Default 2000. */
  timeout?: number;
}

/**
 * Polls the A/AAAA records of a name.
 *
 * @example
 * ```ts
 * import { DnsPollStrategy } from "./dns_poll.ts";
 * const s = new DnsPollStrategy({ query: "q", nodeBasename: "app", nameServer: "127.0.0.1:5353" });
 * console.assert(s.query === "q");
 * ```
 */
export class DnsPollStrategy extends PollingStrategy {
  /** `"dns_poll"`. */
  readonly kind = "dns_poll";
  /** The name looked up. */
  readonly query: string;
  #basename: string;
  #port: number | undefined;
  #nameServer: NameServer | undefined;
  #types: ("A" | "AAAA")[];
  #timeout: number;

  /**
   * @param config the query, basename, schedule and name server
   * @throws {TypeError} when the config is malformed
   * @throws {RangeError} when a number is out of range
   */
  constructor(config: DnsPollConfig) {
    const c = parseDnsPollConfig(config, "dns_poll");
    super(c.pollInterval ?? 5000);
    this.query = c.query;
    this.#basename = c.nodeBasename;
    this.#port = c.port;
    this.#nameServer = c.nameServer !== undefined
      ? parseNameServer(c.nameServer, "dns_poll.nameServer")
      : undefined;
    this.#types = c.recordTypes ?? ["A", "AAAA"];
    this.#timeout = c.timeout ?? 2000;
  }

  /** Looks up each record type; fails only when every lookup fails. */
  protected override async discover(): Promise<DiscoveredNode[]> {
    const opts = { nameServer: this.#nameServer, timeout: this.#timeout };
    const answers = await Promise.allSettled(this.#types.map((t) => resolve(this.query, t, opts)));
    const ok = answers.filter((a) => a.status === "fulfilled");
    if (ok.length === 0) throw (answers[0] as PromiseRejectedResult).reason;
    const addresses = ok.flatMap((a) => (a as PromiseFulfilledResult<string[]>).value);
    return nodesAt(this.#basename, addresses, this.#port);
  }
}

/**
 * `basename@address` for each address, with the dial address when the
 * port is known.
 *
 * @param basename the name before `@`
 * @param addresses IPv4 or IPv6 addresses
 * @param port the distribution port, when fixed
 * @returns the nodes, sorted, without duplicates
 *
 * @example
 * ```ts
 * import { nodesAt } from "./dns_poll.ts";
 * const nodes = nodesAt("app", ["10.0.0.2", "::1"], 9000);
 * console.assert(nodes[0]!.name === "app@10.0.0.2" && nodes[1]!.name === "app@[::1]");
 * console.assert(nodes[1]!.address?.port === 9000);
 * ```
 */
export function nodesAt(basename: string, addresses: string[], port?: number): DiscoveredNode[] {
  const out = new Map<string, DiscoveredNode>();
  for (const ip of addresses) {
    const full = parseNodeName(`${basename}@${ip.includes(":") ? `[${ip}]` : ip}`).full;
    out.set(
      full,
      port !== undefined ? { name: full, address: { hostname: ip, port } } : { name: full },
    );
  }
  return [...out.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Reads a `dns_poll` config from JSON.
 *
 * @param raw the `config` value
 * @param path where it sits, for error messages
 * @returns the config
 * @throws {TypeError} naming the bad value
 *
 * @example
 * ```ts
 * import { parseDnsPollConfig } from "./dns_poll.ts";
 * console.assert(parseDnsPollConfig({ query: "q", nodeBasename: "app" }, "c").query === "q");
 * ```
 */
export function parseDnsPollConfig(raw: unknown, path: string): DnsPollConfig {
  const o = object(raw, path);
  onlyKeys(o, [
    "query",
    "nodeBasename",
    "pollInterval",
    "port",
    "nameServer",
    "recordTypes",
    "timeout",
  ], path);
  const c: DnsPollConfig = { query: string(o, "query", path), nodeBasename: basename(o, path) };
  if (o.port === "srv") {
    throw configError(
      `${path}.port`,
      `"srv" is for kubernetes_dns in srv mode; give a port number`,
    );
  }
  Object.assign(c, common(o, path));
  if (o.recordTypes !== undefined) {
    const types = o.recordTypes;
    if (
      !Array.isArray(types) || types.length === 0 ||
      !types.every((t) => t === "A" || t === "AAAA")
    ) {
      throw configError(`${path}.recordTypes`, `expected a non-empty list of "A" and "AAAA"`);
    }
    c.recordTypes = [...types];
  }
  return c;
}

/** The node base name, checked to make valid node names. */
export function basename(o: Raw, path: string, key = "nodeBasename"): string {
  const name = string(o, key, path);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw configError(`${path}.${key}`, `may hold letters, digits, _ and -, received "${name}"`);
  }
  return name;
}

/** `pollInterval`, `port`, `nameServer` and `timeout`, shared by the DNS strategies. */
export function common(
  o: Raw,
  path: string,
): { pollInterval?: number; port?: number; nameServer?: string; timeout?: number } {
  const c: { pollInterval?: number; port?: number; nameServer?: string; timeout?: number } = {};
  const pollInterval = optionalNumber(o, "pollInterval", path, { min: 1 });
  const timeout = optionalNumber(o, "timeout", path, { min: 1 });
  const nameServer = optionalString(o, "nameServer", path);
  if (pollInterval !== undefined) c.pollInterval = pollInterval;
  if (timeout !== undefined) c.timeout = timeout;
  if (nameServer !== undefined) {
    parseNameServer(nameServer, `${path}.nameServer`);
    c.nameServer = nameServer;
  }
  if (o.port !== "srv") {
    const port = optionalNumber(o, "port", path, { min: 1, max: 65535, integer: true });
    if (port !== undefined) c.port = port;
  }
  return c;
}
