/**
 * The port mapper's own error conditions. Timeouts are the shared
 * `TimeoutError` and malformed replies the shared `DecodeError`, both from
 * `src/errors.ts`; these two are particular to talking to a port mapper.
 *
 * @example
 * ```ts
 * import { EpmdUnavailableError } from "./errors.ts";
 * const err = new EpmdUnavailableError("127.0.0.1", 4369);
 * console.assert(err.port === 4369 && err.name === "EpmdUnavailableError");
 * ```
 *
 * @module
 */

import { describe, type WeftErrorOptions } from "../../errors.ts";

/**
 * No port mapper answers at the address: the connection was refused or the
 * host cannot be reached. A node that sees this on its own host starts one.
 *
 * @example
 * ```ts
 * import { EpmdUnavailableError } from "./errors.ts";
 * try {
 *   throw new EpmdUnavailableError("127.0.0.1", 4369, "connection refused");
 * } catch (e) {
 *   console.assert(e instanceof EpmdUnavailableError);
 * }
 * ```
 */
export class EpmdUnavailableError extends Error {
  /** The host that was tried. */
  readonly host: string;
  /** The port that was tried. */
  readonly port: number;
  /**
   * @param host the host that was tried
   * @param port the port that was tried
   * @param detail why, e.g. "connection refused"; defaults to the cause's message
   */
  constructor(host: string, port: number, detail?: string, options?: WeftErrorOptions) {
    const why = detail ?? (options?.cause === undefined ? "no answer" : describe(options.cause));
    super(`Cannot reach port mapper at ${host}:${port}: ${why}`, options);
    this.name = "EpmdUnavailableError";
    this.host = host;
    this.port = port;
  }
}

/**
 * The port mapper refused a registration: another node holds the name.
 *
 * @example
 * ```ts
 * import { EpmdRegistrationError } from "./errors.ts";
 * const err = new EpmdRegistrationError("a");
 * console.assert(err.nodeName === "a");
 * ```
 */
export class EpmdRegistrationError extends Error {
  /** The name that was refused. */
  readonly nodeName: string;
  /**
   * @param nodeName the name that was refused
   * @param message optional detail; defaults to a sentence naming the node
   */
  constructor(nodeName: string, message?: string, options?: WeftErrorOptions) {
    super(
      message ??
        `Cannot register node with the port mapper: name "${nodeName}" is in use by another node`,
      options,
    );
    this.name = "EpmdRegistrationError";
    this.nodeName = nodeName;
  }
}
