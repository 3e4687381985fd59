import assert from "node:assert/strict";
import { ClusterEvents, isClusterEvent } from "../../src/cluster/events.ts";
import { Runtime } from "../../src/process/runtime.ts";
import { captureLogs } from "../helpers/nodes.ts";

const discovered = {
  type: "member_discovered" as const,
  node: "b@h",
  topology: "t",
  strategy: "static",
};

Deno.test("ClusterEvents delivers to subscribed processes until they unsubscribe", async () => {
  const runtime = new Runtime({ node: "a@h" });
  const events = new ClusterEvents(runtime);
  const p = runtime.open();
  try {
    events.subscribe(p.self);
    events.emit(discovered);
    assert.deepEqual(await p.receive(isClusterEvent, { timeout: 1000 }), discovered);
    events.subscribe(p.self, false);
    events.emit(discovered);
    assert.deepEqual(p.flush(), []);
  } finally {
    await runtime.shutdown();
  }
});

Deno.test("ClusterEvents logs each event and keeps a listener that throws", async () => {
  const runtime = new Runtime({ node: "a@h" });
  const events = new ClusterEvents(runtime);
  const logs = await captureLogs("info");
  try {
    let calls = 0;
    events.on(() => {
      calls++;
      throw new Error("boom");
    });
    events.emit(discovered);
    events.emit({
      type: "member_lost",
      node: "b@h",
      reason: "net_tick_timeout",
      topologies: ["t"],
      retryIn: 100,
    });
    assert.equal(calls, 2);
    await logs.waitFor(/Topology t \(static\) discovered b@h/);
    await logs.waitFor(/Member b@h is down \(net_tick_timeout\); t will dial it again in 100 ms/);
    await logs.waitFor(/A cluster event listener failed on member_discovered: Error: boom/);
  } finally {
    await logs.restore();
    await runtime.shutdown();
  }
});

Deno.test("isClusterEvent() tells membership events from other messages", () => {
  assert.ok(isClusterEvent(discovered));
  assert.ok(!isClusterEvent({ type: "nodeup", node: "b@h" }));
  assert.ok(!isClusterEvent(null));
  assert.ok(!isClusterEvent("partition"));
});
