/**
 * The transport contract of distribution: a byte stream to a peer and a
 * listener that accepts them. The handshake and the connection above it
 * only ever see these interfaces, so the same code runs over TCP
 * (`tcp.ts`), TLS (`tls.ts`) and an in-memory pair in tests (`memory.ts`).
 *
 * ```
 * Transport.listen(addr) -> Listener --accept()--> Connection  (responder)
 * Transport.connect(addr) ---------------------->  Connection  (initiator)
 * Connection: read() -> chunk | null,  write(bytes),  close()
 * ```
 *
 * A connection ends when either side closes it or the network fails: then
 * `read()` resolves `null` and `write()` rejects. Nothing here knows about
 * frames, cookies or node names.
 *
 * @example
 * ```ts
 * import type { Connection } from "./transport.ts";
 * async function readAll(conn: Connection): Promise<number> {
 *   let n = 0;
 *   for await (const chunk of conn) n += chunk.length;
 *   return n;
 * }
 * console.assert(typeof readAll === "function");
 * ```
 *
 * @module
 */

/** A host and port to listen on or connect to. */
export interface TransportAddress {
  /** A host name or literal IP address. */
  hostname: string;
  /** The TCP port; 0 when listening means "any free port". */
  port: number;
  /**
   * `hostname` already resolved (the port mapper lookup found it there). A
   * transport that needs no name (TCP) connects here and skips resolving
   * it again; one that checks certificates against the name (TLS) ignores it.
   */
  ip?: string;
  /**
   * The wire protocol the port mapper says the node speaks: `"erlang"` for a BEAM node (the
   * kernel hands it to its foreign protocol), Weft's own otherwise.
   */
  protocol?: "weft" | "erlang";
}

/**
 * A duplex byte stream to one peer.
 *
 * Chunks returned by `read()` belong to the caller: the transport never
 * writes into them again, so a decoded message may keep views into them.
 */
export interface Connection extends AsyncIterable<Uint8Array> {
  /** The peer's address as text (`127.0.0.1:4370`), for logs. */
  readonly remoteAddr: string;
  /**
   * Reads the next chunk of bytes.
   * @param max a hint: the caller wants at most this many bytes now (it
   *   means to read what follows elsewhere, e.g. straight into a message);
   *   a transport may ignore it
   * @returns the chunk, or `null` once the stream has ended or was closed
   * @throws {Error} only on a transport failure other than the end of the stream
   */
  read(max?: number): Promise<Uint8Array | null>;
  /**
   * Writes all of `bytes`. The caller must not change `bytes` until the
   * promise settles.
   * @throws {Error} when the connection is closed or broken
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes both directions; idempotent. A pending `read()` resolves `null`. */
  close(): void;
  /**
   * Optional: gives back a chunk returned by `read()` that the caller no
   * longer references (nothing decoded from it keeps a view), so the
   * transport may read into its memory again instead of allocating.
   */
  recycle?(chunk: Uint8Array): void;
}

/** Accepts incoming connections. */
export interface Listener extends AsyncIterable<Connection> {
  /** The address actually bound (the real port when 0 was asked for). */
  readonly addr: TransportAddress;
  /**
   * Waits for the next connection.
   * @returns the connection, or `null` once the listener is closed
   */
  accept(): Promise<Connection | null>;
  /** Stops accepting; idempotent. A pending `accept()` resolves `null`. */
  close(): void;
}

/** Options for {@linkcode Transport.connect}. */
export interface ConnectOptions {
  /** Aborts the connect attempt. */
  signal?: AbortSignal;
}

/** A way to reach peers: TCP, TLS, or an in-memory network. */
export interface Transport {
  /** A short name for logs: `"tcp"`, `"tls"`, `"memory"`. */
  readonly kind: string;
  /**
   * Opens a connection to `addr`.
   * @throws {Error} when the peer cannot be reached (refused, unreachable, aborted)
   */
  connect(addr: TransportAddress, options?: ConnectOptions): Promise<Connection>;
  /**
   * Starts listening on `addr`.
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  listen(addr: TransportAddress): Listener;
}

/**
 * Turns a connection's `read()` into an async iterator of chunks; the
 * implementations use it for `[Symbol.asyncIterator]`.
 *
 * @param conn the connection to read
 * @returns an iterator that ends when `read()` resolves `null`
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { iterateChunks } from "./transport.ts";
 * const [a, b] = memoryPair();
 * await a.write(new Uint8Array([1, 2]));
 * a.close();
 * let n = 0;
 * for await (const chunk of iterateChunks(b)) n += chunk.length;
 * console.assert(n === 2);
 * ```
 */
export async function* iterateChunks(
  conn: Pick<Connection, "read">,
): AsyncGenerator<Uint8Array, void, undefined> {
  while (true) {
    const chunk = await conn.read();
    if (chunk === null) return;
    yield chunk;
  }
}

/**
 * Turns a listener's `accept()` into an async iterator of connections.
 *
 * @param listener the listener to accept from
 * @returns an iterator that ends when the listener closes
 *
 * @example
 * ```ts
 * import { MemoryNetwork } from "./memory.ts";
 * import { iterateConnections } from "./transport.ts";
 * const net = new MemoryNetwork();
 * const listener = net.listen({ hostname: "mem", port: 0 });
 * listener.close();
 * for await (const _ of iterateConnections(listener)) throw new Error("unreachable");
 * ```
 */
export async function* iterateConnections(
  listener: Pick<Listener, "accept">,
): AsyncGenerator<Connection, void, undefined> {
  while (true) {
    const conn = await listener.accept();
    if (conn === null) return;
    yield conn;
  }
}

/**
 * Formats an address for logs: `host:port`, with brackets around IPv6.
 *
 * @param hostname the host
 * @param port the port
 *
 * @example
 * ```ts
 * import { formatAddress } from "./transport.ts";
 * console.assert(formatAddress("::1", 80) === "[::1]:80");
 * ```
 */
export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * Closes a socket or listener that may already be closed (by its peer's
 * reset, or by an earlier close): either way the goal is reached.
 *
 * @param resource anything with `close()`
 *
 * @example
 * ```ts
 * import { closeQuietly } from "./transport.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * closeQuietly(listener);
 * closeQuietly(listener); // no BadResource
 * ```
 */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed: the goal is reached.
  }
}
