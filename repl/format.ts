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

import { locateError, userStack } from "./locations.ts";

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
  // Errors inside the value print with the user's frames only (the shell's own hidden);
  // their stacks are put back after printing.
  const errors = errorsIn(value);
  const stacks = errors.map((e) => e.stack);
  try {
    for (const e of errors) if (typeof e.stack === "string") setStack(e, userStack(e.stack));
    return Deno.inspect(value, {
      colors: options.colors ?? false,
      depth: 6,
      strAbbreviateSize: 10_000,
      iterableLimit: 200,
    });
  } finally {
    errors.forEach((e, i) => {
      if (stacks[i] !== undefined) setStack(e, stacks[i]);
    });
  }
}

/** Sets an error's stack, unless it cannot be set (a frozen error prints as it is). */
function setStack(error: Error, stack: string): void {
  try {
    error.stack = stack;
  } catch {
    // Frozen or a read-only stack.
  }
}

/** The errors in `value`, its elements, properties and causes, a few levels down. */
function errorsIn(value: unknown, depth = 0, seen = new Set<unknown>()): Error[] {
  if (value === null || typeof value !== "object" || depth > 3 || seen.has(value)) return [];
  seen.add(value);
  const found: Error[] = value instanceof Error ? [value] : [];
  const children = value instanceof Error
    ? [value.cause]
    : Array.isArray(value)
    ? value.slice(0, 50)
    : Object.getPrototypeOf(value) === Object.prototype
    ? Object.values(value).slice(0, 50)
    : [];
  for (const child of children) found.push(...errorsIn(child, depth + 1, seen));
  return found;
}

/**
 * Formats an error thrown by evaluated code on one line:
 * `** file:line:column: Name: message`, where the place is the user's own
 * code (a script, `--eval`, `input` at the prompt), then the causes below.
 * The full stack is the shell's `stack()`.
 *
 * @param error anything thrown
 * @returns the text
 *
 * @example
 * ```ts
 * import { formatError } from "./format.ts";
 * console.assert(formatError(new RangeError("out")).endsWith("RangeError: out"));
 * ```
 */
export function formatError(error: unknown): string {
  if (!(error instanceof Error)) return `** uncaught: ${formatValue(error)}`;
  const where = locateError(error);
  let text = `** ${where !== undefined ? `${where}: ` : ""}${error.name}: ${error.message}`;
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

/**
 * Formats `console.log` arguments as Deno's console does: strings as they
 * are, other values inspected, `%s %d %i %f %o %O %j %c %%` in a leading
 * string filled from the arguments that follow.
 *
 * @param args the arguments given to `console.log`
 * @param options colours
 * @returns the line, without a newline
 *
 * @example
 * ```ts
 * import { formatLogArgs } from "./format.ts";
 * console.assert(formatLogArgs(["%s has %d", "a", 2, { x: 1 }]) === "a has 2 { x: 1 }");
 * ```
 */
export function formatLogArgs(args: readonly unknown[], options: FormatOptions = {}): string {
  const rest = [...args];
  const parts: string[] = [];
  if (typeof rest[0] === "string" && rest.length > 1 && /%[sdifoOjc%]/.test(rest[0])) {
    const template = rest.shift() as string;
    parts.push(template.replace(/%[sdifoOjc%]/g, (spec) => {
      if (spec === "%%") return "%";
      if (rest.length === 0) return spec;
      const value = rest.shift();
      switch (spec) {
        case "%s":
          return typeof value === "string" ? value : formatValue(value, options);
        case "%d":
        case "%i":
          return typeof value === "bigint" ? `${value}n` : String(Math.trunc(Number(value)));
        case "%f":
          return String(Number(value));
        case "%j":
          try {
            return JSON.stringify(value) ?? "undefined";
          } catch {
            return "[Circular]";
          }
        case "%c":
          return "";
        default:
          return formatValue(value, options);
      }
    }));
  }
  for (const value of rest) {
    parts.push(typeof value === "string" ? value : formatValue(value, options));
  }
  return parts.join(" ");
}
