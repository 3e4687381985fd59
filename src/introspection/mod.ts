/**
 * Introspection: what a node can tell about itself to the observer and the
 * metrics endpoint, locally and through rpc (the `observer` module).
 *
 * @example
 * ```ts
 * import { observerModule } from "./mod.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const obs = observerModule({ runtime, connections: () => [] });
 * console.assert(obs.figures().node === "a@h");
 * obs.stop();
 * ```
 *
 * @module
 */

export { EventLoopDelay, type EventLoopDelayStats } from "./event_loop.ts";
export {
  type BreakerView,
  type NodeFigures,
  type ObserverFacts,
  type ObserverModule,
  observerModule,
  type ProcessDetail,
  type ProcessRow,
  type SupervisionNode,
} from "./observer_module.ts";
