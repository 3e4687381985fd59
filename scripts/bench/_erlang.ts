/**
 * Runs the Erlang side of a benchmark: compiles a module from
 * scripts/bench/erlang/ into a temporary directory and runs its `main/1`
 * with `erl -noshell`, parsing the one JSON line it prints. Returns
 * `undefined` when `erl` is not on PATH, so benchmarks still run without it.
 *
 * @module
 */

/** Whether `erl` and `erlc` can be run here. */
export async function hasErlang(): Promise<boolean> {
  try {
    const out = await new Deno.Command("erl", {
      args: ["-noshell", "-eval", "halt(0)."],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Options for {@linkcode runErlang}. */
export interface RunErlangOptions {
  /** Extra arguments for `erl` before `-run` (e.g. `-sname`). */
  erlArgs?: string[];
  /** Environment for the `erl` process. */
  env?: Record<string, string>;
}

/**
 * Compiles `scripts/bench/erlang/<module>.erl` and runs `module:main(Args)`.
 *
 * @param module the module name (file name without `.erl`)
 * @param args string arguments passed to `main/1`
 * @returns the parsed JSON the module printed, or `undefined` without Erlang
 * @throws {Error} when compiling or running fails
 */
export async function runErlang<T>(
  module: string,
  args: string[],
  options: RunErlangOptions = {},
): Promise<T | undefined> {
  if (!(await hasErlang())) return undefined;
  const dir = await Deno.makeTempDir({ prefix: "weft-bench-erl-" });
  try {
    const src = new URL(`./erlang/${module}.erl`, import.meta.url);
    const srcPath = `${dir}/${module}.erl`;
    await Deno.writeTextFile(srcPath, await (await fetch(src)).text());
    const compiled = await new Deno.Command("erlc", { args: ["-o", dir, srcPath] }).output();
    if (!compiled.success) {
      throw new Error(`Cannot compile ${module}.erl: ${new TextDecoder().decode(compiled.stderr)}`);
    }
    const run = await new Deno.Command("erl", {
      args: [...(options.erlArgs ?? []), "-noshell", "-pa", dir, "-run", module, "main", ...args],
      env: options.env ?? {},
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stdout).trim();
    if (!run.success) {
      throw new Error(
        `Erlang benchmark ${module} failed: ${new TextDecoder().decode(run.stderr)}${text}`,
      );
    }
    const line = text.split("\n").findLast((l) => l.startsWith("{"));
    if (!line) throw new Error(`Erlang benchmark ${module} printed no result: ${text}`);
    return JSON.parse(line) as T;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The `p`-th percentile (0–100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** One row of a benchmark report. */
export interface Figure {
  /** What was measured. */
  name: string;
  /** Weft's figure. */
  weft: number;
  /** Erlang's figure, when Erlang ran. */
  erlang?: number | undefined;
  /** The unit, e.g. "µs" or "msg/s". */
  unit: string;
  /** Whether a higher figure is better (rates) or lower (latencies, bytes). */
  higherIsBetter: boolean;
  /** The target as a ratio weft/erlang, e.g. `{ max: 0.5 }` or `{ min: 2 }`. */
  target?: { min?: number; max?: number };
}

/** Prints a table of figures with weft/erlang ratios and whether each target is met. */
export function report(title: string, figures: Figure[]): void {
  console.log(`\n## ${title}\n`);
  console.log("| measure | weft | erlang | weft/erlang | target | met |");
  console.log("|---|---|---|---|---|---|");
  for (const f of figures) {
    const ratio = f.erlang ? f.weft / f.erlang : undefined;
    const target = f.target
      ? (f.target.min !== undefined ? `>= ${f.target.min}x` : `<= ${f.target.max}x`)
      : "";
    const met = ratio === undefined || !f.target
      ? ""
      : (f.target.min !== undefined ? ratio >= f.target.min : ratio <= f.target.max!)
      ? "yes"
      : "NO";
    console.log(
      `| ${f.name} | ${fmt(f.weft)} ${f.unit} | ${
        f.erlang === undefined ? "n/a" : `${fmt(f.erlang)} ${f.unit}`
      } | ${ratio === undefined ? "n/a" : ratio.toFixed(3)} | ${target} | ${met} |`,
    );
  }
}

function fmt(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toPrecision(4);
}
