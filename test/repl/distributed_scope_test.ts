import assert from "node:assert/strict";
import { runWeft } from "../helpers/weft_process.ts";

Deno.test("shell: horde.registry registers the shell and looks it up; h(horde.supervisor) documents it", async () => {
  const run = await runWeft([
    "--name",
    "hshell@127.0.0.1",
    "--no-epmd",
    "--cookie",
    "c",
    "--eval",
    [
      'await horde.registry("names").register("me", { role: "shell" });',
      'console.log(horde.registry("names").lookup("me")[0].value);',
      "console.log(horde.info());",
      "h(horde.supervisor);",
    ].join("\n"),
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /\{ role: "shell" \}/);
  assert.match(run.stdout, /registries: \[ "names" \]/);
  assert.match(
    run.stdout,
    /horde\.supervisor\(name, \{ strategy\?, members\?, quorum\?, rebalance\? \}\)/,
  );
});
