/**
 * A stand-in for Weft's `main.ts` in port mapper daemon tests: handles
 * `epmd [--daemon] [--port P] [--address A]` by calling `runEpmdCommand`,
 * so `ensureEpmd({ mainModule })` can start a daemon before the real CLI
 * exists and without its start-up cost.
 *
 * @example
 * ```sh
 * deno run -A test/helpers/epmd_daemon_main.ts epmd --daemon --port 4400 --address 127.0.0.1
 * ```
 *
 * @module
 */

import { runEpmdCommand } from "../../src/distribution/epmd/daemon.ts";

// Hand-parsed: `node:util` needs @types/node to type-check, which is not installed.
const [command, ...rest] = Deno.args;
const flags: Record<string, string | true> = {};
for (let i = 0; i < rest.length; i++) {
  const flag = rest[i]!;
  if (flag === "--daemon") flags.daemon = true;
  else if ((flag === "--port" || flag === "--address") && rest[i + 1] !== undefined) {
    flags[flag.slice(2)] = rest[++i]!;
  } else {
    console.error(`epmd_daemon_main.ts: unknown argument ${flag}`);
    Deno.exit(2);
  }
}
if (command !== "epmd") {
  console.error("usage: epmd_daemon_main.ts epmd [--daemon] [--port P] [--address A]");
  Deno.exit(2);
}
const address = flags.address;
Deno.exit(
  await runEpmdCommand({
    port: Number(flags.port ?? 4369),
    daemon: flags.daemon === true,
    ...(typeof address === "string" ? { address } : {}),
  }),
);
