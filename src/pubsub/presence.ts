/**
 * Presence (Phoenix.Presence / Phoenix.Tracker): which processes are
 * present on a topic, under which key, with what metadata, replicated to
 * every node as a CRDT so that all nodes list the same presences once
 * they have talked, whatever was cut off meanwhile.
 *
 * Design. Each node incarnation is a replica of {@linkcode PresenceState}
 * and changes only its own presences (of its own processes). Changes go
 * to every peer as deltas; a new connection starts with the whole state:
 *
 * ```
 * track(t, k, meta) on A     A: add (A#c, n) -> delta
 *                            A ---- DELTA(delta) ----> every peer: join, diff
 * new connection A-B         A ---- STATE(whole state) ----> B   (and B -> A)
 *                            B: join; presences A removed while apart go,
 *                               those added appear (and the same on A)
 * A's process exits          A: remove its presences -> DELTA
 * A is lost                  each node keeps A's presences for `downPeriod`
 *                            ms, then drops them (a leave diff) and forgets
 *                            A's replica; if A comes back its STATE brings
 *                            them back
 * ```
 *
 * Every change seen on a node (local, delta, state, a lost node's
 * presences dropped) is told to that node's subscribers of the topic by a
 * local pubsub broadcast of `{type: "presence_diff", topic, joins,
 * leaves}`, each a `{[key]: {metas}}` list as `list(topic)` returns.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const me = node.runtime.open();
 * node.presence.track("room:1", "ann", { online_at: 1 }, { pid: me.self });
 * console.assert(node.presence.list("room:1")["ann"]?.metas[0]?.online_at === 1);
 * await node.stop();
 * ```
 *
 * @module
 */

import {
  AlreadyTrackedError,
  DecodeError,
  NotAliveError,
  NotTrackedError,
  ServiceAlreadyRunningError,
} from "../errors.ts";
import { NodeService } from "../distribution/node_service.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { callerOn } from "../process/current.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage } from "../process/types.ts";
import { encode } from "../term/codec.ts";
import { Pid, type Ref } from "../term/pid.ts";
import {
  isPlainObject,
  type PresenceChanges,
  type PresenceEntry,
  type PresenceMeta,
  PresenceState,
  type PresenceWire,
} from "./presence_state.ts";
import type { PubSub } from "./pubsub.ts";
import {
  OP_PRESENCE_DELTA,
  OP_PRESENCE_STATE,
  PRESENCE_SERVER_NAME,
  PRESENCE_VERSION,
} from "./types.ts";

export type { PresenceMeta } from "./presence_state.ts";

const log = logger("pubsub");

/** How long a lost node's presences stay listed, by default (ms). */
export const DEFAULT_DOWN_PERIOD = 30_000;

/** Options for {@linkcode Presence}. */
export interface PresenceOptions {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node kernel. */
  kernel: NetKernel;
  /** The node's pubsub, which carries the diffs to local subscribers. */
  pubsub: PubSub;
  /**
   * Milliseconds a lost node's presences stay listed before they are
   * dropped (a node back within it flaps nothing). Default 30000.
   */
  downPeriod?: number;
}

/** Options naming the tracked process. */
export interface TrackOptions {
  /** The process (of this node). Default: the calling process. */
  pid?: Pid;
}

/** One presence's metadata as listed: the tracked meta plus its ref. */
export type ListedMeta = PresenceMeta & {
  /** Identifies this presence (changes with each `update`). */
  presenceRef: string;
};

/** Presences of a topic by key, as Phoenix lists them. */
export type PresenceList = Record<string, { metas: ListedMeta[] }>;

/** `{type: "presence_diff", topic, joins, leaves}`: what changed on a topic. */
export interface PresenceDiffMessage {
  /** Always `"presence_diff"`. */
  type: "presence_diff";
  /** The topic. */
  topic: string;
  /** Presences that appeared, by key. */
  joins: PresenceList;
  /** Presences that went, by key. */
  leaves: PresenceList;
}

/** The presence tracker of a node, in its context. */
export const PRESENCE: ServiceKey<Presence> = new ServiceKey("presence");

/**
 * The presence tracker of one node.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const me = node.runtime.open();
 * node.pubsub.subscribe("room", me.self);
 * node.presence.track("room", "ann", {}, { pid: me.self });
 * const diff = await me.receive<{ type: string; joins: Record<string, unknown> }>();
 * console.assert(diff.type === "presence_diff" && "ann" in diff.joins);
 * await node.stop();
 * ```
 */
export class Presence {
  /** This node's name. */
  readonly node: string;
  /** This node incarnation's replica: `name@host#creation`. */
  readonly replica: string;
  #runtime: Runtime;
  #svc: NodeService;
  #pubsub: PubSub;
  #downPeriod: number;
  #state = new PresenceState();
  /** Tracked local processes: pid key -> monitor and presence refs. */
  #local = new Map<string, { ref: Ref; refs: Set<string> }>();
  /** pid key, topic, key -> the presence's ref. */
  #tracked = new Map<string, string>();
  /** Replicas not connected now, and when each will be dropped. */
  #downTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Replicas dropped: left out of joins until they are connected again. */
  #pruned = new Set<string>();

  /**
   * Starts the presence tracker of a node (`startNode` does this).
   *
   * @param options the node, its pubsub and the down period
   * @throws {ServiceAlreadyRunningError} when presence already runs on the node
   * @throws {RangeError} when `downPeriod` is negative
   */
  constructor(options: PresenceOptions) {
    this.#runtime = options.runtime;
    this.node = options.runtime.node;
    this.replica = `${this.node}#${options.runtime.creation}`;
    this.#pubsub = options.pubsub;
    const downPeriod = options.downPeriod ?? DEFAULT_DOWN_PERIOD;
    if (!(typeof downPeriod === "number" && downPeriod >= 0)) {
      throw new RangeError(`Invalid presence down period: must be >= 0 ms, received ${downPeriod}`);
    }
    this.#downPeriod = downPeriod;
    if (options.runtime.context.get(PRESENCE) !== undefined) {
      throw new ServiceAlreadyRunningError(PRESENCE.name, this.node);
    }
    this.#svc = new NodeService(options.runtime, options.kernel, {
      name: PRESENCE_SERVER_NAME,
      peerUp: (node) => this.#peerUp(node),
      peerDown: () => this.#checkReplicas(),
      info: (msg) => this.#info(msg),
    });
    const on = (op: number) =>
      options.kernel.ops.register("presence", op, (node, fields) => {
        if (this.#svc.observe(node)) this.#onState(node, fields);
      });
    on(OP_PRESENCE_STATE);
    on(OP_PRESENCE_DELTA);
    options.runtime.context.provide(PRESENCE, this);
    this.#svc.start();
  }

  /** Milliseconds a lost node's presences stay listed (for nodes lost from now on). */
  get downPeriod(): number {
    return this.#downPeriod;
  }

  /** @throws {RangeError} when negative or not a number */
  set downPeriod(ms: number) {
    if (!(typeof ms === "number" && ms >= 0)) {
      throw new RangeError(`Invalid presence down period: must be >= 0 ms, received ${ms}`);
    }
    this.#downPeriod = ms;
  }

  /**
   * Tracks a process of this node as present on `topic` under `key`.
   *
   * @param topic the topic
   * @param key the key (several processes may share one)
   * @param meta a plain object describing the presence
   * @param options the process (default: the calling one)
   * @returns the presence's ref (its `presenceRef` in lists)
   * @throws {AlreadyTrackedError} when this process is tracked on `topic`
   *   under `key` already (`update` changes its meta)
   * @throws {TypeError} when an argument is invalid, `meta` cannot cross
   *   the wire, or the process is not of this node
   * @throws {NotAliveError} when the tracker has stopped
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const pid = node.runtime.open().self;
   * const ref = node.presence.track("t", "k", { status: "away" }, { pid });
   * console.assert(node.presence.get("t", "k")[0]!.presenceRef === ref);
   * await node.stop();
   * ```
   */
  track(
    topic: string,
    key: string,
    meta: PresenceMeta = {},
    options: TrackOptions = {},
  ): string {
    checkTopicKey(topic, key, "track");
    checkMeta(meta, "track");
    this.#alive("track");
    const pid = this.#pidOf(options, "track");
    const trackedKey = `${pid.key}\0${topic}\0${key}`;
    const existing = this.#tracked.get(trackedKey);
    if (existing !== undefined) throw new AlreadyTrackedError(topic, key, existing);
    const { entry, delta } = this.#state.add(this.replica, { topic, key, pid, meta });
    this.#tracked.set(trackedKey, entry.ref);
    let local = this.#local.get(pid.key);
    if (local === undefined) {
      local = { ref: this.#svc.ctx.monitor(pid), refs: new Set() };
      this.#local.set(pid.key, local);
    }
    local.refs.add(entry.ref);
    this.#svc.sendAll(OP_PRESENCE_DELTA, [PRESENCE_VERSION, delta]);
    this.#diff({ joins: [entry], leaves: [] });
    return entry.ref;
  }

  /**
   * Stops tracking a process on `topic` under `key`.
   *
   * @param topic the topic
   * @param key the key
   * @param options the process (default: the calling one)
   * @returns `true` when it was tracked
   * @throws {TypeError} when an argument is invalid
   */
  untrack(topic: string, key: string, options: TrackOptions = {}): boolean {
    checkTopicKey(topic, key, "untrack");
    const pid = this.#pidOf(options, "untrack");
    const trackedKey = `${pid.key}\0${topic}\0${key}`;
    const ref = this.#tracked.get(trackedKey);
    if (ref === undefined) return false;
    this.#tracked.delete(trackedKey);
    const local = this.#local.get(pid.key);
    local?.refs.delete(ref);
    if (local !== undefined && local.refs.size === 0) {
      this.#local.delete(pid.key);
      this.#svc.ctx.demonitor(local.ref, { flush: true });
    }
    const removed = this.#state.remove(ref);
    if (removed === undefined) return false;
    this.#svc.sendAll(OP_PRESENCE_DELTA, [PRESENCE_VERSION, removed.delta]);
    this.#diff({ joins: [], leaves: [removed.entry] });
    return true;
  }

  /**
   * Replaces the meta of a tracked presence (subscribers see a leave of
   * the old meta and a join of the new, as in Phoenix).
   *
   * @param topic the topic
   * @param key the key
   * @param meta the new meta, or a function of the old one
   * @param options the process (default: the calling one)
   * @returns the presence's new ref
   * @throws {NotTrackedError} when this process does not track `key` on `topic`
   * @throws {TypeError} when an argument is invalid or the meta cannot cross the wire
   */
  update(
    topic: string,
    key: string,
    meta: PresenceMeta | ((old: PresenceMeta) => PresenceMeta),
    options: TrackOptions = {},
  ): string {
    checkTopicKey(topic, key, "update");
    this.#alive("update");
    const pid = this.#pidOf(options, "update");
    const trackedKey = `${pid.key}\0${topic}\0${key}`;
    const ref = this.#tracked.get(trackedKey);
    const old = ref === undefined ? undefined : this.#state.get(ref);
    if (ref === undefined || old === undefined) throw new NotTrackedError(topic, key);
    const next = typeof meta === "function" ? meta(old.meta) : meta;
    checkMeta(next, "update");
    const removed = this.#state.remove(ref)!;
    const { entry, delta } = this.#state.add(this.replica, { topic, key, pid, meta: next });
    this.#tracked.set(trackedKey, entry.ref);
    const local = this.#local.get(pid.key)!;
    local.refs.delete(ref);
    local.refs.add(entry.ref);
    const both: PresenceWire = {
      ctx: [],
      cloud: [[this.replica, [removed.entry.n, entry.n]]],
      values: delta.values,
    };
    this.#svc.sendAll(OP_PRESENCE_DELTA, [PRESENCE_VERSION, both]);
    this.#diff({ joins: [entry], leaves: [removed.entry] });
    return entry.ref;
  }

  /**
   * The presences of `topic` on every node, by key, as this node knows them.
   *
   * @param topic the topic
   * @returns `{[key]: {metas: [{...meta, presenceRef}]}}`, keys and metas in a stable order
   */
  list(topic: string): PresenceList {
    return toList(this.#state.list(topic));
  }

  /**
   * The presences of one key on `topic`.
   *
   * @param topic the topic
   * @param key the key
   * @returns their metas (empty when none)
   */
  get(topic: string, key: string): ListedMeta[] {
    return this.list(topic)[key]?.metas ?? [];
  }

  /** Every topic with presences. */
  topics(): string[] {
    return [...new Set([...this.#state.entries()].map((e) => e.topic))];
  }

  /** Stops the tracker; idempotent. Peers drop this node's presences after their down period. */
  async stop(): Promise<void> {
    this.#runtime.context.remove(PRESENCE, this);
    this.#svc.kernel.ops.unregister("presence");
    for (const timer of this.#downTimers.values()) clearTimeout(timer);
    this.#downTimers.clear();
    await this.#svc.stop();
  }

  // ---------------------------------------------------------------- peers

  /** A new connection to `node`: it gets the whole state; its replica is up again. */
  #peerUp(node: string): void {
    this.#checkReplicas();
    this.#svc.send(node, OP_PRESENCE_STATE, [PRESENCE_VERSION, this.#state.toWire()]);
  }

  /** STATE or DELTA, sent by the presence tracker of `node`. */
  #onState(node: string, f: unknown[]): void {
    const [version, wire] = f;
    if (version !== PRESENCE_VERSION) {
      if (typeof version !== "number") throw new DecodeError("Malformed presence operation");
      log.warning("{node} speaks presence version {version}, not {ours}; ignoring it", {
        node,
        version,
        ours: PRESENCE_VERSION,
      });
      return;
    }
    const other = PresenceState.fromWire(wire);
    const changes = this.#state.join(other, (r) => this.#pruned.has(r) || r === this.replica);
    this.#diff(changes);
    this.#checkReplicas();
  }

  /**
   * Starts the down timer of each replica not connected now, drops at
   * once those of a node connected again with another creation (gone for
   * good), and forgets the timers of replicas connected again.
   */
  #checkReplicas(): void {
    for (const replica of this.#state.replicas()) {
      const up = this.#replicaState(replica);
      if (up === "up") {
        const timer = this.#downTimers.get(replica);
        if (timer !== undefined) clearTimeout(timer);
        this.#downTimers.delete(replica);
      } else if (up === "dead" || this.#downPeriod === 0) {
        this.#prune(replica);
      } else if (!this.#downTimers.has(replica)) {
        this.#downTimers.set(
          replica,
          setTimeout(() => {
            this.#downTimers.delete(replica);
            if (this.#replicaState(replica) !== "up") this.#prune(replica);
          }, this.#downPeriod),
        );
      }
    }
    for (const replica of [...this.#pruned]) {
      if (this.#replicaState(replica) === "up") this.#pruned.delete(replica);
    }
  }

  #prune(replica: string): void {
    const timer = this.#downTimers.get(replica);
    if (timer !== undefined) clearTimeout(timer);
    this.#downTimers.delete(replica);
    this.#pruned.add(replica);
    const gone = this.#state.prune(replica);
    if (gone.length > 0) {
      log.info("Dropping {n} presences of {replica}, down", { n: gone.length, replica });
    }
    this.#diff({ joins: [], leaves: gone });
  }

  /** `up`: this node or a peer of that creation; `dead`: its node is up with another creation. */
  #replicaState(replica: string): "up" | "down" | "dead" {
    if (replica === this.replica) return "up";
    const at = replica.lastIndexOf("#");
    const node = replica.slice(0, at);
    const creation = Number(replica.slice(at + 1));
    if (node === this.node) return "dead";
    if (!this.#svc.isPeer(node)) return "down";
    return this.#svc.kernel.peer(node)?.creation === creation ? "up" : "dead";
  }

  /** A message of the tracker's process: a tracked process exited. */
  #info(msg: unknown): void {
    const down = msg as DownMessage;
    if (down?.type !== "DOWN" || !(down.pid instanceof Pid)) return;
    const local = this.#local.get(down.pid.key);
    if (local === undefined || !local.ref.equals(down.ref)) return;
    this.#local.delete(down.pid.key);
    const leaves: PresenceEntry[] = [];
    const dots: number[] = [];
    for (const ref of local.refs) {
      const removed = this.#state.remove(ref);
      if (removed === undefined) continue;
      leaves.push(removed.entry);
      dots.push(removed.entry.n);
      this.#tracked.delete(`${down.pid.key}\0${removed.entry.topic}\0${removed.entry.key}`);
    }
    if (dots.length === 0) return;
    this.#svc.sendAll(OP_PRESENCE_DELTA, [
      PRESENCE_VERSION,
      {
        ctx: [],
        cloud: [[this.replica, dots]],
        values: [],
      } satisfies PresenceWire,
    ]);
    this.#diff({ joins: [], leaves });
  }

  /** Tells this node's subscribers of each topic what changed on it. */
  #diff(changes: PresenceChanges): void {
    if (changes.joins.length === 0 && changes.leaves.length === 0) return;
    const byTopic = new Map<string, PresenceChanges>();
    const of = (topic: string) => {
      let c = byTopic.get(topic);
      if (c === undefined) byTopic.set(topic, c = { joins: [], leaves: [] });
      return c;
    };
    for (const e of changes.joins) of(e.topic).joins.push(e);
    for (const e of changes.leaves) of(e.topic).leaves.push(e);
    for (const [topic, c] of byTopic) {
      try {
        this.#pubsub.localBroadcast(
          topic,
          {
            type: "presence_diff",
            topic,
            joins: toList(c.joins),
            leaves: toList(c.leaves),
          } satisfies PresenceDiffMessage,
        );
      } catch (e) {
        log.error("Cannot send the presence diff of {topic}: {error}", { topic, error: e });
      }
    }
  }

  #pidOf(options: TrackOptions, what: string): Pid {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Cannot ${what}: options must be an object`);
    }
    let pid = options.pid;
    if (pid === undefined) {
      pid = callerOn(this.#runtime, what);
    }
    if (!(pid instanceof Pid) || pid.node !== this.node) {
      throw new TypeError(`Cannot ${what}: the process must be a pid of ${this.node}`);
    }
    return pid;
  }

  #alive(what: string): void {
    if (this.#svc.stopped) {
      throw new NotAliveError(`Cannot ${what}: the presence tracker of ${this.node} has stopped`);
    }
  }
}

/**
 * The presence tracker of the node `runtime` belongs to.
 *
 * @param runtime the node's runtime
 * @returns its tracker
 * @throws {NotAliveError} when none runs there
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { presenceOf } from "./presence.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(presenceOf(node.runtime) === node.presence);
 * await node.stop();
 * ```
 */
export function presenceOf(runtime: Runtime): Presence {
  const svc = runtime.context.get(PRESENCE);
  if (svc === undefined) {
    throw new NotAliveError(
      `Cannot use presence: no presence tracker runs on ${runtime.node} (start the node with startNode)`,
    );
  }
  return svc;
}

/** Presences grouped by key, keys sorted, metas by ref. */
function toList(entries: PresenceEntry[]): PresenceList {
  const sorted = [...entries].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0
  );
  const out: PresenceList = {};
  for (const e of sorted) {
    (out[e.key] ??= { metas: [] }).metas.push({ ...e.meta, presenceRef: e.ref });
  }
  return out;
}

function checkTopicKey(topic: unknown, key: unknown, what: string): void {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`Cannot ${what}: the topic must be a non-empty string`);
  }
  if (typeof key !== "string") throw new TypeError(`Cannot ${what}: the key must be a string`);
}

function checkMeta(meta: unknown, what: string): asserts meta is PresenceMeta {
  if (!isPlainObject(meta)) throw new TypeError(`Cannot ${what}: meta must be a plain object`);
  try {
    encode(meta);
  } catch (e) {
    throw new TypeError(`Cannot ${what}: meta cannot cross the wire: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
