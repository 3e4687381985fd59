/**
 * The replicator: one per node, a node service that keeps named keys of
 * replicated data types (CRDTs) on every node of the cluster, as Akka
 * Distributed Data's Replicator and Elixir's `delta_crdt` do. A key is
 * opened with a type; updates change the local replica at once and spread
 * as deltas; reads are local unless a consistency level asks for more.
 *
 * ```
 * update(k, fn, {write})   local: mutate, join; the delta waits for the next flush
 *                          write majority/all/n: A ---- WRITE ----> peers ---- WRITE_ACK ----> A
 * every deltaInterval      A ---- DELTA(every delta since the last) ----> every peer
 * every antiEntropyInterval, and when a peer comes up
 *                          A ---- AE_HASHES(root) ----> B ... (replica.ts: digest tree walk)
 * get(k, {read})           local, or A ---- READ ----> peers ---- READ_REPLY ----> A (joined)
 * nodeup B                 B is a replica again (anti-entropy with it at once)
 * nodedown B               B still counts for "majority"/"all" until it stays away
 *                          pruneAfter ms; then it left for good and its contribution is
 *                          pruned (folded into a live replica), so state does not grow
 *                          with node churn
 * ```
 *
 * Failure. A lost delta (a dropped connection, a partition) is repaired by
 * anti-entropy, at a cost that grows with the difference, not with the
 * state. Bad input from a peer (a malformed operation or state, a key of
 * another type, a timestamp too far in the future) is refused with a logged
 * reason; nothing of it is merged and the node goes on. A write whose
 * consistency level is not reached in time fails with a
 * {@linkcode ConsistencyError}; it stays applied locally and spreads once
 * the peers are back.
 *
 * Durable keys (`open(key, type, {durable: true})`) are written to
 * `<data dir>/replicator.db` (SQLite) before `update` resolves; a node
 * restarted with the same data directory loads them at start and
 * converges with its peers. A row that does not decode is not dropped: the
 * key is refused with a {@linkcode StoreCorruptError} naming the file.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1", replicator: { deltaInterval: 10 } };
 * const a = await startNode({ name: "a@127.0.0.1", ...opts });
 * const b = await startNode({ name: "b@127.0.0.1", ...opts });
 * await a.connect(`b@127.0.0.1:${b.port}`);
 * const views = a.replicator.open("views", "g-counter");
 * await views.update((c) => c.increment(3), { write: "all" });
 * console.assert(b.replicator.value("views") === 3);
 * await Promise.all([a.stop(), b.stop()]);
 * ```
 *
 * @module
 */

import { describeType, ServiceAlreadyRunningError, StoreCorruptError } from "../errors.ts";
import { NodeService } from "../distribution/node_service.ts";
import { crdtType, type CrdtTypeName } from "../crdt/crdt_type.ts";
import { Hlc } from "../crdt/hlc.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { callerOn } from "../process/current.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage } from "../process/types.ts";
import { SqliteStore } from "../storage/sqlite_store.ts";
import { REPLICATOR_DELTA_SENT } from "../telemetry/events.ts";
import type {
  FlagHandle,
  GCounterHandle,
  GSetHandle,
  LwwMapHandle,
  LwwRegisterHandle,
  MvRegisterHandle,
  OrMapHandle,
  OrSetHandle,
  PnCounterHandle,
} from "../crdt/mod.ts";
import { decode, encode } from "../term/codec.ts";
import type { Pid, Ref } from "../term/pid.ts";
import {
  type ReadOptions,
  Replica,
  type ReplicaClock,
  type ReplicatedType,
  type WriteOptions,
} from "./replica.ts";
import { REPLICATOR_OPS, REPLICATOR_SERVER_NAME, type WireEntry } from "./types.ts";

const log = logger("replicator");

/** The node context key of the replicator. */
export const REPLICATOR: ServiceKey<Replicator> = new ServiceKey("replicator");

/** Default milliseconds between two delta batches. */
export const DEFAULT_DELTA_INTERVAL = 100;
/** Default milliseconds between two anti-entropy rounds. */
export const DEFAULT_ANTI_ENTROPY_INTERVAL = 1000;
/** Default milliseconds a node stays away before it counts as gone for good. */
export const DEFAULT_PRUNE_AFTER = 300_000;

/** The store file's name in the data directory. */
export const STORE_FILE = "replicator.db";

/** Options for {@linkcode Replicator}. */
export interface ReplicatorOptions {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node kernel. */
  kernel: NetKernel;
  /** Finds a replicated data type by name. Default: `crdtType` of `src/crdt/`. */
  types?: (name: string) => ReplicatedType;
  /**
   * The clock changes are stamped with, and peers' timestamps checked
   * against. Default: an `Hlc` with its default maximum offset (500 ms).
   */
  clock?: ReplicaClock;
  /** Milliseconds between two delta batches. Default 100. */
  deltaInterval?: number;
  /** Milliseconds between two anti-entropy rounds. Default 1000. */
  antiEntropyInterval?: number;
  /** Only these nodes are replicas (default: every visible node). */
  nodes?: string[];
  /** Milliseconds a node stays away before it is pruned. Default 300000 (5 min). */
  pruneAfter?: number;
  /** Where durable keys are stored (`--data-dir`); without it no key can be durable. */
  dataDir?: string;
}

/** The handle a mutation of each type works through. */
export interface CrdtHandles {
  "g-counter": GCounterHandle;
  "pn-counter": PnCounterHandle;
  "g-set": GSetHandle;
  "or-set": OrSetHandle;
  "lww-register": LwwRegisterHandle;
  "mv-register": MvRegisterHandle;
  "flag": FlagHandle;
  "or-map": OrMapHandle;
  "lww-map": LwwMapHandle;
}

/** The value of each type. */
export interface CrdtValues {
  "g-counter": number;
  "pn-counter": number;
  "g-set": Set<unknown>;
  "or-set": Set<unknown>;
  "lww-register": unknown;
  "mv-register": unknown[];
  "flag": boolean;
  "or-map": Map<string, unknown>;
  "lww-map": Map<string, unknown>;
}

/** The handle of type `N`. */
export type CrdtHandleOf<N extends CrdtTypeName> = CrdtHandles[N];
/** The value of type `N`. */
export type CrdtValueOf<N extends CrdtTypeName> = CrdtValues[N];

/** Options of {@linkcode Replicator.open}. */
export interface CrdtOpenOptions {
  /** Keep the key in the node's data directory: a restart brings it back. Default `false`. */
  durable?: boolean;
}

/** `{type: "crdt_changed", key, value}`: sent to subscribers when a key's value changes. */
export interface CrdtChangedMessage {
  /** Always `"crdt_changed"`. */
  type: "crdt_changed";
  /** The key. */
  key: string;
  /** Its new value (`undefined` once deleted). */
  value: unknown;
}

/** What `info()` reports. */
export interface ReplicatorInfo {
  /** This replica's id. */
  replica: string;
  /** Keys held. */
  keys: number;
  /** Connected replicas. */
  peers: string[];
  /** Replicas away (they count for "majority" / "all"). */
  away: string[];
  /** Keys kept in the data directory. */
  durable: string[];
}

/**
 * The replicator of one node.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const title = node.replicator.open("title", "lww-register");
 * await title.update((r) => r.set("Weft"));
 * console.assert((await title.get()) === "Weft");
 * await node.stop();
 * ```
 */
export class Replicator {
  /** This node's name. */
  readonly node: string;
  #runtime: Runtime;
  #svc: NodeService;
  #replica: Replica;
  #types: (name: string) => ReplicatedType;
  #nodes: Set<string> | undefined;
  #pruneAfter: number;
  #dataDir: string | undefined;
  #store: SqliteStore | undefined;
  #storeError: StoreCorruptError | undefined;
  /** Durable keys, and the keys refused because their stored row is unreadable. */
  #durable = new Set<string>();
  #refused = new Map<string, StoreCorruptError>();
  #dirty = new Set<string>();
  /** key -> pid key -> subscriber. */
  #subs = new Map<string, Map<string, Pid>>();
  #watchers = new Set<(key: string) => void>();
  /** Monitors of subscribers: pid key -> monitor. */
  #subMonitors = new Map<string, Ref>();
  #notify = new Set<string>();
  #notifyScheduled = false;
  #lastSent = new Map<string, string>();
  #savedRetired = "";
  #removals = new Map<string, ReturnType<typeof setTimeout>>();
  #ticks: ReturnType<typeof setInterval>[] = [];
  #stopped = false;

  /**
   * Starts the replicator of a node (`startNode` does this).
   *
   * @param options the node, the types, the intervals
   * @throws {ServiceAlreadyRunningError} when a replicator already runs on the node
   * @throws {RangeError} when an interval is not positive
   */
  constructor(options: ReplicatorOptions) {
    this.#runtime = options.runtime;
    this.node = options.runtime.node;
    const deltaInterval = positive(options.deltaInterval ?? DEFAULT_DELTA_INTERVAL, "delta");
    const aeInterval = positive(
      options.antiEntropyInterval ?? DEFAULT_ANTI_ENTROPY_INTERVAL,
      "anti-entropy",
    );
    this.#pruneAfter = positive(options.pruneAfter ?? DEFAULT_PRUNE_AFTER, "prune");
    if (options.runtime.context.get(REPLICATOR) !== undefined) {
      throw new ServiceAlreadyRunningError(REPLICATOR.name, this.node);
    }
    this.#types = options.types ?? (crdtType as (name: string) => ReplicatedType);
    this.#nodes = options.nodes && new Set(options.nodes);
    this.#dataDir = options.dataDir;
    const kernel = options.kernel;
    this.#svc = new NodeService(options.runtime, kernel, {
      name: REPLICATOR_SERVER_NAME,
      label: "replicator",
      peerUp: (node) => this.#peerUp(node),
      peerDown: (node) => this.#peerDown(node),
      info: (msg) => this.#info(msg),
    });
    this.#replica = new Replica({
      node: this.node,
      replica: `${this.node}#${options.runtime.creation}`,
      types: this.#types,
      clock: options.clock ?? new Hlc(),
      send: (node, op, fields) => this.#svc.send(node, op, fields),
      quiet: aeInterval,
      onChange: (key) => this.#changed(key),
    });
    for (const op of REPLICATOR_OPS) {
      kernel.ops.register("crdt", op, (node, fields) => {
        if (!this.#member(node) || !this.#svc.observe(node)) return;
        try {
          this.#replica.receive(node, op, fields);
        } catch (e) {
          log.warning("Refused replicator operation {op} from {node}: {why}", {
            op,
            node,
            why: (e as Error).message,
          });
        }
      });
    }
    this.#loadStore();
    options.runtime.context.provide(REPLICATOR, this);
    this.#ticks.push(setInterval(() => this.#flush(), deltaInterval));
    this.#ticks.push(setInterval(() => this.#replica.antiEntropy(), aeInterval));
    this.#svc.start();
  }

  /**
   * Opens `key` with a type (creating it when new); every replica that
   * opens or receives it holds the same type.
   *
   * @param key the key (a non-empty string)
   * @param type the type's name (`"g-counter"`, `"or-map"`, ...)
   * @param options `durable: true` keeps it in the data directory
   * @returns a handle on the key
   * @throws {TypeError} when the key or type is invalid
   * @throws {CrdtTypeConflictError} when the key is held with another type (here or on a peer)
   * @throws {CrdtKeyDeletedError} when the key was deleted
   * @throws {StoreCorruptError} when the key is durable and its stored data cannot be read
   */
  open<N extends CrdtTypeName>(
    key: string,
    type: N,
    options?: CrdtOpenOptions,
  ): CrdtKey<CrdtValueOf<N>, CrdtHandleOf<N>>;
  // deno-lint-ignore no-explicit-any
  open(key: string, type: string, options?: CrdtOpenOptions): CrdtKey<any, any>;
  // deno-lint-ignore no-explicit-any
  open(key: string, type: string, options: CrdtOpenOptions = {}): CrdtKey<any, any> {
    this.#alive("open");
    const refused = this.#refused.get(key);
    if (refused !== undefined) throw refused;
    const durable = options.durable ?? false;
    if (durable) this.#requireStore(key);
    this.#replica.open(key, type);
    if (durable && !this.#durable.has(key)) {
      this.#durable.add(key);
      this.#persist(key);
    }
    return new CrdtKey(this, key, type);
  }

  /**
   * Changes `key` through its type's handle, and waits for the consistency
   * level asked.
   *
   * @param key an opened key
   * @param fn the change (`(counter) => counter.increment(2)`)
   * @param options `write`: `"local"` (default), `"majority"`, `"all"` or a number; `timeout` ms
   * @throws {ConsistencyError} when the level is not reached in time (the change stays applied here)
   * @throws {TypeError} when the key was never opened or `fn` is not a function
   * @throws {CrdtTypeConflictError} when a peer holds the key with another type
   */
  // deno-lint-ignore no-explicit-any
  async update(key: string, fn: (handle: any) => void, options: WriteOptions = {}): Promise<void> {
    this.#alive("update");
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot update ${key}: expected a function, received ${describeType(fn)}`,
      );
    }
    this.#check(key);
    const entry = this.#replica.update(key, fn);
    if (this.#durable.has(key)) this.#persist(key);
    await this.#replica.replicate(entry, options);
  }

  /**
   * The value of `key`; with a read level, joined with what that many
   * replicas hold first.
   *
   * @param key a held key
   * @param options `read`: `"local"` (default), `"majority"`, `"all"` or a number; `timeout` ms
   * @throws {ConsistencyError} when the level is not reached in time
   */
  async get(key: string, options: ReadOptions = {}): Promise<unknown> {
    this.#alive("get");
    this.#check(key);
    await this.#replica.fetch(key, options);
    return this.#replica.value(key);
  }

  /** The value of `key` on this replica, now. */
  value(key: string): unknown {
    this.#check(key);
    return this.#replica.value(key);
  }

  /**
   * Deletes `key` on every replica (deletion wins over concurrent updates;
   * the key cannot be used again).
   *
   * @throws {ConsistencyError} when the write level is not reached in time
   */
  async delete(key: string, options: WriteOptions = {}): Promise<void> {
    this.#alive("delete");
    this.#check(key);
    const entry = this.#replica.delete(key);
    if (this.#durable.has(key)) this.#persist(key);
    await this.#replica.replicate(entry, options);
  }

  /**
   * Calls `listener(key)` every time any key's state changes here (a local
   * update, a merge from a peer, a deletion), synchronously, before the
   * change spreads: how a layer above follows every key without a
   * subscription per key (multi-region gateways carry the changes of keys
   * marked global). A listener must not throw or block.
   *
   * @param listener called with the key
   * @returns stops the calls
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const changed: string[] = [];
   * const unwatch = node.replicator.watch((key) => changed.push(key));
   * await node.replicator.open("hits", "g-counter").update((c) => c.increment());
   * unwatch();
   * console.assert(changed.includes("hits"));
   * await node.stop();
   * ```
   */
  watch(listener: (key: string) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /**
   * Sends `{type: "crdt_changed", key, value}` to `pid` (default: the
   * calling process) every time the value of `key` changes here, by a local
   * update or by a merge from a peer.
   *
   * @throws {TypeError} when no pid is given outside a process of this node
   */
  subscribe(key: string, pid?: Pid): void {
    this.#alive("subscribe");
    const who = pid ?? callerOn(this.#runtime, "subscribe");
    let subs = this.#subs.get(key);
    if (subs === undefined) this.#subs.set(key, subs = new Map());
    subs.set(who.key, who);
    if (!this.#subMonitors.has(who.key)) {
      this.#subMonitors.set(who.key, this.#svc.ctx.monitor(who));
    }
    const digest = this.#replica.digestOf(key);
    if (digest !== undefined) this.#lastSent.set(key, digest);
  }

  /** Stops the messages of `subscribe`. */
  unsubscribe(key: string, pid?: Pid): void {
    const who = pid ?? callerOn(this.#runtime, "unsubscribe");
    const subs = this.#subs.get(key);
    subs?.delete(who.key);
    if (subs?.size === 0) {
      this.#subs.delete(key);
      this.#lastSent.delete(key);
    }
  }

  /** Every key held here (opened or received) and not deleted. */
  keys(): string[] {
    return this.#replica.keys();
  }

  /** The type name of `key`, if held. */
  typeOf(key: string): string | undefined {
    return this.#replica.typeOf(key);
  }

  /** Replica, peers, keys. */
  info(): ReplicatorInfo {
    return {
      replica: this.#replica.replica,
      keys: this.#replica.keys().length,
      peers: this.#replica.peers(),
      away: this.#replica.away(),
      durable: [...this.#durable].sort(),
    };
  }

  /** Runs an anti-entropy round with every peer now (tests, after a heal). */
  antiEntropy(): void {
    this.#replica.antiEntropy();
  }

  /** The internal replica (tests and benchmarks). */
  get replica(): Replica {
    return this.#replica;
  }

  /** Sends pending deltas, saves durable keys, stops; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#flush();
    this.#stopped = true;
    for (const t of this.#ticks) clearInterval(t);
    for (const t of this.#removals.values()) clearTimeout(t);
    this.#removals.clear();
    this.#svc.kernel.ops.unregister("crdt");
    this.#replica.close();
    this.#store?.close();
    this.#runtime.context.remove(REPLICATOR, this);
    await this.#svc.stop();
  }

  // ---------------------------------------------------------------- peers

  #member(node: string): boolean {
    return this.#nodes === undefined || this.#nodes.has(node);
  }

  /** A new connection to `node` (NodeService): a replica again; anti-entropy with it now. */
  #peerUp(node: string): void {
    if (!this.#member(node)) return;
    const peer = this.#svc.kernel.peer(node);
    if (peer === undefined) return;
    clearTimeout(this.#removals.get(node));
    this.#removals.delete(node);
    this.#replica.peerUp(node, `${node}#${peer.creation}`);
    this.#replica.antiEntropy([node]);
  }

  /** The connection to `node` is gone (NodeService): away until it returns or pruneAfter passes. */
  #peerDown(node: string): void {
    if (!this.#member(node)) return;
    this.#replica.peerDown(node);
    clearTimeout(this.#removals.get(node));
    this.#removals.set(
      node,
      setTimeout(() => {
        this.#removals.delete(node);
        log.info("{node} stayed away {ms} ms: it left for good", { node, ms: this.#pruneAfter });
        this.#replica.removeNode(node);
      }, this.#pruneAfter),
    );
  }

  /** Messages to the server process: DOWN of subscribers. */
  #info(msg: unknown): void {
    const m = msg as DownMessage;
    if (m?.type !== "DOWN") return;
    for (const [pidKey, ref] of this.#subMonitors) {
      if (ref !== m.ref) continue;
      this.#subMonitors.delete(pidKey);
      for (const [key, subs] of this.#subs) {
        subs.delete(pidKey);
        if (subs.size === 0) this.#subs.delete(key);
      }
    }
  }

  // ---------------------------------------------------------------- state

  #flush(): void {
    if (this.#stopped) return;
    const sent = this.#replica.flush();
    if (sent > 0) {
      const ev = this.#runtime.telemetry.event(REPLICATOR_DELTA_SENT);
      if (ev.attached) {
        ev.emit({ keys: sent }, { node: this.#runtime.node, peers: this.#replica.peers().length });
      }
    }
    if (this.#store !== undefined) {
      const retired = this.#replica.retired();
      if (retired.join("\n") !== this.#savedRetired) {
        this.#savedRetired = retired.join("\n");
        try {
          this.#store.put("meta", "retired", encode(retired));
        } catch (e) {
          log.error("Cannot save retired replicas to {file}: {why}", {
            file: this.#store.file,
            why: (e as Error).message,
          });
        }
      }
    }
    if (this.#dirty.size > 0 && this.#store !== undefined) {
      const keys = [...this.#dirty];
      this.#dirty.clear();
      try {
        this.#store.batch(() => {
          for (const key of keys) this.#write(key);
        });
      } catch (e) {
        log.error("Cannot save durable keys to {file}: {why}", {
          file: this.#store.file,
          why: (e as Error).message,
        });
      }
    }
  }

  #changed(key: string): void {
    if (this.#durable.has(key)) this.#dirty.add(key);
    for (const w of this.#watchers) w(key);
    if (!this.#subs.has(key)) return;
    this.#notify.add(key);
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => this.#sendNotifications());
  }

  #sendNotifications(): void {
    this.#notifyScheduled = false;
    const keys = [...this.#notify];
    this.#notify.clear();
    for (const key of keys) {
      const subs = this.#subs.get(key);
      const s = this.#replica.state(key);
      if (subs === undefined || s === undefined) continue;
      // A digest, not a kept state, tells whether the value changed: nothing old is held.
      const digest = this.#replica.digestOf(key)!;
      if (this.#lastSent.get(key) === digest) continue;
      this.#lastSent.set(key, digest);
      const msg: CrdtChangedMessage = {
        type: "crdt_changed",
        key,
        value: s.deleted ? undefined : this.#types(s.type).value(s.state),
      };
      for (const pid of subs.values()) this.#svc.ctx.send(pid, msg);
    }
  }

  #check(key: string): void {
    const refused = this.#refused.get(key);
    if (refused !== undefined) throw refused;
  }

  #alive(what: string): void {
    if (this.#stopped) {
      throw new TypeError(`Cannot ${what}: the replicator of ${this.node} stopped`);
    }
  }

  // -------------------------------------------------------------- storage

  #storeFile(): string | undefined {
    return this.#dataDir === undefined ? undefined : `${this.#dataDir}/${STORE_FILE}`;
  }

  /** At start: a store left by a previous run brings its durable keys back. */
  #loadStore(): void {
    const file = this.#storeFile();
    if (file === undefined) return;
    try {
      Deno.statSync(file);
    } catch {
      return;
    }
    let store: SqliteStore;
    try {
      store = SqliteStore.open(file);
    } catch (e) {
      this.#storeError = e as StoreCorruptError;
      log.error("Durable keys unavailable: {why}", { why: (e as Error).message });
      return;
    }
    this.#store = store;
    for (const old of listOf(store.get("meta", "replicas"))) this.#replica.retire(old);
    // Replicas known to be gone stay gone across a restart (their data is refused).
    for (const gone of listOf(store.get("meta", "retired"))) this.#replica.retire(gone);
    this.#saveReplicaIds(store);
    for (const key of store.keys("crdt")) {
      const why = this.#readRow(store, key);
      if (why !== undefined) {
        const err = new StoreCorruptError(
          `Cannot load durable key ${key}: ${file} holds a value that cannot be read (${why}); ` +
            `the key is refused and its row left as it is`,
          file,
        );
        this.#refused.set(key, err);
        log.error("{message}", { message: err.message });
        continue;
      }
      this.#durable.add(key);
    }
  }

  /** Reads one stored row into the replica; returns why not, if so. */
  #readRow(store: SqliteStore, key: string): string | undefined {
    let entry: unknown;
    try {
      const bytes = store.get("crdt", key);
      if (bytes === undefined) return undefined;
      entry = decode(bytes);
    } catch (e) {
      return (e as Error).message;
    }
    if (!Array.isArray(entry) || entry[0] !== key) return "not an entry of this key";
    try {
      return this.#replica.load(entry, store.file)
        ? undefined
        : "its state does not decode or is of another type";
    } catch (e) {
      return (e as Error).message;
    }
  }

  #saveReplicaIds(store: SqliteStore): void {
    const known = listOf(store.get("meta", "replicas"));
    store.put("meta", "replicas", encode([...new Set([...known, this.#replica.replica])]));
  }

  #requireStore(key: string): void {
    if (this.#storeError !== undefined) throw this.#storeError;
    if (this.#store !== undefined) return;
    const file = this.#storeFile();
    if (file === undefined) {
      throw new TypeError(`Cannot open ${key} as durable: the replicator has no data directory`);
    }
    this.#store = SqliteStore.open(file);
    this.#saveReplicaIds(this.#store);
  }

  #persist(key: string): void {
    if (this.#store === undefined) return;
    this.#dirty.delete(key);
    this.#write(key);
  }

  #write(key: string): void {
    const entry: WireEntry | undefined = this.#replica.entry(key);
    if (entry !== undefined && !this.#refused.has(key)) {
      this.#store!.put("crdt", key, encode(entry));
    }
  }
}

/**
 * A handle on one opened key: the key's operations without repeating it.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const cart = node.replicator.open("cart:42", "or-map");
 * await cart.update((m) => m.counter("apples").increment(2));
 * await cart.update((m) => m.counter("apples").decrement(1));
 * console.assert(cart.value().get("apples") === 1);
 * await node.stop();
 * ```
 */
// deno-lint-ignore no-explicit-any
export class CrdtKey<V = any, H = any> {
  /** The key. */
  readonly key: string;
  /** Its type's name. */
  readonly type: string;
  #replicator: Replicator;

  /**
   * @param replicator the node's replicator
   * @param key the key
   * @param type its type's name
   */
  constructor(replicator: Replicator, key: string, type: string) {
    this.#replicator = replicator;
    this.key = key;
    this.type = type;
  }

  /** Changes the key; see {@linkcode Replicator.update}. */
  update(fn: (handle: H) => void, options: WriteOptions = {}): Promise<void> {
    return this.#replicator.update(this.key, fn, options);
  }

  /** The value, read at a level; see {@linkcode Replicator.get}. */
  async get(options: ReadOptions = {}): Promise<V> {
    return await this.#replicator.get(this.key, options) as V;
  }

  /** The value on this replica, now. */
  value(): V {
    return this.#replicator.value(this.key) as V;
  }

  /** Messages on every change; see {@linkcode Replicator.subscribe}. */
  subscribe(pid?: Pid): void {
    this.#replicator.subscribe(this.key, pid);
  }

  /** Stops them. */
  unsubscribe(pid?: Pid): void {
    this.#replicator.unsubscribe(this.key, pid);
  }

  /** Deletes the key everywhere; see {@linkcode Replicator.delete}. */
  delete(options: WriteOptions = {}): Promise<void> {
    return this.#replicator.delete(this.key, options);
  }

  /** How the shell prints it: the key, its type and its value here. */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options: unknown) => string,
    options: unknown,
  ): string {
    let value: string;
    try {
      value = inspect(this.#replicator.value(this.key), options);
    } catch (e) {
      value = `(${(e as Error).message})`;
    }
    return `#CrdtKey<${this.key} ${this.type} = ${value}>`;
  }
}

/**
 * The replicator of the node of the calling process.
 *
 * @param runtime the node's runtime
 * @returns its replicator
 * @throws {ServiceNotRunningError} when none runs there
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { replicatorOf } from "./replicator.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(replicatorOf(node.runtime) === node.replicator);
 * await node.stop();
 * ```
 */
export function replicatorOf(runtime: Runtime): Replicator {
  return runtime.context.require(REPLICATOR);
}

function positive(ms: number, what: string): number {
  if (!(typeof ms === "number" && ms > 0 && Number.isFinite(ms))) {
    throw new RangeError(
      `Invalid ${what} interval: must be a positive number of ms, received ${ms}`,
    );
  }
  return ms;
}

function listOf(bytes: Uint8Array | undefined): string[] {
  if (bytes === undefined) return [];
  try {
    const v = decode(bytes);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}
