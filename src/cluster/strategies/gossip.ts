/**
 * The `gossip` strategy (libcluster's `Cluster.Strategy.Gossip`): nodes
 * announce themselves over UDP and believe in every node they hear from,
 * first hand or relayed. Heartbeats are signed with an HMAC of the cookie
 * (or of `secret`), so only nodes holding it are believed.
 *
 * Two ways to reach the others:
 *
 * - **unicast seeds** (`seeds: ["10.0.0.1:45892", ...]`): each heartbeat
 *   goes to the seeds and to every member known so far, and carries the
 *   members the sender knows; a node that hears of a new member
 *   introduces itself to it at once. One reachable seed is enough to
 *   learn the whole cluster. Works anywhere UDP does, loopback included.
 * - **multicast** (no `seeds`): heartbeats go to `multicastAddr:port`,
 *   which every node binds. Deno offers multicast only under
 *   `--unstable-net`; without it, starting fails with a message saying so.
 *
 * ```
 * every heartbeatInterval:  seq + 1; send [self, members...] to seeds + members (or the group)
 * on a heartbeat:           check MAC and clock window; for each member: keep the newer
 *                           [incarnation, seq]; a new one -> introduce ourselves, update()
 * a member silent (no newer seq) for expireAfter -> dropped, update()
 * ```
 *
 * Each member's distribution address travels with it, so gossip needs no
 * port mapper.
 *
 * @example
 * ```ts
 * import { GossipStrategy } from "./gossip.ts";
 * const g = new GossipStrategy({ ifAddr: "127.0.0.1", port: 0, seeds: ["127.0.0.1:45892"] });
 * console.assert(g.kind === "gossip" && g.mode === "unicast");
 * ```
 *
 * @module
 */

import { logger } from "../../log.ts";
import { parseNodeName } from "../../term/node_name.ts";
import {
  configError,
  object,
  onlyKeys,
  optionalNumber,
  optionalString,
  stringList,
} from "../_config.ts";
import type { DiscoveredNode, Strategy, StrategyContext } from "../strategy.ts";
import { decodeGossip, encodeGossip, type GossipMember, importGossipKey } from "./gossip_packet.ts";
import { GossipTable } from "./gossip_table.ts";
import { openMulticast, openUnicast, type UdpAddress, type UdpSocket } from "./_udp.ts";

const log = logger("cluster");

/** The port gossip binds unless told otherwise (libcluster's). */
export const GOSSIP_DEFAULT_PORT = 45892;
/** The multicast group unless told otherwise (libcluster's). */
export const GOSSIP_DEFAULT_GROUP = "233.252.1.32";
/** Most members relayed in one heartbeat. */
const MAX_RELAYED = 64;

/** Configuration of {@linkcode GossipStrategy}. */
export interface GossipConfig {
  /** UDP port to bind; 0 picks one (unicast only). Default 45892. */
  port?: number;
  /** Address to bind. Default `"0.0.0.0"`. */
  ifAddr?: string;
  /** `host:port` of nodes to send heartbeats to; without seeds, multicast is used. */
  seeds?: string[];
  /** The multicast group. Default `"233.252.1.32"`. */
  multicastAddr?: string;
  /** Multicast TTL. Default 1. */
  multicastTtl?: number;
  /** The HMAC secret. Default: the cookie. */
  secret?: string;
  /** Milliseconds between two heartbeats. Default 1000. */
  heartbeatInterval?: number;
  /** A member whose heartbeats stop is dropped after this many ms. Default 5 heartbeats. */
  expireAfter?: number;
  /** Heartbeats whose clock is further than this from ours (ms) are refused; 0: no check. Default 60000. */
  maxClockSkew?: number;
  /** The host others should send gossip to. Default `ifAddr`, or this node's host when that is 0.0.0.0. */
  advertiseHost?: string;
  /** The host others should dial for distribution. Default this node's host. */
  distHost?: string;
}

/**
 * Gossip discovery over UDP.
 *
 * @example
 * ```ts
 * import { GossipStrategy } from "./gossip.ts";
 * const g = new GossipStrategy({});
 * console.assert(g.mode === "multicast" && g.heartbeatInterval === 1000);
 * ```
 */
export class GossipStrategy implements Strategy {
  /** `"gossip"`. */
  readonly kind = "gossip";
  /** `"unicast"` with seeds, `"multicast"` without. */
  readonly mode: "unicast" | "multicast";
  /** Milliseconds between two heartbeats. */
  readonly heartbeatInterval: number;
  #config: GossipConfig;
  #seeds: UdpAddress[];
  #expireAfter: number;
  #maxSkew: number;
  #context: StrategyContext | undefined;
  #key: CryptoKey | undefined;
  #socket: UdpSocket | undefined;
  #self: GossipMember | undefined;
  #table: GossipTable | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #pending = new Set<Promise<unknown>>();
  #lastReject = "";

  /**
   * @param config port, seeds or multicast group, secret and timings
   * @throws {TypeError} when the config is malformed
   * @throws {RangeError} when a number is out of range
   */
  constructor(config: GossipConfig) {
    this.#config = parseGossipConfig(config, "gossip");
    this.#seeds = (this.#config.seeds ?? []).map((s, i) => parseHostPort(s, `gossip.seeds[${i}]`));
    this.mode = this.#config.seeds !== undefined ? "unicast" : "multicast";
    this.heartbeatInterval = this.#config.heartbeatInterval ?? 1000;
    this.#expireAfter = this.#config.expireAfter ?? 5 * this.heartbeatInterval;
    this.#maxSkew = this.#config.maxClockSkew ?? 60_000;
    if (this.mode === "multicast" && this.#config.port === 0) {
      throw configError("gossip.port", "multicast needs a fixed port shared by every node");
    }
  }

  /** The address the gossip socket is bound to, once started. */
  get address(): UdpAddress | undefined {
    return this.#socket?.addr;
  }

  /**
   * Binds the socket and sends the first heartbeat.
   *
   * @throws {TypeError} without a secret or cookie, or multicast without `--unstable-net`
   * @throws {Error} when the socket cannot be bound or the group joined
   */
  async start(context: StrategyContext): Promise<void> {
    if (this.#context !== undefined) throw new TypeError("Cannot start gossip: already running");
    this.#context = context;
    const secret = this.#config.secret ?? context.cookie;
    if (secret === undefined) {
      throw new TypeError(
        "Cannot start gossip: give config.secret, or start the cluster with the node's cookie",
      );
    }
    this.#key = await importGossipKey(secret);
    this.#table = new GossipTable(context.self, this.#expireAfter);
    const ifAddr = this.#config.ifAddr ?? "0.0.0.0";
    const port = this.#config.port ?? GOSSIP_DEFAULT_PORT;
    const onMessage = (bytes: Uint8Array, from: UdpAddress) =>
      this.#track(this.#receive(bytes, from));
    this.#socket = this.mode === "unicast"
      ? await openUnicast({ hostname: ifAddr, port }, onMessage)
      : await openMulticast({
        group: this.#config.multicastAddr ?? GOSSIP_DEFAULT_GROUP,
        port,
        ifAddr,
        ttl: this.#config.multicastTtl ?? 1,
      }, onMessage);
    const selfHost = parseNodeName(context.self).host;
    const unspecified = ifAddr === "0.0.0.0" || ifAddr === "::";
    this.#self = {
      name: context.self,
      incarnation: Date.now(),
      seq: 0,
      dist: { hostname: this.#config.distHost ?? selfHost, port: context.listenPort },
      gossip: {
        hostname: this.#config.advertiseHost ?? (unspecified ? selfHost : ifAddr),
        port: this.#socket.addr.port,
      },
    };
    if (this.#stopped) {
      await this.#socket.close();
      return;
    }
    log.debug("Gossip for {node} on {host}:{port} ({mode})", {
      node: context.self,
      host: this.#socket.addr.hostname,
      port: this.#socket.addr.port,
      mode: this.mode,
    });
    this.#tick();
  }

  /** Stops heartbeats and closes the socket. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    await this.#socket?.close();
  }

  /** The nodes heard from (first hand or relayed) and not expired. */
  members(): string[] {
    return this.#table?.names() ?? [];
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p)).catch(() => {});
  }

  /** One heartbeat: expire the silent, announce to everyone, schedule the next. */
  #tick(): void {
    if (this.#stopped) return;
    const gone = this.#table!.expire(Date.now());
    for (const node of gone) {
      log.debug("Gossip: {node} expired (no newer heartbeat for {ms} ms)", {
        node,
        ms: this.#expireAfter,
      });
    }
    this.#self!.seq++;
    this.#track(this.#announce(this.#targets()));
    // The whole answer every heartbeat, changed or not: the topology uses
    // the repeats to bring a backed-off redial forward after a heal.
    this.#report(true);
    this.#timer = setTimeout(() => this.#tick(), this.heartbeatInterval);
  }

  #targets(): UdpAddress[] {
    if (this.mode === "multicast") {
      return [{
        hostname: this.#config.multicastAddr ?? GOSSIP_DEFAULT_GROUP,
        port: this.#socket!.addr.port,
      }];
    }
    const out = new Map<string, UdpAddress>();
    for (const s of this.#seeds) out.set(`${s.hostname}:${s.port}`, s);
    for (const m of this.#table!.members()) {
      out.set(`${m.gossip.hostname}:${m.gossip.port}`, m.gossip);
    }
    out.delete(`${this.#self!.gossip.hostname}:${this.#self!.gossip.port}`);
    if (this.#socket!.addr.hostname !== this.#self!.gossip.hostname) {
      out.delete(`${this.#socket!.addr.hostname}:${this.#socket!.addr.port}`);
    }
    return [...out.values()];
  }

  async #announce(to: UdpAddress[]): Promise<void> {
    if (to.length === 0 || this.#stopped) return;
    const relayed = this.#table!.members()
      .slice(0, MAX_RELAYED)
      .map(({ changedAt: _, ...m }) => m);
    const bytes = await encodeGossip({
      sender: this.#self!.name,
      time: Date.now(),
      members: [{
        ...this.#self!,
        dist: { ...this.#self!.dist },
        gossip: { ...this.#self!.gossip },
      }, ...relayed],
    }, this.#key!);
    if (this.#stopped) return;
    for (const addr of to) this.#socket!.send(bytes, addr);
  }

  async #receive(bytes: Uint8Array, from: UdpAddress): Promise<void> {
    if (this.#stopped || this.#key === undefined) return;
    const result = await decodeGossip(bytes, this.#key);
    if (this.#stopped) return;
    if (!result.ok) {
      this.#rejected(`${result.reason} from ${from.hostname}:${from.port}`);
      return;
    }
    const packet = result.packet;
    if (packet.sender === this.#self!.name) return;
    if (this.#maxSkew > 0 && Math.abs(Date.now() - packet.time) > this.#maxSkew) {
      this.#rejected(`clock of ${packet.sender} is more than ${this.#maxSkew} ms off ours`);
      return;
    }
    const fresh: GossipMember[] = [];
    let changed = false;
    const now = Date.now();
    for (const m of packet.members) {
      const result = this.#table!.merge(m, now);
      if (result === "new") fresh.push(m);
      if (result === "new" || result === "moved") changed = true;
    }
    if (fresh.length > 0) {
      // Introduce ourselves to the new ones at once, so they need not wait for a heartbeat.
      this.#track(
        this.#announce(this.mode === "multicast" ? this.#targets() : fresh.map((m) => m.gossip)),
      );
    }
    this.#report(changed);
  }

  #rejected(why: string): void {
    const level = why === this.#lastReject ? "debug" : "warning";
    this.#lastReject = why;
    log[level]("Gossip: ignoring a heartbeat: {why}", { why });
  }

  #report(changed: boolean): void {
    if (!changed || this.#stopped) return;
    this.#context!.update(
      this.#table!.members().map((m): DiscoveredNode => ({
        name: m.name,
        address: { hostname: m.dist.hostname, port: m.dist.port },
      })),
    );
  }
}

/**
 * Reads a `gossip` config from JSON.
 *
 * @param raw the `config` value
 * @param path where it sits, for error messages
 * @returns the config
 * @throws {TypeError} naming the bad value
 * @throws {RangeError} when a number is out of range
 *
 * @example
 * ```ts
 * import { parseGossipConfig } from "./gossip.ts";
 * console.assert(parseGossipConfig({ seeds: ["127.0.0.1:45892"] }, "c").seeds?.length === 1);
 * ```
 */
export function parseGossipConfig(raw: unknown, path: string): GossipConfig {
  const o = object(raw, path);
  onlyKeys(o, [
    "port",
    "ifAddr",
    "seeds",
    "multicastAddr",
    "multicastTtl",
    "secret",
    "heartbeatInterval",
    "expireAfter",
    "maxClockSkew",
    "advertiseHost",
    "distHost",
  ], path);
  const c: GossipConfig = {};
  const port = optionalNumber(o, "port", path, { min: 0, max: 65535, integer: true });
  const ttl = optionalNumber(o, "multicastTtl", path, { min: 0, max: 255, integer: true });
  const heartbeat = optionalNumber(o, "heartbeatInterval", path, { min: 1 });
  const expire = optionalNumber(o, "expireAfter", path, { min: 1 });
  const skew = optionalNumber(o, "maxClockSkew", path, { min: 0 });
  const strings = ["ifAddr", "multicastAddr", "secret", "advertiseHost", "distHost"] as const;
  if (port !== undefined) c.port = port;
  if (ttl !== undefined) c.multicastTtl = ttl;
  if (heartbeat !== undefined) c.heartbeatInterval = heartbeat;
  if (expire !== undefined) c.expireAfter = expire;
  if (skew !== undefined) c.maxClockSkew = skew;
  for (const key of strings) {
    const v = optionalString(o, key, path);
    if (v !== undefined) c[key] = v;
  }
  if (o.seeds !== undefined) {
    c.seeds = stringList(o, "seeds", path);
    c.seeds.forEach((s, i) => parseHostPort(s, `${path}.seeds[${i}]`));
  }
  if (c.expireAfter !== undefined && c.expireAfter <= (c.heartbeatInterval ?? 1000)) {
    throw new RangeError(
      `Invalid cluster config: ${path}.expireAfter: must be longer than the heartbeat interval`,
    );
  }
  return c;
}

/** `host:port` or `[v6]:port`. */
function parseHostPort(text: string, path: string): UdpAddress {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([A-Za-z0-9_.-]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (m === null || !(port >= 1 && port <= 65535)) {
    throw configError(path, `expected host:port, received "${text}"`);
  }
  return { hostname: m[1]!, port };
}
