/**
 * A well-formed body of every operation a node handles (process signals,
 * remote spawn, the node kernel's, rpc, global names, process groups,
 * pubsub and presence), as a genuine peer sends it: the templates the
 * fuzzer mutates. And operation codes that no layer claims.
 *
 * @module
 */

import {
  OP_DEMONITOR,
  OP_EXIT,
  OP_LINK,
  OP_LINK_EXIT,
  OP_MONITOR,
  OP_MONITOR_EXIT,
  OP_PEERS,
  OP_PING,
  OP_PONG,
  OP_REG_SEND,
  OP_SEND,
  OP_SPAWN_REPLY,
  OP_SPAWN_REQUEST,
  OP_UNLINK,
} from "../../src/distribution/types.ts";
import {
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
} from "../../src/global/types.ts";
import { OP_PG_JOIN, OP_PG_LEAVE, OP_PG_SYNC } from "../../src/pg/types.ts";
import {
  OP_PRESENCE_DELTA,
  OP_PRESENCE_STATE,
  OP_PUBSUB_BROADCAST,
} from "../../src/pubsub/types.ts";
import {
  OP_RPC_CALL,
  OP_RPC_CAST,
  OP_RPC_IO,
  OP_RPC_REPLY,
  OP_SPAWN_GO,
} from "../../src/rpc/types.ts";
import { Pid, Ref } from "../../src/term/pid.ts";
import type { Cast } from "./_mutate.ts";
import type { Rng } from "./_rng.ts";

/** A well-formed body for every operation the target knows, as a peer would send it. */
export function validOps(rng: Rng, cast: Cast): unknown[][] {
  const me = new Pid(cast.self, 1 + rng.int(20), 0, cast.selfCreation);
  const them = new Pid(cast.target, rng.int(300), 0, cast.targetCreation);
  const ref = new Ref(cast.self, rng.int(1000), cast.selfCreation);
  const now = Date.now();
  return [
    [OP_SEND, them.id, them.serial, them.creation, { from: me, n: 1 }],
    [OP_REG_SEND, "sink", { from: me }],
    [OP_LINK, me, them],
    [OP_UNLINK, me, them],
    [OP_EXIT, me, them, "shutdown"],
    [OP_LINK_EXIT, me, them, "normal"],
    [OP_MONITOR, me, them, ref],
    [OP_MONITOR, me, "sink", ref],
    [OP_DEMONITOR, me, them, ref],
    [OP_MONITOR_EXIT, me, them, ref, "normal"],
    [OP_SPAWN_REQUEST, ref, me, [["node", "self"], []], { link: false, monitor: rng.chance(0.5) }],
    [OP_SPAWN_REPLY, ref, me, them],
    [OP_PEERS, 4370, [["peer@127.0.0.1", 4371]]],
    [OP_PING, rng.int(1000)],
    [OP_PONG, rng.int(1000)],
    [OP_RPC_CALL, rng.int(1000), ["node", "self"], [], null],
    [OP_RPC_CALL, rng.int(1000), ["node", "processCount"], [], me],
    [OP_RPC_REPLY, rng.int(1000), 0, "x"],
    [OP_RPC_CAST, ["node", "self"], [], null],
    [OP_SPAWN_GO, ref],
    [OP_RPC_IO, me, "log", "hello"],
    [OP_GLOBAL_SYNC, 1, [["g", me, now, false]]],
    [OP_GLOBAL_CLAIM, rng.int(100), "g", me, now, false],
    [OP_GLOBAL_CLAIM_REPLY, rng.int(100), true],
    [OP_GLOBAL_ADD, rng.int(3), "g", me, now, false],
    [OP_GLOBAL_DEL, rng.int(3), "g", me],
    [OP_GLOBAL_ACK, rng.int(100)],
    [OP_GLOBAL_RESOLVED, "g", me, [them]],
    [OP_GLOBAL_LOCK, rng.int(100), "lock", rng.chance(0.5)],
    [OP_GLOBAL_LOCK_REPLY, rng.int(100), true],
    [OP_GLOBAL_UNLOCK, rng.int(100), "lock"],
    [OP_GLOBAL_REQUEST, rng.int(100), "register", "g", them],
    [OP_GLOBAL_REPLY, rng.int(100), true],
    [OP_PG_SYNC, "pg", [["group", [me]]], rng.chance(0.5)],
    [OP_PG_JOIN, "pg", "group", [me]],
    [OP_PG_LEAVE, "pg", "group", [me]],
    [OP_PUBSUB_BROADCAST, "topic", { hello: 1 }, null],
    [OP_PRESENCE_STATE, 1, { presences: [], context: [] }],
    [OP_PRESENCE_DELTA, 1, { joins: [], leaves: [] }],
  ];
}

/** Operation codes no layer claims, and the edges of the ranges. */
export const UNKNOWN_OPS = [
  0,
  12,
  19,
  23,
  31,
  37,
  39,
  63,
  79,
  81,
  83,
  86,
  87,
  88,
  95,
  96,
  255,
  256,
  65536,
  -1,
];
