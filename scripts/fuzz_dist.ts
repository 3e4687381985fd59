/**
 * Fuzzes a live node's distribution port: random and mutated handshake
 * frames from strangers, and, after real authenticated handshakes,
 * mutated frames and CBOR bodies of every operation, against one node in
 * a process of its own (`scripts/fuzz/_target_main.ts`). Seeded, so a failure
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
import { importCookie } from "../src/distribution/handshake.ts";
import {
  CAP_HIDDEN,
  CAPS_DEFAULT,
  FRAME_FRAGMENT_CONT,
  FRAME_FRAGMENT_HEAD,
  FRAME_MESSAGE,
  MSG_ABORT,
  MSG_ACK,
  MSG_CHALLENGE,
  MSG_HELLO,
  MSG_REPLY,
  NONCE_BYTES,
  OP_PING,
} from "../src/distribution/types.ts";
import { encode } from "../src/term/codec.ts";
import { type Cast, concat, mutateBytes, mutateFields, randomTerm } from "./fuzz/_mutate.ts";
import { UNKNOWN_OPS, validOps } from "./fuzz/_ops.ts";
import { Rng } from "./fuzz/_rng.ts";
import { collectGarbage, rssOf, startTarget } from "./fuzz/_target.ts";
import {
  authenticate,
  frame,
  hello,
  type Identity,
  isPong,
  messageFrame,
  type Outcome,
  parseChallenge,
  proofB,
  Wire,
} from "./fuzz/_wire.ts";

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
          const good = [MSG_REPLY, proofB(cookieKey, me, nonceA, challenge)];
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
  let pingId = 1_000_000 + lane * 1_000_000;
  let cast: Cast | undefined;
  /** The input written and waiting for its PONG. */
  let waiting: { op: number | undefined; misaligns: boolean; id: number } | undefined;
  const next = (): Uint8Array => {
    const [bytes, op, misaligns] = postAuthInput(rng, cast!);
    waiting = { op, misaligns, id: ++pingId };
    return concat(bytes, messageFrame(encode([OP_PING, waiting.id])));
  };
  // The first input goes right behind REPLY, in the same write.
  const up = await authenticate(port, me, cookieKey, REACTION_MS, (challenge) => {
    cast = {
      target: challenge.name,
      targetCreation: challenge.creation,
      self: me.name,
      selfCreation: me.creation,
    };
    return next();
  });
  stats.connections++;
  if (up === undefined) {
    count(stats.seen, "post-auth: handshake refused (the previous connection not yet gone)");
    return 0;
  }
  stats.handshakes++;
  const { wire } = up;
  let sent = 0;
  try {
    for (;;) {
      if (waiting === undefined) {
        if (sent >= budget) break;
        if (!(await wire.write(next()))) break;
      }
      const { op, misaligns, id } = waiting!;
      waiting = undefined;
      sent++;
      if (op !== undefined) stats.perOp.set(op, (stats.perOp.get(op) ?? 0) + 1);
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
      if (rng.chance(0.6)) {
        // A whole message in fragments: a (mutated) body of some operation, cut in 1-3 pieces.
        const op = rng.pick(validOps(rng, cast));
        const body = rng.chance(0.5)
          ? encode([op[0], ...mutateFields(rng, cast, op.slice(1))])
          : mutateBytes(rng, encode(op));
        return [fragments(rng, body), op[0] as number, false];
      }
      // A broken stream: a CONT of no stream, a HEAD of one already open, a total too large or
      // too small for what follows, a stream left unfinished.
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
        ? encode(rng.pick(validOps(rng, cast)))
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

/** `body` as FRAGMENT_HEAD and FRAGMENT_CONT frames of a fresh stream, cut in 1 to 3 pieces. */
function fragments(rng: Rng, body: Uint8Array): Uint8Array {
  const stream = 1 + rng.int(0xfffffffe);
  const cuts = Array.from({ length: rng.int(3) }, () => rng.int(body.length + 1)).sort((a, b) =>
    a - b
  );
  const bounds = [0, ...cuts, body.length];
  const frames: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const header = new Uint8Array(i === 0 ? 9 : 5);
    const view = new DataView(header.buffer);
    header[0] = i === 0 ? FRAME_FRAGMENT_HEAD : FRAME_FRAGMENT_CONT;
    view.setUint32(1, stream);
    if (i === 0) view.setUint32(5, body.length);
    frames.push(frame(concat(header, body.subarray(bounds[i], bounds[i + 1]))));
  }
  return concat(...frames);
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const rng = new Rng(options.seed);
  const started = performance.now();
  const target = await startTarget(COOKIE);
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
    const check = await authenticate(
      target.port,
      {
        name: "check@127.0.0.1",
        creation: 9,
        caps: CAPS_DEFAULT,
      },
      cookieKey,
      10_000,
    );
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
  let up = await authenticate(port, me, cookieKey, 10_000);
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
        up = await authenticate(port, me, cookieKey, 10_000);
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
