/**
 * Remote procedure calls and remote spawn, the Erlang way: a node exposes
 * modules (`registerModule`, `--load file.ts`, and the built-in `node`
 * module), other nodes call their functions by name (`rpc.call(node,
 * "math", "add", [1, 2])`) or send a self-contained function to run
 * there (`rpc.call(node, () => Deno.hostname())`), and start processes
 * there (`rpc.spawn`, `rpc.spawnLink`, `rpc.spawnMonitor`) whose console
 * output comes back to the node that started them.
 *
 * Failures are typed: `RemoteError` (the function threw; `cause` is what
 * it threw), `NoConnectionError` (the node is unreachable or was lost
 * during the call: known at once, not at the deadline), `TimeoutError`,
 * `UndefinedFunctionError`, `PolicyError` (`--rpc-allow`,
 * `--no-remote-eval`), and `CaptureError` at the caller for a function
 * that uses variables of the code around it.
 *
 * @example
 * ```ts
 * import { rpc } from "./mod.ts";
 * import { startNode } from "../node.ts";
 * import { runInProcess } from "../process/current.ts";
 * const a = await startNode({ name: "a@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * const b = await startNode({ name: "b@127.0.0.1", cookie: "c", noEpmd: true, hostname: "127.0.0.1" });
 * b.rpc.registerModule("math", { add: (x: number, y: number) => x + y });
 * await runInProcess(a.runtime.open(), async () => {
 *   console.assert((await rpc.call(`b@127.0.0.1:${b.port}`, "math", "add", [1, 2])) === 3);
 * });
 * await a.stop();
 * await b.stop();
 * ```
 *
 * @module
 */

export { rpc } from "./namespace.ts";
export type { RpcNamespace, RpcNodeOptions, RpcSpawn } from "./namespace.ts";
export { RpcService, startRpc } from "./service.ts";
export type { MulticallOutcome, MulticallResult, RpcCallOptions, RpcOptions } from "./service.ts";
export { checkAllowPattern, RpcPolicy } from "./policy.ts";
export type { RpcPolicyOptions } from "./policy.ts";
export { loadModule, ModuleRegistry } from "./module_registry.ts";
export type { LoadedModule, LookupResult } from "./module_registry.ts";
export type { NodeModule } from "./builtin_modules.ts";
export { capturedNames, functionSource, PRELUDE_NAMES } from "./remote_fn.ts";
export { groupLeader } from "./group_leader.ts";
export { checkCircuitOptions, CircuitBreaker } from "./circuit_breaker.ts";
export type { CircuitBreakerOptions, CircuitInfo, CircuitState } from "./circuit_breaker.ts";
export type { LineWriter } from "./group_leader.ts";
export type { ConsoleLevel } from "./types.ts";
