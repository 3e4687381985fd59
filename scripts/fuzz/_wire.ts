/**
 * The fuzzer's side of a connection, read and written by hand: frames,
 * the initiator's handshake (HELLO, CHALLENGE, REPLY, ACK) with the real
 * cookie, and PONG recognition. Nothing here comes from the node's own
 * connection code, so a fault there cannot hide one in the node.
 *
 * @module
 */

import { type CookieKey, makeProof } from "../../src/distribution/handshake.ts";
import {
  FRAME_MESSAGE,
  HANDSHAKE_MAGIC,
  MSG_ACK,
  MSG_CHALLENGE,
  MSG_HELLO,
  MSG_REPLY,
  NONCE_BYTES,
  OP_PONG,
  PROTOCOL_VERSION,
  ROLE_INITIATOR,
  ROLE_RESPONDER,
} from "../../src/distribution/types.ts";
import { decode, encode } from "../../src/term/codec.ts";
import { concat } from "./_mutate.ts";

/** `u32 length | payload`. */
export function frame(payload: Uint8Array, length = payload.length): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, length >>> 0);
  out.set(payload, 4);
  return out;
}

export function messageFrame(body: Uint8Array): Uint8Array {
  return frame(concat(Uint8Array.of(FRAME_MESSAGE), body));
}

export type Outcome = "closed" | "timeout";

/** A TCP connection to the target whose frames the fuzzer reads itself. */
export class Wire {
  readonly conn: Deno.TcpConn;
  #buf: Uint8Array = new Uint8Array(0);
  #closed = false;
  #reading: Promise<number | null> | undefined;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async open(port: number): Promise<Wire> {
    return new Wire(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.#closed) return false;
    try {
      let at = 0;
      while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
      return true;
    } catch {
      this.#closed = true;
      return false;
    }
  }

  /** Reads more bytes before `deadline`: `true` when some came, else why not. */
  async #fill(deadline: number): Promise<true | Outcome> {
    if (this.#closed) return "closed";
    const chunk = new Uint8Array(64 * 1024);
    this.#reading ??= this.conn.read(chunk).catch(() => null).then((n) => {
      if (n !== null) this.#buf = concat(this.#buf, chunk.subarray(0, n));
      return n;
    });
    const wait = deadline - performance.now();
    if (wait <= 0) return "timeout";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) =>
      timer = setTimeout(resolve, wait, "timeout")
    );
    const n = await Promise.race([this.#reading, timeout]);
    clearTimeout(timer);
    if (n === "timeout") return "timeout";
    this.#reading = undefined;
    if (n === null) {
      this.#closed = true;
      return "closed";
    }
    return true;
  }

  /** The next frame's payload (a tick is an empty one), or why there is none by `deadline`. */
  async frame(deadline: number): Promise<Uint8Array | Outcome> {
    for (;;) {
      if (this.#buf.length >= 4) {
        const length = new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(0);
        if (this.#buf.length >= 4 + length) {
          const payload = this.#buf.slice(4, 4 + length);
          this.#buf = this.#buf.slice(4 + length);
          return payload;
        }
      }
      const got = await this.#fill(deadline);
      if (got !== true) return got;
    }
  }

  /** Waits until the target closes the connection or sends a frame, by `deadline`. */
  async reaction(deadline: number): Promise<Outcome | "answered"> {
    const payload = await this.frame(deadline);
    return typeof payload === "string" ? payload : "answered";
  }

  close(): void {
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
    // A read still pending settles with null once the socket is gone.
    void this.#reading;
  }
}

// ---------------------------------------------------------------- the handshake, by hand

export interface Identity {
  name: string;
  creation: number;
  caps: number;
}

export function hello(me: Identity, nonceA: Uint8Array): unknown[] {
  return [MSG_HELLO, HANDSHAKE_MAGIC, [PROTOCOL_VERSION], me.name, me.creation, me.caps, nonceA];
}

export interface Challenge {
  status: unknown;
  name: string;
  creation: number;
  caps: number;
  nonceB: Uint8Array;
  proofA: Uint8Array;
}

export function parseChallenge(payload: Uint8Array): Challenge | undefined {
  try {
    const m = decode(payload) as unknown[];
    if (!Array.isArray(m) || m[0] !== MSG_CHALLENGE || m.length !== 8) return undefined;
    return {
      status: m[1],
      name: m[3] as string,
      creation: m[4] as number,
      caps: m[5] as number,
      nonceB: m[6] as Uint8Array,
      proofA: m[7] as Uint8Array,
    };
  } catch {
    return undefined;
  }
}

export function proofB(key: CookieKey, me: Identity, nonceA: Uint8Array, c: Challenge): Uint8Array {
  return makeProof(key, {
    version: PROTOCOL_VERSION,
    role: ROLE_INITIATOR,
    nameA: me.name,
    nameB: c.name,
    creationA: me.creation,
    creationB: c.creation,
    capsA: me.caps,
    capsB: c.caps,
    nonceA,
    nonceB: c.nonceB,
  });
}

export function proofAValid(
  key: CookieKey,
  me: Identity,
  nonceA: Uint8Array,
  c: Challenge,
): boolean {
  const expected = makeProof(key, {
    version: PROTOCOL_VERSION,
    role: ROLE_RESPONDER,
    nameA: me.name,
    nameB: c.name,
    creationA: me.creation,
    creationB: c.creation,
    capsA: me.caps,
    capsB: c.caps,
    nonceA,
    nonceB: c.nonceB,
  });
  return expected.every((b, i) => b === c.proofA[i]);
}

/**
 * A genuine handshake as `me`: the open wire and the target's challenge,
 * or `undefined` when the target refused. `early`, if given, makes the
 * bytes written right behind REPLY, before ACK has come.
 */
export async function authenticate(
  port: number,
  me: Identity,
  key: CookieKey,
  timeoutMs: number,
  early?: (challenge: Challenge) => Uint8Array,
): Promise<{ wire: Wire; challenge: Challenge } | undefined> {
  const wire = await Wire.open(port);
  const deadline = performance.now() + timeoutMs;
  const nonceA = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  await wire.write(frame(encode(hello(me, nonceA))));
  const payload = await wire.frame(deadline);
  const challenge = typeof payload === "string" ? undefined : parseChallenge(payload);
  if (challenge === undefined || !proofAValid(key, me, nonceA, challenge)) {
    wire.close();
    return undefined;
  }
  // Frames sent right behind REPLY, without waiting for ACK, as a peer may: the responder must
  // keep what it has read past the handshake for the connection.
  const reply = frame(encode([MSG_REPLY, proofB(key, me, nonceA, challenge)]));
  await wire.write(early === undefined ? reply : concat(reply, early(challenge)));
  const ack = await wire.frame(deadline);
  if (typeof ack === "string" || (decode(ack) as unknown[])[0] !== MSG_ACK) {
    wire.close();
    return undefined;
  }
  return { wire, challenge };
}

export function isPong(payload: Uint8Array, id: number): boolean {
  if (payload.length === 0 || payload[0] !== FRAME_MESSAGE) return false;
  try {
    const m = decode(payload.subarray(1)) as unknown[];
    return Array.isArray(m) && m[0] === OP_PONG && m[1] === id;
  } catch {
    return false;
  }
}

/** One post-auth input: its bytes, the operation it carries (if one), whether it breaks the framing. */
