import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import { setDefaultContext } from "../../src/process/current.ts";
import { History } from "../../repl/history.ts";
import { LocalShell } from "../../repl/local_shell.ts";
import { ShellOutput } from "../../repl/output.ts";
import { QuitSignal } from "../../repl/quit.ts";
import { EXIT_HINT, runRepl } from "../../repl/repl.ts";
import { createShellScope } from "../../repl/scope.ts";
import { waitFor } from "../helpers/wait.ts";

/** Strips escape sequences and carriage returns: roughly what reaches the screen, line by line. */
function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}

/** A shell on a fake terminal: keys in, everything written collected. */
function startShell(options: { terminal?: boolean; history?: History } = {}) {
  const runtime = new Runtime({ node: "a@127.0.0.1" });
  const shell = runtime.open({ label: "shell" });
  setDefaultContext(shell);
  const output = new ShellOutput();
  const quit = new QuitSignal();
  const scope = createShellScope({
    runtime,
    print: (t) => output.print(t),
    quit: (c) => quit.request(c),
  });
  const local = new LocalShell({ runtime, shell, scope, output, quit });
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const input = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  let written = "";
  const raw: boolean[] = [];
  const done = runRepl({
    backend: local,
    output,
    terminal: options.terminal ?? true,
    history: options.history ?? new History(),
    input,
    write: (t) => void (written += t),
    setRaw: (r) => void raw.push(r),
    columns: () => 80,
    captureConsole: false,
  });
  return {
    runtime,
    output,
    raw,
    done,
    get written() {
      return written;
    },
    send: (text: string) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
    waitFor: (pattern: RegExp) =>
      waitFor(() => pattern.test(plain(written)), {
        timeout: 5000,
        message: `No ${pattern} in:\n${plain(written)}`,
      }),
    close: async () => {
      setDefaultContext(undefined);
      await runtime.shutdown();
    },
  };
}

Deno.test("runRepl() on a terminal: evaluates a line, counts prompts, exits on Ctrl-D", async () => {
  const t = startShell();
  try {
    await t.waitFor(/weft\(a@127\.0\.0\.1\)1> $/);
    t.send("1 + 1\r");
    await t.waitFor(/1> 1 \+ 1\n2\nweft\(a@127\.0\.0\.1\)2> $/);
    t.send("\x04");
    assert.equal(await t.done, 0);
    assert.deepEqual(t.raw, [true, false]);
  } finally {
    await t.close();
  }
});

Deno.test("runRepl() continues an unfinished input on ...(N)> lines", async () => {
  const t = startShell();
  try {
    t.send("function add(a: number,\r");
    await t.waitFor(/\.\.\.\(1\)> $/);
    t.send("b: number) {\rreturn a + b }\r");
    await t.waitFor(/\[Function: add\]\nweft\(a@127\.0\.0\.1\)2> $/);
    t.send("add(2, 3)\r");
    await t.waitFor(/\n5\n/);
    t.send("\x04");
    await t.done;
  } finally {
    await t.close();
  }
});

Deno.test("runRepl(): Tab completes a member, and lists several candidates", async () => {
  const t = startShell();
  try {
    t.send("Node.con\t");
    await t.waitFor(/Node\.connect$/);
    t.send("\x15spawn\t");
    await t.waitFor(/spawn\s+spawnLink\s+spawnMonitor\n/);
    t.send("\x04\x15\x04");
    assert.equal(await t.done, 0);
  } finally {
    await t.close();
  }
});

Deno.test("runRepl(): Ctrl-C clears the line, and twice on an empty line exits", async () => {
  const t = startShell();
  try {
    t.send("half a line\x03");
    await t.waitFor(/1> half a line\^C\nweft\(a@127\.0\.0\.1\)1> $/);
    t.send("\x03");
    await t.waitFor(new RegExp(EXIT_HINT.replace(/[()]/g, "\\$&")));
    t.send("\x03");
    assert.equal(await t.done, 0);
  } finally {
    await t.close();
  }
});

Deno.test("runRepl(): Ctrl-C while code runs interrupts it and the shell goes on", async () => {
  const t = startShell();
  try {
    t.send("await receive()\r");
    await t.waitFor(/await receive\(\)\n$/);
    t.send("\x03");
    await t.waitFor(
      /\*\* Interrupted: shell process .* stopped, the shell is now #PID<a@127\.0\.0\.1\.\d+\.0>\nweft\(a@127\.0\.0\.1\)2> $/,
    );
    t.send("40 + 2\r");
    await t.waitFor(/\n42\n/);
    t.send("\x04");
    await t.done;
  } finally {
    await t.close();
  }
});

Deno.test("runRepl(): output arriving while a line is typed goes above it and the line is redrawn", async () => {
  const t = startShell();
  try {
    t.send("const half = [1, 2");
    await t.waitFor(/1> const half = \[1, 2$/);
    const before = t.written.length;
    t.runtime.send(t.runtime.list()[0]!, {
      type: "nodedown",
      node: "b@127.0.0.1",
      reason: "connection_closed",
    });
    t.output.print("a log line");
    await t.waitFor(/a log line\n/);
    const after = plain(t.written.slice(before));
    assert.match(
      after,
      /^\[mailbox\] \{ type: "nodedown", node: "b@127\.0\.0\.1", reason: "connection_closed" \}\nweft\(a@127\.0\.0\.1\)1> const half = \[1, 2a log line\nweft\(a@127\.0\.0\.1\)1> const half = \[1, 2$/,
    );
    // The erase-and-redraw really erases: each message starts by clearing the line.
    assert.ok(t.written.slice(before).startsWith("\r\x1b[J"));
    t.send(", 3]\r");
    await t.waitFor(/\[ 1, 2, 3 \]\n/);
    t.send("\x04");
    await t.done;
  } finally {
    await t.close();
  }
});

Deno.test("runRepl(): Up recalls history, including lines of earlier runs", async () => {
  const history = new History();
  history.add("'from before'");
  const t = startShell({ history });
  try {
    t.send("'now'\r");
    await t.waitFor(/"now"\n/);
    t.send("\x1b[A");
    await t.waitFor(/2> 'now'$/);
    t.send("\x1b[A");
    await t.waitFor(/2> 'from before'$/);
    t.send("\r");
    await t.waitFor(/"from before"\n/);
    assert.deepEqual(history.entries, ["'from before'", "'now'", "'from before'"]);
    t.send("\x04");
    await t.done;
  } finally {
    await t.close();
  }
});

Deno.test("runRepl(): q(code) ends the loop with the code", async () => {
  const t = startShell();
  try {
    t.send("q(5)\r");
    assert.equal(await t.done, 5);
    assert.deepEqual(t.raw, [true, false]);
  } finally {
    await t.close();
  }
});

Deno.test("runRepl() without a terminal reads plain lines and ends at end of input", async () => {
  const t = startShell({ terminal: false });
  try {
    t.send("const x = 20\nx +\n 1\nnope()\n");
    await t.waitFor(/ReferenceError: nope is not defined/);
    t.end();
    assert.equal(await t.done, 0);
    assert.match(
      plain(t.written),
      /weft\(a@127\.0\.0\.1\)1> 20\nweft\(a@127\.0\.0\.1\)2> \.\.\.\(2\)> 21\n/,
    );
    assert.deepEqual(t.raw, []);
  } finally {
    await t.close();
  }
});
