/**
 * Lightweight processes with Erlang's semantics: a per-node
 * {@linkcode Runtime} holding the process table, mailboxes with selective
 * receive, links, monitors, exit signals and trapping, registered names
 * and timers; free functions (`self`, `receive`, `send`, `spawn`...) that
 * act for the running process; and the `Process` namespace.
 *
 * @example
 * ```ts
 * import { Runtime, receive, runInProcess, self, send, spawn } from "./mod.ts";
 * import type { Pid } from "../term/pid.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const pid = spawn(async () => {
 *     const m = await receive<{ from: Pid }>();
 *     send(m.from, "pong");
 *   });
 *   send(pid, { from: self() });
 *   console.assert((await receive()) === "pong");
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

export { Runtime } from "./runtime.ts";
export { NodeContext, ServiceKey } from "./node_context.ts";
export type { RuntimeOptions } from "./runtime.ts";
export {
  cancelTimer,
  current,
  demonitor,
  exit,
  flush,
  link,
  makeRef,
  monitor,
  receive,
  register,
  runInProcess,
  self,
  send,
  sendAfter,
  setDefaultContext,
  spawn,
  spawnLink,
  spawnMonitor,
  trapExit,
  unlink,
  unregister,
  whereis,
} from "./current.ts";
export { Process } from "./process_namespace.ts";
export type { ProcessNamespace } from "./process_namespace.ts";
export type { Trace, TraceEnd, TraceEvent, TraceOptions } from "./trace.ts";
export type {
  DemonitorOptions,
  Dest,
  DownMessage,
  ExitMessage,
  MailboxLimitReason,
  NameResolver,
  OpenOptions,
  ProcessContext,
  ProcessFn,
  ProcessInfo,
  ReceiveOptions,
  RemoteName,
  Signal,
  SignalRouter,
  SpawnOptions,
  StandardReason,
  ViaDest,
} from "./types.ts";
export { isViaDest } from "./types.ts";
