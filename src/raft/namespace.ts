/**
 * `raft`: the Raft service of the node of the calling process, as the shell and user code call
 * it (`raft.command("config", ["put", "k", 1])`). Each function finds the node's service when
 * called, so the same code works at the prompt, in spawned processes, in `--eval` and `--script`.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { raft } from "./namespace.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1", dataDir: await Deno.makeTempDir() });
 * await runInProcess(node.runtime.open(), async () => {
 *   await raft.startCluster("counter", "kv", [node.name]);
 *   await raft.command("counter", ["put", "n", 1]);
 *   console.assert((await raft.consistentQuery("counter", ["get", "n"])) === 1);
 * });
 * await node.stop();
 * await Deno.remove(node.dataDir, { recursive: true });
 * ```
 *
 * @module
 */

import { current } from "../process/current.ts";
import {
  type RaftCallOptions,
  type RaftGroupInfo,
  type RaftLocalQueryOptions,
  type RaftMembers,
  raftOf,
  type RaftQueryOptions,
  type StartClusterOptions,
} from "./raft_service.ts";

/** The shape of {@linkcode raft}. */
export interface RaftNamespace {
  /** Starts cluster `name` running machine `machine` on `nodes`; see `RaftService.startCluster`. */
  startCluster(
    name: string,
    machine: string,
    nodes: readonly string[],
    options?: StartClusterOptions,
  ): Promise<RaftMembers>;
  /** Runs a command through the cluster's log; the machine's reply. */
  command(name: string, command: unknown, options?: RaftCallOptions): Promise<unknown>;
  /** A read as strong as `options.consistency` (default: linearizable); see `RaftService.query`. */
  query(name: string, query?: unknown, options?: RaftQueryOptions): Promise<unknown>;
  /** A linearizable read (ReadIndex on the leader). */
  consistentQuery(name: string, query?: unknown, options?: RaftCallOptions): Promise<unknown>;
  /** A read of the leader's state, without a round to the others. */
  leaderQuery(name: string, query?: unknown, options?: RaftCallOptions): Promise<unknown>;
  /** A read of one member's state (`options.node`, or this node's when it is a member). */
  localQuery(name: string, query?: unknown, options?: RaftLocalQueryOptions): Promise<unknown>;
  /** The members, and the leader as a member knows it. */
  members(name: string, options?: RaftCallOptions): Promise<RaftMembers>;
  /** The leader, or null. */
  leader(name: string, options?: RaftCallOptions): Promise<string | null>;
  /** Hands the leadership to `target` and waits until it leads. */
  transferLeadership(name: string, target: string, options?: RaftCallOptions): Promise<void>;
  /** Adds `node` to the cluster (a learner that catches up, then a voter). */
  addMember(name: string, node: string, options?: RaftCallOptions): Promise<RaftMembers>;
  /** Removes `node` from the cluster and deletes its server there. */
  removeMember(name: string, node: string, options?: RaftCallOptions): Promise<RaftMembers>;
  /** Restarts the server of `name` on `node` (default this node) from its log. */
  restartServer(name: string, node?: string, options?: RaftCallOptions): Promise<void>;
  /** Makes a machine module available on this node under `name`. */
  registerMachine(name: string, module: object): void;
  /** The groups this node is a member of. */
  info(): RaftGroupInfo[];
}

function here() {
  return raftOf(current().runtime);
}

/**
 * The Raft service of the calling process's node.
 *
 * @example
 * ```ts
 * import { raft } from "./namespace.ts";
 * console.assert(typeof raft.command === "function");
 * ```
 */
export const raft: RaftNamespace = Object.freeze({
  startCluster: (
    name: string,
    machine: string,
    nodes: readonly string[],
    options?: StartClusterOptions,
  ) => here().startCluster(name, machine, nodes, options),
  command: (name: string, command: unknown, options?: RaftCallOptions) =>
    here().command(name, command, options),
  query: (name: string, query?: unknown, options?: RaftQueryOptions) =>
    here().query(name, query, options),
  consistentQuery: (name: string, query?: unknown, options?: RaftCallOptions) =>
    here().consistentQuery(name, query, options),
  leaderQuery: (name: string, query?: unknown, options?: RaftCallOptions) =>
    here().leaderQuery(name, query, options),
  localQuery: (name: string, query?: unknown, options?: RaftLocalQueryOptions) =>
    here().localQuery(name, query, options),
  members: (name: string, options?: RaftCallOptions) => here().members(name, options),
  leader: (name: string, options?: RaftCallOptions) => here().leader(name, options),
  transferLeadership: (name: string, target: string, options?: RaftCallOptions) =>
    here().transferLeadership(name, target, options),
  addMember: (name: string, node: string, options?: RaftCallOptions) =>
    here().addMember(name, node, options),
  removeMember: (name: string, node: string, options?: RaftCallOptions) =>
    here().removeMember(name, node, options),
  restartServer: (name: string, node?: string, options?: RaftCallOptions) =>
    here().restartServer(name, node, options),
  registerMachine: (name: string, module: object) => here().registerMachine(name, module),
  info: () => here().info(),
});
