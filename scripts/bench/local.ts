/**
 * Local process benchmarks, side by side with Erlang/OTP:
 *
 * - spawn rate of short-lived processes: spawn N processes that each tell
 *   their parent they ran;
 * - spawn rate of long-lived processes: spawn N processes that each tell
 *   their parent they started and then wait in `receive` (an `async` body
 *   suspended in `await ctx.receive()`, as a real process is);
 * - bytes per idle process: the OS resident set size (RSS) of the whole
 *   OS process after those N long-lived processes started, less before,
 *   per process, for both sides (V8's heap alone or
 *   `erlang:memory(processes)` alone would each leave something out);
 * - local round trip: ping-pong between two processes. Erlang runs with
 *   its default schedulers (one per CPU it may use, stated under the
 *   table), so pinned to one CPU it has one scheduler.
 *
 * Erlang runs the same in `scripts/bench/erlang/weft_bench_local.erl`; the
 * two sides run interleaved, pinned and unpinned (scripts/bench/_harness.ts).
 * `BENCH_IDLE` sets N for the long-lived figures (default 100 000).
 * Run with `deno run -A scripts/bench/local.ts` (or `deno task bench local`).
 *
 * @module
 */

import { Runtime } from "../../src/process/runtime.ts";
import type { Pid } from "../../src/term/pid.ts";
import { runErlang } from "./_erlang.ts";
import { type Figures, interleave, reportAB } from "./_harness.ts";

const N_SPAWN = 200_000;
const N_IDLE = Number(Deno.env.get("BENCH_IDLE") ?? 100_000);
const N_ROUND = 200_000;

const gc = (globalThis as { gc?: () => void }).gc;

async function spawnRate(rt: Runtime): Promise<number> {
  const parent = rt.open({ label: "bench" });
  const me = parent.self;
  const t0 = performance.now();
  for (let i = 0; i < N_SPAWN; i++) rt.spawn((ctx) => ctx.send(me, 1));
  for (let i = 0; i < N_SPAWN; i++) await parent.receive();
  const seconds = (performance.now() - t0) / 1000;
  parent.exit("normal");
  return N_SPAWN / seconds;
}

/** Spawns N_IDLE long-lived processes: their spawn rate, and RSS bytes per process. */
async function longLived(rt: Runtime): Promise<{ longSpawnPerSec: number; rssPerProcess: number }> {
  const parent = rt.open({ label: "bench" });
  const me = parent.self;
  gc?.();
  gc?.();
  const before = Deno.memoryUsage().rss;
  const pids: Pid[] = new Array(N_IDLE);
  const t0 = performance.now();
  for (let i = 0; i < N_IDLE; i++) {
    pids[i] = rt.spawn(async (ctx) => {
      ctx.send(me, 1);
      await ctx.receive();
    });
  }
  for (let i = 0; i < N_IDLE; i++) await parent.receive();
  const seconds = (performance.now() - t0) / 1000;
  gc?.();
  gc?.();
  const after = Deno.memoryUsage().rss;
  for (const pid of pids) parent.send(pid, "stop");
  parent.exit("normal");
  return { longSpawnPerSec: N_IDLE / seconds, rssPerProcess: (after - before) / N_IDLE };
}

async function roundTripUs(rt: Runtime): Promise<number> {
  const pinger = rt.open({ label: "ping" });
  const pong = rt.spawn(async (ctx) => {
    for (;;) {
      const msg = await ctx.receive<{ from: Pid } | "stop">();
      if (msg === "stop") return;
      ctx.send(msg.from, "pong");
    }
  });
  const ping = { from: pinger.self };
  const t0 = performance.now();
  for (let i = 0; i < N_ROUND; i++) {
    pinger.send(pong, ping);
    await pinger.receive();
  }
  const us = ((performance.now() - t0) * 1000) / N_ROUND;
  pinger.send(pong, "stop");
  pinger.exit("normal");
  return us;
}

async function measure<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = new Runtime({ node: "bench@127.0.0.1" });
  try {
    return await fn(rt);
  } finally {
    await rt.shutdown();
  }
}

const samples = await interleave({
  weft: async () => {
    // Memory first, in a process whose heap has not yet grown for the others.
    const long = await measure(longLived);
    return {
      ...long,
      spawnPerSec: await measure(spawnRate),
      roundTripUs: await measure(roundTripUs),
    };
  },
  erlang: () =>
    runErlang<Figures>("weft_bench_local", [String(N_SPAWN), String(N_IDLE), String(N_ROUND)]),
});

reportAB("Local processes", [
  {
    key: "spawnPerSec",
    name: `spawn rate, short-lived (${N_SPAWN.toLocaleString("en-US")} processes)`,
    unit: "/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "longSpawnPerSec",
    name: `spawn rate, long-lived (${N_IDLE.toLocaleString("en-US")} processes)`,
    unit: "/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "rssPerProcess",
    name: `OS RSS per idle process (${N_IDLE.toLocaleString("en-US")}, async body)`,
    unit: "B",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "roundTripUs",
    name: "local send/receive round trip (Erlang: default schedulers)",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
], samples);
