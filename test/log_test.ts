import assert from "node:assert/strict";
import { LogLimit, logLimited } from "../src/log.ts";

Deno.test("LogLimit admits perWindow lines per key, then counts, and reports the count with the next line", () => {
  let now = 0;
  const limit = new LogLimit({ perWindow: 3, windowMs: 1000, now: () => now });
  const lines: string[] = [];
  for (let i = 0; i < 10; i++) logLimited(limit, "evil@h", (more) => lines.push(`bad${more}`));
  logLimited(limit, "other@h", (more) => lines.push(`other${more}`));
  assert.deepEqual(lines, ["bad", "bad", "bad", "other"]);
  now = 1000;
  logLimited(limit, "evil@h", (more) => lines.push(`bad${more}`));
  assert.equal(lines.at(-1), "bad (7 more like it not shown)");
});

Deno.test("LogLimit forgets the oldest key beyond maxKeys, and refuses bad bounds", () => {
  const limit = new LogLimit({ perWindow: 1, maxKeys: 2 });
  assert.equal(limit.admit("a"), 0);
  assert.equal(limit.admit("a"), undefined);
  limit.admit("b");
  limit.admit("c"); // forgets a
  assert.equal(limit.admit("a"), 0);
  assert.throws(() => new LogLimit({ perWindow: 0 }), RangeError);
  assert.throws(() => new LogLimit({ windowMs: 1.5 }), RangeError);
});
