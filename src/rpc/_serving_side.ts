/**
 * The serving side of rpc on one node: it runs what peers ask for.
 * Handlers are called by the node kernel with the sending node ("Sent
 * from the rpc client of node A").
 *
 * ```
 * RPC_CALL [id, target, args, gl] from A
 *   policy, then module/function lookup (or evaluate the source)
 *     refused / undefined -> RPC_REPLY [id, status, detail] at once
 *   spawn a process: target(...args), its console lines to gl
 *     returned -> RPC_REPLY [id, 0, result]      threw -> [id, 1, error]
 *     killed   -> [id, 1, ProcessExitError]      result cannot be encoded -> [id, 4, why]
 * RPC_CAST [target, args, gl] from A: the same, without a reply (failures logged here)
 * SPAWN_REQUEST [ref, from, [target, args], {link?, monitor?, gl?}] from A
 *   refused / undefined -> SPAWN_REPLY [ref, from, [status, detail]]
 *   spawn (linked to `from` before it runs, with `link`) -> SPAWN_REPLY [ref, from, pid]
 *   with `monitor`, the process waits for SPAWN_GO [ref]: A sends it after its MONITOR,
 *   so the monitor sees the process's real exit reason; if A is lost first, it never runs
 * RPC_IO [gl, level, text] from B, for a process of ours: write it on our console
 * ```
 *
 * Replies go back on the connection the request came in on; when that
 * connection is gone there is nobody to answer and the reply is dropped.
 * A reply is sent with the running process's pid as order key, so it
 * leaves after everything that process sent to the caller's node.
 *
 * @module
 */

import { describe, ProcessExitError } from "../errors.ts";
import { logger, LogLimit, logLimited } from "../log.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { OP_SPAWN_REPLY } from "../distribution/types.ts";
import type { Runtime } from "../process/runtime.ts";
import type { DownMessage, ProcessContext } from "../process/types.ts";
import { Pid, Ref } from "../term/pid.ts";
import type { NodeWatch, Watched } from "./_node_watch.ts";
import { type LineWriter, runWithGroupLeader, writeConsole } from "./group_leader.ts";
import type { ModuleRegistry } from "./module_registry.ts";
import type { RpcPolicy } from "./policy.ts";
import { compileSource, type Prelude } from "./remote_fn.ts";
import {
  CONSOLE_LEVELS,
  type ConsoleLevel,
  describeTarget,
  isCallId,
  OP_RPC_IO,
  OP_RPC_REPLY,
  parseLeader,
  parseTarget,
  type ReplyStatus,
  STATUS_BAD_REQUEST,
  STATUS_BAD_RESULT,
  STATUS_OK,
  STATUS_REFUSED,
  STATUS_THREW,
  STATUS_UNDEFINED,
  type Target,
} from "./types.ts";

const log = logger("rpc");
/** Malformed operations, logged per sending node at a bounded rate. */
const malformedLog = new LogLimit();

/** What the server needs of its node. */
export interface ServerHost {
  /** The node's runtime. */
  readonly runtime: Runtime;
  /** The node kernel. */
  readonly kernel: NetKernel;
  /** The node's modules. */
  readonly registry: ModuleRegistry;
  /** The node's rpc policy now. */
  policy(): RpcPolicy;
  /** What function source is evaluated with. */
  readonly prelude: Prelude;
  /** The node's waits on other nodes. */
  readonly watch: NodeWatch;
  /** Whether `pid` is this node's own group leader (its lines print here). */
  isOwnLeader(pid: Pid): boolean;
  /** Writes a line whose group leader is `leader`, a process of this node. */
  deliverLine(leader: Pid, level: ConsoleLevel, text: string): void;
  /** The node's rpc process (opened on first use); it monitors running calls. */
  agent(): Pid;
}

/** A target ready to run, or why not. */
export type Resolved =
  | { ok: true; fn: (...args: unknown[]) => unknown; thisArg: unknown; label: string }
  | { ok: false; status: ReplyStatus; detail: unknown };

/** A call whose function runs. */
interface Running {
  pid: Pid;
  finish(status: ReplyStatus, value: unknown, key: Pid): void;
}

/** A process of a monitored spawn, waiting for SPAWN_GO. */
interface Gate extends Watched {
  open(go: boolean): void;
}

/** The serving side of one node's rpc. */
export class RpcServer {
  readonly #host: ServerHost;
  readonly #gates = new Map<string, Gate>();
  /** Calls running, by the ref of the rpc process's monitor on them. */
  readonly #running = new Map<number, Running>();

  /** @param host the node it serves */
  constructor(host: ServerHost) {
    this.#host = host;
  }

  /**
   * Finds what `target` names: a module's function (subject to the policy
   * when a peer asks) or a function compiled from its source.
   *
   * @param target the target
   * @param peer the asking node, or `undefined` for this node itself (no policy)
   */
  resolve(target: Target, peer: string | undefined): Resolved {
    const host = this.#host;
    const self = host.runtime.node;
    if (target.kind === "mfa") {
      const { module, fn } = target;
      if (peer !== undefined && !host.policy().allows(module, fn)) {
        return {
          ok: false,
          status: STATUS_REFUSED,
          detail: `Cannot call ${module}.${fn} on ${self}: refused by its rpc policy ` +
            `(not among its --rpc-allow patterns)`,
        };
      }
      const found = host.registry.lookup(module, fn);
      switch (found.kind) {
        case "no_module":
          return { ok: false, status: STATUS_UNDEFINED, detail: [module] };
        case "no_function":
          return { ok: false, status: STATUS_UNDEFINED, detail: [module, fn] };
        case "found":
          return { ok: true, fn: found.fn, thisArg: found.module, label: `rpc:${module}.${fn}` };
      }
    }
    if (peer !== undefined && !host.policy().remoteEval) {
      return {
        ok: false,
        status: STATUS_REFUSED,
        detail: `Cannot run a function sent by ${peer} on ${self}: refused by its rpc policy ` +
          `(remote evaluation is off)`,
      };
    }
    try {
      return {
        ok: true,
        fn: compileSource(target.source, host.prelude),
        thisArg: undefined,
        label: "rpc:fun",
      };
    } catch (e) {
      return { ok: false, status: STATUS_THREW, detail: e };
    }
  }

  /**
   * Runs `fn` for the process `ctx`, with its console lines going to
   * `leader` when that is another node's (or another process's) group leader.
   *
   * @param ctx the running process
   * @param resolved the function
   * @param args its arguments
   * @param leader the caller's group leader, or `null`
   * @returns what the function returns
   */
  run(
    ctx: ProcessContext,
    resolved: Resolved & { ok: true },
    args: unknown[],
    leader: Pid | null,
  ): unknown {
    const call = () => resolved.fn.apply(resolved.thisArg, args);
    if (leader === null || this.#host.isOwnLeader(leader)) return call();
    return runWithGroupLeader(ctx, leader, this.#lineWriter(ctx, leader), call);
  }

  #lineWriter(ctx: ProcessContext, leader: Pid): LineWriter {
    const host = this.#host;
    return (level, text) => {
      if (leader.node === host.runtime.node) {
        host.deliverLine(leader, level, text);
      } else if (host.kernel.peer(leader.node) === undefined) {
        // The origin is not connected: print here rather than dial it for a line.
        writeConsole(level, text);
      } else {
        host.kernel.sendOp(leader.node, OP_RPC_IO, [leader, level, text], ctx.self);
      }
    };
  }

  // ---------------------------------------------------------------- calls

  /** RPC_CALL `[id, target, args, gl]`, sent from the rpc client of `node`. */
  onCall(node: string, fields: unknown[]): void {
    const [id, rawTarget, args, rawLeader] = fields;
    if (!isCallId(id)) {
      logLimited(
        malformedLog,
        node,
        (more) =>
          log.warning("Dropping a malformed call from {node}: bad id{more}", { node, more }),
      );
      return;
    }
    const target = parseTarget(rawTarget);
    const leader = parseLeader(rawLeader);
    if (
      fields.length !== 4 || target === undefined || !Array.isArray(args) || leader === undefined
    ) {
      this.#reply(
        node,
        id,
        STATUS_BAD_REQUEST,
        "Malformed call: expected [id, target, args, gl]",
        undefined,
      );
      return;
    }
    const resolved = this.resolve(target, node);
    if (!resolved.ok) {
      this.#reply(node, id, resolved.status, resolved.detail, undefined);
      return;
    }
    const started = this.execute(
      resolved,
      args,
      leader,
      (status, value, key) => this.#reply(node, id, status, value, key),
    );
    if (!started) this.#reply(node, id, STATUS_BAD_REQUEST, "The node is stopping", undefined);
  }

  /**
   * Runs a resolved target in a process of its own and reports how it
   * ended: `done(STATUS_OK, result)`, `done(STATUS_THREW, error)`, or, when
   * the process is killed before the function completes, `done(STATUS_THREW,
   * ProcessExitError)` at once. The node's rpc process monitors the call's
   * process for that (a monitor costs far less than an abort listener).
   *
   * @param resolved the function
   * @param args its arguments
   * @param leader the caller's group leader
   * @param done called once, with the process's pid as the order key
   * @returns `false` when the node is stopping and nothing was started
   */
  execute(
    resolved: Resolved & { ok: true },
    args: unknown[],
    leader: Pid | null,
    done: (status: ReplyStatus, value: unknown, key: Pid) => void,
  ): boolean {
    const host = this.#host;
    const runtime = host.runtime;
    let agent: Pid;
    try {
      agent = host.agent();
    } catch {
      return false;
    }
    let settled = false;
    let mref: Ref | undefined;
    const finish = (status: ReplyStatus, value: unknown, key: Pid) => {
      if (settled) return;
      settled = true;
      if (mref !== undefined) {
        this.#running.delete(mref.id);
        runtime.demonitor(agent, mref);
      }
      done(status, value, key);
    };
    let pid: Pid;
    try {
      pid = runtime.spawn((ctx) => {
        const key = ctx.self;
        let result: unknown;
        try {
          result = this.run(ctx, resolved, args, leader);
        } catch (e) {
          finish(STATUS_THREW, e, key);
          return;
        }
        if (!isThenable(result)) {
          // A plain value answers at once, without a turn of the microtask queue.
          finish(STATUS_OK, result, key);
          return;
        }
        return Promise.resolve(result).then(
          (value) => finish(STATUS_OK, value, key),
          (e) => finish(STATUS_THREW, e, key),
        );
      }, { label: resolved.label });
    } catch (e) {
      log.debug("Cannot run {label}: {error}", { label: resolved.label, error: e });
      return false;
    }
    if (!settled) {
      mref = runtime.monitor(agent, pid);
      this.#running.set(mref.id, { pid, finish });
    }
    return true;
  }

  /**
   * A process running a call went down (the node's rpc process got its
   * `DOWN`): if its function had not completed, the call ends with the
   * exit reason.
   *
   * @param down the `DOWN` message
   * @returns whether it was one of ours
   */
  onDown(down: DownMessage): boolean {
    const running = this.#running.get(down.ref.id);
    if (running === undefined) return false;
    this.#running.delete(down.ref.id);
    running.finish(STATUS_THREW, new ProcessExitError(down.reason), running.pid);
    return true;
  }

  /** RPC_CAST `[target, args, gl]`, sent from the rpc client of `node`. */
  onCast(node: string, fields: unknown[]): void {
    const [rawTarget, args, rawLeader] = fields;
    const target = parseTarget(rawTarget);
    const leader = parseLeader(rawLeader);
    if (
      fields.length !== 3 || target === undefined || !Array.isArray(args) || leader === undefined
    ) {
      logLimited(
        malformedLog,
        node,
        (more) => log.warning("Dropping a malformed cast from {node}{more}", { node, more }),
      );
      return;
    }
    const resolved = this.resolve(target, node);
    if (!resolved.ok) {
      log.warning("Cast of {target} from {node} failed: {reason}", {
        target: describeTarget(target),
        node,
        reason: describeFailure(resolved.status, resolved.detail),
      });
      return;
    }
    this.#spawn(
      node,
      async (ctx) => {
        try {
          await this.run(ctx, resolved, args, leader);
        } catch (e) {
          log.warning("Cast of {target} from {node} threw: {error}", {
            target: describeTarget(target),
            node,
            error: e,
          });
        }
      },
      resolved.label,
      () => {},
    );
  }

  #spawn(
    node: string,
    body: (ctx: ProcessContext) => Promise<void>,
    label: string,
    stopping: () => void,
  ): void {
    try {
      this.#host.runtime.spawn(body, { label });
    } catch (e) {
      log.debug("Cannot serve {node}: {error}", { node, error: e });
      stopping();
    }
  }

  #reply(node: string, id: number, status: ReplyStatus, value: unknown, key: unknown): void {
    const kernel = this.#host.kernel;
    if (!kernel.reachable(node)) return; // The caller's node is gone: nobody to answer.
    try {
      kernel.sendOp(node, OP_RPC_REPLY, [id, status, value], key);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
      if (status === STATUS_OK) {
        const why = e.message.replace(/^Cannot send value: /, "").replace(
          " at msg[3]",
          " at result",
        );
        kernel.sendOp(node, OP_RPC_REPLY, [id, STATUS_BAD_RESULT, why], key);
      } else {
        kernel.sendOp(node, OP_RPC_REPLY, [id, status, plainError(value)], key);
      }
    }
  }

  // ---------------------------------------------------------------- spawn

  /** SPAWN_REQUEST `[ref, from, [target, args], options]`, sent from the rpc client of `node`. */
  onSpawnRequest(node: string, fields: unknown[]): void {
    const ref = fields[0] as Ref;
    const from = fields[1] as Pid;
    const spec = fields[2];
    const options = fields[3];
    const reply = (result: unknown) => {
      if (!this.#host.kernel.reachable(node)) return;
      this.#host.kernel.sendOp(node, OP_SPAWN_REPLY, [ref, from, result], from);
    };
    const target = Array.isArray(spec) && spec.length === 2 ? parseTarget(spec[0]) : undefined;
    const args = Array.isArray(spec) ? spec[1] : undefined;
    const opts = typeof options === "object" && options !== null && !Array.isArray(options)
      ? options as { link?: unknown; monitor?: unknown; gl?: unknown }
      : undefined;
    const leader = opts === undefined ? undefined : parseLeader(opts.gl ?? null);
    if (
      target === undefined || !Array.isArray(args) || opts === undefined || leader === undefined ||
      from.node !== node
    ) {
      reply([STATUS_BAD_REQUEST, "Malformed spawn request: expected [target, args] and options"]);
      return;
    }
    const resolved = this.resolve(target, node);
    if (!resolved.ok) {
      reply([resolved.status, resolved.detail]);
      return;
    }
    let gate: Gate | undefined;
    let go: Promise<boolean> | undefined;
    if (opts.monitor === true) {
      const { promise, resolve } = Promise.withResolvers<boolean>();
      go = promise;
      const key = ref.key;
      gate = {
        node,
        epoch: 0,
        lost: () => {
          this.#gates.delete(key);
          resolve(false);
        },
        open: resolve,
      };
    }
    let pid: Pid;
    try {
      pid = this.#host.runtime.spawn(async (ctx) => {
        if (go !== undefined && (!(await go) || !this.#host.runtime.isAlive(ctx.self))) return;
        await this.run(ctx, resolved, args, leader);
      }, opts.link === true ? { label: resolved.label, link: from } : { label: resolved.label });
    } catch (e) {
      reply([STATUS_BAD_REQUEST, `Cannot spawn on ${this.#host.runtime.node}: ${describe(e)}`]);
      return;
    }
    if (gate !== undefined) {
      this.#gates.set(ref.key, gate);
      this.#host.watch.add(node, gate);
    }
    reply(pid);
  }

  /** SPAWN_GO `[ref]`, sent from the rpc client of `node` once its monitor is in place. */
  onGo(node: string, fields: unknown[]): void {
    const ref = fields[0];
    if (!(ref instanceof Ref)) {
      logLimited(
        malformedLog,
        node,
        (more) => log.warning("Dropping a malformed SPAWN_GO from {node}{more}", { node, more }),
      );
      return;
    }
    const gate = this.#gates.get(ref.key);
    if (gate === undefined || gate.node !== node) return;
    this.#gates.delete(ref.key);
    this.#host.watch.remove(gate);
    gate.open(true);
  }

  // ---------------------------------------------------------------- output

  /** RPC_IO `[gl, level, text]`, sent from the node where a process of ours has its lines made. */
  onIo(node: string, fields: unknown[]): void {
    const [leader, level, text] = fields;
    if (
      fields.length !== 3 || !(leader instanceof Pid) || typeof text !== "string" ||
      !(CONSOLE_LEVELS as readonly unknown[]).includes(level)
    ) {
      logLimited(
        malformedLog,
        node,
        (more) =>
          log.warning("Dropping a malformed console line from {node}{more}", { node, more }),
      );
      return;
    }
    if (leader.node !== this.#host.runtime.node) return;
    this.#host.deliverLine(leader, level as ConsoleLevel, text);
  }

  /** Releases every process waiting for SPAWN_GO (the node is stopping). */
  close(): void {
    for (const gate of this.#gates.values()) gate.open(false);
    this.#gates.clear();
    this.#running.clear();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** An error reduced to what always crosses the wire: name, message and stack. */
function plainError(value: unknown): Error | string {
  if (!(value instanceof Error)) return describe(value);
  const err = new Error(value.message);
  err.name = value.name;
  if (value.stack !== undefined) err.stack = value.stack;
  return err;
}

/** A sentence for a failed resolution, for logs. */
function describeFailure(status: ReplyStatus, detail: unknown): string {
  if (status === STATUS_UNDEFINED && Array.isArray(detail)) {
    return detail.length === 1
      ? `undefined module ${detail[0]}`
      : `undefined function ${detail[0]}.${detail[1]}`;
  }
  return describe(detail);
}
