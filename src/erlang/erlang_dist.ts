/**
 * Erlang's distribution protocol as the node kernel's second wire protocol: the table of the
 * BEAM nodes this node is connected to, the translation between the runtime's signals and
 * Erlang's control messages, and the services a BEAM node expects of a peer (`net_kernel`'s
 * `is_auth`, so `net_adm:ping` answers `pong`, and `rex`, so `rpc:call` works).
 *
 * ```
 * Weft process --runtime signal--> kernel.route --(BEAM peer)--> ErlangDistribution.route
 *   send       -> SEND_SENDER {22, From, To} + Msg      reg_send -> REG_SEND {6, From, '', Name} + Msg
 *   link       -> LINK {1, From, To}                    unlink   -> UNLINK_ID {35, Id, From, To}
 *   link_exit  -> EXIT {3, From, To, Reason}            exit     -> EXIT2 {8, From, To, Reason}
 *   monitor    -> MONITOR_P {19, From, To, Ref}         demonitor-> DEMONITOR_P {20, From, To, Ref}
 *   down       -> MONITOR_P_EXIT {21, From, To, Ref, Reason}
 * BEAM node --control message--> #receive --> the same signals, runtime.dispatch(signal, node)
 *   REG_SEND to net_kernel {'$gen_call', {Pid, Tag}, {is_auth, Node}} -> SEND {Tag, yes} to Pid
 *   REG_SEND to rex {'$gen_call', {Pid, Tag}, {call, M, F, A, Gl}}    -> SEND {Tag, Result} to Pid
 *   UNLINK_ID -> unlink, UNLINK_ID_ACK back
 * ```
 *
 * Terms: a Weft message goes to a BEAM node as `encodeTerm` maps it (see `src/etf/mod.ts`; a
 * string is a binary, a plain object has no term and is refused at the sender with a
 * `TypeError`), and an Erlang message reaches a Weft process as `decodeTerm` gives it. Exit and
 * down reasons that are strings in Weft (`"normal"`, `"noconnection"`) are atoms in Erlang, and
 * back. Erlang's monitor references (three words) stand, inside the runtime, for Weft `Ref`s made
 * per connection, and are translated back when the `DOWN` leaves.
 *
 * Connections: ours are dialled at the address the port mapper gave (a BEAM node's entry has no
 * Weft marker); theirs are handed over by the kernel's listener when the first bytes are a
 * 2-byte length and `'N'` (a Weft HELLO opens with a 4-byte length). When both nodes dial at
 * once, the attempt of the node with the larger name wins, as OTP settles it; a node that
 * connects again while we hold a connection (it restarted) is told `alive` and replaces it.
 *
 * Failure: a wrong cookie either way ends that handshake (logged with the address); a malformed
 * frame or term closes that connection with the reason in the log, and the node goes on; a lost
 * connection is `nodedown` for monitors and `noconnection` for every link and monitor across it.
 *
 * @module
 */

import { DecodeError, HandshakeError, RemoteError } from "../errors.ts";
import {
  Atom,
  atom,
  ErlangRef,
  ImproperList,
  type Term,
  termKey,
  Tuple,
  tuple,
} from "../etf/mod.ts";
import type { ForeignHost, ForeignProtocol } from "../distribution/foreign_protocol.ts";
import type { Connection, Transport, TransportAddress } from "../distribution/transport.ts";
import type { NodeDownReason } from "../distribution/types.ts";
import { logger } from "../log.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Signal } from "../process/types.ts";
import { Pid, Ref } from "../term/pid.ts";
import { ByteStream, ErlangConnection, handshakeIo } from "./connection.ts";
import { encodeDistFrame } from "./dist_message.ts";
import { acceptHandshake, dialHandshake, type ErlangPeerInfo } from "./handshake.ts";
import {
  CTRL_DEMONITOR_P,
  CTRL_EXIT,
  CTRL_EXIT2,
  CTRL_GROUP_LEADER,
  CTRL_LINK,
  CTRL_MONITOR_P,
  CTRL_MONITOR_P_EXIT,
  CTRL_REG_SEND,
  CTRL_SEND,
  CTRL_SEND_SENDER,
  CTRL_SPAWN_REPLY,
  CTRL_SPAWN_REQUEST,
  CTRL_UNLINK,
  CTRL_UNLINK_ID,
  CTRL_UNLINK_ID_ACK,
  DFLAG_DIST_HDR_ATOM_CACHE,
  HS_NAME_V5,
  HS_NAME_V6,
  SPAWN_REPLY_MONITOR,
} from "./types.ts";

const log = logger("erlang");

/** Calls a function of this node for a BEAM node's `rpc:call` (`rex`); the node wires it. */
export type RexHandler = (
  caller: string,
  module: string,
  fn: string,
  args: readonly Term[],
) => Promise<Term>;

/**
 * The node's default `pg` scope as the BEAM nodes' `pg` sees it (the node wires it): Erlang's
 * scope servers exchange their members with it in their own messages (see `#pgMessage`).
 */
export interface ErlangPgHost {
  /** This node's memberships, `[group, pids]`. */
  localGroups(): [string, Pid[]][];
  /** Memberships a BEAM node told. */
  apply(
    node: string,
    change:
      | { kind: "sync"; groups: [string, Pid[]][] }
      | { kind: "join" | "leave"; group: string; pids: Pid[] }
      | { kind: "down" },
  ): void;
}

/** Options of {@linkcode ErlangDistribution}. */
export interface ErlangDistributionOptions {
  /** The local runtime. */
  runtime: Runtime;
  /** How to reach peers (TCP). */
  transport: Transport;
  /** The cookie, as Erlang's `-setcookie`. */
  cookie: string;
  /** Whether this node is hidden to BEAM nodes. Default false. */
  hidden?: boolean;
  /**
   * Milliseconds of silence after which a BEAM peer is down; at least the peers' `net_ticktime`
   * (Erlang's default 60 s). Default 60 000.
   */
  ticktime?: number;
  /** Deadline of a connect and its handshake, in milliseconds. Default 5000. */
  handshakeTimeout?: number;
  /** Where a node listens (the port mapper). */
  lookup?: (node: string) => Promise<TransportAddress | undefined>;
  /** Serves `rpc:call` from BEAM nodes; without it `rex` answers `{badrpc, ...}`. */
  rex?: RexHandler;
  /** The default `pg` scope, shared with the BEAM nodes' `pg`; without it `pg` is not shared. */
  pg?: ErlangPgHost;
}

interface Peer {
  readonly name: string;
  state: "pending" | "up";
  conn: ErlangConnection | undefined;
  info: ErlangPeerInfo | undefined;
  /** Our dial, while it may still bring the peer up. */
  dialling: boolean;
  waiters: Array<(ok: boolean) => void>;
  /** Frames routed while pending. */
  queue: Uint8Array[];
  /** Erlang monitor references (by termKey) and the Weft refs that stand for them. */
  refIn: Map<string, Ref>;
  refOut: Map<string, ErlangRef>;
  nextRef: number;
  nextUnlink: bigint;
}

/**
 * Erlang's distribution protocol for one node (see the module comment).
 *
 * @example
 * ```ts
 * import { ErlangDistribution } from "./erlang_dist.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { TcpTransport } from "../distribution/tcp.ts";
 * const runtime = new Runtime({ node: "weft@127.0.0.1" });
 * const erlang = new ErlangDistribution({ runtime, transport: new TcpTransport(), cookie: "c" });
 * console.assert(erlang.nodes("all").length === 0);
 * await erlang.stop();
 * await runtime.shutdown();
 * ```
 */
export class ErlangDistribution implements ForeignProtocol {
  /** `"erlang"` */
  readonly kind = "erlang";
  readonly #runtime: Runtime;
  readonly #transport: Transport;
  #cookie: string;
  readonly #hidden: boolean;
  readonly #ticktime: number;
  readonly #handshakeTimeout: number;
  readonly #lookup: ((node: string) => Promise<TransportAddress | undefined>) | undefined;
  readonly #rex: RexHandler | undefined;
  #host: ForeignHost | undefined;
  readonly #peers = new Map<string, Peer>();
  readonly #sockets = new Set<Connection>();
  readonly #tasks = new Set<Promise<unknown>>();
  /** Replies awaited by {@linkcode ErlangDistribution.call}, by tag. */
  readonly #replies = new Map<string, { node: string; resolve: (t: Term | undefined) => void }>();
  #nextTag = 1;
  #stopped = false;
  readonly #pg: ErlangPgHost | undefined;
  /** The `pg` scope server of each BEAM node that discovered ours. */
  readonly #pgPeers = new Map<string, Pid>();

  /** @param options runtime, transport, cookie and timings */
  constructor(options: ErlangDistributionOptions) {
    this.#runtime = options.runtime;
    this.#transport = options.transport;
    this.#cookie = options.cookie;
    this.#hidden = options.hidden ?? false;
    this.#ticktime = options.ticktime ?? 60_000;
    this.#handshakeTimeout = options.handshakeTimeout ?? 5000;
    this.#lookup = options.lookup;
    this.#rex = options.rex;
    this.#pg = options.pg;
  }

  /**
   * Sends a change of this node's `pg` memberships to every BEAM node's scope server
   * (`{join, Scope, Group, Pids}`, `{leave, Scope, Pids, [Group]}`, as `pg.erl` sends them).
   *
   * @param kind join or leave
   * @param group the group (an atom there)
   * @param pids the local processes
   */
  pgLocalChange(kind: "join" | "leave", group: string, pids: readonly Pid[]): void {
    if (this.#pgPeers.size === 0) return;
    const self = this.#pgSelf();
    const message = kind === "join"
      ? tuple(atom("join"), self, atom(group), [...pids])
      : tuple(atom("leave"), self, [...pids], [atom(group)]);
    for (const [node, scope] of this.#pgPeers) {
      this.#peers.get(node)?.conn?.send(tuple(CTRL_SEND, atom(""), scope), message);
    }
  }

  /** This node's name. */
  get name(): string {
    return this.#runtime.node;
  }

  /** {@inheritDoc ForeignProtocol.attach} */
  attach(host: ForeignHost): void {
    this.#host = host;
  }

  /** {@inheritDoc ForeignProtocol.has} */
  has(node: string): boolean {
    return this.#peers.has(node);
  }

  /** {@inheritDoc ForeignProtocol.claims} */
  claims(first: Uint8Array): boolean {
    // Erlang: u16 length (not 0) then 'N' or 'n'. Weft: a u32 length, so two zero bytes first.
    return first.length >= 3 && (first[0] !== 0 || first[1] !== 0) &&
      (first[2] === HS_NAME_V6 || first[2] === HS_NAME_V5);
  }

  /** {@inheritDoc ForeignProtocol.setCookie} */
  setCookie(cookie: string): void {
    this.#cookie = cookie;
  }

  /** {@inheritDoc ForeignProtocol.nodes} */
  nodes(kind: "visible" | "hidden" | "all"): string[] {
    const out: string[] = [];
    for (const p of this.#peers.values()) {
      if (p.state !== "up" || p.info === undefined) continue;
      const hidden = p.info.hidden || this.#hidden;
      if (kind === "all" || (kind === "hidden") === hidden) out.push(p.name);
    }
    return out;
  }

  /** What the handshake told about a connected BEAM node. */
  peerInfo(node: string): ErlangPeerInfo | undefined {
    return this.#peers.get(node)?.info;
  }

  /** {@inheritDoc ForeignProtocol.connect} */
  connect(node: string, addr?: TransportAddress): Promise<boolean> {
    if (this.#stopped || this.#host?.blocked(node)) return Promise.resolve(false);
    let p = this.#peers.get(node);
    if (p?.state === "up") return Promise.resolve(true);
    if (p === undefined) {
      p = this.#newPeer(node);
      this.#dial(p, addr);
    }
    const peer = p;
    return new Promise((resolve) => peer.waiters.push(resolve));
  }

  /** {@inheritDoc ForeignProtocol.disconnect} */
  disconnect(node: string): boolean {
    const p = this.#peers.get(node);
    if (p === undefined) return false;
    if (p.conn !== undefined) p.conn.close("disconnect", "disconnected on request");
    else this.#fail(p, "disconnected on request");
    return true;
  }

  /**
   * `net_adm:ping/1`: connects if needed and asks the node's `net_kernel` whether it accepts us.
   *
   * @param node a BEAM node
   * @returns `"pong"` when it answered `yes`
   */
  async ping(node: string): Promise<"pong" | "pang"> {
    if (!(await this.connect(node))) return "pang";
    const answer = await this.#genCall(
      node,
      atom("net_kernel"),
      tuple(atom("is_auth"), atom(this.name)),
      this.#handshakeTimeout,
    );
    return answer instanceof Atom && answer.name === "yes" ? "pong" : "pang";
  }

  /**
   * `rpc.call(node, module, fn, args)` on a BEAM node (what Weft's `rpc.call` uses for one).
   *
   * @param node a BEAM node
   * @param module the module
   * @param fn the function
   * @param args the arguments, Erlang terms
   * @param timeout milliseconds to wait for the answer
   * @returns the result
   * @throws {RemoteError} when Erlang's `rpc:call` would return `{badrpc, Reason}`
   * @throws {TypeError} when an argument has no Erlang term
   */
  async call(
    node: string,
    module: string,
    fn: string,
    args: readonly unknown[],
    timeout = 5000,
  ): Promise<Term> {
    const result = await this.rpc(
      node,
      module,
      fn,
      args.map((a) => checkTerm(a, "argument")),
      timeout,
    );
    if (
      result instanceof Tuple && result.length === 2 && result.elements[0] instanceof Atom &&
      result.elements[0].name === "badrpc"
    ) {
      throw new RemoteError(
        node,
        result.elements[1],
        `Remote call failed on ${node}: {badrpc, ${String(result.elements[1])}}`,
      );
    }
    return result;
  }

  /**
   * Erlang's `rpc:call/5` on a BEAM node, through its `rex` server, as Erlang returns it.
   *
   * @param node a BEAM node
   * @param module the module
   * @param fn the function
   * @param args the arguments
   * @param timeout milliseconds to wait for the answer
   * @returns the result, or `{badrpc, Reason}`
   */
  async rpc(
    node: string,
    module: string,
    fn: string,
    args: readonly Term[],
    timeout = 5000,
  ): Promise<Term> {
    if (!(await this.connect(node))) return tuple(atom("badrpc"), atom("nodedown"));
    const gl = this.#nullPid();
    const answer = await this.#genCall(
      node,
      atom("rex"),
      tuple(atom("call"), atom(module), atom(fn), [...args], gl),
      timeout,
    );
    if (answer === undefined) {
      return tuple(
        atom("badrpc"),
        atom(this.#peers.get(node)?.state === "up" ? "timeout" : "nodedown"),
      );
    }
    return answer;
  }

  /** {@inheritDoc ForeignProtocol.route} */
  route(node: string, signal: Signal): void {
    const [control, message] = this.#toControl(node, signal);
    const p = this.#peers.get(node);
    let frame: Uint8Array;
    try {
      // Encoded at once: a value with no term fails the sender, as Weft's own protocol does.
      // Up, straight into the connection's batch; else into a frame of its own, for the queue.
      if (p?.conn !== undefined) return p.conn.send(control, message);
      frame = encodeDistFrame(control, message);
    } catch (e) {
      throw new TypeError(
        `Cannot send to Erlang node ${node}: the ${signal.op} has no Erlang term: ${
          (e as Error).message
        }`,
        { cause: e },
      );
    }
    if (p === undefined) {
      const connect = signal.op === "send" || signal.op === "reg_send" || signal.op === "link" ||
        signal.op === "monitor";
      if (!connect) return;
      const q = this.#newPeer(node);
      q.queue.push(frame);
      this.#dial(q, undefined);
      return;
    }
    p.queue.push(frame);
  }

  /** {@inheritDoc ForeignProtocol.accept} */
  accept(conn: Connection, first: Uint8Array, settled?: () => void): void {
    this.#sockets.add(conn);
    const stream = new ByteStream(conn, first);
    let peerName: string | undefined;
    const timer = setTimeout(() => conn.close(), this.#handshakeTimeout);
    this.#track(
      acceptHandshake(handshakeIo(conn, stream), {
        name: this.name,
        cookie: this.#cookie,
        creation: this.#runtime.creation,
        hidden: this.#hidden,
        decide: (peer) => {
          peerName = peer.name;
          return this.#decide(peer.name);
        },
      }).then(
        (info) => {
          clearTimeout(timer);
          settled?.();
          this.#sockets.delete(conn);
          if (this.#stopped || this.#host?.blocked(info.name)) {
            conn.close();
            return;
          }
          let p = this.#peers.get(info.name);
          if (p?.state === "up") {
            // It was told `alive` and connects again: it restarted, or lost the old one first.
            log.info("Node {node} connected again; replacing its old connection", {
              node: info.name,
            });
            p.conn?.close("connection_closed", "replaced by a new connection from the same node");
            p = undefined;
          }
          p ??= this.#peers.get(info.name) ?? this.#newPeer(info.name);
          p.dialling = false;
          this.#up(p, conn, stream, info);
        },
        (e) => {
          clearTimeout(timer);
          settled?.();
          this.#sockets.delete(conn);
          conn.close();
          const level = /cookie/.test(String(e)) ? "warning" : "info";
          log[level]("Refused Erlang connection from {addr}{node}: {error}", {
            addr: conn.remoteAddr,
            node: peerName ? ` (${peerName})` : "",
            error: e instanceof Error ? e.message : String(e),
          });
        },
      ),
    );
  }

  /** {@inheritDoc ForeignProtocol.stop} */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const s of this.#sockets) s.close();
    const peers = [...this.#peers.values()];
    await Promise.all(peers.map((p) => p.conn?.flush(500)));
    for (const p of peers) {
      if (p.conn !== undefined) p.conn.close("disconnect", "this node is stopping");
      else this.#fail(p, "this node is stopping");
    }
    for (const r of this.#replies.values()) r.resolve(undefined);
    this.#replies.clear();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  // ------------------------------------------------------------ connecting

  #newPeer(name: string): Peer {
    const p: Peer = {
      name,
      state: "pending",
      conn: undefined,
      info: undefined,
      dialling: false,
      waiters: [],
      queue: [],
      refIn: new Map(),
      refOut: new Map(),
      nextRef: 1,
      nextUnlink: 1n,
    };
    this.#peers.set(name, p);
    return p;
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
  }

  /** The status for a BEAM node that named itself in `send_name` (OTP's `accept_pending`). */
  #decide(name: string): "ok" | "nok" | "not_allowed" | "alive" {
    if (this.#stopped) return "nok";
    if (this.#host?.blocked(name) || this.#host?.weftPeer(name)) return "not_allowed";
    const p = this.#peers.get(name);
    if (p === undefined) return "ok";
    if (p.state === "up") return "alive";
    // Both dialling: the attempt of the node with the larger name wins.
    if (p.dialling && this.name > name) return "nok";
    p.dialling = false;
    return "ok";
  }

  #dial(p: Peer, given: TransportAddress | undefined): void {
    p.dialling = true;
    this.#track((async () => {
      let conn: Connection | undefined;
      try {
        const addr = given ?? (await this.#lookup?.(p.name));
        if (addr === undefined) throw new Error("no address known (port mapper)");
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), this.#handshakeTimeout);
        try {
          conn = await this.#transport.connect(addr, { signal: abort.signal });
          this.#sockets.add(conn);
          const stream = new ByteStream(conn);
          const c = conn;
          const hsTimer = setTimeout(() => c.close(), this.#handshakeTimeout);
          let info: ErlangPeerInfo;
          try {
            info = await dialHandshake(handshakeIo(conn, stream), {
              name: this.name,
              cookie: this.#cookie,
              creation: this.#runtime.creation,
              hidden: this.#hidden,
            });
          } finally {
            clearTimeout(hsTimer);
          }
          this.#sockets.delete(conn);
          if (info.name !== p.name) {
            throw new HandshakeError(`Erlang handshake: dialled ${p.name}, answered ${info.name}`);
          }
          if (!p.dialling || this.#peers.get(p.name) !== p || p.state !== "pending") {
            conn.close(); // the peer's own attempt won meanwhile
            return;
          }
          p.dialling = false;
          this.#up(p, conn, stream, info);
        } finally {
          clearTimeout(timer);
        }
      } catch (e) {
        if (conn !== undefined) {
          this.#sockets.delete(conn);
          conn.close();
        }
        if (!p.dialling) return; // the peer's attempt took over
        p.dialling = false;
        const detail = e instanceof Error ? e.message : String(e);
        if (/status "nok"/.test(detail)) {
          // The peer's own attempt wins; give it the handshake time to arrive.
          setTimeout(() => {
            if (this.#peers.get(p.name) === p && p.state === "pending" && !p.dialling) {
              this.#fail(p, "the peer's own connection attempt never arrived");
            }
          }, this.#handshakeTimeout);
          return;
        }
        const level = e instanceof HandshakeError && /cookie/.test(detail) ? "warning" : "info";
        log[level]("Cannot connect to Erlang node {node}: {detail}", { node: p.name, detail });
        this.#fail(p, detail);
      }
    })());
  }

  #fail(p: Peer, detail: string): void {
    if (this.#peers.get(p.name) === p) this.#peers.delete(p.name);
    const waiters = p.waiters;
    p.waiters = [];
    p.queue = [];
    log.debug("Gave up connecting to {node}: {detail}", { node: p.name, detail });
    for (const w of waiters) w(false);
    this.#runtime.nodeDown(p.name);
  }

  #up(p: Peer, io: Connection, stream: ByteStream, info: ErlangPeerInfo): void {
    const conn: ErlangConnection = new ErlangConnection(io, stream, {
      peer: p.name,
      ticktime: this.#ticktime,
      atomCache: (info.flags & DFLAG_DIST_HDR_ATOM_CACHE) !== 0n,
      onMessage: (control, message) => this.#receive(p, conn, control, message),
      onClose: (reason, detail) => {
        if (p.conn === conn) this.#lost(p, reason, detail);
      },
    });
    p.state = "up";
    p.conn = conn;
    p.info = info;
    this.#servers();
    conn.start();
    const queue = p.queue;
    p.queue = [];
    for (const frame of queue) conn.sendFrame(frame);
    log.info("Erlang node {node} is up ({addr}{hidden})", {
      node: p.name,
      addr: conn.remoteAddr,
      hidden: info.hidden ? ", hidden" : "",
    });
    const waiters = p.waiters;
    p.waiters = [];
    for (const w of waiters) w(true);
    this.#host?.nodeUp(p.name, info.hidden || this.#hidden);
  }

  #lost(p: Peer, reason: NodeDownReason, detail: string): void {
    const hidden = (p.info?.hidden ?? false) || this.#hidden;
    if (this.#peers.get(p.name) === p) this.#peers.delete(p.name);
    p.conn = undefined;
    p.state = "pending";
    const orderly = reason === "disconnect" ||
      (reason === "connection_closed" && detail === "the peer closed the connection");
    log[orderly ? "info" : "warning"]("Erlang node {node} is down: {reason} ({detail})", {
      node: p.name,
      reason,
      detail,
    });
    for (const [tag, r] of this.#replies) {
      if (r.node === p.name) {
        this.#replies.delete(tag);
        r.resolve(undefined);
      }
    }
    if (this.#pgPeers.delete(p.name)) this.#pg?.apply(p.name, { kind: "down" });
    this.#runtime.nodeDown(p.name);
    this.#host?.nodeDown(p.name, hidden, reason);
  }

  // ------------------------------------------------------------ sending

  /** A pid of this node that no process has: the sender of what no process sends. */
  #nullPid(): Pid {
    return new Pid(this.name, 0, 0, this.#runtime.creation);
  }

  /** A `gen_server:call` to a registered server of `node`; `undefined` on timeout or nodedown. */
  #genCall(node: string, server: Atom, request: Term, timeout: number): Promise<Term | undefined> {
    const p = this.#peers.get(node);
    if (p?.conn === undefined) return Promise.resolve(undefined);
    const id = this.#nextTag++;
    const tag = new Ref(this.name, 0x40000000 + id, this.#runtime.creation);
    const key = termKey(tag);
    const from = this.#nullPid();
    const { promise, resolve } = Promise.withResolvers<Term | undefined>();
    const timer = setTimeout(() => resolve(undefined), timeout);
    this.#replies.set(key, { node, resolve });
    p.conn.send(
      tuple(CTRL_REG_SEND, from, atom(""), server),
      tuple(atom("$gen_call"), tuple(from, tag), request),
    );
    return promise.finally(() => {
      clearTimeout(timer);
      this.#replies.delete(key);
    });
  }

  /** The control message (and message) for a runtime signal to `node`. */
  #toControl(node: string, s: Signal): [Term, Term | undefined] {
    switch (s.op) {
      case "send":
        if (s.from === undefined) {
          return [tuple(CTRL_SEND, atom(""), s.to), s.msg as Term];
        }
        return [tuple(CTRL_SEND_SENDER, s.from, s.to), s.msg as Term];
      case "reg_send":
        return [
          tuple(CTRL_REG_SEND, s.from ?? this.#nullPid(), atom(""), atom(s.to.name)),
          s.msg as Term,
        ];
      case "link":
        return [tuple(CTRL_LINK, s.from, s.to), undefined];
      case "unlink": {
        const p = this.#peers.get(node);
        const id = p === undefined ? 1n : p.nextUnlink++;
        return [tuple(CTRL_UNLINK_ID, id, s.from, s.to), undefined];
      }
      case "exit":
        return [tuple(CTRL_EXIT2, s.from, s.to, toReason(s.reason)), undefined];
      case "link_exit":
        return [tuple(CTRL_EXIT, s.from, s.to, toReason(s.reason)), undefined];
      case "monitor":
        return [tuple(CTRL_MONITOR_P, s.from, procOf(s.to), s.ref), undefined];
      case "demonitor":
        return [tuple(CTRL_DEMONITOR_P, s.from, procOf(s.to), s.ref), undefined];
      case "down": {
        const p = this.#peers.get(node);
        const key = s.ref.key;
        const ref = p?.refOut.get(key);
        if (p !== undefined && ref !== undefined) {
          p.refOut.delete(key);
          p.refIn.delete(termKey(ref));
        }
        return [
          tuple(CTRL_MONITOR_P_EXIT, procOf(s.from), s.to, ref ?? s.ref, toReason(s.reason)),
          undefined,
        ];
      }
    }
  }

  // ------------------------------------------------------------ receiving

  /** A control message from the BEAM node `p` (sent by any of its processes). */
  #receive(p: Peer, conn: ErlangConnection, control: Term, message: Term | undefined): void {
    if (!(control instanceof Tuple) || typeof control.elements[0] !== "number") {
      throw new DecodeError(`Malformed control message: ${String(control)}`);
    }
    const e = control.elements;
    const op = e[0] as number;
    const pid = (i: number): Pid => {
      const v = e[i];
      if (!(v instanceof Pid)) {
        throw new DecodeError(`Malformed control message ${op}: element ${i} is not a pid`);
      }
      return v;
    };
    const arity = (n: number) => {
      if (e.length !== n) {
        throw new DecodeError(
          `Malformed control message ${op}: ${e.length} elements, expected ${n}`,
        );
      }
    };
    const needMessage = (): Term => {
      if (message === undefined) {
        throw new DecodeError(`Malformed control message ${op}: no message follows`);
      }
      return message;
    };
    switch (op) {
      case CTRL_SEND:
        arity(3);
        this.#deliver(p, pid(2), needMessage(), undefined);
        return;
      case CTRL_SEND_SENDER:
        arity(3);
        this.#deliver(p, pid(2), needMessage(), pid(1));
        return;
      case CTRL_REG_SEND: {
        arity(4);
        const name = e[3];
        if (!(name instanceof Atom)) {
          throw new DecodeError("Malformed REG_SEND: the name is not an atom");
        }
        this.#regSend(p, pid(1), name.name, needMessage());
        return;
      }
      case CTRL_LINK:
        arity(3);
        this.#dispatch(p, { op: "link", from: pid(1), to: pid(2) });
        return;
      case CTRL_UNLINK:
        arity(3);
        this.#dispatch(p, { op: "unlink", from: pid(1), to: pid(2) });
        return;
      case CTRL_UNLINK_ID:
        arity(4);
        this.#dispatch(p, { op: "unlink", from: pid(2), to: pid(3) });
        conn.send(tuple(CTRL_UNLINK_ID_ACK, e[1]!, pid(3), pid(2)));
        return;
      case CTRL_UNLINK_ID_ACK:
        return; // our unlink took effect at once; nothing waits for the ack
      case CTRL_EXIT:
        arity(4);
        this.#dispatch(p, { op: "link_exit", from: pid(1), to: pid(2), reason: fromReason(e[3]!) });
        return;
      case CTRL_EXIT2:
        arity(4);
        this.#dispatch(p, { op: "exit", from: pid(1), to: pid(2), reason: fromReason(e[3]!) });
        return;
      case CTRL_MONITOR_P: {
        arity(4);
        const ref = this.#refIn(p, e[3]!, true)!;
        this.#dispatch(p, { op: "monitor", from: pid(1), to: this.#target(e[2]!), ref });
        return;
      }
      case CTRL_DEMONITOR_P: {
        arity(4);
        const ref = this.#refIn(p, e[3]!, false);
        if (ref === undefined) return;
        p.refIn.delete(termKey(e[3]!));
        p.refOut.delete(ref.key);
        this.#dispatch(p, { op: "demonitor", from: pid(1), to: this.#target(e[2]!), ref });
        return;
      }
      case CTRL_MONITOR_P_EXIT: {
        arity(5);
        const ref = e[3];
        if (!(ref instanceof Ref)) return; // not a monitor of ours
        const from = e[1] instanceof Atom ? { name: e[1].name, node: p.name } : pid(1);
        this.#dispatch(p, { op: "down", from, to: pid(2), ref, reason: fromReason(e[4]!) });
        return;
      }
      case CTRL_SPAWN_REQUEST:
        arity(6);
        this.#spawnRequest(p, conn, e[1]!, pid(2), e[4]!, e[5]!, needMessage());
        return;
      case CTRL_GROUP_LEADER:
        return;
      default:
        log.debug("Ignored control message {op} from {node}", { op, node: p.name });
    }
  }

  #dispatch(p: Peer, signal: Signal): void {
    try {
      this.#runtime.dispatch(signal, p.name);
    } catch (err) {
      throw new DecodeError(
        `Malformed distribution message: ${err instanceof Error ? err.message : err}`,
        { cause: err },
      );
    }
  }

  /** A message to a pid of ours, or the reply to one of our calls. */
  #deliver(p: Peer, to: Pid, message: Term, from: Pid | undefined): void {
    if (to.node === this.name && to.id === 0 && message instanceof Tuple) {
      const tag = message.elements[0];
      if (message.length === 2 && tag !== undefined) {
        // [alias | Ref] tags are what OTP 25's gen_server replies with too.
        const key = termKey(tag instanceof ImproperList ? tag.tail : tag);
        const r = this.#replies.get(key);
        if (r !== undefined) {
          r.resolve(message.elements[1]);
          return;
        }
      }
    }
    if (this.#pg !== undefined && to.equals(this.#pgSelf()) && this.#pgMessage(p, message)) return;
    this.#dispatch(
      p,
      from === undefined
        ? { op: "send", to, msg: message }
        : { op: "send", to, msg: message, from },
    );
  }

  /** The pid of this node's default `pg` scope server. */
  #pgSelf(): Pid {
    return this.#runtime.whereis("pg") ?? this.#nullPid();
  }

  /**
   * A message of a BEAM node's `pg` scope server to ours (sent by `pg.erl` at `p`):
   *
   * ```
   * {discover, Scope}                    -> {'$gen_cast', {sync, Ours, Groups}} to Scope,
   *                                          and {discover, Ours} when Scope is new to us
   * {'$gen_cast', {sync, Scope, Groups}} -> its members replace what we knew of them
   * {join, Scope, Group, PidOrPids}      -> they join
   * {leave, Scope, PidOrPids, Groups}    -> they leave those groups
   * ```
   *
   * Groups other than atoms have no Weft name and are left out.
   *
   * @returns whether it was one (else it goes to the process as any message)
   */
  #pgMessage(p: Peer, m: Term): boolean {
    const pg = this.#pg;
    if (pg === undefined || !(m instanceof Tuple) || !(m.elements[0] instanceof Atom)) return false;
    const [tag, a, b, c] = m.elements;
    const pids = (v: Term | undefined): Pid[] =>
      v instanceof Pid
        ? [v]
        : Array.isArray(v)
        ? (v as Term[]).filter((x): x is Pid => x instanceof Pid)
        : [];
    const self = this.#pgSelf();
    const conn = p.conn;
    switch ((tag as Atom).name) {
      case "discover": {
        if (!(a instanceof Pid) || m.length !== 2 || conn === undefined) return false;
        const groups = pg.localGroups().map(([g, ps]) => tuple(atom(g), ps));
        conn.send(
          tuple(CTRL_SEND, atom(""), a),
          tuple(atom("$gen_cast"), tuple(atom("sync"), self, groups)),
        );
        if (!this.#pgPeers.get(p.name)?.equals(a)) {
          this.#pgPeers.set(p.name, a);
          conn.send(tuple(CTRL_SEND, atom(""), a), tuple(atom("discover"), self));
        }
        return true;
      }
      case "$gen_cast": {
        const cast = a;
        if (!(cast instanceof Tuple) || !(cast.elements[0] instanceof Atom)) return false;
        if (cast.elements[0].name !== "sync" || !(cast.elements[1] instanceof Pid)) return false;
        this.#pgPeers.set(p.name, cast.elements[1]);
        const groups: [string, Pid[]][] = [];
        for (const g of Array.isArray(cast.elements[2]) ? (cast.elements[2] as Term[]) : []) {
          if (g instanceof Tuple && g.elements[0] instanceof Atom) {
            groups.push([g.elements[0].name, pids(g.elements[1])]);
          }
        }
        pg.apply(p.name, { kind: "sync", groups });
        return true;
      }
      case "join":
        if (m.length !== 4) return false;
        if (b instanceof Atom) pg.apply(p.name, { kind: "join", group: b.name, pids: pids(c) });
        return true;
      case "leave":
        if (m.length !== 4) return false;
        for (const g of Array.isArray(c) ? (c as Term[]) : []) {
          if (g instanceof Atom) pg.apply(p.name, { kind: "leave", group: g.name, pids: pids(b) });
        }
        return true;
      default:
        return false;
    }
  }

  /** A message to a name registered here (`net_kernel` and `rex` among them, see `#servers`). */
  #regSend(p: Peer, from: Pid, name: string, message: Term): void {
    if (name === "pg" && this.#pgMessage(p, message)) return;
    this.#dispatch(p, { op: "reg_send", to: { name, node: this.name }, msg: message, from });
  }

  /**
   * The processes a BEAM node calls on every peer, registered once the first BEAM node is up:
   * `net_kernel` (`is_auth`, what `net_adm:ping/1` asks) and `rex` (`rpc:call/4`). They are
   * real processes, so the BEAM node's monitor of them (every `gen_server:call` makes one) holds.
   */
  #servers(): void {
    const rt = this.#runtime;
    if (rt.closed) return;
    const serve = (
      name: string,
      handle: (from: string, call: GenCall, reply: (t: Term) => void) => void,
    ) => {
      if (rt.whereis(name) !== undefined) return;
      rt.spawn(async (ctx) => {
        while (true) {
          const m = await ctx.receive();
          const call = genCall(m as Term);
          if (call === undefined) continue; // casts and info messages: nothing to answer
          handle(call.from.node, call, (result) => {
            try {
              ctx.send(call.from, tuple(call.tag, result));
            } catch (err) {
              ctx.send(
                call.from,
                tuple(call.tag, tuple(atom("badrpc"), tuple(atom("EXIT"), errorTerm(err)))),
              );
            }
          });
        }
      }, { name, label: `erlang:${name}` });
    };
    // Sent by net_adm:ping/1 on the BEAM node: we accept every node that proved the cookie.
    serve("net_kernel", (_from, call, reply) => {
      const r = call.request;
      if (r instanceof Tuple && r.elements[0] instanceof Atom && r.elements[0].name === "is_auth") {
        reply(atom("yes"));
      }
    });
    serve("rex", (from, call, reply) => this.#serveRex(from, call.request, reply));
  }

  /**
   * SPAWN_REQUEST from the BEAM node. `erpc:call/4` (and so `rpc:call/4`) asks for
   * `erpc:execute_call(Ref, M, F, A)` with a monitor: the call runs as `rex` calls do, and its
   * outcome goes back as the monitor's exit reason (`{Ref, return, Result}`), as the BEAM's
   * `execute_call` exits with it. Weft runs no other Erlang code: any other spawn is `notsup`.
   */
  #spawnRequest(
    p: Peer,
    conn: ErlangConnection,
    reqId: Term,
    from: Pid,
    mfa: Term,
    opts: Term,
    args: Term,
  ): void {
    const target = mfa instanceof Tuple ? mfa.elements : [];
    const isCall = target[0] instanceof Atom && target[0].name === "erpc" &&
      target[1] instanceof Atom && target[1].name === "execute_call" && target[2] === 4;
    const callArgs = Array.isArray(args) ? (args as Term[]) : [];
    const [ref, m, f, a] = callArgs;
    if (
      !isCall || callArgs.length !== 4 || !(m instanceof Atom) || !(f instanceof Atom) ||
      !Array.isArray(a)
    ) {
      conn.send(tuple(CTRL_SPAWN_REPLY, reqId, from, 0, atom("notsup")));
      return;
    }
    const monitor = Array.isArray(opts) &&
      (opts as Term[]).some((o) => o instanceof Atom && o.name === "monitor");
    const worker = this.#nullPid();
    conn.send(tuple(CTRL_SPAWN_REPLY, reqId, from, monitor ? SPAWN_REPLY_MONITOR : 0, worker));
    const exit = (reason: Term) => {
      if (monitor && !conn.closed) {
        conn.send(tuple(CTRL_MONITOR_P_EXIT, worker, from, reqId, reason));
      }
    };
    const rex = this.#rex;
    if (rex === undefined) {
      exit(tuple(ref!, atom("error"), atom("undef"), []));
      return;
    }
    rex(p.name, m.name, f.name, a as Term[]).then(
      (result) => {
        try {
          termKey(result);
          exit(tuple(ref!, atom("return"), result));
        } catch (err) {
          exit(tuple(ref!, atom("error"), errorTerm(err), []));
        }
      },
      (err) => exit(tuple(ref!, atom("error"), errorTerm(err), [])),
    );
  }

  /** `{call, M, F, A, GroupLeader}` to `rex`, sent by `rpc:call/4` on the BEAM node. */
  #serveRex(caller: string, request: Term, reply: (result: Term) => void): void {
    const e = request instanceof Tuple ? request.elements : [];
    const [kind, m, f, a] = e;
    if (
      !(kind instanceof Atom) || kind.name !== "call" || !(m instanceof Atom) ||
      !(f instanceof Atom) || !Array.isArray(a)
    ) {
      reply(tuple(atom("badrpc"), tuple(atom("EXIT"), atom("badarg"))));
      return;
    }
    if (this.#rex === undefined) {
      reply(tuple(atom("badrpc"), tuple(atom("EXIT"), atom("undef"))));
      return;
    }
    this.#rex(caller, m.name, f.name, a as Term[]).then(
      (result) => {
        try {
          reply(result);
        } catch (err) {
          reply(tuple(atom("badrpc"), tuple(atom("EXIT"), errorTerm(err))));
        }
      },
      (err) => reply(tuple(atom("badrpc"), tuple(atom("EXIT"), errorTerm(err)))),
    );
  }

  /** The Weft ref for the Erlang monitor reference `ref` (made when `create`). */
  #refIn(p: Peer, ref: Term, create: boolean): Ref | undefined {
    if (ref instanceof Ref) return ref;
    if (!(ref instanceof ErlangRef)) throw new DecodeError("Malformed monitor: not a reference");
    const key = termKey(ref);
    let r = p.refIn.get(key);
    if (r === undefined && create) {
      r = new Ref(p.name, p.nextRef++, p.info?.creation ?? 0);
      p.refIn.set(key, r);
      p.refOut.set(r.key, ref);
    }
    return r;
  }

  #target(t: Term): Pid | { name: string; node: string } {
    if (t instanceof Pid) return t;
    if (t instanceof Atom) return { name: t.name, node: this.name };
    throw new DecodeError("Malformed monitor: the target is neither a pid nor a name");
  }
}

/** `{'$gen_call', {From, Tag}, Request}` taken apart. */
interface GenCall {
  from: Pid;
  tag: Term;
  request: Term;
}

function genCall(m: Term): GenCall | undefined {
  if (!(m instanceof Tuple) || m.length !== 3) return undefined;
  const [label, from, request] = m.elements;
  if (!(label instanceof Atom) || label.name !== "$gen_call" || request === undefined) {
    return undefined;
  }
  if (!(from instanceof Tuple) || from.length !== 2 || !(from.elements[0] instanceof Pid)) {
    return undefined;
  }
  return { from: from.elements[0], tag: from.elements[1]!, request };
}

/** A message as an Erlang term, or a `TypeError` naming what has none. */
function checkTerm(v: unknown, what: string): Term {
  try {
    // Encoding is the check: the connection encodes again, so keep what it will accept.
    termKey(v as Term);
  } catch (e) {
    throw new TypeError(
      `Cannot send to an Erlang node: the ${what} has no Erlang term: ${(e as Error).message}`,
    );
  }
  return v as Term;
}

/** A Weft exit reason as Erlang's: strings are atoms there. */
function toReason(r: unknown): Term {
  if (typeof r === "string") return atom(r);
  if (r instanceof Error) return tuple(atom(r.name), new TextEncoder().encode(r.message));
  try {
    termKey(r as Term);
    return r as Term;
  } catch {
    return atom("error");
  }
}

/** An Erlang exit reason as Weft's: atoms are strings here. */
function fromReason(r: Term): unknown {
  return r instanceof Atom ? r.name : r;
}

function procOf(t: Pid | { name: string; node: string }): Term {
  return t instanceof Pid ? t : atom(t.name);
}

function errorTerm(err: unknown): Term {
  if (err instanceof Error) return tuple(atom(err.name), new TextEncoder().encode(err.message));
  return atom("error");
}
