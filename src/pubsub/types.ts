/**
 * Wire constants and shapes of pubsub and presence.
 *
 * Op code 80 of pubsub's range 80-83, and 84-85 of presence's range
 * 84-87 (allocated in `OP_RANGES`, distribution/op_registry.ts).
 *
 * @example
 * ```ts
 * import { OP_PUBSUB_BROADCAST } from "./types.ts";
 * console.assert(OP_PUBSUB_BROADCAST === 80);
 * ```
 *
 * @module
 */

/** `[80, topic, msg, except | null]`: deliver `msg` to the receiver's subscribers of `topic` (all but `except`). */
export const OP_PUBSUB_BROADCAST = 80;

/** `[84, version, state]`: the sender's whole presence state, first thing on each new connection. */
export const OP_PRESENCE_STATE = 84;
/** `[85, version, delta]`: presence changes made on the sender. */
export const OP_PRESENCE_DELTA = 85;

/** Version of the presence state format, first field of STATE and DELTA. */
export const PRESENCE_VERSION = 1;

/** The pg scope pubsub keeps its topics in: each node's pubsub server joins the topics it has subscribers for. */
export const PUBSUB_TOPICS_SCOPE = "weft_pubsub_topics";

/** The name the pubsub server is registered under on each node. */
export const PUBSUB_SERVER_NAME = "weft_pubsub";

/** The name the presence server is registered under on each node. */
export const PRESENCE_SERVER_NAME = "weft_presence";

/** A callback subscriber: called with each message broadcast on the topic, on this node. */
export type PubSubHandler = (msg: unknown, topic: string) => void;
