/**
 * Starting the port mapper on demand, as `erl` starts `epmd -daemon`: a node
 * that finds nothing answering on the port mapper port launches
 * `weft epmd --daemon --port P` as a detached process and waits until it
 * answers; the CLI's `epmd` command runs {@linkcode runEpmdCommand}.
 *
 * ```
 * node                                    port mapper port
 *   NAMES_REQ ------------------------------> connection refused
 *   spawn `weft epmd --daemon --port P` (detached, stdio to /dev/null)
 *   NAMES_REQ (polled until the deadline) --> answered: "started"
 * ```
 *
 * Failure: two nodes that race each start a daemon; the one whose listen
 * fails with "address in use" exits quietly, so exactly one stays. A daemon
 * that exits with an error, or no answer by the deadline, fails
 * {@linkcode ensureEpmd}.
 *
 * @example
 * ```ts ignore
 * import { ensureEpmd } from "./daemon.ts";
 * // Starts `weft epmd --daemon` unless a port mapper already answers on 4369.
 * await ensureEpmd();
 * ```
 *
 * @module
 */

import { TimeoutError } from "../../errors.ts";
import { logger } from "../../log.ts";
import { listNames } from "./client.ts";
import { EpmdUnavailableError } from "./errors.ts";
import { type EpmdServer, startEpmdServer } from "./server.ts";
import { EPMD_DEFAULT_PORT } from "./types.ts";

/** Options of {@linkcode ensureEpmd}. */
export interface EnsureEpmdOptions {
  /** The port mapper port. Default 4369. */
  port?: number;
  /** Where to look for the port mapper. Default `"127.0.0.1"`. */
  host?: string;
  /** Address a started daemon listens on. Default: every interface, as `epmd`. */
  address?: string;
  /**
   * The CLI entry a daemon runs under `deno run` (a path or URL of a script
   * that handles `epmd --daemon --port P [--address A]`). Default: Weft's
   * `main.ts`. Ignored in a `deno compile`d binary, which runs itself.
   */
  mainModule?: string | URL;
  /** Milliseconds to wait for a started daemon to answer. Default 5000. */
  timeout?: number;
}

/** A command line that starts a port mapper daemon. */
export interface EpmdDaemonCommand {
  /** The executable. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Working directory: the script's, so that its `deno.json` is found; none when compiled. */
  cwd?: string;
}

/** Options of {@linkcode epmdDaemonCommand}. */
export interface EpmdDaemonCommandOptions {
  /** The port the daemon listens on. */
  port: number;
  /** Address the daemon listens on; omitted: every interface. */
  address?: string;
  /** As {@linkcode EnsureEpmdOptions.mainModule}. */
  mainModule?: string | URL;
  /** Whether this is a `deno compile`d binary. Default `Deno.build.standalone`. */
  standalone?: boolean;
}

/** Options of {@linkcode runEpmdCommand}. */
export interface RunEpmdCommandOptions {
  /** The port to listen on. Default 4369. */
  port?: number;
  /** Address to listen on. Default `"0.0.0.0"`, every interface. */
  address?: string;
  /** Run as a daemon: exit quietly if another port mapper holds the port. */
  daemon?: boolean;
  /** Allow KILL with nodes registered, and STOP, as `epmd -relaxed_command_check`. */
  relaxedCommandCheck?: boolean;
  /** Stops the port mapper when aborted, besides SIGINT and SIGTERM. */
  signal?: AbortSignal;
}

const log = logger("epmd");
/** Weft's CLI entry, relative to this file: `src/distribution/epmd/` -> the package root. */
const DEFAULT_MAIN_MODULE = new URL("../../../main.ts", import.meta.url);
/** How long one probe of the port mapper may take. */
const PROBE_TIMEOUT = 1000;
/** Pause between probes while a daemon starts. */
const POLL_INTERVAL = 25;

/**
 * Makes sure a port mapper answers on `host:port`, starting a detached
 * daemon when nothing does.
 *
 * @param options the port, and how to start a daemon
 * @returns `"running"` when one answered already, `"started"` when this call started it
 * @throws {TimeoutError} when a port mapper does not answer, or a started one not in time
 * @throws {EpmdUnavailableError} when the started daemon exits with an error
 * @throws {DecodeError} when something other than a port mapper holds the port
 *
 * @example
 * ```ts ignore
 * import { ensureEpmd } from "./daemon.ts";
 * const state = await ensureEpmd({ port: 4369 });
 * console.log(state); // "running" or "started"
 * ```
 */
export async function ensureEpmd(options: EnsureEpmdOptions = {}): Promise<"running" | "started"> {
  const port = options.port ?? EPMD_DEFAULT_PORT;
  const host = options.host ?? "127.0.0.1";
  const timeout = options.timeout ?? 5000;
  const probe = { host, epmdPort: port, timeout: PROBE_TIMEOUT };
  if (await answers(probe)) return "running";

  const command = epmdDaemonCommand({
    port,
    ...(options.address === undefined ? {} : { address: options.address }),
    ...(options.mainModule === undefined ? {} : { mainModule: options.mainModule }),
  });
  log.info("No port mapper on {host}:{port}; starting one: {command}", {
    host,
    port,
    command: [command.command, ...command.args].join(" "),
  });
  const child = new Deno.Command(command.command, {
    args: command.args,
    ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  let exit: Deno.CommandStatus | undefined;
  child.status.then((status) => exit = status, () => {});

  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await answers(probe)) return "started";
    // Exit code 0 means it lost a race to another daemon, which will answer soon.
    if (exit !== undefined && !exit.success) {
      throw new EpmdUnavailableError(
        host,
        port,
        `the port mapper daemon exited with code ${exit.code}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL));
  }
  throw new TimeoutError(
    `Cannot start port mapper: nothing answered on ${host}:${port} within ${timeout} ms`,
  );
}

/** Whether a port mapper answers NAMES; `false` only when none is there at all. */
async function answers(probe: { host: string; epmdPort: number; timeout: number }) {
  try {
    await listNames(probe);
    return true;
  } catch (error) {
    if (error instanceof EpmdUnavailableError) return false;
    throw error;
  }
}

/**
 * The command line that starts a port mapper daemon: this binary with
 * `epmd --daemon --port P` when `deno compile`d, else
 * `deno run -A <main module> epmd --daemon --port P`.
 *
 * @param options the port, address and entry script
 * @returns the executable, arguments and working directory
 *
 * @example
 * ```ts
 * import { epmdDaemonCommand } from "./daemon.ts";
 * const c = epmdDaemonCommand({ port: 4369, standalone: true });
 * console.assert(c.args.join(" ") === "epmd --daemon --port 4369");
 * ```
 */
export function epmdDaemonCommand(options: EpmdDaemonCommandOptions): EpmdDaemonCommand {
  const tail = ["epmd", "--daemon", "--port", String(options.port)];
  if (options.address !== undefined) tail.push("--address", options.address);
  if (options.standalone ?? Deno.build.standalone) {
    // A compiled binary is the CLI itself; its embedded main module handles `epmd`.
    return { command: Deno.execPath(), args: tail };
  }
  const main = toUrl(options.mainModule ?? DEFAULT_MAIN_MODULE);
  if (main.protocol !== "file:") {
    return { command: Deno.execPath(), args: ["run", "-A", main.href, ...tail] };
  }
  const path = decodeURIComponent(main.pathname);
  return {
    command: Deno.execPath(),
    args: ["run", "-A", path, ...tail],
    cwd: path.slice(0, path.lastIndexOf("/")) || "/",
  };
}

function toUrl(module: string | URL): URL {
  if (module instanceof URL) return module;
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return new URL(module);
  const absolute = module.startsWith("/") ? module : `${Deno.cwd()}/${module}`;
  return new URL(`file://${absolute.split("/").map(encodeURIComponent).join("/")}`);
}

/**
 * The body of `weft epmd [--daemon] [--port P] [--address A]`: runs a port
 * mapper until SIGINT, SIGTERM, `options.signal` or a KILL request. As a
 * daemon it exits quietly when another port mapper holds the port, and
 * ignores SIGHUP so a closing terminal leaves it running.
 *
 * @param options port, address and mode
 * @returns the exit code: 0, or 1 when the port mapper could not listen
 *
 * @example
 * ```ts
 * import { runEpmdCommand } from "./daemon.ts";
 * const stop = new AbortController();
 * const running = runEpmdCommand({ port: 0, address: "127.0.0.1", signal: stop.signal });
 * stop.abort();
 * console.assert(await running === 0);
 * ```
 */
export async function runEpmdCommand(options: RunEpmdCommandOptions = {}): Promise<number> {
  const port = options.port ?? EPMD_DEFAULT_PORT;
  const hostname = options.address ?? "0.0.0.0";
  let server: EpmdServer;
  try {
    server = startEpmdServer({
      port,
      hostname,
      relaxedCommandCheck: options.relaxedCommandCheck ?? false,
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse && options.daemon) {
      log.debug("Port mapper daemon not needed: port {port} is in use", { port });
      return 0;
    }
    log.error("Cannot start port mapper on {hostname}:{port}: {error}", {
      hostname,
      port,
      error,
    });
    return 1;
  }

  const stop = () => void server.close();
  const listening: Deno.Signal[] = [];
  const signals: Deno.Signal[] = options.daemon
    ? ["SIGINT", "SIGTERM", "SIGHUP"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) {
    try {
      // SIGHUP is listened to (and so ignored) only to survive a closing terminal.
      Deno.addSignalListener(signal, signal === "SIGHUP" ? ignore : stop);
      listening.push(signal);
    } catch {
      // This platform lacks the signal (Windows has no SIGTERM or SIGHUP).
    }
  }
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();
  try {
    await server.closed;
  } finally {
    for (const signal of listening) {
      Deno.removeSignalListener(signal, signal === "SIGHUP" ? ignore : stop);
    }
    options.signal?.removeEventListener("abort", stop);
  }
  return 0;
}

function ignore(): void {}
