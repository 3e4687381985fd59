/**
 * Wire constants and shared types of the EPMD protocol, the port mapper that
 * maps node names (the part before `@`) to distribution ports on one host.
 *
 * Every request is one packet `u16 length | request`, the first request byte
 * being its code; all integers are big-endian. The byte layouts, as Erlang's
 * `epmd` speaks them (ERTS User's Guide, "Distribution Protocol"):
 *
 * ```
 * ALIVE2_REQ       120 | u16 port | u8 nodeType | u8 protocol | u16 highestVersion
 *                      | u16 lowestVersion | u16 nlen | name | u16 elen | extra
 * ALIVE2_X_RESP    118 | u8 result | u32 creation      (node highestVersion >= 6)
 * ALIVE2_RESP      121 | u8 result | u16 creation      (older nodes)
 * PORT_PLEASE2_REQ 122 | name
 * PORT2_RESP       119 | u8 result (> 0: not found, nothing follows)
 *                      | u16 port | u8 nodeType | u8 protocol | u16 highestVersion
 *                      | u16 lowestVersion | u16 nlen | name | u16 elen | extra
 * NAMES_REQ        110                 -> u32 epmdPort, then "name N at port P\n"...
 * DUMP_REQ         100                 -> u32 epmdPort, then NUL-terminated lines
 * KILL_REQ         107                 -> "OK" (and the port mapper exits) | "NO"
 * STOP_REQ         115 | name          -> "STOPPED" | "NOEXIST"
 * ```
 *
 * Responses carry no length prefix: the port mapper closes the connection
 * after replying, except after a successful ALIVE2, where the connection
 * stays open for as long as the node is registered.
 *
 * Weft nodes register as normal nodes (type 77, protocol 0, versions 6/6,
 * as OTP 23+ does) so that `epmd -names` lists them next to Erlang nodes.
 * The port mapper is shared, the distribution protocol is not: an Erlang
 * node that looks a Weft node up and connects will fail the handshake. The
 * `extra` field carries {@linkcode weftExtra} so that a Weft client can tell
 * Weft nodes from Erlang ones.
 *
 * @example
 * ```ts
 * import { ALIVE2_REQ, isWeftEntry, weftEntry } from "./types.ts";
 * console.assert(ALIVE2_REQ === 120);
 * console.assert(isWeftEntry(weftEntry({ name: "a", port: 4370 })));
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Port numbers

/** The port the port mapper listens on unless told otherwise. */
export const EPMD_DEFAULT_PORT = 4369;

// ---------------------------------------------------------------------------
// Registration and lookup (what nodes send)

/** Register a node: sent by a node that starts distribution. */
export const ALIVE2_REQ = 120; // 'x'
/** Reply to ALIVE2_REQ with a 32-bit creation, for nodes of version 6 and up. */
export const ALIVE2_X_RESP = 118; // 'v'
/** Reply to ALIVE2_REQ with a 16-bit creation, for nodes below version 6. */
export const ALIVE2_RESP = 121; // 'y'
/** Look a node's port up by name: sent by a node about to connect. */
export const PORT_PLEASE2_REQ = 122; // 'z'
/** Reply to PORT_PLEASE2_REQ. */
export const PORT2_RESP = 119; // 'w'
/** List the registered names (`epmd -names`, `net_adm:names()`). */
export const NAMES_REQ = 110; // 'n'

// ---------------------------------------------------------------------------
// Administration (what the `epmd` command line sends; loopback peers only)

/** Dump every registration in a human-readable form (`epmd -dump`). */
export const DUMP_REQ = 100; // 'd'
/** Stop the port mapper (`epmd -kill`); refused while nodes are registered. */
export const KILL_REQ = 107; // 'k'
/** Forcibly unregister a name (`epmd -stop NAME`); needs relaxed command check. */
export const STOP_REQ = 115; // 's'

// ---------------------------------------------------------------------------
// Field values

/** Node type of a normal (visible) node, `'M'`. */
export const NODE_TYPE_NORMAL = 77;
/** Node type of a hidden node, `'H'`. */
export const NODE_TYPE_HIDDEN = 72;
/** The only transport protocol EPMD knows: TCP. */
export const PROTOCOL_TCP = 0;
/** The distribution version Weft nodes advertise, highest and lowest (OTP 23+). */
export const WEFT_DIST_VERSION = 6;
/** `result` byte of a successful reply. */
export const RESULT_OK = 0;
/** `result` byte of a refused ALIVE2 or of a PORT_PLEASE2 for an unknown name. */
export const RESULT_ERROR = 1;
/** Creation sent with a refused ALIVE2, as `epmd` does. */
export const REFUSED_CREATION = 99;

/** Marker a Weft node puts in the `extra` field of its registration. */
export const WEFT_EXTRA_MARKER = "weft";

/**
 * {@linkcode WEFT_EXTRA_MARKER} as bytes, a fresh copy each call.
 *
 * @returns the bytes of the marker
 *
 * @example
 * ```ts
 * import { weftExtra } from "./types.ts";
 * console.assert(new TextDecoder().decode(weftExtra()) === "weft");
 * ```
 */
export function weftExtra(): Uint8Array {
  return new TextEncoder().encode(WEFT_EXTRA_MARKER);
}

// ---------------------------------------------------------------------------
// Limits (epmd's own: node names are atoms, at most 255 characters)

/** Most characters in a node name. */
export const MAX_NAME_CHARS = 255;
/** Most bytes in a node name (255 characters of UTF-8). */
export const MAX_NAME_BYTES = 255 * 4;
/** Most bytes in the `extra` field. */
export const MAX_EXTRA_BYTES = 255 * 4;
/** Longest request body the server accepts (after the u16 length), as `epmd`. */
export const MAX_REQUEST_BYTES = 3 * MAX_NAME_BYTES - 3;

// ---------------------------------------------------------------------------
// Types

/** One node as the port mapper knows it: what ALIVE2_REQ registers and PORT2_RESP returns. */
export interface EpmdNodeEntry {
  /** The node name without `@host` (the "alive" part). */
  name: string;
  /** The node's distribution listening port. */
  port: number;
  /** {@linkcode NODE_TYPE_NORMAL} (77, `'M'`) or {@linkcode NODE_TYPE_HIDDEN} (72, `'H'`). */
  nodeType: number;
  /** Transport protocol; {@linkcode PROTOCOL_TCP} (0). */
  protocol: number;
  /** Highest distribution version the node speaks. */
  highestVersion: number;
  /** Lowest distribution version the node speaks. */
  lowestVersion: number;
  /** Opaque bytes stored with the registration; Weft puts {@linkcode weftExtra} here. */
  extra: Uint8Array;
}

/**
 * What {@linkcode lookupNode} found: the entry, and the IP address the port
 * mapper answered on. A port mapper runs on its nodes' host, so that is the
 * node's host name already resolved: a TCP connect can go there without
 * resolving the name again.
 */
export interface EpmdFoundEntry extends EpmdNodeEntry {
  /** The IP address the port mapper was reached at (as the socket reports it). */
  address: string;
}

/** A registration held by a port mapper server: the entry and its creation. */
export interface EpmdRegistration extends EpmdNodeEntry {
  /** The creation the port mapper gave this registration (32-bit, never 0). */
  creation: number;
}

/** One line of a NAMES reply. */
export interface EpmdName {
  /** The node name without `@host`. */
  name: string;
  /** The node's distribution listening port. */
  port: number;
}

/** What {@linkcode weftEntry} needs to build a Weft node's registration. */
export interface WeftEntryOptions {
  /** The node name without `@host`. */
  name: string;
  /** The node's distribution listening port. */
  port: number;
  /** Register as a hidden node (type 72) rather than a normal one. */
  hidden?: boolean;
}

/**
 * The registration a Weft node sends: normal or hidden type, TCP, versions
 * 6/6 and the Weft marker in `extra`.
 *
 * @param options the node's name, port and visibility
 * @returns the entry to register
 *
 * @example
 * ```ts
 * import { NODE_TYPE_HIDDEN, weftEntry } from "./types.ts";
 * console.assert(weftEntry({ name: "a", port: 1, hidden: true }).nodeType === NODE_TYPE_HIDDEN);
 * ```
 */
export function weftEntry(options: WeftEntryOptions): EpmdNodeEntry {
  return {
    name: options.name,
    port: options.port,
    nodeType: options.hidden ? NODE_TYPE_HIDDEN : NODE_TYPE_NORMAL,
    protocol: PROTOCOL_TCP,
    highestVersion: WEFT_DIST_VERSION,
    lowestVersion: WEFT_DIST_VERSION,
    extra: weftExtra(),
  };
}

/**
 * Whether an entry was registered by a Weft node (its `extra` is the Weft
 * marker), as opposed to an Erlang node.
 *
 * @param entry an entry from a lookup
 * @returns `true` for a Weft node
 *
 * @example
 * ```ts
 * import { isWeftEntry, weftEntry } from "./types.ts";
 * const erlang = { ...weftEntry({ name: "e", port: 1 }), extra: new Uint8Array() };
 * console.assert(!isWeftEntry(erlang));
 * ```
 */
export function isWeftEntry(entry: Pick<EpmdNodeEntry, "extra">): boolean {
  const marker = weftExtra();
  return entry.extra.length === marker.length && marker.every((b, i) => entry.extra[i] === b);
}
