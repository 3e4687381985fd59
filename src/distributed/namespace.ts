/**
 * `horde`: the distributed registries and supervisors of the node of the
 * calling process, as the shell and user code (a `--load` module, a
 * `--script`) call them. Each function finds the node when called.
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { horde } from "./namespace.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * await runInProcess(node.runtime.open(), async () => {
 *   await horde.registry("names").register("me", { role: "shell" });
 *   console.assert(horde.registry("names").count() === 1);
 * });
 * await node.stop();
 * ```
 *
 * @module
 */

import { current } from "../process/current.ts";
import type { DistRegistry, DistRegistryOptions } from "./dist_registry.ts";
import type { DistSupervisor, DistSupervisorOptions } from "./dist_supervisor.ts";
import { distributedOf } from "./service.ts";

/** The shape of {@linkcode horde}. */
export interface HordeNamespace {
  /** This node's part of registry `name` (opened on first use); see `DistRegistry`. */
  registry(name: string, options?: DistRegistryOptions): DistRegistry;
  /** This node's member of supervisor `name` (started on first use); see `DistSupervisor`. */
  supervisor(name: string, options?: DistSupervisorOptions): DistSupervisor;
  /** The names of the registries and supervisors open on this node. */
  info(): { registries: string[]; supervisors: string[] };
}

function here() {
  return distributedOf(current().runtime);
}

/**
 * The distributed registries and supervisors of the calling process's node.
 *
 * @example
 * ```ts
 * import { horde } from "./namespace.ts";
 * console.assert(typeof horde.supervisor === "function");
 * ```
 */
export const horde: HordeNamespace = Object.freeze({
  registry: (name: string, options?: DistRegistryOptions) => here().registry(name, options),
  supervisor: (name: string, options?: DistSupervisorOptions) => here().supervisor(name, options),
  info: () => here().info(),
});
