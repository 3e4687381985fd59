/**
 * A node that streams large messages to a peer, in a child process, for
 * back-pressure tests:
 * `deno run -A test/helpers/busy_sender_child.ts PEER COOKIE BUSY_LIMIT COUNT SIZE`.
 *
 * It starts `sender@127.0.0.1` (no port mapper) with `busyLimit`
 * BUSY_LIMIT, connects to PEER (`name@127.0.0.1:port`), prints
 * `{"connected": true}` (and `{"type": "nodedown", ...}` should the peer go
 * down), and on the line `go` on stdin runs one process
 * that sends COUNT messages
 * `{seq, data}` (`data` a fresh SIZE-byte array of `seq & 255`) to `sink`
 * on PEER, looking at its mailbox (`receive` with timeout 0) after each,
 * and `{done: COUNT}` at the end. Every 100 ms it prints
 * `{"sent", "queued", "status", "rss"}`: messages sent, bytes queued for
 * PEER, the producer's status (`suspended` while held back) and its own
 * resident memory. It runs until its stdin closes.
 *
 * @example
 * ```ts ignore
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", "test/helpers/busy_sender_child.ts", "r@127.0.0.1:4000", "c", "4194304", "256", "1048576"],
 *   stdin: "piped", stdout: "piped",
 * }).spawn();
 * ```
 *
 * @module
 */

import { startNode } from "../../src/node.ts";
import { parseNodeName } from "../../src/term/node_name.ts";

const [peer, cookie, busyLimit, count, size] = Deno.args;
const target = parseNodeName(peer!).full;
const n = Number(count);
const node = await startNode({
  name: "sender@127.0.0.1",
  cookie: cookie!,
  hostname: "127.0.0.1",
  noEpmd: true,
  busyLimit: Number(busyLimit),
});
if (!(await node.connect(peer!))) {
  console.log(JSON.stringify({ error: `cannot connect to ${peer}` }));
  Deno.exit(1);
}
console.log(JSON.stringify({ connected: true }));
node.runtime.spawn(async (ctx) => {
  node.kernel.monitorNodes(ctx.self);
  while (true) console.log(JSON.stringify(await ctx.receive()));
});

let sent = 0;
const produce = () =>
  node.runtime.spawn(async (ctx) => {
    for (let seq = 0; seq < n; seq++) {
      ctx.send({ name: "sink", node: target }, {
        seq,
        data: new Uint8Array(Number(size)).fill(seq & 255),
      });
      sent = seq + 1;
      await ctx.receive((m) => m === "stop", { timeout: 0 }).catch(() => {});
    }
    ctx.send({ name: "sink", node: target }, { done: n });
    await ctx.receive((m) => m === "stop");
  });

let report: ReturnType<typeof setInterval> | undefined;
let text = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  text += chunk;
  if (report === undefined && text.includes("go\n")) {
    const producer = produce();
    report = setInterval(() => {
      console.log(JSON.stringify({
        sent,
        queued: node.kernel.bytesQueued(target),
        status: node.runtime.info(producer)?.status ?? "exited",
        rss: Deno.memoryUsage().rss,
      }));
    }, 100);
  }
}
clearInterval(report);
await node.stop();
