/**
 * The shell as a person uses it: a real `weft` on a real pseudo-terminal
 * (tmux), keys typed, the screen read back. Each test has its own HOME,
 * so history files never mix, and its own tmux server.
 */
import assert from "node:assert/strict";
import { haveTmux, TmuxSession } from "../helpers/tmux.ts";
import { WeftProcess } from "../helpers/weft_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;
const ignore = !(await haveTmux());
const A = "weft\\(a@127\\.0\\.0\\.1\\)";

/** The arguments of node a's shell. */
const A_ARGS = ["--name", "a@127.0.0.1", "--no-epmd", "--cookie", "c"];

/** `weft ...args` on a terminal, HOME in `home`. */
function startShell(home: string, args: string[] = A_ARGS): Promise<TmuxSession> {
  return TmuxSession.start(
    [Deno.execPath(), "run", "-A", MAIN, ...args],
    { env: { HOME: home, NO_COLOR: "1" }, cwd: ROOT },
  );
}

/** Types `input` and Enter, then waits for `expect` on the screen; resolves with the screen. */
type Step = (input: string, expect: RegExp) => Promise<string>;

/**
 * Runs `body` with `weft ...args` on a terminal in a HOME of its own, and a {@linkcode Step} on
 * it; the terminal is closed and the HOME removed afterwards, whatever `body` does.
 */
async function withShell(
  args: string[],
  body: (t: TmuxSession, step: Step) => Promise<void>,
): Promise<void> {
  const home = await Deno.makeTempDir();
  try {
    const t = await startShell(home, args);
    try {
      await body(t, async (input, expect) => {
        await t.type(input);
        await t.keys("Enter");
        return await t.waitForScreen(expect);
      });
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Runs `body` with node b, serving without a shell on a port of its choice; b is closed afterwards. */
async function withNodeB(body: (b: WeftProcess, port: number) => Promise<void>): Promise<void> {
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
    await body(b, await b.listenPort());
  } finally {
    await b.close();
  }
}

/** The last non-empty screen line. */
function lastLine(screen: string): string {
  return screen.split("\n").filter((l) => l !== "").at(-1) ?? "";
}

Deno.test({
  name: "weft shell on a terminal: Tab completes Node.con to Node.connect and lists spawn*",
  ignore,
  fn: async () => {
    await withShell(A_ARGS, async (t) => {
      await t.waitForScreen(new RegExp(`${A}1>$`, "m"));
      await t.type("Node.con");
      await t.keys("Tab");
      await t.waitForScreen(new RegExp(`${A}1> Node\\.connect$`, "m"));
      await t.keys("C-u");
      await t.type("spawn");
      await t.keys("Tab");
      const screen = await t.waitForScreen(/spawn\s+spawnLink\s+spawnMonitor/);
      assert.match(lastLine(screen), new RegExp(`${A}1> spawn$`));
      await t.keys("C-u", "C-d");
      assert.equal(await t.waitForExit(), 0);
    });
  },
});

Deno.test({
  name: "weft shell on a terminal: history is kept across two runs in ~/.weft_history",
  ignore,
  fn: async () => {
    const home = await Deno.makeTempDir();
    try {
      const first = await startShell(home);
      try {
        await first.waitForScreen(new RegExp(`${A}1>$`, "m"));
        await first.type("const remembered = 41 + 1");
        await first.keys("Enter");
        await first.waitForScreen(/^42$/m);
        await first.type("q()");
        await first.keys("Enter");
        assert.equal(await first.waitForExit(), 0);
      } finally {
        await first.close();
      }
      const saved = await Deno.readTextFile(`${home}/.weft_history`);
      assert.match(saved, /^const remembered = 41 \+ 1\nq\(\)\n$/);
      const second = await startShell(home);
      try {
        await second.waitForScreen(new RegExp(`${A}1>$`, "m"));
        await second.keys("Up", "Up");
        await second.waitForScreen(new RegExp(`${A}1> const remembered = 41 \\+ 1$`, "m"));
        await second.keys("Enter");
        await second.waitForScreen(/^42$/m);
        await second.keys("C-d");
        assert.equal(await second.waitForExit(), 0);
      } finally {
        await second.close();
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "weft shell on a terminal: multi-line input continues on ...(N)> lines",
  ignore,
  fn: async () => {
    await withShell(A_ARGS, async (t) => {
      await t.waitForScreen(new RegExp(`${A}1>$`, "m"));
      await t.type("function add(a: number,");
      await t.keys("Enter");
      await t.waitForScreen(/^\.\.\.\(1\)>$/m);
      await t.type("b: number): number {");
      await t.keys("Enter");
      await t.type("return a + b }");
      await t.keys("Enter");
      await t.waitForScreen(new RegExp(`\\[Function: add\\]\\n${A}2>$`, "m"));
      await t.type("add(2, 3)");
      await t.keys("Enter");
      await t.waitForScreen(new RegExp(`^5\\n${A}3>$`, "m"));
      await t.keys("C-d");
      assert.equal(await t.waitForExit(), 0);
    });
  },
});

Deno.test({
  name: "weft shell on a terminal: Ctrl-C clears the line, interrupts code, and twice exits",
  ignore,
  fn: async () => {
    await withShell(A_ARGS, async (t) => {
      await t.waitForScreen(new RegExp(`${A}1>$`, "m"));
      await t.type("some half typed line");
      await t.keys("C-c");
      let screen = await t.waitForScreen(new RegExp(`some half typed line\\^C\\n${A}1>$`, "m"));
      assert.match(lastLine(screen), new RegExp(`^${A}1>$`));
      await t.type("await receive()");
      await t.keys("Enter");
      await t.waitForScreen(/^await receive\(\)$|1> await receive\(\)$/m);
      await t.keys("C-c");
      await t.waitForScreen(new RegExp(`\\*\\* Interrupted: .*\\n${A}2>$`, "m"));
      await t.keys("C-c");
      screen = await t.waitForScreen(/To exit, press Ctrl-C again/);
      await t.keys("C-c");
      assert.equal(await t.waitForExit(), 0);
    });
  },
});

Deno.test({
  name:
    "weft shell on a terminal: a nodedown while a line is half typed prints above it, the line stays",
  ignore,
  fn: async () => {
    await withNodeB((b, port) =>
      withShell(A_ARGS, async (t) => {
        await t.waitForScreen(new RegExp(`${A}1>$`, "m"));
        await t.type(`monitorNodes(); await Node.connect("b@127.0.0.1:${port}")`);
        await t.keys("Enter");
        await t.waitForScreen(/^true$/m);
        await t.waitForScreen(/\[mailbox\] \{ type: "nodeup", node: "b@127\.0\.0\.1" \}/);
        await t.type("const half = [1, 2");
        await t.waitForScreen(new RegExp(`${A}2> const half = \\[1, 2$`, "m"));
        b.kill("SIGKILL");
        const screen = await t.waitForScreen(
          /\[mailbox\] \{ type: "nodedown", node: "b@127\.0\.0\.1"/,
        );
        // The event is above; the prompt with the half line is the last line, and the cursor after it.
        const lines = screen.split("\n").filter((l) => l !== "");
        assert.match(lines.at(-1)!, new RegExp(`^${A}2> const half = \\[1, 2$`));
        assert.ok(
          lines.findIndex((l) => l.includes('type: "nodedown"')) < lines.length - 1,
          screen,
        );
        const cursor = await t.cursor();
        assert.equal(cursor.row, lines.length - 1);
        assert.equal(cursor.col, lines.at(-1)!.length);
        await t.type(", 3]");
        await t.keys("Enter");
        await t.waitForScreen(/^\[ 1, 2, 3 \]$/m);
        await t.keys("C-d");
        assert.equal(await t.waitForExit(), 0);
      })
    );
  },
});

Deno.test({
  name:
    "weft shell on a terminal: a session with two nodes using Node, Process, rpc, global, pubsub, monitorNodes and the helpers",
  ignore,
  fn: async () => {
    await withNodeB((b, port) =>
      withShell([...A_ARGS, "--net-ticktime", "2"], async (t, step) => {
        await t.waitForScreen(new RegExp(`${A}1>$`, "m"));
        await step("monitorNodes()", /^true$/m);
        await step(`await Node.connect("b@127.0.0.1:${port}")`, /\[mailbox\] \{ type: "nodeup"/);
        await step("Node.list()", /^\[ "b@127\.0\.0\.1" \]$/m);
        await step(`await Node.ping("b@127.0.0.1")`, /^"pong"$/m);
        await step("Node.alive() && Node.self()", /^"a@127\.0\.0\.1"$/m);
        await step(
          "const w = spawn(async () => { while (true) { const m = await receive(); send(m.from, m.n * 2) } })",
          /^#PID<a@127\.0\.0\.1\.\d+\.0>$/m,
        );
        await step(
          'send(w, { from: self(), n: 21 }); await receive((m) => typeof m === "number")',
          /^42$/m,
        );
        await step(
          'Process.register("doubler", w); Process.whereis("doubler")?.equals(w)',
          /^true$/m,
        );
        await step("Process.info(w).registeredName", /^"doubler"$/m);
        await step("i(w)", /registered name\s+doubler/);
        await step("const ref = Process.monitor(w)", /^#Reference</m);
        await step('Process.exit(w, "kill")', /^undefined$/m);
        await step(
          'const down = await receive((m) => m.type === "DOWN")',
          /\{\s+type: "DOWN",\s+ref: #Reference<[^>]+>,\s+pid: #PID<[^>]+>,\s+reason: "killed"/,
        );
        await step(
          'const rref = monitor({ name: "weft_remsh", node: "b@127.0.0.1" }); Process.list().length > 1',
          /^true$/m,
        );
        await step(`Node.monitor("b@127.0.0.1")`, /^true$/m);
        await step(`await rpc.call("b@127.0.0.1", "node", "self", [])`, /^"b@127\.0\.0\.1"$/m);
        await step(
          `const far = await Node.spawn("b@127.0.0.1", async () => { await receive() }); far.node`,
          /^"b@127\.0\.0\.1"$/m,
        );
        await step('await global.register("pty_db", self())', /^true$/m);
        await step('global.whereis("pty_db")?.equals(self()) && global.registered()', /"pty_db"/);
        await step('pubsub.subscribe("room"); pubsub.subscribers("room").length', /^1$/m);
        await step(
          'pubsub.broadcast("room", { text: "hello" }); await receive((m) => m.text === "hello")',
          /^\{ text: "hello" \}$/m,
        );
        await step("h(Node.connect)", /^ {2}connect to node; true on success/m);
        b.kill("SIGKILL");
        await t.waitForScreen(/\[mailbox\] \{ type: "nodedown", node: "b@127\.0\.0\.1"/);
        await t.waitForScreen(/reason: "noconnection"/);
        await step("Node.list()", /^\[\]$/m);
        await step("flush()", /Shell got \{ type: "nodedown"/);
        await step("q()", /q\(\)/);
        assert.equal(await t.waitForExit(), 0);
      })
    );
  },
});

Deno.test({
  name:
    "weft shell on a terminal: Promises bound as values, errors with their place, did you mean, h(), v(n), pid(), i(pid) of another node",
  ignore,
  fn: async () => {
    await withNodeB((_b, port) =>
      withShell(A_ARGS, async (t, step) => {
        await t.waitForScreen(new RegExp(`${A}1>$`, "m"));
        await step(`await Node.connect("b@127.0.0.1:${port}")`, /^true$/m);
        // 4: the binding holds what is shown, so send() works on it.
        await step(
          'const r3 = Node.spawn("b@127.0.0.1", async () => { for (;;) await receive() })',
          /^#PID<b@127\.0\.0\.1\.\d+\.0>$/m,
        );
        await step('send(r3, "x")', /^"x"$/m);
        await step("const pp = Promise.resolve(5)", /^5$/m);
        await step("pp + 1", /^6$/m);
        // 5: one line, the place in the input, the reason.
        await step(
          "Node.conect(1)",
          /^\*\* input:1:6: TypeError: Node\.conect is not a function \(did you mean Node\.connect\?\)$/m,
        );
        await step("let bad = 1 +* 2", /^\*\* input:1:14: SyntaxError: Unexpected token$/m);
        await step('function boom() { throw new Error("deploy failed") }', /^\[Function: boom\]$/m);
        await step("boom()", /^\*\* input:1:25: Error: deploy failed$/m);
        await step("stack()", /^ {4}at (Object\.)?boom \(weft-eval-\d+, <anonymous>:\d+:\d+\)$/m);
        // 8: h() is short and starts with the namespaces; v(n), pid(), i() of a pid on b.
        const help = await step("h()", /^Helpers$(\n.*)*\n.*stack\(\)/m);
        assert.match(help, /^Namespaces\n {2}Process /m);
        await step("v(4) * 100", /^500$/m);
        await step("v(2).node", /^"b@127\.0\.0\.1"$/m);
        await step('pid(String(r3)).equals(r3) && "the same pid"', /^"the same pid"$/m);
        await step("i(r3)", /^#PID<b@127\.0\.0\.1\.\d+\.0>\n {2}status +waiting$/m);
        await step("q()", /q\(\)/);
        assert.equal(await t.waitForExit(), 0);
      })
    );
  },
});

Deno.test({
  name: "weft --remsh on a terminal: the prompt names the remote node and input runs there",
  ignore,
  fn: async () => {
    await withNodeB((b, port) =>
      withShell(["--remsh", `b@127.0.0.1:${port}`, "--no-epmd", "--cookie", "c"], async (t) => {
        await t.waitForScreen(/^weft\(b@127\.0\.0\.1\)1>$/m);
        await t.type("Node.pi");
        await t.keys("Tab");
        await t.waitForScreen(/^weft\(b@127\.0\.0\.1\)1> Node\.ping$/m);
        await t.keys("C-u");
        await t.type("console.log('printed on', Node.self()); Node.list('hidden')");
        await t.keys("Enter");
        await t.waitForScreen(/^printed on b@127\.0\.0\.1\n\[ "remsh_[0-9a-f]+@127\.0\.0\.1" \]$/m);
        await t.type("q()");
        await t.keys("Enter");
        assert.equal(await t.waitForExit(), 0);
        assert.equal(b.status, undefined, "q() in a remote shell leaves the node running");
      })
    );
  },
});

Deno.test({
  name: "README's transcript: the same lines typed into a real shell give the shown output",
  ignore,
  fn: async () => {
    const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
    const block = /```text\n(\$ npx deno task weft --name a@127\.0\.0\.1\n[\s\S]*?)```/.exec(
      readme,
    );
    assert.ok(block, "the README opens with a transcript");
    const lines = block[1]!.trimEnd().split("\n");
    const first = lines.findIndex((l) => l.startsWith("weft(a@127.0.0.1)1> "));
    const expected = lines.slice(first);
    const inputs = expected.filter((l) => /^weft\(a@127\.0\.0\.1\)\d+> /.test(l))
      .map((l) => l.replace(/^weft\(a@127\.0\.0\.1\)\d+> /, ""));
    await withShell(A_ARGS, async (t) => {
      await t.waitForScreen(new RegExp(`${A}1>$`, "m"));
      for (const [i, input] of inputs.entries()) {
        await t.type(input);
        await t.keys("Enter");
        await t.waitForScreen(new RegExp(`${A}${i + 2}>$`, "m"));
      }
      const screen = (await t.screen()).split("\n");
      const start = screen.findIndex((l) => l.startsWith("weft(a@127.0.0.1)1> "));
      const shown = screen.slice(start, -1);
      const pids = (s: string) => s.replace(/#PID<[^>]+>/g, "#PID<…>");
      assert.deepEqual(shown.map(pids), expected.map(pids));
      // The banner too: versions in the README stay those the shell reports.
      assert.equal(screen[start - 1], lines[first - 1]);
      await t.keys("C-d");
      assert.equal(await t.waitForExit(), 0);
    });
  },
});
