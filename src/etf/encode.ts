/**
 * Encoding TypeScript values as Erlang's External Term Format, byte for byte as OTP 25's
 * `term_to_binary(Term, [{minor_version, 2}])` (OTP 26's default) encodes the same term: the
 * smallest integer form, `STRING_EXT` for short lists of bytes, UTF-8 atoms, `NEW_FLOAT_EXT`,
 * `NEW_PID_EXT`, `NEWER_REFERENCE_EXT`, map entries in the map's own order.
 *
 * A value with no Erlang equivalent (`null`, `undefined`, a plain object, a function, NaN, an
 * integer beyond 2^53 - 1 given as a `number`) is a `TypeError` or `RangeError` naming it and
 * where it sits, never a silent conversion.
 *
 * @example
 * ```ts
 * import { encodeTerm } from "./encode.ts";
 * import { atom, tuple } from "./terms.ts";
 * // term_to_binary({ok, 1}, [{minor_version, 2}])
 * const bytes = encodeTerm(tuple(atom("ok"), 1));
 * console.assert(bytes.join(",") === "131,104,2,119,2,111,107,97,1");
 * ```
 *
 * @module
 */

import { Pid, Ref } from "../term/pid.ts";
import * as tag from "./tags.ts";
import {
  Atom,
  BitString,
  ErlangFloat,
  ErlangPort,
  ErlangRef,
  ImproperList,
  type Term,
  Tuple,
} from "./terms.ts";

/** The deepest nesting {@linkcode encodeTerm} and `decodeTerm` accept by default. */
export const MAX_DEPTH = 512;

const UINT32_MAX = 0xffff_ffff;
const utf8 = new TextEncoder();

/** A growing byte buffer; one per encoding, so the codec keeps no state between calls. */
class Writer {
  #bytes: Uint8Array<ArrayBuffer>;
  #view: DataView;
  length = 0;

  constructor(bytes: Uint8Array<ArrayBuffer> = new Uint8Array(64)) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #room(n: number): void {
    if (this.length + n <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.#bytes.subarray(0, this.length));
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  /** Writes `v` as a big-endian u32 at `at`, within what was written. */
  u32At(at: number, v: number): void {
    this.#view.setUint32(at, v);
  }

  /** The bytes written so far, as a view of the buffer the writer goes on in. */
  bytesView(): Uint8Array {
    return this.#bytes.subarray(0, this.length);
  }

  /** The bytes written so far, as a view; the writer goes on in `next` (empty) instead. */
  swap(next: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    const out = this.#bytes.subarray(0, this.length);
    this.#bytes = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.length = 0;
    return out;
  }

  u8(v: number): void {
    this.#room(1);
    this.#bytes[this.length++] = v;
  }

  u16(v: number): void {
    this.#room(2);
    this.#view.setUint16(this.length, v);
    this.length += 2;
  }

  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.length, v);
    this.length += 4;
  }

  i32(v: number): void {
    this.#room(4);
    this.#view.setInt32(this.length, v);
    this.length += 4;
  }

  u64(v: number): void {
    this.#room(8);
    this.#view.setBigUint64(this.length, BigInt(v));
    this.length += 8;
  }

  f64(v: number): void {
    this.#room(8);
    this.#view.setFloat64(this.length, v);
    this.length += 8;
  }

  /** Writes an ASCII string's characters, one byte each. */
  ascii(text: string): void {
    this.#room(text.length);
    const b = this.#bytes;
    for (let i = 0; i < text.length; i++) b[this.length++] = text.charCodeAt(i);
  }

  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  result(): Uint8Array {
    return this.#bytes.slice(0, this.length);
  }
}

/** Options of {@linkcode encodeTerm}. */
export interface EncodeTermOptions {
  /** The deepest nesting accepted (a cycle is reported as too deep); default {@linkcode MAX_DEPTH}. */
  maxDepth?: number;
}

/**
 * Encodes a term as `term_to_binary/1` does: the version byte 131, then the term.
 *
 * @param term the value, as in the table of `mod.ts`
 * @param options nesting limit
 * @returns the encoded bytes
 * @throws {TypeError} if a value has no Erlang equivalent (`null`, `undefined`, a plain object,
 * a function, a symbol, a string that is not well-formed UTF-16)
 * @throws {RangeError} if a value is out of range (NaN, an unsafe integer `number`, an atom over
 * 255 characters, a pid field over 32 bits, nesting deeper than `maxDepth`, a map with one key twice)
 *
 * @example
 * ```ts
 * import { encodeTerm } from "./encode.ts";
 * console.assert(encodeTerm([1, 2, 3]).join(",") === "131,107,0,3,1,2,3"); // "\x01\x02\x03"
 * ```
 */
export function encodeTerm(term: Term, options: EncodeTermOptions = {}): Uint8Array {
  const w = new Writer();
  w.u8(tag.ETF_VERSION);
  new Encoder(w, options.maxDepth ?? MAX_DEPTH, false).encode(term, "term");
  return w.result();
}

/**
 * Encodes terms back to back without their version bytes, after `prefix`: what a distribution
 * message is (a header, then the control message and the message), in one buffer.
 *
 * @param prefix bytes written first, as they are
 * @param terms the terms, in order
 * @returns the bytes
 * @throws {TypeError} as {@linkcode encodeTerm}
 * @throws {RangeError} as {@linkcode encodeTerm}
 *
 * @example
 * ```ts
 * import { encodeTermSequence } from "./encode.ts";
 * console.assert(encodeTermSequence(Uint8Array.of(9), [1, 2]).join(",") === "9,97,1,97,2");
 * ```
 */
export function encodeTermSequence(prefix: Uint8Array, terms: readonly Term[]): Uint8Array {
  const w = new Writer();
  w.raw(prefix);
  const e = new Encoder(w, MAX_DEPTH, false);
  for (let i = 0; i < terms.length; i++) e.encode(terms[i]!, `term ${i}`);
  return w.result();
}

/**
 * A reusable buffer that terms are encoded onto back to back, without version bytes, between
 * bytes of the caller's: a connection encodes every message of one event-loop turn into one,
 * with no allocation per message, and hands the whole batch to one socket write.
 *
 * A term that cannot be encoded leaves nothing behind: {@linkcode TermWriter.terms} throws
 * with the writer as it was before the call.
 *
 * @example
 * ```ts
 * import { TermWriter } from "./encode.ts";
 * import { atom } from "./terms.ts";
 * const w = new TermWriter();
 * w.raw(Uint8Array.of(9));
 * w.terms([1, atom("a")]);
 * try {
 *   w.terms([2, null as never]); // refused: nothing of it stays
 * } catch (e) {
 *   console.assert(e instanceof TypeError);
 * }
 * console.assert(w.take().join(",") === "9,97,1,119,1,97");
 * console.assert(w.length === 0);
 * ```
 */
export class TermWriter {
  readonly #w: Writer;
  readonly #e: Encoder;

  /**
   * @param initialBytes the size of the first buffer
   * @param atomRef for a distribution message with an atom cache: called with each ASCII
   *   atom's name, returns the index of its reference in the message's header (written as
   *   `ATOM_CACHE_REF`), or -1 to write the atom's text
   */
  constructor(initialBytes = 64 * 1024, atomRef?: (name: string) => number) {
    this.#w = new Writer(new Uint8Array(initialBytes));
    this.#e = new Encoder(this.#w, MAX_DEPTH, false, atomRef);
  }

  /** Bytes written since the last {@linkcode TermWriter.take}. */
  get length(): number {
    return this.#w.length;
  }

  /**
   * Appends bytes as they are.
   *
   * @param bytes the bytes
   */
  raw(bytes: Uint8Array): void {
    this.#w.raw(bytes);
  }

  /**
   * Overwrites four bytes already written with a big-endian unsigned integer (a length
   * prefix, once what it counts is written).
   *
   * @param at the offset, at most `length - 4`
   * @param value the integer
   * @throws {RangeError} when `at` is past what was written
   */
  setU32(at: number, value: number): void {
    if (!Number.isInteger(at) || at < 0 || at + 4 > this.#w.length) {
      throw new RangeError(`Cannot set a u32 at ${at}: ${this.#w.length} bytes written`);
    }
    this.#w.u32At(at, value);
  }

  /**
   * Appends `prefix`, then terms, each without a version byte; all or none.
   *
   * @param terms the terms, in order
   * @param prefix bytes written first, as they are (a frame's header)
   * @throws {TypeError} as {@linkcode encodeTerm}, leaving the writer as it was
   * @throws {RangeError} as {@linkcode encodeTerm}, leaving the writer as it was
   */
  terms(terms: readonly Term[], prefix?: Uint8Array): void {
    const w = this.#w;
    const start = w.length;
    try {
      if (prefix !== undefined) w.raw(prefix);
      for (let i = 0; i < terms.length; i++) this.#e.encode(terms[i]!, `term ${i}`);
    } catch (e) {
      w.length = start;
      throw e;
    }
  }

  /**
   * Everything written since the last {@linkcode TermWriter.take} or
   * {@linkcode TermWriter.clear}, as a view that the next write may overwrite.
   *
   * @returns the bytes
   */
  view(): Uint8Array {
    return this.#w.bytesView();
  }

  /** Forgets what was written; the buffer is written on again. */
  clear(): void {
    this.#w.length = 0;
  }

  /**
   * Everything written since the last call, as a view of the writer's buffer; the writer
   * starts over in `next` (or a new buffer), so the view stays as it is.
   *
   * @param next an empty buffer to write on from now, e.g. one taken earlier and done with
   * @returns the bytes
   */
  take(next?: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    return this.#w.swap(next ?? new Uint8Array(64 * 1024));
  }
}

/**
 * A string that is equal for equal terms (Erlang's `=:=`): the canonical encoding, with map
 * entries sorted. Use it to look terms up in a JavaScript `Map` or `Set`, where two `Atom`
 * objects of one name are different keys.
 *
 * @param term the value
 * @returns a string key, equal exactly when the terms are exactly equal
 * @throws {TypeError} as {@linkcode encodeTerm}
 * @throws {RangeError} as {@linkcode encodeTerm}
 *
 * @example
 * ```ts
 * import { termKey } from "./encode.ts";
 * import { atom, ErlangFloat, tuple } from "./terms.ts";
 * console.assert(termKey(tuple(atom("a"), 1)) === termKey(tuple(atom("a"), 1)));
 * console.assert(termKey(1) !== termKey(new ErlangFloat(1))); // 1 =/= 1.0
 * ```
 */
export function termKey(term: Term): string {
  const w = new Writer();
  new Encoder(w, MAX_DEPTH, true).encode(term, "term");
  const bytes = w.result();
  let key = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    key += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return key;
}

/** Whether `v` is an integer (number or bigint) an Erlang string byte can hold. */
function isByte(v: unknown): boolean {
  return (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255 &&
    !Object.is(v, -0)) ||
    (typeof v === "bigint" && v >= 0n && v <= 255n);
}

/** One step from a term to a part of it, for error messages (see `Encoder.#where`). */
type PathSegment = number | string | { key: Term } | { get: Term };

class Encoder {
  readonly #w: Writer;
  readonly #maxDepth: number;
  /** Sort map entries, for {@linkcode termKey}. */
  readonly #canonical: boolean;
  #root = "term";
  /** Indices (`[i]`), names (`.elements`, `.tail`) and map entries from the root to here. */
  readonly #path: PathSegment[] = [];

  /** The distribution header's atom cache, for {@linkcode TermWriter}: a reference or -1. */
  readonly #atomRef: ((name: string) => number) | undefined;

  constructor(
    w: Writer,
    maxDepth: number,
    canonical: boolean,
    atomRef?: (name: string) => number,
  ) {
    this.#w = w;
    this.#maxDepth = maxDepth;
    this.#canonical = canonical;
    this.#atomRef = atomRef;
  }

  /** Encodes the root term `v`; `root` names it in error messages. */
  encode(v: Term, root: string): void {
    this.#root = root;
    this.#path.length = 0;
    this.term(v, 0);
  }

  /**
   * Where the term being encoded sits, for an error message: built only when one is thrown,
   * from the path of indices and names kept while descending (no string per element).
   */
  #where(leaf = ""): string {
    let out = this.#root;
    for (const seg of this.#path) {
      if (typeof seg === "number") out += `[${seg}]`;
      else if (typeof seg === "string") out += seg;
      else if ("key" in seg) out += `.key(${String(seg.key)})`;
      else out += `.get(${String(seg.get)})`;
    }
    return out + leaf;
  }

  term(v: Term, depth: number): void {
    if (depth > this.#maxDepth) {
      throw new RangeError(
        `Cannot encode term: nested deeper than ${this.#maxDepth} levels (a cycle?) at ${this.#where()}`,
      );
    }
    const w = this.#w;
    switch (typeof v) {
      case "number":
        return this.#number(v);
      case "bigint":
        return this.#integer(v);
      case "boolean":
        return this.#atom(v ? "true" : "false");
      case "string":
        if (!v.isWellFormed()) {
          throw new TypeError(
            `Cannot encode term: string with a lone surrogate at ${this.#where()}`,
          );
        }
        return this.#binary(utf8.encode(v));
      case "object":
        break;
      default:
        throw new TypeError(
          `Cannot encode term: a ${typeof v} has no Erlang equivalent at ${this.#where()}`,
        );
    }
    if (v instanceof Atom) return this.#atom(v.name);
    if (v instanceof Uint8Array) return this.#binary(v);
    if (Array.isArray(v)) return this.#list(v, undefined, depth);
    if (v instanceof Tuple) {
      const n = v.elements.length;
      if (n <= 255) {
        w.u8(tag.SMALL_TUPLE_EXT);
        w.u8(n);
      } else {
        w.u8(tag.LARGE_TUPLE_EXT);
        w.u32(n);
      }
      const path = this.#path;
      const elements = v.elements;
      path.push(".elements", 0);
      const at = path.length - 1;
      for (let i = 0; i < n; i++) {
        path[at] = i;
        this.term(elements[i]!, depth + 1);
      }
      path.length -= 2;
      return;
    }
    if (v instanceof Map) return this.#map(v, depth);
    if (v instanceof ErlangFloat) {
      w.u8(tag.NEW_FLOAT_EXT);
      w.f64(v.value);
      return;
    }
    if (v instanceof ImproperList) return this.#list(v.items, v.tail, depth);
    if (v instanceof BitString) {
      w.u8(tag.BIT_BINARY_EXT);
      w.u32(v.bytes.length);
      w.u8(v.lastBits);
      w.raw(v.bytes);
      return;
    }
    if (v instanceof Pid) {
      w.u8(tag.NEW_PID_EXT);
      this.#atom(v.node, ".node");
      this.#u32(v.id, ".id");
      this.#u32(v.serial, ".serial");
      this.#u32(v.creation, ".creation");
      return;
    }
    if (v instanceof Ref || v instanceof ErlangRef) {
      const ids = v instanceof Ref ? [v.id] : v.ids;
      if (v instanceof ErlangRef && (ids.length < 2 || ids.length > tag.MAX_REF_WORDS)) {
        throw new RangeError(
          `Cannot encode term: a reference has 2 to ${tag.MAX_REF_WORDS} id words (one is a Ref), received ${ids.length} at ${this.#where()}`,
        );
      }
      w.u8(tag.NEWER_REFERENCE_EXT);
      w.u16(ids.length);
      this.#atom(v.node, ".node");
      this.#u32(v.creation, ".creation");
      for (let i = 0; i < ids.length; i++) {
        this.#u32(ids[i]!, v instanceof Ref ? ".id" : `.ids[${i}]`);
      }
      return;
    }
    if (v instanceof ErlangPort) {
      if (!Number.isSafeInteger(v.id) || v.id < 0) {
        throw new RangeError(`Cannot encode term: port id ${v.id} at ${this.#where()}`);
      }
      // OTP writes ids over 28 bits (the old port number limit) as V4_PORT_EXT.
      const v4 = v.id > 0x0fff_ffff;
      w.u8(v4 ? tag.V4_PORT_EXT : tag.NEW_PORT_EXT);
      this.#atom(v.node, ".node");
      if (v4) w.u64(v.id);
      else w.u32(v.id);
      this.#u32(v.creation, ".creation");
      return;
    }
    const what = v === null ? "null" : (v as object).constructor?.name ?? "object";
    throw new TypeError(
      `Cannot encode term: ${what} has no Erlang equivalent at ${this.#where()} (use atom(), tuple(), a Map or an array)`,
    );
  }

  #u32(v: number, leaf: string): void {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
      throw new RangeError(
        `Cannot encode term: ${this.#where(leaf)} must be a 32-bit unsigned integer, received ${v}`,
      );
    }
    this.#w.u32(v);
  }

  #number(v: number): void {
    if (Number.isInteger(v)) {
      if (!Number.isSafeInteger(v)) {
        throw new RangeError(
          `Cannot encode term: ${v} at ${this.#where()} is beyond 2^53 - 1: give an integer as a bigint or a float as an ErlangFloat`,
        );
      }
      return this.#integer(v);
    }
    if (!Number.isFinite(v)) {
      throw new RangeError(`Cannot encode term: Erlang has no ${v} (at ${this.#where()})`);
    }
    this.#w.u8(tag.NEW_FLOAT_EXT);
    this.#w.f64(v);
  }

  #integer(v: number | bigint): void {
    const w = this.#w;
    if (v >= 0 && v <= 255) {
      w.u8(tag.SMALL_INTEGER_EXT);
      w.u8(Number(v));
      return;
    }
    if (v >= -0x8000_0000 && v <= 0x7fff_ffff) {
      w.u8(tag.INTEGER_EXT);
      w.i32(Number(v));
      return;
    }
    let magnitude = BigInt(v);
    const negative = magnitude < 0n;
    if (negative) magnitude = -magnitude;
    let hex = magnitude.toString(16);
    if (hex.length % 2) hex = "0" + hex;
    const n = hex.length / 2;
    if (n <= 255) {
      w.u8(tag.SMALL_BIG_EXT);
      w.u8(n);
    } else {
      w.u8(tag.LARGE_BIG_EXT);
      w.u32(n);
    }
    w.u8(negative ? 1 : 0);
    const digits = new Uint8Array(n); // little-endian
    for (let i = 0; i < n; i++) {
      digits[i] = parseInt(hex.slice(hex.length - 2 * (i + 1), hex.length - 2 * i), 16);
    }
    w.raw(digits);
  }

  #atom(name: string, leaf = ""): void {
    const n = name.length;
    if (n <= 255) {
      // The common case, ASCII: written as it is, without a UTF-8 encoder.
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (name.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        const w = this.#w;
        if (this.#atomRef !== undefined) {
          const ref = this.#atomRef(name);
          if (ref >= 0) {
            w.u8(tag.ATOM_CACHE_REF);
            w.u8(ref);
            return;
          }
        }
        w.u8(tag.SMALL_ATOM_UTF8_EXT);
        w.u8(n);
        w.ascii(name);
        return;
      }
    }
    if (!name.isWellFormed()) {
      throw new TypeError(`Cannot encode term: atom with a lone surrogate at ${this.#where(leaf)}`);
    }
    let chars = 0;
    for (const _ of name) chars++;
    if (chars > tag.MAX_ATOM_CHARS) {
      throw new RangeError(
        `Cannot encode term: an atom has at most ${tag.MAX_ATOM_CHARS} characters, received ${chars} at ${
          this.#where(leaf)
        }`,
      );
    }
    const bytes = utf8.encode(name);
    if (bytes.length <= 255) {
      this.#w.u8(tag.SMALL_ATOM_UTF8_EXT);
      this.#w.u8(bytes.length);
    } else {
      this.#w.u8(tag.ATOM_UTF8_EXT);
      this.#w.u16(bytes.length);
    }
    this.#w.raw(bytes);
  }

  #binary(bytes: Uint8Array): void {
    this.#w.u8(tag.BINARY_EXT);
    this.#w.u32(bytes.length);
    this.#w.raw(bytes);
  }

  #list(items: readonly Term[], tail: Term | undefined, depth: number): void {
    const w = this.#w;
    if (tail === undefined) {
      if (items.length === 0) return w.u8(tag.NIL_EXT);
      if (items.length <= 0xffff && items.every(isByte)) {
        w.u8(tag.STRING_EXT);
        w.u16(items.length);
        for (const b of items) w.u8(Number(b));
        return;
      }
    }
    w.u8(tag.LIST_EXT);
    w.u32(items.length);
    const path = this.#path;
    path.push(0);
    const at = path.length - 1;
    for (let i = 0; i < items.length; i++) {
      path[at] = i;
      this.term(items[i]!, depth + 1);
    }
    path.length--;
    if (tail === undefined) w.u8(tag.NIL_EXT);
    else {
      path.push(".tail");
      this.term(tail, depth + 1);
      path.length--;
    }
  }

  #map(m: ReadonlyMap<Term, Term>, depth: number): void {
    const w = this.#w;
    w.u8(tag.MAP_EXT);
    w.u32(m.size);
    const keys = new Map<string, Term>();
    for (const k of m.keys()) {
      const key = termKey(k);
      if (keys.has(key)) {
        throw new RangeError(
          `Cannot encode term: the map at ${this.#where()} has the key ${String(k)} twice`,
        );
      }
      keys.set(key, k);
    }
    const order = this.#canonical ? [...keys.keys()].sort() : [...keys.keys()];
    for (const key of order) {
      const k = keys.get(key) as Term;
      this.#path.push({ key: k });
      this.term(k, depth + 1);
      this.#path[this.#path.length - 1] = { get: k };
      this.term(m.get(k) as Term, depth + 1);
      this.#path.length--;
    }
  }
}
