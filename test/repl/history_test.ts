import assert from "node:assert/strict";
import { History, historyPath } from "../../repl/history.ts";

Deno.test("History.add() skips blank lines and repeats of the last entry", () => {
  const h = new History();
  assert.equal(h.add("a"), true);
  assert.equal(h.add("a"), false);
  assert.equal(h.add("  "), false);
  assert.equal(h.add("b"), true);
  assert.equal(h.add("a"), true);
  assert.deepEqual(h.entries, ["a", "b", "a"]);
});

Deno.test("History keeps at most its capacity, dropping the oldest", () => {
  const h = new History({ capacity: 3 });
  for (const x of ["1", "2", "3", "4", "5"]) h.add(x);
  assert.deepEqual(h.entries, ["3", "4", "5"]);
  assert.throws(() => new History({ capacity: 0 }), RangeError);
});

Deno.test("History persists across runs through its file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/.weft_history`;
    const first = new History({ path });
    assert.equal(first.load(), 0);
    first.add("const x = 1");
    first.add("x + 1");
    const second = new History({ path });
    assert.equal(second.load(), 2);
    assert.deepEqual(second.entries, ["const x = 1", "x + 1"]);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("History.load() keeps the newest entries and cuts a file grown past twice the cap", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/h`;
    await Deno.writeTextFile(path, Array.from({ length: 25 }, (_, i) => `line ${i}`).join("\n"));
    const h = new History({ path, capacity: 10 });
    assert.equal(h.load(), 10);
    assert.equal(h.entries[0], "line 15");
    const lines = (await Deno.readTextFile(path)).trim().split("\n");
    assert.equal(lines.length, 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("History goes on in memory when its file cannot be written", () => {
  const h = new History({ path: "/nonexistent-dir/for-sure/.weft_history" });
  assert.equal(h.load(), 0);
  assert.equal(h.add("still kept"), true);
  assert.deepEqual(h.entries, ["still kept"]);
});

Deno.test("historyPath() is $WEFT_HISTORY, else $HOME/.weft_history", () => {
  const saved = { home: Deno.env.get("HOME"), explicit: Deno.env.get("WEFT_HISTORY") };
  try {
    Deno.env.delete("WEFT_HISTORY");
    Deno.env.set("HOME", "/home/someone/");
    assert.equal(historyPath(), "/home/someone/.weft_history");
    Deno.env.set("WEFT_HISTORY", "/tmp/h");
    assert.equal(historyPath(), "/tmp/h");
  } finally {
    if (saved.home !== undefined) Deno.env.set("HOME", saved.home);
    if (saved.explicit !== undefined) Deno.env.set("WEFT_HISTORY", saved.explicit);
    else Deno.env.delete("WEFT_HISTORY");
  }
});
