/**
 * A distributed dynamic supervisor, as Horde.DynamicSupervisor: started
 * with the same name on every member node, it places each child on one
 * member by a distribution strategy, restarts the children of a lost
 * member on the survivors, and hands children over with their state when
 * a member shuts down cleanly (Swarm's begin/end handoff).
 *
 * Children are started from modules the nodes have loaded (`--load`,
 * `registerModule`): a spec names `module`, `function` and `args`, since a
 * function cannot travel between nodes. The function runs in the member's
 * supervisor process and returns the child's pid (`GenServer.startLink`).
 *
 * ```
 * startChild(spec) on A   check the spec, the quorum, that every live member has
 *                         module.function; place: home = strategy(id, live members)
 *   home is A:            start it here, link it, write record c<id> -> {spec, pid}
 *   home is B:            A ---- dsup_start {spec} ----> B's server: starts it, writes
 *                         A <--- dsup_started {pid} | {error} ---
 * a child exits           restarted here by its restart type (permanent, transient,
 *                         temporary), at most maxRestarts in maxSeconds
 * member C is lost        each survivor, for each record of C with no live copy
 *                         elsewhere: home = ring(id, live members); the home starts it
 *                         (every survivor computes the same home: one restart each)
 * C stops cleanly         C: member left; for each child: call {handoff: "begin"} ->
 *                         state; stop it; record -> {pid: null, to: B};
 *                         C ---- dsup_start {spec, state} ----> B: started, then
 *                         cast {handoff: "end", state}; C removes its record
 * heal, same id on A & B  the pid ranked first (compareHolders) stays; the other's
 *                         node hands its state over and stops it (no restart)
 * ```
 *
 * With `rebalance: true`, a member that joins gets the children whose home
 * it now is (by the ring or uniform hash), handed over with their state.
 *
 * Quorum mode (`quorum: true`): a node that does not see a majority of the
 * members starts nothing, and stops (parks) its children at once; the
 * majority restarts them only after `quorumDelay` ms, so the two sides of
 * a split never run one child at the same time. Parked records come back
 * to life on the majority side, and are dropped by their node once it sees
 * a live copy.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { GenServer } from "../otp/gen_server.ts";
 * class Echo extends GenServer<null, undefined> {
 *   override init() { return { ok: null }; }
 * }
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * node.rpc.registerModule("echo", { start: () => GenServer.startLink(Echo, undefined) });
 * const sup = node.distributed.supervisor("echoes");
 * const pid = await sup.startChild({ id: "e1", module: "echo", function: "start" });
 * console.assert(sup.whichChildren()[0]?.pid.equals(pid));
 * await node.stop();
 * ```
 *
 * @module
 */

import { describeType, KeyTakenError, NoQuorumError, UndefinedFunctionError } from "../errors.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { isCleanExit } from "../otp/_reason.ts";
import { runInProcess } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ExitMessage, ProcessContext } from "../process/types.ts";
import type { Replicator } from "../replicator/replicator.ts";
import type { RpcService } from "../rpc/service.ts";
import { Pid, Ref } from "../term/pid.ts";
import { type FieldChange, MEMBER_FIELD, NodeTables } from "./_node_tables.ts";
import { checkMembers, compareHolders, handoff, handoffEnd, quorumOf } from "./dist_registry.ts";
import {
  checkStrategy,
  type DistributionStrategy,
  type HashRing,
  hashRing,
  placeChild,
} from "./distribution_strategy.ts";

const log = logger("distributed");

/** Milliseconds between two checks of the modules this member can start children with. */
const ANNOUNCE_INTERVAL = 1000;
/**
 * Milliseconds after a peer comes up during which parked records are not
 * adopted: the peer's records (perhaps a live copy of each) are still on
 * their way by anti-entropy.
 */
const SETTLE_AFTER_UP = 3000;
/**
 * Milliseconds between two sweeps over this node's children and the
 * records of lost members: a conflict or an orphan whose first check
 * failed (a winner that did not answer in time) is looked at again.
 */
const SWEEP_INTERVAL = 2000;
/** Milliseconds of still membership before a rebalance. */
const REBALANCE_DELAY = 1000;

/** A child of a distributed supervisor: started by `module.function(...args)` on its home. */
export interface DistChildSpec {
  /** The child's id, unique within the supervisor across the cluster. */
  id: string;
  /** A module every member has loaded. */
  module: string;
  /** Its function that starts the child and returns its pid. */
  function: string;
  /** The arguments (anything that can cross the wire). Default `[]`. */
  args?: unknown[];
  /** `"permanent"` (default), `"transient"` or `"temporary"`. */
  restart?: "permanent" | "transient" | "temporary";
  /** Milliseconds a child has to stop on `"shutdown"` before it is killed. Default 5000. */
  shutdown?: number;
}

/** Options of a distributed supervisor (`node.distributed.supervisor(name, options)`). */
export interface DistSupervisorOptions {
  /** How children are placed. Default `"ring"`. */
  strategy?: DistributionStrategy;
  /** `"auto"` (every node running the supervisor, default) or a list of node names. */
  members?: "auto" | readonly string[];
  /** Only a side with a majority of the members runs children during a split. Default `false`. */
  quorum?: boolean;
  /** In quorum mode, milliseconds before a lost member's children restart. Default 2000. */
  quorumDelay?: number;
  /** Restarts of one child allowed in `maxSeconds` before it is given up. Default 3. */
  maxRestarts?: number;
  /** The window of `maxRestarts`, in seconds. Default 5. */
  maxSeconds?: number;
  /** Milliseconds a child has to answer `{handoff: "begin"}`. Default 5000. */
  handoffTimeout?: number;
  /**
   * When a member joins, move the children whose home (by the `"ring"` or
   * `"uniform"` strategy) is now the new member, with their state. Default `false`.
   */
  rebalance?: boolean;
}

/** One child as `whichChildren` lists it. */
export interface DistChildInfo {
  /** Its id. */
  id: string;
  /** Its pid. */
  pid: Pid;
  /** The node it runs on. */
  node: string;
}

/** A record of a child in its node's map. */
interface ChildRecord {
  spec: DistChildSpec;
  /** The running process; `null` while parked or handed over. */
  pid: Pid | null;
  /** Handed over to this node (a clean shutdown). */
  to?: string;
}

interface LocalChild {
  spec: DistChildSpec;
  pid: Pid;
  restarts: number[];
  /** Set while this node stops it on purpose: no restart. */
  stopping?: boolean;
}

/** The requests between the members' servers. */
type Request =
  /** Start a child here (sent by the member where startChild was called, or a leaving one). */
  | { type: "dsup_start"; ref: Ref; from: Pid; spec: DistChildSpec; state?: { value: unknown } }
  /** Stop a child of this node (sent by terminateChild elsewhere). */
  | { type: "dsup_terminate"; ref: Ref; from: Pid; id: string };

/** The answer to a request. */
interface Reply {
  type: "dsup_reply";
  ref: Ref;
  pid?: Pid;
  error?: { name: string; message: string; holder?: Pid; node?: string };
}

/**
 * Checks a child spec.
 *
 * @throws {TypeError} when a field is missing or malformed
 */
export function checkChildSpec(spec: unknown, what: string): DistChildSpec {
  const s = spec as Partial<DistChildSpec>;
  const fail = (why: string) => {
    throw new TypeError(`Cannot ${what}: ${why}`);
  };
  if (typeof spec !== "object" || spec === null) {
    fail(`a child spec must be an object, received ${describeType(spec)}`);
  }
  if (typeof s.id !== "string" || s.id === "") {
    fail(`child id must be a non-empty string, received ${describeType(s.id)}`);
  }
  if (typeof s.module !== "string" || typeof s.function !== "string") {
    fail(
      `child ${s.id} needs module and function names (functions cannot travel between nodes), received ${
        describeType(s.module)
      } and ${describeType(s.function)}`,
    );
  }
  if (s.args !== undefined && !Array.isArray(s.args)) {
    fail(`child ${s.id} args must be an array, received ${describeType(s.args)}`);
  }
  const restart = s.restart ?? "permanent";
  if (!["permanent", "transient", "temporary"].includes(restart)) {
    fail(
      `child ${s.id} restart must be "permanent", "transient" or "temporary", received ${
        describeType(restart)
      }`,
    );
  }
  const shutdown = s.shutdown ?? 5000;
  if (typeof shutdown !== "number" || !(shutdown >= 0)) {
    fail(`child ${s.id} shutdown must be milliseconds, received ${describeType(shutdown)}`);
  }
  return {
    id: s.id!,
    module: s.module!,
    function: s.function!,
    args: s.args ?? [],
    restart,
    shutdown,
  };
}

/** One node's part of a distributed supervisor. */
export class DistSupervisor {
  /** The supervisor's name (the same on every member). */
  readonly name: string;
  readonly #runtime: Runtime;
  readonly #rpc: RpcService;
  readonly #tables: NodeTables;
  /** The supervisor process: children link to it. */
  readonly #sup: ProcessContext;
  readonly #strategy: DistributionStrategy;
  readonly #members: "auto" | readonly string[];
  readonly #quorum: boolean;
  readonly #quorumDelay: number;
  readonly #maxRestarts: number;
  readonly #maxMs: number;
  readonly #handoffTimeout: number;
  readonly #rebalance: boolean;
  #rebalanceTimer: ReturnType<typeof setTimeout> | undefined;
  #rebalancing = false;
  #children = new Map<string, LocalChild>();
  #byPid = new Map<string, string>();
  /** Ids being started here (a restart, an adoption): not started twice. */
  #starting = new Set<string>();
  #ring: HashRing | undefined;
  #adoptTimer: ReturnType<typeof setTimeout> | undefined;
  #announceTimer: ReturnType<typeof setInterval>;
  #sweepTimer: ReturnType<typeof setInterval>;
  #resolving = new Set<string>();
  /** When a peer last came up. */
  #lastUp = 0;
  #closing = false;
  #closed = false;
  #loop: Promise<void>;

  /**
   * Starts the supervisor on a node (`node.distributed.supervisor` does this).
   *
   * @throws {TypeError} for a bad name or option, or a member list naming nodes that are not connected
   */
  constructor(
    runtime: Runtime,
    kernel: NetKernel,
    replicator: Replicator,
    rpc: RpcService,
    name: string,
    options: DistSupervisorOptions = {},
  ) {
    const what = `start distributed supervisor ${String(name)}`;
    if (typeof name !== "string" || !/^[\w.$-]+$/.test(name)) {
      throw new TypeError(
        `Cannot start distributed supervisor: name must be letters, digits, "_", ".", "$" or "-", received ${
          describeType(name)
        }`,
      );
    }
    this.name = name;
    this.#runtime = runtime;
    this.#rpc = rpc;
    this.#strategy = checkStrategy(options.strategy ?? "ring", what);
    this.#members = checkMembers(options.members ?? "auto", what);
    if (this.#members !== "auto") {
      const known = new Set([runtime.node, ...kernel.nodes()]);
      const unknown = this.#members.filter((m) => !known.has(m));
      if (unknown.length > 0) {
        throw new TypeError(
          `Cannot ${what}: unknown members ${
            unknown.join(", ")
          } (not connected to ${runtime.node})`,
        );
      }
    }
    this.#quorum = options.quorum ?? false;
    this.#quorumDelay = nonNegative(options.quorumDelay ?? 2000, "quorumDelay", what);
    this.#maxRestarts = nonNegative(options.maxRestarts ?? 3, "maxRestarts", what);
    this.#maxMs = nonNegative(options.maxSeconds ?? 5, "maxSeconds", what) * 1000;
    this.#handoffTimeout = nonNegative(options.handoffTimeout ?? 5000, "handoffTimeout", what);
    this.#rebalance = options.rebalance ?? false;
    if (this.#rebalance && this.#strategy !== "ring" && this.#strategy !== "uniform") {
      throw new TypeError(`Cannot ${what}: rebalance needs the "ring" or "uniform" strategy`);
    }
    this.#tables = new NodeTables({
      runtime,
      kernel,
      replicator,
      prefix: `weft_dsup:${name}`,
      hooks: {
        changed: (changes) => this.#changed(changes),
        visibility: (node, visible) => this.#visibility(node, visible),
        info: (msg) => this.#request(msg),
      },
    });
    this.#sup = runtime.open({ label: `distributed supervisor ${name}`, trapExit: true });
    this.#loop = this.#run();
    this.#announce();
    // Modules loaded later (c("./file.ts")) reach the other members' checks.
    this.#announceTimer = setInterval(() => this.#announce(), ANNOUNCE_INTERVAL);
    this.#sweepTimer = setInterval(() => {
      this.#settle(new Set(this.#children.keys()));
      this.#scheduleAdopt();
    }, SWEEP_INTERVAL);
    this.#tables.start();
  }

  /**
   * Starts a child on the member the strategy picks.
   *
   * @param spec the child: id, module, function, args, restart, shutdown
   * @returns the child's pid
   * @throws {TypeError} for a malformed spec
   * @throws {UndefinedFunctionError} when a live member lacks `module.function`
   * @throws {KeyTakenError} when a child with this id runs already (`holder` is its pid)
   * @throws {NoQuorumError} in quorum mode, when this node sees no majority of the members
   */
  async startChild(spec: DistChildSpec): Promise<Pid> {
    this.#alive("start child");
    const s = checkChildSpec(spec, `start child in ${this.name}`);
    if (this.#quorum) this.#requireQuorum(`start child ${s.id}`);
    const members = this.liveMembers();
    for (const member of members) {
      if (
        member === this.#runtime.node && this.#rpc.lookup(s.module, s.function).kind === "found"
      ) {
        continue;
      }
      const modules = (this.#tables.memberInfo(member)?.meta as { modules?: string[] } | undefined)
        ?.modules ?? [];
      if (!modules.includes(`${s.module}.${s.function}`)) {
        throw new UndefinedFunctionError(
          member,
          s.module,
          modules.some((m) => m.startsWith(`${s.module}.`)) ? s.function : undefined,
          `Cannot start child ${s.id} in ${this.name}: member ${member} has no ${s.module}.${s.function} (load the module on every member)`,
        );
      }
    }
    const holder = this.#liveRecord(s.id);
    if (holder !== undefined) throw new KeyTakenError(this.name, s.id, holder);
    const load = this.#strategy === "ring" || this.#strategy === "uniform"
      ? new Map<string, number>()
      : this.#load();
    const home = placeChild(this.#strategy, s.id, members, load, this.#ringOf(members));
    if (home === this.#runtime.node) return await this.#startHere(s);
    return await this.#ask(home, { type: "dsup_start", spec: s });
  }

  /**
   * Stops a child wherever it runs; it is not restarted.
   *
   * @returns whether a child with this id was running
   */
  async terminateChild(id: string): Promise<boolean> {
    this.#alive("terminate child");
    const pid = this.#liveRecord(id);
    if (pid === undefined) return false;
    if (pid.node === this.#runtime.node) return await this.#terminate(id);
    try {
      await this.#ask(pid.node, { type: "dsup_terminate", id });
      return true;
    } catch {
      return false;
    }
  }

  /** The running children of the whole supervisor, as this node's replica has them. */
  whichChildren(): DistChildInfo[] {
    const seen = new Map<string, Pid>();
    for (const node of this.#tables.nodes()) {
      for (const [field, rec] of this.#tables.fieldsOf(node)) {
        const pid = (rec as ChildRecord | undefined)?.pid;
        if (!field.startsWith("c") || !(pid instanceof Pid) || !this.#tables.isCurrent(pid)) {
          continue;
        }
        const id = field.slice(1);
        const other = seen.get(id);
        if (other === undefined || compareHolders(pid, other) < 0) seen.set(id, pid);
      }
    }
    return [...seen].map(([id, pid]) => ({ id, pid, node: pid.node }));
  }

  /** The children this node runs now. */
  localChildren(): DistChildInfo[] {
    return [...this.#children.values()].map((c) => ({
      id: c.spec.id,
      pid: c.pid,
      node: c.pid.node,
    }));
  }

  /** How many children run, in the whole supervisor and on this node. */
  countChildren(): { active: number; local: number } {
    return { active: this.whichChildren().length, local: this.#children.size };
  }

  /** Whether `pid` is a child of this supervisor on this node. */
  supervises(pid: Pid): boolean {
    return this.#byPid.has(pid.key);
  }

  /** The members that are live now (visible, running the supervisor, not leaving), sorted. */
  liveMembers(): string[] {
    const all = this.#members === "auto" ? this.#tables.members() : this.#members;
    return all.filter((m) =>
      this.#tables.isVisible(m) && this.#tables.memberInfo(m)?.left === false &&
      (m !== this.#runtime.node || !this.#closing)
    ).sort();
  }

  /**
   * Hands every child over to the other members with its state, and stops
   * (`node.stop()`, `q()` and SIGTERM do this). With no other member left,
   * the children are stopped.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#adoptTimer);
    clearInterval(this.#announceTimer);
    clearInterval(this.#sweepTimer);
    clearTimeout(this.#rebalanceTimer);
    try {
      await this.#tables.set(MEMBER_FIELD, { left: true });
      const ids = [...this.#children.keys()];
      const batch = 64;
      for (let i = 0; i < ids.length; i += batch) {
        await Promise.all(ids.slice(i, i + batch).map((id) => this.#handOver(id)));
      }
    } catch (e) {
      log.error("Supervisor {name} could not hand its children over: {e}", {
        name: this.name,
        e,
      });
    }
    this.#closed = true;
    await this.#tables.close();
    this.#sup.exit("normal");
    await this.#loop;
  }

  // ---------------------------------------------------------------- starting

  #alive(what: string): void {
    if (this.#closing) {
      throw new TypeError(`Cannot ${what}: supervisor ${this.name} is stopping`);
    }
  }

  #requireQuorum(what: string): void {
    const q = quorumOf(this.#tables, this.#members);
    if (!q.ok) {
      throw new NoQuorumError(
        `Cannot ${what} in ${this.name}: ${q.visible} of ${q.members.length} members visible, ${q.needed} needed`,
      );
    }
  }

  /** Writes this node's member field: not left, and the functions it can start children with. */
  #announce(): void {
    if (this.#closing) return;
    const modules: string[] = [];
    for (const [mod, fns] of Object.entries(this.#rpc.modules())) {
      for (const fn of fns) modules.push(`${mod}.${fn}`);
    }
    modules.sort();
    const now = this.#tables.own.get(MEMBER_FIELD) as
      | { left: boolean; meta?: { modules?: string[] } }
      | undefined;
    if (now?.left === false && now.meta?.modules?.join() === modules.join()) return;
    this.#tables.set(MEMBER_FIELD, { left: false, meta: { modules } }).catch(() => {});
  }

  #ringOf(members: string[]): HashRing {
    if (this.#ring?.members !== members.join(" ")) this.#ring = hashRing(members);
    return this.#ring;
  }

  /** Children per member: the records each member's map holds of live processes. */
  #load(): Map<string, number> {
    const load = new Map<string, number>();
    for (const node of this.#tables.nodes()) {
      let n = 0;
      for (const rec of this.#tables.fieldsOf(node).values()) {
        if ((rec as ChildRecord | undefined)?.pid instanceof Pid) n++;
      }
      load.set(node, n);
    }
    return load;
  }

  /** The live process of child `id` anywhere, if any (the winner when two run). */
  #liveRecord(id: string): Pid | undefined {
    let best: Pid | undefined;
    for (const node of this.#tables.nodes()) {
      const rec = this.#tables.fieldsOf(node).get(`c${id}`) as ChildRecord | undefined;
      const pid = rec?.pid;
      if (!(pid instanceof Pid) || !this.#tables.isCurrent(pid)) continue;
      if (best === undefined || compareHolders(pid, best) < 0) best = pid;
    }
    return best;
  }

  /** Starts a child on this node and records it. */
  async #startHere(spec: DistChildSpec, state?: { value: unknown }): Promise<Pid> {
    const found = this.#rpc.lookup(spec.module, spec.function);
    if (found.kind !== "found") {
      throw new UndefinedFunctionError(
        this.#runtime.node,
        spec.module,
        found.kind === "no_function" ? spec.function : undefined,
      );
    }
    this.#starting.add(spec.id);
    try {
      const pid = await runInProcess(
        this.#sup,
        () => found.fn.apply(found.module, spec.args ?? []),
      );
      if (!(pid instanceof Pid)) {
        throw new TypeError(
          `Cannot start child ${spec.id}: ${spec.module}.${spec.function} returned ${
            describeType(pid)
          }, expected a pid`,
        );
      }
      this.#sup.link(pid);
      const prev = this.#children.get(spec.id);
      this.#children.set(spec.id, { spec, pid, restarts: prev?.restarts ?? [] });
      this.#byPid.set(pid.key, spec.id);
      if (state !== undefined) {
        await handoffEnd(this.#runtime, pid, {
          handoff: "end",
          key: spec.id,
          state: state.value,
          from: this.#sup.self,
        });
      }
      await this.#tables.set(`c${spec.id}`, { spec, pid } satisfies ChildRecord);
      return pid;
    } finally {
      this.#starting.delete(spec.id);
    }
  }

  /** Sends a request to `node`'s server and waits for its answer. */
  async #ask(
    node: string,
    body:
      | { type: "dsup_start"; spec: DistChildSpec; state?: { value: unknown } }
      | { type: "dsup_terminate"; id: string },
  ): Promise<Pid> {
    const ctx = this.#runtime.open({ label: `dsup request to ${node}` });
    try {
      const ref = this.#runtime.makeRef();
      const mon = ctx.monitor({ name: this.#tables.prefix, node });
      ctx.send({ name: this.#tables.prefix, node }, { ...body, ref, from: ctx.self });
      const reply = await ctx.receive<Reply | { type: "DOWN"; ref: Ref; reason: unknown }>(
        (m) => {
          const r = m as { type?: string; ref?: Ref };
          return (r?.type === "dsup_reply" && r.ref!.equals(ref)) ||
            (r?.type === "DOWN" && r.ref!.equals(mon));
        },
        { timeout: 30_000 },
      );
      if (reply.type === "DOWN") {
        throw new TypeError(
          `Cannot reach supervisor ${this.name} on ${node}: ${String(reply.reason)}`,
        );
      }
      if (reply.error !== undefined) throw reviveError(reply.error);
      return reply.pid!;
    } finally {
      ctx.exit("normal");
    }
  }

  /** Requests from the other members' supervisors, to this node's server. */
  #request(msg: unknown): void {
    const r = msg as Request;
    if (typeof msg !== "object" || msg === null || !(r.from instanceof Pid)) return;
    const reply = (body: Omit<Reply, "type" | "ref">) =>
      this.#tables.svc.ctx.send(r.from, { type: "dsup_reply", ref: r.ref, ...body });
    if (r.type === "dsup_start") {
      // Sent by the member where startChild ran, or by a member handing its children over.
      let spec: DistChildSpec;
      try {
        spec = checkChildSpec(r.spec, `start child in ${this.name}`);
      } catch (e) {
        reply({ error: errorBody(e) });
        return;
      }
      if (this.#closing) {
        reply({ error: { name: "TypeError", message: `Supervisor ${this.name} is stopping` } });
        return;
      }
      const local = this.#children.get(spec.id);
      if (local !== undefined) {
        reply({ pid: local.pid });
        return;
      }
      this.#startHere(spec, r.state).then(
        (pid) => reply({ pid }),
        (e) => reply({ error: errorBody(e) }),
      );
      return;
    }
    if (r.type === "dsup_terminate") {
      // Sent by terminateChild on another member.
      this.#terminate(r.id).then(
        () => reply({ pid: this.#sup.self }),
        (e) => reply({ error: errorBody(e) }),
      );
    }
  }

  // ---------------------------------------------------------------- supervising

  async #run(): Promise<void> {
    try {
      for (;;) {
        const msg = await this.#sup.receive<ExitMessage>((m) =>
          (m as ExitMessage)?.type === "EXIT"
        );
        this.#childExit(msg);
      }
    } catch { /* the supervisor process exited (close) */ }
  }

  #childExit(msg: ExitMessage): void {
    const id = this.#byPid.get(msg.from.key);
    if (id === undefined) return;
    this.#byPid.delete(msg.from.key);
    const child = this.#children.get(id);
    if (child === undefined || !child.pid.equals(msg.from)) return;
    const reason = msg.reason as Record<string, unknown> | string;
    const conflict = typeof reason === "object" && reason !== null &&
      ("name_conflict" in reason || "quorum_lost" in reason);
    const restart = !child.stopping && !this.#closing && !conflict &&
      (child.spec.restart === "permanent" ||
        (child.spec.restart === "transient" && !isCleanExit(msg.reason)));
    if (!restart) {
      if (child.stopping) return; // whoever stops it on purpose owns its record
      if (conflict && "quorum_lost" in (reason as object)) return; // parked by #park
      this.#children.delete(id);
      this.#tables.remove(`c${id}`).catch(() => {});
      return;
    }
    const now = Date.now();
    child.restarts = child.restarts.filter((t) => now - t < this.#maxMs);
    if (child.restarts.length >= this.#maxRestarts) {
      log.error("Supervisor {name}: child {id} exited {n} times in {s} s; giving it up", {
        name: this.name,
        id,
        n: child.restarts.length + 1,
        s: this.#maxMs / 1000,
      });
      this.#children.delete(id);
      this.#tables.remove(`c${id}`).catch(() => {});
      return;
    }
    child.restarts.push(now);
    this.#startHere(child.spec).catch((e) => {
      log.error("Supervisor {name}: child {id} did not restart: {e}", { name: this.name, id, e });
      this.#children.delete(id);
      this.#tables.remove(`c${id}`).catch(() => {});
    });
  }

  /** Stops a child of this node on purpose; `true` when it ran. */
  async #terminate(id: string, reason: unknown = "shutdown"): Promise<boolean> {
    const child = this.#children.get(id);
    if (child === undefined) return false;
    child.stopping = true;
    await this.#stopProcess(child.pid, child.spec.shutdown ?? 5000, reason);
    this.#children.delete(id);
    this.#byPid.delete(child.pid.key);
    await this.#tables.remove(`c${id}`);
    return true;
  }

  /** Sends `reason` (killing after `timeout` ms) and waits until the process is gone. */
  async #stopProcess(pid: Pid, timeout: number, reason: unknown): Promise<void> {
    const ctx = this.#runtime.open({ label: "dsup stop" });
    try {
      const mon = ctx.monitor(pid);
      const isDown = (m: unknown) =>
        (m as { type?: string })?.type === "DOWN" && (m as { ref: Ref }).ref.equals(mon);
      this.#sup.unlink(pid);
      this.#runtime.exit(pid, reason, this.#sup.self);
      try {
        await ctx.receive(isDown, { timeout });
      } catch {
        this.#runtime.exit(pid, "kill", this.#sup.self);
        await ctx.receive(isDown, { timeout: 5000 }).catch(() => {});
      }
    } finally {
      ctx.exit("normal");
    }
  }

  /** A clean shutdown: this child goes to another member with its state. */
  async #handOver(id: string, to?: string): Promise<void> {
    const child = this.#children.get(id);
    if (child === undefined) return;
    const members = this.liveMembers();
    if (members.length === 0) {
      await this.#terminate(id);
      return;
    }
    const home = to ?? placeChild("ring", id, members, new Map(), this.#ringOf(members));
    child.stopping = true;
    const state = await handoff(this.#runtime, child.pid, id, this.#sup.self, this.#handoffTimeout);
    await this.#stopProcess(child.pid, child.spec.shutdown ?? 5000, "shutdown");
    this.#byPid.delete(child.pid.key);
    this.#children.delete(id);
    // Parked with its new home named: nobody else adopts it meanwhile.
    await this.#tables.set(
      `c${id}`,
      { spec: child.spec, pid: null, to: home } satisfies ChildRecord,
    );
    try {
      await this.#ask(home, {
        type: "dsup_start",
        spec: child.spec,
        ...(state !== undefined ? { state: { value: state.resume } } : {}),
      });
      await this.#tables.remove(`c${id}`);
    } catch (e) {
      log.error("Supervisor {name}: child {id} not handed to {home}: {e}", {
        name: this.name,
        id,
        home,
        e,
      });
      // Parked without a home: a member adopts it once this node is gone.
      await this.#tables.set(`c${id}`, { spec: child.spec, pid: null } satisfies ChildRecord);
    }
  }

  // ---------------------------------------------------------------- the cluster

  /** Records of peers merged (NodeTables): adopt orphans, settle duplicates. */
  #changed(changes: FieldChange[]): void {
    if (changes.some((c) => c.field === MEMBER_FIELD)) {
      this.#ring = undefined;
      const joined = changes.some((c) =>
        c.field === MEMBER_FIELD && (c.after as { left?: boolean } | undefined)?.left === false &&
        (c.before === undefined || (c.before as { left?: boolean }).left === true)
      );
      if (joined && this.#rebalance) this.#scheduleRebalance();
    }
    const ids = new Set<string>();
    let orphaned = false;
    for (const c of changes) {
      if (!c.field.startsWith("c")) continue;
      ids.add(c.field.slice(1));
      const rec = c.after as ChildRecord | undefined;
      // A parked record, or one of a pid whose node is gone: it needs a home.
      if (rec !== undefined && (!(rec.pid instanceof Pid) || !this.#tables.isCurrent(rec.pid))) {
        orphaned = true;
      }
    }
    this.#settle(ids);
    if (orphaned) this.#scheduleAdopt();
  }

  /** A peer shown or hidden (NodeTables). */
  #visibility(node: string, visible: boolean): void {
    this.#ring = undefined;
    if (visible) {
      this.#lastUp = Date.now();
      const ids = new Set<string>();
      for (const field of this.#tables.fieldsOf(node).keys()) {
        if (field.startsWith("c")) ids.add(field.slice(1));
      }
      this.#settle(ids);
    } else if (this.#quorum && !quorumOf(this.#tables, this.#members).ok) {
      this.#park();
    }
    this.#scheduleAdopt();
  }

  /** Quorum lost: stop every child here, keeping its record (parked) for the majority. */
  #park(): void {
    if (this.#children.size === 0) return;
    log.warning("Supervisor {name} lost its quorum on {node}: parking {n} children", {
      name: this.name,
      node: this.#runtime.node,
      n: this.#children.size,
    });
    for (const [id, child] of [...this.#children]) {
      child.stopping = true;
      this.#sup.unlink(child.pid);
      this.#runtime.exit(child.pid, "kill", this.#sup.self);
      this.#children.delete(id);
      this.#byPid.delete(child.pid.key);
      this.#tables.set(`c${id}`, { spec: child.spec, pid: null } satisfies ChildRecord).catch(
        () => {},
      );
    }
  }

  /** Children of `ids` running here and elsewhere: the loser's side (this one) gives way. */
  #settle(ids: Set<string>): void {
    for (const id of ids) {
      const mine = this.#children.get(id);
      // A live copy elsewhere: a parked record of this node is no longer needed.
      const own = this.#tables.own.get(`c${id}`) as ChildRecord | undefined;
      const live = this.#liveRecord(id);
      if (own !== undefined && own.pid === null && own.to === undefined && live !== undefined) {
        this.#tables.remove(`c${id}`).catch(() => {});
      }
      if (mine === undefined || live === undefined || live.equals(mine.pid)) continue;
      if (this.#resolving.has(id)) continue;
      this.#resolving.add(id);
      this.#giveWay(id, mine, live).finally(() => this.#resolving.delete(id));
    }
  }

  async #giveWay(id: string, mine: LocalChild, winner: Pid): Promise<void> {
    if (!(await this.#tables.confirmAlive(winner))) return;
    if (this.#children.get(id) !== mine) return;
    log.info("Supervisor {name}: child {id} runs as {loser} and {winner}; {winner} stays", {
      name: this.name,
      id,
      loser: String(mine.pid),
      winner: String(winner),
    });
    mine.stopping = true; // a crash while it hands over is no reason to restart it
    const state = await handoff(this.#runtime, mine.pid, id, winner, this.#handoffTimeout);
    if (state !== undefined) {
      await handoffEnd(this.#runtime, winner, {
        handoff: "end",
        key: id,
        state: state.resume,
        from: mine.pid,
      });
    }
    await this.#terminate(id, { name_conflict: { registry: this.name, key: id, winner } });
  }

  #scheduleRebalance(): void {
    clearTimeout(this.#rebalanceTimer);
    // Once membership has been still for a moment (several may join at once).
    this.#rebalanceTimer = setTimeout(() => {
      this.#rebalanceTimer = undefined;
      this.#rebalanceNow().catch((e) =>
        log.error("Supervisor {name}: rebalance failed: {e}", { name: this.name, e })
      );
    }, REBALANCE_DELAY);
  }

  /** Moves each child whose home is now another member there, with its state. */
  async #rebalanceNow(): Promise<void> {
    if (this.#rebalancing || this.#closing) return;
    this.#rebalancing = true;
    try {
      const members = this.liveMembers();
      const ring = this.#ringOf(members);
      const moves: [string, string][] = [];
      for (const id of this.#children.keys()) {
        const home = placeChild(this.#strategy, id, members, new Map(), ring);
        if (home !== this.#runtime.node) moves.push([id, home]);
      }
      if (moves.length > 0) {
        log.info("Supervisor {name}: moving {n} children to their new homes", {
          name: this.name,
          n: moves.length,
        });
      }
      for (let i = 0; i < moves.length; i += 64) {
        await Promise.all(moves.slice(i, i + 64).map(([id, home]) => this.#handOver(id, home)));
      }
    } finally {
      this.#rebalancing = false;
    }
  }

  #scheduleAdopt(delay = this.#quorum ? this.#quorumDelay : 0): void {
    if (this.#adoptTimer !== undefined || this.#closing) return;
    this.#adoptTimer = setTimeout(() => {
      this.#adoptTimer = undefined;
      this.#adoptOrphans();
    }, delay);
  }

  /**
   * Starts here every orphan whose home is this node: a child recorded by
   * a lost member, or parked, with no live copy anywhere.
   */
  #adoptOrphans(): void {
    if (this.#closing) return;
    if (this.#quorum && !quorumOf(this.#tables, this.#members).ok) return;
    const members = this.liveMembers();
    if (!members.includes(this.#runtime.node)) return;
    const ring = this.#ringOf(members);
    const orphans = new Map<string, DistChildSpec>();
    const alive = new Set<string>();
    /** Orphans recorded by a visible node (parked, or an earlier incarnation's). */
    const parked = new Set<string>();
    for (const node of this.#tables.nodes()) {
      for (const [field, value] of this.#tables.fieldsOf(node)) {
        if (!field.startsWith("c")) continue;
        const rec = value as ChildRecord;
        const id = field.slice(1);
        if (rec.pid instanceof Pid && this.#tables.isCurrent(rec.pid)) {
          alive.add(id);
          continue;
        }
        if (rec.to !== undefined && this.#tables.isVisible(rec.to)) {
          alive.add(id); // being handed over between two live members
          continue;
        }
        orphans.set(id, rec.spec);
        if (this.#tables.isVisible(node)) parked.add(id);
      }
    }
    let adopted = 0;
    let deferred = false;
    const settling = Date.now() - this.#lastUp < SETTLE_AFTER_UP;
    for (const [id, spec] of orphans) {
      if (alive.has(id) || this.#children.has(id) || this.#starting.has(id)) continue;
      if (settling && parked.has(id)) {
        deferred = true; // a peer just came up: its live copy may still be on its way
        continue;
      }
      if (placeChild("ring", id, members, new Map(), ring) !== this.#runtime.node) continue;
      adopted++;
      this.#startHere(spec).catch((e) =>
        log.error("Supervisor {name}: orphan {id} did not start: {e}", { name: this.name, id, e })
      );
    }
    if (deferred) this.#scheduleAdopt(SETTLE_AFTER_UP - (Date.now() - this.#lastUp) + 10);
    if (adopted > 0) {
      log.info("Supervisor {name}: restarting {n} children of lost members on {node}", {
        name: this.name,
        n: adopted,
        node: this.#runtime.node,
      });
    }
  }
}

function nonNegative(value: unknown, option: string, what: string): number {
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new TypeError(
      `Cannot ${what}: ${option} must be a number of 0 or more, received ${describeType(value)}`,
    );
  }
  return value;
}

function errorBody(e: unknown): NonNullable<Reply["error"]> {
  const err = e instanceof Error ? e : new Error(String(e));
  const body: NonNullable<Reply["error"]> = { name: err.name, message: err.message };
  if (e instanceof KeyTakenError && e.holder instanceof Pid) body.holder = e.holder;
  if (e instanceof UndefinedFunctionError) body.node = e.node;
  return body;
}

function reviveError(body: NonNullable<Reply["error"]>): Error {
  switch (body.name) {
    case "UndefinedFunctionError":
      return new UndefinedFunctionError(body.node ?? "", "", undefined, body.message);
    case "NoQuorumError":
      return new NoQuorumError(body.message);
    case "TypeError":
      return new TypeError(body.message);
    default:
      return new Error(body.message);
  }
}
