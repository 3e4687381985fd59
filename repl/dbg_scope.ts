/**
 * The shell's `dbg` namespace: message tracing of a process, as Erlang's
 * `dbg:p(Pid, [m])`, printed where the shell prints, with a limit so that
 * tracing a process that floods cannot flood the shell (or the node).
 *
 * ```
 * > dbg.trace(pid, { limit: 3 })
 * (#PID<a@h.42.0>) << {op: "ping"}
 * (#PID<a@h.42.0>) #PID<a@h.7.0> ! "pong"
 * (#PID<a@h.42.0>) << {op: "ping"}
 * dbg: trace of #PID<a@h.42.0> stopped at its limit of 3 messages
 * ```
 *
 * @example
 * ```ts
 * import { DBG_PROVIDER } from "./dbg_scope.ts";
 * console.assert("dbg.trace" in DBG_PROVIDER.docs);
 * ```
 *
 * @module
 */

import type { Runtime } from "../src/process/runtime.ts";
import type { Trace } from "../src/process/trace.ts";
import { Pid } from "../src/term/pid.ts";
import type { Doc } from "./docs.ts";
import { formatValue } from "./format.ts";
import type { ScopeProvider } from "./scope.ts";

/** `h()` docs of `dbg`. */
export const DBG_DOCS: Readonly<Record<string, Doc>> = {
  dbg: {
    signature: "dbg",
    summary: "trace the messages a process sends and receives (Erlang's dbg)",
  },
  "dbg.trace": {
    signature: "dbg.trace(pid | name, { limit?, events? })",
    summary: "print every message pid sends (!) and receives (<<), up to limit (default 100)",
    detail: "At the limit the trace stops by itself and says so. events: 'send', 'receive' " +
      "or 'both' (default). Local processes only; one trace per process.",
    example: 'dbg.trace(whereis("counter"), { limit: 10 })',
  },
  "dbg.stop": {
    signature: "dbg.stop(pid?)",
    summary: "stop the trace of pid, or every trace; returns how many stopped",
  },
  "dbg.traces": { signature: "dbg.traces()", summary: "the processes traced now" },
};

/** The `dbg` namespace. */
export interface DbgNamespace {
  /** Traces `pid` (or a registered name); returns the trace. */
  trace(
    pid: Pid | string,
    options?: { limit?: number; events?: "send" | "receive" | "both" },
  ): Trace;
  /** Stops one trace, or all; returns how many stopped. */
  stop(pid?: Pid | string): number;
  /** The traced processes. */
  traces(): Pid[];
}

/**
 * Makes the `dbg` namespace of one shell.
 *
 * @param runtime the node's runtime
 * @param print where lines go
 * @returns the namespace
 */
export function dbgNamespace(runtime: Runtime, print: (text: string) => void): DbgNamespace {
  const traces = new Map<string, Trace>();
  const pidOf = (p: Pid | string, what: string): Pid => {
    if (p instanceof Pid) return p;
    if (typeof p === "string") {
      const pid = runtime.whereis(p);
      if (pid === undefined) {
        throw new TypeError(`Cannot ${what}: no process is registered as "${p}"`);
      }
      return pid;
    }
    throw new TypeError(`Cannot ${what}: expected a pid or a registered name`);
  };
  const show = (v: unknown) => formatValue(v, { colors: false });
  return {
    trace(p, options = {}) {
      const pid = pidOf(p, "trace");
      const limit = options.limit ?? 100;
      const trace = runtime.trace(pid, {
        limit,
        ...(options.events !== undefined ? { events: options.events } : {}),
        onEvent: (e) =>
          print(
            e.kind === "receive"
              ? `(${pid}) << ${show(e.msg)}`
              : `(${pid}) ${typeof e.to === "string" ? e.to : show(e.to)} ! ${show(e.msg)}`,
          ),
        onStop: (why, n) => {
          traces.delete(pid.key);
          if (why === "limit") {
            print(`dbg: trace of ${pid} stopped at its limit of ${n} messages`);
          } else if (why === "exited") {
            print(`dbg: trace of ${pid} ended: the process exited after ${n} messages`);
          }
        },
      });
      traces.set(pid.key, trace);
      return trace;
    },
    stop(p) {
      const list = p === undefined
        ? [...traces.values()]
        : [traces.get(pidOf(p, "stop a trace").key)].filter((t) => t !== undefined);
      for (const t of list) t.stop();
      return list.length;
    },
    traces() {
      return [...traces.values()].map((t) => t.pid);
    },
  };
}

/** The `dbg` namespace with its docs. */
export const DBG_PROVIDER: ScopeProvider = {
  title: "dbg (message tracing)",
  docs: DBG_DOCS,
  names: (ctx) => ({ dbg: dbgNamespace(ctx.runtime, ctx.print) }),
};
