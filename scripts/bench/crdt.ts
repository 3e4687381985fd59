/**
 * The CRDT benchmark, Weft's replicator side by side with Yjs (the fastest
 * JavaScript CRDT) in the same run, on the same machine:
 *
 * - (a) local updates per second of each replicated type (one replica whose
 *   deltas are flushed, encoded, every 1000 updates), against Yjs `Y.Map.set`
 *   in a transaction of its own, both as a synced map does it (each update
 *   encoded for the `update` listener, merged every 1000) and bare (nothing
 *   listening: Yjs then encodes nothing);
 * - (b) three OS processes, 100 000 map updates on one of them (Weft: an
 *   `lww-map`; Yjs: a `Y.Map`): the time until every replica holds them all,
 *   and the bytes written by the three processes per update;
 * - (c) a 10 s partition of one of the three while 10 000 keys change on the
 *   others, then the heal: the time and the bytes until the cut replica has
 *   them (Weft: anti-entropy over its digest tree; Yjs: sync step 1/2 by
 *   state vector on the new connection), with 20 000 keys held in all.
 *
 * Both sides ship what changed every 100 ms (scripts/bench/_crdt_peer.ts);
 * bytes are what the three processes wrote to their peers' sockets (Weft:
 * counted by a wrapper of its TCP transport, frames, handshakes and ticks
 * included; Yjs: its length-prefixed y-protocols messages), the same measure
 * for both. Runs alternate Weft / Yjs. The Weft nodes keep their mesh with a
 * static cluster topology (a connection dropped under load is dialled
 * again, and anti-entropy repairs what it lost) and Erlang's 60 s net tick.
 *
 * Run with `deno run -A scripts/bench/crdt.ts` (or `deno task bench crdt`);
 * `CRDT_BENCH_ONLY=b,c` runs some parts, `CRDT_BENCH_SIDES=weft` one side,
 * `CRDT_BENCH_UPDATES` and `CRDT_BENCH_PARTITION_MS` change the sizes.
 *
 * @module
 */

import * as Y from "yjs";
import { crdtType } from "../../src/crdt/crdt_type.ts";
import { Hlc } from "../../src/crdt/hlc.ts";
import { Replica, type ReplicatedType } from "../../src/replicator/replica.ts";

const PEER = new URL("./_crdt_peer.ts", import.meta.url).pathname;
const MAP_UPDATES = Number(Deno.env.get("CRDT_BENCH_UPDATES") ?? 100_000);
const DIFF_KEYS = 10_000;
const PARTITION_MS = Number(Deno.env.get("CRDT_BENCH_PARTITION_MS") ?? 10_000);
/** Which parts to run (CRDT_BENCH_ONLY=b,c); default all three. */
const ONLY = new Set((Deno.env.get("CRDT_BENCH_ONLY") ?? "a,b,c").split(","));
const SIDES = (Deno.env.get("CRDT_BENCH_SIDES") ?? "weft,yjs").split(",");

// ------------------------------------------------------------------- (a)

// deno-lint-ignore no-explicit-any
type Op = (h: any, i: number) => void;
const OPS: [string, Op][] = [
  ["g-counter", (h) => h.increment(1)],
  ["pn-counter", (h, i) => (i % 2 ? h.increment(1) : h.decrement(1))],
  ["g-set", (h, i) => h.add(i)],
  ["or-set", (h, i) => h.add(i)],
  ["lww-register", (h, i) => h.set(i)],
  ["mv-register", (h, i) => h.set(i)],
  ["flag", (h, i) => (i % 2 ? h.enable() : h.disable())],
  ["or-map", (h, i) => h.counter(`k${i % 1000}`).increment(1)],
  ["lww-map", (h, i) => h.set(`k${i}`, i)],
];

function rate(n: number, fn: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return n / ((performance.now() - t0) / 1000);
}

/** Updates per batch: Weft flushes its deltas, Yjs merges its updates, once per batch. */
const BATCH = 1000;
const ROUNDS = Number(Deno.env.get("CRDT_BENCH_ROUNDS") ?? 7);

/** Yjs `Y.Map.set`, one transaction per update, nothing listening: no update is encoded. */
function yjsBare(n: number): number {
  const ymap = new Y.Doc().getMap<number>("m");
  return rate(n, (i) => ymap.set(`k${i}`, i));
}

/**
 * Yjs `Y.Map.set` as a replicated map does it: each transaction's update is
 * encoded for the `update` listener and the updates of a batch are merged
 * into one message (`Y.mergeUpdates`), as the peers of (b) and (c) do every
 * interval: the counterpart of Weft's update plus its flush.
 */
function yjsSynced(n: number): number {
  const doc = new Y.Doc();
  const ymap = doc.getMap<number>("m");
  let pending: Uint8Array[] = [];
  doc.on("update", (u: Uint8Array) => void pending.push(u));
  return rate(n, (i) => {
    ymap.set(`k${i}`, i);
    if (i % BATCH === BATCH - 1) {
      Y.mergeUpdates(pending);
      pending = [];
    }
  });
}

/** One replica with one peer (its DELTA is encoded and handed to a send that drops it). */
function weftRate(type: string, op: Op, n: number): number {
  const r = new Replica({
    node: "bench",
    replica: "bench#1",
    types: crdtType as (name: string) => ReplicatedType,
    clock: new Hlc(),
    send: () => {},
  });
  r.peerUp("peer", "peer#1");
  r.open(type, type);
  return rate(n, (i) => {
    r.update(type, (h) => op(h, i));
    if (i % BATCH === BATCH - 1) r.flush();
  });
}

/** Median and range of a sample. */
function spread(xs: number[]): { median: number; lo: number; hi: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, lo: s[0]!, hi: s[s.length - 1]! };
}

function local(): void {
  const n = 20_000;
  // Rounds interleave every subject, so load that comes and goes hits them alike.
  const runs = new Map<string, number[]>();
  const add = (k: string, v: number) => runs.set(k, [...(runs.get(k) ?? []), v]);
  for (let round = 0; round < ROUNDS; round++) {
    add("yjs bare", yjsBare(n));
    add("yjs synced", yjsSynced(n));
    for (const [type, op] of OPS) add(type, weftRate(type, op, n));
  }
  const bare = spread(runs.get("yjs bare")!);
  const synced = spread(runs.get("yjs synced")!);
  const range = (x: { lo: number; hi: number }) => `${fmt(x.lo)}-${fmt(x.hi)}`;
  console.log(
    `\n(a) local updates/s, one replica, ${n} updates, ${BATCH} per flush; median of ${ROUNDS} rounds (range)`,
  );
  console.log(
    `Yjs Y.Map.set synced (update encoded, merged per ${BATCH}): ${fmt(synced.median)}/s (${
      range(synced)
    }); bare (nothing listening, nothing encoded): ${fmt(bare.median)}/s (${range(bare)})`,
  );
  console.log("type           weft/s         range   vs synced   vs bare");
  for (const [type] of OPS) {
    const w = spread(runs.get(type)!);
    console.log(
      `${type.padEnd(13)} ${fmt(w.median).padStart(8)} ${range(w).padStart(13)} ${
        (w.median / synced.median).toFixed(2).padStart(10)
      }x ${(w.median / bare.median).toFixed(2).padStart(8)}x`,
    );
  }
}

// ------------------------------------------------------------ peers

class Peer {
  #child: Deno.ChildProcess;
  #lines: AsyncIterator<string>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  port = 0;

  constructor(side: string, name: string) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", PEER, side, name],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout);
  }

  async ready(): Promise<void> {
    this.port = (await this.#next() as { port: number }).port;
  }

  async #next(): Promise<unknown> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error("A benchmark peer exited");
    return JSON.parse(value);
  }

  async ask<T>(msg: object): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
    return await this.#next() as T;
  }

  async quit(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode('{"cmd":"quit"}\n'));
      await this.#writer.close();
    } catch { /* gone */ }
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const p of parts) if (p.startsWith("{")) yield p;
  }
}

async function trio(side: string): Promise<Peer[]> {
  const names = ["ca", "cb", "cc"];
  const peers = names.map((n) => new Peer(side, n));
  await Promise.all(peers.map((p) => p.ready()));
  for (let i = 0; i < 3; i++) {
    const others = names.map((name, j) => ({ name, port: peers[j]!.port })).filter((_, j) =>
      j !== i
    );
    await peers[i]!.ask({ cmd: "peers", peers: others });
  }
  return peers;
}

const io = async (peers: Peer[]) =>
  (await Promise.all(peers.map((p) => p.ask<{ written: number }>({ cmd: "io" }))))
    .reduce((s, r) => s + r.written, 0);

// ------------------------------------------------------------------- (b)

interface MapFigures {
  ms: number;
  bytesPerUpdate: number;
}

async function mapSync(side: string): Promise<MapFigures> {
  const peers = await trio(side);
  try {
    await new Promise((r) => setTimeout(r, 500)); // connections settled
    const before = await io(peers);
    const t0 = performance.timeOrigin + performance.now();
    // Each peer answers one command at a time: the writer is not asked to wait.
    const waits = peers.slice(1).map((p) =>
      p.ask<{ at: number | null; count?: number }>({
        cmd: "until",
        what: "map",
        count: MAP_UPDATES,
      })
    );
    await peers[0]!.ask({ cmd: "map", n: MAP_UPDATES, from: 0 });
    const answers = await Promise.all(waits);
    if (answers.some((r) => r.at === null)) {
      console.log(`  ${side}: replicas stopped at ${answers.map((r) => r.count ?? MAP_UPDATES)}`);
      return { ms: NaN, bytesPerUpdate: NaN };
    }
    const done = Math.max(...answers.map((r) => r.at!));
    const bytes = (await io(peers)) - before;
    return { ms: done - t0, bytesPerUpdate: bytes / MAP_UPDATES };
  } finally {
    await Promise.all(peers.map((p) => p.quit()));
  }
}

// ------------------------------------------------------------------- (c)

interface HealFigures {
  ms: number;
  bytes: number;
  bytesPerKey: number;
}

async function heal(side: string): Promise<HealFigures> {
  const peers = await trio(side);
  const [a, , c] = peers as [Peer, Peer, Peer];
  try {
    await new Promise((r) => setTimeout(r, 500));
    await a.ask({ cmd: "keys", n: 2 * DIFF_KEYS, from: 0, tag: "v1" });
    await c.ask({ cmd: "until", what: "keys", count: 2 * DIFF_KEYS, tag: "v1" });
    await c.ask({ cmd: "cut", on: true });
    const cutAt = performance.now();
    await a.ask({ cmd: "keys", n: DIFF_KEYS, from: 0, tag: "v2" });
    await new Promise((r) =>
      setTimeout(r, Math.max(0, PARTITION_MS - (performance.now() - cutAt)))
    );
    await new Promise((r) => setTimeout(r, 300)); // deltas of the other side flushed
    const before = await io(peers);
    const t0 = performance.timeOrigin + performance.now();
    await c.ask({ cmd: "cut", on: false });
    const { at } = await c.ask<{ at: number | null }>({
      cmd: "until",
      what: "keys",
      count: DIFF_KEYS,
      tag: "v2",
    });
    const bytes = (await io(peers)) - before;
    if (at === null) return { ms: NaN, bytes, bytesPerKey: NaN };
    return { ms: at - t0, bytes, bytesPerKey: bytes / DIFF_KEYS };
  } finally {
    await Promise.all(peers.map((p) => p.quit()));
  }
}

// -------------------------------------------------------------------- run

function fmt(n: number): string {
  return n >= 1e6
    ? `${(n / 1e6).toFixed(2)}M`
    : n >= 1e3
    ? `${(n / 1e3).toFixed(1)}k`
    : n.toFixed(0);
}

if (ONLY.has("a")) local();

if (ONLY.has("b")) {
  console.log(
    `\n(b) 3 OS processes, ${MAP_UPDATES} map updates on one: time until all hold them, bytes`,
  );
  const b: Record<string, MapFigures> = {};
  for (const side of SIDES) {
    b[side] = await mapSync(side);
    console.log(
      `${side.padEnd(5)} ${b[side]!.ms.toFixed(0).padStart(7)} ms   ${
        b[side]!.bytesPerUpdate.toFixed(1).padStart(7)
      } bytes/update`,
    );
  }
}

if (ONLY.has("c")) {
  console.log(
    `\n(c) one of 3 cut off ${PARTITION_MS / 1000} s while ${DIFF_KEYS} of ${
      2 * DIFF_KEYS
    } keys change; after the heal: time and bytes until it has them`,
  );
  for (const side of SIDES) {
    const f = await heal(side);
    console.log(
      `${side.padEnd(5)} ${f.ms.toFixed(0).padStart(7)} ms   ${fmt(f.bytes).padStart(7)} bytes   ${
        f.bytesPerKey.toFixed(1).padStart(6)
      } bytes/differing key`,
    );
  }
}
console.log(
  "\nWeft: anti-entropy every 1000 ms (a heal starts a round at once); deltas every 100 ms.",
);
