/**
 * What `Task` and `Task.Supervisor` share: the task handle, the reply
 * message, and the bodies of task processes.
 *
 * ```
 * owner: pid = spawn task (linked for async), ref = monitor(pid)
 * task:  result = await fn()  ->  send(owner, {type: "TASK_REPLY", ref, result}); exit normal
 * owner: Task.await: the reply -> demonitor(ref, flush) -> result
 *                    DOWN ref  -> ExitError(reason)
 * ```
 *
 * A supervised task is started by its supervisor, so its ref can only be
 * made once the owner has its pid: it waits for `{type: "$task_go", ref}`
 * from the owner (and gives up should the owner die first).
 *
 * @module
 */

import type { DownMessage, ProcessContext } from "../process/types.ts";
import { Pid, Ref } from "../term/pid.ts";

declare const resultType: unique symbol;

/**
 * A running task, as Elixir's `%Task{}`: its process, the monitor that
 * tags its reply, and the process that owns it (the only one that may
 * await it).
 */
export interface Task<T = unknown> {
  /** The task process. */
  readonly pid: Pid;
  /** The owner's monitor of the task; also tags the reply. */
  readonly ref: Ref;
  /** The process that started it and gets its reply. */
  readonly owner: Pid;
  /** Type of the result (never set; carries `T`). */
  readonly [resultType]?: T;
}

/**
 * The message a task sends its owner with its result. A server that
 * starts tasks with `Task.Supervisor.asyncNolink` gets it in `handleInfo`,
 * as Elixir's `{ref, result}`, followed by no `DOWN` once it demonitors.
 */
export interface TaskReply<T = unknown> {
  /** Always `"TASK_REPLY"`. */
  type: "TASK_REPLY";
  /** The task's ref. */
  ref: Ref;
  /** What the task's function returned. */
  result: T;
}

/** What `Task.yield` and `Task.shutdown` found: a result, or the task's exit reason. */
export type TaskOutcome<T> = { ok: T } | { exit: unknown };

/** Owner -> supervised task: start, and tag the reply with `ref`. */
interface GoMessage {
  type: "$task_go";
  ref: Ref;
}

/** Whether `msg` is the reply of the task `ref`. */
export function isTaskReply(msg: unknown, ref: Ref): msg is TaskReply {
  const m = msg as TaskReply;
  return typeof msg === "object" && msg !== null && m.type === "TASK_REPLY" && ref.equals(m.ref);
}

/** Whether `msg` is the reply or the `DOWN` of the task `ref`. */
export function isTaskEnd(msg: unknown, ref: Ref): msg is TaskReply | DownMessage {
  const m = msg as { type?: unknown; ref?: unknown };
  return typeof msg === "object" && msg !== null &&
    (m.type === "TASK_REPLY" || m.type === "DOWN") && ref.equals(m.ref);
}

/** Checks a task handle. */
export function checkTask(task: unknown, what: string): asserts task is Task {
  const t = task as Task;
  if (
    typeof task !== "object" || task === null || !(t.pid instanceof Pid) ||
    !(t.ref instanceof Ref) || !(t.owner instanceof Pid)
  ) {
    throw new TypeError(`Cannot ${what}: expected a task`);
  }
}

/** Checks that `ctx` owns `task`, as Elixir does. */
export function checkOwner(ctx: ProcessContext, task: Task, what: string): void {
  if (!ctx.self.equals(task.owner)) {
    throw new TypeError(
      `Cannot ${what}: task ${task.pid} is owned by ${task.owner}, not by the calling process ${ctx.self}`,
    );
  }
}

/** Runs `fn` and sends its result to `owner`, tagged with `ref`. */
export async function runTask(
  ctx: ProcessContext,
  owner: Pid,
  ref: Ref,
  fn: () => unknown,
): Promise<void> {
  const result = await fn();
  ctx.send(owner, { type: "TASK_REPLY", ref, result } satisfies TaskReply);
}

/** The body of a supervised task: waits for its ref from the owner, then runs. */
export async function runSupervisedTask(
  ctx: ProcessContext,
  owner: Pid,
  fn: () => unknown,
): Promise<void> {
  const ownerRef = ctx.monitor(owner);
  const msg = await ctx.receive<GoMessage | DownMessage>((m) => {
    const g = m as { type?: unknown; ref?: unknown };
    return typeof m === "object" && m !== null &&
      (g.type === "$task_go" || (g.type === "DOWN" && ownerRef.equals(g.ref)));
  });
  if (msg.type === "DOWN") return; // the owner is gone: nobody wants the result
  ctx.demonitor(ownerRef, { flush: true });
  await runTask(ctx, owner, msg.ref, fn);
}

/** Tells a supervised task its ref. */
export function sendGo(ctx: ProcessContext, pid: Pid, ref: Ref): void {
  ctx.send(pid, { type: "$task_go", ref } satisfies GoMessage);
}
