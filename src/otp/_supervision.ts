/**
 * What every supervisor does the same way: stop a child as OTP's
 * `supervisor:shutdown/2` does, and count restarts against the intensity
 * limit.
 *
 * Stopping a child, run by the supervisor process:
 *
 * ```
 * monitor(child); unlink(child)       the DOWN tells when it is gone; no EXIT any more
 * EXIT already in the mailbox?        it died first: its reason, nothing to stop
 * brutal_kill:  exit(child, "kill")   -> DOWN
 * otherwise:    exit(child, "shutdown")
 *               DOWN within the shutdown time -> its reason
 *               else exit(child, "kill")      -> DOWN "killed"
 * ```
 *
 * @module
 */

import { describe, TimeoutError } from "../errors.ts";
import { logger } from "../log.ts";
import { SUPERVISOR_RESTART } from "../telemetry/events.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage, ExitMessage, ProcessContext } from "../process/types.ts";
import { Pid } from "../term/pid.ts";
import { isDownOf } from "./_caller.ts";
import { isCleanExit, isCrash } from "./_reason.ts";
import type { ChildType, FullChildSpec, Shutdown } from "./child_spec.ts";
import { GenServer, type ServerName, type ServerRef, type StartOptions } from "./gen_server.ts";
import {
  AlreadyStartedError,
  StartError,
  SupervisorError,
  type SupervisorErrorCode,
} from "./errors.ts";

const log = logger("otp");

/** Whether `msg` is an `EXIT` message from `pid`. */
export function isExitFrom(msg: unknown, pid: Pid): msg is ExitMessage {
  const m = msg as ExitMessage;
  return typeof msg === "object" && msg !== null && m.type === "EXIT" && pid.equals(m.from);
}

/** Takes the first message `matcher` accepts if one is in the mailbox now. */
export async function takeNow<T>(
  ctx: ProcessContext,
  matcher: (msg: unknown) => boolean,
): Promise<T | undefined> {
  try {
    return await ctx.receive<T>(matcher, { timeout: 0 });
  } catch (err) {
    if (err instanceof TimeoutError) return undefined;
    throw err;
  }
}

/**
 * Stops a child of the supervisor `ctx`, as OTP does, and waits until it is
 * gone.
 *
 * @param ctx the supervisor (trapping exits)
 * @param pid the child
 * @param shutdown how to stop it
 * @returns the child's exit reason (`"shutdown"` when it obeyed)
 */
export async function shutdownChild(
  ctx: ProcessContext,
  pid: Pid,
  shutdown: Shutdown,
): Promise<unknown> {
  const ref = ctx.monitor(pid);
  ctx.unlink(pid);
  const down = (m: unknown) => isDownOf(m, ref);
  const early = await takeNow<ExitMessage>(ctx, (m) => isExitFrom(m, pid));
  if (early !== undefined) {
    await ctx.receive(down);
    return early.reason;
  }
  const runtime = ctx.runtime;
  if (shutdown === "brutal_kill") {
    runtime.exit(pid, "kill", ctx.self);
    return (await ctx.receive<DownMessage>(down)).reason;
  }
  runtime.exit(pid, "shutdown", ctx.self);
  try {
    const timeout = shutdown === "infinity" ? Infinity : shutdown;
    return (await ctx.receive<DownMessage>(down, { timeout })).reason;
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    runtime.exit(pid, "kill", ctx.self);
    return (await ctx.receive<DownMessage>(down)).reason;
  }
}

/** Options for restart intensity, shared by every supervisor. */
export interface IntensityOptions {
  /** Restarts allowed within `periodSeconds` before the supervisor gives up. Default 3. */
  intensity?: number;
  /** The window, in seconds as OTP's `period` (every other duration is in milliseconds). Default 5. */
  periodSeconds?: number;
}

/**
 * Counts restarts in a sliding window: more than `intensity` restarts
 * within `periodSeconds` seconds and the supervisor must give up (OTP's
 * `reached_max_restart_intensity`).
 */
export class RestartIntensity {
  /** Restarts allowed within the period. */
  readonly intensity: number;
  /** The window in seconds. */
  readonly periodSeconds: number;
  #times: number[] = [];

  /**
   * @param options intensity and period
   * @param what the operation, for error messages
   * @throws {RangeError} when either is out of range
   */
  constructor(options: IntensityOptions, what: string) {
    const intensity = options.intensity ?? 3;
    const period = options.periodSeconds ?? 5;
    if (typeof intensity !== "number" || !Number.isInteger(intensity) || intensity < 0) {
      throw new RangeError(
        `Cannot ${what}: intensity must be an integer 0 or more, received ${String(intensity)}`,
      );
    }
    if (typeof period !== "number" || !(period > 0)) {
      throw new RangeError(
        `Cannot ${what}: periodSeconds must be a positive number, received ${String(period)}`,
      );
    }
    this.intensity = intensity;
    this.periodSeconds = period;
  }

  /**
   * Records one restart.
   * @returns `false` when it is one too many: the supervisor must give up
   */
  add(): boolean {
    const now = performance.now();
    const since = now - this.periodSeconds * 1000;
    const times = this.#times.filter((t) => t > since);
    times.push(now);
    this.#times = times;
    return times.length <= this.intensity;
  }
}

/**
 * Counts a restart against the supervisor's intensity and, when it is one
 * too many, logs OTP's `reached_max_restart_intensity`.
 *
 * @param intensity the supervisor's restart counter
 * @param label how the supervisor reads in logs
 * @param runtime the supervisor's runtime, whose telemetry hears of the restart
 * @param child the id of the child that is restarted
 * @returns `false` when the supervisor must give up (stop with `"shutdown"`)
 */
export function countRestart(
  intensity: RestartIntensity,
  label: string,
  runtime: Runtime,
  child: string | number,
): boolean {
  const restart = runtime.telemetry.event(SUPERVISOR_RESTART);
  if (restart.attached) {
    restart.emit({ count: 1 }, { node: runtime.node, supervisor: label, child });
  }
  if (intensity.add()) return true;
  log.error(
    "Supervisor {sup}: reached maximum restart intensity ({intensity} restarts in {period} s), shutting down",
    { sup: label, intensity: intensity.intensity, period: intensity.periodSeconds },
  );
  return false;
}

/** What starting a child came to. */
export type StartOutcome =
  /** Running, linked to the supervisor. */
  | { ok: Pid }
  /** Its start function returned `undefined`, or `init` returned `{ ignore: true }`. */
  | { ignore: true }
  /** It did not start; `reason` as Elixir's `{:error, reason}`. */
  | { error: unknown };

/**
 * Runs a child's start function in the supervisor process `ctx` and links
 * the supervisor to the pid it returns (a no-op when the start function
 * linked already), so that even a plain `spawn` is supervised.
 */
export async function startChildProcess(
  ctx: ProcessContext,
  spec: { id: string; start: () => unknown },
): Promise<StartOutcome> {
  let pid: unknown;
  try {
    pid = await spec.start();
  } catch (err) {
    if (err instanceof StartError) {
      return err.reason === "ignore" ? { ignore: true } : { error: err.reason };
    }
    return { error: err };
  }
  if (pid === undefined) return { ignore: true };
  if (!(pid instanceof Pid)) {
    const label = spec.id === "" ? "a child" : `child "${spec.id}"`;
    return {
      error: new TypeError(
        `The start function of ${label} returned ${describe(pid)}, expected a pid or undefined`,
      ),
    };
  }
  ctx.link(pid);
  return { ok: pid };
}
/** Options of the supervisor requests. */
export interface SupervisorCallOptions {
  /** Milliseconds to wait for the supervisor; default `Infinity`, as Elixir. */
  timeout?: number;
  /** The node to act from when not inside a process. */
  runtime?: Runtime;
}

/** The options of starting either kind of supervisor that are passed to its server. */
export interface SupervisorServerOptions {
  /** Register the supervisor under a local name, `{ global }` or `{ via, key }`. */
  name?: ServerName;
  /** The node to start it on; default the calling process's. */
  runtime?: Runtime;
  /** Link it to the calling process (what `startLink` sets). */
  link?: boolean;
}

/** The `GenServer.start` options of a supervisor's server: only those given. */
export function serverStartOptions(options: SupervisorServerOptions): StartOptions {
  return {
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.runtime !== undefined ? { runtime: options.runtime } : {}),
    ...(options.link ? { link: true } : {}),
  };
}

/**
 * Sends a request to a supervisor and unwraps its reply (see
 * {@linkcode unwrapReply}); waits for ever unless `options.timeout` says.
 *
 * @param what the operation, for error messages
 */
export function callSupervisor<Request>(
  sup: ServerRef,
  request: Request,
  options: SupervisorCallOptions | undefined,
  what: string,
): Promise<unknown> {
  return GenServer.call<SupervisorReply>(sup, request, {
    timeout: options?.timeout ?? Infinity,
    ...(options?.runtime !== undefined ? { runtime: options.runtime } : {}),
  }).then((reply) => unwrapReply(reply, what));
}

/** One child as `whichChildren` reports it. */
export interface ChildInfo {
  /** The child's id (`undefined` under a dynamic supervisor). */
  id: string | undefined;
  /** Its pid; `"restarting"` while a failed restart waits to be tried again; `undefined` when not running. */
  pid: Pid | "restarting" | undefined;
  /** Worker or supervisor. */
  type: ChildType;
}

/** What `countChildren` reports. */
export interface ChildCounts {
  /** Child specs, running or not. */
  specs: number;
  /** Children running. */
  active: number;
  /** Children of type supervisor. */
  supervisors: number;
  /** Children of type worker. */
  workers: number;
}

/** Replies, supervisor process -> `Supervisor.*`. */
export type SupervisorReply =
  | { ok: unknown }
  | { error: SupervisorErrorCode }
  | { alreadyStarted: Pid }
  | { startError: unknown };

/** Stops `child` and logs it when it did not go as asked. */
export async function stopChild(
  ctx: ProcessContext,
  pid: Pid,
  spec: FullChildSpec,
  label: string,
): Promise<void> {
  const reason = await shutdownChild(ctx, pid, spec.shutdown);
  const expected = spec.shutdown === "brutal_kill" ? "killed" : "shutdown";
  if (reason !== expected && !isCleanExit(reason)) {
    log.error("Supervisor {sup}: child {id} ({pid}) shut down with reason {reason}", {
      sup: label,
      id: spec.id === "" ? "" : `"${spec.id}"`,
      pid: String(pid),
      reason,
    });
  }
}

/** Logs a child's exit the way OTP's supervisor reports `child_terminated`. */
export function logChildExit(label: string, spec: FullChildSpec, pid: Pid, reason: unknown): void {
  if (!isCrash(reason)) return;
  log.error("Supervisor {sup}: child {id} ({pid}) terminated with reason {reason}", {
    sup: label,
    id: spec.id === "" ? "" : `"${spec.id}"`,
    pid: String(pid),
    reason,
  });
}

/** Counts for `countChildren`, from (spec, pid) pairs. */
export function countChildren(children: [FullChildSpec, Pid | undefined][]): ChildCounts {
  const counts: ChildCounts = { specs: 0, active: 0, supervisors: 0, workers: 0 };
  for (const [spec, pid] of children) {
    counts.specs++;
    if (pid !== undefined) counts.active++;
    if (spec.type === "supervisor") counts.supervisors++;
    else counts.workers++;
  }
  return counts;
}

/** Turns a supervisor's reply into a value or the matching error. */
export function unwrapReply(reply: SupervisorReply, what: string): unknown {
  if ("ok" in reply) return reply.ok;
  if ("startError" in reply) {
    const reason = reply.startError;
    throw new StartError(
      reason,
      reason === "ignore"
        ? `Cannot ${what}: the child ignored its start`
        : `Cannot ${what}: the child failed to start: ${describe(reason)}`,
      reason instanceof Error ? { cause: reason } : undefined,
    );
  }
  if ("alreadyStarted" in reply) {
    const pid = reply.alreadyStarted;
    throw new AlreadyStartedError(pid, `Cannot ${what}: it is already started as ${pid}`);
  }
  const why: Record<SupervisorErrorCode, string> = {
    not_found: "no such child",
    running: "the child is running",
    restarting: "the child is restarting",
    already_present: "a child with that id exists (not running); restart or delete it",
    max_children: "the supervisor has its maximum number of children",
  };
  throw new SupervisorError(reply.error, `Cannot ${what}: ${why[reply.error] ?? reply.error}`);
}
