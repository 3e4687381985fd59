/**
 * A distributed node: the composition root that puts a name, a cookie, a
 * listener, the port mapper registration, the process runtime and the node
 * kernel together.
 *
 * ```
 * startNode(options)
 *   parse the name (long or short)      -> TypeError when invalid
 *   listen on hostname:port (0 = any)   -> Deno.errors.AddrInUse when taken
 *   port mapper: ensure one runs, register name -> port, get the creation
 *     (or, with noEpmd, a random creation and name@host:port addressing)
 *   Runtime({node, creation}); NetKernel as its router; accept connections
 * node.stop()
 *   runtime shut down (remote links get the processes' exit reasons),
 *   connections flushed and closed (peers see nodedown connection_closed),
 *   listener closed, port mapper registration dropped
 * ```
 *
 * @example
 * ```ts
 * import { startNode } from "./node.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "secret", noEpmd: true, hostname: "127.0.0.1" });
 * const b = await startNode({ name: "b@127.0.0.1", cookie: "secret", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(await a.connect(`b@127.0.0.1:${b.port}`));
 * console.assert(a.list().includes("b@127.0.0.1"));
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

import {
  ensureEpmd,
  EPMD_DEFAULT_PORT,
  isWeftEntry,
  lookupNode,
  type NodeRegistration,
  registerNode,
} from "./distribution/epmd/mod.ts";
import { importCookie } from "./distribution/handshake.ts";
import { ErlangDistribution } from "./erlang/erlang_dist.ts";
import type { Term } from "./etf/mod.ts";
import {
  type MonitorNodesOptions,
  NetKernel,
  type NodeKind,
  type NodeResolver,
} from "./distribution/net_kernel.ts";
import { TcpTransport } from "./distribution/tcp.ts";
import { type TlsOptions, TlsTransport } from "./distribution/tls.ts";
import type { Listener, Transport } from "./distribution/transport.ts";
import { LocalSocketTransport } from "./distribution/local_socket.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_NET_TICKTIME } from "./distribution/types.ts";
import { type Cluster, type ClusterOptions, startCluster } from "./cluster/cluster.ts";
import { RegionService } from "./region/region_service.ts";
import type { RegionOptions } from "./region/types.ts";
import { describeType } from "./errors.ts";
import { logger } from "./log.ts";
import {
  type NodeServices,
  type NodeServicesOptions,
  startNodeServices,
  stopNodeServices,
} from "./node_services.ts";
import { Runtime } from "./process/runtime.ts";
import { RpcPolicy } from "./rpc/policy.ts";
import { longNodeName, type NodeName, parseNodeName, shortNodeName } from "./term/node_name.ts";
import type { Pid } from "./term/pid.ts";

export type {
  MonitorNodesOptions,
  NodeDownMessage,
  NodeKind,
  NodeUpMessage,
} from "./distribution/net_kernel.ts";
export type { TlsOptions } from "./distribution/tls.ts";
export type { NodeServices, NodeServicesOptions } from "./node_services.ts";

const log = logger("dist");

/**
 * Options for {@linkcode startNode}. Give exactly one of `name` and `sname`.
 * The options of the node's services (rpc policy and modules, presence) are
 * those of {@linkcode NodeServicesOptions}.
 */
export interface NodeOptions extends NodeServicesOptions {
  /** A long name: `a` (the machine's full host name is added) or `a@host.domain` / `a@10.0.0.1`. */
  name?: string;
  /** A short name: `a` (the machine's short host name is added) or `a@host`. */
  sname?: string;
  /** The cluster cookie. */
  cookie: string;
  /** The distribution port; 0 (the default) picks a free one. */
  port?: number;
  /** The address to listen on. Default `"0.0.0.0"`, every interface, as Erlang. */
  hostname?: string;
  /** The port mapper's port. Default 4369. */
  epmdPort?: number;
  /** Do without a port mapper: peers are reached as `name@host:port`. */
  noEpmd?: boolean;
  /** Start a port mapper daemon when none answers (as `erl` does). Default `true`. */
  startEpmd?: boolean;
  /** A hidden node: not meshed, listed only as hidden. Default `false`. */
  hidden?: boolean;
  /**
   * Net tick time, in seconds as Erlang's `net_ticktime` and `--net-ticktime`: a silent peer is
   * down after at most this. Default 4. (Every other duration here is in milliseconds.)
   */
  netTicktimeSeconds?: number;
  /** TLS instead of plain TCP: certificate and key, and the cluster CA for mutual TLS. */
  tls?: TlsOptions;
  /** Deadline of connects and handshakes, in milliseconds. Default 5000. */
  handshakeTimeout?: number;
  /**
   * Milliseconds an accepted connection has to send a complete HELLO.
   * Default 2000, or `handshakeTimeout` when that is shorter.
   */
  helloTimeout?: number;
  /** Unauthenticated handshakes held at once (docs/PROTOCOL.md 3.5). Default 256. */
  maxPendingHandshakes?: number;
  /** Unauthenticated handshakes held at once from one address. Default 64. */
  maxPendingHandshakesPerAddress?: number;
  /** A transport to use instead of TCP/TLS (tests use the in-memory one). */
  transport?: Transport;
  /** Messages longer than this are sent in fragments of this size. Default 64 KiB. */
  fragmentSize?: number;
  /**
   * Bytes queued on a connection past which it is busy (`--busy-limit`, as
   * Erlang's `dist_buf_busy_limit`): a process that sends to a busy
   * connection is held back at its next `receive` until the queue drains
   * under half of this. Default 16 MiB.
   */
  busyLimit?: number;
  /** Largest message accepted from a peer. Default 1 GiB. */
  maxMessageSize?: number;
  /**
   * Bytes the unfinished fragmented messages of one connection may hold at
   * once (`--reassembly-budget`); past it the connection closes. Default 1 GiB.
   */
  reassemblyBudget?: number;
  /**
   * Milliseconds a fragmented message may take from its first fragment to
   * its last (`--reassembly-timeout`); past it the connection closes.
   * Default 60 000.
   */
  reassemblyTimeout?: number;
  /**
   * Cluster formation (`--cluster-config`): discovery topologies, quorum
   * and partition handling, started with the node and stopped before it.
   * The node's cookie signs gossip unless a topology gives its own secret.
   */
  cluster?: ClusterOptions;
  /**
   * The directory of the node's durable state (`--data-dir`): durable
   * replicated keys and later stores. Default `~/.weft/data/<node name>`.
   * Nothing is written there until a service needs it.
   */
  dataDir?: string;
  /**
   * Multi-region (`--cluster-config` in its multi-region form with
   * `--region NAME`): this node's region, every region's discovery and
   * gateways, what crosses regions. The node's region's topologies are its
   * cluster's (unless `cluster` is given too). See docs/multi_region.md.
   */
  regions?: RegionOptions;
}

/** A running node: its services (`rpc`, `global`, `pg`, ...) and its connections. */
export interface WeftNode extends NodeServices {
  /** The full node name, `name@host`. */
  readonly name: string;
  /** This incarnation's creation (from the port mapper, or random). */
  readonly creation: number;
  /** The process runtime. */
  readonly runtime: Runtime;
  /** The port the node listens on. */
  readonly port: number;
  /** The node kernel: busy/drain, ops for higher layers. */
  readonly kernel: NetKernel;
  /** Cluster membership, when started with `cluster` options (`--cluster-config`). */
  readonly cluster?: Cluster | undefined;
  /** The directory of the node's durable state (`--data-dir`). */
  readonly dataDir: string;
  /** Its region, gateways and the other regions, when started with `regions`. */
  readonly regions?: RegionService | undefined;
  /**
   * Connects to `node` (`name@host`, or `name@host:port` without a port mapper).
   * @returns `true` once connected, `false` when unreachable or refused
   * @throws {TypeError} when `node` is not a valid node name
   */
  connect(node: string): Promise<boolean>;
  /** Disconnects from `node`; `true` when it was connected. */
  disconnect(node: string): Promise<boolean>;
  /** Connected nodes: `"visible"` (default), `"hidden"`, `"all"`, or `"known"`. */
  list(kind?: NodeKind): string[];
  /** `"pong"` when `node` can be reached and answers, else `"pang"`. */
  ping(node: string): Promise<"pong" | "pang">;
  /** Subscribes `pid` to `{type: "nodeup"|"nodedown", node, reason?}` (or unsubscribes). */
  monitorNodes(pid: Pid, flag?: boolean, options?: MonitorNodesOptions): void;
  /** One `{type: "nodedown", node, reason}` to `pid` when `node` goes down (Erlang's monitor_node). */
  monitorNode(pid: Pid, node: string, flag?: boolean): void;
  /** Leaves the cluster and stops every process; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a distributed node.
 *
 * @param options name, cookie, addressing and timings
 * @returns the running node
 * @throws {TypeError} when the name or cookie is invalid, or neither/both of `name` and `sname` are given,
 *   or an rpc allow pattern or module is malformed
 * @throws {RangeError} when a port or timing is out of range
 * @throws {Deno.errors.AddrInUse} when the port is already in use
 * @throws {EpmdRegistrationError} when another node holds the name at the port mapper
 * @throws {EpmdUnavailableError} when no port mapper answers and none could be started
 * @throws {TypeError} when `cluster` holds a malformed topology (the node is stopped again)
 *
 * @example
 * ```ts
 * import { startNode } from "./node.ts";
 * const node = await startNode({ sname: "x@localhost", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(node.name === "x@localhost" && node.port > 0);
 * await node.stop();
 * ```
 */
export async function startNode(options: NodeOptions): Promise<WeftNode> {
  const parsed = nodeName(options);
  const ticktime = options.netTicktimeSeconds ?? DEFAULT_NET_TICKTIME;
  if (!(typeof ticktime === "number" && ticktime > 0 && ticktime <= 3600)) {
    throw new RangeError(`Invalid net tick time: must be 0-3600 seconds, received ${ticktime}`);
  }
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (!(typeof handshakeTimeout === "number" && handshakeTimeout > 0)) {
    throw new RangeError(
      `Invalid handshake timeout: must be positive, received ${handshakeTimeout}`,
    );
  }
  const port = options.port ?? parsed.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid port: must be 0-65535, received ${port}`);
  }
  const downPeriod = options.presenceDownPeriod;
  if (downPeriod !== undefined && !(typeof downPeriod === "number" && downPeriod >= 0)) {
    throw new RangeError(`Invalid presence down period: must be >= 0 ms, received ${downPeriod}`);
  }
  // Checked before anything is opened: a bad pattern must not leave a listener behind.
  new RpcPolicy({ allow: options.rpcAllow, remoteEval: options.remoteEval });
  const cookie = importCookie(options.cookie);
  const transport = options.transport ??
    (options.tls ? new TlsTransport(options.tls) : new LocalSocketTransport(new TcpTransport()));
  const hostname = options.hostname ?? "0.0.0.0";
  const hidden = options.hidden ?? false;
  const epmdPort = options.epmdPort ?? EPMD_DEFAULT_PORT;
  if (
    options.dataDir !== undefined && (typeof options.dataDir !== "string" || options.dataDir === "")
  ) {
    throw new TypeError(
      `Invalid data directory: expected a non-empty path, received ${
        describeType(options.dataDir)
      }`,
    );
  }
  const dataDir = options.dataDir ?? defaultDataDir(parsed.full);

  let listener: Listener;
  try {
    listener = transport.listen({ hostname, port });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(
        `Cannot start node ${parsed.full}: port ${port} on ${hostname} is already in use`,
        { cause: e },
      );
    }
    throw e;
  }

  let registration: NodeRegistration | undefined;
  let resolve: NodeResolver | undefined;
  try {
    if (!options.noEpmd) {
      if (options.startEpmd ?? true) await ensureEpmd({ port: epmdPort });
      registration = await registerNode({
        epmdPort,
        name: parsed.name,
        port: listener.addr.port,
        hidden,
        timeout: handshakeTimeout,
      });
      resolve = epmdResolver(epmdPort, handshakeTimeout);
    }
  } catch (e) {
    listener.close();
    throw e;
  }

  const runtime = new Runtime({
    node: parsed.full,
    ...(registration !== undefined ? { creation: registration.creation } : {}),
  });
  const kernel = new NetKernel({
    runtime,
    cookie,
    transport,
    listenPort: listener.addr.port,
    hidden,
    ticktime: ticktime * 1000,
    handshakeTimeout,
    ...(options.helloTimeout !== undefined ? { helloTimeout: options.helloTimeout } : {}),
    ...(options.maxPendingHandshakes !== undefined
      ? { maxPendingHandshakes: options.maxPendingHandshakes }
      : {}),
    ...(options.maxPendingHandshakesPerAddress !== undefined
      ? { maxPendingHandshakesPerAddress: options.maxPendingHandshakesPerAddress }
      : {}),
    ...(resolve !== undefined ? { resolve } : {}),
    ...(options.fragmentSize !== undefined ? { fragmentSize: options.fragmentSize } : {}),
    ...(options.busyLimit !== undefined ? { busyLimit: options.busyLimit } : {}),
    ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
    ...(options.reassemblyBudget !== undefined
      ? { reassemblyBudget: options.reassemblyBudget }
      : {}),
    ...(options.reassemblyTimeout !== undefined
      ? { reassemblyTimeout: options.reassemblyTimeout }
      : {}),
  });
  let services: NodeServices | undefined;
  let erlang: ErlangDistribution | undefined;
  if (options.tls === undefined) {
    // Erlang's distribution beside Weft's, on the same port and cookie (docs/erlang.md).
    kernel.attachForeign(
      erlang = new ErlangDistribution({
        runtime,
        transport,
        cookie: options.cookie,
        hidden,
        handshakeTimeout,
        ...(resolve !== undefined ? { lookup: resolve } : {}),
        rex: async (_caller, module, fn, args) => {
          const rpc = services?.rpc;
          if (rpc === undefined) throw new Error("the node is starting");
          if (!rpc.policy.allows(module, fn)) {
            throw new Error(`${module}.${fn} is not allowed by --rpc-allow`);
          }
          return await rpc.call(parsed.full, module, fn, [...args]) as Term;
        },
        pg: {
          localGroups: () => services?.pg.localGroups() ?? [],
          apply: (node, change) => services?.pg.applyForeign(node, change),
        },
      }),
    );
  }
  try {
    services = await startNodeServices(runtime, kernel, { ...options, dataDir });
  } catch (e) {
    await kernel.stop();
    await runtime.shutdown();
    listener.close();
    await registration?.close();
    throw e;
  }
  if (erlang !== undefined) {
    const bridge = erlang;
    services.pg.onLocalChange((kind, group, pids) => bridge.pgLocalChange(kind, group, pids));
  }
  kernel.serve(listener);
  log.info("Node {node} listening on {host}:{port} ({transport}{epmd})", {
    node: parsed.full,
    host: listener.addr.hostname,
    port: listener.addr.port,
    transport: transport.kind,
    epmd: registration ? `, registered with the port mapper on ${epmdPort}` : ", no port mapper",
  });

  let stopping: Promise<void> | undefined;
  let cluster: Cluster | undefined;
  let regions: RegionService | undefined;
  const node: WeftNode = {
    name: parsed.full,
    creation: runtime.creation,
    runtime,
    port: listener.addr.port,
    kernel,
    ...services,
    get cluster() {
      return cluster;
    },
    get regions() {
      return regions;
    },
    dataDir,
    connect: (node) => kernel.connect(node),
    disconnect: (node) => Promise.resolve(kernel.disconnect(node)),
    list: (kind) => kernel.nodes(kind),
    ping: (node) => kernel.ping(node),
    monitorNodes: (pid, flag, opts) => kernel.monitorNodes(pid, flag, opts),
    monitorNode: (pid, node, flag) => kernel.monitorNode(pid, node, flag),
    stop: () =>
      stopping ??= (async () => {
        await regions?.stop();
        await stopNodeServices(services, runtime, cluster);
        await kernel.stop();
        listener.close();
        await registration?.close();
        log.info("Node {node} stopped", { node: parsed.full });
      })(),
  };
  const clusterOptions = options.cluster ??
    (options.regions !== undefined
      ? { topologies: options.regions.regions[options.regions.region]?.topologies ?? {} }
      : undefined);
  try {
    if (options.regions !== undefined) {
      regions = new RegionService({
        runtime,
        kernel,
        replicator: services.replicator,
        pubsub: services.pubsub,
        cookie: options.cookie,
        listenPort: listener.addr.port,
      }, options.regions);
    }
    if (clusterOptions !== undefined) {
      cluster = await startCluster(node, { cookie: options.cookie, ...clusterOptions });
    }
  } catch (e) {
    await node.stop();
    throw e;
  }
  return node;
}

/**
 * The default data directory of a node: `~/.weft/data/<node name>`
 * (`./.weft/data/...` when no home directory is known).
 *
 * @param node the full node name
 * @returns the path
 *
 * @example
 * ```ts
 * import { defaultDataDir } from "./node.ts";
 * console.assert(defaultDataDir("a@127.0.0.1").endsWith("/.weft/data/a@127.0.0.1"));
 * ```
 */
export function defaultDataDir(node: string): string {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return `${home}/.weft/data/${node}`;
}

function nodeName(options: NodeOptions): NodeName {
  if ((options.name === undefined) === (options.sname === undefined)) {
    throw new TypeError("Cannot start node: give exactly one of name and sname");
  }
  if (options.name !== undefined) {
    return options.name.includes("@") ? parseNodeName(options.name) : longNodeName(options.name);
  }
  return options.sname!.includes("@")
    ? parseNodeName(options.sname!)
    : shortNodeName(options.sname!);
}

/** Looks nodes up with the port mapper on their host; Erlang nodes are not Weft peers. */
function epmdResolver(epmdPort: number, timeout: number): NodeResolver {
  return async (node) => {
    const parsed = parseNodeName(node);
    const entry = await lookupNode({ host: parsed.host, epmdPort, name: parsed.name, timeout });
    if (entry === undefined) return undefined;
    return {
      hostname: parsed.host,
      port: entry.port,
      ip: entry.address,
      protocol: isWeftEntry(entry) ? "weft" : "erlang",
    };
  };
}
