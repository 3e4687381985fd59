import assert from "node:assert/strict";
import { killEpmd, listNames, registerNode } from "../../../src/distribution/epmd/client.ts";
import {
  ensureEpmd,
  epmdDaemonCommand,
  runEpmdCommand,
} from "../../../src/distribution/epmd/daemon.ts";
import { startEpmdServer } from "../../../src/distribution/epmd/server.ts";
import { waitFor } from "../../helpers/wait.ts";
import { freePort } from "../../helpers/ports.ts";

/** Stands in for main.ts: handles `epmd --daemon --port P --address A`. */
const DAEMON_MAIN = new URL("../../helpers/epmd_daemon_main.ts", import.meta.url);
const DAEMON_MAIN_PATH = decodeURIComponent(DAEMON_MAIN.pathname);

/** Pids of test daemons on `port`, found by their command line in /proc. */
function daemonPids(port: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let args: string[];
    try {
      args = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
    } catch {
      continue; // exited while we looked
    }
    const at = args.indexOf("--port");
    if (args.includes(DAEMON_MAIN_PATH) && args[at + 1] === String(port)) {
      pids.push(Number(entry.name));
    }
  }
  return pids;
}

const ENSURE_MAIN = new URL("../../helpers/ensure_epmd_main.ts", import.meta.url);

/** Runs ensureEpmd() in a child process that exits right after; returns its outcome. */
async function ensureInChild(
  port: number,
  mainModule = DAEMON_MAIN_PATH,
  timeout = 20_000,
): Promise<{ result?: string; error?: string; message?: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ENSURE_MAIN.pathname, String(port), mainModule, String(timeout)],
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(stdout);
}

const answers = (port: number) => listNames({ epmdPort: port }).then(() => true, () => false);

/** Stops the daemon on `port` the way `epmd -kill` would, and waits until it is gone. */
async function killDaemon(port: number): Promise<void> {
  assert.equal(await killEpmd({ epmdPort: port }), true);
  await waitFor(() => daemonPids(port).length === 0, {
    timeout: 10_000,
    interval: 20,
    message: "the daemon outlived KILL",
  });
}

Deno.test("epmdDaemonCommand() runs the compiled binary itself with `epmd --daemon`", () => {
  const command = epmdDaemonCommand({ port: 4369, standalone: true, mainModule: DAEMON_MAIN });
  assert.deepEqual(command, {
    command: Deno.execPath(),
    args: ["epmd", "--daemon", "--port", "4369"],
  });
});

Deno.test("epmdDaemonCommand() runs the main module under `deno run` from its directory", () => {
  const command = epmdDaemonCommand({
    port: 4400,
    address: "127.0.0.1",
    standalone: false,
    mainModule: DAEMON_MAIN,
  });
  assert.deepEqual(command, {
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      DAEMON_MAIN_PATH,
      ...["epmd", "--daemon", "--port", "4400", "--address", "127.0.0.1"],
    ],
    cwd: DAEMON_MAIN_PATH.slice(0, DAEMON_MAIN_PATH.lastIndexOf("/")),
  });
  const remote = epmdDaemonCommand({
    port: 1,
    standalone: false,
    mainModule: "https://example.com/weft/main.ts",
  });
  assert.deepEqual(remote.args.slice(0, 3), ["run", "-A", "https://example.com/weft/main.ts"]);
  assert.equal(remote.cwd, undefined);
});

Deno.test("epmdDaemonCommand() defaults to Weft's main.ts at the package root", () => {
  const command = epmdDaemonCommand({ port: 1, standalone: false });
  const root = decodeURIComponent(new URL("../../../", import.meta.url).pathname);
  assert.equal(command.args[2], `${root}main.ts`);
});

Deno.test("runEpmdCommand() serves until its signal aborts, then returns 0", async () => {
  const port = freePort();
  const stop = new AbortController();
  const running = runEpmdCommand({ port, address: "127.0.0.1", signal: stop.signal });
  const reg = await registerNode({ epmdPort: port, name: "a", port: 5000 });
  assert.deepEqual(await listNames({ epmdPort: port }), [{ name: "a", port: 5000 }]);
  stop.abort();
  assert.equal(await running, 0);
  await reg.closed;
  assert.equal(await answers(port), false);
});

Deno.test("runEpmdCommand() returns 0 when a KILL request stops it", async () => {
  const port = freePort();
  const running = runEpmdCommand({ port, address: "127.0.0.1" });
  assert.equal(await killEpmd({ epmdPort: port }), true);
  assert.equal(await running, 0);
});

Deno.test("runEpmdCommand() as a daemon exits quietly with 0 when the port is taken", async () => {
  const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  try {
    const options = { port: server.port, address: "127.0.0.1" };
    assert.equal(await runEpmdCommand({ ...options, daemon: true }), 0);
    assert.equal(await runEpmdCommand({ ...options, daemon: false }), 1);
    assert.equal(await answers(server.port), true);
  } finally {
    await server.close();
  }
});

Deno.test("ensureEpmd() says running when a port mapper answers already", async () => {
  const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.equal(await ensureEpmd({ port: server.port, mainModule: DAEMON_MAIN }), "running");
  } finally {
    await server.close();
  }
});

Deno.test("ensureEpmd() starts a detached daemon that outlives its starter, then says running", async () => {
  const port = freePort();
  try {
    assert.deepEqual(await ensureInChild(port), { result: "started" });
    // The process that started the daemon has exited; the daemon answers on.
    assert.equal(await answers(port), true);
    assert.equal(daemonPids(port).length, 1);
    assert.deepEqual(await ensureInChild(port), { result: "running" });
    assert.equal(await ensureEpmd({ port, mainModule: DAEMON_MAIN }), "running");
    const reg = await registerNode({ epmdPort: port, name: "a", port: 5000 });
    assert.deepEqual(await listNames({ epmdPort: port }), [{ name: "a", port: 5000 }]);
    await reg.close();
    await waitFor(async () => (await listNames({ epmdPort: port })).length === 0);
  } finally {
    if (await answers(port)) await killDaemon(port);
  }
});

Deno.test({
  name: "ensureEpmd() raced by two processes leaves exactly one daemon",
  ignore: Deno.build.os !== "linux", // counts daemons through /proc
  async fn() {
    const port = freePort();
    try {
      const results = await Promise.all([ensureInChild(port), ensureInChild(port)]);
      for (const r of results) {
        assert.ok(r.result === "started" || r.result === "running", r.message);
      }
      // The loser's listen fails with "address in use" and it exits; one daemon stays.
      await waitFor(() => daemonPids(port).length === 1, {
        timeout: 10_000,
        interval: 20,
        message: `expected one daemon, found ${daemonPids(port).length}`,
      });
      assert.equal(await answers(port), true);
    } finally {
      if (await answers(port)) await killDaemon(port);
    }
  },
});

Deno.test("ensureEpmd() throws EpmdUnavailableError when the daemon exits with an error", async () => {
  const port = freePort();
  const missing = decodeURIComponent(new URL("./no_such_main.ts", import.meta.url).pathname);
  const outcome = await ensureInChild(port, missing);
  assert.equal(outcome.error, "EpmdUnavailableError");
  assert.match(outcome.message ?? "", /daemon exited with code 1/);
});

Deno.test("ensureEpmd() throws TimeoutError when the daemon does not answer in time", async () => {
  const port = freePort();
  try {
    const outcome = await ensureInChild(port, DAEMON_MAIN_PATH, 1);
    assert.equal(outcome.error, "TimeoutError");
    assert.match(outcome.message ?? "", /nothing answered on 127\.0\.0\.1:\d+ within 1 ms/);
  } finally {
    // The daemon comes up after the deadline; do not leave it behind.
    await waitFor(() => answers(port), { timeout: 20_000, interval: 20 });
    await killDaemon(port);
  }
});
