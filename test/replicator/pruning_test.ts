/**
 * Pruning of removed replicas, by a seeded simulation: nodes crash and come
 * back as new replicas (their durable state loaded), leave for good (their
 * entries handed to a live node first, then removed on every other node at
 * different moments), while partitions cut and heal, and operations are
 * lost, duplicated, delayed and reordered. Every counter must end at exactly
 * the sum of the increments made, on every replica, with every removed
 * replica gone from the states: a retired replica is never folded twice
 * (two pruners) nor lost (a pruner that folded less than a replica held).
 */
import assert from "node:assert/strict";
import { Replica } from "../../src/replicator/replica.ts";
import { OP_AE_SYNC, OP_DELTA, REPLICATOR_VERSION } from "../../src/replicator/types.ts";
import { decode, encode } from "../../src/term/codec.ts";
import { testTypes } from "./_types.ts";
import { prng } from "../helpers/prng.ts";

interface Msg {
  from: string;
  to: string;
  op: number;
  bytes: Uint8Array;
  at: number;
}

const KEYS = ["views", "likes", "clicks"];

type Inc = { increment(n: number): void };

class PruneSim {
  random: () => number;
  now = 0;
  /** Live replicas by node name. */
  live = new Map<string, Replica>();
  /** Generation of each node name (its replica id is `node#generation`). */
  generation = new Map<string, number>();
  inflight: Msg[] = [];
  cut = new Set<string>();
  faults = true;
  increments = new Map<string, number>();
  /** Nodes that left for good, and the live nodes that have not removed them yet. */
  leaving = new Map<string, Set<string>>();
  /** The replica id of each node that left. */
  left = new Map<string, string>();
  nextNode: number;

  constructor(seed: number, n: number) {
    this.random = prng(seed);
    this.nextNode = n;
    for (let i = 0; i < n; i++) this.#start(`r${i}@sim`);
    for (const a of this.live.values()) {
      for (const b of this.live.values()) if (a !== b) a.peerUp(b.node, b.replica);
    }
  }

  #start(node: string, from?: Replica): Replica {
    const gen = (this.generation.get(node) ?? 0) + 1;
    this.generation.set(node, gen);
    const replica = new Replica({
      node,
      replica: `${node}#${gen}`,
      types: testTypes,
      clock: this.#clock(),
      send: (to, op, fields) => {
        const bytes = encode(fields);
        this.inflight.push({ from: node, to, op, bytes, at: this.now + this.#delay() });
      },
      timer: () => () => {},
    });
    if (from !== undefined) {
      // Restarted with its data directory: every change was durable.
      for (const key of from.keys()) replica.load(decode(encode(from.entry(key)!)));
      // The replicas it knew to be gone are kept with them.
      for (const gone of [...from.retired(), from.replica]) replica.retire(gone);
    }
    this.live.set(node, replica);
    return replica;
  }

  #clock() {
    let logical = 0;
    return {
      now: () => ({ wall: this.now, logical: logical++ }),
      check: () => {},
      receive: (ts: { wall: number; logical: number }) => {
        logical = Math.max(logical, ts.logical) + 1;
        return { wall: this.now, logical };
      },
    };
  }

  #delay(): number {
    return this.faults ? Math.floor(this.random() * 20) : 0;
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }

  #linked(a: string, b: string): boolean {
    return !this.cut.has(`${a}|${b}`);
  }

  step(): void {
    this.now++;
    const r = this.random();
    const replica = this.#pick([...this.live.values()]);
    if (r < 0.3) {
      const key = this.#pick(KEYS);
      if (!replica.has(key)) replica.open(key, "g-counter");
      const by = 1 + Math.floor(this.random() * 3);
      replica.update(key, (c) => (c as Inc).increment(by));
      this.increments.set(key, (this.increments.get(key) ?? 0) + by);
    } else if (r < 0.42) {
      replica.flush();
    } else if (r < 0.5) {
      replica.antiEntropy();
    } else if (r < 0.52) {
      this.crash(replica.node);
    } else if (r < 0.535 && this.live.size > 2) {
      this.leave(replica.node);
    } else if (r < 0.545 && this.live.size < 6) {
      this.join();
    } else if (r < 0.565) {
      this.#removeSome();
    } else if (r < 0.585) {
      this.#partition();
    } else if (r < 0.6) {
      this.heal();
    } else {
      this.deliverOne();
    }
  }

  /** `node` crashes and restarts with its durable state as a new replica. */
  crash(node: string): void {
    const old = this.live.get(node)!;
    // Its connections close: what was on its way to it is lost.
    this.inflight = this.inflight.filter((m) => m.to !== node);
    for (const other of this.live.values()) if (other !== old) other.peerDown(node);
    const fresh = this.#start(node, old);
    for (const other of this.live.values()) {
      if (other === fresh) continue;
      other.peerUp(node, fresh.replica);
      fresh.peerUp(other.node, other.replica);
      if (!this.#linked(node, other.node)) {
        other.peerDown(node);
        fresh.peerDown(other.node);
      }
    }
    for (const [gone, pending] of this.leaving) {
      if (!pending.has(node)) fresh.removeNode(gone);
    }
  }

  /**
   * `node` leaves for good: its entries go to a live node first (a graceful
   * hand-off), then every other node removes it, each in its own time.
   */
  leave(node: string): void {
    const old = this.live.get(node)!;
    this.live.delete(node);
    // What it knew to be gone goes with its entries.
    for (const [gone, pending] of this.leaving) {
      if (pending.delete(node)) old.retire(this.left.get(gone)!);
    }
    const heir = this.#pick([...this.live.values()]);
    for (const key of old.keys()) heir.load(decode(encode(old.entry(key)!)));
    for (const gone of old.retired()) heir.retire(gone);
    this.inflight = this.inflight.filter((m) => m.to !== node);
    for (const other of this.live.values()) other.peerDown(node);
    this.leaving.set(node, new Set(this.live.keys()));
    this.left.set(node, old.replica);
  }

  /** A new node joins. */
  join(): void {
    const node = `r${this.nextNode++}@sim`;
    const fresh = this.#start(node);
    for (const other of this.live.values()) {
      if (other === fresh) continue;
      other.peerUp(node, fresh.replica);
      fresh.peerUp(other.node, other.replica);
    }
    for (const gone of this.leaving.keys()) fresh.removeNode(gone);
  }

  /** Some nodes' prune delay for a node that left runs out. */
  #removeSome(all = false): void {
    for (const [gone, pending] of this.leaving) {
      for (const node of [...pending]) {
        if (!all && this.random() < 0.5) continue;
        pending.delete(node);
        const replica = this.live.get(node);
        replica?.removeNode(gone);
        // A node restarted since knows the one that left from its data directory.
        replica?.retire(this.left.get(gone)!);
      }
      if (pending.size === 0) this.leaving.delete(gone);
    }
  }

  #partition(): void {
    const side = new Set([...this.live.keys()].filter(() => this.random() < 0.5));
    for (const a of this.live.values()) {
      for (const b of this.live.values()) {
        if (a === b || side.has(a.node) === side.has(b.node)) continue;
        if (!this.cut.has(`${a.node}|${b.node}`)) {
          this.cut.add(`${a.node}|${b.node}`);
          a.peerDown(b.node);
        }
      }
    }
  }

  heal(): void {
    for (const link of this.cut) {
      const [a, b] = link.split("|") as [string, string];
      const ra = this.live.get(a);
      const rb = this.live.get(b);
      if (ra !== undefined && rb !== undefined) ra.peerUp(rb.node, rb.replica);
    }
    this.cut.clear();
  }

  deliverOne(): boolean {
    const due = this.inflight.filter((m) => m.at <= this.now);
    if (due.length === 0) return false;
    const msg = this.#pick(due);
    this.inflight.splice(this.inflight.indexOf(msg), 1);
    const to = this.live.get(msg.to);
    if (to === undefined || !this.#linked(msg.from, msg.to)) return true;
    if (this.faults && this.random() < 0.15) return true;
    if (this.faults && this.random() < 0.1) this.inflight.push({ ...msg, at: this.now + 5 });
    to.receive(msg.from, msg.op, decode(msg.bytes) as unknown[]);
    return true;
  }

  drain(): void {
    for (let i = 0; i < 100_000 && this.inflight.length > 0; i++) {
      this.now += 20;
      while (this.deliverOne());
    }
    assert.equal(this.inflight.length, 0, "the network did not drain");
  }

  /** Faults stop, partitions heal, every node removes the nodes that left. */
  settle(): void {
    this.faults = false;
    this.heal();
    this.#removeSome(true);
  }

  replicas(): Replica[] {
    return [...this.live.values()];
  }

  settled(): boolean {
    const rs = this.replicas();
    const roots = rs.map((r) => r.rootHash().join(":"));
    return roots.every((h) => h === roots[0]) && rs.every((r) => r.retired().length === 0);
  }
}

function simulate(seed: number): { rounds: number; pruned: number } {
  const sim = new PruneSim(seed, 3 + (seed % 3));
  for (let i = 0; i < 400; i++) sim.step();
  sim.settle();
  sim.inflight = sim.inflight.filter(() => sim.random() < 0.5);
  sim.drain();
  let rounds = 0;
  while (!sim.settled()) {
    assert.ok(rounds < 12, `seed ${seed}: not settled after ${rounds} anti-entropy rounds`);
    rounds++;
    for (const r of sim.replicas()) r.antiEntropy();
    sim.drain();
    for (const r of sim.replicas()) r.flush();
    sim.drain();
  }
  const live = new Set(sim.replicas().map((r) => r.replica));
  for (const key of KEYS) {
    const expected = sim.increments.get(key) ?? 0;
    for (const r of sim.replicas()) {
      if (!r.has(key)) {
        assert.equal(expected, 0, `seed ${seed}: ${key} missing on ${r.replica}`);
        continue;
      }
      assert.equal(r.value(key), expected, `seed ${seed}: ${key} on ${r.replica}`);
      const counts = r.state(key)!.state as Map<string, number>;
      for (const id of counts.keys()) {
        assert.ok(live.has(id), `seed ${seed}: ${key} on ${r.replica} still holds ${id}`);
      }
    }
  }
  return { rounds, pruned: sim.replicas()[0]!.pruned().length };
}

Deno.test("pruning simulation: 300 seeds of crashes, leaves, joins and partitions during pruning; counters end at exactly the increments made, removed replicas gone", () => {
  let pruned = 0;
  for (let seed = 1; seed <= 300; seed++) pruned += simulate(seed).pruned;
  assert.ok(pruned > 300, `only ${pruned} replicas pruned over 300 seeds`);
});

Deno.test("pruning: two phases; the pruner folds only once every member acknowledged, and the others drop the removed replica", () => {
  const sim = new PruneSim(11, 3);
  sim.faults = false;
  const [a, b, c] = sim.replicas() as [Replica, Replica, Replica];
  for (const r of [a, b, c]) {
    r.open("views", "g-counter");
    r.update("views", (h) => (h as Inc).increment(5));
    r.flush();
  }
  sim.drain();
  // c's last 2 reach b only, then c leaves for good.
  c.update("views", (h) => (h as Inc).increment(2));
  b.receive(c.node, OP_DELTA, [REPLICATOR_VERSION, [c.entry("views")]]);
  for (const r of [a, b]) {
    r.peerDown(c.node);
    r.removeNode(c.node);
  }
  sim.live.delete(c.node);
  assert.equal(a.value("views"), 15);
  assert.equal(b.value("views"), 17);
  // Phase one: a (the lowest) asks b, which answers with all it holds.
  a.antiEntropy();
  assert.deepEqual(a.retired(), [c.replica], "b has not answered: nothing folded yet");
  sim.drain();
  assert.equal(a.value("views"), 17, "b's entries reached a with its answer");
  // Phase two at the next round: fold; the marker reaches b with a's state.
  a.antiEntropy();
  a.flush();
  sim.drain();
  for (const r of [a, b]) {
    assert.equal(r.value("views"), 17);
    assert.ok(!(r.state("views")!.state as Map<string, number>).has(c.replica));
    assert.deepEqual(r.pruned(), [[c.replica, a.replica]]);
  }
  // Data of c that arrives late is dropped, whoever relays it.
  b.receive(c.node, OP_DELTA, [REPLICATOR_VERSION, [c.entry("views")]]);
  a.receive(b.node, OP_AE_SYNC, [REPLICATOR_VERSION, [c.entry("views")], null]);
  assert.equal(a.value("views"), 17);
  assert.equal(b.value("views"), 17);
});

Deno.test("pruning: two nodes that each believe they are the lowest (b thinks a left): the member that answered the lower pruner refuses the higher one; the removed replica is folded once", () => {
  const sim = new PruneSim(12, 4);
  sim.faults = false;
  const [a, b, c, d] = sim.replicas() as [Replica, Replica, Replica, Replica];
  for (const r of [a, b, c, d]) {
    r.open("views", "g-counter");
    r.update("views", (h) => (h as Inc).increment(1));
    r.flush();
  }
  sim.drain();
  // d leaves; a does not know yet that b took over d's data, and b thinks a is away
  // and would rather be pruner itself.
  sim.live.delete(d.node);
  for (const r of [a, b, c]) {
    r.peerDown(d.node);
    r.removeNode(d.node);
  }
  b.peerDown(a.node);
  b.removeNode(a.node); // b believes a left for good: b is now the lowest it knows
  b.antiEntropy(); // b asks c
  a.antiEntropy(); // a asks b and c
  sim.drain();
  // c answered a (lower) or b first; either way only one pruner folds d.
  for (let i = 0; i < 6; i++) {
    for (const r of [a, b, c]) r.antiEntropy();
    sim.drain();
    for (const r of [a, b, c]) r.flush();
    sim.drain();
  }
  const folds = [a, b, c].filter((r) =>
    ((r.state("views")!.state as Map<string, number>).get(r.replica) ?? 0) > 1
  );
  assert.ok(folds.length <= 1, "d was folded by two pruners");
  assert.equal(a.value("views"), 4);
  assert.equal(c.value("views"), 4);
});
