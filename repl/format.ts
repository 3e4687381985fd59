/**
 * How the shell prints values: pids and refs the Erlang way
 * (`#PID<a@host.42.0>`), everything else as Deno's inspect does.
 *
 * @example
 * ```ts
 * import { formatValue } from "./format.ts";
 * console.assert(formatValue("hi") === '"hi"');
 * ```
 *
 * @module
 */

/** Options for {@linkcode formatValue}. */
export interface FormatOptions {
  /** Use ANSI colours (default: false). */
  colors?: boolean;
}

/**
 * Formats a value for the shell.
 *
 * @param value anything
 * @returns the printed form
 */
export function formatValue(value: unknown, options: FormatOptions = {}): string {
  return Deno.inspect(value, {
    colors: options.colors ?? false,
    depth: 6,
    strAbbreviateSize: 10_000,
    iterableLimit: 200,
  });
}

/**
 * Formats an error thrown by evaluated code: `** Name: message` and, for
 * errors with a cause, the cause below it.
 */
export function formatError(error: unknown): string {
  if (!(error instanceof Error)) return `** uncaught: ${formatValue(error)}`;
  let text = `** ${error.name}: ${error.message}`;
  let cause = error.cause;
  let depth = 0;
  while (cause !== undefined && depth++ < 5) {
    text += cause instanceof Error
      ? `\n   caused by ${cause.name}: ${cause.message}`
      : `\n   caused by ${formatValue(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}
