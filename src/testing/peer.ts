/**
 * One real Weft node in its own OS process, for a user's tests (Erlang's
 * `peer`): `deno run -A main.ts --name NAME@127.0.0.1 ...`, its output
 * collected line by line so a test waits for a line instead of sleeping,
 * stopped gracefully (SIGTERM) or killed for real (SIGKILL).
 *
 * ```
 * test process                          child OS process
 *   startPeer("n1", {script}) ---- spawn deno run main.ts --name n1@127.0.0.1 --port 0 ...
 *   <---- "listening on 127.0.0.1:PORT" (stderr log line): the peer's address
 *   peer.kill() ------------------ SIGKILL: its connections close, others see nodedown
 * ```
 *
 * If the node does not start in time, its process is killed and the start
 * fails with a `TimeoutError` holding what it printed.
 *
 * @example
 * ```ts
 * import { startPeer } from "./peer.ts";
 * const peer = await startPeer("doc_peer", { cookie: "c" });
 * console.assert(peer.name === "doc_peer@127.0.0.1" && peer.port > 0);
 * await peer.kill();
 * console.assert(peer.exited);
 * ```
 *
 * @module
 */

import { OutputLines } from "./output_lines.ts";

const MAIN = new URL("../../main.ts", import.meta.url);

/** Options of {@linkcode startPeer}. */
export interface PeerOptions {
  /** The cookie. Default `"weft-testing"`. */
  cookie?: string;
  /** Register with the port mapper on this port; without it the node runs with `--no-epmd`. */
  epmdPort?: number;
  /**
   * A script the node runs with the shell's names in scope (`--script FILE`,
   * relative to the working directory). The node exits when the script
   * ends: a script that serves ends with a wait (`for (;;) await receive();`).
   * Without `script` or `eval` the node just runs (`--no-repl`).
   */
  script?: string | URL;
  /** Code the node evaluates (`--eval CODE`); the node exits when it ends unless it waits. */
  eval?: string;
  /** A cluster configuration file (`--cluster-config FILE`). */
  clusterConfig?: string;
  /** More command-line flags, e.g. `["--net-ticktime", "2"]`. */
  args?: string[];
  /** A line the node prints once it is ready (besides listening); default: listening is enough. */
  readyLine?: RegExp;
  /** Milliseconds to wait for the node to start. Default 30000. */
  timeout?: number;
}

/** Options of {@linkcode Peer.waitForOutput}. */
export interface WaitOptions {
  /** Milliseconds to wait. Default 15000. */
  timeout?: number;
}

/**
 * A Weft node in a child process.
 *
 * @example
 * ```ts
 * import { startPeer } from "./peer.ts";
 * const peer = await startPeer("doc_peer2", { eval: "console.log('hello from', Node.self()); await receive();" });
 * const [line] = await peer.waitForOutput(/hello from \S+/);
 * console.assert(line === "hello from doc_peer2@127.0.0.1");
 * await peer.stop();
 * ```
 */
export class Peer {
  /** `name@127.0.0.1`. */
  readonly name: string;
  /** The distribution port it listens on. */
  port = 0;
  readonly #child: Deno.ChildProcess;
  readonly #output: OutputLines;
  readonly #done: Promise<void>;
  #status: Deno.CommandStatus | undefined;

  /** Use {@linkcode startPeer}. */
  constructor(name: string, args: string[]) {
    this.name = name;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN.protocol === "file:" ? MAIN.pathname : MAIN.href, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#output = new OutputLines([this.#child.stdout, this.#child.stderr]);
    this.#done = Promise.all([
      this.#output.done,
      this.#child.status.then((s) => {
        this.#status = s;
      }),
    ]).then(() => {});
  }

  /** `name@127.0.0.1:port`, to connect without a port mapper. */
  get address(): string {
    return `${this.name}:${this.port}`;
  }

  /** The OS process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#status !== undefined;
  }

  /** Everything it printed so far, stdout and stderr line by line as they arrived. */
  get output(): string {
    return this.#output.text;
  }

  /**
   * Waits until the output holds a match for `pattern`.
   *
   * @param pattern what to wait for
   * @param options the deadline
   * @returns the match
   * @throws {TimeoutError} with the output so far, when no match came in time or the node exited first
   */
  waitForOutput(pattern: RegExp, options: WaitOptions = {}): Promise<RegExpMatchArray> {
    return this.#output.waitFor(pattern, { timeout: options.timeout ?? 15_000, what: this.name });
  }

  /** Stops the node gracefully (SIGTERM) and waits for it to exit. */
  async stop(): Promise<Deno.CommandStatus> {
    this.#signal("SIGTERM");
    await this.#done;
    return this.#status!;
  }

  /** Kills the node at once (SIGKILL, `kill -9`): no goodbye to its peers. */
  async kill(): Promise<Deno.CommandStatus> {
    this.#signal("SIGKILL");
    await this.#done;
    return this.#status!;
  }

  #signal(signal: Deno.Signal): void {
    if (this.#status !== undefined) return;
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Starts `weft --name NAME@127.0.0.1 --port 0` in a child process and
 * waits until it listens (and prints `readyLine`, when given).
 *
 * @param name the bare node name (the host is 127.0.0.1)
 * @param options cookie, port mapper, script or code, flags, deadline
 * @returns the running node
 * @throws {TypeError} when `name` is not a bare node name
 * @throws {TimeoutError} when it did not start in time (it is killed)
 *
 * @example
 * ```ts
 * import { startPeer } from "./peer.ts";
 * const peer = await startPeer("doc_peer3");
 * console.assert(peer.address === `doc_peer3@127.0.0.1:${peer.port}`);
 * await peer.kill();
 * ```
 */
export async function startPeer(name: string, options: PeerOptions = {}): Promise<Peer> {
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new TypeError(
      `Cannot start a peer: the name must be letters, digits, _ and - (the host is 127.0.0.1), received ${
        JSON.stringify(name)
      }`,
    );
  }
  const full = `${name}@127.0.0.1`;
  const args = [
    "--name",
    full,
    "--cookie",
    options.cookie ?? "weft-testing",
    "--port",
    "0",
    "--log-level",
    "info",
    ...(options.epmdPort !== undefined ? ["--epmd-port", String(options.epmdPort)] : ["--no-epmd"]),
    ...(options.clusterConfig !== undefined ? ["--cluster-config", options.clusterConfig] : []),
    ...(options.args ?? []),
  ];
  if (options.eval !== undefined) args.push("--eval", options.eval);
  else if (options.script === undefined) args.push("--no-repl");
  if (options.script !== undefined) {
    const script = options.script instanceof URL
      ? options.script
      : new URL(options.script, `file://${Deno.cwd()}/`);
    args.push("--script", script.protocol === "file:" ? script.pathname : script.href);
  }
  const peer = new Peer(full, args);
  try {
    const timeout = options.timeout ?? 30_000;
    const [, port] = await peer.waitForOutput(/listening on \S+:(\d+)/, { timeout });
    peer.port = Number(port);
    if (options.readyLine !== undefined) await peer.waitForOutput(options.readyLine, { timeout });
    return peer;
  } catch (e) {
    await peer.kill();
    throw e;
  }
}
