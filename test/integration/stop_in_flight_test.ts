/**
 * Issue 12 item 10: Deno 2.6.8 corrupted its heap and aborted (status 134)
 * when three nodes in one process were stopped right after 200
 * `global.register` calls, in 5 of 24 runs (on this machine, with the code
 * of the day, 2 of 36). The reproduction runs in a child process so that an
 * abort is an exit status, not the end of the suite; 24 runs, every one
 * must exit 0.
 */

import assert from "node:assert/strict";

const MAIN = new URL("./_stop_in_flight_main.ts", import.meta.url).pathname;
const RUNS = 24;
/** Two at a time: the machine is shared, and an abort does not need more. */
const PARALLEL = 2;

async function runOnce(): Promise<{ code: number; signal: string | null; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, signal: out.signal, output: decode(out.stdout) + decode(out.stderr) };
}

Deno.test(`three nodes stopped right after 200 global.register calls exit 0, ${RUNS} runs of ${RUNS}`, async () => {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < RUNS) {
      const run = ++next;
      const { code, signal, output } = await runOnce();
      if (code !== 0 || !output.includes("stopped")) {
        failures.push(`run ${run}: status ${code} (signal ${signal}):\n${output}`);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  assert.deepEqual(failures, [], `${failures.length} of ${RUNS} runs failed`);
});
