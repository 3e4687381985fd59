/**
 * UDP sockets for the gossip strategy. Unicast uses `node:dgram`, which
 * Deno ships as stable; multicast needs `Deno.listenDatagram` with
 * `joinMulticastV4`, which Deno 2 only offers under `--unstable-net` (its
 * `node:dgram` refuses `addMembership`), so {@linkcode openMulticast}
 * says so when it is missing.
 *
 * @module
 */

import dgram from "node:dgram";
import { logger } from "../../log.ts";

const log = logger("cluster");

/** Where a datagram came from or goes to. */
export interface UdpAddress {
  /** Host or address. */
  hostname: string;
  /** Port. */
  port: number;
}

/** An open UDP socket. */
export interface UdpSocket {
  /** The address it is bound to (the real port when 0 was asked). */
  readonly addr: UdpAddress;
  /** Sends one datagram; errors are logged, never thrown. */
  send(bytes: Uint8Array, to: UdpAddress): void;
  /** Closes it; no more messages are delivered after the promise resolves. */
  close(): Promise<void>;
}

/** Called with each datagram received. */
export type DatagramHandler = (bytes: Uint8Array, from: UdpAddress) => void;

/**
 * Binds a unicast socket.
 *
 * @param at the address and port to bind (port 0: any)
 * @param onMessage called with each datagram
 * @throws {Error} when the address cannot be bound (in use, not local)
 */
export function openUnicast(at: UdpAddress, onMessage: DatagramHandler): Promise<UdpSocket> {
  const socket = dgram.createSocket({ type: at.hostname.includes(":") ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    const onBindError = (e: Error) => {
      socket.removeAllListeners();
      try {
        socket.close();
      } catch {
        // Never bound.
      }
      reject(new Error(`Cannot bind UDP ${at.hostname}:${at.port}: ${e.message}`, { cause: e }));
    };
    socket.once("error", onBindError);
    socket.bind(at.port, at.hostname, () => {
      socket.off("error", onBindError);
      socket.on("error", (e) => log.debug("UDP socket error: {error}", { error: e }));
      socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
        onMessage(msg, { hostname: rinfo.address, port: rinfo.port });
      });
      const bound = socket.address();
      let closed: Promise<void> | undefined;
      resolve({
        addr: { hostname: bound.address, port: bound.port },
        send(bytes, to) {
          if (closed !== undefined) return;
          socket.send(bytes, to.port, to.hostname, (err) => {
            if (err) {
              log.debug("Cannot send gossip to {host}:{port}: {error}", {
                host: to.hostname,
                port: to.port,
                error: err,
              });
            }
          });
        },
        close() {
          return closed ??= new Promise<void>((done) => {
            socket.removeAllListeners("message");
            socket.close(() => done());
          });
        },
      });
    });
  });
}

/** Options for {@linkcode openMulticast}. */
export interface MulticastOptions {
  /** The multicast group, e.g. `233.252.1.32`. */
  group: string;
  /** The port every member binds. */
  port: number;
  /** The address to bind and of the interface to join on. Default `"0.0.0.0"`. */
  ifAddr?: string;
  /** Hops a datagram may take. Default 1 (this network only). */
  ttl?: number;
}

interface Membership {
  setLoopback(loopback: boolean): Promise<void>;
  setTTL(ttl: number): Promise<void>;
  leave(): Promise<void>;
}

interface DatagramConn extends AsyncIterable<[Uint8Array, { hostname: string; port: number }]> {
  readonly addr: { hostname: string; port: number };
  send(
    bytes: Uint8Array,
    to: { transport: "udp"; hostname: string; port: number },
  ): Promise<number>;
  joinMulticastV4(group: string, iface: string): Promise<Membership>;
  close(): void;
}

type ListenDatagram = (options: {
  transport: "udp";
  hostname: string;
  port: number;
  reuseAddress: boolean;
  loopback: boolean;
}) => DatagramConn;

/** Whether this Deno offers multicast (it runs with `--unstable-net`). */
export function multicastAvailable(): boolean {
  return typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";
}

/**
 * Joins a multicast group: every member binds the same port (address
 * reuse on) and hears what any member sends to the group, itself included.
 *
 * @param options the group, port, interface and TTL
 * @param onMessage called with each datagram
 * @throws {TypeError} when Deno runs without `--unstable-net`
 * @throws {Error} when the group cannot be joined
 */
export async function openMulticast(
  options: MulticastOptions,
  onMessage: DatagramHandler,
): Promise<UdpSocket> {
  const listen = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  if (typeof listen !== "function") {
    throw new TypeError(
      "Cannot start multicast gossip: Deno offers UDP multicast only with --unstable-net " +
        '(or "unstable": ["net"] in deno.json); give config.seeds for unicast gossip instead',
    );
  }
  const ifAddr = options.ifAddr ?? "0.0.0.0";
  const conn = listen({
    transport: "udp",
    hostname: ifAddr,
    port: options.port,
    reuseAddress: true,
    loopback: true,
  });
  let membership: Membership;
  try {
    membership = await conn.joinMulticastV4(options.group, ifAddr);
    await membership.setLoopback(true);
    await membership.setTTL(options.ttl ?? 1);
  } catch (e) {
    conn.close();
    throw new Error(`Cannot join multicast group ${options.group}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let closed: Promise<void> | undefined;
  const reading = (async () => {
    try {
      for await (const [bytes, from] of conn) onMessage(bytes, from);
    } catch (e) {
      if (closed === undefined) log.debug("Multicast socket failed: {error}", { error: e });
    }
  })();
  return {
    addr: { hostname: conn.addr.hostname, port: conn.addr.port },
    send(bytes, to) {
      if (closed !== undefined) return;
      conn.send(bytes, { transport: "udp", ...to }).catch((e) =>
        log.debug("Cannot send gossip to {host}: {error}", { host: to.hostname, error: e })
      );
    },
    close() {
      return closed ??= (async () => {
        await membership.leave().catch(() => {});
        conn.close();
        await reading;
      })();
    },
  };
}
