/**
 * The OTP behaviours, as Elixir has them: {@linkcode GenServer} (a class
 * to extend), {@linkcode Supervisor}, {@linkcode DynamicSupervisor},
 * {@linkcode Registry}, {@linkcode Task} and {@linkcode TaskSupervisor}
 * (also `Task.Supervisor`). The guide is `docs/otp.md`.
 *
 * @example
 * ```ts
 * import { GenServer, Supervisor, type CallResult, type From } from "./mod.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * class Counter extends GenServer<number> {
 *   override init(n: number) {
 *     return { ok: n };
 *   }
 *   override handleCall(req: "next", _from: From, n: number): CallResult<number> {
 *     return { reply: n, state: n + 1 };
 *   }
 * }
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const sup = await Supervisor.start([
 *     GenServer.childSpec(Counter, 0, { name: "counter" }),
 *   ]);
 *   await GenServer.call("counter", "next");
 *   console.assert((await GenServer.call("counter", "next")) === 1);
 *   await Supervisor.stop(sup);
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

export { GenServer } from "./gen_server.ts";
export type {
  Awaitable,
  CallOptions,
  CallReply,
  CallRequest,
  CallResult,
  CastResult,
  ContinueOptions,
  ContinueResult,
  From,
  GenServerChildOptions,
  InfoResult,
  InitArgs,
  InitResult,
  NoReplyResult,
  ServerClass,
  ServerPid,
  StartOptions,
  StopOptions,
} from "./gen_server.ts";
export { Supervisor } from "./supervisor.ts";
export type {
  ChildCounts,
  ChildInfo,
  Strategy,
  SupervisorCallOptions,
  SupervisorNamespace,
  SupervisorOptions,
} from "./supervisor.ts";
export { DynamicSupervisor } from "./dynamic_supervisor.ts";
export type {
  DynamicChildSpec,
  DynamicSupervisorNamespace,
  DynamicSupervisorOptions,
} from "./dynamic_supervisor.ts";
export type { ChildSpec, ChildType, RestartType, Shutdown, StartFunction } from "./child_spec.ts";
export { Registry } from "./registry.ts";
export type {
  RegisterResult,
  RegistryEntry,
  RegistryKeys,
  RegistryNamespace,
  RegistryOptions,
} from "./registry.ts";
export { Task } from "./task.ts";
export type { TaskNamespace, TaskOutcome, TaskReply } from "./task.ts";
export { TaskSupervisor } from "./task_supervisor.ts";
export type {
  TaskChildOptions,
  TaskOptions,
  TaskSupervisorNamespace,
  TaskSupervisorOptions,
} from "./task_supervisor.ts";
export type { GlobalName, NameRegistry, ServerName, ServerRef, ViaName } from "./name.ts";
export { AlreadyStartedError, ExitError, StartError, SupervisorError } from "./errors.ts";
export type { SupervisorErrorCode } from "./errors.ts";
