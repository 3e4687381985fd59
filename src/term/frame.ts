/**
 * Framing of the byte stream between two nodes. Pure: bytes in, bytes out,
 * no I/O.
 *
 * ```
 * frame = u32 big-endian length | payload (length bytes)
 * tick  = a frame of length 0    (keeps an idle connection alive)
 * ```
 *
 * The sender builds frames with {@linkcode encodeFrame} (one payload),
 * {@linkcode encodeFrames} (a batch for one write) or
 * {@linkcode encodeTermFrame} (a value, encoded straight into its frame). The
 * receiver pushes whatever chunks the socket yields into a
 * {@linkcode FrameDecoder} and takes out whole payloads. A length above the
 * receiver's limit fails the decoder as soon as the four length bytes are in,
 * without waiting for (or buffering) the body; a failed decoder stays failed,
 * and the connection is to be closed.
 *
 * @example
 * ```ts
 * import { encodeFrames, FrameDecoder } from "./frame.ts";
 * const wire = encodeFrames([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
 * const decoder = new FrameDecoder({ maxFrameSize: 1024 });
 * decoder.push(wire.subarray(0, 3)); // a frame split across chunks
 * decoder.push(wire.subarray(3));
 * const payloads = [...decoder];
 * console.assert(payloads.length === 3 && payloads[1]!.length === 0); // the middle one is a tick
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { encode } from "./codec.ts";

/** Bytes in a frame header: the u32 big-endian payload length. */
export const FRAME_HEADER_SIZE = 4;

/** The largest payload a frame header can state. */
export const MAX_FRAME_LENGTH = 0xffff_ffff;

/** {@linkcode FrameDecoder}'s default `maxFrameSize`: 16 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

/**
 * The payload {@linkcode FrameDecoder} yields for a tick: always this same
 * empty array, so `payload.length === 0` and `payload === TICK` both test for
 * a tick.
 */
export const TICK: Uint8Array = new Uint8Array(0);

/** The four zero bytes of a tick frame, ready to write. */
export function encodeTick(): Uint8Array {
  return new Uint8Array(FRAME_HEADER_SIZE);
}

/**
 * Frames one payload: its length, then its bytes (copied once).
 *
 * @param payload the bytes to frame; an empty payload makes a tick
 * @returns a new array of `4 + payload.length` bytes
 * @throws {RangeError} when the payload is longer than a header can state
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./frame.ts";
 * const frame = encodeFrame(new Uint8Array([7, 8]));
 * console.assert(frame.join() === "0,0,0,2,7,8");
 * ```
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  checkLength(payload.length);
  const frame = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeU32(frame, 0, payload.length);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * Frames several payloads into one buffer, to go out in one write: frames
 * queued in one turn of the event loop leave together.
 *
 * @param payloads the payloads, in order; empty ones become ticks
 * @returns one array holding every frame
 * @throws {RangeError} when a payload is longer than a header can state
 *
 * @example
 * ```ts
 * import { encodeFrames } from "./frame.ts";
 * const batch = encodeFrames([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * console.assert(batch.join() === "0,0,0,1,1,0,0,0,2,2,3");
 * ```
 */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const payload of payloads) {
    checkLength(payload.length);
    total += FRAME_HEADER_SIZE + payload.length;
  }
  const batch = new Uint8Array(total);
  let offset = 0;
  for (const payload of payloads) {
    writeU32(batch, offset, payload.length);
    batch.set(payload, offset + FRAME_HEADER_SIZE);
    offset += FRAME_HEADER_SIZE + payload.length;
  }
  return batch;
}

/**
 * Encodes a value (see `encode` in codec.ts) straight into a frame: the codec
 * leaves room for the header, so the payload is never copied a second time.
 *
 * @param value the value to send
 * @returns the frame: length header, then the CBOR payload
 * @throws {TypeError} when the value cannot be sent (see `encode`)
 *
 * @example
 * ```ts
 * import { encodeTermFrame, FrameDecoder } from "./frame.ts";
 * import { decode } from "./codec.ts";
 * const decoder = new FrameDecoder();
 * decoder.push(encodeTermFrame({ op: "ping" }));
 * console.assert((decode(decoder.next()!) as { op: string }).op === "ping");
 * ```
 */
export function encodeTermFrame(value: unknown): Uint8Array {
  const frame = encode(value, { headroom: FRAME_HEADER_SIZE });
  const length = frame.length - FRAME_HEADER_SIZE;
  checkLength(length);
  writeU32(frame, 0, length);
  return frame;
}

function checkLength(length: number): void {
  if (length > MAX_FRAME_LENGTH) {
    throw new RangeError(
      `Cannot frame payload: ${length} bytes is more than a frame holds (${MAX_FRAME_LENGTH})`,
    );
  }
}

/**
 * Writes `value` as a big-endian u32 at `offset`: a frame's length prefix,
 * and the fixed-size fields of the distribution layer's frames.
 *
 * @param target where to write
 * @param offset the first of the four bytes
 * @param value an integer in 0..2^32-1
 *
 * @example
 * ```ts
 * import { readU32, writeU32 } from "./frame.ts";
 * const bytes = new Uint8Array(4);
 * writeU32(bytes, 0, 0x01020304);
 * console.assert(bytes.join() === "1,2,3,4" && readU32(bytes, 0) === 0x01020304);
 * ```
 */
export function writeU32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/**
 * Reads the big-endian u32 at `offset` (the bytes must be there).
 *
 * @param bytes where to read
 * @param offset the first of the four bytes
 * @returns the value, 0..2^32-1
 *
 * @example
 * ```ts
 * import { readU32 } from "./frame.ts";
 * console.assert(readU32(new Uint8Array([0xff, 0, 0, 1]), 0) === 0xff000001);
 * ```
 */
export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) |
    bytes[offset + 3]!) >>> 0;
}

/** Options for {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * The largest payload accepted, in bytes; a longer stated length fails the
   * decoder. Default {@linkcode DEFAULT_MAX_FRAME_SIZE} (16 MiB); at most
   * 4 GiB - 1.
   */
  maxFrameSize?: number;
}

/**
 * Cuts a byte stream into frame payloads.
 *
 * {@linkcode FrameDecoder.push} takes ownership of each chunk: a payload that
 * lies within one chunk is handed out as a view of it, without copying, so
 * the caller must not reuse a chunk's memory after pushing it (Deno's
 * `conn.readable` yields fresh chunks, which is fine). A payload spread over
 * several chunks is assembled with a single copy of each byte; the decoder
 * never re-copies what it holds, however the chunks fall.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameDecoder } from "./frame.ts";
 * import { DecodeError } from "../errors.ts";
 * const decoder = new FrameDecoder({ maxFrameSize: 16 });
 * decoder.push(encodeFrame(new Uint8Array([42])));
 * console.assert(decoder.next()![0] === 42 && decoder.next() === undefined);
 * decoder.push(new Uint8Array([0, 0, 1, 0])); // states 256 bytes
 * try {
 *   decoder.next();
 * } catch (e) {
 *   console.assert(e instanceof DecodeError && decoder.failed !== undefined);
 * }
 * ```
 */
export class FrameDecoder implements Iterable<Uint8Array> {
  readonly #maxFrameSize: number;
  /** Chunks not yet fully consumed; those before `#head` are spent. */
  #chunks: Uint8Array[] = [];
  #head = 0;
  /** Bytes of `#chunks[#head]` already consumed. */
  #offset = 0;
  /** Bytes held and not yet consumed. */
  #buffered = 0;
  /** Length of the frame whose header was read but whose body is incomplete. */
  #pending = -1;
  #error: DecodeError | undefined;

  /**
   * @param options the frame size limit
   * @throws {RangeError} when `maxFrameSize` is not an integer from 0 to 4 GiB - 1
   */
  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    if (!Number.isInteger(max) || max < 0 || max > MAX_FRAME_LENGTH) {
      throw new RangeError(
        `Invalid maxFrameSize: must be an integer from 0 to ${MAX_FRAME_LENGTH}, received ${max}`,
      );
    }
    this.#maxFrameSize = max;
  }

  /** Bytes received and not yet handed out as payloads. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The error that failed the decoder, if one did. */
  get failed(): DecodeError | undefined {
    return this.#error;
  }

  /**
   * Adds bytes from the stream. Nothing is decoded here: take payloads out
   * with {@linkcode FrameDecoder.next} or by iterating.
   *
   * @param chunk the next bytes; the decoder keeps (and may hand out views of) it
   * @throws {DecodeError} when the decoder has failed already
   */
  push(chunk: Uint8Array): void {
    if (this.#error) throw this.#error;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * Takes out the next complete payload.
   *
   * @returns the payload ({@linkcode TICK}, of length 0, for a tick), or
   *   `undefined` when more bytes are needed
   * @throws {DecodeError} when a header states more than `maxFrameSize`;
   *   from then on every call throws the same error
   */
  next(): Uint8Array | undefined {
    if (this.#error) throw this.#error;
    if (this.#pending < 0) {
      if (this.#buffered < FRAME_HEADER_SIZE) return undefined;
      const header = this.#take(FRAME_HEADER_SIZE);
      const length = readU32(header, 0);
      if (length > this.#maxFrameSize) {
        this.#error = new DecodeError(
          `Frame too large: ${length} bytes, limit ${this.#maxFrameSize}`,
        );
        this.#chunks = [];
        this.#head = this.#offset = this.#buffered = 0;
        throw this.#error;
      }
      if (length === 0) return TICK;
      this.#pending = length;
    }
    if (this.#buffered < this.#pending) return undefined;
    const payload = this.#take(this.#pending);
    this.#pending = -1;
    return payload;
  }

  /**
   * Iterates over the complete payloads held now; stops when more bytes are
   * needed, and throws `DecodeError` as {@linkcode FrameDecoder.next} does.
   */
  *[Symbol.iterator](): IterableIterator<Uint8Array> {
    for (let payload = this.next(); payload !== undefined; payload = this.next()) {
      yield payload;
    }
  }

  /** Consumes `n <= #buffered` bytes: a view when they lie in one chunk, else one copy. */
  #take(n: number): Uint8Array {
    const chunk = this.#chunks[this.#head]!;
    const left = chunk.length - this.#offset;
    let out: Uint8Array;
    if (left >= n) {
      out = chunk.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
      if (left === n) this.#advance();
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const c = this.#chunks[this.#head]!;
        const count = Math.min(c.length - this.#offset, n - filled);
        out.set(c.subarray(this.#offset, this.#offset + count), filled);
        filled += count;
        this.#offset += count;
        if (this.#offset === c.length) this.#advance();
      }
    }
    this.#buffered -= n;
    return out;
  }

  #advance(): void {
    this.#offset = 0;
    this.#head++;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      // Drop spent chunks now and then, so many tiny chunks cost linear time.
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
