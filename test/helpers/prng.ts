/**
 * A small seeded pseudo-random generator (mulberry32) for the deterministic
 * simulations: the same seed gives the same schedule of faults.
 *
 * @example
 * ```ts
 * import { prng } from "./prng.ts";
 * const a = prng(42), b = prng(42);
 * console.assert(a() === b());
 * ```
 *
 * @module
 */

/** A generator of numbers in [0, 1), determined by `seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
