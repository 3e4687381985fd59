/**
 * The TLS transport: distribution over TLS 1.3 (`Deno.connectTls` /
 * `Deno.listenTls`, rustls underneath, which negotiates TLS 1.3 with any
 * modern peer and never goes below 1.2).
 *
 * Every node has a certificate and key. With a CA (`--tls-ca`), a node
 * accepts only servers whose certificate that CA signed and, as a client,
 * presents its own certificate (mutual TLS).
 *
 * A limit of Deno 2.6, stated plainly: a TLS server in Deno cannot request
 * or verify a client certificate (`Deno.listenTls` has no such option, and
 * `node:tls`'s `requestCert` is ignored). So the accepting side of a
 * connection cannot check the dialling side's certificate at the TLS
 * layer. What still holds: the dialling side verifies the accepting side
 * against the CA (so it never talks to an impostor), everything is
 * encrypted, and the accepting side authenticates the dialling side by the
 * cookie handshake that runs inside the TLS channel. With a CA configured,
 * a connection is thus authenticated by certificate in one direction and
 * by the cookie in both.
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

import { ConnConnection, ConnListener } from "./tcp.ts";
import type {
  Connection,
  ConnectOptions,
  Listener,
  Transport,
  TransportAddress,
} from "./transport.ts";

/** Certificates and keys for {@linkcode TlsTransport}, PEM text. */
export interface TlsOptions {
  /** This node's certificate chain, PEM. */
  cert: string;
  /** This node's private key, PEM. */
  key: string;
  /**
   * The CA that signs the cluster's certificates, PEM. When given, servers
   * must present a certificate it signed, and this node presents its own
   * certificate when it connects. Without it, the system's root
   * certificates are used.
   */
  ca?: string;
  /**
   * Check that the server's certificate names the host dialled (the host
   * part of the node name). Default `true`.
   */
  verifyHostname?: boolean;
}

/**
 * Distribution over TLS.
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
   * @throws {TypeError} when the certificate or key is missing
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
    this.#options = options;
  }

  /**
   * Connects and completes the TLS handshake, verifying the server.
   * @throws {Error} when the server cannot be reached or its certificate is refused
   */
  async connect(addr: TransportAddress, options: ConnectOptions = {}): Promise<Connection> {
    const { cert, key, ca, verifyHostname } = this.#options;
    const conn = await Deno.connectTls({
      hostname: addr.hostname,
      port: addr.port,
      cert,
      key,
      ...(ca !== undefined ? { caCerts: [ca] } : {}),
      ...(verifyHostname === false ? { unsafelyDisableHostnameVerification: true } : {}),
    });
    const abort = () => conn.close();
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      await conn.handshake();
    } catch (e) {
      try {
        conn.close();
      } catch {
        // Already closed by the abort.
      }
      throw e;
    } finally {
      options.signal?.removeEventListener("abort", abort);
    }
    return new ConnConnection(conn);
  }

  /**
   * Listens on `addr` with this node's certificate.
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  listen(addr: TransportAddress): Listener {
    const listener = Deno.listenTls({
      hostname: addr.hostname,
      port: addr.port,
      cert: this.#options.cert,
      key: this.#options.key,
    });
    return new ConnListener(listener, (conn) => new ConnConnection(conn));
  }
}
