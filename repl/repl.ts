/**
 * The interactive shell loop: prompt `weft(a@host)N>`, read a complete
 * input (an unfinished expression continues on the next line), evaluate it
 * as the shell process, print the value the Erlang way, go on after errors.
 *
 * @example
 * ```ts ignore
 * import { runRepl } from "./repl.ts";
 * await runRepl({ scope, runtime, shell }); // returns on Ctrl-D or q()
 * ```
 *
 * @module
 */

import type { ProcessContext, Runtime } from "../src/process/runtime.ts";
import { runInProcess } from "../src/process/current.ts";
import { Evaluator } from "./evaluator.ts";
import { formatError, formatValue } from "./format.ts";

/** What {@linkcode runRepl} needs. */
export interface ReplOptions {
  /** The shell's names (see `createShellScope`). */
  scope: Record<string, unknown>;
  /** The node's runtime, for the prompt. */
  runtime: Runtime;
  /** The shell process; input is evaluated as this process. */
  shell: ProcessContext;
  /** Where input comes from (default stdin). */
  input?: ReadableStream<Uint8Array>;
  /** Where output goes (default stdout). */
  write?: (text: string) => void;
}

/**
 * Runs the shell until end of input or `q()`.
 *
 * @param options the scope, runtime and shell process
 */
export async function runRepl(options: ReplOptions): Promise<void> {
  const encoder = new TextEncoder();
  const write = options.write ?? ((text: string) => Deno.stdout.writeSync(encoder.encode(text)));
  const evaluator = new Evaluator(options.scope);
  let quit = false;
  options.scope.q = () => {
    quit = true;
    return "ok";
  };
  let counter = 1;
  let buffer = "";
  const prompt = () => write(buffer === "" ? `weft(${options.runtime.node})${counter}> ` : "... ");
  prompt();
  const lines = (options.input ?? Deno.stdin.readable).pipeThrough(new TextDecoderStream())
    .pipeThrough(lineSplitter());
  for await (const line of lines) {
    buffer = buffer === "" ? line : `${buffer}\n${line}`;
    if (buffer.trim() === "") {
      buffer = "";
      prompt();
      continue;
    }
    const state = evaluator.check(buffer);
    if (state === "incomplete") {
      prompt();
      continue;
    }
    const code = buffer;
    buffer = "";
    try {
      const value = await runInProcess(options.shell, () => evaluator.evaluate(code));
      if (value !== undefined || !/^\s*(const|let|var|function|class)\b/.test(code)) {
        write(formatValue(value, { colors: Deno.stdout.isTerminal() }) + "\n");
      }
    } catch (e) {
      write(formatError(e) + "\n");
    }
    counter++;
    if (quit) return;
    prompt();
  }
  write("\n");
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
