/**
 * Starts an HTTP server for one of the node's endpoints, turning a taken
 * port into a {@linkcode PortInUseError}.
 *
 * @module
 */

import { PortInUseError } from "../errors.ts";

/** A running endpoint. */
export interface HttpEndpoint {
  /** The port it listens on (the one chosen when 0 was asked). */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /** Stops listening and ends open responses. */
  close(): Promise<void>;
}

/**
 * Listens on `hostname:port` with `handler`.
 *
 * @throws {PortInUseError} when the port is taken
 * @throws {RangeError} when the port is not 0-65535
 */
export function listen(
  what: string,
  hostname: string,
  port: number,
  handler: Deno.ServeHandler,
): HttpEndpoint {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot serve ${what}: port must be 0-65535, received ${port}`);
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen: () => {} }, handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new PortInUseError(what, hostname, port, { cause: e });
    }
    throw e;
  }
  return {
    port: server.addr.port,
    hostname,
    close: async () => {
      await server.shutdown();
    },
  };
}
