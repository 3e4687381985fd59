/**
 * Who is calling, and how a call waits. Every request of the behaviours
 * (`GenServer.call`, `start`, `stop`, the supervisor requests) waits on an
 * alias: a process of its own, opened for the one request, that monitors
 * the server and the calling process and exits when the request is over.
 * Whatever arrives for it later (a late reply, a late DOWN) is dropped by
 * the runtime as mail for a dead process, so it reaches no one.
 *
 * @module
 */

import { ProcessExitError } from "../errors.ts";
import { current } from "../process/current.ts";
import { Deadlines } from "../process/deadlines.ts";
import { ServiceKey } from "../process/node_context.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage, ProcessContext } from "../process/types.ts";
import type { Ref } from "../term/pid.ts";

/** Whether `msg` is the `DOWN` message of monitor `ref`. */
export function isDownOf(msg: unknown, ref: Ref | undefined): msg is DownMessage {
  const m = msg as DownMessage;
  return ref !== undefined && typeof msg === "object" && msg !== null && m.type === "DOWN" &&
    ref.equals(m.ref);
}

/** The node to act on and the calling process, if there is one. */
export interface Caller {
  runtime: Runtime;
  ctx: ProcessContext | undefined;
}

/**
 * The calling process and its node. With `runtime`, the caller may be
 * outside any process; without, it must be inside one.
 *
 * @throws {Error} outside any process, without `runtime`
 * @throws {TypeError} when `runtime` is not a Runtime
 */
export function callerOf(runtime: Runtime | undefined, what: string): Caller {
  if (runtime === undefined) {
    let ctx: ProcessContext;
    try {
      ctx = current();
    } catch (err) {
      throw new Error(
        `Cannot ${what}: not inside a Weft process; call it from a process, inside ` +
          `runInProcess(), or pass the runtime option`,
        { cause: err },
      );
    }
    return { runtime: ctx.runtime, ctx };
  }
  if (typeof runtime !== "object" || runtime === null || typeof runtime.open !== "function") {
    throw new TypeError(`Cannot ${what}: runtime must be a Runtime`);
  }
  let ctx: ProcessContext | undefined;
  try {
    ctx = current();
  } catch {
    ctx = undefined;
  }
  return { runtime, ctx: ctx?.runtime === runtime ? ctx : undefined };
}

/** Delivered to an alias when its wait's deadline passes. */
const TIMED_OUT = Object.freeze({ type: "$otp_timeout" });

/** The call deadlines of a node, one timer per deadline length (see `process/deadlines.ts`). */
const CALL_DEADLINES: ServiceKey<Deadlines> = new ServiceKey("otp call deadlines");

/** The node's call deadlines; `undefined` once the node has shut down. */
function deadlinesOf(runtime: Runtime): Deadlines | undefined {
  const known = runtime.context.get(CALL_DEADLINES);
  if (known !== undefined) return known;
  if (runtime.closed) return undefined;
  // A process of the node, doing nothing, whose exit (the node's shutdown)
  // clears the timers, so that none outlives its node.
  const keeper = runtime.open({ label: "otp:deadlines" });
  const created = new Deadlines();
  runtime.context.provide(CALL_DEADLINES, created);
  keeper.signal.addEventListener("abort", () => {
    runtime.context.remove(CALL_DEADLINES, created);
    created.close();
  }, { once: true });
  return created;
}

/**
 * Waits on `alias` (a process opened for one request) for the first
 * message `matcher` accepts, for at most `timeout` ms.
 *
 * The alias also monitors the calling process: should the caller exit
 * meanwhile, the wait rejects with the `ProcessExitError` the caller's own
 * `receive` would have. The deadline is kept in the node's
 * {@linkcode Deadlines}, not by a timer of its own.
 *
 * @returns the message, or `undefined` when the deadline passed first
 * @throws {ProcessExitError} when the caller or the alias exits meanwhile
 */
export async function waitOnAlias<T>(
  alias: ProcessContext,
  caller: ProcessContext | undefined,
  matcher: (msg: unknown) => boolean,
  timeout: number,
): Promise<T | undefined> {
  const callerRef: Ref | undefined = caller === undefined ? undefined : alias.monitor(caller.self);
  const runtime = alias.runtime;
  const self = alias.self;
  // No deadline, no keeper process: a node that only waits forever opens none.
  const deadlines = timeout === Infinity ? undefined : deadlinesOf(runtime);
  const deadline = deadlines?.start(timeout, () => runtime.send(self, TIMED_OUT));
  try {
    const msg = await alias.receive(
      (m) => m === TIMED_OUT || matcher(m) || isDownOf(m, callerRef),
    );
    if (msg === TIMED_OUT) return undefined;
    if (isDownOf(msg, callerRef)) throw new ProcessExitError(msg.reason);
    return msg as T;
  } finally {
    deadlines?.cancel(deadline);
  }
}

/** Checks a timeout option: a number of ms 0-2^31-1, or `Infinity`. */
export function checkTimeout(timeout: unknown, what: string): number {
  if (typeof timeout !== "number") {
    throw new TypeError(`Cannot ${what}: timeout must be a number, received ${typeof timeout}`);
  }
  if (!(timeout >= 0) || (timeout !== Infinity && timeout > 0x7fffffff)) {
    throw new RangeError(
      `Cannot ${what}: timeout must be 0-2147483647 ms or Infinity, received ${timeout}`,
    );
  }
  return timeout;
}
