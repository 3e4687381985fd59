/**
 * Message tracing of one process, as Erlang's `dbg:p(Pid, [m])`: every
 * message it sends and every message that reaches its mailbox, handed to a
 * callback, until a limit, so that tracing a process that floods cannot
 * flood the node in turn. At the limit the trace stops by itself and says
 * so (`onStop("limit", n)`).
 *
 * ```
 * runtime.trace(pid, {limit, onEvent, onStop})
 *   sender proc --send--> runtime.send: from is traced? -> onEvent({kind: "send", to, msg})
 *   runtime --deliver--> proc: TRACED flag? ----------> onEvent({kind: "receive", msg})
 *   n events == limit -> flag off, onStop("limit")   process exits -> onStop("exited")
 *   trace.stop() -> onStop("stopped")
 * ```
 *
 * Cost: a process nobody traces pays one flag test it already made (the
 * `EXITED` test on delivery is widened to `EXITED | TRACED`), and a send
 * one test of the runtime's count of traces.
 *
 * @module
 */

import type { Pid } from "../term/pid.ts";
import type { Dest } from "./types.ts";

/** One traced message. */
export interface TraceEvent {
  /** `send`: the process sent it; `receive`: it reached the process's mailbox. */
  kind: "send" | "receive";
  /** The traced process. */
  pid: Pid;
  /** Where it was sent (for `send`). */
  to?: Dest;
  /** The message. */
  msg: unknown;
  /** Its number in this trace, from 1. */
  n: number;
}

/** Why a trace ended. */
export type TraceEnd = "limit" | "stopped" | "exited";

/** Options of `Runtime.trace`. */
export interface TraceOptions {
  /** Events after which the trace stops by itself. Default 100. */
  limit?: number;
  /** Which messages: `send`, `receive` or `both` (default). */
  events?: "send" | "receive" | "both";
  /** Called with every traced message, synchronously (keep it short). */
  onEvent(event: TraceEvent): void;
  /** Called once when the trace ends, with why and how many events it gave. */
  onStop?(reason: TraceEnd, events: number): void;
}

/** A running trace. */
export interface Trace {
  /** The traced process. */
  readonly pid: Pid;
  /** Events so far. */
  readonly events: number;
  /** Whether it still traces. */
  readonly active: boolean;
  /** Ends it (`onStop("stopped")`); does nothing once ended. */
  stop(): void;
}

/** The tracer of one process (made by the runtime). */
export class ProcessTrace implements Trace {
  readonly pid: Pid;
  events = 0;
  active = true;
  readonly #limit: number;
  readonly #send: boolean;
  readonly #receive: boolean;
  readonly #options: TraceOptions;
  readonly #detach: () => void;

  /**
   * @param pid the traced process
   * @param options limit, events and callbacks (checked by the runtime)
   * @param detach clears the process's flag and the runtime's count
   */
  constructor(pid: Pid, options: TraceOptions, detach: () => void) {
    this.pid = pid;
    this.#options = options;
    this.#limit = options.limit ?? 100;
    const which = options.events ?? "both";
    this.#send = which !== "receive";
    this.#receive = which !== "send";
    this.#detach = detach;
  }

  /** The process received `msg`. */
  received(msg: unknown): void {
    if (this.#receive) this.#emit({ kind: "receive", pid: this.pid, msg, n: 0 });
  }

  /** The process sent `msg` to `to`. */
  sent(to: unknown, msg: unknown): void {
    if (this.#send) this.#emit({ kind: "send", pid: this.pid, to: to as Dest, msg, n: 0 });
  }

  /** Ends the trace for `reason`. */
  end(reason: TraceEnd): void {
    if (!this.active) return;
    this.active = false;
    this.#detach();
    this.#options.onStop?.(reason, this.events);
  }

  stop(): void {
    this.end("stopped");
  }

  #emit(event: TraceEvent): void {
    if (!this.active) return;
    event.n = ++this.events;
    try {
      this.#options.onEvent(event);
    } finally {
      if (this.events >= this.#limit) this.end("limit");
    }
  }
}
