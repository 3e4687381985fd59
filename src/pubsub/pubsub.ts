/**
 * Topics (Phoenix.PubSub): processes and callbacks subscribe to a topic on
 * their node; a broadcast reaches every subscriber on every node with one
 * network message per node that has subscribers, fanned out there.
 *
 * Design. Each node's pubsub server keeps the local subscribers of each
 * topic, and joins the topic as a group of the pg scope
 * `weft_pubsub_topics` while it has at least one, so every node knows which
 * nodes care about a topic (pg keeps that right as nodes come and go).
 *
 * ```
 * subscribe(t) on B        B: first local subscriber of t -> pg join(t, B's server)
 *                          B ---- pg JOIN ----> every node
 * broadcast(t, m) on A     A: for each node N with a member in group t, N != A:
 *                          A ---- BROADCAST(t, m, except) ----> N   (one per node)
 *                          N: delivers m to each local subscriber of t
 *                          A: delivers m to its own subscribers of t
 * ```
 *
 * Order: the BROADCASTs of one node travel in order on each connection and
 * are fanned out as they arrive, so messages from one publisher reach each
 * subscriber in the order sent (as with `send`). A subscription made before
 * a process tells a remote publisher about it (by a message) is known to
 * the publisher's node first: the pg JOIN went ahead on the same connection.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const me = node.runtime.open();
 * node.pubsub.subscribe("news", me.self);
 * node.pubsub.broadcast("news", "hello");
 * console.assert((await me.receive()) === "hello");
 * await node.stop();
 * ```
 *
 * @module
 */

import { DecodeError, NotAliveError, ServiceAlreadyRunningError } from "../errors.ts";
import { NodeService } from "../distribution/node_service.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import { PgScope } from "../pg/scope.ts";
import { callerOn } from "../process/current.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage } from "../process/types.ts";
import { Pid, type Ref } from "../term/pid.ts";
import {
  OP_PUBSUB_BROADCAST,
  PUBSUB_SERVER_NAME,
  PUBSUB_TOPICS_SCOPE,
  type PubSubHandler,
} from "./types.ts";

const log = logger("pubsub");

/** Options for {@linkcode PubSub}. */
export interface PubSubOptions {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node kernel. */
  kernel: NetKernel;
}

/** The local subscribers of one topic; arrays are replaced, never changed, so a fan-out in progress is safe. */
interface Topic {
  pids: Pid[];
  handlers: PubSubHandler[];
}

/** The pubsub server of a node, in its context. */
export const PUBSUB: ServiceKey<PubSub> = new ServiceKey("pubsub");

/**
 * The pubsub server of one node.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const b = await startNode({ name: "b@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await a.connect(`b@127.0.0.1:${b.port}`);
 * const got: unknown[] = [];
 * b.pubsub.subscribe("t", (msg) => got.push(msg));
 * while (a.pubsub.subscriberNodes("t").length === 0) await new Promise((r) => setTimeout(r, 5));
 * a.pubsub.broadcast("t", 1);
 * while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
 * await a.stop();
 * await b.stop();
 * ```
 */
export class PubSub {
  /** This node's name. */
  readonly node: string;
  #runtime: Runtime;
  #kernel: NetKernel;
  #svc: NodeService;
  #pg: PgScope;
  #topics = new Map<string, Topic>();
  /** Local subscriber processes: pid key -> its monitor and topics. */
  #subscribers = new Map<string, { pid: Pid; ref: Ref; topics: Set<string> }>();

  /**
   * Starts the pubsub server of a node (`startNode` does this).
   *
   * @param options the node's runtime and kernel
   * @throws {ServiceAlreadyRunningError} when pubsub already runs on the node
   */
  constructor(options: PubSubOptions) {
    this.#runtime = options.runtime;
    this.#kernel = options.kernel;
    this.node = options.runtime.node;
    if (options.runtime.context.get(PUBSUB) !== undefined) {
      throw new ServiceAlreadyRunningError(PUBSUB.name, this.node);
    }
    this.#pg = new PgScope({ ...options, scope: PUBSUB_TOPICS_SCOPE });
    this.#svc = new NodeService(options.runtime, options.kernel, {
      name: PUBSUB_SERVER_NAME,
      peerUp: () => {},
      peerDown: () => {},
      info: (msg) => this.#info(msg),
    });
    options.kernel.ops.register("pubsub", OP_PUBSUB_BROADCAST, (_node, fields) => {
      const [topic, msg, except] = fields;
      if (typeof topic !== "string" || !(except === null || except instanceof Pid)) {
        throw new DecodeError("Malformed pubsub BROADCAST operation");
      }
      this.#fanout(topic, msg, except ?? undefined);
    });
    options.runtime.context.provide(PUBSUB, this);
    this.#svc.start();
  }

  /**
   * Subscribes a process of this node (default: the calling one), or a
   * callback, to `topic`. Subscribing twice is the same as once. A process
   * is unsubscribed when it exits.
   *
   * @param topic the topic
   * @param target a local pid, or a function called with `(msg, topic)`
   * @throws {TypeError} when `topic` is not a non-empty string, or `target` is a pid of another node
   * @throws {NotAliveError} when the pubsub server has stopped
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const seen: unknown[] = [];
   * node.pubsub.subscribe("t", (msg) => seen.push(msg));
   * node.pubsub.localBroadcast("t", "x");
   * console.assert(seen[0] === "x");
   * await node.stop();
   * ```
   */
  subscribe(topic: string, target?: Pid | PubSubHandler): void {
    checkTopic(topic, "subscribe");
    this.#alive("subscribe");
    const sub = target ?? this.#caller("subscribe");
    const t = this.#topics.get(topic) ?? { pids: [], handlers: [] };
    if (typeof sub === "function") {
      if (t.handlers.includes(sub)) return;
      t.handlers = [...t.handlers, sub];
    } else {
      this.#checkLocal(sub, "subscribe");
      if (t.pids.some((p) => p.equals(sub))) return;
      t.pids = [...t.pids, sub];
      let s = this.#subscribers.get(sub.key);
      if (s === undefined) {
        s = { pid: sub, ref: this.#svc.ctx.monitor(sub), topics: new Set() };
        this.#subscribers.set(sub.key, s);
      }
      s.topics.add(topic);
    }
    if (!this.#topics.has(topic)) {
      this.#topics.set(topic, t);
      this.#pg.join(topic, this.#svc.self);
    }
  }

  /**
   * Ends a subscription made by {@linkcode PubSub.subscribe}.
   *
   * @param topic the topic
   * @param target the pid (default: the calling process) or the callback
   * @returns `true` when it was subscribed
   * @throws {TypeError} when `topic` is not a non-empty string
   */
  unsubscribe(topic: string, target?: Pid | PubSubHandler): boolean {
    checkTopic(topic, "unsubscribe");
    const sub = target ?? this.#caller("unsubscribe");
    const t = this.#topics.get(topic);
    if (t === undefined) return false;
    if (typeof sub === "function") {
      if (!t.handlers.includes(sub)) return false;
      t.handlers = t.handlers.filter((h) => h !== sub);
    } else {
      if (!(sub instanceof Pid) || !t.pids.some((p) => p.equals(sub))) return false;
      t.pids = t.pids.filter((p) => !p.equals(sub));
      const s = this.#subscribers.get(sub.key);
      if (s !== undefined) {
        s.topics.delete(topic);
        if (s.topics.size === 0) {
          this.#subscribers.delete(sub.key);
          this.#svc.ctx.demonitor(s.ref, { flush: true });
        }
      }
    }
    this.#dropIfEmpty(topic, t);
    return true;
  }

  /**
   * Sends `msg` to every subscriber of `topic` on every node: one network
   * message per other node that has subscribers.
   *
   * @param topic the topic
   * @param msg the message
   * @throws {TypeError} when `topic` is invalid, or `msg` cannot cross the wire and another node has subscribers
   *
   * @example
   * ```ts
   * import { startNode } from "../node.ts";
   * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
   * const me = node.runtime.open();
   * node.pubsub.subscribe("t", me.self);
   * node.pubsub.broadcast("t", { n: 1 });
   * console.assert((await me.receive<{ n: number }>()).n === 1);
   * await node.stop();
   * ```
   */
  broadcast(topic: string, msg: unknown): void {
    checkTopic(topic, "broadcast");
    this.#remote(topic, msg, null);
    this.#fanout(topic, msg, undefined);
  }

  /**
   * As {@linkcode PubSub.broadcast}, to every subscriber but `from`.
   *
   * @param topic the topic
   * @param msg the message
   * @param from the process left out; default the calling process
   * @throws {TypeError} when `topic` is invalid, or `msg` cannot cross the wire
   */
  broadcastFrom(topic: string, msg: unknown, from?: Pid): void {
    checkTopic(topic, "broadcast");
    const except = from ?? this.#caller("broadcast");
    if (!(except instanceof Pid)) throw new TypeError("Cannot broadcast: from must be a pid");
    this.#remote(topic, msg, except);
    this.#fanout(topic, msg, except);
  }

  /**
   * Sends `msg` to the subscribers of `topic` on this node only.
   *
   * @param topic the topic
   * @param msg the message
   */
  localBroadcast(topic: string, msg: unknown): void {
    checkTopic(topic, "broadcast");
    this.#fanout(topic, msg, undefined);
  }

  /**
   * Sends `msg` to the subscribers of `topic` on `node` only.
   *
   * @param node the node (connected on demand)
   * @param topic the topic
   * @param msg the message
   * @throws {TypeError} when `topic` or `node` is invalid, or `msg` cannot cross the wire
   */
  directBroadcast(node: string, topic: string, msg: unknown): void {
    checkTopic(topic, "broadcast");
    if (node === this.node) this.#fanout(topic, msg, undefined);
    else this.#kernel.sendOp(node, OP_PUBSUB_BROADCAST, [topic, msg, null]);
  }

  /**
   * The processes subscribed to `topic` on this node (callbacks are not listed).
   *
   * @param topic the topic
   * @returns their pids
   */
  subscribers(topic: string): Pid[] {
    return [...(this.#topics.get(topic)?.pids ?? [])];
  }

  /**
   * The nodes with subscribers of `topic` (this one included when it has some).
   *
   * @param topic the topic
   * @returns their names
   */
  subscriberNodes(topic: string): string[] {
    return [...new Set(this.#pg.members(topic).map((p) => p.node))];
  }

  /** Every topic with subscribers on this node. */
  topics(): string[] {
    return [...this.#topics.keys()];
  }

  /** Stops the pubsub server and its pg scope; idempotent. */
  async stop(): Promise<void> {
    this.#runtime.context.remove(PUBSUB, this);
    this.#kernel.ops.unregister("pubsub");
    await this.#svc.stop();
    await this.#pg.stop();
  }

  /** One BROADCAST to each other node with subscribers. */
  #remote(topic: string, msg: unknown, except: Pid | null): void {
    const members = this.#pg.members(topic);
    for (let i = 0; i < members.length; i++) {
      const node = members[i]!.node;
      if (node !== this.node) this.#kernel.sendOp(node, OP_PUBSUB_BROADCAST, [topic, msg, except]);
    }
  }

  #fanout(topic: string, msg: unknown, except: Pid | undefined): void {
    const t = this.#topics.get(topic);
    if (t === undefined) return;
    const pids = t.pids;
    const runtime = this.#runtime;
    if (except === undefined) {
      for (let i = 0; i < pids.length; i++) runtime.send(pids[i]!, msg);
    } else {
      for (let i = 0; i < pids.length; i++) {
        const pid = pids[i]!;
        if (!pid.equals(except)) runtime.send(pid, msg);
      }
    }
    const handlers = t.handlers;
    for (let i = 0; i < handlers.length; i++) {
      try {
        handlers[i]!(msg, topic);
      } catch (e) {
        log.error("A subscriber of {topic} failed: {error}", { topic, error: e });
      }
    }
  }

  #dropIfEmpty(topic: string, t: Topic): void {
    if (t.pids.length > 0 || t.handlers.length > 0) return;
    this.#topics.delete(topic);
    if (!this.#svc.stopped) this.#pg.leave(topic, this.#svc.self);
  }

  /** A message of the pubsub server: a subscriber exited. */
  #info(msg: unknown): void {
    const down = msg as DownMessage;
    if (down?.type !== "DOWN" || !(down.pid instanceof Pid)) return;
    const s = this.#subscribers.get(down.pid.key);
    if (s === undefined || !s.ref.equals(down.ref)) return;
    this.#subscribers.delete(down.pid.key);
    for (const topic of s.topics) {
      const t = this.#topics.get(topic);
      if (t === undefined) continue;
      t.pids = t.pids.filter((p) => !p.equals(s.pid));
      this.#dropIfEmpty(topic, t);
    }
  }

  #checkLocal(pid: unknown, what: string): asserts pid is Pid {
    if (!(pid instanceof Pid)) {
      throw new TypeError(`Cannot ${what}: expected a pid or a function`);
    }
    if (pid.node !== this.node) {
      throw new TypeError(`Cannot ${what}: ${pid} is not a process of ${this.node}`);
    }
  }

  #caller(what: string): Pid {
    return callerOn(this.#runtime, what);
  }

  #alive(what: string): void {
    if (this.#svc.stopped) {
      throw new NotAliveError(`Cannot ${what}: the pubsub server of ${this.node} has stopped`);
    }
  }
}

/**
 * The pubsub server of the node `runtime` belongs to.
 *
 * @param runtime the node's runtime
 * @returns its pubsub server
 * @throws {NotAliveError} when none runs there
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { pubSubOf } from "./pubsub.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * console.assert(pubSubOf(node.runtime) === node.pubsub);
 * await node.stop();
 * ```
 */
export function pubSubOf(runtime: Runtime): PubSub {
  const svc = runtime.context.get(PUBSUB);
  if (svc === undefined) {
    throw new NotAliveError(
      `Cannot use pubsub: no pubsub server runs on ${runtime.node} (start the node with startNode)`,
    );
  }
  return svc;
}

function checkTopic(topic: unknown, what: string): asserts topic is string {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`Cannot ${what}: the topic must be a non-empty string`);
  }
}
