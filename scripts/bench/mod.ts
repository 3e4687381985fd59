/**
 * `deno task bench`: runs every Weft benchmark in turn, each side by side
 * with its Erlang/OTP equivalent when `erl` is on PATH. Pass names to run
 * a subset: `deno task bench local dist`. docs/benchmarks.md explains the
 * figures and how the side-by-side ones are run (scripts/bench/_harness.ts).
 *
 * @module
 */

const ALL = [
  "local",
  "dist",
  "rpc",
  "groups",
  "footprint",
  "crdt",
  "observability",
  "raft_log",
  "raft",
  "multi_region",
  "registry",
  "erlang_interop",
  "eventstore",
] as const;
const wanted = Deno.args.length > 0 ? Deno.args : [...ALL];

for (const name of wanted) {
  if (!(ALL as readonly string[]).includes(name)) {
    console.error(`Unknown benchmark: ${name} (have ${ALL.join(", ")})`);
    Deno.exit(2);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL(`./${name}.ts`, import.meta.url).pathname,
    ],
    stdout: "inherit",
    stderr: "inherit",
  });
  const status = await child.output();
  if (!status.success) {
    console.error(`Benchmark ${name} failed with exit code ${status.code}`);
    Deno.exit(1);
  }
}
