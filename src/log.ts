/**
 * Logging setup. Every Weft module logs through LogTape under the `weft`
 * category (`["weft", "dist"]`, `["weft", "process"]`, ...); this file
 * routes those records to stderr at the level chosen by `--log-level`.
 *
 * @example
 * ```ts
 * import { configureLogging, logger } from "./log.ts";
 * await configureLogging("warning");
 * logger("dist").debug("not printed at warning level");
 * ```
 *
 * @module
 */

import {
  configure,
  getLogger,
  type Logger as LogTapeLogger,
  type LogLevel,
  type LogRecord,
  reset,
} from "@logtape/logtape";

/** The levels `--log-level` accepts, quietest last. */
export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;

/** A level name accepted by {@linkcode configureLogging}. */
export type WeftLogLevel = (typeof LOG_LEVELS)[number];

/** Where formatted log lines go; the REPL swaps this to print above its prompt. */
let sink: (line: string) => void = (line) => {
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(line));
  } catch {
    // stderr closed: nothing sensible left to do with a log line.
  }
};

/**
 * Replaces the function that writes formatted log lines (default: stderr).
 *
 * @param write receives each line, newline included
 *
 * @example
 * ```ts
 * import { setLogWriter } from "./log.ts";
 * const lines: string[] = [];
 * setLogWriter((l) => lines.push(l));
 * ```
 */
export function setLogWriter(write: (line: string) => void): void {
  sink = write;
}

function format(record: LogRecord): string {
  const time = new Date(record.timestamp).toISOString().slice(11, 23);
  const level = record.level.toUpperCase().padEnd(7);
  let message = "";
  for (let i = 0; i < record.message.length; i++) {
    const part = record.message[i];
    message += i % 2 === 0 ? String(part) : inspect(part);
  }
  return `${time} ${level} ${record.category.join(".")}: ${message}\n`;
}

function inspect(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return Deno.inspect(value, { depth: 4, colors: false, breakLength: Infinity });
}

/**
 * Routes `weft.*` log records at `level` and above to stderr (or the writer
 * given to {@linkcode setLogWriter}). Calling it again reconfigures.
 *
 * @param level the lowest level printed
 * @throws {TypeError} when `level` is not one of {@linkcode LOG_LEVELS}
 *
 * @example
 * ```ts
 * import { configureLogging } from "./log.ts";
 * await configureLogging("info");
 * ```
 */
export async function configureLogging(level: WeftLogLevel = "warning"): Promise<void> {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new TypeError(
      `Invalid log level: expected one of ${LOG_LEVELS.join(", ")}, received "${level}"`,
    );
  }
  await reset();
  await configure({
    sinks: { weft: (record: LogRecord) => sink(format(record)) },
    loggers: [
      { category: ["weft"], lowestLevel: level as LogLevel, sinks: ["weft"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["weft"] },
    ],
    reset: true,
  });
}

/**
 * The logger for a Weft subsystem: `logger("dist")` logs as `weft.dist`.
 *
 * @param parts the category below `weft`
 *
 * @example
 * ```ts
 * import { logger } from "./log.ts";
 * logger("process").info("started {pid}", { pid: "#PID<a@h.1.0>" });
 * ```
 */
export function logger(...parts: string[]): LogTapeLogger {
  return getLogger(["weft", ...parts]);
}

/** Elixir's `Logger` for application code: lines under `weft.app`. */
export interface AppLogger {
  /** A debug line. */
  debug(message: string): void;
  /** An info line. */
  info(message: string): void;
  /** A warning line. */
  warning(message: string): void;
  /** An error line. */
  error(message: string): void;
}

const appLog = () => getLogger(["weft", "app"]);

/**
 * Elixir's `Logger` for application code (the shell's `Logger`, also in
 * functions sent to other nodes): each call writes one line under
 * `weft.app`, with the node's log settings.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * Logger.info("Starting distributed worker");
 * ```
 */
export const Logger: AppLogger = Object.freeze({
  debug: (message: string) => appLog().debug("{message}", { message: String(message) }),
  info: (message: string) => appLog().info("{message}", { message: String(message) }),
  warning: (message: string) => appLog().warning("{message}", { message: String(message) }),
  error: (message: string) => appLog().error("{message}", { message: String(message) }),
});

/**
 * Bounds how many lines one source may log in a window, so that a peer
 * sending garbage in a loop cannot flood the log (or the disk behind it):
 * the first `perWindow` lines of a key in each window are printed, the
 * rest are counted, and the next printed line says how many were not.
 * Keys are usually node names; at most `maxKeys` are tracked (the oldest
 * is forgotten first).
 *
 * @example
 * ```ts
 * import { LogLimit } from "./log.ts";
 * let now = 0;
 * const limit = new LogLimit({ perWindow: 2, windowMs: 1000, now: () => now });
 * console.log(limit.admit("evil@h"), limit.admit("evil@h"), limit.admit("evil@h")); // 0 0 undefined
 * now = 1000;
 * console.log(limit.admit("evil@h")); // 1
 * ```
 */
export class LogLimit {
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, { start: number; printed: number; dropped: number }>();

  /**
   * @param options `perWindow` lines per key per window (default 20),
   *   `windowMs` the window (default 10 s), `maxKeys` tracked (default
   *   1024), `now` the clock (default `Date.now`)
   * @throws {RangeError} when a bound is not a positive integer
   */
  constructor(
    options: { perWindow?: number; windowMs?: number; maxKeys?: number; now?: () => number } = {},
  ) {
    this.#perWindow = positive("perWindow", options.perWindow ?? 20);
    this.#windowMs = positive("windowMs", options.windowMs ?? 10_000);
    this.#maxKeys = positive("maxKeys", options.maxKeys ?? 1024);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Whether a line of `key` may be printed now.
   *
   * @returns `undefined` when the line must be dropped; otherwise how many
   *   lines of `key` were dropped since the last one printed (say so in the line)
   */
  admit(key: string): number | undefined {
    const now = this.#now();
    let k = this.#keys.get(key);
    if (k === undefined) {
      if (this.#keys.size >= this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
      k = { start: now, printed: 0, dropped: 0 };
      this.#keys.set(key, k);
    } else if (now - k.start >= this.#windowMs) {
      k.start = now;
      k.printed = 0;
    }
    if (k.printed >= this.#perWindow) {
      k.dropped++;
      return undefined;
    }
    k.printed++;
    const dropped = k.dropped;
    k.dropped = 0;
    return dropped;
  }
}

function positive(what: string, n: number): number {
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`Invalid ${what}: expected a positive integer, received ${n}`);
  }
  return n;
}

/**
 * Logs one line of `key` through `emit` if `limit` admits it, passing the
 * suffix that says how many lines like it were not printed (`""` or
 * `" (3 more like it not shown)"`).
 *
 * @param limit the bound, usually one per call site
 * @param key whose line it is (a node name)
 * @param emit writes the line; put `more` at its end
 *
 * @example
 * ```ts
 * import { LogLimit, logLimited } from "./log.ts";
 * const limit = new LogLimit({ perWindow: 1 });
 * const lines: string[] = [];
 * for (let i = 0; i < 3; i++) logLimited(limit, "evil@h", (more) => lines.push(`garbage${more}`));
 * console.log(lines.length); // 1
 * ```
 */
export function logLimited(limit: LogLimit, key: string, emit: (more: string) => void): void {
  const dropped = limit.admit(key);
  if (dropped !== undefined) emit(dropped > 0 ? ` (${dropped} more like it not shown)` : "");
}
