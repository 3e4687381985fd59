/**
 * Child specifications: what a supervisor needs to know to start, restart
 * and stop one child, as Elixir's child spec maps.
 *
 * ```
 * { id: "cache", start: () => GenServer.startLink(Cache, {}), restart: "permanent",
 *   shutdown: 5000, type: "worker" }
 * ```
 *
 * The `start` function runs inside the supervisor process, so a start
 * function that links (`GenServer.startLink`, `spawnLink`, `Supervisor.startLink`)
 * links the child to its supervisor. The supervisor links to whatever pid
 * it gets back, too, so a plain `spawn` works as well.
 *
 * @example
 * ```ts
 * import { normalizeChildSpec } from "./child_spec.ts";
 * import { Pid } from "../term/pid.ts";
 * const spec = normalizeChildSpec({ id: "w", start: () => new Pid("a@h", 1, 0, 1) }, "start child");
 * console.assert(spec.restart === "permanent" && spec.shutdown === 5000 && spec.type === "worker");
 * ```
 *
 * @module
 */

import { describeType } from "../errors.ts";
import type { Pid } from "../term/pid.ts";

/**
 * When a child is restarted: `"permanent"` always, `"transient"` only after
 * an abnormal exit (not `"normal"`, `"shutdown"` or `{ shutdown: x }`),
 * `"temporary"` never (and it is forgotten once it exits).
 */
export type RestartType = "permanent" | "transient" | "temporary";

/**
 * How a child is stopped: milliseconds to wait after the `"shutdown"` exit
 * signal before killing it, `"brutal_kill"` to kill it at once, or
 * `"infinity"` to wait for as long as it takes (the default for
 * supervisors).
 */
export type Shutdown = number | "brutal_kill" | "infinity";

/** Whether the child is a worker or a supervisor itself. */
export type ChildType = "worker" | "supervisor";

/**
 * Starts a child and returns its pid, or `undefined` when the child decided
 * not to start (Erlang's `ignore`; a `StartError` whose `reason` is
 * `"ignore"` counts the same). Throwing means the start failed.
 */
export type StartFunction = () => Pid | undefined | Promise<Pid | undefined>;

/**
 * One child of a supervisor.
 *
 * @example
 * ```ts
 * import type { ChildSpec } from "./child_spec.ts";
 * import { spawnLink } from "../process/current.ts";
 * const spec: ChildSpec = {
 *   id: "ticker",
 *   start: () => spawnLink(async (ctx) => void (await ctx.receive())),
 *   restart: "transient",
 *   shutdown: "brutal_kill",
 * };
 * console.assert(spec.id === "ticker");
 * ```
 */
export interface ChildSpec {
  /** Names the child within its supervisor (ignored by a dynamic supervisor). */
  id: string;
  /** Starts the child, linked to the calling (supervisor) process. */
  start: StartFunction;
  /** When to restart it. Default `"permanent"`. */
  restart?: RestartType;
  /** How to stop it. Default 5000 for a worker, `"infinity"` for a supervisor. */
  shutdown?: Shutdown;
  /** Default `"worker"`. */
  type?: ChildType;
}

/** A child spec with every default filled in. */
export interface FullChildSpec {
  /** Names the child within its supervisor. */
  readonly id: string;
  /** Starts the child. */
  readonly start: StartFunction;
  /** When to restart it. */
  readonly restart: RestartType;
  /** How to stop it. */
  readonly shutdown: Shutdown;
  /** Worker or supervisor. */
  readonly type: ChildType;
}

const RESTARTS: readonly string[] = ["permanent", "transient", "temporary"];
const TYPES: readonly string[] = ["worker", "supervisor"];

/**
 * Checks a child spec and fills in its defaults.
 *
 * @param spec what the caller gave
 * @param what the operation, for error messages ("start supervisor")
 * @param needsId whether `id` is required (not for a dynamic supervisor)
 * @returns the spec with defaults
 * @throws {TypeError} when a field is missing or malformed
 * @throws {RangeError} when `shutdown` is a negative or fractional number
 *
 * @example
 * ```ts
 * import { normalizeChildSpec } from "./child_spec.ts";
 * let threw = false;
 * try { normalizeChildSpec({ id: "x", start: "nope" }, "start child"); } catch (e) { threw = e instanceof TypeError; }
 * console.assert(threw);
 * ```
 */
export function normalizeChildSpec(spec: unknown, what: string, needsId = true): FullChildSpec {
  if (typeof spec !== "object" || spec === null) {
    throw new TypeError(
      `Cannot ${what}: a child spec must be an object, received ${describeType(spec)}`,
    );
  }
  const s = spec as Partial<ChildSpec>;
  let id = s.id;
  if (id === undefined && !needsId) id = "";
  if (typeof id !== "string" || (needsId && id === "")) {
    throw new TypeError(
      `Cannot ${what}: child id must be a non-empty string, received ${describeType(id)}`,
    );
  }
  const label = id === "" ? "child" : `child "${id}"`;
  if (typeof s.start !== "function") {
    throw new TypeError(
      `Cannot ${what}: ${label} needs a start function, received ${describeType(s.start)}`,
    );
  }
  const restart = s.restart ?? "permanent";
  if (!RESTARTS.includes(restart)) {
    throw new TypeError(
      `Cannot ${what}: ${label} restart must be "permanent", "transient" or "temporary", received ${
        describeType(restart)
      }`,
    );
  }
  const type = s.type ?? "worker";
  if (!TYPES.includes(type)) {
    throw new TypeError(
      `Cannot ${what}: ${label} type must be "worker" or "supervisor", received ${
        describeType(type)
      }`,
    );
  }
  const shutdown = s.shutdown ?? (type === "supervisor" ? "infinity" : 5000);
  if (typeof shutdown === "number") {
    if (!Number.isInteger(shutdown) || shutdown < 0 || shutdown > 0x7fffffff) {
      throw new RangeError(
        `Cannot ${what}: ${label} shutdown must be 0-2147483647 ms, received ${shutdown}`,
      );
    }
  } else if (shutdown !== "brutal_kill" && shutdown !== "infinity") {
    throw new TypeError(
      `Cannot ${what}: ${label} shutdown must be milliseconds, "brutal_kill" or "infinity", received ${
        describeType(shutdown)
      }`,
    );
  }
  return { id, start: s.start, restart, shutdown, type };
}
