/**
 * One authenticated connection to a peer node, after the handshake: it
 * owns the framing, the ticks and the send queue. It carries opaque message
 * bodies (CBOR `[op, ...]`, encoded by the node kernel) and knows nothing
 * of processes. The bytes of each frame (a tick, a MESSAGE, a FRAGMENT_HEAD
 * or FRAGMENT_CONT) are laid out, written and parsed by frame_format.ts.
 *
 * ```
 * A: kernel.send(body) -> conn.send -> batch / bulk queue -> one write per turn
 *    A ----- MESSAGE | FRAGMENT_HEAD, FRAGMENT_CONT... | tick -----> B
 * B: frame reader -> conn.#receive -> whole message / fragment reassembled
 *    -> onMessage(body) -> kernel
 * ```
 *
 * Sending. Every frame queued during one turn of the event loop goes out in
 * one write: `send` appends the frame to a batch buffer and schedules one
 * flush (a microtask); while a write is in flight, later frames gather in a
 * second buffer and leave together when it completes. So a burst of small
 * messages costs one system call, and a sender never awaits a write. A
 * body may come in parts (`encodeParts`): its large byte strings are then
 * not copied by the codec. The frames of a bulk transfer are written
 * without a copy at all: a stretch of 32 KiB or more of a fragment goes to
 * the transport as a view of the body (the sender's own memory), after
 * the batch bytes before it (one write call per piece).
 *
 * No head-of-line blocking. A body longer than the fragment size goes to a
 * bulk queue and leaves in fragments, at most eight fragment sizes' worth
 * of bytes per write; each write takes all small frames first, so ticks and
 * small messages overtake a bulk transfer. A fragment is as large as what
 * is left of the write's budget (512 KiB by default), or the whole rest of
 * its body when that is at most one fragment size more: few large
 * fragments, each read by the peer straight into its message.
 * Order between two processes still holds: a message whose sender has a
 * bulk message in flight queues behind it.
 *
 * Back-pressure, as Erlang's `dist_buf_busy_limit`. `bytesQueued` counts
 * every byte not yet written; past the busy limit (16 MiB by default) the
 * connection is `busy`, and `drain()` resolves once the queue is back under
 * half of it. `send` itself never blocks: the node kernel holds back the
 * process that sent to a busy connection until it drains (its next
 * `receive` waits), so a peer that stops reading holds the queue near the
 * limit instead of letting it grow with everything sent to it.
 *
 * Liveness. Every tick interval (ticktime / 4), unless a write completed in
 * the last half interval, the connection queues a tick (it leaves at once
 * when idle, or between the fragments of a stalled bulk transfer), so a
 * healthy peer hears something at least every 1.5 intervals. Receiving any
 * bytes at all (a tick, a message, a fragment of a huge one) counts as
 * hearing from the peer; after three silent intervals in a row the
 * connection closes with `net_tick_timeout`, so a silent peer is
 * down after between 3/4 and 4/4 of the tick time, and either side may
 * stall for 1.5 intervals (1.5 s at the default 4 s) without a false down.
 *
 * Receiving. A whole message's body is handed on as a view of the bytes
 * read (no copy). Fragments land in one buffer per message, allocated at
 * the first fragment: copied from the read buffer, or, for the rest of a
 * fragment that did not fit in one read, read from the socket straight into
 * place (and after such a fragment the next read is a short one, so of the
 * next large fragment only its first bytes pass through the read buffer).
 * So a large message is read into its buffer by the kernel and copied by
 * no one. Read buffers that no message kept a view of are read into again.
 * The buffers and their limits are reassembly.ts's: a peer cannot make us
 * allocate what it does not send (past `maxPreallocated` announced bytes a
 * buffer grows with its data), unfinished messages together hold at most
 * the reassembly budget, and each must be complete within the reassembly
 * timeout of its first fragment (checked on every tick).
 *
 * Failure. A broken socket, a frame over the size limit, a malformed
 * payload or a reassembly limit passed closes the connection
 * (`connection_closed`) with a reason for the log; `onClose` fires
 * exactly once.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { FrameReader } from "./frame_reader.ts";
 * import { DistConnection } from "./connection.ts";
 * const [a, b] = memoryPair();
 * const got: number[] = [];
 * const ca = new DistConnection(a, new FrameReader(a), {
 *   peer: "b@h", ticktime: 4000, onMessage: () => {}, onClose: () => {},
 * });
 * const cb = new DistConnection(b, new FrameReader(b), {
 *   peer: "a@h", ticktime: 4000, onMessage: (body) => got.push(body.length), onClose: () => {},
 * });
 * ca.start();
 * cb.start();
 * ca.send(new Uint8Array(3));
 * while (got.length === 0) await new Promise((r) => setTimeout(r, 1));
 * ca.close("disconnect");
 * cb.close("disconnect");
 * ```
 *
 * @module
 */

import { NoConnectionError } from "../errors.ts";
import { EncodedParts } from "../term/codec.ts";
import {
  FRAGMENT_CONT_HEADER_BYTES,
  FRAGMENT_HEAD_HEADER_BYTES,
  isFragment,
  MESSAGE_HEADER_BYTES,
  parseFragmentHeader,
  PAYLOAD_TICK,
  payloadKind,
  writeFragmentCont,
  writeFragmentHead,
  writeMessageHeader,
  writeTick,
} from "./frame_format.ts";
import type { FrameReader } from "./frame_reader.ts";
import { Reassembler, type Stream } from "./reassembly.ts";
import type { Connection } from "./transport.ts";
import {
  DEFAULT_BUSY_LIMIT,
  DEFAULT_FRAGMENT_SIZE,
  FRAME_FRAGMENT_CONT,
  FRAME_FRAGMENT_HEAD,
  FRAME_HEADER_BYTES,
  FRAME_MESSAGE,
  MAX_FRAME,
  type NodeDownReason,
  TICKS_PER_TICKTIME,
} from "./types.ts";

/** Options for {@linkcode DistConnection}. */
export interface DistConnectionOptions {
  /** The peer's node name, for logs and errors. */
  peer: string;
  /** Net tick time in milliseconds: a silent peer is down after at most this. */
  ticktime: number;
  /** Called with the body (CBOR `[op, ...]`) of each whole message, in order. A throw closes the connection. */
  onMessage(body: Uint8Array): void;
  /** Called once when the connection closes, with the reason and a sentence for the log. */
  onClose(reason: NodeDownReason, detail: string): void;
  /**
   * Bodies longer than this are sent in fragments; a write takes at most
   * eight times this of them (one fragment as large as that, when nothing
   * else is queued). Default 64 KiB.
   */
  fragmentSize?: number;
  /**
   * Bytes queued past which the connection is busy (Erlang's
   * `dist_buf_busy_limit`): its senders are held back until it drains
   * under half of this. Default 16 MiB.
   */
  busyLimit?: number;
  /** Largest reassembled message accepted. Default 1 GiB. */
  maxMessageSize?: number;
  /**
   * Bytes of fragmented messages that may be allocated before they arrive:
   * a message's buffer is allocated whole at its first fragment while the
   * announced bytes not yet received stay under this, and grows with the
   * data past it, so a peer that announces huge messages and sends nothing
   * costs little memory. Default `maxMessageSize`: any one message is
   * allocated at once, but not several huge ones that have yet to arrive.
   */
  maxPreallocated?: number;
  /**
   * Bytes all unfinished fragmented messages may hold at once; past it the
   * connection closes. Default 1 GiB.
   */
  reassemblyBudget?: number;
  /**
   * Milliseconds a fragmented message may take from its first fragment to
   * its last; past it the connection closes. Default 60 000.
   */
  reassemblyTimeout?: number;
}

/**
 * A message body as the node kernel hands it over: CBOR bytes, or the parts
 * {@linkcode encodeParts} cut them into around large byte strings (which are
 * then copied straight from the sender's memory into the write).
 */
export type MessageBody = Uint8Array | EncodedParts;

/** A message waiting in the bulk queue. */
interface BulkItem {
  body: MessageBody;
  key: unknown;
  /** Bytes of `body` already framed. */
  off: number;
  /** Fragment stream id, once the first fragment is out. */
  stream: number;
  /** For parts: the part holding byte `off`, and the offset in it. */
  part: number;
  partOff: number;
}

/** Bytes of a MESSAGE frame before its body: length prefix and kind byte. */
const MESSAGE_FRAME_BYTES = FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES;

const INITIAL_BUFFER = 64 * 1024;
const DONE: BulkItem = {
  body: new Uint8Array(0),
  key: undefined,
  off: 0,
  stream: 0,
  part: 0,
  partOff: 0,
};
const KEEP_BUFFER_MAX = 1024 * 1024;
/** Bytes taken from the bulk queue into one write, at most, in fragments of this many. */
const FRAGMENTS_PER_WRITE = 8;
/** Stretches of bulk bodies at least this long are written from the sender's memory, not copied. */
const VIEW_MIN_BYTES = 32 * 1024;

/** A stretch of a body written from the sender's memory, after `#buf[0..at)`. */
interface OutView {
  at: number;
  bytes: Uint8Array;
  /** Its length when queued: what its frame announces. */
  length: number;
}

/**
 * An established connection: frames, ticks, batching, fragments, backpressure.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { FrameReader } from "./frame_reader.ts";
 * import { DistConnection } from "./connection.ts";
 * const [a] = memoryPair();
 * const conn = new DistConnection(a, new FrameReader(a), {
 *   peer: "b@h", ticktime: 4000, onMessage: () => {}, onClose: () => {},
 * });
 * console.assert(!conn.busy && conn.bytesQueued === 0);
 * conn.close("disconnect");
 * ```
 */
export class DistConnection {
  /** The peer's node name. */
  readonly peer: string;
  /** Bytes written to the socket so far (frames and ticks), for metrics. */
  bytesOut = 0;
  /** Bytes of frames read from the socket so far, for metrics. */
  bytesIn = 0;
  /** Message bodies queued to send so far. */
  messagesOut = 0;
  /** Whole message bodies received so far. */
  messagesIn = 0;
  #io: Connection;
  #reader: FrameReader;
  #onMessage: (body: Uint8Array) => void;
  #onClose: (reason: NodeDownReason, detail: string) => void;
  #fragmentSize: number;
  #busyLimit: number;
  #tickMs: number;

  // Sending
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(INITIAL_BUFFER);
  #len = 0;
  /**
   * Large stretches of bulk bodies that go out from the sender's own memory
   * rather than through `#buf`: each is written after `#buf[0..at)`.
   */
  #views: OutView[] = [];
  /** Bytes in `#views`. */
  #viewBytes = 0;
  #spare: Uint8Array<ArrayBuffer> | undefined;
  #scheduled = false;
  #writing = false;
  #inFlight = 0;
  /** The bulk queue: items before `#bulkHead` are done. */
  #bulk: BulkItem[] = [];
  #bulkHead = 0;
  #bulkBytes = 0;
  /** Senders with a message in the bulk queue, and how many. */
  #bulkKeys = new Map<unknown, number>();
  #nextStream = 1;
  /** Settles when the queue drains under half the busy limit (or the connection closes). */
  #drained: PromiseWithResolvers<void> | undefined;

  // Receiving
  #reassembly: Reassembler;
  /** The stream whose fragment the frame reader is filling, and that fragment's size. */
  #sinking: Stream | undefined;
  #sinkBytes = 0;

  // Liveness
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heard = false;
  #silent = 0;
  /** When the last write completed (`performance.now()`). */
  #lastWrite = 0;
  #tickQueued = false;

  #started = false;
  #closed = false;

  /**
   * @param io the transport connection, now owned by this object
   * @param reader the frame reader the handshake used (it may hold bytes already received)
   * @param options callbacks and limits
   */
  constructor(io: Connection, reader: FrameReader, options: DistConnectionOptions) {
    this.peer = options.peer;
    this.#io = io;
    this.#reader = reader;
    this.#onMessage = options.onMessage;
    this.#onClose = options.onClose;
    this.#fragmentSize = options.fragmentSize ?? DEFAULT_FRAGMENT_SIZE;
    this.#busyLimit = options.busyLimit ?? DEFAULT_BUSY_LIMIT;
    this.#reassembly = new Reassembler({
      ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
      ...(options.maxPreallocated !== undefined
        ? { maxPreallocated: options.maxPreallocated }
        : {}),
      ...(options.reassemblyBudget !== undefined ? { budget: options.reassemblyBudget } : {}),
      ...(options.reassemblyTimeout !== undefined ? { timeoutMs: options.reassemblyTimeout } : {}),
    });
    this.#tickMs = Math.max(1, options.ticktime / TICKS_PER_TICKTIME);
    if (this.#fragmentSize < 16 || this.#fragmentSize + 16 > MAX_FRAME) {
      throw new RangeError(`Invalid fragment size: must be 16..${MAX_FRAME - 16}`);
    }
    if (!(this.#busyLimit >= 1)) {
      throw new RangeError(
        `Invalid busy limit: must be at least 1 byte, received ${this.#busyLimit}`,
      );
    }
  }

  /** The remote address, for logs. */
  get remoteAddr(): string {
    return this.#io.remoteAddr;
  }

  /** Bytes accepted by `send` and not yet written to the transport. */
  get bytesQueued(): number {
    return this.#len + this.#viewBytes + this.#bulkBytes + this.#inFlight;
  }

  /** Whether more than the busy limit is queued. */
  get busy(): boolean {
    return this.bytesQueued > this.#busyLimit;
  }

  /** Whether the connection has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts reading frames and ticking. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    // Checked every half interval, so that timer lateness never stretches the
    // silence allowed past the tick time (see #tick).
    this.#timer = setInterval(() => this.#tick(), this.#tickMs / 2);
    this.#reader.run(
      MAX_FRAME,
      (buf, start, end) => this.#receive(buf, start, end),
      () => {
        this.#heard = true;
        // A reader kept busy by a stream of data may see its timers starved;
        // its ticks must still go out, or the peer takes it for dead.
        if (performance.now() - this.#lastWrite >= this.#tickMs) this.#sendTick();
      },
      {
        begin: (buf, start, end, length) => this.#beginFragment(buf, start, end, length),
        end: () => this.#endFragment(),
      },
    ).then(
      () => this.close("connection_closed", "the peer closed the connection"),
      (e) => this.close("connection_closed", reasonOf(e)),
    );
    if (this.#len > 0 || this.#bulk.length > 0) this.#schedule();
  }

  /**
   * Queues one message body (CBOR `[op, ...]`). Never blocks and never
   * throws; after close it drops the message.
   *
   * @param body the encoded message, whole or in parts; must not change
   *   afterwards (parts are read when they are written)
   * @param key the sender's identity (compared with `===`, e.g. its pid
   *   object): messages of one key keep their order across the small and
   *   bulk queues; `undefined` is one more key
   */
  send(body: MessageBody, key: unknown = undefined): void {
    if (this.#closed) return;
    this.messagesOut++;
    const n = body.length;
    if (n <= this.#fragmentSize && (this.#bulk.length === 0 || !this.#bulkKeys.has(key))) {
      const start = this.#reserve(n + MESSAGE_FRAME_BYTES);
      const buf = this.#buf;
      writeMessageHeader(buf, start, n);
      if (body instanceof Uint8Array) buf.set(body, start + MESSAGE_FRAME_BYTES);
      else copyParts(body, { part: 0, partOff: 0 }, n, buf, start + MESSAGE_FRAME_BYTES);
    } else {
      this.#bulk.push({ body, key, off: 0, stream: 0, part: 0, partOff: 0 });
      this.#bulkBytes += n;
      this.#bulkKeys.set(key, (this.#bulkKeys.get(key) ?? 0) + 1);
    }
    if (!this.#scheduled && !this.#writing && this.#started) this.#schedule();
  }

  /**
   * Waits until the queue is under half the busy limit (at once when not
   * busy). Every caller during one busy spell gets the same promise.
   *
   * @throws {NoConnectionError} when the connection closes first
   */
  drain(): Promise<void> {
    if (this.#closed) return Promise.reject(new NoConnectionError(this.peer));
    if (!this.busy) return Promise.resolve();
    if (this.#drained === undefined) {
      this.#drained = Promise.withResolvers();
      // Whoever awaits it sees a rejection; nobody awaiting it is no error.
      this.#drained.promise.catch(() => {});
    }
    return this.#drained.promise;
  }

  /**
   * Waits until everything queued has been written, or `timeoutMs` passed.
   *
   * @param timeoutMs the longest wait
   * @returns whether the queue emptied in time
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && this.bytesQueued > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 1));
    }
    return this.bytesQueued === 0;
  }

  /**
   * Closes the connection; `onClose` fires once with `reason`.
   *
   * @param reason what `monitorNodes` reports
   * @param detail a sentence for the log
   */
  close(reason: NodeDownReason, detail: string = reason): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#reader.stop();
    this.#io.close();
    this.#bulk = [];
    this.#bulkHead = 0;
    this.#bulkBytes = 0;
    this.#bulkKeys.clear();
    this.#len = 0;
    this.#views = [];
    this.#viewBytes = 0;
    this.#reassembly.clear();
    this.#sinking = undefined;
    this.#drained?.reject(new NoConnectionError(this.peer));
    this.#drained = undefined;
    this.#onClose(reason, detail);
  }

  // ---- sending ------------------------------------------------------------

  /** Makes room for `n` bytes at the end of the batch buffer; returns their offset. */
  #reserve(n: number): number {
    const start = this.#len;
    const need = start + n;
    if (need > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, start));
      this.#buf = grown;
    }
    this.#len = need;
    return start;
  }

  #schedule(): void {
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#writing || this.#closed) return;
    if (this.#bulk.length > 0) this.#takeFragments();
    if (this.#len === 0 && this.#views.length === 0) return;
    const out = this.#buf.subarray(0, this.#len);
    const views = this.#views;
    this.#inFlight = this.#len + this.#viewBytes;
    this.#len = 0;
    if (views.length > 0) {
      this.#views = [];
      this.#viewBytes = 0;
    }
    this.#tickQueued = false;
    this.#buf = this.#spare ?? new Uint8Array(INITIAL_BUFFER);
    this.#spare = undefined;
    this.#writing = true;
    (views.length === 0 ? this.#io.write(out) : writeWithViews(this.#io, out, views)).then(
      () => this.#written(out),
      (e) => this.close("connection_closed", `write failed: ${reasonOf(e)}`),
    );
  }

  #written(out: Uint8Array<ArrayBuffer>): void {
    this.bytesOut += this.#inFlight;
    this.#writing = false;
    this.#inFlight = 0;
    this.#lastWrite = performance.now();
    if (this.#closed) return;
    if (out.buffer.byteLength <= KEEP_BUFFER_MAX && this.#spare === undefined) {
      this.#spare = new Uint8Array(out.buffer);
    }
    if (this.#drained !== undefined && this.bytesQueued <= this.#busyLimit / 2) {
      this.#drained.resolve();
      this.#drained = undefined;
    }
    if (this.#len > 0 || this.#bulk.length > 0) this.#flush();
  }

  /**
   * Moves frames from the bulk queue into the batch buffer, up to
   * FRAGMENTS_PER_WRITE fragment sizes' worth of bytes, so that the small
   * queue gets its turn at least that often.
   */
  #takeFragments(): void {
    const size = this.#fragmentSize;
    let budget = FRAGMENTS_PER_WRITE * size;
    let bulk = this.#bulk;
    while (budget > 0 && this.#bulkHead < bulk.length) {
      const item = bulk[this.#bulkHead]!;
      const body = item.body;
      if (body.length <= size && item.off === 0) {
        // A small message queued behind a bulk one of the same sender.
        const start = this.#reserve(body.length + MESSAGE_FRAME_BYTES);
        writeMessageHeader(this.#buf, start, body.length);
        if (body instanceof Uint8Array) this.#buf.set(body, start + MESSAGE_FRAME_BYTES);
        else copyParts(body, item, body.length, this.#buf, start + MESSAGE_FRAME_BYTES);
        item.off = body.length;
        budget -= body.length + MESSAGE_FRAME_BYTES;
      } else {
        const first = item.off === 0;
        const header = first ? FRAGMENT_HEAD_HEADER_BYTES : FRAGMENT_CONT_HEADER_BYTES;
        // As much as the budget allows (a few large fragments cost the
        // receiver less than many small ones), and the whole rest of the
        // body when only a fragment's size or less would be left over.
        const rest = body.length - item.off;
        let take = Math.min(rest, Math.max(size, budget - 4 - header));
        if (rest - take <= size) take = Math.min(rest, MAX_FRAME - header);
        const start = this.#reserve(FRAME_HEADER_BYTES + header);
        if (first) {
          item.stream = this.#nextStream;
          this.#nextStream = (this.#nextStream + 1) >>> 0 || 1;
          writeFragmentHead(this.#buf, start, item.stream, body.length, take);
        } else {
          writeFragmentCont(this.#buf, start, item.stream, take);
        }
        if (body instanceof Uint8Array) {
          this.#append(body, item.off, take);
        } else {
          this.#appendParts(body, item, take);
        }
        item.off += take;
        budget -= take + FRAME_HEADER_BYTES + header;
      }
      if (item.off === body.length) {
        bulk[this.#bulkHead++] = DONE;
        if (this.#bulkHead === bulk.length) {
          this.#bulk = bulk = [];
          this.#bulkHead = 0;
        } else if (this.#bulkHead > 1024 && this.#bulkHead * 2 > bulk.length) {
          this.#bulk = bulk = bulk.slice(this.#bulkHead);
          this.#bulkHead = 0;
        }
        this.#bulkBytes -= body.length;
        const left = (this.#bulkKeys.get(item.key) ?? 1) - 1;
        if (left === 0) this.#bulkKeys.delete(item.key);
        else this.#bulkKeys.set(item.key, left);
      }
    }
  }

  /**
   * Appends `bytes[from..from+n)` to the batch: a large stretch as a view
   * (written from the sender's memory), a small one copied.
   */
  #append(bytes: Uint8Array, from: number, n: number): void {
    if (n >= VIEW_MIN_BYTES && bytes.length >= from + n) {
      this.#views.push({ at: this.#len, bytes: bytes.subarray(from, from + n), length: n });
      this.#viewBytes += n;
    } else {
      const at = this.#reserve(n);
      const present = Math.max(0, Math.min(n, bytes.length - from));
      if (present > 0) this.#buf.set(bytes.subarray(from, from + present), at);
      if (present < n) this.#buf.fill(0, at + present, at + n);
    }
  }

  /**
   * Appends the next `n` bytes of `body` from the cursor to the batch, and
   * moves the cursor past them; as {@linkcode copyParts}, a part found
   * shorter than when it was encoded is padded with zeros.
   */
  #appendParts(body: EncodedParts, cursor: { part: number; partOff: number }, n: number): void {
    const { parts, sizes } = body;
    let i = cursor.part;
    let off = cursor.partOff;
    while (n > 0) {
      const count = Math.min(sizes[i]! - off, n);
      this.#append(parts[i]!, off, count);
      n -= count;
      off += count;
      if (off === sizes[i]) {
        i++;
        off = 0;
      }
    }
    cursor.part = i;
    cursor.partOff = off;
  }

  #tick(): void {
    if (this.#closed) return;
    const overdue = this.#reassembly.open > 0
      ? this.#reassembly.overdue(performance.now())
      : undefined;
    if (overdue !== undefined) {
      this.close("connection_closed", overdue);
      return;
    }
    if (this.#heard) {
      this.#silent = 0;
      this.#heard = false;
    } else if (++this.#silent >= 2 * (TICKS_PER_TICKTIME - 1)) {
      // Silence is counted in half intervals: down after 6 silent checks, so
      // between 0.75 and 0.875 of the tick time after the last byte heard —
      // never past it, however late the timer fires by a few milliseconds.
      this.close(
        "net_tick_timeout",
        `nothing heard from ${this.peer} for ${Math.round((this.#silent * this.#tickMs) / 2)} ms`,
      );
      return;
    }
    // Tick unless a write completed in the last interval (bytes reached the
    // peer, which is all a tick says); checked every half interval, so the
    // peer never waits more than 1.5 intervals. A tick queued behind a
    // stalled write leaves with the next one, between the fragments of a
    // bulk transfer.
    if (performance.now() - this.#lastWrite >= this.#tickMs) this.#sendTick();
  }

  /** Queues a tick, unless one is queued already, and flushes. */
  #sendTick(): void {
    if (this.#tickQueued || this.#closed) return;
    this.#tickQueued = true;
    writeTick(this.#buf, this.#reserve(FRAME_HEADER_BYTES));
    this.#flush();
  }

  // ---- receiving ----------------------------------------------------------

  /** Handles the frame `buf[start..end)`; returns whether a view of it may be kept (a message body). */
  #receive(buf: Uint8Array, start: number, end: number): boolean {
    if (this.#closed) return false;
    this.bytesIn += end - start;
    switch (payloadKind(buf, start, end)) {
      case PAYLOAD_TICK:
        return false;
      case FRAME_MESSAGE:
        this.messagesIn++;
        this.#onMessage(buf.subarray(start + MESSAGE_HEADER_BYTES, end));
        return true;
      case FRAME_FRAGMENT_HEAD:
      case FRAME_FRAGMENT_CONT: {
        const header = parseFragmentHeader(buf, start, end - start);
        const r = this.#reassembly.begin(header, end - start, performance.now());
        const from = start + header.headerBytes;
        r.buf.set(buf.subarray(from, end), r.fill);
        this.#filled(r, end - from);
        return false;
      }
    }
  }

  /**
   * The frame reader has the first `end - start` bytes of a fragment of
   * `length` bytes: copy them into the message and hand back the memory for
   * the rest, so that it is read (or copied) straight into place.
   */
  #beginFragment(
    buf: Uint8Array,
    start: number,
    end: number,
    length: number,
  ): Uint8Array | undefined {
    if (this.#closed || !isFragment(buf, start)) return undefined;
    const header = parseFragmentHeader(buf, start, length);
    this.bytesIn += length;
    const r = this.#reassembly.begin(header, length, performance.now());
    const here = end - start - header.headerBytes;
    r.buf.set(buf.subarray(start + header.headerBytes, end), r.fill);
    this.#sinking = r;
    this.#sinkBytes = length - header.headerBytes;
    return r.buf.subarray(r.fill + here, r.fill + this.#sinkBytes);
  }

  #endFragment(): void {
    const r = this.#sinking;
    this.#sinking = undefined;
    if (r !== undefined && !this.#closed) this.#filled(r, this.#sinkBytes);
  }

  /** `n` more bytes of `r` are in place; delivers the message when it is complete. */
  #filled(r: Stream, n: number): void {
    const message = this.#reassembly.filled(r, n);
    if (message !== undefined) {
      this.messagesIn++;
      this.#onMessage(message);
    }
  }
}

/**
 * Copies the next `n` bytes of `body` from the cursor into `dest` at `at`,
 * and moves the cursor past them. A part found shorter than when it was
 * encoded (its buffer detached or shrunk since) is padded with zeros, so the
 * frames still hold the length they announce.
 */
function copyParts(
  body: EncodedParts,
  cursor: { part: number; partOff: number },
  n: number,
  dest: Uint8Array,
  at: number,
): void {
  const { parts, sizes } = body;
  let i = cursor.part;
  let off = cursor.partOff;
  while (n > 0) {
    const part = parts[i]!;
    const count = Math.min(sizes[i]! - off, n);
    const present = Math.max(0, Math.min(count, part.length - off));
    if (present > 0) {
      dest.set(present === part.length ? part : part.subarray(off, off + present), at);
    }
    if (present < count) dest.fill(0, at + present, at + count);
    at += count;
    n -= count;
    off += count;
    if (off === sizes[i]) {
      i++;
      off = 0;
    }
  }
  cursor.part = i;
  cursor.partOff = off;
}

/**
 * Writes `out` with the views spliced in at their offsets, in order. A view
 * found shorter than when it was queued (its buffer detached or shrunk
 * since) is padded with zeros, so the frames still hold the length they
 * announce.
 */
async function writeWithViews(io: Connection, out: Uint8Array, views: OutView[]): Promise<void> {
  let from = 0;
  for (const v of views) {
    if (v.at > from) await io.write(out.subarray(from, v.at));
    from = v.at;
    if (v.bytes.length === v.length) {
      await io.write(v.bytes);
    } else {
      const padded = new Uint8Array(v.length);
      const present = Math.min(v.bytes.length, v.length);
      if (present > 0) padded.set(v.bytes.subarray(0, present));
      await io.write(padded);
    }
  }
  if (from < out.length) await io.write(out.subarray(from));
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
