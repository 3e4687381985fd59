/**
 * Console output of processes that run for another node, as Erlang's group
 * leader arranges it: a process spawned (or a function called) from node
 * A on node B has A's group leader, so what it prints with
 * `console.log/info/debug/warn/error` appears on A's console, not B's.
 *
 * ```
 * B: the process's code  console.log("hi")
 *      -> wrapped console method: is the running process one that forwards?
 *         yes: format the line, RPC_IO [gl, "log", "hi"] to A    no: print on B as usual
 * A: RPC_IO -> its console writer (by default A's own console.log)
 * ```
 *
 * `console` is global, shared by every node of an OS process, so the
 * methods are wrapped once, when a process first forwards, and each call
 * looks up which process runs (the process layer's `AsyncLocalStorage`)
 * to see whether its lines go elsewhere. Only the process that was started
 * for the other node forwards (and code that runs as it: its timers, its
 * callbacks); processes it spawns in turn print where they run. While the
 * origin node is not connected, lines are printed where they are made.
 *
 * @example
 * ```ts
 * import { runWithGroupLeader } from "./group_leader.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { Pid } from "../term/pid.ts";
 * const rt = new Runtime({ node: "b@h" });
 * const lines: string[] = [];
 * const leader = new Pid("a@h", 1, 0, 1);
 * rt.spawn((ctx) =>
 *   runWithGroupLeader(ctx, leader, (_level, text) => lines.push(text), () => console.log("hi %d", 42))
 * );
 * await new Promise((r) => setTimeout(r, 0));
 * console.assert(lines[0] === "hi 42");
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { formatWithOptions } from "node:util";
import { current } from "../process/current.ts";
import type { ProcessContext } from "../process/types.ts";
import type { Pid } from "../term/pid.ts";
import { CONSOLE_LEVELS, type ConsoleLevel } from "./types.ts";

/** Where the lines of a forwarding process go. */
export type LineWriter = (level: ConsoleLevel, text: string) => void;

interface Forwarding {
  /** Its group leader. */
  leader: Pid;
  /** Sends a line on. */
  write: LineWriter;
}

/** The processes whose lines go elsewhere. */
const forwarding = new WeakMap<ProcessContext, Forwarding>();
/** Set while a line is written locally on purpose (a group leader writing what it got). */
const local = new AsyncLocalStorage<true>();

/** Whether any process of this OS process ever forwarded: until then the console is untouched. */
let installed = false;

/** Marks the console methods this module wrapped. */
const WRAPPED = Symbol("weft.rpc.console");

/** The forwarding of the running process, if it forwards. */
function active(): Forwarding | undefined {
  if (!installed || local.getStore() === true) return undefined;
  let ctx: ProcessContext;
  try {
    ctx = current();
  } catch {
    return undefined;
  }
  return forwarding.get(ctx);
}

/**
 * Wraps the console methods (once; again if someone, such as the shell,
 * has replaced them since); without forwarding they behave as before.
 */
function install(): void {
  installed = true;
  const target = console as unknown as Record<ConsoleLevel, (...args: unknown[]) => void>;
  for (const level of CONSOLE_LEVELS) {
    const original = target[level];
    if ((original as { [WRAPPED]?: true })[WRAPPED]) continue;
    const wrapped = function (this: unknown, ...args: unknown[]): void {
      const f = active();
      if (f === undefined) return original.apply(this, args);
      let text: string;
      try {
        text = formatWithOptions({ colors: false }, ...args);
      } catch (e) {
        text = `<cannot format console arguments: ${e instanceof Error ? e.message : e}>`;
      }
      try {
        f.write(level, text);
      } catch {
        original.call(this, "%s", text);
      }
    };
    Object.defineProperty(wrapped, WRAPPED, { value: true });
    target[level] = wrapped;
  }
}

/**
 * Runs `fn` as code of the process `ctx` whose console lines go to
 * `write` (on their way to the group leader `leader`); the console is
 * wrapped on first use.
 *
 * @param ctx the running process
 * @param leader its group leader
 * @param write where its lines go
 * @param fn the code
 * @returns what `fn` returns
 *
 * @example
 * ```ts
 * import { groupLeader, runWithGroupLeader } from "./group_leader.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 * import { Pid } from "../term/pid.ts";
 * const rt = new Runtime({ node: "b@h" });
 * const ctx = rt.open();
 * const leader = new Pid("a@h", 1, 0, 1);
 * runInProcess(ctx, () =>
 *   runWithGroupLeader(ctx, leader, () => {}, () => console.assert(groupLeader()?.equals(leader)))
 * );
 * await rt.shutdown();
 * ```
 */
export function runWithGroupLeader<T>(
  ctx: ProcessContext,
  leader: Pid,
  write: LineWriter,
  fn: () => T,
): T {
  install();
  forwarding.set(ctx, { leader, write });
  return fn();
}

/**
 * The group leader of the running process when its output goes to
 * another node; `undefined` when it prints where it runs.
 *
 * @returns the leader's pid, or `undefined`
 *
 * @example
 * ```ts
 * import { groupLeader } from "./group_leader.ts";
 * console.assert(groupLeader() === undefined);
 * ```
 */
export function groupLeader(): Pid | undefined {
  return active()?.leader;
}

/**
 * Writes a line on this OS process's console, whoever runs: what a group
 * leader does with the lines it gets.
 *
 * @param level the console method
 * @param text the formatted line
 *
 * @example
 * ```ts
 * import { writeConsole } from "./group_leader.ts";
 * writeConsole("debug", "a line");
 * ```
 */
export function writeConsole(level: ConsoleLevel, text: string): void {
  local.run(true, () => console[level]("%s", text));
}
