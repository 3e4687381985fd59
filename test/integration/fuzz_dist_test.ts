/**
 * `scripts/fuzz_dist.ts` at a small scale, so that a change to the
 * protocol that breaks the fuzzer (CI runs it at 100,000 inputs before the
 * suite) shows in the suite too, and so that its verdict is checked: the
 * live node refused strangers and closed bad connections, and survived.
 */

import assert from "node:assert/strict";

const SCRIPT = new URL("../../scripts/fuzz_dist.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("fuzz_dist sends its inputs to a live node, which survives them and says why it closed connections", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--inputs", "400", "--lanes", "4", "--seed", "7"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /fuzz_dist: ok: no crash/);
  const inputs = Number(
    /inputs: (\d+) \((\d+) before authentication, (\d+) after\)/.exec(text)?.[1],
  );
  assert.ok(inputs >= 400, text);
  assert.match(text, /refused before authentication: /, "strangers were refused");
  assert.match(
    text,
    /closed after authentication: /,
    "bad frames closed authenticated connections",
  );
  assert.match(text, /heap in use after garbage collection: \d+ MiB before, \d+ MiB after/);
});
