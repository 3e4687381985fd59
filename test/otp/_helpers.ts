/**
 * Shared pieces of the OTP tests: a runtime with a test process to act
 * from, and small probes on processes.
 *
 * @module
 */

import { Runtime } from "../../src/process/runtime.ts";
import { runInProcess } from "../../src/process/current.ts";
import type { DownMessage, ProcessContext } from "../../src/process/types.ts";
import type { Pid } from "../../src/term/pid.ts";

/**
 * Runs `fn` as an open process of a fresh runtime (so the free functions
 * and the behaviours' calls act for it), shutting the runtime down after.
 */
export async function inProcess(
  fn: (rt: Runtime, me: ProcessContext) => Promise<void> | void,
  options: { trapExit?: boolean } = {},
): Promise<void> {
  const rt = new Runtime();
  try {
    const me = rt.open({ label: "test", trapExit: options.trapExit ?? false });
    await runInProcess(me, () => fn(rt, me));
  } finally {
    await rt.shutdown();
  }
}

/** Resolves with `pid`'s exit reason once it has exited. */
export async function exitReason(rt: Runtime, pid: Pid, timeout = 3000): Promise<unknown> {
  const watcher = rt.open({ label: "watcher" });
  try {
    const ref = watcher.monitor(pid);
    const down = await watcher.receive<DownMessage>(
      (m) => (m as DownMessage).type === "DOWN" && ref.equals((m as DownMessage).ref),
      { timeout },
    );
    return down.reason;
  } finally {
    watcher.exit();
  }
}

/** The labels of the runtime's processes, for leak checks. */
export function labels(rt: Runtime): string[] {
  return rt.list().map((pid) => rt.info(pid)?.label ?? "?");
}
