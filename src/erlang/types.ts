/**
 * Wire constants of Erlang's distribution protocol (OTP 25), in one place: the capability flags
 * a handshake exchanges, the handshake message tags, the frame and header tags of a connection,
 * and the control message codes. `docs/PROTOCOL.md` ("Speaking Erlang") and Erlang's own
 * `erl_dist_protocol` and `erl_ext_dist` documents are the prose specification.
 *
 * ```
 * handshake (2-byte length frames):
 *   A ---- send_name 'N' flags creation name --------------------> B
 *   A <--- send_status 's' "ok" | "nok" | "alive" | "not_allowed" -- B
 *   A <--- send_challenge 'N' flags challengeB creation name ------ B
 *   A ---- challenge_reply 'r' challengeA digest(challengeB) -----> B
 *   A <--- challenge_ack 'a' digest(challengeA) -------------------- B
 * then (4-byte length frames, length 0 = tick):
 *   131 68 header ControlMessage [Message]        (distribution header, atom cache)
 *   131 69 seq fragId header ControlMessage ...   (first fragment; 131 70 for the rest)
 *   112 131 ControlMessage [131 Message]          (pass-through, no header)
 * ```
 *
 * @example
 * ```ts
 * import { CTRL_REG_SEND, DFLAGS_WEFT, DFLAG_HANDSHAKE_23 } from "./types.ts";
 * console.assert(CTRL_REG_SEND === 6 && (DFLAGS_WEFT & DFLAG_HANDSHAKE_23) !== 0n);
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Capability flags (64 bits in the version 6 handshake)

/** The node shows in `nodes()`; without it the node is hidden. */
export const DFLAG_PUBLISHED = 0x1n;
/** References of more than one word. */
export const DFLAG_EXTENDED_REFERENCES = 0x4n;
/** Process monitors across nodes. */
export const DFLAG_DIST_MONITOR = 0x8n;
/** Fun tags (mandatory; funs themselves are refused by Weft's decoder). */
export const DFLAG_FUN_TAGS = 0x10n;
/** Monitors of registered names across nodes. */
export const DFLAG_DIST_MONITOR_NAME = 0x20n;
/** `NEW_FUN_EXT` (mandatory). */
export const DFLAG_NEW_FUN_TAGS = 0x80n;
/** Pids and ports with a 32-bit creation of their own (mandatory). */
export const DFLAG_EXTENDED_PIDS_PORTS = 0x100n;
/** `EXPORT_EXT` (mandatory). */
export const DFLAG_EXPORT_PTR_TAG = 0x200n;
/** Bitstrings (mandatory). */
export const DFLAG_BIT_BINARIES = 0x400n;
/** `NEW_FLOAT_EXT` (mandatory). */
export const DFLAG_NEW_FLOATS = 0x800n;
/** The distribution header with its atom cache. */
export const DFLAG_DIST_HDR_ATOM_CACHE = 0x2000n;
/** `SMALL_ATOM_EXT`. */
export const DFLAG_SMALL_ATOM_TAGS = 0x4000n;
/** UTF-8 atoms (mandatory). */
export const DFLAG_UTF8_ATOMS = 0x10000n;
/** Maps (mandatory). */
export const DFLAG_MAP_TAG = 0x20000n;
/** 32-bit creations (mandatory). */
export const DFLAG_BIG_CREATION = 0x40000n;
/** `SEND_SENDER` instead of `SEND`. */
export const DFLAG_SEND_SENDER = 0x80000n;
/** Messages cut into fragments. */
export const DFLAG_FRAGMENTS = 0x800000n;
/** The version 6 handshake (mandatory). */
export const DFLAG_HANDSHAKE_23 = 0x1000000n;
/** `UNLINK_ID` / `UNLINK_ID_ACK` instead of `UNLINK`. */
export const DFLAG_UNLINK_ID = 0x2000000n;
/** The node has every flag OTP 25 makes mandatory. */
export const DFLAG_MANDATORY_25_DIGEST = 0x4000000n;
/** `spawn_request` across nodes (what `erpc:call`, and so `rpc:call`, uses). */
export const DFLAG_SPAWN = 0x1n << 32n;
/** Pids, ports and references of the V4 format, 64-bit ids. */
export const DFLAG_V4_NC = 0x4n << 32n;

/** The flags OTP 25 refuses a peer without. */
export const DFLAGS_MANDATORY_25 = DFLAG_EXTENDED_REFERENCES | DFLAG_FUN_TAGS |
  DFLAG_EXTENDED_PIDS_PORTS | DFLAG_UTF8_ATOMS | DFLAG_NEW_FUN_TAGS | DFLAG_BIG_CREATION |
  DFLAG_NEW_FLOATS | DFLAG_MAP_TAG | DFLAG_EXPORT_PTR_TAG | DFLAG_BIT_BINARIES |
  DFLAG_HANDSHAKE_23;

/** What a Weft node announces (plus {@linkcode DFLAG_PUBLISHED} unless hidden). */
export const DFLAGS_WEFT = DFLAGS_MANDATORY_25 | DFLAG_DIST_MONITOR | DFLAG_DIST_MONITOR_NAME |
  DFLAG_DIST_HDR_ATOM_CACHE | DFLAG_SMALL_ATOM_TAGS | DFLAG_SEND_SENDER | DFLAG_FRAGMENTS |
  DFLAG_UNLINK_ID | DFLAG_MANDATORY_25_DIGEST | DFLAG_V4_NC | DFLAG_SPAWN;

// ---------------------------------------------------------------------------
// Handshake

/** `send_name` and `send_challenge` of the version 6 handshake. */
export const HS_NAME_V6 = 0x4e; // 'N'
/** `send_name` of the version 5 handshake (refused: OTP 25 speaks 6). */
export const HS_NAME_V5 = 0x6e; // 'n'
/** `send_status`. */
export const HS_STATUS = 0x73; // 's'
/** `send_challenge_reply`. */
export const HS_REPLY = 0x72; // 'r'
/** `send_challenge_ack`. */
export const HS_ACK = 0x61; // 'a'
/** Largest handshake message accepted (a name is at most 255 characters of 4 bytes). */
export const MAX_HANDSHAKE_MESSAGE = 2048;

// ---------------------------------------------------------------------------
// Frames of a connection

/** The version byte that opens a header and every term. */
export const VERSION_MAGIC = 131;
/** A message with a distribution header. */
export const DIST_HEADER = 68;
/** The first fragment of a message, with its distribution header. */
export const DIST_FRAG_HEADER = 69;
/** A later fragment of a message. */
export const DIST_FRAG_CONT = 70;
/** A message without a header: `112 131 ControlMessage [131 Message]`. */
export const PASS_THROUGH = 112;
/** Entries of one connection's atom cache (8 segments of 256). */
export const ATOM_CACHE_SIZE = 2048;
/** Largest frame accepted by default: 64 MiB. */
export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;
/** Bytes the unfinished fragmented messages of one connection may hold by default: 64 MiB. */
export const DEFAULT_REASSEMBLY_BUDGET = 64 * 1024 * 1024;
/** Unfinished fragmented messages one connection may have at once. */
export const MAX_OPEN_SEQUENCES = 64;

// ---------------------------------------------------------------------------
// Control messages (the first element of the control tuple)

/** `{1, FromPid, ToPid}` */
export const CTRL_LINK = 1;
/** `{2, Unused, ToPid}` + Message */
export const CTRL_SEND = 2;
/** `{3, FromPid, ToPid, Reason}`: a linked process exited. */
export const CTRL_EXIT = 3;
/** `{4, FromPid, ToPid}` (the old unlink; OTP 25 peers with UNLINK_ID send 35). */
export const CTRL_UNLINK = 4;
/** `{6, FromPid, Unused, ToName}` + Message */
export const CTRL_REG_SEND = 6;
/** `{7, FromPid, ToPid}`: group leader (ignored). */
export const CTRL_GROUP_LEADER = 7;
/** `{8, FromPid, ToPid, Reason}`: `exit/2`. */
export const CTRL_EXIT2 = 8;
/** `{19, FromPid, ToProc, Ref}` */
export const CTRL_MONITOR_P = 19;
/** `{20, FromPid, ToProc, Ref}` */
export const CTRL_DEMONITOR_P = 20;
/** `{21, FromProc, ToPid, Ref, Reason}` */
export const CTRL_MONITOR_P_EXIT = 21;
/** `{22, FromPid, ToPid}` + Message */
export const CTRL_SEND_SENDER = 22;
/** `{35, Id, FromPid, ToPid}` */
export const CTRL_UNLINK_ID = 35;
/** `{36, Id, FromPid, ToPid}` */
export const CTRL_UNLINK_ID_ACK = 36;
/** `{29, ReqId, From, GroupLeader, {M, F, Arity}, Opts}` + Args: what `erpc` sends. */
export const CTRL_SPAWN_REQUEST = 29;
/** `{31, ReqId, To, Flags, Result}`: the answer to a spawn request. */
export const CTRL_SPAWN_REPLY = 31;
/** SPAWN_REPLY flag: the requested monitor is set up. */
export const SPAWN_REPLY_MONITOR = 2;
