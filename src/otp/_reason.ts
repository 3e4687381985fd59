/**
 * Exit reasons that OTP treats as a clean stop: `"normal"`, `"shutdown"`
 * and `{ shutdown: detail }` (Erlang's `{shutdown, Term}`). A server that
 * stops with one of them is not logged as a crash, and a `"transient"`
 * child that exits with one is not restarted.
 *
 * @module
 */

/** Whether `reason` is `"normal"`, `"shutdown"` or `{ shutdown: detail }`. */
export function isCleanExit(reason: unknown): boolean {
  return reason === "normal" || reason === "shutdown" ||
    (typeof reason === "object" && reason !== null && !Array.isArray(reason) &&
      Object.keys(reason).length === 1 && "shutdown" in reason);
}

/** Whether a process exiting with `reason` deserves an error log: not clean, not killed. */
export function isCrash(reason: unknown): boolean {
  return !isCleanExit(reason) && reason !== "killed" && reason !== "kill" &&
    reason !== "noconnection";
}
