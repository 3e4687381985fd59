/**
 * A node in a child process, for tests that kill, stop or load a real peer:
 * `deno run -A test/helpers/node_child.ts NAME COOKIE TICKTIME_SECONDS`.
 * It starts `NAME@127.0.0.1` without a port mapper, registers a process
 * `sink` that answers `{from, data}` with `{size}` (the byte length of
 * `data`), prints one JSON line `{"port": P}` and runs until killed or until
 * its stdin closes.
 *
 * @example
 * ```ts ignore
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", "test/helpers/node_child.ts", "c", "cookie", "4"],
 *   stdin: "piped", stdout: "piped",
 * }).spawn();
 * ```
 *
 * @module
 */

import { startNode } from "../../src/node.ts";
import type { Pid } from "../../src/term/pid.ts";

const [name, cookie, ticktime] = Deno.args;
const node = await startNode({
  name: `${name}@127.0.0.1`,
  cookie: cookie!,
  hostname: "127.0.0.1",
  noEpmd: true,
  netTicktimeSeconds: Number(ticktime ?? 4),
});
const sink = node.runtime.spawn(async (ctx) => {
  while (true) {
    const m = await ctx.receive<{ from: Pid; data: Uint8Array }>();
    ctx.send(m.from, { size: m.data.length });
  }
});
node.runtime.register("sink", sink);
console.log(JSON.stringify({ port: node.port }));
// Stdin closing (the test ended) stops the node.
for await (const _ of Deno.stdin.readable) { /* wait */ }
await node.stop();
