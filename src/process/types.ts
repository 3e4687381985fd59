/**
 * The shapes shared by the process runtime and the layers above it: the
 * signals that travel between processes (locally or through distribution),
 * the system messages a process receives, and the router contract that the
 * distribution layer implements.
 *
 * Flow of a signal to a process on another node:
 *
 * ```
 * Runtime(a).send(pid@b) -> router.route(signal) -> [dist: frame over TCP]
 *   -> Runtime(b).dispatch(signal) -> mailbox / link / monitor tables
 * ```
 *
 * @module
 */

import type { Pid, Ref } from "../term/pid.ts";
import type { Runtime } from "./runtime.ts";

/** A process registered by name on a given node, as Erlang's `{Name, Node}`. */
export interface RemoteName {
  /** The registered name. */
  name: string;
  /** The node it is registered on. */
  node: string;
}

/**
 * Whether `value` is a name on a node, `{ name, node }`.
 *
 * @example
 * ```ts
 * import { isRemoteName } from "./types.ts";
 * console.assert(isRemoteName({ name: "db", node: "b@host" }) && !isRemoteName({ name: "db" }));
 * ```
 */
export function isRemoteName(value: unknown): value is RemoteName {
  return typeof value === "object" && value !== null &&
    typeof (value as RemoteName).name === "string" &&
    typeof (value as RemoteName).node === "string";
}

/**
 * A name service as `send` uses one (Erlang's via module's `whereis_name`):
 * who holds a key now.
 */
export interface NameResolver {
  /** The process under `key`, if any. */
  whereisName(key: unknown): Pid | undefined;
}

/**
 * A name held by a name service, Elixir's `{:via, module, key}`: the
 * service itself, or the name it is known by on the node (see
 * `VIA_NAMES` in `node_context.ts`).
 */
export interface ViaDest {
  /** The name service, or its name. */
  via: string | NameResolver;
  /** The key within it. */
  key: unknown;
}

/**
 * Whether `value` is a `{ via, key }` destination `send` can resolve.
 *
 * @example
 * ```ts
 * import { isViaDest } from "./types.ts";
 * console.assert(isViaDest({ via: "names", key: 1 }) && !isViaDest({ via: 42, key: 1 }));
 * ```
 */
export function isViaDest(value: unknown): value is ViaDest {
  if (typeof value !== "object" || value === null || !("via" in value) || !("key" in value)) {
    return false;
  }
  const via = (value as ViaDest).via;
  return typeof via === "string" ||
    (typeof via === "object" && via !== null &&
      typeof (via as NameResolver).whereisName === "function");
}

/**
 * Where a message can be sent: a pid, a local registered name, a name on a
 * node, or a name held by a name service (`{ via, key }`).
 */
export type Dest = Pid | string | RemoteName | ViaDest;

/**
 * A signal between processes. Every cross-node interaction of the process
 * layer is one of these; the distribution layer carries them as they are.
 */
export type Signal =
  /** An ordinary message to a pid. */
  | { op: "send"; to: Pid; msg: unknown; from?: Pid }
  /** A message to a name registered on `node`. */
  | { op: "reg_send"; to: RemoteName; msg: unknown; from?: Pid }
  /** `from` links to `to`. */
  | { op: "link"; from: Pid; to: Pid }
  /** `from` removes its link to `to`. */
  | { op: "unlink"; from: Pid; to: Pid }
  /** `exit(to, reason)` called by `from` (not a link). */
  | { op: "exit"; from: Pid; to: Pid; reason: unknown }
  /** `from`, linked to `to`, exited (or the link could not be set up). */
  | { op: "link_exit"; from: Pid; to: Pid; reason: unknown }
  /** `from` starts monitoring `to`; `ref` names the monitor. */
  | { op: "monitor"; from: Pid; to: Pid | RemoteName; ref: Ref }
  /** `from` stops the monitor `ref` on `to`. */
  | { op: "demonitor"; from: Pid; to: Pid | RemoteName; ref: Ref }
  /** The process `from` that `to` monitored with `ref` went down. */
  | { op: "down"; from: Pid | RemoteName; to: Pid; ref: Ref; reason: unknown };

/**
 * The contract the distribution layer fulfils for the runtime: carry a
 * signal to the node that owns its target. When that node cannot be
 * reached the router answers as Erlang does: a `link` or `monitor` comes
 * back as `link_exit` / `down` with reason `"noconnection"`, a message is
 * dropped.
 */
export interface SignalRouter {
  /**
   * Carries `signal` to `node`.
   * @throws {TypeError} synchronously when a message cannot cross the wire
   */
  route(node: string, signal: Signal): void;
}

/** `{type: "EXIT", from, reason}`: an exit signal turned into a message by `trapExit`. */
export interface ExitMessage {
  /** Always `"EXIT"`. */
  type: "EXIT";
  /** The process the signal came from (the linked process, or the caller of `exit/2`). */
  from: Pid;
  /** The exit reason. */
  reason: unknown;
}

/** `{type: "DOWN", ref, pid, reason}`: a monitored process went down. */
export interface DownMessage {
  /** Always `"DOWN"`. */
  type: "DOWN";
  /** The monitor's reference, as `monitor` returned it. */
  ref: Ref;
  /** What was monitored: the pid, or `{name, node}` for a monitor by name. */
  pid: Pid | RemoteName;
  /** The exit reason; `"noproc"` or `"noconnection"` when there was none to watch. */
  reason: unknown;
}

/** Exit reasons with a meaning of their own. */
export type StandardReason = "normal" | "kill" | "killed" | "noproc" | "noconnection" | "shutdown";

/**
 * The body of a process. It runs with its {@linkcode ProcessContext}; when
 * it returns (or its promise fulfils) the process exits `"normal"`, when it
 * throws (or its promise rejects) the process exits with the thrown value.
 */
export type ProcessFn = (ctx: ProcessContext) => unknown;

/** Options for spawning a process. */
export interface SpawnOptions {
  /** Link the new process to this pid before it runs (what `spawnLink` uses). */
  link?: Pid;
  /** Register the new process under this name before it runs. */
  name?: string;
  /** Start with exits trapped (as `process_flag(trap_exit, true)` first thing). */
  trapExit?: boolean;
  /** The initial call shown by `info()`; defaults to the function's name. */
  label?: string;
  /**
   * The most messages its mailbox may hold, as Erlang's `max_heap_size`
   * bounds a heap: the message that would make it `maxMailbox + 1` ends
   * the process (trapping exits or not) with the reason
   * `{ reason: "mailbox_limit", limit, length }`, which its links and
   * monitors see, and an error is logged. A positive integer; default
   * none. Messages a waiting `receive` takes at once never count.
   */
  maxMailbox?: number;
}

/**
 * The exit reason of a process whose mailbox outgrew its `maxMailbox`
 * spawn option: printable, and plain data so that it crosses the wire to
 * remote links and monitors like any other reason.
 *
 * @example
 * ```ts
 * import type { MailboxLimitReason } from "./types.ts";
 * const reason: MailboxLimitReason = { reason: "mailbox_limit", limit: 2, length: 3 };
 * console.assert(reason.length === reason.limit + 1);
 * ```
 */
export interface MailboxLimitReason {
  /** Always `"mailbox_limit"`. */
  reason: "mailbox_limit";
  /** The process's `maxMailbox`. */
  limit: number;
  /** Messages queued when the limit was passed (`limit + 1`). */
  length: number;
}

/** Options for `receive`. */
export interface ReceiveOptions {
  /**
   * Milliseconds to wait for a matching message; `0` only looks at the
   * mailbox, `Infinity` (the default) waits for ever.
   */
  timeout?: number;
}

/** Options for `demonitor`. */
export interface DemonitorOptions {
  /** Also remove a `DOWN` message for this monitor from the mailbox. */
  flush?: boolean;
}

/** Options for `Runtime.open`. */
export interface OpenOptions {
  /** The initial call shown by `info()`; defaults to `"open"`. */
  label?: string;
  /** Start with exits trapped. */
  trapExit?: boolean;
}

/** What `info()` tells about a live process. */
export interface ProcessInfo {
  /** The process. */
  pid: Pid;
  /**
   * `"waiting"` while blocked in `receive`, `"suspended"` while held back
   * because it sent to a busy distribution connection (its next `receive`
   * waits for the connection to drain), else `"running"`. `"exited"`
   * completes the set for reports made after a process has gone;
   * `Runtime.info` itself answers `undefined` for a dead process, as
   * Erlang's `process_info/1` does.
   */
  status: "running" | "waiting" | "suspended" | "exited";
  /** Messages in the mailbox. */
  messageQueueLen: number;
  /** Linked processes, local and remote. */
  links: Pid[];
  /** What this process monitors: pids, or names for monitors by name. */
  monitors: (Pid | RemoteName)[];
  /** Processes monitoring this one. */
  monitoredBy: Pid[];
  /** Its registered name, if it has one. */
  registeredName?: string;
  /** Messages taken out of the mailbox so far (by `receive` or `flush`). */
  messagesHandled: number;
  /** Whether exits are trapped. */
  trapExit: boolean;
  /** The initial call: the function's name or the label given at spawn. */
  label?: string;
  /** The node the process lives on. */
  node: string;
}

/**
 * A process as its own code sees it: identity, mailbox and the operations
 * a process performs on its own behalf. The free functions in
 * `current.ts` call these on the process whose code is running.
 */
export interface ProcessContext {
  /** This process's pid. */
  readonly self: Pid;
  /** The runtime (node) the process lives on. */
  readonly runtime: Runtime;
  /** Aborted when the process exits, with a `ProcessExitError` as reason. */
  readonly signal: AbortSignal;
  /**
   * Takes the first message `matcher` accepts (any message without one),
   * leaving the others in order; waits for one if none is there.
   * Rejects with `TimeoutError` after `options.timeout` ms, with
   * `ProcessExitError` if the process exits meanwhile. As with any
   * promise, a message that is itself a promise or thenable is adopted,
   * not returned: wrap one (`{ value: promise }`) to pass it along.
   */
  receive<T = unknown>(
    matcher?: (msg: unknown) => boolean,
    options?: ReceiveOptions,
  ): Promise<T>;
  /** Sends `msg` to `dest`; never throws for a dead or unknown pid. */
  send(dest: Dest, msg: unknown): void;
  /** Spawns a process. */
  spawn(fn: ProcessFn, options?: SpawnOptions): Pid;
  /** Spawns a process linked to this one. */
  spawnLink(fn: ProcessFn, options?: SpawnOptions): Pid;
  /** Spawns a process monitored by this one. */
  spawnMonitor(fn: ProcessFn, options?: SpawnOptions): [Pid, Ref];
  /** Links this process to `pid`. */
  link(pid: Pid): void;
  /** Removes the link to `pid`. */
  unlink(pid: Pid): void;
  /** Monitors a pid, a local name, or a name on a node. */
  monitor(target: Pid | RemoteName | string): Ref;
  /** Removes a monitor; `true` when it was active. */
  demonitor(ref: Ref, options?: DemonitorOptions): boolean;
  /** Turns exit trapping on or off; returns the previous setting. */
  trapExit(flag: boolean): boolean;
  /** Exits this process with `reason` (default `"normal"`). */
  exit(reason?: unknown): void;
  /** Removes and returns every message in the mailbox. */
  flush(): unknown[];
}
