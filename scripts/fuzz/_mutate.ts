/**
 * What the fuzzer feeds a node: random terms the codec can send (pids and
 * refs of the target, of the fuzzer and of a third node among them), and
 * mutations of encoded bodies (bit flips, cuts, splices, huge CBOR
 * lengths, deep nesting) and of message arrays (fields replaced, dropped,
 * added, nested).
 *
 * @module
 */

import { Pid, Ref } from "../../src/term/pid.ts";
import type { Rng } from "./_rng.ts";

const INTERESTING_NUMBERS = [
  0,
  -0,
  1,
  -1,
  255,
  256,
  65535,
  65536,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0x1_0000_0000,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1.5,
  NaN,
  Infinity,
  -Infinity,
];
const INTERESTING_STRINGS = [
  "",
  "a",
  "sink",
  "normal",
  "kill",
  "killed",
  "shutdown",
  "noproc",
  "noconnection",
  "pg",
  "node",
  "self",
  "\0",
  "x\nname admin at port 2222",
  "a@b",
  "fuzz_target@127.0.0.1",
  "__proto__",
  "constructor",
  "toString",
];

/** Who the random pids and refs belong to. */
export interface Cast {
  target: string;
  targetCreation: number;
  self: string;
  selfCreation: number;
}

export function randomPid(rng: Rng, cast: Cast): Pid {
  return rng.weighted<() => Pid>([
    [6, () => new Pid(cast.target, rng.int(300), 0, cast.targetCreation)],
    [3, () => new Pid(cast.self, rng.int(50), 0, cast.selfCreation)],
    [1, () => new Pid("third@127.0.0.1", rng.int(50), 0, 7)],
    [1, () => new Pid(cast.target, rng.u32(), rng.int(4), rng.u32())],
  ])();
}

export function randomRef(rng: Rng, cast: Cast): Ref {
  return rng.chance(0.5)
    ? new Ref(cast.self, rng.int(1000), cast.selfCreation)
    : new Ref(rng.chance(0.5) ? cast.target : "third@127.0.0.1", rng.u32(), rng.u32());
}

/** A random term the codec can send, `depth` levels deep at most. */
export function randomTerm(rng: Rng, cast: Cast, depth = 3): unknown {
  const leaf = depth <= 0;
  return rng.weighted<() => unknown>([
    [4, () => rng.pick(INTERESTING_NUMBERS)],
    [3, () => rng.int(1000) - 500],
    [4, () => rng.pick(INTERESTING_STRINGS)],
    [2, () => String.fromCharCode(...rng.bytes(rng.int(20)))],
    [1, () => "x".repeat(rng.int(5000))],
    [2, () => rng.bytes(rng.int(64))],
    [2, () => rng.pick([null, undefined, true, false])],
    [4, () => randomPid(rng, cast)],
    [2, () => randomRef(rng, cast)],
    [1, () => BigInt(rng.u32()) * BigInt(rng.u32()) * (rng.chance(0.5) ? -1n : 1n)],
    [1, () => new Date(rng.u32() * 1000)],
    [1, () => new Error(rng.pick(INTERESTING_STRINGS))],
    [
      leaf ? 0 : 3,
      () => Array.from({ length: rng.int(5) }, () => randomTerm(rng, cast, depth - 1)),
    ],
    [
      leaf ? 0 : 2,
      () =>
        Object.fromEntries(
          Array.from(
            { length: rng.int(4) },
            () => [rng.pick(INTERESTING_STRINGS), randomTerm(rng, cast, depth - 1)],
          ),
        ),
    ],
    [
      leaf ? 0 : 1,
      () =>
        new Map(
          Array.from(
            { length: rng.int(3) },
            () => [randomTerm(rng, cast, 0), randomTerm(rng, cast, depth - 1)],
          ),
        ),
    ],
  ])();
}

/** Byte-level mutations of an encoded body: flips, overwrites, cuts, splices, huge lengths. */
export function mutateBytes(rng: Rng, input: Uint8Array): Uint8Array {
  let bytes: Uint8Array = input.slice();
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : rng.int(bytes.length);
    switch (rng.int(8)) {
      case 0: // bit flip
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << rng.int(8));
        break;
      case 1: // an interesting byte: CBOR heads of big or indefinite lengths, break, tags
        if (bytes.length > 0) {
          bytes[at] = rng.pick([
            0x00,
            0xff,
            0x1b,
            0x3b,
            0x5b,
            0x7b,
            0x9b,
            0xbb,
            0x9f,
            0xbf,
            0xd9,
            0xf7,
          ]);
        }
        break;
      case 2: // truncate
        bytes = bytes.subarray(0, at);
        break;
      case 3: { // insert random bytes
        const extra = rng.bytes(1 + rng.int(8));
        bytes = concat(bytes.subarray(0, at), extra, bytes.subarray(at));
        break;
      }
      case 4: { // delete a span
        const n = 1 + rng.int(8);
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + n));
        break;
      }
      case 5: { // duplicate a span
        const n = 1 + rng.int(16);
        bytes = concat(
          bytes.subarray(0, at + n),
          bytes.subarray(at, at + n),
          bytes.subarray(at + n),
        );
        break;
      }
      case 6: { // a huge length after a head byte
        const head = rng.pick([0x5a, 0x7a, 0x9a, 0xba, 0x5b, 0x9b]);
        const len = head & 1 ? rng.bytes(8) : Uint8Array.of(0xff, 0xff, 0xff, rng.int(256));
        bytes = concat(bytes.subarray(0, at), Uint8Array.of(head), len, bytes.subarray(at));
        break;
      }
      default: // deep nesting
        bytes = concat(bytes.subarray(0, at), new Uint8Array(1 + rng.int(2000)).fill(0x81));
    }
  }
  return bytes;
}

/** Field-level mutations of a message array: replace, drop, add, reorder, or nest a field. */
export function mutateFields(rng: Rng, cast: Cast, fields: unknown[]): unknown[] {
  const out = fields.slice();
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(Math.max(out.length, 1));
    switch (rng.int(5)) {
      case 0:
      case 1:
        out[at] = randomTerm(rng, cast);
        break;
      case 2:
        out.splice(at, 1);
        break;
      case 3:
        out.splice(at, 0, randomTerm(rng, cast));
        break;
      default:
        out[at] = [out[at]];
    }
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
