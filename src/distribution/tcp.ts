/**
 * The TCP transport: `Deno.connect` / `Deno.listen` with Nagle's algorithm
 * off, since distribution batches its own writes and a round trip should
 * not wait for a delayed ACK.
 *
 * Reads land in a slab that is handed out in views, so a chunk costs no
 * copy and decoded messages may keep views into it. A slab is written
 * again only once every chunk of it was recycled (nothing kept a view);
 * otherwise a new slab is taken when little room is left. A bulk transfer,
 * whose fragments are copied out, thus reads into the same memory again
 * and again. The slab grows (64 KiB up to 1 MiB) while reads fill it,
 * so a bulk transfer takes few reads, and shrinks again when reads are
 * small. `readInto` reads into memory of the caller's choice instead: the
 * frame reader uses it for the rest of a large fragment, which then lands
 * in its message without a copy; `read(max)`, a short read into the slab,
 * for the header of the fragment that may follow.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "./tcp.ts";
 * const tcp = new TcpTransport();
 * const listener = tcp.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const client = await tcp.connect(listener.addr);
 * const server = (await accepted)!;
 * await client.write(new TextEncoder().encode("hi"));
 * console.assert((await server.read())!.length === 2);
 * client.close();
 * server.close();
 * listener.close();
 * ```
 *
 * @module
 */

import type { DirectReadable } from "./frame_reader.ts";
import {
  closeQuietly,
  type Connection,
  type ConnectOptions,
  formatAddress,
  iterateChunks,
  iterateConnections,
  type Listener,
  type Transport,
  type TransportAddress,
} from "./transport.ts";

const SLAB_MIN_BYTES = 64 * 1024;
const SLAB_MAX_BYTES = 1024 * 1024;
const MIN_READ_BYTES = 32 * 1024;

/**
 * True for the errors a socket raises when it was closed or reset: the end
 * of the stream rather than a failure to report.
 *
 * @param e a caught error
 * @returns whether it means "the connection is gone"
 *
 * @example
 * ```ts
 * import { isClosedError } from "./tcp.ts";
 * console.assert(isClosedError(new Deno.errors.ConnectionReset("reset")));
 * console.assert(!isClosedError(new TypeError("bug")));
 * ```
 */
export function isClosedError(e: unknown): boolean {
  return e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.ConnectionAborted ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.NotConnected ||
    e instanceof Deno.errors.UnexpectedEof;
}

/**
 * What an error of `Deno.Listener.accept()` means for the listener (TCP or
 * TLS): `"stop"`, the listener is closed; `"skip"`, a connection failed
 * between SYN and accept (reset, TLS error), that one peer's problem, the
 * listener goes on; `"fail"`, anything else.
 *
 * @param e the error `accept()` threw
 * @param closed whether the listener was closed by its owner
 * @returns what the accept loop should do
 *
 * @example
 * ```ts
 * import { acceptFailure } from "./tcp.ts";
 * console.assert(acceptFailure(new Deno.errors.ConnectionReset("reset"), false) === "skip");
 * console.assert(acceptFailure(new Deno.errors.BadResource("gone"), false) === "stop");
 * console.assert(acceptFailure(new TypeError("bug"), false) === "fail");
 * ```
 */
export function acceptFailure(e: unknown, closed: boolean): "stop" | "skip" | "fail" {
  if (closed || e instanceof Deno.errors.BadResource) return "stop";
  if (isClosedError(e) || e instanceof Deno.errors.InvalidData) return "skip";
  return "fail";
}

/**
 * A {@linkcode Connection} over a Deno socket (`Deno.Conn`: a TCP
 * connection, the TLS one that wraps it, or a Unix socket), reading into a slab as the
 * module header explains.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "./tcp.ts";
 * const listener = new TcpTransport().listen({ hostname: "127.0.0.1", port: 0 });
 * console.assert(listener.addr.port > 0);
 * listener.close();
 * ```
 */
export class SocketConnection implements Connection, DirectReadable {
  /** The peer's address as `host:port`. */
  readonly remoteAddr: string;
  #conn: Deno.Conn;
  /**
   * Allocated by the first read, not here: a connection refused or closed
   * before it reads (a flood of them, at the accept path) costs no slab.
   */
  #slab = new Uint8Array(0);
  /** The size of the next slab: doubles while reads fill the slab, halves while they are small. */
  #slabSize = SLAB_MIN_BYTES;
  #pos = 0;
  /** Chunks of the current slab handed out and not recycled. */
  #lent = 0;
  #closed = false;

  /** @param conn an open Deno connection, now owned by this object */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.remoteAddr = describeAddr(conn.remoteAddr);
  }

  /**
   * Reads the next chunk, of at most `max` bytes; `null` at the end of the
   * stream or after `close()`.
   */
  async read(max?: number): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    if (this.#lent === 0 && this.#slab.length === this.#slabSize) {
      this.#pos = 0; // every chunk came back: read into the slab from the start
    } else if (this.#lent === 0 || this.#slab.length - this.#pos < MIN_READ_BYTES) {
      this.#slab = new Uint8Array(this.#slabSize);
      this.#pos = 0;
      this.#lent = 0;
    }
    const room = max === undefined
      ? this.#slab.length - this.#pos
      : Math.min(max, this.#slab.length - this.#pos);
    let n: number | null;
    try {
      n = await this.#conn.read(this.#slab.subarray(this.#pos, this.#pos + room));
    } catch (e) {
      if (this.#closed || isClosedError(e)) return null;
      throw e;
    }
    if (n === null) return null;
    // Only a full-size read tells how loaded the link is; a short one asked for does not.
    if (max === undefined) {
      if (n === room) {
        if (this.#slabSize < SLAB_MAX_BYTES) this.#slabSize *= 2;
      } else if (n < this.#slabSize >> 4 && this.#slabSize > SLAB_MIN_BYTES) {
        this.#slabSize >>= 1;
      }
    }
    const chunk = this.#slab.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.#lent++;
    return chunk;
  }

  /**
   * Reads at most `target.length` bytes into `target`, past the slab.
   *
   * @returns the number of bytes read, or `null` at the end of the stream
   *   or after `close()`
   */
  async readInto(target: Uint8Array): Promise<number | null> {
    if (this.#closed) return null;
    try {
      return await this.#conn.read(target);
    } catch (e) {
      if (this.#closed || isClosedError(e)) return null;
      throw e;
    }
  }

  /** Takes back a chunk nobody references any more. */
  recycle(chunk: Uint8Array): void {
    if (chunk.buffer === this.#slab.buffer && this.#lent > 0) this.#lent--;
  }

  /** Writes all of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      off += await this.#conn.write(off === 0 ? bytes : bytes.subarray(off));
    }
  }

  /** Closes the socket; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }

  /** Iterates chunks until the end of the stream. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateChunks(this);
  }
}

/**
 * A {@linkcode Listener} over a Deno listening socket (TCP, TLS or Unix) whose
 * connections are wrapped by `wrap`.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "./tcp.ts";
 * const listener = new TcpTransport().listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * console.assert((await listener.accept()) === null);
 * ```
 */
export class SocketListener implements Listener {
  /** The bound address. */
  readonly addr: TransportAddress;
  #listener: Deno.Listener;
  #wrap: (conn: Deno.Conn) => Connection;
  #closed = false;

  /**
   * @param listener an open Deno listener, now owned by this object
   * @param wrap turns each accepted socket into a connection
   */
  constructor(listener: Deno.Listener, wrap: (conn: Deno.Conn) => Connection) {
    this.#listener = listener;
    this.#wrap = wrap;
    const addr = listener.addr;
    this.addr = "hostname" in addr
      ? { hostname: addr.hostname, port: addr.port }
      : { hostname: describeAddr(addr), port: 0 };
  }

  /** The next accepted connection, or `null` once closed. */
  async accept(): Promise<Connection | null> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        const failure = acceptFailure(e, this.#closed);
        if (failure === "stop") return null;
        if (failure === "skip") continue;
        throw e;
      }
      return this.#wrap(conn);
    }
    return null;
  }

  /** Stops listening; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
  }

  /** Iterates accepted connections until closed. */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return iterateConnections(this);
  }
}

/** `host:port`, or `unix:path` for a Unix socket (the path of an unnamed dialler's end is empty). */
function describeAddr(addr: Deno.Addr): string {
  if ("hostname" in addr) return formatAddress(addr.hostname, addr.port);
  return "path" in addr ? `unix:${addr.path ?? ""}` : `${addr.transport}:`;
}

function tcpConnection(conn: Deno.Conn): Connection {
  try {
    (conn as Deno.TcpConn).setNoDelay(true);
  } catch {
    // The peer already reset the socket; the first read will report it.
  }
  return new SocketConnection(conn);
}

/**
 * Distribution over plain TCP.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "./tcp.ts";
 * console.assert(new TcpTransport().kind === "tcp");
 * ```
 */
export class TcpTransport implements Transport {
  /** `"tcp"` */
  readonly kind = "tcp";

  /** Connects with Nagle's algorithm off. */
  async connect(addr: TransportAddress, options: ConnectOptions = {}): Promise<Connection> {
    const conn = await Deno.connect({
      hostname: addr.ip ?? addr.hostname,
      port: addr.port,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return tcpConnection(conn);
  }

  /**
   * Listens on `addr`.
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  listen(addr: TransportAddress): Listener {
    const listener = Deno.listen({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
    return new SocketListener(listener, tcpConnection);
  }
}
