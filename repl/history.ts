/**
 * Shell history: the lines entered, oldest first, capped in size, kept
 * across runs in `~/.weft_history` (one line per entry). Each entered line
 * is appended to the file at once, so two shells open at the same time
 * both keep theirs and a crash loses nothing; the file is cut back to the
 * cap when it is loaded and has grown past twice the cap.
 *
 * @example
 * ```ts
 * import { History } from "./history.ts";
 * const h = new History({ capacity: 2 });
 * h.add("a");
 * h.add("b");
 * h.add("c");
 * console.assert(h.entries.join() === "b,c");
 * ```
 *
 * @module
 */

/** How many entries are kept when nothing else is said. */
export const DEFAULT_HISTORY_SIZE = 1000;

/** Options for {@linkcode History}. */
export interface HistoryOptions {
  /** Entries kept; the oldest go first. Default {@linkcode DEFAULT_HISTORY_SIZE}. */
  capacity?: number;
  /** The file to append entered lines to; none: history lasts only this run. */
  path?: string;
}

/**
 * The lines entered, oldest first.
 *
 * @example
 * ```ts
 * import { History } from "./history.ts";
 * const h = new History();
 * h.add("x");
 * h.add("x"); // a repeat of the last entry is not stored twice
 * h.add("   "); // nor a blank line
 * console.assert(h.entries.length === 1);
 * ```
 */
export class History {
  readonly #entries: string[] = [];
  readonly #capacity: number;
  readonly #path: string | undefined;

  /** @param options the size cap and the file, if any */
  constructor(options: HistoryOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_HISTORY_SIZE;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Invalid history capacity: must be an integer >= 1, received ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#path = options.path;
  }

  /** The entries, oldest first. */
  get entries(): readonly string[] {
    return this.#entries;
  }

  /** The file entered lines go to, if any. */
  get path(): string | undefined {
    return this.#path;
  }

  /**
   * Adds an entered line (not a blank one, nor a repeat of the last) and
   * appends it to the file. A file that cannot be written is ignored: the
   * shell goes on without persistent history.
   *
   * @param line the line as entered
   * @returns whether it was stored
   */
  add(line: string): boolean {
    if (!this.#remember(line)) return false;
    if (this.#path !== undefined) {
      try {
        Deno.writeTextFileSync(this.#path, line + "\n", {
          append: true,
          create: true,
          mode: 0o600,
        });
      } catch {
        // Read-only home, full disk: history stays in memory.
      }
    }
    return true;
  }

  #remember(line: string): boolean {
    if (line.trim() === "" || line.includes("\n")) return false;
    if (this.#entries.at(-1) === line) return false;
    this.#entries.push(line);
    if (this.#entries.length > this.#capacity) {
      this.#entries.splice(0, this.#entries.length - this.#capacity);
    }
    return true;
  }

  /**
   * Reads the file's entries (the newest `capacity` of them); rewrites the
   * file when it has grown past twice the cap. A missing or unreadable
   * file leaves the history empty.
   *
   * @returns how many entries were loaded
   */
  load(): number {
    if (this.#path === undefined) return 0;
    let text: string;
    try {
      text = Deno.readTextFileSync(this.#path);
    } catch {
      return 0;
    }
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    for (const line of lines.slice(-this.#capacity)) this.#remember(line);
    if (lines.length > 2 * this.#capacity) {
      try {
        Deno.writeTextFileSync(this.#path, this.#entries.join("\n") + "\n", { mode: 0o600 });
      } catch {
        // Keep the long file; it is cut on a later load.
      }
    }
    return this.#entries.length;
  }
}

/**
 * Where the shell keeps its history: `$WEFT_HISTORY`, else
 * `$HOME/.weft_history`; `undefined` when neither is set (or the
 * environment cannot be read), and history then lasts one run.
 *
 * @returns the path, or `undefined`
 *
 * @example
 * ```ts
 * import { historyPath } from "./history.ts";
 * const path = historyPath();
 * console.assert(path === undefined || path.length > 0);
 * ```
 */
export function historyPath(): string | undefined {
  try {
    const explicit = Deno.env.get("WEFT_HISTORY");
    if (explicit) return explicit;
    const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
    return home ? `${home.replace(/\/+$/, "")}/.weft_history` : undefined;
  } catch {
    return undefined;
  }
}
