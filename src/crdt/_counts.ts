/**
 * Count maps (replica -> count), joined by maximum: the two halves of the
 * counters. Private to `src/crdt/`.
 *
 * @module
 */

import { isCount, malformed } from "./_wire.ts";

/** Per replica, a count. Never changed once made. */
export type Counts = ReadonlyMap<string, number>;

/** Per key, the larger count: the join of count maps. */
export function joinMax(a: Counts, b: Counts): Counts {
  if (b.size === 0) return a;
  if (a.size === 0) return b;
  let out: Map<string, number> | undefined;
  for (const [r, n] of b) {
    if (n > (a.get(r) ?? 0)) (out ??= new Map(a)).set(r, n);
  }
  return out ?? a;
}

/** The sum of the counts. */
export function sumCounts(state: Counts): number {
  let sum = 0;
  for (const n of state.values()) sum += n;
  return sum;
}

/** Whether two count maps agree (a missing count is 0). */
export function equalCounts(a: Counts, b: Counts): boolean {
  for (const [r, n] of a) if ((b.get(r) ?? 0) !== n) return false;
  for (const [r, n] of b) if ((a.get(r) ?? 0) !== n) return false;
  return true;
}

/** Folds a removed replica's count into another's. */
export function foldCounts(state: Counts, removed: string, into: string): Counts {
  const n = state.get(removed);
  if (n === undefined || removed === into) return state;
  const out = new Map(state);
  out.delete(removed);
  out.set(into, addCount(out.get(into) ?? 0, n));
  return out;
}

/** Drops what `removed` counted (another replica folded it into its own count). */
export function dropCount(state: Counts, removed: string): Counts {
  if (!state.has(removed)) return state;
  const out = new Map(state);
  out.delete(removed);
  return out;
}

/** Reads `[[replica, count]...]` strictly. */
export function decodeCounts(wire: unknown, type: string): Counts {
  if (!Array.isArray(wire)) throw malformed(type, "not an array of [replica, count]");
  const out = new Map<string, number>();
  for (const item of wire) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== "string") {
      throw malformed(type, "an entry is not [replica, count]");
    }
    if (!isCount(item[1])) {
      throw malformed(type, `the count of ${item[0]} is not a non-negative integer`);
    }
    if (out.has(item[0])) throw malformed(type, `replica ${item[0]} appears twice`);
    if (item[1] > 0) out.set(item[0], item[1]);
  }
  return out;
}

/** Adds to a count, refusing to leave the safe integers. */
export function addCount(count: number, n: number): number {
  const sum = count + n;
  if (!Number.isSafeInteger(sum)) {
    throw new RangeError(`Counter overflow: ${count} + ${n} is beyond Number.MAX_SAFE_INTEGER`);
  }
  return sum;
}
