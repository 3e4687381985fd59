/**
 * DynamicSupervisor: a supervisor that starts with no children and gets
 * them one at a time, as Elixir's `DynamicSupervisor`. Children are
 * one_for_one and known by pid; ids are not used.
 *
 * ```
 * startChild(sup, spec) -> the supervisor runs spec.start (linked), keeps the pid
 *                          (refused with "max_children" at maxChildren)
 * a child exits         -> temporary, or transient with a clean reason: forgotten;
 *                          otherwise restarted in place (new pid), counted against
 *                          intensity/periodSeconds; past it the supervisor exits "shutdown"
 * stop                  -> every child gets exit "shutdown" at once, and is killed
 *                          if still alive after its shutdown time
 * ```
 *
 * @example
 * ```ts
 * import { DynamicSupervisor } from "./dynamic_supervisor.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess, spawnLink } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const sup = await DynamicSupervisor.start({ maxChildren: 10 });
 *   const pid = await DynamicSupervisor.startChild(sup, {
 *     start: () => spawnLink(async (ctx) => void (await ctx.receive())),
 *   });
 *   console.assert((await DynamicSupervisor.countChildren(sup)).active === 1);
 *   await DynamicSupervisor.terminateChild(sup, pid);
 *   await DynamicSupervisor.stop(sup);
 * });
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { describe } from "../errors.ts";
import { logger } from "../log.ts";
import { current, trapExit } from "../process/current.ts";
import type { Runtime } from "../process/runtime.ts";
import type { ExitMessage } from "../process/types.ts";
import { Pid } from "../term/pid.ts";
import { isCleanExit } from "./_reason.ts";
import {
  callSupervisor,
  type ChildCounts,
  type ChildInfo,
  countChildren,
  countRestart,
  type IntensityOptions,
  logChildExit,
  RestartIntensity,
  serverStartOptions,
  startChildProcess,
  stopChild,
  type SupervisorCallOptions,
  type SupervisorReply,
} from "./_supervision.ts";
import { type ChildSpec, type FullChildSpec, normalizeChildSpec } from "./child_spec.ts";
import {
  type CallResult,
  type From,
  GenServer,
  type InfoResult,
  type InitResult,
  type ServerName,
  type ServerRef,
} from "./gen_server.ts";
import { describeServer } from "./name.ts";

const log = logger("otp");

/** A child spec for a dynamic supervisor: `id` may be left out. */
export type DynamicChildSpec = Omit<ChildSpec, "id"> & { id?: string };

/** Options of `DynamicSupervisor.start`. */
export interface DynamicSupervisorOptions extends IntensityOptions {
  /** Most children at once; `startChild` past it throws `SupervisorError` "max_children". Default `Infinity`. */
  maxChildren?: number;
  /** Register the supervisor under a local name, `{ global }` or `{ via, key }`. */
  name?: ServerName;
  /** The node to start it on; default the calling process's. */
  runtime?: Runtime;
  /** Link it to the calling process (what `startLink` sets). */
  link?: boolean;
}

interface Child {
  spec: FullChildSpec;
  pid: Pid | undefined;
  restarting: boolean;
}

interface State {
  /** By a number that stays the same across restarts, in start order. */
  children: Map<number, Child>;
  /** Running children's numbers by `pid.key`. */
  byPid: Map<string, number>;
  nextId: number;
  maxChildren: number;
  intensity: RestartIntensity;
  label: string;
}

interface InitArgs {
  maxChildren: number;
  intensity: RestartIntensity;
  label: string;
}

type Request =
  | { dsup: "start_child"; spec: FullChildSpec }
  | { dsup: "terminate_child"; pid: Pid }
  | { dsup: "which_children" }
  | { dsup: "count_children" };

interface TryAgain {
  type: "$dsup_try_again";
  id: number;
}

function isTryAgain(msg: unknown): msg is TryAgain {
  return typeof msg === "object" && msg !== null && (msg as TryAgain).type === "$dsup_try_again";
}

class DynamicSupervisorServer extends GenServer<State, InitArgs> {
  /** The observer's view: each child (its supervision tree). */
  override formatStatus(state: State): unknown {
    return {
      strategy: "one_for_one",
      children: [...state.children.values()].map((c) => ({
        id: c.spec.id,
        pid: c.pid === undefined ? undefined : String(c.pid),
        type: c.spec.type,
        restarting: c.restarting,
      })),
    };
  }

  override init(args: InitArgs): InitResult<State> {
    trapExit(true);
    return {
      ok: {
        children: new Map(),
        byPid: new Map(),
        nextId: 1,
        maxChildren: args.maxChildren,
        intensity: args.intensity,
        label: args.label === "" ? String(current().self) : args.label,
      },
    };
  }

  override async handleCall(
    request: Request,
    _from: From,
    state: State,
  ): Promise<CallResult<State>> {
    return { reply: await this.#request(request, state), state };
  }

  async #request(request: Request, state: State): Promise<SupervisorReply> {
    const ctx = current();
    switch (request.dsup) {
      case "start_child": {
        if (state.children.size >= state.maxChildren) return { error: "max_children" };
        const outcome = await startChildProcess(ctx, request.spec);
        if ("error" in outcome) return { startError: outcome.error };
        if ("ignore" in outcome) return { startError: "ignore" };
        const id = state.nextId++;
        state.children.set(id, { spec: request.spec, pid: outcome.ok, restarting: false });
        state.byPid.set(outcome.ok.key, id);
        return { ok: outcome.ok };
      }
      case "terminate_child": {
        const id = state.byPid.get(request.pid.key);
        if (id === undefined) return { error: "not_found" };
        const child = state.children.get(id)!;
        state.byPid.delete(request.pid.key);
        state.children.delete(id);
        await stopChild(ctx, request.pid, child.spec, state.label);
        return { ok: undefined };
      }
      case "which_children":
        return {
          ok: [...state.children.values()].map((c): ChildInfo => ({
            id: undefined,
            pid: c.restarting ? "restarting" : c.pid,
            type: c.spec.type,
          })),
        };
      case "count_children":
        return {
          ok: countChildren([...state.children.values()].map((c) => [c.spec, c.pid])),
        };
      default:
        throw new TypeError(`Unknown dynamic supervisor request: ${describe(request)}`);
    }
  }

  override async handleInfo(msg: unknown, state: State): Promise<InfoResult<State>> {
    if (isTryAgain(msg)) {
      const child = state.children.get(msg.id);
      if (child === undefined || !child.restarting) return { noreply: true, state };
      return await this.#restart(msg.id, child, state);
    }
    const exit = msg as ExitMessage;
    if (typeof msg !== "object" || msg === null || exit.type !== "EXIT") {
      return super.handleInfo(msg, state);
    }
    if (!(exit.from instanceof Pid)) return { noreply: true, state };
    const id = state.byPid.get(exit.from.key);
    if (id === undefined) return { noreply: true, state };
    const child = state.children.get(id)!;
    state.byPid.delete(exit.from.key);
    child.pid = undefined;
    logChildExit(state.label, child.spec, exit.from, exit.reason);
    if (
      child.spec.restart === "temporary" ||
      (child.spec.restart === "transient" && isCleanExit(exit.reason))
    ) {
      state.children.delete(id);
      return { noreply: true, state };
    }
    return await this.#restart(id, child, state);
  }

  async #restart(id: number, child: Child, state: State): Promise<InfoResult<State>> {
    const ctx = current();
    if (!countRestart(state.intensity, state.label, ctx.runtime, id)) {
      return { stop: "shutdown", state };
    }
    const outcome = await startChildProcess(ctx, child.spec);
    if ("ok" in outcome) {
      child.pid = outcome.ok;
      child.restarting = false;
      state.byPid.set(outcome.ok.key, id);
    } else if ("ignore" in outcome) {
      state.children.delete(id);
    } else {
      log.error("Supervisor {sup}: a child failed to restart: {reason}", {
        sup: state.label,
        reason: outcome.error,
      });
      child.restarting = true;
      // As OTP's try_again, but through a timer: the event loop gets a turn between attempts.
      ctx.runtime.sendAfter(ctx.self, { type: "$dsup_try_again", id } satisfies TryAgain, 0);
    }
    return { noreply: true, state };
  }

  override async terminate(_reason: unknown, state: State): Promise<void> {
    // All at once, as Elixir's DynamicSupervisor does.
    const ctx = current();
    const running = [...state.children.values()].filter((c) => c.pid !== undefined);
    state.children.clear();
    state.byPid.clear();
    await Promise.all(running.map((c) => stopChild(ctx, c.pid!, c.spec, state.label)));
  }
}

async function start(options: DynamicSupervisorOptions = {}): Promise<Pid> {
  const what = options?.link ? "start_link dynamic supervisor" : "start dynamic supervisor";
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${what}: options must be an object`);
  }
  const maxChildren = options.maxChildren ?? Infinity;
  if (
    typeof maxChildren !== "number" ||
    !(maxChildren === Infinity || (Number.isInteger(maxChildren) && maxChildren >= 0))
  ) {
    throw new RangeError(
      `Cannot ${what}: maxChildren must be an integer 0 or more, or Infinity, received ${
        describe(maxChildren)
      }`,
    );
  }
  const intensity = new RestartIntensity(options, what);
  const label = options.name === undefined ? "" : describeServer(options.name);
  return await GenServer.start(
    DynamicSupervisorServer,
    { maxChildren, intensity, label },
    serverStartOptions(options),
  );
}

/** The shape of {@linkcode DynamicSupervisor}. */
export interface DynamicSupervisorNamespace {
  /**
   * Starts a dynamic supervisor with no children.
   * @throws {RangeError} when maxChildren, intensity or periodSeconds is out of range
   */
  start(options?: DynamicSupervisorOptions): Promise<Pid>;
  /** Starts one linked to the calling process. */
  startLink(options?: Omit<DynamicSupervisorOptions, "link">): Promise<Pid>;
  /** A child spec that starts a dynamic supervisor under another supervisor. */
  childSpec(
    options: Omit<DynamicSupervisorOptions, "link" | "runtime"> & {
      id: string;
      restart?: ChildSpec["restart"];
      shutdown?: ChildSpec["shutdown"];
    },
  ): ChildSpec;
  /**
   * Starts a child under the supervisor.
   * @returns its pid
   * @throws {SupervisorError} `"max_children"` when full
   * @throws {StartError} when it fails to start (reason `"ignore"` when it ignored; it is not kept)
   */
  startChild(sup: ServerRef, spec: DynamicChildSpec, options?: SupervisorCallOptions): Promise<Pid>;
  /**
   * Stops a child and forgets it.
   * @throws {SupervisorError} `"not_found"` when `pid` is not its child
   */
  terminateChild(sup: ServerRef, pid: Pid, options?: SupervisorCallOptions): Promise<void>;
  /** The children (ids are `undefined`). */
  whichChildren(sup: ServerRef, options?: SupervisorCallOptions): Promise<ChildInfo[]>;
  /** How many children, running, workers and supervisors. */
  countChildren(sup: ServerRef, options?: SupervisorCallOptions): Promise<ChildCounts>;
  /** Stops the supervisor and every child; as `GenServer.stop`. */
  stop(sup: ServerRef, reason?: unknown, options?: SupervisorCallOptions): Promise<void>;
}

/**
 * Elixir's `DynamicSupervisor`.
 *
 * @example
 * ```ts
 * import { DynamicSupervisor } from "./dynamic_supervisor.ts";
 * import { SupervisorError } from "./errors.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess, spawnLink } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const sup = await DynamicSupervisor.start({ maxChildren: 1 });
 *   const spec = { start: () => spawnLink(async (ctx) => void (await ctx.receive())) };
 *   await DynamicSupervisor.startChild(sup, spec);
 *   try {
 *     await DynamicSupervisor.startChild(sup, spec);
 *   } catch (e) {
 *     console.assert(e instanceof SupervisorError && e.code === "max_children");
 *   }
 *   await DynamicSupervisor.stop(sup);
 * });
 * await rt.shutdown();
 * ```
 */
export const DynamicSupervisor: DynamicSupervisorNamespace = Object.freeze({
  start,
  startLink: (options: Omit<DynamicSupervisorOptions, "link"> = {}) =>
    start({ ...options, link: true }),
  childSpec(
    options: Omit<DynamicSupervisorOptions, "link" | "runtime"> & {
      id: string;
      restart?: ChildSpec["restart"];
      shutdown?: ChildSpec["shutdown"];
    },
  ): ChildSpec {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        "Cannot make dynamic supervisor child spec: options with an id are required",
      );
    }
    const { id, restart, shutdown, ...rest } = options;
    if (typeof id !== "string" || id === "") {
      throw new TypeError(
        "Cannot make dynamic supervisor child spec: id must be a non-empty string",
      );
    }
    const spec: ChildSpec = { id, start: () => start({ ...rest, link: true }), type: "supervisor" };
    if (restart !== undefined) spec.restart = restart;
    if (shutdown !== undefined) spec.shutdown = shutdown;
    return spec;
  },
  async startChild(
    sup: ServerRef,
    spec: DynamicChildSpec,
    options?: SupervisorCallOptions,
  ): Promise<Pid> {
    const full = normalizeChildSpec(spec, "start child", false);
    return await callSupervisor<Request>(
      sup,
      { dsup: "start_child", spec: full },
      options,
      "start child",
    ) as Pid;
  },
  async terminateChild(sup: ServerRef, pid: Pid, options?: SupervisorCallOptions): Promise<void> {
    if (!(pid instanceof Pid)) throw new TypeError("Cannot terminate child: expected a pid");
    await callSupervisor<Request>(
      sup,
      { dsup: "terminate_child", pid },
      options,
      `terminate child ${pid}`,
    );
  },
  whichChildren: (sup: ServerRef, options?: SupervisorCallOptions) =>
    callSupervisor<Request>(sup, { dsup: "which_children" }, options, "list children") as Promise<
      ChildInfo[]
    >,
  countChildren: (sup: ServerRef, options?: SupervisorCallOptions) =>
    callSupervisor<Request>(sup, { dsup: "count_children" }, options, "count children") as Promise<
      ChildCounts
    >,
  stop: (sup: ServerRef, reason: unknown = "normal", options?: SupervisorCallOptions) =>
    GenServer.stop(sup, reason, options),
});
