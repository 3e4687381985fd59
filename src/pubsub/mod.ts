/**
 * Topics and presence across the cluster, as Phoenix.PubSub and
 * Phoenix.Presence: `node.pubsub` and `node.presence` on a node, or the
 * {@linkcode pubsub} and {@linkcode presence} namespaces, which act on the
 * node of the calling process.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { receive, runInProcess } from "../process/current.ts";
 * import { pubsub } from "./mod.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await runInProcess(node.runtime.open(), async () => {
 *   pubsub.subscribe("news");
 *   pubsub.broadcast("news", "hello");
 *   console.assert((await receive()) === "hello");
 * });
 * await node.stop();
 * ```
 *
 * @module
 */

import { current } from "../process/current.ts";
import type { Pid } from "../term/pid.ts";
import {
  type ListedMeta,
  type Presence,
  type PresenceList,
  presenceOf,
  type TrackOptions,
} from "./presence.ts";
import type { PresenceMeta } from "./presence_state.ts";
import { type PubSub, pubSubOf } from "./pubsub.ts";
import type { PubSubHandler } from "./types.ts";

export { PubSub, pubSubOf, type PubSubOptions } from "./pubsub.ts";
export {
  DEFAULT_DOWN_PERIOD,
  type ListedMeta,
  Presence,
  type PresenceDiffMessage,
  type PresenceList,
  type PresenceMeta,
  presenceOf,
  type PresenceOptions,
  type TrackOptions,
} from "./presence.ts";
export {
  mergeStates,
  type PresenceChanges,
  type PresenceEntry,
  type PresenceRecord,
  PresenceState,
  type PresenceWire,
} from "./presence_state.ts";
export type { PubSubHandler } from "./types.ts";

/** The functions of {@linkcode pubsub}: {@linkcode PubSub}'s, for the calling process's node. */
export interface PubSubNamespace {
  /** Subscribes the calling process (or `target`: a local pid or a callback) to `topic`. */
  subscribe(topic: string, target?: Pid | PubSubHandler): void;
  /** Ends a subscription of the calling process (or `target`). */
  unsubscribe(topic: string, target?: Pid | PubSubHandler): boolean;
  /** Sends `msg` to every subscriber of `topic` on every node. */
  broadcast(topic: string, msg: unknown): void;
  /** As `broadcast`, leaving out `from` (default: the calling process). */
  broadcastFrom(topic: string, msg: unknown, from?: Pid): void;
  /** Sends `msg` to the subscribers of `topic` on this node. */
  localBroadcast(topic: string, msg: unknown): void;
  /** Sends `msg` to the subscribers of `topic` on `node`. */
  directBroadcast(node: string, topic: string, msg: unknown): void;
  /** The processes subscribed to `topic` on this node. */
  subscribers(topic: string): Pid[];
  /** The nodes with subscribers of `topic`. */
  subscriberNodes(topic: string): string[];
}

/** The functions of {@linkcode presence}: {@linkcode Presence}'s, for the calling process's node. */
export interface PresenceNamespace {
  /** Tracks the calling process (or `options.pid`) on `topic` under `key`. */
  track(topic: string, key: string, meta?: PresenceMeta, options?: TrackOptions): string;
  /** Stops tracking the calling process (or `options.pid`) on `topic` under `key`. */
  untrack(topic: string, key: string, options?: TrackOptions): boolean;
  /** Replaces the meta of a tracked presence. */
  update(
    topic: string,
    key: string,
    meta: PresenceMeta | ((old: PresenceMeta) => PresenceMeta),
    options?: TrackOptions,
  ): string;
  /** The presences of `topic`, by key. */
  list(topic: string): PresenceList;
  /** The presences of one key on `topic`. */
  get(topic: string, key: string): ListedMeta[];
}

const pubsubHere = (): PubSub => pubSubOf(current().runtime);
const presenceHere = (): Presence => presenceOf(current().runtime);

/**
 * Pubsub for the node of the calling process.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { pubsub } from "./mod.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const me = node.runtime.open();
 * runInProcess(me, () => pubsub.subscribe("t"));
 * console.assert(node.pubsub.subscribers("t")[0]?.equals(me.self));
 * await node.stop();
 * ```
 */
export const pubsub: PubSubNamespace = Object.freeze({
  subscribe: (topic: string, target?: Pid | PubSubHandler) => pubsubHere().subscribe(topic, target),
  unsubscribe: (topic: string, target?: Pid | PubSubHandler) =>
    pubsubHere().unsubscribe(topic, target),
  broadcast: (topic: string, msg: unknown) => pubsubHere().broadcast(topic, msg),
  broadcastFrom: (topic: string, msg: unknown, from?: Pid) =>
    pubsubHere().broadcastFrom(topic, msg, from),
  localBroadcast: (topic: string, msg: unknown) => pubsubHere().localBroadcast(topic, msg),
  directBroadcast: (node: string, topic: string, msg: unknown) =>
    pubsubHere().directBroadcast(node, topic, msg),
  subscribers: (topic: string) => pubsubHere().subscribers(topic),
  subscriberNodes: (topic: string) => pubsubHere().subscriberNodes(topic),
});

/**
 * Presence for the node of the calling process.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { presence } from "./mod.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * runInProcess(node.runtime.open(), () => presence.track("room", "ann", { away: false }));
 * console.assert(Object.keys(node.presence.list("room"))[0] === "ann");
 * await node.stop();
 * ```
 */
export const presence: PresenceNamespace = Object.freeze({
  track: (topic: string, key: string, meta?: PresenceMeta, options?: TrackOptions) =>
    presenceHere().track(topic, key, meta, options),
  untrack: (topic: string, key: string, options?: TrackOptions) =>
    presenceHere().untrack(topic, key, options),
  update: (
    topic: string,
    key: string,
    meta: PresenceMeta | ((old: PresenceMeta) => PresenceMeta),
    options?: TrackOptions,
  ) => presenceHere().update(topic, key, meta, options),
  list: (topic: string) => presenceHere().list(topic),
  get: (topic: string, key: string) => presenceHere().get(topic, key),
});
