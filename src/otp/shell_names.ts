/**
 * The OTP names iex knows, as one object: `GenServer`, `Supervisor`,
 * `DynamicSupervisor`, `Registry`, `Task`, `TaskSupervisor` and `Logger`.
 * The shell offers them at the prompt (repl/otp_scope.ts) and a function
 * sent by rpc or `Node.spawn` finds them on the node it runs on
 * (src/rpc/service.ts's prelude): one list, so the two never differ.
 *
 * @example
 * ```ts
 * import { OTP_SHELL_NAMES } from "./shell_names.ts";
 * console.assert(Object.keys(OTP_SHELL_NAMES).join() ===
 *   "GenServer,Supervisor,DynamicSupervisor,Registry,Task,TaskSupervisor,Logger");
 * ```
 *
 * @module
 */

import { Logger } from "../log.ts";
import { DynamicSupervisor } from "./dynamic_supervisor.ts";
import { GenServer } from "./gen_server.ts";
import { Registry } from "./registry.ts";
import { Supervisor } from "./supervisor.ts";
import { Task } from "./task.ts";
import { TaskSupervisor } from "./task_supervisor.ts";

/**
 * The OTP behaviours and `Logger`, by the names iex gives them, in the
 * order the rpc prelude lists them.
 *
 * @example
 * ```ts
 * import { OTP_SHELL_NAMES } from "./shell_names.ts";
 * console.assert(typeof OTP_SHELL_NAMES.GenServer.call === "function");
 * ```
 */
export const OTP_SHELL_NAMES = Object.freeze({
  GenServer,
  Supervisor,
  DynamicSupervisor,
  Registry,
  Task,
  TaskSupervisor,
  Logger,
});
