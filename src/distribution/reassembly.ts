/**
 * Reassembly of fragmented messages on one connection, and the limits that
 * keep a peer from holding this node's memory with messages it never
 * finishes. Pure: the connection hands it fragment headers and copies the
 * data into the buffers it returns; no I/O, no timers (the connection asks
 * {@linkcode Reassembler.overdue} on each tick).
 *
 * ```
 * peer -> FRAGMENT_HEAD stream s, total T, bytes   begin(): stream opened, buffer allocated
 * peer -> FRAGMENT_CONT stream s, bytes ...        begin(): room for the data; filled(): counted
 *                                                  filled() returns the message at T bytes
 * ```
 *
 * Limits, each a {@linkcode DecodeError} that closes the connection with
 * its sentence in the log:
 *
 * - a message larger than `maxMessageSize` (1 GiB by default);
 * - more than `MAX_OPEN_STREAMS` (256) unfinished messages at once;
 * - the budget: all unfinished messages of the connection together may
 *   hold at most `budget` bytes of buffers (1 GiB by default), so many
 *   streams that announce huge sizes cannot add up to more;
 * - the deadline: a message must be complete within `timeoutMs` (60 s by
 *   default) of its first fragment, so streams fed slowly, or abandoned,
 *   do not hold their memory for ever.
 *
 * Memory follows the data: a message's buffer is allocated whole at its
 * first fragment only while the announced bytes not yet received stay
 * under `maxPreallocated`; past that it starts at 1 MiB (or the first
 * fragment) and at least doubles as the data arrives, so a peer that
 * announces large messages and sends little costs little.
 *
 * @example
 * ```ts
 * import { Reassembler } from "./reassembly.ts";
 * const r = new Reassembler({ budget: 1024, timeoutMs: 1000 });
 * const s = r.begin({ first: true, stream: 1, total: 4, headerBytes: 9 }, 9 + 2, 0);
 * s.buf.set([1, 2], s.fill);
 * console.assert(r.filled(s, 2) === undefined && r.held === 4);
 * const t = r.begin({ first: false, stream: 1, total: -1, headerBytes: 5 }, 5 + 2, 0);
 * t.buf.set([3, 4], t.fill);
 * console.assert(r.filled(t, 2)!.join() === "1,2,3,4" && r.held === 0);
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import type { FragmentHeader } from "./frame_format.ts";
import {
  DEFAULT_MAX_MESSAGE,
  DEFAULT_REASSEMBLY_BUDGET,
  DEFAULT_REASSEMBLY_TIMEOUT,
  MAX_OPEN_STREAMS,
} from "./types.ts";

/** Limits of a {@linkcode Reassembler}; every one has a default. */
export interface ReassemblyLimits {
  /** Largest message accepted, in bytes. Default 1 GiB. */
  maxMessageSize?: number;
  /**
   * Announced bytes not yet received that may be allocated ahead of the
   * data. Default the smaller of `maxMessageSize` and `budget`: any one
   * message is allocated at once, but not several huge ones that have yet
   * to arrive.
   */
  maxPreallocated?: number;
  /** Bytes all unfinished messages may hold at once. Default 1 GiB. */
  budget?: number;
  /** Milliseconds a message may take from its first fragment to its last. Default 60 000. */
  timeoutMs?: number;
}

/** A message being reassembled. */
export interface Stream {
  /** The stream number. */
  readonly id: number;
  /** The message so far: all of it, or less while it grows with the data. */
  buf: Uint8Array;
  /** Bytes received: the next fragment's data goes to `buf[fill..)`. */
  fill: number;
  /** The announced size. */
  readonly total: number;
  /** When its first fragment arrived (the clock the caller passes). */
  readonly started: number;
}

/** A buffer that grows with the data starts at this size (or `maxPreallocated`, if less). */
const GROW_MIN = 1024 * 1024;

/**
 * The unfinished messages of one connection.
 *
 * @example
 * ```ts
 * import { Reassembler } from "./reassembly.ts";
 * const r = new Reassembler({ timeoutMs: 100 });
 * r.begin({ first: true, stream: 7, total: 10, headerBytes: 9 }, 9, 0);
 * console.assert(r.overdue(50) === undefined);
 * console.assert(r.overdue(150)!.startsWith("Message unfinished"));
 * ```
 */
export class Reassembler {
  readonly #maxMessage: number;
  readonly #maxPreallocated: number;
  readonly #budget: number;
  readonly #timeoutMs: number;
  #streams = new Map<number, Stream>();
  /** Bytes of buffers held by open streams. */
  #held = 0;
  /** Bytes allocated for open streams and not yet received. */
  #reserved = 0;

  /**
   * @param limits the limits; defaults for the rest
   * @throws {RangeError} when a limit is not a positive number
   */
  constructor(limits: ReassemblyLimits = {}) {
    this.#maxMessage = limits.maxMessageSize ?? DEFAULT_MAX_MESSAGE;
    this.#budget = limits.budget ?? DEFAULT_REASSEMBLY_BUDGET;
    this.#maxPreallocated = limits.maxPreallocated ?? Math.min(this.#maxMessage, this.#budget);
    this.#timeoutMs = limits.timeoutMs ?? DEFAULT_REASSEMBLY_TIMEOUT;
    for (
      const [name, value] of [
        ["maxMessageSize", this.#maxMessage],
        ["maxPreallocated", this.#maxPreallocated],
        ["budget", this.#budget],
        ["timeoutMs", this.#timeoutMs],
      ] as const
    ) {
      if (!(value > 0)) {
        throw new RangeError(
          `Invalid reassembly limit: ${name} must be positive, received ${value}`,
        );
      }
    }
  }

  /** Bytes of buffers held by unfinished messages. */
  get held(): number {
    return this.#held;
  }

  /** Unfinished messages. */
  get open(): number {
    return this.#streams.size;
  }

  /**
   * Takes a fragment frame of `length` bytes with this header: opens its
   * stream (FRAGMENT_HEAD) or finds it (FRAGMENT_CONT), with room in
   * `buf` for the fragment's data from `fill` on. Copy the data there,
   * then call {@linkcode Reassembler.filled}.
   *
   * @param header the parsed fragment header
   * @param length the whole payload's length, header included
   * @param now the current time (any clock; the one `overdue` gets)
   * @returns the stream
   * @throws {DecodeError} when the fragment breaks the protocol or a limit
   */
  begin(header: FragmentHeader, length: number, now: number): Stream {
    const id = header.stream;
    const n = length - header.headerBytes;
    if (header.first) {
      const total = header.total;
      if (this.#streams.has(id)) {
        throw new DecodeError(`Malformed fragment: stream ${id} is already open`);
      }
      if (total > this.#maxMessage) {
        throw new DecodeError(`Message too large: ${total} bytes, limit ${this.#maxMessage}`);
      }
      if (n > total) {
        throw new DecodeError("Malformed fragment: more bytes than the announced total");
      }
      if (this.#streams.size >= MAX_OPEN_STREAMS) {
        throw new DecodeError(`Too many fragment streams open: limit ${MAX_OPEN_STREAMS}`);
      }
      const size = this.#reserved + total <= this.#maxPreallocated
        ? total
        : Math.min(total, Math.max(n, Math.min(GROW_MIN, this.#maxPreallocated)));
      this.#charge(size, total);
      const s: Stream = { id, buf: new Uint8Array(size), fill: 0, total, started: now };
      this.#reserved += size;
      this.#streams.set(id, s);
      return s;
    }
    const s = this.#streams.get(id);
    if (s === undefined) throw new DecodeError(`Malformed fragment: unknown stream ${id}`);
    const need = s.fill + n;
    if (need > s.total) {
      throw new DecodeError("Malformed fragment: more bytes than the announced total");
    }
    if (need > s.buf.length) {
      // Grown with the data: at least double, so the copies add up to at most the total.
      const size = Math.min(s.total, Math.max(need, 2 * s.buf.length));
      this.#charge(size - s.buf.length, s.total);
      const grown = new Uint8Array(size);
      grown.set(s.buf.subarray(0, s.fill));
      this.#reserved += size - s.buf.length;
      s.buf = grown;
    }
    return s;
  }

  /**
   * `n` more bytes of `s` are in place.
   *
   * @param s the stream {@linkcode Reassembler.begin} returned
   * @param n bytes copied to `s.buf[s.fill..)`
   * @returns the whole message once its last byte is in, else `undefined`
   */
  filled(s: Stream, n: number): Uint8Array | undefined {
    s.fill += n;
    this.#reserved -= n;
    if (s.fill !== s.total) return undefined;
    this.#streams.delete(s.id);
    this.#held -= s.buf.length;
    return s.buf;
  }

  /**
   * Says why the connection must close, when a message has been unfinished
   * for longer than the deadline.
   *
   * @param now the current time, on the clock `begin` got
   * @returns a sentence for the log, or `undefined` when every message is in time
   */
  overdue(now: number): string | undefined {
    for (const s of this.#streams.values()) {
      if (now - s.started > this.#timeoutMs) {
        return `Message unfinished after ${this.#timeoutMs} ms: stream ${s.id} has ${s.fill} of ${s.total} bytes`;
      }
    }
    return undefined;
  }

  /** Drops every unfinished message (the connection closed). */
  clear(): void {
    this.#streams.clear();
    this.#held = 0;
    this.#reserved = 0;
  }

  /** Counts `bytes` more of buffers against the budget, or refuses them. */
  #charge(bytes: number, total: number): void {
    if (this.#held + bytes > this.#budget) {
      throw new DecodeError(
        `Reassembly budget exceeded: ${this.#streams.size} unfinished messages hold ${this.#held} bytes, ` +
          `${bytes} more for a message of ${total} bytes would pass the limit of ${this.#budget}`,
      );
    }
    this.#held += bytes;
  }
}
