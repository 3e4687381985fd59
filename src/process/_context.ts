/**
 * Which process is running: the `AsyncLocalStorage` every process body runs
 * inside, and the fallback context used outside any process (the REPL
 * shell, a script's top level). Internal to the process layer; the public
 * face is `current.ts`.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type { ProcessContext } from "./types.ts";

/** Holds the context of the process whose code is running. */
export const processStorage: AsyncLocalStorage<ProcessContext> = new AsyncLocalStorage();

let fallback: ProcessContext | undefined;

/** The running process's context, else the default one, else `undefined`. */
export function contextOrUndefined(): ProcessContext | undefined {
  return processStorage.getStore() ?? fallback;
}

/** Sets (or with `undefined` clears) the context used outside any process. */
export function setFallbackContext(ctx: ProcessContext | undefined): void {
  fallback = ctx;
}
