/**
 * Which rpc service runs for which node's runtime, so that the `rpc`
 * namespace functions can act for the node of the running process.
 *
 * @module
 */

import type { Runtime } from "../process/runtime.ts";
import type { RpcService } from "./service.ts";

const services = new WeakMap<Runtime, RpcService>();

/** The rpc service of `runtime`'s node, if one runs. */
export function serviceOf(runtime: Runtime): RpcService | undefined {
  return services.get(runtime);
}

/** Records (or with `undefined` forgets) the rpc service of `runtime`'s node. */
export function setService(runtime: Runtime, service: RpcService | undefined): void {
  if (service === undefined) services.delete(runtime);
  else services.set(runtime, service);
}
