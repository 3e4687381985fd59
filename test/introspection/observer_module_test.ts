import assert from "node:assert/strict";
import { observerModule } from "../../src/introspection/observer_module.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { runInProcess } from "../../src/process/current.ts";
import { GenServer } from "../../src/otp/gen_server.ts";
import { Supervisor } from "../../src/otp/supervisor.ts";

class Vault extends GenServer<{ owner: string; secret: string }> {
  override init() {
    return { ok: { owner: "ann", secret: "hunter2" } };
  }
  override formatStatus(state: { owner: string; secret: string }) {
    return { owner: state.owner, secret: "<hidden>" };
  }
}

class Broken extends GenServer<null> {
  override init() {
    return { ok: null };
  }
  override formatStatus(): unknown {
    throw new Error("cannot show");
  }
}

Deno.test("observer.process() shows a GenServer's state through formatStatus, never the raw state", async () => {
  const runtime = new Runtime({ node: "om@h" });
  const obs = observerModule({ runtime, connections: () => [] });
  try {
    const vault = await GenServer.start(Vault, undefined, { runtime });
    const d = obs.process(vault.id, vault.serial)!;
    assert.equal(d.behaviour, "Vault");
    assert.match(d.state!, /owner: "ann"/);
    assert.doesNotMatch(d.state!, /hunter2/);
    const broken = await GenServer.start(Broken, undefined, { runtime });
    assert.match(
      obs.process(broken.id, broken.serial)!.state!,
      /formatStatus threw: .*cannot show/,
    );
    // A plain process has no state to show.
    const plain = runtime.open();
    assert.equal(obs.process(plain.self.id, plain.self.serial)!.state, undefined);
    assert.equal(obs.process(9999, 0), null);
    assert.throws(() => obs.process(-1, 0), TypeError);
  } finally {
    obs.stop();
    await runtime.shutdown();
  }
});

Deno.test("observer.supervision() nests supervisors and their children", async () => {
  const runtime = new Runtime({ node: "om@h" });
  const obs = observerModule({ runtime, connections: () => [] });
  try {
    await runInProcess(runtime.open(), async () => {
      const inner = () =>
        Supervisor.startLink([GenServer.childSpec(Vault, undefined, { id: "vault" })], {
          name: "inner_sup",
        });
      await Supervisor.start([{ id: "inner", start: inner, type: "supervisor" }], {
        name: "top_sup",
        strategy: "rest_for_one",
      });
    });
    const trees = obs.supervision();
    assert.equal(trees.length, 1);
    const top = trees[0]!;
    assert.equal(top.label, "top_sup");
    assert.equal(top.strategy, "rest_for_one");
    assert.equal(top.children[0]!.id, "inner");
    assert.equal(top.children[0]!.label, "inner_sup");
    assert.equal(top.children[0]!.children[0]!.id, "vault");
    assert.equal(top.children[0]!.children[0]!.type, "worker");
  } finally {
    obs.stop();
    await runtime.shutdown();
  }
});
