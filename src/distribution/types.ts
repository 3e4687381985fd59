/**
 * Wire constants of Weft's distribution protocol, in one place: the
 * protocol version, the handshake messages and statuses, the frame kinds
 * and the operation codes of the messages two connected nodes exchange.
 * docs/PROTOCOL.md is the prose specification of everything here.
 *
 * ```
 * connect:  A ---------------- HELLO -----------------> B
 *           A <------------- CHALLENGE ---------------- B   (status, proof of B)
 *           A ---------------- REPLY -----------------> B   (proof of A)
 *           A <---------------- ACK ------------------- B
 * then:     frames  u32 length | payload   (length 0 = tick)
 *           payload  kind byte | body       (MESSAGE, FRAGMENT_HEAD, FRAGMENT_CONT)
 *           MESSAGE body  CBOR [op, ...fields]
 * ```
 *
 * @example
 * ```ts
 * import { OP_SEND, PROTOCOL_VERSION } from "./types.ts";
 * console.assert(PROTOCOL_VERSION === 1 && OP_SEND === 1);
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Versioning

/** The protocol version this implementation speaks best. */
export const PROTOCOL_VERSION = 1;
/** Every protocol version this implementation can speak, newest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [1];
/** The magic string that opens a HELLO, so that a stray client fails at once. */
export const HANDSHAKE_MAGIC = "weft";

// ---------------------------------------------------------------------------
// Handshake messages (CBOR arrays whose first element is one of these)

/** `[1, "weft", versions, name, creation, capabilities, nonceA]`: initiator -> responder. */
export const MSG_HELLO = 1;
/**
 * `[2, status, version, name, creation, capabilities, nonceB, proofA]`:
 * responder -> initiator; a refusal is `[2, status]` alone.
 */
export const MSG_CHALLENGE = 2;
/** `[3, proofB]`: initiator -> responder. */
export const MSG_REPLY = 3;
/** `[4]`: responder -> initiator; the connection is up. */
export const MSG_ACK = 4;
/** `[5, reason]`: either side, informational, just before it closes. */
export const MSG_ABORT = 5;

/** The length of each nonce, in bytes. */
export const NONCE_BYTES = 32;
/** The length of each proof (an HMAC-SHA256), in bytes. */
export const PROOF_BYTES = 32;
/** The label that opens every proof's HMAC input (16 bytes with its NUL). */
export const PROOF_LABEL = "weft-dist-proof\0";
/** Proof role byte: computed by the responder, carried in CHALLENGE. */
export const ROLE_RESPONDER = 1;
/** Proof role byte: computed by the initiator, carried in REPLY. */
export const ROLE_INITIATOR = 2;

/** Largest handshake frame payload accepted before authentication. */
export const MAX_HANDSHAKE_FRAME = 64 * 1024;
/** Default deadline for a whole handshake, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 5000;
/** Default deadline, from the connect, for an accepted connection's complete HELLO, in milliseconds. */
export const DEFAULT_HELLO_TIMEOUT = 2000;
/** Default limit of unauthenticated handshakes a node holds at once. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 256;
/** Default limit of unauthenticated handshakes a node holds at once from one address. */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS = 64;

// ---------------------------------------------------------------------------
// Handshake statuses (CHALLENGE's second element), as OTP's dist_util

/** Go on. */
export const STATUS_OK = "ok";
/** Go on: the responder was connecting too and gives way to this attempt. */
export const STATUS_OK_SIMULTANEOUS = "ok_simultaneous";
/** Refused: the responder's own attempt to this node wins, or one is in progress. */
export const STATUS_NOK = "nok";
/**
 * Go on, but the responder already has a connection to a node of this name:
 * when this handshake completes, that old connection is replaced.
 */
export const STATUS_ALIVE = "alive";
/** Refused: the name is not acceptable (it is the responder's own name). */
export const STATUS_NOT_ALLOWED = "not_allowed";
/** Refused: no protocol version in common. */
export const STATUS_VERSION = "version";

/** A status the responder may send in CHALLENGE. */
export type HandshakeStatus =
  | typeof STATUS_OK
  | typeof STATUS_OK_SIMULTANEOUS
  | typeof STATUS_NOK
  | typeof STATUS_ALIVE
  | typeof STATUS_NOT_ALLOWED
  | typeof STATUS_VERSION;

// ---------------------------------------------------------------------------
// Capabilities (a u32 bit set in HELLO and CHALLENGE)

/** The node understands FRAGMENT_HEAD / FRAGMENT_CONT frames. Always set. */
export const CAP_FRAGMENTS = 0x1;
/** The node serves SPAWN_REQUEST. */
export const CAP_SPAWN = 0x2;
/** The node is hidden: not part of the transitive mesh, not in `list("visible")`. */
export const CAP_HIDDEN = 0x4;
/**
 * The capabilities every Weft node of this version announces; `CAP_SPAWN`
 * is added while a SPAWN_REQUEST handler is installed, `CAP_HIDDEN` by
 * hidden nodes.
 */
export const CAPS_DEFAULT = CAP_FRAGMENTS;

// ---------------------------------------------------------------------------
// Frames (after the handshake)

/** Bytes of a frame's length prefix (u32, big-endian). */
export const FRAME_HEADER_BYTES = 4;
/** A whole message: the rest of the payload is CBOR `[op, ...]`. */
export const FRAME_MESSAGE = 0x01;
/** First fragment: `u32 stream | u32 totalLength | bytes`. */
export const FRAME_FRAGMENT_HEAD = 0x02;
/** Next fragment of a stream: `u32 stream | bytes`. */
export const FRAME_FRAGMENT_CONT = 0x03;
/** Largest frame payload an authenticated peer may send. */
export const MAX_FRAME = 1024 * 1024 + 16;
/** Messages whose encoding is longer than this are sent as fragments of this size. */
export const DEFAULT_FRAGMENT_SIZE = 64 * 1024;
/** Largest reassembled message accepted, by default. */
export const DEFAULT_MAX_MESSAGE = 1024 * 1024 * 1024;
/** Fragment streams one peer may have open at once. */
export const MAX_OPEN_STREAMS = 256;
/** Bytes all unfinished fragmented messages of one connection may hold, by default. */
export const DEFAULT_REASSEMBLY_BUDGET = 1024 * 1024 * 1024;
/** Milliseconds a fragmented message may take from its first fragment to its last, by default. */
export const DEFAULT_REASSEMBLY_TIMEOUT = 60_000;
/**
 * Bytes queued on one connection past which it is busy and its senders are
 * held back (Erlang's `dist_buf_busy_limit`), by default.
 */
export const DEFAULT_BUSY_LIMIT = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Ticks

/** Default net tick time in seconds: a silent peer is down after at most this. */
export const DEFAULT_NET_TICKTIME = 4;
/** Ticks sent per tick time; silence over (TICKS_PER_TICKTIME - 1) intervals is down. */
export const TICKS_PER_TICKTIME = 4;

// ---------------------------------------------------------------------------
// Operations: process signals (first element of a MESSAGE's CBOR array)

/** `[1, toId, toSerial, toCreation, msg]`: a message to a process of the receiver. */
export const OP_SEND = 1;
/** `[2, name: string, msg]`: a message to a name registered on the receiver. */
export const OP_REG_SEND = 2;
/** `[3, from: Pid, to: Pid]`: `from` links to `to`. */
export const OP_LINK = 3;
/** `[4, from: Pid, to: Pid]`: `from` removes its link to `to`. */
export const OP_UNLINK = 4;
/** `[5, from: Pid, to: Pid, reason]`: `exit(to, reason)` called by `from`. */
export const OP_EXIT = 5;
/** `[6, from: Pid, to: Pid, reason]`: `from`, linked to `to`, exited. */
export const OP_LINK_EXIT = 6;
/** `[7, from: Pid, to: Pid | string, ref: Ref]`: `from` monitors `to` (a pid or a local name). */
export const OP_MONITOR = 7;
/** `[8, from: Pid, to: Pid | string, ref: Ref]`: `from` drops monitor `ref`. */
export const OP_DEMONITOR = 8;
/** `[9, from: Pid | RemoteName, to: Pid, ref: Ref, reason]`: a monitored process went down. */
export const OP_MONITOR_EXIT = 9;

// ---------------------------------------------------------------------------
// Operations: remote spawn (served by the rpc layer)

/** `[10, ref: Ref, from: Pid, spec, options]`: spawn a process on the receiver. */
export const OP_SPAWN_REQUEST = 10;
/** `[11, ref: Ref, to: Pid, result]`: the answer to SPAWN_REQUEST (`result` a Pid or a reason). */
export const OP_SPAWN_REPLY = 11;

// ---------------------------------------------------------------------------
// Operations: node kernel

/**
 * `[20, listenPort, peers: [name, port][]]`: sent by each side right after
 * the connection comes up: where the sender listens, and the visible nodes
 * it is connected to, so the receiver can join the mesh.
 */
export const OP_PEERS = 20;
/**
 * Most entries in one PEERS list: a sender lists at most this many of its
 * peers, and a receiver treats a longer list as malformed (a peer could
 * otherwise make a node dial thousands of addresses).
 */
export const MAX_PEERS = 256;
/** `[21, id]`: a liveness probe (`ping`); answered with PONG. */
export const OP_PING = 21;
/** `[22, id]`: the answer to PING. */
export const OP_PONG = 22;

/** Lowest operation code of the layers above distribution (their ranges: `OP_RANGES`, op_registry.ts). */
export const OP_USER_MIN = 32;

// ---------------------------------------------------------------------------
// Node-down reasons

/**
 * Why a connection went down, as `monitorNodes` reports it (OTP's names):
 * the socket closed or the peer sent something unacceptable
 * (`connection_closed`, which is also what peers of a stopping node see),
 * the peer fell silent (`net_tick_timeout`), or this node disconnected on
 * purpose (`disconnect`).
 */
export type NodeDownReason = "connection_closed" | "net_tick_timeout" | "disconnect";
