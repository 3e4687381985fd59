/**
 * One connection to an Erlang node, from the handshake's 2-byte frames to the 4-byte frames of
 * the connection that follows: the byte stream both read from, the ticks, the send batching, and
 * the decoding of each frame (`dist_message.ts`). It carries control messages and terms and
 * knows nothing of processes; `erlang_dist.ts` turns them into signals.
 *
 * ```
 * A: send(control, message) -> encoded into the batch -> one write per turn:  u32 length | 131 68 ...
 *    A ------------------- frames | ticks (u32 0) --------------------> B
 * B: chunk -> each whole frame in it, in order -> DistMessageDecoder -> onMessage(control, message)
 * ```
 *
 * Liveness: every quarter of the tick time, when nothing was written in that quarter, we send a
 * tick (a zero length); a peer that sends nothing at all (no tick, no message) for the whole
 * tick time is down with `net_tick_timeout`. An Erlang node ticks every `net_ticktime / 4`
 * (15 s by default), so the tick time here must be at least the peer's `net_ticktime`.
 *
 * Failure: a closed socket, a frame over the size limit, a malformed message (see
 * `dist_message.ts`) or an `onMessage` that throws closes the connection: `onClose` fires once,
 * with the reason for the log, and nothing more of that connection is dispatched.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { type Term, TermWriter } from "../etf/mod.ts";
import type { Connection } from "../distribution/transport.ts";
import type { NodeDownReason } from "../distribution/types.ts";
import {
  DistAtomCache,
  DistMessageDecoder,
  encodeDistFrame,
  FRAME_PREFIX,
} from "./dist_message.ts";
import type { HandshakeIo } from "./handshake.ts";
import { DEFAULT_MAX_FRAME, MAX_HANDSHAKE_MESSAGE } from "./types.ts";

/**
 * Buffered reads of exact byte counts from a connection; the handshake and then the connection
 * read through one, so bytes that arrive with the last handshake message are not lost.
 *
 * @example
 * ```ts
 * import { memoryPair } from "../distribution/memory.ts";
 * import { ByteStream } from "./connection.ts";
 * const [a, b] = memoryPair();
 * await a.write(Uint8Array.of(1, 2, 3));
 * const s = new ByteStream(b);
 * console.assert((await s.read(2))?.join() === "1,2");
 * a.close();
 * b.close();
 * ```
 */
export class ByteStream {
  readonly #conn: Connection;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;

  /**
   * @param conn the connection
   * @param first bytes already read from it (the bytes a listener looked at)
   */
  constructor(conn: Connection, first?: Uint8Array) {
    this.#conn = conn;
    if (first !== undefined) this.#buf = first;
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @param n how many
   * @returns the bytes (a copy or a view that stays valid), or `null` when the stream ended first
   */
  async read(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length - this.#pos < n) {
      const chunk = await this.#conn.read();
      if (chunk === null) return null;
      const rest = this.#buf.subarray(this.#pos);
      if (rest.length === 0) {
        this.#buf = chunk;
      } else {
        const joined = new Uint8Array(rest.length + chunk.length);
        joined.set(rest);
        joined.set(chunk, rest.length);
        this.#buf = joined;
      }
      this.#pos = 0;
    }
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /**
   * Hands over the bytes read and not yet taken, for a reader of the connection that reads on
   * by itself; the stream is empty afterwards.
   *
   * @returns the bytes (possibly none)
   */
  takeRest(): Uint8Array {
    const rest = this.#buf.subarray(this.#pos);
    this.#buf = new Uint8Array(0);
    this.#pos = 0;
    return rest;
  }
}

/**
 * The handshake's messages over `conn`: 2-byte big-endian length frames, at most 2 KiB each.
 *
 * @param conn the connection (writes)
 * @param stream its byte stream (reads)
 * @returns the pair the handshake runs on
 *
 * @example
 * ```ts
 * import { memoryPair } from "../distribution/memory.ts";
 * import { ByteStream, handshakeIo } from "./connection.ts";
 * const [a, b] = memoryPair();
 * await handshakeIo(a, new ByteStream(a)).send(Uint8Array.of(7));
 * console.assert((await handshakeIo(b, new ByteStream(b)).recv()).join() === "7");
 * a.close();
 * b.close();
 * ```
 */
export function handshakeIo(conn: Connection, stream: ByteStream): HandshakeIo {
  return {
    async send(message) {
      const frame = new Uint8Array(2 + message.length);
      new DataView(frame.buffer).setUint16(0, message.length);
      frame.set(message, 2);
      await conn.write(frame);
    },
    async recv() {
      const head = await stream.read(2);
      if (head === null) throw new Deno.errors.UnexpectedEof("the peer closed the connection");
      const len = (head[0]! << 8) | head[1]!;
      if (len === 0 || len > MAX_HANDSHAKE_MESSAGE) {
        throw new DecodeError(
          `Erlang handshake message of ${len} bytes (limit ${MAX_HANDSHAKE_MESSAGE})`,
        );
      }
      const body = await stream.read(len);
      if (body === null) throw new Deno.errors.UnexpectedEof("the peer closed the connection");
      return body;
    },
  };
}

/** Options of {@linkcode ErlangConnection}. */
export interface ErlangConnectionOptions {
  /** The peer's node name, for logs. */
  peer: string;
  /** Milliseconds of silence from the peer after which it is down; at least its `net_ticktime`. */
  ticktime: number;
  /** Called with each whole message, in order; a throw closes the connection. */
  onMessage(control: Term, message: Term | undefined): void;
  /** Called once when the connection closes. */
  onClose(reason: NodeDownReason, detail: string): void;
  /** Largest frame accepted. Default 64 MiB. */
  maxFrame?: number;
  /** Bytes unfinished fragmented messages may hold. Default 64 MiB. */
  reassemblyBudget?: number;
  /**
   * Whether the messages we send name their atoms in the distribution header's atom cache
   * (the peer set `DFLAG_DIST_HDR_ATOM_CACHE`). Default false: atoms go as text.
   */
  atomCache?: boolean;
}

/**
 * An Erlang distribution connection after a successful handshake.
 *
 * @example
 * ```ts
 * import { memoryPair } from "../distribution/memory.ts";
 * import { ByteStream, ErlangConnection } from "./connection.ts";
 * import { atom, tuple } from "../etf/mod.ts";
 * const [a, b] = memoryPair();
 * const got: string[] = [];
 * const ca = new ErlangConnection(a, new ByteStream(a), {
 *   peer: "b@h", ticktime: 60_000, onMessage: () => {}, onClose: () => {},
 * });
 * const cb = new ErlangConnection(b, new ByteStream(b), {
 *   peer: "a@h", ticktime: 60_000, onMessage: (_c, m) => got.push(String(m)), onClose: () => {},
 * });
 * ca.start();
 * cb.start();
 * ca.send(tuple(6, atom("x")), atom("hi"));
 * while (got.length === 0) await new Promise((r) => setTimeout(r, 1));
 * console.assert(got[0] === "hi");
 * ca.close("disconnect");
 * cb.close("disconnect");
 * ```
 */
export class ErlangConnection {
  /** The peer's node name. */
  readonly peer: string;
  readonly #io: Connection;
  readonly #stream: ByteStream;
  readonly #options: ErlangConnectionOptions;
  readonly #decoder: DistMessageDecoder;
  /** Frames queued in this turn (and while a write is in flight), encoded back to back. */
  readonly #out = new TermWriter(BATCH_BYTES);
  /** The buffer of the last write, written on again by the next batch once that write is done. */
  #spare: Uint8Array<ArrayBuffer> | undefined;
  #inFlight = 0;
  /** With the atom cache: the sending side of it, and where a message's terms are encoded first. */
  readonly #atoms: DistAtomCache | undefined;
  readonly #terms: TermWriter | undefined;
  #writing = false;
  #scheduled = false;
  #closed = false;
  #heard = true;
  #wrote = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #silentQuarters = 0;
  #maxFrame: number;
  /**
   * A frame split across chunks, in copies of its pieces: its first bytes (up to the length
   * prefix), then the rest as it arrives; joined once whole, so a large frame costs one copy
   * more and memory only as its bytes arrive, never on a declared length alone.
   */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** The whole length (prefix included) of the pending frame, once its prefix is here; else 0. */
  #pendingSize = 0;

  /**
   * @param io the socket, handshake done
   * @param stream the byte stream the handshake read through
   * @param options peer, tick time and callbacks
   */
  constructor(io: Connection, stream: ByteStream, options: ErlangConnectionOptions) {
    this.peer = options.peer;
    this.#io = io;
    this.#stream = stream;
    this.#options = options;
    this.#decoder = new DistMessageDecoder(
      options.reassemblyBudget !== undefined ? { reassemblyBudget: options.reassemblyBudget } : {},
    );
    this.#maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    if (options.atomCache === true) {
      const atoms = new DistAtomCache();
      this.#atoms = atoms;
      this.#terms = new TermWriter(1024, (name) => atoms.ref(name));
    }
  }

  /** The peer's address, for logs. */
  get remoteAddr(): string {
    return this.#io.remoteAddr;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued and not yet written. */
  get bytesQueued(): number {
    return this.#out.length + this.#inFlight;
  }

  /** Starts reading and ticking. */
  start(): void {
    const quarter = Math.max(10, Math.floor(this.#options.ticktime / 4));
    this.#timer = setInterval(() => this.#tick(), quarter);
    this.#read().catch((e) => this.close("connection_closed", errorText(e)));
  }

  /**
   * Queues one message, encoded straight into the batch: all queued in one turn leave in one
   * write, with no allocation per message. After close it is still encoded (a value with no
   * term throws), then dropped.
   *
   * @param control the control tuple
   * @param message the message, for the sending kinds
   * @throws {TypeError} when a value has no Erlang term (nothing is queued)
   * @throws {RangeError} when a value is out of range (nothing is queued)
   */
  send(control: Term, message?: Term): void {
    if (this.#closed) {
      encodeDistFrame(control, message);
      return;
    }
    const out = this.#out;
    const start = out.length;
    const atoms = this.#atoms;
    if (atoms === undefined) {
      out.terms(message === undefined ? [control] : [control, message], FRAME_PREFIX);
    } else {
      // The header names the atoms the terms refer to: the terms first, aside, then both.
      const terms = this.#terms!;
      atoms.begin();
      try {
        terms.terms(message === undefined ? [control] : [control, message]);
      } catch (e) {
        atoms.abort();
        terms.clear();
        throw e;
      }
      out.raw(LENGTH_PLACEHOLDER);
      out.raw(atoms.header());
      out.raw(terms.view());
      terms.clear();
    }
    out.setU32(start, out.length - start - 4);
    this.#schedule();
  }

  /**
   * Queues one frame made by `encodeDistFrame` (length included).
   *
   * @param frame the frame
   */
  sendFrame(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#out.raw(frame);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /**
   * Closes the connection; `onClose` fires once.
   *
   * @param reason for node monitors
   * @param detail a sentence for the log
   */
  close(reason: NodeDownReason, detail: string = reason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      this.#io.close();
    } catch { /* already closed */ }
    this.#options.onClose(reason, detail);
  }

  /**
   * Waits until what is queued is written, at most `timeoutMs`.
   *
   * @param timeoutMs the deadline
   */
  async flush(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.#out.length > 0 || this.#writing) && !this.#closed && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#writing || this.#out.length === 0 || this.#closed) return;
    const out = this.#out.take(this.#spare);
    this.#spare = undefined;
    this.#inFlight = out.length;
    this.#writing = true;
    this.#io.write(out).then(
      () => {
        this.#inFlight = 0;
        this.#writing = false;
        this.#wrote = true;
        if (out.buffer.byteLength <= KEEP_BUFFER_MAX) this.#spare = new Uint8Array(out.buffer);
        if (this.#out.length > 0) this.#flush();
      },
      (e) => {
        this.#writing = false;
        this.close("connection_closed", `write failed: ${errorText(e)}`);
      },
    );
  }

  #tick(): void {
    if (this.#closed) return;
    if (!this.#wrote && this.#out.length === 0 && !this.#writing) {
      this.#out.raw(TICK);
      this.#flush();
    }
    this.#wrote = false;
    if (this.#heard) {
      this.#heard = false;
      this.#silentQuarters = 0;
    } else if (++this.#silentQuarters >= 4) {
      this.close("net_tick_timeout", `no tick from ${this.peer} for ${this.#options.ticktime} ms`);
    }
  }

  /**
   * Reads chunks and hands every whole frame in each to the decoder at once, in order: no
   * promise per frame, and the chunk goes back to the transport afterwards (nothing decoded
   * keeps a view of it: binaries and fragments are copied out).
   */
  async #read(): Promise<void> {
    const io = this.#io;
    const rest = this.#stream.takeRest();
    if (rest.length > 0) this.#feed(rest);
    while (!this.#closed) {
      const chunk = await io.read();
      if (chunk === null) break;
      if (this.#closed) return;
      this.#heard = true;
      this.#feed(chunk);
      io.recycle?.(chunk);
    }
    this.close("connection_closed", "the peer closed the connection");
  }

  /** The frames of one chunk: finishes the pending one, parses the whole ones, keeps the rest. */
  #feed(chunk: Uint8Array): void {
    const n = chunk.length;
    let off = 0;
    if (this.#pendingBytes > 0) {
      off = this.#finishPending(chunk);
      if (off < 0 || this.#closed) return;
    }
    while (n - off >= 4) {
      const len = u32(chunk, off);
      if (len > this.#maxFrame) throw tooLarge(len, this.#maxFrame);
      if (n - off - 4 < len) break;
      if (len > 0) {
        const m = this.#decoder.decode(chunk.subarray(off + 4, off + 4 + len));
        off += 4 + len;
        if (m !== undefined) this.#options.onMessage(m.control, m.message);
        if (this.#closed) return;
      } else {
        off += 4; // a tick
      }
    }
    if (off < n) {
      const piece = chunk.slice(off);
      this.#pending.push(piece);
      this.#pendingBytes = piece.length;
      this.#pendingSize = piece.length >= 4 ? 4 + u32(piece, 0) : 0;
    }
  }

  /**
   * Adds the start of `chunk` to the pending frame; decodes it once whole.
   *
   * @returns where the rest of the chunk starts, or -1 when all of it went to the pending frame
   */
  #finishPending(chunk: Uint8Array): number {
    let off = 0;
    if (this.#pendingSize === 0) {
      // The length prefix itself was cut: complete it first.
      const head = new Uint8Array(4);
      let at = 0;
      for (const p of this.#pending) {
        head.set(p, at);
        at += p.length;
      }
      const take = Math.min(4 - at, chunk.length);
      head.set(chunk.subarray(0, take), at);
      off = take;
      if (at + take < 4) {
        this.#pending = [head.subarray(0, at + take)];
        this.#pendingBytes = at + take;
        return -1;
      }
      const len = u32(head, 0);
      if (len > this.#maxFrame) throw tooLarge(len, this.#maxFrame);
      this.#pending = [head];
      this.#pendingBytes = 4;
      this.#pendingSize = 4 + len;
    }
    const take = Math.min(this.#pendingSize - this.#pendingBytes, chunk.length - off);
    if (take > 0) {
      this.#pending.push(chunk.slice(off, off + take));
      this.#pendingBytes += take;
      off += take;
    }
    if (this.#pendingBytes < this.#pendingSize) return -1;
    const frame = new Uint8Array(this.#pendingSize);
    let at = 0;
    for (const p of this.#pending) {
      frame.set(p, at);
      at += p.length;
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingSize = 0;
    if (frame.length > 4) {
      const m = this.#decoder.decode(frame.subarray(4));
      if (m !== undefined) this.#options.onMessage(m.control, m.message);
    }
    return off;
  }
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

function tooLarge(len: number, max: number): DecodeError {
  return new DecodeError(`Frame too large: ${len} bytes, limit ${max}`);
}

/** The size of a batch buffer at first; it grows while one turn queues more. */
const BATCH_BYTES = 16 * 1024;
/** A batch buffer up to this size is written on again; a larger one (a burst) is let go. */
const KEEP_BUFFER_MAX = 1024 * 1024;
/** Where a frame's length goes, written once the frame is. */
const LENGTH_PLACEHOLDER = new Uint8Array(4);
/** A tick: a frame of length 0. */
const TICK = new Uint8Array(4);

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
