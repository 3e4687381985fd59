/**
 * The CBOR tags and classes that both directions of the term codec share: the tags Weft writes and
 * reads (its own for pids, refs and errors, RFC 8746 for typed arrays), the error classes a decoded
 * error is rebuilt as, and the classes that cannot be sent at all.
 *
 * @example
 * ```ts
 * import { TAG_PID } from "./cbor_tags.ts";
 * console.assert(TAG_PID === 40961);
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
import type { Pid, Ref } from "./pid.ts";

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

// ---------------------------------------------------------------------------
// Shared constants

/** Standard date/time: epoch seconds (RFC 8949). */
export const TAG_DATE = 1;
/** Extended time `{1: seconds, -3: milliseconds}` (RFC 9581), when a float would lose a millisecond. */
export const TAG_DATE_EXTENDED = 1001;
/** Unsigned bignum: a byte string, big-endian. */
export const TAG_BIGNUM = 2;
/** Negative bignum: -1 - the byte string's value. */
export const TAG_NEG_BIGNUM = 3;
/** A set: an array of its members. */
export const TAG_SET = 258;
/** A map with keys of any type. */
export const TAG_MAP = 259;
/** RFC 8746 uint8 array: never written (a plain byte string is), read for other encoders. */
export const TAG_UINT8_ARRAY = 64;

/** Whether this machine stores numbers little-endian (typed arrays travel in native order). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The typed array classes with an RFC 8746 tag (a plain `Uint8Array` is a byte string). */
export type TypedArrayCtor =
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
const writeTags = new Map<string, number>();
const readTags = new Map<number, [TypedArrayCtor, number, boolean]>();
for (const [name, le, size] of TYPED_ARRAY_TAGS) {
  const ctor = (globalThis as Record<string, unknown>)[name] as TypedArrayCtor | undefined;
  if (ctor === undefined) continue;
  writeTags.set(name, LITTLE_ENDIAN || size === 1 ? le : le - 4);
  readTags.set(le, [ctor, size, true]);
  if (size > 1) readTags.set(le - 4, [ctor, size, false]);
}
/** `Symbol.toStringTag` of a typed array -> the tag this machine writes. */
export const tagOfTypedArray: ReadonlyMap<string, number> = writeTags;
/** tag -> [constructor, bytes per element, little-endian?] */
export const typedArrayOfTag: ReadonlyMap<number, readonly [TypedArrayCtor, number, boolean]> =
  readTags;

/**
 * Error classes rebuilt by name on decode; any other name gives a plain `Error`. This is the one
 * piece of process-wide state of the codec, on purpose: an error class is the same class for
 * every node in the process, as an Erlang atom is.
 */
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
  ].map((c) => [c.name, c as unknown as ErrorConstructor]),
);

/**
 * JavaScript's own error classes: a decoded one is built by its constructor,
 * any other registered class without running its constructor.
 */
export const BUILTIN_ERRORS: ReadonlySet<unknown> = new Set(ERROR_CLASSES.values());

for (
  const c of [
    TimeoutError,
    NoConnectionError,
    HandshakeError,
    RemoteError,
    DecodeError,
    ProcessExitError,
    NameError,
    NotAliveError,
  ]
) ERROR_CLASSES.set(c.name, c as unknown as ErrorConstructor);

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

/**
 * The class a decoded error named `name` is rebuilt as.
 *
 * @param name the error's `name` on the wire
 * @returns its registered class, or `undefined` for a plain `Error`
 */
export function errorClassNamed(name: string): ErrorConstructor | undefined {
  return ERROR_CLASSES.get(name);
}

/** Classes that cannot meaningfully be copied to another node. */
const REFUSED: [string, abstract new (...args: never[]) => unknown][] = [
  ["Promise", Promise],
  ["WeakMap", WeakMap],
  ["WeakSet", WeakSet],
  ["WeakRef", WeakRef],
  ["FinalizationRegistry", FinalizationRegistry],
];

/** Error fields carried by name, never among `props`. */
export const ERROR_FIELDS: ReadonlySet<string> = new Set([
  "name",
  "message",
  "stack",
  "cause",
  "errors",
]);

/** The name of a class that cannot be sent (a `Promise`, a `WeakMap`...) that `v` is, if any. */
export function refusedClass(v: object): string | undefined {
  for (const [name, ctor] of REFUSED) if (v instanceof ctor) return name;
  return undefined;
}

function isUint(n: unknown): boolean {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** "Pid" when a pid's fields are not of the types the wire carries, else `undefined`. */
export function pidProblem(p: Pid): string | undefined {
  return typeof p.node === "string" && isUint(p.id) && isUint(p.serial) && isUint(p.creation)
    ? undefined
    : "Pid";
}

/** "Ref" when a ref's fields are not of the types the wire carries, else `undefined`. */
export function refProblem(r: Ref): string | undefined {
  return typeof r.node === "string" && isUint(r.id) && isUint(r.creation) ? undefined : "Ref";
}
