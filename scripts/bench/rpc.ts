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
 * - a plain message round trip between a process on each node: the floor
 *   of the link, for reading the others.
 *
 * This process is node `weftrpca`; scripts/bench/_rpc_peer.ts runs
 * `weftrpcb` as a child. Weft's port mapper (`weft epmd`) runs as another
 * child on a private port. Erlang runs the same measurements in
 * scripts/bench/erlang/weft_bench_rpc.erl between two `erl -sname` nodes,
 * with Erlang's `epmd` on another private port. Every figure is the median
 * of several runs; nothing is left running.
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
import { hasErlang, median, percentile, report, runErlang } from "./_erlang.ts";
import { freePort, startErlangEpmd, startPeer, startWeftEpmd } from "./_peers.ts";

const RUNS = 5;
const N = 10_000;
const COOKIE = "weft-bench-rpc";

const PEER = new URL("./_rpc_peer.ts", import.meta.url).pathname;

/** The figures measured on each side, in microseconds. */
interface RpcFigures {
  rpcP50Us: number;
  rpcP99Us: number;
  genP50Us: number;
  genP99Us: number;
  msgP50Us: number;
}

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

/** A warm-up, then RUNS runs of N: the median of each run's p50 and p99. */
async function figures(once: (i: number) => Promise<unknown>): Promise<[number, number]> {
  await times(once, 1000);
  const runs: number[][] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await times(once, N));
  return [median(runs.map((s) => percentile(s, 50))), median(runs.map((s) => percentile(s, 99)))];
}

async function measureWeft(): Promise<RpcFigures & { fnP50Us: number; fnP99Us: number }> {
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
      me.exit("normal");
      return { rpcP50Us, rpcP99Us, fnP50Us, fnP99Us, genP50Us, genP99Us, msgP50Us };
    });
  } finally {
    await node?.stop();
    await peer?.stop();
    await epmd.stop();
  }
}

async function measureErlang(): Promise<RpcFigures | undefined> {
  if (!(await hasErlang())) return undefined;
  const epmdPort = freePort();
  const epmd = await startErlangEpmd(epmdPort);
  try {
    return await runErlang<RpcFigures>(
      "weft_bench_rpc",
      [N, RUNS].map(String),
      { erlArgs: ["-setcookie", COOKIE], env: { ERL_EPMD_PORT: String(epmdPort) } },
    );
  } finally {
    await epmd.stop();
  }
}

const weft = await measureWeft();
const erlang = await measureErlang();

report(
  `rpc between two OS processes (${N.toLocaleString("en-US")} calls, median of ${RUNS} runs)`,
  [
    {
      name: "rpc.call round trip p50 (erpc:call)",
      weft: weft.rpcP50Us,
      erlang: erlang?.rpcP50Us,
      unit: "µs",
      higherIsBetter: false,
      target: { max: 0.5 },
    },
    {
      name: "rpc.call round trip p99 (erpc:call)",
      weft: weft.rpcP99Us,
      erlang: erlang?.rpcP99Us,
      unit: "µs",
      higherIsBetter: false,
    },
    {
      name: "rpc.call of a function sent as source, p50",
      weft: weft.fnP50Us,
      erlang: erlang?.rpcP50Us,
      unit: "µs",
      higherIsBetter: false,
    },
    {
      name: "rpc.call of a function sent as source, p99",
      weft: weft.fnP99Us,
      erlang: erlang?.rpcP99Us,
      unit: "µs",
      higherIsBetter: false,
    },
    {
      name: "remote GenServer.call round trip p50 (gen_server:call)",
      weft: weft.genP50Us,
      erlang: erlang?.genP50Us,
      unit: "µs",
      higherIsBetter: false,
      target: { max: 0.5 },
    },
    {
      name: "remote GenServer.call round trip p99 (gen_server:call)",
      weft: weft.genP99Us,
      erlang: erlang?.genP99Us,
      unit: "µs",
      higherIsBetter: false,
    },
    {
      name: "message round trip p50 (the link's floor)",
      weft: weft.msgP50Us,
      erlang: erlang?.msgP50Us,
      unit: "µs",
      higherIsBetter: false,
    },
  ],
);
console.log(
  `\nWeft rpc.call p50 / message round trip p50: ${(weft.rpcP50Us / weft.msgP50Us).toFixed(2)}x` +
    (erlang
      ? `; Erlang erpc:call p50 / message round trip p50: ${
        (erlang.rpcP50Us / erlang.msgP50Us).toFixed(2)
      }x`
      : "\n(erl not on PATH: Erlang figures not measured)"),
);
