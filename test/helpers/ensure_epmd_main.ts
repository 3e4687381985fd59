/**
 * Calls `ensureEpmd()` in a process of its own and prints the outcome as
 * one JSON line, so a test can check that the daemon it starts outlives
 * the process that started it (and so that the test itself never holds the
 * daemon's child-process handle).
 *
 * Arguments: `PORT MAIN_MODULE TIMEOUT_MS` — the daemon listens on
 * 127.0.0.1:PORT and runs MAIN_MODULE (see `epmd_daemon_main.ts`).
 * Prints `{"result":"started"}`, `{"result":"running"}` or
 * `{"error":"<name>","message":"<message>"}`.
 *
 * @example
 * ```sh
 * deno run -A test/helpers/ensure_epmd_main.ts 4400 test/helpers/epmd_daemon_main.ts 5000
 * ```
 *
 * @module
 */

import { ensureEpmd } from "../../src/distribution/epmd/daemon.ts";

const [port, mainModule, timeout] = Deno.args;
if (port === undefined || mainModule === undefined || timeout === undefined) {
  console.error("usage: ensure_epmd_main.ts PORT MAIN_MODULE TIMEOUT_MS");
  Deno.exit(2);
}
try {
  const result = await ensureEpmd({
    port: Number(port),
    address: "127.0.0.1",
    mainModule,
    timeout: Number(timeout),
  });
  console.log(JSON.stringify({ result }));
} catch (error) {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  console.log(JSON.stringify({ error: name, message }));
}
// Exit at once: the daemon must not depend on this process staying alive.
Deno.exit(0);
