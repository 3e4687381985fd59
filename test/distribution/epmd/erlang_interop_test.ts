/**
 * The port mapper against the real thing: Erlang's `epmd` serving Weft's
 * client, Erlang's `epmd` command line and `erl` using Weft's server.
 * CI installs erlang-base; without `/usr/bin/epmd` these tests are ignored.
 */

import assert from "node:assert/strict";
import {
  killEpmd,
  listNames,
  lookupNode,
  registerNode,
} from "../../../src/distribution/epmd/client.ts";
import { EpmdRegistrationError } from "../../../src/distribution/epmd/errors.ts";
import { startEpmdServer } from "../../../src/distribution/epmd/server.ts";
import { isWeftEntry } from "../../../src/distribution/epmd/types.ts";
import { FORGING_NAMES, rawAlive2 } from "../../helpers/epmd_raw.ts";
import { waitFor } from "../../helpers/wait.ts";
import { freePort } from "../../helpers/ports.ts";

const EPMD = "/usr/bin/epmd";
const ERL = "/usr/bin/erl";
const noEpmd = !exists(EPMD);
const noErl = noEpmd || !exists(ERL);
/** Erlang's own cookie, so `erl` neither reads nor creates ~/.erlang.cookie. */
const COOKIE = "weft_epmd_interop";

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Runs Erlang's `epmd` in the foreground on a free loopback port until `stop()`. */
async function startRealEpmd() {
  const port = freePort();
  const child = new Deno.Command(EPMD, {
    args: ["-port", String(port), "-address", "127.0.0.1"],
    env: { ERL_EPMD_PORT: String(port) },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitFor(() => listNames({ epmdPort: port }).then(() => true, () => false), {
    timeout: 10_000,
    interval: 20,
    message: "Erlang's epmd did not start",
  });
  return {
    port,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Exited already (after KILL_REQ).
      }
      await child.status;
    },
  };
}

/** Runs a command with a deadline; returns exit code and stdout. */
async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    const out = await new Deno.Command(command, {
      args,
      env,
      stdin: "null",
      signal: abort.signal,
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name: "listNames() returns no forged entry from Erlang's epmd, which registers any name",
  ignore: noEpmd,
  async fn() {
    const epmd = await startRealEpmd();
    const held: Deno.Conn[] = [];
    try {
      const good = await registerNode({ epmdPort: epmd.port, name: "good", port: 5000 });
      for (const [i, name] of FORGING_NAMES.entries()) {
        // A local program registers the name itself; epmd takes it (result 0).
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: epmd.port });
        held.push(conn);
        await conn.write(rawAlive2(name, 2222 + i));
        const reply = new Uint8Array(6);
        let got = 0;
        while (got < 6) {
          const n = await conn.read(reply.subarray(got));
          if (n === null) break;
          got += n;
        }
        assert.deepEqual([reply[0], reply[1]], [118, 0], `epmd registered ${JSON.stringify(name)}`);
      }
      const shown = await run(EPMD, ["-port", String(epmd.port), "-names"]);
      assert.match(shown.stdout, /name admin at port 2222/, "epmd -names shows the forged line");
      assert.deepEqual(await listNames({ epmdPort: epmd.port }), [{ name: "good", port: 5000 }]);
      // Weft never sends such a name itself.
      await assert.rejects(
        registerNode({ epmdPort: epmd.port, name: "x\nname admin at port 2222", port: 1 }),
        TypeError,
      );
      await good.close();
    } finally {
      for (const conn of held) conn.close();
      await epmd.stop();
    }
  },
});

Deno.test({
  name: "registerNode() registers with Erlang's epmd, and `epmd -names` lists the node",
  ignore: noEpmd,
  async fn() {
    const epmd = await startRealEpmd();
    try {
      const reg = await registerNode({ epmdPort: epmd.port, name: "weftnode", port: 5555 });
      assert.ok(reg.creation > 0);
      const names = await run(EPMD, ["-port", String(epmd.port), "-names"]);
      assert.equal(names.code, 0, names.stderr);
      assert.equal(
        names.stdout,
        `epmd: up and running on port ${epmd.port} with data:\nname weftnode at port 5555\n`,
      );

      const entry = await lookupNode({ epmdPort: epmd.port, name: "weftnode" });
      assert.equal(entry?.port, 5555);
      assert.ok(entry !== undefined && isWeftEntry(entry));
      assert.deepEqual(await listNames({ epmdPort: epmd.port }), [{
        name: "weftnode",
        port: 5555,
      }]);
      await assert.rejects(
        registerNode({ epmdPort: epmd.port, name: "weftnode", port: 5556 }),
        EpmdRegistrationError,
      );

      await reg.close();
      await waitFor(async () => (await listNames({ epmdPort: epmd.port })).length === 0, {
        message: "epmd kept the name after the registration closed",
      });
      const again = await registerNode({ epmdPort: epmd.port, name: "weftnode", port: 5555 });
      assert.notEqual(again.creation, reg.creation);
      await again.close();
      await waitFor(async () => (await listNames({ epmdPort: epmd.port })).length === 0);
      assert.equal(await killEpmd({ epmdPort: epmd.port }), true);
    } finally {
      await epmd.stop();
    }
  },
});

Deno.test({
  name: "`epmd -names`, `-dump`, `-stop` and `-kill` work against startEpmdServer()",
  ignore: noEpmd,
  async fn() {
    const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
    const port = String(server.port);
    const reg = await registerNode({ epmdPort: server.port, name: "weftnode", port: 5555 });
    try {
      const names = await run(EPMD, ["-port", port, "-names"]);
      assert.equal(names.code, 0, names.stderr);
      assert.equal(
        names.stdout,
        `epmd: up and running on port ${port} with data:\nname weftnode at port 5555\n`,
      );

      const dump = await run(EPMD, ["-port", port, "-dump"]);
      assert.equal(dump.code, 0, dump.stderr);
      assert.match(dump.stdout, /active name {5}<weftnode> at port 5555, fd = \d+/);

      // Without -relaxed_command_check, epmd refuses both; so does Weft's server.
      const kill = await run(EPMD, ["-port", port, "-kill"]);
      assert.notEqual(kill.code, 0);
      assert.match(kill.stdout, /not allowed/);
      await run(EPMD, ["-port", port, "-stop", "weftnode"]);
      assert.equal(server.names().length, 1);

      await reg.close();
      await waitFor(() => server.names().length === 0);
      const killed = await run(EPMD, ["-port", port, "-kill"]);
      assert.equal(killed.code, 0, killed.stderr);
      assert.equal(killed.stdout, "Killed\n");
      await server.closed;
    } finally {
      await reg.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "an Erlang node registers with startEpmdServer() and finds a Weft node through it",
  ignore: noErl,
  async fn() {
    const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
    const reg = await registerNode({ epmdPort: server.port, name: "weftnode", port: 5555 });
    try {
      const erl = await run(ERL, [
        "-sname",
        "erlnode",
        "-setcookie",
        COOKIE,
        "-noshell",
        "-eval",
        'io:format("~p~n~p~n", [net_adm:names(), erl_epmd:port_please("weftnode", "127.0.0.1")]), halt().',
      ], { ERL_EPMD_PORT: String(server.port) });
      assert.equal(erl.code, 0, erl.stderr);
      const [names, port] = erl.stdout.trim().split("\n");
      // net_adm:names() saw both nodes, so the Erlang node had registered.
      assert.match(names!, /^\{ok,\[.*\{"weftnode",5555\}.*\]\}$/);
      assert.match(names!, /\{"erlnode",\d+\}/);
      assert.equal(port, "{port,5555,6}");
      await waitFor(() => server.names().length === 1, {
        message: "the Erlang node's name outlived it",
      });
    } finally {
      await reg.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "lookupNode() finds an Erlang node in Erlang's epmd and tells it from a Weft node",
  ignore: noErl,
  async fn() {
    const epmd = await startRealEpmd();
    const erl = new Deno.Command(ERL, {
      args: ["-sname", "erlnode", "-setcookie", COOKIE, "-noshell"],
      env: { ERL_EPMD_PORT: String(epmd.port) },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitFor(
        async () => (await listNames({ epmdPort: epmd.port })).some((n) => n.name === "erlnode"),
        { timeout: 20_000, interval: 20, message: "erl did not register" },
      );
      const entry = await lookupNode({ epmdPort: epmd.port, name: "erlnode" });
      assert.ok(entry !== undefined);
      assert.equal(entry.nodeType, 77);
      assert.ok(entry.highestVersion >= 6, `highest version ${entry.highestVersion}`);
      assert.ok(entry.port > 0);
      assert.equal(isWeftEntry(entry), false);
    } finally {
      erl.kill("SIGKILL");
      await erl.status;
      await epmd.stop();
    }
  },
});
