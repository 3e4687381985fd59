/**
 * A flood of unauthenticated connections against one real node: 3,000
 * idle, half-open and slowloris connections from 60 loopback addresses
 * (127.0.0.0/8, each client socket bound to its own 127.x.y.z), re-opened
 * as soon as the node closes them, for the whole test, while a genuine
 * node connects and messages it again and again. Every genuine connect
 * must succeed, and the node's memory must stay bounded.
 */
import assert from "node:assert/strict";
import type { Pid } from "../../src/term/pid.ts";
import { captureLogs, startTestNode } from "../helpers/nodes.ts";
import { PEER_COOKIE, startWeftPeer } from "../helpers/weft_peer.ts";

const FLOOD = new URL("../helpers/handshake_flood_main.ts", import.meta.url).pathname;

/** The node's resident set, from /proc, in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

Deno.test("a flood of idle, half-open and slowloris connections from many addresses: every genuine connect succeeds, memory stays bounded", async () => {
  const logs = await captureLogs("info");
  const target = await startWeftPeer("target");
  const genuine = await startTestNode("genuine", { cookie: PEER_COOKIE });
  const me = genuine.runtime.open();
  const flood = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FLOOD, String(target.port), "60", "50"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const floodOut = flood.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let floodText = "";
  const floodSaid = async (pattern: RegExp) => {
    while (!pattern.test(floodText)) {
      const { value, done } = await floodOut.read();
      if (done) throw new Error(`The flood ended early: ${floodText}`);
      floodText += value;
    }
  };
  let samples: number[] = [];
  const sampler = setInterval(async () => {
    samples.push(await rssMiB(target.proc.pid).catch(() => 0));
  }, 200);
  try {
    const before = await rssMiB(target.proc.pid);
    await floodSaid(/FLOODING/);
    samples = [];
    // At least 10 rounds, and on until the memory has been sampled 10 times
    // (a fast machine does 10 rounds within one sample).
    for (let round = 0; round < 10 || samples.length < 10; round++) {
      assert.ok(round < 10_000, "the RSS sampler never ran");
      assert.equal(
        await genuine.connect(target.address),
        true,
        `round ${round}: ${logs.lines.filter((l) => /Cannot connect/.test(l)).join("")}`,
      );
      genuine.runtime.send({ name: "echo", node: target.name }, { from: me.self, n: round });
      const answer = await me.receive<{ pid: Pid; n: number }>(undefined, { timeout: 10_000 });
      assert.equal(answer.n, round);
      await genuine.disconnect(target.name);
    }
    const peak = Math.max(...samples);
    const half = samples.slice(0, samples.length >> 1);
    // Bounded: a fixed cost for the slots in use, no growth with the
    // thousands of connections opened and closed meanwhile.
    assert.ok(peak - before < 256, `RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
    // The second half may still add V8's heap slack (GC runs when it likes):
    // tens of MiB, not the hundreds the thousands of connections would cost.
    assert.ok(
      peak - Math.max(...half) < 64,
      `RSS still growing: first half peak ${Math.max(...half)}, then ${peak} MiB`,
    );
    assert.match(target.proc.output, /Closed \d+ unauthenticated connections/);
    console.log(`target RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`);
  } finally {
    clearInterval(sampler);
    await flood.stdin.close();
    await floodSaid(/"connections":\s*\d+/).catch(() => {});
    await flood.status;
    await genuine.stop();
    await target.close();
    await logs.restore();
  }
  const made = Number(/"connections":\s*(\d+)/.exec(floodText)?.[1]);
  assert.ok(made >= 3000, floodText);
});
