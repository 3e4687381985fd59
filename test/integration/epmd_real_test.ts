/**
 * Real `weft` nodes (`deno run main.ts --sname ... --epmd-port P`) and
 * port mappers as real peers: Erlang's own `epmd`, and the daemon a Weft
 * node starts when none answers, listed by Erlang's `epmd -names`.
 * CI installs erlang-base; without `/usr/bin/epmd` these tests are ignored.
 */
import assert from "node:assert/strict";
import { listNames } from "../../src/distribution/epmd/client.ts";
import { waitFor } from "../helpers/wait.ts";
import { freePort } from "../helpers/ports.ts";
import { runWeft, WeftProcess } from "../helpers/weft_process.ts";

const EPMD = "/usr/bin/epmd";
const noEpmd = !exists(EPMD);
const COOKIE = "weft-epmd-real";

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Runs `epmd ARGS` to completion with a deadline. */
async function epmd(args: string[]): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command(EPMD, {
    args,
    stdin: "null",
    stderr: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** `epmd -port P -names`: the names and ports listed. */
async function epmdNames(port: number): Promise<Map<string, number>> {
  const r = await epmd(["-port", String(port), "-names"]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, new RegExp(`^epmd: up and running on port ${port} with data:\n`));
  return new Map(
    [...r.stdout.matchAll(/^name (\S+) at port (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]),
  );
}

/**
 * This machine's short host name when it reaches a loopback listener (as
 * `--sname x` assumes), else `localhost`, so that the tests also run where
 * the host name does not resolve to loopback.
 */
async function shortHost(): Promise<string> {
  const host = Deno.hostname().split(".")[0] || "localhost";
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const conn = await Deno.connect({ hostname: host, port: (listener.addr as Deno.NetAddr).port });
    conn.close();
    return host;
  } catch {
    return "localhost";
  } finally {
    listener.close();
  }
}

/** The `--sname` argument for `name` on `host`: bare when `host` is this machine's. */
function sname(name: string, host: string): string {
  return host === Deno.hostname().split(".")[0] ? name : `${name}@${host}`;
}

/** A node with `--no-repl` that logs at info level; returns it with its listening port. */
async function startNode(args: string[]): Promise<{ proc: WeftProcess; port: number }> {
  const proc = new WeftProcess([...args, "--cookie", COOKIE, "--no-repl", "--log-level", "info"]);
  try {
    return { proc, port: await proc.listenPort(20_000) };
  } catch (e) {
    await proc.close();
    throw e;
  }
}

Deno.test({
  name:
    "weft --sname registers with Erlang's epmd, `epmd -names` lists it, and a second node finds it by name",
  ignore: noEpmd,
  async fn() {
    const port = freePort();
    const real = new Deno.Command(EPMD, {
      args: ["-port", String(port), "-address", "127.0.0.1"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let x: WeftProcess | undefined;
    try {
      await waitFor(() => listNames({ epmdPort: port }).then(() => true, () => false), {
        timeout: 10_000,
        interval: 20,
        message: "Erlang's epmd did not start",
      });
      const host = await shortHost();
      const started = await startNode(["--sname", sname("x", host), "--epmd-port", String(port)]);
      x = started.proc;
      await x.waitForOutput(/registered with the port mapper/);
      assert.equal((await epmdNames(port)).get("x"), started.port);

      // Found by name only: the port comes from Erlang's epmd.
      const y = await runWeft([
        "--sname",
        sname("y", host),
        "--epmd-port",
        String(port),
        "--cookie",
        COOKIE,
        "--eval",
        `[await Node.connect("x@${host}"), await Node.ping("x@${host}"), Node.list()]`,
      ]);
      assert.equal(y.code, 0, y.stderr);
      assert.equal(y.stdout.trim(), `[ true, "pong", [ "x@${host}" ] ]`);

      // A second node of a registered name: exit 2, one line, and x stays.
      const clash = await runWeft([
        "--sname",
        sname("x", host),
        "--epmd-port",
        String(port),
        "--cookie",
        COOKIE,
        "--eval",
        "1",
      ]);
      assert.equal(clash.code, 2, clash.stderr);
      assert.equal(clash.stderr.trim().split("\n").length, 1, clash.stderr);
      assert.match(clash.stderr, new RegExp(`^weft: Cannot start node x@${host}: .+`));

      // A port already in use: exit 2, one line, and nothing registered.
      const taken = await runWeft([
        "--sname",
        sname("z", host),
        "--epmd-port",
        String(port),
        "--port",
        String(started.port),
        "--cookie",
        COOKIE,
        "--eval",
        "1",
      ]);
      assert.equal(taken.code, 2, taken.stderr);
      assert.equal(taken.stderr.trim().split("\n").length, 1, taken.stderr);
      assert.match(taken.stderr, new RegExp(`^weft: Cannot start node z@${host}: .*in use`));
      assert.deepEqual([...(await epmdNames(port)).keys()], ["x"]);

      // Leaving cleanly: the port mapper forgets the name.
      x.kill("SIGTERM");
      assert.equal((await x.exited()).code, 0, x.output);
      await waitFor(async () => (await epmdNames(port)).size === 0, {
        timeout: 10_000,
        interval: 50,
        message: "Erlang's epmd kept x after it stopped",
      });
    } finally {
      await x?.close();
      real.kill("SIGTERM");
      await real.status;
    }
  },
});

Deno.test({
  name:
    "a weft node starts Weft's port mapper daemon when none answers, and `epmd -names` lists its nodes",
  ignore: noEpmd,
  async fn() {
    const port = freePort();
    const host = await shortHost();
    let a: WeftProcess | undefined;
    let b: WeftProcess | undefined;
    try {
      const startedA = await startNode(["--sname", sname("a", host), "--epmd-port", String(port)]);
      a = startedA.proc;
      await a.waitForOutput(new RegExp(`No port mapper on 127\\.0\\.0\\.1:${port}; starting one`));
      await a.waitForOutput(/registered with the port mapper/);
      const startedB = await startNode([
        "--sname",
        sname("b", host),
        "--epmd-port",
        String(port),
        "--connect",
        `a@${host}`,
      ]);
      b = startedB.proc;
      await b.waitForOutput(/registered with the port mapper/);
      assert.doesNotMatch(b.output, /No port mapper/, "the second node found the daemon");
      // --connect found a by name through the daemon.
      await b.waitForOutput(new RegExp(`Node a@${host} is up`));

      const names = await epmdNames(port);
      assert.deepEqual(
        [...names].sort(),
        [["a", startedA.port], ["b", startedB.port]],
      );

      // Both leave; the daemon forgets them and obeys Erlang's `epmd -kill`.
      a.kill("SIGTERM");
      b.kill("SIGTERM");
      assert.equal((await a.exited()).code, 0, a.output);
      assert.equal((await b.exited()).code, 0, b.output);
      await waitFor(async () => (await epmdNames(port)).size === 0, {
        timeout: 10_000,
        interval: 50,
        message: "Weft's port mapper kept names after the nodes stopped",
      });
      const killed = await epmd(["-port", String(port), "-kill"]);
      assert.deepEqual(killed, { code: 0, stdout: "Killed\n" });
      await waitFor(() => listNames({ epmdPort: port }).then(() => false, () => true), {
        timeout: 10_000,
        interval: 20,
        message: "Weft's port mapper daemon still answers after `epmd -kill`",
      });
    } finally {
      await a?.close();
      await b?.close();
      // Stop the daemon even when the test failed half-way (refused while names remain).
      await epmd(["-port", String(port), "-kill"]).catch(() => {});
    }
  },
});
