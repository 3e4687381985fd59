/**
 * The calling side of rpc on one node: calls, casts and spawn requests
 * to other nodes, and their answers.
 *
 * ```
 * call(b, target, args)
 *   id = next id (never reused)          pending[id] = {resolve, reject}
 *   RPC_CALL [id, target, args, gl] -> b watch b (monitorNode)   deadline (one timer per length)
 *   RPC_REPLY [id, status, value] from b -> pending[id] settles; no pending[id]: a late reply, dropped
 *   nodedown b -> every pending call to b: NoConnectionError
 *   deadline   -> TimeoutError; the call is forgotten, its reply will be dropped
 * spawn(b, target, args, {link | monitor})
 *   SPAWN_REQUEST [ref, from, [target, args], {link?, monitor?, gl}] -> b
 *   SPAWN_REPLY [ref, from, pid | [status, detail]] from b
 *     monitor: MONITOR from -> pid, then SPAWN_GO [ref] -> b, in that order
 *   nodedown b -> NoConnectionError
 * ```
 *
 * The group leader sent along is the calling process's own when it runs
 * for another node (so output of nested calls still reaches the node that
 * started it all), else this node's.
 *
 * @module
 */

import {
  NoConnectionError,
  PolicyError,
  RemoteError,
  TimeoutError,
  UndefinedFunctionError,
} from "../errors.ts";
import { logger, LogLimit, logLimited } from "../log.ts";
import type { NetKernel } from "../distribution/net_kernel.ts";
import { OP_SPAWN_REQUEST } from "../distribution/types.ts";
import type { Runtime } from "../process/runtime.ts";
import { RPC_CALL_STOP } from "../telemetry/events.ts";
import type { TelemetryEvent } from "../telemetry/telemetry.ts";
import type { ProcessContext } from "../process/types.ts";
import { Pid, type Ref } from "../term/pid.ts";
import type { Deadline, Deadlines } from "../process/deadlines.ts";
import type { NodeWatch, Watched } from "./_node_watch.ts";
import { groupLeader } from "./group_leader.ts";
import {
  describeTarget,
  isCallId,
  OP_RPC_CALL,
  OP_RPC_CAST,
  OP_SPAWN_GO,
  type ReplyStatus,
  STATUS_BAD_REQUEST,
  STATUS_BAD_RESULT,
  STATUS_OK,
  STATUS_REFUSED,
  STATUS_THREW,
  STATUS_UNDEFINED,
  type Target,
  targetField,
} from "./types.ts";

const log = logger("rpc");
/** Malformed operations, logged per sending node at a bounded rate. */
const malformedLog = new LogLimit();

/** What the client needs of its node. */
export interface ClientHost {
  /** The node's runtime. */
  readonly runtime: Runtime;
  /** The node kernel. */
  readonly kernel: NetKernel;
  /** The node's waits on other nodes. */
  readonly watch: NodeWatch;
  /** The node's call deadlines. */
  readonly deadlines: Deadlines;
  /** This node's group leader (the rpc agent process); opened on first use. */
  leader(): Pid;
}

/** A call waiting for its reply. */
class PendingCall implements Watched {
  epoch = 0;
  deadline: Deadline | undefined = undefined;
  /** When it was sent (`performance.now()`), when telemetry listens; else 0. */
  started = 0;
  constructor(
    readonly client: RpcClient,
    readonly id: number,
    readonly node: string,
    readonly target: Target,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  lost(reason: string): void {
    this.client.settleCall(
      this,
      undefined,
      unreachable(this.node, `call ${describeTarget(this.target)}`, reason),
    );
  }
}

/** A spawn request waiting for its reply. */
class PendingSpawn implements Watched {
  epoch = 0;
  constructor(
    readonly client: RpcClient,
    readonly key: string,
    readonly node: string,
    readonly target: Target,
    /** The process that asked; it links or monitors. */
    readonly parent: ProcessContext | undefined,
    readonly monitor: boolean,
    readonly resolve: (value: Pid | [Pid, Ref]) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  lost(reason: string): void {
    this.client.settleSpawn(
      this,
      unreachable(this.node, `spawn ${describeTarget(this.target)}`, reason),
    );
  }
}

function unreachable(node: string, what: string, reason: string): NoConnectionError {
  return new NoConnectionError(
    node,
    `Cannot ${what} on ${node}: the node is unreachable (${reason})`,
  );
}

/** Options of a spawn request. */
export interface SpawnRequest {
  /** The process that asks (links or monitors); `undefined` outside any process. */
  parent: ProcessContext | undefined;
  /** Link the new process to `parent`. */
  link: boolean;
  /** Monitor the new process from `parent`. */
  monitor: boolean;
}

/** The calling side of one node's rpc. */
export class RpcClient {
  readonly #host: ClientHost;
  #nextId = 1;
  #calls = new Map<number, PendingCall>();
  #spawns = new Map<string, PendingSpawn>();
  #lateReplies = 0;
  #stopped: Error | undefined;
  #evStop: TelemetryEvent;

  /** @param host the node it calls from */
  constructor(host: ClientHost) {
    this.#host = host;
    this.#evStop = host.runtime.telemetry.event(RPC_CALL_STOP);
  }

  /** Replies that came after their call had ended (timed out or lost), and were dropped. */
  get lateReplies(): number {
    return this.#lateReplies;
  }

  /** Calls in flight. */
  get pendingCalls(): number {
    return this.#calls.size;
  }

  /** The group leader to send: the running process's own if it forwards, else this node's. */
  #leader(): Pid {
    return groupLeader() ?? this.#host.leader();
  }

  /**
   * Calls `target(...args)` on `node` (not this node).
   *
   * @param address the node as the caller named it
   * @param node its bare name
   * @param target what to run
   * @param args its arguments
   * @param timeout milliseconds, or `Infinity`
   * @param key the order key: the calling process's pid, if any
   * @throws {TypeError} synchronously when an argument cannot cross the wire
   */
  call(
    address: string,
    node: string,
    target: Target,
    args: unknown[],
    timeout: number,
    key: unknown,
  ): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const host = this.#host;
    const leader = this.#leader();
    const id = this.#nextId++;
    sendOrRename(() =>
      host.kernel.sendOp(address, OP_RPC_CALL, [id, targetField(target), args, leader], key)
    );
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const pending = new PendingCall(this, id, node, target, resolve, reject);
    if (this.#evStop.attached) pending.started = performance.now();
    this.#calls.set(id, pending);
    host.watch.add(address, pending);
    pending.deadline = host.deadlines.start(timeout, () =>
      this.settleCall(
        pending,
        undefined,
        new TimeoutError(
          `Cannot call ${describeTarget(target)} on ${node}: no reply within ${timeout} ms`,
        ),
      ));
    return promise;
  }

  /**
   * Casts `target(...args)` to `node`: no reply, no error if it fails there.
   *
   * @throws {TypeError} synchronously when an argument cannot cross the wire
   */
  cast(address: string, target: Target, args: unknown[], key: unknown): void {
    if (this.#stopped) return;
    const leader = this.#leader();
    sendOrRename(
      () =>
        this.#host.kernel.sendOp(address, OP_RPC_CAST, [targetField(target), args, leader], key),
      "msg[2]",
    );
  }

  /** Ends a call: with its value, or with `error`. */
  settleCall(pending: PendingCall, value: unknown, error: unknown): void {
    if (this.#calls.get(pending.id) !== pending) return;
    this.#calls.delete(pending.id);
    this.#host.watch.remove(pending);
    this.#host.deadlines.cancel(pending.deadline);
    if (error === undefined) pending.resolve(value);
    else pending.reject(error);
    if (this.#evStop.attached && pending.started !== 0) {
      const t = pending.target;
      this.#evStop.emit({ duration: performance.now() - pending.started }, {
        node: this.#host.runtime.node,
        target: pending.node,
        module: t.kind === "mfa" ? t.module : "(source)",
        function: t.kind === "mfa" ? t.fn : "(source)",
        outcome: error === undefined
          ? "ok"
          : error instanceof TimeoutError
          ? "timeout"
          : error instanceof NoConnectionError
          ? "noconnection"
          : "error",
      });
    }
  }

  /** RPC_REPLY `[id, status, value]`, sent from the rpc server of `node`. */
  onReply(node: string, fields: unknown[]): void {
    const [id, status, value] = fields;
    if (fields.length !== 3 || !isCallId(id) || typeof status !== "number") {
      logLimited(
        malformedLog,
        node,
        (more) => log.warning("Dropping a malformed rpc reply from {node}{more}", { node, more }),
      );
      return;
    }
    const pending = this.#calls.get(id);
    if (pending === undefined || pending.node !== node) {
      this.#lateReplies++;
      return;
    }
    if (status === STATUS_OK) this.settleCall(pending, value, undefined);
    else {
      this.settleCall(
        pending,
        undefined,
        replyError(node, `call ${describeTarget(pending.target)}`, status as ReplyStatus, value),
      );
    }
  }

  /**
   * Asks `node` to spawn `target(...args)`.
   *
   * @returns the pid, or with `monitor` the pid and the monitor's ref
   * @throws {TypeError} synchronously when an argument cannot cross the wire
   */
  spawn(
    address: string,
    node: string,
    target: Target,
    args: unknown[],
    request: SpawnRequest,
  ): Promise<Pid | [Pid, Ref]> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const host = this.#host;
    const from = request.parent?.self ?? host.leader();
    const ref = host.runtime.makeRef();
    const options: Record<string, unknown> = { gl: this.#leader() };
    if (request.link) options.link = true;
    if (request.monitor) options.monitor = true;
    sendOrRename(
      () =>
        host.kernel.sendOp(address, OP_SPAWN_REQUEST, [
          ref,
          from,
          [targetField(target), args],
          options,
        ], from),
      "msg[3][1]",
    );
    const { promise, resolve, reject } = Promise.withResolvers<Pid | [Pid, Ref]>();
    const pending = new PendingSpawn(
      this,
      ref.key,
      node,
      target,
      request.parent,
      request.monitor,
      resolve,
      reject,
    );
    this.#spawns.set(ref.key, pending);
    host.watch.add(address, pending);
    return promise;
  }

  /** Ends a spawn request with `error`. */
  settleSpawn(pending: PendingSpawn, error: unknown): void {
    if (this.#spawns.get(pending.key) !== pending) return;
    this.#spawns.delete(pending.key);
    this.#host.watch.remove(pending);
    pending.reject(error);
  }

  /** SPAWN_REPLY `[ref, to, result]`, sent from the rpc server of `node`. */
  onSpawnReply(node: string, fields: unknown[]): void {
    const ref = fields[0] as Ref;
    const result = fields[2];
    const pending = this.#spawns.get(ref.key);
    if (pending === undefined || pending.node !== node) return;
    this.#spawns.delete(ref.key);
    this.#host.watch.remove(pending);
    if (!(result instanceof Pid)) {
      const [status, detail] = Array.isArray(result) ? result : [STATUS_BAD_REQUEST, result];
      pending.reject(replyError(node, `spawn ${describeTarget(pending.target)}`, status, detail));
      return;
    }
    if (!pending.monitor) {
      pending.resolve(result);
      return;
    }
    // The monitor first, then the go-ahead: the process runs only once it is watched.
    const parent = pending.parent!;
    const mref = this.#host.runtime.monitor(parent.self, result);
    this.#host.kernel.sendOp(node, OP_SPAWN_GO, [ref], parent.self);
    pending.resolve([result, mref]);
  }

  /** Fails everything in flight: the node is stopping. */
  stop(error: Error): void {
    this.#stopped = error;
    const calls = [...this.#calls.values()];
    const spawns = [...this.#spawns.values()];
    for (const c of calls) this.settleCall(c, undefined, error);
    for (const s of spawns) this.settleSpawn(s, error);
  }
}

/** Sends; a value that cannot cross the wire is named from `args`. */
function sendOrRename(send: () => void, path = "msg[3]"): void {
  try {
    send();
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    const at = ` at ${path}`;
    const i = e.message.indexOf(at);
    if (i < 0) throw e;
    throw new TypeError(
      e.message.slice(0, i) + " at args" + e.message.slice(i + at.length),
      { cause: e.cause },
    );
  }
}

/**
 * The error for a reply that is not a result.
 *
 * @param node the node that answered
 * @param what the operation, for the message (`call math.add`)
 * @param status the reply's status
 * @param value its detail
 * @returns the error the caller gets
 *
 * @example
 * ```ts
 * import { replyError } from "./_calling_side.ts";
 * import { STATUS_UNDEFINED } from "./types.ts";
 * const e = replyError("b@h", "call m.f", STATUS_UNDEFINED, ["m", "f"]);
 * console.assert(e.name === "UndefinedFunctionError");
 * ```
 */
export function replyError(
  node: string,
  what: string,
  status: ReplyStatus | number,
  value: unknown,
): Error {
  switch (status) {
    case STATUS_THREW:
      return new RemoteError(node, value);
    case STATUS_UNDEFINED: {
      const [module, fn] = Array.isArray(value) ? value as [string, string?] : [String(value)];
      return new UndefinedFunctionError(
        node,
        String(module),
        fn === undefined ? undefined : String(fn),
      );
    }
    case STATUS_REFUSED:
      return new PolicyError(node, String(value));
    case STATUS_BAD_RESULT:
      return new TypeError(
        `Cannot ${what} on ${node}: its result cannot cross the wire: ${String(value)}`,
      );
    default:
      return new RemoteError(
        node,
        new Error(String(value)),
        `Cannot ${what} on ${node}: ${String(value)}`,
      );
  }
}
