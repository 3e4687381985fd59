/**
 * The `Process` namespace, as Elixir's `Process` module: operations on
 * processes of the node the running process (or the REPL shell) lives on.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess } from "./current.ts";
 * import { Process } from "./process_namespace.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   const pid = Process.spawn(async (ctx) => void (await ctx.receive()));
 *   Process.register(pid, "worker");
 *   console.assert(Process.alive(Process.whereis("worker")!));
 *   Process.exit(pid, "kill");
 *   console.assert(!Process.alive(pid));
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import type { Pid, Ref } from "../term/pid.ts";
import { current, register as registerName } from "./current.ts";
import type {
  DemonitorOptions,
  Dest,
  ProcessFn,
  ProcessInfo,
  RemoteName,
  SpawnOptions,
} from "./types.ts";

/** The shape of {@linkcode Process}. */
export interface ProcessNamespace {
  /** The running process's pid. */
  self(): Pid;
  /** Sends `msg` to `dest`. */
  send(dest: Dest, msg: unknown): void;
  /** Spawns a process. */
  spawn(fn: ProcessFn, options?: SpawnOptions): Pid;
  /** Spawns a process linked to the running one. */
  spawnLink(fn: ProcessFn, options?: SpawnOptions): Pid;
  /** Spawns a process monitored by the running one. */
  spawnMonitor(fn: ProcessFn, options?: SpawnOptions): [Pid, Ref];
  /** Links the running process to `pid`. */
  link(pid: Pid): void;
  /** Removes the link to `pid`. */
  unlink(pid: Pid): void;
  /** Monitors a pid or a name from the running process. */
  monitor(target: Pid | RemoteName | string): Ref;
  /** Removes a monitor; `true` when it was active. */
  demonitor(ref: Ref, options?: DemonitorOptions): boolean;
  /** Sends `pid` an exit signal from the running process (Erlang's `exit/2`). */
  exit(pid: Pid, reason: unknown): void;
  /** Turns exit trapping of the running process on or off; returns the previous setting. */
  trapExit(flag: boolean): boolean;
  /** Registers `pid` under `name` (either order). */
  register(pid: Pid | string, name: string | Pid): void;
  /** Removes a registered name. */
  unregister(name: string): void;
  /** The pid registered under `name`. */
  whereis(name: string): Pid | undefined;
  /** Every registered name. */
  registered(): string[];
  /** What a local process is doing; `undefined` when it is not alive. */
  info(pid: Pid): ProcessInfo | undefined;
  /** Every live process. */
  list(): Pid[];
  /** Sends `msg` to `dest` after `ms` milliseconds. */
  sendAfter(dest: Dest, msg: unknown, ms: number): Ref;
  /** Cancels a timer; the milliseconds it had left, or `false`. */
  cancelTimer(ref: Ref): number | false;
  /** Whether a local process is alive. */
  alive(pid: Pid): boolean;
  /** Whether a local process is alive (the same as `alive`). */
  isAlive(pid: Pid): boolean;
  /** Removes and returns every message in the running process's mailbox. */
  flush(): unknown[];
}

/**
 * Operations on processes, acting for the running process (or the default
 * context set with `setDefaultContext`) on its node.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess } from "./current.ts";
 * import { Process } from "./process_namespace.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   const info = Process.info(Process.self())!;
 *   console.assert(info.status === "running");
 *   console.assert(Process.list().length === 1);
 * });
 * await rt.shutdown();
 * ```
 */
export const Process: ProcessNamespace = Object.freeze({
  self: () => current().self,
  send: (dest: Dest, msg: unknown) => current().send(dest, msg),
  spawn: (fn: ProcessFn, options?: SpawnOptions) => current().spawn(fn, options),
  spawnLink: (fn: ProcessFn, options?: SpawnOptions) => current().spawnLink(fn, options),
  spawnMonitor: (fn: ProcessFn, options?: SpawnOptions) => current().spawnMonitor(fn, options),
  link: (pid: Pid) => current().link(pid),
  unlink: (pid: Pid) => current().unlink(pid),
  monitor: (target: Pid | RemoteName | string) => current().monitor(target),
  demonitor: (ref: Ref, options?: DemonitorOptions) => current().demonitor(ref, options),
  exit: (pid: Pid, reason: unknown) => {
    const ctx = current();
    ctx.runtime.exit(pid, reason, ctx.self);
  },
  trapExit: (flag: boolean) => current().trapExit(flag),
  register: (pid: Pid | string, name: string | Pid) => registerName(pid, name),
  unregister: (name: string) => current().runtime.unregister(name),
  whereis: (name: string) => current().runtime.whereis(name),
  registered: () => current().runtime.registered(),
  info: (pid: Pid) => current().runtime.info(pid),
  list: () => current().runtime.list(),
  sendAfter: (dest: Dest, msg: unknown, ms: number) => current().runtime.sendAfter(dest, msg, ms),
  cancelTimer: (ref: Ref) => current().runtime.cancelTimer(ref),
  alive: (pid: Pid) => current().runtime.isAlive(pid),
  isAlive: (pid: Pid) => current().runtime.isAlive(pid),
  flush: () => current().flush(),
});
