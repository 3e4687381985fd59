/**
 * The Raft service: one per node, hosting this node's server of every Raft group (cluster) it is
 * a member of, with ra's API: `startCluster(name, machine, nodes)`, `command(name, cmd)`,
 * `consistentQuery` / `leaderQuery` / `localQuery`, `members`, `leader`, `transferLeadership`,
 * `restartServer`. The consensus itself is the pure core ({@linkcode RaftServer}); this file gives
 * it timers, a transport over the distribution layer, durable logs and clients.
 *
 * ```
 * startCluster(name, "kv", [A, B, C])   caller --RAFT_CALL start--> A, B, C (each: config.json,
 *                                       log file, a RaftServer) --RAFT_REPLY ok--> caller
 * Raft traffic                          A's servers --RAFT_MSGS [[group, msg]...]--> B
 *                                       (every message for B from one event-loop turn, all
 *                                       groups, in one frame; after the turn's fsync)
 * command(name, cmd)                    client --RAFT_CALL command--> member
 *                                         follower: --RAFT_REPLY not_leader(leader)--> client,
 *                                                   which sends again to the leader
 *                                         leader: appends, replicates, commits, applies
 *                                                 --RAFT_REPLY ok(reply) | error(thrown)--> client
 * consistentQuery(name, q)              as a command, answered by the leader through ReadIndex
 * every 10 ms                           each server ticks (elections, heartbeats, check-quorum)
 * ```
 *
 * Durability (group commit): every group's writes go to the node's one write-ahead log,
 * `<data dir>/raft/wal` ({@linkcode RaftWal}); everything a turn of the event loop produces
 * (messages to peers, replies to clients) is held until the WAL is flushed and fsynced, so nothing
 * leaves the node promising an unsynced write, and all groups and commands of a turn share one
 * fsync. A node started again on the same data directory resumes its groups from their
 * `<data dir>/raft/<group>/config.json` and the WAL (a group whose machine module is not loaded
 * yet waits for it). A group whose records are corrupt stops on this node; the others go on.
 *
 * Failure: a client whose member does not answer tries the others; one that finds members but no
 * leader until its deadline gets {@linkcode RaftNoQuorumError}; a command sent to a leader that
 * does not answer in time (or whose connection drops) gets {@linkcode RaftTimeoutError}, its
 * outcome unknown, and is never sent twice. A name no reachable node hosts is
 * {@linkcode UnknownRaftClusterError}. A malformed frame from a peer is dropped with a logged
 * reason; a machine whose `apply` throws answers that client with the error, and the group goes
 * on with the state unchanged everywhere.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1", dataDir: await Deno.makeTempDir() });
 * await node.raft.startCluster("config", "kv", [node.name]);
 * await node.raft.command("config", ["put", "colour", "blue"]);
 * console.assert(await node.raft.consistentQuery("config", ["get", "colour"]) === "blue");
 * await node.stop();
 * await Deno.remove(node.dataDir, { recursive: true });
 * ```
 *
 * @module
 */

import {
  describeType,
  NoConnectionError,
  RaftMembershipError,
  RaftNoQuorumError,
  RaftTimeoutError,
  ServiceAlreadyRunningError,
  StoreCorruptError,
  UnknownRaftClusterError,
} from "../errors.ts";
import { registerErrorClass } from "../term/codec.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { RAFT_LEADER } from "../telemetry/events.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ProcessContext } from "../process/types.ts";
import type { RpcService } from "../rpc/service.ts";
import { Pid } from "../term/pid.ts";
import { parseNodeName } from "../term/node_name.ts";
import { RaftWal, type RaftWalLog } from "./wal.ts";
import { machineFromModule, type RaftMachineModule } from "./machine_module.ts";
import { BUILTIN_MACHINES } from "./machines/mod.ts";
import { type MembershipOutcome, RaftServer } from "./raft_server.ts";
import type { CommandOutcome, RaftMessage } from "./types.ts";
import {
  decodeRaftMessage,
  encodeRaftMessage,
  OP_RAFT_CALL,
  OP_RAFT_MSGS,
  OP_RAFT_REPLY,
  RAFT_CALL_KINDS,
  RAFT_WIRE_VERSION,
  type RaftCallKind,
  type RaftCallStatus,
} from "./wire.ts";

const log = logger("raft");

// A member's refusal reaches the client as the class it was thrown as.
for (const error of [RaftMembershipError, StoreCorruptError]) registerErrorClass(error);

/** The node context key of the Raft service. */
export const RAFT: ServiceKey<RaftService> = new ServiceKey("raft");

/** Default shortest election timeout, ms (etcd's default: 1000). */
export const DEFAULT_ELECTION_TIMEOUT = 1000;
/** Default heartbeat interval, ms (etcd's default: 100). */
export const DEFAULT_HEARTBEAT = 100;
/** Default timeout of a command or query, ms. */
export const DEFAULT_RAFT_TIMEOUT = 5000;
/** How often every server's timers are advanced, ms. */
const TICK_MS = 10;

/** Options of {@linkcode RaftService}. */
export interface RaftServiceOptions {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node kernel. */
  kernel: NetKernel;
  /** The node's data directory (`--data-dir`): logs live in `<dataDir>/raft/`. */
  dataDir?: string;
  /** The node's rpc service, whose modules can be machines. */
  rpc?: RpcService;
}

/** Options of {@linkcode RaftService.startCluster}. */
export interface StartClusterOptions {
  /** The shortest election timeout T in ms (timeouts are drawn from [T, 2T)). Default 1000. */
  electionTimeoutMs?: number;
  /** How often the leader sends heartbeats, ms; below T. Default 100. */
  heartbeatMs?: number;
  /** How long to wait for every member to start, ms. Default 5000. */
  timeout?: number;
}

/** Options of commands and queries. */
export interface RaftCallOptions {
  /** Milliseconds before {@linkcode RaftTimeoutError} (or {@linkcode RaftNoQuorumError}). Default 5000. */
  timeout?: number;
}

/** Options of {@linkcode RaftService.localQuery}. */
export interface RaftLocalQueryOptions extends RaftCallOptions {
  /** The member to read (default: this node when it is one, else any member). */
  node?: string;
}

/** Options of {@linkcode RaftService.query}. */
export interface RaftQueryOptions extends RaftLocalQueryOptions {
  /**
   * `"consistent"` (default: linearizable, ReadIndex on the leader), `"leader"` (the leader's
   * state without a round to the others) or `"local"` (one member's applied state).
   */
  consistency?: "consistent" | "leader" | "local";
}

/** What {@linkcode RaftService.members} answers. */
export interface RaftMembers {
  /** The voting member nodes. */
  members: string[];
  /** Members still catching up, which do not vote yet (after `addMember`). */
  learners: string[];
  /** The leader as the member asked knows it, or null. */
  leader: string | null;
}

/** One group as this node's server sees it (`raft.info()`). */
export interface RaftGroupInfo {
  /** The group's name. */
  name: string;
  /** The machine module's name. */
  machine: string;
  /** The voting member nodes, as this server knows them. */
  members: string[];
  /** Members catching up, which do not vote yet. */
  learners: string[];
  /** This server's role, or `"waiting"` for its machine module, or `"stopped"` after an error. */
  role: string;
  /** This server's term. */
  term: number;
  /** The leader it follows. */
  leader: string | null;
  /** Its highest committed and applied indexes, and its last log index. */
  commitIndex: number;
  lastApplied: number;
  lastIndex: number;
}

/** What a group is, as kept in its `config.json`. */
interface GroupConfig {
  name: string;
  machine: string;
  /** The first voters; the log (or a snapshot) holds the membership since. */
  members: string[];
  electionTimeoutMs: number;
  heartbeatMs: number;
  /** Started by `addMember`: this server joins a running group and waits for its leader. */
  joining?: boolean;
}

interface Group {
  config: GroupConfig;
  dir: string;
  machine: RaftMachineModule;
  log: RaftWalLog;
  server: RaftServer<unknown, unknown, unknown, unknown>;
  /** The leader last told to telemetry (`weft.raft.leader`), and in which term. */
  seenLeader?: string | null;
  seenTerm?: number;
}

type Answer = [RaftCallStatus | "timeout" | "unreachable" | "lost", unknown];

interface PendingCall {
  node: string;
  resolve: (answer: Answer) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A group's configuration file, in `<data dir>/raft/<group>/`. */
const CONFIG_FILE = "config.json";

/** An effect a machine may return: send `message` to `to` (run by the leader only). */
export interface RaftSendEffect {
  /** Always `"send"`. */
  type: "send";
  /** The receiving process. */
  to: Pid;
  /** The message. */
  message: unknown;
}

/**
 * The Raft service of one node (`node.raft`).
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1", dataDir: await Deno.makeTempDir() });
 * await node.raft.startCluster("locks", "lock", [node.name]);
 * const got = await node.raft.command("locks", ["acquire", "db", "ann"]);
 * console.assert((got as { ok: boolean }).ok);
 * await node.stop();
 * await Deno.remove(node.dataDir, { recursive: true });
 * ```
 */
export class RaftService {
  /** This node's name. */
  readonly node: string;
  #runtime: Runtime;
  #kernel: NetKernel;
  #rpc: RpcService | undefined;
  #dir: string | undefined;
  #machines = new Map<string, RaftMachineModule>();
  #groups = new Map<string, Group>();
  /** Groups found in the data directory whose machine is not loaded yet. */
  #waiting = new Map<string, GroupConfig>();
  #broken = new Map<string, Error>();
  #outbound = new Map<string, unknown[]>();
  /** Leaders' append_entries, which may leave before this turn's fsync. */
  #early = new Map<string, unknown[]>();
  #later: (() => void)[] = [];
  /** The node's write-ahead log, opened with the first group. */
  #wal: RaftWal | undefined;
  #flushScheduled = false;
  #calls = new Map<number, PendingCall>();
  #nextCall = 1;
  #leaders = new Map<string, string>();
  #knownMembers = new Map<string, string[]>();
  #ticker: ReturnType<typeof setInterval>;
  #waitingChecked = 0;
  #ctx: ProcessContext;
  #loop: Promise<void>;
  #stopped = false;

  /**
   * Starts the Raft service of a node (`startNode` does this) and resumes the groups kept in its
   * data directory.
   *
   * @param options the node and its data directory
   * @throws {ServiceAlreadyRunningError} when a Raft service already runs on the node
   */
  constructor(options: RaftServiceOptions) {
    this.#runtime = options.runtime;
    this.#kernel = options.kernel;
    this.#rpc = options.rpc;
    this.node = options.runtime.node;
    if (options.runtime.context.get(RAFT) !== undefined) {
      throw new ServiceAlreadyRunningError(RAFT.name, this.node);
    }
    this.#dir = options.dataDir === undefined ? undefined : `${options.dataDir}/raft`;
    for (const [name, module] of Object.entries(BUILTIN_MACHINES)) {
      this.#machines.set(name, machineFromModule(module)!);
    }
    const kernel = this.#kernel;
    kernel.ops.register("raft", OP_RAFT_MSGS, (node, fields) => this.#onMessages(node, fields));
    kernel.ops.register("raft", OP_RAFT_CALL, (node, fields) => this.#onCall(node, fields));
    kernel.ops.register("raft", OP_RAFT_REPLY, (node, fields) => this.#onReply(node, fields));
    this.#ctx = options.runtime.open({ label: "raft", trapExit: true });
    kernel.monitorNodes(this.#ctx.self, true, { nodeType: "all" });
    this.#loop = this.#watchNodes();
    options.runtime.context.provide(RAFT, this);
    this.#resume();
    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
  }

  // ------------------------------------------------------------------ the API

  /**
   * Makes machine `module` available under `name` on this node (each member node needs it).
   * Modules loaded for rpc (`--load`) are found too, without this.
   *
   * @param name the machine's name
   * @param module an object with `init` and `apply` functions (and optionally `query`)
   * @throws {TypeError} when the name is empty or the module has no `init` and `apply`
   */
  registerMachine(name: string, module: object): void {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`Cannot register Raft machine: the name must be a non-empty string`);
    }
    const machine = machineFromModule(module);
    if (machine === undefined) {
      throw new TypeError(
        `Cannot register Raft machine ${name}: expected an object with init and apply functions, received ${
          describeType(module)
        }`,
      );
    }
    this.#machines.set(name, machine);
  }

  /**
   * Starts a Raft cluster (group) `name` running machine `machine` on `nodes`: each node starts
   * its server and keeps the group in its data directory. Starting it again with the same
   * machine and members is a no-op.
   *
   * @param name the cluster's name
   * @param machine the machine module's name (`"kv"`, `"lock"`, or a module loaded on every node)
   * @param nodes the member nodes (this node need not be one)
   * @param options timings, and how long to wait for the members
   * @returns the members
   * @throws {TypeError} when the name, machine or nodes are malformed, a node lacks the machine,
   *   or the group runs there with another configuration
   * @throws {NoConnectionError} when a node cannot be reached (then no node starts the group)
   */
  async startCluster(
    name: string,
    machine: string,
    nodes: readonly string[],
    options: StartClusterOptions = {},
  ): Promise<RaftMembers> {
    this.#alive("start cluster");
    checkName(name);
    if (typeof machine !== "string" || machine === "") {
      throw new TypeError(
        `Cannot start Raft cluster ${name}: the machine must be a module name (functions do not travel), received ${
          describeType(machine)
        }`,
      );
    }
    if (!Array.isArray(nodes) || nodes.length === 0) {
      throw new TypeError(`Cannot start Raft cluster ${name}: nodes must be a non-empty list`);
    }
    const members = nodes.map((n) => {
      if (typeof n !== "string") {
        throw new TypeError(
          `Cannot start Raft cluster ${name}: a node name must be a string, received ${
            describeType(n)
          }`,
        );
      }
      return stripPort(n);
    });
    if (new Set(members).size !== members.length) {
      throw new TypeError(`Cannot start Raft cluster ${name}: nodes name a member twice`);
    }
    const electionTimeoutMs = options.electionTimeoutMs ?? DEFAULT_ELECTION_TIMEOUT;
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT;
    if (!(heartbeatMs > 0 && electionTimeoutMs > heartbeatMs)) {
      throw new RangeError(
        `Cannot start Raft cluster ${name}: need 0 < heartbeatMs < electionTimeoutMs, received ${heartbeatMs} and ${electionTimeoutMs}`,
      );
    }
    const timeout = options.timeout ?? DEFAULT_RAFT_TIMEOUT;
    // Every node must be reachable before any starts: a group started on a minority would wait
    // for members that never come.
    await Promise.all(nodes.map(async (n, i) => {
      if (members[i] === this.node) return;
      if (!(await this.#reach(n, timeout))) {
        throw new NoConnectionError(
          members[i]!,
          `Cannot start Raft cluster ${name}: node ${n} cannot be reached`,
        );
      }
    }));
    const args = [machine, members, electionTimeoutMs, heartbeatMs];
    const answers = await Promise.all(
      members.map((n) => this.#request(n, name, "start", args, timeout)),
    );
    const failed: string[] = [];
    answers.forEach(([status, value], i) => {
      if (status === "ok") return;
      failed.push(
        `${members[i]}: ${status === "error" ? (value as Error).message : `no answer (${status})`}`,
      );
    });
    if (failed.length > 0) {
      throw new TypeError(`Cannot start Raft cluster ${name}: ${failed.join("; ")}`);
    }
    this.#knownMembers.set(name, members);
    return { members, learners: [], leader: null };
  }

  /**
   * Runs `command` through cluster `name`'s log and returns the machine's reply once it is
   * committed and applied (ra's `process_command`). Sent to the leader (a follower's redirect is
   * followed); never sent twice.
   *
   * @param name the cluster
   * @param command the command (any value that can cross the wire)
   * @param options the timeout
   * @returns the reply of the machine's `apply`
   * @throws the error the machine's `apply` threw (the state is unchanged everywhere)
   * @throws {RaftTimeoutError} when no reply came in time (the outcome is unknown)
   * @throws {RaftNoQuorumError} when members answered but none leads
   * @throws {UnknownRaftClusterError} when no reachable node hosts `name`
   */
  command(name: string, command: unknown, options: RaftCallOptions = {}): Promise<unknown> {
    return this.#route(name, "command", command, options);
  }

  /**
   * A read of cluster `name`'s state, as strong as `options.consistency` asks: linearizable by
   * default ({@linkcode consistentQuery}), else {@linkcode leaderQuery} or {@linkcode localQuery}.
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "q@127.0.0.1", cookie: "c", noEpmd: true, startEpmd: false, dataDir: await Deno.makeTempDir() });
   * await node.raft.startCluster("cfg", "kv", [node.name], { electionTimeoutMs: 150, heartbeatMs: 30 });
   * await node.raft.command("cfg", ["put", "mode", "on"]);
   * console.assert(await node.raft.query("cfg", ["get", "mode"]) === "on");
   * console.assert(await node.raft.query("cfg", ["get", "mode"], { consistency: "local" }) === "on");
   * await node.stop();
   * ```
   * @throws {RangeError} for a consistency that is none of the three
   * @throws {RaftTimeoutError} | {RaftNoQuorumError} | {UnknownRaftClusterError} as `command`
   */
  query(name: string, query?: unknown, options: RaftQueryOptions = {}): Promise<unknown> {
    const { consistency = "consistent", ...rest } = options;
    switch (consistency) {
      case "consistent":
        return this.consistentQuery(name, query, rest);
      case "leader":
        return this.leaderQuery(name, query, rest);
      case "local":
        return this.localQuery(name, query, rest);
      default:
        return Promise.reject(
          new RangeError(
            `Cannot query Raft cluster ${name}: consistency must be "consistent", "leader" or "local", received ${
              JSON.stringify(consistency)
            }`,
          ),
        );
    }
  }

  /**
   * A linearizable read: the leader confirms with a majority that it still leads (ReadIndex),
   * then runs the machine's `query(state, query)` (or, without `query`, answers the state).
   *
   * @throws {RaftTimeoutError} | {RaftNoQuorumError} | {UnknownRaftClusterError} as `command`
   */
  consistentQuery(name: string, query?: unknown, options: RaftCallOptions = {}): Promise<unknown> {
    return this.#route(name, "consistent_query", query, options);
  }

  /**
   * A read on the leader's state without a round to the others: fast, but a leader that was cut
   * off may answer from a stale state until it steps down (ra's `leader_query`).
   */
  leaderQuery(name: string, query?: unknown, options: RaftCallOptions = {}): Promise<unknown> {
    return this.#route(name, "leader_query", query, options);
  }

  /**
   * A read of one member's applied state, possibly stale (ra's `local_query`): `options.node`'s,
   * else this node's when it is a member, else any member's.
   *
   * @throws {UnknownRaftClusterError} when `options.node` does not host `name`
   */
  async localQuery(
    name: string,
    query?: unknown,
    options: RaftLocalQueryOptions = {},
  ): Promise<unknown> {
    if (options.node === undefined) return await this.#route(name, "local_query", query, options);
    const timeout = options.timeout ?? DEFAULT_RAFT_TIMEOUT;
    const node = stripPort(options.node);
    const [status, value] = await this.#request(node, name, "local_query", query, timeout);
    if (status === "ok") return value;
    if (status === "error") throw value;
    if (status === "unknown_cluster") throw new UnknownRaftClusterError(name);
    throw new RaftTimeoutError(name, timeout, `${node} did not answer`);
  }

  /** The members of cluster `name`, and its leader as a member knows it. */
  async members(name: string, options: RaftCallOptions = {}): Promise<RaftMembers> {
    return await this.#route(name, "members", null, options) as RaftMembers;
  }

  /** The leader of cluster `name` (asked of the leader itself), or null when none is known. */
  async leader(name: string, options: RaftCallOptions = {}): Promise<string | null> {
    try {
      return (await this.#route(name, "leader", null, options)) as string;
    } catch (e) {
      if (e instanceof RaftNoQuorumError) return null;
      throw e;
    }
  }

  /**
   * Hands the leadership of cluster `name` to member `target` and waits until it leads.
   *
   * @throws {TypeError} when `target` is not another member
   * @throws {RaftTimeoutError} when `target` does not lead within the timeout
   */
  async transferLeadership(
    name: string,
    target: string,
    options: RaftCallOptions = {},
  ): Promise<void> {
    const timeout = options.timeout ?? DEFAULT_RAFT_TIMEOUT;
    const deadline = Date.now() + timeout;
    const to = stripPort(target);
    await this.#route(name, "transfer", to, options);
    while (Date.now() < deadline) {
      const [status, value] = await this.#request(
        to,
        name,
        "members",
        null,
        Math.max(1, deadline - Date.now()),
      );
      if (status === "ok" && (value as RaftMembers).leader === to) {
        this.#leaders.set(name, to);
        return;
      }
      await pause(20);
    }
    throw new RaftTimeoutError(name, timeout, `${to} did not take over the leadership`);
  }

  /**
   * Adds `node` to cluster `name` (ra's `add_member` and `start_server` in one): starts a server
   * there that joins with an empty log, which the leader brings up to date as a learner (not
   * voting), then makes a voter. Resolves once it votes. One change at a time.
   *
   * @param name the cluster
   * @param node the node to add (it needs the cluster's machine)
   * @returns the members after the change
   * @throws {NoConnectionError} when `node` cannot be reached
   * @throws {RaftMembershipError} when another change is in progress
   * @throws {RaftTimeoutError} | {RaftNoQuorumError} | {UnknownRaftClusterError} as `command`
   */
  async addMember(name: string, node: string, options: RaftCallOptions = {}): Promise<RaftMembers> {
    this.#alive("add member");
    checkName(name);
    const timeout = options.timeout ?? DEFAULT_RAFT_TIMEOUT;
    const target = stripPort(node);
    if (!(await this.#reach(node, timeout))) {
      throw new NoConnectionError(
        target,
        `Cannot add ${node} to Raft cluster ${name}: unreachable`,
      );
    }
    const info = await this.#groupConfig(name, timeout);
    const [status, value] = await this.#request(target, name, "start", [
      info.machine,
      info.members,
      info.electionTimeoutMs,
      info.heartbeatMs,
      true,
    ], timeout);
    if (status === "error") throw value;
    if (status !== "ok") {
      throw new RaftTimeoutError(name, timeout, `${target} did not start its server`);
    }
    return await this.#change(name, "add_member", target, timeout);
  }

  /** A membership change, tried again while an earlier change settles, until the deadline. */
  async #change(
    name: string,
    kind: "add_member" | "remove_member",
    node: string,
    timeout: number,
  ): Promise<RaftMembers> {
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        return await this.#route(name, kind, node, {
          timeout: Math.max(1, deadline - Date.now()),
        }) as RaftMembers;
      } catch (e) {
        if (!(e instanceof RaftMembershipError && e.inProgress) || Date.now() >= deadline) throw e;
        await pause(50);
      }
    }
  }

  /**
   * Removes `node` from cluster `name` (ra's `remove_member`) and, once the change is committed,
   * deletes that node's server and log. Removing the leader makes it step down.
   *
   * @returns the members after the change
   * @throws {RaftMembershipError} when another change is in progress, or `node` is the last voter
   * @throws {RaftTimeoutError} | {RaftNoQuorumError} | {UnknownRaftClusterError} as `command`
   */
  async removeMember(
    name: string,
    node: string,
    options: RaftCallOptions = {},
  ): Promise<RaftMembers> {
    const target = stripPort(node);
    const timeout = options.timeout ?? DEFAULT_RAFT_TIMEOUT;
    const after = await this.#change(name, "remove_member", target, timeout);
    this.#knownMembers.set(name, [...after.members, ...after.learners]);
    if (this.#leaders.get(name) === target) this.#leaders.delete(name);
    // Its server goes; a node that cannot be reached keeps its copy until asked again.
    await this.#request(target, name, "delete", null, options.timeout ?? DEFAULT_RAFT_TIMEOUT);
    return after;
  }

  /** The machine and timings of cluster `name`, from a member. */
  async #groupConfig(name: string, timeout: number): Promise<GroupConfig> {
    const here = this.#groups.get(name);
    if (here !== undefined) return { ...here.config, members: [...here.server.config.voters] };
    const config = await this.#route(name, "config", null, { timeout }) as GroupConfig;
    return config;
  }

  /**
   * Stops and starts again the server of cluster `name` on `node` (default this node), from its
   * log on disk, as after a crash (ra's `restart_server`).
   *
   * @throws {UnknownRaftClusterError} when `node` does not host `name`
   */
  async restartServer(name: string, node?: string, options: RaftCallOptions = {}): Promise<void> {
    const target = node === undefined ? this.node : stripPort(node);
    const [status, value] = await this.#request(
      target,
      name,
      "restart",
      null,
      options.timeout ?? DEFAULT_RAFT_TIMEOUT,
    );
    if (status === "ok") return;
    if (status === "error") throw value;
    if (status === "unknown_cluster") throw new UnknownRaftClusterError(name);
    throw new RaftTimeoutError(
      name,
      options.timeout ?? DEFAULT_RAFT_TIMEOUT,
      `${target} did not answer`,
    );
  }

  /** The groups this node is a member of, as its servers see them. */
  info(): RaftGroupInfo[] {
    const out: RaftGroupInfo[] = [];
    for (const g of this.#groups.values()) {
      const s = g.server;
      out.push({
        name: g.config.name,
        machine: g.config.machine,
        members: [...s.config.voters],
        learners: [...s.config.learners],
        role: s.role,
        term: s.term,
        leader: s.leader,
        commitIndex: s.commitIndex,
        lastApplied: s.lastApplied,
        lastIndex: s.lastIndex,
      });
    }
    for (const c of this.#waiting.values()) {
      out.push({
        name: c.name,
        machine: c.machine,
        members: c.members,
        learners: [],
        role: this.#broken.has(c.name) ? "stopped" : "waiting",
        term: 0,
        leader: null,
        commitIndex: 0,
        lastApplied: 0,
        lastIndex: 0,
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Stops every server of this node (their logs flushed and closed); idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#ticker);
    this.#flush();
    this.#wal?.close();
    this.#groups.clear();
    for (const call of this.#calls.values()) {
      clearTimeout(call.timer);
      call.resolve(["unreachable", null]);
    }
    this.#calls.clear();
    this.#kernel.ops.unregister("raft");
    this.#kernel.monitorNodes(this.#ctx.self, false, { nodeType: "all" });
    this.#runtime.context.remove(RAFT, this);
    this.#ctx.exit("normal");
    await this.#loop;
  }

  // ------------------------------------------------------------------ clients

  /** Sends a request to the member that can answer it, following redirects, until the deadline. */
  async #route(name: string, kind: RaftCallKind, args: unknown, options: RaftCallOptions) {
    this.#alive(kind.replace("_", " "));
    checkName(name);
    const timeout = options.timeout ?? DEFAULT_RAFT_TIMEOUT;
    if (!(typeof timeout === "number" && timeout > 0)) {
      throw new RangeError(`Invalid timeout: must be a positive number of ms, received ${timeout}`);
    }
    const deadline = Date.now() + timeout;
    const reached = new Set<string>();
    const unknown = new Set<string>();
    let target: string | undefined = kind === "local_query" && this.#groups.has(name)
      ? this.node
      : this.#leaders.get(name) ?? (this.#groups.has(name) ? this.node : undefined);
    let turn = 0;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      if (target === undefined) {
        const candidates = this.#candidates(name).filter((n) => !unknown.has(n));
        if (candidates.length === 0) throw new UnknownRaftClusterError(name);
        // A whole round without a leader: give the members time to elect one.
        if (turn > 0 && turn % candidates.length === 0) await pause(Math.min(25, remaining));
        target = candidates[turn++ % candidates.length]!;
        if (Date.now() >= deadline) break;
      }
      const [status, value] = await this.#request(target, name, kind, args, deadline - Date.now());
      switch (status) {
        case "ok":
          if (kind !== "local_query" && kind !== "members") this.#leaders.set(name, target);
          return value;
        case "error":
          throw value;
        case "not_leader": {
          reached.add(target);
          const hint = value as RaftMembers;
          if (Array.isArray(hint?.members)) this.#knownMembers.set(name, hint.members);
          this.#leaders.delete(name);
          target = typeof hint?.leader === "string" && hint.leader !== target
            ? hint.leader
            : undefined;
          break;
        }
        case "unknown_cluster":
          unknown.add(target);
          if (this.#knownMembers.get(name)?.includes(target)) {
            // A member that has not started the group yet (or lost it): ask the others.
            unknown.delete(target);
            reached.add(target);
          }
          if (this.#leaders.get(name) === target) this.#leaders.delete(name);
          target = undefined;
          break;
        case "unreachable":
          if (this.#leaders.get(name) === target) this.#leaders.delete(name);
          target = undefined;
          break;
        case "lost":
        case "timeout":
          if (this.#leaders.get(name) === target) this.#leaders.delete(name);
          if (kind === "command") {
            throw new RaftTimeoutError(
              name,
              timeout,
              status === "lost"
                ? `the connection to ${target} was lost; the outcome is unknown (the command may have been applied)`
                : undefined,
            );
          }
          target = undefined;
          break;
      }
    }
    const members = this.#knownMembers.get(name) ?? this.#membersHere(name);
    if (members !== undefined && reached.size > 0) {
      throw new RaftNoQuorumError(name, [...reached], members);
    }
    throw new RaftTimeoutError(
      name,
      timeout,
      kind === "command" ? undefined : "no member answered",
    );
  }

  /** Who to ask about `name` when no leader is known: its members, else every connected node. */
  #candidates(name: string): string[] {
    const members = this.#membersHere(name) ?? this.#knownMembers.get(name);
    if (members !== undefined) return members;
    return [...new Set([this.node, ...this.#kernel.nodes("visible")])];
  }

  /** One request to one node: resolves with its answer, or why there was none. */
  async #request(
    node: string,
    group: string,
    kind: RaftCallKind,
    args: unknown,
    timeout: number,
  ): Promise<Answer> {
    if (node === this.node) {
      // A proposal whose leader steps down (or is removed) before it commits
      // gets no answer: its outcome is unknown, so the caller's timeout ends
      // the wait here as it does for a remote member.
      return await new Promise<Answer>((resolve) => {
        const timer = setTimeout(() => resolve(["timeout", null]), Math.max(1, timeout));
        this.#handleCall(group, kind, args, (status, value) => {
          clearTimeout(timer);
          resolve([status, value]);
        });
      });
    }
    if (!(await this.#reach(node, timeout))) return ["unreachable", null];
    const id = this.#nextCall++;
    return await new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(id);
        resolve(["timeout", null]);
      }, Math.max(1, timeout));
      this.#calls.set(id, { node, resolve, timer });
      try {
        this.#kernel.sendOp(node, OP_RAFT_CALL, [RAFT_WIRE_VERSION, id, group, kind, args]);
      } catch (e) {
        clearTimeout(timer);
        this.#calls.delete(id);
        reject(e);
      }
    });
  }

  /** Connects to `node` if need be, within `timeout`. */
  async #reach(node: string, timeout: number): Promise<boolean> {
    const bare = stripPort(node);
    if (bare === this.node) return true;
    if (this.#kernel.nodes("all").includes(bare)) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.#kernel.connect(node).catch(() => false),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), timeout)),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sent by a member node answering one of this node's RAFT_CALLs. */
  #onReply(node: string, fields: unknown[]): void {
    const [id, status, value] = fields;
    const call = typeof id === "number" ? this.#calls.get(id) : undefined;
    if (call === undefined || call.node !== node) return;
    this.#calls.delete(id as number);
    clearTimeout(call.timer);
    call.resolve([status as RaftCallStatus, value]);
  }

  async #watchNodes(): Promise<void> {
    try {
      for (;;) {
        const msg = await this.#ctx.receive() as { type?: string; node?: string };
        if (msg?.type !== "nodedown" || typeof msg.node !== "string") continue;
        for (const [id, call] of this.#calls) {
          if (call.node !== msg.node) continue;
          this.#calls.delete(id);
          clearTimeout(call.timer);
          call.resolve(["lost", null]);
        }
        for (const [group, leader] of this.#leaders) {
          if (leader === msg.node) this.#leaders.delete(group);
        }
        // A follower of a server on the lost node stands for election soon.
        for (const group of this.#groups.values()) group.server.peerLost(msg.node);
        this.#scheduleFlush();
      }
    } catch {
      // The service stopped (its process exited).
    }
  }

  // ------------------------------------------------------------------ members

  /** Sent by a client node (`#request`): one request about one group. */
  #onCall(node: string, fields: unknown[]): void {
    const [v, id, group, kind, args] = fields;
    if (v !== RAFT_WIRE_VERSION || typeof id !== "number" || typeof group !== "string") return;
    const respond = (status: RaftCallStatus, value: unknown) => {
      try {
        this.#kernel.sendOp(node, OP_RAFT_REPLY, [id, status, value]);
      } catch (e) {
        // A reply that cannot cross the wire (the machine answered a function): say so.
        this.#kernel.sendOp(node, OP_RAFT_REPLY, [id, "error", e]);
      }
    };
    if (typeof kind !== "string" || !RAFT_CALL_KINDS.has(kind)) {
      respond("error", new TypeError(`Unknown Raft request: ${String(kind)}`));
      return;
    }
    this.#handleCall(group, kind as RaftCallKind, args, respond);
  }

  /**
   * Serves one request about `name` for a client here or on another node; `respond` runs once,
   * after the turn's logs are synced.
   */
  #handleCall(
    name: string,
    kind: RaftCallKind,
    args: unknown,
    respond: (status: RaftCallStatus, value: unknown) => void,
  ): void {
    const answer = (status: RaftCallStatus, value: unknown) =>
      this.#release(() => respond(status, value));
    if (this.#stopped) return answer("unknown_cluster", null);
    if (kind === "start") {
      try {
        const [machine, members, electionTimeoutMs, heartbeatMs, joining] = args as [
          string,
          string[],
          number,
          number,
          boolean | undefined,
        ];
        this.#startLocal({
          name,
          machine,
          members,
          electionTimeoutMs,
          heartbeatMs,
          ...(joining === true ? { joining } : {}),
        });
        return answer("ok", null);
      } catch (e) {
        return answer("error", e);
      }
    }
    const group = this.#groups.get(name);
    if (group === undefined) {
      const broken = this.#broken.get(name);
      return broken === undefined ? answer("unknown_cluster", null) : answer("error", broken);
    }
    const server = group.server;
    const notLeader = (leader: string | null) =>
      answer("not_leader", { leader, members: allMembers(server) });
    try {
      switch (kind) {
        case "command": {
          const ref = (outcome: CommandOutcome<unknown>) =>
            respond(
              outcome.state === "ok" ? "ok" : "error",
              outcome.state === "ok" ? outcome.reply : outcome.error,
            );
          const r = server.propose(args, ref);
          if (r.state === "not_leader") notLeader(r.leader);
          return;
        }
        case "consistent_query":
          server.consistentQuery((o) => {
            if (o.state !== "ok") return notLeader(o.leader);
            try {
              answer("ok", runQuery(group, o.machineState, args));
            } catch (e) {
              answer("error", e);
            }
          });
          return;
        case "leader_query": {
          const o = server.leaderQuery();
          if (o.state !== "ok") return notLeader(o.leader);
          return answer("ok", runQuery(group, o.machineState, args));
        }
        case "leader":
          if (server.role !== "leader") return notLeader(server.leader);
          return answer("ok", this.node);
        case "local_query":
          return answer("ok", runQuery(group, server.machineState, args));
        case "members":
          return answer("ok", {
            members: [...server.config.voters],
            learners: [...server.config.learners],
            leader: server.leader,
          });
        case "config":
          return answer("ok", { ...group.config, members: [...server.config.voters] });
        case "add_member":
        case "remove_member": {
          if (typeof args !== "string") throw new TypeError(`Cannot change members: no node`);
          const done = (o: MembershipOutcome) => {
            switch (o.state) {
              case "ok":
                return answer("ok", {
                  members: [...o.config.voters],
                  learners: [...o.config.learners],
                  leader: this.node,
                });
              case "not_leader":
                return notLeader(o.leader);
              case "change_in_progress":
                return answer(
                  "error",
                  new RaftMembershipError(name, "another change is in progress", true),
                );
              case "rejected":
                return answer("error", new RaftMembershipError(name, o.reason));
            }
          };
          if (kind === "add_member") server.addMember(args, done);
          else server.removeMember(args, done);
          return;
        }
        case "delete":
          this.#deleteLocal(group);
          return answer("ok", null);
        case "transfer": {
          if (typeof args !== "string") {
            throw new TypeError("Cannot transfer leadership: no target");
          }
          if (!server.transferLeadership(args)) return notLeader(server.leader);
          return answer("ok", null);
        }
        case "restart":
          this.#restartLocal(group);
          return answer("ok", null);
      }
    } catch (e) {
      answer("error", e);
    }
  }

  /** Starts (or finds running) this node's server of a group, and keeps its configuration. */
  #startLocal(config: GroupConfig): void {
    checkName(config.name);
    if (
      !Array.isArray(config.members) || !config.joining && !config.members.includes(this.node)
    ) {
      throw new TypeError(`Cannot start Raft cluster ${config.name}: ${this.node} is not a member`);
    }
    for (const m of config.members) parseNodeName(m);
    const running = this.#groups.get(config.name);
    if (running !== undefined) {
      if (sameConfig(running.config, config)) return;
      throw new TypeError(
        `Cannot start Raft cluster ${config.name}: it runs on ${this.node} with machine ${running.config.machine} and members ${
          running.config.members.join(", ")
        }`,
      );
    }
    if (this.#dir === undefined) {
      throw new TypeError(
        `Cannot start Raft cluster ${config.name}: ${this.node} has no data directory`,
      );
    }
    const machine = this.#machine(config.machine);
    if (machine === undefined) {
      throw new TypeError(
        `Cannot start Raft cluster ${config.name}: node ${this.node} has no machine ${config.machine} (register it with raft.registerMachine, or load a module exporting init and apply with --load)`,
      );
    }
    const dir = `${this.#dir}/${encodeURIComponent(config.name)}`;
    Deno.mkdirSync(dir, { recursive: true });
    const tmp = `${dir}/${CONFIG_FILE}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(config));
    Deno.renameSync(tmp, `${dir}/${CONFIG_FILE}`);
    this.#open(config, dir, machine);
  }

  #open(config: GroupConfig, dir: string, machine: RaftMachineModule): void {
    this.#wal ??= RaftWal.open(this.#dir!);
    const groupLog = this.#wal.log(config.name, () => this.#scheduleFlush());
    const group: Group = {
      config,
      dir,
      machine,
      log: groupLog,
      server: this.#server(config, machine, groupLog),
    };
    this.#groups.set(config.name, group);
    this.#waiting.delete(config.name);
    log.info("Raft cluster {name}: server started on {node} ({entries} entries in its log)", {
      name: config.name,
      node: this.node,
      entries: group.server.lastIndex,
    });
  }

  #server(config: GroupConfig, machine: RaftMachineModule, groupLog: RaftWalLog) {
    const name = config.name;
    return new RaftServer<unknown, unknown, unknown, unknown>(this.node, machine, groupLog, {
      now: () => performance.now(),
      random: Math.random,
      send: (m) => this.#queue(m.to, name, m),
      reply: (ref, outcome) =>
        this.#release(() => (ref as (o: CommandOutcome<unknown>) => void)(outcome)),
      effects: (effects) => this.#release(() => this.#runEffects(name, effects)),
    }, {
      servers: config.joining ? [] : config.members,
      electionTimeoutMs: config.electionTimeoutMs,
      heartbeatMs: config.heartbeatMs,
    });
  }

  /** Every member (voters and learners) of `name` as this node's server knows them. */
  #membersHere(name: string): string[] | undefined {
    const group = this.#groups.get(name);
    const members = group === undefined ? [] : allMembers(group.server);
    // A server that joins knows no member until the leader reaches it.
    return members.length === 0 ? undefined : members;
  }

  /** Drops this node's server of a group it was removed from, with its log and configuration. */
  #deleteLocal(group: Group): void {
    this.#flush();
    this.#groups.delete(group.config.name);
    this.#wal?.forget(group.config.name);
    this.#scheduleFlush();
    Deno.removeSync(group.dir, { recursive: true });
    log.info("Raft cluster {name}: server on {node} deleted (removed from the cluster)", {
      name: group.config.name,
      node: this.node,
    });
  }

  #restartLocal(group: Group): void {
    // Flushed, the group's log in the WAL holds exactly what is on disk: a restart reads it back.
    this.#flush();
    group.server = this.#server(group.config, group.machine, group.log);
  }

  #machine(name: string): RaftMachineModule | undefined {
    const own = this.#machines.get(name);
    if (own !== undefined) return own;
    const rpc = this.#rpc;
    if (rpc === undefined || !rpc.policy.allows(name, "apply")) return undefined;
    const module: Record<string, unknown> = {};
    for (const fn of ["init", "apply", "query", "encodeState", "decodeState"]) {
      const found = rpc.lookup(name, fn);
      if (found.kind === "found") module[fn] = found.fn;
    }
    return machineFromModule(module);
  }

  #runEffects(name: string, effects: readonly unknown[]): void {
    for (const effect of effects) {
      const e = effect as RaftSendEffect;
      if (e?.type === "send" && e.to instanceof Pid) {
        this.#runtime.send(e.to, e.message);
      } else {
        log.warning("Raft cluster {name}: ignored an effect it does not know: {effect}", {
          name,
          effect,
        });
      }
    }
  }

  /** Resumes the groups kept in the data directory. */
  #resume(): void {
    if (this.#dir === undefined) return;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(this.#dir)];
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const entry of entries) {
      if (!entry.isDirectory) continue;
      const dir = `${this.#dir}/${entry.name}`;
      let config: GroupConfig;
      try {
        config = JSON.parse(Deno.readTextFileSync(`${dir}/${CONFIG_FILE}`));
      } catch {
        continue;
      }
      this.#waiting.set(config.name, config);
    }
    this.#startWaiting();
  }

  #startWaiting(): void {
    for (const config of [...this.#waiting.values()]) {
      if (this.#broken.has(config.name)) continue;
      const machine = this.#machine(config.machine);
      if (machine === undefined) continue;
      try {
        this.#open(config, `${this.#dir}/${encodeURIComponent(config.name)}`, machine);
      } catch (e) {
        this.#broken.set(config.name, e as Error);
        log.error("Raft cluster {name} cannot start on {node}: {error}", {
          name: config.name,
          node: this.node,
          error: (e as Error).message,
        });
      }
    }
  }

  // ------------------------------------------------------------------ Raft traffic

  /** Sent by another node's servers: their Raft messages for this node's servers. */
  #onMessages(node: string, fields: unknown[]): void {
    const [v, batch] = fields;
    if (v !== RAFT_WIRE_VERSION || !Array.isArray(batch)) return;
    for (const item of batch) {
      try {
        const [name, wire] = item as [string, unknown];
        const group = this.#groups.get(name);
        if (group === undefined) continue;
        const m = decodeRaftMessage<unknown>(wire);
        // A server speaks for its own node only.
        if (m.from !== node) continue;
        group.server.receive(m);
        this.#leaderChanged(group);
      } catch (e) {
        log.warning("Raft: dropped a message from {node}: {why}", {
          node,
          why: (e as Error).message,
        });
      }
    }
  }

  #queue(node: string, group: string, m: RaftMessage<unknown>): void {
    // A leader's append_entries promises nothing about its own disk (it counts itself towards a
    // commit only once its writes are synced, a later turn), so it may leave before the fsync:
    // the followers write while the leader does (Raft thesis §10.2.1).
    const into = m.type === "append_entries" ? this.#early : this.#outbound;
    let out = into.get(node);
    if (out === undefined) into.set(node, out = []);
    out.push([group, encodeRaftMessage(m)]);
    this.#scheduleFlush();
  }

  /** Runs `fn` once this turn's writes are on disk. */
  #release(fn: () => void): void {
    this.#later.push(fn);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /**
   * Ends a turn: sends the leaders' append_entries, then (once the connections have taken them)
   * fsyncs every log written, then sends the other messages and runs the replies.
   */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#early.size > 0) {
      this.#send(this.#early);
      this.#early = new Map();
      if (this.#wal?.dirty) {
        // The connections write in a microtask of their own: let them go first.
        this.#flushScheduled = true;
        queueMicrotask(() => this.#sync());
        return;
      }
    }
    this.#sync();
  }

  /** Fsyncs the write-ahead log if written, then sends what depends on it and runs the replies. */
  #sync(): void {
    this.#flushScheduled = false;
    const wal = this.#wal;
    if (wal?.dirty) {
      try {
        wal.flush();
      } catch (e) {
        // Nothing of this turn may leave: the writes it promises are not on disk.
        log.error("Raft log {path} cannot be written: {error}", {
          path: wal.path,
          error: (e as Error).message,
        });
        this.#outbound.clear();
        this.#early.clear();
        this.#later = [];
        return;
      }
    }
    this.#send(this.#early);
    this.#early = new Map();
    this.#send(this.#outbound);
    this.#outbound = new Map();
    const later = this.#later;
    this.#later = [];
    for (const fn of later) {
      try {
        fn();
      } catch (e) {
        log.warning("Raft: a reply failed: {why}", { why: (e as Error).message });
      }
    }
  }

  #send(outbound: Map<string, unknown[]>): void {
    for (const [node, batch] of outbound) {
      try {
        this.#kernel.sendOp(node, OP_RAFT_MSGS, [RAFT_WIRE_VERSION, batch]);
      } catch (e) {
        log.warning("Raft: cannot send to {node}: {why}", { node, why: (e as Error).message });
      }
    }
  }

  #tick(): void {
    for (const group of this.#groups.values()) {
      try {
        group.server.tick();
        this.#leaderChanged(group);
      } catch (e) {
        log.error("Raft cluster {name} failed: {error}", {
          name: group.config.name,
          error: (e as Error).message,
        });
      }
    }
    if (this.#waiting.size > 0 && Date.now() - this.#waitingChecked > 1000) {
      this.#waitingChecked = Date.now();
      this.#startWaiting();
    }
  }

  /** Tells telemetry when a group's leader (as this member sees it) changed. */
  #leaderChanged(group: Group): void {
    const ev = this.#runtime.telemetry.event(RAFT_LEADER);
    if (!ev.attached) return;
    const leader = group.server.leader;
    const term = group.server.term;
    if (leader === group.seenLeader && term === group.seenTerm) return;
    if (leader === group.seenLeader && leader === null) return;
    group.seenLeader = leader;
    group.seenTerm = term;
    ev.emit({ term }, { node: this.node, cluster: group.config.name, leader });
  }

  #alive(what: string): void {
    if (this.#stopped) {
      throw new TypeError(`Cannot ${what}: the Raft service of ${this.node} is stopped`);
    }
  }
}

/**
 * The Raft service of a node (`node.raft`).
 *
 * @param runtime the node's runtime
 * @throws {ServiceNotRunningError} when none runs there
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { raftOf } from "./raft_service.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(raftOf(node.runtime) === node.raft);
 * await node.stop();
 * ```
 */
export function raftOf(runtime: Runtime): RaftService {
  return runtime.context.require(RAFT);
}

function allMembers(server: RaftServer<unknown, unknown, unknown, unknown>): string[] {
  return [...server.config.voters, ...server.config.learners];
}

function runQuery(group: Group, state: unknown, query: unknown): unknown {
  if (group.machine.query !== undefined) return group.machine.query(state, query);
  if (query !== undefined && query !== null) {
    throw new TypeError(
      `Cannot query Raft cluster ${group.config.name}: machine ${group.config.machine} has no query function (query with no argument for the whole state)`,
    );
  }
  return state;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name === "" || name.length > 200) {
    throw new TypeError(
      `Invalid Raft cluster name: expected a non-empty string of at most 200 characters, received ${
        describeType(name)
      }`,
    );
  }
}

function stripPort(node: string): string {
  return parseNodeName(node).full;
}

function sameConfig(a: GroupConfig, b: GroupConfig): boolean {
  return a.machine === b.machine && a.members.join() === b.members.join() &&
    a.electionTimeoutMs === b.electionTimeoutMs && a.heartbeatMs === b.heartbeatMs;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
