/**
 * The TypeScript values that stand for Erlang terms JavaScript has no value of its own for:
 * atoms, tuples, improper lists, bitstrings, integral floats, long references and ports. The
 * mapping as a whole is in `mod.ts`.
 *
 * None of these is interned: an atom is a small object compared by name, so decoding a million
 * distinct atoms makes a million garbage-collectable objects and never fills a table (a BEAM's
 * atom table is never collected, which is why `binary_to_term(B, [safe])` exists there).
 *
 * @example
 * ```ts
 * import { atom, Atom, tuple } from "./terms.ts";
 * const t = tuple(atom("ok"), 1);
 * console.assert(t.elements[0] instanceof Atom && String(t) === "{ok,1}");
 * ```
 *
 * @module
 */

import type { Pid, Ref } from "../term/pid.ts";

const inspectDeno = Symbol.for("Deno.customInspect");

/**
 * Any Erlang term as a TypeScript value. See the table in `mod.ts`.
 */
export type Term =
  | number
  | bigint
  | boolean
  | ErlangFloat
  | Atom
  | Uint8Array
  | BitString
  | readonly Term[]
  | ImproperList
  | Tuple
  | ReadonlyMap<Term, Term>
  | Pid
  | Ref
  | ErlangRef
  | ErlangPort
  | string;

/**
 * An atom. `true` and `false` are JavaScript booleans instead; every other atom is an `Atom`.
 * Compare atoms with {@linkcode Atom.equals} or by `name`.
 *
 * @example
 * ```ts
 * import { Atom } from "./terms.ts";
 * console.assert(new Atom("ok").equals(new Atom("ok")));
 * ```
 */
export class Atom {
  /** The atom's text, at most 255 characters. */
  readonly name: string;

  /** @param name the atom's text */
  constructor(name: string) {
    this.name = name;
  }

  /** Whether `other` is the same atom. */
  equals(other: unknown): boolean {
    return other instanceof Atom && other.name === this.name;
  }

  /** The atom as Erlang prints it: `ok`, `'EXIT'`. */
  toString(): string {
    return /^[a-z][a-zA-Z0-9_@]*$/.test(this.name)
      ? this.name
      : `'${this.name.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  }

  [inspectDeno](): string {
    return this.toString();
  }
}

/**
 * Shorthand for `new Atom(name)`.
 *
 * @param name the atom's text
 * @returns the atom
 *
 * @example
 * ```ts
 * import { atom } from "./terms.ts";
 * console.assert(atom("ok").name === "ok");
 * ```
 */
export function atom(name: string): Atom {
  return new Atom(name);
}

/**
 * A tuple: `{a, 1}` is `tuple(atom("a"), 1)`. (A JavaScript array is an Erlang list.)
 *
 * @example
 * ```ts
 * import { atom, Tuple } from "./terms.ts";
 * const t = new Tuple([atom("error"), 42]);
 * console.assert(t.elements.length === 2);
 * ```
 */
export class Tuple {
  /** The elements in order. */
  readonly elements: readonly Term[];

  /** @param elements the elements in order */
  constructor(elements: readonly Term[]) {
    this.elements = elements;
  }

  /** The tuple's size. */
  get length(): number {
    return this.elements.length;
  }

  /** `{a,1}` */
  toString(): string {
    return `{${this.elements.map(String).join(",")}}`;
  }

  [inspectDeno](): string {
    return this.toString();
  }
}

/**
 * Shorthand for `new Tuple([...elements])`.
 *
 * @param elements the elements in order
 * @returns the tuple
 *
 * @example
 * ```ts
 * import { atom, tuple } from "./terms.ts";
 * console.assert(tuple(atom("ok"), 1).length === 2);
 * ```
 */
export function tuple(...elements: Term[]): Tuple {
  return new Tuple(elements);
}

/**
 * A list whose tail is not a list: `[1, 2 | x]` is `new ImproperList([1, 2], atom("x"))`.
 *
 * @example
 * ```ts
 * import { atom, ImproperList } from "./terms.ts";
 * const l = new ImproperList([1], atom("x"));
 * console.assert(l.items.length === 1);
 * ```
 */
export class ImproperList {
  /** The elements before the tail; at least one. */
  readonly items: readonly Term[];
  /** The tail: any term but a list. */
  readonly tail: Term;

  /**
   * @param items the elements before the tail, at least one
   * @param tail anything but a list
   * @throws {RangeError} if `items` is empty
   * @throws {TypeError} if `tail` is a list (the list would be proper or longer)
   */
  constructor(items: readonly Term[], tail: Term) {
    if (items.length === 0) throw new RangeError("An improper list needs at least one element");
    if (Array.isArray(tail) || tail instanceof ImproperList) {
      throw new TypeError("An improper list's tail cannot be a list: append the elements instead");
    }
    this.items = items;
    this.tail = tail;
  }
}

/**
 * A bitstring whose size is not a whole number of bytes: `<<1:3>>` is
 * `new BitString(Uint8Array.of(0b0010_0000), 3)`. Whole-byte binaries are `Uint8Array`s.
 * The bits are the high bits of the last byte; the unused low bits must be zero.
 *
 * @example
 * ```ts
 * import { BitString } from "./terms.ts";
 * const b = new BitString(Uint8Array.of(0xff, 0b1000_0000), 1);
 * console.assert(b.bitSize === 9);
 * ```
 */
export class BitString {
  /** The bytes; the last one holds `lastBits` bits in its high end. */
  readonly bytes: Uint8Array;
  /** How many bits of the last byte count, 1..7. */
  readonly lastBits: number;

  /**
   * @param bytes the bytes, at least one
   * @param lastBits how many high bits of the last byte count, 1..7
   * @throws {RangeError} if `bytes` is empty, `lastBits` is outside 1..7, or an unused bit is set
   */
  constructor(bytes: Uint8Array, lastBits: number) {
    if (!Number.isInteger(lastBits) || lastBits < 1 || lastBits > 7) {
      throw new RangeError(
        `A bitstring's last byte holds 1 to 7 bits, received ${lastBits} (8 is a Uint8Array)`,
      );
    }
    const last = bytes.at(-1);
    if (last === undefined) throw new RangeError("A bitstring needs at least one byte");
    if ((last & ((1 << (8 - lastBits)) - 1)) !== 0) {
      throw new RangeError(`A bitstring's unused low bits must be zero: last byte ${last}`);
    }
    this.bytes = bytes;
    this.lastBits = lastBits;
  }

  /** The size in bits. */
  get bitSize(): number {
    return (this.bytes.length - 1) * 8 + this.lastBits;
  }
}

/**
 * An Erlang float whose value is a whole number (`1.0`, `-0.0`, `1.0e300`): a plain `number`
 * that is an integer is an Erlang integer, so floats with integral values are wrapped. Every
 * other float is a plain `number`.
 *
 * @example
 * ```ts
 * import { ErlangFloat } from "./terms.ts";
 * console.assert(new ErlangFloat(1).value === 1);
 * ```
 */
export class ErlangFloat {
  /** The value; finite (Erlang has no NaN or infinities). */
  readonly value: number;

  /**
   * @param value a finite number
   * @throws {RangeError} if `value` is NaN or infinite
   */
  constructor(value: number) {
    if (!Number.isFinite(value)) {
      throw new RangeError(`Erlang floats are finite, received ${value}`);
    }
    this.value = value;
  }

  /** `1.0` */
  toString(): string {
    return Number.isInteger(this.value) && Math.abs(this.value) < 1e21
      ? `${Object.is(this.value, -0) ? "-0" : this.value}.0`
      : String(this.value);
  }

  [inspectDeno](): string {
    return this.toString();
  }
}

/**
 * An Erlang reference of more than one 32-bit word (what `make_ref()` makes). A reference of
 * one word is Weft's {@linkcode Ref}.
 *
 * @example
 * ```ts
 * import { ErlangRef } from "./terms.ts";
 * const r = new ErlangRef("a@host", 3, [1, 2, 3]);
 * console.assert(r.equals(new ErlangRef("a@host", 3, [1, 2, 3])));
 * ```
 */
export class ErlangRef {
  /** The node that made it. */
  readonly node: string;
  /** The node's incarnation, 32 bits. */
  readonly creation: number;
  /** The id words, 32 bits each, 2 to 5 of them. */
  readonly ids: readonly number[];

  /**
   * @param node the node that made it
   * @param creation the node's incarnation
   * @param ids the id words, 2 to 5 of them
   */
  constructor(node: string, creation: number, ids: readonly number[]) {
    this.node = node;
    this.creation = creation;
    this.ids = ids;
  }

  /** Whether `other` is the same reference. */
  equals(other: unknown): boolean {
    return other instanceof ErlangRef && other.node === this.node &&
      other.creation === this.creation && other.ids.length === this.ids.length &&
      other.ids.every((id, i) => id === this.ids[i]);
  }

  /** `#Ref<node.creation.w1.w2.w3>` */
  toString(): string {
    return `#Ref<${this.node}.${this.creation}.${this.ids.join(".")}>`;
  }

  [inspectDeno](): string {
    return this.toString();
  }
}

/**
 * An Erlang port identifier. Weft has no ports; a port is carried so it can be sent back.
 *
 * @example
 * ```ts
 * import { ErlangPort } from "./terms.ts";
 * console.assert(new ErlangPort("a@host", 5, 1).equals(new ErlangPort("a@host", 5, 1)));
 * ```
 */
export class ErlangPort {
  /** The node the port belongs to. */
  readonly node: string;
  /** The port number (up to 2^53 - 1 here; the wire allows 64 bits). */
  readonly id: number;
  /** The node's incarnation, 32 bits. */
  readonly creation: number;

  /**
   * @param node the node the port belongs to
   * @param id the port number
   * @param creation the node's incarnation
   */
  constructor(node: string, id: number, creation: number) {
    this.node = node;
    this.id = id;
    this.creation = creation;
  }

  /** Whether `other` is the same port. */
  equals(other: unknown): boolean {
    return other instanceof ErlangPort && other.node === this.node && other.id === this.id &&
      other.creation === this.creation;
  }

  /** `#Port<node.id>` */
  toString(): string {
    return `#Port<${this.node}.${this.id}>`;
  }

  [inspectDeno](): string {
    return this.toString();
  }
}
