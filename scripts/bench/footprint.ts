/**
 * What an idle node costs the OS, side by side with Erlang/OTP: the
 * resident set size (VmRSS) of
 *
 * - a bare Deno process running an empty script that waits (the runtime
 *   alone, the reference Weft builds on);
 * - an idle Weft node, `deno run -A main.ts --name ... --no-repl`, with
 *   distribution listening (and no port mapper);
 * - an idle Erlang node, `erl -noshell -sname ...` (its own `epmd` on a
 *   private port);
 *
 * each read once its process is ready and its RSS has settled (two reads
 * 250 ms apart within 1%, or 5 s). "Weft above Deno" is the node less the
 * bare runtime: what Weft itself adds (target: at most 10 MiB).
 *
 * Run with `deno run -A scripts/bench/footprint.ts` (or `deno task bench footprint`).
 *
 * @module
 */

import { runErlangIdleRss } from "./_footprint_erlang.ts";
import { interleave, reportAB } from "./_harness.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const MIB = 1024 * 1024;

/** VmRSS of process `pid`, in bytes. */
export async function rssOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`No VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** The RSS of `pid` once two reads 250 ms apart agree within 1% (or after 5 s). */
export async function settledRss(pid: number): Promise<number> {
  let last = await rssOf(pid);
  const deadline = Date.now() + 5_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await rssOf(pid);
    if (Math.abs(now - last) <= last * 0.01 || Date.now() > deadline) return now;
    last = now;
  }
}

/** Starts `args`, waits for a line matching `ready` on stdout or stderr, returns its settled RSS. */
async function idleRss(command: string, args: string[], ready: RegExp): Promise<number> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  try {
    const seen = await Promise.race(
      [child.stdout, child.stderr].map(async (stream) => {
        let text = "";
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
          text += chunk;
          if (ready.test(text)) return true;
        }
        return await new Promise<boolean>(() => {}); // This stream ended; the other may match.
      }).concat(child.status.then(() => false)),
    );
    if (!seen) throw new Error(`${command} ${args.join(" ")} exited before it was ready`);
    return await settledRss(child.pid);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await child.status;
  }
}

async function measureWeft(): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "weft-footprint-" });
  try {
    const empty = `${dir}/empty.ts`;
    await Deno.writeTextFile(empty, 'console.log("ready");\nsetInterval(() => {}, 1 << 30);\n');
    const deno = await idleRss(Deno.execPath(), ["run", "-A", empty], /ready/);
    const node = await idleRss(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "--name",
      "footprint@127.0.0.1",
      "--no-epmd",
      "--cookie",
      "footprint",
      "--no-repl",
      "--data-dir",
      `${dir}/data`,
      "--log-level",
      "info",
    ], /listening on/);
    return { denoMiB: deno / MIB, nodeMiB: node / MIB, aboveDenoMiB: (node - deno) / MIB };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const samples = await interleave({
  weft: measureWeft,
  erlang: async () => {
    const rss = await runErlangIdleRss(idleRss);
    return rss === undefined ? undefined : { nodeMiB: rss / MIB };
  },
});

reportAB("Idle footprint (OS RSS)", [
  {
    key: "nodeMiB",
    name: "idle node, distribution listening (Erlang: erl -noshell -sname)",
    unit: "MiB",
    higherIsBetter: false,
  },
  {
    key: "denoMiB",
    erlangKey: null,
    name: "bare Deno running an empty script",
    unit: "MiB",
    higherIsBetter: false,
  },
  {
    key: "aboveDenoMiB",
    erlangKey: null,
    name: "Weft above bare Deno (idle node less the bare runtime)",
    unit: "MiB",
    higherIsBetter: false,
    limit: { max: 10 },
  },
], samples);
