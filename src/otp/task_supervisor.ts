/**
 * Task.Supervisor: a dynamic supervisor for tasks, as Elixir's
 * `Task.Supervisor`. Its tasks are temporary children: supervised for
 * shutdown, never restarted. `asyncNolink` is the one to use from a
 * server that must not die with a task: the server monitors the task and
 * gets the reply (`{ type: "TASK_REPLY", ref, result }`) or a `DOWN` in
 * `handleInfo`, or awaits it.
 *
 * Tasks run functions, which cannot be sent to another node, so a task
 * supervisor on another node is refused here; remote tasks belong with rpc.
 *
 * @example
 * ```ts
 * import { TaskSupervisor } from "./task_supervisor.ts";
 * import { Task } from "./task.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const sup = await TaskSupervisor.start({ name: "tasks" });
 *   const task = await TaskSupervisor.asyncNolink("tasks", () => 6 * 7);
 *   console.assert((await Task.await(task)) === 42);
 *   await TaskSupervisor.stop(sup);
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { current, spawnLink } from "../process/current.ts";
import type { ProcessContext } from "../process/types.ts";
import { Pid } from "../term/pid.ts";
import { runSupervisedTask, sendGo, type Task } from "./_task.ts";
import type { ChildCounts, SupervisorCallOptions } from "./_supervision.ts";
import type { ChildSpec, RestartType, Shutdown } from "./child_spec.ts";
import { DynamicSupervisor, type DynamicSupervisorOptions } from "./dynamic_supervisor.ts";
import type { ServerRef } from "./gen_server.ts";
import { isRemoteName } from "../process/types.ts";
import { describeServer } from "./name.ts";

/** Options of `TaskSupervisor.start`. */
export type TaskSupervisorOptions = DynamicSupervisorOptions;

/** Options of `asyncNolink`, `async` and `startChild`. */
export interface TaskOptions {
  /** How the supervisor stops the task. Default 5000 ms. */
  shutdown?: Shutdown;
}

/** Options of `startChild`. */
export interface TaskChildOptions extends TaskOptions {
  /** Default `"temporary"`; `"transient"` or `"permanent"` restart the function. */
  restart?: RestartType;
}

function checkLocal(ctx: ProcessContext, sup: ServerRef, what: string): void {
  const node = sup instanceof Pid ? sup.node : isRemoteName(sup) ? sup.node : ctx.runtime.node;
  if (node !== ctx.runtime.node) {
    throw new TypeError(
      `Cannot ${what} under ${describeServer(sup)}: a function cannot be sent to another node ` +
        `(remote tasks go through rpc)`,
    );
  }
}

function checkFn(fn: unknown, what: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot ${what}: expected a function, received ${typeof fn}`);
  }
}

async function startTask<T>(
  sup: ServerRef,
  fn: () => T | Promise<T>,
  options: TaskOptions | undefined,
  link: boolean,
  what: string,
): Promise<Task<T>> {
  checkFn(fn, what);
  const ctx = current();
  checkLocal(ctx, sup, what);
  const owner = ctx.self;
  const pid = await DynamicSupervisor.startChild(sup, {
    start: () =>
      spawnLink((tctx) => runSupervisedTask(tctx, owner, fn), { label: "Task.Supervisor" }),
    restart: "temporary",
    shutdown: options?.shutdown ?? 5000,
  });
  if (link) ctx.link(pid);
  const ref = ctx.monitor(pid);
  sendGo(ctx, pid, ref);
  return Object.freeze({ pid, ref, owner }) as Task<T>;
}

/** The shape of {@linkcode TaskSupervisor}. */
export interface TaskSupervisorNamespace {
  /** Starts a task supervisor. */
  start(options?: TaskSupervisorOptions): Promise<Pid>;
  /** Starts one linked to the calling process. */
  startLink(options?: Omit<TaskSupervisorOptions, "link">): Promise<Pid>;
  /** A child spec that starts a task supervisor under another supervisor. */
  childSpec(
    options: Omit<TaskSupervisorOptions, "link" | "runtime"> & {
      id: string;
      restart?: ChildSpec["restart"];
      shutdown?: ChildSpec["shutdown"];
    },
  ): ChildSpec;
  /**
   * Runs `fn` in a task under the supervisor, monitored but not linked by
   * the caller: the caller survives the task's crash and sees it as a
   * `DOWN` (or an `ExitError` from `Task.await`).
   */
  asyncNolink<T>(sup: ServerRef, fn: () => T | Promise<T>, options?: TaskOptions): Promise<Task<T>>;
  /** Runs `fn` in a task under the supervisor, linked to the caller as well (as `Task.async`). */
  async<T>(sup: ServerRef, fn: () => T | Promise<T>, options?: TaskOptions): Promise<Task<T>>;
  /** Runs `fn` under the supervisor with no one awaiting it; returns its pid. */
  startChild(sup: ServerRef, fn: () => unknown, options?: TaskChildOptions): Promise<Pid>;
  /** The pids of the running tasks. */
  children(sup: ServerRef, options?: SupervisorCallOptions): Promise<Pid[]>;
  /** Stops one task. */
  terminateChild(sup: ServerRef, pid: Pid, options?: SupervisorCallOptions): Promise<void>;
  /** How many tasks. */
  countChildren(sup: ServerRef, options?: SupervisorCallOptions): Promise<ChildCounts>;
  /** Stops the supervisor and its tasks. */
  stop(sup: ServerRef, reason?: unknown, options?: SupervisorCallOptions): Promise<void>;
}

/**
 * Elixir's `Task.Supervisor`; also reachable as `Task.Supervisor`.
 *
 * @example
 * ```ts
 * import { TaskSupervisor } from "./task_supervisor.ts";
 * import { Task } from "./task.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const sup = await TaskSupervisor.start();
 *   const task = await TaskSupervisor.asyncNolink(sup, () => {
 *     throw new Error("boom");
 *   });
 *   const outcome = await Task.yield(task, 1000);
 *   console.assert(outcome !== undefined && "exit" in outcome); // the caller lives on
 *   await TaskSupervisor.stop(sup);
 * });
 * await rt.shutdown();
 * ```
 */
export const TaskSupervisor: TaskSupervisorNamespace = Object.freeze({
  start: (options: TaskSupervisorOptions = {}) => DynamicSupervisor.start(options),
  startLink: (options: Omit<TaskSupervisorOptions, "link"> = {}) =>
    DynamicSupervisor.startLink(options),
  childSpec: (
    options: Omit<TaskSupervisorOptions, "link" | "runtime"> & {
      id: string;
      restart?: ChildSpec["restart"];
      shutdown?: ChildSpec["shutdown"];
    },
  ) => DynamicSupervisor.childSpec(options),
  asyncNolink: <T>(sup: ServerRef, fn: () => T | Promise<T>, options?: TaskOptions) =>
    startTask(sup, fn, options, false, "start task"),
  async: <T>(sup: ServerRef, fn: () => T | Promise<T>, options?: TaskOptions) =>
    startTask(sup, fn, options, true, "start task"),
  async startChild(sup: ServerRef, fn: () => unknown, options?: TaskChildOptions): Promise<Pid> {
    checkFn(fn, "start task");
    checkLocal(current(), sup, "start task");
    return await DynamicSupervisor.startChild(sup, {
      start: () => spawnLink(async () => void (await fn()), { label: "Task.Supervisor" }),
      restart: options?.restart ?? "temporary",
      shutdown: options?.shutdown ?? 5000,
    });
  },
  async children(sup: ServerRef, options?: SupervisorCallOptions): Promise<Pid[]> {
    const children = await DynamicSupervisor.whichChildren(sup, options);
    return children.flatMap((c) => (c.pid instanceof Pid ? [c.pid] : []));
  },
  terminateChild: (sup: ServerRef, pid: Pid, options?: SupervisorCallOptions) =>
    DynamicSupervisor.terminateChild(sup, pid, options),
  countChildren: (sup: ServerRef, options?: SupervisorCallOptions) =>
    DynamicSupervisor.countChildren(sup, options),
  stop: (sup: ServerRef, reason: unknown = "normal", options?: SupervisorCallOptions) =>
    DynamicSupervisor.stop(sup, reason, options),
});
