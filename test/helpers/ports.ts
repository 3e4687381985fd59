/**
 * The one free-port helper of the tests.
 *
 * A node started by a test binds port 0 and reports the port it got
 * (`WeftProcess.listenPort()`, `node.port` in process): nothing can take its
 * port between the choice and the bind. `freePort()` is only for what must be
 * told its port before it starts and cannot report one: a port mapper
 * (Erlang's `epmd -port P`, Weft's daemon), a DNS server, a static topology
 * naming `name@host:port`, or a port where nothing must listen. It binds port
 * 0 and closes it, so another process may take the port before it is used:
 * the caller starts its server right away and retries on `AddrInUse` where a
 * clash matters.
 *
 * @module
 */

/**
 * A loopback TCP port that was free a moment ago.
 *
 * @returns the port
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
