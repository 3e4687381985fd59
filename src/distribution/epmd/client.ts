/**
 * The port mapper client: register a node, look a node's port up, list the
 * names, stop a port mapper. It talks to Weft's server and to Erlang's
 * `epmd` alike.
 *
 * Message flow:
 *
 * ```
 * registerNode  --ALIVE2_REQ-->        <--ALIVE2_X_RESP--  socket held open until close()
 * lookupNode    --PORT_PLEASE2_REQ-->  <--PORT2_RESP--     port mapper closes
 * listNames     --NAMES_REQ-->         <--port, lines--    port mapper closes
 * killEpmd      --KILL_REQ-->          <--"OK" | "NO"--    port mapper closes (and exits on OK)
 * ```
 *
 * Failure: every request has a deadline (`TimeoutError`); nobody listening,
 * or a connection lost mid-request, is {@linkcode EpmdUnavailableError}; a
 * reply that does not parse (including no reply at all, which is how `epmd`
 * rejects a request) is `DecodeError`; a refused registration is
 * {@linkcode EpmdRegistrationError}.
 *
 * @example
 * ```ts
 * import { listNames, lookupNode, registerNode } from "./client.ts";
 * import { startEpmdServer } from "./server.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
 * console.assert((await lookupNode({ epmdPort: server.port, name: "a" }))?.port === 5000);
 * console.assert((await listNames({ epmdPort: server.port })).length === 1);
 * await reg.close();
 * await server.close();
 * ```
 *
 * @module
 */

import { DecodeError, TimeoutError } from "../../errors.ts";
import { logger } from "../../log.ts";
import { closeQuietly } from "../transport.ts";
import { readFull, readToEnd, writeAll } from "./_io.ts";
import { EpmdRegistrationError, EpmdUnavailableError } from "./errors.ts";
import {
  EPMD_DEFAULT_PORT,
  type EpmdFoundEntry,
  type EpmdName,
  MAX_EXTRA_BYTES,
  MAX_NAME_BYTES,
  RESULT_OK,
  weftEntry,
} from "./types.ts";
import {
  alive2ResponseLength,
  decodeAlive2Response,
  decodeNamesResponse,
  decodePort2Response,
  encodeRequest,
  nameBytes,
  port2ResponseLength,
} from "./wire.ts";

/** Where the port mapper is, and how long to wait for it. */
export interface EpmdClientOptions {
  /** Host of the port mapper. Default `"127.0.0.1"`. */
  host?: string;
  /** Port of the port mapper. Default 4369. */
  epmdPort?: number;
  /** Milliseconds for the whole request, connect included. Default 5000. */
  timeout?: number;
}

/** Options of {@linkcode registerNode}. */
export interface RegisterNodeOptions extends EpmdClientOptions {
  /** The node name without `@host`. */
  name: string;
  /** The node's distribution listening port. */
  port: number;
  /** Register as a hidden node (type 72). Default `false`. */
  hidden?: boolean;
}

/** A live registration; it lasts as long as its socket to the port mapper. */
export interface NodeRegistration {
  /** The registered name. */
  readonly name: string;
  /** The creation the port mapper gave this registration. */
  readonly creation: number;
  /** Resolves when the registration has ended: closed here, or dropped by the port mapper. */
  readonly closed: Promise<void>;
  /** Unregisters (closes the socket) and waits until that is done. */
  close(): Promise<void>;
}

/** Options of {@linkcode lookupNode}. */
export interface LookupNodeOptions extends EpmdClientOptions {
  /** The node name without `@host`. */
  name: string;
}

const log = logger("epmd");
const DEFAULT_TIMEOUT = 5000;
/** Largest PORT2 reply: a full entry. */
const MAX_PORT2_REPLY = 14 + MAX_NAME_BYTES + MAX_EXTRA_BYTES;
/** Largest NAMES reply accepted: plenty for thousands of nodes. */
const MAX_NAMES_REPLY = 1 << 20;

/**
 * Registers a Weft node with the port mapper (ALIVE2) and holds the
 * registration open until `close()`.
 *
 * @param options the port mapper, and the node's name, port and visibility
 * @returns the registration, with the creation the port mapper assigned
 * @throws {EpmdRegistrationError} when another node holds the name
 * @throws {EpmdUnavailableError} when no port mapper answers
 * @throws {TimeoutError} when the port mapper does not reply in time
 * @throws {DecodeError} when the reply is malformed or missing
 * @throws {TypeError} when the name is empty or holds NUL
 * @throws {RangeError} when the name is too long or the port is not 1-65535
 *
 * @example
 * ```ts
 * import { registerNode } from "./client.ts";
 * import { startEpmdServer } from "./server.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
 * console.assert(reg.creation > 0);
 * await reg.close();
 * await server.close();
 * ```
 */
export async function registerNode(options: RegisterNodeOptions): Promise<NodeRegistration> {
  nameBytes(options.name);
  checkPort("port", options.port, 1);
  const entry = weftEntry({
    name: options.name,
    port: options.port,
    hidden: options.hidden ?? false,
  });
  const target = resolveTarget(options);
  const { conn, creation } = await exchange(target, "ALIVE2", true, async (conn) => {
    await writeAll(conn, encodeRequest({ type: "alive2", entry }));
    const head = new Uint8Array(1);
    if (await readFull(conn, head) === 0) {
      throw new DecodeError("Invalid ALIVE2 reply: the port mapper closed without replying");
    }
    // An unknown code reads no further: decoding it below names the code.
    const reply = new Uint8Array(alive2ResponseLength(head[0]!) ?? 1);
    reply[0] = head[0]!;
    if (await readFull(conn, reply.subarray(1)) < reply.length - 1) {
      throw new DecodeError("Invalid ALIVE2 reply: the port mapper closed within the reply");
    }
    const { result, creation } = decodeAlive2Response(reply);
    if (result !== RESULT_OK) throw new EpmdRegistrationError(options.name);
    return { conn, creation };
  });
  log.debug("Registered {name} with the port mapper at {host}:{port}, creation {creation}", {
    name: options.name,
    host: target.host,
    port: target.port,
    creation,
  });
  return new Registration(options.name, creation, conn);
}

/** Holds the registration socket and notices when the port mapper drops it. */
class Registration implements NodeRegistration {
  readonly name: string;
  readonly creation: number;
  readonly closed: Promise<void>;
  #conn: Deno.Conn;
  #closing = false;

  constructor(name: string, creation: number, conn: Deno.Conn) {
    this.name = name;
    this.creation = creation;
    this.#conn = conn;
    this.closed = this.#watch();
  }

  async #watch(): Promise<void> {
    try {
      // The port mapper sends nothing more; a read returns only when the socket ends.
      while (await this.#conn.read(new Uint8Array(64)) !== null) { /* ignore stray bytes */ }
    } catch {
      // Closed here, or reset by the port mapper: either way the registration is over.
    }
    closeQuietly(this.#conn);
    if (!this.#closing) {
      log.warn("Port mapper dropped the registration of {name}", { name: this.name });
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    closeQuietly(this.#conn);
    await this.closed;
  }
}

/**
 * Looks a node's port up by name (PORT_PLEASE2).
 *
 * @param options the port mapper (often on the node's host) and the name
 * @returns the node's entry and the address the port mapper answered on, or
 *   `undefined` when no node has that name
 * @throws {EpmdUnavailableError} when no port mapper answers
 * @throws {TimeoutError} when the port mapper does not reply in time
 * @throws {DecodeError} when the reply is malformed or missing
 * @throws {TypeError} when the name is empty or holds NUL
 *
 * @example
 * ```ts
 * import { lookupNode } from "./client.ts";
 * import { startEpmdServer } from "./server.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * console.assert(await lookupNode({ epmdPort: server.port, name: "nobody" }) === undefined);
 * await server.close();
 * ```
 */
export async function lookupNode(options: LookupNodeOptions): Promise<EpmdFoundEntry | undefined> {
  const request = encodeRequest({ type: "port_please2", name: options.name });
  return await exchange(resolveTarget(options), "PORT_PLEASE2", false, async (conn) => {
    await writeAll(conn, request);
    const entry = decodePort2Response(
      await readReply(conn, MAX_PORT2_REPLY, "PORT2", port2ResponseLength),
    );
    if (entry === undefined) return undefined;
    return { ...entry, address: (conn.remoteAddr as Deno.NetAddr).hostname };
  });
}

/**
 * Lists the names registered with the port mapper (NAMES), as `epmd -names`.
 *
 * @param options the port mapper
 * @returns each registered name and its port
 * @throws {EpmdUnavailableError} when no port mapper answers
 * @throws {TimeoutError} when the port mapper does not reply in time
 * @throws {DecodeError} when the reply is malformed
 *
 * @example
 * ```ts
 * import { listNames } from "./client.ts";
 * import { startEpmdServer } from "./server.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * console.assert((await listNames({ epmdPort: server.port })).length === 0);
 * await server.close();
 * ```
 */
export async function listNames(options: EpmdClientOptions = {}): Promise<EpmdName[]> {
  return await exchange(resolveTarget(options), "NAMES", false, async (conn) => {
    await writeAll(conn, encodeRequest({ type: "names" }));
    return decodeNamesResponse(await readReply(conn, MAX_NAMES_REPLY, "NAMES")).names;
  });
}

/**
 * Asks the port mapper to exit (KILL), as `epmd -kill`. A port mapper
 * refuses while nodes are registered, unless started with relaxed command
 * check; only a loopback peer may ask.
 *
 * @param options the port mapper
 * @returns `true` when it agreed to exit, `false` when it refused
 * @throws {EpmdUnavailableError} when no port mapper answers
 * @throws {TimeoutError} when the port mapper does not reply in time
 * @throws {DecodeError} when the reply is neither "OK" nor "NO"
 *
 * @example
 * ```ts
 * import { killEpmd } from "./client.ts";
 * import { startEpmdServer } from "./server.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * console.assert(await killEpmd({ epmdPort: server.port }));
 * await server.closed;
 * ```
 */
export async function killEpmd(options: EpmdClientOptions = {}): Promise<boolean> {
  return await exchange(resolveTarget(options), "KILL", false, async (conn) => {
    await writeAll(conn, encodeRequest({ type: "kill" }));
    const reply = new TextDecoder().decode(await readReply(conn, 16, "KILL"));
    if (reply === "OK") return true;
    if (reply === "NO") return false;
    throw new DecodeError(
      `Invalid KILL reply: expected "OK" or "NO", received ${JSON.stringify(reply)}`,
    );
  });
}

interface Target {
  host: string;
  port: number;
  timeout: number;
}

function resolveTarget(options: EpmdClientOptions): Target {
  const port = options.epmdPort ?? EPMD_DEFAULT_PORT;
  checkPort("epmdPort", port, 1);
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (!(timeout > 0)) {
    throw new RangeError(`Invalid port mapper timeout: must be positive, received ${timeout}`);
  }
  return { host: options.host ?? "127.0.0.1", port, timeout };
}

function checkPort(what: string, port: number, min: number): void {
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(`Invalid ${what}: must be ${min}-65535, received ${port}`);
  }
}

/**
 * Connects, runs `talk` under one deadline and closes the socket, unless
 * `keep` and `talk` succeeded. Errors come out as the module doc says.
 */
async function exchange<T>(
  target: Target,
  what: string,
  keep: boolean,
  talk: (conn: Deno.Conn) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let conn: Deno.Conn | undefined;
  let timedOut = false;
  let ok = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
    if (conn !== undefined) closeQuietly(conn);
  }, target.timeout);
  try {
    try {
      conn = await Deno.connect({ hostname: target.host, port: target.port, signal: abort.signal });
    } catch (cause) {
      if (timedOut) throw cause;
      throw new EpmdUnavailableError(target.host, target.port, connectFailure(cause), { cause });
    }
    const result = await talk(conn);
    ok = true;
    return result;
  } catch (cause) {
    if (timedOut) {
      throw new TimeoutError(
        `Port mapper at ${target.host}:${target.port} did not answer ${what} within ${target.timeout} ms`,
        { cause },
      );
    }
    if (isConnectionLost(cause)) {
      throw new EpmdUnavailableError(target.host, target.port, `connection lost during ${what}`, {
        cause,
      });
    }
    throw cause;
  } finally {
    clearTimeout(timer);
    if (conn !== undefined && !(keep && ok)) closeQuietly(conn);
  }
}

async function readReply(
  conn: Deno.Conn,
  limit: number,
  what: string,
  complete?: (bytes: Uint8Array) => number | undefined,
): Promise<Uint8Array> {
  try {
    return await readToEnd(conn, limit, complete);
  } catch (cause) {
    if (cause instanceof RangeError) {
      throw new DecodeError(`Invalid ${what} reply: more than ${limit} bytes`, { cause });
    }
    throw cause;
  }
}

function connectFailure(cause: unknown): string {
  if (cause instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

function isConnectionLost(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected;
}
