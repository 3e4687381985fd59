/**
 * The port mapper server: Weft's own `epmd`, speaking its wire protocol, so
 * Erlang's `epmd -names` can list the nodes it holds and Erlang nodes can
 * register with it.
 *
 * Message flow (every exchange is one TCP connection):
 *
 * ```
 * node a                       port mapper                      node b
 *   ALIVE2_REQ a, port 5000 -->  registers "a"
 *                           <--  ALIVE2_X_RESP ok, creation
 *   (a keeps this socket open: it IS the registration)
 *                                                <-- PORT_PLEASE2_REQ "a"
 *                                port 5000, ...  --> (then closes)
 *                                                <-- NAMES_REQ
 *                                "name a at port 5000\n" --> (then closes)
 *   socket closes           -->  forgets "a"
 * ```
 *
 * Failure: a request that is malformed, oversized, of unknown code or too
 * slow to arrive closes its own connection and nothing else; a registered
 * node that sends anything more is unregistered and dropped, as `epmd`
 * does. A second ALIVE2 for a name in use is refused (result 1), and so
 * is a name with characters Erlang does not allow in node names (letters,
 * digits, `_` and `-` only), so that no `NAMES` line can be forged.
 *
 * Limits: a registration holds its connection, so one connection holds
 * at most one registration; at most `maxNames` (default 1024) names are
 * registered at once, further ALIVE2s are refused (result 1); at most
 * `maxConnections` (default 2048) connections are open at once, and a
 * connection past that is closed as soon as it is accepted. Each limit
 * logs a warning when it is first reached. DUMP,
 * KILL and STOP are answered for loopback peers only, and KILL is refused
 * while nodes are registered unless `relaxedCommandCheck` is set.
 *
 * @example
 * ```ts
 * import { startEpmdServer } from "./server.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * console.assert(server.names().length === 0);
 * await server.close();
 * ```
 *
 * @module
 */

import { DecodeError } from "../../errors.ts";
import { logger } from "../../log.ts";
import { isAliveName } from "../../term/node_name.ts";
import { closeQuietly } from "../transport.ts";
import { isLocalPeer, readFull, writeAll } from "./_io.ts";
import {
  EPMD_DEFAULT_PORT,
  type EpmdNodeEntry,
  type EpmdRegistration,
  MAX_REQUEST_BYTES,
  REFUSED_CREATION,
  RESULT_ERROR,
  RESULT_OK,
} from "./types.ts";
import {
  decodeRequest,
  encodeAlive2Response,
  encodeDumpResponse,
  encodeNamesResponse,
  encodePort2Response,
  type EpmdRequest,
} from "./wire.ts";

/** Options of {@linkcode startEpmdServer}. */
export interface EpmdServerOptions {
  /** Port to listen on; 0 picks a free one. Default 4369. */
  port?: number;
  /** Address to listen on. Default `"0.0.0.0"`, every interface, as `epmd`. */
  hostname?: string;
  /** Milliseconds a connection may take to send its request and take the reply. Default 10000. */
  requestTimeout?: number;
  /** Allow KILL with nodes registered, and STOP, as `epmd -relaxed_command_check`. */
  relaxedCommandCheck?: boolean;
  /** Most names registered at once; further ALIVE2 requests are refused. Default 1024. */
  maxNames?: number;
  /** Most connections open at once; further ones are closed on accept. Default 2048. */
  maxConnections?: number;
}

/** Default `maxNames`. */
const DEFAULT_MAX_NAMES = 1024;
/** Default `maxConnections`. */
const DEFAULT_MAX_CONNECTIONS = 2048;

/** A running port mapper server. */
export interface EpmdServer {
  /** The port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /** Resolves once the server has stopped, by {@linkcode EpmdServer.close} or a KILL request. */
  readonly closed: Promise<void>;
  /** The registered nodes, oldest first. */
  names(): EpmdRegistration[];
  /** Stops listening, drops every connection (so every registration) and waits for it all. */
  close(): Promise<void>;
}

const log = logger("epmd");

/**
 * Starts a port mapper server.
 *
 * @param options where to listen, and limits
 * @returns the running server
 * @throws {Deno.errors.AddrInUse} when something already listens on the port
 * @throws {RangeError} when the port is not 0-65535
 *
 * @example
 * ```ts
 * import { startEpmdServer } from "./server.ts";
 * import { listNames } from "./client.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * console.assert((await listNames({ epmdPort: server.port })).length === 0);
 * await server.close();
 * ```
 */
export function startEpmdServer(options: EpmdServerOptions = {}): EpmdServer {
  return new PortMapper(options);
}

/** One registration and the connection that holds it. */
interface Held {
  registration: EpmdRegistration;
  /** The node's socket; closing it ends the registration. */
  conn: Deno.Conn;
  /** Connection number, shown by DUMP where `epmd` shows a file descriptor. */
  id: number;
}

class PortMapper implements EpmdServer {
  readonly port: number;
  readonly hostname: string;
  readonly closed: Promise<void>;
  #listener: Deno.TcpListener;
  #requestTimeout: number;
  #relaxed: boolean;
  #maxNames: number;
  #maxConnections: number;
  /** Whether the connection limit was hit and not yet left: one warning per episode. */
  #saturated = false;
  /** Registered nodes by name, in registration order. */
  #nodes = new Map<string, Held>();
  #conns = new Set<Deno.Conn>();
  /** Connections closed on purpose (STOP, shutdown): their read errors are expected. */
  #dropped = new WeakSet<Deno.Conn>();
  #handlers = new Set<Promise<void>>();
  #accepting: Promise<void>;
  #closing: Promise<void> | undefined;
  #resolveClosed!: () => void;
  #nextConnId = 1;
  /** Last creation given; seeded from the clock so a restarted server moves on, as `epmd`. */
  #creation = Math.floor(Date.now() / 1000) >>> 0;

  constructor(options: EpmdServerOptions) {
    const port = options.port ?? EPMD_DEFAULT_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Cannot start port mapper: port must be 0-65535, received ${port}`);
    }
    this.hostname = options.hostname ?? "0.0.0.0";
    this.#requestTimeout = options.requestTimeout ?? 10_000;
    this.#relaxed = options.relaxedCommandCheck ?? false;
    this.#maxNames = positiveLimit("maxNames", options.maxNames ?? DEFAULT_MAX_NAMES);
    this.#maxConnections = positiveLimit(
      "maxConnections",
      options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    );
    this.#listener = Deno.listen({ hostname: this.hostname, port, transport: "tcp" });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#accepting = this.#accept();
    log.info("Port mapper listening on {hostname}:{port}", {
      hostname: this.hostname,
      port: this.port,
    });
  }

  names(): EpmdRegistration[] {
    return [...this.#nodes.values()].map(({ registration }) => ({
      ...registration,
      extra: registration.extra.slice(),
    }));
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    closeQuietly(this.#listener);
    for (const conn of this.#conns) {
      this.#dropped.add(conn);
      closeQuietly(conn);
    }
    await this.#accepting;
    while (this.#handlers.size > 0) await Promise.all(this.#handlers);
    log.info("Port mapper on port {port} stopped", { port: this.port });
    this.#resolveClosed();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing !== undefined) return;
        if (
          error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted
        ) return;
        // A failed accept (a peer that reset at once, fd exhaustion) costs one connection.
        log.warn("Port mapper accept failed: {error}", { error });
        // Back off, so that a persistent failure (no file descriptors left) does not spin.
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (this.#closing !== undefined) {
        closeQuietly(conn);
        return;
      }
      if (this.#conns.size >= this.#maxConnections) {
        // Registrations and requests in progress keep their connections; a flood only loses its own.
        closeQuietly(conn);
        if (!this.#saturated) {
          this.#saturated = true;
          log.warn("Port mapper at its limit of {max} connections: closing new ones", {
            max: this.#maxConnections,
          });
        }
        continue;
      }
      this.#saturated = false;
      this.#conns.add(conn);
      const handler = this.#serve(conn, this.#nextConnId++).finally(() => {
        this.#conns.delete(conn);
        this.#handlers.delete(handler);
      });
      this.#handlers.add(handler);
    }
  }

  /** Runs one connection: reads its request, answers, and for ALIVE2 holds it. */
  async #serve(conn: Deno.Conn, id: number): Promise<void> {
    const peer = conn.remoteAddr as Deno.NetAddr;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      log.warn("Port mapper dropped {peer}: request and reply not done within {ms} ms", {
        peer: `${peer.hostname}:${peer.port}`,
        ms: this.#requestTimeout,
      });
      closeQuietly(conn);
    }, this.#requestTimeout);
    try {
      const body = await this.#readRequest(conn);
      if (body === undefined) return;
      const request = decodeRequest(body);
      log.debug("Port mapper request {type} from {peer}", {
        type: request.type,
        peer: `${peer.hostname}:${peer.port}`,
      });
      // The deadline covers the reply too (a peer that never reads it is dropped),
      // except for a registration, which holds its connection for as long as it lives.
      await this.#handle(request, conn, id, () => clearTimeout(timer));
    } catch (error) {
      const expected = timedOut || (this.#dropped.has(conn) && isClosedError(error));
      if (!expected) {
        log.warn("Port mapper dropped {peer}: {error}", {
          peer: `${peer.hostname}:${peer.port}`,
          error,
        });
      }
    } finally {
      clearTimeout(timer);
      closeQuietly(conn);
    }
  }

  /** The request body, or `undefined` when the peer closed before sending one. */
  async #readRequest(conn: Deno.Conn): Promise<Uint8Array | undefined> {
    const header = new Uint8Array(2);
    const got = await readFull(conn, header);
    if (got === 0) return undefined;
    if (got < 2) throw new DecodeError("Request cut short: connection closed in the length");
    const length = (header[0]! << 8) | header[1]!;
    if (length === 0 || length > MAX_REQUEST_BYTES) {
      throw new DecodeError(
        `Invalid request length ${length}: must be 1-${MAX_REQUEST_BYTES} bytes`,
      );
    }
    // Read exactly the request, as epmd does: anything after it is the next read's business.
    const body = new Uint8Array(length);
    const n = await readFull(conn, body);
    if (n < length) {
      throw new DecodeError(`Request cut short: ${n} of ${length} bytes before close`);
    }
    return body;
  }

  async #handle(
    request: EpmdRequest,
    conn: Deno.Conn,
    id: number,
    hold: () => void,
  ): Promise<void> {
    switch (request.type) {
      case "alive2":
        // Sent by a node starting distribution on this host.
        return await this.#alive2(request.entry, conn, id, hold);
      case "port_please2":
        // Sent by any node about to connect to `name`.
        return await writeAll(
          conn,
          encodePort2Response(this.#nodes.get(request.name)?.registration),
        );
      case "names":
        // Sent by `epmd -names`, `net_adm:names()`, `listNames()`.
        return await writeAll(
          conn,
          encodeNamesResponse(this.port, this.names().map(({ name, port }) => ({ name, port }))),
        );
      case "dump":
        // Sent by `epmd -dump`.
        if (!this.#local(conn, "DUMP")) return;
        return await writeAll(
          conn,
          encodeDumpResponse(
            this.port,
            [...this.#nodes.values()].map(({ registration, id }) => ({
              name: registration.name,
              port: registration.port,
              fd: id,
            })),
          ),
        );
      case "kill":
        // Sent by `epmd -kill`, `killEpmd()`.
        return await this.#kill(conn);
      case "stop":
        // Sent by `epmd -stop NAME`.
        return await this.#stop(request.name, conn);
    }
  }

  async #alive2(
    entry: EpmdNodeEntry,
    conn: Deno.Conn,
    id: number,
    hold: () => void,
  ): Promise<void> {
    if (!this.#local(conn, "ALIVE2")) return;
    const extended = entry.highestVersion >= 6;
    const refuse = () =>
      writeAll(
        conn,
        encodeAlive2Response({ result: RESULT_ERROR, creation: REFUSED_CREATION, extended }),
      );
    if (!isAliveName(entry.name)) {
      log.warn(
        "Port mapper refused {name}: a node name may hold letters, digits, _ and - only",
        { name: JSON.stringify(entry.name) },
      );
      return await refuse();
    }
    if (this.#nodes.size >= this.#maxNames) {
      log.warn("Port mapper refused {name}: {max} names are registered, its limit", {
        name: entry.name,
        max: this.#maxNames,
      });
      return await refuse();
    }
    if (this.#nodes.has(entry.name)) {
      log.warn("Port mapper refused {name}: the name is registered already", {
        name: entry.name,
      });
      return await refuse();
    }
    const registration: EpmdRegistration = { ...entry, creation: this.#nextCreation(extended) };
    const held: Held = { registration, conn, id };
    this.#nodes.set(entry.name, held);
    hold();
    log.info("Port mapper registered {name} at port {port}, creation {creation}", {
      name: entry.name,
      port: entry.port,
      creation: registration.creation,
    });
    try {
      await writeAll(
        conn,
        encodeAlive2Response({ result: RESULT_OK, creation: registration.creation, extended }),
      );
      // The registration lives as long as this socket; a well-behaved node sends nothing more.
      const n = await conn.read(new Uint8Array(64));
      if (n !== null) {
        log.warn("Port mapper dropped {name}: unexpected bytes on its registration", {
          name: entry.name,
        });
      }
    } finally {
      if (this.#nodes.get(entry.name) === held) {
        this.#nodes.delete(entry.name);
        log.info("Port mapper unregistered {name}", { name: entry.name });
      }
    }
  }

  async #kill(conn: Deno.Conn): Promise<void> {
    if (!this.#local(conn, "KILL")) return;
    if (this.#nodes.size > 0 && !this.#relaxed) {
      log.warn("Port mapper refused KILL: {count} nodes are registered", {
        count: this.#nodes.size,
      });
      await writeAll(conn, new TextEncoder().encode("NO"));
      return;
    }
    await writeAll(conn, new TextEncoder().encode("OK"));
    log.info("Port mapper on port {port} killed by request", { port: this.port });
    // Not awaited: close() waits for this very handler to finish.
    void this.close();
  }

  async #stop(name: string, conn: Deno.Conn): Promise<void> {
    if (!this.#local(conn, "STOP")) return;
    if (!this.#relaxed) {
      log.warn("Port mapper refused STOP of {name}: relaxed command check is off", { name });
      return;
    }
    const held = this.#nodes.get(name);
    if (held === undefined) {
      await writeAll(conn, new TextEncoder().encode("NOEXIST"));
      return;
    }
    this.#nodes.delete(name);
    this.#dropped.add(held.conn);
    closeQuietly(held.conn);
    log.info("Port mapper unregistered {name} by STOP request", { name });
    await writeAll(conn, new TextEncoder().encode("STOPPED"));
  }

  #local(conn: Deno.Conn, what: string): boolean {
    if (isLocalPeer(conn)) return true;
    const peer = conn.remoteAddr as Deno.NetAddr;
    log.warn("Port mapper refused {what} from non-local {peer}", {
      what,
      peer: `${peer.hostname}:${peer.port}`,
    });
    return false;
  }

  /**
   * A new creation for every registration, so a node that re-registers a
   * name never gets the creation it had. 0 means "unknown" and 1-3 are the
   * old two-bit values, so 32-bit creations start at 4, as in `epmd`;
   * nodes below version 6 get a 16-bit reply and epmd's 1-3 cycle.
   */
  #nextCreation(extended: boolean): number {
    this.#creation = (this.#creation + 1) >>> 0;
    if (this.#creation < 4) this.#creation = 4;
    return extended ? this.#creation : (this.#creation % 3) + 1;
  }
}

function isClosedError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe;
}

function positiveLimit(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot start port mapper: ${what} must be a positive integer, received ${value}`,
    );
  }
  return value;
}
