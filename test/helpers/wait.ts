/**
 * Test helpers for waiting on a condition with a deadline, in place of sleeps.
 *
 * @example
 * ```ts
 * import { deferred, waitFor } from "./wait.ts";
 * const d = deferred<number>();
 * let done = false;
 * d.promise.then(() => (done = true));
 * d.resolve(1);
 * await waitFor(() => done, { timeout: 1000, message: "promise never settled" });
 * ```
 *
 * @module
 */

import { TimeoutError } from "../../src/errors.ts";

/** Options for {@linkcode waitFor}. */
export interface WaitForOptions {
  /** How long to wait in all, in milliseconds. Default 5000. */
  timeout?: number;
  /** How long to wait between two checks, in milliseconds. Default 5. */
  interval?: number;
  /** The message of the `TimeoutError` thrown when the deadline passes. */
  message?: string;
}

/**
 * Polls `predicate` until it returns `true`, or throws a `TimeoutError`
 * once the deadline has passed. The predicate is checked once more at the
 * deadline, so a condition that turns true just in time still passes.
 *
 * @param predicate the condition to wait for; may be async
 * @param opts timeout, polling interval and failure message
 * @throws {TimeoutError} when the predicate is still false after `timeout` ms
 *
 * @example
 * ```ts
 * import { waitFor } from "./wait.ts";
 * const start = Date.now();
 * await waitFor(() => Date.now() - start >= 10);
 * ```
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  opts: WaitForOptions = {},
): Promise<void> {
  const timeout = opts.timeout ?? 5000;
  const interval = opts.interval ?? 5;
  const deadline = Date.now() + timeout;
  while (true) {
    if (await predicate()) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new TimeoutError(opts.message ?? `Condition not met within ${timeout} ms`);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(interval, left)));
  }
}

/** A promise with its `resolve` and `reject` functions, and whether it settled. */
export interface Deferred<T> {
  /** The promise. */
  readonly promise: Promise<T>;
  /** Fulfils the promise. */
  resolve(value: T | PromiseLike<T>): void;
  /** Rejects the promise. */
  reject(reason?: unknown): void;
  /** Whether `resolve` or `reject` has been called. */
  readonly settled: boolean;
}

/**
 * Makes a promise that a test settles by hand.
 *
 * @returns the promise with its `resolve`, `reject` and `settled`
 *
 * @example
 * ```ts
 * import { deferred } from "./wait.ts";
 * const d = deferred<string>();
 * d.resolve("ok");
 * console.assert((await d.promise) === "ok" && d.settled);
 * ```
 */
export function deferred<T>(): Deferred<T> {
  let settled = false;
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  return {
    promise,
    resolve(value) {
      settled = true;
      resolve(value);
    },
    reject(reason) {
      settled = true;
      reject(reason);
    },
    get settled() {
      return settled;
    },
  };
}
