/**
 * A flood of unauthenticated connections, in a process of its own so that
 * it does not starve the test's own node of CPU:
 * `deno run -A test/helpers/handshake_flood_main.ts PORT ADDRESSES PER_ADDRESS`.
 * From ADDRESSES loopback addresses (127.10.0.1 and on: each client socket
 * is bound to its own 127.x.y.z), PER_ADDRESS connections each, a third
 * idle (connect, then nothing), a third half-open (connect, then FIN), a
 * third slowloris (a HELLO, one byte every 500 ms). A connection the node
 * closes is opened again 250-750 ms later (the flood shares the machine
 * with the node under test and must leave it some CPU). It prints `FLOODING` once every
 * connection has been opened once, and on stdin's end stops, prints
 * `{"connections": N}` (how many it opened in all) and exits.
 *
 * @example
 * ```ts ignore
 * new Deno.Command(Deno.execPath(), {
 *   args: ["run", "-A", "test/helpers/handshake_flood_main.ts", "4370", "60", "50"],
 *   stdin: "piped", stdout: "piped",
 * }).spawn();
 * ```
 *
 * @module
 */

import net from "node:net";
import { encode } from "../../src/term/codec.ts";
import { encodeFrame } from "../../src/distribution/frame_format.ts";
import { MSG_HELLO } from "../../src/distribution/types.ts";

type Style = "idle" | "half-open" | "slowloris";

const [port, addresses, perAddress] = Deno.args.map(Number) as [number, number, number];
const hello = encodeFrame(
  encode([MSG_HELLO, "weft", [1], "x@127.0.0.1", 1, 1, new Uint8Array(32)]),
);
let running = true;
let connections = 0;
let opened = 0;
const total = addresses * perAddress;

/** One attacker: connects, misbehaves in its style, reconnects once closed. */
async function attacker(localAddress: string, style: Style): Promise<void> {
  let first = true;
  while (running) {
    connections++;
    await new Promise<void>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress });
      let drip: ReturnType<typeof setInterval> | undefined;
      const check = setInterval(() => {
        if (!running) finish();
      }, 200);
      function opening() {
        if (!first) return;
        first = false;
        if (++opened === total) console.log("FLOODING");
      }
      function finish() {
        opening();
        clearInterval(drip);
        clearInterval(check);
        socket.destroy();
        resolve();
      }
      socket.on("error", finish);
      socket.on("close", finish);
      socket.on("data", () => {});
      socket.on("connect", () => {
        opening();
        if (style === "half-open") socket.end();
        if (style === "slowloris") {
          let i = 0;
          drip = setInterval(() => {
            if (i < hello.length) socket.write(hello.subarray(i, ++i));
          }, 500);
        }
      });
    });
    if (running) await new Promise((r) => setTimeout(r, 250 + Math.random() * 500));
  }
}

const styles: Style[] = ["idle", "half-open", "slowloris"];
const all: Promise<void>[] = [];
for (let a = 0; a < addresses; a++) {
  const localAddress = `127.${10 + (a >> 8)}.${a & 255}.1`;
  for (let k = 0; k < perAddress; k++) all.push(attacker(localAddress, styles[k % 3]!));
}
for await (const _ of Deno.stdin.readable) { /* until the test closes stdin */ }
running = false;
await Promise.all(all);
console.log(JSON.stringify({ connections }));
