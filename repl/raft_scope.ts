/**
 * The shell's `raft` namespace: replicated state machines with linearizable commands (Raft, with
 * ra's API), with their `h()` docs.
 *
 * @example
 * ```ts
 * import { RAFT_PROVIDER } from "./raft_scope.ts";
 * console.assert("raft.command" in RAFT_PROVIDER.docs);
 * ```
 *
 * @module
 */

import { raft } from "../src/raft/namespace.ts";
import type { Doc } from "./docs.ts";
import type { ScopeProvider } from "./scope.ts";

/** `h()` docs of `raft`. */
export const RAFT_DOCS: Readonly<Record<string, Doc>> = {
  raft: {
    signature: "raft",
    summary: "Raft clusters: a replicated state machine, linearizable commands (as :ra)",
    detail: "Built-in machines: kv (put, cas, delete; get, keys) and lock (acquire, release " +
      "with fencing tokens). A machine is a module with init() and apply(meta, command, state) " +
      "(and optionally query(state, q)), found by name on every member node: load your own " +
      "with --load. Logs are fsynced in the node's --data-dir; a restart resumes its clusters. " +
      "docs/raft.md says when to use Raft rather than CRDTs.",
  },
  "raft.startCluster": {
    signature: "raft.startCluster(name, machine, nodes, { electionTimeoutMs?, heartbeatMs? })",
    summary: "start cluster name running machine (by name) on nodes",
    detail: "Every node must be reachable and have the machine; starting it again with the " +
      "same machine and members is a no-op. Default timings: election 1000 ms, heartbeat 100 ms.",
    example: 'await raft.startCluster("config", "kv", [Node.self(), ...Node.list()])',
  },
  "raft.command": {
    signature: "raft.command(name, command, { timeout? })",
    summary: "run command through the log; the machine's reply once committed",
    detail: "Followers redirect to the leader. The error apply threw is thrown here (the state " +
      "is unchanged). RaftTimeoutError: no reply in time, the outcome is unknown; " +
      "RaftNoQuorumError: no leader; UnknownRaftClusterError: nobody hosts name.",
    example: 'await raft.command("config", ["cas", "mode", undefined, "blue"])',
  },
  "raft.query": {
    signature:
      'raft.query(name, query?, { consistency?: "consistent" | "leader" | "local", node?, timeout? })',
    summary: "read the machine's state, linearizable unless told otherwise",
    detail: "consistent (default) is raft.consistentQuery, leader is raft.leaderQuery, local is " +
      "raft.localQuery (node: which member).",
    example: 'await raft.query("config", ["get", "mode"], { consistency: "local" })',
  },
  "raft.consistentQuery": {
    signature: "raft.consistentQuery(name, query?, { timeout? })",
    summary: "a linearizable read (ReadIndex: the leader confirms it still leads)",
    example: 'await raft.consistentQuery("config", ["get", "mode"])',
  },
  "raft.leaderQuery": {
    signature: "raft.leaderQuery(name, query?)",
    summary: "read the leader's state without a round to the others (may be stale)",
  },
  "raft.localQuery": {
    signature: "raft.localQuery(name, query?, { node? })",
    summary: "read one member's state (node, or this one; possibly stale)",
  },
  "raft.members": {
    signature: "raft.members(name)",
    summary: "{members, learners, leader} of cluster name",
  },
  "raft.leader": { signature: "raft.leader(name)", summary: "the leader node, or null" },
  "raft.addMember": {
    signature: "raft.addMember(name, node)",
    summary: "add node: it catches up as a learner, then votes; resolves once it votes",
    detail: "One change at a time (RaftMembershipError otherwise). The node needs the machine.",
  },
  "raft.removeMember": {
    signature: "raft.removeMember(name, node)",
    summary: "remove node (a leader steps down) and delete its server and log there",
  },
  "raft.transferLeadership": {
    signature: "raft.transferLeadership(name, node)",
    summary: "hand the leadership to member node; resolves once it leads",
  },
  "raft.restartServer": {
    signature: "raft.restartServer(name, node?)",
    summary: "restart the server of name on node (default here) from its log, as after a crash",
  },
  "raft.registerMachine": {
    signature: "raft.registerMachine(name, module)",
    summary: "make a machine module ({init, apply, query?}) available here under name",
  },
  "raft.info": {
    signature: "raft.info()",
    summary: "the clusters this node is a member of: role, term, leader, commit index",
  },
};

/** The `raft` namespace with its docs. */
export const RAFT_PROVIDER: ScopeProvider = {
  title: "raft (replicated state machines)",
  docs: RAFT_DOCS,
  names: () => ({ raft }),
};
