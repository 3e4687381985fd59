/**
 * The laws every replicated data type must keep, as fast-check properties
 * over states replicas can really reach: three replicas mutate (each as
 * itself, with its own clock) and exchange deltas or whole states in random
 * order, and every state seen along the way is a candidate.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { CrdtType } from "../../src/crdt/crdt_type.ts";
import { Hlc } from "../../src/crdt/hlc.ts";
import { decode, encode } from "../../src/term/codec.ts";

export const REPLICAS = ["a@h#1", "b@h#2", "c@h#3"] as const;

/** A type under test, and how to make random mutations of it. */
export interface LawSpec<S, H, O> {
  type: CrdtType<S, H, unknown>;
  /** A random operation (data, so that fast-check can print and shrink it). */
  op: fc.Arbitrary<O>;
  /** Applies an operation through the handle. */
  apply(handle: H, op: O): void;
  /** Wire values `decode` must refuse. */
  malformed: unknown[];
  /** Tells apart two runs of one type's laws in test names. */
  label?: string;
  /** The state every replica starts from (default: empty). */
  seed?: S;
  /** A join that visits every key, for types whose join takes shortcuts: both must agree. */
  fullJoin?: (a: S, b: S) => S;
}

type Step<O> =
  | { kind: "mutate"; r: number; ops: O[]; tick: number }
  | { kind: "sync"; from: number; to: number; delta: boolean };

function steps<O>(op: fc.Arbitrary<O>): fc.Arbitrary<Step<O>[]> {
  const step: fc.Arbitrary<Step<O>> = fc.oneof(
    fc.record({
      kind: fc.constant("mutate" as const),
      r: fc.integer({ min: 0, max: 2 }),
      ops: fc.array(op, { minLength: 1, maxLength: 3 }),
      tick: fc.integer({ min: 0, max: 3 }),
    }),
    fc.record({
      kind: fc.constant("sync" as const),
      from: fc.integer({ min: 0, max: 2 }),
      to: fc.integer({ min: 0, max: 2 }),
      delta: fc.boolean(),
    }),
  );
  return fc.array(step, { minLength: 1, maxLength: 30 });
}

/** What a run gives: every state seen, and every (state before, delta, state after) of a mutation. */
interface Run<S> {
  seen: S[];
  mutations: { before: S; delta: S; after: S }[];
}

function run<S, H, O>(spec: LawSpec<S, H, O>, plan: Step<O>[]): Run<S> {
  const { type } = spec;
  let time = 1_000;
  // Clocks a few ms apart, as real nodes' are.
  const clocks = REPLICAS.map((_, i) => new Hlc({ physical: () => time + i * 3 }));
  const states = REPLICAS.map(() => spec.seed ?? type.empty());
  const outbox = REPLICAS.map(() => REPLICAS.map(() => [] as S[]));
  const seen: S[] = [spec.seed ?? type.empty()];
  const mutations: Run<S>["mutations"] = [];
  for (const s of plan) {
    if (s.kind === "mutate") {
      time += s.tick;
      const before = states[s.r]!;
      const delta = type.mutate(before, REPLICAS[s.r]!, clocks[s.r]!, (h) => {
        for (const op of s.ops) spec.apply(h, op);
      });
      const after = type.join(before, delta);
      states[s.r] = after;
      mutations.push({ before, delta, after });
      for (const box of outbox[s.r]!) box.push(delta);
    } else if (s.from !== s.to) {
      const incoming = s.delta ? outbox[s.from]![s.to]!.shift() : states[s.from]!;
      if (incoming !== undefined) states[s.to] = type.join(states[s.to]!, incoming);
    }
    seen.push(...states);
  }
  return { seen, mutations };
}

function triple<S, H, O>(spec: LawSpec<S, H, O>): fc.Arbitrary<[S, S, S]> {
  return steps(spec.op).chain((plan) => {
    const { seen } = run(spec, plan);
    const pick = fc.integer({ min: 0, max: seen.length - 1 }).map((i) => seen[i]!);
    return fc.tuple(pick, pick, pick);
  });
}

/** Through the type's encoding and Weft's CBOR codec, as a state crosses the wire. */
export function overTheWire<S>(type: CrdtType<S, unknown, unknown>, s: S): S {
  return type.decode(decode(encode(type.encode(s))));
}

/**
 * Registers the law tests of one type.
 *
 * @param spec the type and its random operations
 */
export function lawTests<S, H, O>(spec: LawSpec<S, H, O>, numRuns = 150): void {
  const { type } = spec;
  const eq = (a: S, b: S) => type.equals(a, b);
  const name = spec.label === undefined ? type.name : `${type.name} (${spec.label})`;

  Deno.test(`${name}: join is commutative`, () => {
    fc.assert(
      fc.property(triple(spec), ([a, b]) => eq(type.join(a, b), type.join(b, a))),
      { numRuns },
    );
  });

  const { fullJoin } = spec;
  if (fullJoin !== undefined) {
    Deno.test(`${name}: join with shortcuts equals the join that visits every key`, () => {
      fc.assert(
        fc.property(steps(spec.op), fc.nat(), (plan, pick) => {
          const { seen, mutations } = run(spec, plan);
          const other = seen[pick % seen.length]!;
          for (const { before, delta } of mutations) {
            const b = type.join(other, before);
            assert.ok(eq(type.join(b, delta), fullJoin(b, delta)));
            assert.ok(eq(type.join(delta, b), fullJoin(b, delta)));
          }
          return seen.every((s) => eq(type.join(s, other), fullJoin(s, other)));
        }),
        { numRuns },
      );
    });
  }

  Deno.test(`${name}: join is associative`, () => {
    fc.assert(
      fc.property(
        triple(spec),
        ([a, b, c]) => eq(type.join(type.join(a, b), c), type.join(a, type.join(b, c))),
      ),
      { numRuns },
    );
  });

  Deno.test(`${name}: join is idempotent and leaves its arguments unchanged`, () => {
    fc.assert(
      fc.property(triple(spec), ([a, b]) => {
        const [a0, b0] = [overTheWire(type, a), overTheWire(type, b)];
        const ab = type.join(a, b);
        return eq(type.join(a, a), a) && eq(type.join(ab, b), ab) && eq(a, a0) && eq(b, b0);
      }),
      { numRuns },
    );
  });

  Deno.test(`${name}: joining a delta equals joining the full state it came from`, () => {
    fc.assert(
      fc.property(steps(spec.op), fc.nat(), (plan, pick) => {
        const { seen, mutations } = run(spec, plan);
        const other = seen[pick % seen.length]!;
        return mutations.every(({ before, delta, after }) => {
          // A replica that has seen `before` takes in the delta or the whole new state: same result.
          const b = type.join(other, before);
          return eq(type.join(b, delta), type.join(b, after)) &&
            eq(type.join(before, delta), after);
        });
      }),
      { numRuns },
    );
  });

  Deno.test(`${name}: replicas that exchange their states end equal`, () => {
    fc.assert(
      fc.property(steps(spec.op), (plan) => {
        const { seen } = run(spec, plan);
        const last = seen.slice(-3);
        const all = last.reduce((acc, s) => type.join(acc, s), type.empty());
        return last.every((s) => eq(type.join(s, all), all) && eq(type.join(all, s), all));
      }),
      { numRuns },
    );
  });

  Deno.test(`${name}: decode(encode(state)) through the CBOR codec equals the state`, () => {
    fc.assert(
      fc.property(triple(spec), ([a]) => {
        const back = overTheWire(type, a);
        assert.ok(eq(back, a));
        assert.deepEqual(type.value(back), type.value(a));
        assert.deepEqual(type.latest(back), type.latest(a));
      }),
      { numRuns },
    );
  });

  if (type.joinMany) {
    const joinMany = type.joinMany.bind(type);
    Deno.test(`${name}: joinMany([a, b, c]) equals join(join(a, b), c)`, () => {
      fc.assert(
        fc.property(triple(spec), ([a, b, c]) => {
          assert.ok(eq(joinMany([a, b, c]), type.join(type.join(a, b), c)));
          assert.ok(eq(joinMany([a]), a));
        }),
        { numRuns },
      );
    });
  }

  if (type.pack) {
    const pack = type.pack.bind(type);
    Deno.test(`${name}: decode(pack(state)) through the CBOR codec equals the state`, () => {
      fc.assert(
        fc.property(triple(spec), ([a]) => {
          const back = type.decode(decode(encode(pack(a))));
          assert.ok(eq(back, a));
          assert.deepEqual(type.value(back), type.value(a));
          assert.deepEqual(type.latest(back), type.latest(a));
        }),
        { numRuns },
      );
    });
  }

  Deno.test(`${name}: decode refuses malformed wire values with a TypeError`, () => {
    for (const bad of [undefined, "x", 42, { a: 1 }, ...spec.malformed]) {
      assert.throws(() => type.decode(bad), TypeError, `accepted ${String(bad)}`);
    }
    // Anything at all: refused with a TypeError, or a state that survives the wire unchanged.
    fc.assert(
      fc.property(fc.anything(), (wire) => {
        let s: S;
        try {
          s = type.decode(wire);
        } catch (e) {
          return e instanceof TypeError;
        }
        return eq(overTheWire(type, s), s);
      }),
      { numRuns: 300 },
    );
  });
}
