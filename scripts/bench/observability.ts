/**
 * What watching a node costs: message throughput between two nodes with
 * nothing attached, with the metrics' telemetry handlers attached (every
 * Weft event counted, per-message events included), and with the web
 * observer open besides (an event stream pushing a cluster snapshot every
 * second to a connected client, and the metrics endpoint scraped every
 * second). Target: at most 5% slower than nothing attached.
 *
 * Also the cost of one emit point itself, nobody listening and one
 * handler listening, in nanoseconds (the "one branch" claim, measured).
 *
 * Both nodes run in this process on loopback TCP (one OS process, so the
 * figure is the extra CPU per message, not network behaviour). The three
 * conditions run interleaved, several rounds; each figure is the median.
 *
 * Run with `deno run -A scripts/bench/observability.ts` (or
 * `deno task bench observability`).
 *
 * @module
 */

import { startNode, type WeftNode } from "../../src/node.ts";
import type { Pid } from "../../src/term/pid.ts";
import { NodeMetrics } from "../../src/observer/metrics.ts";
import { serveObserver } from "../../src/observer/observer_server.ts";
import { serveMetrics } from "../../src/observer/metrics_server.ts";
import { Telemetry } from "../../src/telemetry/telemetry.ts";

const N = Number(Deno.env.get("OBS_BENCH_MESSAGES") ?? 200_000);
const ROUNDS = Number(Deno.env.get("OBS_BENCH_ROUNDS") ?? 5);
const COOKIE = "weft-bench-observability";

type Condition = "none" | "handlers" | "observer";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function start(name: string): Promise<WeftNode> {
  return await startNode({
    name: `${name}@127.0.0.1`,
    cookie: COOKIE,
    noEpmd: true,
    hostname: "127.0.0.1",
  });
}

/** Streams N small messages from a to a sink on b; messages per second. */
async function throughput(a: WeftNode, b: WeftNode, sink: Pid): Promise<number> {
  const me = a.runtime.open();
  try {
    const peer = b.name;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      me.send(sink, i);
      if (i % 1000 === 0 && a.kernel.busy(peer)) await a.kernel.drain(peer);
    }
    me.send(sink, { from: me.self, done: N });
    const count = await me.receive<number>(undefined, { timeout: 120_000 });
    if (count !== N) throw new Error(`The sink counted ${count}, not ${N}`);
    return N / ((performance.now() - t0) / 1000);
  } finally {
    me.exit();
  }
}

/** Nanoseconds per emit point (`if (ev.attached) ev.emit(...)`), or per bare loop turn. */
function emitCost(listening: boolean | "bare"): number {
  const t = new Telemetry();
  const ev = t.event(["bench", "event"]);
  let seen = 0;
  if (listening) t.attach("h", ["bench", "event"], () => seen++);
  const n = 20_000_000;
  let sink = 0;
  const t0 = performance.now();
  if (listening === "bare") {
    for (let i = 0; i < n; i++) sink += i & 1;
  } else {
    for (let i = 0; i < n; i++) {
      if (ev.attached) ev.emit({ count: 1 }, { i });
      sink += i & 1;
    }
  }
  const ns = (performance.now() - t0) * 1e6 / n;
  if (sink < 0 || seen < 0) console.log(sink);
  return ns;
}

const a = await start("obsbencha");
const b = await start("obsbenchb");
try {
  if (!(await a.connect(`${b.name}:${b.port}`))) throw new Error("Cannot connect the bench nodes");
  const sink = b.runtime.spawn(async (ctx) => {
    let count = 0;
    for (;;) {
      const m = await ctx.receive<number | { from: Pid; done: number }>();
      if (typeof m === "number") count++;
      else {
        ctx.send(m.from, count);
        count = 0;
      }
    }
  }, { label: "bench_sink" });

  await throughput(a, b, sink); // warm-up
  const figures: Record<Condition, number[]> = { none: [], handlers: [], observer: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const condition of ["none", "handlers", "observer"] as const) {
      const metrics = condition === "none" ? [] : [new NodeMetrics(a), new NodeMetrics(b)];
      let stopWatching = async () => {};
      if (condition === "observer") {
        const obs = serveObserver(a, { port: 0, token: "bench-token-0123" });
        const prom = serveMetrics(b, { port: 0 });
        const res = await fetch(`http://127.0.0.1:${obs.port}/api/events`, {
          headers: { authorization: "Bearer bench-token-0123" },
        });
        const reader = res.body!.getReader();
        let reading = true;
        const readAll = (async () => {
          while (reading) {
            const { done } = await reader.read().catch(() => ({ done: true }));
            if (done) break;
          }
        })();
        const scrape = setInterval(() => {
          fetch(`http://127.0.0.1:${prom.port}/metrics`).then((r) => r.text()).catch(() => {});
        }, 1000);
        stopWatching = async () => {
          clearInterval(scrape);
          reading = false;
          await reader.cancel().catch(() => {});
          await readAll;
          await obs.close();
          await prom.close();
        };
      }
      try {
        figures[condition].push(await throughput(a, b, sink));
      } finally {
        await stopWatching();
        for (const m of metrics) m.close();
      }
    }
  }
  const none = median(figures.none);
  const row = (label: string, c: Condition) => {
    const v = median(figures[c]);
    const ratio = v / none;
    console.log(
      `  ${label.padEnd(44)} ${Math.round(v).toLocaleString("en").padStart(10)} msg/s   ` +
        `${ratio.toFixed(3)}x of none (${((1 - ratio) * 100).toFixed(1)}% slower)`,
    );
  };
  console.log(
    `\nObservability overhead: ${
      N.toLocaleString("en")
    } small messages a -> b over loopback TCP, ` +
      `median of ${ROUNDS} interleaved rounds (target: at most 5% slower)`,
  );
  row("nothing attached", "none");
  row("metrics' telemetry handlers on both nodes", "handlers");
  row("handlers + observer event stream + scrapes", "observer");
  const bare = emitCost("bare");
  console.log(
    `  telemetry emit point, per call: ${Math.max(0, emitCost(false) - bare).toFixed(2)} ns ` +
      `with no handler, ${Math.max(0, emitCost(true) - bare).toFixed(2)} ns with one ` +
      `(a loop turn alone: ${bare.toFixed(2)} ns)`,
  );
} finally {
  await a.stop();
  await b.stop();
}
