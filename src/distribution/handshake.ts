/**
 * The distribution handshake: two nodes prove to each other that they hold
 * the same cookie, without the cookie crossing the wire, and agree on a
 * protocol version. Written, as OTP's `dist_util`, as a linear script over
 * an injected `send`/`recv` pair; it knows nothing of sockets, frames or
 * deadlines (the caller closes the stream when its deadline passes, which
 * makes `recv` fail).
 *
 * ```
 * initiator A                                         responder B
 *   HELLO [1, "weft", versions, nameA, creationA, capsA, nonceA]  ->
 *                                    decide(status) for nameA (node table)
 *   <-  CHALLENGE [2, status, version, nameB, creationB, capsB, nonceB, proofA]
 *       (a refusal is [2, status] alone: nok, not_allowed, version)
 *   check nameB is the node dialled, check proofA,
 *   check this attempt is still wanted (stillWanted)
 *   REPLY [3, proofB]                                              ->
 *                                          check proofB, then settle(status)
 *   <-  ACK [4]            (or [5, "nok"] when settle refuses)
 * ```
 *
 * `proofA = HMAC-SHA256(cookie, input(ROLE_RESPONDER))` and
 * `proofB = HMAC-SHA256(cookie, input(ROLE_INITIATOR))`, where `input`
 * binds the label, the version, the role, both names, both creations, both
 * capability sets and both nonces (see {@linkcode proofInput}). Fresh nonces
 * on both sides defeat replay; the role byte defeats reflection (a proof
 * made as responder is never valid as initiator). A side that finds a bad
 * proof sends `[5, "bad_cookie"]` and closes, so both sides can log why.
 *
 * Statuses come from the responder's node table as OTP's `net_kernel`
 * gives them: `ok`; `ok_simultaneous` when both nodes dial each other at
 * once and this attempt wins (the larger name's attempt wins); `nok` when
 * the responder's own attempt wins; `alive` when the responder already has
 * a connection to a node of this name (after this handshake the old one is
 * replaced); `not_allowed` when the peer claims the responder's own name.
 * HELLO proves nothing, so `decide` only reads the table; the responder
 * changes it (claims the name, gives up its own attempt, replaces an old
 * connection) in `settle`, once the initiator's proof has been checked. A
 * stranger who does not hold the cookie therefore changes nothing. The
 * table may have moved between the two (the other attempt came up): then
 * `settle` refuses and the initiator is told `[5, "nok"]`, as if it had
 * got `nok` in CHALLENGE. Creation 0 is refused on both sides: it means
 * "any incarnation" nowhere in Weft, and a pid of creation 0 would match
 * no node.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { FrameReader, framedIO } from "./frame_reader.ts";
 * import { acceptHandshake, importCookie, initiateHandshake } from "./handshake.ts";
 * const [a, b] = memoryPair();
 * const io = (c: typeof a) => framedIO(c, new FrameReader(c), 65536);
 * const cookie = importCookie("secret");
 * const [ra, rb] = await Promise.all([
 *   initiateHandshake(io(a), { self: { name: "a@h", creation: 1, capabilities: 1 }, cookie, peer: "b@h" }),
 *   acceptHandshake(io(b), { self: { name: "b@h", creation: 2, capabilities: 1 }, cookie, decide: () => "ok" }),
 * ]);
 * console.assert(ra.ok && rb.ok);
 * a.close();
 * b.close();
 * ```
 *
 * @module
 */

import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { decode, encode } from "../term/codec.ts";
import { parseNodeName } from "../term/node_name.ts";
import {
  CAP_HIDDEN,
  HANDSHAKE_MAGIC,
  type HandshakeStatus,
  MSG_ABORT,
  MSG_ACK,
  MSG_CHALLENGE,
  MSG_HELLO,
  MSG_REPLY,
  NONCE_BYTES,
  PROOF_BYTES,
  PROOF_LABEL,
  ROLE_INITIATOR,
  ROLE_RESPONDER,
  STATUS_ALIVE,
  STATUS_NOK,
  STATUS_NOT_ALLOWED,
  STATUS_OK,
  STATUS_OK_SIMULTANEOUS,
  STATUS_VERSION,
  SUPPORTED_VERSIONS,
} from "./types.ts";

/** The I/O a handshake runs over: one call per handshake message. */
export interface HandshakeIO {
  /** Sends one message (the caller frames it). */
  send(payload: Uint8Array): Promise<void>;
  /**
   * Receives the next message.
   * @throws {Error} when the stream ends, a frame is too large, or the deadline passed
   */
  recv(): Promise<Uint8Array>;
}

/** Who this node is, as announced in HELLO or CHALLENGE. */
export interface HandshakeIdentity {
  /** The full node name, `name@host`. */
  name: string;
  /** This incarnation's creation, a u32. */
  creation: number;
  /** The capability bits (`CAP_*` in types.ts). */
  capabilities: number;
}

/** What a handshake learnt about the peer. */
export interface PeerInfo {
  /** The peer's full node name. */
  name: string;
  /** The peer's creation. */
  creation: number;
  /** The peer's capability bits. */
  capabilities: number;
  /** Whether the peer is hidden (`CAP_HIDDEN`). */
  hidden: boolean;
  /** The protocol version agreed on. */
  version: number;
}

/** What HELLO says, as the responder's node table sees it before deciding. */
export interface HelloInfo {
  /** The name the initiator claims (not yet proven). */
  name: string;
  /** The initiator's creation. */
  creation: number;
  /** The initiator's capability bits. */
  capabilities: number;
}

/** Why a handshake failed. */
export type HandshakeFailure =
  /** Refused by the responder's status (another attempt wins, or one is in progress). */
  | "nok"
  /** Refused: the name is not acceptable. */
  | "not_allowed"
  /** No protocol version in common. */
  | "version"
  /** The proofs did not match: the cookies differ. */
  | "bad_cookie"
  /** The responder is not the node that was dialled. */
  | "wrong_node"
  /** A message was malformed, out of order or too large. */
  | "protocol"
  /** The stream ended (the peer closed, or the deadline passed). */
  | "closed";

/** The outcome of a handshake: the peer, or why it failed. */
export type HandshakeResult =
  | {
    ok: true;
    /** The authenticated peer. */
    peer: PeerInfo;
    /** The status the responder chose. */
    status: typeof STATUS_OK | typeof STATUS_OK_SIMULTANEOUS | typeof STATUS_ALIVE;
  }
  | {
    ok: false;
    /** The kind of failure. */
    reason: HandshakeFailure;
    /** A sentence for the log. */
    detail: string;
    /** The peer's claimed name, when it got that far. */
    peerName?: string;
  };

/** Options for {@linkcode initiateHandshake}. */
export interface InitiateOptions {
  /** This node. */
  self: HandshakeIdentity;
  /** The cookie as an HMAC key ({@linkcode importCookie}). */
  cookie: CookieKey;
  /** The full name of the node being dialled; a responder of another name is refused. */
  peer: string;
  /** Versions offered, newest first. Default: every supported version. */
  versions?: readonly number[];
  /**
   * Asked after the responder's proof checks out, before REPLY: whether
   * this attempt still owns the connection setup (OTP's `is_pending`).
   * When another connection to the node came up meanwhile, the attempt
   * aborts instead of proving itself, so the responder never replaces a
   * good connection with it. Default: always.
   */
  stillWanted?(): boolean;
}

/** Options for {@linkcode acceptHandshake}. */
export interface AcceptOptions {
  /** This node. */
  self: HandshakeIdentity;
  /** The cookie as an HMAC key ({@linkcode importCookie}). */
  cookie: CookieKey;
  /**
   * The status for the claimed name, synchronously, from the node table
   * (ok, ok_simultaneous, nok, alive, not_allowed). The claim is not proven
   * yet: this must not change the table.
   */
  decide(hello: HelloInfo): HandshakeStatus;
  /**
   * Called once the initiator has proved the cookie, before ACK: claims
   * the name in the node table for this connection. Returns `false` when
   * the table moved since `decide` and this connection must give way; the
   * initiator then gets `[5, "nok"]`. Default: always `true`.
   */
  settle?(hello: HelloInfo, status: HandshakeStatus): boolean;
  /** Versions accepted. Default: every supported version. */
  versions?: readonly number[];
}

const encoder = new TextEncoder();

/**
 * The cookie as an HMAC-SHA256 key, from {@linkcode importCookie}. It is
 * a `node:crypto` key, so proofs are computed synchronously: a handshake
 * spends no event-loop turn waiting for a crypto thread.
 */
export type CookieKey = KeyObject;

/**
 * Turns a cookie into the HMAC-SHA256 key the proofs use. Import once per
 * node.
 *
 * @param cookie the cluster cookie
 * @returns the key for {@linkcode makeProof}
 * @throws {TypeError} when the cookie is empty
 *
 * @example
 * ```ts
 * import { importCookie } from "./handshake.ts";
 * const key = importCookie("secret");
 * console.assert(key.type === "secret");
 * ```
 */
export function importCookie(cookie: string): CookieKey {
  if (typeof cookie !== "string" || cookie.length === 0) {
    throw new TypeError("Invalid cookie: must be a non-empty string");
  }
  return createSecretKey(encoder.encode(cookie));
}

/** The fields a proof binds, in order. */
export interface ProofFields {
  /** The agreed protocol version. */
  version: number;
  /** `ROLE_RESPONDER` (proofA, in CHALLENGE) or `ROLE_INITIATOR` (proofB, in REPLY). */
  role: number;
  /** Initiator's name. */
  nameA: string;
  /** Responder's name. */
  nameB: string;
  /** Initiator's creation. */
  creationA: number;
  /** Responder's creation. */
  creationB: number;
  /** Initiator's capabilities. */
  capsA: number;
  /** Responder's capabilities. */
  capsB: number;
  /** Initiator's nonce (32 bytes). */
  nonceA: Uint8Array;
  /** Responder's nonce (32 bytes). */
  nonceB: Uint8Array;
}

/**
 * The exact bytes a proof's HMAC is computed over:
 *
 * ```
 * "weft-dist-proof\0" | u8 version | u8 role
 * | u16 len(nameA) | nameA | u16 len(nameB) | nameB          (UTF-8)
 * | u32 creationA | u32 creationB | u32 capsA | u32 capsB    (big-endian)
 * | nonceA (32) | nonceB (32)
 * ```
 *
 * @param f the fields
 * @returns the HMAC input
 *
 * @example
 * ```ts
 * import { proofInput } from "./handshake.ts";
 * const bytes = proofInput({
 *   version: 1, role: 1, nameA: "a@h", nameB: "b@h", creationA: 1, creationB: 2,
 *   capsA: 3, capsB: 3, nonceA: new Uint8Array(32), nonceB: new Uint8Array(32),
 * });
 * console.assert(bytes.length === 16 + 2 + 2 + 3 + 2 + 3 + 16 + 64);
 * ```
 */
export function proofInput(f: ProofFields): Uint8Array {
  const a = encoder.encode(f.nameA);
  const b = encoder.encode(f.nameB);
  const out = new Uint8Array(16 + 2 + 2 + a.length + 2 + b.length + 16 + 2 * NONCE_BYTES);
  const view = new DataView(out.buffer);
  let off = 0;
  out.set(encoder.encode(PROOF_LABEL), off);
  off += 16;
  out[off++] = f.version;
  out[off++] = f.role;
  view.setUint16(off, a.length);
  out.set(a, off + 2);
  off += 2 + a.length;
  view.setUint16(off, b.length);
  out.set(b, off + 2);
  off += 2 + b.length;
  view.setUint32(off, f.creationA);
  view.setUint32(off + 4, f.creationB);
  view.setUint32(off + 8, f.capsA);
  view.setUint32(off + 12, f.capsB);
  off += 16;
  out.set(f.nonceA, off);
  out.set(f.nonceB, off + NONCE_BYTES);
  return out;
}

/**
 * Computes one proof.
 *
 * @param cookie the HMAC key from {@linkcode importCookie}
 * @param fields what the proof binds
 * @returns the 32-byte HMAC-SHA256
 *
 * @example
 * ```ts
 * import { importCookie, makeProof } from "./handshake.ts";
 * const proof = makeProof(importCookie("c"), {
 *   version: 1, role: 2, nameA: "a@h", nameB: "b@h", creationA: 1, creationB: 2,
 *   capsA: 0, capsB: 0, nonceA: new Uint8Array(32), nonceB: new Uint8Array(32),
 * });
 * console.assert(proof.length === 32);
 * ```
 */
export function makeProof(cookie: CookieKey, fields: ProofFields): Uint8Array {
  const mac = createHmac("sha256", cookie).update(proofInput(fields)).digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
}

/**
 * Runs the initiator's side: HELLO, check CHALLENGE, REPLY, wait for ACK.
 *
 * @param io the message stream to the responder
 * @param options this node, the cookie key and the node dialled
 * @returns the authenticated peer, or why it failed; never throws for
 *   anything the peer sends
 *
 * @example
 * ```ts
 * import { initiateHandshake, importCookie } from "./handshake.ts";
 * const result = await initiateHandshake(
 *   { send: async () => {}, recv: () => Promise.reject(new Error("closed")) },
 *   { self: { name: "a@h", creation: 1, capabilities: 1 }, cookie: importCookie("c"), peer: "b@h" },
 * );
 * console.assert(!result.ok && result.reason === "closed");
 * ```
 */
export async function initiateHandshake(
  io: HandshakeIO,
  options: InitiateOptions,
): Promise<HandshakeResult> {
  const { self, cookie, peer } = options;
  const versions = options.versions ?? SUPPORTED_VERSIONS;
  const nonceA = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  try {
    await io.send(
      encode([
        MSG_HELLO,
        HANDSHAKE_MAGIC,
        [...versions],
        self.name,
        self.creation,
        self.capabilities,
        nonceA,
      ]),
    );
    const challenge = parseMessage(await io.recv());
    if (challenge[0] === MSG_ABORT) return aborted(challenge, peer);
    if (challenge[0] !== MSG_CHALLENGE) {
      return fail("protocol", `expected CHALLENGE, received message ${challenge[0]}`);
    }
    const status = challenge[1];
    if (status === STATUS_NOK || status === STATUS_NOT_ALLOWED || status === STATUS_VERSION) {
      return fail(status, `refused by the peer with status "${status}"`, peer);
    }
    if (status !== STATUS_OK && status !== STATUS_OK_SIMULTANEOUS && status !== STATUS_ALIVE) {
      return fail("protocol", `unknown status ${describeValue(status)}`);
    }
    if (challenge.length !== 8) return fail("protocol", "CHALLENGE must have 8 elements");
    const [, , version, nameB, creationB, capsB, nonceB, proofA] = challenge;
    if (typeof version !== "number" || !versions.includes(version)) {
      return fail(
        "version",
        `peer chose version ${describeValue(version)}, offered ${versions.join(",")}`,
        peer,
      );
    }
    const name = checkName(nameB);
    if (name === undefined) return fail("protocol", `bad node name ${describeValue(nameB)}`);
    if (!isU32(creationB) || !isU32(capsB)) return fail("protocol", "bad creation or capabilities");
    if (creationB === 0) return fail("protocol", "creation must be nonzero", name);
    if (!isBytes(nonceB, NONCE_BYTES) || !isBytes(proofA, PROOF_BYTES)) {
      return fail("protocol", "bad nonce or proof length", name);
    }
    if (name !== peer) {
      await io.send(encode([MSG_ABORT, "wrong_node"])).catch(() => {});
      return fail("wrong_node", `dialled ${peer} but reached ${name}`, name);
    }
    const fields: ProofFields = {
      version,
      role: ROLE_RESPONDER,
      nameA: self.name,
      nameB: name,
      creationA: self.creation,
      creationB,
      capsA: self.capabilities,
      capsB,
      nonceA,
      nonceB,
    };
    const expectedA = makeProof(cookie, fields);
    const proofB = makeProof(cookie, { ...fields, role: ROLE_INITIATOR });
    if (!timingSafeEqual(expectedA, proofA)) {
      await io.send(encode([MSG_ABORT, "bad_cookie"])).catch(() => {});
      return fail("bad_cookie", "the peer's proof does not match our cookie", name);
    }
    if (options.stillWanted !== undefined && !options.stillWanted()) {
      await io.send(encode([MSG_ABORT, "superseded"])).catch(() => {});
      return fail("nok", "another connection to this node came up meanwhile", name);
    }
    await io.send(encode([MSG_REPLY, proofB]));
    const ack = parseMessage(await io.recv());
    if (ack[0] === MSG_ABORT) return aborted(ack, name);
    if (ack[0] !== MSG_ACK) {
      return fail("protocol", `expected ACK, received message ${ack[0]}`, name);
    }
    return {
      ok: true,
      status,
      peer: {
        name,
        creation: creationB,
        capabilities: capsB,
        hidden: (capsB & CAP_HIDDEN) !== 0,
        version,
      },
    };
  } catch (e) {
    return failFromError(e, peer);
  }
}

/**
 * Runs the responder's side: read HELLO, settle the status, CHALLENGE,
 * check REPLY, ACK.
 *
 * @param io the message stream to the initiator
 * @param options this node, the cookie key and the status decision
 * @returns the authenticated peer, or why it failed; never throws for
 *   anything the peer sends
 *
 * @example
 * ```ts
 * import { acceptHandshake, importCookie } from "./handshake.ts";
 * const result = await acceptHandshake(
 *   { send: async () => {}, recv: async () => new Uint8Array([0xff]) },
 *   { self: { name: "b@h", creation: 1, capabilities: 1 }, cookie: importCookie("c"), decide: () => "ok" },
 * );
 * console.assert(!result.ok && result.reason === "protocol");
 * ```
 */
export async function acceptHandshake(
  io: HandshakeIO,
  options: AcceptOptions,
): Promise<HandshakeResult> {
  const { self, cookie } = options;
  const ours = options.versions ?? SUPPORTED_VERSIONS;
  let peerName: string | undefined;
  try {
    const hello = parseMessage(await io.recv());
    if (hello[0] !== MSG_HELLO || hello[1] !== HANDSHAKE_MAGIC) {
      return fail("protocol", "expected HELLO");
    }
    if (hello.length !== 7) return fail("protocol", "HELLO must have 7 elements");
    const [, , versions, nameA, creationA, capsA, nonceA] = hello;
    const name = checkName(nameA);
    if (name === undefined) return fail("protocol", `bad node name ${describeValue(nameA)}`);
    peerName = name;
    if (!isU32(creationA) || !isU32(capsA)) {
      return fail("protocol", "bad creation or capabilities", name);
    }
    if (creationA === 0) return fail("protocol", "creation must be nonzero", name);
    if (!isBytes(nonceA, NONCE_BYTES)) return fail("protocol", "bad nonce length", name);
    if (!Array.isArray(versions) || versions.length > 32) {
      return fail("protocol", "bad version list", name);
    }
    const version = ours.find((v) => versions.includes(v));
    if (version === undefined) {
      await io.send(encode([MSG_CHALLENGE, STATUS_VERSION]));
      return fail(
        "version",
        `peer offers versions ${versions.join(",")}, we speak ${ours.join(",")}`,
        name,
      );
    }
    const helloInfo: HelloInfo = { name, creation: creationA, capabilities: capsA };
    const status = name === self.name ? STATUS_NOT_ALLOWED : options.decide(helloInfo);
    if (status === STATUS_NOK || status === STATUS_NOT_ALLOWED || status === STATUS_VERSION) {
      await io.send(encode([MSG_CHALLENGE, status]));
      const why = status === STATUS_NOT_ALLOWED
        ? "the peer claims a name that is not allowed (our own)"
        : "another connection attempt with this node is in progress";
      return fail(status, why, name);
    }
    const nonceB = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const fields: ProofFields = {
      version,
      role: ROLE_RESPONDER,
      nameA: name,
      nameB: self.name,
      creationA,
      creationB: self.creation,
      capsA,
      capsB: self.capabilities,
      nonceA,
      nonceB,
    };
    const proofA = makeProof(cookie, fields);
    const expectedB = makeProof(cookie, { ...fields, role: ROLE_INITIATOR });
    await io.send(
      encode([
        MSG_CHALLENGE,
        status,
        version,
        self.name,
        self.creation,
        self.capabilities,
        nonceB,
        proofA,
      ]),
    );
    const reply = parseMessage(await io.recv());
    if (reply[0] === MSG_ABORT) return aborted(reply, name);
    if (reply[0] !== MSG_REPLY || reply.length !== 2) {
      return fail("protocol", "expected REPLY", name);
    }
    const proofB = reply[1];
    if (!isBytes(proofB, PROOF_BYTES)) return fail("protocol", "bad proof length", name);
    if (!timingSafeEqual(expectedB, proofB)) {
      await io.send(encode([MSG_ABORT, "bad_cookie"])).catch(() => {});
      return fail("bad_cookie", "the peer's proof does not match our cookie", name);
    }
    if (options.settle !== undefined && !options.settle(helloInfo, status)) {
      await io.send(encode([MSG_ABORT, STATUS_NOK])).catch(() => {});
      return fail("nok", "another connection with this node won meanwhile", name);
    }
    await io.send(encode([MSG_ACK]));
    return {
      ok: true,
      status,
      peer: {
        name,
        creation: creationA,
        capabilities: capsA,
        hidden: (capsA & CAP_HIDDEN) !== 0,
        version,
      },
    };
  } catch (e) {
    return failFromError(e, peerName);
  }
}

class ProtocolViolation extends Error {}

function parseMessage(bytes: Uint8Array): unknown[] {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (e) {
    throw new ProtocolViolation(`undecodable message: ${e instanceof Error ? e.message : e}`);
  }
  if (!Array.isArray(value) || value.length === 0 || typeof value[0] !== "number") {
    throw new ProtocolViolation("a handshake message must be an array opening with its type");
  }
  return value;
}

function aborted(msg: unknown[], peer: string | undefined): HandshakeResult {
  const reason = msg[1];
  if (reason === "bad_cookie") {
    return fail("bad_cookie", "the peer rejected our proof: the cookies differ", peer);
  }
  if (reason === STATUS_NOK) {
    return fail("nok", "the peer's own connection attempt won meanwhile", peer);
  }
  return fail("closed", `the peer aborted the handshake: ${describeValue(reason)}`, peer);
}

function fail(reason: HandshakeFailure, detail: string, peerName?: string): HandshakeResult {
  return peerName === undefined
    ? { ok: false, reason, detail }
    : { ok: false, reason, detail, peerName };
}

function failFromError(e: unknown, peerName: string | undefined): HandshakeResult {
  if (e instanceof ProtocolViolation) return fail("protocol", e.message, peerName);
  if (e instanceof Error && e.name === "DecodeError") return fail("protocol", e.message, peerName);
  const detail = e instanceof Error ? e.message : String(e);
  return fail("closed", `the connection ended during the handshake: ${detail}`, peerName);
}

function checkName(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > 255) return undefined;
  try {
    const parsed = parseNodeName(value);
    return parsed.port === undefined && parsed.full === value ? value : undefined;
  } catch {
    return undefined;
  }
}

function isU32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

function isBytes(value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length === length;
}

function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
