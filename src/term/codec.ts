/**
 * The term codec: JavaScript values to CBOR bytes (RFC 8949) and back, for
 * every message that crosses the wire.
 *
 * The encoding is plain CBOR with definite lengths, so any CBOR tool can read
 * it (`cbor-x`, Python's `cbor2`, `cbor.me`):
 *
 * | value                         | CBOR                                           |
 * |-------------------------------|------------------------------------------------|
 * | `undefined` / `null`          | simple 23 / simple 22                          |
 * | `true` / `false`              | simple 21 / simple 20                          |
 * | safe integer (not `-0`)       | major 0 or 1, shortest form                    |
 * | other number (`-0`, `NaN`...) | float64                                        |
 * | bigint                        | tag 2 / tag 3 bignum, always (so `1n` stays a bigint) |
 * | string                        | text string (UTF-8; a lone surrogate becomes U+FFFD) |
 * | `Uint8Array`, `ArrayBuffer`   | byte string (`ArrayBuffer`/`DataView` come back as `Uint8Array`) |
 * | other typed arrays            | RFC 8746 tags 64-86, native byte order         |
 * | array                         | array (holes become `undefined`)               |
 * | plain object                  | map with text keys                             |
 * | `Map`                         | tag 259 + map with any keys                    |
 * | `Set`                         | tag 258 + array                                |
 * | `Date`                        | tag 1 (epoch seconds), tag 1001 when a float would lose a millisecond |
 * | {@linkcode Pid}               | tag 40961 + `[node, id, serial, creation]`     |
 * | {@linkcode Ref}               | tag 40962 + `[node, id, creation]`             |
 * | `Error`                       | tag 40963 + map `{name, message, stack?, cause?, errors?, props?}` |
 *
 * Other class instances travel as plain objects of their own enumerable
 * properties (as `structuredClone` treats them); boxed primitives are unboxed.
 * Functions, symbols, `Promise`, `WeakMap`, `WeakSet`, `WeakRef`,
 * `FinalizationRegistry`, circular references and nesting deeper than
 * {@linkcode MAX_DEPTH} cannot be sent: {@linkcode encode} throws a
 * `TypeError` that names where the value sits, for example
 * `Cannot send value: function at msg.handlers[2]`. Paths start at `msg` and
 * read like JavaScript: `.key` or `["odd key"]` for properties, `[2]` for
 * array items, `.get("k")` for a `Map` value, `.keys()[0]` for a `Map` key,
 * `.values()[1]` for a `Set` member, `.cause` / `.errors[0]` inside errors.
 *
 * Decoding is built for hostile input: every length is checked against the
 * bytes actually present before anything is allocated, nesting is limited,
 * only the tags above are accepted, text must be valid UTF-8, and trailing
 * bytes are refused. Whatever is wrong, {@linkcode decode} throws a
 * `DecodeError` and nothing else.
 *
 * Speed: the encoder writes into a shared slab and returns a view of it, so a
 * small message costs no allocation beyond its view; a large byte string is
 * copied exactly once, into the result. {@linkcode encodeParts} does not copy
 * large byte strings at all: it returns the CBOR as a list of parts in which
 * each of them is the caller's own view, for a writer that sends parts one
 * after another. The decoder hands out byte strings as views of its input,
 * without copying (see {@linkcode decode}).
 *
 * @example
 * ```ts
 * import { decode, encode } from "./codec.ts";
 * import { Pid } from "./pid.ts";
 * const msg = { type: "ping", from: new Pid("a@host", 42, 0, 1), seen: new Set([1n]) };
 * const back = decode(encode(msg)) as typeof msg;
 * console.assert(back.from.equals(msg.from) && back.seen.has(1n));
 * ```
 *
 * @module
 */

import {
  DecodeError,
  HandshakeError,
  NameError,
  NoConnectionError,
  NotAliveError,
  ProcessExitError,
  RemoteError,
  TimeoutError,
} from "../errors.ts";
import { Pid, Ref } from "./pid.ts";

/** CBOR tag of a {@linkcode Pid}: `[node, id, serial, creation]`. */
export const TAG_PID = 40961;
/** CBOR tag of a {@linkcode Ref}: `[node, id, creation]`. */
export const TAG_REF = 40962;
/** CBOR tag of an `Error`: a map `{name, message, stack?, cause?, errors?, props?}`. */
export const TAG_ERROR = 40963;

/**
 * The deepest nesting of arrays, objects, maps and sets that
 * {@linkcode encode} sends and {@linkcode decode} accepts.
 */
export const MAX_DEPTH = 1000;

/**
 * Byte strings (a `Uint8Array`, `ArrayBuffer`, `DataView` or other typed
 * array) of at least this many bytes are referenced, not copied, by
 * {@linkcode encodeParts}.
 */
export const BY_REFERENCE_MIN = 4096;

/**
 * A value encoded by {@linkcode encodeParts} as a sequence of byte arrays
 * whose concatenation is the CBOR encoding.
 *
 * Parts alternate between bytes the encoder wrote (views of its slab, never
 * written again) and byte strings of the value itself, as views of the
 * caller's memory: those are read when the parts are consumed, not when the
 * value was encoded, so the caller must not change them until then (sent
 * messages are to be treated as immutable). `sizes` holds each part's length
 * at encoding time; a consumer that finds a part shorter than that (its
 * buffer was detached or shrunk meanwhile) pads it with zeros so that the
 * total stays `length`.
 *
 * @example
 * ```ts
 * import { decode, encodeParts, EncodedParts } from "./codec.ts";
 * const big = new Uint8Array(100_000).fill(7);
 * const encoded = encodeParts({ big }) as EncodedParts;
 * console.assert(encoded instanceof EncodedParts && encoded.parts[1] === big);
 * console.assert((decode(encoded.toBytes()) as { big: Uint8Array }).big[99_999] === 7);
 * ```
 */
export class EncodedParts {
  /** The parts, in order; none is empty. */
  readonly parts: readonly Uint8Array[];
  /** The length of each part when it was encoded. */
  readonly sizes: readonly number[];
  /** Total bytes: the sum of `sizes`. */
  readonly length: number;

  /**
   * @param parts the parts, in order
   * @param sizes their lengths at encoding time (default: their lengths now)
   */
  constructor(parts: readonly Uint8Array[], sizes: readonly number[] = parts.map((p) => p.length)) {
    let length = 0;
    for (const n of sizes) length += n;
    this.parts = parts;
    this.sizes = sizes;
    this.length = length;
  }

  /**
   * Joins the parts into one new array (a part now shorter than its size is
   * padded with zeros).
   *
   * @returns the whole encoding
   */
  toBytes(): Uint8Array {
    const bytes = new Uint8Array(this.length);
    let at = 0;
    for (let i = 0; i < this.parts.length; i++) {
      const part = this.parts[i]!;
      const size = this.sizes[i]!;
      const present = Math.min(part.length, size); // 0 once its buffer is detached
      if (present > 0) bytes.set(present < part.length ? part.subarray(0, present) : part, at);
      at += size;
    }
    return bytes;
  }
}

/** Options for {@linkcode encode}. */
export interface EncodeOptions {
  /**
   * Zero bytes to reserve at the start of the result, for a header the caller
   * fills in afterwards (a frame length), so that framing needs no second
   * copy. Default 0.
   */
  headroom?: number;
}

// ---------------------------------------------------------------------------
// Shared constants

const TAG_DATE = 1;
const TAG_DATE_EXTENDED = 1001;
const TAG_BIGNUM = 2;
const TAG_NEG_BIGNUM = 3;
const TAG_SET = 258;
const TAG_MAP = 259;
/** RFC 8746 uint8 array: never written (a plain byte string is), read for other encoders. */
const TAG_UINT8_ARRAY = 64;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type TypedArrayCtor =
  | Uint8ClampedArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** RFC 8746 little-endian tags; the big-endian twin of a multi-byte type is 4 less. */
const TYPED_ARRAY_TAGS: [string, number, number][] = [
  // [name, little-endian tag, bytes per element]
  ["Uint8ClampedArray", 68, 1],
  ["Uint16Array", 69, 2],
  ["Uint32Array", 70, 4],
  ["BigUint64Array", 71, 8],
  ["Int8Array", 72, 1],
  ["Int16Array", 77, 2],
  ["Int32Array", 78, 4],
  ["BigInt64Array", 79, 8],
  ["Float16Array", 84, 2],
  ["Float32Array", 85, 4],
  ["Float64Array", 86, 8],
];
/** `Symbol.toStringTag` of a typed array -> the tag this machine writes. */
const tagOfTypedArray = new Map<string, number>();
/** tag -> [constructor, bytes per element, little-endian?] */
const typedArrayOfTag = new Map<number, [TypedArrayCtor, number, boolean]>();
for (const [name, le, size] of TYPED_ARRAY_TAGS) {
  const ctor = (globalThis as Record<string, unknown>)[name] as TypedArrayCtor | undefined;
  if (ctor === undefined) continue;
  tagOfTypedArray.set(name, LITTLE_ENDIAN || size === 1 ? le : le - 4);
  typedArrayOfTag.set(le, [ctor, size, true]);
  if (size > 1) typedArrayOfTag.set(le - 4, [ctor, size, false]);
}

/** Error classes rebuilt by name on decode; any other name gives a plain `Error`. */
const ERROR_CLASSES = new Map<string, ErrorConstructor>(
  [
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
    AggregateError,
    TimeoutError,
    NoConnectionError,
    HandshakeError,
    RemoteError,
    DecodeError,
    ProcessExitError,
    NameError,
    NotAliveError,
  ].map((c) => [c.name, c as unknown as ErrorConstructor]),
);

/**
 * Makes `decode` rebuild errors named `ctor.name` as instances of `ctor`, so
 * `instanceof` works on the receiving node. Higher layers register the
 * error classes they define (the OTP and rpc errors) when they load.
 *
 * @param ctor an `Error` subclass whose `name` matches its class name
 *
 * @example
 * ```ts
 * import { decode, encode, registerErrorClass } from "./codec.ts";
 * class QuotaError extends Error {
 *   constructor(message: string) {
 *     super(message);
 *     this.name = "QuotaError";
 *   }
 * }
 * registerErrorClass(QuotaError);
 * console.assert(decode(encode(new QuotaError("over"))) instanceof QuotaError);
 * ```
 */
export function registerErrorClass(ctor: abstract new (...args: never[]) => Error): void {
  if (typeof ctor !== "function" || !(ctor.prototype instanceof Error)) {
    throw new TypeError("Cannot register error class: expected a subclass of Error");
  }
  ERROR_CLASSES.set(ctor.name, ctor as unknown as ErrorConstructor);
}

/** Classes that cannot meaningfully be copied to another node. */
const REFUSED: [string, abstract new (...args: never[]) => unknown][] = [
  ["Promise", Promise],
  ["WeakMap", WeakMap],
  ["WeakSet", WeakSet],
  ["WeakRef", WeakRef],
  ["FinalizationRegistry", FinalizationRegistry],
];

// ---------------------------------------------------------------------------
// Encoder

const SLAB_SIZE = 64 * 1024;
/** Start a fresh slab for the next message when less than this is left. */
const SLAB_MIN_FREE = 2048;
/** A slab grown past this for one big message is left to that message. */
const SLAB_KEEP_LIMIT = 1024 * 1024;
/** Room every item checks for, enough for any tag + header + float. */
const ITEM_ROOM = 32;

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

/** Thrown inside the encoder; turned into a TypeError naming the path. */
class Unsendable {
  constructor(readonly what: string) {}
}

let out: Uint8Array = EMPTY;
let outView = new DataView(out.buffer);
/** Write position in `out`. */
let pos = 0;
/** Where the message being encoded starts in `out`. */
let start = 0;
let depth = 0;
let busy = false;
/** Whether byte strings are taken by reference (encoding parts). */
let byRef = false;
/** Byte strings taken by reference, and where each goes: its offset from `start`. */
let refs: Uint8Array[] = [];
let cuts: number[] = [];

/**
 * Encodes a value as CBOR.
 *
 * The result is a view of a shared slab: it stays valid and is never written
 * again by the codec, but its `buffer` holds other messages too, so do not
 * transfer or detach it.
 *
 * @param value the value to send
 * @param options headroom to reserve for a header
 * @returns the CBOR bytes (after `headroom` zero bytes)
 * @throws {TypeError} when the value holds something that cannot be sent:
 *   `Cannot send value: function at msg.handlers[2]`
 *
 * @example
 * ```ts
 * import { encode } from "./codec.ts";
 * const bytes = encode({ type: "ping", n: 1 });
 * console.assert(bytes[0] === 0xa2); // a map of two entries
 * try {
 *   encode({ handlers: [1, 2, () => {}] });
 * } catch (e) {
 *   console.assert((e as TypeError).message === "Cannot send value: function at msg.handlers[2]");
 * }
 * ```
 */
export function encode(value: unknown, options?: EncodeOptions): Uint8Array {
  return encodeWith(value, options, false) as Uint8Array;
}

/**
 * Encodes a value as CBOR, like {@linkcode encode}, but without copying its
 * large byte strings: when the value holds byte strings of
 * {@linkcode BY_REFERENCE_MIN} bytes or more, the result is an
 * {@linkcode EncodedParts} that references them; otherwise it is the same
 * bytes `encode` returns.
 *
 * The referenced byte strings are read when the parts are consumed: do not
 * change them until then. (A `SharedArrayBuffer` or a resizable
 * `ArrayBuffer` is always copied.)
 *
 * @param value the value to send
 * @param options headroom to reserve for a header (in the first part)
 * @returns the CBOR bytes, or the parts that make them up
 * @throws {TypeError} as {@linkcode encode} does
 *
 * @example
 * ```ts
 * import { encodeParts, EncodedParts } from "./codec.ts";
 * console.assert(encodeParts({ n: 1 }) instanceof Uint8Array);
 * const file = new Uint8Array(1 << 20);
 * const encoded = encodeParts(["file", file]) as EncodedParts;
 * console.assert(encoded.parts[1] === file && encoded.length === 1 + 5 + 5 + (1 << 20));
 * ```
 */
export function encodeParts(value: unknown, options?: EncodeOptions): Uint8Array | EncodedParts {
  return encodeWith(value, options, true);
}

function encodeWith(
  value: unknown,
  options: EncodeOptions | undefined,
  byReference: boolean,
): Uint8Array | EncodedParts {
  if (busy) return encodeNested(value, options, byReference);
  busy = true;
  start = pos;
  depth = 0;
  byRef = byReference;
  try {
    const headroom = options?.headroom ?? 0;
    if (headroom !== 0) writeHeadroom(headroom);
    writeItem(value);
    const result = refs.length === 0 ? out.subarray(start, pos) : collectParts();
    if (out.length > SLAB_KEEP_LIMIT || out.length - pos < SLAB_MIN_FREE) {
      out = EMPTY;
      pos = 0;
    }
    return result;
  } catch (e) {
    pos = start;
    if (e instanceof Unsendable) throw unsendableError(value, e.what);
    throw e;
  } finally {
    busy = false;
    byRef = false;
    if (refs.length !== 0) refs.length = cuts.length = 0;
  }
}

/** The encoder's bytes of this message cut where the referenced byte strings go. */
function collectParts(): EncodedParts {
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  let prev = 0;
  for (let i = 0; i < refs.length; i++) {
    const cut = cuts[i]!;
    if (cut > prev) {
      parts.push(out.subarray(start + prev, start + cut));
      sizes.push(cut - prev);
    }
    parts.push(refs[i]!);
    sizes.push(refs[i]!.length);
    prev = cut;
  }
  if (pos - start > prev) {
    parts.push(out.subarray(start + prev, pos));
    sizes.push(pos - start - prev);
  }
  return new EncodedParts(parts, sizes);
}

/** A getter called `encode` while we were encoding: run it on its own slab. */
function encodeNested(
  value: unknown,
  options: EncodeOptions | undefined,
  byReference: boolean,
): Uint8Array | EncodedParts {
  const saved = [out, outView, pos, start, depth, byRef, refs, cuts] as const;
  out = EMPTY;
  pos = 0;
  busy = false;
  refs = [];
  cuts = [];
  try {
    return encodeWith(value, options, byReference);
  } finally {
    [out, outView, pos, start, depth, byRef, refs, cuts] = saved;
    busy = true;
  }
}

function writeHeadroom(headroom: number): void {
  if (!Number.isSafeInteger(headroom) || headroom < 0) {
    throw new RangeError(
      `Cannot encode: headroom must be a non-negative integer, received ${headroom}`,
    );
  }
  ensure(headroom);
  out.fill(0, pos, pos + headroom);
  pos += headroom;
}

/** Makes room for `n` more bytes, moving the current message to a bigger slab if needed. */
function ensure(n: number): void {
  if (pos + n > out.length) grow(n);
}

function grow(n: number): void {
  const used = pos - start;
  const size = Math.max(SLAB_SIZE, 2 * used + n + 4096);
  const next = new Uint8Array(size);
  if (used > 0) next.set(out.subarray(start, pos));
  out = next;
  outView = new DataView(next.buffer);
  start = 0;
  pos = used;
}

/** Writes a major type with its argument (a non-negative safe integer). */
function writeHead(major: number, n: number): void {
  const m = major << 5;
  if (n < 24) {
    out[pos++] = m | n;
  } else if (n < 0x100) {
    out[pos++] = m | 24;
    out[pos++] = n;
  } else if (n < 0x10000) {
    out[pos++] = m | 25;
    out[pos++] = n >> 8;
    out[pos++] = n & 0xff;
  } else if (n < 0x100000000) {
    out[pos++] = m | 26;
    outView.setUint32(pos, n);
    pos += 4;
  } else {
    out[pos++] = m | 27;
    outView.setUint32(pos, Math.floor(n / 0x100000000));
    outView.setUint32(pos + 4, n >>> 0);
    pos += 8;
  }
}

function writeTag(tag: number): void {
  writeHead(6, tag);
}

function writeFloat(v: number): void {
  out[pos++] = 0xfb;
  outView.setFloat64(pos, v);
  pos += 8;
}

function writeItem(v: unknown): void {
  if (out.length - pos < ITEM_ROOM) grow(ITEM_ROOM);
  switch (typeof v) {
    case "string":
      writeString(v);
      return;
    case "number":
      writeNumber(v);
      return;
    case "object":
      if (v === null) out[pos++] = 0xf6;
      else writeObject(v);
      return;
    case "boolean":
      out[pos++] = v ? 0xf5 : 0xf4;
      return;
    case "undefined":
      out[pos++] = 0xf7;
      return;
    case "bigint":
      writeBigInt(v);
      return;
    default:
      throw new Unsendable(typeof v);
  }
}

function writeNumber(v: number): void {
  if (v >>> 0 === v) {
    if (v === 0 && 1 / v < 0) writeFloat(v); // -0
    else writeHead(0, v);
  } else if (Number.isSafeInteger(v)) {
    if (v < 0) writeHead(1, -1 - v);
    else writeHead(0, v);
  } else {
    writeFloat(v);
  }
}

function writeString(s: string): void {
  const len = s.length;
  if (len < 64) {
    // Short strings: encode by hand, which beats a call into TextEncoder.
    ensure(2 + 3 * len);
    const headerSize = len < 24 ? 1 : 2;
    let p = pos + headerSize;
    for (let i = 0; i < len; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        out[p++] = c;
      } else if (c < 0x800) {
        out[p++] = 0xc0 | (c >> 6);
        out[p++] = 0x80 | (c & 0x3f);
      } else if ((c & 0xf800) === 0xd800) {
        const d = (c & 0xfc00) === 0xd800 && i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if ((d & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff);
          i++;
          out[p++] = 0xf0 | (c >> 18);
          out[p++] = 0x80 | ((c >> 12) & 0x3f);
          out[p++] = 0x80 | ((c >> 6) & 0x3f);
          out[p++] = 0x80 | (c & 0x3f);
        } else {
          // A lone surrogate, written as U+FFFD as TextEncoder does.
          out[p++] = 0xef;
          out[p++] = 0xbf;
          out[p++] = 0xbd;
        }
      } else {
        out[p++] = 0xe0 | (c >> 12);
        out[p++] = 0x80 | ((c >> 6) & 0x3f);
        out[p++] = 0x80 | (c & 0x3f);
      }
    }
    const n = p - pos - headerSize;
    if (n < 24) {
      if (headerSize === 2) out.copyWithin(pos + 1, pos + 2, p);
      out[pos] = 0x60 | n;
      pos += 1 + n;
    } else {
      if (headerSize === 1) out.copyWithin(pos + 2, pos + 1, p);
      out[pos] = 0x78;
      out[pos + 1] = n;
      pos += 2 + n;
    }
    return;
  }
  const max = 3 * len;
  const headerSize = max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
  ensure(headerSize + max);
  const n = textEncoder.encodeInto(s, out.subarray(pos + headerSize)).written;
  const fits = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  if (fits !== headerSize) {
    out.copyWithin(pos + fits, pos + headerSize, pos + headerSize + n);
  }
  writeHead(3, n);
  pos += n;
}

function writeBytes(bytes: Uint8Array): void {
  const n = bytes.length;
  if (n >= BY_REFERENCE_MIN && byRef && referable(bytes)) {
    ensure(9);
    writeHead(2, n);
    refs.push(bytes);
    cuts.push(pos - start);
    return;
  }
  ensure(9 + n);
  writeHead(2, n);
  out.set(bytes, pos);
  pos += n;
}

/** Whether a byte string may be sent by reference: its memory holds still. */
function referable(bytes: Uint8Array): boolean {
  const buffer = bytes.buffer;
  return !(buffer instanceof SharedArrayBuffer) && !(buffer as ArrayBuffer).resizable;
}

function writeBigInt(v: bigint): void {
  let tag = TAG_BIGNUM;
  if (v < 0n) {
    tag = TAG_NEG_BIGNUM;
    v = -1n - v;
  }
  writeTag(tag);
  if (v === 0n) {
    out[pos++] = 0x40;
    return;
  }
  if (v < 0x100000000n) {
    // The common case: fits in 4 bytes, no string round trip.
    const x = Number(v);
    const n = x < 0x100 ? 1 : x < 0x10000 ? 2 : x < 0x1000000 ? 3 : 4;
    out[pos++] = 0x40 | n;
    for (let i = n - 1; i >= 0; i--) out[pos++] = (x / 2 ** (8 * i)) & 0xff;
    return;
  }
  const hex = v.toString(16);
  const odd = hex.length & 1;
  const n = (hex.length + odd) >> 1;
  ensure(9 + n);
  writeHead(2, n);
  // Digit pairs from the right; an odd leading digit stands alone.
  if (odd) out[pos++] = hexDigit(hex.charCodeAt(0));
  for (let i = odd; i < hex.length; i += 2) {
    out[pos++] = (hexDigit(hex.charCodeAt(i)) << 4) | hexDigit(hex.charCodeAt(i + 1));
  }
}

/** The value of a lower-case hex digit's char code. */
function hexDigit(c: number): number {
  return c < 0x3a ? c - 0x30 : c - 0x57;
}

function enter(): void {
  if (++depth > MAX_DEPTH) throw new Unsendable("nesting");
}

function writeObject(v: object): void {
  const ctor = (v as { constructor?: unknown }).constructor;
  if (ctor === Object) writePlainObject(v as Record<string, unknown>);
  else if (ctor === Array) writeArray(v as unknown[]);
  else if (ctor === Pid) writePid(v as Pid);
  else if (ctor === Uint8Array) writeBytes(v as Uint8Array);
  else if (ctor === Map) writeMap(v as Map<unknown, unknown>);
  else writeOther(v);
}

function writePlainObject(v: Record<string, unknown>): void {
  enter();
  // The entry count is only known after the loop: reserve one header byte and
  // move the entries in the rare case the count needs a longer header.
  const head = pos - start;
  pos++;
  let count = 0;
  for (const key in v) {
    writeString(key);
    writeItem(v[key]);
    count++;
  }
  patchMapHeader(head, count);
  depth--;
}

/** Writes the header of a map of `count` entries at offset `head` of the message. */
function patchMapHeader(head: number, count: number): void {
  let at = start + head;
  if (count < 24) {
    out[at] = 0xa0 | count;
    return;
  }
  const extra = count < 0x100 ? 1 : count < 0x10000 ? 2 : 4;
  ensure(extra);
  at = start + head;
  out.copyWithin(at + 1 + extra, at + 1, pos);
  pos += extra;
  if (refs.length !== 0) {
    // Byte strings referenced inside this map move with its entries.
    for (let i = cuts.length - 1; i >= 0 && cuts[i]! > head; i--) cuts[i] = cuts[i]! + extra;
  }
  const saved = pos;
  pos = at;
  writeHead(5, count);
  pos = saved;
}

function writeKeyedObject(v: object): void {
  enter();
  const keys = Object.keys(v);
  writeHead(5, keys.length);
  for (const key of keys) {
    writeString(key);
    writeItem((v as Record<string, unknown>)[key]);
  }
  depth--;
}

function writeArray(v: readonly unknown[]): void {
  enter();
  const n = v.length;
  writeHead(4, n);
  for (let i = 0; i < n; i++) writeItem(v[i]);
  depth--;
}

function writeMap(v: ReadonlyMap<unknown, unknown>): void {
  enter();
  writeTag(TAG_MAP);
  const size = v.size;
  writeHead(5, size);
  let count = 0;
  for (const [key, value] of v) {
    if (++count > size) break;
    writeItem(key);
    writeItem(value);
  }
  if (count !== size) throw changedWhileEncoding("Map");
  depth--;
}

function writeSet(v: ReadonlySet<unknown>): void {
  enter();
  writeTag(TAG_SET);
  const size = v.size;
  writeHead(4, size);
  let count = 0;
  for (const value of v) {
    if (++count > size) break;
    writeItem(value);
  }
  if (count !== size) throw changedWhileEncoding("Set");
  depth--;
}

/** A getter added or removed entries while we wrote them. */
function changedWhileEncoding(what: string): TypeError {
  return new TypeError(`Cannot send value: a ${what} changed size while it was being encoded`);
}

function writePid(v: Pid): void {
  if (pidProblem(v) !== undefined) throw new Unsendable("Pid");
  writeTag(TAG_PID);
  out[pos++] = 0x84;
  writeString(v.node);
  writeItem(v.id);
  writeItem(v.serial);
  writeItem(v.creation);
}

function writeRef(v: Ref): void {
  if (refProblem(v) !== undefined) throw new Unsendable("Ref");
  writeTag(TAG_REF);
  out[pos++] = 0x83;
  writeString(v.node);
  writeItem(v.id);
  writeItem(v.creation);
}

function writeDate(v: Date): void {
  const ms = v.getTime();
  if (ms % 1000 === 0) {
    writeTag(TAG_DATE);
    writeNumber(ms / 1000);
  } else if (Number.isNaN(ms) || Math.round((ms / 1000) * 1000) === ms) {
    writeTag(TAG_DATE);
    writeFloat(ms / 1000);
  } else {
    // Far from 1970 a float loses the millisecond: RFC 9581 `{1: s, -3: ms}`.
    const rem = ((ms % 1000) + 1000) % 1000;
    writeTag(TAG_DATE_EXTENDED);
    out[pos++] = 0xa2;
    out[pos++] = 0x01;
    writeNumber((ms - rem) / 1000);
    out[pos++] = 0x22;
    writeNumber(rem);
  }
}

function writeError(e: Error): void {
  enter();
  writeTag(TAG_ERROR);
  const hasStack = typeof e.stack === "string";
  const hasCause = Object.hasOwn(e, "cause");
  const errors = e instanceof AggregateError && Array.isArray(e.errors) ? e.errors : undefined;
  const keys = Object.keys(e).filter((k) => !ERROR_FIELDS.has(k));
  writeHead(
    5,
    2 + (hasStack ? 1 : 0) + (hasCause ? 1 : 0) + (errors ? 1 : 0) + (keys.length ? 1 : 0),
  );
  writeString("name");
  writeString(String(e.name));
  writeString("message");
  writeString(String(e.message));
  if (hasStack) {
    writeString("stack");
    writeString(e.stack!);
  }
  if (hasCause) {
    writeString("cause");
    writeItem(e.cause);
  }
  if (errors) {
    writeString("errors");
    ensure(9);
    writeArray(errors);
  }
  if (keys.length) {
    writeString("props");
    ensure(9);
    enter();
    writeHead(5, keys.length);
    for (const key of keys) {
      writeString(key);
      writeItem((e as unknown as Record<string, unknown>)[key]);
    }
    depth--;
  }
  depth--;
}

/** Error fields carried by name, never among `props`. */
const ERROR_FIELDS = new Set(["name", "message", "stack", "cause", "errors"]);

function writeOther(v: object): void {
  if (v instanceof Uint8Array) return writeBytes(v);
  if (ArrayBuffer.isView(v)) return writeView(v);
  if (v instanceof Ref) return writeRef(v);
  if (v instanceof Pid) return writePid(v);
  if (v instanceof Date) return writeDate(v);
  if (v instanceof Set) return writeSet(v);
  if (v instanceof Map) return writeMap(v);
  if (v instanceof Error) return writeError(v);
  if (Array.isArray(v)) return writeArray(v);
  const refused = refusedClass(v);
  if (refused !== undefined) throw new Unsendable(refused);
  if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) {
    return writeBytes(new Uint8Array(v));
  }
  if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) {
    return writeItem(v.valueOf());
  }
  if (v instanceof Symbol) throw new Unsendable("symbol");
  writeKeyedObject(v);
}

function writeView(v: ArrayBufferView): void {
  const tag = tagOfTypedArray.get((v as { [Symbol.toStringTag]?: string })[Symbol.toStringTag]!);
  if (tag !== undefined) writeTag(tag);
  // Without a tag (a DataView) the bytes arrive as a Uint8Array.
  writeBytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

function refusedClass(v: object): string | undefined {
  for (const [name, ctor] of REFUSED) if (v instanceof ctor) return name;
  return undefined;
}

function isUint(n: unknown): boolean {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function pidProblem(p: Pid): string | undefined {
  return typeof p.node === "string" && isUint(p.id) && isUint(p.serial) && isUint(p.creation)
    ? undefined
    : "Pid";
}

function refProblem(r: Ref): string | undefined {
  return typeof r.node === "string" && isUint(r.id) && isUint(r.creation) ? undefined : "Ref";
}

// ---------------------------------------------------------------------------
// Finding the path of what could not be sent. Only runs after a failure, so
// the fast path keeps no path at all; it walks in the encoder's order.

interface Found {
  what: string;
  path: string;
}

function unsendableError(value: unknown, what: string): TypeError {
  const found = locate(value, "msg", new Set(), 0);
  if (found === undefined) return new TypeError(`Cannot send value: ${describeWhat(what)}`);
  return new TypeError(`Cannot send value: ${describeWhat(found.what)} at ${shorten(found.path)}`);
}

function describeWhat(what: string): string {
  switch (what) {
    case "nesting":
      return `nested deeper than ${MAX_DEPTH} levels`;
    case "cycle":
      return "circular reference";
    case "Pid":
      return "malformed Pid (node must be a string, id, serial and creation non-negative integers)";
    case "Ref":
      return "malformed Ref (node must be a string, id and creation non-negative integers)";
    default:
      return what;
  }
}

function shorten(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 100)}...${path.slice(-100)}`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function propPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function keyText(key: unknown): string {
  switch (typeof key) {
    case "string":
      return JSON.stringify(key);
    case "bigint":
      return `${key}n`;
    case "number":
    case "boolean":
    case "undefined":
      return String(key);
    case "object":
      if (key === null) return "null";
      if (key instanceof Pid || key instanceof Ref) return String(key);
      return Array.isArray(key) ? "[...]" : "{...}";
    default:
      return typeof key;
  }
}

function locate(v: unknown, path: string, seen: Set<object>, level: number): Found | undefined {
  switch (typeof v) {
    case "function":
    case "symbol":
      return { what: typeof v, path };
    case "object":
      break;
    default:
      return undefined;
  }
  if (v === null) return undefined;
  if (v instanceof Pid) return pidProblem(v) === undefined ? undefined : { what: "Pid", path };
  if (v instanceof Ref) return refProblem(v) === undefined ? undefined : { what: "Ref", path };
  if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof ArrayBuffer) return undefined;
  if (v instanceof SharedArrayBuffer) return undefined;
  if (seen.has(v)) return { what: "cycle", path };
  if (level >= MAX_DEPTH) return { what: "nesting", path };
  seen.add(v);
  try {
    return locateIn(v, path, seen, level + 1);
  } finally {
    seen.delete(v);
  }
}

function locateIn(v: object, path: string, seen: Set<object>, level: number): Found | undefined {
  let found: Found | undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && !found; i++) {
      found = locate(v[i], `${path}[${i}]`, seen, level);
    }
    return found;
  }
  if (v instanceof Map) {
    let i = 0;
    for (const [key, value] of v) {
      found = locate(key, `${path}.keys()[${i++}]`, seen, level) ??
        locate(value, `${path}.get(${keyText(key)})`, seen, level);
      if (found) return found;
    }
    return undefined;
  }
  if (v instanceof Set) {
    let i = 0;
    for (const value of v) {
      found = locate(value, `${path}.values()[${i++}]`, seen, level);
      if (found) return found;
    }
    return undefined;
  }
  if (v instanceof Error) {
    if (Object.hasOwn(v, "cause")) found = locate(v.cause, `${path}.cause`, seen, level);
    if (!found && v instanceof AggregateError && Array.isArray(v.errors)) {
      found = locate(v.errors, `${path}.errors`, seen, level);
    }
    for (const key of Object.keys(v)) {
      if (found) break;
      if (!ERROR_FIELDS.has(key)) {
        found = locate(
          (v as unknown as Record<string, unknown>)[key],
          propPath(path, key),
          seen,
          level + 1,
        );
      }
    }
    return found;
  }
  const refused = refusedClass(v);
  if (refused !== undefined) return { what: refused, path };
  if (v instanceof Symbol) return { what: "symbol", path };
  if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) {
    return undefined;
  }
  const plain = (v as { constructor?: unknown }).constructor === Object;
  const keys = plain ? keysIn(v) : Object.keys(v);
  for (const key of keys) {
    found = locate((v as Record<string, unknown>)[key], propPath(path, key), seen, level);
    if (found) return found;
  }
  return undefined;
}

function keysIn(v: object): string[] {
  const keys: string[] = [];
  for (const key in v) keys.push(key);
  return keys;
}

// ---------------------------------------------------------------------------
// Decoder

let src: Uint8Array = EMPTY;
let at = 0;
let end = 0;
let level = 0;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const fromCharCode = String.fromCharCode;

/**
 * Decodes one CBOR value that fills `bytes` exactly.
 *
 * Byte strings in the result are views of `bytes`, not copies: keep `bytes`
 * unchanged for as long as the result is in use (the frame decoder hands out
 * payloads that nothing writes to again).
 *
 * @param bytes the encoded value
 * @returns the value
 * @throws {DecodeError} when the bytes are not one well-formed value of the
 *   forms {@linkcode encode} writes, or hold bytes after it
 *
 * @example
 * ```ts
 * import { decode, encode } from "./codec.ts";
 * import { DecodeError } from "../errors.ts";
 * const m = new Map<unknown, unknown>([[1, "one"], [undefined, null]]);
 * console.assert((decode(encode(m)) as Map<unknown, unknown>).get(1) === "one");
 * try {
 *   decode(new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff]));
 * } catch (e) {
 *   console.assert(e instanceof DecodeError);
 * }
 * ```
 */
export function decode(bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) {
    throw new DecodeError(`Cannot decode: expected a Uint8Array, received ${typeName(bytes)}`);
  }
  src = bytes;
  at = 0;
  end = bytes.length;
  level = 0;
  try {
    if (end === 0) fail("no bytes");
    const value = readItem();
    if (at !== end) fail(`${end - at} trailing bytes after the value`);
    return value;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new DecodeError(`Cannot decode: ${why}`, { cause: e });
  } finally {
    src = EMPTY;
  }
}

function typeName(v: unknown): string {
  return v === null ? "null" : typeof v === "object" ? v.constructor?.name ?? "object" : typeof v;
}

function fail(why: string): never {
  throw new DecodeError(`Cannot decode: ${why} (at byte ${at} of ${end})`);
}

/** Reads the argument of a head whose additional info is `info`. */
function readArg(info: number): number {
  if (info < 24) return info;
  switch (info) {
    case 24:
      if (at + 1 > end) fail("truncated head");
      return src[at++]!;
    case 25:
      if (at + 2 > end) fail("truncated head");
      at += 2;
      return (src[at - 2]! << 8) | src[at - 1]!;
    case 26:
      if (at + 4 > end) fail("truncated head");
      at += 4;
      return src[at - 4]! * 0x1000000 + ((src[at - 3]! << 16) | (src[at - 2]! << 8) | src[at - 1]!);
    case 27: {
      if (at + 8 > end) fail("truncated head");
      const hi = readArg(26);
      const lo = readArg(26);
      return hi * 0x100000000 + lo;
    }
    case 31:
      return fail("indefinite-length items are not supported");
    default:
      return fail(`reserved additional information ${info}`);
  }
}

/** A length that must fit in what is left, each unit taking at least `unit` bytes. */
function readLength(info: number, unit: number): number {
  const n = readArg(info);
  if (n * unit > end - at) fail(`declared length ${n} exceeds the ${end - at} bytes left`);
  return n;
}

function readItem(): unknown {
  if (at >= end) fail("unexpected end of input");
  const ib = src[at++]!;
  const info = ib & 31;
  switch (ib >> 5) {
    case 0:
      return info === 27 ? readBigUint() : readArg(info);
    case 1: {
      if (info !== 27) return -1 - readArg(info);
      const n = readBigUint();
      return typeof n === "number" && n < Number.MAX_SAFE_INTEGER ? -1 - n : -1n - BigInt(n);
    }
    case 2:
      return readBytes(readLength(info, 1));
    case 3: {
      const n = readLength(info, 1);
      return n <= SHORT_TEXT_MAX ? readShortText(n) : readText(n);
    }
    case 4:
      return readArray(readLength(info, 1));
    case 5:
      return readObject(readLength(info, 2));
    case 6:
      return readTagged(readArg(info));
    default:
      return readSimple(info);
  }
}

/** An 8-byte unsigned integer: a number when safe, a bigint otherwise. */
function readBigUint(): number | bigint {
  if (at + 8 > end) fail("truncated head");
  const hi = readArg(26);
  const lo = readArg(26);
  if (hi < 0x200000) return hi * 0x100000000 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function readSimple(info: number): unknown {
  switch (info) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 23:
      return undefined;
    case 25:
      return readHalf();
    case 26:
      if (at + 4 > end) fail("truncated float");
      if (LITTLE_ENDIAN) {
        for (let i = 3; i >= 0; i--) f32Bytes[i] = src[at++]!;
      } else {
        for (let i = 0; i < 4; i++) f32Bytes[i] = src[at++]!;
      }
      return f32[0]!;
    case 27:
      if (at + 8 > end) fail("truncated float");
      if (LITTLE_ENDIAN) {
        for (let i = 7; i >= 0; i--) f64Bytes[i] = src[at++]!;
      } else {
        for (let i = 0; i < 8; i++) f64Bytes[i] = src[at++]!;
      }
      return f64[0]!;
    case 31:
      return fail("unexpected break");
    default:
      return fail(`unsupported simple value ${info}`);
  }
}

function readHalf(): number {
  if (at + 2 > end) fail("truncated float");
  const h = (src[at]! << 8) | src[at + 1]!;
  at += 2;
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

function readBytes(n: number): Uint8Array {
  at += n;
  return src.subarray(at - n, at);
}

function readText(n: number): string {
  if (n < 32) {
    // Short ASCII by hand: cheaper than a call into TextDecoder.
    const p = at;
    const stop = p + n;
    let ascii = true;
    for (let i = p; i < stop; i++) {
      if (src[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      at = stop;
      if (n === 0) return "";
      if (n < 9) {
        let s = "";
        for (let i = p; i < stop; i++) s += fromCharCode(src[i]!);
        return s;
      }
      return fromCharCode.apply(null, src.subarray(p, stop) as unknown as number[]);
    }
  }
  const bytes = src.subarray(at, at + n);
  let s: string;
  try {
    s = textDecoder.decode(bytes);
  } catch {
    return fail("text string is not valid UTF-8");
  }
  at += n;
  return s;
}

function descend(): void {
  if (++level > MAX_DEPTH + 8) fail(`nesting deeper than ${MAX_DEPTH} levels`);
}

function readArray(n: number): unknown[] {
  descend();
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = readItem();
  level--;
  return a;
}

function readObject(n: number): Record<string, unknown> {
  descend();
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = readKey();
    const value = readItem();
    if (key === "__proto__") {
      Object.defineProperty(o, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      o[key] = value;
    }
  }
  level--;
  return o;
}

function readKey(): string {
  if (at < end && src[at]! >> 5 === 3) {
    const info = src[at++]! & 31;
    const n = readLength(info, 1);
    return n <= SHORT_TEXT_MAX ? readShortText(n) : readText(n);
  }
  return fail("object key is not a text string (a Map is sent with tag 259)");
}

// Short strings repeat from message to message: object keys, node names in
// pids, names, tags like "ok" or "ping". A string found in this cache is
// handed back as it is, which saves building it (and V8 then finds a key
// already internalized). The cache has a fixed size: slots are picked by a
// hash of the bytes, their bytes kept in one arena, and a collision only
// replaces the slot.
const SHORT_TEXT_MAX = 24;
const TEXT_SLOTS = 4096;
const textCacheText = new Array<string>(TEXT_SLOTS).fill("");
/** Byte length of each slot's string; 0 for an empty slot. */
const textCacheLength = new Uint8Array(TEXT_SLOTS);
const textCacheBytes = new Uint8Array(TEXT_SLOTS * SHORT_TEXT_MAX);

/** Reads a text string of `n <= SHORT_TEXT_MAX` bytes, known to be present. */
function readShortText(n: number): string {
  if (n === 0) return "";
  const stop = at + n;
  let h = n;
  for (let i = at; i < stop; i++) h = (Math.imul(h, 31) + src[i]!) | 0;
  const slot = (h ^ (h >>> 12)) & (TEXT_SLOTS - 1);
  const base = slot * SHORT_TEXT_MAX;
  if (textCacheLength[slot] === n) {
    let i = 0;
    while (i < n && textCacheBytes[base + i] === src[at + i]) i++;
    if (i === n) {
      at = stop;
      return textCacheText[slot]!;
    }
  }
  const from = at;
  const text = readText(n); // only valid UTF-8 gets here and into the cache
  for (let i = 0; i < n; i++) textCacheBytes[base + i] = src[from + i]!;
  textCacheLength[slot] = n;
  textCacheText[slot] = text;
  return text;
}

function readMap(): Map<unknown, unknown> {
  if (at >= end || src[at]! >> 5 !== 5) fail("tag 259 must hold a map");
  const n = readLength(src[at++]! & 31, 2);
  descend();
  const m = new Map<unknown, unknown>();
  for (let i = 0; i < n; i++) {
    const key = readItem();
    m.set(key, readItem());
  }
  level--;
  return m;
}

function expectArray(what: string): number {
  if (at >= end || src[at]! >> 5 !== 4) fail(`${what} must hold an array`);
  return readLength(src[at++]! & 31, 1);
}

function expectBytes(what: string): Uint8Array {
  if (at >= end || src[at]! >> 5 !== 2) fail(`${what} must hold a byte string`);
  return readBytes(readLength(src[at++]! & 31, 1));
}

function readTagged(tag: number): unknown {
  switch (tag) {
    case TAG_PID:
      return readPid();
    case TAG_MAP:
      return readMap();
    case TAG_SET: {
      const n = expectArray("tag 258");
      descend();
      const s = new Set<unknown>();
      for (let i = 0; i < n; i++) s.add(readItem());
      level--;
      return s;
    }
    case TAG_REF:
      return readRef();
    case TAG_DATE: {
      const s = readItem();
      if (typeof s !== "number") fail("tag 1 must hold a number");
      return new Date(Number.isNaN(s) ? NaN : Math.round(s * 1000));
    }
    case TAG_DATE_EXTENDED:
      return readExtendedDate();
    case TAG_BIGNUM:
      return bytesToBigInt(expectBytes("tag 2"));
    case TAG_NEG_BIGNUM:
      return -1n - bytesToBigInt(expectBytes("tag 3"));
    case TAG_ERROR:
      return readError();
    case TAG_UINT8_ARRAY:
      return expectBytes("tag 64");
    default: {
      const typed = typedArrayOfTag.get(tag);
      if (typed === undefined) fail(`unsupported tag ${tag}`);
      return readTypedArray(typed, expectBytes(`tag ${tag}`), tag);
    }
  }
}

function readUintField(what: string): number {
  const n = readItem();
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    fail(`${what} must be a non-negative integer`);
  }
  return n;
}

function readNodeField(what: string): string {
  if (at >= end || src[at]! >> 5 !== 3) fail(`${what} node must be a text string`);
  return readItem() as string;
}

function readPid(): Pid {
  if (expectArray("tag 40961 (Pid)") !== 4) fail("a Pid must have 4 fields");
  const node = readNodeField("Pid");
  return new Pid(
    node,
    readUintField("Pid id"),
    readUintField("Pid serial"),
    readUintField("Pid creation"),
  );
}

function readRef(): Ref {
  if (expectArray("tag 40962 (Ref)") !== 3) fail("a Ref must have 3 fields");
  const node = readNodeField("Ref");
  return new Ref(node, readUintField("Ref id"), readUintField("Ref creation"));
}

function readExtendedDate(): Date {
  if (at >= end || src[at]! >> 5 !== 5) fail("tag 1001 must hold a map");
  const m = readMap();
  const s = m.get(1);
  const ms = m.get(-3) ?? 0;
  if (typeof s !== "number" || !Number.isSafeInteger(s) || typeof ms !== "number") {
    fail("tag 1001 must hold {1: seconds, -3: milliseconds}");
  }
  return new Date(s * 1000 + ms);
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length <= 6) {
    let x = 0;
    for (let i = 0; i < bytes.length; i++) x = x * 256 + bytes[i]!;
    return BigInt(x);
  }
  // Parse hex text in one go: linear, where shifting in byte by byte is quadratic.
  const text = new Uint8Array(2 + 2 * bytes.length);
  text[0] = 0x30; // "0"
  text[1] = 0x78; // "x"
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    text[2 + 2 * i] = HEX_CHARS[b >> 4]!;
    text[3 + 2 * i] = HEX_CHARS[b & 15]!;
  }
  return BigInt(textDecoder.decode(text));
}

const HEX_CHARS = new TextEncoder().encode("0123456789abcdef");

function readTypedArray(
  [ctor, size, little]: [TypedArrayCtor, number, boolean],
  bytes: Uint8Array,
  tag: number,
): ArrayBufferView {
  if (bytes.length % size !== 0) {
    fail(`tag ${tag} holds ${bytes.length} bytes, not a multiple of ${size}`);
  }
  // A copy: the input gives no alignment guarantee, and the result owns its buffer.
  const copy = bytes.slice();
  if (size > 1 && little !== LITTLE_ENDIAN) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return new ctor(copy.buffer);
}

function readError(): Error {
  if (at >= end || src[at]! >> 5 !== 5) fail("tag 40963 (Error) must hold a map");
  const fields = readItem() as Record<string, unknown>;
  const { name, message, stack } = fields;
  if (typeof name !== "string" || typeof message !== "string") {
    fail("an Error must have a string name and message");
  }
  if (stack !== undefined && typeof stack !== "string") fail("an Error stack must be a string");
  const errors = fields.errors;
  if (errors !== undefined && !Array.isArray(errors)) {
    fail("AggregateError errors must be an array");
  }
  const props = fields.props;
  if (
    props !== undefined && (typeof props !== "object" || props === null || props instanceof Map)
  ) {
    fail("Error props must be a map with text keys");
  }
  return rebuildError(
    name,
    message,
    stack,
    Object.hasOwn(fields, "cause") ? { cause: fields.cause } : undefined,
    errors,
    props as Record<string, unknown> | undefined,
  );
}

function rebuildError(
  name: string,
  message: string,
  stack: string | undefined,
  cause: { cause: unknown } | undefined,
  errors: unknown[] | undefined,
  props: Record<string, unknown> | undefined,
): Error {
  const ctor = ERROR_CLASSES.get(name) ?? Error;
  // Built-in constructors make a real Error; for Weft's classes construct the
  // base Error with the subclass as new.target, which skips their own
  // constructor (its arguments are not on the wire) but keeps `instanceof`.
  let err: Error;
  if ((ctor as unknown) === AggregateError) {
    err = new AggregateError(errors ?? [], message, cause);
  } else if (ctor.prototype instanceof Error && !BUILTIN_ERRORS.has(ctor)) {
    err = Reflect.construct(Error, [message, cause], ctor) as Error;
  } else {
    err = new ctor(message, cause);
  }
  if (err.name !== name) define(err, "name", name, true);
  if (stack === undefined) delete err.stack;
  else define(err, "stack", stack, false);
  if (props !== undefined) {
    for (const key of Object.keys(props)) define(err, key, props[key], true);
  }
  return err;
}

const BUILTIN_ERRORS = new Set<unknown>([
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
]);

function define(o: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable, configurable: true });
}
