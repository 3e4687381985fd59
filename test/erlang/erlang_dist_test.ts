import assert from "node:assert/strict";
import { atom, Tuple, tuple } from "../../src/etf/mod.ts";
import { Pid } from "../../src/term/pid.ts";
import type { WeftNode } from "../../src/node.ts";
import { type ErlNode, startErlangBed } from "../helpers/erl_node.ts";
import { waitFor } from "../helpers/wait.ts";

const COOKIE = "erlcookie";

/** A Weft node and a real erl sharing Weft's port mapper; both released after `fn`. */
async function withCluster(
  fn: (weft: WeftNode, erl: ErlNode) => Promise<void>,
  options: { erlCookie?: string; erlName?: string } = {},
): Promise<void> {
  await using bed = await startErlangBed(COOKIE);
  const erl = await bed.erl({
    name: options.erlName ?? "e@127.0.0.1",
    cookie: options.erlCookie ?? COOKIE,
  });
  await fn(bed.weft, erl);
}

Deno.test("net_adm:ping from erl answers pong, and each node lists the other", async () => {
  await withCluster(async (weft, erl) => {
    assert.equal(await erl.eval("net_adm:ping('weft@127.0.0.1')"), "pong");
    assert.equal(await erl.eval("nodes()"), "['weft@127.0.0.1']");
    await waitFor(() => weft.list().includes("e@127.0.0.1"), { timeout: 10_000 });
  });
});

Deno.test("Node.ping from Weft to erl answers pong", async () => {
  await withCluster(async (weft, erl) => {
    assert.equal(await weft.ping("e@127.0.0.1"), "pong");
    assert.deepEqual(weft.list(), ["e@127.0.0.1"]);
    assert.equal(await erl.eval("nodes()"), "['weft@127.0.0.1']");
  });
});

Deno.test("a BEAM node with the wrong cookie is refused both ways", async () => {
  await withCluster(async (weft, erl) => {
    assert.equal(await erl.eval("net_adm:ping('weft@127.0.0.1')"), "pang");
    assert.equal(await weft.ping("e@127.0.0.1"), "pang");
    assert.deepEqual(weft.list(), []);
    assert.equal(await erl.eval("nodes()"), "[]");
  }, { erlCookie: "wrong" });
});

Deno.test("messages both ways: erl sends to a registered Weft process, which answers", async () => {
  await withCluster(async (weft, erl) => {
    const me = weft.runtime.open();
    weft.runtime.register("echo", me.self);
    await erl.eval("register(driver, self())");
    assert.match(
      await erl.eval(
        "erlang:send({echo, 'weft@127.0.0.1'}, {hello, self(), [1, 2.5, <<\"bin\">>]})",
      ),
      /^\{hello,<0\./,
    );
    const got = await me.receive<Tuple>(undefined, { timeout: 20_000 });
    assert.ok(got instanceof Tuple);
    assert.equal(String(got.elements[0]), "hello");
    const from = got.elements[1];
    assert.ok(from instanceof Pid && from.node === "e@127.0.0.1");
    me.send(from, tuple(atom("reply"), me.self));
    assert.match(
      await erl.eval("receive {reply, P} -> {node(P), is_pid(P)} after 20000 -> timeout end"),
      /^\{'weft@127\.0\.0\.1',true\}$/,
    );
    me.exit("normal");
  });
});
