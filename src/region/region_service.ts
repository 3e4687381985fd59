/**
 * Multi-region clusters: one full mesh per region, regions linked only
 * through gateway nodes, replicated keys and topic broadcasts carried
 * between regions in batches, and messages to another region's nodes
 * relayed through the gateways. One per node (`node.regions`), started
 * when the node has `regions` options (`--cluster-config` in the
 * multi-region form, with `--region NAME`).
 *
 * ```
 * own region      visible mesh (the region's topologies): pg, pubsub, global, the
 *                 replicator and Node.list() stay here
 * gateways        the `gateways` lowest-named members (directory.ts); each dials the other
 *                 regions' gateways with hidden connections (found through those regions'
 *                 topologies), so connections grow with gateways x regions, not nodes^2
 * G1 <-> G2       HELLO [v, region, members, gateways] when a link comes up or a region changes
 * L -> region     DIRECTORY [v, [[region, members, gateways]...]] from the leader (first
 *                 gateway): every node learns who is where; a node no longer listed is down
 * n -> far node   the kernel's relay: n --RELAY [n, far, hops, body]--> G1 --> G2 --> far
 *                 (far runs the body as from n: sends, links, monitors, rpc)
 * keys and topics the leader of each region, every batchInterval (the first change after a
 *                 quiet interval at once), to one gateway of each other region:
 *                   L1 --BATCH [seq, sentAt, [[entry, digest]...], [[topic, msg]...]]--> G2
 *                   G2: merge each entry and pass the merged ones to its region as a replicator
 *                   DELTA, broadcast each message in its region; --ACK [seq]--> L1
 *                 a link (re)comes up: L1 --SYNC [0, bucket hashes]--> G2 --[1, buckets]--> L1
 *                   --[2, their keys' digests]--> G2 --WANT [keys]--> L1,
 *                   and each side queues the keys whose digests differ
 * ```
 *
 * Failure. A batch not acknowledged within `resendAfter` is sent again
 * (its keys with their state of the moment; joins are idempotent, so a
 * key applied twice is applied once). A lost gateway is replaced by the
 * next name in its region; the new one dials the other regions and
 * resyncs by digests, so nothing changed meanwhile is lost. A region the
 * leader cannot reach at all: its nodes are down for this region (links
 * and monitors to their processes fire with `noconnection`); every region
 * goes on, and when the link comes back the digests find what differs.
 * Malformed region operations are dropped with a bounded log line.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const regions = {
 *   east: { topologies: {} },
 *   west: { topologies: {} },
 * };
 * const base = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
 * const e = await startNode({ ...base, name: "e1@127.0.0.1", regions: { region: "east", regions } });
 * const w = await startNode({ ...base, name: "w1@127.0.0.1", regions: { region: "west", regions } });
 * await e.regions!.link("west", `w1@127.0.0.1:${w.port}`);
 * console.assert(e.list().length === 0 && e.list("hidden")[0] === "w1@127.0.0.1");
 * await Promise.all([e.stop(), w.stop()]);
 * ```
 *
 * @module
 */

import type { Strategy } from "../cluster/strategy.ts";
import { createStrategy } from "../cluster/config.ts";
import type { NetKernel, NodeDownMessage, NodeUpMessage } from "../distribution/net_kernel.ts";
import { logger, LogLimit, logLimited } from "../log.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ProcessContext } from "../process/types.ts";
import type { PubSub } from "../pubsub/pubsub.ts";
import { hashString } from "../replicator/digest_tree.ts";
import type { Replicator } from "../replicator/replicator.ts";
import { OP_DELTA, REPLICATOR_VERSION } from "../replicator/types.ts";
import { encode } from "../term/codec.ts";
import { parseNodeName } from "../term/node_name.ts";
import { RegionDirectory } from "./directory.ts";
import {
  MAX_RELAY_HOPS,
  OP_REGION_ACK,
  OP_REGION_BATCH,
  OP_REGION_DIRECTORY,
  OP_REGION_HELLO,
  OP_REGION_RELAY,
  OP_REGION_SYNC,
  OP_REGION_WANT,
  REGION_VERSION,
  type RegionOptions,
} from "./types.ts";

const log = logger("region");

/** The region service of a node, in its context. */
export const REGIONS: ServiceKey<RegionService> = new ServiceKey("regions");

/** Default milliseconds between two batches to another region. */
export const DEFAULT_BATCH_INTERVAL = 50;
/** Default milliseconds a batch waits for its acknowledgement. */
export const DEFAULT_RESEND_AFTER = 1000;
/** Milliseconds between two dialling rounds of a gateway. */
const DIAL_INTERVAL = 500;
/** Buckets a SYNC compares first; then only the keys of the buckets that differ. */
const SYNC_BUCKETS = 256;
const SYNC_BUCKETS_STEP = 0;
const SYNC_DIFFER_STEP = 1;
const SYNC_KEYS_STEP = 2;
/** Dialling rounds between two refreshes of HELLO and DIRECTORY (5 s). */
const REFRESH_ROUNDS = 10;
/** Milliseconds `link` waits for the other side's HELLO. */
const LINK_TIMEOUT = 5000;
/** Lag samples kept per region. */
const LAG_SAMPLES = 1024;

/** What the region service needs of its node. */
export interface RegionHost {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node's kernel. */
  kernel: NetKernel;
  /** The node's replicator (replicated keys). */
  replicator: Replicator;
  /** The node's pubsub (carried topics). */
  pubsub: PubSub;
  /** The cookie (for discovery strategies that sign). */
  cookie?: string;
  /** The port this node listens on. */
  listenPort: number;
}

/** Replication from one other region, as measured on this node. */
export interface RegionLag {
  /** The region the batches came from. */
  from: string;
  /** Batches taken in. */
  batches: number;
  /** Keys merged. */
  keys: number;
  /** Milliseconds from the sending gateway's batch to its merge here: the median. */
  p50: number;
  /** The 99th percentile. */
  p99: number;
  /** The last batch's. */
  last: number;
}

/** Traffic to one other region from this node. */
export interface RegionTraffic {
  /** The region. */
  to: string;
  /** The gateway batches go to now, if any. */
  target: string | undefined;
  /** Batches sent. */
  batches: number;
  /** Batches sent again for want of an acknowledgement. */
  resent: number;
  /** Bytes of batches, syncs and wants sent. */
  bytes: number;
  /** Keys sent. */
  keys: number;
  /** Batches waiting for their acknowledgement. */
  unacked: number;
}

/** What `status()` reports. */
export interface RegionStatus {
  /** This node's region. */
  region: string;
  /** Its members. */
  members: string[];
  /** Its gateways, the leader first. */
  gateways: string[];
  /** Whether this node is a gateway. */
  gateway: boolean;
  /** Other regions: their members and gateways, and the ones this node has a link to. */
  regions: Record<string, { members: string[]; gateways: string[]; links: string[] }>;
}

interface Outbound {
  target: string | undefined;
  seq: number;
  pendingKeys: Set<string>;
  pendingBroadcasts: [string, unknown][];
  unacked: Map<number, { keys: string[]; broadcasts: [string, unknown][]; at: number }>;
  /** The digest the other region is known to hold, per key. */
  known: Map<string, string>;
  batches: number;
  resent: number;
  bytes: number;
  keys: number;
  /** When the last batch left (ms since the epoch). */
  lastSent: number;
  /** Whether a batch is due at the end of this turn (the first change after a quiet interval). */
  soon: boolean;
}

interface Inbound {
  batches: number;
  keys: number;
  lags: number[];
  last: number;
}

/** Multi-region membership, gateways, relaying and replication of one node. */
export class RegionService {
  /** This node's region. */
  readonly region: string;
  readonly #host: RegionHost;
  readonly #options: RegionOptions;
  readonly #dir: RegionDirectory;
  readonly #ctx: ProcessContext;
  readonly #self: string;
  readonly #batchInterval: number;
  readonly #resendAfter: number;
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #topics: string[];
  /** Hidden links to other regions' nodes that said HELLO: region -> nodes. */
  readonly #links = new Map<string, Set<string>>();
  /** Other regions' nodes found by their topologies (or `link`): region -> nodes. */
  readonly #discovered = new Map<string, string[]>();
  readonly #out = new Map<string, Outbound>();
  readonly #in = new Map<string, Inbound>();
  readonly #badOps = new LogLimit();
  readonly #helloWaiters = new Map<string, (() => void)[]>();
  /** The first hop of the path to each node of another region this node has sent to. */
  readonly #via = new Map<string, string>();
  #strategies: Strategy[] = [];
  #strategyAbort: AbortController | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastDial = 0;
  #dialRounds = 0;
  #merging = false;
  #injecting = false;
  #unwatch: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #stopped = false;
  #leading = false;
  readonly #topicHandler = (msg: unknown, topic: string) => this.#localBroadcast(topic, msg);

  /**
   * Starts the region service of a node (`startNode` does, given `regions`).
   *
   * @param host the node's runtime, kernel, replicator and pubsub
   * @param options this node's region and every region
   * @throws {TypeError} when this node's region is not among `regions`
   */
  constructor(host: RegionHost, options: RegionOptions) {
    const spec = options.regions[options.region];
    if (spec === undefined) {
      throw new TypeError(
        `Region "${options.region}" is not in the cluster config (its regions: ${
          Object.keys(options.regions).join(", ")
        })`,
      );
    }
    this.region = options.region;
    this.#host = host;
    this.#options = options;
    this.#self = host.kernel.name;
    this.#dir = new RegionDirectory(options.region, this.#self, spec.gateways ?? 1);
    this.#batchInterval = options.batchInterval ?? DEFAULT_BATCH_INTERVAL;
    this.#resendAfter = options.resendAfter ?? DEFAULT_RESEND_AFTER;
    for (const p of options.replicated ?? []) {
      if (p.endsWith("*")) this.#prefixes.push(p.slice(0, -1));
      else this.#exact.add(p);
    }
    this.#topics = [...(options.topics ?? [])];
    host.runtime.context.provide(REGIONS, this);
    this.#ctx = host.runtime.open({ label: "regions", trapExit: true });
    const kernel = host.kernel;
    kernel.ops.register("multi_region", OP_REGION_HELLO, (n, f) => this.#op(n, "hello", f));
    kernel.ops.register("multi_region", OP_REGION_DIRECTORY, (n, f) => this.#op(n, "dir", f));
    kernel.ops.register("multi_region", OP_REGION_RELAY, (n, f) => this.#op(n, "relay", f));
    kernel.ops.register("multi_region", OP_REGION_BATCH, (n, f) => this.#op(n, "batch", f));
    kernel.ops.register("multi_region", OP_REGION_ACK, (n, f) => this.#op(n, "ack", f));
    kernel.ops.register("multi_region", OP_REGION_SYNC, (n, f) => this.#op(n, "sync", f));
    kernel.ops.register("multi_region", OP_REGION_WANT, (n, f) => this.#op(n, "want", f));
    kernel.relay = {
      route: (node, body, key) => this.#route(node, body, key),
      reachable: (node) => this.#reachable(node),
    };
    for (const r of Object.keys(options.regions)) {
      if (r !== this.region) this.#out.set(r, newOutbound());
    }
    this.#unwatch = host.replicator.watch((key) => this.#keyChanged(key));
    kernel.monitorNodes(this.#ctx.self, true, { nodeType: "all" });
    this.#loop = this.#run();
    this.#membership();
    for (const n of kernel.nodes("hidden")) this.#hiddenUp(n);
    this.#timer = setInterval(() => this.#tick(), this.#batchInterval);
  }

  /** A region's gateways, its leader first (default: this node's region). */
  gateways(region = this.region): string[] {
    return [...(this.#dir.get(region)?.gateways ?? [])];
  }

  /** A region's leader (its first gateway), for the seed's "send to the regional leader". */
  leader(region = this.region): string | undefined {
    return this.#dir.get(region)?.gateways[0];
  }

  /** The region of `node`, when known (its own, or what a gateway listed). */
  regionOf(node: string): string | undefined {
    return this.#dir.regionOf(node);
  }

  /** Every region this node knows of, its own first. */
  regions(): string[] {
    return [this.region, ...this.#dir.foreignRegions()];
  }

  /** Whether this node is one of its region's gateways. */
  isGateway(): boolean {
    return this.#dir.isGateway();
  }

  /** Whether replicated key `key` is carried to every region. */
  isReplicated(key: string): boolean {
    return this.#exact.has(key) || this.#prefixes.some((p) => key.startsWith(p));
  }

  /**
   * Links this node to another region by hand (a gateway whose config gives
   * no discovery for that region, or a test): dials `node` with a hidden
   * connection and waits for its HELLO.
   *
   * @param region the other region
   * @param node a node of it, `name@host` or `name@host:port`
   * @returns whether the link is up and the other side said HELLO
   * @throws {TypeError} when `node` is not a valid node name
   */
  async link(region: string, node: string): Promise<boolean> {
    const name = parseNodeName(node).full;
    const list = this.#discovered.get(region) ?? [];
    if (!list.includes(name)) this.#discovered.set(region, [...list, name].sort());
    const hello = new Promise<void>((resolve) => {
      const waiters = this.#helloWaiters.get(name) ?? [];
      waiters.push(resolve);
      this.#helloWaiters.set(name, waiters);
    });
    if (!(await this.#host.kernel.connectHidden(node))) return false;
    // A gateway says HELLO when a link comes up; any other node says it here.
    if (!this.#dir.isGateway()) this.#hello(name);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, LINK_TIMEOUT));
    await Promise.race([hello, timeout]);
    clearTimeout(timer);
    return this.#links.get(region)?.has(name) ?? false;
  }

  /** Where this node stands: its region, gateways, and what it knows of the others. */
  status(): RegionStatus {
    const regions: RegionStatus["regions"] = {};
    for (const r of this.#dir.foreignRegions()) {
      const e = this.#dir.get(r)!;
      regions[r] = {
        members: [...e.members],
        gateways: [...e.gateways],
        links: [...(this.#links.get(r) ?? [])].sort(),
      };
    }
    return {
      region: this.region,
      members: this.#dir.members(),
      gateways: this.#dir.gateways(),
      gateway: this.#dir.isGateway(),
      regions,
    };
  }

  /** Replication lag from each other region, measured where its batches arrive (a gateway). */
  lag(): RegionLag[] {
    return [...this.#in].sort(([a], [b]) => a < b ? -1 : 1).map(([from, s]) => {
      const sorted = [...s.lags].sort((a, b) => a - b);
      const at = (q: number) =>
        sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return { from, batches: s.batches, keys: s.keys, p50: at(0.5), p99: at(0.99), last: s.last };
    });
  }

  /** What this node sent to each other region (the leader sends). */
  traffic(): RegionTraffic[] {
    return [...this.#out].sort(([a], [b]) => a < b ? -1 : 1).map(([to, o]) => ({
      to,
      target: o.target,
      batches: o.batches,
      resent: o.resent,
      bytes: o.bytes,
      keys: o.keys,
      unacked: o.unacked.size,
    }));
  }

  /** Stops: no more relaying, links to other regions closed; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#unwatch?.();
    this.#lead(false);
    await this.#stopDiscovery();
    const kernel = this.#host.kernel;
    kernel.relay = undefined;
    kernel.ops.unregister("multi_region");
    for (const nodes of this.#links.values()) for (const n of nodes) kernel.disconnect(n);
    this.#links.clear();
    for (const waiters of this.#helloWaiters.values()) for (const w of waiters) w();
    this.#helloWaiters.clear();
    this.#host.runtime.context.remove(REGIONS, this);
    this.#ctx.exit("normal");
    await this.#loop;
  }

  // ------------------------------------------------------------- node events

  async #run(): Promise<void> {
    try {
      for (;;) {
        const msg = await this.#ctx.receive<NodeUpMessage | NodeDownMessage>();
        if (this.#stopped) return;
        if (typeof msg !== "object" || msg === null || typeof msg.node !== "string") continue;
        if (msg.type === "nodeup") {
          if (this.#host.kernel.peer(msg.node)?.hidden) this.#hiddenUp(msg.node);
          else this.#membership(msg.node);
        } else if (msg.type === "nodedown") {
          this.#pathDown(msg.node);
          this.#hiddenDown(msg.node);
          this.#membership();
        }
      }
    } catch {
      // The process exited: the service is stopping.
    }
  }

  /** The visible mesh changed (`joined` came up). */
  #membership(joined?: string): void {
    const kernel = this.#host.kernel;
    const changed = this.#dir.setOwnMembers(kernel.nodes("visible"));
    if (changed) {
      log.info("Region {region}: gateways {gateways}", {
        region: this.region,
        gateways: this.#dir.gateways().join(", "),
      });
    }
    const gateway = this.#dir.isGateway();
    if (gateway) {
      void this.#startDiscovery();
      // The other regions learn this region's new members and gateways.
      for (const nodes of this.#links.values()) for (const n of nodes) this.#hello(n);
    } else {
      void this.#stopDiscovery();
    }
    const leading = gateway && this.#dir.leader() === this.#self;
    if (leading) {
      if (joined !== undefined) this.#sendDirectory([joined]);
      else if (changed) this.#sendDirectory(kernel.nodes("visible"));
    }
    this.#lead(leading);
  }

  /** Becomes (or stops being) the region's leader: the one that sends batches. */
  #lead(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    for (const t of this.#topics) {
      if (leading) this.#host.pubsub.subscribe(t, this.#topicHandler);
      else this.#host.pubsub.unsubscribe(t, this.#topicHandler);
    }
    for (const [r, o] of this.#out) {
      o.target = undefined;
      if (leading) this.#retarget(r);
    }
  }

  #hiddenUp(node: string): void {
    // Its HELLO in return says which region it is in.
    if (this.#dir.isGateway()) this.#hello(node);
  }

  /**
   * The first hop of paths to other regions' nodes is down: for this node
   * they are down too (what was on its way through it is lost), as when a
   * connection is lost: links and monitors fire, calls fail at once.
   */
  #pathDown(hop: string): void {
    for (const [dest, via] of this.#via) {
      if (via !== hop) continue;
      this.#via.delete(dest);
      this.#host.kernel.relayedNodeDown(dest);
    }
  }

  #hiddenDown(node: string): void {
    for (const [r, nodes] of this.#links) {
      if (!nodes.delete(node)) continue;
      if (this.#options.wan !== undefined) this.#host.kernel.setLinkFault(node, undefined);
      const o = this.#out.get(r);
      if (o !== undefined && o.target === node) {
        // What was on its way there goes again through the next target.
        for (const b of o.unacked.values()) {
          for (const k of b.keys) o.pendingKeys.add(k);
          o.pendingBroadcasts.push(...b.broadcasts);
        }
        o.unacked.clear();
        o.target = undefined;
        this.#retarget(r);
      }
      if (nodes.size === 0) this.#regionLost(r);
    }
  }

  /**
   * The leader has no link left to `region`: for this region, its nodes are
   * down (links and monitors to their processes fire) until a link is back.
   */
  #regionLost(region: string): void {
    if (this.#dir.leader() !== this.#self || this.#stopped) return;
    log.warning("Region {region} cannot be reached from {own}", { region, own: this.region });
    this.#setRegion(region, [], this.#dir.get(region)?.gateways ?? []);
  }

  /** Records another region's members; the ones gone are down for this node. */
  #setRegion(region: string, members: readonly string[], gateways: readonly string[]): void {
    const gone = this.#dir.set(region, members, gateways);
    if (gone === undefined) return;
    for (const n of gone) this.#host.kernel.relayedNodeDown(n);
    if (this.#dir.leader() === this.#self) {
      this.#sendDirectory(this.#host.kernel.nodes("visible"));
    }
  }

  #hello(node: string): void {
    this.#send(node, OP_REGION_HELLO, [
      REGION_VERSION,
      this.region,
      this.#dir.members(),
      this.#dir.gateways(),
    ]);
  }

  #sendDirectory(to: Iterable<string>): void {
    const fields = [REGION_VERSION, this.#dir.foreignEntries()];
    for (const n of to) this.#send(n, OP_REGION_DIRECTORY, fields);
  }

  #send(node: string, op: number, fields: unknown[]): void {
    try {
      this.#host.kernel.sendOp(node, op, fields);
    } catch (e) {
      log.warning("Cannot send region operation {op} to {node}: {error}", { op, node, error: e });
    }
  }

  // ------------------------------------------------------------- discovery

  async #startDiscovery(): Promise<void> {
    if (this.#strategyAbort !== undefined || this.#stopped) return;
    const abort = this.#strategyAbort = new AbortController();
    for (const [region, spec] of Object.entries(this.#options.regions)) {
      if (region === this.region) continue;
      for (const [topology, t] of Object.entries(spec.topologies)) {
        if (abort.signal.aborted) return;
        const strategy = typeof t.strategy === "string"
          ? createStrategy(t.strategy, t.config, `regions.${region}.topologies.${topology}`)
          : t.strategy;
        this.#strategies.push(strategy);
        try {
          await strategy.start({
            self: this.#self,
            topology: `${region}/${topology}`,
            cookie: this.#host.cookie,
            listenPort: this.#host.listenPort,
            signal: abort.signal,
            update: (nodes) => {
              for (const n of nodes) {
                if (n.address !== undefined) this.#host.kernel.addAddress(n.name, n.address);
              }
              this.#discovered.set(region, nodes.map((n) => n.name).sort());
            },
          });
        } catch (e) {
          log.warning("Cannot discover region {region} ({topology}): {error}", {
            region,
            topology,
            error: e,
          });
        }
      }
    }
  }

  async #stopDiscovery(): Promise<void> {
    const abort = this.#strategyAbort;
    if (abort === undefined) return;
    this.#strategyAbort = undefined;
    abort.abort();
    const strategies = this.#strategies;
    this.#strategies = [];
    await Promise.allSettled(strategies.map((s) => s.stop()));
  }

  /**
   * A dialling round: a gateway links every known gateway of every other
   * region (and drops links to their other nodes once one answers); any
   * other node drops every link to other regions.
   */
  #dial(): void {
    const kernel = this.#host.kernel;
    if (!this.#dir.isGateway()) {
      // Links made while this node was a gateway (or made to it by a gateway
      // that did not know better) are the gateways' business now.
      for (const nodes of this.#links.values()) {
        for (const n of nodes) kernel.disconnect(n);
        nodes.clear();
      }
      return;
    }
    if (++this.#dialRounds % REFRESH_ROUNDS === 0) {
      // Now and then, what each side knows is said again, so that a lost
      // HELLO or DIRECTORY (a link that dropped as it went) cannot leave a
      // stale view for long.
      for (const nodes of this.#links.values()) for (const n of nodes) this.#hello(n);
      if (this.#dir.leader() === this.#self) this.#sendDirectory(kernel.nodes("visible"));
    }
    for (const region of Object.keys(this.#options.regions)) {
      if (region === this.region) continue;
      const known = this.#dir.get(region)?.gateways ?? [];
      const linked = this.#links.get(region) ?? new Set<string>();
      if (known.length > 0 && linked.size > 0) {
        for (const g of known) if (!linked.has(g)) void kernel.connectHidden(g);
        if (known.some((g) => linked.has(g))) {
          for (const n of linked) {
            if (known.includes(n)) continue;
            linked.delete(n);
            kernel.disconnect(n);
          }
        }
        continue;
      }
      // No link: the gateways it named last, then what discovery found, in order.
      const candidates = [...known, ...(this.#discovered.get(region) ?? [])];
      const next = candidates.find((n) => kernel.peer(n) === undefined);
      if (next !== undefined) void kernel.connectHidden(next);
    }
  }

  // ------------------------------------------------------------- relaying

  #route(node: string, body: Uint8Array, key: unknown): "relayed" | "unreachable" | "direct" {
    const region = this.#dir.regionOf(node);
    if (region === undefined || region === this.region) return "direct";
    const via = this.#nextHop(region, node);
    if (via === undefined) return "unreachable";
    const before = this.#via.get(node);
    if (before !== via) {
      // A new path: what went by the old one may be lost, as over a lost connection.
      if (before !== undefined) this.#host.kernel.relayedNodeDown(node);
      this.#via.set(node, via);
    }
    this.#host.kernel.sendOp(via, OP_REGION_RELAY, [this.#self, node, 0, body], key);
    return "relayed";
  }

  #reachable(node: string): boolean | undefined {
    const region = this.#dir.regionOf(node);
    if (region === undefined || region === this.region) return undefined;
    return this.#dir.get(region)?.members.includes(node) === true &&
      this.#nextHop(region, node) !== undefined;
  }

  /** The next node towards `dest` of `region`: a linked node there, or a gateway here. */
  #nextHop(region: string, dest: string): string | undefined {
    const links = this.#links.get(region);
    if (links !== undefined && links.size > 0) {
      if (links.has(dest)) return dest;
      const gateways = this.#dir.get(region)?.gateways ?? [];
      return gateways.find((g) => links.has(g)) ?? [...links].sort()[0];
    }
    const kernel = this.#host.kernel;
    return this.#dir.gateways().find((g) => g !== this.#self && kernel.peer(g) !== undefined);
  }

  #relay(from: string, fields: readonly unknown[]): void {
    const [origin, dest, hops, body] = fields;
    if (
      typeof origin !== "string" || typeof dest !== "string" || typeof hops !== "number" ||
      !(body instanceof Uint8Array)
    ) throw new TypeError("malformed RELAY");
    if (dest === this.#self) {
      this.#host.kernel.deliverRelayed(origin, body);
      return;
    }
    if (hops + 1 >= MAX_RELAY_HOPS) {
      throw new TypeError(`RELAY from ${origin} to ${dest} went ${hops + 1} hops`);
    }
    const region = this.#dir.regionOf(dest);
    const via = region === this.region ? dest : region && this.#nextHop(region, dest);
    if (via === undefined || via === from) {
      logLimited(
        this.#badOps,
        from,
        (more) =>
          log.info("Dropping a message from {origin} to {dest}: no way there now{more}", {
            origin,
            dest,
            more,
          }),
      );
      return;
    }
    this.#host.kernel.sendOp(via, OP_REGION_RELAY, [origin, dest, hops + 1, body]);
  }

  // ------------------------------------------------------------- operations

  #op(from: string, what: string, fields: readonly unknown[]): void {
    if (this.#stopped) return;
    try {
      switch (what) {
        case "hello":
          return this.#onHello(from, fields);
        case "dir":
          return this.#onDirectory(fields);
        case "relay":
          return this.#relay(from, fields);
        case "batch":
          return this.#onBatch(from, fields);
        case "ack":
          return this.#onAck(from, fields);
        case "sync":
          return this.#onSync(from, fields);
        case "want":
          return this.#onWant(from, fields);
      }
    } catch (e) {
      logLimited(
        this.#badOps,
        from,
        (more) =>
          log.warning("Dropping a region {what} from {node}: {error}{more}", {
            what,
            node: from,
            error: (e as Error).message,
            more,
          }),
      );
    }
  }

  #onHello(from: string, fields: readonly unknown[]): void {
    const [version, region, members, gateways] = fields;
    if (version !== REGION_VERSION) throw new TypeError(`unknown version ${version}`);
    if (typeof region !== "string" || !stringList(members) || !stringList(gateways)) {
      throw new TypeError("malformed HELLO");
    }
    // A node of this region on a hidden link: nothing to do with regions.
    if (region === this.region) return;
    if (this.#options.regions[region] === undefined) {
      throw new TypeError(`${from} says it is in region "${region}", which the config lacks`);
    }
    let links = this.#links.get(region);
    if (links === undefined) this.#links.set(region, links = new Set());
    const isNew = !links.has(from);
    links.add(from);
    if (isNew && this.#options.wan !== undefined) {
      this.#host.kernel.setLinkFault(from, this.#options.wan);
    }
    // Ours first, before anything else goes there: its HELLO may have come
    // before this node's own nodeup (ops run at once, node events queue).
    if (isNew) this.#hello(from);
    this.#setRegion(region, members, gateways);
    for (const resolve of this.#helloWaiters.get(from) ?? []) resolve();
    this.#helloWaiters.delete(from);
    if (this.#leading) this.#retarget(region);
  }

  #onDirectory(fields: readonly unknown[]): void {
    const [version, entries] = fields;
    if (version !== REGION_VERSION || !Array.isArray(entries)) {
      throw new TypeError("malformed DIRECTORY");
    }
    for (const e of entries) {
      if (!Array.isArray(e) || typeof e[0] !== "string" || !stringList(e[1]) || !stringList(e[2])) {
        throw new TypeError("malformed DIRECTORY entry");
      }
      if (this.#options.regions[e[0]] === undefined) continue;
      this.#setRegion(e[0], e[1], e[2]);
    }
  }

  // ------------------------------------------------------------- replication

  /** Where batches to `region` go: the first of its gateways linked, else any link. */
  #retarget(region: string): void {
    const o = this.#out.get(region);
    if (o === undefined || !this.#leading) return;
    const links = this.#links.get(region);
    const gateways = this.#dir.get(region)?.gateways ?? [];
    const target = links === undefined || links.size === 0
      ? undefined
      : gateways.find((g) => links.has(g)) ?? [...links].sort()[0];
    if (target === o.target) return;
    o.target = target;
    if (target === undefined) return;
    // A new link: compare the replicated keys, whatever was sent before.
    o.known.clear();
    this.#sendCounted(o, target, OP_REGION_SYNC, [SYNC_BUCKETS_STEP, this.#bucketHashes()]);
  }

  /** The replicated keys with their digests, by sync bucket. */
  #replicatedDigests(buckets?: ReadonlySet<number>): [string, string][] {
    const out: [string, string][] = [];
    const replica = this.#host.replicator.replica;
    for (const key of this.#host.replicator.keys()) {
      if (!this.isReplicated(key)) continue;
      if (buckets !== undefined && !buckets.has(bucketOf(key))) continue;
      const d = replica.digestOf(key);
      if (d !== undefined) out.push([key, d]);
    }
    return out;
  }

  /** One hash per sync bucket: the XOR of its keys' (key, digest) hashes, so order does not matter. */
  #bucketHashes(): number[] {
    const hashes = new Array<number>(SYNC_BUCKETS).fill(0);
    for (const [key, digest] of this.#replicatedDigests()) {
      const b = bucketOf(key);
      hashes[b] = (hashes[b]! ^ hashString(`${key}\0${digest}`)) >>> 0;
    }
    return hashes;
  }

  #keyChanged(key: string): void {
    if (this.#merging || !this.#leading || !this.isReplicated(key)) return;
    for (const [region, o] of this.#out) {
      o.pendingKeys.add(key);
      this.#sendSoon(region, o);
    }
  }

  #localBroadcast(topic: string, msg: unknown): void {
    if (this.#injecting || !this.#leading) return;
    for (const [region, o] of this.#out) {
      o.pendingBroadcasts.push([topic, msg]);
      this.#sendSoon(region, o);
    }
  }

  /**
   * The first change after a quiet batch interval leaves at the end of this
   * turn, not at the next tick: batching then costs a lone update nothing,
   * while a busy region still sends about one batch per interval.
   */
  #sendSoon(region: string, o: Outbound): void {
    if (o.soon || Date.now() - o.lastSent < this.#batchInterval) return;
    o.soon = true;
    queueMicrotask(() => {
      o.soon = false;
      if (this.#stopped || !this.#leading || this.#out.get(region) !== o) return;
      this.#sendBatch(region, o, Date.now());
    });
  }

  /** Every batch interval: dial, resend what waited too long, send what changed. */
  #tick(): void {
    if (this.#stopped) return;
    const now = Date.now();
    if (now - this.#lastDial >= DIAL_INTERVAL) {
      this.#lastDial = now;
      this.#dial();
    }
    if (!this.#leading) return;
    for (const [region, o] of this.#out) this.#sendBatch(region, o, now);
  }

  /** Resends what waited too long for its acknowledgement, and sends what changed, to `region`. */
  #sendBatch(region: string, o: Outbound, now: number): void {
    if (o.target === undefined) {
      this.#retarget(region);
      if (o.target === undefined) return;
    }
    for (const [seq, b] of o.unacked) {
      if (now - b.at < this.#resendAfter) continue;
      o.unacked.delete(seq);
      o.resent++;
      for (const k of b.keys) o.pendingKeys.add(k);
      o.pendingBroadcasts.push(...b.broadcasts);
    }
    if (o.pendingKeys.size === 0 && o.pendingBroadcasts.length === 0) return;
    const replica = this.#host.replicator.replica;
    const entries: [unknown, string][] = [];
    const keys: string[] = [];
    for (const key of o.pendingKeys) {
      const entry = replica.entry(key);
      const digest = replica.digestOf(key);
      if (entry === undefined || digest === undefined || o.known.get(key) === digest) continue;
      entries.push([entry, digest]);
      keys.push(key);
    }
    o.pendingKeys.clear();
    const broadcasts = o.pendingBroadcasts;
    o.pendingBroadcasts = [];
    if (entries.length === 0 && broadcasts.length === 0) return;
    const seq = ++o.seq;
    o.unacked.set(seq, { keys, broadcasts, at: now });
    o.batches++;
    o.keys += keys.length;
    o.lastSent = now;
    this.#sendCounted(o, o.target, OP_REGION_BATCH, [seq, now, entries, broadcasts]);
  }

  #sendCounted(o: Outbound, node: string, op: number, fields: unknown[]): void {
    try {
      o.bytes += encode(fields).length;
    } catch {
      // The send below logs why it cannot go.
    }
    this.#send(node, op, fields);
  }

  #regionOfLink(from: string): string {
    for (const [r, nodes] of this.#links) if (nodes.has(from)) return r;
    throw new TypeError(`${from} is not linked as another region's node`);
  }

  #onBatch(from: string, fields: readonly unknown[]): void {
    const [seq, sentAt, entries, broadcasts] = fields;
    if (
      typeof seq !== "number" || typeof sentAt !== "number" || !Array.isArray(entries) ||
      !Array.isArray(broadcasts)
    ) throw new TypeError("malformed BATCH");
    const region = this.#regionOfLink(from);
    const o = this.#out.get(region);
    const replica = this.#host.replicator.replica;
    const merged: unknown[] = [];
    this.#merging = true;
    try {
      for (const e of entries) {
        if (!Array.isArray(e) || e.length !== 2 || typeof e[1] !== "string") continue;
        const [entry, digest] = e as [unknown, string];
        if (!replica.load(entry, from)) continue;
        merged.push(entry);
        const key = (entry as [string])[0];
        if (o !== undefined && replica.digestOf(key) === digest) o.known.set(key, digest);
      }
    } finally {
      this.#merging = false;
    }
    this.#injecting = true;
    try {
      for (const b of broadcasts) {
        if (!Array.isArray(b) || typeof b[0] !== "string") continue;
        this.#host.pubsub.broadcast(b[0], b[1]);
      }
    } finally {
      this.#injecting = false;
    }
    // The region's other members take the merged keys in at once, as a delta
    // from this replica would reach them (joins are idempotent: a state is a delta).
    if (merged.length > 0) {
      for (const peer of this.#host.kernel.nodes("visible")) {
        this.#send(peer, OP_DELTA, [REPLICATOR_VERSION, merged]);
      }
    }
    let s = this.#in.get(region);
    if (s === undefined) this.#in.set(region, s = { batches: 0, keys: 0, lags: [], last: 0 });
    s.batches++;
    s.keys += merged.length;
    s.last = Math.max(0, Date.now() - sentAt);
    s.lags.push(s.last);
    if (s.lags.length > LAG_SAMPLES) s.lags.splice(0, s.lags.length - LAG_SAMPLES);
    this.#send(from, OP_REGION_ACK, [seq]);
  }

  #onAck(from: string, fields: readonly unknown[]): void {
    const [seq] = fields;
    if (typeof seq !== "number") throw new TypeError("malformed ACK");
    this.#out.get(this.#regionOfLink(from))?.unacked.delete(seq);
  }

  /**
   * SYNC, in three steps between the leader L that has a new link and the
   * gateway G at its other end, so that the bytes grow with what differs:
   * L --[0, bucket hashes]--> G --[1, buckets that differ]--> L
   * --[2, those buckets, their keys' digests]--> G --WANT [keys]--> L, and G
   * queues its own keys that differ or L lacks.
   */
  #onSync(from: string, fields: readonly unknown[]): void {
    const [step, payload, digests] = fields;
    const o = this.#out.get(this.#regionOfLink(from)) ?? newOutbound();
    if (step === SYNC_BUCKETS_STEP) {
      if (!Array.isArray(payload) || payload.length !== SYNC_BUCKETS) {
        throw new TypeError("malformed SYNC buckets");
      }
      const mine = this.#bucketHashes();
      const differ = mine.flatMap((h, i) => h === payload[i] ? [] : [i]);
      if (differ.length > 0) this.#sendCounted(o, from, OP_REGION_SYNC, [SYNC_DIFFER_STEP, differ]);
      return;
    }
    if (!Array.isArray(payload) || !payload.every((b) => Number.isInteger(b))) {
      throw new TypeError("malformed SYNC bucket list");
    }
    const buckets = new Set(payload as number[]);
    if (step === SYNC_DIFFER_STEP) {
      this.#sendCounted(o, from, OP_REGION_SYNC, [
        SYNC_KEYS_STEP,
        [...buckets],
        this.#replicatedDigests(buckets),
      ]);
      return;
    }
    if (step !== SYNC_KEYS_STEP || !Array.isArray(digests)) throw new TypeError("malformed SYNC");
    const replica = this.#host.replicator.replica;
    const want: string[] = [];
    const theirs = new Set<string>();
    for (const d of digests) {
      if (!Array.isArray(d) || typeof d[0] !== "string" || typeof d[1] !== "string") continue;
      const [key, digest] = d as [string, string];
      theirs.add(key);
      const mine = replica.digestOf(key);
      if (mine === digest) {
        o.known.set(key, digest);
        continue;
      }
      want.push(key);
      if (mine !== undefined) o.pendingKeys.add(key);
    }
    // Keys of those buckets they lack altogether go to them too (from this region's leader).
    for (const [key] of this.#replicatedDigests(buckets)) {
      if (!theirs.has(key)) o.pendingKeys.add(key);
    }
    this.#sendCounted(o, from, OP_REGION_WANT, [want]);
  }

  #onWant(from: string, fields: readonly unknown[]): void {
    const [keys] = fields;
    if (!stringList(keys)) throw new TypeError("malformed WANT");
    const o = this.#out.get(this.#regionOfLink(from));
    if (o === undefined) return;
    for (const k of keys) {
      o.known.delete(k);
      if (this.#host.replicator.replica.has(k)) o.pendingKeys.add(k);
    }
  }
}

function newOutbound(): Outbound {
  return {
    target: undefined,
    seq: 0,
    pendingKeys: new Set(),
    pendingBroadcasts: [],
    unacked: new Map(),
    known: new Map(),
    batches: 0,
    resent: 0,
    bytes: 0,
    keys: 0,
    lastSent: 0,
    soon: false,
  };
}

function bucketOf(key: string): number {
  return hashString(key) % SYNC_BUCKETS;
}

function stringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}
