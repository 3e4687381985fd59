/**
 * The bytes of one message of an Erlang distribution connection, after the handshake: the
 * distribution header with its atom cache, fragmented messages, and the pass-through form. Pure:
 * one {@linkcode DistMessageDecoder} per connection holds that connection's atom cache and its
 * unfinished fragmented messages, and knows nothing of sockets.
 *
 * ```
 * peer -> us, one frame payload each (the 4-byte length is the connection's):
 *   131 68 N Flags AtomCacheRefs ControlMessage [Message]       whole message
 *   131 69 Seq:64 FragId:64 N Flags AtomCacheRefs data...       first fragment (FragId = count)
 *   131 70 Seq:64 FragId:64 data...                             later fragments, down to 1
 *   112 131 ControlMessage [131 Message]                         pass-through, no header
 * us -> peer: 131 68 N Flags AtomCacheRefs ControlMessage [Message]  (DistAtomCache, when the
 *             peer has the atom cache), else 131 68 0 ControlMessage [Message]
 * ```
 *
 * Atom cache: each header names up to 255 atoms, each a new entry of the connection's cache
 * (2048 slots: segment and index) with its text, or a reference to an entry made earlier; the
 * terms after the header refer to them by position (`ATOM_CACHE_REF`). A reference to a slot
 * never filled is an error.
 *
 * Failure: any malformed byte (a truncated header, a length past the end, an unknown tag, a
 * fragment of no known message, reassembly past its budget) is a {@linkcode DecodeError}; the
 * connection closes with it as the logged reason and nothing of that message is dispatched.
 *
 * @example
 * ```ts
 * import { DistMessageDecoder, encodeDistMessage } from "./dist_message.ts";
 * import { atom, tuple } from "../etf/mod.ts";
 * const bytes = encodeDistMessage(tuple(6, atom("x")), atom("hello"));
 * const got = new DistMessageDecoder().decode(bytes);
 * console.assert(got !== undefined && String(got.message) === "hello");
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { decodeTermAt, encodeTermSequence, type Term } from "../etf/mod.ts";
import {
  ATOM_CACHE_SIZE,
  DEFAULT_REASSEMBLY_BUDGET,
  DIST_FRAG_CONT,
  DIST_FRAG_HEADER,
  DIST_HEADER,
  MAX_OPEN_SEQUENCES,
  PASS_THROUGH,
  VERSION_MAGIC,
} from "./types.ts";

/** One decoded message: its control tuple, and the message term for the kinds that carry one. */
export interface DistMessage {
  /** The control message (a tuple whose first element is the operation). */
  control: Term;
  /** The message of SEND, REG_SEND, SEND_SENDER; `undefined` for the others. */
  message: Term | undefined;
}

/** Options of {@linkcode DistMessageDecoder}. */
export interface DistMessageDecoderOptions {
  /** Bytes unfinished fragmented messages may hold together. Default 64 MiB. */
  reassemblyBudget?: number;
}

interface Sequence {
  /** The header's atoms, for the terms once the message is whole. */
  atoms: (string | undefined)[];
  /** Fragments received so far, in order. */
  parts: Uint8Array[];
  bytes: number;
  /** The id the next fragment must have. */
  next: bigint;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes the frames of one connection (see the module comment).
 *
 * @example
 * ```ts
 * import { DistMessageDecoder } from "./dist_message.ts";
 * import { DecodeError } from "../errors.ts";
 * try {
 *   new DistMessageDecoder().decode(Uint8Array.of(131, 68, 1)); // a header cut short
 * } catch (e) {
 *   console.assert(e instanceof DecodeError);
 * }
 * ```
 */
export class DistMessageDecoder {
  readonly #cache: (string | undefined)[] = new Array(ATOM_CACHE_SIZE);
  readonly #sequences = new Map<bigint, Sequence>();
  readonly #budget: number;
  #held = 0;

  /** @param options the reassembly budget */
  constructor(options: DistMessageDecoderOptions = {}) {
    this.#budget = options.reassemblyBudget ?? DEFAULT_REASSEMBLY_BUDGET;
  }

  /** Bytes held by unfinished fragmented messages. */
  get bytesHeld(): number {
    return this.#held;
  }

  /**
   * Decodes one frame's payload (not a tick).
   *
   * @param p the payload
   * @returns the message, or `undefined` when it was a fragment of one not yet whole
   * @throws {DecodeError} when the payload is malformed
   */
  decode(p: Uint8Array): DistMessage | undefined {
    if (p[0] === PASS_THROUGH) return this.#terms(p, 1, undefined, true);
    if (p[0] !== VERSION_MAGIC) {
      throw new DecodeError(`Malformed distribution message: unknown leading byte ${p[0]}`);
    }
    switch (p[1]) {
      case DIST_HEADER: {
        const { atoms, end } = this.#header(p, 2);
        return this.#terms(p, end, atoms, false);
      }
      case DIST_FRAG_HEADER: {
        need(p, 18, "fragment header");
        const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
        const seq = v.getBigUint64(2);
        const count = v.getBigUint64(10);
        if (count === 0n) throw new DecodeError("Malformed distribution message: fragment id 0");
        const { atoms, end } = this.#header(p, 18);
        if (count === 1n) return this.#terms(p, end, atoms, false);
        if (this.#sequences.has(seq)) {
          throw new DecodeError(`Malformed distribution message: sequence ${seq} started twice`);
        }
        if (this.#sequences.size >= MAX_OPEN_SEQUENCES) {
          throw new DecodeError(
            `Malformed distribution message: more than ${MAX_OPEN_SEQUENCES} unfinished fragmented messages`,
          );
        }
        const data = p.slice(end);
        this.#hold(data.length);
        this.#sequences.set(seq, { atoms, parts: [data], bytes: data.length, next: count - 1n });
        return undefined;
      }
      case DIST_FRAG_CONT: {
        need(p, 18, "fragment");
        const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
        const seq = v.getBigUint64(2);
        const id = v.getBigUint64(10);
        const s = this.#sequences.get(seq);
        if (s === undefined) {
          throw new DecodeError(
            `Malformed distribution message: fragment of unknown sequence ${seq}`,
          );
        }
        if (id !== s.next) {
          throw new DecodeError(
            `Malformed distribution message: fragment ${id} of sequence ${seq}, expected ${s.next}`,
          );
        }
        const data = p.slice(18);
        this.#hold(data.length);
        s.parts.push(data);
        s.bytes += data.length;
        s.next--;
        if (id !== 1n) return undefined;
        this.#sequences.delete(seq);
        this.#held -= s.bytes;
        const whole = new Uint8Array(s.bytes);
        let at = 0;
        for (const part of s.parts) {
          whole.set(part, at);
          at += part.length;
        }
        return this.#terms(whole, 0, s.atoms, false);
      }
      default:
        throw new DecodeError(
          `Malformed distribution message: unknown header tag ${p[1] ?? "(none)"}`,
        );
    }
  }

  #hold(n: number): void {
    if (this.#held + n > this.#budget) {
      throw new DecodeError(
        `Malformed distribution message: fragmented messages past the reassembly budget of ${this.#budget} bytes`,
      );
    }
    this.#held += n;
  }

  /** Parses the atom cache part of a header at `at`; updates the cache. */
  #header(p: Uint8Array, at: number): { atoms: (string | undefined)[]; end: number } {
    need(p, at + 1, "distribution header");
    const n = p[at]!;
    at++;
    const atoms: (string | undefined)[] = [];
    if (n === 0) return { atoms, end: at };
    const flagBytes = (n >> 1) + 1;
    need(p, at + flagBytes, "distribution header flags");
    const flags = p.subarray(at, at + flagBytes);
    at += flagBytes;
    const half = (i: number) => (i % 2 === 0 ? flags[i >> 1]! & 0x0f : flags[i >> 1]! >> 4);
    const longAtoms = (half(n) & 0x01) !== 0;
    for (let i = 0; i < n; i++) {
      const f = half(i);
      const segment = f & 0x07;
      need(p, at + 1, "atom cache reference");
      const slot = segment * 256 + p[at]!;
      at++;
      if ((f & 0x08) !== 0) {
        const lenBytes = longAtoms ? 2 : 1;
        need(p, at + lenBytes, "atom length");
        const len = longAtoms ? (p[at]! << 8) | p[at + 1]! : p[at]!;
        at += lenBytes;
        need(p, at + len, "atom text");
        let text: string;
        try {
          text = utf8.decode(p.subarray(at, at + len));
        } catch {
          throw new DecodeError(`Malformed distribution message: atom text is not UTF-8 at ${at}`);
        }
        if ([...text].length > 255) {
          throw new DecodeError(`Malformed distribution message: atom of over 255 characters`);
        }
        at += len;
        this.#cache[slot] = text;
        atoms.push(text);
      } else {
        const text = this.#cache[slot];
        if (text === undefined) {
          throw new DecodeError(
            `Malformed distribution message: atom cache slot ${slot} was never filled`,
          );
        }
        atoms.push(text);
      }
    }
    return { atoms, end: at };
  }

  /** The control message and, if any, the message, from `at` to the end of `p`. */
  #terms(
    p: Uint8Array,
    at: number,
    atoms: (string | undefined)[] | undefined,
    versioned: boolean,
  ): DistMessage {
    const options = atoms !== undefined ? { atomCache: atoms } : {};
    const read = (from: number) => {
      if (versioned) {
        if (p[from] !== VERSION_MAGIC) {
          throw new DecodeError(
            `Malformed distribution message: expected the version byte 131 at ${from}`,
          );
        }
        from++;
      }
      if (from >= p.length) {
        throw new DecodeError(`Malformed distribution message: a term cut short at ${from}`);
      }
      return decodeTermAt(p, from, options);
    };
    const control = read(at);
    if (control.end === p.length) return { control: control.term, message: undefined };
    const message = read(control.end);
    if (message.end !== p.length) {
      throw new DecodeError(
        `Malformed distribution message: ${p.length - message.end} bytes after the message`,
      );
    }
    return { control: control.term, message: message.term };
  }
}

/**
 * Encodes a message as we send it: a distribution header with no atom cache references, the
 * control message, and the message when there is one.
 *
 * @param control the control tuple
 * @param message the message, for SEND, REG_SEND and SEND_SENDER
 * @returns the frame's payload (without the 4-byte length)
 * @throws {TypeError} when a value has no Erlang term
 * @throws {RangeError} when a value is out of range
 *
 * @example
 * ```ts
 * import { encodeDistMessage } from "./dist_message.ts";
 * import { tuple } from "../etf/mod.ts";
 * console.assert(encodeDistMessage(tuple(1)).join(",") === "131,68,0,104,1,97,1");
 * ```
 */
export function encodeDistMessage(control: Term, message?: Term): Uint8Array {
  return encodeDistFrame(control, message).subarray(4);
}

/**
 * {@linkcode encodeDistMessage} with the connection's 4-byte length in front: the whole frame,
 * made with one allocation.
 *
 * @param control the control tuple
 * @param message the message, for SEND, REG_SEND and SEND_SENDER
 * @returns the frame
 * @throws {TypeError} when a value has no Erlang term
 * @throws {RangeError} when a value is out of range
 *
 * @example
 * ```ts
 * import { encodeDistFrame } from "./dist_message.ts";
 * import { tuple } from "../etf/mod.ts";
 * console.assert(encodeDistFrame(tuple(1)).join(",") === "0,0,0,7,131,68,0,104,1,97,1");
 * ```
 */
export function encodeDistFrame(control: Term, message?: Term): Uint8Array {
  const out = encodeTermSequence(
    FRAME_PREFIX,
    message === undefined ? [control] : [control, message],
  );
  new DataView(out.buffer, out.byteOffset).setUint32(0, out.length - 4);
  return out;
}

/**
 * What every frame we send starts with: its length (0 here, filled in once the terms are
 * written), then a distribution header with no atom cache references.
 *
 * @example
 * ```ts
 * import { FRAME_PREFIX } from "./dist_message.ts";
 * console.assert(FRAME_PREFIX.join(",") === "0,0,0,0,131,68,0");
 * ```
 */
export const FRAME_PREFIX: Uint8Array = Uint8Array.of(0, 0, 0, 0, VERSION_MAGIC, DIST_HEADER, 0);

function need(p: Uint8Array, n: number, what: string): void {
  if (p.length < n) {
    throw new DecodeError(
      `Malformed distribution message: ${what} cut short (${p.length} bytes, needs ${n})`,
    );
  }
}

/**
 * The sending side of a connection's atom cache: which atom we last put in each of the 2048
 * slots of the peer's cache, and the references of the message being encoded. Each message
 * names its atoms in its header, as a new entry (slot and text: the peer stores it) the first
 * time, and by slot alone while the slot still holds it; the terms then refer to the header
 * by position (`ATOM_CACHE_REF`), two bytes instead of the atom's text. A message that
 * cannot be encoded is {@linkcode DistAtomCache.abort}ed: the slots it would have filled are
 * as they were, since the peer never sees it.
 *
 * ```
 * message 1: 131 68 1 [new, slot 745] 745 "e@host" | terms: ... 82 0 ...
 * message 2: 131 68 1 [old, slot 745] 745           | terms: ... 82 0 ...
 * ```
 *
 * @example
 * ```ts
 * import { DistAtomCache, DistMessageDecoder } from "./dist_message.ts";
 * const cache = new DistAtomCache();
 * cache.begin();
 * console.assert(cache.ref("hello") === 0 && cache.ref("hello") === 0);
 * // The header, then the term 'hello' as a reference to its first entry.
 * const frame = Uint8Array.of(...cache.header(), 82, 0);
 * const got = new DistMessageDecoder().decode(frame);
 * console.assert(String(got?.control) === "hello");
 * ```
 */
export class DistAtomCache {
  /** What each slot of the peer's cache holds, as far as we put it there. */
  readonly #slots: (string | undefined)[] = new Array(ATOM_CACHE_SIZE);
  /** Each atom's slot (its hash), remembered for names seen recently. */
  readonly #slotOf = new Map<string, number>();
  /** The message being encoded: its references' slots, in header order, and which are new. */
  #refs: number[] = [];
  #fresh: boolean[] = [];
  /** Per slot, the message (`#stamp`) that last referred to it and at which header position. */
  readonly #stampOf = new Int32Array(ATOM_CACHE_SIZE);
  readonly #indexOf = new Uint8Array(ATOM_CACHE_SIZE);
  #stamp = 0;
  /** Slots this message filled, with what they held before, for {@linkcode abort}. */
  #undo: [number, string | undefined][] = [];
  #header = new Uint8Array(1024);

  /** Starts a message: no references yet. */
  begin(): void {
    this.#refs.length = 0;
    this.#fresh.length = 0;
    this.#undo.length = 0;
    if (++this.#stamp === 0x7fffffff) {
      this.#stamp = 1;
      this.#stampOf.fill(0);
    }
  }

  /**
   * The header position of `name` in this message, added if need be.
   *
   * @param name an ASCII atom's name (255 characters at most)
   * @returns its position, or -1 when it must be written as text (its slot is taken by
   *   another atom of this message, or the message already names 255 atoms)
   */
  ref(name: string): number {
    let slot = this.#slotOf.get(name);
    if (slot === undefined) {
      if (this.#slotOf.size >= 4 * ATOM_CACHE_SIZE) this.#slotOf.clear();
      slot = slotFor(name);
      this.#slotOf.set(name, slot);
    }
    const slots = this.#slots;
    if (this.#stampOf[slot] === this.#stamp) {
      return slots[slot] === name ? this.#indexOf[slot]! : -1;
    }
    const n = this.#refs.length;
    if (n === MAX_REFS) return -1;
    const fresh = slots[slot] !== name;
    if (fresh) {
      this.#undo.push([slot, slots[slot]]);
      slots[slot] = name;
    }
    this.#refs.push(slot);
    this.#fresh.push(fresh);
    this.#stampOf[slot] = this.#stamp;
    this.#indexOf[slot] = n;
    return n;
  }

  /** Forgets the message begun last: the peer will never see it. */
  abort(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) {
      const [slot, before] = this.#undo[i]!;
      this.#slots[slot] = before;
    }
    this.#undo.length = 0;
    this.#refs.length = 0;
    this.#fresh.length = 0;
  }

  /**
   * The distribution header of the message begun last: `131 68`, the number of references,
   * their flags (new entry, segment; no long atoms: every cached atom is ASCII), then each
   * slot's index and, for a new entry, the atom's length and text.
   *
   * @returns the header, a view that the next call overwrites
   */
  header(): Uint8Array {
    const refs = this.#refs;
    const n = refs.length;
    const need = 3 + (n >> 1) + 1 + n * 257;
    if (this.#header.length < need) this.#header = new Uint8Array(need);
    const h = this.#header;
    h[0] = VERSION_MAGIC;
    h[1] = DIST_HEADER;
    h[2] = n;
    if (n === 0) return h.subarray(0, 3);
    let at = 3;
    const flagBytes = (n >> 1) + 1;
    h.fill(0, at, at + flagBytes);
    for (let i = 0; i < n; i++) {
      const slot = refs[i]!;
      const half = (this.#fresh[i] ? 0x08 : 0) | (slot >> 8);
      const j = at + (i >> 1);
      h[j] = h[j]! | (i % 2 === 0 ? half : half << 4);
    }
    // The half-byte after the last reference holds the long-atoms flag: 0.
    at += flagBytes;
    for (let i = 0; i < n; i++) {
      const slot = refs[i]!;
      h[at++] = slot & 0xff;
      if (this.#fresh[i]) {
        const name = this.#slots[slot]!;
        h[at++] = name.length;
        for (let c = 0; c < name.length; c++) h[at++] = name.charCodeAt(c);
      }
    }
    return h.subarray(0, at);
  }
}

/** The most atoms one header may name. */
const MAX_REFS = 255;

/** An atom's slot: a hash of its name (FNV-1a), over the cache's 2048 slots. */
function slotFor(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % ATOM_CACHE_SIZE;
}
