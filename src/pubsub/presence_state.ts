/**
 * The replicated state behind presence: an observed-remove set of
 * presences with a causal context, as Phoenix.Tracker's state.
 *
 * Each node incarnation is a *replica* (`name@host#creation`) and the only
 * one that adds or removes its own presences. Every presence carries a
 * *dot* `(replica, n)`, the replica's n-th change. A state is the set of
 * live presences plus its *context*: every dot it has seen, a
 * {@linkcode CausalContext} (the one the CRDT types use too). Joining
 * two states keeps a presence when both hold it, or when one holds it and
 * the other has never seen its dot; a presence one side holds and the
 * other has seen but no longer holds was removed:
 *
 * ```
 * join(A, B).values = (A.values ∩ B.values)
 *                   ∪ { p ∈ A.values : p.dot ∉ B.context }
 *                   ∪ { p ∈ B.values : p.dot ∉ A.context }
 * join(A, B).context = A.context ∪ B.context
 * ```
 *
 * This join is commutative, associative and idempotent, so replicas that
 * exchange states (or deltas: a state holding just the dots one change
 * touched) in any order, any number of times, end up equal. A removed
 * replica (a node lost for longer than the down period) is *pruned*: its
 * presences and its context go, so that if it comes back its state is
 * taken in afresh.
 *
 * @example
 * ```ts
 * import { Pid } from "../term/pid.ts";
 * import { PresenceState } from "./presence_state.ts";
 * const pid = new Pid("a@h", 1, 0, 1);
 * const a = new PresenceState();
 * const b = new PresenceState();
 * const { delta } = a.add("a@h#1", { topic: "room", key: "ann", pid, meta: {} });
 * b.join(PresenceState.fromWire(delta));
 * console.assert(b.list("room").length === 1);
 * const removed = a.remove("a@h#1:1")!;
 * b.join(PresenceState.fromWire(removed.delta));
 * console.assert(b.list("room").length === 0);
 * ```
 *
 * @module
 */

import { CausalContext, isDotNumber } from "../crdt/causal_context.ts";
import { DecodeError } from "../errors.ts";
import { Pid } from "../term/pid.ts";

/** What a presence says about its process: any plain object. */
export type PresenceMeta = Record<string, unknown>;

/** One presence: a process present on a topic under a key. */
export interface PresenceRecord {
  /** The topic. */
  readonly topic: string;
  /** The key (a user id, a device...). */
  readonly key: string;
  /** The tracked process. */
  readonly pid: Pid;
  /** What it says about itself. */
  readonly meta: PresenceMeta;
}

/** A presence with its dot. */
export interface PresenceEntry extends PresenceRecord {
  /** The replica that added it. */
  readonly replica: string;
  /** Its number among that replica's changes. */
  readonly n: number;
  /** `replica:n`, unique: the presence's ref. */
  readonly ref: string;
}

/** A state or a delta as it crosses the wire (plain CBOR arrays). */
export interface PresenceWire {
  /** Per replica, the dots 1..n seen. */
  ctx: [string, number][];
  /** Per replica, further dots seen. */
  cloud: [string, number[]][];
  /** The presences: `[replica, n, topic, key, pid, meta]`. */
  values: [string, number, string, string, Pid, PresenceMeta][];
}

/** What a join changed. */
export interface PresenceChanges {
  /** Presences that appeared. */
  joins: PresenceEntry[];
  /** Presences that went. */
  leaves: PresenceEntry[];
}

/**
 * An observed-remove set of presences with its causal context.
 *
 * @example
 * ```ts
 * import { Pid } from "../term/pid.ts";
 * import { PresenceState, mergeStates } from "./presence_state.ts";
 * const a = new PresenceState();
 * a.add("a#1", { topic: "t", key: "k", pid: new Pid("a", 1, 0, 1), meta: { x: 1 } });
 * const b = new PresenceState();
 * console.assert(mergeStates(a, b).equals(mergeStates(b, a)));
 * ```
 */
export class PresenceState {
  /** Every dot seen. */
  #cc = new CausalContext();
  /** ref -> presence. */
  #values = new Map<string, PresenceEntry>();
  /** topic -> refs, for `list`. */
  #byTopic = new Map<string, Set<string>>();

  /** How many presences the state holds. */
  get size(): number {
    return this.#values.size;
  }

  /** Every presence. */
  entries(): IterableIterator<PresenceEntry> {
    return this.#values.values();
  }

  /**
   * The presences of one topic.
   *
   * @param topic the topic
   * @returns its presences
   */
  list(topic: string): PresenceEntry[] {
    const refs = this.#byTopic.get(topic);
    if (refs === undefined) return [];
    return [...refs].map((ref) => this.#values.get(ref)!);
  }

  /** The presence with this ref, if held. */
  get(ref: string): PresenceEntry | undefined {
    return this.#values.get(ref);
  }

  /** Every replica the state knows of (its presences are all within its context). */
  replicas(): Set<string> {
    return this.#cc.replicas();
  }

  /** Whether the dot `(replica, n)` has been seen. */
  contains(replica: string, n: number): boolean {
    return this.#cc.contains(replica, n);
  }

  /**
   * Adds a presence as `replica` (which must be this state's own: its dots
   * are contiguous here).
   *
   * @param replica the replica adding it
   * @param record the presence
   * @returns the new entry and the delta to send
   */
  add(replica: string, record: PresenceRecord): { entry: PresenceEntry; delta: PresenceWire } {
    const n = this.#cc.max(replica) + 1;
    const entry = makeEntry(replica, n, record);
    this.#cc.add(replica, n);
    this.#put(entry);
    return {
      entry,
      delta: { ctx: [], cloud: [[replica, [n]]], values: [wireValue(entry)] },
    };
  }

  /**
   * Removes a presence.
   *
   * @param ref its ref
   * @returns the removed entry and the delta to send, or `undefined` when not held
   */
  remove(ref: string): { entry: PresenceEntry; delta: PresenceWire } | undefined {
    const entry = this.#values.get(ref);
    if (entry === undefined) return undefined;
    this.#drop(entry);
    return { entry, delta: { ctx: [], cloud: [[entry.replica, [entry.n]]], values: [] } };
  }

  /**
   * Joins `other` into this state.
   *
   * @param other a state or a delta
   * @param skip replicas to leave out of `other` (pruned ones)
   * @returns the presences that appeared and went
   */
  join(other: PresenceState, skip?: (replica: string) => boolean): PresenceChanges {
    const joins: PresenceEntry[] = [];
    const leaves: PresenceEntry[] = [];
    for (const [ref, e] of other.#values) {
      if (skip?.(e.replica)) continue;
      if (!this.#values.has(ref) && !this.contains(e.replica, e.n)) {
        this.#put(e);
        joins.push(e);
      }
    }
    const removed = (e: PresenceEntry) =>
      !skip?.(e.replica) && !other.#values.has(e.ref) && other.contains(e.replica, e.n);
    if (other.#cc.size < this.#values.size) {
      // A delta (or a small state): only the dots it has seen can remove anything.
      for (const { replica, n } of other.#cc.dots()) {
        const e = this.#values.get(`${replica}:${n}`);
        if (e !== undefined && removed(e)) {
          this.#drop(e);
          leaves.push(e);
        }
      }
    } else {
      for (const e of [...this.#values.values()]) {
        if (removed(e)) {
          this.#drop(e);
          leaves.push(e);
        }
      }
    }
    this.#cc.join(other.#cc, skip);
    return { joins, leaves };
  }

  /**
   * Forgets a replica: its presences and everything seen of it.
   *
   * @param replica the replica
   * @returns the presences that went
   */
  prune(replica: string): PresenceEntry[] {
    const gone = [...this.#values.values()].filter((e) => e.replica === replica);
    for (const e of gone) this.#drop(e);
    this.#cc.prune(replica);
    return gone;
  }

  /** A deep enough copy (entries are immutable and shared). */
  clone(): PresenceState {
    const c = new PresenceState();
    c.#cc = this.#cc.clone();
    for (const e of this.#values.values()) c.#put(e);
    return c;
  }

  /** The state as plain arrays, for the wire. */
  toWire(): PresenceWire {
    const [ctx, cloud] = this.#cc.toWire();
    return { ctx, cloud, values: [...this.#values.values()].map(wireValue) };
  }

  /**
   * A state read from the wire.
   *
   * @param wire what `toWire` made (on any node)
   * @returns the state
   * @throws {DecodeError} when `wire` is malformed
   */
  static fromWire(wire: unknown): PresenceState {
    const w = wire as PresenceWire;
    if (
      typeof wire !== "object" || wire === null || !Array.isArray(w.ctx) ||
      !Array.isArray(w.cloud) || !Array.isArray(w.values)
    ) throw malformed("not a state");
    const s = new PresenceState();
    try {
      s.#cc = CausalContext.fromWire([w.ctx, w.cloud]);
    } catch (e) {
      throw malformed((e as Error).message.replace(/^Malformed causal context: /, ""));
    }
    for (const item of w.values) {
      if (!Array.isArray(item)) throw malformed("bad presence");
      const [replica, n, topic, key, pid, meta] = item;
      if (
        typeof replica !== "string" || !isDotNumber(n) || typeof topic !== "string" ||
        typeof key !== "string" || !(pid instanceof Pid) || !isPlainObject(meta)
      ) throw malformed("bad presence");
      const e = makeEntry(replica, n, { topic, key, pid, meta });
      if (!s.contains(replica, n)) throw malformed("a presence outside its context");
      s.#put(e);
    }
    return s;
  }

  /**
   * Whether two states hold the same presences and context.
   *
   * @param other the other state
   * @returns whether they are equal
   */
  equals(other: PresenceState): boolean {
    return this.#cc.equals(other.#cc) &&
      PresenceState.#canonical(this) === PresenceState.#canonical(other);
  }

  #put(e: PresenceEntry): void {
    this.#values.set(e.ref, e);
    let refs = this.#byTopic.get(e.topic);
    if (refs === undefined) this.#byTopic.set(e.topic, refs = new Set());
    refs.add(e.ref);
  }

  #drop(e: PresenceEntry): void {
    this.#values.delete(e.ref);
    const refs = this.#byTopic.get(e.topic);
    refs?.delete(e.ref);
    if (refs?.size === 0) this.#byTopic.delete(e.topic);
  }

  /** Sorted text of the presences, for `equals`. */
  static #canonical(s: PresenceState): string {
    const values = [...s.#values.keys()].sort();
    const metas = values.map((ref) => {
      const e = s.#values.get(ref)!;
      return [e.topic, e.key, e.pid.key, JSON.stringify(e.meta)];
    });
    return JSON.stringify([values, metas]);
  }
}

/**
 * The join of two states, leaving both unchanged.
 *
 * @param a a state
 * @param b another state
 * @returns `a` joined with `b`
 *
 * @example
 * ```ts
 * import { PresenceState, mergeStates } from "./presence_state.ts";
 * const a = new PresenceState();
 * console.assert(mergeStates(a, a).equals(a));
 * ```
 */
export function mergeStates(a: PresenceState, b: PresenceState): PresenceState {
  const out = a.clone();
  out.join(b);
  return out;
}

function makeEntry(replica: string, n: number, r: PresenceRecord): PresenceEntry {
  return {
    topic: r.topic,
    key: r.key,
    pid: r.pid,
    meta: r.meta,
    replica,
    n,
    ref: `${replica}:${n}`,
  };
}

function wireValue(e: PresenceEntry): [string, number, string, string, Pid, PresenceMeta] {
  return [e.replica, e.n, e.topic, e.key, e.pid, e.meta];
}

/** Whether `value` is a plain object (what a presence's meta must be). */
export function isPlainObject(value: unknown): value is PresenceMeta {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function malformed(detail: string): DecodeError {
  return new DecodeError(`Malformed presence state: ${detail}`);
}
