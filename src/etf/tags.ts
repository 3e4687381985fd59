/**
 * The External Term Format's wire constants: the version byte and the tag of every term kind,
 * as in OTP's `erts/emulator/beam/external.h` and the "External Term Format" chapter of the ERTS
 * user's guide. Kept in one file so the encoder and the decoder read the same numbers.
 *
 * ```
 * 131 Tag Data...            a whole term (term_to_binary/1)
 *     Tag Data...            a term inside a distribution message (no version byte)
 * ```
 *
 * @example
 * ```ts
 * import { ETF_VERSION, SMALL_ATOM_UTF8_EXT } from "./tags.ts";
 * // term_to_binary(ok, [{minor_version, 2}]) = <<131, 119, 2, $o, $k>>
 * console.assert(ETF_VERSION === 131 && SMALL_ATOM_UTF8_EXT === 119);
 * ```
 *
 * @module
 */

/** The version byte in front of every encoded term. */
export const ETF_VERSION = 131;

// Numbers.
/** `97, Int:8`: an integer 0..255. */
export const SMALL_INTEGER_EXT = 97;
/** `98, Int:32/signed`: an integer that fits 32 bits. */
export const INTEGER_EXT = 98;
/** `99, Text:31/bytes`: an old float as "%.20e" text, NUL padded; decoded, never encoded. */
export const FLOAT_EXT = 99;
/** `70, Float:64/float`: an IEEE 754 double. */
export const NEW_FLOAT_EXT = 70;
/** `110, N:8, Sign:8, Digits:N/bytes`: a bignum, little-endian base-256 magnitude. */
export const SMALL_BIG_EXT = 110;
/** `111, N:32, Sign:8, Digits:N/bytes`: a bignum of more than 255 bytes. */
export const LARGE_BIG_EXT = 111;

// Atoms.
/** `100, Len:16, Latin1:Len/bytes`: decoded, never encoded (OTP 26 stopped emitting it). */
export const ATOM_EXT = 100;
/** `115, Len:8, Latin1:Len/bytes`: decoded, never encoded. */
export const SMALL_ATOM_EXT = 115;
/** `118, Len:16, Utf8:Len/bytes`: an atom of more than 255 bytes of UTF-8. */
export const ATOM_UTF8_EXT = 118;
/** `119, Len:8, Utf8:Len/bytes`: an atom. */
export const SMALL_ATOM_UTF8_EXT = 119;
/** `82, Index:8`: an atom from the distribution header's atom cache. */
export const ATOM_CACHE_REF = 82;

// Containers.
/** `104, Arity:8, Elements...` */
export const SMALL_TUPLE_EXT = 104;
/** `105, Arity:32, Elements...` */
export const LARGE_TUPLE_EXT = 105;
/** `106`: the empty list `[]`. */
export const NIL_EXT = 106;
/** `107, Len:16, Bytes:Len`: a list of integers 0..255 (`"abc"` in Erlang). */
export const STRING_EXT = 107;
/** `108, Len:32, Elements..., Tail`: a list; the tail is `[]` for a proper list. */
export const LIST_EXT = 108;
/** `116, Arity:32, Key, Value, ...` */
export const MAP_EXT = 116;
/** `109, Len:32, Bytes:Len` */
export const BINARY_EXT = 109;
/** `77, Len:32, Bits:8, Bytes:Len`: a bitstring; only `Bits` bits of the last byte count. */
export const BIT_BINARY_EXT = 77;

// Identifiers.
/** `88, Node, Id:32, Serial:32, Creation:32` */
export const NEW_PID_EXT = 88;
/** `103, Node, Id:32, Serial:32, Creation:8`: decoded, never encoded. */
export const PID_EXT = 103;
/** `89, Node, Id:32, Creation:32` */
export const NEW_PORT_EXT = 89;
/** `120, Node, Id:64, Creation:32`: a port whose id needs more than 32 bits. */
export const V4_PORT_EXT = 120;
/** `102, Node, Id:32, Creation:8`: decoded, never encoded. */
export const PORT_EXT = 102;
/** `90, Len:16, Node, Creation:32, Id:Len*32` */
export const NEWER_REFERENCE_EXT = 90;
/** `114, Len:16, Node, Creation:8, Id:Len*32`: decoded, never encoded. */
export const NEW_REFERENCE_EXT = 114;
/** `101, Node, Id:32, Creation:8`: decoded, never encoded. */
export const REFERENCE_EXT = 101;

// Refused.
/** `112`: a fun (closure); refused, it names code that only exists inside a BEAM. */
export const NEW_FUN_EXT = 112;
/** `113, Module, Function, Arity`: `fun m:f/a`; refused like any fun. */
export const EXPORT_EXT = 113;
/** `117`: an old-style fun; refused. */
export const FUN_EXT = 117;
/** `80, UncompressedSize:32, Zlib...`: `term_to_binary(T, [compressed])`. */
export const COMPRESSED = 80;
/** `121`: `term_to_binary(T, [local])`, only meaningful to the node that made it; refused. */
export const LOCAL_EXT = 121;

/** The most elements of a reference's id (OTP 25 makes 3, pid references 4 or 5). */
export const MAX_REF_WORDS = 5;
/** The most characters of an atom. */
export const MAX_ATOM_CHARS = 255;
