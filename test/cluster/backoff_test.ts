import assert from "node:assert/strict";
import { Backoff } from "../../src/cluster/backoff.ts";

Deno.test("Backoff.delay() doubles from initial up to max", () => {
  const b = new Backoff({ initial: 100, max: 1000, jitter: 0 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 60].map((n) => b.delay(n)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
    1000,
  ]);
});

Deno.test("Backoff.delay() spreads each delay by the jitter", () => {
  const b = new Backoff({ initial: 1000, max: 1000, jitter: 0.2 });
  for (let i = 0; i < 100; i++) {
    const d = b.delay(0);
    assert.ok(d >= 800 && d <= 1200, String(d));
  }
});

Deno.test("Backoff refuses out-of-range settings", () => {
  assert.throws(() => new Backoff({ initial: -1 }), RangeError);
  assert.throws(() => new Backoff({ initial: 500, max: 100 }), /max must be > 0 and >= initial/);
  assert.throws(() => new Backoff({ jitter: 1 }), RangeError);
  assert.equal(new Backoff({ initial: 9000 }).max, 9000);
});
