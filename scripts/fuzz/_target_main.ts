/**
 * The live node `scripts/fuzz_dist.ts` attacks (see `_target.ts`), in a process of its own so
 * that a crash is an exit status and its memory is its own RSS:
 * `deno run -A --v8-flags=--expose-gc scripts/fuzz/_target_main.ts COOKIE`.
 *
 * It starts `fuzz_target@127.0.0.1` on a loopback port of the system's
 * choice, with every service a node runs (rpc, global, pg, pubsub,
 * presence) and remote evaluation off (random function source is not
 * something to run), registers an echo process `sink`, logs at `info` to
 * stderr (the fuzzer counts the reasons connections were closed for),
 * prints one JSON line `{"port": P, "name": N}` and runs until its stdin
 * closes. Each line `gc` on its stdin makes it collect garbage (when run
 * with `--v8-flags=--expose-gc`) and print `{"rss", "heapUsed"}`, so the
 * fuzzer can tell memory held from memory not yet collected.
 *
 * @module
 */

import { configureLogging } from "../../src/log.ts";
import { startNode } from "../../src/node.ts";
import { Pid } from "../../src/term/pid.ts";

const cookie = Deno.args[0];
if (cookie === undefined) {
  console.error("usage: _target_main.ts COOKIE");
  Deno.exit(2);
}
await configureLogging("info");
const node = await startNode({
  name: "fuzz_target@127.0.0.1",
  cookie,
  hostname: "127.0.0.1",
  noEpmd: true,
  remoteEval: false,
});
const sink = node.runtime.spawn(async (ctx) => {
  for (;;) {
    const m = await ctx.receive<{ from?: unknown }>();
    if (typeof m === "object" && m !== null && m.from instanceof Pid) ctx.send(m.from, "echo");
  }
}, { label: "sink" });
node.runtime.register("sink", sink);
console.log(JSON.stringify({ port: node.port, name: node.name }));
// Each line "gc" on stdin: collect garbage (run with --v8-flags=--expose-gc) and print the
// memory figures as one JSON line; stdin closing (the fuzzer is done) stops the node.
const gc = (globalThis as { gc?: () => void }).gc;
let pending = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  const lines = (pending + chunk).split("\n");
  pending = lines.pop()!;
  for (const line of lines) {
    if (line.trim() !== "gc") continue;
    gc?.();
    gc?.();
    const { rss, heapUsed } = Deno.memoryUsage();
    console.log(JSON.stringify({ rss, heapUsed, collected: gc !== undefined }));
  }
}
await node.stop();
