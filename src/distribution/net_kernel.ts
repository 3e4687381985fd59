/**
 * The node kernel (OTP's `net_kernel`): the table of connected nodes and
 * its states, connect and disconnect, auto-connect on first use, the
 * transitive mesh, and the {@linkcode SignalRouter} that carries the
 * runtime's signals to other nodes. Node monitoring (`monitorNodes`,
 * `monitorNode`) keeps its subscriptions in `node_monitors.ts`; the
 * kernel tells it when a node comes up or goes down.
 *
 * Node table. Each known node is in one state:
 *
 * ```
 *   (none) --connect / first send / proven HELLO--> pending --handshake ok--> up
 *   pending --all attempts failed--> (none)   links, monitors: noconnection
 *   up --proven HELLO of that name after "alive"--> nodedown, pending (new connection)
 *   up --close, tick timeout, disconnect--> (none)   nodedown
 * ```
 *
 * A pending node queues the signals routed to it and sends them, in order,
 * the moment it is up; if it never comes up, every link and monitor that
 * involves it fires with `noconnection` (the runtime's `nodeDown`).
 *
 * Which attempt brings a pending entry up — ours, the peer's, or the one
 * that wins when both nodes dial each other at once (the larger name's) —
 * is decided in `connection_setup.ts`, as OTP keeps `dist_util` apart
 * from `net_kernel`; the table changes only once a peer has proved the
 * cookie.
 *
 * Mesh. Right after a connection comes up both sides send PEERS: the port
 * they listen on and the visible nodes they are connected to. A receiver
 * connects to each one it does not know yet, so connecting to one member
 * of a cluster connects to all of them (as OTP's `global` arranges).
 * Hidden nodes (either end of the connection hidden) share no peers and
 * are listed only by `nodes("hidden")`.
 *
 * Handshakes run with a deadline; a peer that sends garbage, too large a
 * frame, or nothing at all is closed when it fails or when the deadline
 * passes, and only that connection is affected. Wrong cookies are logged
 * by both sides with the peer's address.
 *
 * @example
 * ```ts
 * import { NetKernel } from "./net_kernel.ts";
 * import { importCookie } from "./handshake.ts";
 * import { MemoryNetwork } from "./memory.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const net = new MemoryNetwork();
 * const cookie = importCookie("secret");
 * const make = (name: string) => {
 *   const runtime = new Runtime({ node: name });
 *   const listener = net.listen({ hostname: "mem", port: 0 });
 *   const kernel = new NetKernel({ runtime, cookie, transport: net, listenPort: listener.addr.port });
 *   kernel.serve(listener);
 *   return { runtime, kernel, listener };
 * };
 * const a = make("a@h");
 * const b = make("b@h");
 * a.kernel.addAddress("b@h", { hostname: "mem", port: b.listener.addr.port });
 * console.assert(await a.kernel.connect("b@h"));
 * console.assert(b.kernel.nodes().includes("a@h"));
 * await a.kernel.stop();
 * await b.kernel.stop();
 * await a.runtime.shutdown();
 * await b.runtime.shutdown();
 * ```
 *
 * @module
 */

import { DecodeError, NoConnectionError } from "../errors.ts";
import { logger, LogLimit, logLimited } from "../log.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Signal, SignalRouter } from "../process/types.ts";
import { parseNodeName, withoutPort } from "../term/node_name.ts";
import type { EncodedParts } from "../term/codec.ts";
import type { Pid } from "../term/pid.ts";
import { MESSAGE_RECEIVED, MESSAGE_SENT, NODE_DOWN, NODE_UP } from "../telemetry/events.ts";
import type { TelemetryEvent } from "../telemetry/telemetry.ts";
import { DistConnection, type DistConnectionOptions, type MessageBody } from "./connection.ts";
import { ConnectionSetup, type NodeEntry, type SetupHost } from "./connection_setup.ts";
import type { ForeignProtocol } from "./foreign_protocol.ts";
import type { FrameReader } from "./frame_reader.ts";
import { type LinkFault, LinkFaults } from "./link_faults.ts";
import { type MonitorNodesOptions, NodeMonitors } from "./node_monitors.ts";
import { type CookieKey, importCookie, type PeerInfo } from "./handshake.ts";
import { OpRegistry } from "./op_registry.ts";
import { decodeBody, encodeOp, encodeSignal, type PeerAddress } from "./ops.ts";
import type { Connection, Listener, Transport, TransportAddress } from "./transport.ts";
import {
  CAP_HIDDEN,
  CAP_SPAWN,
  CAPS_DEFAULT,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_HELLO_TIMEOUT,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS,
  DEFAULT_NET_TICKTIME,
  MAX_PEERS,
  type NodeDownReason,
  OP_PEERS,
  OP_PING,
  OP_PONG,
  OP_SPAWN_REQUEST,
} from "./types.ts";

const log = logger("dist");

/** Which connected nodes {@linkcode NetKernel.nodes} lists. */
export type NodeKind = "visible" | "hidden" | "all" | "known";

export type { MonitorNodesOptions, NodeDownMessage, NodeUpMessage } from "./node_monitors.ts";

export type { LinkFault } from "./link_faults.ts";

/**
 * The way to nodes of other regions ({@linkcode NetKernel.relay}), set by
 * the region service.
 */
export interface Relay {
  /**
   * Carries `body` to `node`, which has no connection from this node.
   *
   * @returns `"relayed"` when it went through a gateway, `"unreachable"`
   *   when `node` is in another region that cannot be reached now (the
   *   message is dropped, as to a node that is down), `"direct"` when
   *   `node` is not another region's (the kernel dials it as usual)
   */
  route(node: string, body: Uint8Array, key: unknown): "relayed" | "unreachable" | "direct";
  /**
   * Whether `node` can be reached through the relay now: `undefined` when
   * it is not a node the relay carries to (the kernel dials it).
   */
  reachable(node: string): boolean | undefined;
}

function flatten(parts: EncodedParts): Uint8Array {
  const out = new Uint8Array(parts.length);
  let off = 0;
  parts.parts.forEach((p, i) => {
    const size = parts.sizes[i]!;
    out.set(p.subarray(0, size), off);
    off += size;
  });
  return out;
}

/** Finds where a node listens (a port mapper lookup); `undefined` when it cannot tell. */
export type NodeResolver = (node: string) => Promise<TransportAddress | undefined>;

export type { OpHandler } from "./op_registry.ts";

/** Options for {@linkcode NetKernel}. */
export interface NetKernelOptions {
  /** The local runtime; the kernel becomes its `router`. */
  runtime: Runtime;
  /** The cookie as an HMAC key (`importCookie`). */
  cookie: CookieKey;
  /** How to reach peers. */
  transport: Transport;
  /** The port this node listens on, told to peers (0 when not listening). */
  listenPort: number;
  /** Finds a node's address; tried before the addresses learnt from names and peers. */
  resolve?: NodeResolver;
  /** Whether this node is hidden. Default `false`. */
  hidden?: boolean;
  /** Net tick time in milliseconds. Default 4000. */
  ticktime?: number;
  /** Deadline of a connect attempt and of each handshake, in milliseconds. Default 5000. */
  handshakeTimeout?: number;
  /**
   * Milliseconds an accepted connection has to send a complete HELLO.
   * Default 2000, or `handshakeTimeout` when that is shorter.
   */
  helloTimeout?: number;
  /** Unauthenticated handshakes held at once; a newer one closes the oldest. Default 256. */
  maxPendingHandshakes?: number;
  /** Unauthenticated handshakes held at once from one address. Default 64. */
  maxPendingHandshakesPerAddress?: number;
  /** Passed to each connection. */
  fragmentSize?: number;
  /**
   * Bytes queued on a connection past which a process sending to it is
   * held back until it drains (`DistConnection`'s `busyLimit`).
   */
  busyLimit?: number;
  /** Passed to each connection. */
  maxMessageSize?: number;
  /** Passed to each connection: bytes its unfinished fragmented messages may hold. */
  reassemblyBudget?: number;
  /** Passed to each connection: milliseconds a fragmented message may take. */
  reassemblyTimeout?: number;
}

/** One connection's figures ({@linkcode NetKernel.connectionStats}). */
export interface ConnectionStats {
  /** The peer node. */
  readonly node: string;
  /** Whether the peer is hidden. */
  readonly hidden: boolean;
  /** The peer's address, as the socket sees it. */
  readonly remoteAddr: string;
  /** Bytes read from the peer since the connection came up. */
  readonly bytesIn: number;
  /** Bytes written to the peer since the connection came up. */
  readonly bytesOut: number;
  /** Messages (process messages and service operations) received. */
  readonly messagesIn: number;
  /** Messages queued to the peer. */
  readonly messagesOut: number;
  /** Bytes queued now, not yet written (the send queue's length). */
  readonly bytesQueued: number;
}

/**
 * The node table and router of one node.
 *
 * @example
 * ```ts
 * import { NetKernel } from "./net_kernel.ts";
 * import { importCookie } from "./handshake.ts";
 * import { MemoryNetwork } from "./memory.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const kernel = new NetKernel({
 *   runtime, cookie: importCookie("c"), transport: new MemoryNetwork(), listenPort: 0,
 * });
 * console.assert(runtime.router === kernel && kernel.nodes().length === 0);
 * await kernel.stop();
 * await runtime.shutdown();
 * ```
 */
export class NetKernel implements SignalRouter {
  /** This node's name. */
  readonly name: string;
  /** Whether this node is hidden. */
  readonly hidden: boolean;
  /**
   * The handlers of the operations of higher layers (op codes 10-11, 32
   * and up; see op_registry.ts): a service registers its codes on start
   * and unregisters them on stop.
   */
  readonly ops: OpRegistry = new OpRegistry();
  #runtime: Runtime;
  #cookie: CookieKey;
  #listenPort: number;
  #resolve: NodeResolver | undefined;
  #ticktime: number;
  #handshakeTimeout: number;
  #connOptions: Pick<
    DistConnectionOptions,
    "fragmentSize" | "busyLimit" | "maxMessageSize" | "reassemblyBudget" | "reassemblyTimeout"
  > = {};
  #capabilities: number;

  #nodes = new Map<string, NodeEntry>();
  /** Nodes this one dials with a hidden connection ({@linkcode NetKernel.connectHidden}). */
  #hiddenTo = new Set<string>();
  /**
   * Carries messages to nodes this one never connects to directly (another
   * region's, through gateways: `region/`); consulted for a node with no
   * connection, before dialling it.
   */
  relay: Relay | undefined;
  /** Failed operation handlers, logged per peer at a bounded rate (a hostile peer's garbage). */
  #opFailureLog = new LogLimit();
  /** Where nodes listen, learnt from `name@host:port` names and PEERS. */
  #addresses = new Map<string, TransportAddress>();
  #monitors: NodeMonitors;
  #pings = new Map<number, (ok: boolean) => void>();
  #nextPing = 1;
  #listeners = new Set<Listener>();
  /** Sockets not yet handed to a connection: handshakes in progress, both directions. */
  /** Dials, accepts and settles connection attempts ({@linkcode ConnectionSetup}). */
  #setup: ConnectionSetup;
  /** Nodes cut off by {@linkcode NetKernel.block} (fault injection): no connection either way. */
  #blocked = new Set<string>();
  /** Injected latency or loss, in front of the send path ({@linkcode LinkFaults}). */
  #faults = new LinkFaults((node, body, key, connect) => this.#sendNow(node, body, key, connect));
  #stopped = false;
  /** Process messages (send, reg_send) sent and received, by node: always counted, for metrics. */
  #messagesSent = new Map<string, number>();
  #messagesReceived = new Map<string, number>();
  /** Telemetry handles (one branch each while nobody listens). */
  #evUp: TelemetryEvent;
  #evDown: TelemetryEvent;
  #evSent: TelemetryEvent;
  #evReceived: TelemetryEvent;
  /** The second wire protocol (Erlang's), when attached: see foreign_protocol.ts. */
  #foreign: ForeignProtocol | undefined;
  /** Connect attempts, handshakes and accept loops in flight, awaited by `stop`. */
  #tasks = new Set<Promise<unknown>>();

  /** @param options the runtime, cookie, transport and timings */
  constructor(options: NetKernelOptions) {
    this.#runtime = options.runtime;
    this.name = options.runtime.node;
    const telemetry = options.runtime.telemetry;
    this.#evUp = telemetry.event(NODE_UP);
    this.#evDown = telemetry.event(NODE_DOWN);
    this.#evSent = telemetry.event(MESSAGE_SENT);
    this.#evReceived = telemetry.event(MESSAGE_RECEIVED);
    this.hidden = options.hidden ?? false;
    this.#cookie = options.cookie;
    this.#listenPort = options.listenPort;
    this.#resolve = options.resolve;
    this.#ticktime = options.ticktime ?? DEFAULT_NET_TICKTIME * 1000;
    this.#handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const handshakeTimeout = this.#handshakeTimeout;
    this.#setup = new ConnectionSetup(this.#setupHost(), {
      transport: options.transport,
      handshakeTimeout,
      helloTimeout: options.helloTimeout ?? Math.min(DEFAULT_HELLO_TIMEOUT, handshakeTimeout),
      maxPendingHandshakes: options.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES,
      maxPendingHandshakesPerAddress: options.maxPendingHandshakesPerAddress ??
        DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS,
    });
    for (
      const key of [
        "fragmentSize",
        "busyLimit",
        "maxMessageSize",
        "reassemblyBudget",
        "reassemblyTimeout",
      ] as const
    ) {
      if (options[key] !== undefined) this.#connOptions[key] = options[key];
    }
    this.#capabilities = CAPS_DEFAULT | (this.hidden ? CAP_HIDDEN : 0);
    this.#monitors = new NodeMonitors(options.runtime, this.hidden);
    if (!(this.#ticktime > 0)) throw new RangeError("Invalid net tick time: must be positive");
    options.runtime.router = this;
  }

  // ---------------------------------------------------------------- public

  /**
   * Accepts connections from `listener` until it closes or the kernel stops.
   *
   * @param listener a listener of this kernel's transport
   */
  serve(listener: Listener): void {
    this.#listeners.add(listener);
    this.#track(
      (async () => {
        for await (const conn of listener) {
          if (this.#stopped) {
            conn.close();
            break;
          }
          this.#setup.accept(conn);
        }
      })().catch((e) => log.error("Listener failed: {error}", { error: e }))
        .finally(() => this.#listeners.delete(listener)),
    );
  }

  /**
   * Speaks a second wire protocol beside Weft's (Erlang's distribution, `src/erlang/`): its
   * peers are listed, monitored and routed to like Weft's. At most one, before `serve`.
   *
   * @param foreign the protocol
   * @throws {TypeError} when one is attached already
   */
  attachForeign(foreign: ForeignProtocol): void {
    if (this.#foreign !== undefined) {
      throw new TypeError(
        `Cannot attach ${foreign.kind}: ${this.#foreign.kind} is attached already`,
      );
    }
    this.#foreign = foreign;
    foreign.attach({
      nodeUp: (node, hidden) => this.#monitors.nodeUp(node, hidden),
      nodeDown: (node, hidden, reason) => this.#monitors.nodeDown(node, hidden, reason),
      blocked: (node) => this.#blocked.has(node),
      weftPeer: (node) => this.#nodes.get(node)?.state === "up",
    });
  }

  /** The second wire protocol, when one is attached ({@linkcode NetKernel.attachForeign}). */
  get foreign(): ForeignProtocol | undefined {
    return this.#foreign;
  }

  /**
   * Remembers where `node` listens, for connects without a port mapper.
   *
   * @param node the full node name
   * @param addr its address
   */
  addAddress(node: string, addr: TransportAddress): void {
    this.#addresses.set(node, addr);
  }

  /**
   * Connects to `node` (`name@host`, or `name@host:port` without a port
   * mapper), unless connected already.
   *
   * @param node the node
   * @returns `true` once connected, `false` when it cannot be reached or
   *   refuses (wrong cookie, ...)
   * @throws {TypeError} when `node` is not a valid node name
   */
  connect(node: string): Promise<boolean> {
    const name = this.#nameOf(node);
    if (name === this.name) return Promise.resolve(true);
    if (this.#stopped || this.#blocked.has(name)) return Promise.resolve(false);
    if (this.#foreign?.has(name)) return this.#foreign.connect(name);
    let e = this.#nodes.get(name);
    if (e !== undefined && e.state !== "pending") return Promise.resolve(true);
    if (e === undefined) {
      e = this.#pendingEntry(name);
      this.#setup.dial(e);
    }
    const entry = e;
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /**
   * Connects to `node` with a hidden connection, as Erlang's
   * `net_kernel:hidden_connect_node/1`: this node announces itself hidden
   * to `node` only, so the two share no peers (neither meshes with the
   * other's nodes) and each lists the other only among `nodes("hidden")`.
   * Multi-region gateways link regions this way. Unless connected already.
   *
   * @param node the node
   * @returns `true` once connected, `false` when it cannot be reached or refuses
   * @throws {TypeError} when `node` is not a valid node name
   */
  connectHidden(node: string): Promise<boolean> {
    const name = this.#nameOf(node);
    if (name !== this.name) this.#hiddenTo.add(name);
    return this.connect(node);
  }

  /**
   * Runs a message body that another node relayed for `origin` (a node
   * this one has no connection to) as if `origin` had sent it: a process
   * signal or a layer's operation. The relaying node vouches for `origin`
   * (it is a member of the cluster, proven by the cookie); a signal still
   * may only speak for `origin`'s own processes.
   *
   * @param origin the node the body came from
   * @param body the message body, as `origin` encoded it for this node
   * @throws {DecodeError} when the body is malformed or not a signal or operation
   */
  deliverRelayed(origin: string, body: Uint8Array): void {
    const d = decodeBody(body, this.name, origin);
    if (d.kind === "signal") {
      this.#runtime.dispatch(d.signal, origin);
      return;
    }
    if (d.kind !== "op") throw new DecodeError(`Cannot relay a ${d.kind} message`);
    const handler = this.ops.handler(d.op);
    if (handler === undefined) {
      log.debug("No handler for relayed operation {op} from {node}", { op: d.op, node: origin });
      return;
    }
    handler(origin, d.fields);
  }

  /**
   * Whether `node` can be reached now: connected, or reached through the
   * relay (another region's node, see {@linkcode NetKernel.relay}).
   *
   * @param node the node
   */
  reachable(node: string): boolean {
    const name = withoutPort(node);
    const e = this.#nodes.get(name);
    if (e !== undefined) return e.conn !== undefined;
    return this.relay?.reachable(name) === true;
  }

  /**
   * A node reached only through the relay is gone (its region says it left,
   * or cannot be reached): links and monitors to its processes fire with
   * `noconnection`, and `monitorNode` watchers get `nodedown` (`connection_closed`), as when a
   * connection is lost.
   *
   * @param node the node
   */
  relayedNodeDown(node: string): void {
    this.#runtime.nodeDown(node);
    this.#monitors.lost(node);
  }

  /**
   * Closes the connection to `node`; both sides see `nodedown` (here with
   * reason `disconnect`, there `connection_closed`).
   *
   * @param node the node
   * @returns `true` when it was connected (or being connected), `false` otherwise
   */
  disconnect(node: string): boolean {
    if (this.#foreign?.has(withoutPort(node))) return this.#foreign.disconnect(withoutPort(node));
    const e = this.#nodes.get(withoutPort(node));
    if (e === undefined) return false;
    if (e.conn !== undefined) {
      e.conn.close("disconnect", "disconnected on request");
    } else {
      this.#fail(e, "disconnected on request");
    }
    return true;
  }

  /**
   * Cuts this node off from `node`, for fault injection (partition tests,
   * `src/cluster/faults.ts`): the connection, if any, is closed (`nodedown`
   * with reason `disconnect` here, `connection_closed` there), and until
   * {@linkcode NetKernel.unblock} connects are refused both ways (ours
   * fail, the peer's get `not_allowed`) and signals to it are dropped as
   * for an unreachable node.
   *
   * @param node the node to cut off
   * @throws {TypeError} when `node` is not a valid node name
   */
  block(node: string): void {
    const name = parseNodeName(node).full;
    if (name === this.name) return;
    this.#blocked.add(name);
    this.disconnect(name);
  }

  /**
   * Lets `node` connect again after {@linkcode NetKernel.block}; nothing
   * reconnects by itself.
   *
   * @param node the node
   * @returns `true` when it was blocked
   */
  unblock(node: string): boolean {
    return this.#blocked.delete(withoutPort(node));
  }

  /** The nodes cut off by {@linkcode NetKernel.block}. */
  blocked(): string[] {
    return [...this.#blocked];
  }

  /**
   * Injects latency or loss on what this node sends to `node` (for chaos
   * tests, `src/cluster/chaos.ts`), or removes it (`undefined`). Messages
   * already delayed still go out, in order, before later ones.
   *
   * @param node the node at the other end
   * @param fault the delay, jitter and drop rate, or `undefined` for none
   * @throws {TypeError} when `node` is not a valid node name
   * @throws {RangeError} when a delay is negative or the drop rate is not in 0-1
   */
  setLinkFault(node: string, fault: LinkFault | undefined): void {
    this.#faults.set(parseNodeName(node).full, fault);
  }

  /** The links with injected latency or loss, by node. */
  linkFaults(): Record<string, LinkFault> {
    return this.#faults.list();
  }

  /**
   * Lists nodes: `"visible"` (default) connected visible nodes, `"hidden"`
   * connected hidden ones, `"all"` both, `"known"` every node this one
   * has heard of, itself included.
   *
   * @param kind which nodes
   * @returns their names
   */
  nodes(kind: NodeKind = "visible"): string[] {
    if (kind === "known") {
      return [...new Set([this.name, ...this.#nodes.keys(), ...this.#addresses.keys()])];
    }
    const out: string[] = [];
    for (const e of this.#nodes.values()) {
      if (e.state === "pending" || e.peer === undefined) continue;
      const hidden = e.peer.hidden || this.hidden;
      if (kind === "all" || (kind === "hidden") === hidden) out.push(e.name);
    }
    if (this.#foreign !== undefined) out.push(...this.#foreign.nodes(kind));
    return out;
  }

  /**
   * Connects if needed and exchanges a PING/PONG with `node`.
   *
   * @param node the node
   * @returns `"pong"` when it answered in time, `"pang"` otherwise
   */
  async ping(node: string): Promise<"pong" | "pang"> {
    let name: string;
    try {
      name = this.#nameOf(node);
    } catch {
      return "pang";
    }
    if (name === this.name) return "pong";
    if (!(await this.connect(node))) return "pang";
    if (this.#foreign?.has(name)) return await this.#foreign.ping(name);
    const e = this.#nodes.get(name);
    if (e?.conn === undefined) return "pang";
    const id = this.#nextPing++;
    const { promise, resolve } = Promise.withResolvers<boolean>();
    this.#pings.set(id, resolve);
    const timer = setTimeout(() => resolve(false), this.#handshakeTimeout);
    e.conn.send(encodeOp(OP_PING, [id]));
    const ok = await promise;
    clearTimeout(timer);
    this.#pings.delete(id);
    return ok ? "pong" : "pang";
  }

  /**
   * Subscribes `pid` to `{type: "nodeup", node}` and
   * `{type: "nodedown", node, reason}` for every node that connects or
   * disconnects, or unsubscribes it.
   *
   * @param pid a local process
   * @param flag `true` to subscribe, `false` to stop
   * @param options which kinds of node to report
   */
  monitorNodes(pid: Pid, flag = true, options: MonitorNodesOptions = {}): void {
    this.#monitors.subscribe(pid, flag, options);
  }

  /**
   * Erlang's `monitor_node/2`: `pid` gets one `{type: "nodedown", node,
   * reason}` when `node` goes down, or at once when it cannot be reached
   * (which is tried). Each call adds one subscription; `flag` `false`
   * removes one.
   *
   * @param pid a local process
   * @param node the node to watch
   * @param flag `true` to watch, `false` to stop watching
   */
  monitorNode(pid: Pid, node: string, flag = true): void {
    const name = this.#nameOf(node);
    if (flag && name === this.name) return;
    this.#monitors.watch(pid, name, flag);
    if (!flag) return;
    const e = this.#nodes.get(name);
    if (e !== undefined && e.state !== "pending") return;
    // A node reached through gateways is watched until the relay says it is gone.
    const relayed = e === undefined ? this.relay?.reachable(name) : undefined;
    if (relayed === true) return;
    if (relayed === false) {
      queueMicrotask(() => this.#monitors.setupFailed(name));
      return;
    }
    this.connect(node).then((ok) => {
      if (!ok) this.#monitors.setupFailed(name);
    });
  }

  /**
   * Sends an operation of a higher layer (`[op, ...fields]`, op >= 32, or
   * SPAWN_REQUEST / SPAWN_REPLY) to `node`, connecting if needed; there,
   * the handler registered in its kernel's {@linkcode NetKernel.ops}
   * serves it.
   *
   * @param node the node
   * @param op the operation code
   * @param fields its fields
   * @param key an order key: operations of one key arrive in order
   * @throws {TypeError} when a field cannot cross the wire or `node` is invalid
   */
  sendOp(node: string, op: number, fields: readonly unknown[], key?: unknown): void {
    const body = encodeOp(op, fields);
    this.#faults.send(this.#nameOf(node), body, key, true);
  }

  /**
   * What the handshake told about a connected node: its creation,
   * capabilities (e.g. `CAP_SPAWN`), whether it is hidden.
   *
   * @param node the node
   * @returns its info, or `undefined` when it is not connected
   */
  peer(node: string): PeerInfo | undefined {
    return this.#nodes.get(withoutPort(node))?.peer;
  }

  /**
   * Changes this node's cookie (Erlang's `erlang:set_cookie/1`): handshakes
   * from now on prove and check the new one; connections already up stay.
   *
   * @param cookie the new cookie
   * @throws {TypeError} when the cookie is empty or not a string
   */
  setCookie(cookie: string): void {
    this.#cookie = importCookie(cookie);
    this.#foreign?.setCookie(cookie);
  }

  /** Whether the connection to `node` has more than its busy limit queued. */
  busy(node: string): boolean {
    return this.#nodes.get(withoutPort(node))?.conn?.busy ?? false;
  }

  /**
   * Waits until the connection to `node` is no longer busy.
   *
   * @throws {NoConnectionError} when the node is not connected or disconnects meanwhile
   */
  drain(node: string): Promise<void> {
    const conn = this.#nodes.get(withoutPort(node))?.conn;
    if (conn === undefined) return Promise.reject(new NoConnectionError(node));
    return conn.drain();
  }

  /**
   * The figures of every connection that is up: bytes and messages each
   * way since it came up, and bytes queued now (for metrics and the observer).
   *
   * @returns one entry per connected node
   */
  connectionStats(): ConnectionStats[] {
    const out: ConnectionStats[] = [];
    for (const e of this.#nodes.values()) {
      const conn = e.conn;
      if (conn === undefined || e.peer === undefined) continue;
      out.push({
        node: e.name,
        hidden: e.peer.hidden,
        remoteAddr: conn.remoteAddr,
        bytesIn: conn.bytesIn,
        bytesOut: conn.bytesOut,
        messagesIn: conn.messagesIn,
        messagesOut: conn.messagesOut,
        bytesQueued: conn.bytesQueued,
      });
    }
    return out;
  }

  /**
   * Process messages (`send`, `reg_send`) sent to and received from each
   * node since this kernel started, across reconnects (for metrics: plain
   * counts, kept whether or not anyone reads them).
   *
   * @returns one entry per node ever messaged or heard from
   */
  messageCounts(): { node: string; sent: number; received: number }[] {
    const out = new Map<string, { node: string; sent: number; received: number }>();
    const entry = (node: string) => {
      const name = withoutPort(node);
      let e = out.get(name);
      if (e === undefined) out.set(name, e = { node: name, sent: 0, received: 0 });
      return e;
    };
    for (const [node, n] of this.#messagesSent) entry(node).sent += n;
    for (const [node, n] of this.#messagesReceived) entry(node).received += n;
    return [...out.values()];
  }

  /** Bytes queued for `node`, on its connection or while it is pending. */
  bytesQueued(node: string): number {
    const e = this.#nodes.get(withoutPort(node));
    if (e === undefined) return 0;
    if (e.conn !== undefined) return e.conn.bytesQueued;
    return e.queue.reduce((n, q) => n + q.body.length, 0);
  }

  /**
   * Carries a signal of the runtime to `node` (the {@linkcode SignalRouter}
   * contract). Sends, links and monitors connect on demand; other signals
   * to an unconnected node are dropped, as in Erlang.
   *
   * @throws {TypeError} when the message or reason cannot cross the wire
   */
  route(node: string, signal: Signal): void {
    if (this.#foreign?.has(node)) {
      this.#foreign.route(node, signal);
      return;
    }
    const body = encodeSignal(signal);
    const op = signal.op;
    const connect = op === "send" || op === "reg_send" || op === "link" || op === "monitor";
    this.#faults.send(node, body, signal.from, connect);
    if (op === "send" || op === "reg_send") {
      this.#messagesSent.set(node, (this.#messagesSent.get(node) ?? 0) + 1);
      if (this.#evSent.attached) this.#evSent.emit({ count: 1 }, { node: this.name, peer: node });
    }
  }

  /**
   * Stops: no more connects, every connection flushed briefly and closed
   * (peers see `connection_closed`), every handshake aborted.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const listener of this.#listeners) listener.close();
    this.#setup.stop();
    await this.#foreign?.stop();
    const entries = [...this.#nodes.values()];
    await Promise.all(entries.map((e) => e.conn?.flush(500)));
    for (const e of entries) {
      if (e.conn !== undefined) e.conn.close("disconnect", "this node is stopping");
      else this.#fail(e, "this node is stopping");
    }
    for (const resolve of this.#pings.values()) resolve(false);
    this.#pings.clear();
    this.#faults.clear();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    if (this.#runtime.router === this) this.#runtime.router = undefined;
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
  }

  /** What this node announces in a handshake starting now. */
  #capabilitiesNow(): number {
    return this.#capabilities | (this.ops.has(OP_SPAWN_REQUEST) ? CAP_SPAWN : 0);
  }

  // ---------------------------------------------------------------- routing

  #sendNow(node: string, body: MessageBody, key: unknown, connect: boolean): void {
    if (node.includes(":") && !this.#nodes.has(node)) {
      // `name@host:port` addressing: the node is `name@host`, and may be up already.
      try {
        node = this.#nameOf(node);
      } catch {
        // Not a node name: handled below as unreachable.
      }
    }
    const e = this.#nodes.get(node);
    if (e !== undefined) {
      if (e.conn !== undefined) {
        e.conn.send(body, key);
        // Back-pressure: the sender waits for the drain at its next receive.
        if (e.conn.busy) this.#runtime.holdSender(key, e.conn.drain());
      } else e.queue.push({ body, key });
      return;
    }
    if (this.#stopped || node === this.name) return;
    if (this.relay !== undefined) {
      const how = this.relay.route(node, body instanceof Uint8Array ? body : flatten(body), key);
      if (how === "relayed") return;
      if (how === "unreachable") {
        // Another region's node with no way there now: as unreachable.
        if (connect) queueMicrotask(() => this.#runtime.nodeDown(node));
        return;
      }
    }
    if (!connect) return;
    if (this.#blocked.has(node)) {
      // Cut off on purpose: as unreachable, links and monitors fail at once.
      queueMicrotask(() => this.#runtime.nodeDown(node));
      return;
    }
    let name: string;
    try {
      name = this.#nameOf(node);
    } catch {
      // Not a node name: nothing can be connected, so links and monitors fail at once.
      queueMicrotask(() => this.#runtime.nodeDown(node));
      return;
    }
    const entry = this.#pendingEntry(name);
    entry.queue.push({ body, key });
    this.#setup.dial(entry);
  }

  // ---------------------------------------------------------------- connecting

  #nameOf(node: string): string {
    const parsed = parseNodeName(node);
    if (parsed.port !== undefined) {
      this.#addresses.set(parsed.full, { hostname: parsed.host, port: parsed.port });
    }
    return parsed.full;
  }

  #pendingEntry(name: string): NodeEntry {
    const e: NodeEntry = {
      name,
      state: "pending",
      conn: undefined,
      peer: undefined,
      dial: undefined,
      accepted: false,
      nokTimer: undefined,
      waiters: [],
      queue: [],
      dials: 0,
    };
    this.#nodes.set(name, e);
    return e;
  }

  /** The kernel as connection setup sees it: the node table and its transitions. */
  #setupHost(): SetupHost {
    return {
      name: this.name,
      creation: () => this.#runtime.creation,
      cookie: () => this.#cookie,
      capabilities: (peer) =>
        this.#capabilitiesNow() |
        (peer !== undefined && this.#hiddenTo.has(peer) ? CAP_HIDDEN : 0),
      stopped: () => this.#stopped,
      blocked: (node) => this.#blocked.has(node),
      entry: (node) => this.#nodes.get(node),
      newEntry: (node) => this.#pendingEntry(node),
      lookup: (node) => this.#lookup(node),
      knownAddress: (node) => this.#addresses.get(node),
      up: (e, conn, reader, peer, status) => this.#up(e, conn, reader, peer, status),
      fail: (e, detail) => this.#fail(e, detail),
      replace: (old, creation) => this.#replace(old, creation),
      track: (task) => this.#track(task),
      foreign: () => this.#foreign,
    };
  }

  /** A proven handshake after `alive` replaces the up entry `old` (see {@linkcode SetupHost}). */
  #replace(old: NodeEntry, creation: number): NodeEntry {
    const restarted = old.peer !== undefined && old.peer.creation !== creation;
    log.info("Node {node} connected again{why}; replacing its old connection", {
      node: old.name,
      why: restarted ? " (restarted)" : "",
    });
    const oldConn = old.conn;
    this.#lost(old, "connection_closed", "replaced by a new connection from the same node");
    oldConn?.close("connection_closed", "replaced by a new connection from the same node");
    const e = this.#pendingEntry(old.name);
    // What was queued for the old one goes on the new one, in order.
    e.queue = old.queue;
    old.queue = [];
    return e;
  }

  async #lookup(name: string): Promise<TransportAddress | undefined> {
    if (this.#resolve !== undefined) {
      try {
        const found = await this.#resolve(name);
        if (found?.protocol === "erlang") {
          this.#handOver(name, found);
          return undefined;
        }
        if (found !== undefined) return found;
      } catch (e) {
        log.debug("Cannot look up {node}: {error}", { node: name, error: e });
      }
    }
    return this.#addresses.get(name);
  }

  /**
   * The port mapper says `name` is a BEAM node: its pending entry goes to the foreign
   * protocol, with the callers waiting and the signals queued for it.
   */
  #handOver(name: string, addr: TransportAddress): void {
    const e = this.#nodes.get(name);
    if (e === undefined || e.state !== "pending") return;
    const foreign = this.#foreign;
    if (foreign === undefined) {
      log.warning("{node} is an Erlang node and this node speaks no Erlang; not connecting", {
        node: name,
      });
      return;
    }
    this.#nodes.delete(name);
    this.#setup.cancel(e);
    clearTimeout(e.nokTimer);
    const waiters = e.waiters;
    const queue = e.queue;
    e.waiters = [];
    e.queue = [];
    foreign.connect(name, addr).then((ok) => {
      for (const w of waiters) w(ok);
    });
    for (const q of queue) {
      try {
        const bytes = q.body instanceof Uint8Array ? q.body : q.body.toBytes();
        const d = decodeBody(bytes, this.name, name);
        if (d.kind === "signal") foreign.route(name, d.signal);
      } catch (err) {
        log.warning("Dropped a signal queued for {node}: {error}", { node: name, error: err });
      }
    }
  }

  /** A pending entry gives up: callers get `false`, links and monitors `noconnection`. */
  #fail(e: NodeEntry, detail: string): void {
    if (this.#nodes.get(e.name) === e) this.#nodes.delete(e.name);
    clearTimeout(e.nokTimer);
    e.nokTimer = undefined;
    this.#setup.cancel(e);
    const waiters = e.waiters;
    e.waiters = [];
    const dropped = e.queue.length;
    e.queue = [];
    log.debug("Gave up connecting to {node} ({detail}); {dropped} signals dropped", {
      node: e.name,
      detail,
      dropped,
    });
    for (const w of waiters) w(false);
    this.#runtime.nodeDown(e.name);
    this.#monitors.setupFailed(e.name);
  }

  /** A handshake succeeded: the entry is up on `io`, read on by `reader`. */
  #up(e: NodeEntry, io: Connection, reader: FrameReader, peer: PeerInfo, status: string): void {
    if (this.#nodes.get(e.name) !== e || e.state !== "pending" || this.#stopped) {
      // The entry was dropped (disconnect, stop) or another connection won meanwhile.
      log.debug("Closing a surplus connection to {node} ({status})", { node: e.name, status });
      io.close();
      return;
    }
    const conn: DistConnection = new DistConnection(io, reader, {
      peer: e.name,
      ticktime: this.#ticktime,
      onMessage: (body) => this.#receive(e, conn, body),
      onClose: (reason, detail) => {
        if (e.conn === conn) this.#lost(e, reason, detail);
      },
      ...this.#connOptions,
    });
    clearTimeout(e.nokTimer);
    e.nokTimer = undefined;
    e.state = "up";
    e.conn = conn;
    e.peer = peer;
    conn.start();
    const meshed = !this.hidden && !peer.hidden;
    const peers: [string, number][] = [];
    if (meshed) {
      for (const other of this.#nodes.values()) {
        if (
          other === e || other.peer === undefined || other.peer.hidden || other.conn === undefined
        ) continue;
        // A receiver refuses longer lists; past this many, the mesh's own
        // PEERS exchanges between the others carry the rest.
        if (peers.length === MAX_PEERS) break;
        peers.push([other.name, this.#addresses.get(other.name)?.port ?? 0]);
      }
    }
    conn.send(encodeOp(OP_PEERS, [this.#listenPort, peers]));
    const queue = e.queue;
    e.queue = [];
    for (const q of queue) conn.send(q.body, q.key);
    log.info("Node {node} is up ({addr}{hidden})", {
      node: e.name,
      addr: conn.remoteAddr,
      hidden: peer.hidden ? ", hidden" : "",
    });
    const waiters = e.waiters;
    e.waiters = [];
    for (const w of waiters) w(true);
    this.#monitors.nodeUp(e.name, peer.hidden);
    if (this.#evUp.attached) this.#evUp.emit({ count: 1 }, { node: this.name, peer: e.name });
  }

  /** An up connection is gone: the runtime's links and monitors, then the subscribers. */
  #lost(e: NodeEntry, reason: NodeDownReason, detail: string): void {
    const hidden = e.peer?.hidden ?? false;
    e.conn = undefined;
    e.peer = undefined;
    if (this.#nodes.get(e.name) === e) this.#nodes.delete(e.name);
    // An orderly close or disconnect is news, not trouble; a silent peer or a
    // connection dropped for bad input is.
    const orderly = reason === "disconnect" ||
      (reason === "connection_closed" && detail === "the peer closed the connection");
    const level = orderly ? "info" : "warning";
    log[level]("Node {node} is down: {reason} ({detail})", { node: e.name, reason, detail });
    this.#runtime.nodeDown(e.name);
    this.#monitors.nodeDown(e.name, hidden, reason);
    if (this.#evDown.attached) {
      this.#evDown.emit({ count: 1 }, { node: this.name, peer: e.name, reason });
    }
  }

  // ---------------------------------------------------------------- receiving

  /** A message from `e`'s connection. A malformed one throws, which closes that connection. */
  #receive(e: NodeEntry, conn: DistConnection, body: Uint8Array): void {
    const d = decodeBody(body, this.name, e.name);
    switch (d.kind) {
      case "signal":
        if (d.signal.op === "send" || d.signal.op === "reg_send") {
          this.#messagesReceived.set(e.name, (this.#messagesReceived.get(e.name) ?? 0) + 1);
          if (this.#evReceived.attached) {
            this.#evReceived.emit({ count: 1 }, { node: this.name, peer: e.name });
          }
        }
        try {
          this.#runtime.dispatch(d.signal, e.name);
        } catch (err) {
          throw new DecodeError(
            `Malformed distribution message: ${err instanceof Error ? err.message : err}`,
            { cause: err },
          );
        }
        return;
      case "peers":
        this.#peers(e, d.listenPort, d.peers);
        return;
      case "ping":
        conn.send(encodeOp(OP_PONG, [d.id]));
        return;
      case "pong":
        this.#pings.get(d.id)?.(true);
        return;
      case "op": {
        const handler = this.ops.handler(d.op);
        if (handler === undefined) {
          log.debug("No handler for operation {op} from {node}", { op: d.op, node: e.name });
          return;
        }
        try {
          handler(e.name, d.fields);
        } catch (err) {
          logLimited(
            this.#opFailureLog,
            e.name,
            (more) =>
              log.error("Handler of operation {op} from {node} failed: {error}{more}", {
                op: d.op,
                node: e.name,
                error: err,
                more,
              }),
          );
        }
        return;
      }
    }
  }

  /** PEERS from `e`: where it listens, and the nodes it is connected to. */
  #peers(e: NodeEntry, listenPort: number, peers: PeerAddress[]): void {
    if (this.hidden || e.peer?.hidden) {
      if (listenPort > 0) {
        this.#addresses.set(e.name, { hostname: parseNodeName(e.name).host, port: listenPort });
      }
      return;
    }
    if (listenPort > 0 && this.#addresses.get(e.name)?.port !== listenPort) {
      this.#addresses.set(e.name, { hostname: parseNodeName(e.name).host, port: listenPort });
      // Peers we told about `e` before we knew its port (port 0) could not
      // reach it without a port mapper: tell them where it listens now.
      for (const other of this.#nodes.values()) {
        if (other === e || other.conn === undefined || other.peer?.hidden !== false) continue;
        other.conn.send(encodeOp(OP_PEERS, [this.#listenPort, [[e.name, listenPort]]]));
      }
    }
    for (const p of peers) {
      let parsed;
      try {
        parsed = parseNodeName(p.name);
      } catch {
        continue;
      }
      if (parsed.full === this.name || parsed.port !== undefined) continue;
      if (p.port > 0 && !this.#addresses.has(parsed.full)) {
        this.#addresses.set(parsed.full, { hostname: parsed.host, port: p.port });
      }
      // Without a port mapper a peer of unknown port cannot be reached yet;
      // `e` sends its port once it learns it.
      if (p.port === 0 && this.#resolve === undefined && !this.#addresses.has(parsed.full)) {
        continue;
      }
      if (!this.#nodes.has(parsed.full)) {
        log.debug("Meshing with {node}, a peer of {via}", { node: parsed.full, via: e.name });
        this.connect(parsed.full);
      }
    }
  }
}
