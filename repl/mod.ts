/**
 * The Weft shell: the interactive loop with its line editor, history and
 * completion; the evaluator (TypeScript, top-level `await`, persistent
 * bindings); the shell's names (scope providers and their docs); running
 * code without a prompt (`--eval`, `--script`); and remote shells
 * (`--remsh`, the `weft_remsh` server).
 *
 * @example
 * ```ts
 * import { createShellScope, LocalShell, QuitSignal, ShellOutput } from "./mod.ts";
 * import { Runtime } from "../src/process/runtime.ts";
 * const runtime = new Runtime();
 * const shell = runtime.open({ label: "shell" });
 * const local = new LocalShell({
 *   runtime, shell, scope: createShellScope({ runtime }), output: new ShellOutput(), quit: new QuitSignal(),
 * });
 * const r = await local.evaluate("const n: number = 6; n * 7");
 * console.assert(r.kind === "value" && r.text === "42");
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

export { commonPrefix, complete, type Completion, formatColumns } from "./completion.ts";
export { type Doc, DocIndex, type DocSection } from "./docs.ts";
export { type Evaluation, Evaluator, type EvaluatorOptions, type InputState } from "./evaluator.ts";
export { formatError, formatLogArgs, type FormatOptions, formatValue } from "./format.ts";
export { DEFAULT_HISTORY_SIZE, History, type HistoryOptions, historyPath } from "./history.ts";
export { type Key, KeyDecoder, type KeyName } from "./keys.ts";
export {
  clearLine,
  displayWidth,
  type DrawnLine,
  type EditorAction,
  LineEditor,
  type LineEditorOptions,
  NOTHING_DRAWN,
  renderLine,
} from "./line_editor.ts";
export { LocalShell, type LocalShellOptions, type RunOutcome } from "./local_shell.ts";
export { isShellEvent, type MailboxWatch, watchMailbox } from "./mailbox_watch.ts";
export { ShellOutput, writeStdout } from "./output.ts";
export { QuitSignal } from "./quit.ts";
export { RemoteShell, type RemoteShellOptions, type RemoteValue } from "./remsh_client.ts";
export { type RemshServerOptions, startRemshServer } from "./remsh_server.ts";
export { REMSH_SERVER_NAME, REMSH_VERSION } from "./remsh_types.ts";
export { continuationPrompt, EXIT_HINT, mainPrompt, type ReplOptions, runRepl } from "./repl.ts";
export { runCode, type RunCodeOptions, scriptBindings, type ScriptInfo } from "./run_code.ts";
export {
  createShellScope,
  type NodeNamespace,
  type ScopeContext,
  type ScopeProvider,
  SHELL_PROVIDERS,
  type ShellScopeOptions,
  SILENT,
} from "./scope.ts";
export type { EvalOutcome, ShellBackend } from "./shell_backend.ts";
export { stripTypes } from "./strip_types.ts";
