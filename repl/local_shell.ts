/**
 * The shell of this node: input is evaluated here, as the shell process,
 * in the shell's scope. System messages the user asked for (`nodeup`,
 * `nodedown`, `DOWN`, `EXIT`) are shown as they arrive, through the
 * shell's output, and stay in the mailbox.
 *
 * Ctrl-C while code runs (say `await receive()` with nothing coming) stops
 * the shell process with reason `"interrupted"` — which ends its pending
 * `receive` and, as in Erlang, sends exit signals to processes linked to
 * it — and opens a new shell process; the bindings are kept. A shell
 * process that dies otherwise (an exit signal from a linked process) is
 * replaced the same way, and the shell says so.
 *
 * @example
 * ```ts
 * import { Runtime } from "../src/process/runtime.ts";
 * import { setDefaultContext } from "../src/process/current.ts";
 * import { LocalShell } from "./local_shell.ts";
 * import { ShellOutput } from "./output.ts";
 * import { QuitSignal } from "./quit.ts";
 * import { createShellScope } from "./scope.ts";
 * const runtime = new Runtime();
 * const shell = runtime.open({ label: "shell" });
 * setDefaultContext(shell);
 * const scope = createShellScope({ runtime });
 * const local = new LocalShell({ runtime, shell, scope, output: new ShellOutput(), quit: new QuitSignal() });
 * const r = await local.evaluate("1 + 1");
 * console.assert(r.kind === "value" && r.text === "2");
 * setDefaultContext(undefined);
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

import { runInProcess, setDefaultContext } from "../src/process/current.ts";
import type { Runtime } from "../src/process/runtime.ts";
import type { ProcessContext } from "../src/process/types.ts";
import { complete, type Completion } from "./completion.ts";
import { type Evaluation, Evaluator, type InputState } from "./evaluator.ts";
import { formatError, formatValue } from "./format.ts";
import { didYouMean } from "./suggest.ts";
import { type MailboxWatch, watchMailbox } from "./mailbox_watch.ts";
import type { ShellOutput } from "./output.ts";
import type { QuitSignal } from "./quit.ts";
import { shellHistory, SILENT } from "./scope.ts";
import type { EvalOutcome, ShellBackend } from "./shell_backend.ts";

/** What a {@linkcode LocalShell} is made of. */
export interface LocalShellOptions {
  /** The node's runtime. */
  runtime: Runtime;
  /** The shell process (made the default context by the caller). */
  shell: ProcessContext;
  /** The shell's names (see `createShellScope`). */
  scope: Record<string, unknown>;
  /** Where events from the mailbox are shown. */
  output: ShellOutput;
  /** `q()` requests end the shell. */
  quit: QuitSignal;
  /** Colour values and events (for a terminal). Default `false`. */
  colors?: boolean;
  /** Show mailbox events as they arrive. Default `true`. */
  showEvents?: boolean;
  /**
   * Make a new shell process (after an interrupt) the default context.
   * Default `true`; a remote shell session, one of several on its node,
   * says `false`.
   */
  setDefault?: boolean;
}

/** What {@linkcode LocalShell.run} produced: the value itself, not its text. */
export type RunOutcome =
  | { kind: "value"; value: unknown }
  | { kind: "silent" }
  | { kind: "error"; text: string };

const INTERRUPTED: unique symbol = Symbol("interrupted");
const QUIT: unique symbol = Symbol("quit");

/**
 * A shell evaluating in this node.
 *
 * @example
 * ```ts
 * import { Runtime } from "../src/process/runtime.ts";
 * import { LocalShell } from "./local_shell.ts";
 * import { ShellOutput } from "./output.ts";
 * import { QuitSignal } from "./quit.ts";
 * import { createShellScope } from "./scope.ts";
 * const runtime = new Runtime();
 * const shell = runtime.open({ label: "shell" });
 * const local = new LocalShell({
 *   runtime, shell, scope: createShellScope({ runtime }), output: new ShellOutput(), quit: new QuitSignal(),
 * });
 * console.assert(local.check("[1,") === "incomplete");
 * await runtime.shutdown();
 * ```
 */
export class LocalShell implements ShellBackend {
  readonly #runtime: Runtime;
  readonly #evaluator: Evaluator;
  readonly #output: ShellOutput;
  readonly #quit: QuitSignal;
  readonly #colors: boolean;
  readonly #showEvents: boolean;
  readonly #setDefault: boolean;
  #shell: ProcessContext;
  #watch: MailboxWatch;
  #interrupt: (() => void) | undefined;
  #closed = false;

  /** @param options the runtime, shell process, scope, output and quit signal */
  constructor(options: LocalShellOptions) {
    this.#runtime = options.runtime;
    this.#shell = options.shell;
    this.#evaluator = new Evaluator(options.scope);
    this.#output = options.output;
    this.#quit = options.quit;
    this.#colors = options.colors ?? false;
    this.#showEvents = options.showEvents ?? true;
    this.#setDefault = options.setDefault ?? true;
    this.#watch = this.#watchShell();
  }

  /** The node's name. */
  get node(): string {
    return this.#runtime.node;
  }

  /** The shell process now (a new one after an interrupt). */
  get shell(): ProcessContext {
    return this.#shell;
  }

  /** Resolves with the status given to `q()`. */
  get ended(): Promise<number> {
    return this.#quit.requested;
  }

  /** @inheritdoc */
  check(code: string): InputState {
    return this.#evaluator.check(code);
  }

  /** @inheritdoc */
  complete(text: string): Promise<Completion> {
    return Promise.resolve(complete(this.#evaluator.scope, text));
  }

  /** @inheritdoc */
  async evaluate(code: string): Promise<EvalOutcome> {
    const outcome = await this.run(code);
    if (outcome.kind !== "value") return outcome;
    return { kind: "value", text: formatValue(outcome.value, { colors: this.#colors }) };
  }

  /**
   * Formats a value as this shell prints it.
   *
   * @param value anything
   * @returns the text
   */
  format(value: unknown): string {
    return formatValue(value, { colors: this.#colors });
  }

  /**
   * Evaluates one input as {@linkcode evaluate} does, but gives back the
   * value itself.
   *
   * @param code the input
   * @returns the value, nothing, or the formatted error; never rejects
   */
  async run(code: string): Promise<RunOutcome> {
    const { error, ...outcome } = await this.#run(code);
    const history = shellHistory(this.#evaluator.scope);
    if (outcome.kind === "value") history?.record({ value: outcome.value });
    else if (outcome.kind === "error") history?.record({ error });
    else history?.record({});
    return outcome as RunOutcome;
  }

  async #run(code: string): Promise<RunOutcome & { error?: unknown }> {
    const interrupted = Promise.withResolvers<typeof INTERRUPTED>();
    this.#interrupt = () => interrupted.resolve(INTERRUPTED);
    this.#watch.active = false;
    const shell = this.#shell;
    try {
      const result = await Promise.race<Evaluation | typeof INTERRUPTED | typeof QUIT>([
        runInProcess(shell, () => this.#evaluator.run(code)),
        interrupted.promise,
        this.#quit.requested.then(() => QUIT),
      ]);
      if (result === QUIT) return { kind: "silent" };
      if (result === INTERRUPTED) return { kind: "error", text: this.#restart(shell) };
      if (!result.hasValue || result.value === SILENT) return { kind: "silent" };
      return { kind: "value", value: result.value };
    } catch (e) {
      const meant = didYouMean(e, this.#evaluator.scope);
      const text = formatError(e);
      return {
        kind: "error",
        text: meant === undefined ? text : text.replace(/^(.*)/, `$1 (did you mean ${meant}?)`),
        error: e,
      };
    } finally {
      this.#interrupt = undefined;
      this.#watch.active = true;
    }
  }

  /** Ends the shell process (a remote session closing). */
  close(reason: unknown = "normal"): void {
    this.#closed = true;
    this.#shell.exit(reason);
  }

  /** @inheritdoc */
  idle(): void {
    this.#watch.rescan();
  }

  /** @inheritdoc */
  interrupt(): void {
    this.#interrupt?.();
  }

  /** Stops the interrupted shell process and opens a new one. */
  #restart(old: ProcessContext): string {
    if (this.#shell === old) {
      old.exit("interrupted");
      this.#shell = this.#runtime.open({ label: "shell" });
      if (this.#setDefault) setDefaultContext(this.#shell);
      this.#watch = this.#watchShell();
    }
    return `** Interrupted: shell process ${old.self} stopped, the shell is now ${this.#shell.self}`;
  }

  #watchShell(): MailboxWatch {
    const shell = this.#shell;
    return watchMailbox(
      shell,
      (msg) => {
        if (this.#showEvents) {
          this.#output.print(`[mailbox] ${formatValue(msg, { colors: this.#colors })}`);
        }
      },
      (error) => this.#replaceDead(shell, error),
    );
  }

  /** The shell process died (not by an interrupt): open a new one, as Erlang's shell does. */
  #replaceDead(old: ProcessContext, error: unknown): void {
    if (this.#shell !== old || this.#runtime.closed || this.#closed) return;
    this.#shell = this.#runtime.open({ label: "shell" });
    if (this.#setDefault) setDefaultContext(this.#shell);
    this.#watch = this.#watchShell();
    const reason = (error as { reason?: unknown })?.reason ?? error;
    this.#output.print(
      `** shell process ${old.self} exited: ${
        formatValue(reason)
      }; the shell is now ${this.#shell.self}`,
    );
  }
}
