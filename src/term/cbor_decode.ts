/**
 * The CBOR decoder of the term codec, built for hostile input: every length is checked against
 * the bytes actually present before anything is allocated, nesting is limited to `MAX_DEPTH`, only
 * the tags in `cbor_tags.ts` are accepted, text must be valid UTF-8, and trailing bytes are
 * refused. Whatever is wrong, `decode` throws a `DecodeError` and nothing else.
 *
 * The read cursor lives in module variables for speed. No caller can observe it: `decode` sets it
 * on entry and clears it on exit, and runs no code of the caller's while it reads (a registered
 * error class is instantiated without running its constructor), so it is never entered twice at
 * once. The short-text cache below only hands back strings equal to the bytes read.
 *
 * @example
 * ```ts
 * import { decode } from "./cbor_decode.ts";
 * console.assert(decode(new Uint8Array([0x82, 0x01, 0x61, 0x61]))?.toString() === "1,a");
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { Pid, Ref } from "./pid.ts";
import {
  BUILTIN_ERRORS,
  errorClassNamed,
  LITTLE_ENDIAN,
  MAX_DEPTH,
  TAG_BIGNUM,
  TAG_DATE,
  TAG_DATE_EXTENDED,
  TAG_ERROR,
  TAG_MAP,
  TAG_NEG_BIGNUM,
  TAG_PID,
  TAG_REF,
  TAG_SET,
  TAG_UINT8_ARRAY,
  type TypedArrayCtor,
  typedArrayOfTag,
} from "./cbor_tags.ts";

const EMPTY = new Uint8Array(0);

// The read cursor (see the header for why module variables are safe here).
/** The bytes being decoded. */
let src: Uint8Array = EMPTY;
/** Read position in `src`. */
let at = 0;
/** Where the value must end. */
let end = 0;
/** Nesting of the item being read, against `MAX_DEPTH`. */
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
  [ctor, size, little]: readonly [TypedArrayCtor, number, boolean],
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
  const ctor = errorClassNamed(name) ?? Error;
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

function define(o: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable, configurable: true });
}
