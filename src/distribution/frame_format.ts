/**
 * The frame format of the distribution protocol, in one place: how the
 * bytes of a frame are laid out, written and parsed. Pure: bytes in, bytes
 * out, no I/O. {@linkcode FrameReader} (frame_reader.ts) drives the parsing
 * over a socket; {@linkcode DistConnection} (connection.ts) writes frames
 * with these functions and reassembles fragments. docs/PROTOCOL.md
 * sections 2 and 4 are the prose of the same layout.
 *
 * ```
 * frame    = u32 length | payload                     big-endian; length 0: a tick
 * payload  = 0x01 | body                              MESSAGE: one whole message
 *          | 0x02 | u32 stream | u32 total | bytes    FRAGMENT_HEAD: a message's first bytes
 *          | 0x03 | u32 stream | bytes                FRAGMENT_CONT: its next bytes
 *
 * A -> B   [len=0]                                    tick
 * A -> B   [len][01][CBOR body]                       a small message
 * A -> B   [len][02][stream][total][bytes...]         a large one, first fragment
 * A -> B   [len][03][stream][bytes...]  ...           then the rest, until total bytes
 * ```
 *
 * During the handshake a payload is a bare CBOR message (no kind byte), in
 * frames of at most `MAX_HANDSHAKE_FRAME` bytes ({@linkcode encodeFrame}).
 *
 * Failure: a payload that does not parse (an unknown kind byte, a fragment
 * shorter than its header) is a {@linkcode DecodeError}; the connection that
 * read it closes, as for every protocol error.
 *
 * @example
 * ```ts
 * import { parseFragmentHeader, payloadKind, writeFragmentHead } from "./frame_format.ts";
 * import { FRAME_FRAGMENT_HEAD } from "./types.ts";
 * const frame = new Uint8Array(13 + 3);
 * writeFragmentHead(frame, 0, 7, 1000, 3); // stream 7, 1000 bytes in all, 3 of them here
 * console.assert(payloadKind(frame, 4, frame.length) === FRAME_FRAGMENT_HEAD);
 * const header = parseFragmentHeader(frame, 4, frame.length - 4);
 * console.assert(header.stream === 7 && header.total === 1000 && header.headerBytes === 9);
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import {
  FRAME_FRAGMENT_CONT,
  FRAME_FRAGMENT_HEAD,
  FRAME_HEADER_BYTES,
  FRAME_MESSAGE,
} from "./types.ts";

/** Bytes before the body in a MESSAGE payload: the kind byte. */
export const MESSAGE_HEADER_BYTES = 1;
/** Bytes before the data in a FRAGMENT_HEAD payload: kind, stream, total. */
export const FRAGMENT_HEAD_HEADER_BYTES = 9;
/** Bytes before the data in a FRAGMENT_CONT payload: kind, stream. */
export const FRAGMENT_CONT_HEADER_BYTES = 5;
/** The largest payload length a frame's u32 prefix can state. */
export const MAX_FRAME_LENGTH = 0xffff_ffff;

/** What a payload is: a tick (empty), or one of the three kinds. */
export type PayloadKind =
  | 0
  | typeof FRAME_MESSAGE
  | typeof FRAME_FRAGMENT_HEAD
  | typeof FRAME_FRAGMENT_CONT;

/** The kind {@linkcode payloadKind} returns for an empty payload. */
export const PAYLOAD_TICK = 0;

/** What the header of a fragment frame says. */
export interface FragmentHeader {
  /** Whether this is the stream's first fragment (FRAGMENT_HEAD). */
  first: boolean;
  /** The stream the fragment belongs to. */
  stream: number;
  /** The message's announced size in bytes (FRAGMENT_HEAD), or -1 (FRAGMENT_CONT). */
  total: number;
  /** Bytes of the payload before the fragment's data: 9 or 5. */
  headerBytes: number;
}

/**
 * Writes `value` as a big-endian u32 at `offset`: a frame's length prefix,
 * and the fixed-size fields of fragment headers.
 *
 * @param target where to write
 * @param offset the first of the four bytes
 * @param value an integer in 0..2^32-1
 *
 * @example
 * ```ts
 * import { readU32, writeU32 } from "./frame_format.ts";
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
 * import { readU32 } from "./frame_format.ts";
 * console.assert(readU32(new Uint8Array([0xff, 0, 0, 1]), 0) === 0xff000001);
 * ```
 */
export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) |
    bytes[offset + 3]!) >>> 0;
}

/**
 * Frames one payload as it stands (the handshake's messages, which have no
 * kind byte): its length, then its bytes, copied once.
 *
 * @param payload the bytes to frame; an empty payload makes a tick
 * @returns a new array of `4 + payload.length` bytes
 * @throws {RangeError} when the payload is longer than a length prefix can state
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./frame_format.ts";
 * console.assert(encodeFrame(new Uint8Array([7, 8])).join() === "0,0,0,2,7,8");
 * ```
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_FRAME_LENGTH) {
    throw new RangeError(
      `Cannot frame payload: ${payload.length} bytes is more than a frame holds (${MAX_FRAME_LENGTH})`,
    );
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeU32(frame, 0, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Writes a tick (a frame of length 0) at `at`: 4 bytes.
 *
 * @param target where to write
 * @param at the offset of the frame
 *
 * @example
 * ```ts
 * import { writeTick } from "./frame_format.ts";
 * const out = new Uint8Array(4).fill(9);
 * writeTick(out, 0);
 * console.assert(out.join() === "0,0,0,0");
 * ```
 */
export function writeTick(target: Uint8Array, at: number): void {
  target.fill(0, at, at + FRAME_HEADER_BYTES);
}

/**
 * Writes the length prefix and kind byte of a MESSAGE frame whose body of
 * `bodyLength` bytes follows at `at + 5`.
 *
 * @param target where to write
 * @param at the offset of the frame
 * @param bodyLength the body's length in bytes
 *
 * @example
 * ```ts
 * import { writeMessageHeader } from "./frame_format.ts";
 * const out = new Uint8Array(5);
 * writeMessageHeader(out, 0, 3);
 * console.assert(out.join() === "0,0,0,4,1");
 * ```
 */
export function writeMessageHeader(target: Uint8Array, at: number, bodyLength: number): void {
  writeU32(target, at, bodyLength + MESSAGE_HEADER_BYTES);
  target[at + FRAME_HEADER_BYTES] = FRAME_MESSAGE;
}

/**
 * Writes the length prefix and header of a FRAGMENT_HEAD frame carrying the
 * first `n` bytes (which follow at `at + 13`) of a message of `total` bytes.
 *
 * @param target where to write
 * @param at the offset of the frame
 * @param stream the stream number, nonzero
 * @param total the message's size in bytes
 * @param n the bytes of it this frame carries
 *
 * @example
 * ```ts
 * import { writeFragmentHead } from "./frame_format.ts";
 * const out = new Uint8Array(13);
 * writeFragmentHead(out, 0, 1, 256, 2);
 * console.assert(out.join() === "0,0,0,11,2,0,0,0,1,0,0,1,0");
 * ```
 */
export function writeFragmentHead(
  target: Uint8Array,
  at: number,
  stream: number,
  total: number,
  n: number,
): void {
  writeU32(target, at, FRAGMENT_HEAD_HEADER_BYTES + n);
  target[at + 4] = FRAME_FRAGMENT_HEAD;
  writeU32(target, at + 5, stream);
  writeU32(target, at + 9, total);
}

/**
 * Writes the length prefix and header of a FRAGMENT_CONT frame carrying `n`
 * more bytes (which follow at `at + 9`) of stream `stream`.
 *
 * @param target where to write
 * @param at the offset of the frame
 * @param stream the stream number
 * @param n the bytes this frame carries
 *
 * @example
 * ```ts
 * import { writeFragmentCont } from "./frame_format.ts";
 * const out = new Uint8Array(9);
 * writeFragmentCont(out, 0, 1, 2);
 * console.assert(out.join() === "0,0,0,7,3,0,0,0,1");
 * ```
 */
export function writeFragmentCont(target: Uint8Array, at: number, stream: number, n: number): void {
  writeU32(target, at, FRAGMENT_CONT_HEADER_BYTES + n);
  target[at + 4] = FRAME_FRAGMENT_CONT;
  writeU32(target, at + 5, stream);
}

/**
 * The kind of the payload `buf[start..end)` of an established connection's
 * frame: {@linkcode PAYLOAD_TICK} when empty, else its kind byte.
 *
 * @param buf the bytes holding the payload
 * @param start its first byte
 * @param end one past its last byte
 * @returns the kind
 * @throws {DecodeError} for an unknown kind byte
 *
 * @example
 * ```ts
 * import { PAYLOAD_TICK, payloadKind } from "./frame_format.ts";
 * console.assert(payloadKind(new Uint8Array(0), 0, 0) === PAYLOAD_TICK);
 * console.assert(payloadKind(new Uint8Array([1, 0x80]), 0, 2) === 1);
 * ```
 */
export function payloadKind(buf: Uint8Array, start: number, end: number): PayloadKind {
  if (start === end) return PAYLOAD_TICK;
  const kind = buf[start]!;
  if (kind === FRAME_MESSAGE || kind === FRAME_FRAGMENT_HEAD || kind === FRAME_FRAGMENT_CONT) {
    return kind;
  }
  throw new DecodeError(`Malformed frame: unknown kind ${kind}`);
}

/**
 * Whether the payload starting at `buf[start]` is a fragment (HEAD or CONT);
 * for the frame reader's sink, which sees a frame before all of it is in.
 *
 * @param buf the bytes holding the payload's first byte
 * @param start its offset
 * @returns whether its kind byte is FRAGMENT_HEAD or FRAGMENT_CONT
 *
 * @example
 * ```ts
 * import { isFragment } from "./frame_format.ts";
 * console.assert(isFragment(new Uint8Array([3]), 0) && !isFragment(new Uint8Array([1]), 0));
 * ```
 */
export function isFragment(buf: Uint8Array, start: number): boolean {
  const kind = buf[start];
  return kind === FRAME_FRAGMENT_HEAD || kind === FRAME_FRAGMENT_CONT;
}

/**
 * Parses the header of the fragment payload at `buf[start]`, `length` bytes
 * long in all (of which at least the header must be in `buf`).
 *
 * @param buf the bytes holding the payload's header
 * @param start the offset of its kind byte
 * @param length the whole payload's length (from the frame's prefix)
 * @returns what the header says
 * @throws {DecodeError} when the payload is not a fragment or is shorter than its header
 *
 * @example
 * ```ts
 * import { parseFragmentHeader } from "./frame_format.ts";
 * const cont = new Uint8Array([3, 0, 0, 0, 9, 42]);
 * const h = parseFragmentHeader(cont, 0, cont.length);
 * console.assert(!h.first && h.stream === 9 && h.headerBytes === 5);
 * ```
 */
export function parseFragmentHeader(
  buf: Uint8Array,
  start: number,
  length: number,
): FragmentHeader {
  const kind = buf[start];
  if (kind === FRAME_FRAGMENT_HEAD) {
    if (length < FRAGMENT_HEAD_HEADER_BYTES) {
      throw new DecodeError("Malformed fragment: header too short");
    }
    return {
      first: true,
      stream: readU32(buf, start + 1),
      total: readU32(buf, start + 5),
      headerBytes: FRAGMENT_HEAD_HEADER_BYTES,
    };
  }
  if (kind === FRAME_FRAGMENT_CONT) {
    if (length < FRAGMENT_CONT_HEADER_BYTES) {
      throw new DecodeError("Malformed fragment: header too short");
    }
    return {
      first: false,
      stream: readU32(buf, start + 1),
      total: -1,
      headerBytes: FRAGMENT_CONT_HEADER_BYTES,
    };
  }
  throw new DecodeError(`Malformed fragment: kind ${kind} is not a fragment`);
}
