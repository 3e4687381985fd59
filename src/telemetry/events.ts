/**
 * The events Weft itself emits, by name, with what each carries. Durations
 * are in milliseconds (`performance.now()` differences), sizes in bytes.
 *
 * | event                                   | measurements          | metadata                          |
 * | --------------------------------------- | --------------------- | --------------------------------- |
 * | `weft.node.up`                          | `count`               | `node`, `peer`                    |
 * | `weft.node.down`                        | `count`               | `node`, `peer`, `reason`          |
 * | `weft.dist.message.sent`                | `count`               | `node`, `peer`                    |
 * | `weft.dist.message.received`            | `count`               | `node`, `peer`                    |
 * | `weft.rpc.call.stop`                    | `duration`            | `node`, `target`, `module`, `function`, `outcome` |
 * | `weft.rpc.circuit.changed`             | `count`               | `node`, `peer`, `from`, `to`      |
 * | `weft.gen_server.call.stop`             | `duration`            | `node`, `server`, `outcome`       |
 * | `weft.supervisor.restart`               | `count`               | `node`, `supervisor`, `child`, `reason` |
 * | `weft.replicator.delta.sent`            | `keys`                | `node`, `peers`                   |
 * | `weft.raft.leader`                      | `term`                | `node`, `cluster`, `leader`       |
 *
 * Connection bytes in and out and queue lengths are figures of each
 * connection, read when wanted (`kernel.connectionStats()`), not events.
 *
 * @example
 * ```ts
 * import { Telemetry } from "./telemetry.ts";
 * import { NODE_UP } from "./events.ts";
 * const t = new Telemetry();
 * t.attach("ups", NODE_UP, (_n, _m, md) => console.log(`up: ${md.peer}`));
 * t.execute(NODE_UP, { count: 1 }, { node: "a@h", peer: "b@h" }); // prints up: b@h
 * ```
 *
 * @module
 */

import type { EventName } from "./telemetry.ts";

/** A connection to a peer came up (the handshake succeeded). */
export const NODE_UP: EventName = ["weft", "node", "up"];
/** A connection to a peer went down; `reason` as in a `nodedown` message. */
export const NODE_DOWN: EventName = ["weft", "node", "down"];
/** A process message (`send`/`reg_send`) left for another node. */
export const MESSAGE_SENT: EventName = ["weft", "dist", "message", "sent"];
/** A process message (`send`/`reg_send`) arrived from another node. */
export const MESSAGE_RECEIVED: EventName = ["weft", "dist", "message", "received"];
/** An rpc call this node made returned, failed or timed out (`outcome`: ok, error, timeout). */
export const RPC_CALL_STOP: EventName = ["weft", "rpc", "call", "stop"];
/** The rpc circuit breaker of a peer changed state (`from`, `to`: closed, open, half_open). */
export const RPC_CIRCUIT_CHANGED: EventName = ["weft", "rpc", "circuit", "changed"];
/** A `GenServer.call` returned or failed (`outcome`: ok, error). */
export const GEN_SERVER_CALL_STOP: EventName = ["weft", "gen_server", "call", "stop"];
/** A supervisor restarted a child. */
export const SUPERVISOR_RESTART: EventName = ["weft", "supervisor", "restart"];
/** The replicator sent a batch of deltas. */
export const REPLICATOR_DELTA_SENT: EventName = ["weft", "replicator", "delta", "sent"];
/** A Raft group's leader, as this member sees it, changed (a new term or a new leader; null: none). */
export const RAFT_LEADER: EventName = ["weft", "raft", "leader"];
