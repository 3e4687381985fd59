/**
 * Erlang's distribution handshake, version 6 (OTP 23 and later), both sides: how a Weft node and
 * an Erlang node prove to each other that they know the cookie. A linear script over an injected
 * `send`/`recv` pair (2-byte length frames are the caller's), as OTP's `dist_util` is.
 *
 * ```
 * A (dials)                                            B (accepts)
 *   send_name  'N' Flags:64 Creation:32 NLen:16 Name ------->
 *              <-------------------------------------------  send_status 's' "ok" | "nok" |
 *                                                             "not_allowed" | "alive"
 *   ('alive' only) 's' "true" | "false" ------------------->  (A has no connection to B: go on)
 *              <-------------------------------------------  send_challenge 'N' Flags:64
 *                                                             ChallengeB:32 Creation:32 NLen:16 Name
 *   challenge_reply 'r' ChallengeA:32 -------------------->
 *                   MD5(Cookie ++ decimal(ChallengeB))
 *              <-------------------------------------------  challenge_ack 'a'
 *                                                             MD5(Cookie ++ decimal(ChallengeA))
 * ```
 *
 * Failure, as Erlang fails: a wrong digest from A makes B close the connection without an ack
 * (Erlang logs "Connection attempt from node A rejected. Invalid challenge reply."); a wrong
 * digest from B makes A close. A peer without the flags OTP 25 makes mandatory, a version 5
 * `send_name`, a malformed or oversized message: a {@linkcode HandshakeError}, and the caller
 * closes the socket. Nothing of the node changes before the peer's digest checked out.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { HandshakeError } from "../errors.ts";
import {
  DFLAG_PUBLISHED,
  DFLAGS_MANDATORY_25,
  DFLAGS_WEFT,
  HS_ACK,
  HS_NAME_V5,
  HS_NAME_V6,
  HS_REPLY,
  HS_STATUS,
} from "./types.ts";

/** Handshake messages, one per call, without their 2-byte length. */
export interface HandshakeIo {
  /** Frames and writes one message. */
  send(message: Uint8Array): Promise<void>;
  /** Reads the next message; throws when the peer closed. */
  recv(): Promise<Uint8Array>;
}

/** Who we are, for both sides of the handshake. */
export interface HandshakeSelf {
  /** Our full node name, `name@host`. */
  name: string;
  /** The cookie, as Erlang's `-setcookie`. */
  cookie: string;
  /** Our incarnation, 32 bits, not 0 (Erlang reads 0 as "any"). */
  creation: number;
  /** Hidden: we do not appear in the peer's `nodes()`. Default false. */
  hidden?: boolean;
}

/** What the handshake told about the peer. */
export interface ErlangPeerInfo {
  /** The peer's full node name. */
  name: string;
  /** Its capability flags. */
  flags: bigint;
  /** Its incarnation. */
  creation: number;
  /** Whether it is hidden (it did not set `DFLAG_PUBLISHED`). */
  hidden: boolean;
}

/** What {@linkcode acceptHandshake} may answer a `send_name`. */
export type AcceptStatus = "ok" | "nok" | "not_allowed" | "alive";

/** Options of {@linkcode acceptHandshake}. */
export interface AcceptOptions extends HandshakeSelf {
  /**
   * The status for a peer that named itself (it has proved nothing yet): `"ok"` to go on,
   * `"alive"` when it is connected already (it may replace that connection), `"nok"` or
   * `"not_allowed"` to refuse.
   */
  decide(peer: ErlangPeerInfo): AcceptStatus;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The cookie digest: MD5 of the cookie followed by the challenge in decimal.
 *
 * @param cookie the cookie
 * @param challenge the 32-bit challenge
 * @returns the 16-byte digest
 *
 * @example
 * ```ts
 * import { cookieDigest } from "./handshake.ts";
 * console.assert(cookieDigest("c", 1).length === 16);
 * ```
 */
export function cookieDigest(cookie: string, challenge: number): Uint8Array {
  return new Uint8Array(createHash("md5").update(cookie + String(challenge >>> 0)).digest());
}

/**
 * The flags we announce.
 *
 * @param hidden whether this node is hidden
 * @returns the 64-bit flags
 *
 * @example
 * ```ts
 * import { ourFlags } from "./handshake.ts";
 * console.assert((ourFlags(false) & 1n) === 1n && (ourFlags(true) & 1n) === 0n);
 * ```
 */
export function ourFlags(hidden: boolean): bigint {
  return DFLAGS_WEFT | (hidden ? 0n : DFLAG_PUBLISHED);
}

/**
 * Runs the dialing side: we connected to an Erlang (or Elixir) node.
 *
 * @param io the peer's handshake messages
 * @param self our name, cookie and creation
 * @returns what the peer told about itself
 * @throws {HandshakeError} when the peer refuses, does not know the cookie, or breaks the protocol
 *
 * @example
 * ```ts ignore
 * const peer = await dialHandshake(io, { name: "weft@127.0.0.1", cookie: "c", creation: 1 });
 * ```
 */
export async function dialHandshake(io: HandshakeIo, self: HandshakeSelf): Promise<ErlangPeerInfo> {
  await io.send(nameMessage(HS_NAME_V6, self, undefined));

  const status = await recvOrClosed(io, "a status");
  if (status[0] !== HS_STATUS) {
    throw new HandshakeError(`Erlang handshake: expected a status, received tag ${status[0]}`);
  }
  const text = new TextDecoder().decode(status.subarray(1));
  if (text === "alive") {
    // We are dialling, so we have no connection to it: it may drop the one it holds.
    await io.send(Uint8Array.of(HS_STATUS, ...encoder.encode("true")));
  } else if (text !== "ok" && text !== "ok_simultaneous") {
    throw new HandshakeError(`Erlang handshake refused: status ${JSON.stringify(text)}`);
  }

  const challenge = await recvOrClosed(io, "a challenge");
  const hello = parseName(challenge, true);
  checkFlags(hello.peer);

  const challengeA = randomChallenge();
  const reply = new Uint8Array(21);
  reply[0] = HS_REPLY;
  new DataView(reply.buffer).setUint32(1, challengeA);
  reply.set(cookieDigest(self.cookie, hello.challenge), 5);
  await io.send(reply);

  let ack: Uint8Array;
  try {
    ack = await io.recv();
  } catch (e) {
    throw new HandshakeError(
      `Erlang handshake: ${hello.peer.name} closed instead of acknowledging (wrong cookie?)`,
      { cause: e },
    );
  }
  if (ack[0] !== HS_ACK || ack.length !== 17) {
    throw new HandshakeError(`Erlang handshake: expected an ack, received tag ${ack[0]}`);
  }
  if (!digestEquals(ack.subarray(1), cookieDigest(self.cookie, challengeA))) {
    throw new HandshakeError(`Erlang handshake: ${hello.peer.name} does not know the cookie`);
  }
  return hello.peer;
}

/**
 * Runs the accepting side: an Erlang (or Elixir) node connected to us.
 *
 * @param io the peer's handshake messages
 * @param options our name, cookie and creation, and the status to answer
 * @returns what the peer told about itself, once it proved the cookie and we acknowledged
 * @throws {HandshakeError} when the peer is refused, does not know the cookie, or breaks the
 *   protocol (its `peerName` is set once the peer named itself)
 *
 * @example
 * ```ts ignore
 * const peer = await acceptHandshake(io, {
 *   name: "weft@127.0.0.1", cookie: "c", creation: 1, decide: () => "ok",
 * });
 * ```
 */
export async function acceptHandshake(
  io: HandshakeIo,
  options: AcceptOptions,
): Promise<ErlangPeerInfo> {
  const first = await recvOrClosed(io, "send_name");
  if (first[0] === HS_NAME_V5) {
    throw new HandshakeError(
      "Erlang handshake: the peer speaks version 5 only (OTP 22 or older); Weft speaks 6",
    );
  }
  const peer = parseName(first, false).peer;
  checkFlags(peer);
  const status = options.decide(peer);
  await io.send(Uint8Array.of(HS_STATUS, ...encoder.encode(status)));
  if (status === "nok" || status === "not_allowed") {
    throw new HandshakeError(`Erlang handshake: refused ${peer.name}: ${status}`);
  }
  if (status === "alive") {
    const answer = await recvOrClosed(io, "an answer to alive");
    const text = new TextDecoder().decode(answer.subarray(1));
    if (answer[0] !== HS_STATUS || text !== "true") {
      throw new HandshakeError(
        `Erlang handshake: ${peer.name} keeps its connection (answered ${JSON.stringify(text)})`,
      );
    }
  }

  const challengeB = randomChallenge();
  await io.send(nameMessage(HS_NAME_V6, options, challengeB));

  const reply = await recvOrClosed(io, "a challenge reply");
  if (reply[0] !== HS_REPLY || reply.length !== 21) {
    throw new HandshakeError(
      `Erlang handshake: expected a challenge reply of 21 bytes, received tag ${
        reply[0]
      } of ${reply.length}`,
    );
  }
  const challengeA = new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(1);
  if (!digestEquals(reply.subarray(5), cookieDigest(options.cookie, challengeB))) {
    // Erlang says no more than this either: it closes without an ack.
    throw new HandshakeError(
      `Erlang handshake: connection attempt from node ${peer.name} rejected: invalid challenge reply (wrong cookie)`,
    );
  }
  const ack = new Uint8Array(17);
  ack[0] = HS_ACK;
  ack.set(cookieDigest(options.cookie, challengeA), 1);
  await io.send(ack);
  return peer;
}

/** `send_name` (no challenge) or `send_challenge` (with one). */
function nameMessage(tag: number, self: HandshakeSelf, challenge: number | undefined): Uint8Array {
  const name = encoder.encode(self.name);
  const extra = challenge === undefined ? 0 : 4;
  const out = new Uint8Array(15 + extra + name.length);
  const v = new DataView(out.buffer);
  out[0] = tag;
  v.setBigUint64(1, ourFlags(self.hidden ?? false));
  if (challenge !== undefined) v.setUint32(9, challenge);
  v.setUint32(9 + extra, self.creation >>> 0);
  v.setUint16(13 + extra, name.length);
  out.set(name, 15 + extra);
  return out;
}

/** Parses `send_name` (`withChallenge` false) or `send_challenge`. */
function parseName(
  m: Uint8Array,
  withChallenge: boolean,
): { peer: ErlangPeerInfo; challenge: number } {
  const what = withChallenge ? "challenge" : "send_name";
  const extra = withChallenge ? 4 : 0;
  if (m[0] !== HS_NAME_V6 || m.length < 15 + extra) {
    throw new HandshakeError(
      `Erlang handshake: malformed ${what}: tag ${m[0]}, ${m.length} bytes`,
    );
  }
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const flags = v.getBigUint64(1);
  const challenge = withChallenge ? v.getUint32(9) : 0;
  const creation = v.getUint32(9 + extra);
  const len = v.getUint16(13 + extra);
  if (m.length !== 15 + extra + len) {
    throw new HandshakeError(
      `Erlang handshake: malformed ${what}: name of ${len} bytes in ${m.length - 15 - extra}`,
    );
  }
  let name: string;
  try {
    name = decoder.decode(m.subarray(15 + extra));
  } catch {
    throw new HandshakeError(`Erlang handshake: malformed ${what}: the name is not UTF-8`);
  }
  if (!/^[^@\s]+@[^@\s]+$/.test(name)) {
    throw new HandshakeError(
      `Erlang handshake: malformed ${what}: bad node name ${JSON.stringify(name)}`,
    );
  }
  return {
    peer: { name, flags, creation, hidden: (flags & DFLAG_PUBLISHED) === 0n },
    challenge,
  };
}

function checkFlags(peer: ErlangPeerInfo): void {
  const missing = DFLAGS_MANDATORY_25 & ~peer.flags;
  if (missing !== 0n) {
    throw new HandshakeError(
      `Erlang handshake: ${peer.name} lacks mandatory capability flags 0x${missing.toString(16)}`,
    );
  }
}

async function recvOrClosed(io: HandshakeIo, what: string): Promise<Uint8Array> {
  try {
    return await io.recv();
  } catch (e) {
    if (e instanceof HandshakeError) throw e;
    throw new HandshakeError(`Erlang handshake: the peer closed before ${what}`, { cause: e });
  }
}

function randomChallenge(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}

function digestEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
