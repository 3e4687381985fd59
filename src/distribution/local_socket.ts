/**
 * Unix domain sockets between nodes on one machine, chosen automatically:
 * a node that listens on TCP `address:P` also listens on the Unix socket
 * `<dir>/address-P.sock`, and a node dialling `host:P` where `host` is
 * this machine (a loopback address, `localhost`, this host's name or one
 * of its interface addresses) tries the socket the kernel's TCP would
 * reach first: `host-P.sock` for a literal address, then the wildcard
 * listeners' `0.0.0.0-P.sock` and `::-P.sock`. A TCP address and port is
 * bound by one listener at a time, so the socket named after it is that
 * listener's own: the address is the advertisement, and it reaches nodes
 * found through the port mapper and nodes dialled by `name@host:port`
 * alike.
 *
 * ```
 * dialler                                     listener (TCP address:P)
 *   connect(host, P), host is this machine
 *     -- unix <dir>/host-P.sock, <dir>/0.0.0.0-P.sock, <dir>/::-P.sock
 *                                       ----> accepted like a TCP connection
 *     (no such socket, refused) -- TCP host:P -> accepted as before
 *   then the same handshake, cookie check and frames
 * ```
 *
 * `<dir>` is `$XDG_RUNTIME_DIR/weft` or `/tmp/weft-<uid>`, made with mode
 * 0700 and used only when it is a directory of this user that nobody else
 * may enter, so only this user's processes reach a node this way (the
 * cookie is checked as over TCP). On failure nothing changes: a socket
 * that cannot be made leaves the node on TCP alone; a stale socket (a node
 * killed with SIGKILL) refuses, and the dialler uses TCP; a listener
 * replaces a stale socket of its port. TLS is never bypassed: a node
 * configured for TLS uses `tls.ts` alone.
 *
 * `WEFT_UNIX_SOCKETS=off` turns this off; `WEFT_UNIX_SOCKETS=require`
 * makes a dial to this machine fail instead of falling back to TCP (the
 * test suite runs the distribution tests so, to prove they pass over it).
 *
 * @example
 * ```ts
 * import { LocalSocketTransport } from "./local_socket.ts";
 * import { TcpTransport } from "./tcp.ts";
 * const transport = new LocalSocketTransport(new TcpTransport());
 * const listener = transport.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = listener.accept();
 * const client = await transport.connect(listener.addr);
 * const server = (await accepted)!;
 * console.log(client.remoteAddr.startsWith("unix:")); // true
 * await client.write(new TextEncoder().encode("hi"));
 * console.assert((await server.read())!.length === 2);
 * client.close();
 * server.close();
 * listener.close();
 * ```
 *
 * @module
 */

import { logger } from "../log.ts";
import { SocketConnection, SocketListener } from "./tcp.ts";
import {
  closeQuietly,
  type Connection,
  type ConnectOptions,
  iterateConnections,
  type Listener,
  type Transport,
  type TransportAddress,
} from "./transport.ts";

/** How Unix sockets are used: `auto` (the default), `off`, or `require` (no TCP fallback). */
export type LocalSocketMode = "auto" | "off" | "require";

/**
 * The mode `WEFT_UNIX_SOCKETS` asks for (`auto` when unset or unreadable).
 *
 * @returns the mode
 * @throws {RangeError} when the variable holds anything else
 *
 * @example
 * ```ts
 * import { localSocketMode } from "./local_socket.ts";
 * console.assert(["auto", "off", "require"].includes(localSocketMode()));
 * ```
 */
export function localSocketMode(): LocalSocketMode {
  let value: string | undefined;
  try {
    value = Deno.env.get("WEFT_UNIX_SOCKETS");
  } catch {
    return "auto"; // No permission to read the environment.
  }
  if (value === undefined || value === "" || value === "auto") return "auto";
  if (value === "off" || value === "require") return value;
  throw new RangeError(
    `Invalid WEFT_UNIX_SOCKETS: expected auto, off or require, received ${value}`,
  );
}

/**
 * The directory the sockets live in, made if missing; `undefined` when it
 * cannot be made or is not this user's alone.
 *
 * @returns the directory's path, or undefined
 *
 * @example
 * ```ts
 * import { socketDirectory } from "./local_socket.ts";
 * const dir = socketDirectory();
 * console.assert(dir === undefined || dir.length > 0);
 * ```
 */
export function socketDirectory(): string | undefined {
  try {
    const uid = Deno.uid();
    if (uid === null) return undefined;
    const runtime = Deno.env.get("XDG_RUNTIME_DIR");
    const dir = runtime ? `${runtime}/weft` : `/tmp/weft-${uid}`;
    try {
      Deno.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const info = Deno.lstatSync(dir);
    if (!info.isDirectory || info.uid !== uid || ((info.mode ?? 0o777) & 0o077) !== 0) {
      return undefined;
    }
    return dir;
  } catch {
    return undefined;
  }
}

/** The socket of a listener bound to TCP `address:port`, in `dir`. */
function socketPath(dir: string, address: string, port: number): string {
  return `${dir}/${address.toLowerCase().replace(/^\[|\]$/g, "")}-${port}.sock`;
}

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/** The sockets a dial to `host:port` on this machine may reach, in the order TCP would. */
function candidates(dir: string, host: string, port: number): string[] {
  let h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost") h = "127.0.0.1";
  const literal = IPV4.test(h) || h.includes(":");
  return [
    ...(literal ? [socketPath(dir, h, port)] : []),
    socketPath(dir, "0.0.0.0", port),
    socketPath(dir, "::", port),
  ];
}

let localNames: Set<string> | undefined;

/**
 * Whether `host` (a literal address or a name) is this machine.
 *
 * @param host a host name or literal IP address
 * @returns true for loopback addresses, `localhost`, this host's name and
 *   its interfaces' addresses
 *
 * @example
 * ```ts
 * import { isThisMachine } from "./local_socket.ts";
 * console.assert(isThisMachine("127.0.0.1"));
 * console.assert(!isThisMachine("192.0.2.1"));
 * ```
 */
export function isThisMachine(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (/^127\.\d+\.\d+\.\d+$/.test(h) || h === "::1" || h === "localhost") return true;
  if (localNames === undefined) {
    localNames = new Set();
    try {
      localNames.add(Deno.hostname().toLowerCase());
    } catch {
      // No permission to read the host name.
    }
    try {
      for (const i of Deno.networkInterfaces()) localNames.add(i.address.toLowerCase());
    } catch {
      // No permission to list interfaces.
    }
  }
  return localNames.has(h);
}

const log = logger("dist");

function unixConnection(conn: Deno.Conn): Connection {
  return new SocketConnection(conn);
}

/**
 * A transport that reaches nodes on this machine over Unix sockets and
 * every other node over `inner` (TCP), as the module header explains.
 *
 * @example
 * ```ts
 * import { LocalSocketTransport } from "./local_socket.ts";
 * import { TcpTransport } from "./tcp.ts";
 * console.log(new LocalSocketTransport(new TcpTransport(), "off").kind); // tcp
 * ```
 */
export class LocalSocketTransport implements Transport {
  /** `"tcp+unix"`, or the inner transport's kind when turned off. */
  readonly kind: string;
  #inner: Transport;
  #mode: LocalSocketMode;
  #dir: string | undefined;

  /**
   * @param inner the transport for every other node (TCP)
   * @param mode `auto`, `off` or `require`; defaults to `WEFT_UNIX_SOCKETS`
   */
  constructor(inner: Transport, mode: LocalSocketMode = localSocketMode()) {
    this.#inner = inner;
    this.#mode = mode;
    this.#dir = mode === "off" ? undefined : socketDirectory();
    this.kind = this.#dir === undefined ? inner.kind : `${inner.kind}+unix`;
  }

  /** Connects over the Unix socket of `addr` when `addr` is this machine, else over TCP. */
  async connect(addr: TransportAddress, options: ConnectOptions = {}): Promise<Connection> {
    const host = addr.ip ?? addr.hostname;
    if (this.#dir !== undefined && isThisMachine(host)) {
      let failure: unknown;
      for (const path of candidates(this.#dir, host, addr.port)) {
        try {
          options.signal?.throwIfAborted();
          return unixConnection(await Deno.connect({ transport: "unix", path }));
        } catch (e) {
          failure ??= e;
          if (!(e instanceof Deno.errors.NotFound)) break; // There, but refused: a stale socket.
        }
      }
      if (this.#mode === "require") throw failure;
      // No node of ours at that address here (or a stale socket): TCP, as before.
    }
    return await this.#inner.connect(addr, options);
  }

  /**
   * Listens on `addr` over TCP and, when it can, on the Unix socket of the
   * bound port.
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  listen(addr: TransportAddress): Listener {
    const tcp = this.#inner.listen(addr);
    if (this.#dir === undefined) return tcp;
    const path = socketPath(this.#dir, tcp.addr.hostname, tcp.addr.port);
    let unix: Deno.Listener;
    try {
      // The TCP address is ours now, so a socket of it is a dead node's.
      try {
        Deno.removeSync(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      unix = Deno.listen({ transport: "unix", path });
    } catch (e) {
      log.debug("Cannot listen on Unix socket {path}, TCP only: {error}", { path, error: e });
      return tcp;
    }
    return new EitherListener(tcp, new SocketListener(unix, unixConnection), path);
  }
}

/**
 * Accepts from the TCP listener and the Unix one; its address is the TCP
 * one. Each inner listener has at most one accept outstanding, whose
 * result is queued until asked for.
 */
class EitherListener implements Listener {
  readonly addr: TransportAddress;
  #tcp: Listener;
  #unix: Listener | undefined;
  #path: string;
  #armed = new Map<Listener, Promise<void>>();
  #ready: { from: Listener; conn: Connection | null; error?: unknown }[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(tcp: Listener, unix: Listener, path: string) {
    this.#tcp = tcp;
    this.#unix = unix;
    this.#path = path;
    this.addr = tcp.addr;
  }

  #arm(from: Listener | undefined): void {
    if (from === undefined || this.#armed.has(from)) return;
    const done = (conn: Connection | null, error?: unknown) => {
      this.#armed.delete(from);
      if (this.#closed) {
        if (conn !== null) closeQuietly(conn); // Accepted after close: nobody will take it.
        return;
      }
      this.#ready.push(error === undefined ? { from, conn } : { from, conn, error });
      this.#wake?.();
    };
    this.#armed.set(
      from,
      from.accept().then((conn) => done(conn), (error) => done(null, error ?? new Error("accept"))),
    );
  }

  async accept(): Promise<Connection | null> {
    while (!this.#closed) {
      this.#arm(this.#tcp);
      this.#arm(this.#unix);
      if (this.#ready.length === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const { from, conn, error } = this.#ready.shift()!;
      if (conn !== null) return conn;
      if (from !== this.#tcp) {
        this.#unix = undefined; // The Unix socket failed or closed; TCP goes on alone.
        continue;
      }
      if (error !== undefined) throw error; // TCP's own failure reaches the caller, as before.
      this.close();
      break;
    }
    // A closed socket keeps its port until its outstanding accept has
    // settled: wait for them, so a node restarted on the port can bind it.
    await Promise.allSettled([...this.#armed.values()]);
    return null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The socket goes first: once the TCP port is free, another node may bind
    // it and make its own socket at this path, which must not be removed here.
    if (this.#unix !== undefined) {
      this.#unix.close();
      try {
        Deno.removeSync(this.#path);
      } catch {
        // Gone already.
      }
    }
    this.#tcp.close();
    for (const r of this.#ready) if (r.conn !== null) closeQuietly(r.conn);
    this.#ready = [];
    this.#wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return iterateConnections(this);
  }
}
