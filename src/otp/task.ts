/**
 * Task: run one function in its own process and collect its result, as
 * Elixir's `Task`. `Task.async` links the task to the caller (if either
 * crashes, both go, unless the caller traps exits) and monitors it;
 * `Task.await` waits for the result; `Task.yield` looks without giving up
 * on the task; `Task.shutdown` stops it. `Task.Supervisor` runs tasks under
 * a supervisor, `asyncNolink` without the link.
 *
 * Only the process that started a task (its owner) may await it: the
 * result is a message in the owner's mailbox, `{ type: "TASK_REPLY", ref,
 * result }`, found by its ref.
 *
 * @example
 * ```ts
 * import { Task } from "./task.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const tasks = [1, 2, 3].map((n) => Task.async(async () => n * 10));
 *   console.assert((await Task.awaitMany(tasks)).join() === "10,20,30");
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import { current } from "../process/current.ts";
import type { DownMessage } from "../process/types.ts";
import type { Pid, Ref } from "../term/pid.ts";
import { takeNow } from "./_supervision.ts";
import {
  checkOwner,
  checkTask,
  isTaskEnd,
  isTaskReply,
  runTask,
  type Task as TaskHandle,
  type TaskOutcome,
  type TaskReply,
} from "./_task.ts";
import { ExitError } from "./errors.ts";
import { checkTimeout } from "./_caller.ts";
import { TaskSupervisor, type TaskSupervisorNamespace } from "./task_supervisor.ts";

export type { TaskOutcome, TaskReply } from "./_task.ts";

/**
 * A running task, as Elixir's `%Task{}`: its process (`pid`), the monitor
 * that tags its reply (`ref`), and the process that owns it (`owner`, the
 * only one that may await it). `T` is the type of its result.
 */
export type Task<T = unknown> = TaskHandle<T>;

function checkFn(fn: unknown, what: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot ${what}: expected a function, received ${typeof fn}`);
  }
}

function exitError(task: Task, reason: unknown, what: string): ExitError {
  const why = reason === "noproc"
    ? "no process"
    : reason === "noconnection"
    ? "its node is not connected"
    : `it exited: ${
      reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)
    }`;
  return new ExitError(
    reason,
    `Cannot ${what} task ${task.pid}: ${why}`,
    reason instanceof Error ? { cause: reason } : undefined,
  );
}

function asyncTask<T>(fn: () => T | Promise<T>): Task<T> {
  checkFn(fn, "start task");
  const ctx = current();
  const owner = ctx.self;
  // The body runs after spawnLink returns, by when the monitor's ref is set.
  const tag: { ref?: Ref } = {};
  const pid = ctx.spawnLink((tctx) => runTask(tctx, owner, tag.ref!, fn), { label: "Task.async" });
  const ref = tag.ref = ctx.monitor(pid);
  return Object.freeze({ pid, ref, owner }) as Task<T>;
}

async function awaitTask<T>(task: Task<T>, timeout = 5000): Promise<T> {
  checkTask(task, "await task");
  checkTimeout(timeout, "await task");
  const ctx = current();
  checkOwner(ctx, task, "await task");
  let msg: TaskReply | DownMessage;
  try {
    msg = await ctx.receive<TaskReply | DownMessage>((m) => isTaskEnd(m, task.ref), { timeout });
  } catch (err) {
    if (err instanceof TimeoutError) {
      throw new TimeoutError(`Cannot await task ${task.pid}: no result within ${timeout} ms`);
    }
    throw err;
  }
  if (msg.type === "DOWN") throw exitError(task, msg.reason, "await");
  ctx.demonitor(task.ref, { flush: true });
  return msg.result as T;
}

async function yieldTask<T>(task: Task<T>, timeout = 5000): Promise<TaskOutcome<T> | undefined> {
  checkTask(task, "yield task");
  checkTimeout(timeout, "yield task");
  const ctx = current();
  checkOwner(ctx, task, "yield task");
  let msg: TaskReply | DownMessage;
  try {
    msg = await ctx.receive<TaskReply | DownMessage>((m) => isTaskEnd(m, task.ref), { timeout });
  } catch (err) {
    if (err instanceof TimeoutError) return undefined;
    throw err;
  }
  if (msg.type === "DOWN") return { exit: msg.reason };
  ctx.demonitor(task.ref, { flush: true });
  return { ok: msg.result as T };
}

async function shutdownTask<T>(
  task: Task<T>,
  shutdown: number | "brutal_kill" = 5000,
): Promise<TaskOutcome<T> | undefined> {
  checkTask(task, "shut down task");
  if (shutdown !== "brutal_kill") checkTimeout(shutdown, "shut down task");
  const ctx = current();
  checkOwner(ctx, task, "shut down task");
  const { pid, ref } = task;
  ctx.unlink(pid);
  const done = (msg: TaskReply | DownMessage): TaskOutcome<T> | undefined => {
    if (msg.type === "TASK_REPLY") {
      ctx.demonitor(ref, { flush: true });
      return { ok: msg.result as T };
    }
    return msg.reason === "shutdown" || msg.reason === "killed" ? undefined : { exit: msg.reason };
  };
  const early = await takeNow<TaskReply>(ctx, (m) => isTaskReply(m, ref));
  if (early !== undefined) return done(early);
  const end = (m: unknown) => isTaskEnd(m, ref);
  ctx.runtime.exit(pid, shutdown === "brutal_kill" ? "kill" : "shutdown", ctx.self);
  try {
    const timeout = shutdown === "brutal_kill" ? Infinity : shutdown;
    return done(await ctx.receive<TaskReply | DownMessage>(end, { timeout }));
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    ctx.runtime.exit(pid, "kill", ctx.self);
    return done(await ctx.receive<TaskReply | DownMessage>(end));
  }
}

async function awaitMany<T>(tasks: Task<T>[], timeout = 5000): Promise<T[]> {
  if (!Array.isArray(tasks)) throw new TypeError("Cannot await tasks: expected an array of tasks");
  for (const task of tasks) checkTask(task, "await tasks");
  checkTimeout(timeout, "await tasks");
  const ctx = current();
  for (const task of tasks) checkOwner(ctx, task, "await tasks");
  const results = new Array<T>(tasks.length);
  const pending = new Map<string, number>(tasks.map((t, i) => [t.ref.key, i]));
  const deadline = performance.now() + timeout;
  while (pending.size > 0) {
    const left = timeout === Infinity ? Infinity : Math.max(0, deadline - performance.now());
    let msg: TaskReply | DownMessage;
    try {
      msg = await ctx.receive<TaskReply | DownMessage>((m) => {
        const r = (m as { ref?: unknown })?.ref as Ref | undefined;
        return r !== undefined && typeof r === "object" && pending.has((r as Ref).key) &&
          isTaskEnd(m, r);
      }, { timeout: left });
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new TimeoutError(
          `Cannot await tasks: ${pending.size} of ${tasks.length} had no result within ${timeout} ms`,
        );
      }
      throw err;
    }
    const index = pending.get(msg.ref.key)!;
    const task = tasks[index]!;
    if (msg.type === "DOWN") throw exitError(task, msg.reason, "await");
    pending.delete(msg.ref.key);
    ctx.demonitor(task.ref, { flush: true });
    results[index] = msg.result as T;
  }
  return results;
}

async function yieldMany<T>(
  tasks: Task<T>[],
  timeout = 5000,
): Promise<(TaskOutcome<T> | undefined)[]> {
  if (!Array.isArray(tasks)) throw new TypeError("Cannot yield tasks: expected an array of tasks");
  for (const task of tasks) checkTask(task, "yield tasks");
  checkTimeout(timeout, "yield tasks");
  const ctx = current();
  for (const task of tasks) checkOwner(ctx, task, "yield tasks");
  const out = new Array<TaskOutcome<T> | undefined>(tasks.length).fill(undefined);
  const deadline = performance.now() + timeout;
  for (let i = 0; i < tasks.length; i++) {
    const left = timeout === Infinity ? Infinity : Math.max(0, deadline - performance.now());
    out[i] = await yieldTask(tasks[i]!, left);
  }
  return out;
}

/** The shape of {@linkcode Task}. */
export interface TaskNamespace {
  /**
   * Runs `fn` in a new process linked to and monitored by the caller.
   * @returns the task, to await
   */
  async<T>(fn: () => T | Promise<T>): Task<T>;
  /**
   * Waits for the task's result.
   * @param timeout ms, default 5000
   * @throws {TimeoutError} when it has none in time (the task runs on)
   * @throws {ExitError} when the task exited without a result (its reason)
   * @throws {TypeError} when the caller is not the task's owner
   */
  await<T>(task: Task<T>, timeout?: number): Promise<T>;
  /** Waits for every task's result, in order; throws as `await` for the first that fails. */
  awaitMany<T>(tasks: Task<T>[], timeout?: number): Promise<T[]>;
  /**
   * Waits up to `timeout` ms: `{ ok: result }`, `{ exit: reason }`, or
   * `undefined` if the task is still running (it runs on).
   */
  yield<T>(task: Task<T>, timeout?: number): Promise<TaskOutcome<T> | undefined>;
  /** `yield` for each task, sharing one deadline. */
  yieldMany<T>(tasks: Task<T>[], timeout?: number): Promise<(TaskOutcome<T> | undefined)[]>;
  /**
   * Stops the task (exit `"shutdown"`, killed after `shutdown` ms; or
   * `"brutal_kill"`). Returns its result if it finished first,
   * `{ exit: reason }` if it had crashed, else `undefined`.
   */
  shutdown<T>(
    task: Task<T>,
    shutdown?: number | "brutal_kill",
  ): Promise<TaskOutcome<T> | undefined>;
  /** Runs `fn` in a new process nobody awaits. */
  start(fn: () => unknown): Pid;
  /** Runs `fn` in a new process linked to the caller that nobody awaits. */
  startLink(fn: () => unknown): Pid;
  /** Elixir's `Task.Supervisor`. */
  Supervisor: TaskSupervisorNamespace;
}

/**
 * Elixir's `Task`.
 *
 * @example
 * ```ts
 * import { Task } from "./task.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const slow = Task.async(() => new Promise((r) => setTimeout(() => r("done"), 50)));
 *   console.assert((await Task.yield(slow, 0)) === undefined); // still running
 *   console.assert((await Task.await(slow)) === "done");
 * });
 * await rt.shutdown();
 * ```
 */
export const Task: TaskNamespace = Object.freeze({
  async: asyncTask,
  await: awaitTask,
  awaitMany,
  yield: yieldTask,
  yieldMany,
  shutdown: shutdownTask,
  start(fn: () => unknown): Pid {
    checkFn(fn, "start task");
    return current().spawn(async () => void (await fn()), { label: "Task" });
  },
  startLink(fn: () => unknown): Pid {
    checkFn(fn, "start task");
    return current().spawnLink(async () => void (await fn()), { label: "Task" });
  },
  Supervisor: TaskSupervisor,
});
