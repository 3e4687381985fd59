/**
 * Shows the system messages a shell asked for — `nodeup`/`nodedown` after
 * `monitorNodes()`, `DOWN` after `monitor()`, `EXIT` when trapping exits —
 * as they arrive, while the user is typing, without taking them out of
 * the mailbox: `flush()` and `receive()` still find them.
 *
 * How it sees a message without taking it: it keeps one `receive` pending
 * on the shell process whose matcher never accepts. The runtime asks every
 * pending matcher about each message delivered, so the matcher sees each
 * one as it arrives and declines it; the message stays in the mailbox, and
 * any other `receive` (the user's) still gets it. A `receive` with a zero
 * timeout runs the same matcher over what is already queued after each
 * evaluation, so messages that came while code ran are shown too (each
 * message is announced once).
 *
 * ```
 * peer lost -> NetKernel -> runtime.send(shell, {type: "nodedown", ...})
 *   -> Proc.deliver: watcher's matcher(msg) -> announce (idle) -> false
 *   -> mailbox
 * ```
 *
 * @example
 * ```ts
 * import { Runtime } from "../src/process/runtime.ts";
 * import { watchMailbox } from "./mailbox_watch.ts";
 * const rt = new Runtime();
 * const shell = rt.open();
 * const seen: unknown[] = [];
 * watchMailbox(shell, (msg) => seen.push(msg));
 * rt.send(shell.self, { type: "nodeup", node: "b@h" });
 * console.assert(seen.length === 1 && shell.flush().length === 1);
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import type { ProcessContext } from "../src/process/types.ts";

const EVENT_TYPES = new Set(["nodeup", "nodedown", "DOWN", "EXIT"]);

/**
 * Whether `msg` is a system message the shell shows as it arrives.
 *
 * @param msg a message
 * @returns `true` for `{type: "nodeup" | "nodedown" | "DOWN" | "EXIT", ...}`
 *
 * @example
 * ```ts
 * import { isShellEvent } from "./mailbox_watch.ts";
 * console.assert(isShellEvent({ type: "DOWN" }) && !isShellEvent("DOWN"));
 * ```
 */
export function isShellEvent(msg: unknown): boolean {
  return typeof msg === "object" && msg !== null &&
    EVENT_TYPES.has((msg as { type?: unknown }).type as string);
}

/** A running watch; see {@linkcode watchMailbox}. */
export interface MailboxWatch {
  /**
   * Whether events are shown as they arrive. Off while the shell runs
   * code (that code may be waiting for them); they are shown by
   * {@linkcode rescan} afterwards if still queued.
   */
  active: boolean;
  /** Announces the events queued in the mailbox that were not announced yet. */
  rescan(): void;
}

/**
 * Watches `shell`'s mailbox and calls `announce` once for each system
 * message (see {@linkcode isShellEvent}) that arrives while the watch is
 * active, or is found queued by `rescan()`. The watch ends when the
 * process exits, and `exited` is called with the exit error.
 *
 * @param shell the shell process
 * @param announce called with each new event
 * @param exited called once when the shell process exits
 * @returns the watch
 */
export function watchMailbox(
  shell: ProcessContext,
  announce: (msg: unknown) => void,
  exited?: (error: unknown) => void,
): MailboxWatch {
  const seen = new WeakSet<object>();
  const watch: MailboxWatch = {
    active: true,
    rescan: () => {
      const wasActive = watch.active;
      watch.active = true;
      shell.receive(spy, { timeout: 0 }).catch(ignore);
      watch.active = wasActive;
    },
  };
  const spy = (msg: unknown): boolean => {
    if (watch.active && isShellEvent(msg) && !seen.has(msg as object)) {
      seen.add(msg as object);
      try {
        announce(msg);
      } catch {
        // Showing an event must never disturb the delivery of the message.
      }
    }
    return false;
  };
  shell.receive(spy).catch((error) => exited?.(error));
  return watch;
}

function ignore(): void {}
