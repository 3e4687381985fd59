/**
 * Decoding Erlang's External Term Format strictly, for bytes from a peer that may be broken or
 * hostile (the same care as `binary_to_term(B, [safe])`, and more):
 *
 * - every length is checked against the bytes actually present before anything is allocated
 *   (a tuple of 4 billion elements in 10 bytes is refused at once, not after allocating);
 * - nesting is bounded (`maxDepth`), so no input overflows the stack;
 * - atoms are not interned anywhere, so no input exhausts an atom table; an atom's UTF-8 must be
 *   valid and at most 255 characters long;
 * - a compressed term declares its size, which must be under `maxInflatedSize`, and inflating
 *   stops there;
 * - a map with one key twice, a NaN or infinite float, a sign byte other than 0 or 1, trailing
 *   bytes after the term: all refused;
 * - funs (`NEW_FUN_EXT`, `EXPORT_EXT`) and `LOCAL_EXT` are refused with the reason: they name
 *   code or state that exists only inside one BEAM.
 *
 * Every refusal is a {@linkcode DecodeError} saying what was wrong and at which byte offset; no
 * other exception escapes for any input.
 *
 * @example
 * ```ts
 * import { decodeTerm } from "./decode.ts";
 * import { DecodeError } from "../errors.ts";
 * try {
 *   decodeTerm(Uint8Array.of(131, 104, 3, 97, 1)); // {1, ...} cut short
 * } catch (e) {
 *   console.assert(e instanceof DecodeError);
 * }
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { Pid, Ref } from "../term/pid.ts";
import { MAX_DEPTH, termKey } from "./encode.ts";
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

/** The largest compressed term {@linkcode decodeTerm} inflates by default: 64 MiB. */
export const MAX_INFLATED_SIZE = 64 * 1024 * 1024;

/** Options of {@linkcode decodeTerm}. */
export interface DecodeTermOptions {
  /** The deepest nesting accepted; default `MAX_DEPTH` (512). */
  maxDepth?: number;
  /** The largest uncompressed size a compressed term may declare; default 64 MiB. */
  maxInflatedSize?: number;
  /**
   * The atoms `ATOM_CACHE_REF` indexes name (a distribution header's cache); without it an
   * atom cache reference is refused.
   */
  atomCache?: readonly (string | undefined)[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Decodes what `term_to_binary/1,2` made: the version byte 131, then one term (possibly
 * compressed), and nothing after it.
 *
 * @param bytes the encoded term
 * @param options limits and an atom cache
 * @returns the term, as in the table of `mod.ts`
 * @throws {DecodeError} if the bytes are not exactly one valid term within the limits
 *
 * @example
 * ```ts
 * import { decodeTerm } from "./decode.ts";
 * import { Atom, Tuple } from "./terms.ts";
 * // term_to_binary({ok, "hi"})
 * const t = decodeTerm(Uint8Array.of(131, 104, 2, 100, 0, 2, 111, 107, 107, 0, 2, 104, 105));
 * if (!(t instanceof Tuple)) throw new Error("not a tuple");
 * console.assert(t.elements[0] instanceof Atom);
 * console.assert(JSON.stringify(t.elements[1]) === "[104,105]");
 * ```
 */
export function decodeTerm(bytes: Uint8Array, options: DecodeTermOptions = {}): Term {
  if (bytes[0] !== tag.ETF_VERSION) {
    throw new DecodeError(
      `Cannot decode term: expected the version byte 131, received ${bytes[0] ?? "no bytes"}`,
    );
  }
  let body = bytes.subarray(1);
  let base = 1;
  if (body[0] === tag.COMPRESSED) {
    body = inflate(body, options.maxInflatedSize ?? MAX_INFLATED_SIZE);
    base = 0;
  }
  const r = new Reader(body, base, options);
  const term = r.term(0);
  if (r.pos !== body.length) {
    r.fail(`${body.length - r.pos} bytes after the term`, r.pos);
  }
  return term;
}

/**
 * Decodes one term that starts at `offset` of `bytes` without the version byte, as the terms
 * after a distribution header are sent, and tells where it ends (more may follow). Compressed
 * terms are refused here: inside a distribution message they are never used.
 *
 * @param bytes the bytes
 * @param offset where the term's tag is
 * @param options limits and the atom cache of the distribution header
 * @returns the term and the offset just past it
 * @throws {DecodeError} if the bytes at `offset` are not one valid term within the limits
 *
 * @example
 * ```ts
 * import { decodeTermAt } from "./decode.ts";
 * // two terms back to back: 1 and 2
 * const bytes = Uint8Array.of(97, 1, 97, 2);
 * const first = decodeTermAt(bytes, 0);
 * console.assert(first.term === 1 && decodeTermAt(bytes, first.end).term === 2);
 * ```
 */
export function decodeTermAt(
  bytes: Uint8Array,
  offset: number,
  options: DecodeTermOptions = {},
): { term: Term; end: number } {
  const r = new Reader(bytes.subarray(offset), offset, options);
  const term = r.term(0);
  return { term, end: offset + r.pos };
}

function inflate(body: Uint8Array, limit: number): Uint8Array {
  if (body.length < 5) {
    throw new DecodeError("Cannot decode term: compressed term cut short at offset 1");
  }
  const size = new DataView(body.buffer, body.byteOffset).getUint32(1);
  if (size > limit) {
    throw new DecodeError(
      `Cannot decode term: compressed term declares ${size} bytes, limit ${limit}`,
    );
  }
  let out: Uint8Array;
  try {
    out = zlib().inflateSync(body.subarray(5), { maxOutputLength: Math.max(size, 1) });
  } catch (e) {
    throw new DecodeError(
      `Cannot decode term: compressed data is not zlib of ${size} bytes: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (out.length !== size) {
    throw new DecodeError(
      `Cannot decode term: compressed term inflates to ${out.length} bytes, declared ${size}`,
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Reads one term from `bytes`, tracking the position; one per call of {@linkcode decodeTerm}. */
class Reader {
  readonly #bytes: Uint8Array;
  /** Made at the first float or 64-bit port id: most terms need none, and making one costs. */
  #dataView: DataView | undefined;
  /** Added to positions in error messages, so they are offsets into the caller's bytes. */
  readonly #base: number;
  readonly #maxDepth: number;
  readonly #atomCache: readonly (string | undefined)[] | undefined;
  pos = 0;

  constructor(bytes: Uint8Array, base: number, options: DecodeTermOptions) {
    this.#bytes = bytes;
    this.#base = base;
    this.#maxDepth = options.maxDepth ?? MAX_DEPTH;
    this.#atomCache = options.atomCache;
  }

  #view(): DataView {
    const b = this.#bytes;
    return this.#dataView ??= new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  fail(what: string, at: number): never {
    throw new DecodeError(`Cannot decode term: ${what} at offset ${this.#base + at}`);
  }

  /** Makes sure `n` more bytes are present. */
  #need(n: number, what: string): void {
    if (this.#bytes.length - this.pos < n) {
      this.fail(`${what} needs ${n} bytes, ${this.#bytes.length - this.pos} left`, this.pos);
    }
  }

  /** Makes sure `count` items of at least `each` bytes could still follow. */
  #fits(count: number, each: number, what: string): void {
    if (count * each > this.#bytes.length - this.pos) {
      this.fail(
        `${what} of ${count} elements in ${this.#bytes.length - this.pos} remaining bytes`,
        this.pos,
      );
    }
  }

  #u8(what: string): number {
    this.#need(1, what);
    return this.#bytes[this.pos++] as number;
  }

  #u16(what: string): number {
    this.#need(2, what);
    const b = this.#bytes;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  #u32(what: string): number {
    this.#need(4, what);
    const b = this.#bytes;
    const p = this.pos;
    const v = ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    this.pos += 4;
    return v;
  }

  #take(n: number, what: string): Uint8Array {
    this.#need(n, what);
    const out = this.#bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  term(depth: number): Term {
    if (depth > this.#maxDepth) this.fail(`nested deeper than ${this.#maxDepth} levels`, this.pos);
    const at = this.pos;
    const t = this.#u8("a term");
    switch (t) {
      case tag.SMALL_INTEGER_EXT:
        return this.#u8("SMALL_INTEGER_EXT");
      case tag.INTEGER_EXT: {
        this.#need(4, "INTEGER_EXT");
        const b = this.#bytes;
        const p = this.pos;
        const v = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
        this.pos += 4;
        return v;
      }
      case tag.SMALL_BIG_EXT:
        return this.#big(this.#u8("SMALL_BIG_EXT"), at);
      case tag.LARGE_BIG_EXT:
        return this.#big(this.#u32("LARGE_BIG_EXT"), at);
      case tag.NEW_FLOAT_EXT: {
        this.#need(8, "NEW_FLOAT_EXT");
        const v = this.#view().getFloat64(this.pos);
        this.pos += 8;
        return this.#float(v, at);
      }
      case tag.FLOAT_EXT: {
        const text = String.fromCharCode(...this.#take(31, "FLOAT_EXT")).replace(/\0+$/, "");
        if (!/^[-+]?\d+(\.\d+)?(e[-+]?\d+)?$/.test(text.trim())) {
          this.fail(`FLOAT_EXT is not a number: ${JSON.stringify(text)}`, at);
        }
        return this.#float(Number(text), at);
      }
      case tag.ATOM_EXT:
      case tag.SMALL_ATOM_EXT:
      case tag.ATOM_UTF8_EXT:
      case tag.SMALL_ATOM_UTF8_EXT:
      case tag.ATOM_CACHE_REF: {
        this.pos = at;
        const name = this.#atomName();
        return name === "true" ? true : name === "false" ? false : new Atom(name);
      }
      case tag.SMALL_TUPLE_EXT:
        return this.#tuple(this.#u8("SMALL_TUPLE_EXT"), depth);
      case tag.LARGE_TUPLE_EXT:
        return this.#tuple(this.#u32("LARGE_TUPLE_EXT"), depth);
      case tag.NIL_EXT:
        return [];
      case tag.STRING_EXT: {
        const n = this.#u16("STRING_EXT");
        return Array.from(this.#take(n, "STRING_EXT"));
      }
      case tag.LIST_EXT:
        return this.#list(depth, at);
      case tag.MAP_EXT:
        return this.#map(depth, at);
      case tag.BINARY_EXT: {
        const n = this.#u32("BINARY_EXT");
        return this.#take(n, "BINARY_EXT").slice();
      }
      case tag.BIT_BINARY_EXT: {
        const n = this.#u32("BIT_BINARY_EXT");
        const bits = this.#u8("BIT_BINARY_EXT");
        if (bits < 1 || bits > 8) {
          this.fail(`BIT_BINARY_EXT with ${bits} bits in its last byte`, at);
        }
        if (n === 0) this.fail("BIT_BINARY_EXT of no bytes", at);
        const bytes = this.#take(n, "BIT_BINARY_EXT").slice();
        if (bits === 8) return bytes;
        bytes[n - 1] = (bytes[n - 1] as number) & (0xff << (8 - bits)); // unused bits: no meaning
        return new BitString(bytes, bits);
      }
      case tag.NEW_PID_EXT:
      case tag.PID_EXT: {
        const node = this.#atomName();
        const id = this.#u32("a pid");
        const serial = this.#u32("a pid");
        const creation = t === tag.PID_EXT ? this.#u8("a pid") : this.#u32("a pid");
        return new Pid(node, id, serial, creation);
      }
      case tag.NEW_PORT_EXT:
      case tag.PORT_EXT:
      case tag.V4_PORT_EXT: {
        const node = this.#atomName();
        let id: number;
        if (t === tag.V4_PORT_EXT) {
          this.#need(8, "V4_PORT_EXT");
          const big = this.#view().getBigUint64(this.pos);
          this.pos += 8;
          if (big > SAFE) this.fail(`port id ${big} beyond 2^53 - 1`, at);
          id = Number(big);
        } else {
          id = this.#u32("a port");
        }
        const creation = t === tag.PORT_EXT ? this.#u8("a port") : this.#u32("a port");
        return new ErlangPort(node, id, creation);
      }
      case tag.NEWER_REFERENCE_EXT:
      case tag.NEW_REFERENCE_EXT: {
        const n = this.#u16("a reference");
        if (n < 1 || n > tag.MAX_REF_WORDS) {
          this.fail(`a reference of ${n} id words (1 to ${tag.MAX_REF_WORDS})`, at);
        }
        const node = this.#atomName();
        const creation = t === tag.NEW_REFERENCE_EXT
          ? this.#u8("a reference")
          : this.#u32("a reference");
        const ids: number[] = [];
        for (let i = 0; i < n; i++) ids.push(this.#u32("a reference"));
        return n === 1
          ? new Ref(node, ids[0] as number, creation)
          : new ErlangRef(node, creation, ids);
      }
      case tag.REFERENCE_EXT: {
        const node = this.#atomName();
        const id = this.#u32("REFERENCE_EXT");
        return new Ref(node, id, this.#u8("REFERENCE_EXT"));
      }
      case tag.NEW_FUN_EXT:
      case tag.EXPORT_EXT:
      case tag.FUN_EXT:
        return this.fail(
          "funs are not supported (a fun names code inside one BEAM; send {Module, Function, Args} instead)",
          at,
        );
      case tag.LOCAL_EXT:
        return this.fail("LOCAL_EXT is only meaningful to the node that encoded it", at);
      case tag.COMPRESSED:
        return this.fail("a compressed term inside a term", at);
      default:
        return this.fail(`unknown tag ${t}`, at);
    }
  }

  #float(v: number, at: number): number | ErlangFloat {
    if (!Number.isFinite(v)) this.fail(`a float that is ${v}`, at);
    return Number.isInteger(v) ? new ErlangFloat(v) : v;
  }

  #big(n: number, at: number): number | bigint {
    const sign = this.#u8("a big integer's sign");
    if (sign > 1) this.fail(`a big integer's sign byte is ${sign}`, at);
    const digits = this.#take(n, "a big integer");
    let hex = "";
    for (let i = n - 1; i >= 0; i--) hex += (digits[i] as number).toString(16).padStart(2, "0");
    let v = n === 0 ? 0n : BigInt("0x" + hex);
    if (sign === 1) v = -v;
    return v >= -SAFE && v <= SAFE ? Number(v) : v;
  }

  /** Reads an atom's text wherever one is (a term, or a pid's node), without mapping booleans. */
  #atomName(): string {
    const at = this.pos;
    const t = this.#u8("an atom");
    let bytes: Uint8Array | undefined;
    let name: string | undefined;
    switch (t) {
      case tag.ATOM_EXT:
      case tag.ATOM_UTF8_EXT:
        bytes = this.#take(this.#u16("an atom"), "an atom");
        break;
      case tag.SMALL_ATOM_EXT:
      case tag.SMALL_ATOM_UTF8_EXT:
        bytes = this.#take(this.#u8("an atom"), "an atom");
        break;
      case tag.ATOM_CACHE_REF: {
        const index = this.#u8("ATOM_CACHE_REF");
        name = this.#atomCache?.[index];
        if (name === undefined) this.fail(`atom cache entry ${index} is not set`, at);
        break;
      }
      default:
        return this.fail(`expected an atom, found tag ${t}`, at);
    }
    const latin1 = t === tag.ATOM_EXT || t === tag.SMALL_ATOM_EXT;
    if (bytes !== undefined && bytes.length > tag.MAX_ATOM_CHARS * (latin1 ? 1 : 4)) {
      // More bytes than 255 characters can take, whatever they are.
      this.fail(
        latin1
          ? `an atom of ${bytes.length} characters (at most ${tag.MAX_ATOM_CHARS})`
          : `an atom of ${bytes.length} bytes, over ${tag.MAX_ATOM_CHARS} characters`,
        at,
      );
    }
    if (name !== undefined) {
      if (!name.isWellFormed()) this.fail("atom cache entry with a lone surrogate", at);
    } else if (latin1 || isAscii(bytes!)) {
      // Latin-1 (and ASCII, the common UTF-8 atom): one byte, one character, without a decoder.
      name = String.fromCharCode.apply(null, bytes as unknown as number[]);
    } else {
      try {
        name = utf8.decode(bytes as Uint8Array);
      } catch {
        this.fail("an atom that is not valid UTF-8", at);
      }
    }
    // A string has at least as many UTF-16 units as characters: only a long one needs counting.
    if (name.length > tag.MAX_ATOM_CHARS) {
      let chars = 0;
      for (const _ of name) chars++;
      if (chars > tag.MAX_ATOM_CHARS) {
        this.fail(`an atom of ${chars} characters (at most ${tag.MAX_ATOM_CHARS})`, at);
      }
    }
    return name;
  }

  #tuple(n: number, depth: number): Tuple {
    this.#fits(n, 1, "a tuple");
    const elements: Term[] = [];
    for (let i = 0; i < n; i++) elements.push(this.term(depth + 1));
    return new Tuple(elements);
  }

  #list(depth: number, at: number): Term[] | ImproperList {
    const n = this.#u32("LIST_EXT");
    if (n === 0) this.fail("LIST_EXT of no elements", at);
    this.#fits(n + 1, 1, "a list");
    const items: Term[] = [];
    for (let i = 0; i < n; i++) items.push(this.term(depth + 1));
    const tail = this.term(depth + 1);
    // A list tail is only written by hand ([1 | [2]] is [1, 2] to term_to_binary); join it on.
    if (Array.isArray(tail)) return items.concat(tail);
    if (tail instanceof ImproperList) return new ImproperList(items.concat(tail.items), tail.tail);
    return new ImproperList(items, tail);
  }

  #map(depth: number, at: number): Map<Term, Term> {
    const n = this.#u32("MAP_EXT");
    this.#fits(n, 2, "a map");
    const map = new Map<Term, Term>();
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const keyAt = this.pos;
      const key = this.term(depth + 1);
      const value = this.term(depth + 1);
      if (n > 1) {
        let k: string;
        try {
          k = termKey(key);
        } catch (e) {
          this.fail(`a map key that cannot be compared: ${(e as Error).message}`, keyAt);
        }
        if (seen.has(k)) this.fail(`the map at offset ${this.#base + at} has one key twice`, keyAt);
        seen.add(k);
      }
      map.set(key, value);
    }
    return map;
  }
}

/** Whether every byte is ASCII (then UTF-8 and Latin-1 read the same). */
function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}

let zlibModule: typeof import("node:zlib") | undefined;
/** node:zlib, loaded with the first compressed term (most nodes never receive one). */
function zlib(): typeof import("node:zlib") {
  return zlibModule ??= process.getBuiltinModule("node:zlib") as typeof import("node:zlib");
}
