import assert from "node:assert/strict";
import { startErlangBed } from "../helpers/erl_node.ts";
import { waitFor } from "../helpers/wait.ts";

const COOKIE = "pgcookie";

Deno.test("a pg group in the default scope joined from Weft and from erl: both see every member", async () => {
  await using bed = await startErlangBed(COOKIE);
  const { weft } = bed;
  const me = weft.runtime.open();
  weft.pg.join("workers", me.self);
  const erl = await bed.erl();
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
  await waitFor(() => w.pg.getMembers("workers").length === 0, { timeout: 20_000 });
  me.exit("normal");
});
