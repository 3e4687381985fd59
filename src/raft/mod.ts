/**
 * Raft consensus (issue 16), so far as a pure core: one {@linkcode RaftServer} is a state
 * machine over injected time, randomness, transport ({@linkcode RaftEnv}) and storage
 * ({@linkcode RaftStorage}), applying committed commands to a user machine shaped like ra's
 * `ra_machine` ({@linkcode RaftMachine}: `init`, `apply(meta, command, state)` returning the new
 * state, a reply and effects).
 *
 * What exists: leader election with pre-vote and randomised timeouts; check-quorum (a leader
 * that has not heard from a majority for an election timeout steps down); log replication with
 * pipelining and batching; commit (entries of the leader's own term, the leader counting itself
 * only once its writes are synced) and in-order apply on every server; a machine whose `apply`
 * throws answers the client with the error and changes no state; linearizable reads through
 * ReadIndex ({@linkcode RaftServer.consistentQuery}), and the cheaper, possibly stale
 * {@linkcode RaftServer.leaderQuery} and `localQuery` (reading
 * {@linkcode RaftServer.machineState}); leader transfer
 * ({@linkcode RaftServer.transferLeadership}). It is checked by a seeded deterministic
 * simulation with a linearizability checker (test/raft/).
 *
 * What does not exist yet: snapshots, log truncation and InstallSnapshot (logs grow without
 * bound); membership changes (the member list is fixed at start); durable storage on disk
 * (`--data-dir`, checksums, a shared write-ahead log); the node service, op codes 128-143 and the `raft.*` API; the example machines
 * and the guide. Nothing here is reachable from `src/mod.ts` yet.
 *
 * @example
 * ```ts
 * import { RaftServer, type RaftMessage } from "./mod.ts";
 * // Three servers over a perfect in-memory network, stepped by hand.
 * const ids = ["a", "b", "c"];
 * let now = 0;
 * const inbox: RaftMessage<string>[] = [];
 * const servers = ids.map((id) =>
 *   new RaftServer(id, {
 *     init: () => [] as string[],
 *     apply: (_meta, cmd: string, s: string[]) => ({ state: [...s, cmd], reply: s.length + 1 }),
 *   }, {
 *     load: () => ({ term: 0, votedFor: null, entries: [] }),
 *     saveMeta() {},
 *     append() {},
 *     truncateFrom() {},
 *     sync() {},
 *   }, {
 *     now: () => now,
 *     random: Math.random,
 *     send: (m) => inbox.push(m),
 *     reply() {},
 *   }, { servers: ids })
 * );
 * const deliver = () => {
 *   while (inbox.length > 0) {
 *     const m = inbox.shift()!;
 *     servers.find((s) => s.id === m.to)!.receive(m);
 *   }
 * };
 * for (let t = 0; t < 1000 && !servers.some((s) => s.role === "leader"); t += 10) {
 *   now = t;
 *   servers.forEach((s) => s.tick());
 *   deliver();
 * }
 * const leader = servers.find((s) => s.role === "leader")!;
 * leader.propose("hello", 1);
 * deliver();
 * console.assert(leader.machineState.join() === "hello");
 * ```
 *
 * @module
 */

export {
  type ProposeResult,
  type QueryOutcome,
  type RaftRole,
  RaftServer,
  type RaftServerOptions,
} from "./raft_server.ts";
export type {
  AppendEntries,
  AppendResponse,
  ApplyMeta,
  ApplyResult,
  CommandOutcome,
  DurableState,
  EntryPayload,
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
