/**
 * Where a shell's output goes. Everything the shell prints apart from the
 * prompt and results — `h()`, `flush()`, events from the mailbox, the
 * output of a remote shell — goes through one {@linkcode ShellOutput}, so
 * the interactive line editor can route it above the line being typed,
 * and `--eval` / `--script` print it straight to stdout.
 *
 * @example
 * ```ts
 * import { ShellOutput } from "./output.ts";
 * const lines: string[] = [];
 * const out = new ShellOutput((text) => lines.push(text));
 * out.print("hello");
 * console.assert(lines[0] === "hello\n");
 * ```
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Writes all of `text` to stdout, synchronously.
 *
 * @param text the text
 *
 * @example
 * ```ts
 * import { writeStdout } from "./output.ts";
 * writeStdout("");
 * ```
 */
export function writeStdout(text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) {
    const n = Deno.stdout.writeSync(bytes);
    bytes = bytes.subarray(n);
  }
}

/**
 * A switchable sink for shell output.
 *
 * @example
 * ```ts
 * import { ShellOutput } from "./output.ts";
 * const out = new ShellOutput(() => {});
 * const seen: string[] = [];
 * out.target = (t) => seen.push(t);
 * out.print("a\n");
 * console.assert(seen[0] === "a\n");
 * ```
 */
export class ShellOutput {
  #target: (text: string) => void;

  /** @param target where text goes at first (default: stdout) */
  constructor(target: (text: string) => void = writeStdout) {
    this.#target = target;
  }

  /** Where text goes now. */
  get target(): (text: string) => void {
    return this.#target;
  }

  /** Sends text elsewhere from now on (the line editor does while it runs). */
  set target(target: (text: string) => void) {
    this.#target = target;
  }

  /**
   * Prints `text`, adding a newline unless it ends with one.
   *
   * @param text the text
   */
  print(text: string): void {
    this.#target(text.endsWith("\n") ? text : text + "\n");
  }
}
