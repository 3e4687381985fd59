/**
 * An in-memory transport for tests: {@linkcode memoryPair} gives two
 * connected ends, {@linkcode MemoryNetwork} gives listeners and connects
 * by port number, all inside one process with no sockets.
 *
 * Each write is copied, so a writer may reuse its buffer once the write
 * settles, as with a socket. An optional `capacity` makes writes wait while
 * the reader has that many bytes unread, which is how tests produce
 * backpressure.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * const [a, b] = memoryPair();
 * await a.write(new Uint8Array([1, 2, 3]));
 * console.assert((await b.read())!.length === 3);
 * a.close();
 * console.assert((await b.read()) === null);
 * ```
 *
 * @module
 */

import {
  type Connection,
  iterateChunks,
  iterateConnections,
  type Listener,
  type Transport,
  type TransportAddress,
} from "./transport.ts";

/** Options for {@linkcode memoryPair}. */
export interface MemoryPairOptions {
  /** Unread bytes past which a write waits for the reader. Default: no limit. */
  capacity?: number;
  /** `remoteAddr` of each end, for logs. */
  names?: [string, string];
}

/** One direction of a pair: a queue of chunks with a waiting reader and waiting writers. */
class Pipe {
  chunks: Uint8Array[] = [];
  head = 0;
  unread = 0;
  ended = false;
  reader: ((chunk: Uint8Array | null) => void) | undefined;
  writers: Array<() => void> = [];
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  push(chunk: Uint8Array): void {
    if (this.reader) {
      const reader = this.reader;
      this.reader = undefined;
      reader(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.unread += chunk.length;
  }

  take(): Uint8Array | null | undefined {
    if (this.head < this.chunks.length) {
      const chunk = this.chunks[this.head]!;
      this.chunks[this.head++] = EMPTY;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      }
      this.unread -= chunk.length;
      this.release();
      return chunk;
    }
    return this.ended ? null : undefined;
  }

  release(): void {
    while (this.writers.length > 0 && (this.unread < this.capacity || this.ended)) {
      this.writers.shift()!();
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.reader) {
      const reader = this.reader;
      this.reader = undefined;
      reader(null);
    }
    this.release();
  }
}

const EMPTY = new Uint8Array(0);

class MemoryConnection implements Connection {
  readonly remoteAddr: string;
  #in: Pipe;
  #out: Pipe;
  #closed = false;

  constructor(incoming: Pipe, outgoing: Pipe, remoteAddr: string) {
    this.#in = incoming;
    this.#out = outgoing;
    this.remoteAddr = remoteAddr;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.resolve(null);
    const chunk = this.#in.take();
    if (chunk !== undefined) return Promise.resolve(chunk);
    return new Promise((resolve) => (this.#in.reader = resolve));
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed || this.#out.ended) {
      throw new Deno.errors.BrokenPipe("Cannot write: the connection is closed");
    }
    this.#out.push(bytes.slice());
    while (this.#out.unread >= this.#out.capacity && !this.#out.ended) {
      await new Promise<void>((resolve) => this.#out.writers.push(resolve));
    }
    if (this.#closed) throw new Deno.errors.BrokenPipe("Cannot write: the connection is closed");
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out.end();
    this.#in.end();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateChunks(this);
  }
}

/**
 * Makes two connected in-memory ends.
 *
 * @param options capacity (for backpressure) and names for logs
 * @returns the two ends; what one writes the other reads
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * const [a, b] = memoryPair({ names: ["a", "b"] });
 * console.assert(a.remoteAddr === "b" && b.remoteAddr === "a");
 * a.close();
 * ```
 */
export function memoryPair(options: MemoryPairOptions = {}): [Connection, Connection] {
  const capacity = options.capacity ?? Infinity;
  const ab = new Pipe(capacity);
  const ba = new Pipe(capacity);
  const [nameA, nameB] = options.names ?? ["memory:a", "memory:b"];
  return [new MemoryConnection(ba, ab, nameB), new MemoryConnection(ab, ba, nameA)];
}

class MemoryListener implements Listener {
  readonly addr: TransportAddress;
  #pending: Connection[] = [];
  #waiter: ((conn: Connection | null) => void) | undefined;
  #closed = false;
  #onClose: () => void;

  constructor(addr: TransportAddress, onClose: () => void) {
    this.addr = addr;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  offer(conn: Connection): void {
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter(conn);
    } else {
      this.#pending.push(conn);
    }
  }

  accept(): Promise<Connection | null> {
    if (this.#pending.length > 0) return Promise.resolve(this.#pending.shift()!);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    for (const conn of this.#pending) conn.close();
    this.#pending = [];
    this.#waiter?.(null);
    this.#waiter = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return iterateConnections(this);
  }
}

/**
 * A network of in-memory listeners keyed by port; the hostname is ignored.
 *
 * @example
 * ```ts
 * import { MemoryNetwork } from "./memory.ts";
 * const net = new MemoryNetwork();
 * const listener = net.listen({ hostname: "mem", port: 0 });
 * const accepted = listener.accept();
 * const client = await net.connect(listener.addr);
 * const server = (await accepted)!;
 * await client.write(new Uint8Array([7]));
 * console.assert((await server.read())![0] === 7);
 * client.close();
 * server.close();
 * listener.close();
 * ```
 */
export class MemoryNetwork implements Transport {
  /** `"memory"` */
  readonly kind = "memory";
  #listeners = new Map<number, MemoryListener>();
  #nextPort = 40000;
  #capacity: number | undefined;

  /** @param options `capacity` applies to every connection made on this network */
  constructor(options: { capacity?: number } = {}) {
    this.#capacity = options.capacity;
  }

  /**
   * Connects to the listener on `addr.port`.
   * @throws {Deno.errors.ConnectionRefused} when nothing listens there
   */
  connect(addr: TransportAddress): Promise<Connection> {
    const listener = this.#listeners.get(addr.port);
    if (!listener || listener.closed) {
      return Promise.reject(
        new Deno.errors.ConnectionRefused(`Cannot connect: nothing listens on memory:${addr.port}`),
      );
    }
    const [client, server] = memoryPair({
      ...(this.#capacity !== undefined ? { capacity: this.#capacity } : {}),
      names: [`memory:client-${this.#nextPort++}`, `memory:${addr.port}`],
    });
    listener.offer(server);
    return Promise.resolve(client);
  }

  /**
   * Listens on `addr.port` (0 picks a free one).
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  listen(addr: TransportAddress): Listener {
    let port = addr.port;
    if (port === 0) {
      do port = this.#nextPort++; while (this.#listeners.has(port));
    } else if (this.#listeners.has(port)) {
      throw new Deno.errors.AddrInUse(`Cannot listen: memory:${port} is in use`);
    }
    const listener = new MemoryListener(
      { hostname: addr.hostname, port },
      () => this.#listeners.delete(port),
    );
    this.#listeners.set(port, listener);
    return listener;
  }
}
