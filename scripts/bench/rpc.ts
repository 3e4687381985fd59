/**
 * rpc benchmarks, two nodes in two OS processes, side by side with
 * Erlang/OTP:
 *
 * - `rpc.call(b, "bench", "echo", [i])` round trip (p50, p99), against
 *   `erpc:call(B, weft_bench_rpc, echo, [I])`; both spawn a process on the
 *   far node for each call;
 * - `rpc.call(b, (i) => i, [i])`: the same with a function sent as source;
 * - remote `GenServer.call({name: "echo_server", node: b}, i)` round trip
 *   (p50, p99), against `gen_server:call({echo_server, B}, I)`;
 * - a plain message round trip between a process on each node, for
 *   reading the calls' own cost above it;
 * - calls per second of `rpc.call` and `GenServer.call` with 1, 16, 64
 *   and 256 concurrent calling processes, against `erpc:call` and
 *   `gen_server:call` from as many Erlang processes.
 *
 * This process is node `weftrpca`; scripts/bench/_rpc_peer.ts runs
 * `weftrpcb` as a child. Weft's port mapper (`weft epmd`) runs as another
 * child on a private port. Erlang runs the same measurements in
 * scripts/bench/erlang/weft_bench_rpc.erl between two `erl -sname` nodes,
 * with Erlang's `epmd` on another private port. The two sides run
 * interleaved, pinned and unpinned (scripts/bench/_harness.ts); nothing is
 * left running.
 *
 * Run with `deno run -A scripts/bench/rpc.ts` (or `deno task bench rpc`).
 *
 * @module
 */

import { startNode, type WeftNode } from "../../src/node.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { runInProcess } from "../../src/process/current.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { hasErlang, median, percentile, runErlang } from "./_erlang.ts";
import { type Figures, interleave, reportAB } from "./_harness.ts";
import { freePort, startErlangEpmd, startPeer, startWeftEpmd } from "./_peers.ts";

/** Runs within one side's run; the harness repeats and interleaves the sides. */
const RUNS = 1;
const N = 10_000;
/** Concurrent callers for the calls/s figures, and the calls each level makes in all. */
const CONCURRENCY = [1, 16, 64, 256];
const N_CONCURRENT = 20_480;
const COOKIE = "weft-bench-rpc";

const PEER = new URL("./_rpc_peer.ts", import.meta.url).pathname;

/** The peer node child; resolves with its name once it is ready. */
function startRpcPeer(epmdPort: number) {
  return startPeer<{ name: string }>(PEER, [
    "--sname",
    "weftrpcb",
    "--cookie",
    COOKIE,
    "--epmd-port",
    String(epmdPort),
  ]);
}

/** N timed round trips of `once(i)`, in microseconds each. */
async function times(once: (i: number) => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const back = await once(i);
    out.push((performance.now() - t0) * 1000);
    if (back !== i) throw new Error(`Round trip ${i} came back as ${String(back)}`);
  }
  return out;
}

/**
 * Calls per second of `callers` processes, each making its share of
 * `N_CONCURRENT` calls of `once(i)` one after another, all at once.
 */
async function callsPerSec(
  node: WeftNode,
  callers: number,
  once: (i: number) => Promise<unknown>,
): Promise<number> {
  const me = node.runtime.open({ label: "bench" });
  const each = Math.ceil(N_CONCURRENT / callers);
  const t0 = performance.now();
  for (let c = 0; c < callers; c++) {
    node.runtime.spawn(async (ctx) => {
      for (let i = 0; i < each; i++) {
        const back = await once(i);
        if (back !== i) throw new Error(`Call ${i} came back as ${String(back)}`);
      }
      ctx.send(me.self, "done");
    });
  }
  for (let c = 0; c < callers; c++) await me.receive((m) => m === "done", { timeout: 120_000 });
  const seconds = (performance.now() - t0) / 1000;
  me.exit("normal");
  return (each * callers) / seconds;
}

/** A warm-up, then RUNS runs of N: the median of each run's p50 and p99. */
async function figures(once: (i: number) => Promise<unknown>): Promise<[number, number]> {
  await times(once, 1000);
  const runs: number[][] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await times(once, N));
  return [median(runs.map((s) => percentile(s, 50))), median(runs.map((s) => percentile(s, 99)))];
}

async function measureWeft(): Promise<Figures> {
  const epmdPort = freePort();
  const epmd = await startWeftEpmd(epmdPort);
  let peer: Awaited<ReturnType<typeof startRpcPeer>> | undefined;
  let node: WeftNode | undefined;
  try {
    peer = await startRpcPeer(epmdPort);
    node = await startNode({ sname: "weftrpca", cookie: COOKIE, epmdPort, startEpmd: false });
    if (!(await node.connect(peer.name))) throw new Error(`Cannot connect to ${peer.name}`);
    const b = peer.name;
    const rpc = node.rpc;
    const me: ProcessContext = node.runtime.open({ label: "bench" });
    return await runInProcess(me, async () => {
      const [rpcP50Us, rpcP99Us] = await figures((i) => rpc.call(b, "bench", "echo", [i]));
      const [fnP50Us, fnP99Us] = await figures((i) => rpc.call(b, (x: number) => x, [i]));
      const server = { name: "echo_server", node: b };
      const [genP50Us, genP99Us] = await figures((i) => GenServer.call(server, i));
      const echo = { name: "echo", node: b };
      const from: Pid = me.self;
      const [msgP50Us] = await figures(async (i) => {
        me.send(echo, { from, ping: i });
        return (await me.receive<{ pong: number }>()).pong;
      });
      const [msgP99Us] = (await figures(async (i) => {
        me.send(echo, { from, ping: i });
        return (await me.receive<{ pong: number }>()).pong;
      })).slice(1);
      me.exit("normal");
      const concurrent: Record<string, number> = {};
      for (const c of CONCURRENCY) {
        concurrent[`rpcC${c}PerSec`] = await callsPerSec(
          node!,
          c,
          (i) => rpc.call(b, "bench", "echo", [i]),
        );
        concurrent[`genC${c}PerSec`] = await callsPerSec(
          node!,
          c,
          (i) => GenServer.call(server, i),
        );
      }
      return {
        rpcP50Us,
        rpcP99Us,
        fnP50Us,
        fnP99Us,
        genP50Us,
        genP99Us,
        msgP50Us,
        msgP99Us: msgP99Us!,
        ...concurrent,
      };
    });
  } finally {
    await node?.stop();
    await peer?.stop();
    await epmd.stop();
  }
}

async function measureErlang(): Promise<Figures | undefined> {
  if (!(await hasErlang())) return undefined;
  const epmdPort = freePort();
  const epmd = await startErlangEpmd(epmdPort);
  try {
    return await runErlang<Figures>(
      "weft_bench_rpc",
      [N, RUNS, N_CONCURRENT, CONCURRENCY.join(",")].map(String),
      { erlArgs: ["-setcookie", COOKIE], env: { ERL_EPMD_PORT: String(epmdPort) } },
    );
  } finally {
    await epmd.stop();
  }
}

const samples = await interleave({ weft: measureWeft, erlang: measureErlang });

reportAB(`rpc between two OS processes (${N.toLocaleString("en-US")} calls a run)`, [
  {
    key: "rpcP50Us",
    name: "rpc.call round trip p50 (erpc:call)",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 0.9 },
  },
  {
    key: "rpcP99Us",
    name: "rpc.call round trip p99 (erpc:call)",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "fnP50Us",
    erlangKey: "rpcP50Us",
    name: "rpc.call of a function sent as source, p50 (erpc:call of a module function)",
    unit: "µs",
    higherIsBetter: false,
  },
  {
    key: "genP50Us",
    name: "remote GenServer.call round trip p50 (gen_server:call)",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 0.9 },
  },
  {
    key: "genP99Us",
    name: "remote GenServer.call round trip p99 (gen_server:call)",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "msgP50Us",
    name: "message round trip p50, the same link (for reading the calls' overhead)",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "msgP99Us",
    name: "message round trip p99, the same link",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  ...CONCURRENCY.flatMap((c) => [
    {
      key: `rpcC${c}PerSec`,
      name: `rpc.call, ${c} concurrent callers (erpc:call)`,
      unit: "calls/s",
      higherIsBetter: true,
      ...(c === 64 ? { target: { min: 2 } } : {}),
    },
    {
      key: `genC${c}PerSec`,
      name: `GenServer.call, ${c} concurrent callers (gen_server:call)`,
      unit: "calls/s",
      higherIsBetter: true,
      ...(c === 64 ? { target: { min: 2 } } : {}),
    },
  ]),
], samples);

/** The per-call cost above a plain message round trip, p50, from the pinned medians. */
function overhead(side: "weft" | "erlang", key: string): string {
  const runs = samples.runs.pinned[side];
  if (runs.length === 0) return "n/a";
  const call = median(runs.map((f) => f[key]!));
  const msg = median(runs.map((f) => f.msgP50Us!));
  return `${(call - msg).toFixed(1)} µs`;
}
console.log(
  `\nCost above a message round trip (pinned p50): rpc.call ${overhead("weft", "rpcP50Us")}, ` +
    `erpc:call ${overhead("erlang", "rpcP50Us")}; GenServer.call ${
      overhead("weft", "genP50Us")
    }, gen_server:call ${overhead("erlang", "genP50Us")}`,
);
