/**
 * The process runtime of one node: the process table, registered names,
 * links, monitors, exit signals and timers, with Erlang's semantics.
 * Several nodes can live in one OS process, so all of it hangs off a
 * {@linkcode Runtime} object rather than module state.
 *
 * Signals between two local processes are applied at once, in the order
 * they are sent. Signals for a process on another node go to
 * `runtime.router` (the distribution layer), which carries them to the
 * other node's `dispatch`:
 *
 * ```
 * a: runtime.link(p, q@b)  -> router.route("b", {op: "link", from: p, to: q})
 * b: runtime.dispatch(link)  -> q alive: link recorded
 *                            -> q dead:  route("a", {op: "link_exit", reason: "noproc"})
 * b: q exits with R          -> route("a", {op: "link_exit", from: q, to: p, reason: R})
 * a: runtime.dispatch(link_exit) -> p exits with R, or gets {type: "EXIT"} if trapping
 * a: runtime.nodeDown("b")   -> every link to / monitor of a process on b fires
 *                               with "noconnection"
 * ```
 *
 * Exit signals (links, `exit/2`, a process's own exit) go through one
 * queue that is drained before the call that raised them returns, so a
 * chain of linked processes dies without recursion and `exit(pid, "kill")`
 * has taken effect when it returns.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * const rt = new Runtime();
 * const echo = rt.spawn(async (ctx) => {
 *   const { from, text } = await ctx.receive<{ from: import("../term/pid.ts").Pid; text: string }>();
 *   ctx.send(from, text.toUpperCase());
 * });
 * const me = rt.open();
 * me.send(echo, { from: me.self, text: "hi" });
 * console.assert((await me.receive()) === "HI");
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import { Telemetry } from "../telemetry/telemetry.ts";
import { describe, describeType, NameError, NotAliveError, ProcessExitError } from "../errors.ts";
import { logger, LogLimit, logLimited } from "../log.ts";
import { Pid, Ref } from "../term/pid.ts";
import { parseNodeName, withoutPort } from "../term/node_name.ts";
import { processStorage } from "./_context.ts";
import { NodeContext, VIA_NAMES } from "./node_context.ts";
import { EXITED, HELD, Monitor, Proc, setExitSelf, TRACED, TRAP } from "./_proc.ts";
import { ProcessTrace, type Trace, type TraceOptions } from "./trace.ts";
import { ProcTable } from "./_table.ts";
import {
  type DemonitorOptions,
  type Dest,
  type DownMessage,
  type ExitMessage,
  isRemoteName,
  isViaDest,
  type OpenOptions,
  type ProcessContext,
  type ProcessFn,
  type ProcessInfo,
  type RemoteName,
  type Signal,
  type SignalRouter,
  type SpawnOptions,
  type ViaDest,
} from "./types.ts";

export type {
  DemonitorOptions,
  OpenOptions,
  ProcessContext,
  ProcessFn,
  ProcessInfo,
  ReceiveOptions,
  SpawnOptions,
} from "./types.ts";

/** Options for {@linkcode Runtime}. */
export interface RuntimeOptions {
  /** The node's name, `name@host`. Default `"nonode@nohost"`, as an undistributed Erlang node. */
  node?: string;
  /** The node's incarnation, a nonzero u32. Default: random. */
  creation?: number;
}

/** Exit-signal kinds in the signal queue. */
const LINK = 0; // a linked process exited
const EXIT2 = 1; // exit(pid, reason) from another process
const SELF = 2; // the process itself exits (its body ended, ctx.exit, shutdown)

/** Reasons that are part of normal operation and are not logged as crashes. */
const QUIET_REASONS = new Set<unknown>([
  "normal",
  "shutdown",
  "kill",
  "killed",
  "noproc",
  "noconnection",
]);

const log = logger("process");
/** Forged signals, logged per sending node at a bounded rate. */
const refusedLog = new LogLimit();

/** What the runtime keeps per remote node, so `nodeDown` touches only what it must. */
interface NodeIndex {
  /** Local processes with links to, or monitors on, processes of the node; with a count. */
  procs: Map<Proc, number>;
  /** Monitors held by the node's processes on local ones, by `ref.key`. */
  watchers: Map<string, Monitor>;
}

/** A `sendAfter` timer. */
class Timer {
  readonly ref: Ref;
  readonly dest: Dest;
  readonly msg: unknown;
  readonly proc: Proc | null;
  readonly due: number;
  handle: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(ref: Ref, dest: Dest, msg: unknown, proc: Proc | null, due: number) {
    this.ref = ref;
    this.dest = dest;
    this.msg = msg;
    this.proc = proc;
    this.due = due;
  }
}

function randomCreation(): number {
  const buf = new Uint32Array(1);
  do crypto.getRandomValues(buf); while (buf[0] === 0);
  return buf[0]!;
}

function checkPid(value: unknown, what: string): asserts value is Pid {
  if (!(value instanceof Pid)) {
    throw new TypeError(`Cannot ${what}: expected a pid, received ${describeType(value)}`);
  }
}

function checkDest(dest: unknown, what: string): asserts dest is Exclude<Dest, ViaDest> {
  if (dest instanceof Pid || typeof dest === "string" || isRemoteName(dest)) return;
  throw new TypeError(
    `Cannot ${what}: destination must be a pid, a name, {name, node} or {via, key}, received ${
      describeType(dest)
    }`,
  );
}

function checkFunction(fn: unknown): asserts fn is ProcessFn {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot spawn: expected a function, received ${describeType(fn)}`);
  }
}

function checkMaxMailbox(limit: unknown, what: string): asserts limit is number {
  if (typeof limit !== "number") {
    throw new TypeError(
      `Cannot ${what}: maxMailbox must be a number, received ${describeType(limit)}`,
    );
  }
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(
      `Cannot ${what}: maxMailbox must be a positive integer, received ${limit}`,
    );
  }
}

function checkName(name: unknown, what: string): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: name must be a string, received ${describeType(name)}`);
  }
  if (name === "") throw new TypeError(`Cannot ${what}: name must not be empty`);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** Runs a process body; inside `processStorage.run(proc, ...)`. */
function startBody(proc: Proc): void {
  const body = proc.body!;
  let result: unknown;
  try {
    result = body(proc);
    if (isThenable(result)) {
      // The callbacks find their process through the async context they
      // were registered in, so a process needs no closures of its own.
      const promise = result instanceof Promise ? result : Promise.resolve(result);
      promise.then(bodyReturned, bodyThrew);
      return;
    }
  } catch (err) {
    bodyEnded(proc, err, true);
    return;
  }
  bodyEnded(proc, "normal", false);
}

function bodyReturned(): void {
  const proc = processStorage.getStore() as Proc;
  bodyEnded(proc, "normal", false);
}

function bodyThrew(err: unknown): void {
  const proc = processStorage.getStore() as Proc;
  bodyEnded(proc, err, true);
}

/** The runtime's entry point for a finished body; set by `Runtime`'s static block. */
let bodyEnded: (proc: Proc, reason: unknown, threw: boolean) => void;

/**
 * The processes of one node, and everything that happens between them.
 *
 * @example
 * ```ts
 * import { Runtime } from "./runtime.ts";
 * const rt = new Runtime({ node: "a@localhost" });
 * const pid = rt.spawn(async (ctx) => {
 *   await ctx.receive();
 * });
 * console.assert(rt.isAlive(pid));
 * rt.exit(pid, "kill");
 * console.assert(!rt.isAlive(pid));
 * await rt.shutdown();
 * ```
 */
export class Runtime {
  /** The node's name. */
  readonly node: string;
  /** The node's incarnation: pids of an earlier one never reach this one's processes. */
  readonly creation: number;
  /** Carries signals to other nodes; set by the distribution layer, `undefined` when not distributed. */
  router: SignalRouter | undefined = undefined;
  /** The services running on the node (rpc, global, pg...), by key; see `node_context.ts`. */
  readonly context: NodeContext = new NodeContext(() => this.node);
  /** The node's telemetry events and handlers (see `src/telemetry`). */
  readonly telemetry: Telemetry = new Telemetry();

  /** Live processes by pid number. */
  #procs = new ProcTable<Proc>();
  /** Registered names. */
  #names = new Map<string, Proc>();
  #nextRef = 0;
  /** The sender of `exit/2` signals raised from outside any process: `#PID<node.0.0>`. */
  #systemPid: Pid;
  /** Processes spawned and not started yet. */
  #runQueue: Proc[] = [];
  #runScheduled = false;
  /** Exit signals waiting to be applied: (proc, from, reason, kind) flattened. */
  #signals: unknown[] = [];
  #draining = false;
  /** `sendAfter` timers by ref id. */
  #timers = new Map<number, Timer>();
  /** Links and monitors that involve each remote node. */
  #nodes = new Map<string, NodeIndex>();
  #closed = false;
  /** Traces running (`trace`): while 0, a send pays one test for them. */
  #tracing = 0;

  /**
   * Makes the runtime of one node; it holds no process until one is spawned.
   *
   * @param options the node's name and incarnation
   * @throws {TypeError} when `node` is not a valid node name
   * @throws {RangeError} when `creation` is not a nonzero u32
   */
  constructor(options: RuntimeOptions = {}) {
    this.node = parseNodeName(options.node ?? "nonode@nohost").full;
    const creation = options.creation ?? randomCreation();
    if (!Number.isInteger(creation) || creation < 1 || creation > 0xffffffff) {
      throw new RangeError(
        `Invalid creation: must be an integer 1-4294967295, received ${creation}`,
      );
    }
    this.creation = creation;
    this.#systemPid = new Pid(this.node, 0, 0, creation);
  }

  // ---------------------------------------------------------------- spawning

  /**
   * Starts a process running `fn`. It runs once the caller yields (a
   * microtask later), with its links, monitor and name already in place.
   *
   * @param fn the process body; it gets the process's context
   * @param options link, name, trapExit and label
   * @returns the new process's pid
   * @throws {TypeError} when `fn` is not a function or an option is malformed
   * @throws {NameError} when `options.name` is already registered
   * @throws {NotAliveError} after `shutdown()`
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const pid = rt.spawn(async (ctx) => void (await ctx.receive()), { name: "worker" });
   * console.assert(rt.whereis("worker")?.equals(pid));
   * await rt.shutdown();
   * ```
   */
  spawn(fn: ProcessFn, options?: SpawnOptions): Pid {
    checkFunction(fn);
    if (this.#closed) throw new NotAliveError("Cannot spawn: the runtime has shut down");
    let proc: Proc;
    if (options === undefined) {
      proc = this.#newProc(undefined);
    } else {
      proc = this.#newProcWith(options, "spawn");
    }
    proc.body = fn;
    this.#runQueue.push(proc);
    if (!this.#runScheduled) {
      this.#runScheduled = true;
      queueMicrotask(this.#runAll);
    }
    return proc.self;
  }

  /**
   * Spawns a process linked to `parent`.
   *
   * @param parent the process to link the new one to (local or remote)
   * @param fn the process body
   * @param options as for {@linkcode Runtime.spawn}
   * @returns the new process's pid
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const parent = rt.open();
   * const child = rt.spawnLink(parent.self, async (ctx) => void (await ctx.receive()));
   * console.assert(rt.info(child)?.links[0]?.equals(parent.self));
   * await rt.shutdown();
   * ```
   */
  spawnLink(parent: Pid, fn: ProcessFn, options?: SpawnOptions): Pid {
    checkPid(parent, "spawn_link");
    return this.spawn(fn, options === undefined ? { link: parent } : { ...options, link: parent });
  }

  /**
   * Spawns a process monitored by `watcher`.
   *
   * @param watcher the local process that gets the `DOWN` message
   * @param fn the process body
   * @param options as for {@linkcode Runtime.spawn}
   * @returns the new pid and the monitor's ref
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * const [, ref] = rt.spawnMonitor(me.self, () => "done");
   * const down = await me.receive<{ ref: unknown; reason: unknown }>();
   * console.assert(down.ref === ref && down.reason === "normal");
   * await rt.shutdown();
   * ```
   */
  spawnMonitor(watcher: Pid, fn: ProcessFn, options?: SpawnOptions): [Pid, Ref] {
    this.#caller(watcher, "spawn_monitor");
    const pid = this.spawn(fn, options);
    return [pid, this.monitor(watcher, pid)];
  }

  /**
   * Makes a process driven from outside: no body runs; the returned
   * context sends, receives, links and monitors on its behalf. It lives
   * until `ctx.exit()`, an exit signal, or `shutdown()`. The REPL shell,
   * tests and servers of other layers use this.
   *
   * @param options label and trapExit
   * @returns the new process's context
   * @throws {NotAliveError} after `shutdown()`
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const shell = rt.open({ label: "shell" });
   * shell.send(shell.self, "hello");
   * console.assert((await shell.receive()) === "hello");
   * shell.exit();
   * await rt.shutdown();
   * ```
   */
  open(options?: OpenOptions): ProcessContext {
    if (this.#closed) throw new NotAliveError("Cannot open a process: the runtime has shut down");
    if (options === undefined) return this.#newProc("open");
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Cannot open a process: options must be an object`);
    }
    const label = options.label ?? "open";
    if (typeof label !== "string") {
      throw new TypeError(`Cannot open a process: label must be a string`);
    }
    const trap = options.trapExit ?? false;
    if (typeof trap !== "boolean") {
      throw new TypeError(`Cannot open a process: trapExit must be a boolean`);
    }
    const proc = this.#newProc(label);
    if (trap) proc.flags |= TRAP;
    return proc;
  }

  #newProc(label: string | undefined): Proc {
    const table = this.#procs;
    const id = table.allocate();
    const proc = new Proc(new Pid(this.node, id, table.serial, this.creation), this, label);
    table.insert(proc);
    return proc;
  }

  #newProcWith(options: SpawnOptions, what: string): Proc {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot ${what}: options must be an object, received ${describeType(options)}`,
      );
    }
    const { link, name, trapExit, label, maxMailbox } = options;
    if (link !== undefined) checkPid(link, what);
    if (name !== undefined) {
      checkName(name, what);
      if (this.#names.has(name)) {
        throw new NameError(`Cannot ${what}: name "${name}" is already registered`);
      }
    }
    if (trapExit !== undefined && typeof trapExit !== "boolean") {
      throw new TypeError(
        `Cannot ${what}: trapExit must be a boolean, received ${describeType(trapExit)}`,
      );
    }
    if (label !== undefined && typeof label !== "string") {
      throw new TypeError(
        `Cannot ${what}: label must be a string, received ${describeType(label)}`,
      );
    }
    if (maxMailbox !== undefined) checkMaxMailbox(maxMailbox, what);
    const proc = this.#newProc(label);
    if (trapExit) proc.flags |= TRAP;
    if (maxMailbox !== undefined) proc.limitMailbox(maxMailbox);
    if (name !== undefined) {
      this.#names.set(name, proc);
      proc.name = name;
    }
    if (link !== undefined) this.#link(proc, link);
    return proc;
  }

  /** Starts every process spawned since the last run; a microtask. */
  #runAll = (): void => {
    this.#runScheduled = false;
    const queue = this.#runQueue;
    this.#runQueue = [];
    for (let i = 0; i < queue.length; i++) {
      const proc = queue[i]!;
      if (proc.flags & EXITED) continue; // killed before it ever ran
      processStorage.run(proc, startBody, proc);
    }
  };

  static {
    // Entry points for module-level code (the body runners above and
    // ProcessContext.exit in _proc.ts) without making them public methods.
    bodyEnded = (proc, reason, threw) => proc.runtime.#bodyEnded(proc, reason, threw);
    setExitSelf((proc, reason) => proc.runtime.#signal(proc, proc.self, reason, SELF));
  }

  /** Called when a process body returns or throws (`threw`). */
  #bodyEnded(proc: Proc, reason: unknown, threw: boolean): void {
    if (proc.flags & EXITED) return; // already killed; its code just unwound
    if (threw) {
      if (reason instanceof ProcessExitError) {
        reason = reason.reason;
      } else if (!QUIET_REASONS.has(reason)) {
        this.#logCrash(proc, reason);
      }
    }
    this.#signal(proc, proc.self, reason, SELF);
  }

  #logCrash(proc: Proc, reason: unknown): void {
    const label = proc.label ?? (proc.body?.name || "anonymous");
    const props = { pid: String(proc.self), label, reason };
    if (reason instanceof Error && reason.stack) {
      log.error("Error in process {pid} ({label}) with exit value: {reason}\n{stack}", {
        ...props,
        stack: reason.stack,
      });
    } else {
      log.error("Error in process {pid} ({label}) with exit value: {reason}", props);
    }
  }

  // ---------------------------------------------------------------- messages

  /**
   * Sends `msg` to a pid, a local name, or a name on a node. A dead or
   * unknown pid drops the message, as does a name on a node that is not
   * registered there; messages for other nodes go to the router (dropped
   * when not distributed).
   *
   * @param dest where to
   * @param msg the message
   * @param from the sender, carried to other nodes
   * @throws {NameError} when `dest` is a local name nobody has registered
   * @throws {TypeError} when `dest` is malformed, or the router cannot encode `msg`
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * rt.register("me", me.self);
   * rt.send("me", 1);
   * rt.send({ name: "me", node: rt.node }, 2);
   * console.assert((await me.receive()) === 1 && (await me.receive()) === 2);
   * await rt.shutdown();
   * ```
   */
  send(dest: Dest, msg: unknown, from?: Pid): void {
    if (this.#tracing !== 0 && from !== undefined) this.#traceSend(from, dest, msg);
    if (dest instanceof Pid) {
      if (dest.node === this.node) {
        if (dest.creation !== this.creation) return; // stale pid of an earlier incarnation
        const proc = this.#procs.get(dest.id);
        if (proc !== undefined && proc.self.serial === dest.serial) proc.deliver(msg);
        return;
      }
      const router = this.router;
      if (router === undefined || this.#closed) return;
      router.route(
        dest.node,
        from === undefined ? { op: "send", to: dest, msg } : { op: "send", to: dest, msg, from },
      );
      return;
    }
    if (typeof dest === "string") {
      const proc = this.#names.get(dest);
      if (proc === undefined) {
        throw new NameError(`Cannot send: no process is registered as "${dest}"`);
      }
      proc.deliver(msg);
      return;
    }
    if (isViaDest(dest)) {
      const pid = this.#resolveVia(dest);
      if (pid === undefined) {
        throw new NameError(
          `Cannot send: nothing is registered under ${
            JSON.stringify(dest.key) ?? String(dest.key)
          } in ${typeof dest.via === "string" ? `"${dest.via}"` : "that name service"}`,
        );
      }
      this.send(pid, msg, from);
      return;
    }
    checkDest(dest, "send");
    if (dest.node === this.node) {
      this.#names.get(dest.name)?.deliver(msg);
      return;
    }
    const router = this.router;
    if (router === undefined || this.#closed) return;
    const to = { name: dest.name, node: dest.node };
    router.route(
      dest.node,
      from === undefined ? { op: "reg_send", to, msg } : { op: "reg_send", to, msg, from },
    );
  }

  /** The pid a `{ via, key }` destination names now (see `VIA_NAMES`). */
  #resolveVia(dest: ViaDest): Pid | undefined {
    const service = typeof dest.via === "string"
      ? this.context.get(VIA_NAMES)?.(dest.via)
      : dest.via;
    if (service === undefined) {
      throw new NameError(
        `Cannot send: no name service is known as "${String(dest.via)}" on ${this.node}`,
      );
    }
    return service.whereisName(dest.key);
  }

  /**
   * Holds back the process that sent to a busy distribution connection
   * (the node kernel calls this, as Erlang suspends such a sender): its
   * next `receive` waits until `until` settles (the connection drained or
   * closed). The process is `sender` when that is a live local pid, else
   * the one whose code is running, if it lives on this node. Code outside
   * any process is not held back.
   *
   * @param sender the sending pid, or the order key the message was sent with
   * @param until settles when the sender may go on
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * const { promise, resolve } = Promise.withResolvers<void>();
   * rt.holdSender(me.self, promise);
   * rt.send(me.self, "hello");
   * let got: unknown;
   * const receiving = me.receive().then((m) => (got = m));
   * await new Promise((r) => setTimeout(r, 10));
   * console.assert(got === undefined); // held back
   * resolve();
   * await receiving;
   * console.assert(got === "hello");
   * await rt.shutdown();
   * ```
   */
  holdSender(sender: unknown, until: Promise<void>): void {
    let proc: Proc | undefined;
    if (sender instanceof Pid) {
      if (sender.node !== this.node || sender.creation !== this.creation) return;
      proc = this.#procs.get(sender.id);
      if (proc === undefined || proc.self.serial !== sender.serial) return;
    } else {
      const ctx = processStorage.getStore();
      if (!(ctx instanceof Proc) || ctx.runtime !== this) return;
      proc = ctx;
    }
    proc.hold(until);
  }

  // ---------------------------------------------------------------- exit signals

  /**
   * Sends an exit signal to `to`, as Erlang's `exit/2`: `"kill"` ends it
   * with `"killed"` even if it traps exits; a trapping process otherwise
   * gets `{type: "EXIT", from, reason}`; `"normal"` is ignored unless
   * `to` is `from` itself; any other reason ends it with that reason.
   *
   * @param to the target (local or remote)
   * @param reason the exit reason
   * @param from the sender; default the runtime's own `#PID<node.0.0>`
   * @throws {TypeError} when `to` or `from` is not a pid
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const pid = rt.spawn(async (ctx) => void (await ctx.receive()));
   * rt.exit(pid, "normal");
   * console.assert(rt.isAlive(pid));
   * rt.exit(pid, "stop");
   * console.assert(!rt.isAlive(pid));
   * await rt.shutdown();
   * ```
   */
  exit(to: Pid, reason: unknown, from?: Pid): void {
    checkPid(to, "exit");
    if (from !== undefined) checkPid(from, "exit");
    const sender = from ?? this.#systemPid;
    if (to.node === this.node) {
      const proc = this.#local(to);
      if (proc !== undefined) this.#signal(proc, sender, reason, EXIT2);
      return;
    }
    this.#route(to.node, { op: "exit", from: sender, to, reason });
  }

  /** Queues an exit signal for `proc` and applies the queue unless already applying it. */
  #signal(proc: Proc, from: Pid, reason: unknown, kind: number): void {
    if (this.#draining) {
      this.#signals.push(proc, from, reason, kind);
      return;
    }
    // Nothing queued: apply this one at once, then whatever it raised.
    this.#draining = true;
    try {
      this.#apply(proc, from, reason, kind);
    } catch (err) {
      log.error("Cannot apply exit signal: {err}", { err });
    }
    this.#draining = false;
    if (this.#signals.length !== 0) this.#drain();
  }

  #drain(): void {
    this.#draining = true;
    const queue = this.#signals;
    try {
      for (let i = 0; i < queue.length; i += 4) {
        try {
          this.#apply(queue[i] as Proc, queue[i + 1] as Pid, queue[i + 2], queue[i + 3] as number);
        } catch (err) {
          log.error("Cannot apply exit signal: {err}", { err });
        }
      }
    } finally {
      queue.length = 0;
      this.#draining = false;
    }
  }

  #apply(proc: Proc, from: Pid, reason: unknown, kind: number): void {
    if (proc.flags & EXITED) return;
    switch (kind) {
      case SELF:
        this.#terminate(proc, reason);
        return;
      case LINK:
        if (proc.flags & TRAP) proc.deliver({ type: "EXIT", from, reason } satisfies ExitMessage);
        else if (reason !== "normal") this.#terminate(proc, reason);
        return;
      case EXIT2:
        if (reason === "kill") {
          this.#terminate(proc, "killed");
        } else if (proc.flags & TRAP) {
          proc.deliver({ type: "EXIT", from, reason } satisfies ExitMessage);
        } else if (reason !== "normal" || from.equals(proc.self)) {
          this.#terminate(proc, reason);
        }
        return;
    }
  }

  /** A send by `from`: its trace hears of it, if it is traced. */
  #traceSend(from: Pid, dest: Dest, msg: unknown): void {
    if (from.node !== this.node || from.creation !== this.creation) return;
    const proc = this.#procs.get(from.id);
    if (proc !== undefined && proc.flags & TRACED && proc.self.serial === from.serial) {
      proc.tracer!.sent(dest, msg);
    }
  }

  /**
   * Traces the messages a local process sends and receives (Erlang's
   * `dbg:p(Pid, [m])`), until `limit` events: then the trace stops by
   * itself and `onStop("limit", n)` says so. One trace per process at a time.
   *
   * @param pid a local process
   * @param options the callbacks, the limit (default 100) and which messages
   * @returns the running trace
   * @throws {TypeError} when `pid` is not a live local process, or an option is malformed
   * @throws {RangeError} when `limit` is not a positive integer, or the process is traced already
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * const seen: string[] = [];
   * let end = "";
   * rt.trace(me.self, { limit: 2, onEvent: (e) => seen.push(`${e.kind} ${e.msg}`), onStop: (why) => (end = why) });
   * me.send(me.self, "a"); // a send, then a receive: the limit
   * me.send(me.self, "b");
   * console.assert(seen.join() === "send a,receive a" && end === "limit");
   * await rt.shutdown();
   * ```
   */
  trace(pid: Pid, options: TraceOptions): Trace {
    const proc = this.#caller(pid, "trace");
    if (proc === undefined) throw new TypeError(`Cannot trace ${pid}: no such process`);
    if (typeof options?.onEvent !== "function") {
      throw new TypeError("Cannot trace: onEvent must be a function");
    }
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Cannot trace: limit must be a positive integer, received ${limit}`);
    }
    if (options.events !== undefined && !["send", "receive", "both"].includes(options.events)) {
      throw new TypeError(`Cannot trace: events must be send, receive or both`);
    }
    if (proc.flags & TRACED) throw new RangeError(`Cannot trace ${pid}: it is traced already`);
    const trace = new ProcessTrace(proc.self, options, () => {
      proc.flags &= ~TRACED;
      proc.tracer = null;
      this.#tracing--;
    });
    proc.tracer = trace;
    proc.flags |= TRACED;
    this.#tracing++;
    return trace;
  }

  /** The process is gone: free its name and timers, fire its links and monitors. */
  #terminate(proc: Proc, reason: unknown): void {
    if (proc.flags & TRACED) (proc.tracer as ProcessTrace).end("exited");
    proc.flags |= EXITED;
    proc.exitReason = reason;
    this.#procs.delete(proc.self.id);
    let error: ProcessExitError | undefined;
    if (proc.waiter !== null) proc.rejectWaiters(error = new ProcessExitError(reason));
    if (proc.flags & HELD) proc.release();
    proc.mailbox = null;
    // Most processes never had a name, a link, a monitor or a timer.
    if (proc.ext !== null) this.#terminateExt(proc, reason, error);
  }

  /** The part of `#terminate` for a process with names, links, monitors or timers. */
  #terminateExt(proc: Proc, reason: unknown, error: ProcessExitError | undefined): void {
    const self = proc.self;
    if (proc.name !== undefined && this.#names.get(proc.name) === proc) {
      this.#names.delete(proc.name);
    }
    const timers = proc.timers;
    if (timers !== null) {
      proc.timers = null;
      for (const id of timers) {
        const timer = this.#timers.get(id);
        if (timer !== undefined) {
          clearTimeout(timer.handle);
          this.#timers.delete(id);
        }
      }
    }
    const links = proc.links;
    if (links !== null) {
      proc.links = null;
      for (const [key, pid] of links) {
        if (typeof key === "number") {
          const other = this.#procs.get(key);
          if (other !== undefined) {
            other.links?.delete(self.id);
            this.#signals.push(other, self, reason, LINK);
          }
        } else {
          this.#unindex(pid.node, proc);
          this.#route(pid.node, { op: "link_exit", from: self, to: pid, reason });
        }
      }
    }
    const monitors = proc.monitors;
    if (monitors !== null) {
      proc.monitors = null;
      for (const m of monitors.values()) {
        if (m.targetProc !== null) {
          m.targetProc.monitoredBy?.delete(m.ref.id);
        } else {
          this.#unindex(m.target.node, proc);
          this.#route(m.target.node, { op: "demonitor", from: self, to: m.target, ref: m.ref });
        }
      }
    }
    const monitoredBy = proc.monitoredBy;
    if (monitoredBy !== null) {
      proc.monitoredBy = null;
      for (const [key, m] of monitoredBy) {
        const watcher = m.watcherProc;
        if (watcher !== null) {
          watcher.monitors?.delete(m.ref.id);
          watcher.deliver(
            { type: "DOWN", ref: m.ref, pid: m.target, reason } satisfies DownMessage,
          );
        } else {
          this.#forgetWatcher(m.watcher.node, key as string);
          this.#route(m.watcher.node, {
            op: "down",
            from: m.target,
            to: m.watcher,
            ref: m.ref,
            reason,
          });
        }
      }
    }
    const abort = proc.abort;
    if (abort !== null) abort.abort(error ?? new ProcessExitError(reason));
  }

  // ---------------------------------------------------------------- links

  /**
   * Links `a` to `b` (both ways), as Erlang's `link/1` called by `a`.
   * Linking to a dead or unknown process sends `a` an exit signal with
   * reason `"noproc"` (`"noconnection"` for a remote pid when not
   * distributed). Linking to itself or an existing link does nothing.
   *
   * @param a the local process on whose behalf the link is made
   * @param b the process to link to (local or remote)
   * @throws {TypeError} when `a` or `b` is not a pid, or `a` is not local
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const a = rt.open({ trapExit: true });
   * const b = rt.spawn(async (ctx) => void (await ctx.receive()));
   * rt.link(a.self, b);
   * rt.exit(b, "boom");
   * const msg = await a.receive<{ type: string; reason: unknown }>();
   * console.assert(msg.type === "EXIT" && msg.reason === "boom");
   * await rt.shutdown();
   * ```
   */
  link(a: Pid, b: Pid): void {
    const proc = this.#caller(a, "link");
    checkPid(b, "link");
    if (proc !== undefined) this.#link(proc, b);
  }

  #link(proc: Proc, pid: Pid): void {
    if (pid.node === this.node) {
      if (pid.equals(proc.self)) return;
      const other = this.#local(pid);
      if (other === undefined) {
        this.#signal(proc, pid, "noproc", LINK);
        return;
      }
      (proc.links ??= new Map()).set(other.self.id, other.self);
      (other.links ??= new Map()).set(proc.self.id, proc.self);
      return;
    }
    const key = pid.key;
    if (proc.links?.has(key)) return;
    if (this.router === undefined || this.#closed) {
      this.#signal(proc, pid, "noconnection", LINK);
      return;
    }
    (proc.links ??= new Map()).set(key, pid);
    this.#index(pid.node, proc);
    this.#route(pid.node, { op: "link", from: proc.self, to: pid });
  }

  /**
   * Removes the link between `a` and `b`, as Erlang's `unlink/1` called
   * by `a`: afterwards the link has no effect on `a`. An `EXIT` message
   * already in `a`'s mailbox stays there.
   *
   * @param a the local process on whose behalf the link is removed
   * @param b the linked process
   * @throws {TypeError} when `a` or `b` is not a pid, or `a` is not local
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const a = rt.open();
   * const b = rt.spawn(async (ctx) => void (await ctx.receive()));
   * rt.link(a.self, b);
   * rt.unlink(a.self, b);
   * rt.exit(b, "boom");
   * console.assert(rt.isAlive(a.self));
   * await rt.shutdown();
   * ```
   */
  unlink(a: Pid, b: Pid): void {
    const proc = this.#caller(a, "unlink");
    checkPid(b, "unlink");
    if (proc === undefined || proc.links === null) return;
    if (b.node === this.node) {
      const other = this.#local(b);
      if (other !== undefined && proc.links.delete(other.self.id)) {
        other.links?.delete(proc.self.id);
      }
      return;
    }
    if (proc.links.delete(b.key)) {
      this.#unindex(b.node, proc);
      this.#route(b.node, { op: "unlink", from: proc.self, to: b });
    }
  }

  // ---------------------------------------------------------------- monitors

  /**
   * Makes `watcher` monitor `target`: a pid, a local registered name, or
   * `{name, node}`. When the target exits the watcher gets
   * `{type: "DOWN", ref, pid, reason}` (with `pid` the `{name, node}` for
   * a monitor by name). A dead or unknown target gives `"noproc"` at once,
   * an unreachable node `"noconnection"`.
   *
   * @param watcher the local process that gets the `DOWN` message
   * @param target what to monitor
   * @returns the monitor's reference
   * @throws {TypeError} when `watcher` is not a local pid or `target` is malformed
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * const ref = rt.monitor(me.self, "nobody");
   * const down = await me.receive<{ ref: unknown; reason: unknown }>();
   * console.assert(down.ref === ref && down.reason === "noproc");
   * await rt.shutdown();
   * ```
   */
  monitor(watcher: Pid, target: Pid | RemoteName | string): Ref {
    const proc = this.#caller(watcher, "monitor");
    let name: RemoteName | undefined;
    let address: string | undefined;
    if (typeof target === "string") {
      checkName(target, "monitor");
      name = { name: target, node: this.node };
    } else if (!(target instanceof Pid)) {
      if (!isRemoteName(target)) {
        throw new TypeError(
          `Cannot monitor: target must be a pid, a name or {name, node}, received ${
            describeType(target)
          }`,
        );
      }
      // `name@host:port` addresses a node without a port mapper; the node is
      // `name@host` (pids and node-down events never carry the port), but the
      // router needs the address to connect.
      address = target.node;
      name = { name: target.name, node: withoutPort(target.node) };
    }
    const ref = this.makeRef();
    if (proc === undefined) return ref;
    const shown: Pid | RemoteName = name ?? (target as Pid);
    if (shown.node !== this.node) {
      if (this.router === undefined || this.#closed) {
        proc.deliver(
          { type: "DOWN", ref, pid: shown, reason: "noconnection" } satisfies DownMessage,
        );
        return ref;
      }
      const m = new Monitor(ref, proc.self, proc, shown, null);
      (proc.monitors ??= new Map()).set(ref.id, m);
      this.#index(shown.node, proc);
      this.#route(address ?? shown.node, { op: "monitor", from: proc.self, to: shown, ref });
      return ref;
    }
    const other = name === undefined ? this.#local(shown as Pid) : this.#names.get(name.name);
    if (other === undefined) {
      proc.deliver({ type: "DOWN", ref, pid: shown, reason: "noproc" } satisfies DownMessage);
      return ref;
    }
    const m = new Monitor(ref, proc.self, proc, name ?? other.self, other);
    (proc.monitors ??= new Map()).set(ref.id, m);
    (other.monitoredBy ??= new Map()).set(ref.id, m);
    return ref;
  }

  /**
   * Removes the monitor `ref` held by `watcher`. With `flush`, a `DOWN`
   * message for it is also removed from the mailbox, so none is ever
   * received afterwards.
   *
   * @param watcher the local process holding the monitor
   * @param ref the monitor's reference
   * @param options `flush`
   * @returns `true` when the monitor was active and is now removed
   * @throws {TypeError} when `watcher` is not a local pid or `ref` not a Ref
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * const pid = rt.spawn(async (ctx) => void (await ctx.receive()));
   * const ref = rt.monitor(me.self, pid);
   * console.assert(rt.demonitor(me.self, ref) === true);
   * console.assert(rt.demonitor(me.self, ref) === false);
   * await rt.shutdown();
   * ```
   */
  demonitor(watcher: Pid, ref: Ref, options?: DemonitorOptions): boolean {
    const proc = this.#caller(watcher, "demonitor");
    if (!(ref instanceof Ref)) {
      throw new TypeError(`Cannot demonitor: expected a reference, received ${describeType(ref)}`);
    }
    if (proc === undefined) return false;
    let found = false;
    if (ref.node === this.node && ref.creation === this.creation) {
      const m = proc.monitors?.get(ref.id);
      if (m !== undefined) {
        found = true;
        proc.monitors!.delete(ref.id);
        if (m.targetProc !== null) {
          m.targetProc.monitoredBy?.delete(ref.id);
        } else {
          this.#unindex(m.target.node, proc);
          this.#route(m.target.node, { op: "demonitor", from: proc.self, to: m.target, ref });
        }
      }
    }
    if (options?.flush) proc.flushDown(ref);
    return found;
  }

  // ---------------------------------------------------------------- names

  /**
   * Registers `pid` under `name`; the name is freed when the process exits.
   *
   * @param name the name
   * @param pid a live local process without a name
   * @throws {TypeError} when `name` is not a non-empty string or `pid` not a pid
   * @throws {NameError} when the name is taken, the process already has a
   *   name, is dead, or is on another node
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * rt.register("shell", me.self);
   * console.assert(rt.registered().includes("shell"));
   * await rt.shutdown();
   * ```
   */
  register(name: string, pid: Pid): void {
    checkName(name, "register name");
    checkPid(pid, "register name");
    if (this.#names.has(name)) {
      throw new NameError(`Cannot register name: "${name}" is already registered`);
    }
    if (pid.node !== this.node) {
      throw new NameError(`Cannot register name: ${pid} is not a process of ${this.node}`);
    }
    const proc = this.#local(pid);
    if (proc === undefined) {
      throw new NameError(`Cannot register name: ${pid} is not alive`);
    }
    if (proc.name !== undefined) {
      throw new NameError(`Cannot register name: ${pid} is already registered as "${proc.name}"`);
    }
    this.#names.set(name, proc);
    proc.name = name;
  }

  /**
   * Removes a registered name.
   *
   * @param name the name
   * @throws {NameError} when nothing is registered under `name`
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * rt.register("x", rt.open().self);
   * rt.unregister("x");
   * console.assert(rt.whereis("x") === undefined);
   * await rt.shutdown();
   * ```
   */
  unregister(name: string): void {
    checkName(name, "unregister name");
    const proc = this.#names.get(name);
    if (proc === undefined) {
      throw new NameError(`Cannot unregister name: "${name}" is not registered`);
    }
    this.#names.delete(name);
    proc.name = undefined;
  }

  /**
   * The pid registered under `name`, if any.
   *
   * @param name the name
   * @returns the pid, or `undefined`
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * console.assert(rt.whereis("nobody") === undefined);
   * ```
   */
  whereis(name: string): Pid | undefined {
    return this.#names.get(name)?.self;
  }

  /**
   * Every registered name.
   *
   * @returns the names
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * console.assert(new Runtime().registered().length === 0);
   * ```
   */
  registered(): string[] {
    return [...this.#names.keys()];
  }

  // ---------------------------------------------------------------- timers

  /**
   * Sends `msg` to `dest` after `ms` milliseconds, as Erlang's
   * `erlang:send_after/3`. A name is looked up when the timer fires
   * (nothing happens if it is not registered then). A timer aimed at a
   * local pid is cancelled when that process exits, or never started if
   * it is already dead.
   *
   * @param dest where to
   * @param msg the message
   * @param ms the delay, 0 to 2147483647
   * @returns the timer's reference, for {@linkcode Runtime.cancelTimer}
   * @throws {TypeError} when `dest` is malformed or `ms` not a number
   * @throws {RangeError} when `ms` is out of range
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * rt.sendAfter(me.self, "tick", 5);
   * console.assert((await me.receive()) === "tick");
   * await rt.shutdown();
   * ```
   */
  sendAfter(dest: Dest, msg: unknown, ms: number): Ref {
    if (isViaDest(dest)) {
      const pid = this.#resolveVia(dest);
      if (pid === undefined) return this.makeRef();
      return this.sendAfter(pid, msg, ms);
    }
    checkDest(dest, "send_after");
    if (typeof ms !== "number") {
      throw new TypeError(
        `Cannot send_after: delay must be a number, received ${describeType(ms)}`,
      );
    }
    if (!(ms >= 0 && ms <= 0x7fffffff)) {
      throw new RangeError(`Cannot send_after: delay must be 0-2147483647 ms, received ${ms}`);
    }
    const ref = this.makeRef();
    if (this.#closed) return ref;
    let proc: Proc | null = null;
    if (dest instanceof Pid && dest.node === this.node) {
      proc = this.#local(dest) ?? null;
      if (proc === null) return ref;
    }
    const timer = new Timer(ref, dest, msg, proc, performance.now() + ms);
    timer.handle = setTimeout(this.#fire, ms, timer);
    this.#timers.set(ref.id, timer);
    if (proc !== null) (proc.timers ??= new Set()).add(ref.id);
    return ref;
  }

  #fire = (timer: Timer): void => {
    this.#timers.delete(timer.ref.id);
    timer.proc?.timers?.delete(timer.ref.id);
    try {
      this.send(timer.dest, timer.msg);
    } catch (err) {
      if (!(err instanceof NameError)) {
        log.warn("Cannot deliver timer message to {dest}: {err}", { dest: timer.dest, err });
      }
    }
  };

  /**
   * Cancels a timer made by {@linkcode Runtime.sendAfter}.
   *
   * @param ref the timer's reference
   * @returns the milliseconds it had left, or `false` when it had already
   *   fired, been cancelled, or never existed
   * @throws {TypeError} when `ref` is not a Ref
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const ref = rt.sendAfter(rt.open().self, "late", 1000);
   * console.assert(typeof rt.cancelTimer(ref) === "number");
   * console.assert(rt.cancelTimer(ref) === false);
   * await rt.shutdown();
   * ```
   */
  cancelTimer(ref: Ref): number | false {
    if (!(ref instanceof Ref)) {
      throw new TypeError(
        `Cannot cancel timer: expected a reference, received ${describeType(ref)}`,
      );
    }
    if (ref.node !== this.node || ref.creation !== this.creation) return false;
    const timer = this.#timers.get(ref.id);
    if (timer === undefined) return false;
    clearTimeout(timer.handle);
    this.#timers.delete(ref.id);
    timer.proc?.timers?.delete(ref.id);
    return Math.max(0, Math.ceil(timer.due - performance.now()));
  }

  // ---------------------------------------------------------------- introspection

  /**
   * What a live local process is doing.
   *
   * @param pid a local pid
   * @returns its info, or `undefined` when it is not alive
   * @throws {TypeError} when `pid` is not a pid of this node
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open({ label: "shell" });
   * me.send(me.self, "x");
   * const info = rt.info(me.self)!;
   * console.assert(info.messageQueueLen === 1 && info.label === "shell");
   * await rt.shutdown();
   * ```
   */
  info(pid: Pid): ProcessInfo | undefined {
    const proc = this.#caller(pid, "get process info");
    if (proc === undefined) return undefined;
    const info: ProcessInfo = {
      pid: proc.self,
      status: proc.flags & HELD ? "suspended" : proc.waiter !== null ? "waiting" : "running",
      messageQueueLen: proc.queueLength,
      links: proc.links === null ? [] : [...proc.links.values()],
      monitors: proc.monitors === null ? [] : [...proc.monitors.values()].map((m) => m.target),
      monitoredBy: proc.monitoredBy === null
        ? []
        : [...proc.monitoredBy.values()].map((m) => m.watcher),
      messagesHandled: proc.handled,
      trapExit: (proc.flags & TRAP) !== 0,
      node: this.node,
    };
    if (proc.name !== undefined) info.registeredName = proc.name;
    // The body's name is read only here: a function's name costs a lookup.
    const label = proc.label ?? (proc.body?.name || undefined);
    if (label !== undefined) info.label = label;
    return info;
  }

  /**
   * Installs what a process shows as its state to the observer (OTP's
   * `sys:get_status`): a behaviour such as GenServer calls it for its own
   * process with a function that reads its current state, through its
   * `formatStatus` hook.
   *
   * @param pid a live local process
   * @param status returns what to show; `null` removes it
   * @throws {TypeError} when `pid` is not a pid of this node
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * let n = 1;
   * rt.setStatus(me.self, () => ({ count: n }));
   * n = 2;
   * console.assert((rt.status(me.self) as { value: { count: number } }).value.count === 2);
   * await rt.shutdown();
   * ```
   */
  setStatus(pid: Pid, status: (() => unknown) | null): void {
    const proc = this.#caller(pid, "set a process status");
    if (proc !== undefined) proc.status = status;
  }

  /**
   * What a local process shows as its state (see {@linkcode Runtime.setStatus}).
   *
   * @param pid a local process
   * @returns `{ value }`, `{ error }` when the hook threw, or `undefined` when the process is not
   *   alive or has no status hook
   * @throws {TypeError} when `pid` is not a pid of this node
   */
  status(pid: Pid): { value: unknown } | { error: unknown } | undefined {
    const proc = this.#caller(pid, "read a process status");
    const hook = proc?.status;
    if (hook === undefined || hook === null) return undefined;
    try {
      return { value: hook() };
    } catch (error) {
      return { error };
    }
  }

  /**
   * The first messages in a local process's mailbox, oldest first, left in
   * place (the observer's mailbox peek).
   *
   * @param pid a local pid
   * @param limit at most this many
   * @returns the messages, or `undefined` when the process is not alive
   * @throws {TypeError} when `pid` is not a pid of this node
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * me.send(me.self, "a");
   * me.send(me.self, "b");
   * console.assert(rt.peek(me.self, 1)![0] === "a" && me.self !== undefined);
   * await rt.shutdown();
   * ```
   */
  peek(pid: Pid, limit: number): unknown[] | undefined {
    const proc = this.#caller(pid, "peek at a mailbox");
    if (proc === undefined) return undefined;
    const box = proc.mailbox;
    if (box === null) return [];
    return box.slice(proc.head, proc.head + Math.max(0, limit));
  }

  /**
   * The pids of every live process.
   *
   * @returns the pids, in process-table order (as Erlang's `processes/0`)
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * console.assert(rt.list().some((p) => p.equals(me.self)));
   * await rt.shutdown();
   * ```
   */
  list(): Pid[] {
    const out: Pid[] = [];
    for (const proc of this.#procs.values()) out.push(proc.self);
    return out;
  }

  /**
   * Whether a local process is alive.
   *
   * @param pid a local pid
   * @returns `true` while it has not exited
   * @throws {TypeError} when `pid` is not a pid of this node
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * const me = rt.open();
   * me.exit();
   * console.assert(!rt.isAlive(me.self));
   * ```
   */
  isAlive(pid: Pid): boolean {
    return this.#caller(pid, "check process") !== undefined;
  }

  /**
   * A new reference, unique on this node's incarnation.
   *
   * @returns the reference
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * console.assert(!rt.makeRef().equals(rt.makeRef()));
   * ```
   */
  makeRef(): Ref {
    return new Ref(this.node, ++this.#nextRef, this.creation);
  }

  // ---------------------------------------------------------------- distribution

  /**
   * Applies a signal that arrived from another node (the distribution
   * layer calls this). Signals for a pid of an earlier incarnation, or for
   * a dead process, are dropped; a `link` or `monitor` of one is answered
   * through the router with `link_exit` / `down` and reason `"noproc"`.
   *
   * With `sender` (the node whose connection carried the signal), a signal
   * that claims to come from a process of any other node is refused: it is
   * dropped with one warning in the log, and the connection stays up. A
   * peer is trusted with its own processes, never with a third node's
   * (an EXIT `kill` "from" a process elsewhere, a LINK then LINK_EXIT in
   * another node's name), nor with references it did not make.
   *
   * @param signal the signal
   * @param sender the node that sent it, when it came over a connection
   * @returns `false` when the signal was refused as forged, `true` otherwise
   * @throws {TypeError} when the signal is malformed, or its sender is a
   *   process of this node
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * import { Pid } from "../term/pid.ts";
   * const rt = new Runtime({ node: "a@localhost" });
   * const me = rt.open();
   * rt.dispatch({ op: "send", to: me.self, msg: "from b", from: new Pid("b@localhost", 1, 0, 1) });
   * console.assert((await me.receive()) === "from b");
   * await rt.shutdown();
   * ```
   */
  dispatch(signal: Signal, sender?: string): boolean {
    if (typeof signal !== "object" || signal === null) {
      throw new TypeError(
        `Cannot dispatch signal: expected an object, received ${describeType(signal)}`,
      );
    }
    if (sender !== undefined) {
      const forged = forgedOrigin(signal, sender);
      if (forged !== undefined) {
        logLimited(
          refusedLog,
          sender,
          (more) =>
            log.warning("Refused a {op} signal from node {sender}: {why}{more}", {
              op: signal.op,
              sender,
              why: forged,
              more,
            }),
        );
        return false;
      }
    }
    this.#applyRemote(signal);
    return true;
  }

  #applyRemote(signal: Signal): void {
    switch (signal.op) {
      case "send": {
        checkPid(signal.to, "dispatch send");
        this.#local(signal.to)?.deliver(signal.msg);
        return;
      }
      case "reg_send": {
        if (!isRemoteName(signal.to)) {
          throw new TypeError(`Cannot dispatch reg_send: "to" must be {name, node}`);
        }
        if (signal.to.node === this.node) this.#names.get(signal.to.name)?.deliver(signal.msg);
        return;
      }
      case "link": {
        const from = this.#remote(signal.from, "link");
        checkPid(signal.to, "dispatch link");
        const proc = this.#local(signal.to);
        if (proc === undefined) {
          this.#route(from.node, { op: "link_exit", from: signal.to, to: from, reason: "noproc" });
          return;
        }
        const key = from.key;
        if (proc.links?.has(key)) return;
        (proc.links ??= new Map()).set(key, from);
        this.#index(from.node, proc);
        return;
      }
      case "unlink": {
        const from = this.#remote(signal.from, "unlink");
        checkPid(signal.to, "dispatch unlink");
        const proc = this.#local(signal.to);
        if (proc?.links?.delete(from.key)) this.#unindex(from.node, proc);
        return;
      }
      case "exit": {
        const from = this.#remote(signal.from, "exit");
        checkPid(signal.to, "dispatch exit");
        const proc = this.#local(signal.to);
        if (proc !== undefined) this.#signal(proc, from, signal.reason, EXIT2);
        return;
      }
      case "link_exit": {
        const from = this.#remote(signal.from, "link_exit");
        checkPid(signal.to, "dispatch link_exit");
        const proc = this.#local(signal.to);
        // No link (any more): the signal is void, as after unlink/1.
        if (proc === undefined || !proc.links?.delete(from.key)) return;
        this.#unindex(from.node, proc);
        this.#signal(proc, from, signal.reason, LINK);
        return;
      }
      case "monitor": {
        const from = this.#remote(signal.from, "monitor");
        const ref = this.#ref(signal.ref, "monitor");
        const to = signal.to;
        let proc: Proc | undefined;
        if (to instanceof Pid) proc = this.#local(to);
        else if (isRemoteName(to)) {
          proc = to.node === this.node ? this.#names.get(to.name) : undefined;
        } else throw new TypeError(`Cannot dispatch monitor: "to" must be a pid or {name, node}`);
        if (proc === undefined) {
          this.#route(from.node, { op: "down", from: to, to: from, ref, reason: "noproc" });
          return;
        }
        const target = to instanceof Pid ? proc.self : { name: to.name, node: to.node };
        const m = new Monitor(ref, from, null, target, proc);
        const key = ref.key;
        (proc.monitoredBy ??= new Map()).set(key, m);
        this.#nodeIndex(from.node).watchers.set(key, m);
        return;
      }
      case "demonitor": {
        const from = this.#remote(signal.from, "demonitor");
        const ref = this.#ref(signal.ref, "demonitor");
        const key = ref.key;
        const m = this.#nodes.get(from.node)?.watchers.get(key);
        if (m === undefined) return;
        this.#forgetWatcher(from.node, key);
        m.targetProc?.monitoredBy?.delete(key);
        return;
      }
      case "down": {
        const ref = this.#ref(signal.ref, "down");
        checkPid(signal.to, "dispatch down");
        const proc = this.#local(signal.to);
        if (proc === undefined || ref.node !== this.node || ref.creation !== this.creation) return;
        const m = proc.monitors?.get(ref.id);
        if (m === undefined || m.targetProc !== null) return;
        proc.monitors!.delete(ref.id);
        this.#unindex(m.target.node, proc);
        proc.deliver(
          { type: "DOWN", ref: m.ref, pid: m.target, reason: signal.reason } satisfies DownMessage,
        );
        return;
      }
      default:
        throw new TypeError(
          `Cannot dispatch signal: unknown op ${describeType((signal as { op: unknown }).op)}`,
        );
    }
  }

  /**
   * The connection to `node` is gone: every local process linked to one of
   * its processes gets an exit signal, and every monitor of one a `DOWN`
   * message, with reason `"noconnection"`; links and monitors its
   * processes held on local ones are forgotten.
   *
   * @param node the node that went down
   * @throws {TypeError} when `node` is not a string
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * import { Pid } from "../term/pid.ts";
   * const rt = new Runtime({ node: "a@localhost" });
   * rt.router = { route() {} };
   * const me = rt.open();
   * rt.monitor(me.self, new Pid("b@localhost", 5, 0, 1));
   * rt.nodeDown("b@localhost");
   * const down = await me.receive<{ reason: unknown }>();
   * console.assert(down.reason === "noconnection");
   * await rt.shutdown();
   * ```
   */
  nodeDown(node: string): void {
    if (typeof node !== "string") {
      throw new TypeError(
        `Cannot handle node down: node must be a string, received ${describeType(node)}`,
      );
    }
    const index = this.#nodes.get(node);
    if (index === undefined) return;
    this.#nodes.delete(node);
    for (const [key, m] of index.watchers) m.targetProc?.monitoredBy?.delete(key);
    for (const proc of index.procs.keys()) {
      if (proc.flags & EXITED) continue;
      if (proc.links !== null) {
        for (const [key, pid] of proc.links) {
          if (typeof key === "string" && pid.node === node) {
            proc.links.delete(key);
            this.#signals.push(proc, pid, "noconnection", LINK);
          }
        }
      }
      if (proc.monitors !== null) {
        for (const [id, m] of proc.monitors) {
          if (m.targetProc === null && m.target.node === node) {
            proc.monitors.delete(id);
            proc.deliver(
              {
                type: "DOWN",
                ref: m.ref,
                pid: m.target,
                reason: "noconnection",
              } satisfies DownMessage,
            );
          }
        }
      }
    }
    if (!this.#draining) this.#drain();
  }

  #route(node: string, signal: Signal): void {
    const router = this.router;
    if (router === undefined) return;
    try {
      router.route(node, signal);
    } catch (err) {
      let failure = err;
      // An exit reason that cannot cross the wire still has to: send its text.
      if ("reason" in signal && typeof signal.reason !== "string") {
        try {
          router.route(node, { ...signal, reason: describe(signal.reason) });
          return;
        } catch (again) {
          failure = again;
        }
      }
      log.warn("Cannot route {op} signal to {node}: {err}", { op: signal.op, node, err: failure });
    }
  }

  #nodeIndex(node: string): NodeIndex {
    let index = this.#nodes.get(node);
    if (index === undefined) {
      index = { procs: new Map(), watchers: new Map() };
      this.#nodes.set(node, index);
    }
    return index;
  }

  #index(node: string, proc: Proc): void {
    const procs = this.#nodeIndex(node).procs;
    procs.set(proc, (procs.get(proc) ?? 0) + 1);
  }

  #unindex(node: string, proc: Proc): void {
    const index = this.#nodes.get(node);
    if (index === undefined) return;
    const count = index.procs.get(proc);
    if (count === undefined) return;
    if (count > 1) {
      index.procs.set(proc, count - 1);
      return;
    }
    index.procs.delete(proc);
    if (index.procs.size === 0 && index.watchers.size === 0) this.#nodes.delete(node);
  }

  #forgetWatcher(node: string, key: string): void {
    const index = this.#nodes.get(node);
    if (index === undefined) return;
    index.watchers.delete(key);
    if (index.procs.size === 0 && index.watchers.size === 0) this.#nodes.delete(node);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Stops the node's processes: each exits with `reason` (trapping or
   * not), every timer is cleared, and afterwards `spawn` and `open` throw
   * `NotAliveError`. Resolves once every process has exited.
   *
   * @param reason the exit reason, default `"shutdown"`
   *
   * @example
   * ```ts
   * import { Runtime } from "./runtime.ts";
   * const rt = new Runtime();
   * rt.spawn(async (ctx) => void (await ctx.receive()));
   * await rt.shutdown();
   * console.assert(rt.list().length === 0);
   * ```
   */
  async shutdown(reason: unknown = "shutdown"): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const timer of this.#timers.values()) clearTimeout(timer.handle);
      this.#timers.clear();
      for (const proc of this.#procs.values()) this.#signals.push(proc, proc.self, reason, SELF);
      if (!this.#draining) this.#drain();
    }
    // Let the bodies of the killed processes see their receive reject.
    await Promise.resolve();
  }

  /** Whether `shutdown()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- helpers

  /** The live local process `pid` names, or `undefined` (dead, stale, unknown, remote). */
  #local(pid: Pid): Proc | undefined {
    if (pid.node !== this.node || pid.creation !== this.creation) return undefined;
    const proc = this.#procs.get(pid.id);
    return proc !== undefined && proc.self.serial === pid.serial ? proc : undefined;
  }

  /** A pid that must be of this node (it acts); its process if alive. */
  #caller(pid: Pid, what: string): Proc | undefined {
    checkPid(pid, what);
    if (pid.node !== this.node) {
      throw new TypeError(`Cannot ${what}: ${pid} is not a process of ${this.node}`);
    }
    return this.#local(pid);
  }

  /** The sender of a signal from another node. */
  #remote(pid: unknown, op: string): Pid {
    checkPid(pid, `dispatch ${op}`);
    if (pid.node === this.node) {
      throw new TypeError(`Cannot dispatch ${op}: sender ${pid} is a process of this node`);
    }
    return pid;
  }

  #ref(ref: unknown, op: string): Ref {
    if (!(ref instanceof Ref)) {
      throw new TypeError(
        `Cannot dispatch ${op}: expected a reference, received ${describeType(ref)}`,
      );
    }
    return ref;
  }

  /** `#Runtime<node>` */
  toString(): string {
    return `#Runtime<${this.node}>`;
  }

  /** `Deno.inspect` shows `#Runtime<node>`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/**
 * Why a signal that `sender`'s connection carried cannot be from `sender`,
 * or `undefined` when it can: its `from` must be a process (or, for
 * MONITOR_EXIT, a name) of `sender`, and a monitor's reference one that
 * `sender` made.
 */
function forgedOrigin(signal: Signal, sender: string): string | undefined {
  switch (signal.op) {
    case "send":
    case "reg_send":
      // The wire carries no sender for messages: nothing to forge.
      return undefined;
    case "link":
    case "unlink":
    case "exit":
    case "link_exit":
    case "monitor":
    case "demonitor": {
      const from: unknown = signal.from;
      if (from instanceof Pid && from.node !== sender) {
        return `its sender ${from} is not a process of ${sender}`;
      }
      if (signal.op === "monitor" || signal.op === "demonitor") {
        const ref: unknown = signal.ref;
        if (ref instanceof Ref && ref.node !== sender) {
          return `its reference was not made by ${sender}`;
        }
      }
      return undefined;
    }
    case "down": {
      const from: unknown = signal.from;
      const node = from instanceof Pid ? from.node : isRemoteName(from) ? from.node : sender;
      return node === sender ? undefined : `the process it reports is not one of ${sender}`;
    }
    default:
      return undefined;
  }
}
