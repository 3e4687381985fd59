/**
 * Fuzzes a live node's distribution port: random and mutated handshake
 * frames from strangers, and, after real authenticated handshakes,
 * mutated frames and CBOR bodies of every operation, against one node in
 * a process of its own (`scripts/_fuzz_target.ts`). Seeded, so a failure
 * replays with the same `--seed`.
 *
 * ```
 * fuzzer lane (stranger)                      target node
 *   connect, mutated HELLO | random bytes ---->  refuses, closes      (counted by reason)
 *   valid HELLO ------------------------------>
 *                 <----------------------------  CHALLENGE
 *   mutated REPLY | a frame out of turn ------>  refuses, closes
 *
 * fuzzer lane (authenticated peer fzN@127.0.0.1, the real cookie)
 *   HELLO / CHALLENGE / REPLY / ACK ---------->  up
 *   one mutated frame, then PING [21, id] ---->  drops it or closes the connection
 *                 <----------------------------  PONG [22, id]   (the input was handled)
 *   ... until the target closes; then a new handshake
 *
 * at the end: a genuine handshake and PING -> PONG; the target still runs
 * ```
 *
 * Inputs: every mutated or random frame (or burst of raw bytes) written to
 * the target counts once; valid frames the fuzzer needs (the HELLO before a
 * mutated REPLY, the PINGs) do not. The target's RSS is sampled all along
 * from `/proc`; after a warm-up (every operation sent once by a genuine
 * peer) the target collects garbage and reports its heap: the baseline.
 * Each lane draws its inputs from its own generator seeded from `--seed`.
 *
 * Fails (status 1) when the target exits, stops answering a genuine peer,
 * its RSS passes `--max-rss` MiB at any time, or its heap after garbage
 * collection holds more than `--max-heap-growth` MiB more than after the
 * warm-up (something the fuzzing left behind is kept); prints the figures
 * either way: inputs, connections, why the target closed them (from its
 * log), RSS before, peak and after, and the heap held before and after.
 *
 * ```sh
 * deno run -A scripts/fuzz_dist.ts [--inputs 100000] [--seed 1] [--lanes 16] [--max-rss 512] [--max-heap-growth 64]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { importCookie, makeProof } from "../src/distribution/handshake.ts";
import {
  CAP_HIDDEN,
  CAPS_DEFAULT,
  FRAME_FRAGMENT_CONT,
  FRAME_FRAGMENT_HEAD,
  FRAME_MESSAGE,
  HANDSHAKE_MAGIC,
  MSG_ABORT,
  MSG_ACK,
  MSG_CHALLENGE,
  MSG_HELLO,
  MSG_REPLY,
  NONCE_BYTES,
  OP_DEMONITOR,
  OP_EXIT,
  OP_LINK,
  OP_LINK_EXIT,
  OP_MONITOR,
  OP_MONITOR_EXIT,
  OP_PEERS,
  OP_PING,
  OP_PONG,
  OP_REG_SEND,
  OP_SEND,
  OP_SPAWN_REPLY,
  OP_SPAWN_REQUEST,
  OP_UNLINK,
  PROTOCOL_VERSION,
  ROLE_INITIATOR,
  ROLE_RESPONDER,
} from "../src/distribution/types.ts";
import {
  OP_GLOBAL_ACK,
  OP_GLOBAL_ADD,
  OP_GLOBAL_CLAIM,
  OP_GLOBAL_CLAIM_REPLY,
  OP_GLOBAL_DEL,
  OP_GLOBAL_LOCK,
  OP_GLOBAL_LOCK_REPLY,
  OP_GLOBAL_REPLY,
  OP_GLOBAL_REQUEST,
  OP_GLOBAL_RESOLVED,
  OP_GLOBAL_SYNC,
  OP_GLOBAL_UNLOCK,
} from "../src/global/types.ts";
import { OP_PG_JOIN, OP_PG_LEAVE, OP_PG_SYNC } from "../src/pg/types.ts";
import { OP_PRESENCE_DELTA, OP_PRESENCE_STATE, OP_PUBSUB_BROADCAST } from "../src/pubsub/types.ts";
import {
  OP_RPC_CALL,
  OP_RPC_CAST,
  OP_RPC_IO,
  OP_RPC_REPLY,
  OP_SPAWN_GO,
} from "../src/rpc/types.ts";
import { decode, encode } from "../src/term/codec.ts";
import { Pid, Ref } from "../src/term/pid.ts";

const TARGET = new URL("./_fuzz_target.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;
const COOKIE = "fuzz-cookie";
const cookieKey = importCookie(COOKIE);
const MiB = 1024 * 1024;
/** Share of authenticated fuzz peers that connect hidden (no state exchange with the services). */
const HIDDEN_SHARE = 0.5;

// ---------------------------------------------------------------- options

interface Options {
  inputs: number;
  seed: number;
  lanes: number;
  /** Bound on the target's RSS at any time, MiB. */
  maxRss: number;
  /** Bound on the growth of the target's heap after garbage collection, MiB. */
  maxHeapGrowth: number;
  /** Share of inputs sent before authentication. */
  preAuthShare: number;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      inputs: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      lanes: { type: "string", default: "16" },
      "max-rss": { type: "string", default: "512" },
      "max-heap-growth": { type: "string", default: "64" },
      "pre-auth-share": { type: "string", default: "0.4" },
    },
  });
  const number = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      console.error(`Invalid --${name}: must be a number >= ${min}, received "${text}"`);
      Deno.exit(2);
    }
    return n;
  };
  return {
    inputs: number("inputs", values.inputs, 1),
    seed: number("seed", values.seed, 0),
    lanes: number("lanes", values.lanes, 1),
    maxRss: number("max-rss", values["max-rss"], 1),
    maxHeapGrowth: number("max-heap-growth", values["max-heap-growth"], 1),
    preAuthShare: number("pre-auth-share", values["pre-auth-share"], 0),
  };
}

// ---------------------------------------------------------------- randomness

/** xorshift128: small, fast, and the same sequence for the same seed everywhere. */
class Rng {
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

// ---------------------------------------------------------------- values and mutations

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
interface Cast {
  target: string;
  targetCreation: number;
  self: string;
  selfCreation: number;
}

function randomPid(rng: Rng, cast: Cast): Pid {
  return rng.weighted<() => Pid>([
    [6, () => new Pid(cast.target, rng.int(300), 0, cast.targetCreation)],
    [3, () => new Pid(cast.self, rng.int(50), 0, cast.selfCreation)],
    [1, () => new Pid("third@127.0.0.1", rng.int(50), 0, 7)],
    [1, () => new Pid(cast.target, rng.u32(), rng.int(4), rng.u32())],
  ])();
}

function randomRef(rng: Rng, cast: Cast): Ref {
  return rng.chance(0.5)
    ? new Ref(cast.self, rng.int(1000), cast.selfCreation)
    : new Ref(rng.chance(0.5) ? cast.target : "third@127.0.0.1", rng.u32(), rng.u32());
}

/** A random term the codec can send, `depth` levels deep at most. */
function randomTerm(rng: Rng, cast: Cast, depth = 3): unknown {
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
function mutateBytes(rng: Rng, input: Uint8Array): Uint8Array {
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
function mutateFields(rng: Rng, cast: Cast, fields: unknown[]): unknown[] {
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

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `u32 length | payload`. */
function frame(payload: Uint8Array, length = payload.length): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, length >>> 0);
  out.set(payload, 4);
  return out;
}

function messageFrame(body: Uint8Array): Uint8Array {
  return frame(concat(Uint8Array.of(FRAME_MESSAGE), body));
}

// ---------------------------------------------------------------- valid operations, to mutate

/** A well-formed body for every operation the target knows, as a peer would send it. */
function validOps(rng: Rng, cast: Cast): unknown[][] {
  const me = new Pid(cast.self, 1 + rng.int(20), 0, cast.selfCreation);
  const them = new Pid(cast.target, rng.int(300), 0, cast.targetCreation);
  const ref = new Ref(cast.self, rng.int(1000), cast.selfCreation);
  const now = Date.now();
  return [
    [OP_SEND, them.id, them.serial, them.creation, { from: me, n: 1 }],
    [OP_REG_SEND, "sink", { from: me }],
    [OP_LINK, me, them],
    [OP_UNLINK, me, them],
    [OP_EXIT, me, them, "shutdown"],
    [OP_LINK_EXIT, me, them, "normal"],
    [OP_MONITOR, me, them, ref],
    [OP_MONITOR, me, "sink", ref],
    [OP_DEMONITOR, me, them, ref],
    [OP_MONITOR_EXIT, me, them, ref, "normal"],
    [OP_SPAWN_REQUEST, ref, me, [["node", "self"], []], { link: false, monitor: rng.chance(0.5) }],
    [OP_SPAWN_REPLY, ref, me, them],
    [OP_PEERS, 4370, [["peer@127.0.0.1", 4371]]],
    [OP_PING, rng.int(1000)],
    [OP_PONG, rng.int(1000)],
    [OP_RPC_CALL, rng.int(1000), ["node", "self"], [], null],
    [OP_RPC_CALL, rng.int(1000), ["node", "processCount"], [], me],
    [OP_RPC_REPLY, rng.int(1000), 0, "x"],
    [OP_RPC_CAST, ["node", "self"], [], null],
    [OP_SPAWN_GO, ref],
    [OP_RPC_IO, me, "log", "hello"],
    [OP_GLOBAL_SYNC, 1, [["g", me, now, false]]],
    [OP_GLOBAL_CLAIM, rng.int(100), "g", me, now, false],
    [OP_GLOBAL_CLAIM_REPLY, rng.int(100), true],
    [OP_GLOBAL_ADD, rng.int(3), "g", me, now, false],
    [OP_GLOBAL_DEL, rng.int(3), "g", me],
    [OP_GLOBAL_ACK, rng.int(100)],
    [OP_GLOBAL_RESOLVED, "g", me, [them]],
    [OP_GLOBAL_LOCK, rng.int(100), "lock", rng.chance(0.5)],
    [OP_GLOBAL_LOCK_REPLY, rng.int(100), true],
    [OP_GLOBAL_UNLOCK, rng.int(100), "lock"],
    [OP_GLOBAL_REQUEST, rng.int(100), "register", "g", them],
    [OP_GLOBAL_REPLY, rng.int(100), true],
    [OP_PG_SYNC, "pg", [["group", [me]]], rng.chance(0.5)],
    [OP_PG_JOIN, "pg", "group", [me]],
    [OP_PG_LEAVE, "pg", "group", [me]],
    [OP_PUBSUB_BROADCAST, "topic", { hello: 1 }, null],
    [OP_PRESENCE_STATE, 1, { presences: [], context: [] }],
    [OP_PRESENCE_DELTA, 1, { joins: [], leaves: [] }],
  ];
}

/** Operation codes no layer claims, and the edges of the ranges. */
const UNKNOWN_OPS = [
  0,
  12,
  19,
  23,
  31,
  37,
  39,
  63,
  79,
  81,
  83,
  86,
  87,
  88,
  95,
  96,
  255,
  256,
  65536,
  -1,
];

// ---------------------------------------------------------------- a connection, read by hand

type Outcome = "closed" | "timeout";

/** A TCP connection to the target whose frames the fuzzer reads itself. */
class Wire {
  readonly conn: Deno.TcpConn;
  #buf: Uint8Array = new Uint8Array(0);
  #closed = false;
  #reading: Promise<number | null> | undefined;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async open(port: number): Promise<Wire> {
    return new Wire(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.#closed) return false;
    try {
      let at = 0;
      while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
      return true;
    } catch {
      this.#closed = true;
      return false;
    }
  }

  /** Reads more bytes before `deadline`: `true` when some came, else why not. */
  async #fill(deadline: number): Promise<true | Outcome> {
    if (this.#closed) return "closed";
    const chunk = new Uint8Array(64 * 1024);
    this.#reading ??= this.conn.read(chunk).catch(() => null).then((n) => {
      if (n !== null) this.#buf = concat(this.#buf, chunk.subarray(0, n));
      return n;
    });
    const wait = deadline - performance.now();
    if (wait <= 0) return "timeout";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) =>
      timer = setTimeout(resolve, wait, "timeout")
    );
    const n = await Promise.race([this.#reading, timeout]);
    clearTimeout(timer);
    if (n === "timeout") return "timeout";
    this.#reading = undefined;
    if (n === null) {
      this.#closed = true;
      return "closed";
    }
    return true;
  }

  /** The next frame's payload (a tick is an empty one), or why there is none by `deadline`. */
  async frame(deadline: number): Promise<Uint8Array | Outcome> {
    for (;;) {
      if (this.#buf.length >= 4) {
        const length = new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(0);
        if (this.#buf.length >= 4 + length) {
          const payload = this.#buf.slice(4, 4 + length);
          this.#buf = this.#buf.slice(4 + length);
          return payload;
        }
      }
      const got = await this.#fill(deadline);
      if (got !== true) return got;
    }
  }

  /** Waits until the target closes the connection or sends a frame, by `deadline`. */
  async reaction(deadline: number): Promise<Outcome | "answered"> {
    const payload = await this.frame(deadline);
    return typeof payload === "string" ? payload : "answered";
  }

  close(): void {
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
    // A read still pending settles with null once the socket is gone.
    void this.#reading;
  }
}

// ---------------------------------------------------------------- the handshake, by hand

interface Identity {
  name: string;
  creation: number;
  caps: number;
}

function hello(me: Identity, nonceA: Uint8Array): unknown[] {
  return [MSG_HELLO, HANDSHAKE_MAGIC, [PROTOCOL_VERSION], me.name, me.creation, me.caps, nonceA];
}

interface Challenge {
  status: unknown;
  name: string;
  creation: number;
  caps: number;
  nonceB: Uint8Array;
  proofA: Uint8Array;
}

function parseChallenge(payload: Uint8Array): Challenge | undefined {
  try {
    const m = decode(payload) as unknown[];
    if (!Array.isArray(m) || m[0] !== MSG_CHALLENGE || m.length !== 8) return undefined;
    return {
      status: m[1],
      name: m[3] as string,
      creation: m[4] as number,
      caps: m[5] as number,
      nonceB: m[6] as Uint8Array,
      proofA: m[7] as Uint8Array,
    };
  } catch {
    return undefined;
  }
}

function proofB(me: Identity, nonceA: Uint8Array, c: Challenge): Uint8Array {
  return makeProof(cookieKey, {
    version: PROTOCOL_VERSION,
    role: ROLE_INITIATOR,
    nameA: me.name,
    nameB: c.name,
    creationA: me.creation,
    creationB: c.creation,
    capsA: me.caps,
    capsB: c.caps,
    nonceA,
    nonceB: c.nonceB,
  });
}

function proofAValid(me: Identity, nonceA: Uint8Array, c: Challenge): boolean {
  const expected = makeProof(cookieKey, {
    version: PROTOCOL_VERSION,
    role: ROLE_RESPONDER,
    nameA: me.name,
    nameB: c.name,
    creationA: me.creation,
    creationB: c.creation,
    capsA: me.caps,
    capsB: c.caps,
    nonceA,
    nonceB: c.nonceB,
  });
  return expected.every((b, i) => b === c.proofA[i]);
}

/** A genuine handshake as `me`: the open wire and the target's challenge, or `undefined`. */
async function authenticate(
  port: number,
  me: Identity,
  timeoutMs: number,
): Promise<{ wire: Wire; challenge: Challenge } | undefined> {
  const wire = await Wire.open(port);
  const deadline = performance.now() + timeoutMs;
  const nonceA = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  await wire.write(frame(encode(hello(me, nonceA))));
  const payload = await wire.frame(deadline);
  const challenge = typeof payload === "string" ? undefined : parseChallenge(payload);
  if (challenge === undefined || !proofAValid(me, nonceA, challenge)) {
    wire.close();
    return undefined;
  }
  await wire.write(frame(encode([MSG_REPLY, proofB(me, nonceA, challenge)])));
  const ack = await wire.frame(deadline);
  if (typeof ack === "string" || (decode(ack) as unknown[])[0] !== MSG_ACK) {
    wire.close();
    return undefined;
  }
  return { wire, challenge };
}

// ---------------------------------------------------------------- the target

interface Target {
  child: Deno.ChildProcess;
  port: number;
  name: string;
  /** Why the target closed connections, from its log, by kind. */
  reasons: Map<string, number>;
  logLines: number;
  exited: Promise<Deno.CommandStatus>;
  /** Lines the target printed on stdout after its first, not yet taken. */
  lines: string[];
  /** Wakes whoever waits for the next stdout line. */
  wake: (() => void) | undefined;
  /** The target's stdin: requests, and its end stops the target. */
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}

async function startTarget(): Promise<Target> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", TARGET, COOKIE],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reasons = new Map<string, number>();
  const target: Target = {
    child,
    port: 0,
    name: "",
    reasons,
    logLines: 0,
    exited: child.status,
    lines: [],
    wake: undefined,
    stdin: child.stdin.getWriter(),
  };
  void (async () => {
    let partial = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        target.logLines++;
        const kind = classify(line);
        if (kind !== undefined) reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
      }
    }
  })();
  void (async () => {
    let partial = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      target.lines.push(...lines);
      target.wake?.();
    }
    target.wake?.();
  })();
  const first = await nextLine(target);
  if (first === undefined) {
    throw new Error(
      `The fuzz target exited before it was ready: ${JSON.stringify(await child.status)}`,
    );
  }
  const ready = JSON.parse(first);
  target.port = ready.port;
  target.name = ready.name;
  return target;
}

/** The target's next stdout line; `undefined` when it has none within 30 s or has exited. */
async function nextLine(target: Target): Promise<string | undefined> {
  const deadline = performance.now() + 30_000;
  while (target.lines.length === 0 && performance.now() < deadline) {
    const woken = new Promise<void>((resolve) => target.wake = resolve);
    const timer = setTimeout(() => target.wake?.(), 1000);
    await woken;
    clearTimeout(timer);
  }
  return target.lines.shift();
}

/** Memory the target holds once garbage is collected. */
interface Held {
  rss: number;
  heapUsed: number;
  collected: boolean;
}

async function collectGarbage(target: Target): Promise<Held> {
  await target.stdin.write(new TextEncoder().encode("gc\n")).catch(() => {});
  const line = await nextLine(target);
  if (line === undefined) throw new Error("The fuzz target did not report its memory");
  return JSON.parse(line);
}

/**
 * A log line's kind, its variable parts (addresses, numbers, names, quoted
 * values) removed: "refused: protocol: expected HELLO", "down:
 * connection_closed (Malformed frame: unknown kind N)".
 */
function classify(line: string): string | undefined {
  const generalize = (s: string) =>
    s.replace(/"[^"]*"|'[^']*'/g, "S")
      .replace(/#(PID|Reference)<[^>]*>/g, "$1")
      .replace(/\b[\w.-]+@[\w.:[\]-]+/g, "NODE")
      .replace(/\b\d+(\.\d+)*\b/g, "N")
      .slice(0, 110);
  let m = /Refused connection from .*?: (\w+): (.*)$/.exec(line);
  if (m) return `refused before authentication: ${m[1]}: ${generalize(m[2]!)}`;
  m = /Node \S+ is down: (\w+) \((.*)\)$/.exec(line);
  if (m) return `closed after authentication: ${m[1]}: ${generalize(m[2]!)}`;
  m = /Refusing .*: (.*)$/.exec(line);
  if (m) return `refused at accept: ${generalize(m[1]!)}`;
  if (/\b(ERR|ERROR|FTL|FATAL)\b/.test(line)) {
    return `error logged: ${generalize(line.replace(/^.*?weft\.\S+:?\s*/, ""))}`;
  }
  return undefined;
}

/** The target's resident set size in bytes, from /proc; `undefined` once it has gone. */
async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- the campaigns

interface Stats {
  inputs: number;
  preAuthInputs: number;
  postAuthInputs: number;
  connections: number;
  handshakes: number;
  /** What the fuzzer saw happen to its connections, by kind. */
  seen: Map<string, number>;
  /** Inputs per operation code (post-auth message bodies). */
  perOp: Map<number, number>;
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Deadline for a reaction the target owes at once (a close, a PONG), generous for a loaded CI machine. */
const REACTION_MS = 3000;

/** One connection of a stranger: random or mutated handshake frames. Returns the inputs sent. */
async function preAuthRound(rng: Rng, port: number, lane: number, stats: Stats): Promise<number> {
  const me: Identity = {
    name: `fzpre${lane}@127.0.0.1`,
    creation: 1 + rng.int(0xfffffffe),
    caps: rng.chance(0.8) ? CAPS_DEFAULT : CAPS_DEFAULT | CAP_HIDDEN,
  };
  const cast: Cast = {
    target: "fuzz_target@127.0.0.1",
    targetCreation: 1,
    self: me.name,
    selfCreation: me.creation,
  };
  const nonceA = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const wire = await Wire.open(port);
  stats.connections++;
  let sent = 0;
  let stalls = false; // the input leaves the target waiting for more bytes
  try {
    const scenario = rng.weighted<string>([
      [20, "raw"],
      [30, "hello"],
      [30, "reply"],
      [10, "out_of_turn"],
      [10, "framing"],
    ]);
    switch (scenario) {
      case "raw": { // bytes that are no frame at all
        await wire.write(rng.bytes(1 + rng.int(300)));
        stalls = true;
        sent = 1;
        break;
      }
      case "hello": { // a mutated HELLO
        const fields = hello(me, nonceA);
        const body = rng.chance(0.5)
          ? encode(mutateFields(rng, cast, fields))
          : mutateBytes(rng, encode(fields));
        await wire.write(frame(body));
        sent = 1;
        break;
      }
      case "reply":
      case "out_of_turn": { // a valid HELLO, then a mutated REPLY or a frame out of turn
        await wire.write(frame(encode(hello(me, nonceA))));
        const payload = await wire.frame(performance.now() + REACTION_MS);
        const challenge = typeof payload === "string" ? undefined : parseChallenge(payload);
        if (challenge === undefined) {
          count(stats.seen, "pre-auth: no CHALLENGE to a valid HELLO (refused)");
          return 0;
        }
        cast.targetCreation = challenge.creation;
        let body: Uint8Array;
        if (scenario === "reply") {
          const good = [MSG_REPLY, proofB(me, nonceA, challenge)];
          body = rng.weighted<() => Uint8Array>([
            [4, () => encode(mutateFields(rng, cast, good))],
            [4, () => mutateBytes(rng, encode(good))],
            [1, () => encode([MSG_REPLY, rng.bytes(32)])],
            [1, () => encode([MSG_ABORT, randomTerm(rng, cast)])],
          ])();
        } else {
          const op = rng.pick(validOps(rng, cast));
          body = rng.weighted<() => Uint8Array>([
            [3, () => concat(Uint8Array.of(FRAME_MESSAGE), encode(op))],
            [1, () => encode([MSG_HELLO, ...hello(me, nonceA).slice(1)])],
            [1, () => encode([MSG_ACK])],
            [1, () => encode([MSG_CHALLENGE, "ok", 1, me.name, 1, 1, nonceA, nonceA])],
            [1, () => new Uint8Array(0)], // a tick before authentication
          ])();
        }
        await wire.write(frame(body));
        sent = 1;
        break;
      }
      default: { // framing: an oversized length, a short body, a length cut in two
        const kind = rng.int(3);
        if (kind === 0) {
          await wire.write(frame(rng.bytes(rng.int(16)), 0x10000 + 1 + rng.int(0x7fff0000)));
        } else if (kind === 1) {
          await wire.write(frame(rng.bytes(rng.int(32)), 40 + rng.int(1000)));
          stalls = true;
        } else {
          await wire.write(Uint8Array.of(0, 0));
          stalls = true;
        }
        sent = 1;
      }
    }
    // The target must close at once on a bad frame; an incomplete one waits for its handshake
    // deadline (the flood tests' business), so the fuzzer moves on after a moment.
    const outcome = await wire.reaction(performance.now() + (stalls ? 50 : REACTION_MS));
    count(
      stats.seen,
      outcome === "closed"
        ? "pre-auth: closed by the target"
        : outcome === "answered"
        ? "pre-auth: still valid, answered by the target (CHALLENGE or ACK), closed by the fuzzer"
        : stalls
        ? "pre-auth: incomplete input, closed by the fuzzer after 50 ms"
        : "pre-auth: left open past 3 s, closed by the fuzzer",
    );
    return sent;
  } finally {
    wire.close();
  }
}

/**
 * One authenticated connection: mutated frames, each followed by a PING
 * whose PONG says the target has dealt with it, until the target closes
 * the connection or `budget` inputs are sent.
 */
async function postAuthRound(
  rng: Rng,
  port: number,
  lane: number,
  budget: number,
  stats: Stats,
): Promise<number> {
  const me: Identity = {
    name: `fz${lane}_${rng.int(1_000_000)}@127.0.0.1`,
    creation: 1 + rng.int(0xfffffffe),
    // Hidden peers skip the services' state exchange on connect: more inputs per second.
    caps: rng.chance(HIDDEN_SHARE) ? CAPS_DEFAULT | CAP_HIDDEN : CAPS_DEFAULT,
  };
  const up = await authenticate(port, me, REACTION_MS);
  stats.connections++;
  if (up === undefined) {
    count(stats.seen, "post-auth: handshake refused (the previous connection not yet gone)");
    return 0;
  }
  stats.handshakes++;
  const { wire, challenge } = up;
  const cast: Cast = {
    target: challenge.name,
    targetCreation: challenge.creation,
    self: me.name,
    selfCreation: me.creation,
  };
  let sent = 0;
  let pingId = 1_000_000 + lane * 1_000_000;
  try {
    while (sent < budget) {
      const [bytes, op, misaligns] = postAuthInput(rng, cast);
      if (!(await wire.write(bytes))) break;
      sent++;
      if (op !== undefined) stats.perOp.set(op, (stats.perOp.get(op) ?? 0) + 1);
      const id = ++pingId;
      await wire.write(messageFrame(encode([OP_PING, id])));
      const deadline = performance.now() + (misaligns ? 100 : REACTION_MS);
      let outcome: "pong" | Outcome = "timeout";
      for (;;) {
        const payload = await wire.frame(deadline);
        if (typeof payload === "string") {
          outcome = payload;
          break;
        }
        if (isPong(payload, id)) {
          outcome = "pong";
          break;
        }
      }
      if (outcome === "pong") continue;
      count(
        stats.seen,
        outcome === "closed"
          ? "post-auth: connection closed by the target"
          : misaligns
          ? "post-auth: frame left incomplete, closed by the fuzzer after 100 ms"
          : "post-auth: no PONG within 3 s, closed by the fuzzer",
      );
      return sent;
    }
    count(stats.seen, "post-auth: budget spent, every input answered, closed by the fuzzer");
    return sent;
  } finally {
    wire.close();
  }
}

function isPong(payload: Uint8Array, id: number): boolean {
  if (payload.length === 0 || payload[0] !== FRAME_MESSAGE) return false;
  try {
    const m = decode(payload.subarray(1)) as unknown[];
    return Array.isArray(m) && m[0] === OP_PONG && m[1] === id;
  } catch {
    return false;
  }
}

/** One post-auth input: its bytes, the operation it carries (if one), whether it breaks the framing. */
function postAuthInput(rng: Rng, cast: Cast): [Uint8Array, number | undefined, boolean] {
  const kind = rng.weighted<string>([
    [45, "fields"],
    [25, "bytes"],
    [6, "unknown_op"],
    [6, "not_an_array"],
    [8, "fragment"],
    [4, "kind"],
    [3, "tick"],
    [3, "length"],
  ]);
  switch (kind) {
    case "fields":
    case "bytes": {
      const op = rng.pick(validOps(rng, cast));
      const body = kind === "fields"
        ? encode(rng.chance(0.15) ? op : [op[0], ...mutateFields(rng, cast, op.slice(1))])
        : mutateBytes(rng, encode(op));
      return [messageFrame(body), op[0] as number, false];
    }
    case "unknown_op": {
      const op = rng.pick(UNKNOWN_OPS);
      const fields = Array.from({ length: rng.int(4) }, () => randomTerm(rng, cast));
      return [messageFrame(encode([op, ...fields])), op, false];
    }
    case "not_an_array":
      return [messageFrame(encode(randomTerm(rng, cast))), undefined, false];
    case "fragment": {
      const stream = rng.chance(0.7) ? rng.int(4) : rng.u32();
      const head = rng.chance(0.6);
      const header = new Uint8Array(head ? 9 : 5);
      const view = new DataView(header.buffer);
      header[0] = head ? FRAME_FRAGMENT_HEAD : FRAME_FRAGMENT_CONT;
      view.setUint32(1, stream);
      if (head) {
        view.setUint32(5, rng.weighted<number>([[6, rng.int(200_000)], [2, rng.u32()], [1, 0]]));
      }
      const data = rng.chance(0.5)
        ? concat(Uint8Array.of(FRAME_MESSAGE), encode(rng.pick(validOps(rng, cast))))
        : rng.bytes(rng.int(70_000));
      return [frame(concat(header, data)), undefined, false];
    }
    case "kind":
      return [
        frame(concat(Uint8Array.of(rng.pick([0, 4, 5, 0x7f, 0xff])), rng.bytes(rng.int(64)))),
        undefined,
        false,
      ];
    case "tick":
      return [frame(new Uint8Array(0)), undefined, false];
    default: { // a length prefix that lies: past every limit (closes), or longer than what follows (stalls)
      const huge = rng.chance(0.5);
      const body = concat(Uint8Array.of(FRAME_MESSAGE), encode([OP_PING, 1]));
      return [
        frame(body, huge ? 0x0200_0000 + rng.int(0x7000_0000) : body.length + 1 + rng.int(64)),
        undefined,
        true,
      ];
    }
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const rng = new Rng(options.seed);
  const started = performance.now();
  const target = await startTarget();
  const stats: Stats = {
    inputs: 0,
    preAuthInputs: 0,
    postAuthInputs: 0,
    connections: 0,
    handshakes: 0,
    seen: new Map(),
    perOp: new Map(),
  };
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rss = await rssOf(target.child.pid);
      if (rss !== undefined && rss > peak) peak = rss;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  let failure: string | undefined;
  let exited = false;
  void target.exited.then(() => exited = true);
  try {
    // Warm-up: every operation once, well-formed, from a genuine peer, so that the
    // baseline holds what a node in use holds.
    const refusedTemplates = await warmUp(target.port, rng);
    if (refusedTemplates.length > 0) {
      console.log(
        `  warm-up: the target closed the connection on ops ${refusedTemplates.join(", ")}`,
      );
    }
    const heldBefore = await collectGarbage(target);
    const before = (await rssOf(target.child.pid)) ?? 0;
    peak = before;

    const preTarget = Math.round(options.inputs * options.preAuthShare);
    const lanes = Array.from({ length: options.lanes }, (_, lane) =>
      (async () => {
        const laneRng = new Rng(options.seed * 1000 + lane + 1);
        while (stats.inputs < options.inputs && !exited) {
          const pre = stats.preAuthInputs < preTarget &&
            (stats.postAuthInputs >= options.inputs - preTarget || laneRng.chance(0.5));
          if (pre) {
            const n = await preAuthRound(laneRng, target.port, lane, stats);
            stats.preAuthInputs += n;
            stats.inputs += n;
          } else {
            const budget = Math.min(1 + laneRng.int(64), options.inputs - stats.inputs);
            const n = await postAuthRound(laneRng, target.port, lane, budget, stats);
            stats.postAuthInputs += n;
            stats.inputs += n;
          }
        }
      })());
    let lastReport = performance.now();
    const progress = setInterval(() => {
      const now = performance.now();
      if (now - lastReport < 10_000) return;
      lastReport = now;
      console.log(
        `  ${stats.inputs} inputs, ${stats.connections} connections, RSS ${mib(peak)} MiB peak, ` +
          `${((now - started) / 1000).toFixed(0)} s`,
      );
    }, 1000);
    await Promise.all(lanes);
    clearInterval(progress);
    if (exited) throw new Error(`The fuzz target exited: ${JSON.stringify(await target.exited)}`);

    // The target must still serve a genuine peer.
    const check = await authenticate(target.port, {
      name: "check@127.0.0.1",
      creation: 9,
      caps: CAPS_DEFAULT,
    }, 10_000);
    if (check === undefined) {
      throw new Error("The fuzz target refused a genuine handshake after the run");
    }
    await check.wire.write(messageFrame(encode([OP_PING, 42])));
    let pong = false;
    for (;;) {
      const payload = await check.wire.frame(performance.now() + 10_000);
      if (typeof payload === "string") break;
      if (isPong(payload, 42)) {
        pong = true;
        break;
      }
    }
    check.wire.close();
    if (!pong) throw new Error("The fuzz target did not answer a genuine PING after the run");
    const after = (await rssOf(target.child.pid)) ?? 0;
    const heldAfter = await collectGarbage(target);
    const seconds = (performance.now() - started) / 1000;

    console.log(`fuzz_dist: seed ${options.seed}, ${options.lanes} lanes, ${seconds.toFixed(1)} s`);
    console.log(
      `  inputs: ${stats.inputs} (${stats.preAuthInputs} before authentication, ` +
        `${stats.postAuthInputs} after), ${stats.connections} connections, ` +
        `${stats.handshakes} authenticated`,
    );
    const ops = [...stats.perOp.entries()].sort((a, b) => a[0] - b[0]);
    console.log(
      `  post-auth message bodies per op: ${ops.map(([op, n]) => `${op}:${n}`).join(" ")}`,
    );
    console.log("  what the fuzzer saw:");
    for (const [kind, n] of [...stats.seen].sort((a, b) => b[1] - a[1])) {
      console.log(`    ${String(n).padStart(7)}  ${kind}`);
    }
    console.log(`  why the target closed connections (its log, ${target.logLines} lines), top 25:`);
    for (const [kind, n] of [...target.reasons].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`    ${String(n).padStart(7)}  ${kind}`);
    }
    console.log(
      `  target RSS: ${mib(before)} MiB before, ${mib(peak)} MiB peak, ${mib(after)} MiB after ` +
        `(bound ${options.maxRss} MiB); heap in use after garbage collection: ` +
        `${mib(heldBefore.heapUsed)} MiB before, ${mib(heldAfter.heapUsed)} MiB after ` +
        `(bound: ${options.maxHeapGrowth} MiB more)`,
    );
    if (!heldAfter.collected) failure = "The fuzz target could not collect garbage (--expose-gc)";
    if (peak > options.maxRss * MiB) {
      failure = `RSS reached ${mib(peak)} MiB, past the bound of ${options.maxRss} MiB`;
    }
    if (heldAfter.heapUsed - heldBefore.heapUsed > options.maxHeapGrowth * MiB) {
      failure = `The heap held ${mib(heldAfter.heapUsed - heldBefore.heapUsed)} MiB more after ` +
        `the run, past the bound of ${options.maxHeapGrowth} MiB: something is kept`;
    }
  } catch (e) {
    failure = (e as Error).message;
  } finally {
    sampling = false;
    await sampler;
    await target.stdin.close().catch(() => {});
    const stop = setTimeout(() => target.child.kill("SIGKILL"), 10_000);
    await target.exited;
    clearTimeout(stop);
  }
  if (failure !== undefined) {
    for (const [kind, n] of [...target.reasons].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      console.log(`    ${String(n).padStart(7)}  ${kind}`);
    }
    console.log(`fuzz_dist: FAILED: ${failure}`);
    return 1;
  }
  console.log("fuzz_dist: ok: no crash, the target answered a genuine peer, memory within bound");
  return 0;
}

/** Sends every valid operation once, each followed by a PING; returns the ops the target refused. */
async function warmUp(port: number, rng: Rng): Promise<number[]> {
  const refused: number[] = [];
  const me: Identity = { name: "warmup@127.0.0.1", creation: 5, caps: CAPS_DEFAULT };
  let up = await authenticate(port, me, 10_000);
  if (up === undefined) throw new Error("The fuzz target refused a genuine handshake at the start");
  const cast: Cast = {
    target: up.challenge.name,
    targetCreation: up.challenge.creation,
    self: me.name,
    selfCreation: me.creation,
  };
  let id = 0;
  for (const op of validOps(rng, cast)) {
    await up.wire.write(messageFrame(encode(op)));
    await up.wire.write(messageFrame(encode([OP_PING, ++id])));
    for (;;) {
      const payload = await up.wire.frame(performance.now() + 10_000);
      if (payload === "timeout") {
        throw new Error("The fuzz target did not answer a PING in the warm-up");
      }
      if (payload === "closed") {
        refused.push(op[0] as number);
        up = await authenticate(port, me, 10_000);
        if (up === undefined) {
          throw new Error("The fuzz target refused a genuine handshake in the warm-up");
        }
        break;
      }
      if (isPong(payload, id)) break;
    }
  }
  up.wire.close();
  return refused;
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(0);
}

if (import.meta.main) Deno.exit(await main());
