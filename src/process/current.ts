/**
 * Erlang-style free functions that act for the process whose code is
 * running: `self()`, `receive()`, `send()`, `spawn()`... Every process body
 * runs inside an `AsyncLocalStorage` holding its context, so these work
 * across `await`s without passing `ctx` around. Outside any process they
 * use the context given to {@linkcode setDefaultContext} (the REPL shell),
 * or throw.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { receive, runInProcess, self, send, spawn } from "./current.ts";
 * import type { Pid } from "../term/pid.ts";
 *
 * const rt = new Runtime();
 * const shell = rt.open({ label: "shell" });
 * await runInProcess(shell, async () => {
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

import { describeType, ProcessExitError } from "../errors.ts";
import type { Pid, Ref } from "../term/pid.ts";
import { contextOrUndefined, processStorage, setFallbackContext } from "./_context.ts";
import type { Runtime } from "./runtime.ts";
import type {
  DemonitorOptions,
  Dest,
  ProcessContext,
  ProcessFn,
  ReceiveOptions,
  RemoteName,
  SpawnOptions,
} from "./types.ts";

/**
 * The context of the process whose code is running (or the default one).
 *
 * @returns the context
 * @throws {Error} when called outside any process with no default context
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { current, runInProcess } from "./current.ts";
 * const rt = new Runtime();
 * const ctx = rt.open();
 * runInProcess(ctx, () => console.assert(current() === ctx));
 * await rt.shutdown();
 * ```
 */
export function current(): ProcessContext {
  const ctx = contextOrUndefined();
  if (ctx === undefined) {
    throw new Error(
      "Not inside a Weft process: call this from a process body, inside runInProcess(), " +
        "or after setDefaultContext()",
    );
  }
  return ctx;
}

/**
 * The calling process's pid, for a service of one node that acts for "the
 * caller" when no pid is given: the caller must run on that node.
 *
 * @param runtime the service's node
 * @param what the operation, for the error (`"join"`)
 * @returns the current process's pid
 * @throws {TypeError} when the current process runs on another node
 * @throws {Error} when not inside a process
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { callerOn, runInProcess } from "./current.ts";
 * const rt = new Runtime();
 * const ctx = rt.open();
 * runInProcess(ctx, () => console.assert(callerOn(rt, "join") === ctx.self));
 * await rt.shutdown();
 * ```
 */
export function callerOn(runtime: Runtime, what: string): Pid {
  const ctx = current();
  if (ctx.runtime !== runtime) {
    throw new TypeError(
      `Cannot ${what}: the calling process is on ${ctx.runtime.node}, not ${runtime.node}; pass a pid`,
    );
  }
  return ctx.self;
}

/**
 * Runs `fn` as the process `ctx`: the free functions called by it, and by
 * everything it awaits, act for `ctx`. The REPL evaluates user code this
 * way as its shell process.
 *
 * @param ctx the process to act as
 * @param fn the code to run
 * @returns what `fn` returns
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess, self } from "./current.ts";
 * const rt = new Runtime();
 * const shell = rt.open();
 * const me = await runInProcess(shell, async () => {
 *   await null;
 *   return self();
 * });
 * console.assert(me.equals(shell.self));
 * await rt.shutdown();
 * ```
 */
export function runInProcess<T>(ctx: ProcessContext, fn: () => T): T {
  if (typeof ctx !== "object" || ctx === null || typeof ctx.receive !== "function") {
    throw new TypeError("Cannot run in process: expected a process context");
  }
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot run in process: expected a function, received ${typeof fn}`);
  }
  return processStorage.run(ctx, fn);
}

/**
 * Sets the context the free functions use outside any process (the REPL
 * sets its shell here); `undefined` clears it.
 *
 * @param ctx the default context, or `undefined`
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { self, setDefaultContext } from "./current.ts";
 * const rt = new Runtime();
 * const shell = rt.open();
 * setDefaultContext(shell);
 * console.assert(self().equals(shell.self));
 * setDefaultContext(undefined);
 * await rt.shutdown();
 * ```
 */
export function setDefaultContext(ctx: ProcessContext | undefined): void {
  if (ctx !== undefined && (typeof ctx !== "object" || ctx === null)) {
    throw new TypeError("Cannot set default context: expected a process context or undefined");
  }
  setFallbackContext(ctx);
}

/**
 * The running process's pid.
 *
 * @returns the pid
 * @throws {Error} outside any process
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess, self } from "./current.ts";
 * const rt = new Runtime();
 * const ctx = rt.open();
 * runInProcess(ctx, () => console.assert(self().equals(ctx.self)));
 * await rt.shutdown();
 * ```
 */
export function self(): Pid {
  return current().self;
}

/**
 * Takes the first message `matcher` accepts from the running process's
 * mailbox, waiting for one if needed.
 *
 * @param matcher selects the message; default: any
 * @param options `timeout` in milliseconds
 * @returns the message
 * @throws {TimeoutError} (rejects) when the timeout passes
 * @throws {ProcessExitError} (rejects) when the process exits meanwhile
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { receive, runInProcess, self, send } from "./current.ts";
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   send(self(), "a");
 *   send(self(), "b");
 *   console.assert((await receive((m) => m === "b")) === "b");
 *   console.assert((await receive()) === "a");
 * });
 * await rt.shutdown();
 * ```
 */
export function receive<T = unknown>(
  matcher?: (msg: unknown) => boolean,
  options?: ReceiveOptions,
): Promise<T> {
  return current().receive<T>(matcher, options);
}

/**
 * Sends `msg` to `dest` from the running process.
 *
 * @param dest a pid, a local name or `{name, node}`
 * @param msg the message
 * @throws {NameError} when `dest` is a local name nobody has registered
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { flush, runInProcess, self, send } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   send(self(), 42);
 *   console.assert(flush()[0] === 42);
 * });
 * await rt.shutdown();
 * ```
 */
export function send(dest: Dest, msg: unknown): void {
  current().send(dest, msg);
}

/**
 * Spawns a process on the running process's node.
 *
 * @param fn the process body
 * @param options link, name, trapExit and label
 * @returns the new pid
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess, spawn } from "./current.ts";
 * const rt = new Runtime();
 * const pid = runInProcess(rt.open(), () => spawn(() => {}));
 * console.assert(pid.node === rt.node);
 * await rt.shutdown();
 * ```
 */
export function spawn(fn: ProcessFn, options?: SpawnOptions): Pid {
  return current().spawn(fn, options);
}

/**
 * Spawns a process linked to the running one.
 *
 * @param fn the process body
 * @param options name, trapExit and label
 * @returns the new pid
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess, self, spawnLink } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   const pid = spawnLink(async (ctx) => void (await ctx.receive()));
 *   console.assert(rt.info(pid)!.links[0]!.equals(self()));
 * });
 * await rt.shutdown();
 * ```
 */
export function spawnLink(fn: ProcessFn, options?: SpawnOptions): Pid {
  return current().spawnLink(fn, options);
}

/**
 * Spawns a process monitored by the running one.
 *
 * @param fn the process body
 * @param options name, trapExit and label
 * @returns the new pid and the monitor's ref
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { receive, runInProcess, spawnMonitor } from "./current.ts";
 * import type { DownMessage } from "./types.ts";
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const [, ref] = spawnMonitor(() => {});
 *   const down = await receive<DownMessage>();
 *   console.assert(down.ref === ref && down.reason === "normal");
 * });
 * await rt.shutdown();
 * ```
 */
export function spawnMonitor(fn: ProcessFn, options?: SpawnOptions): [Pid, Ref] {
  return current().spawnMonitor(fn, options);
}

/**
 * Links the running process to `pid`.
 *
 * @param pid the process to link to
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { link, runInProcess } from "./current.ts";
 * const rt = new Runtime();
 * const other = rt.open();
 * runInProcess(rt.open(), () => link(other.self));
 * console.assert(rt.info(other.self)!.links.length === 1);
 * await rt.shutdown();
 * ```
 */
export function link(pid: Pid): void {
  current().link(pid);
}

/**
 * Removes the link between the running process and `pid`.
 *
 * @param pid the linked process
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { link, runInProcess, unlink } from "./current.ts";
 * const rt = new Runtime();
 * const other = rt.open();
 * runInProcess(rt.open(), () => {
 *   link(other.self);
 *   unlink(other.self);
 * });
 * console.assert(rt.info(other.self)!.links.length === 0);
 * await rt.shutdown();
 * ```
 */
export function unlink(pid: Pid): void {
  current().unlink(pid);
}

/**
 * Monitors `target` from the running process.
 *
 * @param target a pid, a local name or `{name, node}`
 * @returns the monitor's ref
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { monitor, receive, runInProcess } from "./current.ts";
 * import type { DownMessage } from "./types.ts";
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   monitor("nobody");
 *   console.assert((await receive<DownMessage>()).reason === "noproc");
 * });
 * await rt.shutdown();
 * ```
 */
export function monitor(target: Pid | RemoteName | string): Ref {
  return current().monitor(target);
}

/**
 * Removes a monitor held by the running process.
 *
 * @param ref the monitor's ref
 * @param options `flush` also drops its `DOWN` message
 * @returns `true` when the monitor was active
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { demonitor, monitor, runInProcess } from "./current.ts";
 * const rt = new Runtime();
 * const other = rt.open();
 * runInProcess(rt.open(), () => {
 *   const ref = monitor(other.self);
 *   console.assert(demonitor(ref) === true);
 * });
 * await rt.shutdown();
 * ```
 */
export function demonitor(ref: Ref, options?: DemonitorOptions): boolean {
  return current().demonitor(ref, options);
}

/**
 * `exit(reason)` ends the running process with `reason` and throws a
 * `ProcessExitError` so no more of its code runs, as Erlang's `exit/1`.
 * `exit(pid, reason)` sends `pid` an exit signal from the running process,
 * as Erlang's `exit/2`.
 *
 * @param pidOrReason the reason (default `"normal"`), or the pid when a reason follows
 * @param reason the reason for `pid`
 * @throws {ProcessExitError} for `exit(reason)`, always
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { exit, runInProcess } from "./current.ts";
 * const rt = new Runtime();
 * const victim = rt.open();
 * runInProcess(rt.open(), () => exit(victim.self, "kill"));
 * console.assert(!rt.isAlive(victim.self));
 * await rt.shutdown();
 * ```
 */
export function exit(reason?: unknown): never;
/**
 * Sends `pid` an exit signal from the running process, as Erlang's `exit/2`.
 *
 * @param pid the target
 * @param reason the exit reason (`"kill"` cannot be trapped)
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { exit, runInProcess } from "./current.ts";
 * const rt = new Runtime();
 * const victim = rt.open();
 * runInProcess(rt.open(), () => exit(victim.self, "stop"));
 * console.assert(!rt.isAlive(victim.self));
 * await rt.shutdown();
 * ```
 */
export function exit(pid: Pid, reason: unknown): void;
export function exit(pidOrReason?: unknown, reason?: unknown): void {
  const ctx = current();
  if (arguments.length >= 2) {
    ctx.runtime.exit(pidOrReason as Pid, reason, ctx.self);
    return;
  }
  const own = arguments.length === 0 ? "normal" : pidOrReason;
  ctx.exit(own);
  throw new ProcessExitError(own);
}

/**
 * Turns exit trapping of the running process on or off.
 *
 * @param flag whether to trap exits
 * @returns the previous setting
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess, trapExit } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => console.assert(trapExit(true) === false));
 * await rt.shutdown();
 * ```
 */
export function trapExit(flag: boolean): boolean {
  return current().trapExit(flag);
}

/**
 * Registers `name` for the running process, on its node.
 *
 * @param name the name
 * @throws {NameError} when the name is taken or the process already has one
 * @throws {TypeError} when `name` is not a string (the name comes first)
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { register, runInProcess, self, whereis } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   register("me");
 *   console.assert(whereis("me")!.equals(self()));
 * });
 * await rt.shutdown();
 * ```
 */
export function register(name: string): void;
/**
 * Registers `name` for `pid`, a process of the running node. The name comes first, as in
 * Erlang's `register(Name, Pid)`, `Runtime.register` and `global.register`.
 *
 * @param name the name
 * @param pid the process to name
 * @throws {NameError} when the name is taken, or the process is dead, remote or named already
 * @throws {TypeError} when `name` is not a string or `pid` not a pid
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { register, runInProcess, whereis } from "./current.ts";
 * const rt = new Runtime();
 * const worker = rt.open();
 * runInProcess(rt.open(), () => {
 *   register("worker", worker.self);
 *   console.assert(whereis("worker")!.equals(worker.self));
 * });
 * await rt.shutdown();
 * ```
 */
export function register(name: string, pid: Pid): void;
export function register(name: string, pid?: Pid): void {
  const ctx = current();
  if (typeof name !== "string") {
    throw new TypeError(
      `Cannot register: the name comes first, register(name, pid?), received ${describeType(name)}`,
    );
  }
  ctx.runtime.register(name, pid ?? ctx.self);
}

/**
 * Removes a registered name on the running node.
 *
 * @param name the name
 * @throws {NameError} when it is not registered
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { register, runInProcess, unregister, whereis } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   register("me");
 *   unregister("me");
 *   console.assert(whereis("me") === undefined);
 * });
 * await rt.shutdown();
 * ```
 */
export function unregister(name: string): void {
  current().runtime.unregister(name);
}

/**
 * The pid registered under `name` on the running node.
 *
 * @param name the name
 * @returns the pid, or `undefined`
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { runInProcess, whereis } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => console.assert(whereis("nobody") === undefined));
 * await rt.shutdown();
 * ```
 */
export function whereis(name: string): Pid | undefined {
  return current().runtime.whereis(name);
}

/**
 * Sends `msg` to `dest` after `ms` milliseconds.
 *
 * @param dest a pid, a name or `{name, node}`
 * @param msg the message
 * @param ms the delay
 * @returns the timer's ref
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { receive, runInProcess, self, sendAfter } from "./current.ts";
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   sendAfter(self(), "tick", 1);
 *   console.assert((await receive()) === "tick");
 * });
 * await rt.shutdown();
 * ```
 */
export function sendAfter(dest: Dest, msg: unknown, ms: number): Ref {
  return current().runtime.sendAfter(dest, msg, ms);
}

/**
 * Cancels a `sendAfter` timer.
 *
 * @param ref the timer's ref
 * @returns the milliseconds it had left, or `false`
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { cancelTimer, runInProcess, self, sendAfter } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   const ref = sendAfter(self(), "late", 1000);
 *   console.assert(cancelTimer(ref) !== false);
 * });
 * await rt.shutdown();
 * ```
 */
export function cancelTimer(ref: Ref): number | false {
  return current().runtime.cancelTimer(ref);
}

/**
 * A new reference, unique on the running node.
 *
 * @returns the reference
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { makeRef, runInProcess } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => console.assert(makeRef().node === rt.node));
 * await rt.shutdown();
 * ```
 */
export function makeRef(): Ref {
  return current().runtime.makeRef();
}

/**
 * Removes and returns every message in the running process's mailbox.
 *
 * @returns the messages, oldest first
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * import { flush, runInProcess, self, send } from "./current.ts";
 * const rt = new Runtime();
 * runInProcess(rt.open(), () => {
 *   send(self(), 1);
 *   send(self(), 2);
 *   console.assert(flush().length === 2 && flush().length === 0);
 * });
 * await rt.shutdown();
 * ```
 */
export function flush(): unknown[] {
  return current().flush();
}

/**
 * Every process function above by name: the one definition of the process
 * API. The shell puts them in scope, the rpc prelude sends them along with
 * a function run on another node, and the `Process` namespace is built from
 * them.
 *
 * @example
 * ```ts
 * import { PROCESS_FUNCTIONS } from "./current.ts";
 * console.assert(typeof PROCESS_FUNCTIONS.receive === "function");
 * ```
 */
export const PROCESS_FUNCTIONS = Object.freeze({
  self,
  send,
  receive,
  spawn,
  spawnLink,
  spawnMonitor,
  link,
  unlink,
  monitor,
  demonitor,
  exit,
  trapExit,
  register,
  unregister,
  whereis,
  sendAfter,
  cancelTimer,
  makeRef,
  flush,
});
