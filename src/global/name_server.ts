/**
 * Cluster-wide unique names (OTP's `global`): one name server per node,
 * each holding the whole table, so `whereis` is a local lookup.
 *
 * Design. Every registration is owned by the node of its process: only
 * that node removes it and tells new peers about it. A node's table is the
 * union of its own registrations and those of the peers it is connected
 * to now; when a connection goes, that peer's registrations go with it
 * (the names of a lost node are freed everywhere, each node deciding for
 * itself). Registrations of one name are serialised by the *boss*, the
 * connected node with the smallest name (every node of a stable cluster
 * agrees on it): it checks and takes the name in one step and relays the
 * registration to everyone else; no lock is held:
 *
 * ```
 * register(n, pid) on O        boss B                      every other peer P
 *   local table has n? -> false
 *   O ----- CLAIM(req, n, pid) --> n taken? -> CLAIM_REPLY false
 *                                  insert n -> pid
 *                                  ---- ADD(req, n, pid) ----> insert
 *   O <---- CLAIM_REPLY(true, [P...]) -
 *   O <-------------------------------------------------------- ACK(req)
 *   insert, monitor pid
 *   O ----- ADD(req, n, pid) --> peers of O that B did not reach --> ACK(req)
 *   -> true once every connected peer of O has acknowledged
 *   (a later CLAIM of n on B: taken)
 *
 * O is the boss:       O: check, insert; O ---- ADD(req) ----> all; all ---- ACK ----> O; -> true
 * unregister(n):       O ---- DEL(req, n, pid) ----> all; all ---- ACK ----> O; -> done
 * process exits on O:  O ---- DEL(n, pid) ----> all
 * O is lost:           every node drops O's registrations by itself (a relayed
 *                      ADD for a node no longer connected is ignored)
 * B is lost mid-claim: O claims again from the next boss (which may have the
 *                      name for pid already: granted again)
 * P is lost meanwhile: O stops waiting for its ACK
 * new connection O-P:  O ---- SYNC(O's own registrations) ----> P, and P -> O
 * ```
 *
 * So `register` resolves, as OTP's `global:register_name` returns, when
 * every node connected to O knows the name: a `whereis` (or a
 * `GenServer.call({ global: n })`) on any of them finds it, whoever told
 * that node to look. It costs one and a half round trips when the boss is
 * another node (the boss relays the claim to its peers while it answers,
 * and they acknowledge to O directly), one round trip on the boss.
 * `unregister` resolves once every peer has applied it.
 *
 * Conflicts. Nodes cut apart can register the same name on both sides.
 * When they meet again SYNC brings the two registrations together; every
 * node keeps the one registered first (ties: smaller node name, then pid)
 * provisionally, and the node that owns that one decides: with the
 * resolver given when it was registered, else by keeping it. It tells all:
 *
 * ```
 * P ---- SYNC(n -> p2) ----> O (owns n -> p1, earlier): conflict, O decides
 * O ---- RESOLVED(n, keep p1, losers [p2]) ----> all
 * P: drops p2's registration, sends p2 {type: "global_name_conflict", name: n, other: p1}
 * ```
 *
 * The loser is told, not killed. Registrations made while nodes disagree
 * on who is boss (a node just joined or was just lost) can both succeed;
 * they then conflict and are settled the same way. `trans(id, fn)` takes a
 * lock on the boss (waiting in line) and then on every other peer (not
 * waiting; if one refuses, all are released and it retries after a random
 * pause), so it holds even when the boss is lost meanwhile.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const me = node.runtime.open();
 * console.assert(await node.global.register("db", me.self));
 * console.assert(node.global.whereis("db")?.equals(me.self));
 * console.assert(!(await node.global.register("db", node.runtime.open().self)));
 * await node.stop();
 * ```
 *
 * @module
 */

import {
  DecodeError,
  NameError,
  NotAliveError,
  ServiceAlreadyRunningError,
  TimeoutError,
} from "../errors.ts";
import { NodeService } from "../distribution/node_service.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { callerOn, current } from "../process/current.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage } from "../process/types.ts";
import { setGlobalNameRegistry } from "../otp/name.ts";
import type { NameRegistry } from "../otp/name.ts";
import { Pid, type Ref } from "../term/pid.ts";
import {
  GLOBAL_VERSION,
  type GlobalEntry,
  type GlobalNameConflictMessage,
  type GlobalResolver,
  OP_GLOBAL_ACK,
  OP_GLOBAL_ADD,
  OP_GLOBAL_CLAIM,
  OP_GLOBAL_CLAIM_REPLY,
  OP_GLOBAL_DEL,
  OP_GLOBAL_LOCK,
  OP_GLOBAL_LOCK_REPLY,
  OP_GLOBAL_REPLY,
  OP_GLOBAL_REQUEST,
  OP_GLOBAL_RESOLVED,
  OP_GLOBAL_SYNC,
  OP_GLOBAL_UNLOCK,
} from "./types.ts";

const log = logger("global");

/** The name the name server process is registered under on each node. */
export const GLOBAL_SERVER_NAME = "global_name_server";

/** Options for {@linkcode GlobalNames.register}. */
export interface RegisterOptions {
  /**
   * Decides a conflict over this name after a partition heals, when this
   * registration is the earlier one. Runs on this node; the default keeps
   * the earlier registration. Only for processes of this node.
   */
  resolve?: GlobalResolver;
}

/** Options for {@linkcode GlobalNames.trans}. */
export interface TransOptions {
  /**
   * How many times to try again, after a short random pause, while the
   * lock is held. Default: for ever, waiting in line (first come, first
   * served) rather than polling.
   */
  retries?: number;
}

/** Options for {@linkcode GlobalNames.sync}. */
export interface SyncOptions {
  /** Milliseconds to wait. Default 5000. */
  timeout?: number;
}

/** Options for {@linkcode GlobalNames}. */
export interface GlobalNamesOptions {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node kernel. */
  kernel: NetKernel;
}

/** A requester's hold on a lock (or its place in the queue). */
interface Holder {
  node: string;
  req: number;
}

interface QueuedHolder extends Holder {
  reply: (granted: boolean) => void;
}

interface Lock {
  holder: Holder;
  queue: QueuedHolder[];
}

/** The boss's answer to a CLAIM: refused, granted (with the peers it relayed the ADD to), or lost. */
type ClaimAnswer = false | { relayed: string[] } | "retry";

/** Something this node waits for from peers. */
type Wait =
  | { kind: "lock"; node: string; resolve: (granted: boolean | "retry") => void }
  | {
    kind: "claim";
    node: string;
    resolve: (granted: ClaimAnswer) => void;
    /** Peers whose ACK of the boss's relayed ADD arrived before the answer. */
    acked: Set<string>;
  }
  | { kind: "acks"; nodes: Set<string>; resolve: () => void }
  | { kind: "request"; node: string; resolve: (result: boolean) => void };

/** The global name server of a node, in its context. */
export const GLOBAL_NAMES: ServiceKey<GlobalNames> = new ServiceKey("global");

/**
 * The global name server of one node.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const b = await startNode({ name: "b@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await a.connect(`b@127.0.0.1:${b.port}`);
 * await a.global.sync();
 * const me = a.runtime.open();
 * console.assert(await a.global.register("db", me.self));
 * // b has it once a's ADD (or the boss's relay) has arrived.
 * while (b.global.whereis("db") === undefined) await new Promise((r) => setTimeout(r, 1));
 * console.assert(b.global.whereis("db")?.equals(me.self));
 * await a.stop();
 * await b.stop();
 * ```
 */
export class GlobalNames implements NameRegistry {
  /** This node's name. */
  readonly node: string;
  #runtime: Runtime;
  #svc: NodeService;
  /** name -> the registration every node would keep (the earliest when several are known). */
  #names = new Map<string, GlobalEntry>();
  /** name -> the other registrations of a name in conflict, until it is decided. */
  #candidates = new Map<string, GlobalEntry[]>();
  /** Names of each local process, and its monitor. */
  #local = new Map<string, { names: Set<string>; ref: Ref }>();
  /** Custom resolvers of local registrations, by name. */
  #resolvers = new Map<string, GlobalResolver>();
  /** Names whose conflict this node is deciding now. */
  #resolving = new Set<string>();
  /** `trans` locks held on this node, by id. */
  #locks = new Map<string, Lock>();
  /** What this node waits for, by request number. */
  #waits = new Map<number, Wait>();
  #nextReq = 1;
  /** Peers whose SYNC arrived on the current connection: they run global. */
  #synced = new Set<string>();
  #syncWaiters = new Set<() => void>();
  /** ACKs of relayed ADDs that came with or after the boss's answer, by request, until #awaitAdds takes them. */
  #early = new Map<number, Set<string>>();
  /** `trans` locks held by local processes (re-entry), by pid key + lock id. */
  #held = new Map<string, number>();

  /**
   * Starts the name server of a node (`startNode` does this) and plugs it
   * in as the resolver of `{ global: name }` server names.
   *
   * @param options the node's runtime and kernel
   * @throws {ServiceAlreadyRunningError} when a global name server already runs on the node
   */
  constructor(options: GlobalNamesOptions) {
    this.#runtime = options.runtime;
    this.node = options.runtime.node;
    if (options.runtime.context.get(GLOBAL_NAMES) !== undefined) {
      throw new ServiceAlreadyRunningError(GLOBAL_NAMES.name, this.node);
    }
    const kernel = options.kernel;
    this.#svc = new NodeService(options.runtime, kernel, {
      name: GLOBAL_SERVER_NAME,
      peerUp: (node) => this.#peerUp(node),
      peerDown: (node) => this.#peerDown(node),
      info: (msg) => this.#info(msg),
    });
    const on = (op: number, handler: (node: string, f: unknown[]) => void) =>
      kernel.ops.register("global", op, (node, fields) => {
        if (this.#svc.observe(node)) handler(node, fields);
      });
    on(OP_GLOBAL_SYNC, (node, f) => this.#onSync(node, f));
    on(OP_GLOBAL_CLAIM, (node, f) => this.#onClaim(node, f));
    on(OP_GLOBAL_CLAIM_REPLY, (node, f) => this.#onClaimReply(node, f));
    on(OP_GLOBAL_LOCK, (node, f) => this.#onLock(node, f));
    on(OP_GLOBAL_LOCK_REPLY, (node, f) => this.#onLockReply(node, f));
    on(OP_GLOBAL_UNLOCK, (node, f) => this.#onUnlock(node, f));
    on(OP_GLOBAL_ADD, (node, f) => this.#onAdd(node, f));
    on(OP_GLOBAL_DEL, (node, f) => this.#onDel(node, f));
    on(OP_GLOBAL_ACK, (node, f) => this.#onAck(node, f));
    on(OP_GLOBAL_RESOLVED, (node, f) => this.#onResolved(node, f));
    on(OP_GLOBAL_REQUEST, (node, f) => this.#onRequest(node, f));
    on(OP_GLOBAL_REPLY, (node, f) => this.#onReply(node, f));
    options.runtime.context.provide(GLOBAL_NAMES, this);
    setGlobalNameRegistry(options.runtime, this);
    this.#svc.start();
  }

  // ---------------------------------------------------------------- public

  /**
   * Registers `pid` under `name` in the whole cluster.
   *
   * @param name the name
   * @param pid the process (of any connected node); default the calling process
   * @param options a custom conflict resolver (for a process of this node)
   * @returns `true` once every connected node knows the name (as OTP's
   *   `global:register_name`); `false` when the name is taken anywhere,
   *   the process is dead, or its node is not connected
   * @throws {TypeError} when `name` is not a non-empty string or `pid` is not a pid
   * @throws {NotAliveError} when the name server has stopped
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const pid = node.runtime.open().self;
   * console.assert(await node.global.register("logger", pid));
   * console.assert(node.global.registered().includes("logger"));
   * await node.stop();
   * ```
   */
  register(name: string, pid?: Pid, options: RegisterOptions = {}): Promise<boolean> {
    checkName(name, "register");
    const target = pid ?? this.#caller("register");
    if (!(target instanceof Pid)) {
      throw new TypeError(`Cannot register "${name}" globally: expected a pid`);
    }
    const resolve = options.resolve;
    if (resolve !== undefined && typeof resolve !== "function") {
      throw new TypeError(`Cannot register "${name}" globally: resolve must be a function`);
    }
    this.#alive("register");
    if (target.node === this.node) return this.#registerLocal(name, target, resolve);
    if (resolve !== undefined) {
      throw new TypeError(
        `Cannot register "${name}" globally with a resolver: ${target} is not a process of ${this.node}`,
      );
    }
    if (this.#names.has(name)) return Promise.resolve(false);
    return this.#request(target.node, "register", name, target);
  }

  /** {@linkcode NameRegistry} for `{ global: name }` server names. */
  registerName(key: unknown, pid: Pid): Promise<boolean> {
    return this.register(key as string, pid);
  }

  /**
   * Removes the registration of `name` everywhere (nothing when there is none).
   *
   * @param name the name
   * @throws {TypeError} when `name` is not a non-empty string
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * await node.global.register("x", node.runtime.open().self);
   * await node.global.unregister("x");
   * console.assert(node.global.whereis("x") === undefined);
   * await node.stop();
   * ```
   */
  async unregister(name: string): Promise<void> {
    checkName(name, "unregister");
    this.#alive("unregister");
    const entry = this.#names.get(name);
    if (entry === undefined) return;
    if (entry.pid.node === this.node) await this.#unregisterLocal(name, entry.pid);
    else await this.#request(entry.pid.node, "unregister", name, entry.pid);
  }

  /** {@linkcode NameRegistry} for `{ global: name }` server names. */
  unregisterName(key: unknown): Promise<void> {
    return this.unregister(key as string);
  }

  /**
   * The process registered as `name`, from this node's copy of the table.
   *
   * @param name the name
   * @returns its pid, or `undefined`
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * console.assert(node.global.whereis("nobody") === undefined);
   * await node.stop();
   * ```
   */
  whereis(name: string): Pid | undefined {
    return this.#names.get(name)?.pid;
  }

  /** {@linkcode NameRegistry} for `{ global: name }` server names. */
  whereisName(key: unknown): Pid | undefined {
    return typeof key === "string" ? this.whereis(key) : undefined;
  }

  /**
   * Sends `msg` to the process registered as `name`.
   *
   * @param name the name
   * @param msg the message
   * @returns the pid it was sent to
   * @throws {NameError} when no process is registered as `name`
   * @throws {TypeError} when `msg` cannot cross the wire
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const me = node.runtime.open();
   * await node.global.register("me", me.self);
   * node.global.send("me", "hi");
   * console.assert((await me.receive()) === "hi");
   * await node.stop();
   * ```
   */
  send(name: string, msg: unknown): Pid {
    const pid = this.#names.get(name)?.pid;
    if (pid === undefined) {
      throw new NameError(`Cannot send: no process is registered globally as "${name}"`);
    }
    this.#runtime.send(pid, msg);
    return pid;
  }

  /**
   * Every globally registered name, as this node sees them.
   *
   * @returns the names
   */
  registered(): string[] {
    return [...this.#names.keys()];
  }

  /**
   * Runs `fn` while holding the cluster-wide lock `lockId` (OTP's
   * `global:trans`). Re-entrant for the calling process; released when
   * `fn` settles, or when this node is lost.
   *
   * @param lockId the lock
   * @param fn what to run under it
   * @param options retries
   * @returns what `fn` returns
   * @throws {TimeoutError} when the lock could not be taken within `retries`
   * @throws {TypeError} when `lockId` is not a string or `fn` not a function
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const result = await node.global.trans("counter", () => 42);
   * console.assert(result === 42);
   * await node.stop();
   * ```
   */
  async trans<T>(lockId: string, fn: () => T | Promise<T>, options: TransOptions = {}): Promise<T> {
    checkName(lockId, "trans", "lock id");
    if (typeof fn !== "function") throw new TypeError("Cannot trans: expected a function");
    const retries = options.retries ?? Infinity;
    if (!(retries >= 0)) throw new RangeError(`Cannot trans: retries must be >= 0`);
    this.#alive("trans");
    let caller: string | undefined;
    try {
      const ctx = current();
      if (ctx.runtime === this.#runtime) caller = ctx.self.key;
    } catch {
      // Outside any process: not re-entrant.
    }
    const heldKey = caller !== undefined ? `${caller}\0${lockId}` : undefined;
    if (heldKey !== undefined && this.#held.has(heldKey)) {
      this.#held.set(heldKey, this.#held.get(heldKey)! + 1);
      try {
        return await fn();
      } finally {
        this.#held.set(heldKey, this.#held.get(heldKey)! - 1);
      }
    }
    const taken = await this.#takeTransLock(lockId, retries);
    if (heldKey !== undefined) this.#held.set(heldKey, 1);
    try {
      return await fn();
    } finally {
      if (heldKey !== undefined) this.#held.delete(heldKey);
      for (const [node, req] of taken) this.#unlock(node, lockId, req);
    }
  }

  /**
   * Waits until this node has exchanged registrations with every
   * connected node (OTP's `global:sync/0`).
   *
   * @param options the deadline
   * @throws {TimeoutError} when some node has not answered in time
   */
  sync(options: SyncOptions = {}): Promise<void> {
    const timeout = options.timeout ?? 5000;
    const done = () =>
      this.#svc.stopped || this.#svc.kernel.nodes().every((n) => this.#synced.has(n));
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#syncWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#syncWaiters.delete(check);
        const missing = this.#svc.kernel.nodes().filter((n) => !this.#synced.has(n));
        reject(
          new TimeoutError(
            `Cannot sync global names within ${timeout} ms: no answer from ${missing.join(", ")}`,
          ),
        );
      }, timeout);
      this.#syncWaiters.add(check);
    });
  }

  /** Stops the name server; idempotent. The node's peers drop its registrations when it leaves. */
  async stop(): Promise<void> {
    this.#runtime.context.remove(GLOBAL_NAMES, this);
    setGlobalNameRegistry(this.#runtime, undefined);
    this.#svc.kernel.ops.unregister("global");
    await this.#svc.stop();
    for (const [req, w] of this.#waits) {
      this.#waits.delete(req);
      if (w.kind === "lock") w.resolve(false);
      else if (w.kind === "claim") w.resolve(false);
      else if (w.kind === "acks") w.resolve();
      else w.resolve(false);
    }
    for (const lock of this.#locks.values()) {
      for (const q of lock.queue.splice(0)) q.reply(false);
    }
    this.#locks.clear();
    this.#early.clear();
    for (const check of [...this.#syncWaiters]) check();
  }

  // ---------------------------------------------------------------- registering

  async #registerLocal(name: string, pid: Pid, resolve?: GlobalResolver): Promise<boolean> {
    if (this.#names.has(name) || !this.#runtime.isAlive(pid)) return false;
    const entry: GlobalEntry = { name, pid, at: Date.now(), resolver: resolve !== undefined };
    const fields = [name, pid, entry.at, entry.resolver];
    for (;;) {
      const boss = this.#boss();
      const req = this.#nextReq++;
      if (boss !== this.node) {
        const answer = await this.#claim(boss, req, fields);
        if (answer === "retry") continue; // the boss was lost: ask the next one
        if (answer === false || this.#svc.stopped) return false;
        this.#insert(entry);
        if (resolve !== undefined) this.#resolvers.set(name, resolve);
        await this.#awaitAdds(req, boss, answer.relayed, fields);
        return true;
      }
      // This node decides: check and take the name here.
      const current = this.#names.get(name);
      if (this.#svc.stopped || (current !== undefined && !current.pid.equals(pid))) return false;
      this.#insert(entry);
      if (resolve !== undefined) this.#resolvers.set(name, resolve);
      await this.#sendAwait(req, OP_GLOBAL_ADD, [req, ...fields]);
      return true;
    }
  }

  /** Sends CLAIM to the boss; resolves with its answer, or "retry" when it is lost. */
  #claim(boss: string, req: number, fields: unknown[]): Promise<ClaimAnswer> {
    if (!this.#svc.isPeer(boss)) return Promise.resolve("retry");
    return new Promise((resolve) => {
      this.#waits.set(req, { kind: "claim", node: boss, resolve, acked: new Set() });
      this.#svc.send(boss, OP_GLOBAL_CLAIM, [req, ...fields]);
    });
  }

  /**
   * After a granted CLAIM: sends ADD to the peers of this node the boss
   * did not relay it to, and waits for the ACK of every synced peer but
   * the boss (the ACKs of relayed ADDs may have come already).
   */
  #awaitAdds(req: number, boss: string, relayed: string[], fields: unknown[]): Promise<void> {
    const early = this.#early.get(req) ?? new Set<string>();
    this.#early.delete(req);
    const reached = new Set(relayed);
    const nodes = new Set<string>();
    for (const n of this.#synced) {
      if (n === boss || !this.#svc.isPeer(n)) continue;
      if (!reached.has(n)) this.#svc.send(n, OP_GLOBAL_ADD, [req, ...fields]);
      if (!early.has(n)) nodes.add(n);
    }
    if (nodes.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waits.set(req, { kind: "acks", nodes, resolve }));
  }

  async #unregisterLocal(name: string, pid: Pid): Promise<boolean> {
    if (!this.#remove(name, pid)) return false;
    const req = this.#nextReq++;
    await this.#sendAwait(req, OP_GLOBAL_DEL, [req, name, pid]);
    return true;
  }

  /** Asks the node that owns `pid` to register / unregister it. */
  #request(
    node: string,
    what: "register" | "unregister",
    name: string,
    pid: Pid,
  ): Promise<boolean> {
    if (!this.#synced.has(node)) return Promise.resolve(false);
    const req = this.#nextReq++;
    return new Promise((resolve) => {
      this.#waits.set(req, { kind: "request", node, resolve });
      this.#svc.send(node, OP_GLOBAL_REQUEST, [req, what, name, pid]);
    });
  }

  /** Sends to every peer and waits for the ACK of each that runs global. */
  #sendAwait(req: number, op: number, fields: unknown[]): Promise<void> {
    this.#svc.sendAll(op, fields);
    const nodes = new Set([...this.#synced].filter((n) => this.#svc.isPeer(n)));
    if (nodes.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waits.set(req, { kind: "acks", nodes, resolve }));
  }

  // ---------------------------------------------------------------- the table

  /** Adds a registration this node now knows (its own, or from its owner). */
  #insert(entry: GlobalEntry): void {
    const current = this.#names.get(entry.name);
    if (entry.pid.node === this.node) this.#track(entry);
    if (current === undefined) {
      this.#names.set(entry.name, entry);
      return;
    }
    if (current.pid.equals(entry.pid)) {
      current.at = entry.at;
      current.resolver = entry.resolver;
      return;
    }
    const others = this.#candidates.get(entry.name) ?? [];
    const same = others.findIndex((e) => e.pid.equals(entry.pid));
    if (same >= 0) others[same] = entry;
    else others.push(entry);
    this.#candidates.set(entry.name, others);
    this.#settle(entry.name);
  }

  /**
   * Removes `name -> pid` if known (table or candidates).
   *
   * @returns whether it was there
   */
  #remove(name: string, pid: Pid): boolean {
    let found = false;
    const current = this.#names.get(name);
    const others = this.#candidates.get(name);
    if (current?.pid.equals(pid)) {
      found = true;
      if (others !== undefined && others.length > 0) {
        this.#names.set(name, others.shift()!);
      } else {
        this.#names.delete(name);
      }
    } else if (others !== undefined) {
      const i = others.findIndex((e) => e.pid.equals(pid));
      if (i >= 0) {
        others.splice(i, 1);
        found = true;
      }
    }
    if (others !== undefined && others.length === 0) this.#candidates.delete(name);
    if (found && pid.node === this.node) this.#untrack(name, pid);
    if (found) this.#settle(name);
    return found;
  }

  /** Keeps the preferred registration of a name in the table; its owner decides a conflict. */
  #settle(name: string): void {
    const current = this.#names.get(name);
    const others = this.#candidates.get(name);
    if (current === undefined || others === undefined || others.length === 0) return;
    const all = [current, ...others].sort(preferred);
    this.#names.set(name, all[0]!);
    this.#candidates.set(name, all.slice(1));
    if (all[0]!.pid.node === this.node && !this.#resolving.has(name)) {
      this.#resolving.add(name);
      this.#decide(name).finally(() => this.#resolving.delete(name)).catch((e) =>
        log.error("Cannot resolve the conflict over {name}: {error}", { name, error: e })
      );
    }
  }

  /** This node owns the preferred registration of `name`: settle each conflict over it. */
  async #decide(name: string): Promise<void> {
    for (;;) {
      const first = this.#names.get(name);
      const second = this.#candidates.get(name)?.[0];
      if (first === undefined || second === undefined || first.pid.node !== this.node) return;
      const resolver = this.#resolvers.get(name);
      let keep: Pid | undefined = first.pid;
      if (resolver !== undefined) {
        try {
          keep = await resolver(name, first.pid, second.pid);
        } catch (e) {
          log.warning("Resolver of {name} failed ({error}); keeping the earlier registration", {
            name,
            error: e,
          });
          keep = first.pid;
        }
        if (keep !== undefined && !first.pid.equals(keep) && !second.pid.equals(keep)) {
          log.warning("Resolver of {name} returned {keep}, neither {a} nor {b}; keeping {a}", {
            name,
            keep,
            a: first.pid,
            b: second.pid,
          });
          keep = first.pid;
        }
        // The table may have moved on while the resolver ran.
        if (this.#names.get(name) !== first || this.#candidates.get(name)?.[0] !== second) continue;
      }
      const losers = [first.pid, second.pid].filter((p) => keep === undefined || !p.equals(keep));
      log.info("Name conflict over {name}: keeping {keep}, dropping {losers}", {
        name,
        keep: keep ?? "neither",
        losers,
      });
      this.#svc.sendAll(OP_GLOBAL_RESOLVED, [name, keep ?? null, losers]);
      this.#resolved(name, keep, losers);
    }
  }

  /** Applies the outcome of a conflict: losers are dropped, and told so by their own node. */
  #resolved(name: string, keep: Pid | undefined, losers: Pid[]): void {
    for (const pid of losers) {
      if (keep !== undefined && pid.equals(keep)) continue;
      const local = pid.node === this.node;
      if (!this.#remove(name, pid) || !local) continue;
      this.#runtime.send(
        pid,
        {
          type: "global_name_conflict",
          name,
          other: keep,
        } satisfies GlobalNameConflictMessage,
      );
      // For peers the decider does not reach.
      this.#svc.sendAll(OP_GLOBAL_DEL, [0, name, pid]);
    }
    // What remains is settled by #remove: the kept registration is in the table.
  }

  #track(entry: GlobalEntry): void {
    const key = entry.pid.key;
    const local = this.#local.get(key);
    if (local !== undefined) {
      local.names.add(entry.name);
      return;
    }
    const ref = this.#svc.ctx.monitor(entry.pid);
    this.#local.set(key, { names: new Set([entry.name]), ref });
  }

  #untrack(name: string, pid: Pid): void {
    const local = this.#local.get(pid.key);
    if (local === undefined) return;
    local.names.delete(name);
    // At most one registration of a name is this node's: its resolver goes with it.
    this.#resolvers.delete(name);
    if (local.names.size > 0) return;
    this.#local.delete(pid.key);
    this.#svc.ctx.demonitor(local.ref, { flush: true });
  }

  // ---------------------------------------------------------------- locks

  /** The node that serialises registrations (and `trans`): the smallest name among the synced peers and this one. */
  #boss(): string {
    let boss = this.node;
    for (const n of this.#synced) if (n < boss && this.#svc.isPeer(n)) boss = n;
    return boss;
  }

  /** Takes a lock on `node` (this one or a peer). */
  #lock(node: string, req: number, id: string, queue: boolean): Promise<boolean | "retry"> {
    if (node === this.node) {
      return new Promise((resolve) =>
        this.#acquire(id, { node, req }, queue, (granted) => resolve(granted))
      );
    }
    if (!this.#svc.isPeer(node)) return Promise.resolve("retry");
    return new Promise((resolve) => {
      this.#waits.set(req, { kind: "lock", node, resolve });
      this.#svc.send(node, OP_GLOBAL_LOCK, [req, id, queue]);
    });
  }

  #unlock(node: string, id: string, req: number): void {
    if (node === this.node) this.#release(id, { node, req });
    else this.#svc.send(node, OP_GLOBAL_UNLOCK, [req, id]);
  }

  /**
   * `trans`: the boss's lock (queued when retrying for ever), then every
   * other peer's (a refusal releases them all and retries after a random
   * pause).
   *
   * @returns each node holding the lock for us, with the request it knows it by
   */
  async #takeTransLock(id: string, retries: number): Promise<Array<[string, number]>> {
    for (let attempt = 0;;) {
      const boss = this.#boss();
      const req = this.#nextReq++;
      // For ever: wait in the boss's queue. With a bound: ask, and retry when held.
      const first = await this.#lock(boss, req, id, retries === Infinity);
      this.#alive("trans");
      if (first === "retry") continue; // the boss was lost: ask the next one
      const taken: Array<[string, number]> = [];
      if (first === true) {
        taken.push([boss, req]);
        const others = [this.node, ...this.#synced].filter((n) =>
          n !== boss && (n === this.node || this.#svc.isPeer(n))
        );
        const results = await Promise.all(others.map(async (n) => {
          const r = this.#nextReq++;
          return [n, r, await this.#lock(n, r, id, false)] as const;
        }));
        for (const [n, r, granted] of results) if (granted === true) taken.push([n, r]);
        if (results.every(([, , granted]) => granted === true)) return taken;
      }
      for (const [n, r] of taken) this.#unlock(n, id, r);
      if (++attempt > retries) {
        throw new TimeoutError(
          `Cannot take lock "${id}": still held elsewhere after ${retries} retries`,
        );
      }
      const pause = Math.floor(Math.random() * 10 * Math.min(attempt, 10));
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** Takes a lock held on this node for `holder`, or queues it. */
  #acquire(id: string, holder: Holder, queue: boolean, reply: (granted: boolean) => void): void {
    const lock = this.#locks.get(id);
    if (lock === undefined) {
      this.#locks.set(id, { holder, queue: [] });
      return reply(true);
    }
    if (!queue) return reply(false);
    lock.queue.push({ ...holder, reply });
  }

  /** Releases `holder`'s lock (or its place in the queue) and grants the next. */
  #release(id: string, holder: Holder): void {
    const lock = this.#locks.get(id);
    if (lock === undefined) return;
    if (lock.holder.node !== holder.node || lock.holder.req !== holder.req) {
      const i = lock.queue.findIndex((q) => q.node === holder.node && q.req === holder.req);
      if (i >= 0) lock.queue.splice(i, 1);
      return;
    }
    this.#locks.delete(id);
    const next = lock.queue.shift();
    if (next === undefined) return;
    this.#locks.set(id, { holder: { node: next.node, req: next.req }, queue: lock.queue });
    next.reply(true);
  }

  // ---------------------------------------------------------------- peers

  /** Sent when a connection to `node` comes up: this node's own registrations. */
  #peerUp(node: string): void {
    const own: unknown[] = [];
    const add = (e: GlobalEntry) => {
      if (e.pid.node === this.node) own.push([e.name, e.pid, e.at, e.resolver]);
    };
    for (const e of this.#names.values()) add(e);
    for (const list of this.#candidates.values()) list.forEach(add);
    this.#svc.send(node, OP_GLOBAL_SYNC, [GLOBAL_VERSION, own]);
  }

  /** The connection to `node` is gone: its registrations, locks and answers with it. */
  #peerDown(node: string): void {
    this.#synced.delete(node);
    const gone: [string, Pid][] = [];
    for (const e of this.#names.values()) if (e.pid.node === node) gone.push([e.name, e.pid]);
    for (const list of this.#candidates.values()) {
      for (const e of list) if (e.pid.node === node) gone.push([e.name, e.pid]);
    }
    for (const [name, pid] of gone) this.#remove(name, pid);
    for (const [id, lock] of [...this.#locks]) {
      lock.queue = lock.queue.filter((q) => q.node !== node);
      if (lock.holder.node === node) this.#release(id, lock.holder);
    }
    for (const [req, w] of [...this.#waits]) {
      if (w.kind === "acks") {
        w.nodes.delete(node);
        if (w.nodes.size === 0) {
          this.#waits.delete(req);
          w.resolve();
        }
      } else if (w.node === node) {
        this.#waits.delete(req);
        if (w.kind === "lock" || w.kind === "claim") w.resolve("retry");
        else w.resolve(false);
      }
    }
    for (const check of [...this.#syncWaiters]) check();
  }

  /** A message of the server process: a registered local process went down. */
  #info(msg: unknown): void {
    const down = msg as DownMessage;
    if (down?.type !== "DOWN" || !(down.pid instanceof Pid)) return;
    const local = this.#local.get(down.pid.key);
    if (local === undefined) return;
    for (const name of [...local.names]) {
      if (this.#remove(name, down.pid)) this.#svc.sendAll(OP_GLOBAL_DEL, [0, name, down.pid]);
    }
  }

  // ---------------------------------------------------------------- operations from peers

  /** SYNC, sent by the global name server of `node` when our connection came up. */
  #onSync(node: string, f: unknown[]): void {
    const [version, entries] = f;
    if (typeof version !== "number" || !Array.isArray(entries)) throw malformed("SYNC");
    if (version !== GLOBAL_VERSION) {
      log.warning("{node} speaks global version {version}, not {ours}; ignoring its names", {
        node,
        version,
        ours: GLOBAL_VERSION,
      });
      return;
    }
    for (const raw of entries) {
      const e = entryOf(raw, "SYNC");
      if (e.pid.node === node) this.#insert(e);
    }
    this.#synced.add(node);
    for (const check of [...this.#syncWaiters]) check();
  }

  /** LOCK, sent by the name server of `node` that wants a lock held here. */
  #onLock(node: string, f: unknown[]): void {
    const [req, id, queue] = f;
    if (!isReq(req) || typeof id !== "string" || typeof queue !== "boolean") {
      throw malformed("LOCK");
    }
    this.#acquire(
      id,
      { node, req },
      queue,
      (granted) => this.#svc.send(node, OP_GLOBAL_LOCK_REPLY, [req, granted]),
    );
  }

  /** LOCK_REPLY, sent by the name server of `node` we asked for a lock. */
  #onLockReply(node: string, f: unknown[]): void {
    const [req, granted] = f;
    if (!isReq(req) || typeof granted !== "boolean") throw malformed("LOCK_REPLY");
    const w = this.#waits.get(req);
    if (w?.kind !== "lock" || w.node !== node) return;
    this.#waits.delete(req);
    w.resolve(granted);
  }

  /** UNLOCK, sent by the name server of `node` that held (or asked for) a lock here. */
  #onUnlock(node: string, f: unknown[]): void {
    const [req, id] = f;
    if (!isReq(req) || typeof id !== "string") throw malformed("UNLOCK");
    this.#release(id, { node, req });
  }

  /** CLAIM, sent by the name server of `node`, which takes this node for the boss. */
  #onClaim(node: string, f: unknown[]): void {
    const [req, ...rest] = f;
    if (!isReq(req)) throw malformed("CLAIM");
    const e = entryOf(rest, "CLAIM");
    if (e.pid.node !== node) throw malformed("CLAIM");
    const current = this.#names.get(e.name);
    if (this.#svc.stopped || (current !== undefined && !current.pid.equals(e.pid))) {
      this.#svc.send(node, OP_GLOBAL_CLAIM_REPLY, [req, false]);
      return;
    }
    this.#insert(e);
    const relayed: string[] = [];
    for (const peer of this.#svc.peers()) {
      if (peer === node) continue;
      // The peer acknowledges to the claimant, which waits for it.
      this.#svc.send(peer, OP_GLOBAL_ADD, [req, ...rest]);
      relayed.push(peer);
    }
    this.#svc.send(node, OP_GLOBAL_CLAIM_REPLY, [req, true, relayed]);
  }

  /** CLAIM_REPLY, sent by the boss `node` we sent a CLAIM to. */
  #onClaimReply(node: string, f: unknown[]): void {
    const [req, granted, relayed = []] = f;
    if (
      !isReq(req) || typeof granted !== "boolean" || !Array.isArray(relayed) ||
      !relayed.every((n) => typeof n === "string")
    ) throw malformed("CLAIM_REPLY");
    const w = this.#waits.get(req);
    if (w?.kind !== "claim" || w.node !== node) return;
    this.#waits.delete(req);
    if (!granted) return w.resolve(false);
    // ACKs arriving before #awaitAdds runs are kept here for it.
    this.#early.set(req, w.acked);
    w.resolve({ relayed: relayed as string[] });
  }

  /**
   * ADD, sent by the name server of the registration's node, or relayed
   * by the boss (`node`) for it: taken only while that node is connected,
   * in the incarnation of the pid; acknowledged to that node when req > 0.
   */
  #onAdd(node: string, f: unknown[]): void {
    const [req, ...rest] = f;
    if (!isReq(req) && req !== 0) throw malformed("ADD");
    const e = entryOf(rest, "ADD");
    const owner = e.pid.node;
    if (owner !== node && this.#svc.kernel.peer(owner)?.creation !== e.pid.creation) return;
    if (owner !== node && !this.#svc.isPeer(owner)) return;
    this.#insert(e);
    if ((req as number) > 0) this.#svc.send(owner, OP_GLOBAL_ACK, [req]);
  }

  /** DEL, sent by the name server of `node`, which owns the registration. */
  #onDel(node: string, f: unknown[]): void {
    const [req, name, pid] = f;
    if ((!isReq(req) && req !== 0) || typeof name !== "string" || !(pid instanceof Pid)) {
      throw malformed("DEL");
    }
    if (pid.node === node) this.#remove(name, pid);
    if ((req as number) > 0) this.#svc.send(node, OP_GLOBAL_ACK, [req]);
  }

  /** ACK, sent by the name server of `node` that applied our ADD or DEL. */
  #onAck(node: string, f: unknown[]): void {
    const [req] = f;
    if (!isReq(req)) throw malformed("ACK");
    const w = this.#waits.get(req);
    if (w?.kind === "claim") w.acked.add(node);
    this.#early.get(req)?.add(node);
    if (w?.kind !== "acks") return;
    w.nodes.delete(node);
    if (w.nodes.size === 0) {
      this.#waits.delete(req);
      w.resolve();
    }
  }

  /** RESOLVED, sent by the name server of `node`, which decided a conflict. */
  #onResolved(_node: string, f: unknown[]): void {
    const [name, keep, losers] = f;
    if (
      typeof name !== "string" || !(keep === null || keep instanceof Pid) ||
      !Array.isArray(losers) || !losers.every((p) => p instanceof Pid)
    ) throw malformed("RESOLVED");
    this.#resolved(name, keep ?? undefined, losers as Pid[]);
  }

  /** REQUEST, sent by the name server of `node` for a process of this node. */
  #onRequest(node: string, f: unknown[]): void {
    const [req, what, name, pid] = f;
    if (
      !isReq(req) || (what !== "register" && what !== "unregister") || typeof name !== "string" ||
      name === "" || !(pid instanceof Pid)
    ) throw malformed("REQUEST");
    const reply = (result: boolean): void => {
      this.#svc.send(node, OP_GLOBAL_REPLY, [req, result]);
    };
    if (pid.node !== this.node) return reply(false);
    const run = what === "register"
      ? this.#registerLocal(name, pid)
      : this.#unregisterLocal(name, pid);
    run.then(reply, (e) => {
      log.error("Cannot {what} {name} for {node}: {error}", { what, name, node, error: e });
      reply(false);
    });
  }

  /** REPLY, sent by the name server of `node` we sent a REQUEST to. */
  #onReply(node: string, f: unknown[]): void {
    const [req, result] = f;
    if (!isReq(req) || typeof result !== "boolean") throw malformed("REPLY");
    const w = this.#waits.get(req);
    if (w?.kind !== "request" || w.node !== node) return;
    this.#waits.delete(req);
    w.resolve(result);
  }

  // ---------------------------------------------------------------- helpers

  #caller(what: string): Pid {
    return callerOn(this.#runtime, what);
  }

  #alive(what: string): void {
    if (this.#svc.stopped) {
      throw new NotAliveError(`Cannot ${what}: the global name server of ${this.node} has stopped`);
    }
  }
}

/**
 * The global name server of the node `runtime` belongs to.
 *
 * @param runtime the node's runtime
 * @returns its name server
 * @throws {NotAliveError} when none runs there (the runtime is not a node started with `startNode`)
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { globalNamesOf } from "./name_server.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(globalNamesOf(node.runtime) === node.global);
 * await node.stop();
 * ```
 */
export function globalNamesOf(runtime: Runtime): GlobalNames {
  const svc = runtime.context.get(GLOBAL_NAMES);
  if (svc === undefined) {
    throw new NotAliveError(
      `Cannot use global names: no global name server runs on ${runtime.node} (start the node with startNode)`,
    );
  }
  return svc;
}

/** The default order of two registrations of one name: the earlier first, then node name, then pid. */
function preferred(a: GlobalEntry, b: GlobalEntry): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.pid.node !== b.pid.node) return a.pid.node < b.pid.node ? -1 : 1;
  if (a.pid.id !== b.pid.id) return a.pid.id - b.pid.id;
  return a.pid.serial - b.pid.serial;
}

function checkName(name: unknown, what: string, label = "name"): asserts name is string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot ${what}: the ${label} must be a non-empty string, received ${
        typeof name === "string" ? '""' : typeof name
      }`,
    );
  }
}

function entryOf(raw: unknown, op: string): GlobalEntry {
  if (!Array.isArray(raw)) throw malformed(op);
  const [name, pid, at, resolver] = raw;
  if (
    typeof name !== "string" || name === "" || !(pid instanceof Pid) || typeof at !== "number" ||
    typeof resolver !== "boolean"
  ) throw malformed(op);
  return { name, pid, at, resolver };
}

function isReq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function malformed(op: string): DecodeError {
  return new DecodeError(`Malformed global ${op} operation`);
}
