import assert from "node:assert/strict";
import { startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { RemoteError } from "../../src/errors.ts";
import { Atom, atom, Tuple } from "../../src/etf/mod.ts";
import { Pid } from "../../src/term/pid.ts";
import { ErlNode, startErlangBed } from "../helpers/erl_node.ts";
import { waitFor } from "../helpers/wait.ts";
import { WeftProcess } from "../helpers/weft_process.ts";

const COOKIE = "erlcookie";

Deno.test("a Weft link and monitor of an erl process fire with noconnection when erl is kill -9ed", async () => {
  await using bed = await startErlangBed(COOKIE);
  const { weft } = bed;
  const erl = await bed.erl();
  const me = weft.runtime.open({ trapExit: true });
  weft.runtime.register("inbox", me.self);
  await erl.eval(
    "begin P = spawn(fun() -> receive stop -> ok end end), register(target, P), erlang:send({inbox, 'weft@127.0.0.1'}, P) end",
  );
  const target = await me.receive<Pid>(undefined, { timeout: 20_000 });
  assert.ok(target instanceof Pid && target.node === "e@127.0.0.1");
  weft.runtime.link(me.self, target);
  const ref = weft.runtime.monitor(me.self, target);
  // The link and the monitor reach the BEAM side (they travel apart from this test's stdin).
  const beam = erl;
  await waitFor(async () =>
    /weft@127\.0\.0\.1/.test(
      await beam.eval(
        "begin {links, L} = process_info(whereis(target), links), [node(X) || X <- L] end",
      ),
    ) &&
    /^[1-9]/.test(
      await beam.eval(
        "begin {monitored_by, L} = process_info(whereis(target), monitored_by), length(L) end",
      ),
    ), { timeout: 20_000, interval: 50, message: "the link or monitor never reached erl" });
  await erl.kill();
  const got = [
    await me.receive<{ type: string; reason: unknown; ref?: unknown }>(undefined, {
      timeout: 30_000,
    }),
    await me.receive<{ type: string; reason: unknown; ref?: unknown }>(undefined, {
      timeout: 30_000,
    }),
  ].sort((a, b) => a.type.localeCompare(b.type));
  assert.equal(got[0]!.type, "DOWN");
  assert.equal(got[0]!.reason, "noconnection");
  assert.ok(ref.equals(got[0]!.ref));
  assert.equal(got[1]!.type, "EXIT");
  assert.equal(got[1]!.reason, "noconnection");
  me.exit("normal");
});

Deno.test("an erl link and monitor of a Weft process fire with noconnection when the Weft node is kill -9ed", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir();
  let erl: ErlNode | undefined;
  let w: WeftProcess | undefined;
  try {
    await Deno.writeTextFile(
      `${dir}/victim.ts`,
      [
        "const victim = spawn(async () => {",
        "  const m = await receive();",
        "  link(m.elements[1]);",
        '  console.log("linked");',
        "  await receive();",
        "});",
        'Process.register("victim", victim);',
        'console.log("victim ready");',
        "await new Promise(() => {});",
      ].join("\n"),
    );
    w = new WeftProcess([
      "--name",
      "w@127.0.0.1",
      "--cookie",
      COOKIE,
      "--epmd-port",
      String(epmd.port),
      "--data-dir",
      `${dir}/data`,
      "--script",
      `${dir}/victim.ts`,
    ]);
    await w.waitForOutput(/victim ready/, 60_000);
    erl = await ErlNode.start({ name: "e@127.0.0.1", cookie: COOKIE, epmdPort: epmd.port });
    assert.equal(await erl.eval("net_adm:ping('w@127.0.0.1')"), "pong");
    await erl.eval("process_flag(trap_exit, true)");
    await erl.eval("erlang:monitor(process, {victim, 'w@127.0.0.1'})");
    await erl.eval("erlang:send({victim, 'w@127.0.0.1'}, {link_me, self()})");
    await w.waitForOutput(/linked/, 30_000);
    const beam = erl;
    await waitFor(async () =>
      /w@127\.0\.0\.1/.test(
        await beam.eval("begin {links, L} = process_info(self(), links), [node(X) || X <- L] end"),
      ), { timeout: 20_000, interval: 50, message: "the link never reached erl" });
    w.kill("SIGKILL");
    await w.exited();
    assert.equal(
      await erl.eval(
        "receive {'DOWN', _, process, {victim, 'w@127.0.0.1'}, R} -> R after 30000 -> timeout end",
      ),
      "noconnection",
    );
    assert.equal(
      await erl.eval(
        "receive {'EXIT', P, R} when node(P) =:= 'w@127.0.0.1' -> R after 30000 -> timeout end",
      ),
      "noconnection",
    );
  } finally {
    await erl?.kill();
    if (w !== undefined) {
      w.kill("SIGKILL");
      await w.close();
    }
    await epmd.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rpc:call from erl runs a module the Weft node registered, and --rpc-allow refuses others", async () => {
  await using bed = await startErlangBed(COOKIE, { rpcAllow: ["calc.*"] });
  const { weft } = bed;
  weft.rpc.registerModule("calc", { add: (a: number, b: number) => a + b });
  weft.rpc.registerModule("secret", { get: () => 42 });
  const erl = await bed.erl();
  assert.equal(await erl.eval("rpc:call('weft@127.0.0.1', calc, add, [40, 2])"), "42");
  assert.match(
    await erl.eval("rpc:call('weft@127.0.0.1', secret, get, [])"),
    /^\{badrpc,\{'EXIT',/,
  );
});

Deno.test("rpc.call from Weft runs erlang:node/0 on erl, and a badrpc is a RemoteError", async () => {
  await using bed = await startErlangBed(COOKIE);
  const { weft } = bed;
  await bed.erl();
  assert.ok(await weft.connect("e@127.0.0.1"));
  const node = await weft.rpc.call("e@127.0.0.1", "erlang", "node", []);
  assert.ok(node instanceof Atom && node.name === "e@127.0.0.1");
  const sum = await weft.rpc.call("e@127.0.0.1", "lists", "sum", [[1, 2, 3]]);
  assert.equal(sum, 6);
  await assert.rejects(weft.rpc.call("e@127.0.0.1", "no_such_module", "f", []), RemoteError);
});

Deno.test('an Elixir send({:name, :"weft@host"}, msg) reaches a registered Weft process', async () => {
  await using bed = await startErlangBed(COOKIE);
  const { weft, epmd } = bed;
  let ex: Deno.ChildProcess | undefined;
  try {
    const me = weft.runtime.open();
    weft.runtime.register("inbox", me.self);
    ex = new Deno.Command("elixir", {
      args: [
        "--name",
        "ex@127.0.0.1",
        "--cookie",
        COOKIE,
        "-e",
        [
          'true = Node.connect(:"weft@127.0.0.1")',
          'send({:inbox, :"weft@127.0.0.1"}, {:hello, "from elixir", self()})',
          "receive do :ack -> System.halt(0) after 30_000 -> System.halt(3) end",
        ].join("\n"),
      ],
      env: { ERL_EPMD_PORT: String(epmd.port) },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const got = await me.receive<Tuple>(undefined, { timeout: 60_000 });
    assert.ok(got instanceof Tuple);
    assert.equal(String(got.elements[0]), "hello");
    assert.equal(new TextDecoder().decode(got.elements[1] as Uint8Array), "from elixir");
    const from = got.elements[2];
    assert.ok(from instanceof Pid && from.node === "ex@127.0.0.1");
    me.send(from, atom("ack"));
    assert.equal((await ex.status).code, 0, "elixir got the ack");
    ex = undefined;
    me.exit("normal");
  } finally {
    if (ex !== undefined) {
      ex.kill("SIGKILL");
      await ex.status;
    }
  }
});
