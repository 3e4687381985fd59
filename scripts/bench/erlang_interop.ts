/**
 * Weft <-> Erlang interop benchmark: a Weft node and a real `erl` node, connected over
 * Erlang's distribution protocol (`src/erlang/`), against two `erl` nodes:
 *
 * - round trip of a small message, a process on each node (p50 and p99): a Weft process sends
 *   `{Self, I}` to the `echo` process of the BEAM node, which answers `{pong, I}`;
 * - one-way throughput of small messages: the sender streams N integers to `sink`, then
 *   `{Self, done}`, and waits for `{count, N}`.
 *
 * Weft's side: this process is node `weftinterop@127.0.0.1`; the BEAM node runs
 * scripts/bench/erlang/weft_bench_interop.erl (`main(["serve"])`) as a child. Erlang's side:
 * the same module's `main(["measure", ...])` measures between two `erl` nodes. Each side has a
 * Weft port mapper of its own on a private port. The sides run interleaved, pinned and
 * unpinned, through scripts/bench/_harness.ts; nothing is left running.
 *
 * Run with `deno run -A scripts/bench/erlang_interop.ts` (or `deno task bench erlang_interop`).
 *
 * @module
 */

import { startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { atom, type Term, Tuple, tuple } from "../../src/etf/mod.ts";
import { startNode } from "../../src/node.ts";
import { hasErlang, percentile, runErlang } from "./_erlang.ts";
import { type Figures, interleave, reportAB } from "./_harness.ts";

const N_RTT = Number(Deno.env.get("INTEROP_RTT") ?? 5_000);
const N_SMALL = Number(Deno.env.get("INTEROP_SMALL") ?? 200_000);
const COOKIE = "weftinterop";

/** Compiles the Erlang module into a temporary directory. */
async function compile(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "weft-bench-interop-" });
  const src = `${dir}/weft_bench_interop.erl`;
  await Deno.writeTextFile(
    src,
    await Deno.readTextFile(new URL("./erlang/weft_bench_interop.erl", import.meta.url)),
  );
  const out = await new Deno.Command("erlc", { args: ["-o", dir, src] }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return dir;
}

async function weftSide(): Promise<Figures> {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const dir = await compile();
  const node = await startNode({
    name: "weftinterop@127.0.0.1",
    cookie: COOKIE,
    hostname: "127.0.0.1",
    epmdPort: epmd.port,
    startEpmd: false,
    dataDir: `${dir}/data`,
  });
  const erl = new Deno.Command("erl", {
    args: [
      "-name",
      "erlinterop@127.0.0.1",
      "-setcookie",
      COOKIE,
      "-noshell",
      "-pa",
      dir,
      "-run",
      "weft_bench_interop",
      "main",
      "serve",
    ],
    env: { ERL_EPMD_PORT: String(epmd.port) },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = erl.stdout.getReader();
    let text = "";
    while (!text.includes("serving")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the BEAM node ended before serving");
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    erl.stdout.cancel().catch(() => {});
    const peer = "erlinterop@127.0.0.1";
    if (!(await node.connect(peer))) throw new Error(`Cannot connect to ${peer}`);
    const me = node.runtime.open();
    const echo = { name: "echo", node: peer };
    const sink = { name: "sink", node: peer };
    const isPong = (k: number) => (m: unknown) => m instanceof Tuple && m.elements[1] === k;
    const rtt = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let k = n; k > 0; k--) {
        const t0 = performance.now();
        me.send(echo, tuple(me.self, k));
        await me.receive(isPong(k));
        out.push((performance.now() - t0) * 1000);
      }
      return out;
    };
    await rtt(500);
    const rtts = await rtt(N_RTT);
    const t0 = performance.now();
    for (let k = N_SMALL; k > 0; k--) me.send(sink, k as Term);
    me.send(sink, tuple(me.self, atom("done")));
    await me.receive((m) => m instanceof Tuple && m.elements[1] === N_SMALL);
    const small = N_SMALL / ((performance.now() - t0) / 1000);
    me.exit("normal");
    return {
      rttP50Us: percentile(rtts, 50),
      rttP99Us: percentile(rtts, 99),
      smallPerSec: small,
    };
  } finally {
    erl.kill("SIGKILL");
    await erl.status;
    await node.stop();
    await epmd.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function erlangSide(): Promise<Figures | undefined> {
  if (!(await hasErlang())) return undefined;
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  try {
    return await runErlang<Figures>(
      "weft_bench_interop",
      ["measure", String(N_RTT), String(N_SMALL)],
      {
        erlArgs: ["-name", "erlintera@127.0.0.1", "-setcookie", COOKIE],
        env: { ERL_EPMD_PORT: String(epmd.port) },
      },
    );
  } finally {
    await epmd.close();
  }
}

const samples = await interleave({ weft: weftSide, erlang: erlangSide });
reportAB(`Weft <-> erl over Erlang's distribution, against erl <-> erl`, [
  {
    key: "rttP50Us",
    name: "round trip p50",
    unit: "µs",
    higherIsBetter: false,
    target: { max: 1.2 },
  },
  { key: "rttP99Us", name: "round trip p99", unit: "µs", higherIsBetter: false },
  {
    key: "smallPerSec",
    name: `one-way small messages (${N_SMALL})`,
    unit: "msg/s",
    higherIsBetter: true,
    target: { min: 1 },
  },
], samples);
