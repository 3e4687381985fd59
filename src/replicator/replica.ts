/**
 * One replica of the replicated keys, apart from any I/O: the keys and their
 * states, the deltas waiting to go out, the digest tree anti-entropy walks,
 * the consistency-level requests in flight and the pruning of replicas gone
 * for good. It is handed a `send(node, op, fields)` function and is driven
 * by calls: `flush()` every delta interval, `antiEntropy()` every
 * anti-entropy interval, `receive()` for every operation from a peer,
 * `peerUp()` / `peerDown()` for membership. The node service
 * (`replicator.ts`) drives it with timers and the node kernel; the
 * simulation test drives many in one turn with a faulty scheduler.
 *
 * ```
 * update(k) on A      A: delta = type.mutate(state); state = join(state, delta);
 *                        pending[k] = join(pending[k], delta)
 * flush() on A        A ---- DELTA([entry of pending[k], ...]) ----> every peer: join
 * write majority      A ---- WRITE(id, delta entry) ----> peers; each ---- WRITE_ACK(id) ----> A
 * read majority       A ---- READ(id, k) ----> peers; each ---- READ_REPLY(id, entry) ----> A: join
 * antiEntropy() on A  A ---- AE_HASHES(level 0, root) ----> B
 *                     B: differing nodes? children -> AE_HASHES(level+1) (back and forth, each side
 *                        answering with the children of the nodes that differ)
 *                     at the leaves: AE_KEYS(salted 5-byte tags of the keys of differing leaves)
 *                     receiver: AE_SYNC(entries the sender lacks, positions of the keys it wants)
 *                     receiver of a non-empty "want": AE_SYNC(those entries, null)
 * ```
 *
 * Failure. Deltas are sent once and may be lost (a connection drops, a
 * partition): anti-entropy repairs whatever differs, at a cost that grows
 * with the difference. A replica takes part in one repair at a time: while
 * an exchange with one peer is under way, another peer's is left to a later
 * round (two healthy peers do not both send a replica that was cut off all
 * it missed), and when both ends of a pair start a round at once, the
 * lower-named one's goes on. A key still changing keeps its old digest until
 * it settles (its deltas are on their way). Joins are idempotent, commutative and associative,
 * so duplicates and reordering are harmless. An entry that cannot be merged
 * (unknown type, another type than the key's, a state that does not decode,
 * a timestamp further ahead than the clock tolerates) is refused with a
 * logged reason and nothing of it is merged; the sender of a type conflict
 * is told (CONFLICT), so both sides report the key as conflicting.
 *
 * Pruning. Replica ids are `node#creation`, so a restarted node is a new
 * replica. A replica gone for good (its node came back as another
 * incarnation, or stayed away past the prune delay) is *retired*, for good:
 * nothing more is taken from it. Its contribution is folded into a live
 * replica in two phases (as Akka Distributed Data does):
 *
 * ```
 * P (pruner: lowest-named member, unless it answered another live pruner)
 * P ---- PRUNE_ASK([removed...]) ----> every member M
 * M: takes nothing more from `removed`; answers its pruner
 * M ---- PRUNE_REPLY([[removed, "ack", P]], every entry of M) ----> P: merges them
 *   (or "owner", Q: M answered a lower pruner Q, and P gives up; or "done")
 * P, once every member's current replica acknowledged:
 *   state = prune(state, removed, P) for each key that held some of it,
 *   marker [removed, P] in the entry, sent to every peer with the next flush
 * M, on an entry with a marker it did not know: cleanup(state, removed), join;
 *   from then on every incoming state is cleaned of `removed` before the join
 * ```
 *
 * Lost asks or replies are asked again every anti-entropy round; a pruner
 * that crashes before phase two leaves nothing folded, and the next pruner
 * starts over. The pruner has merged the most of `removed` any replica holds
 * (every member sent its entries after it stopped taking data from it), so
 * the fold counts it exactly once and the other replicas may drop it.
 * A node partitioned away for longer than the prune delay is removed on the
 * other side: its later data is dropped, and it must restart to rejoin.
 *
 * @example
 * ```ts
 * import { Replica, type ReplicatedType } from "./replica.ts";
 * // A grow-only counter: replica -> count.
 * const counter: ReplicatedType = {
 *   name: "g-counter",
 *   empty: () => new Map(),
 *   join: (a, b) => {
 *     const out = new Map(a as Map<string, number>);
 *     for (const [r, n] of b as Map<string, number>) out.set(r, Math.max(out.get(r) ?? 0, n));
 *     return out;
 *   },
 *   mutate: (s, r, _c, fn) => {
 *     let n = (s as Map<string, number>).get(r) ?? 0;
 *     fn({ increment: (by = 1) => (n += by) });
 *     return new Map([[r, n]]);
 *   },
 *   value: (s) => [...(s as Map<string, number>).values()].reduce((a, b) => a + b, 0),
 *   encode: (s) => [...(s as Map<string, number>)],
 *   decode: (w) => new Map(w as [string, number][]),
 *   equals: (a, b) => JSON.stringify([...(a as Map<string, number>)].sort()) === JSON.stringify([...(b as Map<string, number>)].sort()),
 *   prune: (s) => s,
 *   cleanup: (s) => s,
 * };
 * const wires: [string, number, unknown[]][] = [];
 * const a = new Replica({ node: "a", replica: "a#1", types: () => counter, send: (to, op, f) => wires.push([to, op, [...f]]) });
 * a.open("views", "g-counter");
 * a.update("views", (c) => (c as { increment(n: number): void }).increment(2));
 * console.assert(a.value("views") === 2);
 * ```
 *
 * @module
 */

import {
  ConsistencyError,
  CrdtKeyDeletedError,
  CrdtTypeConflictError,
  describeType,
} from "../errors.ts";
import { logger } from "../log.ts";
import { decode, encode } from "../term/codec.ts";
import { childrenOf, DEPTH, type Digest, DigestTree, FANOUT, LEAVES } from "./digest_tree.ts";
import {
  type Consistency,
  OP_AE_HASHES,
  OP_AE_KEYS,
  OP_AE_SYNC,
  OP_CONFLICT,
  OP_DELTA,
  OP_PRUNE_ASK,
  OP_PRUNE_REPLY,
  OP_READ,
  OP_READ_REPLY,
  OP_WRITE,
  OP_WRITE_ACK,
  REPLICATOR_VERSION,
  type WireEntry,
} from "./types.ts";

const log = logger("replicator");

/** A timestamp of a hybrid logical clock. */
export interface ClockTimestamp {
  /** Physical part, ms. */
  readonly wall: number;
  /** Logical part. */
  readonly logical: number;
}

/** The clock a replica stamps its changes with and checks peers' timestamps against. */
export interface ReplicaClock {
  /** A timestamp for a local event. */
  now(): ClockTimestamp;
  /** Throws (a `ClockSkewError`) when `ts` is further ahead than tolerated. */
  check(ts: ClockTimestamp): void;
  /** Moves the clock past a peer's timestamp. */
  receive(ts: ClockTimestamp): ClockTimestamp;
}

/** What the replica needs of a data type (the contract of `src/crdt/`'s types). */
export interface ReplicatedType {
  /** The type's name. */
  readonly name: string;
  /** The bottom state. */
  empty(): unknown;
  /** Least upper bound; changes neither argument. */
  join(a: unknown, b: unknown): unknown;
  /** The join of many states at once, when the type has a faster way than one after the other. */
  joinMany?(states: unknown[]): unknown;
  /** `join` changing in place what of `a` was made under `owner` (see `CrdtType.joinOwned`). */
  joinOwned?(a: unknown, b: unknown, owner: object): unknown;
  /** Runs `fn` on a handle as `replica`; returns the delta made. */
  // deno-lint-ignore no-explicit-any
  mutate(state: any, replica: string, clock: any, fn: (handle: any) => void): unknown;
  /** The user-facing value. */
  value(state: unknown): unknown;
  /** The state as a wire value. */
  encode(state: unknown): unknown;
  /** The state in a compact form for the wire, if the type has one (`decode` reads it). */
  pack?(state: unknown): unknown;
  /** A wire value as a state; throws `TypeError` when malformed. */
  decode(wire: unknown): unknown;
  /** Semantic equality. */
  equals(a: unknown, b: unknown): boolean;
  /** Folds what `removed` contributed into `into`. */
  prune(state: unknown, removed: string, into: string): unknown;
  /** Drops what `removed` contributed (the pruner folded it into its own). */
  cleanup(state: unknown, removed: string): unknown;
  /** The newest timestamp in the state, if the type keeps any. */
  latest?(state: unknown): ClockTimestamp | undefined;
}

/** Options for {@linkcode Replica}. */
export interface ReplicaOptions {
  /** This node's name. */
  node: string;
  /** This replica's id (`node#creation`). */
  replica: string;
  /** Finds a type by name; throws `TypeError` for an unknown name. */
  types: (name: string) => ReplicatedType;
  /** Sends an operation to a peer. */
  send: (node: string, op: number, fields: readonly unknown[]) => void;
  /** The clock; default: a plain hybrid logical clock on `Date.now` without a skew limit. */
  clock?: ReplicaClock;
  /** Called after a key's state changed (locally or by a merge). */
  onChange?: (key: string) => void;
  /**
   * Milliseconds after a change during which anti-entropy leaves a key to
   * its deltas (the node service uses its anti-entropy interval). Default 0.
   */
  quiet?: number;
  /** The time, for `quiet`. Default `Date.now`. */
  now?: () => number;
  /** Starts a timer for a request deadline; returns its cancel. Default `setTimeout`. */
  timer?: (ms: number, fn: () => void) => () => void;
}

/** Options of a write or delete. */
export interface WriteOptions {
  /** Replicas that must have it before it resolves. Default `"local"`. */
  write?: Consistency;
  /** Milliseconds to wait for them. Default 5000. */
  timeout?: number;
}

/** Options of a read. */
export interface ReadOptions {
  /** Replicas to read from (their states are joined). Default `"local"`. */
  read?: Consistency;
  /** Milliseconds to wait for them. Default 5000. */
  timeout?: number;
}

interface Slot {
  type: ReplicatedType;
  state: unknown;
  deleted: boolean;
  /** Removed replica -> the replica it was folded into. */
  markers: Map<string, string>;
  /**
   * The owner token of local joins (`joinOwned`): replaced whenever the
   * state is handed out, so that what was handed out never changes.
   */
  owner: object;
}

interface Request {
  key: string;
  kind: "write" | "read";
  required: number;
  reached: number;
  refusals: string[];
  targets: number;
  level: Consistency;
  timeout: number;
  cancel: () => void;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** The default request timeout, ms. */
export const DEFAULT_TIMEOUT = 5000;

/**
 * One replica of every replicated key of a node.
 */
export class Replica {
  /** This node's name. */
  readonly node: string;
  /** This replica's id. */
  readonly replica: string;
  #types: (name: string) => ReplicatedType;
  #send: (node: string, op: number, fields: readonly unknown[]) => void;
  #clock: ReplicaClock;
  #onChange: (key: string) => void;
  #timer: (ms: number, fn: () => void) => () => void;
  #quiet: number;
  #now: () => number;
  #changedAt = new Map<string, number>();
  #slots = new Map<string, Slot>();
  /**
   * Deltas made since the last flush, per key (`null`: deleted), joined at
   * the flush (`joinMany`). A type with `joinOwned` keeps one running delta
   * instead, joined into in place (a copying join would copy the total's
   * context once per update, and a list keeps every delta alive until the flush).
   */
  #pending = new Map<string, unknown[] | null>();
  #tree = new DigestTree();
  #stale = new Set<string>();
  /** Connected peers (node names). */
  #peers = new Set<string>();
  /** Members that are not connected now but count for "majority" / "all". */
  #away = new Set<string>();
  /** Replica ids of connected peers. */
  #peerReplicas = new Map<string, string>();
  /**
   * Replicas gone for good, waiting to be pruned. Retiring is final: nothing
   * more is taken from a retired replica (its node must restart, as a new
   * replica, to take part again).
   */
  #retired = new Set<string>();
  /** Replicas pruned (a marker names them) -> the replica they were folded into. */
  #done = new Map<string, string>();
  /** Retired replica -> the pruner this replica answered (or itself, when it is the pruner). */
  #owners = new Map<string, string>();
  /** When this replica is the pruner: retired replica -> the replicas that acknowledged its PRUNE_ASK. */
  #acks = new Map<string, Set<string>>();
  /** Keys held with another type by a peer: key -> "type on node". */
  #conflicts = new Map<string, string>();
  #requests = new Map<number, Request>();
  /** When this replica last started an anti-entropy round with each peer. */
  #initiated = new Map<string, number>();
  /**
   * Per peer, the keys of the last AE_KEYS sent to it, in order, with its
   * salt: its AE_SYNC answer wants keys by their positions in this list.
   */
  #offered = new Map<string, { salt: number; keys: string[] }>();
  /** The peer of the anti-entropy exchange under way here, and when it last sent something. */
  #session: { peer: string; at: number } | undefined;
  #nextId = 1;
  #closed = false;

  /**
   * @param options the node, replica id, types, and the send function
   */
  constructor(options: ReplicaOptions) {
    this.node = options.node;
    this.replica = options.replica;
    this.#types = options.types;
    this.#send = options.send;
    this.#clock = options.clock ?? plainClock();
    this.#onChange = options.onChange ?? (() => {});
    this.#quiet = options.quiet ?? 0;
    this.#now = options.now ?? Date.now;
    this.#timer = options.timer ?? ((ms, fn) => {
      const t = globalThis.setTimeout(fn, ms);
      return () => globalThis.clearTimeout(t);
    });
  }

  // ------------------------------------------------------------------ keys

  /**
   * Declares `key` with its type here (a key that arrived from a peer
   * already has one).
   *
   * @param key the key
   * @param typeName the type's name
   * @returns the type
   * @throws {TypeError} when the key is not a non-empty string or the type is unknown
   * @throws {CrdtTypeConflictError} when the key is held with another type
   * @throws {CrdtKeyDeletedError} when the key was deleted
   */
  open(key: string, typeName: string): ReplicatedType {
    checkKey(key, "open");
    const type = this.#types(typeName);
    const slot = this.#slots.get(key);
    if (slot === undefined) {
      // Peers learn of the key (and its type) with the next flush.
      this.#slots.set(key, {
        type,
        state: type.empty(),
        deleted: false,
        markers: new Map(),
        owner: {},
      });
      this.#pending.set(key, [type.empty()]);
      this.#changed(key);
      return type;
    }
    if (slot.type.name !== type.name) {
      throw new CrdtTypeConflictError(
        `Cannot open key ${key} as ${type.name}: it is ${article(slot.type.name)} here`,
        key,
      );
    }
    this.#usable(key, slot, "open");
    return type;
  }

  /** Whether `key` is held (opened here or received), deleted or not. */
  has(key: string): boolean {
    return this.#slots.has(key);
  }

  /** The type name of `key`, if held. */
  typeOf(key: string): string | undefined {
    return this.#slots.get(key)?.type.name;
  }

  /** Every key held and not deleted, sorted. */
  keys(): string[] {
    return [...this.#slots].filter(([, s]) => !s.deleted).map(([k]) => k).sort();
  }

  /**
   * Changes `key` here: `fn` gets the type's handle. The delta goes to the
   * peers with the next flush.
   *
   * @param key an opened key
   * @param fn the mutation
   * @returns the change as a wire entry, made on demand (for a write that wants
   *   acknowledgements; a local write never encodes it)
   * @throws {TypeError} when the key was never opened
   * @throws {CrdtTypeConflictError} when a peer holds the key with another type
   * @throws {CrdtKeyDeletedError} when the key was deleted
   */
  update(key: string, fn: (handle: unknown) => void): () => WireEntry {
    const slot = this.#slot(key, "update");
    const delta = slot.type.mutate(slot.state, this.replica, this.#clock, fn);
    // The state is this replica's alone: a local delta is joined into it in place.
    slot.state = slot.type.joinOwned
      ? slot.type.joinOwned(slot.state, delta, slot.owner)
      : slot.type.join(slot.state, delta);
    const pending = this.#pending.get(key);
    if (!pending) this.#pending.set(key, [delta]);
    else if (slot.type.joinOwned && pending.length === 1) {
      // One running delta per key, joined into in place: the list, made anew
      // every flush, is its owner token (nothing else holds what it made).
      pending[0] = slot.type.joinOwned(pending[0], delta, pending);
    } else pending.push(delta);
    this.#changed(key);
    return () => [key, slot.type.name, packed(slot.type, delta), [...slot.markers]];
  }

  /**
   * The value of `key` here.
   *
   * @throws {TypeError} when the key is not held
   * @throws {CrdtTypeConflictError} when a peer holds the key with another type
   * @throws {CrdtKeyDeletedError} when the key was deleted
   */
  value(key: string): unknown {
    const slot = this.#slot(key, "get");
    return slot.type.value(slot.state);
  }

  /** The state of `key` (for tests and the durable store), if held. */
  state(key: string): { type: string; state: unknown; deleted: boolean } | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    slot.owner = {}; // handed out: later local joins copy what they change
    return { type: slot.type.name, state: slot.state, deleted: slot.deleted };
  }

  /**
   * Deletes `key` everywhere: deletion wins over concurrent updates.
   *
   * @returns the deletion as a wire entry
   * @throws {TypeError} when the key is not held
   */
  delete(key: string): WireEntry {
    checkKey(key, "delete");
    const slot = this.#slots.get(key);
    if (slot === undefined) throw new TypeError(`Cannot delete key ${key}: no such key`);
    slot.deleted = true;
    slot.state = slot.type.empty();
    this.#pending.set(key, null);
    this.#changed(key);
    return this.#entry(key, slot);
  }

  /** The whole entry of `key` as sent on the wire, if held. */
  entry(key: string): WireEntry | undefined {
    const slot = this.#slots.get(key);
    return slot && this.#entry(key, slot);
  }

  /**
   * Takes in an entry from a store or a peer (as AE_SYNC would).
   *
   * @param entry the wire entry
   * @param from who it came from, for log lines
   * @returns whether it was merged
   */
  load(entry: unknown, from = "store"): boolean {
    return this.#merge(from, entry, false);
  }

  /** Why `key` cannot be used now (a type conflict with a peer), if so. */
  conflict(key: string): string | undefined {
    return this.#conflicts.get(key);
  }

  // ------------------------------------------------------------ membership

  /**
   * A connection to `node` is up; `replica` is its replica id. Its
   * previous incarnation, if another, is retired.
   */
  peerUp(node: string, replica: string): void {
    if (node === this.node) return;
    if (this.#gone(replica)) {
      log.warning(
        "{node} came back as replica {replica}, which was removed for good: nothing of it is taken; restart {node} to rejoin",
        { node, replica },
      );
      this.#peerReplicas.set(node, replica);
      return;
    }
    const old = this.#peerReplicas.get(node);
    if (old !== undefined && old !== replica) this.retire(old);
    this.#peerReplicas.set(node, replica);
    this.#peers.add(node);
    this.#away.delete(node);
  }

  /** The connection to `node` is down; it still counts as a member until `removeNode`. */
  peerDown(node: string): void {
    this.#offered.delete(node);
    if (!this.#peers.delete(node)) return;
    this.#away.add(node);
  }

  /**
   * `node` left for good: it no longer counts as a member and its replica is
   * retired (what still arrives from that replica is dropped).
   */
  removeNode(node: string): void {
    this.#peers.delete(node);
    this.#away.delete(node);
    const replica = this.#peerReplicas.get(node);
    if (replica !== undefined) this.retire(replica);
  }

  /** Retires a replica id directly (this node's own previous incarnation, from its store). */
  retire(replica: string): void {
    if (replica !== this.replica && !this.#done.has(replica)) this.#retired.add(replica);
  }

  /** Connected peers, sorted. */
  peers(): string[] {
    return [...this.#peers].sort();
  }

  /** Members not connected now (they count for "majority" and "all"). */
  away(): string[] {
    return [...this.#away].sort();
  }

  /** Replicas waiting to be pruned. */
  retired(): string[] {
    return [...this.#retired].sort();
  }

  /** Replicas pruned, each with the replica it was folded into, sorted. */
  pruned(): [string, string][] {
    return [...this.#done].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  }

  // --------------------------------------------------------------- ticking

  /**
   * Sends the deltas gathered since the last flush to every peer, in one DELTA each.
   *
   * @returns how many keys' deltas it sent (0 when there was nothing)
   */
  flush(): number {
    if (this.#pending.size === 0) return 0;
    const entries: WireEntry[] = [];
    for (const [key, deltas] of this.#pending) {
      const slot = this.#slots.get(key);
      if (slot === undefined) continue;
      entries.push(
        slot.deleted || deltas === null
          ? this.#entry(key, slot)
          : [key, slot.type.name, packed(slot.type, joinAll(slot.type, deltas)), [
            ...slot.markers,
          ]],
      );
    }
    this.#pending.clear();
    if (entries.length === 0) return 0;
    const batch = squeeze(entries);
    for (const peer of this.#peers) this.#send(peer, OP_DELTA, [REPLICATOR_VERSION, batch]);
    return entries.length;
  }

  /**
   * Starts an anti-entropy round with every peer (or the ones given): sends
   * the root of the digest tree. Also prunes retired replicas when this
   * replica is the pruner.
   */
  antiEntropy(peers: Iterable<string> = this.#peers): void {
    this.#refresh();
    this.#prune();
    const root = hashBytes(this.#tree.hashes(0, [0]));
    for (const peer of peers) {
      if (!this.#peers.has(peer)) continue;
      if (this.#quiet > 0) this.#initiated.set(peer, this.#now());
      this.#send(peer, OP_AE_HASHES, [REPLICATOR_VERSION, 0, [], root, [...this.#retired]]);
    }
  }

  /** The root hash of the digest tree (equal roots: equal replicas). */
  rootHash(): [number, number] {
    this.#refresh(true);
    const [a, b] = this.#tree.hashes(0, [0]);
    return [a!, b!];
  }

  // ------------------------------------------------------- consistency

  /**
   * Waits until `required` replicas hold a write (this one has it already).
   *
   * @param write the write (from `update`, or an entry from `delete`)
   * @param options the level and timeout
   * @throws {ConsistencyError} when not reached in time
   */
  replicate(write: WireEntry | (() => WireEntry), options: WriteOptions = {}): Promise<void> {
    const level = options.write ?? "local";
    const required = this.#required(level, "write");
    if (required <= 1) return Promise.resolve();
    const entry = typeof write === "function" ? write() : write;
    return this.#request(
      entry[0],
      "write",
      level,
      required,
      options.timeout,
      (id, peer) => this.#send(peer, OP_WRITE, [REPLICATOR_VERSION, id, entry]),
    );
  }

  /**
   * Reads `key` from `required` replicas (this one included) and joins
   * what they hold into this replica.
   *
   * @param key the key
   * @param options the level and timeout
   * @throws {ConsistencyError} when not reached in time
   */
  fetch(key: string, options: ReadOptions = {}): Promise<void> {
    const level = options.read ?? "local";
    const required = this.#required(level, "read");
    if (required <= 1) return Promise.resolve();
    return this.#request(
      key,
      "read",
      level,
      required,
      options.timeout,
      (id, peer) => this.#send(peer, OP_READ, [REPLICATOR_VERSION, id, key]),
    );
  }

  /** Fails every request in flight and stops taking operations. */
  close(): void {
    this.#closed = true;
    for (const [id, r] of this.#requests) {
      this.#requests.delete(id);
      r.cancel();
      r.reject(
        new ConsistencyError(`Cannot ${r.kind} ${r.key}: the replicator stopped`, {
          key: r.key,
          required: r.required,
          reached: r.reached,
        }),
      );
    }
  }

  // ------------------------------------------------------------- receiving

  /**
   * Handles an operation from the replica on `from`.
   *
   * @param from the sending node
   * @param op the op code
   * @param fields its fields
   * @throws {TypeError} when the operation is malformed (the caller logs it)
   */
  receive(from: string, op: number, fields: readonly unknown[]): void {
    if (this.#closed) return;
    const sender = this.#peerReplicas.get(from);
    // Late data of a replica removed for good: the pruner may have folded it already.
    if (sender !== undefined && this.#gone(sender)) return;
    switch (op) {
      case OP_DELTA: {
        // Sent by the replica on `from` every delta interval.
        const [, entries] = versioned(fields, 2);
        for (const entry of unsqueeze(entries)) this.#merge(from, entry, true);
        return;
      }
      case OP_WRITE: {
        // Sent by a replica whose write asks for acknowledgements.
        const [, id, entry] = versioned(fields, 3);
        const why = this.#mergeWhy(from, entry, true);
        this.#send(from, OP_WRITE_ACK, [id, why ?? null]);
        return;
      }
      case OP_WRITE_ACK: {
        // Sent by a peer that got our WRITE.
        const [id, why] = fields;
        this.#answer(id, typeof why === "string" ? why : undefined);
        return;
      }
      case OP_READ: {
        // Sent by a replica whose read asks for several replicas.
        const [, id, key] = versioned(fields, 3);
        if (typeof key !== "string") throw new TypeError("Malformed READ: key is not a string");
        const slot = this.#slots.get(key);
        this.#send(from, OP_READ_REPLY, [id, slot ? this.#entry(key, slot) : null]);
        return;
      }
      case OP_READ_REPLY: {
        // Sent by a peer that got our READ.
        const [id, entry] = fields;
        const why = entry === null ? undefined : this.#mergeWhy(from, entry, true);
        this.#answer(id, why);
        return;
      }
      case OP_AE_HASHES:
        return this.#onHashes(from, fields);
      case OP_AE_KEYS:
        if (this.#elsewhere(from)) return;
        return this.#onKeys(from, fields);
      case OP_AE_SYNC:
        return this.#onSync(from, fields);
      case OP_PRUNE_ASK:
        return this.#onPruneAsk(from, fields);
      case OP_PRUNE_REPLY:
        return this.#onPruneReply(from, fields);
      case OP_CONFLICT: {
        // Sent by a peer that refused our entry of `key` for its type.
        const [, key, type] = versioned(fields, 3);
        if (typeof key !== "string" || typeof type !== "string") {
          throw new TypeError("Malformed CONFLICT");
        }
        this.#noteConflict(from, key, type, false);
        return;
      }
      default:
        throw new TypeError(`Unknown replicator op ${op}`);
    }
  }

  /**
   * AE_HASHES, sent by a peer's anti-entropy (level 0) or in answer to ours:
   * compare, descend where different.
   */
  #onHashes(from: string, fields: readonly unknown[]): void {
    const [, level, parents, hashes, retired] = versioned(fields, 5);
    if (typeof level !== "number" || !Number.isInteger(level) || level < 0 || level > DEPTH) {
      throw new TypeError("Malformed AE_HASHES: bad level");
    }
    const done: [string, string, string][] = [];
    for (const r of list(retired)) {
      if (typeof r !== "string") continue;
      const into = this.#done.get(r);
      if (into === undefined) this.retire(r);
      else done.push([r, "done", into]);
    }
    // The sender still waits for a replica pruned already (one no key held: no marker travels).
    if (done.length > 0) this.#send(from, OP_PRUNE_REPLY, [REPLICATOR_VERSION, done, []]);
    const indices = level === 0 ? [0] : childrenOf(ascending(parents, FANOUT ** (level - 1)));
    const theirs = hashWords(hashes, indices.length);
    this.#refresh();
    const diff = this.#tree.differing(level, indices, theirs);
    if (diff.length === 0) return;
    if (level === 0 && this.#quiet > 0) {
      // Both ends of a pair started a round at once: the lower-named one's goes on.
      const mine = this.#initiated.get(from);
      if (this.node < from && mine !== undefined && this.#now() - mine < this.#quiet / 2) return;
    }
    if (this.#elsewhere(from)) return;
    if (level < DEPTH) {
      // The children of the nodes that differ, in order: the peer derives their indices.
      const hashes = hashBytes(this.#tree.hashes(level + 1, childrenOf(diff)));
      this.#send(from, OP_AE_HASHES, [REPLICATOR_VERSION, level + 1, diff, hashes, []]);
      return;
    }
    // The keys of the differing leaves, as salted tags (see `tagKeys`), not names.
    const salt = (Math.random() * 0x1_0000_0000) >>> 0;
    const counts: number[] = [];
    const keys: string[] = [];
    for (const leaf of diff) {
      const held = this.#tree.leafEntries(leaf);
      counts.push(held.length);
      for (const [key] of held) keys.push(key);
    }
    const tags = new Uint8Array(TAG_BYTES * keys.length);
    let p = 0;
    for (const leaf of diff) {
      for (const [key, h1, h2] of this.#tree.leafEntries(leaf)) {
        writeTag(tags, p++, salt, key, h1, h2);
      }
    }
    this.#offered.set(from, { salt, keys });
    this.#send(from, OP_AE_KEYS, [REPLICATOR_VERSION, salt, diff, counts, tags]);
  }

  /**
   * AE_KEYS, sent by a peer whose leaves differ from ours: send the entries it
   * lacks, want the ones that differ or that this side lacks (by position).
   */
  #onKeys(from: string, fields: readonly unknown[]): void {
    const [, salt, rawLeaves, rawCounts, tags] = versioned(fields, 5);
    if (typeof salt !== "number" || !Number.isInteger(salt) || salt < 0 || salt > 0xffff_ffff) {
      throw new TypeError("Malformed AE_KEYS: bad salt");
    }
    const leaves = ascending(rawLeaves, LEAVES);
    const counts = list(rawCounts);
    if (counts.length !== leaves.length) {
      throw new TypeError("Malformed AE_KEYS: one count per leaf expected");
    }
    let total = 0;
    for (const n of counts) {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
        throw new TypeError("Malformed AE_KEYS: bad count");
      }
      total += n;
    }
    if (!(tags instanceof Uint8Array) || tags.length !== TAG_BYTES * total) {
      throw new TypeError(`Malformed AE_KEYS: expected ${TAG_BYTES * total} bytes of key tags`);
    }
    this.#refresh();
    const entries: WireEntry[] = [];
    const want = new Uint8Array(Math.ceil(total / 8));
    let wanted = 0;
    let p = 0;
    for (let l = 0; l < leaves.length; l++) {
      // This side's keys of the leaf by their key tag (two keys may share one).
      const mine = new Map<number, [string, number][]>();
      for (const [key, h1, h2] of this.#tree.leafEntries(leaves[l]!)) {
        const kt = keyTag(salt, key);
        const same = mine.get(kt);
        const item: [string, number] = [key, stateTag(salt, h1, h2)];
        if (same === undefined) mine.set(kt, [item]);
        else same.push(item);
      }
      const named = new Set<number>();
      const end = p + (counts[l] as number);
      for (; p < end; p++) {
        const o = TAG_BYTES * p;
        const kt = (tags[o]! << 8) | tags[o + 1]!;
        const st = (tags[o + 2]! << 16) | (tags[o + 3]! << 8) | tags[o + 4]!;
        const held = mine.get(kt);
        named.add(kt);
        // Equal, or changing here (its deltas are on their way): nothing to do.
        if (held?.some(([key, t]) => t === st || this.#busy(key))) continue;
        // A key that differs is asked for, not sent: the answer is joined here, and
        // only when that leaves this side with more does its entry go back (AE_SYNC).
        want[p >> 3]! |= 1 << (p & 7);
        wanted++;
      }
      // Keys the peer did not name: it lacks them.
      for (const [kt, held] of mine) {
        if (named.has(kt)) continue;
        for (const [key] of held) {
          if (!this.#busy(key)) entries.push(this.#entry(key, this.#slots.get(key)!));
        }
      }
    }
    if (entries.length > 0 || wanted > 0) {
      this.#send(from, OP_AE_SYNC, [
        REPLICATOR_VERSION,
        squeeze(byKey(entries)),
        wanted > 0 ? [salt, deflate(want)] : null,
      ]);
      // No hold on other peers' repairs while the wanted entries come: with
      // writes all the time (the chaos run's counter), nearly every exchange
      // wants something, so a hold refused the one peer that had the keys a
      // restarted replica lacked, round after round (names missing after
      // 45 s). The exchange counts as under way when its answer is merged.
    }
  }

  /**
   * AE_SYNC, sent by a peer in answer to our AE_KEYS (entries we lack, and
   * the positions of the keys it wants), or to its own AE_SYNC (entries it
   * lacked): merge the entries, send the ones wanted and the ones it lacks.
   */
  #onSync(from: string, fields: readonly unknown[]): void {
    const [, entries, want] = versioned(fields, 3);
    const back: WireEntry[] = [];
    for (const entry of unsqueeze(entries)) {
      if (!this.#merge(from, entry, true)) continue;
      // Joined: if this side held something the entry lacked, the sender lacks it too.
      const key = (entry as WireEntry)[0];
      const slot = this.#slots.get(key)!;
      if (!sameEntry(key, slot, entry as WireEntry)) back.push(this.#entry(key, slot));
    }
    if (want !== null) {
      if (!Array.isArray(want) || want.length !== 2 || !(want[1] instanceof Uint8Array)) {
        throw new TypeError("Malformed AE_SYNC: wanted keys are not [salt, bitmap]");
      }
      const offer = this.#offered.get(from);
      // An answer to an earlier offer than the last one: the next round asks again.
      if (offer !== undefined && offer.salt === want[0]) {
        this.#offered.delete(from);
        const size = Math.ceil(offer.keys.length / 8);
        const bits = inflate(want[1], size);
        if (bits.length !== size) {
          throw new TypeError(`Malformed AE_SYNC: expected a bitmap of ${size} bytes`);
        }
        const sent = new Set(back.map(([key]) => key));
        offer.keys.forEach((key, p) => {
          if ((bits[p >> 3]! & (1 << (p & 7))) === 0 || sent.has(key)) return;
          const slot = this.#slots.get(key);
          if (slot !== undefined) back.push(this.#entry(key, slot));
        });
      }
    }
    if (back.length > 0) {
      this.#send(from, OP_AE_SYNC, [REPLICATOR_VERSION, squeeze(byKey(back)), null]);
    }
    // Merging a large repair takes a while: the exchange counts as under way until it is done.
    this.#elsewhere(from);
  }

  // --------------------------------------------------------------- merging

  #merge(from: string, entry: unknown, tell: boolean): boolean {
    return this.#mergeWhy(from, entry, tell) === undefined;
  }

  /** Merges one entry; returns why it was refused, or `undefined` when merged. */
  #mergeWhy(from: string, entry: unknown, tell: boolean): string | undefined {
    const refuse = (why: string, key = "?") => {
      log.warning("Refused {key} from {from}: {why}; nothing of it merged", { key, from, why });
      return why;
    };
    if (
      !Array.isArray(entry) || entry.length !== 4 || typeof entry[0] !== "string" ||
      typeof entry[1] !== "string" || !Array.isArray(entry[3])
    ) {
      return refuse(`malformed entry (${describeType(entry)})`);
    }
    const [key, typeName, wire, rawMarkers] = entry as WireEntry;
    const slot = this.#slots.get(key);
    if (slot !== undefined && slot.type.name !== typeName) {
      this.#noteConflict(from, key, typeName, tell);
      return refuse(`it is ${article(typeName)} there but ${article(slot.type.name)} here`, key);
    }
    let type: ReplicatedType;
    try {
      type = slot?.type ?? this.#types(typeName);
    } catch (e) {
      return refuse((e as Error).message, key);
    }
    const markers = new Map<string, string>();
    for (const m of rawMarkers) {
      if (!Array.isArray(m) || typeof m[0] !== "string" || typeof m[1] !== "string") {
        return refuse("malformed pruning marker", key);
      }
      markers.set(m[0], m[1]);
    }
    let incoming: unknown = undefined;
    if (wire !== null) {
      try {
        incoming = type.decode(wire);
      } catch (e) {
        return refuse(`malformed ${typeName} state: ${(e as Error).message}`, key);
      }
      const ts = type.latest?.(incoming);
      if (ts !== undefined) {
        try {
          this.#clock.check(ts);
        } catch (e) {
          return refuse((e as Error).message, key);
        }
        this.#clock.receive(ts);
      }
    }
    const target = slot ??
      { type, state: type.empty(), deleted: false, markers: new Map<string, string>(), owner: {} };
    if (slot === undefined) this.#slots.set(key, target);
    if (this.#conflicts.get(key)?.endsWith(` on ${from}`)) this.#conflicts.delete(key);
    const [before, wasDeleted, marked] = [target.state, target.deleted, target.markers.size];
    // Markers first: the pruner folded the removed replica into its own, and
    // every other replica drops it (the folded count reaches it with the
    // pruner's state). What was pruned must not come back through the incoming state.
    for (const [removed, into] of markers) {
      this.#learnPruned(removed, into);
      if (target.markers.has(removed)) continue;
      target.markers.set(removed, into);
      if (!target.deleted) target.state = type.cleanup(target.state, removed);
    }
    if (wire === null) {
      if (!target.deleted) {
        target.deleted = true;
        target.state = type.empty();
        this.#pending.delete(key);
      }
    } else if (!target.deleted) {
      let state = incoming;
      for (const [removed, into] of this.#done) {
        // Replicas pruned, some learnt of without a marker (a "done" answer).
        const clean = type.cleanup(state, removed);
        const mine = type.cleanup(target.state, removed);
        if (clean === state && mine === target.state) continue;
        state = clean;
        target.state = mine;
        if (!target.markers.has(removed)) target.markers.set(removed, into);
      }
      target.state = type.join(target.state, state);
    }
    // A join that added nothing (the types return the state itself then) is
    // no change: it must not make the key look busy, or a key merged again
    // every round would keep its old digest, and the peer would send it again.
    if (
      slot === undefined || target.state !== before || target.deleted !== wasDeleted ||
      target.markers.size !== marked
    ) {
      this.#changed(key);
    }
    return undefined;
  }

  #noteConflict(from: string, key: string, theirs: string, tell: boolean): void {
    const slot = this.#slots.get(key);
    if (slot === undefined || slot.type.name === theirs) return;
    const note = `${article(theirs)} on ${from}`;
    if (this.#conflicts.get(key) !== note) {
      log.error("Key {key} is {ours} here but {theirs}: neither is merged into the other", {
        key,
        ours: article(slot.type.name),
        theirs: note,
      });
    }
    this.#conflicts.set(key, note);
    if (tell) this.#send(from, OP_CONFLICT, [REPLICATOR_VERSION, key, slot.type.name]);
  }

  // -------------------------------------------------------------- requests

  #required(level: Consistency, what: string): number {
    const members = 1 + this.#peers.size + this.#away.size;
    switch (level) {
      case "local":
        return 1;
      case "majority":
        return Math.floor(members / 2) + 1;
      case "all":
        return members;
      default:
        if (typeof level === "number" && Number.isInteger(level) && level >= 1) return level;
        throw new TypeError(
          `Invalid ${what} consistency: expected "local", "majority", "all" or a positive integer, received ${
            describeType(level)
          }`,
        );
    }
  }

  #request(
    key: string,
    kind: "write" | "read",
    level: Consistency,
    required: number,
    timeout = DEFAULT_TIMEOUT,
    send: (id: number, peer: string) => void,
  ): Promise<void> {
    if (!(typeof timeout === "number" && timeout >= 0)) {
      throw new RangeError(`Invalid ${kind} timeout: must be >= 0 ms, received ${timeout}`);
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const id = this.#nextId++;
    const request: Request = {
      key,
      kind,
      required,
      reached: 1,
      refusals: [],
      targets: this.#peers.size,
      level,
      timeout,
      cancel: () => {},
      resolve,
      reject,
    };
    this.#requests.set(id, request);
    request.cancel = this.#timer(timeout, () => this.#fail(id));
    for (const peer of this.#peers) send(id, peer);
    if (this.#peers.size + 1 < required && this.#away.size === 0) this.#fail(id);
    return promise;
  }

  #answer(id: unknown, refusal: string | undefined): void {
    if (typeof id !== "number") throw new TypeError("Malformed reply: id is not a number");
    const r = this.#requests.get(id);
    if (r === undefined) return;
    if (refusal !== undefined) r.refusals.push(refusal);
    else r.reached++;
    if (r.reached >= r.required) {
      this.#requests.delete(id);
      r.cancel();
      r.resolve();
    } else if (r.reached + (r.targets - (r.reached - 1) - r.refusals.length) < r.required) {
      this.#fail(id);
    }
  }

  #fail(id: number): void {
    const r = this.#requests.get(id);
    if (r === undefined) return;
    this.#requests.delete(id);
    r.cancel();
    const level = typeof r.level === "number" ? `${r.level} replicas` : r.level;
    const why = r.refusals.length > 0 ? `; refused: ${r.refusals.join("; ")}` : "";
    r.reject(
      new ConsistencyError(
        `Cannot ${r.kind} ${r.key}: ${level} not reached (${r.reached} of ${r.required} replicas) ` +
          `in ${r.timeout} ms${why}`,
        { key: r.key, required: r.required, reached: r.reached },
      ),
    );
  }

  // --------------------------------------------------------------- pruning

  /**
   * Pruning, in two phases as Akka Distributed Data does it. One pruner per
   * retired replica: the lowest-named node among this node and its members
   * (connected or away), and only when no other live pruner was answered
   * already. Phase one: it asks every member (PRUNE_ASK); a member that
   * acknowledges sends every entry it holds and from then on takes nothing
   * from the removed replica, so what the pruner merged is the most any
   * replica will ever hold of it. Phase two, once every member's current
   * replica acknowledged: the pruner folds the removed replica into its own
   * (`type.prune`) and marks each entry it changed `[removed, into]`; the
   * marker travels with the entry, and every other replica drops the
   * removed replica's part (`type.cleanup`) from its state and from all it
   * receives later. A member that answered a lower pruner refuses a higher
   * one, and a pruner that learns of a lower one gives up: two pruners never
   * both fold the same replica.
   */
  #prune(): void {
    if (this.#retired.size === 0) return;
    const ask: string[] = [];
    for (const removed of this.#retired) {
      if (this.#done.has(removed)) {
        this.#retired.delete(removed);
        continue;
      }
      const owner = this.#owners.get(removed);
      if (owner !== undefined && owner !== this.replica && !this.#gone(owner)) continue;
      if (!this.#lowest()) continue;
      if (owner !== this.replica) {
        this.#owners.set(removed, this.replica);
        this.#acks.set(removed, new Set());
      }
      const acks = this.#acks.get(removed)!;
      const missing = [...this.#peers, ...this.#away].filter((n) =>
        !acks.has(this.#peerReplicas.get(n) ?? "")
      );
      if (missing.length === 0) this.#perform(removed);
      else ask.push(removed);
    }
    if (ask.length === 0) return;
    for (const peer of this.#peers) {
      const replica = this.#peerReplicas.get(peer)!;
      const asked = ask.filter((r) => !this.#acks.get(r)!.has(replica));
      if (asked.length > 0) this.#send(peer, OP_PRUNE_ASK, [REPLICATOR_VERSION, asked]);
    }
  }

  /** Phase two, on the pruner: fold `removed` into this replica, mark what changed. */
  #perform(removed: string): void {
    let keys = 0;
    for (const [key, slot] of this.#slots) {
      if (slot.markers.has(removed) || slot.deleted) continue;
      const state = slot.type.prune(slot.state, removed, this.replica);
      if (state === slot.state) continue;
      slot.state = state;
      slot.markers.set(removed, this.replica);
      keys++;
      this.#changed(key);
      // The marker must reach every replica, with the state it made.
      slot.owner = {}; // the pending delta is the state itself: it must not change
      this.#pending.set(key, [slot.state]);
    }
    this.#learnPruned(removed, this.replica);
    log.info("Pruned replica {removed} into {into} ({keys} keys)", {
      removed,
      into: this.replica,
      keys,
    });
  }

  /** PRUNE_ASK, sent by the pruner of some retired replicas. */
  #onPruneAsk(from: string, fields: readonly unknown[]): void {
    const [, removedList] = versioned(fields, 2);
    const pruner = this.#peerReplicas.get(from);
    if (pruner === undefined) return;
    const answers: [string, string, string][] = [];
    let ack = false;
    for (const removed of list(removedList)) {
      if (typeof removed !== "string") throw new TypeError("Malformed PRUNE_ASK");
      if (removed === this.replica) {
        log.warning(
          "{from} prunes this replica ({replica}): it was removed for good; restart this node to rejoin",
          {
            from,
            replica: removed,
          },
        );
        continue;
      }
      const done = this.#done.get(removed);
      if (done !== undefined) {
        answers.push([removed, "done", done]);
        continue;
      }
      const owner = this.#owners.get(removed);
      if (owner !== undefined && owner !== pruner && owner < pruner && !this.#gone(owner)) {
        answers.push([removed, "owner", owner]);
        continue;
      }
      if (owner === this.replica && pruner !== this.replica) this.#acks.delete(removed);
      this.#owners.set(removed, pruner);
      this.retire(removed);
      answers.push([removed, "ack", pruner]);
      ack = true;
    }
    // An acknowledgement carries every entry held here: the pruner must fold
    // the most of the removed replica that any replica holds.
    const entries: WireEntry[] = [];
    if (ack || answers.some(([, a]) => a === "done")) {
      for (const [key, slot] of this.#slots) entries.push(this.#entry(key, slot));
    }
    this.#send(from, OP_PRUNE_REPLY, [REPLICATOR_VERSION, answers, squeeze(entries)]);
  }

  /** PRUNE_REPLY, sent by a member this replica asked. */
  #onPruneReply(from: string, fields: readonly unknown[]): void {
    const [, answers, entries] = versioned(fields, 3);
    for (const entry of unsqueeze(entries)) this.#merge(from, entry, true);
    const replica = this.#peerReplicas.get(from);
    if (replica === undefined) return;
    for (const a of list(answers)) {
      if (!Array.isArray(a) || a.length !== 3 || !a.every((x) => typeof x === "string")) {
        throw new TypeError("Malformed PRUNE_REPLY");
      }
      const [removed, answer, owner] = a as [string, string, string];
      if (answer === "done") this.#learnPruned(removed, owner);
      if (this.#owners.get(removed) !== this.replica) continue;
      if (answer === "ack" && owner === this.replica) this.#acks.get(removed)?.add(replica);
      else if (answer === "owner" && owner < this.replica) {
        // A lower pruner is at work: give up, and answer it when it asks.
        this.#owners.set(removed, owner);
        this.#acks.delete(removed);
      }
    }
  }

  /** `removed` was folded into `into`: pruning it is over here. */
  #learnPruned(removed: string, into: string): void {
    if (this.#done.has(removed)) return;
    this.#done.set(removed, into);
    this.#retired.delete(removed);
    this.#owners.delete(removed);
    this.#acks.delete(removed);
  }

  /**
   * Whether a repair with another peer is under way here (one of its
   * anti-entropy messages arrived within half the quiet period): then what
   * `from` offers is left to a later round, so that two healthy peers do not
   * both send a replica that was cut off everything it missed. Otherwise
   * `from`'s exchange becomes the one under way.
   */
  #elsewhere(from: string): boolean {
    if (this.#quiet === 0) return false;
    const now = this.#now();
    if (this.#session !== undefined && this.#session.peer !== from) {
      if (now - this.#session.at < this.#quiet / 2 && this.#peers.has(this.#session.peer)) {
        return true;
      }
    }
    this.#session = { peer: from, at: now };
    return false;
  }

  /** Whether `replica` was removed for good (retired or pruned). */
  #gone(replica: string): boolean {
    return this.#retired.has(replica) || this.#done.has(replica);
  }

  /** Whether this node is the lowest-named among its members, connected or away. */
  #lowest(): boolean {
    for (const peer of this.#peers) if (peer < this.node) return false;
    for (const peer of this.#away) if (peer < this.node) return false;
    return true;
  }

  // --------------------------------------------------------------- helpers

  #slot(key: string, what: string): Slot {
    checkKey(key, what);
    const slot = this.#slots.get(key);
    if (slot === undefined) {
      throw new TypeError(`Cannot ${what} key ${key}: no such key (open it first)`);
    }
    this.#usable(key, slot, what);
    return slot;
  }

  #usable(key: string, slot: Slot, what: string): void {
    if (slot.deleted) {
      throw new CrdtKeyDeletedError(`Cannot ${what} ${key}: the key was deleted`, key);
    }
    const conflict = this.#conflicts.get(key);
    if (conflict !== undefined) {
      throw new CrdtTypeConflictError(
        `Cannot ${what} ${key}: it is ${article(slot.type.name)} here but ${conflict}`,
        key,
      );
    }
  }

  #entry(key: string, slot: Slot): WireEntry {
    return [
      key,
      slot.type.name,
      slot.deleted ? null : packed(slot.type, slot.state),
      [...slot.markers],
    ];
  }

  /** A digest of the state of `key` (equal states, equal digests), if held. */
  digestOf(key: string): string | undefined {
    const slot = this.#slots.get(key);
    return slot && digestEntry(key, slot).join(":");
  }

  /**
   * Whether `key` changed within the quiet period: its deltas may still be
   * on their way, and anti-entropy leaves it to them (and to the next round)
   * rather than ship a state that is changing under it.
   */
  #busy(key: string): boolean {
    if (this.#quiet === 0) return false;
    const at = this.#changedAt.get(key);
    return at !== undefined && this.#now() - at < this.#quiet;
  }

  #changed(key: string): void {
    if (this.#quiet > 0) this.#changedAt.set(key, this.#now());
    this.#stale.add(key);
    this.#onChange(key);
  }

  /**
   * Recomputes the digests of keys changed since the last anti-entropy step;
   * a key still changing (within the quiet period) keeps its old digest
   * until it settles unless `all`: anti-entropy leaves it to its deltas
   * anyway, and hashing a large state every round would cost more than the
   * changes themselves.
   */
  #refresh(all = false): void {
    for (const key of this.#stale) {
      if (!all && this.#busy(key)) continue;
      this.#stale.delete(key);
      const slot = this.#slots.get(key);
      if (slot === undefined) this.#tree.delete(key);
      else this.#tree.set(key, digestEntry(key, slot));
    }
  }
}

/**
 * The digest of an entry: key, type, deletion, markers and state, hashed so that
 * equal states digest equally whatever the order of their sets and maps
 * (arrays are hashed as multisets: a state's order is never its meaning).
 */
function digestEntry(key: string, slot: Slot): Digest {
  // The key is part of it: equal states under two keys must not cancel out in the XOR.
  const wire = [key, slot.type.name, slot.deleted ? null : slot.type.encode(slot.state), [
    ...slot.markers,
  ]];
  const a = hashValue(wire, 0x9747b28c);
  const b = hashValue(wire, 0x1b873593);
  return a === 0 && b === 0 ? [1, 0] : [a, b];
}

/** Whether a wire entry holds exactly what `slot` holds. */
function sameEntry(key: string, slot: Slot, entry: WireEntry): boolean {
  const [, , wire, markers] = entry;
  if ((wire === null) !== slot.deleted || markers.length !== slot.markers.size) return false;
  let state: unknown;
  try {
    state = wire === null ? slot.type.empty() : slot.type.decode(wire);
  } catch {
    return false;
  }
  const theirs: Slot = { ...slot, state, markers: new Map(markers) };
  const [a, b] = [digestEntry(key, slot), digestEntry(key, theirs)];
  return a[0] === b[0] && a[1] === b[1];
}

/** A state as it goes on the wire: packed when the type can. */
function packed(type: ReplicatedType, state: unknown): unknown {
  return type.pack ? type.pack(state) : type.encode(state);
}

/** The join of every delta: the type's own way when it has one, else one after the other. */
function joinAll(type: ReplicatedType, deltas: unknown[]): unknown {
  if (type.joinMany !== undefined) return type.joinMany(deltas);
  let out = deltas[0] ?? type.empty();
  for (let i = 1; i < deltas.length; i++) out = type.join(out, deltas[i]);
  return out;
}

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  return Math.imul(h, 0x1b873593) >>> 0;
}

function hashValue(v: unknown, seed: number): number {
  switch (typeof v) {
    case "string": {
      let h = mix(seed, 1);
      for (let i = 0; i < v.length; i++) h = mix(h, v.charCodeAt(i));
      return mix(h, v.length);
    }
    case "number":
      if (Number.isInteger(v) && v >= -0x8000_0000 && v <= 0xffff_ffff && !Object.is(v, -0)) {
        return mix(mix(seed, 12), v >>> 0) ^ (v < 0 ? 0x5bd1e995 : 0);
      }
      return hashValue(`n${Object.is(v, -0) ? "-0" : v}`, seed);
    case "bigint":
      return hashValue(`b${v}`, seed);
    case "boolean":
      return mix(seed, v ? 3 : 2);
    case "undefined":
      return mix(seed, 4);
    case "object": {
      if (v === null) return mix(seed, 5);
      if (Array.isArray(v)) {
        let sum = 0;
        for (const e of v) sum = (sum + hashValue(e, seed)) >>> 0;
        return mix(mix(mix(seed, 6), sum), v.length);
      }
      if (v instanceof Uint8Array) {
        let h = mix(seed, 7);
        for (let i = 0; i < v.length; i++) h = mix(h, v[i]!);
        return mix(h, v.length);
      }
      if (v instanceof Map) {
        let sum = 0;
        for (const [k, e] of v) sum = (sum + mix(hashValue(k, seed), hashValue(e, seed))) >>> 0;
        return mix(mix(mix(seed, 8), sum), v.size);
      }
      if (v instanceof Set) return hashValue([...v], mix(seed, 9));
      let sum = 0;
      let n = 0;
      for (const [k, e] of Object.entries(v)) {
        sum = (sum + mix(hashValue(k, seed), hashValue(e, seed))) >>> 0;
        n++;
      }
      return mix(mix(mix(seed, 10), sum), n);
    }
    default:
      return hashValue(String(v), mix(seed, 11));
  }
}

function versioned(fields: readonly unknown[], n: number): readonly unknown[] {
  if (fields.length < n) throw new TypeError("Malformed replicator operation: too few fields");
  if (fields[0] !== REPLICATOR_VERSION) {
    throw new TypeError(
      `Replicator version ${describeType(fields[0])}, not ${REPLICATOR_VERSION}: ignored`,
    );
  }
  return fields;
}

/** Lists that encode to more bytes than this go deflated. */
const SQUEEZE_OVER = 1024;
/** The most a deflated list may inflate to (a bomb is refused, not inflated). */
const MAX_INFLATED = 256 * 1024 * 1024;

/**
 * A list of entries or digests as it goes on the wire: as it is when small,
 * else its encoding deflated (the same replica ids, type names and key
 * prefixes repeat in every entry; Akka Distributed Data gzips its large
 * messages likewise).
 */
function squeeze(items: unknown[]): unknown {
  if (items.length < 8) return items;
  const bytes = encode(items);
  if (bytes.length <= SQUEEZE_OVER) return items;
  // Level 6 rather than 1: a third of the bytes of a large repair for a few ms more.
  return deflate(bytes);
}

/** Bytes per key in AE_KEYS: a 16-bit key tag and a 24-bit state tag. */
const TAG_BYTES = 5;

/**
 * Key tags (AE_KEYS). Both sides hash each key of a differing leaf, and its
 * digest, with the salt the sender drew for this message: equal tags mean
 * the same key with the same state. Tags are short (5 bytes rather than a
 * name and a 64-bit digest); two keys or states that collide on them in one
 * round differ in their salted tags in the next, and the leaf's 64-bit hash
 * still differs until they are repaired, so a collision delays a repair by
 * a round and never hides a difference for good.
 */
function keyTag(salt: number, key: string): number {
  let h = mix(salt, 0x4b);
  for (let i = 0; i < key.length; i++) h = mix(h, key.charCodeAt(i));
  return mix(h, key.length) >>> 16;
}

function stateTag(salt: number, h1: number, h2: number): number {
  return mix(mix(mix(salt, 0x53), h1), h2) >>> 8;
}

function writeTag(out: Uint8Array, p: number, salt: number, key: string, h1: number, h2: number) {
  const kt = keyTag(salt, key);
  const st = stateTag(salt, h1, h2);
  const o = TAG_BYTES * p;
  out[o] = kt >>> 8;
  out[o + 1] = kt & 0xff;
  out[o + 2] = st >>> 16;
  out[o + 3] = (st >>> 8) & 0xff;
  out[o + 4] = st & 0xff;
}

/** Digest tree hashes (u32 pairs) as bytes, big-endian: 8 per node. */
function hashBytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * words.length);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(4 * i, w));
  return out;
}

/** The hashes of `nodes` nodes from their bytes; throws `TypeError` when malformed. */
function hashWords(bytes: unknown, nodes: number): number[] {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 8 * nodes) {
    throw new TypeError(`Malformed AE_HASHES: expected ${8 * nodes} bytes of hashes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Array<number>(2 * nodes);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i);
  return out;
}

/** A strictly ascending list of node indices below `size`; throws `TypeError` otherwise. */
function ascending(v: unknown, size: number): number[] {
  const l = list(v);
  let last = -1;
  for (const i of l) {
    if (typeof i !== "number" || !Number.isInteger(i) || i <= last || i >= size) {
      throw new TypeError("Malformed digest tree indices");
    }
    last = i;
  }
  return l as number[];
}

/** Raw DEFLATE of some bytes. */
function deflate(bytes: Uint8Array): Uint8Array {
  const z = zlib().deflateRawSync(bytes, { level: 6 });
  return new Uint8Array(z.buffer, z.byteOffset, z.length);
}

/** Inflates at most `max` bytes; throws `TypeError` when malformed or larger. */
function inflate(bytes: Uint8Array, max: number): Uint8Array {
  try {
    return zlib().inflateRawSync(bytes, { maxOutputLength: Math.max(max, 1) });
  } catch (e) {
    throw new TypeError(`Malformed replicator operation: deflated bytes (${(e as Error).message})`);
  }
}

/**
 * Entries sorted by key: neighbouring keys share prefixes and their states
 * are often alike, which deflate turns into half the bytes of a random order.
 */
function byKey(entries: WireEntry[]): WireEntry[] {
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** What {@linkcode squeeze} made, as a list; throws `TypeError` when malformed. */
function unsqueeze(v: unknown): unknown[] {
  if (!(v instanceof Uint8Array)) return list(v);
  let bytes: Uint8Array;
  try {
    bytes = zlib().inflateRawSync(v, { maxOutputLength: MAX_INFLATED });
  } catch (e) {
    throw new TypeError(
      `Malformed replicator operation: a deflated list (${(e as Error).message})`,
    );
  }
  return list(decode(bytes));
}

function list(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`Malformed replicator operation: ${describeType(v)}`);
  return v;
}

function checkKey(key: unknown, what: string): asserts key is string {
  if (typeof key !== "string" || key === "") {
    throw new TypeError(
      `Cannot ${what} key: expected a non-empty string, received ${describeType(key)}`,
    );
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** A hybrid logical clock without a skew limit (the node service passes a real one). */
function plainClock(): ReplicaClock {
  let wall = 0;
  let logical = 0;
  const advance = (w: number, l: number) => {
    const now = Date.now();
    if (now > wall && now > w) [wall, logical] = [now, 0];
    else if (w > wall) [wall, logical] = [w, l + 1];
    else logical = Math.max(logical, l) + 1;
    return { wall, logical };
  };
  return {
    now: () => advance(0, 0),
    check: () => {},
    receive: (ts) => advance(ts.wall, ts.logical),
  };
}

let zlibModule: typeof import("node:zlib") | undefined;
/** node:zlib, loaded with the first list large enough to deflate. */
function zlib(): typeof import("node:zlib") {
  return zlibModule ??= process.getBuiltinModule("node:zlib") as typeof import("node:zlib");
}
