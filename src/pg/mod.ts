/**
 * Process groups, as OTP's `pg`: `node.pg` (the default scope `pg`) on a
 * node, {@linkcode PgScope} for scopes of your own, or the {@linkcode pg}
 * namespace, which acts on the node of the calling process.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { pg } from "./mod.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const me = node.runtime.open();
 * runInProcess(me, () => {
 *   pg.join("workers");
 *   console.assert(pg.getMembers("workers")[0]?.equals(me.self));
 * });
 * await node.stop();
 * ```
 *
 * @module
 */

import { current } from "../process/current.ts";
import type { Pid, Ref } from "../term/pid.ts";
import {
  type PgGroupMonitor,
  type PgMonitorOptions,
  PgScope,
  type PgScopeMonitor,
  pgScopeOf,
} from "./scope.ts";

export {
  type PgGroupMonitor,
  type PgMonitorOptions,
  PgScope,
  type PgScopeMonitor,
  pgScopeOf,
  type PgScopeOptions,
} from "./scope.ts";
export { DEFAULT_SCOPE, type PgEvent } from "./types.ts";

/** The functions of {@linkcode pg}: the default scope of the calling process's node. */
export interface PgNamespace {
  /** Adds `pids` (default: the calling process) to `group`. */
  join(group: string, pids?: Pid | Pid[]): void;
  /** Removes `pids` (default: the calling process) from `group`; `false` when none was a member. */
  leave(group: string, pids?: Pid | Pid[]): boolean;
  /** Every member of `group` on every node. */
  getMembers(group: string): Pid[];
  /** The members of `group` on this node. */
  getLocalMembers(group: string): Pid[];
  /** Every group with members. */
  whichGroups(): string[];
  /** Join/leave events of `group` to the calling process. */
  monitor(group: string, options?: PgMonitorOptions): PgGroupMonitor;
  /** Join/leave events of every group to the calling process. */
  monitorScope(options?: PgMonitorOptions): PgScopeMonitor;
  /** Ends a monitor. */
  demonitor(ref: Ref): boolean;
  /** Another scope of the calling process's node. */
  scope(name: string): PgScope;
}

const here = (): PgScope => pgScopeOf(current().runtime);
const self = (): Pid => current().self;

/**
 * The default pg scope of the node of the calling process.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { pg } from "./mod.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * runInProcess(node.runtime.open(), () => console.assert(pg.whichGroups().length === 0));
 * await node.stop();
 * ```
 */
export const pg: PgNamespace = Object.freeze({
  join: (group: string, pids?: Pid | Pid[]) => here().join(group, pids ?? self()),
  leave: (group: string, pids?: Pid | Pid[]) => here().leave(group, pids ?? self()),
  getMembers: (group: string) => here().getMembers(group),
  getLocalMembers: (group: string) => here().getLocalMembers(group),
  whichGroups: () => here().whichGroups(),
  monitor: (group: string, options?: PgMonitorOptions) => here().monitor(group, options),
  monitorScope: (options?: PgMonitorOptions) => here().monitorScope(options),
  demonitor: (ref: Ref) => here().demonitor(ref),
  scope: (name: string) => pgScopeOf(current().runtime, name),
});
