/**
 * `q(code)`: a request to end the shell with an exit status. Whoever runs
 * the shell (the REPL loop, `--eval`, `--script`) races its work against
 * {@linkcode QuitSignal.requested}, stops the node cleanly and exits with
 * the code, as Erlang's `q()` (`init:stop()`) does.
 *
 * @example
 * ```ts
 * import { QuitSignal } from "./quit.ts";
 * const quit = new QuitSignal();
 * quit.request(3);
 * console.assert((await quit.requested) === 3 && quit.code === 3);
 * ```
 *
 * @module
 */

/**
 * A one-shot quit request.
 *
 * @example
 * ```ts
 * import { QuitSignal } from "./quit.ts";
 * const quit = new QuitSignal();
 * quit.request(0);
 * quit.request(1); // the first request wins
 * console.assert(quit.code === 0);
 * ```
 */
export class QuitSignal {
  readonly #requested = Promise.withResolvers<number>();
  #code: number | undefined;

  /** Resolves with the exit status once quitting was requested. */
  get requested(): Promise<number> {
    return this.#requested.promise;
  }

  /** The requested exit status, or `undefined` while none was requested. */
  get code(): number | undefined {
    return this.#code;
  }

  /**
   * Asks the shell to end with `code`; later requests are ignored.
   *
   * @param code the exit status, 0-255
   * @throws {RangeError} when `code` is not an integer 0-255
   */
  request(code: number): void {
    if (!Number.isInteger(code) || code < 0 || code > 255) {
      throw new RangeError(`Cannot quit: the exit code must be 0-255, received ${code}`);
    }
    if (this.#code !== undefined) return;
    this.#code = code;
    this.#requested.resolve(code);
  }
}
