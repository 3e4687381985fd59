import assert from "node:assert/strict";
import {
  type CommandOutcome,
  type LogEntry,
  type MembershipOutcome,
  type RaftMachine,
  type RaftMessage,
  RaftServer,
  type RaftSnapshot,
  type RaftStorage,
  type ServerId,
} from "../../src/raft/mod.ts";

/** A counter that refuses negative amounts by throwing. */
const counter: RaftMachine<number, number, number> = {
  init: () => 0,
  apply(_meta, amount, state) {
    if (amount < 0) throw new RangeError("negative amount");
    return { state: state + amount, reply: state + amount };
  },
};

/** The counter, releasing a cursor (so servers snapshot) at every multiple of `every`. */
function snapshottingCounter(every: number): RaftMachine<number, number, number> {
  return {
    init: () => 0,
    apply: (meta, amount, state) => ({
      state: state + amount,
      reply: state + amount,
      releaseCursor: meta.index % every === 0,
    }),
  };
}

/** An in-memory store that syncs at once, kept across a server's restarts. */
class MemoryStorage implements RaftStorage<number> {
  term = 0;
  votedFor: ServerId | null = null;
  snapshot: RaftSnapshot | null = null;
  entries: LogEntry<number>[] = [];
  load() {
    return {
      term: this.term,
      votedFor: this.votedFor,
      snapshot: this.snapshot,
      entries: this.entries.slice(),
    };
  }
  saveMeta(term: number, votedFor: ServerId | null) {
    this.term = term;
    this.votedFor = votedFor;
  }
  append(entries: readonly LogEntry<number>[]) {
    this.entries.push(...entries);
  }
  truncateFrom(index: number) {
    this.entries = this.entries.filter((e) => e.index < index);
  }
  saveSnapshot(snapshot: RaftSnapshot) {
    this.snapshot = snapshot;
    this.entries = this.entries.filter((e) => e.index > snapshot.index);
  }
  sync() {}
}

interface GroupOptions {
  readonly machine?: RaftMachine<number, number, number>;
  readonly snapshotChunkBytes?: number;
}

/** Servers over a hand-stepped network with a cut set of links. */
function group(ids: readonly ServerId[], options: GroupOptions = {}) {
  let now = 0;
  const inbox: RaftMessage<number>[] = [];
  const sent: RaftMessage<number>[] = [];
  const cut = new Set<ServerId>();
  const outcomes = new Map<unknown, CommandOutcome<number>>();
  const storages = new Map<ServerId, MemoryStorage>();
  const servers: RaftServer<number, number, number>[] = [];
  /** Starts (or restarts, from its storage) server `id` knowing `members` as the first voters. */
  const start = (id: ServerId, members: readonly ServerId[] = ids) => {
    const storage = storages.get(id) ?? new MemoryStorage();
    storages.set(id, storage);
    const server = new RaftServer(id, options.machine ?? counter, storage, {
      now: () => now,
      random: () => ((id.charCodeAt(0) * 7) % 10 + 0.5) / 10,
      send: (m) => void inbox.push(m),
      reply: (ref, outcome) => void outcomes.set(ref, outcome),
    }, {
      servers: members,
      ...(options.snapshotChunkBytes ? { snapshotChunkBytes: options.snapshotChunkBytes } : {}),
    });
    const at = servers.findIndex((s) => s.id === id);
    if (at === -1) servers.push(server);
    else servers[at] = server;
    return server;
  };
  for (const id of ids) start(id);
  const run = (ms: number) => {
    for (const end = now + ms; now < end; now += 10) {
      servers.forEach((s) => s.tick());
      while (inbox.length > 0) {
        const m = inbox.shift()!;
        sent.push(m);
        if (cut.has(m.from) || cut.has(m.to)) continue;
        servers.find((s) => s.id === m.to)?.receive(m);
      }
    }
  };
  const leader = () => servers.find((s) => s.role === "leader" && !cut.has(s.id));
  return { servers, run, cut, outcomes, leader, start, storages, sent };
}

Deno.test("RaftServer refuses a member list with a duplicate, and bad timings", () => {
  const storage = {
    load: () => ({ term: 0, votedFor: null, entries: [] }),
    saveMeta() {},
    append() {},
    truncateFrom() {},
    sync() {},
  };
  const env = { now: () => 0, random: () => 0, send() {}, reply() {} };
  assert.throws(
    () => new RaftServer("a", counter, storage, env, { servers: ["a", "b", "b"] }),
    TypeError,
  );
  assert.throws(
    () => new RaftServer("a", counter, storage, env, { servers: ["a"], heartbeatMs: 200 }),
    RangeError,
  );
});

Deno.test("RaftServer elects one leader and replicates a command to every server", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  assert.equal(g.servers.filter((s) => s.role === "leader").length, 1);
  assert.equal(leader.propose(5, "r1").state, "ok");
  g.run(200);
  assert.deepEqual(g.outcomes.get("r1"), { state: "ok", reply: 5 });
  assert.deepEqual(g.servers.map((s) => s.machineState), [5, 5, 5]);
});

Deno.test("RaftServer answers a follower's propose with the leader to ask", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  const follower = g.servers.find((s) => s !== leader)!;
  assert.deepEqual(follower.propose(1, "r"), { state: "not_leader", leader: leader.id });
});

Deno.test("RaftServer gives the client what apply threw and keeps the state and the group", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  leader.propose(2, "r1");
  leader.propose(-1, "r2");
  leader.propose(3, "r3");
  g.run(200);
  const bad = g.outcomes.get("r2");
  assert.equal(bad?.state, "error");
  assert.ok(bad?.state === "error" && bad.error instanceof RangeError);
  assert.deepEqual(g.outcomes.get("r3"), { state: "ok", reply: 5 });
  assert.deepEqual(g.servers.map((s) => s.machineState), [5, 5, 5]);
});

Deno.test("RaftServer: a leader cut off from the majority steps down (check-quorum)", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const old = g.leader()!;
  g.cut.add(old.id);
  g.run(1000);
  assert.notEqual(old.role, "leader");
  const fresh = g.leader()!;
  assert.notEqual(fresh.id, old.id);
  assert.ok(fresh.term > old.term);
});

Deno.test("RaftServer: an isolated server does not raise its term (pre-vote), so it cannot depose on return", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  const lonely = g.servers.find((s) => s !== leader)!;
  const term = lonely.term;
  g.cut.add(lonely.id);
  g.run(3000);
  assert.equal(lonely.term, term);
  g.cut.delete(lonely.id);
  g.run(500);
  assert.equal(g.leader(), leader);
  assert.equal(leader.term, term);
});

Deno.test("RaftServer.consistentQuery() answers once a majority confirms the leader, after the writes it acknowledged", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  leader.propose(4, "w");
  const seen: unknown[] = [];
  leader.consistentQuery((outcome) => seen.push(outcome));
  assert.deepEqual(seen, []); // not before the peers confirm
  g.run(100);
  assert.deepEqual(g.outcomes.get("w"), { state: "ok", reply: 4 });
  assert.deepEqual(seen, [{ state: "ok", machineState: 4 }]);
  assert.deepEqual(leader.leaderQuery(), { state: "ok", machineState: 4 });
  const follower = g.servers.find((s) => s !== leader)!;
  assert.deepEqual(follower.leaderQuery(), { state: "not_leader", leader: leader.id });
});

Deno.test("RaftServer.consistentQuery() on a leader cut off from the majority never answers ok", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const old = g.leader()!;
  g.cut.add(old.id);
  const seen: { state: string }[] = [];
  old.consistentQuery((outcome) => seen.push(outcome));
  g.run(1000);
  assert.deepEqual(seen.map((o) => o.state), ["not_leader"]);
  // The rest elected a leader that takes writes the old one never saw.
  const fresh = g.leader()!;
  fresh.propose(7, "w");
  g.run(100);
  assert.deepEqual(g.outcomes.get("w"), { state: "ok", reply: 7 });
});

Deno.test("RaftServer.transferLeadership() makes the named server leader with the log intact", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const old = g.leader()!;
  old.propose(3, "w");
  g.run(100);
  const target = g.servers.find((s) => s !== old)!;
  const termBefore = old.term;
  assert.throws(() => old.transferLeadership(old.id), TypeError);
  assert.equal(old.transferLeadership(target.id), true);
  assert.deepEqual(old.propose(1, "late"), { state: "not_leader", leader: target.id });
  g.run(100);
  assert.equal(g.leader(), target);
  assert.equal(old.role, "follower");
  assert.equal(target.term, termBefore + 1);
  target.propose(4, "w2");
  g.run(100);
  assert.deepEqual(g.outcomes.get("w2"), { state: "ok", reply: 7 });
  assert.equal(target.transferLeadership(old.id) && old.transferLeadership(target.id), false);
});

Deno.test("RaftServer snapshots where the machine releases its cursor and drops the log before it", () => {
  const g = group(["a", "b", "c"], { machine: snapshottingCounter(5) });
  g.run(1000);
  const leader = g.leader()!;
  for (let i = 1; i <= 12; i++) leader.propose(1, `w${i}`);
  g.run(200);
  assert.deepEqual(g.outcomes.get("w12"), { state: "ok", reply: 12 });
  for (const server of g.servers) {
    assert.equal(server.snapshotIndex, 10);
    assert.equal(server.entry(10), undefined);
    assert.deepEqual(server.log.map((e) => e.index), [11, 12, 13]);
    const stored = g.storages.get(server.id)!;
    assert.equal(stored.snapshot?.index, 10);
    assert.deepEqual(stored.snapshot?.config, { voters: ["a", "b", "c"], learners: [] });
    assert.deepEqual(stored.entries.map((e) => e.index), [11, 12, 13]);
  }
  // A restart resumes from the snapshot and the entries after it.
  const again = g.start(leader.id);
  assert.equal(again.snapshotIndex, 10);
  g.run(1000);
  assert.equal(again.machineState, 12);
});

Deno.test("RaftServer brings a follower that missed compacted entries up to date with a chunked snapshot", () => {
  const g = group(["a", "b", "c"], { machine: snapshottingCounter(4), snapshotChunkBytes: 3 });
  g.run(1000);
  const leader = g.leader()!;
  const behind = g.servers.find((s) => s !== leader)!;
  g.cut.add(behind.id);
  for (let i = 1; i <= 20; i++) leader.propose(i, `w${i}`);
  g.run(200);
  assert.equal(leader.machineState, 210);
  assert.equal(behind.machineState, 0);
  g.cut.delete(behind.id);
  g.run(500);
  assert.equal(behind.machineState, 210);
  assert.ok(behind.snapshotIndex >= 20, `snapshot at ${behind.snapshotIndex}`);
  const chunks = g.sent.filter((m) => m.type === "install_snapshot" && m.to === behind.id);
  assert.ok(chunks.length > 1, `${chunks.length} chunks`);
  // It goes on with ordinary replication after the snapshot.
  leader.propose(1, "after");
  g.run(100);
  assert.deepEqual(g.servers.map((s) => s.machineState), [211, 211, 211]);
});

Deno.test("RaftServer.addMember() catches a new server up as a learner, then makes it a voter", () => {
  const g = group(["a", "b", "c"], { machine: snapshottingCounter(8) });
  g.run(1000);
  const leader = g.leader()!;
  for (let i = 1; i <= 10; i++) leader.propose(1, `w${i}`);
  g.run(100);
  const d = g.start("d", []); // knows no members: waits to hear a leader
  g.run(1000);
  assert.equal(d.role, "follower");
  assert.equal(d.term, 0);
  const outcomes: MembershipOutcome[] = [];
  leader.addMember("d", (o) => outcomes.push(o));
  assert.deepEqual(leader.config, { voters: ["a", "b", "c"], learners: ["d"] });
  g.run(300);
  assert.deepEqual(outcomes, [{
    state: "ok",
    config: { voters: ["a", "b", "c", "d"], learners: [] },
  }]);
  assert.equal(d.machineState, 10);
  assert.deepEqual(d.config.voters, ["a", "b", "c", "d"]);
  // Now d counts: with two of the old voters gone, a, b, c, d still commit with three.
  const [x] = g.servers.filter((s) => s !== leader && s !== d);
  g.cut.add(x!.id);
  leader.propose(5, "w");
  g.run(100);
  assert.deepEqual(g.outcomes.get("w"), { state: "ok", reply: 15 });
  // Adding it again is done at once.
  leader.addMember("d", (o) => outcomes.push(o));
  assert.equal(outcomes.at(-1)?.state, "ok");
});

Deno.test("RaftServer.removeMember() of the leader: it steps down once that is committed and the rest go on", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  const outcomes: MembershipOutcome[] = [];
  leader.removeMember(leader.id, (o) => outcomes.push(o));
  g.run(1000);
  const rest = g.servers.filter((s) => s !== leader).map((s) => s.id);
  assert.deepEqual(outcomes, [{ state: "ok", config: { voters: rest, learners: [] } }]);
  assert.equal(leader.role, "follower");
  const fresh = g.leader()!;
  assert.ok(rest.includes(fresh.id));
  fresh.propose(2, "w");
  g.run(1000);
  assert.deepEqual(g.outcomes.get("w"), { state: "ok", reply: 2 });
  assert.notEqual(leader.role, "leader"); // no longer a voter: never stands
  leader.removeMember("x", (o) => outcomes.push(o));
  assert.equal(outcomes.at(-1)?.state, "not_leader");
});

Deno.test("RaftServer takes one membership change at a time and refuses to remove the last voter", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  const outcomes: MembershipOutcome[] = [];
  leader.addMember("d", (o) => outcomes.push(o));
  leader.removeMember("b", (o) => outcomes.push(o));
  assert.deepEqual(outcomes, [{ state: "change_in_progress" }]);
  const solo = group(["a"]);
  solo.run(1000);
  solo.leader()!.removeMember("a", (o) => outcomes.push(o));
  assert.deepEqual(outcomes.at(-1), { state: "rejected", reason: '"a" is the last voter' });
});

Deno.test("RaftServer.addMember() keeps a new member a learner until it has caught up", () => {
  const g = group(["a", "b", "c"]);
  g.run(1000);
  const leader = g.leader()!;
  const outcomes: MembershipOutcome[] = [];
  leader.addMember("d", (o) => outcomes.push(o)); // d is not running yet
  g.run(1000);
  assert.equal(outcomes.length, 0);
  assert.deepEqual(leader.config, { voters: ["a", "b", "c"], learners: ["d"] });
  g.start("d", []);
  g.run(500);
  assert.deepEqual(outcomes.map((o) => o.state), ["ok"]);
  assert.deepEqual(leader.config, { voters: ["a", "b", "c", "d"], learners: [] });
});
