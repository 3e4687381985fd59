/**
 * Reads length-prefixed frames (`u32 length | payload`, big-endian, laid
 * out as frame_format.ts describes) from a {@linkcode Connection}, in two
 * modes that hand over cleanly:
 *
 * - `next(max)`, one frame at a time, for the handshake: nothing is parsed
 *   beyond the frame asked for, so bytes a peer sends right after the
 *   handshake are judged by the limits of the connection, not of the
 *   handshake;
 * - `run(max, onFrame)`, every frame as it arrives, for an established
 *   connection: frames inside a chunk are handed out as views (no copy),
 *   only a frame split across chunks is assembled in a buffer of its own,
 *   or, when a {@linkcode FrameSink} takes it, in the caller's memory: the
 *   rest of a large frame is then read from the socket straight into it,
 *   and the read after it is a short one (`read(max)`), so that of a run
 *   of large frames little more than the headers is copied.
 *
 * A length over the limit is a {@linkcode DecodeError} before any byte of
 * the payload is buffered, so a 4 GiB length prefix costs nothing. This
 * reader only cuts the stream into payloads, without a view per length
 * prefix on the hot path; what a payload holds (kind byte, fragment
 * header) is parsed by frame_format.ts, for the connection.
 *
 * ```
 * socket --chunks--> FrameReader --payloads--> handshake (next) | connection (run)
 * ```
 *
 * Failure: an over-long length, or whatever the consumer throws, ends
 * `next()` / `run()` with that error; the caller closes the connection.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { FrameReader } from "./frame_reader.ts";
 * const [a, b] = memoryPair();
 * await a.write(new Uint8Array([0, 0, 0, 2, 7, 8, 0, 0, 0, 0]));
 * const reader = new FrameReader(b);
 * console.assert((await reader.next(1024))!.length === 2);
 * console.assert((await reader.next(1024))!.length === 0);
 * a.close();
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { encodeFrame, readU32 } from "./frame_format.ts";
import type { Connection } from "./transport.ts";

const EMPTY = new Uint8Array(0);

/**
 * Takes over frames that arrive split across chunks, so their bytes land
 * where they belong (a message being reassembled) without passing through
 * a buffer of the reader's.
 *
 * @example
 * ```ts
 * import type { FrameSink } from "./frame_reader.ts";
 * const target = new Uint8Array(100);
 * const sink: FrameSink = {
 *   begin(buf, start, end, length) {
 *     target.set(buf.subarray(start, end));
 *     return target.subarray(end - start, length);
 *   },
 *   end() {},
 * };
 * console.assert(sink.begin(new Uint8Array(10), 0, 10, 100)!.length === 90);
 * ```
 */
export interface FrameSink {
  /**
   * A frame of `length` bytes starts at `buf[start]`, but only
   * `buf[start..end)` (at least {@linkcode SINK_MIN_BYTES}) is here. Either
   * take these bytes and return the array of exactly
   * `length - (end - start)` bytes that the rest of the frame is to be
   * written to, or return `undefined` to get the frame whole from
   * `onFrame` later. May throw, which ends `run()` with that error.
   */
  begin(buf: Uint8Array, start: number, end: number, length: number): Uint8Array | undefined;
  /** The array `begin` returned is full: the frame is complete. */
  end(): void;
}

/** {@linkcode FrameSink.begin} always gets at least this many bytes of the frame. */
export const SINK_MIN_BYTES = 16;

/**
 * A connection that can read into memory the caller chooses (the TCP and
 * TLS connections can), which lets the rest of a large frame skip the
 * transport's read buffer.
 */
export interface DirectReadable {
  /**
   * Reads at most `target.length` bytes into `target`.
   * @returns the number of bytes read, or `null` at the end of the stream
   */
  readInto(target: Uint8Array): Promise<number | null>;
}

/** Read the rest of a frame straight into the sink's memory when at least this much is missing. */
const DIRECT_READ_MIN = 16 * 1024;
/** The read that follows a frame read straight into the sink's memory asks for at most this. */
const SHORT_READ_BYTES = 4 * 1024;

/**
 * Frame parser over one connection. Not safe for two concurrent readers.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { FrameReader } from "./frame_reader.ts";
 * const [a, b] = memoryPair();
 * await a.write(new Uint8Array([255, 255, 255, 255]));
 * await new FrameReader(b).next(65536).catch((e) => console.assert(e.name === "DecodeError"));
 * a.close();
 * ```
 */
export class FrameReader {
  #conn: Connection;
  /** Unparsed bytes left over by `next()` (a view). */
  #rest: Uint8Array = EMPTY;
  /** A frame split across chunks, being assembled. */
  #partial: Uint8Array | undefined;
  #partialFill = 0;
  /** Reused for frames split across chunks, while no delivered frame keeps it. */
  #scratch: Uint8Array | undefined;
  /** A length prefix split across chunks. */
  #head = new Uint8Array(4);
  #headFill = 0;
  #stopped = false;
  #sink: FrameSink | undefined;
  /** Where the rest of a frame taken by the sink goes, and how much of it is there. */
  #dest: Uint8Array | undefined;
  #destFill = 0;
  /**
   * The first bytes of a frame split across chunks, gathered until the sink
   * can be asked about it (it needs {@linkcode SINK_MIN_BYTES}); the frame's
   * length while gathering, else 0.
   */
  #pre = new Uint8Array(SINK_MIN_BYTES);
  #preFill = 0;
  #preLen = 0;

  /** @param conn the connection to read frames from */
  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /**
   * Reads exactly one frame.
   *
   * @param maxFrame largest payload accepted
   * @returns the payload (empty for a zero-length frame), or `null` when
   *   the stream ends first
   * @throws {DecodeError} when the length prefix exceeds `maxFrame`
   */
  async next(maxFrame: number): Promise<Uint8Array | null> {
    while (true) {
      const rest = this.#rest;
      if (rest.length >= 4) {
        const len = readU32(rest, 0);
        if (len > maxFrame) throw tooLarge(len, maxFrame);
        if (rest.length >= 4 + len) {
          this.#rest = rest.subarray(4 + len);
          return len === 0 ? EMPTY : rest.subarray(4, 4 + len);
        }
      }
      const chunk = await this.#conn.read();
      if (chunk === null) return null;
      this.#rest = rest.length === 0 ? chunk : concat(rest, chunk);
    }
  }

  /**
   * Reads frames until the stream ends, calling `onFrame` for each payload
   * (given as `buf` with its `start` and `end`, so no view is made per
   * frame; `start === end` for a tick) and `onChunk` for each chunk read,
   * before its frames. Resolves at the end of the stream or after {@linkcode stop}.
   *
   * `onFrame` returns whether it kept a reference to the payload (a view a
   * decoded message holds on to). When nothing of a chunk was kept, the
   * chunk goes back to the transport to be read into again, and a frame
   * that had to be assembled across chunks reuses one scratch buffer, so a
   * bulk transfer whose fragments are copied out allocates nothing here.
   *
   * @param maxFrame largest payload accepted
   * @param onFrame called synchronously with each payload
   *   `buf[start..end)`; returns `true` when it keeps a view of it (which
   *   then stays valid for ever)
   * @param onChunk called with the byte count of each chunk (liveness)
   * @param sink takes frames split across chunks (see {@linkcode FrameSink});
   *   when the connection is {@linkcode DirectReadable}, the rest of such a
   *   frame is read straight into the sink's memory
   * @throws {DecodeError} when a length prefix exceeds `maxFrame`; whatever
   *   `onFrame` or the sink throws ends the loop with that error
   */
  async run(
    maxFrame: number,
    onFrame: (buf: Uint8Array, start: number, end: number) => boolean,
    onChunk?: (bytes: number) => void,
    sink?: FrameSink,
  ): Promise<void> {
    this.#sink = sink;
    if (this.#rest.length > 0) {
      const rest = this.#rest;
      this.#rest = EMPTY;
      onChunk?.(rest.length);
      this.#feed(rest, maxFrame, onFrame);
    }
    const conn = this.#conn;
    const direct = typeof (conn as Partial<DirectReadable>).readInto === "function"
      ? conn as Connection & DirectReadable
      : undefined;
    // After a frame read straight into the sink's memory, the next frame is
    // likely another large one: read a little first, so that little more
    // than its header passes through the transport's buffer.
    let short = false;
    while (!this.#stopped) {
      const dest = this.#dest;
      if (
        direct !== undefined && dest !== undefined &&
        dest.length - this.#destFill >= DIRECT_READ_MIN
      ) {
        const n = await direct.readInto(dest.subarray(this.#destFill));
        if (n === null || this.#stopped) return;
        onChunk?.(n);
        this.#destFill += n;
        if (this.#destFill === dest.length) {
          this.#endDest();
          short = true;
        }
        continue;
      }
      // Also while gathering the first bytes of a frame for the sink.
      const chunk = await conn.read(
        short || this.#preLen > 0 ? SHORT_READ_BYTES : undefined,
      );
      short = false;
      if (chunk === null || this.#stopped) return;
      onChunk?.(chunk.length);
      if (!this.#feed(chunk, maxFrame, onFrame)) conn.recycle?.(chunk);
    }
  }

  /** Makes `run()` return after the chunk it is handling. */
  stop(): void {
    this.#stopped = true;
  }

  /** Parses the frames of one chunk; returns whether a view into it was kept. */
  #feed(
    chunk: Uint8Array,
    maxFrame: number,
    onFrame: (buf: Uint8Array, start: number, end: number) => boolean,
  ): boolean {
    let off = 0;
    let kept = false;
    const end = chunk.length;
    if (this.#preLen > 0) {
      const pre = this.#pre;
      const take = Math.min(SINK_MIN_BYTES - this.#preFill, end);
      pre.set(take === end ? chunk : chunk.subarray(0, take), this.#preFill);
      this.#preFill += take;
      off = take;
      if (this.#preFill < SINK_MIN_BYTES) return false;
      const len = this.#preLen;
      this.#preLen = 0;
      this.#preFill = 0;
      this.#startPartial(pre, 0, len);
    }
    if (this.#dest !== undefined) {
      const dest = this.#dest;
      const take = Math.min(dest.length - this.#destFill, end - off);
      dest.set(take === end ? chunk : chunk.subarray(off, off + take), this.#destFill);
      this.#destFill += take;
      off += take;
      if (this.#destFill < dest.length) return false;
      this.#endDest();
      if (this.#stopped) return false;
    } else if (this.#partial !== undefined) {
      const partial = this.#partial;
      const take = Math.min(partial.length - this.#partialFill, end - off);
      partial.set(take === end ? chunk : chunk.subarray(off, off + take), this.#partialFill);
      this.#partialFill += take;
      off += take;
      if (this.#partialFill < partial.length) return false;
      this.#partial = undefined;
      // A kept scratch buffer belongs to the message now; take a new one next time.
      const kept = onFrame(partial, 0, partial.length);
      if (kept && partial.buffer === this.#scratch?.buffer) this.#scratch = undefined;
      if (this.#stopped) return false;
    }
    // A length prefix split across chunks is completed from the head buffer
    // first; every other one is read in place.
    let len = -1;
    if (this.#headFill > 0) {
      const head = this.#head;
      while (this.#headFill < 4 && off < end) head[this.#headFill++] = chunk[off++]!;
      if (this.#headFill < 4) return false;
      this.#headFill = 0;
      len = readU32(head, 0);
    }
    for (;;) {
      if (len < 0) {
        if (end - off < 4) break;
        len = readU32(chunk, off);
        off += 4;
      }
      if (len > maxFrame) throw tooLarge(len, maxFrame);
      if (len === 0) {
        onFrame(chunk, off, off);
      } else if (end - off >= len) {
        kept = onFrame(chunk, off, off + len) || kept;
        off += len;
      } else {
        this.#startPartial(chunk, off, len);
        return kept;
      }
      len = -1;
      if (this.#stopped) return kept;
    }
    while (off < end) this.#head[this.#headFill++] = chunk[off++]!;
    return kept;
  }

  /** The sink's frame is complete. */
  #endDest(): void {
    this.#dest = undefined;
    this.#destFill = 0;
    this.#sink!.end();
  }

  #startPartial(chunk: Uint8Array, off: number, len: number): void {
    if (this.#sink !== undefined && chunk.length - off < SINK_MIN_BYTES && len > SINK_MIN_BYTES) {
      // Too little of it here to ask the sink: gather its first bytes.
      this.#pre.set(chunk.subarray(off));
      this.#preFill = chunk.length - off;
      this.#preLen = len;
      return;
    }
    if (this.#sink !== undefined && chunk.length - off >= SINK_MIN_BYTES) {
      const dest = this.#sink.begin(chunk, off, chunk.length, len);
      if (dest !== undefined) {
        if (dest.length !== len - (chunk.length - off)) {
          throw new RangeError(
            `Invalid frame sink: expected room for ${
              len - (chunk.length - off)
            } bytes, got ${dest.length}`,
          );
        }
        this.#dest = dest;
        this.#destFill = 0;
        return;
      }
    }
    let partial: Uint8Array;
    if (len <= SCRATCH_MAX) {
      if (this.#scratch === undefined || this.#scratch.length < len) {
        this.#scratch = new Uint8Array(Math.max(len, SCRATCH_MIN));
      }
      partial = this.#scratch.subarray(0, len);
    } else {
      partial = new Uint8Array(len);
    }
    partial.set(chunk.subarray(off));
    this.#partial = partial;
    this.#partialFill = chunk.length - off;
  }
}

/** Frames up to this size are assembled in the reusable scratch buffer. */
const SCRATCH_MAX = 2 * 1024 * 1024;
const SCRATCH_MIN = 128 * 1024;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function tooLarge(len: number, max: number): DecodeError {
  return new DecodeError(`Frame too large: ${len} bytes, limit ${max}`);
}

/** A message stream over frames: what the handshake runs on. */
export interface FramedIO {
  /** Frames and writes one payload. */
  send(payload: Uint8Array): Promise<void>;
  /**
   * Reads the next frame's payload.
   * @throws {DecodeError} when the frame is over the limit
   * @throws {Deno.errors.UnexpectedEof} when the stream ends first
   */
  recv(): Promise<Uint8Array>;
}

/**
 * Wraps a connection and its reader as a stream of framed messages, each
 * at most `maxFrame` bytes: the `send`/`recv` pair a handshake runs over.
 *
 * @param conn the connection
 * @param reader its frame reader (kept for the connection afterwards)
 * @param maxFrame largest payload accepted
 * @returns the pair
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { FrameReader, framedIO } from "./frame_reader.ts";
 * const [a, b] = memoryPair();
 * const ia = framedIO(a, new FrameReader(a), 1024);
 * const ib = framedIO(b, new FrameReader(b), 1024);
 * await ia.send(new Uint8Array([1, 2]));
 * console.assert((await ib.recv()).length === 2);
 * a.close();
 * ```
 */
export function framedIO(conn: Connection, reader: FrameReader, maxFrame: number): FramedIO {
  return {
    send: (payload) => conn.write(encodeFrame(payload)),
    recv: async () => {
      const payload = await reader.next(maxFrame);
      if (payload === null) {
        throw new Deno.errors.UnexpectedEof(`The connection to ${conn.remoteAddr} ended`);
      }
      return payload;
    },
  };
}
