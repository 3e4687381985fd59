/**
 * The weft command as a user runs it: real `deno run main.ts` processes,
 * their exit status and what they print.
 */
import assert from "node:assert/strict";
import { runWeft, WeftProcess } from "../helpers/weft_process.ts";

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
      [["--sname", ""], /^weft: Invalid --sname: expected a node name, received ""\n?$/],
      [["--name", "nohost"], /^weft: Invalid --name: a long name is name@host, received "nohost"/],
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
    assert.equal(
      r.stderr.trim(),
      `weft: Cannot start node a@127.0.0.1: port ${port} on 0.0.0.0 is already in use`,
    );
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
  const b = new WeftProcess([
    "--name",
    "b@127.0.0.1",
    "--no-epmd",
    "--cookie",
    "c",
    "--no-repl",
    "--log-level",
    "info",
  ]);
  const a = new WeftProcess(["--name", "a@127.0.0.1", "--no-epmd", "--cookie", "c"]);
  try {
    // Both started: b listening, a at its prompt (generous deadlines: CI runs
    // many node processes at once).
    const port = await b.listenPort(60_000);
    await a.waitForOutput(/weft\(a@127\.0\.0\.1\)1> /, 60_000);
    await a.write(
      `monitorNodes(); await Node.connect("b@127.0.0.1:${port}")\n`,
    );
    await a.waitForOutput(/1> true$/m);
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

Deno.test("weft --no-repl told SIGTERM while it is still starting stops cleanly: exit 0, not the signal's 143", async () => {
  const b = WeftProcess.headless("b@127.0.0.1", "c", ["--connect", "nobody@127.0.0.1:1"]);
  try {
    // At once: the node is still dialling its --connect peer, not yet serving.
    await b.listenPort(60_000);
    b.kill("SIGTERM");
    assert.equal((await b.exited()).code, 0, b.output);
  } finally {
    await b.close();
  }
});

Deno.test("weft --script runs a TypeScript file with the shell's names, its args, and exits with its status", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/lib.ts`,
      "export const greet = (who: string): string => `hello ${who}`;\n",
    );
    await Deno.writeTextFile(
      `${dir}/job.ts`,
      [
        "#!/usr/bin/env weft --script",
        'import { greet } from "./lib.ts";',
        "const pid: unknown = spawn(async () => { const m = await receive(); send(m.from, m.n * 2) });",
        "send(pid, { from: self(), n: 21 });",
        "console.log(greet(args[0]), await receive(), Deno.args.length, Node.self());",
        'if (args[1] === "fail") throw new Error("asked to fail");',
        'if (args[1] === "quit") { q(7); await new Promise(() => {}) }',
      ].join("\n"),
    );
    const ok = await runWeft(["--script", `${dir}/job.ts`, "world"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), "hello world 42 1 nonode@nohost");
    const fail = await runWeft(["--script", `${dir}/job.ts`, "x", "fail"]);
    assert.equal(fail.code, 1);
    // One line: the script's file:line:column and the reason, no stack.
    assert.equal(fail.stderr.trim(), `** ${dir}/job.ts:6:31: Error: asked to fail`);
    const quit = await runWeft(["--script", `${dir}/job.ts`, "x", "quit"]);
    assert.equal(quit.code, 7, quit.stderr);
    const missing = await runWeft(["--script", `${dir}/nope.ts`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot read script/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weft: a syntax error names the file, line and column in --script and --eval", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.ts`, "const ok = 1;\nlet sum = ok +* 2;\n");
    const script = await runWeft(["--script", `${dir}/bad.ts`]);
    assert.equal(script.code, 1);
    assert.equal(script.stderr.trim(), `** ${dir}/bad.ts:2:15: SyntaxError: Unexpected token`);
    const evaluated = await runWeft(["--eval", "const x = ;"]);
    assert.equal(evaluated.code, 1);
    assert.equal(evaluated.stderr.trim(), "** --eval:1:11: SyntaxError: Unexpected token");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weft --eval: a crashed process's report shows the user's frames, not the shell's", async () => {
  const r = await runWeft([
    "--eval",
    'spawnMonitor(() => { null.x }); (await receive((m) => m.type === "DOWN")).reason.message',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /Error in process #PID<[^>]+> .*TypeError: Cannot read properties of null/,
  );
  assert.match(r.stderr, /^ {4}at --eval:1:\d+$/m);
  assert.doesNotMatch(r.stderr, /runtime\.ts|evaluator\.ts|ext:/);
});

Deno.test("weft --remsh --eval evaluates on the other node and brings back output and status", async () => {
  const b = new WeftProcess([
    "--name",
    "b@127.0.0.1",
    "--no-epmd",
    "--cookie",
    "c",
    "--no-repl",
    "--log-level",
    "info",
  ]);
  try {
    const port = await b.listenPort();
    const target = `b@127.0.0.1:${port}`;
    const common = ["--remsh", target, "--no-epmd", "--cookie", "c", "--eval"];
    const r = await runWeft([
      ...common,
      "console.log('on', Node.self()); Node.list('hidden').length",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "on b@127.0.0.1\n1\n");
    const quit = await runWeft([...common, "q(4)"]);
    assert.equal(quit.code, 4, quit.stderr);
    const bad = await runWeft(["--remsh", target, "--no-epmd", "--cookie", "wrong", "--eval", "1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Cannot open a remote shell/);
    assert.equal(b.status, undefined, "b is still running");
  } finally {
    await b.close();
  }
});

Deno.test("weft --sname a --no-repl started twice: the second exits 2 with one clear line", async () => {
  const { startEpmdServer } = await import("../../src/distribution/epmd/mod.ts");
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const args = ["--sname", "twice", "--cookie", "c", "--no-repl", "--epmd-port", String(epmd.port)];
  const first = new WeftProcess([...args, "--log-level", "info"]);
  try {
    await first.waitForOutput(/registered with the port mapper/);
    const second = await runWeft(args);
    assert.equal(second.code, 2, second.stderr);
    assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
    assert.match(
      second.stderr,
      /^weft: Cannot start node twice@\S+: the name "twice" is taken by another node/,
    );
  } finally {
    await first.close();
    await epmd.close();
  }
});

Deno.test("weft refuses to start with a world-readable cookie file: one line, status 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weft_cookie_" });
  try {
    const path = `${dir}/.weft.cookie`;
    await Deno.writeTextFile(path, "secret");
    await Deno.chmod(path, 0o644);
    const args = ["--name", "c@127.0.0.1", "--no-epmd", "--eval", "1"];
    const refused = await runWeft([...args, "--cookie-file", path]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(
      refused.stderr,
      `weft: Cannot use cookie file: ${path} is accessible by others than its owner (mode 0644): ` +
        `run chmod 600 ${path}\n`,
    );
    // The default file under $HOME gets the same check.
    const home = await runWeft(args, { env: { HOME: dir } });
    assert.equal(home.code, 2, home.stderr);
    assert.match(home.stderr, /run chmod 600 .*\.weft\.cookie\n$/);
    await Deno.chmod(path, 0o600);
    const ok = await runWeft([...args, "--cookie-file", path]);
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
