/**
 * One local process: its mailbox with selective receive, the tables of its
 * links and monitors, and the {@linkcode ProcessContext} its code uses.
 * The runtime owns every cross-process rule (exit signals, links,
 * monitors, names); this file keeps what belongs to a single process.
 *
 * Memory matters here: a node may hold hundreds of thousands of idle
 * processes, so everything a process does not use yet (link and monitor
 * tables, the abort controller, timers, the mailbox array itself) stays
 * `null` until it is needed.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { ProcessExitError, TimeoutError } from "../errors.ts";
import { logger } from "../log.ts";
import type { Pid, Ref } from "../term/pid.ts";
import type { Runtime } from "./runtime.ts";
import type {
  DemonitorOptions,
  Dest,
  DownMessage,
  MailboxLimitReason,
  ProcessContext,
  ProcessFn,
  ReceiveOptions,
  RemoteName,
  SpawnOptions,
} from "./types.ts";

/** `flags` bit: exit signals become messages. */
export const TRAP = 1;
/** `flags` bit: the process has exited. */
export const EXITED = 2;
/** `flags` bit: the mailbox has a limit (`ext.maxMailbox`); unset, `deliver` pays nothing for it. */
export const LIMITED = 4;
/**
 * `flags` bit: the process sent to a busy distribution connection and is
 * held back (`ext.held`) until it drains; its next `receive` waits.
 */
export const HELD = 8;
/** `flags` bit: a trace is on (`ext.tracer`); unset, `deliver` and `send` pay nothing for it. */
export const TRACED = 16;

/** What a process's trace is told (the runtime's `trace` makes it). */
export interface ProcTracer {
  /** `msg` reached the process's mailbox (or a pending receive). */
  received(msg: unknown): void;
  /** The process sent `msg` to `to`. */
  sent(to: unknown, msg: unknown): void;
}

const log = logger("process");

/** The runtime's exit/1, for `ProcessContext.exit`; the runtime installs it. */
/**
 * Deliveries handed to receivers since the event loop last had a turn.
 * Erlang preempts a process after a budget of reductions; JavaScript can't,
 * but every message hand-over is a point where we may yield. Processes that
 * keep each other busy (ping-pong, a process messaging itself) would
 * otherwise run on microtasks forever and starve timers and I/O, so every
 * BUDGET hand-overs one goes through `setImmediate` (about 2 µs, and no
 * clamping as with `setTimeout(0)`).
 */
const BUDGET = 4096;
let handOvers = 0;

/** Hands `msg` to a receiver now, or after a turn of the event loop once the budget is spent. */
function handOver(resolve: (msg: unknown) => void, msg: unknown): void {
  if (++handOvers < BUDGET) {
    resolve(msg);
    return;
  }
  handOvers = 0;
  setImmediate(resolve, msg);
}

/** `Promise.resolve(msg)`, yielding to the event loop once the budget is spent. */
function resolved<T>(msg: T): Promise<T> {
  if (++handOvers < BUDGET) return Promise.resolve(msg);
  handOvers = 0;
  return new Promise((resolve) => setImmediate(resolve, msg));
}

let exitSelf: (proc: Proc, reason: unknown) => void = () => {
  throw new Error("Cannot exit: the process runtime is not loaded");
};

/** Installs the runtime's exit/1 (called once, by `runtime.ts`). */
export function setExitSelf(fn: (proc: Proc, reason: unknown) => void): void {
  exitSelf = fn;
}

/** A selective-receive predicate: `true` takes the message. */
export type Matcher = (msg: unknown) => boolean;

function ignore(): void {}

/**
 * A rejected promise that does not count as unhandled: a `receive` that
 * lost a `Promise.race`, or that its caller dropped, must not bring down
 * the whole Deno process when its process exits or its timeout passes.
 * Whoever awaits it still gets the rejection.
 */
function quietRejection<T>(err: unknown): Promise<T> {
  const promise = Promise.reject<T>(err);
  promise.catch(ignore);
  return promise;
}

/** One pending `receive`. Several may wait at once; they form a list. */
class Waiter {
  matcher: Matcher | undefined;
  resolve: (msg: unknown) => void;
  reject: (err: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  next: Waiter | null = null;
  /** The promise `receive` returned, to mark its rejection handled. */
  promise: Promise<unknown> | null = null;

  /** Rejects the pending receive without an unhandled rejection. */
  fail(err: unknown): void {
    this.promise?.catch(ignore);
    this.reject(err);
  }

  constructor(
    matcher: Matcher | undefined,
    resolve: (msg: unknown) => void,
    reject: (err: unknown) => void,
  ) {
    this.matcher = matcher;
    this.resolve = resolve;
    this.reject = reject;
  }
}

/**
 * A monitor, shared by both ends when both are local. `watcherProc` is
 * `null` when the watcher is on another node, `targetProc` when the target
 * is; `target` is what was monitored (a pid, or a name as `{name, node}`)
 * and is what the `DOWN` message names.
 */
export class Monitor {
  readonly ref: Ref;
  readonly watcher: Pid;
  readonly watcherProc: Proc | null;
  readonly target: Pid | RemoteName;
  readonly targetProc: Proc | null;

  constructor(
    ref: Ref,
    watcher: Pid,
    watcherProc: Proc | null,
    target: Pid | RemoteName,
    targetProc: Proc | null,
  ) {
    this.ref = ref;
    this.watcher = watcher;
    this.watcherProc = watcherProc;
    this.target = target;
    this.targetProc = targetProc;
  }
}

function onReceiveTimeout(proc: Proc, waiter: Waiter, ms: number): void {
  if (proc.removeWaiter(waiter)) {
    waiter.fail(new TimeoutError(`Receive timed out after ${ms} ms`));
  }
}

function invalidTimeout(timeout: unknown): Error | undefined {
  if (typeof timeout !== "number") {
    return new TypeError(`Cannot receive: timeout must be a number, received ${typeof timeout}`);
  }
  if (!(timeout >= 0)) {
    return new RangeError(`Cannot receive: timeout must be 0 or more, received ${timeout}`);
  }
  if (timeout !== Infinity && timeout > 0x7fffffff) {
    return new RangeError(
      `Cannot receive: timeout must be at most 2147483647 ms or Infinity, received ${timeout}`,
    );
  }
  return undefined;
}

/** The part of a process that most processes never need. */
class ProcExt {
  label: string | undefined = undefined;
  links: Map<number | string, Pid> | null = null;
  monitors: Map<number, Monitor> | null = null;
  monitoredBy: Map<number | string, Monitor> | null = null;
  name: string | undefined = undefined;
  abort: AbortController | null = null;
  timers: Set<number> | null = null;
  /** The `maxMailbox` spawn option; read only while the `LIMITED` flag is set. */
  maxMailbox = 0;
  /** What the process is held back for, while the `HELD` flag is set. */
  held: Hold | null = null;
  /** Its trace, while the `TRACED` flag is set. */
  tracer: ProcTracer | null = null;
  /** What the observer shows as its state (a behaviour installs it); see `Runtime.setStatus`. */
  status: (() => unknown) | null = null;
}

/**
 * Why a process is held back: the drains of the busy connections it sent
 * to. `promise` resolves when the last of them settles, or the process exits.
 */
class Hold {
  readonly until = new Set<Promise<void>>();
  readonly released = Promise.withResolvers<void>();
}

/**
 * A local process and its context. The runtime reads and writes the plain
 * fields directly; code running in the process only sees the
 * {@linkcode ProcessContext} methods.
 */
export class Proc implements ProcessContext {
  /** This process's pid. */
  readonly self: Pid;
  /** The runtime it lives on. */
  readonly runtime: Runtime;
  /** The body; `null` for `open()` processes. Its name is the default label. */
  body: ProcessFn | null = null;
  /** {@linkcode TRAP} | {@linkcode EXITED}. */
  flags = 0;
  /**
   * Messages not yet received, oldest first, from index `head` on (taking
   * the first message moves `head` rather than shifting the array);
   * `null` until the first message arrives.
   */
  mailbox: unknown[] | null = null;
  /** Index of the oldest message in `mailbox`. */
  head = 0;
  /** The first pending `receive`, if any. */
  waiter: Waiter | null = null;
  /** Messages taken out of the mailbox so far. */
  handled = 0;
  /** The exit reason, once exited. */
  exitReason: unknown = undefined;
  /** What most processes never use, made on first use: see the accessors below. */
  ext: ProcExt | null = null;

  constructor(self: Pid, runtime: Runtime, label: string | undefined) {
    this.self = self;
    this.runtime = runtime;
    if (label !== undefined) this.label = label;
  }

  #ext(): ProcExt {
    return this.ext ??= new ProcExt();
  }

  /** The initial call shown by `info()`, when given at spawn. */
  get label(): string | undefined {
    return this.ext?.label;
  }
  set label(value: string | undefined) {
    if (value !== undefined || this.ext !== null) this.#ext().label = value;
  }

  /** Its status hook (`Runtime.setStatus`). */
  get status(): (() => unknown) | null {
    return this.ext === null ? null : this.ext.status;
  }
  set status(value: (() => unknown) | null) {
    if (value !== null || this.ext !== null) this.#ext().status = value;
  }

  /** Its trace, while the `TRACED` flag is set. */
  get tracer(): ProcTracer | null {
    return this.ext === null ? null : this.ext.tracer;
  }
  set tracer(value: ProcTracer | null) {
    if (value !== null || this.ext !== null) this.#ext().tracer = value;
  }

  /** Linked pids: local ones keyed by id, remote ones by `pid.key`. */
  get links(): Map<number | string, Pid> | null {
    return this.ext === null ? null : this.ext.links;
  }
  set links(value: Map<number | string, Pid> | null) {
    if (value !== null || this.ext !== null) this.#ext().links = value;
  }

  /** Monitors this process holds, by ref id. */
  get monitors(): Map<number, Monitor> | null {
    return this.ext === null ? null : this.ext.monitors;
  }
  set monitors(value: Map<number, Monitor> | null) {
    if (value !== null || this.ext !== null) this.#ext().monitors = value;
  }

  /** Monitors on this process: local watchers' refs by id, remote ones by `ref.key`. */
  get monitoredBy(): Map<number | string, Monitor> | null {
    return this.ext === null ? null : this.ext.monitoredBy;
  }
  set monitoredBy(value: Map<number | string, Monitor> | null) {
    if (value !== null || this.ext !== null) this.#ext().monitoredBy = value;
  }

  /** The registered name, if any. */
  get name(): string | undefined {
    return this.ext?.name;
  }
  set name(value: string | undefined) {
    if (value !== undefined || this.ext !== null) this.#ext().name = value;
  }

  /** Created when `signal` is first read. */
  get abort(): AbortController | null {
    return this.ext === null ? null : this.ext.abort;
  }
  set abort(value: AbortController | null) {
    if (value !== null || this.ext !== null) this.#ext().abort = value;
  }

  /** Ids of `sendAfter` timers aimed at this process. */
  get timers(): Set<number> | null {
    return this.ext === null ? null : this.ext.timers;
  }
  set timers(value: Set<number> | null) {
    if (value !== null || this.ext !== null) this.#ext().timers = value;
  }

  /** Aborted with a `ProcessExitError` when the process exits. */
  get signal(): AbortSignal {
    let controller = this.abort;
    if (controller === null) {
      controller = this.abort = new AbortController();
      if (this.flags & EXITED) controller.abort(new ProcessExitError(this.exitReason));
    }
    return controller.signal;
  }

  /** Bounds the mailbox to `limit` messages (the `maxMailbox` spawn option, checked by the runtime). */
  limitMailbox(limit: number): void {
    this.#ext().maxMailbox = limit;
    this.flags |= LIMITED;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return (this.flags & EXITED) !== 0;
  }

  receive<T = unknown>(matcher?: Matcher, options?: ReceiveOptions): Promise<T> {
    if (this.flags & EXITED) return quietRejection(new ProcessExitError(this.exitReason));
    if (this.flags & HELD) {
      // Held back (see hold): the receive starts once the connection drained,
      // as an Erlang process suspended on a busy distribution buffer resumes.
      const after = this.ext!.held!.released.promise.then(() => this.receive<T>(matcher, options));
      after.catch(ignore);
      return after;
    }
    if (matcher !== undefined && typeof matcher !== "function") {
      return Promise.reject(
        new TypeError(`Cannot receive: matcher must be a function, received ${typeof matcher}`),
      );
    }
    let timeout = Infinity;
    if (options !== undefined && options !== null && options.timeout !== undefined) {
      const bad = invalidTimeout(options.timeout);
      if (bad !== undefined) return Promise.reject(bad);
      timeout = options.timeout;
    }
    const box = this.mailbox;
    if (box !== null && box.length > this.head) {
      if (matcher === undefined) return resolved(this.#take(box, this.head) as T);
      for (let i = this.head; i < box.length; i++) {
        try {
          if (!matcher(box[i])) continue;
        } catch (err) {
          return Promise.reject(err);
        }
        return resolved(this.#take(box, i) as T);
      }
    }
    if (timeout === 0) {
      return quietRejection(new TimeoutError("Receive timed out after 0 ms"));
    }
    const promise = new Promise<T>((resolve, reject) => {
      const waiter = new Waiter(matcher, resolve as (msg: unknown) => void, reject);
      if (timeout !== Infinity) {
        waiter.timer = setTimeout(onReceiveTimeout, timeout, this, waiter, timeout);
      }
      let last = this.waiter;
      if (last === null) {
        this.waiter = waiter;
      } else {
        while (last.next !== null) last = last.next;
        last.next = waiter;
      }
    });
    // The newest waiter is the last one; it keeps its promise for fail().
    let last = this.waiter!;
    while (last.next !== null) last = last.next;
    last.promise = promise;
    return promise;
  }

  /** Removes and returns the message at index `i` of `box` (the mailbox). */
  #take(box: unknown[], i: number): unknown {
    const msg = box[i];
    this.handled++;
    if (i !== this.head) {
      box.splice(i, 1);
    } else if (++this.head === box.length) {
      box.length = 0;
      this.head = 0;
    } else {
      box[i] = undefined;
      // Drop the taken prefix once it is most of the array.
      if (this.head >= 64 && this.head * 2 >= box.length) {
        box.splice(0, this.head);
        this.head = 0;
      }
    }
    return msg;
  }

  /** Number of messages in the mailbox. */
  get queueLength(): number {
    return this.mailbox === null ? 0 : this.mailbox.length - this.head;
  }

  /**
   * Puts `msg` in the mailbox, or hands it straight to the first pending
   * `receive` that accepts it (they have already seen the mailbox).
   */
  deliver(msg: unknown): void {
    if (this.flags & (EXITED | TRACED)) {
      if (this.flags & EXITED) return;
      this.ext!.tracer!.received(msg);
    }
    let waiter = this.waiter;
    if (waiter !== null) {
      if (waiter.matcher === undefined) {
        this.waiter = waiter.next;
        if (waiter.timer !== undefined) clearTimeout(waiter.timer);
        this.handled++;
        handOver(waiter.resolve, msg);
        return;
      }
      while (waiter !== null) {
        const next: Waiter | null = waiter.next;
        const matcher = waiter.matcher;
        let accepted = true;
        if (matcher !== undefined) {
          try {
            accepted = matcher(msg);
          } catch (err) {
            // A matcher that throws fails its own receive, not the sender.
            this.removeWaiter(waiter);
            if (waiter.timer !== undefined) clearTimeout(waiter.timer);
            waiter.fail(err);
            waiter = next;
            continue;
          }
        }
        if (accepted) {
          this.removeWaiter(waiter);
          if (waiter.timer !== undefined) clearTimeout(waiter.timer);
          this.handled++;
          handOver(waiter.resolve, msg);
          return;
        }
        waiter = next;
      }
    }
    const box = this.mailbox;
    if (box === null) {
      this.mailbox = [msg];
    } else {
      box.push(msg);
      // A limit is at least 1, so the first message can never pass it.
      if (this.flags & LIMITED && box.length - this.head > this.ext!.maxMailbox) {
        this.#overLimit(box.length - this.head);
      }
    }
  }

  /**
   * The mailbox holds more than `maxMailbox` messages: the process exits
   * at once (as Erlang's `max_heap_size` kills), whether it traps exits or
   * not, and its links and monitors see the reason.
   */
  #overLimit(length: number): void {
    this.flags &= ~LIMITED; // one exit and one log line, however many messages follow
    const limit = this.ext!.maxMailbox;
    const reason: MailboxLimitReason = { reason: "mailbox_limit", limit, length };
    log.error(
      "Process {pid} ({label}) exits: {length} messages in its mailbox, past its limit of {limit}",
      {
        pid: String(this.self),
        label: this.label ?? (this.body?.name || "anonymous"),
        length,
        limit,
      },
    );
    exitSelf(this, reason);
  }

  /** Unlinks `waiter` from the pending list; `false` if it was not there. */
  removeWaiter(waiter: Waiter): boolean {
    let prev: Waiter | null = null;
    let cur = this.waiter;
    while (cur !== null && cur !== waiter) {
      prev = cur;
      cur = cur.next;
    }
    if (cur === null) return false;
    if (prev === null) this.waiter = cur.next;
    else prev.next = cur.next;
    cur.next = null;
    return true;
  }

  /**
   * Holds the process back until `until` settles (a busy connection it
   * sent to has drained or closed): its next `receive` waits for that
   * first. Erlang suspends a process that sends to a busy distribution
   * connection; JavaScript cannot stop a function midway, so the process
   * stops at the next point where it waits for the runtime.
   *
   * @param until settles when the process may go on
   */
  hold(until: Promise<void>): void {
    if (this.flags & EXITED) return;
    const ext = this.#ext();
    let h = ext.held;
    if (h === null) {
      h = ext.held = new Hold();
      this.flags |= HELD;
    } else if (h.until.has(until)) {
      return;
    }
    const hold = h;
    hold.until.add(until);
    const done = () => {
      hold.until.delete(until);
      if (hold.until.size === 0) this.release(hold);
    };
    until.then(done, done);
  }

  /** Lets a held process go on (its connections drained, or it exited). */
  release(hold: Hold | null = this.ext?.held ?? null): void {
    if (hold === null) return;
    if (this.ext?.held === hold) {
      this.ext.held = null;
      this.flags &= ~HELD;
    }
    hold.released.resolve();
  }

  /** Rejects every pending `receive` with `err` (the process is exiting). */
  rejectWaiters(err: ProcessExitError): void {
    let waiter = this.waiter;
    this.waiter = null;
    while (waiter !== null) {
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      waiter.fail(err);
      waiter = waiter.next;
    }
  }

  /** Removes any `DOWN` message of the monitor `ref` from the mailbox. */
  flushDown(ref: Ref): void {
    const box = this.mailbox;
    if (box === null) return;
    for (let i = box.length - 1; i >= this.head; i--) {
      const msg = box[i] as Partial<DownMessage> | null;
      if (
        typeof msg === "object" && msg !== null && msg.type === "DOWN" &&
        ref.equals(msg.ref)
      ) {
        box.splice(i, 1);
      }
    }
  }

  send(dest: Dest, msg: unknown): void {
    if (this.flags & EXITED) return;
    this.runtime.send(dest, msg, this.self);
  }

  spawn(fn: ProcessFn, options?: SpawnOptions): Pid {
    this.#mustBeAlive();
    return this.runtime.spawn(fn, options);
  }

  spawnLink(fn: ProcessFn, options?: SpawnOptions): Pid {
    this.#mustBeAlive();
    return this.runtime.spawnLink(this.self, fn, options);
  }

  spawnMonitor(fn: ProcessFn, options?: SpawnOptions): [Pid, Ref] {
    this.#mustBeAlive();
    return this.runtime.spawnMonitor(this.self, fn, options);
  }

  link(pid: Pid): void {
    this.#mustBeAlive();
    this.runtime.link(this.self, pid);
  }

  unlink(pid: Pid): void {
    this.runtime.unlink(this.self, pid);
  }

  monitor(target: Pid | RemoteName | string): Ref {
    this.#mustBeAlive();
    return this.runtime.monitor(this.self, target);
  }

  demonitor(ref: Ref, options?: DemonitorOptions): boolean {
    return this.runtime.demonitor(this.self, ref, options);
  }

  trapExit(flag: boolean): boolean {
    if (typeof flag !== "boolean") {
      throw new TypeError(`Cannot set trapExit: expected a boolean, received ${typeof flag}`);
    }
    const previous = (this.flags & TRAP) !== 0;
    if (!(this.flags & EXITED)) this.flags = flag ? this.flags | TRAP : this.flags & ~TRAP;
    return previous;
  }

  exit(reason: unknown = "normal"): void {
    if (this.flags & EXITED) return;
    exitSelf(this, reason);
  }

  flush(): unknown[] {
    const box = this.mailbox;
    if (box === null || this.flags & EXITED) return [];
    const messages = this.head === 0 ? box : box.slice(this.head);
    this.mailbox = null;
    this.head = 0;
    this.handled += messages.length;
    return messages;
  }

  #mustBeAlive(): void {
    if (this.flags & EXITED) throw new ProcessExitError(this.exitReason);
  }

  /** `#Process<#PID<...>>` */
  toString(): string {
    return `#Process<${this.self}>`;
  }

  /** `Deno.inspect` shows `#Process<#PID<...>>`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** `node:util` inspect shows `#Process<#PID<...>>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
