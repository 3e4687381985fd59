/**
 * Every error condition a Weft caller can catch, one class each.
 *
 * Bad arguments throw the built-in `TypeError` or `RangeError`; everything
 * else is one of the classes below, each with its own `name` so that it
 * survives a trip over the wire and prints recognisably.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * const err = new TimeoutError("No message within 10 ms");
 * console.assert(err.name === "TimeoutError");
 * ```
 *
 * @module
 */

/** Options shared by every Weft error. */
export interface WeftErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * A deadline passed: a `receive`, a call, a connect or a handshake did not
 * complete in time.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * try {
 *   throw new TimeoutError("Call timed out after 5000 ms");
 * } catch (e) {
 *   console.assert(e instanceof TimeoutError);
 * }
 * ```
 */
export class TimeoutError extends Error {
  /** @param message what timed out, and after how long */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The node named in an operation cannot be reached: not connected, the
 * connection was lost, or the connect attempt failed.
 *
 * @example
 * ```ts
 * import { NoConnectionError } from "./errors.ts";
 * const err = new NoConnectionError("b@host");
 * console.assert(err.node === "b@host");
 * ```
 */
export class NoConnectionError extends Error {
  /** The node that could not be reached. */
  readonly node: string;
  /**
   * @param node the unreachable node
   * @param message optional detail; defaults to a sentence naming the node
   */
  constructor(node: string, message?: string, options?: WeftErrorOptions) {
    super(message ?? `No connection to node: ${node}`, options);
    this.name = "NoConnectionError";
    this.node = node;
  }
}

/**
 * The distribution handshake failed: wrong cookie, name clash, bad message,
 * unsupported version or a deadline.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "./errors.ts";
 * const err = new HandshakeError("Handshake failed: wrong cookie");
 * console.assert(err.name === "HandshakeError");
 * ```
 */
export class HandshakeError extends Error {
  /** @param message the reason the handshake failed */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "HandshakeError";
  }
}

/**
 * Code on another node threw; `cause` holds the remote error with its
 * original `name` and `message`.
 *
 * @example
 * ```ts
 * import { RemoteError } from "./errors.ts";
 * const err = new RemoteError("b@host", new RangeError("too big"));
 * console.assert((err.cause as Error).name === "RangeError");
 * ```
 */
export class RemoteError extends Error {
  /** The node where the error was thrown. */
  readonly node: string;
  /**
   * @param node where the error was thrown
   * @param cause the remote error
   */
  constructor(node: string, cause: unknown, message?: string) {
    super(
      message ?? `Remote call failed on ${node}: ${describe(cause)}`,
      { cause },
    );
    this.name = "RemoteError";
    this.node = node;
  }
}

/**
 * Bytes from the wire could not be decoded: a malformed or oversized frame
 * or payload. The connection that produced it is closed; nothing else is.
 *
 * @example
 * ```ts
 * import { DecodeError } from "./errors.ts";
 * const err = new DecodeError("Frame too large: 4294967295 bytes, limit 65536");
 * console.assert(err.name === "DecodeError");
 * ```
 */
export class DecodeError extends Error {
  /** @param message what was wrong with the input */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "DecodeError";
  }
}

/**
 * The calling process exited (it was killed or a link brought it down)
 * while it waited in `receive`; `reason` is its exit reason.
 *
 * @example
 * ```ts
 * import { ProcessExitError } from "./errors.ts";
 * const err = new ProcessExitError("killed");
 * console.assert(err.reason === "killed");
 * ```
 */
export class ProcessExitError extends Error {
  /** The exit reason of the process. */
  readonly reason: unknown;
  /** @param reason the exit reason */
  constructor(reason: unknown, options?: WeftErrorOptions) {
    super(`Process exited: ${describe(reason)}`, options);
    this.name = "ProcessExitError";
    this.reason = reason;
  }
}

/**
 * A process name is already registered, or a name operation was refused
 * (the process is dead, or already has a name).
 *
 * @example
 * ```ts
 * import { NameError } from "./errors.ts";
 * const err = new NameError("Cannot register name: \"db\" is already registered");
 * console.assert(err.name === "NameError");
 * ```
 */
export class NameError extends Error {
  /** @param message what was refused and why */
  constructor(message: string, options?: WeftErrorOptions) {
    super(message, options);
    this.name = "NameError";
  }
}

/**
 * The node is not running distribution (no name), or it has stopped.
 *
 * @example
 * ```ts
 * import { NotAliveError } from "./errors.ts";
 * console.assert(new NotAliveError().name === "NotAliveError");
 * ```
 */
export class NotAliveError extends Error {
  /** @param message optional detail */
  constructor(message = "Node is not alive", options?: WeftErrorOptions) {
    super(message, options);
    this.name = "NotAliveError";
  }
}

/** A short human description of an exit reason or error. */
export function describe(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === "string") return reason;
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}
