/**
 * The key of the rpc service in a node's context (`runtime.context`), in a
 * module of its own so that the `rpc` namespace functions (namespace.ts) and the
 * service (service.ts) both reach it without importing each other.
 *
 * @module
 */

import { ServiceKey } from "../process/node_context.ts";
import type { RpcService } from "./service.ts";

/** The rpc service of a node: its modules and policy, its calls and spawns. */
export const RPC_SERVICE: ServiceKey<RpcService> = new ServiceKey("rpc");
