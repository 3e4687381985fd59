import assert from "node:assert/strict";
import {
  type CommandOutcome,
  type LogEntry,
  type RaftMachine,
  type RaftMessage,
  RaftServer,
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

/** Servers over a hand-stepped network with a cut set of links. */
function group(ids: readonly ServerId[]) {
  let now = 0;
  const inbox: RaftMessage<number>[] = [];
  const cut = new Set<ServerId>();
  const outcomes = new Map<unknown, CommandOutcome<number>>();
  const servers = ids.map((id) => {
    const log: LogEntry<number>[] = [];
    return new RaftServer(id, counter, {
      load: () => ({ term: 0, votedFor: null, entries: [] }),
      saveMeta() {},
      append: (entries) => void log.push(...entries),
      truncateFrom: (index) => void (log.length = index - 1),
      sync() {},
    }, {
      now: () => now,
      random: () => (ids.indexOf(id) + 0.5) / ids.length,
      send: (m) => void inbox.push(m),
      reply: (ref, outcome) => void outcomes.set(ref, outcome),
    }, { servers: ids });
  });
  const run = (ms: number) => {
    for (const end = now + ms; now < end; now += 10) {
      servers.forEach((s) => s.tick());
      while (inbox.length > 0) {
        const m = inbox.shift()!;
        if (cut.has(m.from) || cut.has(m.to)) continue;
        servers.find((s) => s.id === m.to)!.receive(m);
      }
    }
  };
  const leader = () => servers.find((s) => s.role === "leader" && !cut.has(s.id));
  return { servers, run, cut, outcomes, leader };
}

Deno.test("RaftServer refuses a member list without itself or with a duplicate", () => {
  const storage = {
    load: () => ({ term: 0, votedFor: null, entries: [] }),
    saveMeta() {},
    append() {},
    truncateFrom() {},
    sync() {},
  };
  const env = { now: () => 0, random: () => 0, send() {}, reply() {} };
  assert.throws(
    () => new RaftServer("a", counter, storage, env, { servers: ["b", "c"] }),
    TypeError,
  );
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
