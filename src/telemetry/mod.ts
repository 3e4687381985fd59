/**
 * Telemetry: named events with measurements and metadata, emitted by every
 * layer of a node and consumed by handlers (metrics, the observer, a
 * user's logging). See telemetry.ts for the model and events.ts for what
 * Weft emits.
 *
 * @example
 * ```ts
 * import { NODE_DOWN, Telemetry } from "./mod.ts";
 * const t = new Telemetry();
 * let downs = 0;
 * t.attach("count-downs", NODE_DOWN, () => downs++);
 * t.execute(NODE_DOWN, { count: 1 }, { peer: "b@h", reason: "net_tick_timeout" });
 * console.assert(downs === 1);
 * ```
 *
 * @module
 */

export {
  type AttachedHandler,
  type EventName,
  type Measurements,
  type Metadata,
  Telemetry,
  TelemetryEvent,
  type TelemetryHandler,
} from "./telemetry.ts";
export {
  GEN_SERVER_CALL_STOP,
  MESSAGE_RECEIVED,
  MESSAGE_SENT,
  NODE_DOWN,
  NODE_UP,
  RAFT_LEADER,
  REPLICATOR_DELTA_SENT,
  RPC_CALL_STOP,
  RPC_CIRCUIT_CHANGED,
  SUPERVISOR_RESTART,
} from "./events.ts";
