/**
 * Process groups (OTP's `pg`): named groups of processes across the
 * cluster, in independent scopes. Each node runs a scope server per scope;
 * a process joins groups on its own node, and each scope server tells its
 * peers, so every node answers `getMembers` from its own copy.
 *
 * Exchange protocol (as `pg.erl`'s): each scope server is the only source
 * of the memberships of its node's processes.
 *
 * ```
 * new connection A-B:   A ---- SYNC(scope, A's local groups) ----> B   (and B -> A)
 *                       B replaces everything it knew of A with it
 * scope starts on A:    A ---- SYNC(..., reply) ----> every node;  they answer with SYNC
 * join on A:            A ---- JOIN(scope, group, pids) ----> every peer
 * leave / process exit: A ---- LEAVE(scope, group, pids) ----> every peer
 * A is lost:            every node drops A's members by itself
 * ```
 *
 * Operations travel on the one connection between two nodes, in order, so
 * a peer sees a node's joins and leaves in the order they happened; a
 * message sent after `join` reaches a peer after the JOIN does. Processes
 * monitoring a group (or the whole scope) get `{type: "join" | "leave",
 * ref, scope, group, pids}` for every change seen on their node,
 * including those caused by node loss and SYNC.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const worker = node.runtime.open().self;
 * node.pg.join("workers", worker);
 * console.assert(node.pg.getMembers("workers")[0]?.equals(worker));
 * await node.stop();
 * ```
 *
 * @module
 */

import { DecodeError, NameError, NotAliveError } from "../errors.ts";
import { NodeService } from "../distribution/node_service.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { callerOn } from "../process/current.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage } from "../process/types.ts";
import { Pid, type Ref } from "../term/pid.ts";
import { DEFAULT_SCOPE, OP_PG_JOIN, OP_PG_LEAVE, OP_PG_SYNC, type PgEvent } from "./types.ts";

/** Options for {@linkcode PgScope}. */
export interface PgScopeOptions {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node kernel. */
  kernel: NetKernel;
  /** The scope's name; its server is registered under it. Default `"pg"`. */
  scope?: string;
}

/** Options for {@linkcode PgScope.monitor} and {@linkcode PgScope.monitorScope}. */
export interface PgMonitorOptions {
  /** The local process that gets the events. Default: the calling process. */
  pid?: Pid;
}

/** What `monitor(group)` returns. */
export interface PgGroupMonitor {
  /** The monitor's reference, in each event and for `demonitor`. */
  ref: Ref;
  /** The group's members when the monitor was set. */
  members: Pid[];
}

/** What `monitorScope()` returns. */
export interface PgScopeMonitor {
  /** The monitor's reference, in each event and for `demonitor`. */
  ref: Ref;
  /** Every group and its members when the monitor was set. */
  groups: Map<string, Pid[]>;
}

interface LocalMember {
  pid: Pid;
  ref: Ref;
  /** Group -> how many times the process joined it. */
  groups: Map<string, number>;
}

interface Watch {
  ref: Ref;
  pid: Pid;
  /** The group, or `undefined` for the whole scope. */
  group: string | undefined;
}

/** The pg scopes running on a node, by name: the op handlers dispatch on the scope field. */
export const PG_SCOPES: ServiceKey<Map<string, PgScope>> = new ServiceKey("pg");

/**
 * One scope of process groups on one node.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { PgScope } from "./scope.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const rooms = new PgScope({ runtime: node.runtime, kernel: node.kernel, scope: "rooms" });
 * const me = node.runtime.open();
 * const { ref } = rooms.monitor("lobby", { pid: me.self });
 * rooms.join("lobby", me.self);
 * const event = await me.receive<{ type: string; ref: unknown }>();
 * console.assert(event.type === "join" && event.ref === ref);
 * await rooms.stop();
 * await node.stop();
 * ```
 */
export class PgScope {
  /** The scope's name. */
  readonly scope: string;
  #runtime: Runtime;
  #svc: NodeService;
  /** Local members: group -> pids (a pid once per join). */
  #local = new Map<string, Pid[]>();
  /** Members of each peer: node -> group -> pids. */
  #remote = new Map<string, Map<string, Pid[]>>();
  /** Every member of a group, made on demand from #local and #remote. */
  #all = new Map<string, Pid[]>();
  /** Local member processes, monitored by the scope server. */
  #members = new Map<string, LocalMember>();
  /** Monitors of groups and of the scope, by ref key. */
  #watches = new Map<string, Watch>();
  /** Watchers of each group, by ref key. */
  #groupWatches = new Map<string, Set<string>>();
  /** Watchers of the whole scope, by ref key. */
  #scopeWatches = new Set<string>();
  /** Monitors of the watching processes: pid key -> [our monitor of it, its watches]. */
  #watchers = new Map<string, { ref: Ref; watches: Set<string> }>();

  /**
   * Starts a scope server on a node (`startNode` starts the scope `"pg"`).
   *
   * @param options the node and the scope's name
   * @throws {TypeError} when the scope name is not a non-empty string
   * @throws {NameError} when the scope already runs on the node, or its name is taken
   */
  /** Told every change of this node's memberships, for peers of another protocol (Erlang's pg). */
  #foreign: ((kind: "join" | "leave", group: string, pids: Pid[]) => void) | undefined;

  constructor(options: PgScopeOptions) {
    const scope = options.scope ?? DEFAULT_SCOPE;
    if (typeof scope !== "string" || scope === "") {
      throw new TypeError("Cannot start pg scope: the scope must be a non-empty string");
    }
    this.scope = scope;
    this.#runtime = options.runtime;
    let byName = options.runtime.context.get(PG_SCOPES);
    if (byName?.has(scope)) {
      throw new NameError(
        `Cannot start pg scope ${scope}: it already runs on ${options.runtime.node}`,
      );
    }
    this.#svc = new NodeService(options.runtime, options.kernel, {
      name: scope,
      label: `pg:${scope}`,
      peerUp: (node, initial) => this.#sync(node, initial),
      peerDown: (node) => this.#dropNode(node),
      info: (msg) => this.#info(msg),
    });
    if (byName === undefined) {
      byName = new Map();
      options.runtime.context.provide(PG_SCOPES, byName);
      PgScope.#install(options.kernel, byName);
    }
    byName.set(scope, this);
    this.#svc.start();
  }

  /** The scope server's pid. */
  get self(): Pid {
    return this.#svc.self;
  }

  // ---------------------------------------------------------------- public

  /**
   * Adds processes of this node to `group` (a process may join a group
   * several times; it is then a member that many times).
   *
   * @param group the group
   * @param pids one local process or several
   * @throws {TypeError} when `group` is not a non-empty string, or a pid is not of this node
   * @throws {NotAliveError} when the scope has stopped
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const [p, q] = [node.runtime.open().self, node.runtime.open().self];
   * node.pg.join("g", [p, q]);
   * console.assert(node.pg.getLocalMembers("g").length === 2);
   * await node.stop();
   * ```
   */
  join(group: string, pids: Pid | Pid[]): void {
    checkGroup(group, "join");
    const list = this.#localPids(pids, "join");
    this.#alive("join");
    if (list.length === 0) return;
    for (const pid of list) {
      let m = this.#members.get(pid.key);
      if (m === undefined) {
        m = { pid, ref: this.#svc.ctx.monitor(pid), groups: new Map() };
        this.#members.set(pid.key, m);
      }
      m.groups.set(group, (m.groups.get(group) ?? 0) + 1);
    }
    const local = this.#local.get(group) ?? [];
    local.push(...list);
    this.#local.set(group, local);
    this.#all.delete(group);
    this.#svc.sendAll(OP_PG_JOIN, [this.scope, group, list]);
    this.#foreign?.("join", group, list);
    this.#notify("join", group, list);
  }

  /**
   * Removes processes of this node from `group` (one membership each).
   *
   * @param group the group
   * @param pids one local process or several
   * @returns `true` when at least one of them was a member (OTP's `ok`), `false` otherwise (`not_joined`)
   * @throws {TypeError} when `group` is not a non-empty string, or a pid is not of this node
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const p = node.runtime.open().self;
   * node.pg.join("g", p);
   * console.assert(node.pg.leave("g", p) && !node.pg.leave("g", p));
   * await node.stop();
   * ```
   */
  leave(group: string, pids: Pid | Pid[]): boolean {
    checkGroup(group, "leave");
    const list = this.#localPids(pids, "leave");
    this.#alive("leave");
    const left: Pid[] = [];
    for (const pid of list) {
      const m = this.#members.get(pid.key);
      const n = m?.groups.get(group);
      if (m === undefined || n === undefined) continue;
      if (n > 1) m.groups.set(group, n - 1);
      else m.groups.delete(group);
      if (m.groups.size === 0) {
        this.#members.delete(pid.key);
        this.#svc.ctx.demonitor(m.ref, { flush: true });
      }
      left.push(pid);
    }
    if (left.length === 0) return false;
    this.#removeLocal(group, left);
    this.#svc.sendAll(OP_PG_LEAVE, [this.scope, group, left]);
    this.#foreign?.("leave", group, left);
    this.#notify("leave", group, left);
    return true;
  }

  /**
   * Every member of `group` on every node, from this node's copy.
   *
   * @param group the group
   * @returns the members (a process joined twice appears twice)
   */
  getMembers(group: string): Pid[] {
    return [...this.members(group)];
  }

  /**
   * The members of `group` on this node.
   *
   * @param group the group
   * @returns the members
   */
  getLocalMembers(group: string): Pid[] {
    return [...(this.#local.get(group) ?? [])];
  }

  /**
   * Every group with at least one member on any node.
   *
   * @returns the groups
   */
  whichGroups(): string[] {
    const groups = new Set(this.#local.keys());
    for (const byGroup of this.#remote.values()) for (const g of byGroup.keys()) groups.add(g);
    return [...groups];
  }

  /**
   * Subscribes a local process to the joins and leaves of `group`:
   * `{type: "join" | "leave", ref, scope, group, pids}`.
   *
   * @param group the group
   * @param options the process to tell (default: the calling one)
   * @returns the monitor's ref and the group's members now
   * @throws {TypeError} when `group` is invalid or the process is not of this node
   */
  monitor(group: string, options: PgMonitorOptions = {}): PgGroupMonitor {
    checkGroup(group, "monitor");
    const ref = this.#watch(group, options, "monitor");
    return { ref, members: this.getMembers(group) };
  }

  /**
   * Subscribes a local process to the joins and leaves of every group of
   * the scope.
   *
   * @param options the process to tell (default: the calling one)
   * @returns the monitor's ref and every group with its members now
   * @throws {TypeError} when the process is not of this node
   */
  monitorScope(options: PgMonitorOptions = {}): PgScopeMonitor {
    const ref = this.#watch(undefined, options, "monitor scope");
    const groups = new Map<string, Pid[]>();
    for (const g of this.whichGroups()) groups.set(g, this.getMembers(g));
    return { ref, groups };
  }

  /**
   * Ends a monitor made by `monitor` or `monitorScope`.
   *
   * @param ref the monitor's ref
   * @returns `true` when it was active
   */
  demonitor(ref: Ref): boolean {
    const w = this.#watches.get(ref.key);
    if (w === undefined) return false;
    this.#unwatch(ref.key, w);
    return true;
  }

  /** Stops the scope server; peers drop this node's members when it leaves. Idempotent. */
  async stop(): Promise<void> {
    const byName = this.#runtime.context.get(PG_SCOPES);
    if (byName?.get(this.scope) === this) {
      byName.delete(this.scope);
      if (byName.size === 0) {
        this.#runtime.context.remove(PG_SCOPES, byName);
        this.#svc.kernel.ops.unregister("pg");
      }
    }
    await this.#svc.stop();
  }

  /**
   * The members of `group` without a copy, for layers on top (pubsub);
   * the array must not be changed.
   *
   * @param group the group
   * @returns the members
   */
  members(group: string): readonly Pid[] {
    let all = this.#all.get(group);
    if (all !== undefined) return all;
    all = [...(this.#local.get(group) ?? [])];
    for (const byGroup of this.#remote.values()) {
      const pids = byGroup.get(group);
      if (pids !== undefined) all.push(...pids);
    }
    this.#all.set(group, all);
    return all;
  }

  // ---------------------------------------------------------------- other protocols

  /**
   * This node's memberships, group by group: what a peer of another protocol (Erlang's `pg`,
   * src/erlang) is sent when it discovers this scope.
   *
   * @returns `[group, pids]` for every group with local members
   */
  localGroups(): [string, Pid[]][] {
    return [...this.#local].filter(([, pids]) => pids.length > 0).map(([g, p]) => [g, [...p]]);
  }

  /**
   * Takes the memberships of `node`, a peer of another protocol (a BEAM node's `pg` scope),
   * as this scope takes a Weft peer's SYNC, JOIN and LEAVE; `down` drops them all.
   *
   * @param node the peer
   * @param change what it told
   * @throws {DecodeError} when a pid is not of `node`
   */
  applyForeign(
    node: string,
    change:
      | { kind: "sync"; groups: [string, Pid[]][] }
      | { kind: "join" | "leave"; group: string; pids: Pid[] }
      | { kind: "down" },
  ): void {
    switch (change.kind) {
      case "sync":
        this.#onSync(node, [this.scope, change.groups, false]);
        return;
      case "join":
        this.#onJoin(node, [this.scope, change.group, change.pids]);
        return;
      case "leave":
        this.#onLeave(node, [this.scope, change.group, change.pids]);
        return;
      case "down":
        this.#dropNode(node);
        return;
    }
  }

  /**
   * Tells `listener` every later change of this node's memberships (one listener: the bridge to
   * another protocol's peers), or stops telling (`undefined`).
   *
   * @param listener called with each local join and leave
   */
  onLocalChange(
    listener: ((kind: "join" | "leave", group: string, pids: Pid[]) => void) | undefined,
  ): void {
    this.#foreign = listener;
  }

  // ---------------------------------------------------------------- peers

  /** SYNC to `node`: this node's local members. */
  #sync(node: string, reply: boolean): void {
    const groups: [string, Pid[]][] = [...this.#local].filter(([, pids]) => pids.length > 0);
    this.#svc.send(node, OP_PG_SYNC, [this.scope, groups, reply]);
  }

  /** `node`'s connection is gone: its members leave. */
  #dropNode(node: string): void {
    const byGroup = this.#remote.get(node);
    if (byGroup === undefined) return;
    this.#remote.delete(node);
    for (const [group, pids] of byGroup) {
      this.#all.delete(group);
      this.#notify("leave", group, pids);
    }
  }

  /** A message of the scope server: a member or a watcher went down. */
  #info(msg: unknown): void {
    const down = msg as DownMessage;
    if (down?.type !== "DOWN" || !(down.pid instanceof Pid)) return;
    const m = this.#members.get(down.pid.key);
    if (m !== undefined && m.ref.equals(down.ref)) {
      this.#members.delete(down.pid.key);
      for (const [group, n] of m.groups) {
        const left = new Array<Pid>(n).fill(m.pid);
        this.#removeLocal(group, left);
        this.#svc.sendAll(OP_PG_LEAVE, [this.scope, group, left]);
        this.#foreign?.("leave", group, left);
        this.#notify("leave", group, left);
      }
    }
    const w = this.#watchers.get(down.pid.key);
    if (w !== undefined && w.ref.equals(down.ref)) {
      for (const key of [...w.watches]) {
        const watch = this.#watches.get(key);
        if (watch !== undefined) this.#unwatch(key, watch);
      }
    }
  }

  /** Installs the pg op handlers of a node, dispatching on the scope field. */
  static #install(kernel: NetKernel, byName: Map<string, PgScope>): void {
    const on = (op: number, handler: (s: PgScope, node: string, f: unknown[]) => void) =>
      kernel.ops.register("pg", op, (node, fields) => {
        const scope = fields[0];
        if (typeof scope !== "string") throw new DecodeError("Malformed pg operation: no scope");
        const s = byName.get(scope);
        if (s !== undefined && s.#svc.observe(node)) handler(s, node, fields);
      });
    on(OP_PG_SYNC, (s, node, f) => s.#onSync(node, f));
    on(OP_PG_JOIN, (s, node, f) => s.#onJoin(node, f));
    on(OP_PG_LEAVE, (s, node, f) => s.#onLeave(node, f));
  }

  /** SYNC, sent by the scope server of `node`: all its local members. */
  #onSync(node: string, f: unknown[]): void {
    const [, groups, reply] = f;
    if (!Array.isArray(groups) || typeof reply !== "boolean") throw malformed("SYNC");
    const next = new Map<string, Pid[]>();
    for (const g of groups) {
      if (!Array.isArray(g) || typeof g[0] !== "string") throw malformed("SYNC");
      next.set(g[0], remotePids(g[1], node, "SYNC"));
    }
    const before = this.#remote.get(node) ?? new Map<string, Pid[]>();
    this.#remote.set(node, next);
    for (const group of new Set([...before.keys(), ...next.keys()])) {
      const [joined, left] = multisetDiff(before.get(group) ?? [], next.get(group) ?? []);
      if (joined.length === 0 && left.length === 0) continue;
      this.#all.delete(group);
      if (left.length > 0) this.#notify("leave", group, left);
      if (joined.length > 0) this.#notify("join", group, joined);
    }
    for (const [group, pids] of next) if (pids.length === 0) next.delete(group);
    if (reply) this.#sync(node, false);
  }

  /** JOIN, sent by the scope server of `node`. */
  #onJoin(node: string, f: unknown[]): void {
    const [, group, raw] = f;
    if (typeof group !== "string") throw malformed("JOIN");
    const pids = remotePids(raw, node, "JOIN");
    let byGroup = this.#remote.get(node);
    if (byGroup === undefined) this.#remote.set(node, byGroup = new Map());
    const list = byGroup.get(group) ?? [];
    list.push(...pids);
    byGroup.set(group, list);
    this.#all.delete(group);
    this.#notify("join", group, pids);
  }

  /** LEAVE, sent by the scope server of `node`. */
  #onLeave(node: string, f: unknown[]): void {
    const [, group, raw] = f;
    if (typeof group !== "string") throw malformed("LEAVE");
    const pids = remotePids(raw, node, "LEAVE");
    const byGroup = this.#remote.get(node);
    const list = byGroup?.get(group);
    if (byGroup === undefined || list === undefined) return;
    const left: Pid[] = [];
    for (const pid of pids) {
      const i = list.findIndex((p) => p.equals(pid));
      if (i < 0) continue;
      list.splice(i, 1);
      left.push(pid);
    }
    if (list.length === 0) byGroup.delete(group);
    this.#all.delete(group);
    if (left.length > 0) this.#notify("leave", group, left);
  }

  // ---------------------------------------------------------------- helpers

  #removeLocal(group: string, pids: Pid[]): void {
    const local = this.#local.get(group);
    if (local === undefined) return;
    for (const pid of pids) {
      const i = local.findIndex((p) => p.equals(pid));
      if (i >= 0) local.splice(i, 1);
    }
    if (local.length === 0) this.#local.delete(group);
    this.#all.delete(group);
  }

  #notify(type: "join" | "leave", group: string, pids: Pid[]): void {
    const keys = this.#groupWatches.get(group);
    if (keys === undefined && this.#scopeWatches.size === 0) return;
    for (const set of [keys, this.#scopeWatches]) {
      if (set === undefined) continue;
      for (const key of set) {
        const w = this.#watches.get(key);
        if (w === undefined) continue;
        this.#runtime.send(
          w.pid,
          {
            type,
            ref: w.ref,
            scope: this.scope,
            group,
            pids: [...pids],
          } satisfies PgEvent,
        );
      }
    }
  }

  #watch(group: string | undefined, options: PgMonitorOptions, what: string): Ref {
    this.#alive(what);
    const pid = options.pid ?? this.#caller(what);
    if (!(pid instanceof Pid) || pid.node !== this.#runtime.node) {
      throw new TypeError(
        `Cannot ${what}: the watching process must be a pid of ${this.#runtime.node}`,
      );
    }
    const ref = this.#runtime.makeRef();
    const key = ref.key;
    this.#watches.set(key, { ref, pid, group });
    if (group === undefined) {
      this.#scopeWatches.add(key);
    } else {
      const set = this.#groupWatches.get(group) ?? new Set();
      set.add(key);
      this.#groupWatches.set(group, set);
    }
    let watcher = this.#watchers.get(pid.key);
    if (watcher === undefined) {
      watcher = { ref: this.#svc.ctx.monitor(pid), watches: new Set() };
      this.#watchers.set(pid.key, watcher);
    }
    watcher.watches.add(key);
    return ref;
  }

  #unwatch(key: string, w: Watch): void {
    this.#watches.delete(key);
    if (w.group === undefined) {
      this.#scopeWatches.delete(key);
    } else {
      const set = this.#groupWatches.get(w.group);
      set?.delete(key);
      if (set?.size === 0) this.#groupWatches.delete(w.group);
    }
    const watcher = this.#watchers.get(w.pid.key);
    if (watcher === undefined) return;
    watcher.watches.delete(key);
    if (watcher.watches.size === 0) {
      this.#watchers.delete(w.pid.key);
      this.#svc.ctx.demonitor(watcher.ref, { flush: true });
    }
  }

  #localPids(pids: Pid | Pid[], what: string): Pid[] {
    const list = Array.isArray(pids) ? pids : [pids];
    for (const pid of list) {
      if (!(pid instanceof Pid)) throw new TypeError(`Cannot ${what}: expected pids`);
      if (pid.node !== this.#runtime.node) {
        throw new TypeError(`Cannot ${what}: ${pid} is not a process of ${this.#runtime.node}`);
      }
    }
    return list;
  }

  #caller(what: string): Pid {
    return callerOn(this.#runtime, what);
  }

  #alive(what: string): void {
    if (this.#svc.stopped) {
      throw new NotAliveError(`Cannot ${what}: pg scope ${this.scope} has stopped`);
    }
  }
}

/**
 * The pg scope `scope` of the node `runtime` belongs to.
 *
 * @param runtime the node's runtime
 * @param scope the scope's name; default `"pg"`
 * @returns the scope
 * @throws {NotAliveError} when that scope does not run on the node
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { pgScopeOf } from "./scope.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(pgScopeOf(node.runtime) === node.pg);
 * await node.stop();
 * ```
 */
export function pgScopeOf(runtime: Runtime, scope: string = DEFAULT_SCOPE): PgScope {
  const s = runtime.context.get(PG_SCOPES)?.get(scope);
  if (s === undefined) {
    throw new NotAliveError(`Cannot use pg scope ${scope}: it does not run on ${runtime.node}`);
  }
  return s;
}

/** Which entries `after` has that `before` lacks, and the reverse, counting repeats. */
function multisetDiff(before: Pid[], after: Pid[]): [Pid[], Pid[]] {
  const counts = new Map<string, number>();
  for (const p of before) counts.set(p.key, (counts.get(p.key) ?? 0) + 1);
  const joined: Pid[] = [];
  for (const p of after) {
    const n = counts.get(p.key) ?? 0;
    if (n > 0) counts.set(p.key, n - 1);
    else joined.push(p);
  }
  const left: Pid[] = [];
  for (const p of before) {
    const n = counts.get(p.key) ?? 0;
    if (n > 0) {
      counts.set(p.key, n - 1);
      left.push(p);
    }
  }
  return [joined, left];
}

function remotePids(raw: unknown, node: string, op: string): Pid[] {
  if (!Array.isArray(raw) || !raw.every((p) => p instanceof Pid && p.node === node)) {
    throw malformed(op);
  }
  return raw as Pid[];
}

function checkGroup(group: unknown, what: string): asserts group is string {
  if (typeof group !== "string" || group === "") {
    throw new TypeError(`Cannot ${what}: the group must be a non-empty string`);
  }
}

function malformed(op: string): DecodeError {
  return new DecodeError(`Malformed pg ${op} operation`);
}
