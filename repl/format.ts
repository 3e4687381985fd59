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
