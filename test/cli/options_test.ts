import assert from "node:assert/strict";
import { parseCli } from "../../cli/options.ts";

Deno.test("parseCli() reads a short name, cookie and log level", () => {
  const r = parseCli(["--sname", "a", "--cookie", "secret", "--log-level", "debug"]);
  assert.ok(r.ok);
  assert.equal(r.options.sname, "a");
  assert.equal(r.options.cookie, "secret");
  assert.equal(r.options.logLevel, "debug");
  assert.equal(r.options.command, "node");
});

Deno.test("parseCli() lets the last of --name and --sname win", () => {
  const r = parseCli(["--name", "a@127.0.0.1", "--sname", "b"]);
  assert.ok(r.ok);
  assert.equal(r.options.sname, "b");
  assert.equal(r.options.name, undefined);
  const r2 = parseCli(["--sname", "b", "--name", "a@127.0.0.1"]);
  assert.ok(r2.ok);
  assert.equal(r2.options.name, "a@127.0.0.1");
  assert.equal(r2.options.sname, undefined);
});

Deno.test("parseCli() collects repeated --connect flags", () => {
  const r = parseCli(["--sname", "a", "--connect", "b@h", "--connect", "c@h"]);
  assert.ok(r.ok);
  assert.deepEqual(r.options.connect, ["b@h", "c@h"]);
});

Deno.test("parseCli() refuses an unknown flag in one line", () => {
  const r = parseCli(["--bogus"]);
  assert.ok(!r.ok);
  assert.equal(r.reason, "Unknown option '--bogus'");
});

Deno.test("parseCli() refuses bad numbers and levels with the flag named", () => {
  for (
    const [args, flag] of [
      [["--port", "70000"], "--port"],
      [["--port", "x"], "--port"],
      [["--epmd-port", "0"], "--epmd-port"],
      [["--net-ticktime", "-1"], "--net-ticktime"],
      [["--busy-limit", "0"], "--busy-limit"],
      [["--busy-limit", "lots"], "--busy-limit"],
      [["--reassembly-budget", "0"], "--reassembly-budget"],
      [["--reassembly-timeout", "1.5"], "--reassembly-timeout"],
      [["--log-level", "loud"], "--log-level"],
      [["--cookie", ""], "--cookie"],
    ] as const
  ) {
    const r = parseCli([...args]);
    assert.ok(!r.ok, `${args.join(" ")} should be refused`);
    assert.ok(r.reason.includes(flag), r.reason);
    assert.ok(!r.reason.includes("\n"));
  }
});

Deno.test("parseCli() wants --tls-cert and --tls-key together", () => {
  assert.ok(!parseCli(["--tls-cert", "c.pem"]).ok);
  assert.ok(!parseCli(["--tls-ca", "ca.pem"]).ok);
  assert.ok(parseCli(["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem"]).ok);
});

Deno.test("parseCli() recognises the epmd subcommand, help and version", () => {
  const epmd = parseCli(["epmd", "--daemon", "--port", "4400", "--address", "127.0.0.1"]);
  assert.ok(epmd.ok);
  assert.equal(epmd.options.command, "epmd");
  assert.equal(epmd.options.daemon, true);
  assert.equal(epmd.options.port, 4400);
  assert.equal(epmd.options.address, "127.0.0.1");
  const help = parseCli(["--help"]);
  assert.ok(help.ok && help.options.command === "help");
  const version = parseCli(["-v"]);
  assert.ok(version.ok && version.options.command === "version");
  assert.ok(!parseCli(["frobnicate"]).ok);
});

Deno.test("parseCli() gives everything after --script FILE to the script", () => {
  const r = parseCli(["--sname", "a", "--script", "job.ts", "--sname", "x", "-n", "3"]);
  assert.ok(r.ok);
  assert.equal(r.options.script, "job.ts");
  assert.deepEqual(r.options.scriptArgs, ["--sname", "x", "-n", "3"]);
  assert.equal(r.options.sname, "a");
  const eq = parseCli(["--script=job.ts", "arg"]);
  assert.ok(eq.ok && eq.options.script === "job.ts" && eq.options.scriptArgs[0] === "arg");
  const none = parseCli(["--script"]);
  assert.ok(!none.ok && none.reason.includes("--script"));
});

Deno.test("parseCli() reads --remsh and refuses modes that do not go together", () => {
  const r = parseCli(["--remsh", "b@h", "--cookie", "c", "--eval", "1"]);
  assert.ok(r.ok && r.options.remsh === "b@h" && r.options.eval === "1");
  for (
    const args of [
      ["--eval", "1", "--no-repl"],
      ["--eval", "1", "--script", "s.ts"],
      ["--remsh", "b@h", "--no-repl"],
      ["--remsh", "b@h", "--script", "s.ts"],
      ["--remsh", ""],
    ]
  ) {
    const bad = parseCli(args);
    assert.ok(!bad.ok, args.join(" "));
    assert.ok(!bad.reason.includes("\n"));
  }
});

Deno.test("HELP groups the flags and names every mode", async () => {
  const { HELP } = await import("../../cli/options.ts");
  for (
    const text of [
      "Node identity:",
      "Distribution:",
      "Running",
      "--script FILE",
      "--remsh NODE",
      "weft epmd",
      "Exit status",
    ]
  ) assert.ok(HELP.includes(text), text);
});

Deno.test("parseCli() reads --data-dir and refuses an empty one", () => {
  const r = parseCli(["--sname", "a", "--data-dir", "/tmp/weft-a"]);
  assert.ok(r.ok);
  assert.equal(r.options.dataDir, "/tmp/weft-a");
  const bad = parseCli(["--sname", "a", "--data-dir", ""]);
  assert.ok(!bad.ok);
  assert.equal(bad.reason, "Invalid --data-dir: expected a directory");
});

Deno.test("parseCli() reads --event-store and refuses what is not a postgres:// URL", async () => {
  const { HELP } = await import("../../cli/options.ts");
  const r = parseCli(["--sname", "a", "--event-store", "postgres://u@127.0.0.1:5432/db"]);
  assert.ok(r.ok);
  assert.equal(r.options.eventStore, "postgres://u@127.0.0.1:5432/db");
  for (const url of ["", "mysql://x", "/tmp/events.db"]) {
    const bad = parseCli(["--sname", "a", "--event-store", url]);
    assert.ok(!bad.ok);
    assert.equal(bad.reason, "Invalid --event-store: expected a postgres:// URL");
  }
  assert.ok(HELP.includes("--event-store URL"));
});

Deno.test("parseCli() reads --busy-limit in bytes, with k, m and g suffixes", () => {
  for (
    const [text, bytes] of [["65536", 65536], ["64k", 65536], ["16m", 16 << 20], ["1G", 1 << 30]]
  ) {
    const r = parseCli(["--busy-limit", String(text)]);
    assert.ok(r.ok);
    assert.equal(r.options.busyLimit, bytes);
  }
});

Deno.test("parseCli() reads the reassembly budget and timeout", () => {
  const r = parseCli(["--reassembly-budget", "256m", "--reassembly-timeout", "30000"]);
  assert.ok(r.ok);
  assert.equal(r.options.reassemblyBudget, 256 << 20);
  assert.equal(r.options.reassemblyTimeout, 30_000);
});
