/**
 * The node service that keeps a node's distributed registries and
 * supervisors (`node.distributed`), each opened by name and the same name
 * on every node that takes part. Registries are name services for
 * `{ via: "name", key }` on this node (`VIA_NAMES`).
 *
 * ```
 * node.distributed.registry("workers")     opens (or returns) this node's part of it
 * node.distributed.supervisor("jobs")      starts (or returns) this node's member
 * node.stop() / q() / SIGTERM              supervisors hand their children over,
 *                                          then registries leave; before the replicator
 *                                          stops, so the last changes still spread
 * ```
 *
 * @example
 * ```ts
 * import { startNode } from "../node.ts";
 * const node = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const names = node.distributed.registry("names");
 * console.assert(node.distributed.registry("names") === names);
 * await node.stop();
 * ```
 *
 * @module
 */

import { ServiceAlreadyRunningError } from "../errors.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { ServiceKey, VIA_NAMES } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { Replicator } from "../replicator/replicator.ts";
import type { RpcService } from "../rpc/service.ts";
import { DistRegistry, type DistRegistryOptions } from "./dist_registry.ts";
import { DistSupervisor, type DistSupervisorOptions } from "./dist_supervisor.ts";

/** The node context key of the distributed registries and supervisors. */
export const DISTRIBUTED: ServiceKey<Distributed> = new ServiceKey("distributed");

/** One node's distributed registries and supervisors. */
export class Distributed {
  readonly #runtime: Runtime;
  readonly #kernel: NetKernel;
  readonly #replicator: Replicator;
  readonly #rpc: RpcService;
  #registries = new Map<string, DistRegistry>();
  #supervisors = new Map<string, DistSupervisor>();
  #stopped = false;

  /**
   * Starts the service on a node (`startNode` does this).
   *
   * @throws {ServiceAlreadyRunningError} when it already runs on the node
   */
  constructor(runtime: Runtime, kernel: NetKernel, replicator: Replicator, rpc: RpcService) {
    if (runtime.context.get(DISTRIBUTED) !== undefined) {
      throw new ServiceAlreadyRunningError(DISTRIBUTED.name, runtime.node);
    }
    this.#runtime = runtime;
    this.#kernel = kernel;
    this.#replicator = replicator;
    this.#rpc = rpc;
    runtime.context.provide(DISTRIBUTED, this);
    runtime.context.provide(VIA_NAMES, (name) => this.#registries.get(name));
  }

  /**
   * This node's part of the registry `name`, opened on first use (the
   * options count then).
   *
   * @param name the registry's name, the same on every node
   * @param options key kind, quorum mode, members
   * @throws {TypeError} for a bad name or option, or once the node stops
   */
  registry(name: string, options?: DistRegistryOptions): DistRegistry {
    this.#alive("open registry");
    let r = this.#registries.get(name);
    if (r === undefined) {
      r = new DistRegistry(this.#runtime, this.#kernel, this.#replicator, name, {
        ...options,
        supervised: (pid) => [...this.#supervisors.values()].some((s) => s.supervises(pid)),
      });
      this.#registries.set(name, r);
    }
    return r;
  }

  /**
   * This node's member of the distributed supervisor `name`, started on
   * first use (the options count then).
   *
   * @param name the supervisor's name, the same on every member
   * @param options strategy, members, quorum mode, restart limits
   * @throws {TypeError} for a bad name or option (a member list naming unknown nodes), or once the node stops
   */
  supervisor(name: string, options?: DistSupervisorOptions): DistSupervisor {
    this.#alive("start supervisor");
    let s = this.#supervisors.get(name);
    if (s === undefined) {
      s = new DistSupervisor(
        this.#runtime,
        this.#kernel,
        this.#replicator,
        this.#rpc,
        name,
        options,
      );
      this.#supervisors.set(name, s);
    }
    return s;
  }

  /** The names of the open registries and supervisors. */
  info(): { registries: string[]; supervisors: string[] } {
    return { registries: [...this.#registries.keys()], supervisors: [...this.#supervisors.keys()] };
  }

  /** Hands children over, closes registries; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all([...this.#supervisors.values()].map((s) => s.close()));
    await Promise.all([...this.#registries.values()].map((r) => r.close()));
    this.#runtime.context.remove(VIA_NAMES);
    this.#runtime.context.remove(DISTRIBUTED, this);
  }

  #alive(what: string): void {
    if (this.#stopped) throw new TypeError(`Cannot ${what}: the node is stopping`);
  }
}

/**
 * The distributed service of a node.
 *
 * @throws {ServiceNotRunningError} when the node does not run it
 */
export function distributedOf(runtime: Runtime): Distributed {
  return runtime.context.require(DISTRIBUTED);
}
