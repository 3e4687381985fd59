/**
 * Two small replicated types for the replicator's tests, written against the
 * replica's type contract: a grow-only counter and a last-write-wins register.
 * (The real types live in src/crdt/; these keep the replicator's tests apart
 * from them.)
 *
 * @module
 */

import type { ClockTimestamp, ReplicatedType } from "../../src/replicator/replica.ts";

type Counts = Map<string, number>;

/** A grow-only counter: replica -> count; the value is the sum. */
export const testCounter: ReplicatedType = {
  name: "g-counter",
  empty: () => new Map(),
  join: (a, b) => {
    const out = new Map(a as Counts);
    for (const [r, n] of b as Counts) out.set(r, Math.max(out.get(r) ?? 0, n));
    return out;
  },
  mutate: (s, r, _clock, fn) => {
    let n = (s as Counts).get(r) ?? 0;
    fn({ increment: (by = 1) => (n += by) });
    return new Map([[r, n]]);
  },
  value: (s) => [...(s as Counts).values()].reduce((a, b) => a + b, 0),
  encode: (s) => [...(s as Counts)],
  decode: (w) => {
    if (!Array.isArray(w)) throw new TypeError("Invalid g-counter state: expected an array");
    for (const e of w) {
      if (!Array.isArray(e) || typeof e[0] !== "string" || typeof e[1] !== "number") {
        throw new TypeError("Invalid g-counter state: expected [replica, count] pairs");
      }
    }
    return new Map(w as [string, number][]);
  },
  equals: (a, b) => {
    const [x, y] = [a as Counts, b as Counts];
    return x.size === y.size && [...x].every(([r, n]) => y.get(r) === n);
  },
  prune: (s, removed, into) => {
    const m = s as Counts;
    const n = m.get(removed);
    if (n === undefined) return m;
    const out = new Map(m);
    out.delete(removed);
    out.set(into, (out.get(into) ?? 0) + n);
    return out;
  },
  cleanup: (s, removed) => {
    const out = new Map(s as Counts);
    out.delete(removed);
    return out;
  },
};

type Lww = { value: unknown; ts: ClockTimestamp; replica: string } | null;

function later(a: NonNullable<Lww>, b: NonNullable<Lww>): boolean {
  if (a.ts.wall !== b.ts.wall) return a.ts.wall > b.ts.wall;
  if (a.ts.logical !== b.ts.logical) return a.ts.logical > b.ts.logical;
  return a.replica > b.replica;
}

/** A last-write-wins register, ordered by (timestamp, replica). */
export const testRegister: ReplicatedType = {
  name: "lww-register",
  empty: () => null,
  join: (a, b) => {
    const [x, y] = [a as Lww, b as Lww];
    if (x === null) return y;
    if (y === null) return x;
    return later(y, x) ? y : x;
  },
  mutate: (_s, replica, clock, fn) => {
    let out: Lww = null;
    fn({ set: (value: unknown) => (out = { value, ts: clock.now(), replica }) });
    return out;
  },
  value: (s) => (s as Lww)?.value,
  encode: (s) => {
    const x = s as Lww;
    return x === null ? [] : [x.value, x.ts.wall, x.ts.logical, x.replica];
  },
  decode: (w) => {
    if (!Array.isArray(w)) throw new TypeError("Invalid lww-register state: expected an array");
    if (w.length === 0) return null;
    const [value, wall, logical, replica] = w;
    if (typeof wall !== "number" || typeof logical !== "number" || typeof replica !== "string") {
      throw new TypeError("Invalid lww-register state: bad timestamp");
    }
    return { value, ts: { wall, logical }, replica };
  },
  equals: (a, b) => JSON.stringify(a) === JSON.stringify(b),
  prune: (s) => s,
  cleanup: (s) => s,
  latest: (s) => (s as Lww)?.ts,
};

/** Finds one of the test types by name. */
export function testTypes(name: string): ReplicatedType {
  if (name === "g-counter") return testCounter;
  if (name === "lww-register") return testRegister;
  throw new TypeError(`Unknown CRDT type: ${JSON.stringify(name)}`);
}
