/**
 * Erlang's External Term Format (`term_to_binary/1`, `binary_to_term/1`): the codec Weft uses
 * to speak to Erlang and Elixir nodes. It sits beside Weft's own CBOR codec (`src/term/`), on
 * the term level: it knows values and bytes, nothing of connections.
 *
 * ## The mapping
 *
 * Decoding gives exactly one TypeScript value per Erlang term (the left column), and encoding
 * that value gives the bytes OTP 25's `term_to_binary(T, [{minor_version, 2}])` gives (OTP 26's
 * default), so `encodeTerm(decodeTerm(b))` is `b` for whatever an Erlang node encodes and
 * `decodeTerm(encodeTerm(v))` equals `v` for every value in the left column.
 *
 * | Erlang term                          | TypeScript value                                   |
 * | ------------------------------------ | -------------------------------------------------- |
 * | integer within ±(2^53 - 1)           | `number` (an integer)                              |
 * | integer beyond that                  | `bigint`                                           |
 * | float with a fractional part         | `number` (not an integer)                          |
 * | float with an integral value (`1.0`) | {@linkcode ErlangFloat} (`-0.0` too)               |
 * | `true`, `false`                      | `true`, `false`                                    |
 * | any other atom                       | {@linkcode Atom} (not interned; `atom("ok")`)      |
 * | binary                               | `Uint8Array`                                       |
 * | bitstring of a partial last byte     | {@linkcode BitString}                              |
 * | `[]` and proper lists (and strings)  | `Term[]` (`"hi"` is `[104, 105]`)                  |
 * | improper list `[a, b \| t]`          | {@linkcode ImproperList}                           |
 * | tuple                                | {@linkcode Tuple} (`tuple(atom("ok"), 1)`)         |
 * | map                                  | `Map<Term, Term>`, entries in the wire's order     |
 * | pid                                  | Weft's `Pid` (node, id, serial, creation)          |
 * | reference of one id word             | Weft's `Ref` (node, id, creation)                  |
 * | reference of 2 to 5 id words         | {@linkcode ErlangRef}                              |
 * | port                                 | {@linkcode ErlangPort}                             |
 * | fun, `fun m:f/a`                     | refused: `DecodeError` (send `{M, F, A}` instead)  |
 *
 * Encoding also accepts, one way only: a `string` (encoded as a UTF-8 binary, as Elixir
 * strings are), a `bigint` within ±(2^53 - 1) (decoded back as a `number`), a non-integral
 * `number` (a float). Everything else (`null`, `undefined`, plain objects, symbols, functions,
 * NaN, infinities, integral `number`s beyond 2^53 - 1) is refused with a `TypeError` or
 * `RangeError`.
 *
 * A `Map`'s keys are compared by identity in JavaScript; {@linkcode termKey} gives a string that
 * is equal for equal terms, for lookups by value.
 *
 * Decoding is strict (see `decode.ts`): lengths are checked before allocation, nesting is
 * bounded, atoms are never interned, compressed terms are bounded, and any fault is a
 * `DecodeError` with the byte offset.
 *
 * @example
 * ```ts
 * import { atom, decodeTerm, encodeTerm, Tuple, tuple } from "./mod.ts";
 * const bytes = encodeTerm(tuple(atom("hello"), "world", [1, 2.5, 3n ** 40n]));
 * const back = decodeTerm(bytes) as Tuple;
 * console.assert(String(back.elements[0]) === "hello");
 * console.assert(back.elements[1] instanceof Uint8Array); // a string goes as a binary
 * ```
 *
 * @module
 */

export {
  Atom,
  atom,
  BitString,
  ErlangFloat,
  ErlangPort,
  ErlangRef,
  ImproperList,
  type Term,
  Tuple,
  tuple,
} from "./terms.ts";
export {
  encodeTerm,
  type EncodeTermOptions,
  encodeTermSequence,
  MAX_DEPTH,
  termKey,
  TermWriter,
} from "./encode.ts";
export { decodeTerm, decodeTermAt, type DecodeTermOptions, MAX_INFLATED_SIZE } from "./decode.ts";
