/**
 * The A/B harness every side-by-side benchmark runs through, so that no
 * figure is decided by which side ran first or on which CPU:
 *
 * ```
 * bench.ts (orchestrator)                       bench.ts --side weft|erlang (child)
 *   round 1: pinned   taskset -c 0 ... weft  -->  measure once, print BENCH-RESULT {json}
 *                     taskset -c 0 ... erlang -->  (erl and every peer inherit the CPU set)
 *            unpinned ... erlang, ... weft     -->  (order alternates, A/B/B/A)
 *   round 2: ...
 *   table: median (min-max) of each figure, pinned and unpinned, and the ratios
 * ```
 *
 * Each child measures one side once, in a fresh OS process, and its nodes,
 * peers and port mappers inherit the CPU affinity it was started with, so
 * "pinned" means both nodes of both sides share the same CPU set
 * (`BENCH_CPUS`, default `0`: one CPU), where threads never wait for
 * another vCPU to wake. "Unpinned" lets the kernel place them. The "met"
 * column is judged on the ratio of the pinned medians. Erlang runs with its
 * default scheduler settings, one scheduler per CPU it may use (stated
 * under each table). A child that fails fails the whole benchmark.
 *
 * Environment: `BENCH_ROUNDS` (default 3 rounds of each placement),
 * `BENCH_CPUS` (the pinned CPU list for `taskset -c`), `BENCH_PIN`
 * (`both`, `pinned` or `unpinned`), `BENCH_JSON` (a file to write every
 * sample to).
 *
 * @module
 */

import { hasErlang, median } from "./_erlang.ts";

/** The figures one side measured in one run, by key. */
export type Figures = Record<string, number>;

/** The two sides of a benchmark; `erlang` resolves to `undefined` without `erl`. */
export interface Sides {
  /** Measures Weft's side once. */
  weft(): Promise<Figures>;
  /** Measures Erlang's side once (or the peer's, when `peer` names another system). */
  erlang?(): Promise<Figures | undefined>;
  /**
   * When the other side is not Erlang (etcd for Raft): its name, and whether it is installed
   * here. Default: Erlang, available when `erl` runs.
   */
  peer?: { name: string; available(): Promise<boolean> };
}

/** One row of an A/B table. */
export interface Row {
  /** The key of Weft's figure. */
  key: string;
  /** The key of Erlang's figure; defaults to `key`; `null` for a row Erlang has no figure for. */
  erlangKey?: string | null;
  /** What was measured. */
  name: string;
  /** The unit, e.g. "µs" or "msg/s". */
  unit: string;
  /** Whether a higher figure is better (rates) or lower (latencies, bytes). */
  higherIsBetter: boolean;
  /** The target as a ratio weft/erlang of the pinned medians. */
  target?: { min?: number; max?: number };
  /**
   * For a figure with no Erlang counterpart (`erlangKey: null`): a bound on
   * Weft's pinned median itself, in `unit` (what Weft adds above bare Deno).
   */
  limit?: { min?: number; max?: number };
}

/** The placement of a run. */
export type Placement = "pinned" | "unpinned";

/** Every sample of one benchmark: by placement, by side, one Figures per round. */
export interface Samples {
  /** The samples of each placement. */
  runs: Record<Placement, { weft: Figures[]; erlang: Figures[]; load: number[] }>;
  /** Erlang's default scheduler count in each placement (0 without `erl`). */
  schedulers: Record<Placement, number>;
  /** The CPU list pinned runs used. */
  cpus: string;
  /** The other side's name: "erlang" unless `Sides.peer` named another. */
  peer: string;
}

const RESULT = "BENCH-RESULT ";

/** The side this process was asked to measure (`--side weft|erlang`), if any. */
function sideArg(): "weft" | "erlang" | undefined {
  const i = Deno.args.indexOf("--side");
  if (i < 0) return undefined;
  const side = Deno.args[i + 1];
  if (side !== "weft" && side !== "erlang") {
    console.error(`--side takes weft or erlang, not ${side}`);
    Deno.exit(2);
  }
  return side;
}

/** `taskset -c cpus` when pinned (and taskset exists), nothing otherwise. */
async function pinPrefix(placement: Placement, cpus: string): Promise<string[]> {
  if (placement === "unpinned") return [];
  try {
    const ok = await new Deno.Command("taskset", { args: ["-c", cpus, "true"] }).output();
    if (ok.success) return ["taskset", "-c", cpus];
  } catch {
    // No taskset here.
  }
  throw new Error(
    `Cannot pin to CPUs ${cpus} (taskset missing or refused); set BENCH_PIN=unpinned`,
  );
}

/** Runs one side in a child (`prefix deno run ... --side side`) and parses its result. */
async function runSide(prefix: string[], side: "weft" | "erlang"): Promise<Figures | undefined> {
  const script = new URL(Deno.mainModule).pathname;
  const argv = [
    ...prefix,
    Deno.execPath(),
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    script,
    "--side",
    side,
  ];
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`The ${side} side of ${script} failed: ${text}`);
  const line = text.split("\n").findLast((l) => l.startsWith(RESULT));
  if (!line) throw new Error(`The ${side} side of ${script} printed no result: ${text}`);
  const figures = JSON.parse(line.slice(RESULT.length)) as Figures | null;
  return figures ?? undefined;
}

/** Erlang's default `schedulers_online` under `prefix`. */
async function erlangSchedulers(prefix: string[]): Promise<number> {
  const argv = [
    ...prefix,
    "erl",
    "-noshell",
    "-eval",
    'io:format("~p~n", [erlang:system_info(schedulers_online)]), halt().',
  ];
  const out = await new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "piped" }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/**
 * Runs `sides` interleaved, pinned and unpinned, `BENCH_ROUNDS` times each.
 * Called with `--side weft|erlang` it instead measures that side once,
 * prints the result line and exits (the orchestrator's child).
 *
 * @param sides how to measure each side once
 * @returns every sample, for {@linkcode reportAB}
 */
export async function interleave(sides: Sides): Promise<Samples> {
  const side = sideArg();
  if (side !== undefined) {
    const figures = side === "weft" ? await sides.weft() : await sides.erlang?.();
    console.log(RESULT + JSON.stringify(figures ?? null));
    Deno.exit(0);
  }
  const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`BENCH_ROUNDS must be a positive integer, not ${rounds}`);
  }
  const cpus = Deno.env.get("BENCH_CPUS") ?? "0";
  const pin = Deno.env.get("BENCH_PIN") ?? "both";
  const placements: Placement[] = pin === "both"
    ? ["pinned", "unpinned"]
    : pin === "pinned" || pin === "unpinned"
    ? [pin]
    : (() => {
      throw new RangeError(`BENCH_PIN must be both, pinned or unpinned, not ${pin}`);
    })();
  const erl = sides.erlang !== undefined &&
    (sides.peer ? await sides.peer.available() : await hasErlang());
  const samples: Samples = {
    runs: {
      pinned: { weft: [], erlang: [], load: [] },
      unpinned: { weft: [], erlang: [], load: [] },
    },
    schedulers: { pinned: 0, unpinned: 0 },
    cpus,
    peer: sides.peer?.name ?? "erlang",
  };
  for (const placement of placements) {
    if (erl && sides.peer === undefined) {
      samples.schedulers[placement] = await erlangSchedulers(await pinPrefix(placement, cpus));
    }
  }
  let flip = false;
  for (let r = 0; r < rounds; r++) {
    const order = flip ? [...placements].reverse() : placements;
    for (const placement of order) {
      const prefix = await pinPrefix(placement, cpus);
      const into = samples.runs[placement];
      const which: ("weft" | "erlang")[] = erl
        ? (flip ? ["erlang", "weft"] : ["weft", "erlang"])
        : ["weft"];
      for (const s of which) {
        into.load.push(Deno.loadavg()[0]!);
        const figures = await runSide(prefix, s);
        if (figures) into[s].push(figures);
      }
      flip = !flip;
    }
  }
  const json = Deno.env.get("BENCH_JSON");
  if (json) {
    await Deno.writeTextFile(json, JSON.stringify({ script: Deno.mainModule, ...samples }) + "\n", {
      append: true,
    });
  }
  return samples;
}

/** Median and spread (min-max) of one figure over the rounds, or undefined without samples. */
function stats(values: number[]): { med: number; min: number; max: number } | undefined {
  if (values.length === 0) return undefined;
  return { med: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function fmt(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toPrecision(3);
}

function cell(s: { med: number; min: number; max: number } | undefined): string {
  return s === undefined ? "n/a" : `${fmt(s.med)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/**
 * Prints the A/B table of `samples`: each figure's median (min–max) pinned
 * and unpinned for both sides, the weft/erlang ratio of the medians, and
 * whether the target is met on the pinned medians. A row without an Erlang
 * figure is a reference, labelled so.
 *
 * @param title the table's title
 * @param rows the rows, in order
 * @param samples what {@linkcode interleave} returned
 */
export function reportAB(title: string, rows: Row[], samples: Samples): void {
  const placements = (["pinned", "unpinned"] as Placement[]).filter((p) =>
    samples.runs[p].weft.length > 0
  );
  const rounds = samples.runs[placements[0] ?? "pinned"].weft.length;
  console.log(`\n## ${title}\n`);
  console.log(`median (min–max) of ${rounds} interleaved runs per placement\n`);
  const head = ["measure"];
  const peer = samples.peer ?? "erlang";
  for (const p of placements) head.push(`weft ${p}`, `${peer} ${p}`, `ratio ${p}`);
  head.push("target", "met (pinned)");
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const row of rows) {
    const erlangKey = row.erlangKey === null ? undefined : (row.erlangKey ?? row.key);
    const reference = erlangKey === undefined && row.limit === undefined;
    const cells = [`${row.name}${reference ? " (reference)" : ""} [${row.unit}]`];
    const ratios: Partial<Record<Placement, number>> = {};
    let weftPinned: number | undefined;
    for (const p of placements) {
      const w = stats(pick(samples.runs[p].weft, row.key));
      if (p === "pinned") weftPinned = w?.med;
      const e = erlangKey === undefined
        ? undefined
        : stats(pick(samples.runs[p].erlang, erlangKey));
      const ratio = w && e ? w.med / e.med : undefined;
      if (ratio !== undefined) ratios[p] = ratio;
      cells.push(
        cell(w),
        erlangKey === undefined ? "—" : cell(e),
        ratio === undefined ? "n/a" : ratio.toFixed(2),
      );
    }
    const limit = row.limit;
    if (limit !== undefined) {
      cells.push(
        limit.min !== undefined ? `>= ${limit.min} ${row.unit}` : `<= ${limit.max} ${row.unit}`,
        weftPinned === undefined
          ? ""
          : (limit.min !== undefined ? weftPinned >= limit.min : weftPinned <= limit.max!)
          ? "yes"
          : "NO",
      );
      console.log(`| ${cells.join(" | ")} |`);
      continue;
    }
    const t = row.target;
    cells.push(t ? (t.min !== undefined ? `>= ${t.min}x` : `<= ${t.max}x`) : "");
    const judged = ratios.pinned;
    cells.push(
      !t || judged === undefined
        ? ""
        : (t.min !== undefined ? judged >= t.min : judged <= t.max!)
        ? "yes"
        : "NO",
    );
    console.log(`| ${cells.join(" | ")} |`);
  }
  const notes: string[] = [];
  for (const p of placements) {
    const load = stats(samples.runs[p].load);
    notes.push(
      `${p}${p === "pinned" ? ` (taskset -c ${samples.cpus})` : ""}: load average ${
        load ? `${load.min.toFixed(2)}–${load.max.toFixed(2)}` : "n/a"
      }${
        peer !== "erlang"
          ? ""
          : `, Erlang ${
            samples.schedulers[p] > 0
              ? `default schedulers (+S ${samples.schedulers[p]}:${samples.schedulers[p]})`
              : "not run (erl not on PATH)"
          }`
      }`,
    );
  }
  console.log(`\n${notes.join("; ")}; ${Deno.osRelease()}, ${navigator.hardwareConcurrency} CPUs`);
}

function pick(figures: Figures[], key: string): number[] {
  return figures.map((f) => f[key]).filter((v): v is number => typeof v === "number");
}
