/**
 * A seeded, deterministic simulation of a Raft group of {@linkcode RaftServer}s: simulated time,
 * an in-memory network that loses, repeats, delays and reorders messages and partitions the
 * group, and disks that lose unsynced writes when their server crashes (a crash may strike in
 * the middle of a sync, keeping only a prefix of the writes). KV clients run against the group.
 * The machine releases a cursor every few entries (a per-seed interval, or never), so servers
 * snapshot, truncate their logs and install snapshots, chunk by chunk, on lagging followers; and
 * leaders are asked now and then to add a spare server or remove a member, one at a time.
 *
 * The run checks, while it goes and at the end:
 * - election safety: at most one leader per term;
 * - log matching: two logs with an entry of the same index and term agree up to it;
 * - leader completeness: a new leader holds every entry committed so far;
 * - state-machine safety: every server applies the same command at an index, and has the same
 *   machine state after an index (whether it applied the entries or installed a snapshot);
 * - the clients' history is linearizable ({@linkcode isLinearizable}); half the reads go through
 *   the log, half through ReadIndex (`consistentQuery`);
 * Leaders are also asked, now and then, to hand over to another server.
 * - liveness once healed: after the faults stop, clients' commands complete again.
 * A violation throws an Error naming the seed.
 *
 * @module
 */

import { RaftServer } from "../../src/raft/mod.ts";
import type {
  LogEntry,
  RaftMachine,
  RaftMessage,
  RaftSnapshot,
  RaftStorage,
  ServerId,
} from "../../src/raft/mod.ts";
import {
  isLinearizable,
  type KvInput,
  kvModel,
  type KvOutput,
  type Operation,
} from "./linearizability.ts";
import { prng } from "./prng.ts";

/** A client command with a unique id (so the checks can tell entries apart). */
export interface KvCommand {
  readonly id: number;
  readonly input: KvInput;
}

type KvState = ReadonlyMap<string, string>;

/**
 * The KV machine the simulation replicates; it releases a cursor at every index divisible by
 * `snapshotEvery` (0: never).
 */
export function kvMachine(
  onApply: (index: number, id: number) => void,
  snapshotEvery = 0,
): RaftMachine<KvState, KvCommand, KvOutput> {
  const step = (
    input: KvInput,
    state: KvState,
  ): { state: KvState; reply: KvOutput } => {
    const current = state.get(input.key) ?? null;
    switch (input.op) {
      case "get":
        return { state, reply: current };
      case "put":
        return { state: new Map(state).set(input.key, input.value), reply: "ok" };
      case "cas":
        if (current !== input.from) return { state, reply: false };
        return { state: new Map(state).set(input.key, input.to), reply: true };
    }
  };
  return {
    init: () => new Map(),
    apply(meta, command, state) {
      onApply(meta.index, command.id);
      const result = step(command.input, state);
      const releaseCursor = snapshotEvery > 0 && meta.index % snapshotEvery === 0;
      return { ...result, releaseCursor };
    },
  };
}

/** A machine state as text, the same for equal states whatever their insertion order. */
function digest(state: KvState): string {
  return JSON.stringify([...state].sort(([a], [b]) => a < b ? -1 : 1));
}

/** Thrown by a disk's sync when the simulation crashes its server there. */
class SimulatedCrash extends Error {}

type DiskOp =
  | { kind: "meta"; term: number; votedFor: ServerId | null }
  | { kind: "append"; entries: readonly LogEntry<KvCommand>[] }
  | { kind: "truncate"; index: number }
  | { kind: "snapshot"; snapshot: RaftSnapshot };

/** A disk whose writes are lost unless synced. */
class SimDisk implements RaftStorage<KvCommand> {
  term = 0;
  votedFor: ServerId | null = null;
  snapshot: RaftSnapshot | null = null;
  entries: LogEntry<KvCommand>[] = [];
  pending: DiskOp[] = [];
  crashAtSync: (() => number) | null = null;
  /** A disk that lies: a sync makes only the writes before the previous sync durable. */
  lying = false;
  #lyingSince = 0;

  load() {
    return {
      term: this.term,
      votedFor: this.votedFor,
      snapshot: this.snapshot,
      entries: this.entries.slice(),
    };
  }
  /** A crash: what was not synced is gone. */
  lose() {
    this.pending = [];
    this.#lyingSince = 0;
  }
  saveSnapshot(snapshot: RaftSnapshot) {
    this.pending.push({ kind: "snapshot", snapshot });
  }
  saveMeta(term: number, votedFor: ServerId | null) {
    this.pending.push({ kind: "meta", term, votedFor });
  }
  append(entries: readonly LogEntry<KvCommand>[]) {
    this.pending.push({ kind: "append", entries: entries.slice() });
  }
  truncateFrom(index: number) {
    this.pending.push({ kind: "truncate", index });
  }
  sync() {
    if (this.crashAtSync) {
      const keep = Math.floor(this.crashAtSync() * (this.pending.length + 1));
      this.pending.slice(0, keep).forEach((op) => this.#write(op));
      this.lose();
      this.crashAtSync = null;
      throw new SimulatedCrash();
    }
    if (this.lying) {
      this.pending.slice(0, this.#lyingSince).forEach((op) => this.#write(op));
      this.pending = this.pending.slice(this.#lyingSince);
      this.#lyingSince = this.pending.length;
      return;
    }
    this.pending.forEach((op) => this.#write(op));
    this.pending = [];
  }
  #write(op: DiskOp) {
    switch (op.kind) {
      case "meta":
        this.term = op.term;
        this.votedFor = op.votedFor;
        break;
      case "append":
        for (const e of op.entries) {
          const last = this.entries.at(-1)?.index ?? this.snapshot?.index ?? 0;
          if (e.index !== last + 1) throw new Error("disk: append out of order");
          this.entries.push(e);
        }
        break;
      case "truncate":
        if (op.index <= (this.snapshot?.index ?? 0)) throw new Error("disk: truncating a snapshot");
        this.entries = this.entries.filter((e) => e.index < op.index);
        break;
      case "snapshot":
        this.snapshot = op.snapshot;
        this.entries = this.entries.filter((e) => e.index > op.snapshot.index);
        break;
    }
  }
}

/** The fault rates of a run. */
export interface SimulationOptions {
  readonly seed: number;
  /** Group size; default 3 or 5 depending on the seed. */
  readonly servers?: number;
  /** Simulated ms of faults before the network heals. Default 2000. */
  readonly chaosMs?: number;
  /**
   * Disks that acknowledge a sync one step early (the checks should catch what that loses: it
   * shows the simulation can see durability bugs). Default false.
   */
  readonly lyingDisks?: boolean;
}

/** What one run did. */
export interface SimulationReport {
  readonly seed: number;
  readonly servers: number;
  readonly operations: number;
  readonly completed: number;
  readonly elections: number;
  readonly crashes: number;
  readonly committed: number;
  /** Snapshots installed on a follower by the leader, and membership changes committed. */
  readonly installs: number;
  readonly memberChanges: number;
}

interface Event {
  time: number;
  seq: number;
  run: () => void;
}

/** A binary heap of events by time, then by scheduling order. */
class EventQueue {
  #heap: Event[] = [];
  #seq = 0;
  push(time: number, run: () => void) {
    const h = this.#heap;
    h.push({ time, seq: this.#seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Event | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
const before = (a: Event, b: Event) => a.time < b.time || (a.time === b.time && a.seq < b.seq);

/** Runs one seeded simulation; throws an Error naming the seed on any violation. */
export function simulate(options: SimulationOptions): SimulationReport {
  const seed = options.seed;
  const random = prng(seed);
  const n = options.servers ?? (random() < 0.5 ? 3 : 5);
  const spares = 1 + Math.floor(random() * 2);
  const chaosMs = options.chaosMs ?? 2000;
  const endMs = chaosMs + 3000;
  const initial = Array.from({ length: n }, (_, i) => `s${i}`);
  const ids = Array.from({ length: n + spares }, (_, i) => `s${i}`);
  const snapshotEvery = random() < 0.2 ? 0 : 3 + Math.floor(random() * 30);
  const chunkBytes = 8 + Math.floor(random() * 64);
  const memberChangeRate = 0.2 + random() * 0.6; // per partition change
  const fail = (what: string): never => {
    throw new Error(`Raft simulation seed ${seed}: ${what}`);
  };

  // Fault rates vary per seed so that some runs are gentle and some are harsh.
  const lossRate = random() * 0.2;
  const dupRate = random() * 0.1;
  const maxDelay = 2 + Math.floor(random() * (random() < 0.3 ? 150 : 40));
  const crashRate = random() * 0.02; // per server per tick
  const crashAtSyncRate = random() * 0.05; // per step that syncs
  const ackCrashRate = random() * 0.05; // per acknowledgement sent

  let now = 0;
  const queue = new EventQueue();
  const disks = new Map(ids.map((id) => [id, new SimDisk()]));
  for (const disk of disks.values()) disk.lying = options.lyingDisks ?? false;
  const servers = new Map<ServerId, RaftServer<KvState, KvCommand, KvOutput> | null>();
  let group = new Map<ServerId, number>(ids.map((id) => [id, 0])); // partition label
  let faults = true;

  // Checks' records.
  const leaderOfTerm = new Map<number, ServerId>();
  const committedTerm = new Map<number, number>(); // index -> term
  const appliedId = new Map<number, number>(); // index -> command id
  const stateAfter = new Map<number, string>(); // index -> digest of the machine state
  let elections = 0;
  let crashes = 0;
  let installs = 0;
  let memberChanges = 0;

  // Clients.
  interface PendingOp {
    op: { input: KvInput; output: KvOutput | undefined; call: number; return: number };
    done: boolean;
    /** Runs (from the event queue) once the reply came. */
    then: () => void;
  }
  const history: PendingOp[] = [];
  const pendingByRef = new Map<number, PendingOp>();
  let nextCommandId = 1;

  const makeServer = (id: ServerId) =>
    new RaftServer<KvState, KvCommand, KvOutput>(
      id,
      kvMachine((index, commandId) => {
        const seen = appliedId.get(index);
        if (seen === undefined) appliedId.set(index, commandId);
        else if (seen !== commandId) {
          fail(
            `state-machine safety: ${id} applied command ${commandId} at ${index}, another ${seen}`,
          );
        }
      }, snapshotEvery),
      disks.get(id)!,
      {
        now: () => now,
        random,
        send: (m) => {
          if (m.type === "install_snapshot_response" && m.done) installs++;
          transmit(m);
        },
        reply: (ref, outcome) => {
          const p = pendingByRef.get(ref as number);
          pendingByRef.delete(ref as number);
          if (outcome.state !== "ok") return fail(`the KV machine threw: ${outcome.error}`);
          if (p && !p.done) {
            p.done = true;
            p.op.output = outcome.reply;
            p.op.return = now;
            queue.push(now + 5 + random() * 30, p.then);
          }
        },
      },
      {
        servers: initial.includes(id) ? initial : [],
        electionTimeoutMs: 150,
        heartbeatMs: 50,
        maxBatch: 8,
        maxInflight: 32,
        snapshotChunkBytes: chunkBytes,
      },
    );

  const crash = (id: ServerId) => {
    if (!servers.get(id)) return;
    servers.set(id, null);
    disks.get(id)!.lose();
    crashes++;
    // The others hear of it as a node going down, each a little later.
    for (const other of ids) {
      if (other !== id) {
        queue.push(now + random() * 20, () => onServer(other, (s) => s.peerLost(id)));
      }
    }
    queue.push(now + 5 + random() * (random() < 0.5 ? 50 : 500), () => {
      if (servers.get(id) === null) servers.set(id, makeServer(id));
    });
  };

  /** Runs `f` on server `id` if it is up, then checks the invariants it could have broken. */
  const onServer = (id: ServerId, f: (s: RaftServer<KvState, KvCommand, KvOutput>) => void) => {
    const server = servers.get(id);
    if (!server) return;
    if (faults && random() < crashAtSyncRate) disks.get(id)!.crashAtSync = random;
    try {
      f(server);
    } catch (e) {
      if (!(e instanceof SimulatedCrash)) throw e;
      disks.get(id)!.crashAtSync = null;
      crash(id);
      return;
    }
    disks.get(id)!.crashAtSync = null;
    check(server);
  };

  const checkedUpTo = new WeakMap<object, number>();
  const stateCheckedAt = new WeakMap<object, number>();
  const check = (server: RaftServer<KvState, KvCommand, KvOutput>) => {
    if (server.role === "leader") {
      const known = leaderOfTerm.get(server.term);
      if (known === undefined) {
        leaderOfTerm.set(server.term, server.id);
        elections++;
        for (const [index, term] of committedTerm) {
          // Entries under the snapshot were committed when it was taken (checked below).
          if (index > server.snapshotIndex && server.termAt(index) !== term) {
            fail(
              `leader completeness: ${server.id} leads term ${server.term} without committed ${index}`,
            );
          }
        }
      } else if (known !== server.id) {
        fail(`election safety: ${known} and ${server.id} both lead term ${server.term}`);
      }
    }
    for (let i = (checkedUpTo.get(server) ?? 0) + 1; i <= server.commitIndex; i++) {
      checkedUpTo.set(server, i);
      const term = server.termAt(i);
      if (term === -1) continue; // in a snapshot installed meanwhile
      const seen = committedTerm.get(i);
      if (seen === undefined) committedTerm.set(i, term);
      else if (seen !== term) fail(`committed index ${i} has terms ${seen} and ${term}`);
    }
    if (stateCheckedAt.get(server) === server.lastApplied) return;
    stateCheckedAt.set(server, server.lastApplied);
    const state = digest(server.machineState);
    const seen = stateAfter.get(server.lastApplied);
    if (seen === undefined) stateAfter.set(server.lastApplied, state);
    else if (seen !== state) {
      fail(
        `state-machine safety: ${server.id} after ${server.lastApplied} has ${state}, not ${seen}`,
      );
    }
  };

  /** Two logs (after their snapshots) that share an index and term agree below it. */
  const checkLogMatching = () => {
    // Logs are runs of consecutive indexes, each starting after its snapshot.
    const logs = ids.map((id) => servers.get(id)?.log ?? disks.get(id)!.entries);
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const la = logs[a]!, lb = logs[b]!;
        if (la.length === 0 || lb.length === 0) continue;
        const fa = la[0]!.index, fb = lb[0]!.index;
        const from = Math.max(fa, fb);
        const at = (log: readonly LogEntry<KvCommand>[], first: number, i: number) =>
          log[i - first]!;
        let lastSame = 0;
        for (let i = Math.min(fa + la.length, fb + lb.length) - 1; i >= from; i--) {
          if (at(la, fa, i).term === at(lb, fb, i).term) {
            lastSame = i;
            break;
          }
        }
        for (let i = from; i <= lastSame; i++) {
          const ea = at(la, fa, i), eb = at(lb, fb, i);
          if (ea === eb) continue;
          if (ea.term !== eb.term || JSON.stringify(ea.payload) !== JSON.stringify(eb.payload)) {
            fail(`log matching: ${ids[a]} and ${ids[b]} differ at ${i} below a common ${lastSame}`);
          }
        }
      }
    }
  };

  const transmit = (m: RaftMessage<KvCommand>) => {
    // A server that has just promised something (a vote, stored entries) is a good one to crash:
    // its promise must survive the restart.
    if (
      faults && random() < ackCrashRate &&
      ((m.type === "vote_response" && m.granted) || (m.type === "append_response" && m.success))
    ) queue.push(now, () => crash(m.from));
    if (faults) {
      if (group.get(m.from) !== group.get(m.to)) return;
      if (random() < lossRate) return;
    }
    const copies = faults && random() < dupRate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      // Once healed the network is also fast again: Raft's liveness needs round trips well
      // under the election timeout, and a run checks that the group recovers.
      const delay = 1 + random() * (faults ? maxDelay : Math.min(maxDelay, 20));
      queue.push(now + delay, () => onServer(m.to, (s) => s.receive(m)));
    }
  };

  // Ticks, with per-server jitter.
  const scheduleTick = (id: ServerId) => {
    queue.push(now + 8 + random() * 4, () => {
      if (faults && random() < crashRate) crash(id);
      else if (faults && random() < 0.01) {
        // A wrong report of a lost peer (a connection dropped by a partition).
        onServer(id, (s) => s.peerLost(ids[Math.floor(random() * ids.length)]!));
      } else onServer(id, (s) => s.tick());
      scheduleTick(id);
    });
  };

  // Partitions change every few hundred ms during the chaos phase.
  const schedulePartition = () => {
    queue.push(now + 50 + random() * 500, () => {
      if (!faults) return;
      // Now and then the leader hands over to another server.
      if (random() < 0.3) {
        const leader = ids.find((id) => servers.get(id)?.role === "leader");
        const voters = leader ? servers.get(leader)!.config.voters : [];
        const others = voters.filter((id) => id !== leader);
        const target = others[Math.floor(random() * others.length)];
        if (leader && target) onServer(leader, (s) => void s.transferLeadership(target));
      }
      // And adds a server that is not a member, or removes one (keeping two voters at least).
      if (random() < memberChangeRate) {
        const leader = ids.find((id) => servers.get(id)?.role === "leader");
        const who = ids[Math.floor(random() * ids.length)]!;
        if (leader) {
          onServer(leader, (s) => {
            const { voters, learners } = s.config;
            const done = (o: { state: string }) => void (o.state === "ok" && memberChanges++);
            if (!voters.includes(who) && !learners.includes(who)) s.addMember(who, done);
            else if (voters.length > 2 || !voters.includes(who)) s.removeMember(who, done);
          });
        }
      }
      const r = random();
      if (r < 0.3) group = new Map(ids.map((id) => [id, 0]));
      else if (r < 0.6) {
        const lonely = ids[Math.floor(random() * n)]!;
        group = new Map(ids.map((id) => [id, id === lonely ? 1 : 0]));
      } else group = new Map(ids.map((id) => [id, random() < 0.5 ? 0 : 1]));
      schedulePartition();
    });
  };

  // Clients: each runs one operation at a time; not_leader means try another server soon.
  const keys = ["x", "y"];
  const values = ["a", "b", "c"];
  const runClient = (c: number, hint: ServerId) => {
    if (now >= endMs - 1500) return;
    const r = random();
    const key = keys[Math.floor(random() * keys.length)]!;
    const value = values[Math.floor(random() * values.length)]!;
    const input: KvInput = r < 0.4 ? { op: "get", key } : r < 0.75 ? { op: "put", key, value } : {
      op: "cas",
      key,
      from: random() < 0.2 ? null : value,
      to: values[Math.floor(random() * 3)]!,
    };
    const p: PendingOp = {
      op: { input, output: undefined, call: now, return: Infinity },
      done: false,
      then: () => {},
    };
    history.push(p);
    const id = nextCommandId++;
    // Half the reads go through ReadIndex instead of the log.
    const viaRead = input.op === "get" && random() < 0.5;
    const readTimeout = () => {
      if (p.done) return;
      p.done = true; // a read that never answered: unknown, and harmless
      runClient(c, ids[Math.floor(random() * n)]!);
    };
    const attempt = (target: ServerId, tries: number) => {
      if (p.done) return;
      const server = servers.get(target);
      p.then = () => runClient(c, target);
      if (viaRead) {
        if (tries === 0) queue.push(now + 1000, readTimeout);
        const retry = (leader: ServerId | null) => {
          const next = leader !== null && random() < 0.8 ? leader : ids[Math.floor(random() * n)]!;
          queue.push(now + 10, () => attempt(next, tries + 1));
        };
        if (!server) return retry(null);
        onServer(target, (s) =>
          s.consistentQuery((outcome) => {
            if (p.done) return;
            if (outcome.state === "not_leader") return retry(outcome.leader);
            p.done = true;
            p.op.output = outcome.machineState.get(key) ?? null;
            p.op.return = now;
            queue.push(now + 5 + random() * 30, p.then);
          }));
        return;
      }
      pendingByRef.set(id, p);
      const result = server ? server.propose({ id, input }, id) : null;
      if (result?.state === "ok") {
        if (p.done) return; // committed within propose (a group of one)
        queue.push(now + 1000, () => {
          if (p.done) return;
          // Timed out: the outcome stays unknown (return at Infinity).
          p.done = true;
          pendingByRef.delete(id);
          runClient(c, ids[Math.floor(random() * n)]!);
        });
        return;
      }
      pendingByRef.delete(id);
      const next = result?.state === "not_leader" && result.leader !== null && random() < 0.8
        ? result.leader
        : ids[Math.floor(random() * n)]!;
      if (tries > 200) {
        // Nothing was appended: drop the operation from the history.
        p.done = true;
        history.splice(history.indexOf(p), 1);
        return runClient(c, next);
      }
      queue.push(now + 10, () => attempt(next, tries + 1));
    };
    attempt(hint, 0);
  };

  for (const id of ids) {
    servers.set(id, makeServer(id));
    scheduleTick(id);
  }
  schedulePartition();
  for (let c = 0; c < 3; c++) queue.push(random() * 100, () => runClient(c, ids[c % n]!));
  queue.push(chaosMs, () => {
    faults = false;
    group = new Map(ids.map((id) => [id, 0]));
    for (const id of ids) if (!servers.get(id)) servers.set(id, makeServer(id));
  });
  let nextLogCheck = 250;
  let events = 0;
  for (;;) {
    const event = queue.pop();
    if (!event || event.time > endMs) break;
    // A livelock (servers answering each other without end) would never reach endMs.
    if (++events > 5_000_000) fail(`livelock: 5,000,000 events by ${now} ms`);
    now = event.time;
    event.run();
    if (now >= nextLogCheck) {
      checkLogMatching();
      nextLogCheck = now + 250;
    }
  }
  checkLogMatching();

  const ops: Operation<KvInput, KvOutput>[] = history.map((p) => p.op);
  if (!isLinearizable(kvModel, ops)) fail("the client history is not linearizable");
  const completedAfterHeal = ops.filter((op) => op.call >= chaosMs && op.return < Infinity);
  if (completedAfterHeal.length === 0) fail("no command completed after the network healed");
  return {
    seed,
    servers: n,
    operations: ops.length,
    completed: ops.filter((op) => op.return < Infinity).length,
    elections,
    crashes,
    committed: committedTerm.size,
    installs,
    memberChanges,
  };
}
