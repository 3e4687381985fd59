/**
 * The Raft core's contracts: log entries, the messages between servers, the user's machine
 * (shaped like ra's `ra_machine`) and the interfaces the core is handed for its I/O (clock,
 * transport, storage). Nothing here does I/O; the node service that will own sockets and files
 * is not written yet (see `mod.ts`).
 *
 * ```
 * pre-candidate --pre_vote_request--> peers --pre_vote_response--> pre-candidate
 * candidate     --vote_request------> peers --vote_response------> candidate
 * leader        --append_entries----> peers --append_response----> leader
 * leader        --install_snapshot--> peer  --install_snapshot_response--> leader  (chunk by chunk)
 * ```
 *
 * @module
 */

/** A server's name in its group (for the future node service: a node name). */
export type ServerId = string;

/**
 * A group's membership. Voters elect and count towards commit; learners are members catching up
 * (as ra's promotable non-voters): the leader replicates to them and makes each a voter once it
 * holds nearly the whole log.
 */
export interface RaftConfig {
  readonly voters: readonly ServerId[];
  readonly learners: readonly ServerId[];
}

/**
 * What a log slot holds: a user command, the no-op a new leader appends to commit its term, or a
 * new membership (which a server follows as soon as it holds the entry, committed or not).
 */
export type EntryPayload<C> =
  | { readonly type: "command"; readonly command: C }
  | { readonly type: "noop" }
  | { readonly type: "config"; readonly config: RaftConfig };

/** One log entry. Indexes start at 1; index 0 is the empty prefix with term 0. */
export interface LogEntry<C> {
  /** The term of the leader that appended the entry. */
  readonly term: number;
  /** The entry's position in the log. */
  readonly index: number;
  /** The command or the leader's no-op. */
  readonly payload: EntryPayload<C>;
}

/** Sent by a pre-candidate: "would you vote for me in `term`?"; changes nobody's term. */
export interface PreVoteRequest {
  readonly type: "pre_vote_request";
  readonly from: ServerId;
  readonly to: ServerId;
  /** The term the sender would stand in (its current term + 1). */
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

/** Sent by any server in answer to a {@linkcode PreVoteRequest}. */
export interface PreVoteResponse {
  readonly type: "pre_vote_response";
  readonly from: ServerId;
  readonly to: ServerId;
  /** The term asked about when granted; the responder's current term when refused. */
  readonly term: number;
  readonly granted: boolean;
}

/** Sent by a candidate for its (already persisted) term. */
export interface VoteRequest {
  readonly type: "vote_request";
  readonly from: ServerId;
  readonly to: ServerId;
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set when the leader asked for this election: voters then do not stick to that leader. */
  readonly transfer: boolean;
}

/** Sent by a leader handing over to `to`, once `to` holds its whole log: "stand now". */
export interface TimeoutNow {
  readonly type: "timeout_now";
  readonly from: ServerId;
  readonly to: ServerId;
  readonly term: number;
}

/** Sent by any server in answer to a {@linkcode VoteRequest}, after persisting its vote. */
export interface VoteResponse {
  readonly type: "vote_response";
  readonly from: ServerId;
  readonly to: ServerId;
  readonly term: number;
  readonly granted: boolean;
}

/** Sent by the leader: entries after `prevLogIndex` (possibly none: a heartbeat). */
export interface AppendEntries<C> {
  readonly type: "append_entries";
  readonly from: ServerId;
  readonly to: ServerId;
  readonly term: number;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly LogEntry<C>[];
  readonly leaderCommit: number;
  /** The leader's latest ReadIndex round; echoed back to confirm it still leads. */
  readonly readSeq: number;
}

/** Sent by a follower in answer to {@linkcode AppendEntries}, after persisting the entries. */
export interface AppendResponse {
  readonly type: "append_response";
  readonly from: ServerId;
  readonly to: ServerId;
  readonly term: number;
  readonly success: boolean;
  /** On success: the last index known to match the leader's log. */
  readonly matchIndex: number;
  /** On failure: the leader should retry from `hint + 1`. */
  readonly hint: number;
  /** The `readSeq` of the append_entries answered. */
  readonly readSeq: number;
}

/**
 * Sent by the leader to a follower that needs entries the leader has compacted away: one chunk
 * of the snapshot's bytes at `offset`. The follower answers each chunk; the leader sends the next.
 */
export interface InstallSnapshot {
  readonly type: "install_snapshot";
  readonly from: ServerId;
  readonly to: ServerId;
  readonly term: number;
  /** The last index the snapshot covers, and that entry's term. */
  readonly index: number;
  readonly lastTerm: number;
  /** The membership at `index`. */
  readonly config: RaftConfig;
  /** Where this chunk starts in the snapshot's bytes, and the whole size. */
  readonly offset: number;
  readonly size: number;
  readonly data: Uint8Array;
}

/** Sent by a follower in answer to {@linkcode InstallSnapshot}. */
export interface InstallSnapshotResponse {
  readonly type: "install_snapshot_response";
  readonly from: ServerId;
  readonly to: ServerId;
  readonly term: number;
  /** The snapshot answered. */
  readonly index: number;
  /** How many bytes the follower holds (the next chunk starts there); `size` once installed. */
  readonly received: number;
  /** True once the follower installed (and synced) the whole snapshot. */
  readonly done: boolean;
}

/** Every message the core sends or receives. */
export type RaftMessage<C> =
  | PreVoteRequest
  | PreVoteResponse
  | VoteRequest
  | VoteResponse
  | AppendEntries<C>
  | AppendResponse
  | TimeoutNow
  | InstallSnapshot
  | InstallSnapshotResponse;

/** What the machine learns about the entry it applies. */
export interface ApplyMeta {
  readonly index: number;
  readonly term: number;
}

/** What {@linkcode RaftMachine.apply} returns: ra's `{State, Reply, Effects}`. */
export interface ApplyResult<S, R, E> {
  readonly state: S;
  readonly reply: R;
  /** Run by the leader only (as ra does); followers drop them. */
  readonly effects?: readonly E[];
  /**
   * ra's `release_cursor`: the state after this command may stand for the log up to here, so
   * every server snapshots it and drops those entries (honoured on followers too).
   */
  readonly releaseCursor?: boolean;
}

/**
 * The user's replicated state machine, shaped like ra's `ra_machine`: deterministic, pure, and
 * the same on every server. `S` state, `C` command, `R` reply, `E` effect.
 */
export interface RaftMachine<S, C, R, E = never> {
  /** The state before any command. */
  init(): S;
  /** Applies one committed command; must not mutate `state`. */
  apply(meta: ApplyMeta, command: C, state: S): ApplyResult<S, R, E>;
  /** The state as bytes, for snapshots. Default: `node:v8`'s structured clone `serialize`. */
  encodeState?(state: S): Uint8Array;
  /** The inverse of {@linkcode encodeState}. Default: `node:v8`'s `deserialize`. */
  decodeState?(bytes: Uint8Array): S;
}

/**
 * What a command came to: the machine's reply, or what its `apply` threw (then the state is
 * unchanged on every server, since `apply` is deterministic).
 */
export type CommandOutcome<R> =
  | { readonly state: "ok"; readonly reply: R }
  | { readonly state: "error"; readonly error: unknown };

/** A machine state standing for the log up to `index` (which it replaces). */
export interface RaftSnapshot {
  /** The last index the snapshot covers, and that entry's term. */
  readonly index: number;
  readonly term: number;
  /** The membership at `index`. */
  readonly config: RaftConfig;
  /** The machine state, encoded by the machine's `encodeState`. */
  readonly data: Uint8Array;
}

/** The durable state a server restarts from. */
export interface DurableState<C> {
  readonly term: number;
  readonly votedFor: ServerId | null;
  /** The latest snapshot, if any; `entries` then start at its index + 1. */
  readonly snapshot?: RaftSnapshot | null;
  /** The log, in order, without gaps (after the snapshot if there is one). */
  readonly entries: readonly LogEntry<C>[];
}

/**
 * The log and metadata store. Writes may be buffered; the core calls {@linkcode sync} before any
 * message or reply that depends on them leaves, and a crash may lose whatever was not synced.
 */
export interface RaftStorage<C> {
  /** What survived the last crash. */
  load(): DurableState<C>;
  /** Records the current term and the vote cast in it. */
  saveMeta(term: number, votedFor: ServerId | null): void;
  /** Appends entries that follow the stored log. */
  append(entries: readonly LogEntry<C>[]): void;
  /** Drops the entry at `index` and every later one. */
  truncateFrom(index: number): void;
  /**
   * Stores `snapshot` and drops every entry up to its index, as one write (a crash keeps both or
   * neither); later entries stay (the core truncates them first if they conflict). Optional only
   * for a machine that never releases a cursor.
   */
  saveSnapshot?(snapshot: RaftSnapshot): void;
  /**
   * Makes every earlier write durable. It may also just start a sync (group commit), provided
   * the environment then holds every message, reply and query answer it is handed afterwards
   * until the writes are durable.
   */
  sync(): void;
}

/** The environment the core runs in: time, randomness and outgoing traffic. */
export interface RaftEnv<C, R, E> {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Uniform in [0, 1): randomises election timeouts. */
  random(): number;
  /** Hands a message to the transport (which may lose, delay, reorder or repeat it). */
  send(message: RaftMessage<C>): void;
  /** The outcome of a command this server accepted as leader, once applied. */
  reply(ref: unknown, outcome: CommandOutcome<R>): void;
  /** Effects returned by the machine, on the leader. */
  effects?(effects: readonly E[], meta: ApplyMeta): void;
}
