/**
 * A program on a real pseudo-terminal, driven through tmux: type keys,
 * read the screen, wait for what it shows with a deadline. Each session
 * runs on a tmux server of its own (`tmux -L <unique>`) that `close()`
 * kills, so tests never touch a user's tmux.
 *
 * @example
 * ```ts ignore
 * import { TmuxSession } from "./tmux.ts";
 * const t = await TmuxSession.start(["bash", "-c", "read x; echo got $x"]);
 * await t.type("hi");
 * await t.keys("Enter");
 * await t.waitForScreen(/got hi/);
 * await t.close();
 * ```
 *
 * @module
 */

import { waitFor } from "./wait.ts";

/** Options for {@linkcode TmuxSession.start}. */
export interface TmuxOptions {
  /** Environment variables for the program (HOME, ...). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Terminal width. Default 200. */
  width?: number;
  /** Terminal height. Default 50. */
  height?: number;
}

let counter = 0;

/** Whether tmux can be run here. */
export async function haveTmux(): Promise<boolean> {
  try {
    const out = await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** One program on one pseudo-terminal. */
export class TmuxSession {
  readonly #socket: string;
  readonly #target = "weft:0.0";
  /** A shell around the program writes its exit status here (tmux does not always reap in time). */
  readonly #statusFile: string;

  private constructor(socket: string, statusFile: string) {
    this.#socket = socket;
    this.#statusFile = statusFile;
  }

  /**
   * Starts `command` on a fresh terminal. The pane stays after the program
   * exits, so its last screen and exit status can be read.
   *
   * @param command the program and its arguments
   * @param options environment, working directory and size
   */
  static async start(command: string[], options: TmuxOptions = {}): Promise<TmuxSession> {
    const socket = `weft-test-${Deno.pid}-${++counter}-${crypto.randomUUID().slice(0, 8)}`;
    const statusFile = await Deno.makeTempFile({ prefix: "weft-tmux-status-" });
    const session = new TmuxSession(socket, statusFile);
    const wrapped = [
      "sh",
      "-c",
      `"$@"; echo $? > ${shellQuote(statusFile)}.done; mv ${shellQuote(statusFile)}.done ${
        shellQuote(statusFile)
      }`,
      "sh",
      ...command,
    ];
    const env = Object.entries({ TERM: "xterm-256color", ...options.env }).flatMap((
      [k, v],
    ) => ["-e", `${k}=${v}`]);
    await session.#tmux([
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      "weft",
      "-x",
      String(options.width ?? 200),
      "-y",
      String(options.height ?? 50),
      ...(options.cwd !== undefined ? ["-c", options.cwd] : []),
      ...env,
      wrapped.map(shellQuote).join(" "),
      ";",
      "set-option",
      "-t",
      "weft",
      "remain-on-exit",
      "on",
    ]);
    return session;
  }

  /**
   * Types `text` literally (no key names).
   *
   * @param text the characters
   */
  async type(text: string): Promise<void> {
    await this.#tmux(["send-keys", "-t", this.#target, "-l", text]);
  }

  /**
   * Presses keys by tmux name: `Enter`, `Tab`, `Up`, `C-c`, `C-d`, `BSpace`...
   *
   * @param names the keys, in order
   */
  async keys(...names: string[]): Promise<void> {
    await this.#tmux(["send-keys", "-t", this.#target, ...names]);
  }

  /** The visible screen, one string with a line per row (trailing blanks trimmed). */
  async screen(): Promise<string> {
    const out = await this.#tmux(["capture-pane", "-p", "-t", this.#target]);
    return out.split("\n").map((l) => l.trimEnd()).join("\n").trimEnd();
  }

  /** The row the cursor is on, and the column. */
  async cursor(): Promise<{ row: number; col: number }> {
    const out = await this.#tmux([
      "display-message",
      "-p",
      "-t",
      this.#target,
      "#{cursor_y} #{cursor_x}",
    ]);
    const [row, col] = out.trim().split(" ").map(Number);
    return { row: row!, col: col! };
  }

  /**
   * Waits until the screen matches `pattern` (or the predicate holds).
   *
   * @param pattern what to wait for
   * @param timeout milliseconds. Default 20000
   * @returns the screen that matched
   */
  async waitForScreen(
    pattern: RegExp | ((screen: string) => boolean),
    timeout = 20_000,
  ): Promise<string> {
    let screen = "";
    const test = typeof pattern === "function" ? pattern : (s: string) => pattern.test(s);
    try {
      await waitFor(async () => test(screen = await this.screen()), {
        timeout,
        interval: 50,
      });
    } catch {
      throw new Error(`The screen never showed ${pattern} within ${timeout} ms:\n${screen}`);
    }
    return screen;
  }

  /**
   * Waits for the program to exit.
   *
   * @param timeout milliseconds. Default 20000
   * @returns its exit status
   */
  async waitForExit(timeout = 20_000): Promise<number> {
    let status: number | undefined;
    try {
      await waitFor(async () => {
        const text = await Deno.readTextFile(this.#statusFile);
        if (/^\d+\n$/.test(text)) status = Number(text);
        return status !== undefined;
      }, { timeout, interval: 50 });
    } catch {
      throw new Error(`The program did not exit within ${timeout} ms:\n${await this.screen()}`);
    }
    return status!;
  }

  /** Kills the program and this session's tmux server. */
  async close(): Promise<void> {
    try {
      await this.#tmux(["kill-server"]);
    } catch {
      // Already gone.
    }
    await Deno.remove(this.#statusFile).catch(() => {});
    await Deno.remove(`${this.#statusFile}.done`).catch(() => {});
  }

  async #tmux(args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, ...args],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    if (!out.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    return new TextDecoder().decode(out.stdout);
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
