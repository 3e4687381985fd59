/**
 * The child processes of the multi-process benchmarks (dist.ts, rpc.ts,
 * groups.ts), both sides of the pipe:
 *
 * ```
 * benchmark                                  peer (scripts/bench/_*_peer.ts)
 *   startPeer(script, args) -- spawn ---->   peerFlags(...); start a node
 *                           <-- one JSON --  servePeer({name, ...}, stop)
 *   ... measure ...
 *   peer.stop()  -- close stdin ------->     node stops, exit 0
 * ```
 *
 * and the port mapper children (Weft's `weft epmd`, Erlang's `epmd`) on a
 * private port, so nothing collides with a mapper already running and
 * nothing is left running after.
 *
 * @module
 */

import { listNames } from "../../src/distribution/epmd/client.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A child that runs until stopped. */
export interface Child {
  /** Stops the child and waits for it to exit. */
  stop(): Promise<void>;
}

export { freePort } from "../../test/helpers/ports.ts";

/** Waits until a port mapper answers on `port`, or the child exits, or 10 s pass. */
async function untilEpmdAnswers(port: number, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !exited) {
    if (await listNames({ epmdPort: port, timeout: 500 }).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`No port mapper answered on port ${port}`);
}

/** Starts a port mapper child (`command args`) and waits until it answers on `port`. */
async function startPortMapper(command: string, args: string[], port: number): Promise<Child> {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    await untilEpmdAnswers(port, child);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await child.status;
    throw e;
  }
  return {
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Gone already.
      }
      await child.status;
    },
  };
}

/** Starts Weft's port mapper (`weft epmd`) on loopback `port` and waits until it answers. */
export function startWeftEpmd(port: number): Promise<Child> {
  return startPortMapper(Deno.execPath(), [
    "run",
    "-A",
    MAIN,
    "epmd",
    "--port",
    String(port),
    "--address",
    "127.0.0.1",
  ], port);
}

/** Starts Erlang's `epmd` on loopback `port` and waits until it answers. */
export function startErlangEpmd(port: number): Promise<Child> {
  return startPortMapper("epmd", ["-port", String(port), "-address", "127.0.0.1"], port);
}

/**
 * Runs a peer script (`deno run -A script args`) and waits for the one JSON
 * line it prints once ready (see {@linkcode servePeer}).
 *
 * @param script the path of the peer script
 * @param args its flags
 * @param what how errors name the peer ("The peer node", "The peer node wbga")
 * @returns the parsed line, and `stop()`, which closes the peer's stdin and
 *   waits for it to exit, throwing when it exited with an error
 */
export async function startPeer<T extends object>(
  script: string,
  args: string[],
  what = "The peer node",
): Promise<T & Child> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`${what} exited before it was ready: ${text}`);
    text += value;
  }
  const ready = JSON.parse(text.slice(0, text.indexOf("\n"))) as T;
  return {
    ...ready,
    async stop() {
      await child.stdin.close();
      // Keep reading so the child never blocks on a full pipe.
      while (!(await lines.read()).done) { /* discard */ }
      const status = await child.status;
      if (!status.success) throw new Error(`${what} exited with code ${status.code}`);
    },
  };
}

/**
 * The `--flag value` pairs a peer script was given; exits with code 2 on
 * any other flag or a flag without a value.
 *
 * @param script the script's name, for the message
 * @param allowed the flag names, without `--`
 */
export function peerFlags(script: string, allowed: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < Deno.args.length; i += 2) {
    const [flag, value] = [Deno.args[i]!, Deno.args[i + 1]];
    if (!flag.startsWith("--") || !allowed.includes(flag.slice(2)) || value === undefined) {
      console.error(`${script}: bad argument ${flag}`);
      Deno.exit(2);
    }
    flags[flag.slice(2)] = value;
  }
  return flags;
}

/**
 * The peer's side of {@linkcode startPeer}: prints `ready` as one JSON line,
 * serves until the benchmark closes its stdin, then runs `stop` and exits 0.
 *
 * @param ready what the benchmark needs to know (the node's name, ports)
 * @param stop stops what the peer started
 */
export async function servePeer(ready: object, stop: () => Promise<void>): Promise<never> {
  console.log(JSON.stringify(ready));
  for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
  await stop();
  Deno.exit(0);
}
