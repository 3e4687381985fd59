/**
 * Supervisor: starts a fixed list of children, watches them, restarts them
 * by a strategy, and stops them in order. Elixir's `Supervisor`, OTP's
 * `supervisor`.
 *
 * ```
 * start:    children started in list order, each linked to the supervisor;
 *           one fails -> those started are stopped, start throws StartError
 * a child exits (the supervisor traps exits and gets {EXIT, child, reason}):
 *   temporary, or transient with a clean reason  -> not restarted
 *   otherwise one restart more in the window; more than `intensity` restarts
 *   within `periodSeconds` -> every child stopped, supervisor exits "shutdown"
 *   one_for_one:  restart that child
 *   one_for_all:  stop the others (reverse order), restart them all (in order)
 *   rest_for_one: stop the children started after it (reverse order), restart
 *                 it and them (in order)
 *   a restart that fails is tried again (it counts as one more restart)
 * stop:     children stopped in reverse start order; each gets exit
 *           "shutdown" and is killed if still alive after its `shutdown` ms
 * ```
 *
 * Supervisors nest: a child spec of type `"supervisor"` (see
 * {@linkcode Supervisor.childSpec}) starts a supervisor under another. All
 * the requests (`whichChildren`, `startChild`...) are calls to the
 * supervisor process, so they work with a name or a pid on another node.
 *
 * @example
 * ```ts
 * import { Supervisor } from "./supervisor.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess, spawnLink } from "../process/current.ts";
 *
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const worker = () => spawnLink(async (ctx) => void (await ctx.receive()));
 *   const sup = await Supervisor.start([
 *     { id: "a", start: worker },
 *     { id: "b", start: worker },
 *   ], { strategy: "one_for_all" });
 *   const counts = await Supervisor.countChildren(sup);
 *   console.assert(counts.active === 2 && counts.workers === 2);
 *   await Supervisor.stop(sup);
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
import type { ExitMessage, ProcessContext } from "../process/types.ts";
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

export type { ChildCounts, ChildInfo, SupervisorCallOptions } from "./_supervision.ts";
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

/** How a supervisor restarts children when one exits. */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

/** Options of `Supervisor.start`. */
export interface SupervisorOptions extends IntensityOptions {
  /** The restart strategy. Default `"one_for_one"`. */
  strategy?: Strategy;
  /** Register the supervisor under a local name, `{ global }` or `{ via, key }`. */
  name?: ServerName;
  /** The node to start it on; default the calling process's. */
  runtime?: Runtime;
  /** Link it to the calling process (what `startLink` sets). */
  link?: boolean;
}

/** A child as the supervisor keeps it. */
interface Child {
  spec: FullChildSpec;
  pid: Pid | undefined;
  restarting: boolean;
}

/** The supervisor's state. */
interface State {
  strategy: Strategy;
  /** In start order. */
  children: Child[];
  intensity: RestartIntensity;
  /** How the supervisor reads in logs. */
  label: string;
}

/** What `init` gets. */
interface InitArgs {
  specs: FullChildSpec[];
  strategy: Strategy;
  intensity: RestartIntensity;
  label: string;
}

/** Requests, `Supervisor.*` -> supervisor process. */
type Request =
  | { sup: "which_children" }
  | { sup: "count_children" }
  | { sup: "start_child"; spec: FullChildSpec }
  | { sup: "terminate_child"; id: string }
  | { sup: "restart_child"; id: string }
  | { sup: "delete_child"; id: string };

/** Sent by the supervisor to itself to try a failed restart again. */
interface TryAgain {
  type: "$sup_try_again";
  id: string;
}

function isTryAgain(msg: unknown): msg is TryAgain {
  return typeof msg === "object" && msg !== null && (msg as TryAgain).type === "$sup_try_again";
}

/** The supervisor process. */
class SupervisorServer extends GenServer<State, InitArgs> {
  /** The observer's view: the strategy and each child (its supervision tree). */
  override formatStatus(state: State): unknown {
    return {
      strategy: state.strategy,
      children: state.children.map((c) => ({
        id: c.spec.id,
        pid: c.pid === undefined ? undefined : String(c.pid),
        type: c.spec.type,
        restarting: c.restarting,
      })),
    };
  }

  override async init(args: InitArgs): Promise<InitResult<State>> {
    trapExit(true);
    const ctx = current();
    const state: State = {
      strategy: args.strategy,
      children: [],
      intensity: args.intensity,
      label: args.label === "" ? String(ctx.self) : args.label,
    };
    for (const spec of args.specs) {
      const outcome = await startChildProcess(ctx, spec);
      if ("error" in outcome) {
        log.error('Supervisor {sup}: child "{id}" failed to start: {reason}', {
          sup: state.label,
          id: spec.id,
          reason: outcome.error,
        });
        await stopChildren(ctx, state, state.children);
        return { stop: { shutdown: { failedToStartChild: spec.id, reason: outcome.error } } };
      }
      state.children.push({
        spec,
        pid: "ok" in outcome ? outcome.ok : undefined,
        restarting: false,
      });
    }
    return { ok: state };
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
    switch (request.sup) {
      case "which_children":
        return {
          ok: state.children.map((c): ChildInfo => ({
            id: c.spec.id,
            pid: c.restarting ? "restarting" : c.pid,
            type: c.spec.type,
          })),
        };
      case "count_children":
        return { ok: countChildren(state.children.map((c) => [c.spec, c.pid])) };
      case "start_child": {
        const spec = request.spec;
        const existing = state.children.find((c) => c.spec.id === spec.id);
        if (existing !== undefined) {
          if (existing.pid !== undefined) return { alreadyStarted: existing.pid };
          return { error: existing.restarting ? "restarting" : "already_present" };
        }
        const outcome = await startChildProcess(ctx, spec);
        if ("error" in outcome) return { startError: outcome.error };
        const pid = "ok" in outcome ? outcome.ok : undefined;
        state.children.push({ spec, pid, restarting: false });
        return pid === undefined ? { startError: "ignore" } : { ok: pid };
      }
      case "terminate_child": {
        const child = state.children.find((c) => c.spec.id === request.id);
        if (child === undefined) return { error: "not_found" };
        if (child.pid !== undefined) await stopChild(ctx, child.pid, child.spec, state.label);
        child.pid = undefined;
        child.restarting = false;
        if (child.spec.restart === "temporary") {
          state.children = state.children.filter((c) => c !== child);
        }
        return { ok: undefined };
      }
      case "restart_child": {
        const child = state.children.find((c) => c.spec.id === request.id);
        if (child === undefined) return { error: "not_found" };
        if (child.pid !== undefined) return { error: "running" };
        if (child.restarting) return { error: "restarting" };
        const outcome = await startChildProcess(ctx, child.spec);
        if ("error" in outcome) return { startError: outcome.error };
        if ("ignore" in outcome) return { startError: "ignore" };
        child.pid = outcome.ok;
        return { ok: outcome.ok };
      }
      case "delete_child": {
        const child = state.children.find((c) => c.spec.id === request.id);
        if (child === undefined) return { error: "not_found" };
        if (child.pid !== undefined) return { error: "running" };
        if (child.restarting) return { error: "restarting" };
        state.children = state.children.filter((c) => c !== child);
        return { ok: undefined };
      }
      default:
        throw new TypeError(`Unknown supervisor request: ${describe(request)}`);
    }
  }

  override async handleInfo(msg: unknown, state: State): Promise<InfoResult<State>> {
    if (isTryAgain(msg)) {
      const index = state.children.findIndex((c) => c.spec.id === msg.id && c.restarting);
      if (index < 0) return { noreply: true, state };
      return await this.#restart(index, state);
    }
    const exit = msg as ExitMessage;
    if (typeof msg !== "object" || msg === null || exit.type !== "EXIT") {
      return super.handleInfo(msg, state);
    }
    const index = state.children.findIndex((c) => c.pid !== undefined && c.pid.equals(exit.from));
    if (index < 0) return { noreply: true, state }; // not a child (any more)
    const child = state.children[index]!;
    logChildExit(state.label, child.spec, exit.from, exit.reason);
    child.pid = undefined;
    if (child.spec.restart === "temporary") {
      state.children.splice(index, 1);
      return { noreply: true, state };
    }
    if (child.spec.restart === "transient" && isCleanExit(exit.reason)) {
      return { noreply: true, state };
    }
    return await this.#restart(index, state);
  }

  /** One restart of the child at `index`, by the strategy; gives up past the intensity. */
  async #restart(index: number, state: State): Promise<InfoResult<State>> {
    const ctx = current();
    const failed = state.children[index]!;
    if (!countRestart(state.intensity, state.label, ctx.runtime, failed.spec.id)) {
      return { stop: "shutdown", state };
    }
    let group: Child[];
    switch (state.strategy) {
      case "one_for_one":
        group = [failed];
        break;
      case "one_for_all":
        group = state.children.slice();
        break;
      case "rest_for_one":
        group = state.children.slice(index);
        break;
    }
    // Siblings go down in reverse start order; temporary ones are not restarted.
    await stopChildren(ctx, state, group.filter((c) => c !== failed));
    const dropped = new Set(group.filter((c) => c !== failed && c.spec.restart === "temporary"));
    if (dropped.size > 0) state.children = state.children.filter((c) => !dropped.has(c));
    group = group.filter((c) => !dropped.has(c));
    for (let i = 0; i < group.length; i++) {
      const child = group[i]!;
      const outcome = await startChildProcess(ctx, child.spec);
      if ("error" in outcome) {
        log.error('Supervisor {sup}: child "{id}" failed to restart: {reason}', {
          sup: state.label,
          id: child.spec.id,
          reason: outcome.error,
        });
        for (const rest of group.slice(i)) {
          rest.pid = undefined;
          rest.restarting = true;
        }
        // As OTP's try_again, but through a timer: the event loop gets a turn between attempts.
        ctx.runtime.sendAfter(
          ctx.self,
          { type: "$sup_try_again", id: child.spec.id } satisfies TryAgain,
          0,
        );
        return { noreply: true, state };
      }
      child.pid = "ok" in outcome ? outcome.ok : undefined;
      child.restarting = false;
    }
    return { noreply: true, state };
  }

  override async terminate(_reason: unknown, state: State): Promise<void> {
    await stopChildren(current(), state, state.children);
  }
}

/** Stops the running ones of `children`, last started first. */
async function stopChildren(ctx: ProcessContext, state: State, children: Child[]): Promise<void> {
  for (let i = children.length - 1; i >= 0; i--) {
    const child = children[i]!;
    if (child.pid === undefined) continue;
    const pid = child.pid;
    child.pid = undefined;
    await stopChild(ctx, pid, child.spec, state.label);
  }
}

function checkStrategy(strategy: unknown, what: string): Strategy {
  if (strategy === "one_for_one" || strategy === "one_for_all" || strategy === "rest_for_one") {
    return strategy;
  }
  throw new TypeError(
    `Cannot ${what}: strategy must be "one_for_one", "one_for_all" or "rest_for_one", received ${
      describe(strategy)
    }`,
  );
}

async function start(children: ChildSpec[], options: SupervisorOptions = {}): Promise<Pid> {
  const what = options?.link ? "start_link supervisor" : "start supervisor";
  if (!Array.isArray(children)) {
    throw new TypeError(`Cannot ${what}: children must be an array of child specs`);
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${what}: options must be an object`);
  }
  const specs = children.map((c) => normalizeChildSpec(c, what));
  const ids = new Set<string>();
  for (const spec of specs) {
    if (ids.has(spec.id)) throw new TypeError(`Cannot ${what}: duplicate child id "${spec.id}"`);
    ids.add(spec.id);
  }
  const strategy = checkStrategy(options.strategy ?? "one_for_one", what);
  const intensity = new RestartIntensity(options, what);
  const label = options.name === undefined ? "" : describeServer(options.name);
  return await GenServer.start(
    SupervisorServer,
    { specs, strategy, intensity, label },
    serverStartOptions(options),
  );
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== "string" || id === "") {
    throw new TypeError(`Cannot ${what}: child id must be a non-empty string`);
  }
  return id;
}

/** The shape of {@linkcode Supervisor}. */
export interface SupervisorNamespace {
  /**
   * Starts a supervisor with `children`, started in order before this
   * resolves.
   *
   * @throws {StartError} when a child fails to start (reason `{ shutdown: { failedToStartChild, reason } }`)
   * @throws {TypeError} on a malformed child spec or option, or duplicate ids
   * @throws {RangeError} when intensity or periodSeconds is out of range
   */
  start(children: ChildSpec[], options?: SupervisorOptions): Promise<Pid>;
  /** Starts a supervisor linked to the calling process. */
  startLink(children: ChildSpec[], options?: Omit<SupervisorOptions, "link">): Promise<Pid>;
  /** A child spec that starts a supervisor under another (type `"supervisor"`, shutdown `"infinity"`). */
  childSpec(
    children: ChildSpec[],
    options: Omit<SupervisorOptions, "link" | "runtime"> & {
      id: string;
      restart?: ChildSpec["restart"];
      shutdown?: ChildSpec["shutdown"];
    },
  ): ChildSpec;
  /** The children, in start order. */
  whichChildren(sup: ServerRef, options?: SupervisorCallOptions): Promise<ChildInfo[]>;
  /** How many children, running, workers and supervisors. */
  countChildren(sup: ServerRef, options?: SupervisorCallOptions): Promise<ChildCounts>;
  /**
   * Adds a child and starts it.
   * @throws {AlreadyStartedError} when a running child has that id
   * @throws {SupervisorError} `"already_present"` when a stopped child has that id
   * @throws {StartError} when it fails to start (reason `"ignore"` when it ignored; the spec is kept)
   */
  startChild(sup: ServerRef, spec: ChildSpec, options?: SupervisorCallOptions): Promise<Pid>;
  /**
   * Stops a child (its spec stays, unless it is temporary).
   * @throws {SupervisorError} `"not_found"`
   */
  terminateChild(sup: ServerRef, id: string, options?: SupervisorCallOptions): Promise<void>;
  /**
   * Starts a stopped child again.
   * @throws {SupervisorError} `"not_found"`, `"running"` or `"restarting"`
   * @throws {StartError} when it fails to start
   */
  restartChild(sup: ServerRef, id: string, options?: SupervisorCallOptions): Promise<Pid>;
  /**
   * Removes a stopped child's spec.
   * @throws {SupervisorError} `"not_found"`, `"running"` or `"restarting"`
   */
  deleteChild(sup: ServerRef, id: string, options?: SupervisorCallOptions): Promise<void>;
  /** Stops the supervisor and its children (reverse order); as `GenServer.stop`. */
  stop(sup: ServerRef, reason?: unknown, options?: SupervisorCallOptions): Promise<void>;
}

/**
 * Elixir's `Supervisor`.
 *
 * @example
 * ```ts
 * import { Supervisor } from "./supervisor.ts";
 * import { GenServer } from "./gen_server.ts";
 * import { Runtime } from "../process/runtime.ts";
 * import { runInProcess } from "../process/current.ts";
 *
 * class Worker extends GenServer<null> {
 *   override init() {
 *     return { ok: null };
 *   }
 * }
 * const rt = new Runtime();
 * await runInProcess(rt.open(), async () => {
 *   const sup = await Supervisor.start([
 *     GenServer.childSpec(Worker, undefined, { id: "w1" }),
 *     Supervisor.childSpec([GenServer.childSpec(Worker, undefined, { id: "w2" })], { id: "inner" }),
 *   ], { strategy: "rest_for_one", intensity: 5, periodSeconds: 10 });
 *   const children = await Supervisor.whichChildren(sup);
 *   console.assert(children.map((c) => c.id).join() === "w1,inner");
 *   console.assert(children[1]!.type === "supervisor");
 *   await Supervisor.stop(sup); // inner (and w2) first, then w1
 * });
 * await rt.shutdown();
 * ```
 */
export const Supervisor: SupervisorNamespace = Object.freeze({
  start,
  startLink: (children: ChildSpec[], options: Omit<SupervisorOptions, "link"> = {}) =>
    start(children, { ...options, link: true }),
  childSpec(
    children: ChildSpec[],
    options: Omit<SupervisorOptions, "link" | "runtime"> & {
      id: string;
      restart?: ChildSpec["restart"];
      shutdown?: ChildSpec["shutdown"];
    },
  ): ChildSpec {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot make supervisor child spec: options with an id are required");
    }
    const { id, restart, shutdown, ...rest } = options;
    const spec: ChildSpec = {
      id: checkId(id, "make supervisor child spec"),
      start: () => start(children, { ...rest, link: true }),
      type: "supervisor",
    };
    if (restart !== undefined) spec.restart = restart;
    if (shutdown !== undefined) spec.shutdown = shutdown;
    return spec;
  },
  whichChildren: (sup: ServerRef, options?: SupervisorCallOptions) =>
    callSupervisor<Request>(sup, { sup: "which_children" }, options, "list children") as Promise<
      ChildInfo[]
    >,
  countChildren: (sup: ServerRef, options?: SupervisorCallOptions) =>
    callSupervisor<Request>(sup, { sup: "count_children" }, options, "count children") as Promise<
      ChildCounts
    >,
  async startChild(sup: ServerRef, spec: ChildSpec, options?: SupervisorCallOptions): Promise<Pid> {
    const full = normalizeChildSpec(spec, "start child");
    const what = `start child "${full.id}"`;
    return await callSupervisor<Request>(
      sup,
      { sup: "start_child", spec: full },
      options,
      what,
    ) as Pid;
  },
  async terminateChild(sup: ServerRef, id: string, options?: SupervisorCallOptions): Promise<void> {
    const what = `terminate child "${checkId(id, "terminate child")}"`;
    await callSupervisor<Request>(sup, { sup: "terminate_child", id }, options, what);
  },
  async restartChild(sup: ServerRef, id: string, options?: SupervisorCallOptions): Promise<Pid> {
    const what = `restart child "${checkId(id, "restart child")}"`;
    return await callSupervisor<Request>(sup, { sup: "restart_child", id }, options, what) as Pid;
  },
  async deleteChild(sup: ServerRef, id: string, options?: SupervisorCallOptions): Promise<void> {
    const what = `delete child "${checkId(id, "delete child")}"`;
    await callSupervisor<Request>(sup, { sup: "delete_child", id }, options, what);
  },
  stop: (sup: ServerRef, reason: unknown = "normal", options?: SupervisorCallOptions) =>
    GenServer.stop(sup, reason, options),
});
