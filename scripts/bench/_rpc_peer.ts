/**
 * The far side of scripts/bench/rpc.ts, in its own OS process: a Weft node
 * that exposes a module `bench` (`echo(x)` returns `x`), runs a GenServer
 * registered as `echo_server` (a call's reply is its request) and a process
 * `echo` (`{from, ping}` -> `{pong: ping}`) for the message round trip.
 *
 * Prints one JSON line `{"name"}` on stdout once ready, and stops when its
 * stdin closes (so it never outlives the benchmark).
 *
 * ```sh
 * deno run -A scripts/bench/_rpc_peer.ts --sname b --cookie c --epmd-port 4400
 * ```
 *
 * @module
 */

import { startNode } from "../../src/node.ts";
import { type CallResult, type From, GenServer } from "../../src/otp/gen_server.ts";
import type { Pid } from "../../src/term/pid.ts";
import { peerFlags, servePeer } from "./_peers.ts";

const flags = peerFlags("_rpc_peer.ts", ["sname", "cookie", "epmd-port"]);

class EchoServer extends GenServer<null> {
  override init() {
    return { ok: null };
  }
  override handleCall(request: unknown, _from: From, state: null): CallResult<null> {
    return { reply: request, state };
  }
}

const node = await startNode({
  sname: flags.sname!,
  cookie: flags.cookie!,
  epmdPort: Number(flags["epmd-port"]),
  startEpmd: false,
});
node.rpc.registerModule("bench", { echo: (x: unknown) => x });
await GenServer.start(EchoServer, undefined, { name: "echo_server", runtime: node.runtime });
node.runtime.spawn(async (ctx) => {
  for (;;) {
    const m = await ctx.receive<{ from: Pid; ping: unknown }>();
    ctx.send(m.from, { pong: m.ping });
  }
}, { name: "echo" });

await servePeer({ name: node.name }, () => node.stop());
