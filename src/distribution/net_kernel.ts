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
 * Simultaneous connects (A dials B while B dials A) are settled as OTP's
 * `net_kernel` does, by the responder of each attempt, and always end with
 * exactly one connection: the attempt of the node with the larger name
 * wins. The responder that is dialling too answers `nok` to the smaller
 * name's attempt, or `ok_simultaneous` to the larger name's, and then
 * (once that peer has proved the cookie) cancels its own attempt; a node
 * whose attempt got `nok` waits for the peer's to arrive, and dials once
 * more if it does not. Nothing changes the table before the peer's proof:
 * a HELLO only reads it (`decide`), the proven handshake claims the entry
 * (`settle`), so a stranger claiming a name locks nobody out. An initiator
 * told `alive` (the responder still has a connection of that name) goes on
 * only while its own attempt still owns its pending entry (OTP's
 * `is_pending`), so a late attempt never replaces the connection that won.
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
import { logger } from "../log.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Signal, SignalRouter } from "../process/types.ts";
import { parseNodeName, withoutPort } from "../term/node_name.ts";
import type { Pid } from "../term/pid.ts";
import { HandshakeAdmission } from "./admission.ts";
import { DistConnection, type DistConnectionOptions, type MessageBody } from "./connection.ts";
import { framedIO, FrameReader } from "./frame_reader.ts";
import { type LinkFault, LinkFaults } from "./link_faults.ts";
import { type MonitorNodesOptions, NodeMonitors } from "./node_monitors.ts";
import {
  acceptHandshake,
  type CookieKey,
  type HandshakeResult,
  importCookie,
  initiateHandshake,
  type PeerInfo,
} from "./handshake.ts";
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
  type HandshakeStatus,
  MAX_HANDSHAKE_FRAME,
  MAX_PEERS,
  type NodeDownReason,
  OP_PEERS,
  OP_PING,
  OP_PONG,
  OP_SPAWN_REQUEST,
  STATUS_ALIVE,
  STATUS_NOK,
  STATUS_NOT_ALLOWED,
  STATUS_OK,
  STATUS_OK_SIMULTANEOUS,
} from "./types.ts";

const log = logger("dist");

/** Which connected nodes {@linkcode NetKernel.nodes} lists. */
export type NodeKind = "visible" | "hidden" | "all" | "known";

export type { MonitorNodesOptions, NodeDownMessage, NodeUpMessage } from "./node_monitors.ts";

export type { LinkFault } from "./link_faults.ts";

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

/** One node of the table. */
interface NodeEntry {
  /** The node's full name. */
  readonly name: string;
  /** `pending`: being connected; `up`: connected. */
  state: "pending" | "up";
  /** The connection, when up. */
  conn: DistConnection | undefined;
  /** What the handshake said about the peer, when up. */
  peer: PeerInfo | undefined;
  /** Our own connect attempt, while it runs and may still bring the entry up. */
  dial: DialAttempt | undefined;
  /** An accepted handshake has proved the cookie and claimed this entry; it is about to ACK. */
  accepted: boolean;
  /** Our attempt got `nok`: we wait until this timer for the peer's attempt. */
  nokTimer: ReturnType<typeof setTimeout> | undefined;
  /** Callers of `connect` waiting for the outcome. */
  waiters: Array<(ok: boolean) => void>;
  /** Signals routed while pending, with their order keys. */
  queue: Array<{ body: MessageBody; key: unknown }>;
  /** Own attempts made for this entry (one per connect, and one retry after a `nok` in vain). */
  dials: number;
}

/** One attempt of ours to connect to a node; cancelled when the peer's attempt wins. */
interface DialAttempt {
  /** Aborts the transport's connect. */
  readonly abort: AbortController;
  /** The socket, once connected. */
  conn: Connection | undefined;
  /** Set when the peer's attempt took over the entry; the attempt ends quietly. */
  cancelled: boolean;
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
  #transport: Transport;
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
  /** Where nodes listen, learnt from `name@host:port` names and PEERS. */
  #addresses = new Map<string, TransportAddress>();
  #monitors: NodeMonitors;
  #pings = new Map<number, (ok: boolean) => void>();
  #nextPing = 1;
  #listeners = new Set<Listener>();
  /** Sockets not yet handed to a connection: handshakes in progress, both directions. */
  #handshaking = new Set<Connection>();
  #admission: HandshakeAdmission;
  #helloTimeout: number;
  /** Nodes cut off by {@linkcode NetKernel.block} (fault injection): no connection either way. */
  #blocked = new Set<string>();
  /** Injected latency or loss, in front of the send path ({@linkcode LinkFaults}). */
  #faults = new LinkFaults((node, body, key, connect) => this.#sendNow(node, body, key, connect));
  #stopped = false;
  /** Connect attempts, handshakes and accept loops in flight, awaited by `stop`. */
  #tasks = new Set<Promise<unknown>>();

  /** @param options the runtime, cookie, transport and timings */
  constructor(options: NetKernelOptions) {
    this.#runtime = options.runtime;
    this.name = options.runtime.node;
    this.hidden = options.hidden ?? false;
    this.#cookie = options.cookie;
    this.#transport = options.transport;
    this.#listenPort = options.listenPort;
    this.#resolve = options.resolve;
    this.#ticktime = options.ticktime ?? DEFAULT_NET_TICKTIME * 1000;
    this.#handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.#helloTimeout = options.helloTimeout ??
      Math.min(DEFAULT_HELLO_TIMEOUT, this.#handshakeTimeout);
    this.#admission = new HandshakeAdmission({
      maxPending: options.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES,
      maxPerAddress: options.maxPendingHandshakesPerAddress ??
        DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS,
      helloTimeout: this.#helloTimeout,
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
          this.#accept(conn);
        }
      })().catch((e) => log.error("Listener failed: {error}", { error: e }))
        .finally(() => this.#listeners.delete(listener)),
    );
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
    let e = this.#nodes.get(name);
    if (e !== undefined && e.state !== "pending") return Promise.resolve(true);
    if (e === undefined) {
      e = this.#pendingEntry(name);
      this.#startDial(e);
    }
    const entry = e;
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /**
   * Closes the connection to `node`; both sides see `nodedown` (here with
   * reason `disconnect`, there `connection_closed`).
   *
   * @param node the node
   * @returns `true` when it was connected (or being connected), `false` otherwise
   */
  disconnect(node: string): boolean {
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
  }

  /** Whether the connection to `node` has more than its high-water mark queued. */
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
    const body = encodeSignal(signal);
    const op = signal.op;
    const connect = op === "send" || op === "reg_send" || op === "link" || op === "monitor";
    this.#faults.send(node, body, signal.from, connect);
  }

  /**
   * Stops: no more connects, every connection flushed briefly and closed
   * (peers see `connection_closed`), every handshake aborted.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const listener of this.#listeners) listener.close();
    for (const conn of this.#handshaking) conn.close();
    this.#admission.closeAll();
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
    if (!connect || this.#stopped || node === this.name) return;
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
    this.#startDial(entry);
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

  async #lookup(name: string): Promise<TransportAddress | undefined> {
    if (this.#resolve !== undefined) {
      try {
        const found = await this.#resolve(name);
        if (found !== undefined) return found;
      } catch (e) {
        log.debug("Cannot look up {node}: {error}", { node: name, error: e });
      }
    }
    return this.#addresses.get(name);
  }

  /** Starts our own attempt for a pending entry. */
  #startDial(e: NodeEntry): void {
    const attempt: DialAttempt = {
      abort: new AbortController(),
      conn: undefined,
      cancelled: false,
    };
    e.dial = attempt;
    e.dials++;
    this.#track(this.#dial(e, attempt));
  }

  /** The peer's attempt took over `e`: ours ends without a word. */
  #cancelDial(e: NodeEntry): void {
    const attempt = e.dial;
    if (attempt === undefined) return;
    e.dial = undefined;
    attempt.cancelled = true;
    attempt.abort.abort();
    attempt.conn?.close();
  }

  /** Our attempt: look up, connect, handshake as initiator. */
  async #dial(e: NodeEntry, attempt: DialAttempt): Promise<void> {
    let conn: Connection | undefined;
    let outcome: { result: HandshakeResult; reader?: FrameReader };
    let where = e.name;
    try {
      // An address learnt while the lookup ran (`connect("name@host:port")`
      // joining this attempt) counts too.
      const addr = this.#blocked.has(e.name)
        ? undefined
        : (await this.#lookup(e.name)) ?? this.#addresses.get(e.name);
      if (attempt.cancelled) return;
      if (addr === undefined) {
        outcome = {
          result: {
            ok: false,
            reason: "closed",
            detail: this.#blocked.has(e.name)
              ? "blocked (fault injection)"
              : "no address known (port mapper or name@host:port)",
          },
        };
      } else {
        where = `${e.name} at ${addr.hostname}:${addr.port}`;
        const timer = setTimeout(() => attempt.abort.abort(), this.#handshakeTimeout);
        try {
          conn = await this.#transport.connect(addr, { signal: attempt.abort.signal });
        } finally {
          clearTimeout(timer);
        }
        attempt.conn = conn;
        if (attempt.cancelled) {
          conn.close();
          return;
        }
        outcome = await this.#handshake(conn, (io) =>
          initiateHandshake(io, {
            self: {
              name: this.name,
              creation: this.#runtime.creation,
              capabilities: this.#capabilitiesNow(),
            },
            cookie: this.#cookie,
            peer: e.name,
            stillWanted: () => !attempt.cancelled && this.#nodes.get(e.name) === e,
          }));
      }
    } catch (err) {
      outcome = {
        result: {
          ok: false,
          reason: "closed",
          detail: err instanceof Error ? err.message : String(err),
        },
      };
    }
    if (attempt.cancelled) {
      // The peer's attempt took over: whatever happened to ours is moot.
      conn?.close();
      return;
    }
    e.dial = undefined;
    const result = outcome.result;
    if (result.ok && conn !== undefined && outcome.reader !== undefined) {
      this.#up(e, conn, outcome.reader, result.peer, result.status);
      return;
    }
    conn?.close();
    if (!result.ok) {
      if (result.reason === "nok") {
        log.debug("Connect to {where} gives way to the peer's own attempt", { where });
        this.#awaitPeer(e);
        return;
      }
      const level = result.reason === "bad_cookie" ? "warning" : "info";
      log[level]("Cannot connect to {where}: {reason}: {detail}", {
        where,
        reason: result.reason,
        detail: result.detail,
      });
    }
    this.#attemptEnded(e, result.ok ? "" : result.detail);
  }

  /**
   * A handshake with a deadline; the socket is tracked so `stop` can abort
   * it. The frame reader it read with is handed on with the result, for
   * the connection to go on reading where the handshake stopped.
   */
  async #handshake(
    conn: Connection,
    run: (io: ReturnType<typeof framedIO>) => Promise<HandshakeResult>,
  ): Promise<{ result: HandshakeResult; reader: FrameReader }> {
    this.#handshaking.add(conn);
    const reader = new FrameReader(conn);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.close();
    }, this.#handshakeTimeout);
    try {
      const result = await run(framedIO(conn, reader, MAX_HANDSHAKE_FRAME));
      if (!result.ok && timedOut) {
        return {
          reader,
          result: {
            ...result,
            reason: "closed",
            detail: `no complete handshake within ${this.#handshakeTimeout} ms`,
          },
        };
      }
      return { result, reader };
    } finally {
      clearTimeout(timer);
      this.#handshaking.delete(conn);
    }
  }

  /**
   * A connection from a peer: handshake as responder, within the limits on
   * unauthenticated handshakes ({@linkcode HandshakeAdmission}).
   */
  #accept(conn: Connection): void {
    const admitted = this.#admission.admit(conn);
    if (admitted === undefined) return; // refused: its address holds its share already
    /** The entry this handshake claimed in `settle`, once the peer proved the cookie. */
    let claimed: NodeEntry | undefined;
    this.#track(
      this.#handshake(conn, (io) =>
        acceptHandshake(io, {
          self: {
            name: this.name,
            creation: this.#runtime.creation,
            capabilities: this.#capabilitiesNow(),
          },
          cookie: this.#cookie,
          decide: (hello) => {
            admitted.helloReceived();
            return this.#decide(hello.name);
          },
          settle: (hello, status) => {
            admitted.authenticated();
            claimed = this.#settle(hello.name, hello.creation, status, conn.remoteAddr);
            return claimed !== undefined;
          },
        })).then(({ result, reader }) => {
          admitted.done();
          const e = claimed;
          if (e !== undefined) e.accepted = false;
          if (result.ok && e !== undefined && this.#nodes.get(e.name) === e && !this.#stopped) {
            this.#up(e, conn, reader, result.peer, result.status);
            return;
          }
          conn.close();
          if (!result.ok) {
            // A wrong cookie is trouble; a peer that named itself and was
            // refused is news; anything before a valid HELLO (idle, garbage,
            // closed to make room) is noise a flood would fill the log with,
            // and the admission control reports it in bulk.
            const level = result.reason === "bad_cookie"
              ? "warning"
              : result.reason === "nok" || result.peerName === undefined
              ? "debug"
              : "info";
            const detail = admitted.evicted
              ? "closed to make room for newer connections (too many unauthenticated handshakes)"
              : admitted.helloTimedOut
              ? `no complete HELLO within ${this.#helloTimeout} ms`
              : result.detail;
            log[level]("Refused connection from {addr}{node}: {reason}: {detail}", {
              addr: conn.remoteAddr,
              node: result.peerName ? ` (${result.peerName})` : "",
              reason: result.reason,
              detail,
            });
          }
          if (e !== undefined) this.#attemptEnded(e, result.ok ? "" : result.detail);
        }),
    );
  }

  /**
   * The status for a HELLO claiming `name` (OTP's `accept_pending`). HELLO
   * proves nothing, so this only reads the table; {@linkcode #settle}
   * changes it once the peer has proved the cookie.
   */
  #decide(name: string): HandshakeStatus {
    if (this.#stopped) return STATUS_NOK;
    if (this.#blocked.has(name)) return STATUS_NOT_ALLOWED;
    const e = this.#nodes.get(name);
    if (e === undefined) return STATUS_OK;
    switch (e.state) {
      case "pending":
        // An authenticated attempt is about to bring the entry up.
        if (e.accepted) return STATUS_NOK;
        if (e.dial === undefined) return STATUS_OK;
        // Both dialling: the attempt of the node with the larger name wins.
        return this.name > name ? STATUS_NOK : STATUS_OK_SIMULTANEOUS;
      case "up":
        return STATUS_ALIVE;
    }
  }

  /**
   * The peer of an accepted handshake proved the cookie: claim `name`'s
   * entry for this connection, or refuse when the table moved since
   * {@linkcode #decide} and another connection wins.
   *
   * @returns the claimed (pending) entry, or `undefined` to refuse
   */
  #settle(
    name: string,
    creation: number,
    status: HandshakeStatus,
    addr: string,
  ): NodeEntry | undefined {
    if (this.#stopped || this.#blocked.has(name)) return undefined;
    let e = this.#nodes.get(name);
    if (e === undefined) {
      e = this.#pendingEntry(name);
    } else if (e.state === "up") {
      // Only a peer told `alive` may replace: it checked, just before
      // proving itself, that it has no connection to us (OTP's is_pending).
      // An entry that came up since HELLO is a connection that won meanwhile.
      if (status !== STATUS_ALIVE) return undefined;
      const old = e;
      const restarted = old.peer !== undefined && old.peer.creation !== creation;
      log.info("Node {node} connected again{why}; replacing its old connection", {
        node: name,
        why: restarted ? " (restarted)" : "",
      });
      const oldConn = old.conn;
      this.#lost(old, "connection_closed", "replaced by a new connection from the same node");
      oldConn?.close("connection_closed", "replaced by a new connection from the same node");
      e = this.#pendingEntry(name);
      // What was queued for the old one goes on the new one, in order.
      e.queue = old.queue;
      old.queue = [];
    } else if (e.accepted) {
      return undefined;
    } else if (e.dial !== undefined) {
      // Both dialling: the attempt of the node with the larger name wins.
      if (this.name > name) return undefined;
      log.debug("Connect to {node} gives way to its own attempt from {addr}", { node: name, addr });
      this.#cancelDial(e);
    }
    clearTimeout(e.nokTimer);
    e.nokTimer = undefined;
    e.accepted = true;
    return e;
  }

  /** Our attempt got `nok`: the peer's own attempt should arrive; wait for it a while. */
  #awaitPeer(e: NodeEntry): void {
    if (this.#nodes.get(e.name) !== e || e.state !== "pending") return;
    if (e.accepted) return;
    clearTimeout(e.nokTimer);
    e.nokTimer = setTimeout(() => {
      e.nokTimer = undefined;
      this.#attemptEnded(e, "the peer's own connection attempt never arrived", true);
    }, this.#handshakeTimeout);
  }

  /**
   * An attempt for a pending entry ended without bringing it up. When local
   * callers still want the node, we dial ourselves if we have not yet (the
   * attempt was the peer's), or once more after waiting in vain for the
   * peer's attempt that our `nok` promised; otherwise the entry fails.
   */
  #attemptEnded(e: NodeEntry, detail: string, afterNok = false): void {
    if (this.#nodes.get(e.name) !== e || e.state !== "pending") return;
    if (e.dial !== undefined || e.accepted || e.nokTimer !== undefined) return;
    if (this.#stopped) {
      this.#fail(e, detail);
      return;
    }
    const wanted = e.waiters.length > 0 || e.queue.length > 0;
    if (wanted && (e.dials === 0 || (afterNok && e.dials === 1))) {
      this.#startDial(e);
      return;
    }
    this.#fail(e, detail);
  }

  /** A pending entry gives up: callers get `false`, links and monitors `noconnection`. */
  #fail(e: NodeEntry, detail: string): void {
    if (this.#nodes.get(e.name) === e) this.#nodes.delete(e.name);
    clearTimeout(e.nokTimer);
    e.nokTimer = undefined;
    this.#cancelDial(e);
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
  }

  // ---------------------------------------------------------------- receiving

  /** A message from `e`'s connection. A malformed one throws, which closes that connection. */
  #receive(e: NodeEntry, conn: DistConnection, body: Uint8Array): void {
    const d = decodeBody(body, this.name, e.name);
    switch (d.kind) {
      case "signal":
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
          log.error("Handler of operation {op} from {node} failed: {error}", {
            op: d.op,
            node: e.name,
            error: err,
          });
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
