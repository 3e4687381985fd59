/**
 * Raft consensus (issue 16): replicated state machines with linearizable commands, with ra's API.
 *
 * The node service ({@linkcode RaftService}, `node.raft`, and the `raft` namespace for processes
 * and the shell) hosts this node's server of every group it is a member of:
 * `raft.startCluster(name, "kv", nodes)`, `raft.command(name, cmd, {timeout})` (redirects to the
 * leader followed; {@linkcode RaftTimeoutError}, {@linkcode RaftNoQuorumError},
 * {@linkcode UnknownRaftClusterError}), `consistentQuery` (ReadIndex), `leaderQuery`,
 * `localQuery`, `members`, `leader`, `transferLeadership`, `restartServer`. Logs live in the
 * node's data directory, every group in one write-ahead log ({@linkcode RaftWal}: checksummed
 * records, fsynced before anything that depends on them leaves the node, one fsync per event-loop
 * turn for all groups); a node started again on the same directory resumes its groups. Machines are modules found by name on every node:
 * the built-in `kv` (compare-and-set) and `lock` (fencing tokens), or a module loaded for rpc.
 *
 * Under it, the pure core: one {@linkcode RaftServer} is a state machine over injected time,
 * randomness, transport ({@linkcode RaftEnv}) and storage ({@linkcode RaftStorage}), applying
 * committed commands to a machine shaped like ra's `ra_machine` ({@linkcode RaftMachine}:
 * `init`, `apply(meta, command, state)` returning the new state, a reply and effects): election
 * with pre-vote and randomised timeouts, check-quorum, pipelined batched replication, ReadIndex
 * reads, leader transfer; snapshots where the machine releases its cursor (`releaseCursor` in
 * {@linkcode ApplyResult}, ra's `release_cursor`), which truncate the log, and their chunked
 * install on a follower behind them; membership changes one server at a time
 * ({@linkcode RaftServer.addMember}, {@linkcode RaftServer.removeMember}), a new member catching
 * up as a learner before it votes. It is checked by a seeded deterministic simulation with a
 * linearizability checker (test/raft/).
 *
 * A machine that releases its cursor has its snapshots kept in the node's WAL in place of the
 * log, and a member behind them is sent the snapshot. Not there yet in the service:
 * `addMember` / `removeMember` (the core has them; the service's member list is fixed at start).
 *
 * @example
 * ```ts
 * import { RaftServer, type RaftMessage } from "./mod.ts";
 * // Three servers of the pure core over a perfect in-memory network, stepped by hand.
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
  type MembershipOutcome,
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
export {
  DEFAULT_ELECTION_TIMEOUT,
  DEFAULT_HEARTBEAT,
  DEFAULT_RAFT_TIMEOUT,
  RAFT,
  type RaftCallOptions,
  type RaftGroupInfo,
  type RaftLocalQueryOptions,
  type RaftMembers,
  raftOf,
  type RaftQueryOptions,
  type RaftSendEffect,
  RaftService,
  type RaftServiceOptions,
  type StartClusterOptions,
} from "./raft_service.ts";
export { raft, type RaftNamespace } from "./namespace.ts";
export { machineFromModule, type RaftMachineModule } from "./machine_module.ts";
export { crc32, RaftWal, RaftWalLog, type RaftWalOptions, WAL_FILE } from "./wal.ts";
export * from "./machines/mod.ts";
export * from "./wire.ts";
