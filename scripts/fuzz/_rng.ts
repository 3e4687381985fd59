/**
 * The fuzzer's random numbers: xorshift128, small and fast, and the same
 * sequence for the same seed on every machine, so that a failing run can
 * be replayed with its `--seed`.
 *
 * @module
 */

/** xorshift128: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  #s = new Uint32Array(4);

  constructor(seed: number) {
    this.#s[0] = seed ^ 0x9e3779b9;
    this.#s[1] = 0x243f6a88;
    this.#s[2] = 0xb7e15162;
    this.#s[3] = seed * 0x85ebca6b;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const s = this.#s;
    let t = s[3]!;
    const x = s[0]!;
    s[3] = s[2]!;
    s[2] = s[1]!;
    s[1] = x;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = t ^ x ^ (x >>> 19);
    return s[0]!;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A weighted choice: `[weight, value]` pairs. */
  weighted<T>(choices: readonly [number, T][]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let r = this.int(total);
    for (const [w, v] of choices) {
      if (r < w) return v;
      r -= w;
    }
    return choices[choices.length - 1]![1];
  }
}
