import assert from "node:assert/strict";
import { parseStaticConfig, StaticStrategy } from "../../../src/cluster/strategies/static.ts";

Deno.test("StaticStrategy reports its list and each change", async () => {
  const s = new StaticStrategy({ nodes: ["a@h", "b@h:4000"] });
  const seen: string[][] = [];
  await s.start({
    self: "a@h",
    topology: "t",
    cookie: undefined,
    listenPort: 0,
    signal: new AbortController().signal,
    update: (nodes) => seen.push(nodes.map((n) => n.name)),
  });
  assert.deepEqual(s.members(), ["b@h"]);
  s.set(["c@h"]);
  assert.deepEqual(seen, [["a@h", "b@h:4000"], ["c@h"]]);
  await s.stop();
  s.set(["d@h"]);
  assert.equal(seen.length, 2);
});

Deno.test("StaticStrategy refuses malformed names with their index", () => {
  assert.throws(
    () => new StaticStrategy({ nodes: ["a@h", "oops"] }),
    /nodes\[1\]: Invalid node name/,
  );
  assert.throws(() => parseStaticConfig({ nodes: "a@h" }, "c"), /c\.nodes: expected an array/);
  assert.throws(() => parseStaticConfig(null, "c"), /c: expected an object/);
});
