/**
 * Simultaneous connects: every node dials every other at the same moment,
 * round after round, and each round must end in a full mesh with exactly
 * one connection per pair (no connection replaced, none lost, nobody left
 * waiting for a redial that never comes).
 */
import assert from "node:assert/strict";
import { importCookie } from "../../src/distribution/handshake.ts";
import { MemoryNetwork } from "../../src/distribution/memory.ts";
import {
  NetKernel,
  type NodeDownMessage,
  type NodeUpMessage,
} from "../../src/distribution/net_kernel.ts";
import type { ProcessContext as ProcessHandle } from "../../src/process/types.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { startTestNodes, stopAll } from "../helpers/nodes.ts";
import { waitFor } from "../helpers/wait.ts";

/** What a racing round needs of a node, in-process over any transport. */
interface Racer {
  name: string;
  connect(node: string): Promise<boolean>;
  disconnect(node: string): unknown;
  list(): string[];
  watcher: ProcessHandle;
}

/** Waits 0 to `ms` milliseconds, at random (0 still yields to the event loop). */
function jitter(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ms));
}

/** The memory network with connects that take 0-3 ms, as a port mapper lookup would. */
class SlowDialNetwork extends MemoryNetwork {
  override async connect(addr: Parameters<MemoryNetwork["connect"]>[0]) {
    await jitter(3);
    return super.connect(addr);
  }
}

/** Takes every nodeup/nodedown the watcher holds now. */
async function drain(watcher: ProcessHandle): Promise<Array<NodeUpMessage | NodeDownMessage>> {
  const out: Array<NodeUpMessage | NodeDownMessage> = [];
  for (;;) {
    try {
      out.push(await watcher.receive<NodeUpMessage | NodeDownMessage>(undefined, { timeout: 0 }));
    } catch {
      return out;
    }
  }
}

/**
 * One round: all dial all at once; every connect resolves true, every node
 * lists every other, and each saw exactly one nodeup per peer, no nodedown.
 * Then everyone disconnects and the round's connections are gone.
 */
async function raceRound(
  racers: Racer[],
  addressOf: (r: Racer) => string,
  round: number,
  spread: number,
) {
  // Each dial starts at a random moment of the same few milliseconds, so
  // HELLOs cross each other, arrive before or after the other side dials,
  // or after the other side is up already.
  const results = await Promise.all(
    racers.flatMap((a) =>
      racers.filter((b) => b !== a).map(async (b) => {
        await jitter(spread);
        return a.connect(addressOf(b));
      })
    ),
  );
  assert.ok(results.every((ok) => ok), `round ${round}: a connect failed: ${results}`);
  for (const r of racers) {
    const others = racers.filter((o) => o !== r).map((o) => o.name).sort();
    await waitFor(() => r.list().length === others.length, {
      timeout: 10_000,
      message: `round ${round}: ${r.name} lists ${r.list()}, not ${others}`,
    });
    assert.deepEqual(r.list().sort(), others, `round ${round}`);
  }
  for (const r of racers) {
    const events = await drain(r.watcher);
    const ups = events.filter((m) => m.type === "nodeup").map((m) => m.node).sort();
    const downs = events.filter((m) => m.type === "nodedown");
    const others = racers.filter((o) => o !== r).map((o) => o.name).sort();
    assert.deepEqual(downs, [], `round ${round}: ${r.name} lost a connection`);
    assert.deepEqual(ups, others, `round ${round}: ${r.name} saw nodeups ${ups}`);
  }
  for (const r of racers) for (const o of racers) if (o !== r) r.disconnect(o.name);
  for (const r of racers) {
    await waitFor(() => r.list().length === 0, { timeout: 10_000 });
  }
  for (const r of racers) await drain(r.watcher);
}

Deno.test("simultaneous connects over the memory transport: 5 nodes, 40 rounds, always a full mesh", async () => {
  const net = new SlowDialNetwork();
  const cookie = importCookie("race");
  const names = ["n1@mem", "n2@mem", "n3@mem", "n4@mem", "n5@mem"];
  const made = names.map((name) => {
    const runtime = new Runtime({ node: name });
    const listener = net.listen({ hostname: "mem", port: 0 });
    const kernel = new NetKernel({
      runtime,
      cookie,
      transport: net,
      listenPort: listener.addr.port,
    });
    kernel.serve(listener);
    const watcher = runtime.open();
    kernel.monitorNodes(watcher.self);
    return { runtime, kernel, listener, watcher };
  });
  for (const a of made) {
    for (const b of made) if (a !== b) a.kernel.addAddress(b.runtime.node, b.listener.addr);
  }
  const racers: Racer[] = made.map((m) => ({
    name: m.runtime.node,
    connect: (n) => m.kernel.connect(n),
    disconnect: (n) => m.kernel.disconnect(n),
    list: () => m.kernel.nodes(),
    watcher: m.watcher,
  }));
  try {
    for (let round = 0; round < 40; round++) await raceRound(racers, (r) => r.name, round, 4);
  } finally {
    for (const m of made) await m.kernel.stop();
    for (const m of made) await m.runtime.shutdown();
  }
});

Deno.test("simultaneous connects over TCP: 4 nodes, 20 rounds, always a full mesh", async () => {
  const nodes = await startTestNodes(["r1", "r2", "r3", "r4"]);
  const racers: Racer[] = nodes.map((n) => {
    const watcher = n.runtime.open();
    n.monitorNodes(watcher.self);
    return {
      name: n.name,
      connect: (x) => n.connect(x),
      disconnect: (x) => n.disconnect(x),
      list: () => n.list(),
      watcher,
    };
  });
  const byName = new Map(nodes.map((n) => [n.name, n.address]));
  try {
    for (let round = 0; round < 20; round++) {
      await raceRound(racers, (r) => byName.get(r.name)!, round, 10);
    }
  } finally {
    await stopAll(nodes);
  }
});
