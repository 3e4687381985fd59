/**
 * The remote shell protocol (`weft --remsh NODE`, as `iex --remsh`):
 * messages between a remote shell client and the `weft_remsh` server that
 * every node with a shell runs. They are ordinary process messages, so
 * they travel over an authenticated distribution connection: whoever has
 * the cookie may open a shell, the same trust boundary as Erlang's.
 *
 * ```
 * client (hidden node)                      server node
 *   {remsh_open, v, from, ref, colors} ---> weft_remsh (registered)
 *                                             spawns a session: its own shell
 *                                             process, scope and evaluator
 *   <--- {remsh_opened, ref, session, node, shell}   (from the session)
 *   {remsh_eval, id, code, raw?}  ------> session
 *   <--- {remsh_output, text}*              console.log, h(), flush(), events
 *   <--- {remsh_result, id, outcome, value?, quit?}
 *   {remsh_complete, id, text}    ------> session
 *   <--- {remsh_completion, id, start, candidates}
 *   {remsh_interrupt}             ------> session (Ctrl-C while code runs)
 *   {remsh_close}                 ------> session ends
 * ```
 *
 * Failure: the session monitors the client and ends when the client goes
 * (its node down: `noconnection`); the client monitors the session and
 * ends when it goes (the server node stopped, or `q()` there). A request
 * of another protocol version gets `{remsh_refused, ref, reason}`.
 *
 * @module
 */

import type { Pid, Ref } from "../src/term/pid.ts";
import type { Completion } from "./completion.ts";
import type { EvalOutcome } from "./shell_backend.ts";

/** The protocol version; a server refuses another. */
export const REMSH_VERSION = 1;

/** The name the server is registered under on every node with a shell. */
export const REMSH_SERVER_NAME = "weft_remsh";

/** Client -> server: open a session. */
export interface RemshOpen {
  type: "remsh_open";
  /** {@linkcode REMSH_VERSION}. */
  v: number;
  /** The client process; replies go there. */
  from: Pid;
  /** Names this request in the reply. */
  ref: Ref;
  /** Format values with ANSI colours. */
  colors: boolean;
}

/** Session -> client: the session is ready. */
export interface RemshOpened {
  type: "remsh_opened";
  ref: Ref;
  /** The session process: send requests there. */
  session: Pid;
  /** The server node's name, for the prompt. */
  node: string;
  /** The remote shell process (`self()` in the session). */
  shell: Pid;
}

/** Server -> client: the request was refused. */
export interface RemshRefused {
  type: "remsh_refused";
  ref: Ref;
  reason: string;
}

/** Client -> session: evaluate one complete input. */
export interface RemshEval {
  type: "remsh_eval";
  /** Names the request in its result. */
  id: number;
  code: string;
  /** Also send the value itself back (when it can cross the wire). */
  raw?: boolean;
}

/** Session -> client: the outcome of a `remsh_eval`. */
export interface RemshResult {
  type: "remsh_result";
  id: number;
  outcome: EvalOutcome;
  /** The value, for a `raw` request that produced one. */
  value?: unknown;
  /** Set when the input called `q(code)`: the session has ended. */
  quit?: number;
}

/** Session -> client: text the session printed. */
export interface RemshOutput {
  type: "remsh_output";
  text: string;
}

/** Client -> session: complete the word before the cursor. */
export interface RemshComplete {
  type: "remsh_complete";
  id: number;
  text: string;
}

/** Session -> client: completion candidates. */
export interface RemshCompletion extends Completion {
  type: "remsh_completion";
  id: number;
}

/** Client -> session: interrupt the running evaluation. */
export interface RemshInterrupt {
  type: "remsh_interrupt";
}

/** Client -> session: end the session. */
export interface RemshClose {
  type: "remsh_close";
}

/**
 * Whether `msg` is a remote shell message of `type`.
 *
 * @param msg a message
 * @param type the message type
 * @returns `true` when `msg` is an object with that `type`
 *
 * @example
 * ```ts
 * import { isRemsh } from "./remsh_types.ts";
 * console.assert(isRemsh({ type: "remsh_close" }, "remsh_close"));
 * ```
 */
export function isRemsh(msg: unknown, type: string): boolean {
  return typeof msg === "object" && msg !== null && (msg as { type?: unknown }).type === type;
}
