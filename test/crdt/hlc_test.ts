import assert from "node:assert/strict";
import fc from "fast-check";
import { compareTimestamps, Hlc, type HlcTimestamp } from "../../src/crdt/hlc.ts";
import { ClockSkewError } from "../../src/errors.ts";

/** A step of a run: the physical clock moves (maybe backwards), a local event, or a receipt. */
type Step = { kind: "tick"; ms: number } | { kind: "now" } | { kind: "receive"; ahead: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: -50, max: 100 }) }),
  fc.record({ kind: fc.constant("now" as const) }),
  fc.record({ kind: fc.constant("receive" as const), ahead: fc.integer({ min: -200, max: 200 }) }),
);

Deno.test("Hlc: timestamps only grow, whatever the physical clock does; a receipt orders after the send", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      let t = 10_000;
      const clock = new Hlc({ physical: () => t, maxOffset: 150 });
      let last: HlcTimestamp = { wall: 0, logical: 0 };
      for (const s of steps) {
        if (s.kind === "tick") {
          t += s.ms;
          continue;
        }
        let ts: HlcTimestamp;
        if (s.kind === "now") {
          ts = clock.now();
        } else {
          const remote = { wall: t + s.ahead, logical: 3 };
          try {
            ts = clock.receive(remote);
          } catch (e) {
            assert.ok(e instanceof ClockSkewError && s.ahead > 150);
            assert.deepEqual(clock.last, last); // refused: not merged
            continue;
          }
          assert.ok(s.ahead <= 150);
          assert.ok(compareTimestamps(ts, remote) > 0);
        }
        assert.ok(compareTimestamps(ts, last) > 0);
        assert.ok(ts.wall >= t); // never behind physical time
        last = ts;
      }
    }),
  );
});

Deno.test("Hlc: a timestamp beyond the maximum offset is refused with a ClockSkewError", () => {
  const clock = new Hlc({ physical: () => 1_000, maxOffset: 500 });
  clock.receive({ wall: 1_500, logical: 0 }); // exactly at the limit: taken
  const err = assert.throws(
    () => clock.receive({ wall: 1_501 + 3_600_000, logical: 0 }),
    ClockSkewError,
  );
  void err;
  try {
    clock.check({ wall: 10_000, logical: 0 });
    assert.fail("accepted");
  } catch (e) {
    assert.ok(e instanceof ClockSkewError);
    assert.equal(e.offset, 9_000);
    assert.equal(e.maxOffset, 500);
    assert.match(e.message, /^Timestamp too far in the future: 9000 ms ahead/);
  }
  assert.deepEqual(clock.now(), { wall: 1_500, logical: 2 });
});

Deno.test("Hlc: bad options and bad timestamps are refused", () => {
  assert.throws(() => new Hlc({ maxOffset: -1 }), RangeError);
  const clock = new Hlc();
  for (const bad of [null, {}, { wall: -1, logical: 0 }, { wall: 1.5, logical: 0 }]) {
    assert.throws(() => clock.receive(bad as HlcTimestamp), TypeError);
  }
});
