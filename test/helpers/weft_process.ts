/**
 * Real `weft` nodes as child processes (`deno run -A main.ts ...`), for
 * tests that kill, stop and restart nodes for real. Output is collected
 * line by line so a test can wait for a line instead of sleeping.
 *
 * @module
 */

import { OutputLines } from "../../src/testing/output_lines.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

/** The result of running `weft` to completion. */
export interface WeftRun {
  /** Exit status. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/**
 * Runs `weft ARGS` to completion and returns its status and output.
 *
 * @param args command-line arguments
 * @param options optional stdin text and environment
 */
export async function runWeft(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<WeftRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: ROOT,
    stdin: options.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A `weft` node running as a child process. */
export class WeftProcess {
  readonly #child: Deno.ChildProcess;
  readonly #output: OutputLines;
  readonly #done: Promise<void>;
  #status: Deno.CommandStatus | undefined;

  /**
   * Starts `weft ARGS` (stdin piped, so the shell can be driven).
   * @param args command-line arguments
   * @param env extra environment variables
   * @param launcher the command before ARGS, as a user types it (default
   *   `deno run -A main.ts`; `["npx", "deno", "task", "start"]` for the README's quickstart)
   */
  constructor(
    args: string[],
    env: Record<string, string> = {},
    launcher: string[] = [Deno.execPath(), "run", "-A", MAIN],
  ) {
    const [command, ...before] = launcher;
    this.#child = new Deno.Command(command!, {
      args: [...before, ...args],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    this.#output = new OutputLines([this.#child.stdout, this.#child.stderr]);
    this.#done = Promise.all([
      this.#output.done,
      this.#child.status.then((s) => {
        this.#status = s;
      }),
    ]).then(() => {});
  }

  /**
   * Starts a headless node on loopback as the multi-process tests and
   * benches run it: `--name NAME --cookie COOKIE --port 0 --no-epmd
   * --log-level info --no-repl`, then `extra`.
   *
   * @param name the full node name
   * @param cookie the cookie
   * @param extra more arguments (`--data-dir`, `--load`, ...)
   */
  static headless(name: string, cookie: string, extra: string[] = []): WeftProcess {
    return new WeftProcess([
      ...["--name", name, "--cookie", cookie, "--port", "0", "--no-epmd"],
      ...["--log-level", "info", "--no-repl", ...extra],
    ]);
  }

  /** The OS process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Everything printed so far, stdout and stderr interleaved line by line as
   * they arrived, then any unfinished last lines (a prompt has no newline).
   */
  get output(): string {
    return this.#output.text;
  }

  /** The exit status, once the process has exited. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** Writes `text` to the node's stdin. */
  async write(text: string): Promise<void> {
    const writer = this.#child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(text));
    } finally {
      writer.releaseLock();
    }
  }

  /** Waits until the output holds a match for `pattern`; returns the match. */
  waitForOutput(pattern: RegExp, timeout = 15_000): Promise<RegExpMatchArray> {
    return this.#output.waitFor(pattern, { timeout, what: `weft (pid ${this.pid})` });
  }

  /**
   * The port the node listens on, from its `listening on host:port` line: start the node
   * without `--port` (or with `--port 0`) and `--log-level info`, so that it binds a port of its
   * choice and no other process can take it first.
   *
   * @param timeout how long to wait for the line, in milliseconds
   * @returns the port
   */
  async listenPort(timeout = 60_000): Promise<number> {
    const [, port] = await this.waitForOutput(/listening on \S+:(\d+)/, timeout);
    return Number(port);
  }

  /** Sends `signal` to the process. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for the process to exit and its output to be read; returns its status. */
  async exited(): Promise<Deno.CommandStatus> {
    await this.#done;
    return this.#status!;
  }

  /** Kills the process if it still runs (SIGKILL) and releases its pipes. */
  async close(): Promise<void> {
    if (this.#status === undefined) this.kill("SIGKILL");
    try {
      await this.#child.stdin.close();
    } catch {
      // Already closed.
    }
    await this.#done;
  }
}
