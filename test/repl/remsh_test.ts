import assert from "node:assert/strict";
import { NoConnectionError, TimeoutError } from "../../src/errors.ts";
import { startNode, type WeftNode } from "../../src/node.ts";
import { ShellOutput } from "../../repl/output.ts";
import { RemoteShell } from "../../repl/remsh_client.ts";
import { startRemshServer } from "../../repl/remsh_server.ts";
import { REMSH_SERVER_NAME } from "../../repl/remsh_types.ts";
import { waitFor } from "../helpers/wait.ts";

const OPTS = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" } as const;

async function pair(): Promise<{ server: WeftNode; client: WeftNode; address: string }> {
  const server = await startNode({ name: "srv@127.0.0.1", ...OPTS });
  startRemshServer(server);
  const client = await startNode({ name: "cli@127.0.0.1", hidden: true, ...OPTS });
  return { server, client, address: `srv@127.0.0.1:${server.port}` };
}

Deno.test("RemoteShell evaluates on the server node, with bindings kept in its session", async () => {
  const { server, client, address } = await pair();
  const lines: string[] = [];
  try {
    const remote = await RemoteShell.open(client, address, {
      output: new ShellOutput((t) => lines.push(t)),
    });
    assert.equal(remote.node, "srv@127.0.0.1");
    assert.deepEqual(await remote.evaluate("const n: number = 20"), { kind: "value", text: "20" });
    assert.deepEqual(await remote.evaluate("[Node.self(), n + 1]"), {
      kind: "value",
      text: '[ "srv@127.0.0.1", 21 ]',
    });
    assert.equal((await remote.evaluate("self().node")).kind, "value");
    const err = await remote.evaluate("throw new RangeError('far away')");
    assert.deepEqual(err, { kind: "error", text: "** input:1:7: RangeError: far away" });
    assert.equal(remote.check("[1,"), "incomplete");
    assert.deepEqual((await remote.complete("Node.pi")).candidates, ["ping"]);
    remote.close();
  } finally {
    await client.stop();
    await server.stop();
  }
});

Deno.test("RemoteShell brings back what the remote code prints: console.log, h(), flush(), events", async () => {
  const { server, client, address } = await pair();
  const lines: string[] = [];
  try {
    const remote = await RemoteShell.open(client, address, {
      output: new ShellOutput((t) => lines.push(t)),
    });
    await remote.evaluate("console.log('hello from', Node.self())");
    await remote.evaluate("h(Node.ping)");
    await remote.evaluate("send(self(), 'm'); flush()");
    await remote.evaluate("monitor(spawn(() => {}))");
    await waitFor(() => lines.some((l) => l.startsWith("[mailbox]")), { timeout: 2000 });
    assert.equal(lines[0], "hello from srv@127.0.0.1\n");
    assert.match(lines[1]!, /^Node\.ping\(node\)/);
    assert.equal(lines[2], 'Shell got "m"\n');
    assert.match(lines.find((l) => l.startsWith("[mailbox]"))!, /type: "DOWN"/);
    remote.close();
  } finally {
    await client.stop();
    await server.stop();
  }
});

Deno.test("RemoteShell.evaluateValue() gives back the value itself", async () => {
  const { server, client, address } = await pair();
  try {
    const remote = await RemoteShell.open(client, address, { output: new ShellOutput(() => {}) });
    const r = await remote.evaluateValue("({ list: Node.list('hidden'), n: 1 })");
    assert.ok(r.ok);
    assert.deepEqual(r.value, { list: ["cli@127.0.0.1"], n: 1 });
    const f = await remote.evaluateValue("() => 1");
    assert.ok(f.ok);
    assert.equal(f.value, undefined, "a function cannot cross the wire; its text does");
    assert.match(f.text, /Function/);
    remote.close();
  } finally {
    await client.stop();
    await server.stop();
  }
});

Deno.test("RemoteShell: q(code) ends the session, not the server node", async () => {
  const { server, client, address } = await pair();
  try {
    const remote = await RemoteShell.open(client, address, { output: new ShellOutput(() => {}) });
    await remote.evaluate("q(3)");
    assert.equal(await remote.ended, 3);
    assert.ok(server.runtime.whereis(REMSH_SERVER_NAME) !== undefined);
    await waitFor(() =>
      !server.runtime.list().some((p) => server.runtime.info(p)?.label === "remsh_session")
    );
  } finally {
    await client.stop();
    await server.stop();
  }
});

Deno.test("RemoteShell: interrupt() stops a stuck remote evaluation", async () => {
  const { server, client, address } = await pair();
  try {
    const remote = await RemoteShell.open(client, address, { output: new ShellOutput(() => {}) });
    const stuck = remote.evaluate("await receive()");
    await waitFor(() =>
      server.runtime.list().some((p) => server.runtime.info(p)?.label === "remsh_shell")
    );
    remote.interrupt();
    const r = await stuck;
    assert.equal(r.kind, "error");
    assert.match((r as { text: string }).text, /Interrupted/);
    assert.deepEqual(await remote.evaluate("1"), { kind: "value", text: "1" });
    remote.close();
  } finally {
    await client.stop();
    await server.stop();
  }
});

Deno.test("RemoteShell ends (status 1) when the server node goes away; the session ends when the client does", async () => {
  const { server, client, address } = await pair();
  const lines: string[] = [];
  try {
    const remote = await RemoteShell.open(client, address, {
      output: new ShellOutput((t) => lines.push(t)),
    });
    await server.stop();
    assert.equal(await remote.ended, 1);
    assert.match(
      lines.join(""),
      /lost the connection to srv@127\.0\.0\.1|remote shell on srv@127\.0\.0\.1 ended/,
    );
  } finally {
    await client.stop();
    await server.stop();
  }
});

Deno.test("RemoteShell.open() fails clearly for an unreachable node and for a node with no shell server", async () => {
  const server = await startNode({ name: "bare@127.0.0.1", ...OPTS });
  const client = await startNode({ name: "cli@127.0.0.1", hidden: true, ...OPTS });
  try {
    await assert.rejects(
      RemoteShell.open(client, "nobody@127.0.0.1:1", { output: new ShellOutput() }),
      NoConnectionError,
    );
    await assert.rejects(
      RemoteShell.open(client, `bare@127.0.0.1:${server.port}`, {
        output: new ShellOutput(),
        timeout: 200,
      }),
      (e) => e instanceof TimeoutError && /no answer from weft_remsh/.test(e.message),
    );
    await assert.rejects(
      RemoteShell.open(client, "not a name", { output: new ShellOutput() }),
      TypeError,
    );
  } finally {
    await client.stop();
    await server.stop();
  }
});
