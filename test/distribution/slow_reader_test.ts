/**
 * Back-pressure between real OS processes: a node streaming large messages
 * to a peer that completes the handshake, keeps ticking, but stops reading
 * (test/helpers/stalled_reader_child.ts) holds its sending process back,
 * so its memory stays near its busy limit; once the peer reads again every
 * message arrives, in order.
 */

import assert from "node:assert/strict";
import { WeftProcess } from "../helpers/weft_process.ts";
import { waitFor } from "../helpers/wait.ts";

const READER = new URL("../helpers/stalled_reader_child.ts", import.meta.url).pathname;
const SENDER = new URL("../helpers/busy_sender_child.ts", import.meta.url).pathname;
const MIB = 1024 * 1024;
const COOKIE = "slow-reader-test";

/** The resident memory of process `pid`, from /proc, in bytes. */
async function rss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

interface Report {
  sent: number;
  queued: number;
  status: string;
  rss: number;
}

function reports(output: string): Report[] {
  return output.split("\n").filter((l) => l.startsWith('{"sent"')).map((l) => JSON.parse(l));
}

Deno.test("a sender held back by a peer that stops reading stays under its busy limit, and loses nothing once the peer reads", async () => {
  const limit = 4 * MIB;
  const size = MIB;
  const count = 96; // 96 MiB offered to a peer that reads nothing
  const deno = [Deno.execPath(), "run", "-A"];
  const reader = new WeftProcess(["reader", COOKIE], {}, [...deno, READER]);
  let sender: WeftProcess | undefined;
  try {
    const port = (await reader.waitForOutput(/\{"port":(\d+)\}/, 30_000))[1];
    sender = new WeftProcess(
      [`reader@127.0.0.1:${port}`, COOKIE, String(limit), String(count), String(size)],
      {},
      [...deno, SENDER],
    );
    await sender.waitForOutput(/"connected":true/, 30_000);
    await reader.waitForOutput(/"up":"sender@127.0.0.1"/);
    const before = await rss(sender.pid);
    await sender.write("go\n");

    // Held back: the producer stays suspended for a second of reports,
    // while the node's memory is sampled from /proc all along.
    let peak = before;
    const s = sender;
    await waitFor(async () => {
      peak = Math.max(peak, await rss(s.pid));
      const last = reports(s.output).slice(-10);
      return last.length === 10 && last.every((r) => r.status === "suspended");
    }, { timeout: 30_000, interval: 20, message: "the sender was never held back for a second" });
    const held = reports(sender.output);
    const sent = held.at(-1)!.sent;
    const maxQueued = Math.max(...held.map((r) => r.queued));
    assert.ok(sent < count / 4, `held back after ${sent} of ${count} messages`);
    assert.ok(
      maxQueued <= limit + size + 1024,
      `${maxQueued} bytes queued, over the busy limit (${limit}) plus one message`,
    );
    assert.ok(
      peak - before <= limit + size + 32 * MIB,
      `the sender grew by ${((peak - before) / MIB).toFixed(1)} MiB while the peer read nothing`,
    );
    assert.doesNotMatch(sender.output, /nodedown/, "a stalled reader is not a dead node");

    // The peer reads again: every message arrives, complete and in order.
    await reader.write("read\n");
    const done = await reader.waitForOutput(/\{"done":(\d+),"ok":(true|false)[^}]*\}/, 60_000);
    assert.equal(done[0], `{"done":${count},"ok":true}`);
    await waitFor(() => reports(s.output).at(-1)?.sent === count);
    assert.doesNotMatch(sender.output, /nodedown/);
  } finally {
    await sender?.close();
    await reader.close();
  }
});
