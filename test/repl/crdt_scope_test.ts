import assert from "node:assert/strict";
import { runWeft } from "../helpers/weft_process.ts";

Deno.test("shell: crdt.open, update and get a cart, printed readably, with h() docs", async () => {
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
        'const cart = await crdt.open("cart:42", "or-map");',
        'await cart.update((m) => m.counter("apples").increment(2), { write: "majority" });',
        'await cart.update((m) => m.register("note").set("ring twice"));',
        "console.log(await cart.get());",
        "h(crdt.update);",
        "cart",
      ].join("\n"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Map\(2\) \{ "apples" => 2, "note" => "ring twice" \}/);
    assert.match(run.stdout, /crdt\.update\(key, fn, \{ write\?, timeout\? \}\)/);
    assert.match(
      run.stdout,
      /#CrdtKey<cart:42 or-map = Map\(2\) \{ "apples" => 2, "note" => "ring twice" \}>/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
