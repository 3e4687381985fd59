/**
 * One Raft server as a pure state machine: messages and clock ticks in, messages, replies and
 * storage writes out through the injected {@linkcode RaftEnv} and {@linkcode RaftStorage}.
 *
 * Election (with pre-vote, so a server cut off from the rest does not inflate terms on return):
 * ```
 * follower: no append_entries for a random timeout in [T, 2T)
 *   pre-candidate --pre_vote_request{term+1, last log}--> peers
 *     peers grant if the log is at least as up to date and they have not heard a leader in T
 *   pre-candidate with a majority -> candidate: term+1, vote for self, persist
 *   candidate --vote_request--> peers --vote_response (after persisting the vote)--> candidate
 *   candidate with a majority -> leader: appends a no-op of its term
 * ```
 * Replication (pipelined and batched: up to `maxBatch` entries per message, and the leader moves
 * `nextIndex` on as it sends without waiting for the answer):
 * ```
 * leader --append_entries{prev index/term, entries, commit}--> follower
 * follower: persists (sync) --append_response{matchIndex | hint}--> leader
 * leader: an entry of its own term stored on a majority (itself counted only once synced) is
 *         committed; every server applies committed entries in order to the machine
 * ```
 * Linearizable reads (ReadIndex) and leader transfer:
 * ```
 * consistentQuery: leader notes its commit index (once an entry of its term is committed)
 *   leader --append_entries{readSeq}--> peers --append_response{readSeq}--> leader
 *   a majority echoed readSeq (it still leads) and it applied that far -> answer from the state
 * transferLeadership(t): leader stops taking commands, catches t up, then
 *   leader --timeout_now--> t; t stands at once --vote_request{transfer}--> peers
 *   (voters set aside their loyalty to the current leader for a transfer)
 * ```
 * Failure: lost, repeated or reordered messages are harmless (responses are judged by term and
 * index; a refusal sends `nextIndex` back to the follower's hint). A leader that has not heard from
 * a majority within T steps down (check-quorum), so clients are not left with a leader that can
 * no longer commit. After a crash the server restarts from {@linkcode RaftStorage.load}; nothing
 * it acknowledged was unsynced.
 *
 * @module
 */

import type {
  AppendEntries,
  AppendResponse,
  ApplyMeta,
  ApplyResult,
  CommandOutcome,
  LogEntry,
  PreVoteRequest,
  PreVoteResponse,
  RaftEnv,
  RaftMachine,
  RaftMessage,
  RaftStorage,
  ServerId,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from "./types.ts";

/** The server's role; `pre_candidate` is polling peers before it raises its term. */
export type RaftRole = "follower" | "pre_candidate" | "candidate" | "leader";

/** Options of a {@linkcode RaftServer}. */
export interface RaftServerOptions {
  /** Every member of the group, this server included. */
  readonly servers: readonly ServerId[];
  /** The shortest election timeout T, in ms; timeouts are drawn from [T, 2T). Default 150. */
  readonly electionTimeoutMs?: number;
  /** How often a leader sends heartbeats, in ms; must be below T. Default 50. */
  readonly heartbeatMs?: number;
  /** The most entries in one append_entries. Default 64. */
  readonly maxBatch?: number;
  /** The most entries sent to a follower beyond what it acknowledged. Default 1024. */
  readonly maxInflight?: number;
}

/** What a {@linkcode RaftServer.consistentQuery} callback receives. */
export type QueryOutcome<S> =
  | { readonly state: "ok"; readonly machineState: S }
  | { readonly state: "not_leader"; readonly leader: ServerId | null };

/** What {@linkcode RaftServer.propose} answers. */
export type ProposeResult =
  | { readonly state: "ok"; readonly index: number; readonly term: number }
  | { readonly state: "not_leader"; readonly leader: ServerId | null };

/**
 * A Raft server over an in-memory copy of its log. Drive it with {@linkcode receive} for each
 * message, {@linkcode tick} now and then (every 10 ms or so), and {@linkcode propose} for commands.
 *
 * @example
 * ```ts
 * import { RaftServer } from "./raft_server.ts";
 * import type { LogEntry } from "./types.ts";
 * const log: LogEntry<number>[] = [];
 * const storage = {
 *   load: () => ({ term: 0, votedFor: null, entries: [] }),
 *   saveMeta() {},
 *   append(entries: readonly LogEntry<number>[]) { log.push(...entries); },
 *   truncateFrom(index: number) { log.length = index - 1; },
 *   sync() {},
 * };
 * let now = 0;
 * const replies: unknown[] = [];
 * const counter = {
 *   init: () => 0,
 *   apply: (_meta: unknown, n: number, s: number) => ({ state: s + n, reply: s + n }),
 * };
 * const server = new RaftServer("a", counter, storage, {
 *   now: () => now,
 *   random: () => 0.5,
 *   send() {},
 *   reply: (_ref, outcome) => replies.push(outcome),
 * }, { servers: ["a"] });
 * now = 1000;
 * server.tick(); // a group of one elects itself
 * server.propose(5, "ref-1");
 * console.assert(server.role === "leader" && server.machineState === 5);
 * console.assert(JSON.stringify(replies) === '[{"state":"ok","reply":5}]');
 * ```
 */
export class RaftServer<S, C, R, E = never> {
  readonly id: ServerId;
  #machine: RaftMachine<S, C, R, E>;
  #storage: RaftStorage<C>;
  #env: RaftEnv<C, R, E>;
  #servers: readonly ServerId[];
  #peers: readonly ServerId[];
  #electionTimeout: number;
  #heartbeat: number;
  #maxBatch: number;
  #maxInflight: number;

  // Persistent (mirrored in storage).
  #term: number;
  #votedFor: ServerId | null;
  #log: LogEntry<C>[];

  // Volatile.
  #role: RaftRole = "follower";
  #leader: ServerId | null = null;
  #commitIndex = 0;
  #lastApplied = 0;
  #machineState: S;
  #durableIndex: number;
  #electionDeadline = 0;
  #leaderSeenAt = -Infinity;
  #votes = new Set<ServerId>();
  #nextIndex = new Map<ServerId, number>();
  #matchIndex = new Map<ServerId, number>();
  #heardAt = new Map<ServerId, number>();
  #heartbeatDue = 0;
  #quorumCheckDue = 0;
  #pending = new Map<number, { term: number; ref: unknown }>();
  #readSeq = 0;
  #readAcked = new Map<ServerId, number>();
  #reads: { seq: number; readIndex: number | null; done: (o: QueryOutcome<S>) => void }[] = [];
  #readyReads: (() => void)[] = [];
  #transfer: { target: ServerId; deadline: number; sent: boolean } | null = null;
  #outbox: RaftMessage<C>[] = [];
  #replies: { ref: unknown; outcome: CommandOutcome<R> }[] = [];
  #dirty = false;

  /**
   * Starts (or restarts) a server from what `storage` holds, as a follower.
   *
   * @throws {TypeError} if `servers` does not hold `id` or names a server twice
   * @throws {RangeError} if the timings are not positive or the heartbeat is not below T
   */
  constructor(
    id: ServerId,
    machine: RaftMachine<S, C, R, E>,
    storage: RaftStorage<C>,
    env: RaftEnv<C, R, E>,
    options: RaftServerOptions,
  ) {
    const servers = options.servers;
    if (!servers.includes(id)) {
      throw new TypeError(`Cannot start Raft server: servers must include "${id}"`);
    }
    if (new Set(servers).size !== servers.length) {
      throw new TypeError(`Cannot start Raft server: servers name a member twice`);
    }
    const electionTimeout = options.electionTimeoutMs ?? 150;
    const heartbeat = options.heartbeatMs ?? 50;
    if (!(electionTimeout > 0) || !(heartbeat > 0) || heartbeat >= electionTimeout) {
      throw new RangeError(
        `Cannot start Raft server: need 0 < heartbeatMs < electionTimeoutMs, received ${heartbeat} and ${electionTimeout}`,
      );
    }
    const maxBatch = options.maxBatch ?? 64;
    const maxInflight = options.maxInflight ?? 1024;
    if (!(maxBatch >= 1) || !(maxInflight >= maxBatch)) {
      throw new RangeError(
        `Cannot start Raft server: need 1 <= maxBatch <= maxInflight, received ${maxBatch} and ${maxInflight}`,
      );
    }
    this.id = id;
    this.#machine = machine;
    this.#storage = storage;
    this.#env = env;
    this.#servers = [...servers];
    this.#peers = servers.filter((s) => s !== id);
    this.#electionTimeout = electionTimeout;
    this.#heartbeat = heartbeat;
    this.#maxBatch = maxBatch;
    this.#maxInflight = maxInflight;
    const durable = storage.load();
    this.#term = durable.term;
    this.#votedFor = durable.votedFor;
    this.#log = [...durable.entries];
    this.#durableIndex = this.#log.length;
    this.#machineState = machine.init();
    this.#resetElectionTimer();
  }

  /** The current role. */
  get role(): RaftRole {
    return this.#role;
  }
  /** The current term. */
  get term(): number {
    return this.#term;
  }
  /** The leader this server last followed (itself when leading), or null. */
  get leader(): ServerId | null {
    return this.#leader;
  }
  /** The highest index known to be committed. */
  get commitIndex(): number {
    return this.#commitIndex;
  }
  /** The highest index applied to the machine. */
  get lastApplied(): number {
    return this.#lastApplied;
  }
  /** The log as this server holds it (a copy). */
  get log(): readonly LogEntry<C>[] {
    return this.#log.slice();
  }
  /** The index of the last entry in the log (0 when empty). */
  get lastIndex(): number {
    return this.#log.length;
  }
  /** The entry at `index`, if the log holds it. */
  entry(index: number): LogEntry<C> | undefined {
    return this.#log[index - 1];
  }
  /** The machine state after `lastApplied` (reading it is ra's `local_query`). */
  get machineState(): S {
    return this.#machineState;
  }

  /**
   * Appends a command if this server leads; `ref` comes back with the reply once it is applied.
   * A reply may never come (the leader lost its place): then the outcome is unknown.
   */
  propose(command: C, ref: unknown): ProposeResult {
    if (this.#role !== "leader") return { state: "not_leader", leader: this.#leader };
    // While handing over, new commands wait for the next leader (the target usually).
    if (this.#transfer !== null) return { state: "not_leader", leader: this.#transfer.target };
    const entry = this.#appendLocal({ type: "command", command });
    this.#pending.set(entry.index, { term: entry.term, ref });
    this.#flush();
    return { state: "ok", index: entry.index, term: entry.term };
  }

  /**
   * A linearizable read (ReadIndex, Raft thesis §6.4): the leader notes its commit index (once
   * an entry of its own term is committed), confirms with a majority that it still leads, waits
   * until it has applied that far, then calls `done` with the machine state. A server that does
   * not lead, or stops leading first, calls `done` with `not_leader`.
   */
  consistentQuery(done: (outcome: QueryOutcome<S>) => void): void {
    if (this.#role !== "leader") {
      const leader = this.#leader;
      this.#readyReads.push(() => done({ state: "not_leader", leader }));
    } else {
      const seq = ++this.#readSeq;
      this.#reads.push({ seq, readIndex: null, done });
      for (const peer of this.#peers) this.#sendAppend(peer, true);
      this.#serveReads();
    }
    this.#flush();
  }

  /** The machine state if this server leads: fast, but may be stale (ra's `leader_query`). */
  leaderQuery(): QueryOutcome<S> {
    if (this.#role !== "leader") return { state: "not_leader", leader: this.#leader };
    return { state: "ok", machineState: this.#machineState };
  }

  #serveReads(): void {
    if (this.#role !== "leader" || this.#termAt(this.#commitIndex) !== this.#term) return;
    while (this.#reads.length > 0) {
      const read = this.#reads[0]!;
      read.readIndex ??= this.#commitIndex;
      let acks = 1;
      for (const peer of this.#peers) if ((this.#readAcked.get(peer) ?? 0) >= read.seq) acks++;
      if (acks * 2 <= this.#servers.length || this.#lastApplied < read.readIndex) return;
      this.#reads.shift();
      const machineState = this.#machineState;
      this.#readyReads.push(() => read.done({ state: "ok", machineState }));
    }
  }

  /**
   * Hands leadership to `target` (Raft thesis §3.10): the leader stops taking commands, brings
   * `target` up to date, then tells it to stand at once. If `target` has not taken over within an
   * election timeout, this server goes back to taking commands. Returns false if it does not lead.
   *
   * @throws {TypeError} if `target` is not another member of the group
   */
  transferLeadership(target: ServerId): boolean {
    if (target === this.id || !this.#peers.includes(target)) {
      throw new TypeError(`Cannot transfer leadership: "${target}" is not another member`);
    }
    if (this.#role !== "leader") return false;
    this.#transfer = { target, deadline: this.#env.now() + this.#electionTimeout, sent: false };
    this.#sendAppend(target, true);
    this.#flush();
    return true;
  }

  /** Advances timers: starts a pre-vote, sends heartbeats, checks the quorum. */
  tick(): void {
    const now = this.#env.now();
    if (this.#role === "leader") {
      if (now >= this.#quorumCheckDue) {
        this.#quorumCheckDue = now + this.#electionTimeout;
        if (!this.#quorumRecentlyHeard(now)) {
          this.#becomeFollower(this.#term, null);
          this.#flush();
          return;
        }
      }
      if (this.#transfer !== null && now >= this.#transfer.deadline) this.#transfer = null;
      if (now >= this.#heartbeatDue) {
        this.#heartbeatDue = now + this.#heartbeat;
        for (const peer of this.#peers) this.#sendAppend(peer, true);
      }
    } else if (now >= this.#electionDeadline) {
      this.#startPreVote();
    }
    this.#flush();
  }

  /** Handles one message from a peer (any order, any number of times). */
  receive(message: RaftMessage<C>): void {
    if (message.to !== this.id || !this.#servers.includes(message.from)) return;
    switch (message.type) {
      case "pre_vote_request":
        this.#onPreVoteRequest(message);
        break;
      case "pre_vote_response":
        this.#onPreVoteResponse(message);
        break;
      case "vote_request":
        this.#onVoteRequest(message);
        break;
      case "vote_response":
        this.#onVoteResponse(message);
        break;
      case "append_entries":
        this.#onAppendEntries(message);
        break;
      case "append_response":
        this.#onAppendResponse(message);
        break;
      case "timeout_now":
        this.#onTimeoutNow(message);
        break;
    }
    this.#flush();
  }

  // --- Election -------------------------------------------------------------------------------

  #startPreVote(): void {
    this.#resetElectionTimer();
    this.#role = "pre_candidate";
    this.#leader = null;
    this.#votes = new Set([this.id]);
    if (this.#hasMajority(this.#votes)) return this.#becomeCandidate();
    for (const peer of this.#peers) {
      this.#outbox.push({
        type: "pre_vote_request",
        from: this.id,
        to: peer,
        term: this.#term + 1,
        lastLogIndex: this.#lastIndex(),
        lastLogTerm: this.#lastTerm(),
      });
    }
  }

  /** Sent by a pre-candidate; answered without changing term or vote. */
  #onPreVoteRequest(m: PreVoteRequest): void {
    const now = this.#env.now();
    const heardLeader = this.#role === "leader" ||
      now - this.#leaderSeenAt < this.#electionTimeout;
    const granted = m.term > this.#term && !heardLeader && this.#upToDate(m);
    this.#outbox.push({
      type: "pre_vote_response",
      from: this.id,
      to: m.from,
      term: granted ? m.term : this.#term,
      granted,
    });
  }

  /** Sent by a peer answering this server's pre-vote. */
  #onPreVoteResponse(m: PreVoteResponse): void {
    if (!m.granted) {
      if (m.term > this.#term) this.#becomeFollower(m.term, null);
      return;
    }
    if (this.#role !== "pre_candidate" || m.term !== this.#term + 1) return;
    this.#votes.add(m.from);
    if (this.#hasMajority(this.#votes)) this.#becomeCandidate();
  }

  /** Sent by the leader handing over to this server: stand now, skipping the pre-vote. */
  #onTimeoutNow(m: TimeoutNow): void {
    if (m.term !== this.#term || this.#role === "leader") return;
    this.#becomeCandidate(true);
  }

  #becomeCandidate(transfer = false): void {
    this.#role = "candidate";
    this.#term += 1;
    this.#votedFor = this.id;
    this.#saveMeta();
    this.#votes = new Set([this.id]);
    this.#resetElectionTimer();
    if (this.#hasMajority(this.#votes)) return this.#becomeLeader();
    for (const peer of this.#peers) {
      this.#outbox.push({
        type: "vote_request",
        from: this.id,
        to: peer,
        term: this.#term,
        lastLogIndex: this.#lastIndex(),
        lastLogTerm: this.#lastTerm(),
        transfer,
      });
    }
  }

  /** Sent by a candidate; the vote is persisted before the answer leaves. */
  #onVoteRequest(m: VoteRequest): void {
    const now = this.#env.now();
    // A server that hears its leader ignores disruptive candidates (Raft thesis §4.2.3).
    if (
      !m.transfer && m.term > this.#term && this.#role !== "leader" && this.#leader !== null &&
      now - this.#leaderSeenAt < this.#electionTimeout
    ) {
      return;
    }
    if (m.term > this.#term) this.#becomeFollower(m.term, null);
    const granted = m.term === this.#term && this.#upToDate(m) &&
      (this.#votedFor === null || this.#votedFor === m.from);
    if (granted && this.#votedFor === null) {
      this.#votedFor = m.from;
      this.#saveMeta();
      this.#resetElectionTimer();
    }
    this.#outbox.push({
      type: "vote_response",
      from: this.id,
      to: m.from,
      term: this.#term,
      granted,
    });
  }

  /** Sent by a peer answering this server's vote request. */
  #onVoteResponse(m: VoteResponse): void {
    if (m.term > this.#term) return this.#becomeFollower(m.term, null);
    if (this.#role !== "candidate" || m.term !== this.#term || !m.granted) return;
    this.#votes.add(m.from);
    if (this.#hasMajority(this.#votes)) this.#becomeLeader();
  }

  #becomeLeader(): void {
    const now = this.#env.now();
    this.#role = "leader";
    this.#leader = this.id;
    this.#transfer = null;
    this.#nextIndex.clear();
    this.#matchIndex.clear();
    this.#heardAt.clear();
    this.#readAcked.clear();
    for (const peer of this.#peers) {
      this.#nextIndex.set(peer, this.#lastIndex() + 1);
      this.#matchIndex.set(peer, 0);
      this.#heardAt.set(peer, now);
    }
    this.#heartbeatDue = now + this.#heartbeat;
    this.#quorumCheckDue = now + this.#electionTimeout;
    this.#appendLocal({ type: "noop" });
  }

  #becomeFollower(term: number, leader: ServerId | null): void {
    if (term > this.#term) {
      this.#term = term;
      this.#votedFor = null;
      this.#saveMeta();
    }
    if (this.#role !== "follower") this.#resetElectionTimer();
    this.#role = "follower";
    this.#leader = leader;
    // Whoever leads now decides what those entries become; their clients learn by timing out.
    this.#pending.clear();
    this.#transfer = null;
    for (const read of this.#reads) {
      this.#readyReads.push(() => read.done({ state: "not_leader", leader }));
    }
    this.#reads = [];
  }

  // --- Replication ----------------------------------------------------------------------------

  /** Sends the entries after `nextIndex - 1` (or, for a heartbeat, possibly none). */
  #sendAppend(peer: ServerId, heartbeat: boolean): void {
    const next = this.#nextIndex.get(peer) ?? this.#lastIndex() + 1;
    const match = this.#matchIndex.get(peer) ?? 0;
    const room = Math.max(0, match + this.#maxInflight - (next - 1));
    const count = Math.min(this.#maxBatch, this.#lastIndex() - next + 1, room);
    if (count <= 0 && !heartbeat) return;
    const prevLogIndex = next - 1;
    const entries = count > 0 ? this.#log.slice(next - 1, next - 1 + count) : [];
    this.#outbox.push({
      type: "append_entries",
      from: this.id,
      to: peer,
      term: this.#term,
      prevLogIndex,
      prevLogTerm: this.#termAt(prevLogIndex),
      entries,
      leaderCommit: this.#commitIndex,
      readSeq: this.#readSeq,
    });
    if (entries.length > 0) this.#nextIndex.set(peer, next + entries.length);
  }

  /** Sent by the leader of `m.term`. */
  #onAppendEntries(m: AppendEntries<C>): void {
    const refuse = (hint: number): void => {
      this.#outbox.push({
        type: "append_response",
        from: this.id,
        to: m.from,
        term: this.#term,
        success: false,
        matchIndex: 0,
        hint,
        readSeq: m.readSeq,
      });
    };
    if (m.term < this.#term) return refuse(this.#lastIndex());
    this.#becomeFollower(m.term, m.from);
    this.#leaderSeenAt = this.#env.now();
    this.#resetElectionTimer();
    if (m.prevLogIndex > this.#lastIndex()) return refuse(this.#lastIndex());
    const localPrevTerm = this.#termAt(m.prevLogIndex);
    if (localPrevTerm !== m.prevLogTerm) {
      // Skip back over the whole conflicting term at once.
      let hint = m.prevLogIndex - 1;
      while (hint > this.#commitIndex && this.#termAt(hint) === localPrevTerm) hint -= 1;
      return refuse(hint);
    }
    let fresh: LogEntry<C>[] = [];
    for (let i = 0; i < m.entries.length; i++) {
      const entry = m.entries[i]!;
      if (entry.index > this.#lastIndex()) {
        fresh = m.entries.slice(i);
        break;
      }
      if (this.#termAt(entry.index) !== entry.term) {
        if (entry.index <= this.#commitIndex) {
          throw new Error(
            `Raft safety violated: server ${this.id} asked to overwrite committed index ${entry.index}`,
          );
        }
        this.#log.length = entry.index - 1;
        this.#durableIndex = Math.min(this.#durableIndex, entry.index - 1);
        this.#storage.truncateFrom(entry.index);
        this.#dirty = true;
        fresh = m.entries.slice(i);
        break;
      }
    }
    if (fresh.length > 0) {
      this.#log.push(...fresh);
      this.#storage.append(fresh);
      this.#dirty = true;
    }
    const matchIndex = m.prevLogIndex + m.entries.length;
    if (m.leaderCommit > this.#commitIndex) {
      this.#commitIndex = Math.max(this.#commitIndex, Math.min(m.leaderCommit, matchIndex));
      this.#applyCommitted();
    }
    this.#outbox.push({
      type: "append_response",
      from: this.id,
      to: m.from,
      term: this.#term,
      success: true,
      matchIndex,
      hint: 0,
      readSeq: m.readSeq,
    });
  }

  /** Sent by a follower answering this leader's append_entries. */
  #onAppendResponse(m: AppendResponse): void {
    if (m.term > this.#term) return this.#becomeFollower(m.term, null);
    if (this.#role !== "leader" || m.term !== this.#term) return;
    this.#heardAt.set(m.from, this.#env.now());
    if (m.readSeq > (this.#readAcked.get(m.from) ?? 0)) this.#readAcked.set(m.from, m.readSeq);
    const match = this.#matchIndex.get(m.from) ?? 0;
    const next = this.#nextIndex.get(m.from) ?? this.#lastIndex() + 1;
    if (m.success) {
      if (m.matchIndex > match) this.#matchIndex.set(m.from, m.matchIndex);
      if (m.matchIndex + 1 > next) this.#nextIndex.set(m.from, m.matchIndex + 1);
      this.#advanceCommit();
    } else {
      this.#nextIndex.set(m.from, Math.max(match + 1, Math.min(next, m.hint + 1)));
    }
    this.#sendAppend(m.from, false);
    const transfer = this.#transfer;
    if (
      transfer !== null && !transfer.sent && transfer.target === m.from &&
      this.#matchIndex.get(m.from) === this.#lastIndex()
    ) {
      transfer.sent = true;
      this.#outbox.push({ type: "timeout_now", from: this.id, to: m.from, term: this.#term });
    }
  }

  /** Commits the highest entry of this term that a majority (with this server, synced) holds. */
  #advanceCommit(): void {
    if (this.#role !== "leader") return;
    for (let n = this.#lastIndex(); n > this.#commitIndex; n--) {
      const term = this.#termAt(n);
      if (term < this.#term) break;
      if (term !== this.#term) continue;
      let count = this.#durableIndex >= n ? 1 : 0;
      for (const peer of this.#peers) if ((this.#matchIndex.get(peer) ?? 0) >= n) count++;
      if (count * 2 > this.#servers.length) {
        this.#commitIndex = n;
        this.#applyCommitted();
        return;
      }
    }
  }

  #applyCommitted(): void {
    while (this.#lastApplied < this.#commitIndex) {
      const entry = this.#log[this.#lastApplied]!;
      this.#lastApplied = entry.index;
      const pending = this.#pending.get(entry.index);
      this.#pending.delete(entry.index);
      if (entry.payload.type !== "command") continue;
      const meta: ApplyMeta = { index: entry.index, term: entry.term };
      let result: ApplyResult<S, R, E>;
      try {
        result = this.#machine.apply(meta, entry.payload.command, this.#machineState);
      } catch (error) {
        // Deterministic, so every server skips it alike; the group goes on.
        if (pending !== undefined && pending.term === entry.term) {
          this.#replies.push({ ref: pending.ref, outcome: { state: "error", error } });
        }
        continue;
      }
      this.#machineState = result.state;
      if (pending !== undefined && pending.term === entry.term) {
        this.#replies.push({ ref: pending.ref, outcome: { state: "ok", reply: result.reply } });
      }
      if (this.#role === "leader" && result.effects && result.effects.length > 0) {
        this.#env.effects?.(result.effects, meta);
      }
    }
  }

  // --- Helpers --------------------------------------------------------------------------------

  #appendLocal(payload: LogEntry<C>["payload"]): LogEntry<C> {
    const entry: LogEntry<C> = { term: this.#term, index: this.#lastIndex() + 1, payload };
    this.#log.push(entry);
    this.#storage.append([entry]);
    this.#dirty = true;
    return entry;
  }

  #saveMeta(): void {
    this.#storage.saveMeta(this.#term, this.#votedFor);
    this.#dirty = true;
  }

  /**
   * Ends a step: syncs what it wrote, then lets the leader count its own now-durable entries,
   * then releases messages and replies (none of them may promise an unsynced write).
   */
  #flush(): void {
    if (this.#dirty) {
      this.#storage.sync();
      this.#dirty = false;
    }
    this.#durableIndex = this.#lastIndex();
    if (this.#role === "leader") {
      this.#advanceCommit();
      this.#serveReads();
      for (const peer of this.#peers) this.#sendAppend(peer, false);
    }
    const out = this.#outbox;
    const replies = this.#replies;
    const reads = this.#readyReads;
    this.#outbox = [];
    this.#replies = [];
    this.#readyReads = [];
    for (const message of out) this.#env.send(message);
    for (const { ref, outcome } of replies) this.#env.reply(ref, outcome);
    for (const read of reads) read();
  }

  #resetElectionTimer(): void {
    this.#electionDeadline = this.#env.now() + this.#electionTimeout *
        (1 + this.#env.random());
  }

  #quorumRecentlyHeard(now: number): boolean {
    let count = 1;
    for (const peer of this.#peers) {
      if (now - (this.#heardAt.get(peer) ?? -Infinity) < this.#electionTimeout) count++;
    }
    return count * 2 > this.#servers.length;
  }

  #hasMajority(votes: ReadonlySet<ServerId>): boolean {
    return votes.size * 2 > this.#servers.length;
  }

  #upToDate(m: { lastLogIndex: number; lastLogTerm: number }): boolean {
    const lastTerm = this.#lastTerm();
    return m.lastLogTerm > lastTerm ||
      (m.lastLogTerm === lastTerm && m.lastLogIndex >= this.#lastIndex());
  }

  #lastIndex(): number {
    return this.#log.length;
  }

  #lastTerm(): number {
    return this.#termAt(this.#log.length);
  }

  #termAt(index: number): number {
    return index === 0 ? 0 : (this.#log[index - 1]?.term ?? -1);
  }
}
