/**
 * Distribution benchmarks, two nodes in two OS processes, side by side with
 * Erlang/OTP, each Weft figure both over TCP (Unix sockets off) and over
 * the Unix socket Weft chooses between nodes on one machine:
 *
 * - ping-pong round trip of a small message between a process on each
 *   node (p50 and p99);
 * - one-way throughput of small messages (the sender streams N, the
 *   receiver acknowledges the count at the end);
 * - throughput of 1 MiB messages, the same way;
 * - connect time of a fresh node to a named one, port mapper lookup
 *   included;
 * - raw Deno TCP and Unix socket ping-pong between the same two
 *   processes: references measured the same way, not floors (scheduling
 *   moves them as much as it moves Weft).
 *
 * This process is node `weftbencha`; scripts/bench/_dist_peer.ts runs
 * `weftbenchb` (and the TCP echo server) as a child. Weft's port mapper
 * (`weft epmd`) runs as another child on a private port. Erlang runs the
 * same measurements in scripts/bench/erlang/weft_bench_dist.erl between two
 * `erl -sname` nodes, with Erlang's `epmd` on another private port. The
 * two sides run interleaved, pinned and unpinned, through
 * scripts/bench/_harness.ts; nothing is left running.
 *
 * Run with `deno run -A scripts/bench/dist.ts` (or `deno task bench dist`).
 *
 * @module
 */

import { LocalSocketTransport } from "../../src/distribution/local_socket.ts";
import { TcpTransport } from "../../src/distribution/tcp.ts";
import { startNode, type WeftNode } from "../../src/node.ts";
import type { ProcessContext } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";
import { hasErlang, median, percentile, runErlang } from "./_erlang.ts";
import { type Figures, interleave, reportAB } from "./_harness.ts";
import { freePort, startErlangEpmd, startPeer, startWeftEpmd } from "./_peers.ts";

/** Runs within one side's run; the harness repeats and interleaves the sides. */
const RUNS = 1;
const N_RTT = 10_000;
const N_SMALL = 500_000;
const N_BIG = 200;
const N_CONNECT = 9;
const COOKIE = "weft-bench-dist";
const MIB = 1024 * 1024;

const PEER = new URL("./_dist_peer.ts", import.meta.url).pathname;

/** The figures measured on each side. */
interface DistFigures {
  rttP50Us: number;
  rttP99Us: number;
  smallPerSec: number;
  bigMiBPerSec: number;
  connectMs: number;
}

/** The peer node child: its name, distribution port and TCP echo port. */
function startDistPeer(epmdPort: number) {
  return startPeer<{ name: string; tcpPort: number; unixPath: string }>(PEER, [
    "--sname",
    "weftbenchb",
    "--cookie",
    COOKIE,
    "--epmd-port",
    String(epmdPort),
  ]);
}

async function call<T>(me: ProcessContext, to: Pid | { name: string; node: string }, msg: object) {
  me.send(to, { from: me.self, ...msg });
  return await me.receive<T>(undefined, { timeout: 30_000 });
}

/** N ping-pongs; the round-trip time of each, in microseconds. */
async function rtt(me: ProcessContext, echo: Pid, n: number): Promise<number[]> {
  const times: number[] = [];
  const from = me.self;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    me.send(echo, { from, ping: i });
    await me.receive();
    times.push((performance.now() - t0) * 1000);
  }
  return times;
}

/** Streams `n` copies of `msg(i)`, waiting only while the connection is busy; returns per second. */
async function stream(
  node: WeftNode,
  peer: string,
  me: ProcessContext,
  sink: Pid,
  n: number,
  msg: (i: number) => unknown,
  every: number,
): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    me.send(sink, msg(i));
    if (i % every === 0 && node.kernel.busy(peer)) await node.kernel.drain(peer);
  }
  const { count } = await call<{ count: number }>(me, sink, { done: n });
  if (count !== n) throw new Error(`The sink counted ${count} messages, not ${n}`);
  return n / ((performance.now() - t0) / 1000);
}

/** A fresh node connects to `peer` by name (lookup, socket, handshake); milliseconds. */
async function connectMs(
  epmdPort: number,
  peer: string,
  i: number,
  mode: "auto" | "off",
): Promise<number> {
  const fresh = await startNode({
    sname: `weftbenchc${i}`,
    cookie: COOKIE,
    epmdPort,
    startEpmd: false,
    transport: transport(mode),
  });
  try {
    const t0 = performance.now();
    if (!(await fresh.connect(peer))) throw new Error(`Cannot connect to ${peer}`);
    return performance.now() - t0;
  } finally {
    await fresh.stop();
  }
}

/** Raw ping-pong of 32 bytes over `conn` with the peer's echo server, in microseconds; closes `conn`. */
async function echoRtt(conn: Deno.Conn, n: number): Promise<number[]> {
  const out = new Uint8Array(32).fill(7);
  const buf = new Uint8Array(32);
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await conn.write(out);
      let got = 0;
      while (got < out.length) {
        const r = await conn.read(buf.subarray(got));
        if (r === null) throw new Error("The echo server closed the connection");
        got += r;
      }
      times.push((performance.now() - t0) * 1000);
    }
  } finally {
    conn.close();
  }
  return times;
}

/** The transport of a node: Unix sockets to nodes on this machine (`auto`), or TCP alone (`off`). */
function transport(mode: "auto" | "off"): LocalSocketTransport {
  return new LocalSocketTransport(new TcpTransport(), mode);
}

/** Every figure of one side, with node `weftbencha` dialling over `mode`'s transport. */
async function suite(
  epmdPort: number,
  peer: string,
  mode: "auto" | "off",
): Promise<DistFigures> {
  const node = await startNode({
    sname: "weftbencha",
    cookie: COOKIE,
    epmdPort,
    startEpmd: false,
    transport: transport(mode),
  });
  try {
    if (!(await node.connect(peer))) throw new Error(`Cannot connect to ${peer}`);
    const via = node.kernel.connectionStats()[0]?.remoteAddr ?? "";
    if (via.startsWith("unix:") !== (mode === "auto")) {
      throw new Error(`The ${mode} node reached ${peer} through ${via}`);
    }
    const me = node.runtime.open({ label: "bench" });
    const echo = await call<Pid>(me, { name: "echo", node: peer }, { whereis: true });
    const sink = await call<Pid>(me, { name: "sink", node: peer }, { whereis: true });

    await rtt(me, echo, 1000);
    const rtts: number[][] = [];
    for (let r = 0; r < RUNS; r++) rtts.push(await rtt(me, echo, N_RTT));
    const small: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      small.push(await stream(node, peer, me, sink, N_SMALL, (i) => i, 1024));
    }
    const payload = new Uint8Array(MIB).fill(7);
    const big: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      big.push(await stream(node, peer, me, sink, N_BIG, () => payload, 1));
    }
    const connect: number[] = [];
    for (let i = 0; i < N_CONNECT; i++) connect.push(await connectMs(epmdPort, peer, i, mode));
    me.exit("normal");
    return {
      rttP50Us: median(rtts.map((s) => percentile(s, 50))),
      rttP99Us: median(rtts.map((s) => percentile(s, 99))),
      smallPerSec: median(small),
      bigMiBPerSec: median(big),
      connectMs: median(connect),
    };
  } finally {
    await node.stop();
  }
}

/** Raw Deno socket round trips with the peer's echo server: p50 and p99. */
async function rawRtt(conn: () => Promise<Deno.Conn>): Promise<[number, number]> {
  await echoRtt(await conn(), 1000);
  const runs: number[][] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await echoRtt(await conn(), N_RTT));
  return [median(runs.map((s) => percentile(s, 50))), median(runs.map((s) => percentile(s, 99)))];
}

async function measureWeft(): Promise<Figures> {
  const epmdPort = freePort();
  const epmd = await startWeftEpmd(epmdPort);
  let peer: Awaited<ReturnType<typeof startDistPeer>> | undefined;
  try {
    peer = await startDistPeer(epmdPort);
    const tcp = await suite(epmdPort, peer.name, "off");
    const uds = await suite(epmdPort, peer.name, "auto");
    const tcpPort = peer.tcpPort;
    const unixPath = peer.unixPath;
    const [tcpP50Us, tcpP99Us] = await rawRtt(async () => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: tcpPort });
      c.setNoDelay(true);
      return c;
    });
    const [unixP50Us, unixP99Us] = await rawRtt(() =>
      Deno.connect({ transport: "unix", path: unixPath })
    );
    const figures: Figures = { ...tcp, tcpP50Us, tcpP99Us, unixP50Us, unixP99Us };
    for (const [k, v] of Object.entries(uds)) figures[`${k}Uds`] = v;
    return figures;
  } finally {
    await peer?.stop();
    await epmd.stop();
  }
}

async function measureErlang(): Promise<DistFigures | undefined> {
  if (!(await hasErlang())) return undefined;
  const epmdPort = freePort();
  const epmd = await startErlangEpmd(epmdPort);
  try {
    return await runErlang<DistFigures>(
      "weft_bench_dist",
      [N_RTT, N_SMALL, N_BIG, N_CONNECT, RUNS].map(String),
      { erlArgs: ["-setcookie", COOKIE], env: { ERL_EPMD_PORT: String(epmdPort) } },
    );
  } finally {
    await epmd.stop();
  }
}

const samples = await interleave({
  weft: measureWeft,
  erlang: async () => {
    const figures = await measureErlang();
    return figures && { ...figures };
  },
});

const N_SMALL_TEXT = N_SMALL.toLocaleString("en-US");

reportAB("Distribution between two OS processes", [
  {
    key: "rttP50Us",
    name: "round trip p50 (small message), TCP",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "rttP99Us",
    name: "round trip p99 (small message), TCP",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "rttP50UsUds",
    erlangKey: "rttP50Us",
    name: "round trip p50 (small message), Weft over a Unix socket, Erlang over TCP",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 0.8 },
  },
  {
    key: "rttP99UsUds",
    erlangKey: "rttP99Us",
    name: "round trip p99, Weft over a Unix socket",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "smallPerSec",
    name: `one-way small messages (${N_SMALL_TEXT}), TCP`,
    unit: "msg/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "smallPerSecUds",
    erlangKey: "smallPerSec",
    name: `one-way small messages (${N_SMALL_TEXT}), Weft over a Unix socket`,
    unit: "msg/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "bigMiBPerSec",
    name: `1 MiB messages (${N_BIG}), TCP`,
    unit: "MiB/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "bigMiBPerSecUds",
    erlangKey: "bigMiBPerSec",
    name: `1 MiB messages (${N_BIG}), Weft over a Unix socket`,
    unit: "MiB/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
  {
    key: "connectMs",
    name: `connect with name lookup (median of ${N_CONNECT}), TCP`,
    unit: "ms",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "connectMsUds",
    erlangKey: "connectMs",
    name: `connect with name lookup (median of ${N_CONNECT}), Weft over a Unix socket`,
    unit: "ms",
    higherIsBetter: false,
    target: { max: 1 },
  },
  {
    key: "tcpP50Us",
    erlangKey: null,
    name: "raw Deno TCP round trip p50, same two processes",
    unit: "µs",
    higherIsBetter: false,
  },
  {
    key: "tcpP99Us",
    erlangKey: null,
    name: "raw Deno TCP round trip p99, same two processes",
    unit: "µs",
    higherIsBetter: false,
  },
  {
    key: "unixP50Us",
    erlangKey: null,
    name: "raw Deno Unix socket round trip p50, same two processes",
    unit: "µs",
    higherIsBetter: false,
  },
  {
    key: "unixP99Us",
    erlangKey: null,
    name: "raw Deno Unix socket round trip p99, same two processes",
    unit: "µs",
    higherIsBetter: false,
  },
], samples);
