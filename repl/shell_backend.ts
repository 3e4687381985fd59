/**
 * What the interactive loop drives: something that checks, evaluates and
 * completes shell input. The local shell evaluates in this node; a remote
 * shell (`--remsh`) sends the input to another node and shows what comes
 * back. The loop (line editor, history, prompt) is the same for both.
 *
 * ```
 * runRepl --check/evaluate/complete--> ShellBackend
 *                                       |- LocalShell   (this node's scope)
 *                                       '- RemoteShell  (weft_remsh on another node)
 * ```
 *
 * @module
 */

import type { Completion } from "./completion.ts";
import type { InputState } from "./evaluator.ts";

/** The result of evaluating one input, ready to print. */
export type EvalOutcome =
  /** A value, formatted. */
  | { kind: "value"; text: string }
  /** Nothing to print (a statement, or a helper that printed already). */
  | { kind: "silent" }
  /** The input threw (or did not parse); the formatted error. */
  | { kind: "error"; text: string };

/** A shell the interactive loop can drive. */
export interface ShellBackend {
  /** The node the prompt names. */
  readonly node: string;
  /** Resolves with an exit status when the shell must end (`q()`, a lost remote node). */
  readonly ended: Promise<number>;
  /**
   * Whether `code` is complete, unfinished (more lines follow) or invalid.
   *
   * @param code the input so far
   */
  check(code: string): InputState;
  /**
   * Evaluates one complete input.
   *
   * @param code the input
   * @returns what to print; never rejects
   */
  evaluate(code: string): Promise<EvalOutcome>;
  /**
   * The result of the last evaluation is printed and the prompt is shown:
   * a good time to show what arrived meanwhile (mailbox events).
   */
  idle?(): void;
  /** Abandons the running evaluation (Ctrl-C); its `evaluate` resolves with an error. */
  interrupt(): void;
  /**
   * Completes the word before the cursor.
   *
   * @param text the line up to the cursor
   */
  complete(text: string): Promise<Completion>;
}
