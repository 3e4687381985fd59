/**
 * The TLS transport: distribution over TLS (`Deno.connectTls` /
 * `Deno.listenTls`; rustls underneath negotiates TLS 1.3 with any modern
 * peer and never goes below 1.2).
 *
 * Every node has a certificate and key. With a CA (`--tls-ca`) the cluster
 * runs mutual TLS: a node accepts only servers whose certificate the CA
 * issued, and only clients that prove they hold a certificate the CA issued.
 *
 * A limit of Deno 2.6, stated plainly: a TLS server in Deno cannot request
 * or verify a client certificate (`Deno.listenTls` has no option for it, and
 * `node:tls`'s `requestCert` is ignored). So the client's certificate is
 * checked one step later, over the encrypted channel, before the cookie
 * handshake starts:
 *
 * ```
 * client                                         server (has the CA)
 *   <====== TLS handshake: the client verifies the server against the CA ======>
 *   <------------- AUTH_CHALLENGE [1, nonce(32)] -------------------------------
 *   --- AUTH_RESPONSE [2, certificate PEM, signature("weft-tls-client-auth\0" | nonce)] ->
 *                       server: issued by the CA? valid now? signature by its key?
 *   <------------- AUTH_OK [3] ------------------ or the server closes ----------
 *   then the distribution handshake (HELLO ...)
 * ```
 *
 * (Frames as everywhere: `u32 length | CBOR`, at most 64 KiB.) This proves
 * that the client holds a key the CA certified; unlike a TLS client
 * certificate, the proof is not bound to the TLS session (Deno exposes no
 * keying-material exporter), so a member that already holds a valid
 * certificate could relay another member's proof. Cluster members trust
 * each other anyway: they share the cookie.
 *
 * Every node of a cluster must agree on whether a CA is given.
 *
 * @example
 * ```ts ignore
 * import { TlsTransport } from "./tls.ts";
 * const tls = new TlsTransport({
 *   cert: await Deno.readTextFile("node.crt"),
 *   key: await Deno.readTextFile("node.key"),
 *   ca: await Deno.readTextFile("ca.crt"),
 * });
 * const listener = tls.listen({ hostname: "127.0.0.1", port: 0 });
 * ```
 *
 * @module
 */

import { logger } from "../log.ts";
import { decode, encode } from "../term/codec.ts";
import { framedIO, FrameReader } from "./frame_reader.ts";
import { acceptFailure, SocketConnection } from "./tcp.ts";
import {
  closeQuietly,
  type Connection,
  type ConnectOptions,
  iterateConnections,
  type Listener,
  type Transport,
  type TransportAddress,
} from "./transport.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT, MAX_HANDSHAKE_FRAME, NONCE_BYTES } from "./types.ts";
import { checkIssuedBy, keyMatchesCert, signWithKey, verifyWithCert } from "./x509.ts";

const log = logger("dist");

/** Client authentication messages (first element of each CBOR array). */
const AUTH_CHALLENGE = 1;
const AUTH_RESPONSE = 2;
const AUTH_OK = 3;
/** What the client signs, before the nonce. */
const AUTH_LABEL = new TextEncoder().encode("weft-tls-client-auth\0");
/** Client authentications in progress on one listener, at most. */
const MAX_PENDING_AUTH = 256;

/** Certificates and keys for {@linkcode TlsTransport}, PEM text. */
export interface TlsOptions {
  /** This node's certificate (the first of the PEM text is presented). */
  cert: string;
  /** This node's private key, PEM. */
  key: string;
  /**
   * The CA that issues the cluster's certificates, PEM. When given, servers
   * must present a certificate it issued and clients must prove they hold
   * one. Without it, servers are checked against the system's roots and
   * clients are not checked.
   */
  ca?: string;
  /**
   * Check that the server's certificate names the host dialled (the host
   * part of the node name). Default `true`.
   */
  verifyHostname?: boolean;
  /** Deadline of the client authentication, in milliseconds. Default 5000. */
  authTimeout?: number;
}

/**
 * Distribution over TLS, mutual when a CA is given.
 *
 * @example
 * ```ts
 * import { TlsTransport } from "./tls.ts";
 * console.assert(typeof TlsTransport === "function");
 * ```
 */
export class TlsTransport implements Transport {
  /** `"tls"` */
  readonly kind = "tls";
  #options: TlsOptions;

  /**
   * @param options certificate, key and optional CA, PEM
   * @throws {TypeError} when the certificate, key or CA is not PEM, or the
   *   key is not the certificate's
   */
  constructor(options: TlsOptions) {
    if (typeof options.cert !== "string" || !options.cert.includes("BEGIN")) {
      throw new TypeError("Invalid TLS options: cert must be a PEM certificate");
    }
    if (typeof options.key !== "string" || !options.key.includes("BEGIN")) {
      throw new TypeError("Invalid TLS options: key must be a PEM private key");
    }
    if (options.ca !== undefined && !options.ca.includes("BEGIN")) {
      throw new TypeError("Invalid TLS options: ca must be a PEM certificate");
    }
    // Deno aborts the whole process on a key that does not match its
    // certificate, so refuse that here, with a sentence.
    if (!keyMatchesCert(options.key, options.cert)) {
      throw new TypeError("Invalid TLS options: key does not belong to cert");
    }
    this.#options = options;
  }

  /**
   * Connects, completes the TLS handshake verifying the server, and with a
   * CA proves this node's certificate to the server.
   *
   * @throws {Error} when the server cannot be reached, its certificate is
   *   refused, or it refuses ours
   */
  async connect(addr: TransportAddress, options: ConnectOptions = {}): Promise<Connection> {
    const { cert, key, ca, verifyHostname } = this.#options;
    const tls = await Deno.connectTls({
      hostname: addr.hostname,
      port: addr.port,
      cert,
      key,
      ...(ca !== undefined ? { caCerts: [ca] } : {}),
      ...(verifyHostname === false ? { unsafelyDisableHostnameVerification: true } : {}),
    });
    const conn = new SocketConnection(tls);
    const abort = () => conn.close();
    options.signal?.addEventListener("abort", abort, { once: true });
    const timer = setTimeout(abort, this.#options.authTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
    try {
      await tls.handshake();
      if (ca !== undefined) await proveCertificate(conn, cert, key);
      return conn;
    } catch (e) {
      conn.close();
      throw e;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", abort);
    }
  }

  /**
   * Listens on `addr` with this node's certificate; with a CA, a connection
   * is handed out only after its client proved a certificate the CA issued.
   *
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  listen(addr: TransportAddress): Listener {
    const listener = Deno.listenTls({
      hostname: addr.hostname,
      port: addr.port,
      cert: this.#options.cert,
      key: this.#options.key,
    });
    return new TlsListener(listener, this.#options);
  }
}

/** Accepts TLS connections, authenticating clients concurrently when a CA is set. */
class TlsListener implements Listener {
  readonly addr: TransportAddress;
  #listener: Deno.TlsListener;
  #options: TlsOptions;
  #ready: Connection[] = [];
  #waiter: ((conn: Connection | null) => void) | undefined;
  #pending = new Set<Connection>();
  #closed = false;
  #pump: Promise<void> | undefined;

  constructor(listener: Deno.TlsListener, options: TlsOptions) {
    this.#listener = listener;
    this.#options = options;
    const a = listener.addr as Deno.NetAddr;
    this.addr = { hostname: a.hostname, port: a.port };
  }

  accept(): Promise<Connection | null> {
    if (this.#ready.length > 0) return Promise.resolve(this.#ready.shift()!);
    if (this.#closed) return Promise.resolve(null);
    this.#pump ??= this.#run();
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
    for (const conn of [...this.#pending, ...this.#ready]) conn.close();
    this.#ready = [];
    this.#waiter?.(null);
    this.#waiter = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return iterateConnections(this);
  }

  #deliver(conn: Connection): void {
    if (this.#closed) {
      conn.close();
    } else if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter(conn);
    } else {
      this.#ready.push(conn);
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let tls: Deno.TlsConn;
      try {
        tls = await this.#listener.accept();
      } catch (e) {
        const failure = acceptFailure(e, this.#closed);
        if (failure === "skip") continue;
        if (failure === "fail") log.error("TLS listener failed: {error}", { error: e });
        break;
      }
      const conn = new SocketConnection(tls);
      if (this.#options.ca === undefined) {
        this.#deliver(conn);
      } else if (this.#pending.size >= MAX_PENDING_AUTH) {
        log.warning("Refusing TLS client {addr}: too many authentications in progress", {
          addr: conn.remoteAddr,
        });
        conn.close();
      } else {
        this.#authenticate(conn, tls);
      }
    }
    if (!this.#closed) this.close();
  }

  async #authenticate(conn: Connection, tls: Deno.TlsConn): Promise<void> {
    this.#pending.add(conn);
    const timer = setTimeout(
      () => conn.close(),
      this.#options.authTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
    );
    try {
      await tls.handshake();
      const subject = await checkClient(conn, this.#options.ca!);
      log.debug("TLS client {addr} proved certificate {subject}", {
        addr: conn.remoteAddr,
        subject,
      });
      this.#pending.delete(conn);
      this.#deliver(conn);
    } catch (e) {
      this.#pending.delete(conn);
      conn.close();
      if (!this.#closed) {
        log.warning("Refused TLS client {addr}: {reason}", {
          addr: conn.remoteAddr,
          reason: e instanceof Error ? e.message : String(e),
        });
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Client side: answer the server's challenge with our certificate and a signature. */
async function proveCertificate(conn: Connection, cert: string, key: string): Promise<void> {
  const io = framedIO(conn, new FrameReader(conn), MAX_HANDSHAKE_FRAME);
  const challenge = parse(await io.recv(), AUTH_CHALLENGE);
  const nonce = challenge[1];
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) {
    throw new TypeError("TLS client authentication: malformed challenge");
  }
  const signature = signWithKey(key, concat(AUTH_LABEL, nonce));
  await io.send(encode([AUTH_RESPONSE, cert, signature]));
  parse(await io.recv(), AUTH_OK);
}

/** Server side: challenge the client and check its answer; returns its subject. */
async function checkClient(conn: Connection, ca: string): Promise<string> {
  const io = framedIO(conn, new FrameReader(conn), MAX_HANDSHAKE_FRAME);
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  await io.send(encode([AUTH_CHALLENGE, nonce]));
  const response = parse(await io.recv(), AUTH_RESPONSE);
  const [, cert, signature] = response;
  if (typeof cert !== "string" || !(signature instanceof Uint8Array)) {
    throw new TypeError("malformed certificate proof");
  }
  const subject = checkIssuedBy(cert, ca);
  if (!verifyWithCert(cert, concat(AUTH_LABEL, nonce), signature)) {
    throw new TypeError("the client does not hold the key of its certificate");
  }
  await io.send(encode([AUTH_OK]));
  return subject;
}

function parse(bytes: Uint8Array, type: number): unknown[] {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    throw new TypeError("TLS client authentication: undecodable message");
  }
  if (!Array.isArray(value) || value[0] !== type) {
    throw new TypeError(`TLS client authentication: expected message ${type}`);
  }
  return value;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
