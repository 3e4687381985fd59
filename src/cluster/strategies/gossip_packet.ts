/**
 * The gossip wire format: one UDP datagram per heartbeat, signed with an
 * HMAC-SHA256 of a shared secret (the cookie unless another is given), so
 * that only nodes holding it can announce themselves. The MAC is checked
 * before anything else is read.
 *
 * ```
 * "WFG1" (4 bytes) | HMAC-SHA256(key, "weft-gossip-v1" | body) (32 bytes) | body (UTF-8 JSON)
 * body = { n: sender, t: sender's clock (ms), members: [member...] }   // the sender is members[0]
 * member = [name, incarnation, seq, distHost, distPort, gossipHost, gossipPort]
 * ```
 *
 * `incarnation` is fixed for one run of a node (its start time), `seq`
 * grows with each of its heartbeats; a receiver keeps, per node, the
 * member with the larger `[incarnation, seq]`, so news spreads through
 * relays and a restarted node supersedes its former self. `t` bounds
 * replays to a clock-skew window.
 *
 * @example
 * ```ts
 * import { decodeGossip, encodeGossip, importGossipKey } from "./gossip_packet.ts";
 * const key = await importGossipKey("cookie");
 * const m = { name: "a@h", incarnation: 1, seq: 2, dist: { hostname: "h", port: 4370 }, gossip: { hostname: "h", port: 45892 } };
 * const bytes = await encodeGossip({ sender: "a@h", time: Date.now(), members: [m] }, key);
 * const back = await decodeGossip(bytes, key);
 * console.assert(back.ok && back.packet.members[0]!.dist.port === 4370);
 * const other = await decodeGossip(bytes, await importGossipKey("other"));
 * console.assert(!other.ok && other.reason === "bad signature");
 * ```
 *
 * @module
 */

import { parseNodeName } from "../../term/node_name.ts";

/** The first four bytes of every gossip datagram. */
export const GOSSIP_MAGIC = new TextEncoder().encode("WFG1");
/** Largest datagram accepted. */
export const MAX_GOSSIP_BYTES = 65_000;
const MAC_BYTES = 32;
const DOMAIN = new TextEncoder().encode("weft-gossip-v1");

/** One node as gossip knows it. */
export interface GossipMember {
  /** Full node name. */
  name: string;
  /** Fixed for one run of the node. */
  incarnation: number;
  /** Grows with each of its heartbeats. */
  seq: number;
  /** Where its distribution listens. */
  dist: { hostname: string; port: number };
  /** Where its gossip socket listens. */
  gossip: { hostname: string; port: number };
}

/** One heartbeat. */
export interface GossipPacket {
  /** The sending node. */
  sender: string;
  /** The sender's clock, in ms since the epoch. */
  time: number;
  /** The sender first, then members it relays. */
  members: GossipMember[];
}

/** What {@linkcode decodeGossip} makes of a datagram. */
export type GossipDecodeResult =
  | { ok: true; packet: GossipPacket }
  | { ok: false; reason: string };

/**
 * Makes the HMAC key from a secret.
 *
 * @param secret the cookie or a gossip secret
 * @returns the key
 * @throws {TypeError} when the secret is empty
 *
 * @example
 * ```ts
 * import { importGossipKey } from "./gossip_packet.ts";
 * console.assert((await importGossipKey("s")).algorithm.name === "HMAC");
 * ```
 */
export function importGossipKey(secret: string): Promise<CryptoKey> {
  if (typeof secret !== "string" || secret.length === 0) {
    return Promise.reject(
      new TypeError("Cannot start gossip: the secret must be a non-empty string"),
    );
  }
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/**
 * Encodes and signs a heartbeat.
 *
 * @param packet the heartbeat
 * @param key from {@linkcode importGossipKey}
 * @returns the datagram
 *
 * @example
 * ```ts
 * import { encodeGossip, importGossipKey } from "./gossip_packet.ts";
 * const bytes = await encodeGossip({ sender: "a@h", time: 0, members: [] }, await importGossipKey("k"));
 * console.assert(new TextDecoder().decode(bytes.subarray(0, 4)) === "WFG1");
 * ```
 */
export async function encodeGossip(packet: GossipPacket, key: CryptoKey): Promise<Uint8Array> {
  const body = new TextEncoder().encode(JSON.stringify({
    n: packet.sender,
    t: packet.time,
    m: packet.members.map((m) => [
      m.name,
      m.incarnation,
      m.seq,
      m.dist.hostname,
      m.dist.port,
      m.gossip.hostname,
      m.gossip.port,
    ]),
  }));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, concat(DOMAIN, body)));
  return concat(GOSSIP_MAGIC, mac, body);
}

/**
 * Checks the signature, then reads a heartbeat.
 *
 * @param bytes a datagram
 * @param key from {@linkcode importGossipKey}
 * @returns the heartbeat, or why it was refused
 *
 * @example
 * ```ts
 * import { decodeGossip, importGossipKey } from "./gossip_packet.ts";
 * const r = await decodeGossip(new Uint8Array([1, 2, 3]), await importGossipKey("k"));
 * console.assert(!r.ok && r.reason === "not a gossip datagram");
 * ```
 */
export async function decodeGossip(bytes: Uint8Array, key: CryptoKey): Promise<GossipDecodeResult> {
  if (
    bytes.length < GOSSIP_MAGIC.length + MAC_BYTES || bytes.length > MAX_GOSSIP_BYTES ||
    !GOSSIP_MAGIC.every((b, i) => bytes[i] === b)
  ) {
    return { ok: false, reason: "not a gossip datagram" };
  }
  const mac = bytes.slice(GOSSIP_MAGIC.length, GOSSIP_MAGIC.length + MAC_BYTES);
  const body = bytes.slice(GOSSIP_MAGIC.length + MAC_BYTES);
  if (!(await crypto.subtle.verify("HMAC", key, mac, concat(DOMAIN, body)))) {
    return { ok: false, reason: "bad signature" };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { ok: false, reason: "malformed body" };
  }
  const o = raw as { n?: unknown; t?: unknown; m?: unknown };
  if (
    typeof raw !== "object" || raw === null || typeof o.n !== "string" ||
    typeof o.t !== "number" || !Array.isArray(o.m)
  ) {
    return { ok: false, reason: "malformed body" };
  }
  const members: GossipMember[] = [];
  for (const m of o.m) {
    const member = readMember(m);
    if (member === undefined) return { ok: false, reason: "malformed member" };
    members.push(member);
  }
  if (members[0]?.name !== o.n) return { ok: false, reason: "sender is not the first member" };
  return { ok: true, packet: { sender: o.n, time: o.t, members } };
}

function readMember(m: unknown): GossipMember | undefined {
  if (!Array.isArray(m) || m.length !== 7) return undefined;
  const [name, incarnation, seq, dh, dp, gh, gp] = m;
  if (
    typeof name !== "string" || !isCount(incarnation) || !isCount(seq) ||
    typeof dh !== "string" || !isPort(dp) || typeof gh !== "string" || !isPort(gp)
  ) {
    return undefined;
  }
  try {
    if (parseNodeName(name).full !== name) return undefined;
  } catch {
    return undefined;
  }
  return {
    name,
    incarnation,
    seq,
    dist: { hostname: dh, port: dp },
    gossip: { hostname: gh, port: gp },
  };
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isPort(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
