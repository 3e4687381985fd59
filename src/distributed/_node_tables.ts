/**
 * The replicated state under a distributed registry or supervisor: one
 * LWW-Map per node, written by that node alone, read by every node.
 *
 * ```
 * node A writes  "<prefix>:A:0" ... "<prefix>:A:63"  (lww-maps, only A ever sets or
 *                removes a field; a field lives in shard hash(field) mod 64)
 * node B writes  "<prefix>:B:0" ...
 * every node     holds both through the replicator (deltas, anti-entropy),
 *                and compares its peers' maps with its mirror of each every
 *                POLL_INTERVAL ms: a map's state is immutable, so an unchanged
 *                map costs one comparison, a changed one a walk of its fields
 *                (a subscription would hash the whole map on every delta);
 *                a lookup that misses looks at once (refresh)
 * ```
 *
 * Why shards: the replicator digests a key whole each time it changed, so
 * one map of 10,000 children would be hashed whole at every anti-entropy
 * step; 64 smaller keys are hashed only where fields changed.
 *
 * One writer per map means there is never a concurrent write to settle:
 * the merge cannot lose a field nor bring back a removed one (the failure
 * of one shared map, where a node that thinks B is gone deletes B's
 * entries and a heal then deletes B's live processes, horde#186). What a
 * node that lost B does instead is *hide* B's fields: a field counts only
 * while its node is a visible peer (or this node), and a pid in it only
 * when its creation is the peer's current one, so a restarted node's old
 * pids are hidden too. The fields of a lost node stay in the replica, so
 * a supervisor can restart what that node ran.
 *
 * Liveness round trip (to never act on a stale field):
 *
 * ```
 * A: monitor(pid on B); send ping -> B's server ("<prefix>" registered on B)
 * B: pong -> A              (signals from B to A are ordered: a DOWN noproc
 * A: DOWN before the pong?   for the monitor arrives before the pong)
 * ```
 *
 * Failure: a lost delta is repaired by the replicator's anti-entropy; a
 * peer that goes away is hidden at its `nodedown` and shown again at its
 * `nodeup`. Membership is a field `"\u0001member"` each node writes in its
 * own map (`left: true` once it leaves cleanly), so a member that is down
 * still counts for a majority until it leaves.
 *
 * @module
 */

import { NodeService } from "../distribution/node_service.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage } from "../process/types.ts";
import type { LwwMapEntry, LwwMapState } from "../crdt/lww_map.ts";
import type { Replicator } from "../replicator/replicator.ts";
import { Pid, Ref } from "../term/pid.ts";
import { hash32 } from "./distribution_strategy.ts";

/** The field a node writes about itself. */
export const MEMBER_FIELD = "\u0001member";

/** What a node writes under {@linkcode MEMBER_FIELD}. */
export interface MemberInfo {
  /** Whether the node left cleanly (stopped its service). */
  left: boolean;
  /** Free-form facts a service announces (the modules a supervisor node can start). */
  meta?: unknown;
}

/** A field that changed in a peer's map (or was hidden or shown). */
export interface FieldChange {
  /** The node whose map holds it. */
  node: string;
  /** The field. */
  field: string;
  /** The value before, if any. */
  before: unknown;
  /** The value now, if any. */
  after: unknown;
}

/** What a table's owner is told. */
export interface NodeTablesHooks {
  /** Fields of a peer's map changed by a merge. */
  changed(changes: FieldChange[]): void;
  /** A peer became visible (`true`) or was lost (`false`). */
  visibility(node: string, visible: boolean): void;
  /** Another message reached the server process. */
  info?(msg: unknown): void;
}

/** Options of {@linkcode NodeTables}. */
export interface NodeTablesOptions {
  runtime: Runtime;
  kernel: NetKernel;
  replicator: Replicator;
  /** The replicated keys are `<prefix>:<node>`; the server process is registered as `<prefix>`. */
  prefix: string;
  hooks: NodeTablesHooks;
}

const TIDY_INTERVAL = 5000;
/** Milliseconds between two looks at the peers' maps. */
export const POLL_INTERVAL = 50;
/** Replicated keys per node and table. */
export const SHARDS = 64;

/** One node's view of the per-node maps of one registry or supervisor. */
export class NodeTables {
  readonly runtime: Runtime;
  readonly prefix: string;
  readonly svc: NodeService;
  #replicator: Replicator;
  #hooks: NodeTablesHooks;
  /** This node's fields (the replicated map's value, kept here). */
  readonly own = new Map<string, unknown>();
  /** Each peer's fields as last merged. */
  #peers = new Map<string, Map<string, unknown>>();
  /** Each peer's shard states as last merged (immutable: same object, same map), by node. */
  #states = new Map<string, (LwwMapState | undefined)[]>();
  /** This node's shards opened so far. */
  #opened = new Set<number>();
  #poll: ReturnType<typeof setInterval> | undefined;
  /** Visible peers and their creation. */
  #live = new Map<string, number>();
  #pings = new Map<string, (alive: boolean) => void>();
  #monitors = new Map<string, string>();
  #tidy: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: NodeTablesOptions) {
    this.runtime = options.runtime;
    this.prefix = options.prefix;
    this.#replicator = options.replicator;
    this.#hooks = options.hooks;
    this.svc = new NodeService(options.runtime, options.kernel, {
      name: options.prefix,
      peerUp: (node) => this.#peerUp(node),
      peerDown: (node) => this.#peerDown(node),
      info: (msg) => this.#info(msg),
    });
  }

  /** Starts following the peers; call once the owner is ready for hooks. */
  start(): void {
    this.svc.start();
    this.#tidy = setInterval(() => this.#tidyOwn(), TIDY_INTERVAL);
    this.#poll = setInterval(() => {
      for (const node of this.#peers.keys()) this.#look(node);
    }, POLL_INTERVAL);
  }

  /** The node's name. */
  get node(): string {
    return this.runtime.node;
  }

  /** Sets a field of this node's map. */
  set(field: string, value: unknown): Promise<void> {
    this.own.set(field, value);
    return this.#replicator.update(this.#ownKey(field), (m) => m.set(field, value));
  }

  /** Removes a field of this node's map. */
  remove(field: string): Promise<void> {
    if (!this.own.delete(field)) return Promise.resolve();
    return this.#replicator.update(this.#ownKey(field), (m) => m.remove(field));
  }

  /**
   * Takes every peer's maps as the replica has them now, instead of at the
   * next poll (changes go to the owner's `changed` hook first). A lookup
   * that misses calls it: what the replica holds is found at once, so two
   * views of one replica (a supervisor's records and its children's names)
   * never disagree for a poll interval.
   */
  refresh(): void {
    if (this.#closed) return;
    for (const node of this.#peers.keys()) this.#look(node);
  }

  /** The visible peers. */
  peers(): string[] {
    return [...this.#live.keys()];
  }

  /** Whether `node` is this node or a visible peer. */
  isVisible(node: string): boolean {
    return node === this.node || this.#live.has(node);
  }

  /** Whether `pid` is of this node's incarnation or of a visible peer's current one. */
  isCurrent(pid: Pid): boolean {
    if (pid.node === this.node) return pid.creation === this.runtime.creation;
    return this.#live.get(pid.node) === pid.creation;
  }

  /** Every node whose map this node has (visible or not), this node first. */
  nodes(): string[] {
    return [this.node, ...this.#peers.keys()];
  }

  /** The fields of `node`'s map as this node has them. */
  fieldsOf(node: string): ReadonlyMap<string, unknown> {
    if (node === this.node) return this.own;
    return this.#peers.get(node) ?? new Map();
  }

  /** The member nodes by their own word: every node with a member field that has not left. */
  members(): string[] {
    const out: string[] = [];
    for (const node of this.nodes()) {
      const info = this.fieldsOf(node).get(MEMBER_FIELD) as MemberInfo | undefined;
      if (info !== undefined && !info.left) out.push(node);
    }
    return out.sort();
  }

  /** What `node` announced in its member field. */
  memberInfo(node: string): MemberInfo | undefined {
    return this.fieldsOf(node).get(MEMBER_FIELD) as MemberInfo | undefined;
  }

  /**
   * Whether `pid` is alive, by a monitor and a round trip to its node's
   * server (a `DOWN` for the monitor would come before the answer).
   */
  async confirmAlive(pid: Pid, timeout = 5000): Promise<boolean> {
    if (pid.node === this.node) return this.runtime.isAlive(pid);
    if (!this.#live.has(pid.node)) return false;
    const ctx = this.svc.ctx;
    const mon = ctx.monitor(pid);
    const ref = this.runtime.makeRef();
    const { promise, resolve } = Promise.withResolvers<boolean>();
    this.#pings.set(ref.key, resolve);
    this.#monitors.set(mon.key, ref.key);
    ctx.send({ name: this.prefix, node: pid.node }, { type: "tables_ping", ref, from: ctx.self });
    const timer = setTimeout(() => resolve(false), timeout);
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
      this.#pings.delete(ref.key);
      this.#monitors.delete(mon.key);
      ctx.demonitor(mon, { flush: true });
    }
  }

  /** Stops following the peers; the replicated map stays. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#tidy);
    clearInterval(this.#poll);
    for (const resolve of this.#pings.values()) resolve(false);
    await this.svc.stop();
  }

  #keyOf(node: string, shard: number): string {
    return `${this.prefix}:${node}:${shard}`;
  }

  /** The key of this node's shard holding `field`, opened on first use. */
  #ownKey(field: string): string {
    const shard = hash32(field) % SHARDS;
    const key = this.#keyOf(this.node, shard);
    if (!this.#opened.has(shard)) {
      this.#replicator.open(key, "lww-map");
      this.#opened.add(shard);
    }
    return key;
  }

  /** A new connection to `node` (NodeService): follow its map, show its fields. */
  #peerUp(node: string): void {
    const peer = this.svc.kernel.peer(node);
    if (peer === undefined) return;
    if (!this.#peers.has(node)) this.#peers.set(node, new Map());
    this.#live.set(node, peer.creation);
    this.#look(node);
    this.#hooks.visibility(node, true);
  }

  /** The connection to `node` is gone (NodeService): hide its fields. */
  #peerDown(node: string): void {
    if (!this.#live.delete(node)) return;
    this.#hooks.visibility(node, false);
  }

  #valueOf(key: string): Map<string, unknown> {
    try {
      const v = this.#replicator.value(key);
      return v instanceof Map ? v as Map<string, unknown> : new Map();
    } catch {
      return new Map();
    }
  }

  /** Messages to the server process: changed maps (replicator), pings and their DOWNs. */
  #info(msg: unknown): void {
    const m = msg as { type?: unknown };
    if (typeof msg !== "object" || msg === null) return;
    if (m.type === "tables_ping") {
      // Sent by the NodeTables of a peer checking that a pid of this node is alive.
      const { ref, from } = msg as { ref: unknown; from: unknown };
      if (from instanceof Pid && ref instanceof Ref) {
        this.svc.ctx.send(from, { type: "tables_pong", ref });
      }
      return;
    }
    if (m.type === "tables_pong") {
      // The answer to our ping, from the peer's NodeTables.
      const ref = (msg as { ref: unknown }).ref;
      if (ref instanceof Ref) this.#pings.get(ref.key)?.(true);
      return;
    }
    if (m.type === "DOWN") {
      const down = msg as DownMessage;
      const ping = this.#monitors.get(down.ref.key);
      if (ping !== undefined) {
        this.#pings.get(ping)?.(false);
        return;
      }
    }
    this.#hooks.info?.(msg);
  }

  /** Takes `node`'s maps as merged now, where they changed: the fields that differ go to the owner. */
  #look(node: string): void {
    let states = this.#states.get(node);
    if (states === undefined) this.#states.set(node, states = new Array(SHARDS));
    const fields = this.#peers.get(node) ?? new Map<string, unknown>();
    this.#peers.set(node, fields);
    const changes: FieldChange[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      let state: LwwMapState | undefined;
      try {
        const s = this.#replicator.replica.state(this.#keyOf(node, shard));
        if (s !== undefined && s.type === "lww-map" && !s.deleted) state = s.state as LwwMapState;
      } catch { /* the replicator stopped */ }
      const before = states[shard];
      if (state === undefined || state === before) continue;
      states[shard] = state;
      this.#diff(node, fields, before, state, changes);
    }
    if (changes.length > 0) this.#hooks.changed(changes);
  }

  #diff(
    node: string,
    fields: Map<string, unknown>,
    before: LwwMapState | undefined,
    state: LwwMapState,
    changes: FieldChange[],
  ): void {
    for (const [field, entry] of state as Iterable<[string, LwwMapEntry]>) {
      if (before?.get(field) === entry) continue;
      const was = fields.get(field);
      if (entry.removed) {
        if (fields.delete(field)) changes.push({ node, field, before: was, after: undefined });
      } else if (was !== entry.value) {
        fields.set(field, entry.value);
        changes.push({ node, field, before: was, after: entry.value });
      }
    }
    if (before !== undefined && before.size > state.size) {
      // A field dropped from the state altogether (pruned): gone too.
      for (const field of before.keys()) {
        if (!state.has(field) && fields.has(field)) {
          changes.push({ node, field, before: fields.get(field), after: undefined });
          fields.delete(field);
        }
      }
    }
  }

  /**
   * Drops from this node's replicated map what it no longer holds: fields
   * of an earlier incarnation, merged back from a peer after a restart.
   */
  #tidyOwn(): void {
    for (let shard = 0; shard < SHARDS; shard++) {
      const key = this.#keyOf(this.node, shard);
      if (this.#replicator.typeOf(key) !== "lww-map") continue;
      const stale = [...this.#valueOf(key).keys()].filter((f) => !this.own.has(f));
      if (stale.length === 0) continue;
      if (!this.#opened.has(shard)) {
        this.#replicator.open(key, "lww-map");
        this.#opened.add(shard);
      }
      this.#replicator.update(key, (m) => {
        for (const f of stale) m.remove(f);
      }).catch(() => {});
    }
  }
}
