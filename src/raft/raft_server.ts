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
 * Snapshots (the machine releases a cursor, as ra's `release_cursor`; every server then stores
 * the state at that index in place of the log up to it) and their install on a lagging follower:
 * ```
 * leader: the follower needs an entry below the snapshot
 * leader --install_snapshot{index, term, config, offset, chunk}--> follower
 * follower: keeps the chunk if it follows the last one --install_snapshot_response{received}--> leader
 *   ... until the last chunk: the follower replaces its log (keeping any matching suffix) and
 *   state, syncs, and answers done; the leader goes on with append_entries after the index
 * ```
 * Membership, one server at a time (Raft thesis §4.1, as ra): a server follows the newest
 * configuration in its log, committed or not. The leader appends a change only once the last
 * one is committed and its term has a committed entry.
 * ```
 * addMember(x): leader appends config{learners + x}; replicates to x, which does not vote
 *   x holds nearly the whole log -> leader appends config{voters + x}; committed -> done
 * removeMember(x): leader appends config{voters - x}; committed -> done (a removed leader then
 *   steps down; a removed server no longer stands for election)
 * ```
 * Failure: lost, repeated or reordered messages are harmless (responses are judged by term and
 * index; a refusal sends `nextIndex` back to the follower's hint). A leader that has not heard from
 * a majority within T steps down (check-quorum), so clients are not left with a leader that can
 * no longer commit. After a crash the server restarts from {@linkcode RaftStorage.load}; nothing
 * it acknowledged was unsynced.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import type {
  AppendEntries,
  AppendResponse,
  ApplyMeta,
  ApplyResult,
  CommandOutcome,
  InstallSnapshot,
  InstallSnapshotResponse,
  LogEntry,
  PreVoteRequest,
  PreVoteResponse,
  RaftConfig,
  RaftEnv,
  RaftMachine,
  RaftMessage,
  RaftSnapshot,
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
  /**
   * The group's first voters (this server included, normally), used until the log or a snapshot
   * holds a configuration. A server joining a running group passes `[]` and waits for a leader.
   */
  readonly servers: readonly ServerId[];
  /** The shortest election timeout T, in ms; timeouts are drawn from [T, 2T). Default 150. */
  readonly electionTimeoutMs?: number;
  /** How often a leader sends heartbeats, in ms; must be below T. Default 50. */
  readonly heartbeatMs?: number;
  /** The most entries in one append_entries. Default 64. */
  readonly maxBatch?: number;
  /** The most entries sent to a follower beyond what it acknowledged. Default 1024. */
  readonly maxInflight?: number;
  /** The most snapshot bytes in one install_snapshot. Default 262144. */
  readonly snapshotChunkBytes?: number;
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
 * What a membership change came to: done (committed), refused because this server does not lead,
 * or because another change is still uncommitted (retry), or refused outright.
 */
export type MembershipOutcome =
  | { readonly state: "ok"; readonly config: RaftConfig }
  | { readonly state: "not_leader"; readonly leader: ServerId | null }
  | { readonly state: "change_in_progress" }
  | { readonly state: "rejected"; readonly reason: string };

interface MemberWait {
  readonly kind: "add" | "remove";
  readonly member: ServerId;
  readonly done: (outcome: MembershipOutcome) => void;
}

interface SnapshotSend {
  readonly index: number;
  offset: number;
  inflight: boolean;
}

interface SnapshotReceive {
  readonly index: number;
  readonly term: number;
  readonly chunks: Uint8Array[];
  received: number;
}

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
  #electionTimeout: number;
  #heartbeat: number;
  #maxBatch: number;
  #maxInflight: number;
  #chunkBytes: number;

  // Persistent (mirrored in storage).
  #term: number;
  #votedFor: ServerId | null;
  /** The latest snapshot; the log holds the entries after `#base`. */
  #snapshot: RaftSnapshot | null;
  #base: number;
  #baseTerm: number;
  #log: LogEntry<C>[];

  // Membership: the configuration at `#base`, then every config entry in the log, in order.
  #baseConfig: RaftConfig;
  #configs: { index: number; config: RaftConfig }[] = [];

  // Volatile.
  #role: RaftRole = "follower";
  #leader: ServerId | null = null;
  #commitIndex: number;
  #lastApplied: number;
  #machineState: S;
  #durableIndex: number;
  #electionDeadline = 0;
  #leaderSeenAt = -Infinity;
  #votes = new Set<ServerId>();
  #nextIndex = new Map<ServerId, number>();
  #matchIndex = new Map<ServerId, number>();
  #heardAt = new Map<ServerId, number>();
  /** Peers that refused an append: sent one probe per answer or heartbeat until one matches. */
  #probing = new Set<ServerId>();
  #snapshotSends = new Map<ServerId, SnapshotSend>();
  #snapshotReceive: SnapshotReceive | null = null;
  #heartbeatDue = 0;
  #quorumCheckDue = 0;
  #pending = new Map<number, { term: number; ref: unknown }>();
  #memberWaits: MemberWait[] = [];
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
   * @throws {TypeError} if `servers` names a server twice
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
    const chunkBytes = options.snapshotChunkBytes ?? 262144;
    if (!(chunkBytes >= 1)) {
      throw new RangeError(
        `Cannot start Raft server: snapshotChunkBytes must be at least 1, received ${chunkBytes}`,
      );
    }
    this.id = id;
    this.#machine = machine;
    this.#storage = storage;
    this.#env = env;
    this.#electionTimeout = electionTimeout;
    this.#heartbeat = heartbeat;
    this.#maxBatch = maxBatch;
    this.#maxInflight = maxInflight;
    this.#chunkBytes = chunkBytes;
    const durable = storage.load();
    this.#term = durable.term;
    this.#votedFor = durable.votedFor;
    const snapshot = durable.snapshot ?? null;
    this.#snapshot = snapshot;
    this.#base = snapshot?.index ?? 0;
    this.#baseTerm = snapshot?.term ?? 0;
    this.#baseConfig = snapshot?.config ?? { voters: [...servers], learners: [] };
    this.#log = [];
    for (const entry of durable.entries) {
      if (entry.index !== this.#base + this.#log.length + 1) {
        throw new RangeError(
          `Cannot start Raft server: stored entry ${entry.index} does not follow ${
            this.#base + this.#log.length
          }`,
        );
      }
      this.#log.push(entry);
      if (entry.payload.type === "config") {
        this.#configs.push({ index: entry.index, config: entry.payload.config });
      }
    }
    this.#durableIndex = this.#lastIndex();
    this.#commitIndex = this.#base;
    this.#lastApplied = this.#base;
    this.#machineState = snapshot === null ? machine.init() : this.#decode(snapshot.data);
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
  /** The log entries this server holds, after its snapshot (a copy). */
  get log(): readonly LogEntry<C>[] {
    return this.#log.slice();
  }
  /** The index of the last entry in the log (0 when empty). */
  get lastIndex(): number {
    return this.#lastIndex();
  }
  /** The last index the latest snapshot covers (0 without one); the log starts after it. */
  get snapshotIndex(): number {
    return this.#base;
  }
  /** The membership this server follows: the newest in its log, committed or not. */
  get config(): RaftConfig {
    return this.#config();
  }
  /** The entry at `index`, if the log holds it (not if a snapshot replaced it). */
  entry(index: number): LogEntry<C> | undefined {
    return index > this.#base ? this.#log[index - this.#base - 1] : undefined;
  }
  /** The term of the entry at `index`: known for the snapshot's index and the log; else -1. */
  termAt(index: number): number {
    return this.#termAt(index);
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
   * Adds `member` to the group (as ra's `add_member`): first as a learner that catches up
   * without voting, then, once it holds nearly the whole log, as a voter. `done` is called once
   * that last configuration is committed, or at once with the reason it cannot be done here.
   * Adding a voter is `ok` at once; adding a learner again waits for its promotion.
   */
  addMember(member: ServerId, done: (outcome: MembershipOutcome) => void): void {
    this.#changeMembers("add", member, done);
  }

  /**
   * Removes `member` (a voter or a learner) from the group; `done` is called once the new
   * configuration is committed. A leader that removes itself steps down then. Removing a server
   * that is not a member is `ok` at once; removing the last voter is rejected.
   */
  removeMember(member: ServerId, done: (outcome: MembershipOutcome) => void): void {
    this.#changeMembers("remove", member, done);
  }

  #changeMembers(
    kind: "add" | "remove",
    member: ServerId,
    done: (outcome: MembershipOutcome) => void,
  ): void {
    const settle = (outcome: MembershipOutcome) => {
      this.#readyReads.push(() => done(outcome));
      this.#flush();
    };
    if (this.#role !== "leader") return settle({ state: "not_leader", leader: this.#leader });
    if (this.#transfer !== null) {
      return settle({ state: "not_leader", leader: this.#transfer.target });
    }
    const config = this.#config();
    const isVoter = config.voters.includes(member);
    const isLearner = config.learners.includes(member);
    if (kind === "add" && (isVoter || isLearner) || kind === "remove" && !isVoter && !isLearner) {
      this.#memberWaits.push({ kind, member, done });
      return this.#flush();
    }
    if (!this.#mayChangeConfig()) return settle({ state: "change_in_progress" });
    let next: RaftConfig;
    if (kind === "add") {
      next = { voters: config.voters, learners: [...config.learners, member] };
    } else {
      next = {
        voters: config.voters.filter((s) => s !== member),
        learners: config.learners.filter((s) => s !== member),
      };
      if (next.voters.length === 0) {
        return settle({ state: "rejected", reason: `"${member}" is the last voter` });
      }
    }
    this.#memberWaits.push({ kind, member, done });
    this.#appendLocal({ type: "config", config: next });
    this.#flush();
  }

  /** One change at a time: the last one is committed, and so is an entry of this term. */
  #mayChangeConfig(): boolean {
    const last = this.#configs.at(-1);
    return (last === undefined || last.index <= this.#commitIndex) &&
      this.#termAt(this.#commitIndex) === this.#term;
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
      for (const peer of this.#peers()) this.#sendAppend(peer, true);
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
    const voters = this.#config().voters;
    while (this.#reads.length > 0) {
      const read = this.#reads[0]!;
      read.readIndex ??= this.#commitIndex;
      let acks = 0;
      for (const voter of voters) {
        if (voter === this.id || (this.#readAcked.get(voter) ?? 0) >= read.seq) acks++;
      }
      if (acks * 2 <= voters.length || this.#lastApplied < read.readIndex) return;
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
   * @throws {TypeError} if `target` is not another voter of the group
   */
  transferLeadership(target: ServerId): boolean {
    if (target === this.id || !this.#config().voters.includes(target)) {
      throw new TypeError(`Cannot transfer leadership: "${target}" is not another voter`);
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
        for (const peer of this.#peers()) this.#sendAppend(peer, true);
      }
    } else if (now >= this.#electionDeadline) {
      // Only a voter stands; a learner, or a server removed or not yet added, waits for a leader.
      if (this.#config().voters.includes(this.id)) this.#startPreVote();
      else this.#resetElectionTimer();
    }
    this.#flush();
  }

  /**
   * Told by the transport that `peer`'s node is gone (its connection closed,
   * as ra's followers monitor their leader): a follower of `peer` stops
   * counting on it and stands for election after a short random delay
   * instead of a whole election timeout. Only timing changes: pre-votes and
   * votes are judged as always, so a wrong report costs an election at most.
   *
   * @param peer the server whose node was lost
   */
  peerLost(peer: ServerId): void {
    if (this.#role === "leader" || this.#leader !== peer) return;
    this.#leader = null;
    this.#leaderSeenAt = -Infinity;
    const soon = this.#env.now() + this.#electionTimeout * 0.25 * this.#env.random();
    if (soon < this.#electionDeadline) this.#electionDeadline = soon;
  }

  /**
   * Handles one message from a peer (any order, any number of times). Messages from servers
   * outside the configuration are taken too: a new member hears its leader before its log says
   * who the members are.
   */
  receive(message: RaftMessage<C>): void {
    if (message.to !== this.id || message.from === this.id) return;
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
      case "install_snapshot":
        this.#onInstallSnapshot(message);
        break;
      case "install_snapshot_response":
        this.#onInstallSnapshotResponse(message);
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
    for (const peer of this.#config().voters) {
      if (peer === this.id) continue;
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
    if (!this.#config().voters.includes(this.id)) return;
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
    for (const peer of this.#config().voters) {
      if (peer === this.id) continue;
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
    this.#probing.clear();
    this.#readAcked.clear();
    this.#snapshotSends.clear();
    this.#heartbeatDue = now + this.#heartbeat;
    this.#quorumCheckDue = now + this.#electionTimeout;
    this.#trackPeers();
    // A group's first entry is its configuration, so that every log and snapshot holds it (a
    // server joining later learns the members from there); later leaders commit a no-op.
    if (this.#lastIndex() === 0) this.#appendLocal({ type: "config", config: this.#config() });
    else this.#appendLocal({ type: "noop" });
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
    for (const wait of this.#memberWaits) {
      this.#readyReads.push(() => wait.done({ state: "not_leader", leader }));
    }
    this.#memberWaits = [];
  }

  // --- Replication ----------------------------------------------------------------------------

  /** Sends the entries after `nextIndex - 1` (or, for a heartbeat, possibly none). */
  #sendAppend(peer: ServerId, heartbeat: boolean): void {
    const next = this.#nextIndex.get(peer) ?? this.#lastIndex() + 1;
    const prevLogIndex = next - 1;
    if (prevLogIndex < this.#base) return this.#sendSnapshotChunk(peer, heartbeat);
    const probing = this.#probing.has(peer);
    if (probing && !heartbeat) return;
    const match = this.#matchIndex.get(peer) ?? 0;
    const room = Math.max(0, match + this.#maxInflight - (next - 1));
    const count = Math.min(this.#maxBatch, this.#lastIndex() - next + 1, room);
    if (count <= 0 && !heartbeat) return;
    const start = next - this.#base - 1;
    const entries = count > 0 ? this.#log.slice(start, start + count) : [];
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
    if (entries.length > 0 && !probing) this.#nextIndex.set(peer, next + entries.length);
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
    // Entries up to the snapshot are committed, so they match the leader's: skip them.
    const skip = Math.max(0, this.#base - m.prevLogIndex);
    const prevLogIndex = m.prevLogIndex + skip;
    const localPrevTerm = this.#termAt(prevLogIndex);
    if (skip === 0 && localPrevTerm !== m.prevLogTerm) {
      if (m.prevLogIndex <= this.#commitIndex) {
        throw new Error(
          `Raft safety violated: server ${this.id} holds committed index ${m.prevLogIndex} with term ${localPrevTerm}, its leader with term ${m.prevLogTerm}`,
        );
      }
      // Skip back over the whole conflicting term at once.
      let hint = m.prevLogIndex - 1;
      while (hint > this.#commitIndex && this.#termAt(hint) === localPrevTerm) hint -= 1;
      return refuse(hint);
    }
    const entries = m.entries.slice(skip);
    let fresh: LogEntry<C>[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.index > this.#lastIndex()) {
        fresh = entries.slice(i);
        break;
      }
      if (this.#termAt(entry.index) !== entry.term) {
        if (entry.index <= this.#commitIndex) {
          throw new Error(
            `Raft safety violated: server ${this.id} asked to overwrite committed index ${entry.index}`,
          );
        }
        this.#truncateLocal(entry.index);
        fresh = entries.slice(i);
        break;
      }
    }
    if (fresh.length > 0) {
      for (const entry of fresh) this.#pushLocal(entry);
      this.#storage.append(fresh);
      this.#dirty = true;
    }
    const matchIndex = prevLogIndex + entries.length;
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
    if (this.#role !== "leader" || m.term !== this.#term || !this.#nextIndex.has(m.from)) return;
    this.#heardAt.set(m.from, this.#env.now());
    if (m.readSeq > (this.#readAcked.get(m.from) ?? 0)) this.#readAcked.set(m.from, m.readSeq);
    const match = this.#matchIndex.get(m.from) ?? 0;
    const next = this.#nextIndex.get(m.from) ?? this.#lastIndex() + 1;
    if (m.success) {
      this.#probing.delete(m.from);
      if (m.matchIndex > match) this.#matchIndex.set(m.from, m.matchIndex);
      if (m.matchIndex + 1 > next) this.#nextIndex.set(m.from, m.matchIndex + 1);
      this.#advanceCommit();
    } else {
      const back = Math.max(match + 1, Math.min(next, m.hint + 1));
      // The peer is probed, one append per answer, until one matches (then pipelining resumes);
      // a refusal that moves nothing (a repeat, or stale) sends nothing, since answering every
      // copy would multiply probes. A lost probe is sent again with the next heartbeat.
      if (back === next && this.#probing.has(m.from)) return;
      this.#nextIndex.set(m.from, back);
      this.#probing.add(m.from);
      return this.#sendAppend(m.from, true);
    }
    this.#sendAppend(m.from, false);
    this.#maybeSendTimeoutNow(m.from);
  }

  #maybeSendTimeoutNow(peer: ServerId): void {
    const transfer = this.#transfer;
    if (
      transfer !== null && !transfer.sent && transfer.target === peer &&
      this.#matchIndex.get(peer) === this.#lastIndex()
    ) {
      transfer.sent = true;
      this.#outbox.push({ type: "timeout_now", from: this.id, to: peer, term: this.#term });
    }
  }

  // --- Snapshots ------------------------------------------------------------------------------

  /** Sends `peer` the next chunk of the snapshot (again, on a heartbeat, if unanswered). */
  #sendSnapshotChunk(peer: ServerId, heartbeat: boolean): void {
    const snapshot = this.#snapshot;
    if (snapshot === null) return;
    let send = this.#snapshotSends.get(peer);
    if (send === undefined || send.index !== snapshot.index) {
      send = { index: snapshot.index, offset: 0, inflight: false };
      this.#snapshotSends.set(peer, send);
    }
    if (send.inflight && !heartbeat) return;
    send.inflight = true;
    const data = snapshot.data.subarray(send.offset, send.offset + this.#chunkBytes);
    this.#outbox.push({
      type: "install_snapshot",
      from: this.id,
      to: peer,
      term: this.#term,
      index: snapshot.index,
      lastTerm: snapshot.term,
      config: snapshot.config,
      offset: send.offset,
      size: snapshot.data.length,
      data,
    });
  }

  /** Sent by the leader of `m.term`, one chunk at a time. */
  #onInstallSnapshot(m: InstallSnapshot): void {
    const answer = (received: number, done: boolean) => {
      this.#outbox.push({
        type: "install_snapshot_response",
        from: this.id,
        to: m.from,
        term: this.#term,
        index: m.index,
        received,
        done,
      });
    };
    if (m.term < this.#term) return answer(0, false);
    this.#becomeFollower(m.term, m.from);
    this.#leaderSeenAt = this.#env.now();
    this.#resetElectionTimer();
    // Already holding every entry it covers as committed: nothing to install.
    if (m.index <= this.#commitIndex) return answer(m.size, true);
    let receive = this.#snapshotReceive;
    if (m.offset === 0) {
      receive = { index: m.index, term: m.lastTerm, chunks: [], received: 0 };
      this.#snapshotReceive = receive;
    }
    if (
      receive === null || receive.index !== m.index || receive.term !== m.lastTerm ||
      receive.received !== m.offset
    ) {
      // A lost, repeated or stale chunk: say where to go on from (0 restarts it).
      const at = receive !== null && receive.index === m.index && receive.term === m.lastTerm
        ? receive.received
        : 0;
      return answer(at, false);
    }
    receive.chunks.push(m.data.slice());
    receive.received += m.data.length;
    if (receive.received < m.size) return answer(receive.received, false);
    this.#snapshotReceive = null;
    const data = new Uint8Array(receive.received);
    let at = 0;
    for (const chunk of receive.chunks) {
      data.set(chunk, at);
      at += chunk.length;
    }
    const snapshot: RaftSnapshot = { index: m.index, term: m.lastTerm, config: m.config, data };
    // The entries after the snapshot stay only if the log holds its last entry; if not, they
    // conflict with the leader's (so none is committed) and go first. Those up to the index go
    // with the snapshot's store, in one step: a crash in between must not lose acknowledged ones.
    if (this.#termAt(m.index) !== m.lastTerm && this.#lastIndex() > m.index) {
      this.#truncateLocal(m.index + 1);
    }
    this.#machineState = this.#decode(data);
    this.#installSnapshot(snapshot);
    this.#commitIndex = m.index;
    this.#lastApplied = m.index;
    answer(m.size, true);
  }

  /** Sent by a follower answering a chunk of install_snapshot. */
  #onInstallSnapshotResponse(m: InstallSnapshotResponse): void {
    if (m.term > this.#term) return this.#becomeFollower(m.term, null);
    if (this.#role !== "leader" || m.term !== this.#term || !this.#nextIndex.has(m.from)) return;
    this.#heardAt.set(m.from, this.#env.now());
    const send = this.#snapshotSends.get(m.from);
    if (m.done) {
      if (m.index > (this.#matchIndex.get(m.from) ?? 0)) this.#matchIndex.set(m.from, m.index);
      if (m.index + 1 > (this.#nextIndex.get(m.from) ?? 0)) {
        this.#nextIndex.set(m.from, m.index + 1);
      }
      if (send?.index === m.index) this.#snapshotSends.delete(m.from);
      this.#probing.delete(m.from);
      this.#advanceCommit();
      this.#sendAppend(m.from, false);
      this.#maybeSendTimeoutNow(m.from);
      return;
    }
    if (send === undefined || send.index !== m.index) return;
    send.offset = m.received;
    send.inflight = false;
    this.#sendSnapshotChunk(m.from, false);
  }

  /** Stores `snapshot` in place of the log up to its index (entries after it stay). */
  #installSnapshot(snapshot: RaftSnapshot): void {
    if (this.#storage.saveSnapshot === undefined) {
      throw new TypeError("Cannot snapshot: the Raft storage has no saveSnapshot");
    }
    const drop = snapshot.index - this.#base;
    this.#log = drop >= this.#log.length ? [] : this.#log.slice(drop);
    this.#configs = this.#configs.filter((c) => c.index > snapshot.index);
    this.#snapshot = snapshot;
    this.#base = snapshot.index;
    this.#baseTerm = snapshot.term;
    this.#baseConfig = snapshot.config;
    this.#storage.saveSnapshot(snapshot);
    this.#dirty = true;
  }

  // --- Commit and apply -----------------------------------------------------------------------

  /** Commits the highest entry of this term that a majority of voters (synced) holds. */
  #advanceCommit(): void {
    if (this.#role !== "leader") return;
    const voters = this.#config().voters;
    for (let n = this.#lastIndex(); n > this.#commitIndex; n--) {
      const term = this.#termAt(n);
      if (term < this.#term) break;
      if (term !== this.#term) continue;
      let count = 0;
      for (const voter of voters) {
        const has = voter === this.id
          ? this.#durableIndex >= n
          : (this.#matchIndex.get(voter) ?? 0) >= n;
        if (has) count++;
      }
      if (count * 2 > voters.length) {
        this.#commitIndex = n;
        this.#applyCommitted();
        return;
      }
    }
  }

  #applyCommitted(): void {
    let release: { index: number; state: S } | null = null;
    while (this.#lastApplied < this.#commitIndex) {
      const entry = this.#log[this.#lastApplied - this.#base]!;
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
      if (result.releaseCursor === true) release = { index: entry.index, state: result.state };
      if (pending !== undefined && pending.term === entry.term) {
        this.#replies.push({ ref: pending.ref, outcome: { state: "ok", reply: result.reply } });
      }
      if (this.#role === "leader" && result.effects && result.effects.length > 0) {
        this.#env.effects?.(result.effects, meta);
      }
    }
    if (release !== null && release.index > this.#base) {
      this.#installSnapshot({
        index: release.index,
        term: this.#termAt(release.index),
        config: this.#configAt(release.index),
        data: this.#encode(release.state),
      });
    }
  }

  // --- Membership -----------------------------------------------------------------------------

  #config(): RaftConfig {
    return this.#configs.at(-1)?.config ?? this.#baseConfig;
  }

  #configAt(index: number): RaftConfig {
    for (let i = this.#configs.length - 1; i >= 0; i--) {
      if (this.#configs[i]!.index <= index) return this.#configs[i]!.config;
    }
    return this.#baseConfig;
  }

  /** Every member but this server: whom a leader replicates to. */
  #peers(): ServerId[] {
    const config = this.#config();
    return [...config.voters, ...config.learners].filter((s) => s !== this.id);
  }

  /** Keeps the leader's per-peer state in step with the configuration. */
  #trackPeers(): void {
    if (this.#role !== "leader") return;
    const peers = new Set(this.#peers());
    const now = this.#env.now();
    for (const peer of peers) {
      if (this.#nextIndex.has(peer)) continue;
      this.#nextIndex.set(peer, this.#lastIndex() + 1);
      this.#matchIndex.set(peer, 0);
      this.#heardAt.set(peer, now);
    }
    for (const peer of [...this.#nextIndex.keys()]) {
      if (peers.has(peer)) continue;
      this.#nextIndex.delete(peer);
      this.#matchIndex.delete(peer);
      this.#heardAt.delete(peer);
      this.#probing.delete(peer);
      this.#readAcked.delete(peer);
      this.#snapshotSends.delete(peer);
    }
  }

  /**
   * On the leader, after commit moved: answers membership changes now committed, makes a
   * learner that caught up a voter, and steps down once its own removal is committed.
   */
  #settleMembership(): void {
    if (this.#role !== "leader") return;
    const committed = this.#configAt(this.#commitIndex);
    const settled = this.#memberWaits.filter((w) =>
      w.kind === "add"
        ? committed.voters.includes(w.member)
        : !committed.voters.includes(w.member) && !committed.learners.includes(w.member)
    );
    if (settled.length > 0) {
      this.#memberWaits = this.#memberWaits.filter((w) => !settled.includes(w));
      for (const wait of settled) {
        this.#readyReads.push(() => wait.done({ state: "ok", config: committed }));
      }
    }
    if (!this.#mayChangeConfig()) return;
    const config = this.#config();
    if (!config.voters.includes(this.id)) {
      // Removed, and the removal is committed: the remaining voters elect a leader among them.
      return this.#becomeFollower(this.#term, null);
    }
    // Caught up: it holds the configuration that added it, and is within a batch of the commit.
    const added = this.#configs.at(-1)?.index ?? this.#base;
    const ready = config.learners.find((learner) => {
      const match = this.#matchIndex.get(learner) ?? 0;
      return match >= added && match + this.#maxBatch >= this.#commitIndex;
    });
    if (ready !== undefined && this.#transfer === null) {
      this.#appendLocal({
        type: "config",
        config: {
          voters: [...config.voters, ready],
          learners: config.learners.filter((s) => s !== ready),
        },
      });
    }
  }

  // --- Helpers --------------------------------------------------------------------------------

  #appendLocal(payload: LogEntry<C>["payload"]): LogEntry<C> {
    const entry: LogEntry<C> = { term: this.#term, index: this.#lastIndex() + 1, payload };
    this.#pushLocal(entry);
    this.#storage.append([entry]);
    this.#dirty = true;
    return entry;
  }

  /** Adds an entry to the in-memory log (the caller stores it). */
  #pushLocal(entry: LogEntry<C>): void {
    this.#log.push(entry);
    if (entry.payload.type === "config") {
      this.#configs.push({ index: entry.index, config: entry.payload.config });
      this.#trackPeers();
    }
  }

  /** Drops the entry at `index` (after the snapshot) and every later one, here and in storage. */
  #truncateLocal(index: number): void {
    this.#log.length = Math.max(0, index - this.#base - 1);
    this.#durableIndex = Math.min(this.#durableIndex, index - 1);
    const configs = this.#configs.length;
    this.#configs = this.#configs.filter((c) => c.index < index);
    if (this.#configs.length !== configs) this.#trackPeers();
    this.#storage.truncateFrom(index);
    this.#dirty = true;
  }

  #saveMeta(): void {
    this.#storage.saveMeta(this.#term, this.#votedFor);
    this.#dirty = true;
  }

  #encode(state: S): Uint8Array {
    return this.#machine.encodeState ? this.#machine.encodeState(state) : serialize(state);
  }

  #decode(bytes: Uint8Array): S {
    return this.#machine.decodeState ? this.#machine.decodeState(bytes) : deserialize(bytes) as S;
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
      this.#settleMembership();
      if (this.#dirty) {
        // A promotion appended; it is synced before any message carries it.
        this.#storage.sync();
        this.#dirty = false;
        this.#durableIndex = this.#lastIndex();
      }
    }
    if (this.#role === "leader") {
      this.#serveReads();
      for (const peer of this.#peers()) this.#sendAppend(peer, false);
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
    const voters = this.#config().voters;
    let count = 0;
    for (const voter of voters) {
      if (
        voter === this.id || now - (this.#heardAt.get(voter) ?? -Infinity) < this.#electionTimeout
      ) {
        count++;
      }
    }
    return count * 2 > voters.length;
  }

  #hasMajority(votes: ReadonlySet<ServerId>): boolean {
    const voters = this.#config().voters;
    let count = 0;
    for (const voter of voters) if (votes.has(voter)) count++;
    return count * 2 > voters.length;
  }

  #upToDate(m: { lastLogIndex: number; lastLogTerm: number }): boolean {
    const lastTerm = this.#lastTerm();
    return m.lastLogTerm > lastTerm ||
      (m.lastLogTerm === lastTerm && m.lastLogIndex >= this.#lastIndex());
  }

  #lastIndex(): number {
    return this.#base + this.#log.length;
  }

  #lastTerm(): number {
    return this.#termAt(this.#lastIndex());
  }

  #termAt(index: number): number {
    if (index === this.#base) return this.#baseTerm;
    if (index < this.#base) return -1;
    return this.#log[index - this.#base - 1]?.term ?? -1;
  }
}
