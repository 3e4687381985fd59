/**
 * The CBOR encoder of the term codec: JavaScript values to the bytes described in `codec.ts`.
 *
 * The encoder writes into a slab it keeps between calls and returns a view of it, so a small
 * message costs no allocation beyond its view. That slab and the write position are the only
 * state this module keeps, and no caller can observe it: a result is a view of bytes that are
 * never written again (the next message starts after it, or on a fresh slab), every call resets
 * the position for its own message, and a call made while encoding (a getter that calls `encode`)
 * saves the state, encodes on a slab of its own and restores it (see `encodeNested`). An error
 * leaves the slab as it was before the call.
 *
 * When a value cannot be sent, the encoder stops at once and `unsendable.ts` walks the value again
 * to name where the culprit sits: the fast path keeps no path at all.
 *
 * @example
 * ```ts
 * import { encode } from "./cbor_encode.ts";
 * console.assert(encode([1, "a"]).length === 4);
 * ```
 *
 * @module
 */

import { Pid, Ref } from "./pid.ts";
import {
  BY_REFERENCE_MIN,
  ERROR_FIELDS,
  MAX_DEPTH,
  pidProblem,
  refProblem,
  refusedClass,
  TAG_BIGNUM,
  TAG_DATE,
  TAG_DATE_EXTENDED,
  TAG_ERROR,
  TAG_MAP,
  TAG_NEG_BIGNUM,
  TAG_PID,
  TAG_REF,
  TAG_SET,
  tagOfTypedArray,
} from "./cbor_tags.ts";
import { unsendableError } from "./unsendable.ts";

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

// The encoder's scratch state. Module variables rather than an object's fields, since the hot
// path reads `out` and `pos` for every byte. Safe to share: one message is encoded at a time
// (`busy`), a nested call saves and restores all of it (`encodeNested`), and a result never
// overlaps bytes a later call writes.
/** The slab the current message is written into. */
let out: Uint8Array = EMPTY;
let outView = new DataView(out.buffer);
/** Write position in `out`. */
let pos = 0;
/** Where the message being encoded starts in `out`. */
let start = 0;
/** Nesting of the item being written, against `MAX_DEPTH`. */
let depth = 0;
/** Whether a message is being encoded (a call now is a nested one). */
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
 * @returns the CBOR bytes
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
export function encode(value: unknown): Uint8Array {
  return encodeWith(value, false) as Uint8Array;
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
export function encodeParts(value: unknown): Uint8Array | EncodedParts {
  return encodeWith(value, true);
}

function encodeWith(value: unknown, byReference: boolean): Uint8Array | EncodedParts {
  if (busy) return encodeNested(value, byReference);
  busy = true;
  start = pos;
  depth = 0;
  byRef = byReference;
  try {
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
function encodeNested(value: unknown, byReference: boolean): Uint8Array | EncodedParts {
  const saved = [out, outView, pos, start, depth, byRef, refs, cuts] as const;
  out = EMPTY;
  pos = 0;
  busy = false;
  refs = [];
  cuts = [];
  try {
    return encodeWith(value, byReference);
  } finally {
    [out, outView, pos, start, depth, byRef, refs, cuts] = saved;
    busy = true;
  }
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
