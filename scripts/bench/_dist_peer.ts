/**
 * The far side of scripts/bench/dist.ts, in its own OS process: a Weft
 * node with two registered processes, and raw TCP and Unix socket echo
 * servers, the reference of what Deno's sockets do.
 *
 * - `echo`: `{from, ping}` -> `{pong: ping}`; `{from, whereis: true}` -> its pid.
 * - `sink`: counts what it receives; `{from, done: n}` -> `{count}` and starts over;
 *   `{from, whereis: true}` -> its pid.
 *
 * Prints one JSON line `{"name", "port", "tcpPort", "unixPath"}` on stdout once ready,
 * and stops when its stdin closes (so it never outlives the benchmark).
 *
 * ```sh
 * deno run -A scripts/bench/_dist_peer.ts --sname b --cookie c --epmd-port 4400
 * ```
 *
 * @module
 */

import { startNode } from "../../src/node.ts";
import type { Pid } from "../../src/term/pid.ts";
import { peerFlags, servePeer } from "./_peers.ts";

const flags = peerFlags("_dist_peer.ts", ["sname", "cookie", "epmd-port"]);

const node = await startNode({
  sname: flags.sname!,
  cookie: flags.cookie!,
  epmdPort: Number(flags["epmd-port"]),
  startEpmd: false,
});
const rt = node.runtime;

rt.spawn(async (ctx) => {
  for (;;) {
    const m = await ctx.receive<{ from: Pid; ping?: unknown; whereis?: true }>();
    ctx.send(m.from, m.whereis ? ctx.self : { pong: m.ping });
  }
}, { name: "echo" });

rt.spawn(async (ctx) => {
  let count = 0;
  for (;;) {
    const m = await ctx.receive<unknown>();
    const req = m as { from?: Pid; done?: number; whereis?: true };
    if (req !== null && typeof req === "object" && req.whereis) {
      ctx.send(req.from!, ctx.self);
    } else if (req !== null && typeof req === "object" && req.done !== undefined) {
      ctx.send(req.from!, { count });
      count = 0;
    } else {
      count++;
    }
  }
}, { name: "sink" });

const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const unixDir = await Deno.makeTempDir({ prefix: "weft-bench-" });
const unixPath = `${unixDir}/echo.sock`;
const unix = Deno.listen({ transport: "unix", path: unixPath });
for (const listener of [tcp, unix] as Deno.Listener[]) echoServer(listener);

function echoServer(listener: Deno.Listener): void {
  (async () => {
    for await (const conn of listener) {
      if (listener === tcp) (conn as Deno.TcpConn).setNoDelay(true);
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            let off = 0;
            while (off < n) off += await conn.write(buf.subarray(off, n));
          }
        } catch {
          // The benchmark closed its end.
        } finally {
          conn.close();
        }
      })();
    }
  })().catch(() => {});
}

await servePeer(
  { name: node.name, port: node.port, tcpPort: (tcp.addr as Deno.NetAddr).port, unixPath },
  async () => {
    tcp.close();
    unix.close();
    await Deno.remove(unixDir, { recursive: true });
    await node.stop();
  },
);
