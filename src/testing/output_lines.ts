/**
 * The output of a child process, collected line by line as it arrives from
 * its stdout and stderr, so that a test waits for a line instead of
 * sleeping. Both {@linkcode Peer} (weft/testing) and Weft's own test
 * helpers collect a node's output with it.
 *
 * ```
 * child stdout/stderr --chunks--> OutputLines: whole lines, then each stream's unfinished tail
 *                                   waitFor(/pattern/) resolves on the chunk that matches,
 *                                   rejects when the streams end without it or the deadline passes
 * ```
 *
 * @example
 * ```ts
 * import { OutputLines } from "./output_lines.ts";
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["eval", "console.log('ready on 7')"],
 *   stdout: "piped",
 *   stderr: "piped",
 * }).spawn();
 * const out = new OutputLines([child.stdout, child.stderr]);
 * const [, n] = await out.waitFor(/ready on (\d+)/, { timeout: 10_000, what: "the child" });
 * console.assert(n === "7");
 * await child.status;
 * await out.done;
 * ```
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";

/** Lines read from a child process's output streams. */
export class OutputLines {
  /** Settles once every stream has ended. */
  readonly done: Promise<void>;
  readonly #lines: string[] = [];
  readonly #partial = new Map<ReadableStream<Uint8Array>, string>();
  readonly #waiters = new Set<() => void>();
  #ended = false;

  /** @param streams the streams to read (usually the child's stdout and stderr) */
  constructor(streams: readonly ReadableStream<Uint8Array>[]) {
    this.done = Promise.all(streams.map((s) => this.#collect(s))).then(() => {
      this.#ended = true;
      this.#notify();
    });
  }

  /**
   * Everything read so far, the streams' lines interleaved as they arrived,
   * then any unfinished last lines (a prompt has no newline).
   */
  get text(): string {
    return [...this.#lines, ...this.#partial.values()].filter((l) => l !== "").join("\n");
  }

  /**
   * Waits until the output holds a match for `pattern`.
   *
   * @param pattern what to wait for
   * @param options `timeout` in milliseconds, and `what` the output belongs
   *   to (named in the error)
   * @returns the match
   * @throws {TimeoutError} with the output so far, when no match came in time
   *   or the streams ended first
   */
  waitFor(
    pattern: RegExp,
    options: { timeout: number; what: string },
  ): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.text.match(pattern);
        if (match === null && !this.#ended) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        if (match !== null) resolve(match);
        else {
          reject(
            new TimeoutError(
              `Cannot wait for ${pattern} on ${options.what}: its output ended; output:\n${this.text}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new TimeoutError(
            `Cannot wait for ${pattern} on ${options.what} within ${options.timeout} ms; output:\n${this.text}`,
          ),
        );
      }, options.timeout);
      this.#waiters.add(check);
      check();
    });
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check();
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      this.#lines.push(...parts);
      this.#partial.set(stream, rest);
      this.#notify();
    }
    this.#partial.delete(stream);
    if (rest) this.#lines.push(rest);
  }
}
