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

/** A process registered by name on a given node, as Erlang's `{Name, Node}`. */
export interface RemoteName {
  /** The registered name. */
  name: string;
  /** The node it is registered on. */
  node: string;
}

/** Where a message can be sent: a pid, a local registered name, or a name on a node. */
export type Dest = Pid | string | RemoteName;

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
  type: "EXIT";
  from: Pid;
  reason: unknown;
}

/** `{type: "DOWN", ref, pid, reason}`: a monitored process went down. */
export interface DownMessage {
  type: "DOWN";
  ref: Ref;
  pid: Pid | RemoteName;
  reason: unknown;
}

/** Exit reasons with a meaning of their own. */
export type StandardReason = "normal" | "kill" | "killed" | "noproc" | "noconnection" | "shutdown";
