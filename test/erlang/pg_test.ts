import assert from "node:assert/strict";
import { startEpmdServer } from "../../src/distribution/epmd/mod.ts";
import { startNode, type WeftNode } from "../../src/node.ts";
import { ErlNode } from "../helpers/erl_node.ts";
import { waitFor } from "../helpers/wait.ts";

const COOKIE = "pgcookie";

Deno.test("a pg group in the default scope joined from Weft and from erl: both see every member", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  let weft: WeftNode | undefined;
  let erl: ErlNode | undefined;
  try {
    weft = await startNode({
      name: "weft@127.0.0.1",
      cookie: COOKIE,
      hostname: "127.0.0.1",
      epmdPort: epmd.port,
      startEpmd: false,
    });
    const me = weft.runtime.open();
    weft.pg.join("workers", me.self);
    erl = await ErlNode.start({ name: "e@127.0.0.1", cookie: COOKIE, epmdPort: epmd.port });
    assert.match(await erl.eval("pg:start(pg)"), /^\{ok,/);
    assert.equal(await erl.eval("net_adm:ping('weft@127.0.0.1')"), "pong");
    assert.equal(await erl.eval("pg:join(workers, self())"), "ok");
    const beam = erl;
    const w = weft;
    const erlSees = async () =>
      await beam.eval("lists:sort([node(P) || P <- pg:get_members(workers)])");
    await waitFor(async () => (await erlSees()) === "['e@127.0.0.1','weft@127.0.0.1']", {
      timeout: 20_000,
      interval: 50,
      message: "erl never saw the Weft member",
    });
    await waitFor(() =>
      w.pg.getMembers("workers").map((p) => p.node).sort().join() ===
        "e@127.0.0.1,weft@127.0.0.1", {
      timeout: 20_000,
      message: "Weft never saw the erl member",
    });
    // A leave on the Weft side reaches erl.
    assert.ok(weft.pg.leave("workers", me.self));
    await waitFor(async () => (await erlSees()) === "['e@127.0.0.1']", {
      timeout: 20_000,
      interval: 50,
      message: "erl never saw the Weft member leave",
    });
    // The BEAM node lost: its members leave the Weft copy.
    await erl.kill();
    erl = undefined;
    await waitFor(() => w.pg.getMembers("workers").length === 0, { timeout: 20_000 });
    me.exit("normal");
  } finally {
    await erl?.kill();
    await weft?.stop();
    await epmd.close();
  }
});
