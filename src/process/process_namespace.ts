/**
 * The `Process` namespace, as Elixir's `Process` module: operations on
 * processes of the node the running process (or the REPL shell) lives on.
 *
 * It is built from the free functions of `current.ts` (`PROCESS_FUNCTIONS`),
 * the one definition of the process API, plus the questions about processes
 * that have no free function (`registered`, `info`, `list`, `alive`): the
 * two cannot drift apart, and `Process.spawn === spawn`.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess } from "./current.ts";
 * import { Process } from "./process_namespace.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   const pid = Process.spawn(async (ctx) => void (await ctx.receive()));
 *   Process.register("worker", pid);
 *   console.assert(Process.alive(Process.whereis("worker")!));
 *   Process.exit(pid, "kill");
 *   console.assert(!Process.alive(pid));
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import type { Pid } from "../term/pid.ts";
import { current, PROCESS_FUNCTIONS } from "./current.ts";
import type { ProcessInfo } from "./types.ts";

/** Every name registered on the running process's node. */
function registered(): string[] {
  return current().runtime.registered();
}

/** What a local process is doing; `undefined` when it is not alive. */
function info(pid: Pid): ProcessInfo | undefined {
  return current().runtime.info(pid);
}

/** Every live process of the running process's node. */
function list(): Pid[] {
  return current().runtime.list();
}

/** Whether a process of the running process's node is alive. */
function alive(pid: Pid): boolean {
  return current().runtime.isAlive(pid);
}

/**
 * Operations on processes, acting for the running process (or the default
 * context set with `setDefaultContext`) on its node: every free process
 * function (`Process.send` is `send`, `Process.register` is `register`...),
 * and `registered()`, `info(pid)`, `list()`, `alive(pid)` (also `isAlive`).
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess, spawn } from "./current.ts";
 * import { Process } from "./process_namespace.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   const info = Process.info(Process.self())!;
 *   console.assert(info.status === "running");
 *   console.assert(Process.list().length === 1);
 *   console.assert(Process.spawn === spawn);
 * });
 * await rt.shutdown();
 * ```
 */
export const Process = Object.freeze({
  ...PROCESS_FUNCTIONS,
  registered,
  info,
  list,
  alive,
  isAlive: alive,
});

/** The shape of {@linkcode Process}: derived from it, so it cannot differ. */
export type ProcessNamespace = typeof Process;
