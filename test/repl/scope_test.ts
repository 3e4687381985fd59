import assert from "node:assert/strict";
import { NotAliveError } from "../../src/errors.ts";
import { startNode } from "../../src/node.ts";
import { runInProcess } from "../../src/process/current.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { waitFor } from "../helpers/wait.ts";
import { createShellScope, type ScopeProvider, SHELL_PROVIDERS, SILENT } from "../../repl/scope.ts";

type Fn = (...args: unknown[]) => unknown;
const fn = (scope: Record<string, unknown>, path: string) =>
  path.split(".").reduce((o: unknown, k) => (o as Record<string, unknown>)[k], scope) as Fn;

Deno.test("createShellScope() has the process functions, Process, Node, monitorNodes and the helpers", async () => {
  const runtime = new Runtime();
  try {
    const scope = createShellScope({ runtime });
    for (
      const name of [
        "self",
        "send",
        "receive",
        "flush",
        "spawn",
        "spawnLink",
        "spawnMonitor",
        "link",
        "unlink",
        "monitor",
        "demonitor",
        "exit",
        "trapExit",
        "register",
        "unregister",
        "whereis",
        "sendAfter",
        "cancelTimer",
        "makeRef",
        "Process",
        "Node",
        "monitorNodes",
        "h",
        "i",
        "q",
      ]
    ) assert.ok(name in scope, name);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("h() introduces the shell and lists functions, namespaces and helpers; h(Node.connect) and h('Node') describe one", async () => {
  const runtime = new Runtime();
  const lines: string[] = [];
  try {
    const scope = createShellScope({ runtime, print: (t) => lines.push(t) });
    assert.equal(fn(scope, "h")(), SILENT);
    for (const name of ["spawn,", "monitorNodes", "  Node ", "  Process ", "q(code = 0)"]) {
      assert.ok(lines[0]!.includes(name), name);
    }
    assert.ok(lines[0]!.split("\n").length < 40, "h() is short: namespaces, not every member");
    fn(scope, "h")(fn(scope, "Node.connect"));
    assert.match(lines[1]!, /^Node\.connect\(node\)\n\n {2}connect to node/);
    assert.match(lines[1]!, /Example:\n {4}await Node\.connect/);
    fn(scope, "h")(scope.Node);
    assert.match(lines[2]!, /Node\.ping\(node\)/);
    fn(scope, "h")("monitorNodes");
    assert.match(lines[3]!, /nodeup\/nodedown/);
    assert.throws(() => fn(scope, "h")(() => 1), /no shell doc/);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("i() lists processes and i(pid) lays out one; a pid of another node is refused", async () => {
  const runtime = new Runtime({ node: "a@127.0.0.1" });
  const lines: string[] = [];
  try {
    const scope = createShellScope({ runtime, print: (t) => lines.push(t) });
    const shell = runtime.open({ label: "shell" });
    runInProcess(shell, () => {
      const pid = fn(scope, "spawn")(async () => await fn(scope, "receive")(), { name: "worker" });
      fn(scope, "i")();
      fn(scope, "i")(pid);
      assert.throws(() => fn(scope, "i")("nope"), TypeError);
    });
    assert.match(lines[0]!, /^Pid\s+Initial call\s+Status\s+Queue\s+Name/);
    assert.match(lines[0]!, /worker/);
    assert.match(lines[0]!, /2 processes/);
    assert.match(lines[1]!, /registered name\s+worker/);
    assert.match(lines[1]!, /message queue\s+0/);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("flush() prints and empties the mailbox of the running process", async () => {
  const runtime = new Runtime();
  const lines: string[] = [];
  try {
    const scope = createShellScope({ runtime, print: (t) => lines.push(t) });
    const shell = runtime.open();
    runInProcess(shell, () => {
      fn(scope, "send")(fn(scope, "self")(), { n: 1 });
      fn(scope, "send")(fn(scope, "self")(), "two");
      assert.equal(fn(scope, "flush")(), SILENT);
    });
    assert.deepEqual(lines, ["Shell got { n: 1 }", 'Shell got "two"']);
    assert.equal(shell.flush().length, 0);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("q(code) asks to quit; a bad code is refused", async () => {
  const runtime = new Runtime();
  const codes: number[] = [];
  try {
    const scope = createShellScope({ runtime, quit: (c) => codes.push(c) });
    fn(scope, "q")();
    fn(scope, "q")(3);
    assert.deepEqual(codes, [0, 3]);
    assert.throws(() => fn(scope, "q")(300), RangeError);
    assert.throws(
      () => createShellScope({ runtime }).q && fn(createShellScope({ runtime }), "q")(),
      /Cannot quit/,
    );
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("Node namespace without distribution: not alive, empty lists, monitors refused", async () => {
  const runtime = new Runtime();
  try {
    const scope = createShellScope({ runtime });
    await runInProcess(runtime.open(), async () => {
      assert.equal(fn(scope, "Node.alive")(), false);
      assert.deepEqual(fn(scope, "Node.list")(), []);
      assert.deepEqual(fn(scope, "Node.list")("known"), ["nonode@nohost"]);
      assert.equal(await fn(scope, "Node.connect")("b@h"), false);
      assert.equal(await fn(scope, "Node.ping")("b@h"), "pang");
      assert.throws(() => fn(scope, "monitorNodes")(), NotAliveError);
      assert.throws(() => fn(scope, "Node.monitor")("b@h"), NotAliveError);
    });
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("Node namespace on a node: connects, lists and monitors for the calling process", async () => {
  const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" } as const;
  const a = await startNode({ name: "a@127.0.0.1", ...opts });
  const b = await startNode({ name: "b@127.0.0.1", ...opts });
  try {
    const scope = createShellScope({ runtime: a.runtime, node: a });
    const shell = a.runtime.open();
    await runInProcess(shell, async () => {
      assert.equal(fn(scope, "monitorNodes")(), true);
      assert.equal(await fn(scope, "Node.connect")(`b@127.0.0.1:${b.port}`), true);
      assert.deepEqual(fn(scope, "Node.list")(), ["b@127.0.0.1"]);
      assert.equal(fn(scope, "Node.self")(), "a@127.0.0.1");
      const up = await shell.receive((m) => (m as { type: string }).type === "nodeup", {
        timeout: 5000,
      });
      assert.deepEqual(up, { type: "nodeup", node: "b@127.0.0.1" });
    });
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("createShellScope() takes extra providers and refuses a name given twice", async () => {
  const runtime = new Runtime();
  const lines: string[] = [];
  try {
    const extra: ScopeProvider = {
      title: "Extra",
      docs: { extra: { signature: "extra()", summary: "an extra helper" } },
      names: () => ({ extra: () => 42 }),
    };
    const scope = createShellScope({
      runtime,
      providers: [...SHELL_PROVIDERS, extra],
      print: (t) => lines.push(t),
    });
    assert.equal(fn(scope, "extra")(), 42);
    fn(scope, "h")();
    assert.match(lines[0]!, /Functions .*\n(.*\n)*.*\bextra\b/);
    assert.throws(
      () => createShellScope({ runtime, providers: [extra, extra] }),
      /given by two providers/,
    );
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("i(pid) of a process on another node asks that node, as Erlang's i/1", async () => {
  const opts = { cookie: "c", noEpmd: true, hostname: "127.0.0.1" };
  const a = await startNode({ name: "ia@127.0.0.1", ...opts });
  const b = await startNode({ name: "ib@127.0.0.1", ...opts });
  const lines: string[] = [];
  const shell = a.runtime.open({ label: "shell" });
  try {
    assert.ok(await a.connect(`ib@127.0.0.1:${b.port}`));
    const worker = b.runtime.spawn((ctx) => ctx.receive(), { name: "far", label: "far worker" });
    const scope = createShellScope({ runtime: a.runtime, node: a, print: (t) => lines.push(t) });
    const shown = await runInProcess(shell, () => fn(scope, "i")(worker));
    assert.equal(shown, SILENT);
    assert.match(lines[0]!, /^#PID<ib@127\.0\.0\.1\.\d+\.0>\n/);
    assert.match(lines[0]!, /registered name +far\n/);
    assert.match(lines[0]!, /initial call +far worker\n/);
    b.runtime.exit(worker, "kill");
    await waitFor(() => !b.runtime.isAlive(worker));
    await runInProcess(shell, () => fn(scope, "i")(worker));
    assert.match(lines[1]!, /is not alive$/);
  } finally {
    shell.exit();
    await a.stop();
    await b.stop();
  }
});

Deno.test("Node.setCookie() changes the cookie the next connection proves", async () => {
  const opts = { noEpmd: true, hostname: "127.0.0.1" };
  const a = await startNode({ name: "ca@127.0.0.1", cookie: "one", ...opts });
  const b = await startNode({ name: "cb@127.0.0.1", cookie: "two", ...opts });
  const shell = a.runtime.open({ label: "shell" });
  try {
    const scope = createShellScope({ runtime: a.runtime, node: a });
    const Node = scope.Node as {
      setCookie(c: string): boolean;
      connect(n: string): Promise<boolean>;
    };
    assert.equal(await Node.connect(`cb@127.0.0.1:${b.port}`), false);
    assert.equal(Node.setCookie("two"), true);
    assert.equal(await Node.connect(`cb@127.0.0.1:${b.port}`), true);
    assert.throws(() => Node.setCookie(""), TypeError);
  } finally {
    shell.exit();
    await a.stop();
    await b.stop();
  }
});
