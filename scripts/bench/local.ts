/**
 * Local process benchmarks, side by side with Erlang/OTP:
 *
 * - spawn rate: spawn N processes that each tell their parent they ran;
 * - bytes per idle process: memory of N processes blocked in `receive`;
 * - local round trip: ping-pong between two processes.
 *
 * Each figure is the median of several runs; Erlang runs the same three in
 * `scripts/bench/erlang/weft_bench_local.erl` in the same invocation.
 * Run with `deno run -A --v8-flags=--expose-gc scripts/bench/local.ts`.
 *
 * @module
 */

import { Runtime } from "../../src/process/runtime.ts";
import type { Pid } from "../../src/term/pid.ts";
import { median, report, runErlang } from "./_erlang.ts";

const N_SPAWN = 200_000;
const N_IDLE = 100_000;
const N_ROUND = 200_000;
const RUNS = 5;

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

async function idleBytes(rt: Runtime): Promise<number> {
  const parent = rt.open({ label: "bench" });
  gc?.();
  gc?.();
  const before = Deno.memoryUsage().heapUsed;
  const pids: Pid[] = [];
  for (let i = 0; i < N_IDLE; i++) pids.push(rt.spawn((ctx) => ctx.receive()));
  // Let every process start and block in receive before measuring.
  await new Promise((r) => setTimeout(r, 0));
  gc?.();
  gc?.();
  const after = Deno.memoryUsage().heapUsed;
  // The pid array itself is the benchmark's, not the processes'.
  const pidArray = 8 * N_IDLE;
  for (const pid of pids) parent.send(pid, "stop");
  parent.exit("normal");
  return (after - before - pidArray) / N_IDLE;
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

async function measure(fn: (rt: Runtime) => Promise<number>): Promise<number> {
  const results: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const rt = new Runtime({ node: "bench@127.0.0.1" });
    results.push(await fn(rt));
    await rt.shutdown();
  }
  return median(results);
}

if (!gc) console.warn("note: run with --v8-flags=--expose-gc for a steady memory figure");

const weft = {
  spawnPerSec: await measure(spawnRate),
  bytesPerIdleProcess: await measure(idleBytes),
  roundTripUs: await measure(roundTripUs),
};
const erlang = await runErlang<typeof weft>("weft_bench_local", [
  String(N_SPAWN),
  String(N_IDLE),
  String(N_ROUND),
  String(RUNS),
]);

report(`Local processes (median of ${RUNS} runs)`, [
  {
    name: `spawn rate (${N_SPAWN.toLocaleString("en-US")} processes)`,
    weft: weft.spawnPerSec,
    erlang: erlang?.spawnPerSec,
    unit: "/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    name: "bytes per idle process",
    weft: weft.bytesPerIdleProcess,
    erlang: erlang?.bytesPerIdleProcess,
    unit: "B",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    name: "local send/receive round trip",
    weft: weft.roundTripUs,
    erlang: erlang?.roundTripUs,
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
]);
