/**
 * The contract between the node kernel and a second wire protocol it speaks beside Weft's own
 * (Erlang's distribution protocol, `src/erlang/`). The kernel decides which protocol a
 * connection speaks and hands those of the other protocol over; the protocol keeps its own
 * table of peers and tells the kernel when one comes up or goes down, so `Node.list()`, node
 * monitors, links and monitors see one cluster.
 *
 * ```
 * outgoing: kernel.connect / route -> port mapper lookup -> address.protocol === "erlang"
 *             -> foreign.connect(node, address) ; queued signals -> foreign.route
 * incoming: listener -> first bytes -> foreign.claims(bytes) ? foreign.accept : Weft handshake
 * then:     kernel.route(node, signal) -> foreign.has(node) ? foreign.route : Weft connection
 *           foreign -> host.nodeUp / host.nodeDown -> monitors, runtime.nodeDown
 * ```
 *
 * @example
 * ```ts
 * import type { ForeignProtocol } from "./foreign_protocol.ts";
 * const none: Pick<ForeignProtocol, "has"> = { has: () => false };
 * console.assert(!none.has("e@host"));
 * ```
 *
 * @module
 */

import type { Signal } from "../process/types.ts";
import type { Connection, TransportAddress } from "./transport.ts";
import type { NodeDownReason } from "./types.ts";

/** What the kernel does for a foreign protocol. */
export interface ForeignHost {
  /** A peer of the protocol is up (after its handshake). */
  nodeUp(node: string, hidden: boolean): void;
  /** A peer that was up is down. */
  nodeDown(node: string, hidden: boolean, reason: NodeDownReason): void;
  /** Whether connections with `node` are refused (fault injection). */
  blocked(node: string): boolean;
  /** Whether `node` is up over Weft's own protocol. */
  weftPeer(node: string): boolean;
}

/** A second wire protocol of the node kernel. */
export interface ForeignProtocol {
  /** Short name for logs: `"erlang"`. */
  readonly kind: string;
  /** Called once by the kernel it is attached to. */
  attach(host: ForeignHost): void;
  /** Whether `node` is connected, or being connected, through this protocol. */
  has(node: string): boolean;
  /** Whether the first bytes of an accepted connection are this protocol's (3 bytes or more). */
  claims(first: Uint8Array): boolean;
  /**
   * Takes an accepted connection whose first bytes it claimed; calls `settled` once its
   * handshake ended, either way (the kernel counts unauthenticated handshakes until then).
   */
  accept(conn: Connection, first: Uint8Array, settled?: () => void): void;
  /** Connects to `node` at `addr` (or where its lookup says); `true` once up. */
  connect(node: string, addr?: TransportAddress): Promise<boolean>;
  /**
   * Carries a runtime signal to `node`.
   * @throws {TypeError} when the message has no form in this protocol
   */
  route(node: string, signal: Signal): void;
  /** Connected peers: visible, hidden, or all. */
  nodes(kind: "visible" | "hidden" | "all"): string[];
  /** The protocol's own liveness check. */
  ping(node: string): Promise<"pong" | "pang">;
  /** Closes the connection to `node`; `true` when there was one. */
  disconnect(node: string): boolean;
  /**
   * `rpc.call` of `module.fn(...args)` on a connected peer of this protocol: resolves with the
   * result, rejects with a `RemoteError` when the peer reports a failure.
   */
  call?(
    node: string,
    module: string,
    fn: string,
    args: readonly unknown[],
    timeout: number,
  ): Promise<unknown>;
  /** Takes a new cookie for handshakes from now on. */
  setCookie(cookie: string): void;
  /** Closes every connection. */
  stop(): Promise<void>;
}

/** The protocol an address speaks, when the port mapper told (`TransportAddress.protocol`). */
export type AddressProtocol = "weft" | "erlang";
