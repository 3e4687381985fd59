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
 * Why Weft has its own CBOR codec rather than `cbor-x`: `cbor-x` wrote `-0`
 * as `0`, allocated from a length it had not checked against the bytes present
 * (a five-byte message could ask for gigabytes), and could be switched into its
 * record mode by a peer's bytes, which changes how later messages decode. This
 * codec checks every length, bounds nesting, accepts only its own tags, and is
 * faster on the small messages that make up most traffic. `cbor-x` stays a
 * devDependency: `test/term/codec_test.ts` checks that each side reads the
 * other's bytes.
 *
 * The codec is split along its seams:
 *
 * | file              | what                                                       |
 * |-------------------|------------------------------------------------------------|
 * | `cbor_tags.ts`    | the tags, typed-array and error-class tables both sides use |
 * | `cbor_encode.ts`  | the encoder (a reusable slab, views as results)            |
 * | `unsendable.ts`   | the path of what could not be sent, after a failed encode  |
 * | `cbor_decode.ts`  | the decoder for hostile input                              |
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

export { encode, EncodedParts, encodeParts } from "./cbor_encode.ts";
export { decode } from "./cbor_decode.ts";
export {
  BY_REFERENCE_MIN,
  MAX_DEPTH,
  registerErrorClass,
  TAG_ERROR,
  TAG_PID,
  TAG_REF,
} from "./cbor_tags.ts";
