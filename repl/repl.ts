/**
 * The interactive shell loop: prompt `weft(a@host)N>`, read a complete
 * input (an unfinished expression continues on a `...(N)>` line), hand it
 * to a {@linkcode ShellBackend}, print what comes back, go on after errors.
 *
 * On a terminal the loop runs the line editor in raw mode: editing keys,
 * history (kept in `~/.weft_history`), Tab completion, Ctrl-C to clear the
 * line (twice on an empty line to exit; during an evaluation, to
 * interrupt it), Ctrl-D on an empty line to exit. Output that arrives
 * while the user types — mailbox events, log lines, `console.log` from
 * processes, a remote shell's output — is printed above the prompt and the
 * half-typed line is drawn again below it.
 *
 * Without a terminal (a pipe, a test) it reads plain lines and writes
 * plain text, with the same prompts.
 *
 * ```
 * stdin bytes -> KeyDecoder -> LineEditor.handle(key) -> action
 *   redraw   -> renderLine -> stdout
 *   submit   -> backend.check -> incomplete: continuation prompt
 *                             -> complete: backend.evaluate -> print -> prompt
 *   complete -> backend.complete -> insert / list
 * output.print(text) (events, logs) -> clear line, text, redraw line
 * ```
 *
 * @example
 * ```ts ignore
 * import { runRepl } from "./repl.ts";
 * const code = await runRepl({ backend, output }); // on Ctrl-D, q() or end of input
 * ```
 *
 * @module
 */

import { setLogWriter } from "../src/log.ts";
import { userStack } from "./locations.ts";
import { commonPrefix, formatColumns } from "./completion.ts";
import { History, historyPath } from "./history.ts";
import { type Key, KeyDecoder } from "./keys.ts";
import {
  clearLine,
  type DrawnLine,
  type EditorAction,
  LineEditor,
  NOTHING_DRAWN,
  renderLine,
} from "./line_editor.ts";
import { formatLogArgs } from "./format.ts";
import { type ShellOutput, writeStdout } from "./output.ts";
import type { ShellBackend } from "./shell_backend.ts";

/** What {@linkcode runRepl} needs. */
export interface ReplOptions {
  /** What evaluates the input. */
  backend: ShellBackend;
  /** The shell's output; the loop routes it above the prompt while it runs. */
  output: ShellOutput;
  /** Use the line editor (raw mode). Default: stdin and stdout are terminals. */
  terminal?: boolean;
  /** The history. Default on a terminal: `~/.weft_history`, loaded. */
  history?: History;
  /** Where input comes from. Default stdin. */
  input?: ReadableStream<Uint8Array>;
  /** Where the loop writes. Default stdout. */
  write?: (text: string) => void;
  /** Switches the terminal's raw mode. Default `Deno.stdin.setRaw`. */
  setRaw?: (raw: boolean) => void;
  /** The terminal's width. Default `Deno.consoleSize().columns`, else 80. */
  columns?: () => number;
  /** A line printed first on a terminal. */
  banner?: string;
  /** Route `console.*` and log lines above the prompt while the editor runs. Default `true`. */
  captureConsole?: boolean;
}

/**
 * The main prompt: `weft(a@host)1> `.
 *
 * @param node the node the shell evaluates on
 * @param counter the number of the next input
 * @returns the prompt
 *
 * @example
 * ```ts
 * import { mainPrompt } from "./repl.ts";
 * console.assert(mainPrompt("a@h", 3) === "weft(a@h)3> ");
 * ```
 */
export function mainPrompt(node: string, counter: number): string {
  return `weft(${node})${counter}> `;
}

/**
 * The prompt of a continuation line: `...(1)> `.
 *
 * @param counter the number of the input being continued
 * @returns the prompt
 *
 * @example
 * ```ts
 * import { continuationPrompt } from "./repl.ts";
 * console.assert(continuationPrompt(3) === "...(3)> ");
 * ```
 */
export function continuationPrompt(counter: number): string {
  return `...(${counter})> `;
}

/** The hint after one Ctrl-C on an empty line. */
export const EXIT_HINT = "(To exit, press Ctrl-C again or Ctrl-D, or type q())";

/**
 * Runs the shell until Ctrl-D, two Ctrl-C, end of input or `q()`.
 *
 * @param options the backend and output, and optionally the terminal I/O
 * @returns the exit status: 0, or the code given to `q(code)`
 */
export function runRepl(options: ReplOptions): Promise<number> {
  const terminal = options.terminal ??
    (Deno.stdin.isTerminal() && Deno.stdout.isTerminal());
  return terminal ? new InteractiveLoop(options).run() : runLineMode(options);
}

/** The shell over a pipe: lines in, text out. */
async function runLineMode(options: ReplOptions): Promise<number> {
  const { backend } = options;
  const write = options.write ?? writeStdout;
  let counter = 1;
  let pending: string[] = [];
  const prompt = () =>
    write(pending.length === 0 ? mainPrompt(backend.node, counter) : continuationPrompt(counter));
  const reader = (options.input ?? Deno.stdin.readable).pipeThrough(new TextDecoderStream())
    .pipeThrough(lineSplitter()).getReader();
  const ended = backend.ended.then((code) => ({ ended: code }));
  prompt();
  try {
    while (true) {
      const next = await Promise.race([reader.read(), ended]);
      if ("ended" in next) return next.ended;
      if (next.done) break;
      pending.push(next.value);
      const code = pending.join("\n");
      if (code.trim() === "") {
        pending = [];
        prompt();
        continue;
      }
      if (backend.check(code) === "incomplete") {
        prompt();
        continue;
      }
      pending = [];
      const outcome = await backend.evaluate(code);
      const quit = await Promise.race([ended, Promise.resolve(undefined)]);
      if (outcome.kind !== "silent") write(outcome.text + "\n");
      if (quit !== undefined) return quit.ended;
      counter++;
      prompt();
      backend.idle?.();
    }
    write("\n");
    return 0;
  } finally {
    reader.cancel().catch(() => {});
  }
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const part of parts) controller.enqueue(part.replace(/\r$/, ""));
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}

/** The shell on a terminal: the line editor in raw mode. */
class InteractiveLoop {
  readonly #options: ReplOptions;
  readonly #backend: ShellBackend;
  readonly #write: (text: string) => void;
  readonly #history: History;
  readonly #editor: LineEditor;
  readonly #decoder = new KeyDecoder();
  readonly #queue: Key[] = [];
  readonly #done = Promise.withResolvers<number>();
  #pending: string[] = [];
  #counter = 1;
  #drawn: DrawnLine = NOTHING_DRAWN;
  /** The prompt and line are on screen (not while code runs, not after exit). */
  #editing = false;
  #evaluating = false;
  #pumping = false;
  #finished = false;
  #escTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ReplOptions) {
    this.#options = options;
    this.#backend = options.backend;
    this.#write = options.write ?? writeStdout;
    if (options.history) {
      this.#history = options.history;
    } else {
      const path = historyPath();
      this.#history = new History(path !== undefined ? { path } : {});
      this.#history.load();
    }
    this.#editor = new LineEditor({ history: this.#history });
  }

  async run(): Promise<number> {
    const setRaw = this.#options.setRaw ?? ((raw: boolean) => Deno.stdin.setRaw(raw));
    const output = this.#options.output;
    const previousTarget = output.target;
    const restoreConsole = this.#options.captureConsole === false
      ? () => {}
      : this.#captureConsole();
    setRaw(true);
    output.target = (text) => this.#printAbove(text);
    const input = (this.#options.input ?? Deno.stdin.readable).getReader();
    try {
      if (this.#options.banner) this.#out(this.#options.banner + "\n");
      this.#prompt();
      this.#backend.ended.then((code) => this.#finish(code));
      this.#read(input);
      return await this.#done.promise;
    } finally {
      this.#editing = false;
      if (this.#escTimer !== undefined) clearTimeout(this.#escTimer);
      output.target = previousTarget;
      restoreConsole();
      try {
        setRaw(false);
      } catch {
        // The terminal is gone.
      }
      input.cancel().catch(() => {});
    }
  }

  async #read(input: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const text = new TextDecoder();
    try {
      while (!this.#finished) {
        const { value, done } = await input.read();
        if (done) break;
        this.#keys(this.#decoder.decode(text.decode(value, { stream: true })));
      }
    } catch {
      // stdin closed under us: treat as end of input.
    }
    this.#finish(0);
  }

  #keys(keys: Key[]): void {
    if (this.#escTimer !== undefined) clearTimeout(this.#escTimer);
    this.#escTimer = undefined;
    if (this.#decoder.waiting) {
      // A lone Escape: if nothing follows soon, it was the Escape key.
      this.#escTimer = setTimeout(() => {
        this.#escTimer = undefined;
        this.#keys(this.#decoder.flush());
      }, 50);
    }
    for (const key of keys) {
      if (this.#evaluating && key.name === "ctrl-c") {
        this.#backend.interrupt();
        continue;
      }
      this.#queue.push(key);
    }
    this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#finished) {
        await this.#handle(this.#queue.shift()!);
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #handle(key: Key): Promise<void> {
    const action: EditorAction = this.#editor.handle(key);
    switch (action.type) {
      case "none":
        return;
      case "redraw":
        return this.#render();
      case "submit":
        return await this.#submit(action.line);
      case "cancel":
        this.#endLine(action.line, "^C");
        this.#pending = [];
        return this.#prompt();
      case "exit-hint":
        this.#endLine("", "^C");
        if (this.#pending.length > 0) {
          // The first Ctrl-C drops the unfinished input; it does not arm the exit.
          this.#pending = [];
          this.#editor.reset();
        } else {
          this.#out(EXIT_HINT + "\n");
        }
        return this.#prompt();
      case "exit":
        this.#endLine(this.#editor.line, "");
        return this.#finish(0);
      case "complete":
        return await this.#complete();
      case "clear-screen":
        this.#out("\x1b[H\x1b[2J");
        this.#drawn = NOTHING_DRAWN;
        return this.#render();
      case "suspend":
        return this.#suspend();
    }
  }

  async #submit(line: string): Promise<void> {
    this.#endLine(line, "");
    this.#history.add(line);
    this.#pending.push(line);
    const code = this.#pending.join("\n");
    if (code.trim() === "") {
      this.#pending = [];
      return this.#prompt();
    }
    if (this.#backend.check(code) === "incomplete") return this.#prompt();
    this.#pending = [];
    this.#evaluating = true;
    let outcome;
    try {
      outcome = await this.#backend.evaluate(code);
    } finally {
      this.#evaluating = false;
    }
    if (this.#finished) return;
    if (outcome.kind !== "silent") this.#out(outcome.text + "\n");
    this.#counter++;
    this.#prompt();
    this.#backend.idle?.();
  }

  async #complete(): Promise<void> {
    const before = this.#editor.beforeCursor;
    const completion = await this.#backend.complete(before);
    if (this.#finished || completion.candidates.length === 0) return;
    const typed = before.slice(completion.start);
    const prefix = completion.candidates.length === 1
      ? completion.candidates[0]!
      : commonPrefix(completion.candidates);
    if (prefix.length > typed.length) {
      this.#editor.replace(completion.start, prefix);
      return this.#render();
    }
    if (completion.candidates.length > 1) {
      this.#printAbove(formatColumns(completion.candidates, this.#columns()).join("\n") + "\n");
    }
  }

  #suspend(): void {
    const setRaw = this.#options.setRaw ?? ((raw: boolean) => Deno.stdin.setRaw(raw));
    try {
      const resume = () => {
        Deno.removeSignalListener("SIGCONT", resume);
        setRaw(true);
        this.#drawn = NOTHING_DRAWN;
        this.#render();
      };
      Deno.addSignalListener("SIGCONT", resume);
      this.#endLine(this.#editor.line, "");
      this.#editing = false;
      setRaw(false);
      Deno.kill(Deno.pid, "SIGTSTP");
    } catch {
      // No job control here: stay in the shell.
      this.#prompt();
    }
  }

  /** Prints `text` above the prompt and draws the prompt and line again. */
  #printAbove(text: string): void {
    if (!this.#editing) {
      this.#out(text);
      return;
    }
    this.#write(clearLine(this.#drawn) + crlf(text));
    this.#drawn = NOTHING_DRAWN;
    this.#render();
  }

  /** Shows the line with the cursor at its end, then `suffix` and a newline. */
  #endLine(line: string, suffix: string): void {
    const r = renderLine(this.#currentPrompt(), line, line.length, this.#columns(), this.#drawn);
    this.#write(r.output + suffix + "\r\n");
    this.#drawn = NOTHING_DRAWN;
    this.#editing = false;
  }

  #prompt(): void {
    this.#drawn = NOTHING_DRAWN;
    this.#editing = true;
    this.#render();
  }

  #render(): void {
    if (!this.#editing || this.#finished) return;
    const r = renderLine(
      this.#currentPrompt(),
      this.#editor.line,
      this.#editor.cursor,
      this.#columns(),
      this.#drawn,
    );
    this.#write(r.output);
    this.#drawn = r.drawn;
  }

  #currentPrompt(): string {
    return this.#pending.length === 0
      ? mainPrompt(this.#backend.node, this.#counter)
      : continuationPrompt(this.#counter);
  }

  #columns(): number {
    if (this.#options.columns) return this.#options.columns();
    try {
      return Deno.consoleSize().columns || 80;
    } catch {
      return 80;
    }
  }

  #out(text: string): void {
    this.#write(crlf(text));
  }

  #finish(code: number): void {
    if (this.#finished) return;
    if (this.#editing) this.#endLine(this.#editor.line, "");
    this.#finished = true;
    this.#editing = false;
    this.#done.resolve(code);
  }

  /** Sends `console.*` and log lines through the shell's output; returns the undo. */
  #captureConsole(): () => void {
    const output = this.#options.output;
    const methods = ["log", "info", "debug", "warn", "error"] as const;
    const saved = methods.map((m) => [m, console[m]] as const);
    for (const m of methods) {
      console[m] = (...args: unknown[]) => output.print(formatLogArgs(args, { colors: true }));
    }
    // Crash reports of processes started at the prompt: the user's frames, not the shell's.
    setLogWriter((line) => output.print(userStack(line)));
    return () => {
      for (const [m, fn] of saved) console[m] = fn;
      setLogWriter((line) => writeStderr(userStack(line)));
    };
  }
}

/** In raw mode a bare "\n" only moves down; every line must also return. */
function crlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(text));
  } catch {
    // stderr closed.
  }
}
