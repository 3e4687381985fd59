import assert from "node:assert/strict";
import fc from "fast-check";
import { DecodeError } from "../../src/errors.ts";
import { mergeStates, PresenceState } from "../../src/pubsub/presence_state.ts";
import { Pid } from "../../src/term/pid.ts";

const REPLICAS = ["a@h#1", "b@h#2", "c@h#3"] as const;

/** One step of a run: a replica adds or removes one of its presences, or takes in another's state. */
type Step =
  | { kind: "add"; r: number; topic: string; key: string; v: number }
  | { kind: "remove"; r: number; which: number }
  | { kind: "sync"; from: number; to: number; delta: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("add" as const),
    r: fc.integer({ min: 0, max: 2 }),
    topic: fc.constantFrom("t1", "t2"),
    key: fc.constantFrom("ann", "bob", "cy"),
    v: fc.integer({ min: 0, max: 9 }),
  }),
  fc.record({
    kind: fc.constant("remove" as const),
    r: fc.integer({ min: 0, max: 2 }),
    which: fc.nat(),
  }),
  fc.record({
    kind: fc.constant("sync" as const),
    from: fc.integer({ min: 0, max: 2 }),
    to: fc.integer({ min: 0, max: 2 }),
    delta: fc.boolean(),
  }),
);

/**
 * Runs the steps on three replicas, each changing only its own
 * presences, and returns every state seen along the way: these are the
 * states replicas can really be in, the domain of the merge laws.
 */
function run(steps: Step[]): PresenceState[] {
  const states = REPLICAS.map(() => new PresenceState());
  /** Deltas each replica made, not yet delivered, per destination. */
  const outbox = REPLICAS.map(() => REPLICAS.map(() => [] as PresenceState[]));
  const seen: PresenceState[] = [];
  for (const s of steps) {
    if (s.kind === "add") {
      const replica = REPLICAS[s.r]!;
      const pid = new Pid(replica.split("#")[0]!, s.v + 1, 0, s.r + 1);
      const { delta } = states[s.r]!.add(replica, {
        topic: s.topic,
        key: s.key,
        pid,
        meta: { v: s.v },
      });
      for (const box of outbox[s.r]!) box.push(PresenceState.fromWire(delta));
    } else if (s.kind === "remove") {
      const own = [...states[s.r]!.entries()].filter((e) => e.replica === REPLICAS[s.r]);
      if (own.length === 0) continue;
      const removed = states[s.r]!.remove(own[s.which % own.length]!.ref)!;
      for (const box of outbox[s.r]!) box.push(PresenceState.fromWire(removed.delta));
    } else if (s.from !== s.to) {
      if (s.delta) {
        // Deltas arrive in order, one connection per pair.
        const box = outbox[s.from]![s.to]!;
        const d = box.shift();
        if (d !== undefined) states[s.to]!.join(d);
      } else {
        states[s.to]!.join(PresenceState.fromWire(states[s.from]!.toWire()));
      }
    }
    for (const st of states) seen.push(st.clone());
  }
  return seen.length > 0 ? seen : states;
}

const triple = fc.array(step, { minLength: 1, maxLength: 40 }).chain((steps) => {
  const states = run(steps);
  const pick = fc.integer({ min: 0, max: states.length - 1 }).map((i) => states[i]!);
  return fc.tuple(pick, pick, pick);
});

Deno.test("presence merge is commutative", () => {
  fc.assert(
    fc.property(triple, ([a, b]) => mergeStates(a, b).equals(mergeStates(b, a))),
    { numRuns: 300 },
  );
});

Deno.test("presence merge is associative", () => {
  fc.assert(
    fc.property(
      triple,
      ([a, b, c]) => mergeStates(mergeStates(a, b), c).equals(mergeStates(a, mergeStates(b, c))),
    ),
    { numRuns: 300 },
  );
});

Deno.test("presence merge is idempotent", () => {
  fc.assert(
    fc.property(
      triple,
      ([a, b]) =>
        mergeStates(a, a).equals(a) && mergeStates(mergeStates(a, b), b).equals(mergeStates(a, b)),
    ),
    { numRuns: 300 },
  );
});

Deno.test("replicas that exchange their whole states end equal, whatever happened before", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const states = run(steps).slice(-3);
      const all = states.reduce((acc, s) => mergeStates(acc, s), new PresenceState());
      return states.every((s) => mergeStates(s, all).equals(all));
    }),
    { numRuns: 200 },
  );
});

Deno.test("join() reports what appeared and went; a state survives the wire unchanged", () => {
  const pid = new Pid("a@h", 1, 0, 1);
  const a = new PresenceState();
  const b = new PresenceState();
  const x = a.add("a@h#1", { topic: "t", key: "k", pid, meta: { n: 1 } });
  let changes = b.join(PresenceState.fromWire(x.delta));
  assert.deepEqual(changes.joins.map((e) => e.ref), ["a@h#1:1"]);
  assert.deepEqual(changes.leaves, []);
  // Seen twice: nothing new.
  changes = b.join(PresenceState.fromWire(x.delta));
  assert.deepEqual([changes.joins.length, changes.leaves.length], [0, 0]);
  const removed = a.remove(x.entry.ref)!;
  changes = b.join(PresenceState.fromWire(removed.delta));
  assert.deepEqual(changes.leaves.map((e) => e.ref), ["a@h#1:1"]);
  // A late copy of the add does not bring it back.
  changes = b.join(PresenceState.fromWire(x.delta));
  assert.deepEqual(changes.joins, []);
  a.add("a@h#1", { topic: "t", key: "k2", pid, meta: { nested: { ok: true } } });
  assert.ok(PresenceState.fromWire(a.toWire()).equals(a));
});

Deno.test("prune() forgets a replica, so that its state is taken in again later", () => {
  const pid = new Pid("a@h", 1, 0, 1);
  const a = new PresenceState();
  a.add("a@h#1", { topic: "t", key: "k", pid, meta: {} });
  const b = new PresenceState();
  b.join(a.clone());
  assert.equal(b.prune("a@h#1").length, 1);
  assert.equal(b.size, 0);
  assert.equal(b.join(a.clone()).joins.length, 1);
});

Deno.test("fromWire() refuses malformed states with a DecodeError", () => {
  const pid = new Pid("a@h", 1, 0, 1);
  for (
    const bad of [
      null,
      "x",
      { ctx: [], cloud: [] },
      { ctx: [["r", -1]], cloud: [], values: [] },
      { ctx: [["r", 1]], cloud: [["r", ["x"]]], values: [] },
      { ctx: [["r", 1]], cloud: [], values: [["r", 1, "t", "k", "notapid", {}]] },
      { ctx: [["r", 1]], cloud: [], values: [["r", 1, "t", "k", pid, []]] },
      { ctx: [], cloud: [], values: [["r", 1, "t", "k", pid, {}]] }, // outside its context
    ]
  ) {
    assert.throws(() => PresenceState.fromWire(bad), DecodeError, JSON.stringify(bad));
  }
});
