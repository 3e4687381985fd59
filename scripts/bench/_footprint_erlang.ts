/**
 * The Erlang side of scripts/bench/footprint.ts: an idle `erl -noshell
 * -sname` node registered with its own `epmd` on a private port, its RSS
 * read once it printed that it is up. Resolves `undefined` without `erl`.
 *
 * @module
 */

import { hasErlang } from "./_erlang.ts";
import { freePort, startErlangEpmd } from "./_peers.ts";

/**
 * The settled RSS of an idle Erlang node, in bytes.
 *
 * @param idleRss starts a command and reads its settled RSS once a line matches
 * @returns the RSS, or `undefined` without Erlang
 */
export async function runErlangIdleRss(
  idleRss: (command: string, args: string[], ready: RegExp) => Promise<number>,
): Promise<number | undefined> {
  if (!(await hasErlang())) return undefined;
  const epmdPort = freePort();
  const epmd = await startErlangEpmd(epmdPort);
  try {
    return await idleRss("env", [
      `ERL_EPMD_PORT=${epmdPort}`,
      "erl",
      "-noshell",
      "-sname",
      "weftfootprint",
      "-setcookie",
      "footprint",
      "-eval",
      'io:format("ready~n").',
    ], /ready/);
  } finally {
    await epmd.stop();
  }
}
