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
  #bytes = new Uint8Array(64);
  #view = new DataView(this.#bytes.buffer);
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.#bytes.subarray(0, this.length));
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
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
  new Encoder(w, options.maxDepth ?? MAX_DEPTH, false).term(term, 0, "term");
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
  for (let i = 0; i < terms.length; i++) e.term(terms[i]!, 0, `term ${i}`);
  return w.result();
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
  new Encoder(w, MAX_DEPTH, true).term(term, 0, "term");
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

class Encoder {
  readonly #w: Writer;
  readonly #maxDepth: number;
  /** Sort map entries, for {@linkcode termKey}. */
  readonly #canonical: boolean;

  constructor(w: Writer, maxDepth: number, canonical: boolean) {
    this.#w = w;
    this.#maxDepth = maxDepth;
    this.#canonical = canonical;
  }

  term(v: Term, depth: number, where: string): void {
    if (depth > this.#maxDepth) {
      throw new RangeError(
        `Cannot encode term: nested deeper than ${this.#maxDepth} levels (a cycle?) at ${where}`,
      );
    }
    const w = this.#w;
    switch (typeof v) {
      case "number":
        return this.#number(v, where);
      case "bigint":
        return this.#integer(v);
      case "boolean":
        return this.#atom(v ? "true" : "false", where);
      case "string":
        if (!v.isWellFormed()) {
          throw new TypeError(`Cannot encode term: string with a lone surrogate at ${where}`);
        }
        return this.#binary(utf8.encode(v));
      case "object":
        break;
      default:
        throw new TypeError(
          `Cannot encode term: a ${typeof v} has no Erlang equivalent at ${where}`,
        );
    }
    if (v instanceof Atom) return this.#atom(v.name, where);
    if (v instanceof Uint8Array) return this.#binary(v);
    if (Array.isArray(v)) return this.#list(v, undefined, depth, where);
    if (v instanceof Tuple) {
      const n = v.elements.length;
      if (n <= 255) {
        w.u8(tag.SMALL_TUPLE_EXT);
        w.u8(n);
      } else {
        w.u8(tag.LARGE_TUPLE_EXT);
        w.u32(n);
      }
      v.elements.forEach((e, i) => this.term(e, depth + 1, `${where}.elements[${i}]`));
      return;
    }
    if (v instanceof Map) return this.#map(v, depth, where);
    if (v instanceof ErlangFloat) {
      w.u8(tag.NEW_FLOAT_EXT);
      w.f64(v.value);
      return;
    }
    if (v instanceof ImproperList) return this.#list(v.items, v.tail, depth, where);
    if (v instanceof BitString) {
      w.u8(tag.BIT_BINARY_EXT);
      w.u32(v.bytes.length);
      w.u8(v.lastBits);
      w.raw(v.bytes);
      return;
    }
    if (v instanceof Pid) {
      w.u8(tag.NEW_PID_EXT);
      this.#atom(v.node, `${where}.node`);
      this.#u32(v.id, `${where}.id`);
      this.#u32(v.serial, `${where}.serial`);
      this.#u32(v.creation, `${where}.creation`);
      return;
    }
    if (v instanceof Ref || v instanceof ErlangRef) {
      const ids = v instanceof Ref ? [v.id] : v.ids;
      if (v instanceof ErlangRef && (ids.length < 2 || ids.length > tag.MAX_REF_WORDS)) {
        throw new RangeError(
          `Cannot encode term: a reference has 2 to ${tag.MAX_REF_WORDS} id words (one is a Ref), received ${ids.length} at ${where}`,
        );
      }
      w.u8(tag.NEWER_REFERENCE_EXT);
      w.u16(ids.length);
      this.#atom(v.node, `${where}.node`);
      this.#u32(v.creation, `${where}.creation`);
      ids.forEach((id, i) =>
        this.#u32(id, v instanceof Ref ? `${where}.id` : `${where}.ids[${i}]`)
      );
      return;
    }
    if (v instanceof ErlangPort) {
      if (!Number.isSafeInteger(v.id) || v.id < 0) {
        throw new RangeError(`Cannot encode term: port id ${v.id} at ${where}`);
      }
      // OTP writes ids over 28 bits (the old port number limit) as V4_PORT_EXT.
      const v4 = v.id > 0x0fff_ffff;
      w.u8(v4 ? tag.V4_PORT_EXT : tag.NEW_PORT_EXT);
      this.#atom(v.node, `${where}.node`);
      if (v4) w.u64(v.id);
      else w.u32(v.id);
      this.#u32(v.creation, `${where}.creation`);
      return;
    }
    const what = v === null ? "null" : (v as object).constructor?.name ?? "object";
    throw new TypeError(
      `Cannot encode term: ${what} has no Erlang equivalent at ${where} (use atom(), tuple(), a Map or an array)`,
    );
  }

  #u32(v: number, where: string): void {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
      throw new RangeError(
        `Cannot encode term: ${where} must be a 32-bit unsigned integer, received ${v}`,
      );
    }
    this.#w.u32(v);
  }

  #number(v: number, where: string): void {
    if (Number.isInteger(v)) {
      if (!Number.isSafeInteger(v)) {
        throw new RangeError(
          `Cannot encode term: ${v} at ${where} is beyond 2^53 - 1: give an integer as a bigint or a float as an ErlangFloat`,
        );
      }
      return this.#integer(v);
    }
    if (!Number.isFinite(v)) {
      throw new RangeError(`Cannot encode term: Erlang has no ${v} (at ${where})`);
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

  #atom(name: string, where: string): void {
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
        w.u8(tag.SMALL_ATOM_UTF8_EXT);
        w.u8(n);
        w.ascii(name);
        return;
      }
    }
    if (!name.isWellFormed()) {
      throw new TypeError(`Cannot encode term: atom with a lone surrogate at ${where}`);
    }
    let chars = 0;
    for (const _ of name) chars++;
    if (chars > tag.MAX_ATOM_CHARS) {
      throw new RangeError(
        `Cannot encode term: an atom has at most ${tag.MAX_ATOM_CHARS} characters, received ${chars} at ${where}`,
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

  #list(items: readonly Term[], tail: Term | undefined, depth: number, where: string): void {
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
    items.forEach((e, i) => this.term(e, depth + 1, `${where}[${i}]`));
    if (tail === undefined) w.u8(tag.NIL_EXT);
    else this.term(tail, depth + 1, `${where}.tail`);
  }

  #map(m: ReadonlyMap<Term, Term>, depth: number, where: string): void {
    const w = this.#w;
    w.u8(tag.MAP_EXT);
    w.u32(m.size);
    const keys = new Map<string, Term>();
    for (const k of m.keys()) {
      const key = termKey(k);
      if (keys.has(key)) {
        throw new RangeError(
          `Cannot encode term: the map at ${where} has the key ${String(k)} twice`,
        );
      }
      keys.set(key, k);
    }
    const order = this.#canonical ? [...keys.keys()].sort() : [...keys.keys()];
    for (const key of order) {
      const k = keys.get(key) as Term;
      this.term(k, depth + 1, `${where}.key(${String(k)})`);
      this.term(m.get(k) as Term, depth + 1, `${where}.get(${String(k)})`);
    }
  }
}
