/**
 * Connection setup (OTP keeps it in `dist_util`, apart from `net_kernel`):
 * our own attempts to reach a node, the handshakes we accept, and the
 * rule that settles two nodes dialling each other at once. The node
 * kernel owns the node table and what an up connection does; this file
 * decides, for one table entry, which connection attempt brings it up.
 *
 * ```
 * ours (dial):    lookup -> transport connect -> initiateHandshake
 *                   ok: host.up(entry)   nok: wait for the peer's attempt
 *                   failed: once more if the attempt was the peer's, else host.fail
 * theirs (accept): admission (limits before authentication)
 *                   -> acceptHandshake: decide(status) reads the table at HELLO,
 *                      settle() claims the entry after the peer's proof
 *                   ok: host.up(entry)
 * ```
 *
 * The simultaneous-connect rule: when both nodes dial each other, the
 * attempt of the node with the larger name wins on both sides. The larger
 * node answers `nok` to the smaller one's attempt (or refuses it in
 * `settle`); the smaller one answers `ok_simultaneous` and, once the
 * larger has proved the cookie, cancels its own attempt. A node whose
 * attempt got `nok` waits up to the handshake deadline for the peer's to
 * arrive, then dials once more. An initiator told `alive` goes on only
 * while its attempt still owns its pending entry (OTP's `is_pending`), so
 * a late attempt never replaces the connection that won. Nothing in the
 * table changes before the peer has proved the cookie, so a stranger's
 * HELLO claiming a name locks nobody out. docs/PROTOCOL.md 3.3 and 3.5
 * give the rules in full.
 *
 * Failure: a failed attempt closes its socket and, when nobody else is
 * bringing the entry up, the kernel fails the entry (callers get `false`,
 * links and monitors `noconnection`). Only that connection is affected.
 *
 * @example
 * ```ts
 * import { NetKernel } from "./net_kernel.ts";
 * import { importCookie } from "./handshake.ts";
 * import { MemoryNetwork } from "./memory.ts";
 * import { Runtime } from "../process/runtime.ts";
 * // The setup is the kernel's: two kernels dialling each other at once
 * // end up with one connection.
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
 * a.kernel.addAddress("b@h", b.listener.addr);
 * b.kernel.addAddress("a@h", a.listener.addr);
 * const [x, y] = await Promise.all([a.kernel.connect("b@h"), b.kernel.connect("a@h")]);
 * console.assert(x && y && a.kernel.nodes().length === 1 && b.kernel.nodes().length === 1);
 * for (const n of [a, b]) await n.kernel.stop();
 * for (const n of [a, b]) await n.runtime.shutdown();
 * ```
 *
 * @module
 */

import { logger } from "../log.ts";
import { type Admitted, HandshakeAdmission } from "./admission.ts";
import type { ForeignProtocol } from "./foreign_protocol.ts";
import type { DistConnection, MessageBody } from "./connection.ts";
import { framedIO, FrameReader } from "./frame_reader.ts";
import {
  acceptHandshake,
  type CookieKey,
  type HandshakeResult,
  initiateHandshake,
  type PeerInfo,
} from "./handshake.ts";
import {
  type Connection,
  iterateChunks,
  type Transport,
  type TransportAddress,
} from "./transport.ts";
import {
  CAP_HIDDEN,
  type HandshakeStatus,
  MAX_HANDSHAKE_FRAME,
  STATUS_ALIVE,
  STATUS_NOK,
  STATUS_NOT_ALLOWED,
  STATUS_OK,
  STATUS_OK_SIMULTANEOUS,
} from "./types.ts";

const log = logger("dist");

/** One node of the table. */
export interface NodeEntry {
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
export interface DialAttempt {
  /** Aborts the transport's connect. */
  readonly abort: AbortController;
  /** The socket, once connected. */
  conn: Connection | undefined;
  /** Set when the peer's attempt took over the entry; the attempt ends quietly. */
  cancelled: boolean;
}

/**
 * What connection setup needs of the node kernel: its node table and what
 * it does when an entry comes up, fails, or is replaced.
 */
export interface SetupHost {
  /** This node's full name. */
  readonly name: string;
  /** This incarnation's creation. */
  creation(): number;
  /** The cookie handshakes prove now. */
  cookie(): CookieKey;
  /**
   * The capability bits a handshake starting now announces (to `peer`,
   * when this node dials it: a hidden connection to one peer announces
   * `CAP_HIDDEN` to that peer only).
   */
  capabilities(peer?: string): number;
  /** Whether the node is stopping: no new connections. */
  stopped(): boolean;
  /** Whether `node` is cut off on purpose (fault injection). */
  blocked(node: string): boolean;
  /** The table entry of `node`, if any. */
  entry(node: string): NodeEntry | undefined;
  /** Adds a pending entry for `node` to the table. */
  newEntry(node: string): NodeEntry;
  /** Where `node` listens: a port mapper lookup, or an address learnt. */
  lookup(node: string): Promise<TransportAddress | undefined>;
  /** An address learnt for `node` (from `name@host:port` or PEERS), without a lookup. */
  knownAddress(node: string): TransportAddress | undefined;
  /** A handshake for `e` succeeded: the entry is up on `conn`, read on by `reader`. */
  up(e: NodeEntry, conn: Connection, reader: FrameReader, peer: PeerInfo, status: string): void;
  /** Every attempt for the pending entry `e` failed. */
  fail(e: NodeEntry, detail: string): void;
  /**
   * A peer that proved the cookie after `alive` replaces the up entry `old`
   * (it restarted, or saw the old connection die first): `old` goes down
   * and a pending entry takes its place, with what was queued for it.
   *
   * @param creation the new peer's creation
   * @returns the new pending entry
   */
  replace(old: NodeEntry, creation: number): NodeEntry;
  /** Tracks a task so that stopping the node waits for it. */
  track(task: Promise<unknown>): void;
  /** The second wire protocol accepted connections may speak, if any. */
  foreign(): ForeignProtocol | undefined;
}

/** Options for {@linkcode ConnectionSetup}. */
export interface SetupOptions {
  /** How to reach peers. */
  transport: Transport;
  /** Deadline of a connect and of each handshake, in milliseconds. */
  handshakeTimeout: number;
  /** Milliseconds an accepted connection has to send a complete HELLO. */
  helloTimeout: number;
  /** Unauthenticated handshakes held at once. */
  maxPendingHandshakes: number;
  /** Unauthenticated handshakes held at once from one address. */
  maxPendingHandshakesPerAddress: number;
}

/**
 * Dials, accepts and settles connection attempts for one node kernel.
 *
 * @example
 * ```ts
 * import { ConnectionSetup } from "./connection_setup.ts";
 * import { MemoryNetwork } from "./memory.ts";
 * // Built by NetKernel with itself as the host; see the module example.
 * console.assert(typeof ConnectionSetup === "function" && new MemoryNetwork().kind === "memory");
 * ```
 */
export class ConnectionSetup {
  readonly #host: SetupHost;
  readonly #transport: Transport;
  readonly #handshakeTimeout: number;
  readonly #helloTimeout: number;
  readonly #admission: HandshakeAdmission;
  /** Sockets not yet handed to a connection: handshakes in progress, both directions. */
  readonly #handshaking = new Set<Connection>();

  /**
   * @param host the node kernel
   * @param options transport, deadlines and limits
   */
  constructor(host: SetupHost, options: SetupOptions) {
    this.#host = host;
    this.#transport = options.transport;
    this.#handshakeTimeout = options.handshakeTimeout;
    this.#helloTimeout = options.helloTimeout;
    this.#admission = new HandshakeAdmission({
      maxPending: options.maxPendingHandshakes,
      maxPerAddress: options.maxPendingHandshakesPerAddress,
      helloTimeout: options.helloTimeout,
    });
  }

  /** Aborts every handshake in progress (the node stops). */
  stop(): void {
    for (const conn of this.#handshaking) conn.close();
    this.#admission.closeAll();
  }

  /**
   * Starts our own attempt to bring the pending entry `e` up.
   *
   * @param e a pending entry of the node table
   */
  dial(e: NodeEntry): void {
    const attempt: DialAttempt = {
      abort: new AbortController(),
      conn: undefined,
      cancelled: false,
    };
    e.dial = attempt;
    e.dials++;
    this.#host.track(this.#dial(e, attempt));
  }

  /**
   * Ends our attempt for `e` without a word (the peer's attempt took over,
   * or the entry gave up).
   *
   * @param e the entry
   */
  cancel(e: NodeEntry): void {
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
      const addr = this.#host.blocked(e.name)
        ? undefined
        : (await this.#host.lookup(e.name)) ?? this.#host.knownAddress(e.name);
      if (attempt.cancelled) return;
      if (addr === undefined) {
        outcome = {
          result: {
            ok: false,
            reason: "closed",
            detail: this.#host.blocked(e.name)
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
              name: this.#host.name,
              creation: this.#host.creation(),
              capabilities: this.#host.capabilities(e.name),
            },
            cookie: this.#host.cookie(),
            peer: e.name,
            stillWanted: () => !attempt.cancelled && this.#host.entry(e.name) === e,
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
      // We announced ourselves hidden to this peer (connectHidden): the
      // connection is hidden at both ends, whatever the peer is.
      const hidden = result.peer.hidden || (this.#host.capabilities(e.name) & CAP_HIDDEN) !== 0;
      this.#host.up(e, conn, outcome.reader, { ...result.peer, hidden }, result.status);
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
  accept(conn: Connection): void {
    const admitted = this.#admission.admit(conn);
    if (admitted === undefined) return; // refused: its address holds its share already
    const foreign = this.#host.foreign();
    if (foreign === undefined) {
      this.#acceptWeft(conn, admitted);
      return;
    }
    // A second protocol is spoken here: its first bytes tell which (foreign_protocol.ts).
    this.#handshaking.add(conn);
    this.#host.track(
      readFirst(conn).then(
        (first) => {
          this.#handshaking.delete(conn);
          if (first === null || this.#host.stopped()) {
            admitted.done();
            conn.close();
          } else if (foreign.claims(first)) {
            admitted.helloReceived();
            foreign.accept(conn, first, () => admitted.done());
          } else {
            this.#acceptWeft(replaying(conn, first), admitted);
          }
        },
        () => {
          this.#handshaking.delete(conn);
          admitted.done();
          conn.close();
        },
      ),
    );
  }

  /** An accepted connection that speaks Weft's protocol. */
  #acceptWeft(conn: Connection, admitted: Admitted): void {
    /** The entry this handshake claimed in `settle`, once the peer proved the cookie. */
    let claimed: NodeEntry | undefined;
    this.#host.track(
      this.#handshake(conn, (io) =>
        acceptHandshake(io, {
          self: {
            name: this.#host.name,
            creation: this.#host.creation(),
            capabilities: this.#host.capabilities(),
          },
          cookie: this.#host.cookie(),
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
          if (
            result.ok && e !== undefined && this.#host.entry(e.name) === e && !this.#host.stopped()
          ) {
            this.#host.up(e, conn, reader, result.peer, result.status);
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
    if (this.#host.stopped()) return STATUS_NOK;
    if (this.#host.blocked(name)) return STATUS_NOT_ALLOWED;
    const e = this.#host.entry(name);
    if (e === undefined) return STATUS_OK;
    switch (e.state) {
      case "pending":
        // An authenticated attempt is about to bring the entry up.
        if (e.accepted) return STATUS_NOK;
        if (e.dial === undefined) return STATUS_OK;
        // Both dialling: the attempt of the node with the larger name wins.
        return this.#host.name > name ? STATUS_NOK : STATUS_OK_SIMULTANEOUS;
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
    if (this.#host.stopped() || this.#host.blocked(name)) return undefined;
    let e = this.#host.entry(name);
    if (e === undefined) {
      e = this.#host.newEntry(name);
    } else if (e.state === "up") {
      // Only a peer told `alive` may replace: it checked, just before
      // proving itself, that it has no connection to us (OTP's is_pending).
      // An entry that came up since HELLO is a connection that won meanwhile.
      if (status !== STATUS_ALIVE) return undefined;
      e = this.#host.replace(e, creation);
    } else if (e.accepted) {
      return undefined;
    } else if (e.dial !== undefined) {
      // Both dialling: the attempt of the node with the larger name wins.
      if (this.#host.name > name) return undefined;
      log.debug("Connect to {node} gives way to its own attempt from {addr}", { node: name, addr });
      this.cancel(e);
    }
    clearTimeout(e.nokTimer);
    e.nokTimer = undefined;
    e.accepted = true;
    return e;
  }

  /** Our attempt got `nok`: the peer's own attempt should arrive; wait for it a while. */
  #awaitPeer(e: NodeEntry): void {
    if (this.#host.entry(e.name) !== e || e.state !== "pending") return;
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
    if (this.#host.entry(e.name) !== e || e.state !== "pending") return;
    if (e.dial !== undefined || e.accepted || e.nokTimer !== undefined) return;
    if (this.#host.stopped()) {
      this.#host.fail(e, detail);
      return;
    }
    const wanted = e.waiters.length > 0 || e.queue.length > 0;
    if (wanted && (e.dials === 0 || (afterNok && e.dials === 1))) {
      this.dial(e);
      return;
    }
    this.#host.fail(e, detail);
  }
}

/** The first 3 bytes or more of an accepted connection; `null` when it ends first. */
async function readFirst(conn: Connection): Promise<Uint8Array | null> {
  let got = new Uint8Array(0);
  while (got.length < 3) {
    const chunk = await conn.read();
    if (chunk === null) return null;
    const joined = new Uint8Array(got.length + chunk.length);
    joined.set(got);
    joined.set(chunk, got.length);
    got = joined;
  }
  return got;
}

/** `conn` with `first`, already read from it, read again first. */
function replaying(conn: Connection, first: Uint8Array): Connection {
  let pending: Uint8Array | undefined = first;
  const replay: Connection = {
    get remoteAddr() {
      return conn.remoteAddr;
    },
    read(max?: number) {
      if (pending !== undefined) {
        const chunk = pending;
        pending = undefined;
        return Promise.resolve(chunk);
      }
      return conn.read(max);
    },
    write: (bytes) => conn.write(bytes),
    close: () => conn.close(),
    [Symbol.asyncIterator]: () => iterateChunks(replay),
  };
  return replay;
}
