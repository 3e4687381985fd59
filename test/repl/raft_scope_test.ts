import assert from "node:assert/strict";
import { runWeft } from "../helpers/weft_process.ts";

Deno.test("shell: raft.startCluster, command and consistentQuery on a kv cluster, with h() docs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = await runWeft([
      "--name",
      "shell@127.0.0.1",
      "--no-epmd",
      "--cookie",
      "c",
      "--data-dir",
      dir,
      "--eval",
      [
        'await raft.startCluster("config", "kv", [Node.self()]);',
        'await raft.command("config", ["put", "mode", "blue"]);',
        'console.log(await raft.command("config", ["cas", "mode", "blue", "green"]));',
        'console.log(await raft.consistentQuery("config", ["get", "mode"]));',
        "h(raft.command);",
        "raft.info().map((g) => `${g.name} ${g.machine} ${g.role}`)",
      ].join("\n"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\{ ok: true \}/);
    assert.match(run.stdout, /^green$/m);
    assert.match(run.stdout, /raft\.command\(name, command, \{ timeout\? \}\)/);
    assert.match(run.stdout, /config kv leader/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
