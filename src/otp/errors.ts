/**
 * The error conditions of the OTP behaviours. Deadlines are the shared
 * `TimeoutError` and name clashes of plain registered names the shared
 * `NameError`, both from `src/errors.ts`; these are particular to servers,
 * supervisors and tasks.
 *
 * Where Elixir *exits* the caller (`exit({reason, {GenServer, :call, ...}})`),
 * Weft throws an {@linkcode ExitError}: caught, it is Elixir's
 * `catch :exit, reason`; left uncaught in a process body, the process exits
 * with it, as the Elixir caller would.
 *
 * @example
 * ```ts
 * import { ExitError } from "./errors.ts";
 * const err = new ExitError("noproc", "Cannot call server \"db\": no process");
 * console.assert(err.reason === "noproc" && err.name === "ExitError");
 * ```
 *
 * @module
 */

import { describe, type WeftErrorOptions } from "../errors.ts";
import { registerErrorClass } from "../term/codec.ts";
import type { Pid } from "../term/pid.ts";

/**
 * A process the caller was waiting on exited: the server of a
 * `GenServer.call`, `GenServer.stop` or supervisor request, the task of a
 * `Task.await`. `reason` is that process's exit reason: `"noproc"` when it
 * did not exist, `"noconnection"` when its node was lost, the thrown error
 * when it crashed.
 *
 * @example
 * ```ts
 * import { ExitError } from "./errors.ts";
 * try {
 *   throw new ExitError("noconnection", "Cannot call server: node b@host is down");
 * } catch (e) {
 *   console.assert(e instanceof ExitError && e.reason === "noconnection");
 * }
 * ```
 */
export class ExitError extends Error {
  /** The exit reason of the process waited on. */
  readonly reason: unknown;
  /**
   * @param reason the exit reason
   * @param message what failed; defaults to one naming the reason
   */
  constructor(reason: unknown, message?: string, options?: WeftErrorOptions) {
    super(message ?? `Process exited: ${describe(reason)}`, options);
    this.name = "ExitError";
    this.reason = reason;
  }
}

/**
 * A server or supervisor did not start: its `init` returned `{ stop }`,
 * threw, or returned `{ ignore: true }` (then `reason` is `"ignore"`), or a
 * supervisor's child failed to start. `reason` is what Elixir returns as
 * `{:error, reason}`.
 *
 * @example
 * ```ts
 * import { StartError } from "./errors.ts";
 * const err = new StartError("bad_config");
 * console.assert(err.reason === "bad_config" && err.name === "StartError");
 * ```
 */
export class StartError extends Error {
  /** Why the process did not start; `"ignore"` when its `init` ignored the start. */
  readonly reason: unknown;
  /**
   * @param reason why it did not start
   * @param message what failed; defaults to one naming the reason
   */
  constructor(reason: unknown, message?: string, options?: WeftErrorOptions) {
    super(message ?? `Cannot start process: ${describe(reason)}`, options);
    this.name = "StartError";
    this.reason = reason;
  }
}

/**
 * The name given to `GenServer.start` (or a child's id in a supervisor) is
 * held by a running process, Elixir's `{:error, {:already_started, pid}}`.
 *
 * @example
 * ```ts
 * import { AlreadyStartedError, StartError } from "./errors.ts";
 * import { Pid } from "../term/pid.ts";
 * const err = new AlreadyStartedError(new Pid("a@host", 4, 0, 1), "Cannot start server: \"db\" is already started");
 * console.assert(err instanceof StartError && err.pid.id === 4);
 * ```
 */
export class AlreadyStartedError extends StartError {
  /** The process that holds the name. */
  readonly pid: Pid;
  /**
   * @param pid the running process
   * @param message what was refused
   */
  constructor(pid: Pid, message: string, options?: WeftErrorOptions) {
    super({ alreadyStarted: pid }, message, options);
    this.name = "AlreadyStartedError";
    this.pid = pid;
  }
}

/** Why a supervisor refused a request; Elixir's `{:error, atom}` replies. */
export type SupervisorErrorCode =
  /** No child has that id (or pid). */
  | "not_found"
  /** The child is running, so it cannot be restarted or deleted. */
  | "running"
  /** The child is being restarted after a failed start. */
  | "restarting"
  /** A child with that id exists but is not running. */
  | "already_present"
  /** The dynamic supervisor has `maxChildren` children already. */
  | "max_children";

/**
 * A supervisor refused a request about one of its children; `code` says
 * why, as Elixir's `{:error, code}`.
 *
 * @example
 * ```ts
 * import { SupervisorError } from "./errors.ts";
 * const err = new SupervisorError("not_found", "Cannot terminate child \"db\": not found");
 * console.assert(err.code === "not_found");
 * ```
 */
export class SupervisorError extends Error {
  /** Why the request was refused. */
  readonly code: SupervisorErrorCode;
  /**
   * @param code why the request was refused
   * @param message the sentence shown
   */
  constructor(code: SupervisorErrorCode, message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "SupervisorError";
    this.code = code;
  }
}

// Rebuilt as these classes when they cross the wire (e.g. a remote call's exit).
for (const ctor of [ExitError, StartError, AlreadyStartedError, SupervisorError]) {
  registerErrorClass(ctor);
}
