/**
 * A distributed registry: keys that name processes anywhere in the
 * cluster, with a value (metadata) per entry, as Horde.Registry and
 * Elixir's Registry. Keys are `unique` (one process per key) or
 * `duplicate` (any number). Lookups are served from this node's replica,
 * without a round trip. A `DistRegistry` is a name service, so
 * `{ via: registry, key }` names a GenServer, a supervisor, or the
 * destination of `send`.
 *
 * ```
 * register(k, v)       from the process itself (or for a local pid): check the
 *                      replica (unique: KeyTakenError with the holder), write
 *                      field k into this node's map, monitor the process
 *                      A's map ---- delta ----> every node (NodeTables, replicator)
 * the process exits    DOWN -> its fields are removed from A's map -> deltas
 * node A is lost       every node hides A's fields at nodedown (and shows them
 *                      again if A comes back with the same incarnation)
 * heal with k on A and B (unique):
 *   every node ranks the two pids the same way (node, creation, id): one winner
 *   the loser's node: confirm the winner is alive (monitor + ping round trip)
 *     loser  <--- call {handoff: "begin", key, winner} --- A   (its state, or not)
 *     winner <--- cast {handoff: "end", key, state, from} --- A  when it answered
 *                 {resume: state}
 *     loser  <--- exit {name_conflict: {registry, key, winner}}
 * ```
 *
 * Failure. A node never removes another node's entries: it hides them
 * while that node is away, so a partition that heals cannot delete a live
 * process's entry (horde#186). A conflict is settled only by the loser's
 * node, and only once the winner is confirmed alive, so the key never ends
 * with no holder. In quorum mode a node that does not see a majority of
 * the members refuses to register unique keys ({@linkcode NoQuorumError})
 * and stops the holders it has (`{quorum_lost: registry}`), so two live
 * holders never coexist across a partition.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const workers = node.distributed.registry("workers");
 * await runInProcess(node.runtime.open(), async () => {
 *   await workers.register("w1", { role: "db" });
 * });
 * console.assert(workers.lookup<{ role: string }>("w1")[0]?.value.role === "db");
 * await node.stop();
 * ```
 *
 * @module
 */

import { describeType, KeyTakenError, NoQuorumError } from "../errors.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { GenServer } from "../otp/gen_server.ts";
import type { NameRegistry } from "../otp/name.ts";
import { callerOn, runInProcess } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage } from "../process/types.ts";
import type { Replicator } from "../replicator/replicator.ts";
import { Pid, type Ref } from "../term/pid.ts";
import { type FieldChange, MEMBER_FIELD, NodeTables } from "./_node_tables.ts";

const log = logger("distributed");

/** Milliseconds between two looks at this node's unique keys for conflicts. */
const SWEEP_INTERVAL = 2000;

/** How many processes a key may name. */
export type KeyKind = "unique" | "duplicate";

/** A registry key: a string, a number, a boolean, or an array of those. */
export type RegistryKey = string | number | boolean | readonly RegistryKey[];

/** Options of a distributed registry (`node.distributed.registry(name, options)`). */
export interface DistRegistryOptions {
  /** `"unique"` (default) or `"duplicate"`. */
  keys?: KeyKind;
  /**
   * Quorum mode: only a node that sees a majority of `members` registers
   * unique keys, and holders on the minority side are stopped. Default `false`.
   */
  quorum?: boolean;
  /** `"auto"` (every node that runs the registry, default) or a list of node names. */
  members?: "auto" | readonly string[];
  /** Milliseconds a loser has to hand its state over in a conflict. Default 5000. */
  handoffTimeout?: number;
  /**
   * Whether a process of this node is a distributed supervisor's child: its
   * supervisor settles its conflicts (with the same winner), so the
   * registry leaves it alone and the state is handed over once. Set by
   * `node.distributed`.
   */
  supervised?: (pid: Pid) => boolean;
}

/** One registration. */
export interface RegistryEntry<V = unknown> {
  /** The key. */
  key: RegistryKey;
  /** The process. */
  pid: Pid;
  /** The metadata it registered with. */
  value: V;
}

/** The reason a loser of a unique key conflict exits with. */
export interface NameConflictReason {
  /** The registry, the key, and the process that kept it. */
  name_conflict: { registry: string; key: RegistryKey; winner: Pid };
}

/**
 * The message a loser gets before it exits (a `GenServer.call`): answer
 * `{ resume: state }` to hand `state` to the winner, anything else not to.
 */
export interface HandoffBegin {
  /** Always `"begin"`. */
  handoff: "begin";
  /** The key. */
  key: RegistryKey;
  /**
   * Who keeps the key: the winning process, or the supervisor that hands
   * the process over when its node shuts down.
   */
  winner: Pid;
}

/** What the winner then receives (a `GenServer.cast`, `handleCast`). */
export interface HandoffEnd {
  /** Always `"end"`. */
  handoff: "end";
  /** The key. */
  key: RegistryKey;
  /** The loser's state. */
  state: unknown;
  /** The loser. */
  from: Pid;
}

/** A field: `k` + key, plus `\u0000` + pid for duplicate keys. */
type Stored = [RegistryKey, Pid, unknown];

interface Entry {
  enc: string;
  key: RegistryKey;
  pid: Pid;
  value: unknown;
  field: string;
}

/**
 * Ranks two holders of one key: the lower wins. The same on every node,
 * and the same for every registry, so two registries never pick different
 * winners between the same two processes.
 *
 * @param a a holder
 * @param b another
 * @returns negative when `a` wins
 *
 * @example
 * ```ts
 * import { compareHolders } from "./dist_registry.ts";
 * import { Pid } from "../term/pid.ts";
 * console.assert(compareHolders(new Pid("a@h", 9, 0, 1), new Pid("b@h", 1, 0, 1)) < 0);
 * ```
 */
export function compareHolders(a: Pid, b: Pid): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.creation - b.creation || a.id - b.id || a.serial - b.serial;
}

/**
 * The text a key is stored under: its JSON.
 *
 * @param key the key
 * @param what the operation, for the message
 * @throws {TypeError} when it is not a string, finite number, boolean or an array of those
 *
 * @example
 * ```ts
 * import { encodeKey } from "./dist_registry.ts";
 * console.assert(encodeKey(["worker", 1], "register") === '["worker",1]');
 * ```
 */
export function encodeKey(key: unknown, what: string): string {
  if (typeof key === "string") return JSON.stringify(key);
  const ok = (k: unknown, depth: number): boolean =>
    typeof k === "string" || typeof k === "boolean" ||
    (typeof k === "number" && Number.isFinite(k)) ||
    (Array.isArray(k) && depth < 8 && k.every((x) => ok(x, depth + 1)));
  if (!ok(key, 0)) {
    throw new TypeError(
      `Cannot ${what}: a key must be a string, a finite number, a boolean or an array of those, received ${
        describeType(key)
      }`,
    );
  }
  return JSON.stringify(key);
}

/** The members a quorum counts, and whether this node sees a majority of them. */
export function quorumOf(
  tables: NodeTables,
  members: "auto" | readonly string[],
): { members: string[]; visible: number; needed: number; ok: boolean } {
  const all = members === "auto" ? tables.members() : [...members];
  if (!all.includes(tables.node)) all.push(tables.node);
  const visible = all.filter((n) => tables.isVisible(n)).length;
  const needed = Math.floor(all.length / 2) + 1;
  return { members: all, visible, needed, ok: visible >= needed };
}

/** One node's part of a distributed registry. */
export class DistRegistry implements NameRegistry {
  /** The registry's name (the same on every node). */
  readonly name: string;
  /** Unique or duplicate keys. */
  readonly kind: KeyKind;
  readonly #runtime: Runtime;
  readonly #tables: NodeTables;
  readonly #quorum: boolean;
  readonly #members: "auto" | readonly string[];
  readonly #handoffTimeout: number;
  readonly #supervised: (pid: Pid) => boolean;
  /** Every entry this node has, visible or not, by encoded key. */
  #byKey = new Map<string, Entry[]>();
  /** This node's processes: pid key -> their fields, and the monitor. */
  #mine = new Map<string, { pid: Pid; fields: Set<string>; mon: Ref }>();
  #resolving = new Set<string>();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Opens the registry on a node (`node.distributed.registry` does this).
   *
   * @param runtime the node
   * @param kernel its kernel
   * @param replicator its replicator
   * @param name the registry's name
   * @param options key kind, quorum mode
   * @throws {TypeError} for a bad name or option
   */
  constructor(
    runtime: Runtime,
    kernel: NetKernel,
    replicator: Replicator,
    name: string,
    options: DistRegistryOptions = {},
  ) {
    if (typeof name !== "string" || !/^[\w.$-]+$/.test(name)) {
      throw new TypeError(
        `Cannot open registry: name must be letters, digits, "_", ".", "$" or "-", received ${
          describeType(name)
        }`,
      );
    }
    const kind = options.keys ?? "unique";
    if (kind !== "unique" && kind !== "duplicate") {
      throw new TypeError(
        `Cannot open registry ${name}: keys must be "unique" or "duplicate", received ${
          describeType(kind)
        }`,
      );
    }
    this.name = name;
    this.kind = kind;
    this.#runtime = runtime;
    this.#quorum = options.quorum ?? false;
    this.#members = checkMembers(options.members ?? "auto", `open registry ${name}`);
    this.#handoffTimeout = options.handoffTimeout ?? 5000;
    this.#supervised = options.supervised ?? (() => false);
    this.#tables = new NodeTables({
      runtime,
      kernel,
      replicator,
      prefix: `weft_reg:${name}`,
      hooks: {
        changed: (changes) => this.#changed(changes),
        visibility: (node, visible) => this.#visibility(node, visible),
        info: (msg) => this.#info(msg),
      },
    });
    this.#tables.set(MEMBER_FIELD, { left: false, meta: { keys: kind } }).catch(() => {});
    this.#tables.start();
    if (kind === "unique") {
      // A conflict whose first check failed (the winner did not answer in time) is looked at again.
      this.#sweep = setInterval(() => {
        for (const { fields } of this.#mine.values()) {
          for (const f of fields) {
            const stored = this.#tables.own.get(f) as Stored | undefined;
            if (stored !== undefined) this.#checkConflict(JSON.stringify(stored[0]));
          }
        }
      }, SWEEP_INTERVAL);
    }
  }

  /**
   * Registers the calling process (or `options.pid`, a process of this
   * node) under `key`, with `value` as its metadata.
   *
   * @param key the key
   * @param value the entry's metadata (anything that can cross the wire)
   * @param options `pid`: register that process instead of the caller
   * @throws {KeyTakenError} when the key is unique and another process holds it
   * @throws {NoQuorumError} in quorum mode, when this node sees no majority of the members
   * @throws {TypeError} for a bad key, or a pid of another node
   */
  async register(key: RegistryKey, value?: unknown, options: { pid?: Pid } = {}): Promise<void> {
    this.#alive("register");
    const enc = encodeKey(key, `register in ${this.name}`);
    const pid = options.pid ?? callerOn(this.#runtime, `register in ${this.name}`);
    if (!(pid instanceof Pid) || pid.node !== this.#runtime.node) {
      throw new TypeError(
        `Cannot register in ${this.name}: only a process of this node (${this.#runtime.node}) can be registered here, received ${
          describeType(pid)
        }`,
      );
    }
    if (!this.#runtime.isAlive(pid)) return; // as Elixir: a dead process registers nothing
    if (this.kind === "unique") {
      if (this.#quorum) {
        const q = quorumOf(this.#tables, this.#members);
        if (!q.ok) {
          throw new NoQuorumError(
            `Cannot register ${enc} in ${this.name}: ${q.visible} of ${q.members.length} members visible, ${q.needed} needed`,
          );
        }
      }
      const holder = this.#winner(enc);
      // A holder that exited may still be listed: its removal is on the way (from
      // another node), or its DOWN not yet handled here.
      if (
        holder !== undefined &&
        (holder.pid.equals(pid) || await this.#tables.confirmAlive(holder.pid))
      ) {
        throw new KeyTakenError(this.name, key, holder.pid);
      }
      if (holder !== undefined && holder.pid.node === pid.node) {
        // Its DOWN must not take the field away from the new holder.
        this.#mine.get(holder.pid.key)?.fields.delete(`k${enc}`);
      }
    }
    const field = this.kind === "unique" ? `k${enc}` : `k${enc}\u0000${pid.key}`;
    this.#index({ enc, key, pid, value: value ?? null, field });
    let mine = this.#mine.get(pid.key);
    if (mine === undefined) {
      mine = { pid, fields: new Set(), mon: this.#tables.svc.ctx.monitor(pid) };
      this.#mine.set(pid.key, mine);
    }
    mine.fields.add(field);
    await this.#tables.set(field, [key, pid, value ?? null] satisfies Stored);
  }

  /**
   * Removes the calling process's (or `pid`'s) entries under `key`.
   *
   * @param key the key
   * @param pid a process of this node; default the caller
   */
  async unregister(key: RegistryKey, pid?: Pid): Promise<void> {
    this.#alive("unregister");
    const enc = encodeKey(key, `unregister from ${this.name}`);
    const who = pid ?? callerOn(this.#runtime, `unregister from ${this.name}`);
    const mine = this.#mine.get(who.key);
    if (mine === undefined) return;
    const field = this.kind === "unique" ? `k${enc}` : `k${enc}\u0000${who.key}`;
    if (!mine.fields.delete(field)) return;
    this.#unindex(enc, field, this.#runtime.node);
    if (mine.fields.size === 0) this.#forget(who);
    await this.#tables.remove(field);
  }

  /**
   * Changes the metadata of the calling process's entry under `key`.
   *
   * @returns the new value, or `undefined` when the process holds no such entry
   */
  async updateValue<V>(key: RegistryKey, fn: (value: V) => V, pid?: Pid): Promise<V | undefined> {
    const enc = encodeKey(key, `update value in ${this.name}`);
    const who = pid ?? callerOn(this.#runtime, `update value in ${this.name}`);
    const entry = (this.#byKey.get(enc) ?? []).find((e) => e.pid.equals(who));
    if (entry === undefined || !this.#mine.has(who.key)) return undefined;
    const value = fn(entry.value as V);
    entry.value = value;
    await this.#tables.set(entry.field, [entry.key, who, value] satisfies Stored);
    return value;
  }

  /**
   * The entries under `key` (for a unique key, at most one: the winner),
   * from this node's replica.
   */
  lookup<V = unknown>(key: RegistryKey): RegistryEntry<V>[] {
    const enc = encodeKey(key, `look up in ${this.name}`);
    if (this.kind === "unique") {
      const w = this.#found(enc);
      return w === undefined ? [] : [toEntry<V>(w)];
    }
    let entries = this.#visible(enc);
    if (entries.length === 0) {
      this.#tables.refresh();
      entries = this.#visible(enc);
    }
    return entries.map((e) => toEntry<V>(e));
  }

  /** The process under a unique key, if any (a via name's lookup). */
  whereis(key: RegistryKey): Pid | undefined {
    if (this.kind === "duplicate") return this.lookup(key)[0]?.pid;
    return this.#found(encodeKey(key, `look up in ${this.name}`))?.pid;
  }

  /** The keys `pid` is registered under. */
  keysOf(pid: Pid): RegistryKey[] {
    return this.select((e) => e.pid.equals(pid)).map((e) => e.key);
  }

  /**
   * The entries under `key` whose value `pattern` accepts (Elixir's
   * `Registry.match`).
   */
  match<V = unknown>(key: RegistryKey, pattern?: (value: V) => boolean): RegistryEntry<V>[] {
    const all = this.lookup<V>(key);
    return pattern === undefined ? all : all.filter((e) => pattern(e.value));
  }

  /** Every visible entry `predicate` accepts (Elixir's `Registry.select`). */
  select<V = unknown>(
    predicate: (entry: RegistryEntry<V>) => boolean = () => true,
  ): RegistryEntry<V>[] {
    const out: RegistryEntry<V>[] = [];
    for (const enc of this.#byKey.keys()) {
      const entries = this.kind === "unique"
        ? [this.#winner(enc)].filter((e) => e !== undefined)
        : this.#visible(enc);
      for (const e of entries) {
        const entry = toEntry<V>(e);
        if (predicate(entry)) out.push(entry);
      }
    }
    return out;
  }

  /** How many visible entries there are (for one key, or in all). */
  count(key?: RegistryKey): number {
    if (key !== undefined) return this.lookup(key).length;
    return this.select().length;
  }

  /**
   * Calls `fn` with the entries under `key`, when there are any (Elixir's
   * `Registry.dispatch`, e.g. to send each of them a message).
   *
   * @returns whether `fn` was called
   */
  dispatch<V = unknown>(key: RegistryKey, fn: (entries: RegistryEntry<V>[]) => void): boolean {
    const entries = this.lookup<V>(key);
    if (entries.length === 0) return false;
    fn(entries);
    return true;
  }

  /** The nodes running this registry, by their own word (those that left cleanly excluded). */
  members(): string[] {
    return this.#members === "auto" ? this.#tables.members() : [...this.#members];
  }

  // ---------------------------------------------------------------- NameRegistry

  /** `{ via: registry, key }`: registers the calling (server) process; `false` when taken. */
  async registerName(key: unknown, pid: Pid): Promise<boolean> {
    this.#checkVia();
    try {
      await this.register(key as RegistryKey, null, { pid });
      return true;
    } catch (e) {
      if (e instanceof KeyTakenError) return false;
      throw e;
    }
  }

  /** `{ via: registry, key }`: removes the calling process's entry. */
  unregisterName(key: unknown): Promise<void> {
    const enc = encodeKey(key, `unregister from ${this.name}`);
    const w = this.#winner(enc);
    if (w === undefined || w.pid.node !== this.#runtime.node) return Promise.resolve();
    return this.unregister(key as RegistryKey, w.pid);
  }

  /** `{ via: registry, key }`: the holder of a unique key. */
  whereisName(key: unknown): Pid | undefined {
    this.#checkVia();
    return this.whereis(key as RegistryKey);
  }

  /** Leaves the cluster's view of this registry and stops; entries of this node go. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    try {
      for (const { fields } of this.#mine.values()) {
        for (const f of fields) await this.#tables.remove(f);
      }
      await this.#tables.set(MEMBER_FIELD, { left: true });
    } catch { /* the replicator stopped first */ }
    this.#mine.clear();
    await this.#tables.close();
  }

  // ---------------------------------------------------------------- internals

  #checkVia(): void {
    if (this.kind !== "unique") {
      throw new TypeError(
        `Cannot use registry ${this.name} as a via name: its keys are duplicate`,
      );
    }
  }

  #alive(what: string): void {
    if (this.#closed) throw new TypeError(`Cannot ${what}: registry ${this.name} is closed`);
  }

  #visible(enc: string): Entry[] {
    return (this.#byKey.get(enc) ?? []).filter((e) => this.#tables.isCurrent(e.pid));
  }

  /**
   * The winner under a unique key, as the replica has it now: on a miss, the
   * peers' maps are taken at once rather than at the next poll (a name that
   * arrived with the same delta as its child's record is found with it).
   */
  #found(enc: string): Entry | undefined {
    const w = this.#winner(enc);
    if (w !== undefined) return w;
    this.#tables.refresh();
    return this.#winner(enc);
  }

  #winner(enc: string): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.#byKey.get(enc) ?? []) {
      if (!this.#tables.isCurrent(e.pid)) continue;
      if (best === undefined || compareHolders(e.pid, best.pid) < 0) best = e;
    }
    return best;
  }

  #index(entry: Entry): void {
    const list = this.#byKey.get(entry.enc) ?? [];
    const i = list.findIndex((e) => e.field === entry.field && e.pid.node === entry.pid.node);
    if (i >= 0) list[i] = entry;
    else list.push(entry);
    this.#byKey.set(entry.enc, list);
  }

  #unindex(enc: string, field: string, node: string): void {
    const list = this.#byKey.get(enc);
    if (list === undefined) return;
    const rest = list.filter((e) => !(e.field === field && e.pid.node === node));
    if (rest.length === 0) this.#byKey.delete(enc);
    else this.#byKey.set(enc, rest);
  }

  #forget(pid: Pid): void {
    const mine = this.#mine.get(pid.key);
    if (mine === undefined) return;
    this.#mine.delete(pid.key);
    this.#tables.svc.ctx.demonitor(mine.mon, { flush: true });
  }

  /** Peers' fields merged (NodeTables): index them; check unique keys for conflicts. */
  #changed(changes: FieldChange[]): void {
    const touched = new Set<string>();
    for (const c of changes) {
      if (!c.field.startsWith("k")) continue;
      const before = c.before as Stored | undefined;
      if (before !== undefined) {
        this.#unindex(JSON.stringify(before[0]), c.field, c.node);
      }
      const after = c.after as Stored | undefined;
      if (after !== undefined && Array.isArray(after) && after[1] instanceof Pid) {
        if (after[1].node !== c.node) continue; // a node writes only its own processes
        const enc = JSON.stringify(after[0]);
        this.#index({ enc, key: after[0], pid: after[1], value: after[2], field: c.field });
        touched.add(enc);
      }
    }
    if (this.kind === "unique") { for (const enc of touched) this.#checkConflict(enc); }
  }

  /** A peer shown or hidden (NodeTables): conflicts on heal, quorum on loss. */
  #visibility(node: string, visible: boolean): void {
    if (this.kind !== "unique") return;
    if (visible) {
      for (const field of this.#tables.fieldsOf(node).keys()) {
        const stored = this.#tables.fieldsOf(node).get(field) as Stored | undefined;
        if (field.startsWith("k") && Array.isArray(stored)) {
          this.#checkConflict(JSON.stringify(stored[0]));
        }
      }
      return;
    }
    if (this.#quorum && !quorumOf(this.#tables, this.#members).ok) this.#quorumLost();
  }

  /** This node lost its majority: no holder may stay on its side of the split. */
  #quorumLost(): void {
    log.warning("Registry {name} lost its quorum on {node}: stopping its holders", {
      name: this.name,
      node: this.#runtime.node,
    });
    for (const { pid } of [...this.#mine.values()]) {
      this.#runtime.exit(pid, { quorum_lost: this.name }, this.#tables.svc.self);
    }
  }

  #checkConflict(enc: string): void {
    const entries = this.#visible(enc);
    if (entries.length < 2) return;
    const winner = entries.reduce((a, b) => (compareHolders(a.pid, b.pid) <= 0 ? a : b));
    for (const e of entries) {
      if (e === winner || e.pid.node !== this.#runtime.node || this.#supervised(e.pid)) continue;
      if (this.#resolving.has(e.pid.key + e.field)) continue;
      this.#resolving.add(e.pid.key + e.field);
      this.#resolve(e, winner).catch((err) =>
        log.error("Registry {name}: conflict on {key} not settled: {err}", {
          name: this.name,
          key: enc,
          err,
        })
      ).finally(() => this.#resolving.delete(e.pid.key + e.field));
    }
  }

  /** `loser` (here) and `winner` hold one unique key: hand over, then stop the loser. */
  async #resolve(loser: Entry, winner: Entry): Promise<void> {
    if (!(await this.#tables.confirmAlive(winner.pid))) return;
    // Still the same two holders after the round trip?
    const now = this.#visible(loser.enc);
    if (!now.some((e) => e.pid.equals(loser.pid)) || !now.some((e) => e.pid.equals(winner.pid))) {
      return;
    }
    log.info("Registry {name}: {key} held by {loser} and {winner}; {winner} keeps it", {
      name: this.name,
      key: loser.enc,
      loser: String(loser.pid),
      winner: String(winner.pid),
    });
    const state = await handoff(
      this.#runtime,
      loser.pid,
      loser.key,
      winner.pid,
      this.#handoffTimeout,
    );
    if (state !== undefined) {
      await handoffEnd(this.#runtime, winner.pid, {
        handoff: "end",
        key: loser.key,
        state: state.resume,
        from: loser.pid,
      });
    }
    const mine = this.#mine.get(loser.pid.key);
    mine?.fields.delete(loser.field);
    if (mine?.fields.size === 0) this.#forget(loser.pid);
    this.#unindex(loser.enc, loser.field, this.#runtime.node);
    await this.#tables.remove(loser.field);
    const reason: NameConflictReason = {
      name_conflict: { registry: this.name, key: loser.key, winner: winner.pid },
    };
    this.#runtime.exit(loser.pid, reason, this.#tables.svc.self);
  }

  /** Messages to the server process: DOWN of a registered process of this node. */
  #info(msg: unknown): void {
    const down = msg as DownMessage;
    if (down?.type !== "DOWN" || !(down.pid instanceof Pid)) return;
    const mine = this.#mine.get(down.pid.key);
    if (mine === undefined || !mine.mon.equals(down.ref)) return;
    this.#mine.delete(down.pid.key);
    for (const field of mine.fields) {
      const stored = this.#tables.own.get(field) as Stored | undefined;
      if (stored !== undefined) this.#unindex(JSON.stringify(stored[0]), field, this.#runtime.node);
      this.#tables.remove(field).catch(() => {});
    }
  }
}

/**
 * Asks `loser` for its state (`{handoff: "begin"}` by `GenServer.call`).
 *
 * @returns `{resume: state}` when it answered so, else `undefined`
 */
export async function handoff(
  runtime: Runtime,
  loser: Pid,
  key: RegistryKey,
  winner: Pid,
  timeout: number,
): Promise<{ resume: unknown } | undefined> {
  try {
    const reply = await asCaller(
      runtime,
      () =>
        GenServer.call(loser, { handoff: "begin", key, winner } satisfies HandoffBegin, {
          timeout,
        }),
    );
    if (typeof reply === "object" && reply !== null && "resume" in reply) {
      return { resume: (reply as { resume: unknown }).resume };
    }
  } catch { /* not a GenServer, or it did not answer: no state to hand over */ }
  return undefined;
}

/** Sends `{handoff: "end"}` to the process that takes over (`GenServer.cast`). */
export function handoffEnd(runtime: Runtime, to: Pid, end: HandoffEnd): Promise<void> {
  return asCaller(runtime, () => GenServer.cast(to, end));
}

/**
 * Runs `fn` as a short-lived process of its own. The services' timers run
 * in whatever process context created them (a caller that may be gone),
 * so their calls and casts must not act for that process.
 */
async function asCaller<T>(runtime: Runtime, fn: () => T | Promise<T>): Promise<T> {
  const ctx = runtime.open({ label: "distributed handoff" });
  try {
    return await runInProcess(ctx, fn);
  } finally {
    ctx.exit("normal");
  }
}

function toEntry<V>(e: Entry): RegistryEntry<V> {
  return { key: e.key, pid: e.pid, value: e.value as V };
}

/**
 * Checks a member list.
 *
 * @throws {TypeError} when it is neither `"auto"` nor an array of node names
 */
export function checkMembers(members: unknown, what: string): "auto" | readonly string[] {
  if (members === "auto") return "auto";
  if (
    !Array.isArray(members) || members.length === 0 ||
    !members.every((m) => typeof m === "string" && /^[^@\s]+@[^@\s]+$/.test(m))
  ) {
    throw new TypeError(
      `Cannot ${what}: members must be "auto" or a non-empty list of node names (name@host), received ${
        describeType(members)
      }`,
    );
  }
  return [...new Set(members as string[])];
}
