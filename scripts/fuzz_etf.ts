/**
 * Fuzzes the External Term Format decoder (`src/etf/decode.ts`) in this process: every input
 * must decode to a term or be refused with a `DecodeError`; any other exception, or the
 * process's RSS passing `--max-rss` MiB, fails the run (status 1). Seeded, so a failure replays
 * with the same `--seed`; the failing input is printed in hex.
 *
 * Inputs, drawn in turn:
 * - random bytes after the version byte;
 * - a valid encoding of a random term with 1 to 4 bytes overwritten;
 * - a valid encoding cut short;
 * - a valid encoding with a 0xFFFFFFFF length written over 4 of its bytes (claims of huge
 *   tuples, lists, maps and binaries in a few bytes: the allocation bound);
 * - deeply nested tuples and lists (the nesting bound), one input in 64;
 * - a compressed header declaring a huge size over random bytes (the inflation bound).
 *
 * Prints the figures: inputs, decoded, refused (by reason, first words), inputs/s, peak RSS.
 *
 * ```sh
 * deno run -A scripts/fuzz_etf.ts [--inputs 1000000] [--seed 1] [--max-rss 512]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import fc from "fast-check";
import { DecodeError } from "../src/errors.ts";
import { decodeTerm, encodeTerm } from "../src/etf/mod.ts";
import { term } from "../test/helpers/etf_arbitraries.ts";

/** xorshift32: the input generator, seeded from `--seed`. */
function generator(seed: number): () => number {
  let s = (seed | 0) || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function main(): number {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      inputs: { type: "string", default: "1000000" },
      seed: { type: "string", default: "1" },
      "max-rss": { type: "string", default: "512" },
    },
  });
  const inputs = Number(values.inputs);
  const seed = Number(values.seed);
  const maxRss = Number(values["max-rss"]) * 1024 * 1024;
  if (![inputs, seed, maxRss].every(Number.isSafeInteger) || inputs < 1 || maxRss < 1) {
    console.error("Usage: fuzz_etf.ts [--inputs N >= 1] [--seed N] [--max-rss MiB >= 1]");
    return 2;
  }
  const next = generator(seed);
  const valid = fc.sample(term, { numRuns: 2000, seed }).map((t) => encodeTerm(t));
  const pick = () => valid[next() % valid.length] as Uint8Array;

  const input = (i: number): Uint8Array => {
    switch (i % 64 === 63 ? 4 : i % 5 === 4 ? 5 : i % 5) {
      case 0: {
        const b = new Uint8Array(1 + next() % 48);
        b[0] = 131;
        for (let j = 1; j < b.length; j++) b[j] = next() & 0xff;
        return b;
      }
      case 1: {
        const b = pick().slice();
        for (let n = 1 + next() % 4; n > 0; n--) b[1 + next() % (b.length - 1)] = next() & 0xff;
        return b;
      }
      case 2: {
        const b = pick();
        return b.subarray(0, next() % b.length);
      }
      case 3: {
        const b = pick().slice();
        if (b.length < 6) return b;
        new DataView(b.buffer).setUint32(1 + next() % (b.length - 5), 0xffff_ffff);
        return b;
      }
      case 4: {
        const depth = 1 + next() % 5000;
        const b = new Uint8Array(2 + 2 * depth);
        b[0] = 131;
        for (let j = 0; j < depth; j++) b.set(next() & 1 ? [104, 1] : [108, 0], 1 + 2 * j);
        b[b.length - 1] = 106;
        return b;
      }
      default: {
        const b = new Uint8Array(6 + next() % 32);
        b.set([131, 80]);
        new DataView(b.buffer).setUint32(2, next());
        for (let j = 6; j < b.length; j++) b[j] = next() & 0xff;
        return b;
      }
    }
  };

  let decoded = 0;
  let peak = Deno.memoryUsage().rss;
  const refused = new Map<string, number>();
  const started = performance.now();
  for (let i = 0; i < inputs; i++) {
    const b = input(i);
    try {
      decodeTerm(b);
      decoded++;
    } catch (e) {
      if (!(e instanceof DecodeError)) {
        console.error(`Input ${i} (seed ${seed}) threw ${e}: ${hex(b.subarray(0, 256))}`);
        return 1;
      }
      const reason = e.message.replace(/^Cannot decode term: /, "").split(/[ (:]/, 2).join(" ");
      refused.set(reason, (refused.get(reason) ?? 0) + 1);
    }
    if (i % 10_000 === 0) {
      peak = Math.max(peak, Deno.memoryUsage().rss);
      if (peak > maxRss) {
        console.error(`RSS ${(peak / 2 ** 20).toFixed(0)} MiB passed the limit at input ${i}`);
        return 1;
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const top = [...refused].sort((a, b) => b[1] - a[1]).slice(0, 8)
    .map(([r, n]) => `${r}: ${n}`).join(", ");
  console.log(
    `fuzz_etf: ${inputs} inputs (seed ${seed}) in ${seconds.toFixed(1)} s ` +
      `(${Math.round(inputs / seconds)}/s): ${decoded} decoded, ${inputs - decoded} refused ` +
      `with a DecodeError (${top}); peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(main());
