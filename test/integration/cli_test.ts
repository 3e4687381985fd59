/**
 * The weft command as a user runs it: real `deno run main.ts` processes,
 * their exit status and what they print.
 */
import assert from "node:assert/strict";
import { freePort, runWeft, WeftProcess } from "../helpers/weft_process.ts";

Deno.test("weft --eval prints the last expression's value and exits 0", async () => {
  const r = await runWeft([
    "--eval",
    "const pid = spawn(async () => { const m = await receive(); send(m.from, m.n * 2) });\n" +
    "send(pid, { from: self(), n: 21 });\nawait receive()",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "42");
});

Deno.test("weft --eval prints pids the Erlang way and has Process in scope", async () => {
  const r = await runWeft([
    "--eval",
    "const p = spawn(() => receive()); [p, Process.info(p).status]",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[ #PID<nonode@nohost\.\d+\.0>, "(running|waiting)" \]$/m);
});

Deno.test("weft --eval prints a thrown error and exits 1", async () => {
  const r = await runWeft(["--eval", 'throw new RangeError("out of range")']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /RangeError: out of range/);
});

Deno.test("weft exits 2 with one line for a bad flag or node name", async () => {
  for (
    const [args, reason] of [
      [["--bogus"], /Unknown option '--bogus'/],
      [["--sname", "bad name", "--no-epmd"], /Invalid node name/],
      [["--name", "a@", "--no-epmd"], /Invalid node name/],
      [["--port", "99999"], /--port/],
    ] as const
  ) {
    const r = await runWeft([...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, reason);
  }
});

Deno.test("weft exits 2 when its port is already in use", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const r = await runWeft([
      "--name",
      "a@127.0.0.1",
      "--no-epmd",
      "--cookie",
      "c",
      "--port",
      String(port),
      "--eval",
      "1",
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /Cannot start node a@127\.0\.0\.1/);
  } finally {
    listener.close();
  }
});

Deno.test("weft --help and --version print and exit 0", async () => {
  const help = await runWeft(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--sname NAME/);
  const version = await runWeft(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^weft \d+\.\d+\.\d+/);
});

Deno.test("weft shell over a pipe evaluates lines, keeps bindings and goes on after errors", async () => {
  const r = await runWeft(["--name", "a@127.0.0.1", "--no-epmd", "--cookie", "c"], {
    stdin: [
      "const x = 20",
      "x + 1",
      "nope()",
      "[1,",
      " 2]",
      "Node.self()",
      "",
    ].join("\n"),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /weft\(a@127\.0\.0\.1\)1> /);
  assert.match(r.stdout, /\n?21\n/);
  assert.match(r.stdout, /ReferenceError: nope is not defined/);
  assert.match(r.stdout, /\[ 1, 2 \]/);
  assert.match(r.stdout, /"a@127\.0\.0\.1"/);
});

Deno.test("weft --no-repl serves until SIGTERM, then leaves: the peer sees nodedown", async () => {
  const port = freePort();
  const b = new WeftProcess([
    "--name",
    "b@127.0.0.1",
    "--no-epmd",
    "--cookie",
    "c",
    "--port",
    String(port),
    "--no-repl",
    "--log-level",
    "info",
  ]);
  const a = new WeftProcess(["--name", "a@127.0.0.1", "--no-epmd", "--cookie", "c"]);
  try {
    await a.write(
      `monitorNodes(); await Node.connect("b@127.0.0.1:${port}")\n`,
    );
    await a.waitForOutput(/true/);
    b.kill("SIGTERM");
    const status = await b.exited();
    assert.equal(status.code, 0, b.output);
    await a.write("await receive((m) => m.type === 'nodedown', { timeout: 5000 })\n");
    await a.waitForOutput(/type: "nodedown", node: "b@127\.0\.0\.1"/);
  } finally {
    await a.close();
    await b.close();
  }
});
