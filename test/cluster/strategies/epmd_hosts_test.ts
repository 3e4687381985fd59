import assert from "node:assert/strict";
import { EpmdHostsStrategy } from "../../../src/cluster/strategies/epmd_hosts.ts";
import { registerNode, startEpmdServer, weftEntry } from "../../../src/distribution/epmd/mod.ts";
import { encodeRequest } from "../../../src/distribution/epmd/wire.ts";
import type { StrategyContext } from "../../../src/cluster/strategy.ts";
import { waitFor } from "../../helpers/wait.ts";

/** Registers an entry the way an Erlang node does (no Weft marker); the socket holds it. */
async function registerErlang(epmdPort: number, name: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: epmdPort });
  await conn.write(
    encodeRequest({
      type: "alive2",
      entry: { ...weftEntry({ name, port: 5555 }), extra: new Uint8Array() },
    }),
  );
  await conn.read(new Uint8Array(16));
  return conn;
}

Deno.test("EpmdHostsStrategy lists the visible Weft nodes of each host's port mapper", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const regs = await Promise.all([
    registerNode({ epmdPort: epmd.port, name: "self", port: 5000 }),
    registerNode({ epmdPort: epmd.port, name: "web", port: 5001 }),
    registerNode({ epmdPort: epmd.port, name: "shell", port: 5002, hidden: true }),
  ]);
  const erlang = await registerErlang(epmd.port, "erl");
  const s = new EpmdHostsStrategy({
    hosts: ["127.0.0.1"],
    epmdPort: epmd.port,
    pollInterval: 10_000,
  });
  const answers: { name: string; port: number | undefined }[][] = [];
  const context: StrategyContext = {
    self: "self@127.0.0.1",
    topology: "t",
    cookie: undefined,
    listenPort: 5000,
    signal: new AbortController().signal,
    update: (nodes) => answers.push(nodes.map((n) => ({ name: n.name, port: n.address?.port }))),
  };
  try {
    await s.start(context);
    await waitFor(() => answers.length > 0);
    assert.deepEqual(answers[0], [{ name: "web@127.0.0.1", port: 5001 }]);
    assert.deepEqual(s.members(), ["web@127.0.0.1"]);
  } finally {
    await s.stop();
    erlang.close();
    await Promise.all(regs.map((r) => r.close()));
    await epmd.close();
  }
});

Deno.test("EpmdHostsStrategy keeps its last answer when no port mapper answers", async () => {
  const epmd = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
  const reg = await registerNode({ epmdPort: epmd.port, name: "web", port: 5001 });
  const s = new EpmdHostsStrategy({ hosts: ["127.0.0.1"], epmdPort: epmd.port, timeout: 500 });
  let updates = 0;
  try {
    await s.start({
      self: "self@127.0.0.1",
      topology: "t",
      cookie: undefined,
      listenPort: 1,
      signal: new AbortController().signal,
      update: () => updates++,
    });
    await waitFor(() => updates === 1);
    await reg.close();
    await epmd.close();
    await s.pollNow();
    assert.equal(updates, 1);
    assert.deepEqual(s.members(), ["web@127.0.0.1"]);
  } finally {
    await s.stop();
  }
});

Deno.test("EpmdHostsStrategy refuses a malformed config", () => {
  assert.throws(() => new EpmdHostsStrategy({ hosts: [] }), /hosts: must not be empty/);
  assert.throws(() => new EpmdHostsStrategy({ hosts: ["a b"] }), /hosts\[0\]: not a host name/);
  assert.throws(() => new EpmdHostsStrategy({ hosts: ["h"], epmdPort: 0 }), RangeError);
});
